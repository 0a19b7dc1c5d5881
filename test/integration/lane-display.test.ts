/**
 * Lane displays against a real gate: an LED sign's MQTT client on the embedded broker reads its lane's
 * retained display message and nothing else; a kiosk token opens its own lane only (state and stream); the
 * gate's stop leaves STOP behind, on the embedded broker's subscribers and retained on an external Mosquitto.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import mqtt from "mqtt";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { definition as eseal } from "../../devices/eseal-mqtt-json.ts";
import { definition as sign } from "../../devices/lane-display-mqtt.ts";
import type { DisplayMessage } from "../../src/display/message.ts";
import type { Gate } from "../../src/gate.ts";
import { runCommand } from "../helpers/child.ts";
import { eventually, startGate, testConfig } from "../helpers/gate.ts";
import { systemToolAvailable } from "../helpers/system.ts";
import { tempDir } from "../helpers/tmp.ts";

const dir = tempDir();
afterAll(() => dir.cleanup());

const TOKEN_L1 = "display-token-lane-one-0123456789";
const TOKEN_L2 = "display-token-lane-two-0123456789";
const env = { GATE_DISPLAY_L1_TOKEN: TOKEN_L1, GATE_DISPLAY_L2_TOKEN: TOKEN_L2 };

const lanes = `
  - id: L1
    devices:
      - { id: seal-l1, model: eseal-mqtt-json, auth: { username: seal-l1, password: seal-one-password } }
    displays:
      - { id: kiosk-l1, model: lane-display-kiosk, token: "\${GATE_DISPLAY_L1_TOKEN}" }
      - { id: sign-l1, model: lane-display-mqtt, auth: { username: sign-l1, password: sign-one-password } }
  - id: L2
    devices:
      - { id: seal-l2, model: eseal-mqtt-json, auth: { username: seal-l2, password: seal-two-password } }
    displays:
      - { id: kiosk-l2, model: lane-display-kiosk, token: "\${GATE_DISPLAY_L2_TOKEN}" }
      - { id: sign-l2, model: lane-display-mqtt, auth: { username: sign-l2, password: sign-two-password } }
`;

let gate: Gate | undefined;
const clients: mqtt.MqttClient[] = [];
afterEach(async () => {
    for (const client of clients.splice(0)) await client.endAsync(true);
    await gate?.stop();
    gate = undefined;
});

function connect(url: string, username: string, password: string): Promise<mqtt.MqttClient> {
    const client = mqtt.connect(url, { username, password, reconnectPeriod: 0, connectTimeout: 5000 });
    clients.push(client);
    return new Promise((resolve, reject) => {
        client.once("connect", () => resolve(client));
        client.once("error", (err) => reject(new Error(`${username}: ${err.message}`)));
    });
}

/** Every display message the client receives on `topic`, decoded by the sign's model, with its retain flag. */
function collect(client: mqtt.MqttClient, topic: string): { message: DisplayMessage; retain: boolean }[] {
    const seen: { message: DisplayMessage; retain: boolean }[] = [];
    client.on("message", (received, payload, packet) => {
        if (received !== topic) return;
        const message = sign.decode(payload);
        if (message) seen.push({ message, retain: packet.retain });
    });
    return seen;
}

/** The QoS the broker granted, 128 for a refusal (MQTT.js rejects the subscribe then). */
async function grantOf(client: mqtt.MqttClient, topic: string): Promise<number | undefined> {
    try {
        return (await client.subscribeAsync(topic, { qos: 1 }))[0]?.qos;
    } catch (err) {
        if (err instanceof Error && /Subscribe error/.test(err.message)) return 128;
        throw err;
    }
}

const sealRead = (sealId: string) =>
    eseal.encode({
        msg: "read",
        sealId,
        type: "ISO18185",
        status: "SEALED",
        ts: new Date().toISOString(),
        readerId: "r1",
    });

