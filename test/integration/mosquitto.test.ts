import { type ChildProcess, spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import mqtt from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { definition as eseal } from "../../devices/eseal-mqtt-json.ts";
import type { GateEventDraft } from "../../src/core/events.ts";
import type { Gate } from "../../src/gate.ts";
import type { EventSink } from "../../src/ingest/deviceRuntime.ts";
import { eventually, startGate, testConfig } from "../helpers/gate.ts";
import { systemToolAvailable } from "../helpers/system.ts";
import { tempDir } from "../helpers/tmp.ts";

const dir = tempDir();

async function freePort(): Promise<number> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as { port: number };
    await new Promise((resolve) => server.close(resolve));
    return port;
}

const sealPayload = (sealId: string) =>
    Buffer.from(
        eseal.encode({ msg: "read", sealId, type: "GPS", status: "SEALED", ts: new Date().toISOString() }).payload,
    );

describe.skipIf(!systemToolAvailable("mosquitto"))("external broker mode against a real Mosquitto", () => {
    let broker: ChildProcess;
    let url = "";
    let device: mqtt.MqttClient;
    const dbDir = join(dir.path, "db");

    beforeAll(async () => {
        const port = await freePort();
        const conf = join(dir.path, "mosquitto.conf");
        writeFileSync(
            conf,
            `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\nmax_queued_messages 10000\n`,
        );
        broker = spawn("mosquitto", ["-c", conf], { stdio: "ignore" });
        url = `mqtt://127.0.0.1:${port}`;
        device = await eventually(
            () => {
                const client = mqtt.connect(url, { clientId: "seal-device", reconnectPeriod: 200 });
                client.on("error", () => undefined);
                return client;
            },
            5000,
            "device client",
        );
        await new Promise<void>((resolve) => device.once("connect", () => resolve()));
    });

    afterAll(async () => {
        await device?.endAsync(true);
        broker?.kill("SIGTERM");
        dir.cleanup();
    });

    const config = () =>
        testConfig(
            dbDir,
            "  - id: L1\n    devices:\n      - { id: seal-x, model: eseal-mqtt-json, topic: yard/seals/x }\n",
            `broker: { mode: external, url: "${url}", clientId: gate-edge-T01-test }`,
        );

    const stored = (g: Gate) =>
        g.log
            .read(0, 10_000)
            .filter((event) => event.type === "reading.seal")
            .map((event) => (event.data.values as { sealId: string }).sealId);

    it("stores what devices publish, and after a restart what they published while gate-edge was down", async () => {
        const cfg = config();
        let gate = await startGate(cfg);
        await eventually(() => gate.externalBrokerConnected || undefined, 5000, "subscribed at mosquitto");
        await device.publishAsync("yard/seals/x/seal", sealPayload("S-1"), { qos: 1 });
        await eventually(() => stored(gate).includes("S-1") || undefined, 5000, "S-1 stored");
        await gate.stop();

        for (const id of ["S-2", "S-3", "S-4"])
            await device.publishAsync("yard/seals/x/seal", sealPayload(id), { qos: 1 });

        gate = await startGate(cfg);
        const g = gate;
        await eventually(() => stored(g).length === 4 || undefined, 10_000, "queued messages delivered");
        expect(stored(g)).toEqual(["S-1", "S-2", "S-3", "S-4"]);
        await gate.stop();
    });

    it("does not PUBACK to the broker before commit, so a message caught in a crash is delivered again", async () => {
        const cfg = config();
        const requested: string[] = [];
        const holdForever = (log: EventSink): EventSink => ({
            append: (draft: GateEventDraft) => {
                if (!draft.type.startsWith("reading.")) return log.append(draft);
                requested.push(String((draft.data.values as { sealId: string }).sealId));
                return new Promise(() => undefined);
            },
        });
        const first = await startGate(cfg, { wrapSink: holdForever });
        await eventually(() => first.externalBrokerConnected || undefined, 5000, "subscribed at mosquitto");
        await device.publishAsync("yard/seals/x/seal", sealPayload("S-CRASH"), { qos: 1 });
        await eventually(() => requested.includes("S-CRASH") || undefined, 5000, "message reached the store");
        await first.stop();

        const second = await startGate(cfg);
        await eventually(() => stored(second).includes("S-CRASH") || undefined, 10_000, "redelivery after restart");
        expect(stored(second).filter((id) => id === "S-CRASH")).toHaveLength(1);
        await second.stop();
    });
});