describe("LED lane sign on the embedded broker", () => {
    it("subscribes to its lane's retained display message, follows the lane, and is left at STOP when the gate stops", async () => {
        gate = await startGate(testConfig(dir.path, lanes, "", env));
        const url = gate.addresses.mqtt as string;
        const topic = "gate/T01/lanes/L1/display";
        const signClient = await connect(url, "sign-l1", "sign-one-password");
        const seen = collect(signClient, topic);
        const granted = await signClient.subscribeAsync(topic, { qos: 1 });
        expect(granted[0]?.qos).toBe(1);
        const first = await eventually(() => seen[0], 10_000, "the retained display message");
        expect(first.retain).toBe(true);
        expect(first.message).toMatchObject({ v: 1, gate: "T01", lane: "L1" });
        // The seal reader is not connected yet: a device of the lane is down.
        expect(first.message.signal).toBe("fault");
        expect(first.message.lines.en).toEqual(["DEVICE FAULT", "Manual processing"]);

        // The seal reader connects and reads a seal: the lane has all its devices and a truck in it.
        const reader = await connect(url, "seal-l1", "seal-one-password");
        const read = sealRead("VNC-0100001");
        await reader.publishAsync(`gate/T01/devices/seal-l1/${read.subtopic}`, Buffer.from(read.payload), { qos: 1 });
        const next = await eventually(
            () => seen.find((entry) => entry.message.signal !== "fault"),
            10_000,
            "a new message",
        );
        expect(next.retain).toBe(false);
        expect(next.message.lines.vi[1]).toMatch(/Quét QR tờ khai|Dừng xe, chờ/);

        const running = gate;
        gate = undefined;
        await running.stop();
        const last = await eventually(
            () => (seen.at(-1)?.message.lines.en[1] === "Wait for the officer" ? seen.at(-1) : undefined),
            10_000,
            "STOP at stop",
        );
        expect(last.message).toMatchObject({
            signal: "stop",
            plate: null,
            lines: { en: ["STOP", "Wait for the officer"] },
        });
    });

    it("may read its own lane's topic only, and publish nothing", async () => {
        gate = await startGate(testConfig(dir.path, lanes, "", env));
        const url = gate.addresses.mqtt as string;
        const signClient = await connect(url, "sign-l1", "sign-one-password");
        const refusedBefore = gate.embeddedBroker?.counters.aclRefusals ?? 0;
        for (const topic of [
            "gate/T01/lanes/L2/display",
            "gate/T01/lanes/+/display",
            "gate/T01/#",
            "gate/T01/lanes/L1/state",
        ]) {
            expect(await grantOf(signClient, topic), topic).toBe(128);
        }
        expect(gate.embeddedBroker?.counters.aclRefusals).toBe(refusedBefore + 4);
        // An e-seal reader may not read the display topic either.
        const reader = await connect(url, "seal-l2", "seal-two-password");
        expect(await grantOf(reader, "gate/T01/lanes/L2/display")).toBe(128);
        // A sign that publishes, even to its own topic, is refused (and disconnected): the retained message stays the gate's.
        const closed = new Promise<void>((resolve) => signClient.once("close", () => resolve()));
        signClient.publish("gate/T01/lanes/L1/display", JSON.stringify({ v: 1, signal: "go" }), {
            qos: 1,
            retain: true,
        });
        await closed;
        expect(gate.embeddedBroker?.counters.aclRefusals).toBe(refusedBefore + 6);
        const checker = await connect(url, "sign-l1", "sign-one-password");
        const seen = collect(checker, "gate/T01/lanes/L1/display");
        await checker.subscribeAsync("gate/T01/lanes/L1/display", { qos: 1 });
        expect((await eventually(() => seen[0], 10_000, "retained")).message.gate).toBe("T01");
    });
});

describe("kiosk display token", () => {
    it("opens its own lane's state and stream only; the token is nowhere in the configuration the gate keeps", async () => {
        gate = await startGate(testConfig(dir.path, lanes, "", env));
        const http = gate.addresses.http;
        const state = (lane: string, token: string) =>
            fetch(`${http}/display/${lane}/state?token=${encodeURIComponent(token)}`);
        const own = await state("L1", TOKEN_L1);
        expect(own.status).toBe(200);
        expect(await own.json()).toMatchObject({ lane: "L1", gate: "T01" });
        expect(own.headers.get("content-security-policy")).toContain("default-src 'self'");
        for (const [lane, token] of [
            ["L2", TOKEN_L1],
            ["L1", TOKEN_L2],
            ["L1", ""],
            ["L1", `${TOKEN_L1}x`],
            ["L9", TOKEN_L1],
        ] as const) {
            const refused = await state(lane, token);
            expect(refused.status, `${lane} with ${token}`).toBe(403);
            expect(await refused.json()).toMatchObject({ error: "DISPLAY_TOKEN" });
        }
        const page = await fetch(`${http}/display/L2?token=${TOKEN_L1}`);
        expect(page.status).toBe(403);
        const stream = await fetch(`${http}/display/L2/stream?token=${TOKEN_L1}`);
        expect(stream.status).toBe(403);
        expect(stream.headers.get("content-type")).not.toContain("event-stream");
        // The stream of its own lane: the lane's message at once.
        const controller = new AbortController();
        const ownStream = await fetch(`${http}/display/L1/stream?token=${TOKEN_L1}`, { signal: controller.signal });
        expect(ownStream.headers.get("content-type")).toContain("text/event-stream");
        const reader = ownStream.body?.getReader();
        let text = "";
        while (!text.includes("event: display")) {
            const chunk = await reader?.read();
            if (!chunk || chunk.done) break;
            text += Buffer.from(chunk.value).toString("utf8");
        }
        expect(text).toContain('"lane":"L1"');
        expect(text).not.toContain('"lane":"L2"');
        controller.abort();
        // A display token opens nothing of the dashboard's API.
        const api = await fetch(`${http}/api/v1/lanes?token=${TOKEN_L1}`);
        expect(api.status).toBe(401);
        expect(JSON.stringify(gate.configuration)).not.toContain(TOKEN_L1);
    });
});

async function freePort(): Promise<number> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as { port: number };
    await new Promise((resolve) => server.close(resolve));
    return port;
}

describe.skipIf(!systemToolAvailable("mosquitto"))("LED lane sign on an external Mosquitto", () => {
    let broker: ChildProcess | undefined;
    afterAll(() => broker?.kill("SIGTERM"));

    it("finds the lane's message retained there, and STOP retained after the gate stopped", async () => {
        const port = await freePort();
        const conf = join(dir.path, "mosquitto.conf");
        writeFileSync(conf, `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\n`);
        broker = spawn("mosquitto", ["-c", conf], { stdio: "ignore" });
        const url = `mqtt://127.0.0.1:${port}`;
        const external = `
  - id: L1
    devices:
      - { id: seal-x, model: eseal-mqtt-json, topic: yard/seals/x }
    displays:
      - { id: sign-l1, model: lane-display-mqtt }
`;
        gate = await eventually(
            () =>
                startGate(
                    testConfig(
                        dir.path,
                        external,
                        `broker: { mode: external, url: "${url}", clientId: gate-T01-display }`,
                    ),
                ).catch(() => undefined),
            10_000,
            "the gate on mosquitto",
        );
        await eventually(() => gate?.externalBrokerConnected || undefined, 10_000, "linked to mosquitto");
        const running = gate;
        const read = async (): Promise<DisplayMessage | undefined> => {
            const client = mqtt.connect(url, { reconnectPeriod: 0 });
            clients.push(client);
            await new Promise<void>((resolve) => client.once("connect", () => resolve()));
            const seen = collect(client, "gate/T01/lanes/L1/display");
            await client.subscribeAsync("gate/T01/lanes/L1/display", { qos: 1 });
            return (await eventually(() => seen[0], 10_000, "a retained message")).message;
        };
        expect((await read())?.lane).toBe("L1");
        gate = undefined;
        await running.stop();
        expect(await read()).toMatchObject({ signal: "stop", lines: { zh: ["停车", "请等待工作人员"] } });
    });
});

describe("compiled", () => {
    it("finds the driver catalogues from dist/ as from the sources (tsc copies no JSON)", async () => {
        // Laid out as dist/ is: <checkout>/<out>/src/display/message.js beside <checkout>/src/i18n.
        const out = join(process.cwd(), `.dist-display-test-${process.pid}`);
        try {
            const tsc = [
                "node_modules/typescript/bin/tsc",
                "src/display/message.ts",
                "--outDir",
                out,
                "--rootDir",
                ".",
            ];
            const flags = ["--module", "NodeNext", "--moduleResolution", "NodeNext", "--target", "ES2022"];
            const more = ["--rewriteRelativeImportExtensions", "--allowImportingTsExtensions", "--resolveJsonModule"];
            await runCommand(process.execPath, [...tsc, ...flags, ...more, "--skipLibCheck", "--types", "node"]);
            const compiled = join(out, "src/display/message.js");
            expect(existsSync(compiled)).toBe(true);
            const script = `import(${JSON.stringify(compiled)}).then((m) => console.log(JSON.stringify(m.fallbackMessage("G", "L1", new Date(0)).lines)))`;
            const run = await runCommand(process.execPath, ["-e", script]);
            expect(run.stderr).toBe("");
            expect(JSON.parse(run.stdout)).toEqual({
                vi: ["DỪNG LẠI", "Chờ cán bộ hải quan"],
                zh: ["停车", "请等待工作人员"],
                en: ["STOP", "Wait for the officer"],
            });
        } finally {
            rmSync(out, { recursive: true, force: true });
        }
    }, 120_000);
});
