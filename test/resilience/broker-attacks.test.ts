/**
 * A stranger on the device network against the gate's embedded MQTT broker and its camera push receiver:
 * oversized packets streamed by sockets that never log in, and password guessing in parallel. The gate runs
 * as its own process (`gate-edge start`), so its resident memory is what is measured: before, during and
 * after the attack. Figures are printed for the record (the bar is memory back within 20 MB of before).
 */
import { readFileSync, writeFileSync } from "node:fs";
import { connect as connectTcp, type Socket } from "node:net";
import { join } from "node:path";
import mqtt from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { digestHa1, digestResponse, PUSH_REALM, parseDigestParams } from "../../src/drivers/httpDigest.ts";
import { type GateChild, spawnGate } from "../helpers/child.ts";
import { eventually, startGate, testConfig } from "../helpers/gate.ts";
import { tempDir } from "../helpers/tmp.ts";

const dir = tempDir();
let gate: GateChild;
const SEAL_PASSWORD = "attack-test-password";
const MiB = 2 ** 20;

beforeAll(async () => {
    const configPath = join(dir.path, "gate.yaml");
    // Default broker limits (maxPacketBytes 256 KiB, connectTimeoutMs 5 s, loginRateLimit 10 a minute).
    writeFileSync(
        configPath,
        `
gate: { id: T01 }
storage: { path: ${JSON.stringify(join(dir.path, "gate.db"))} }
http: { host: 127.0.0.1, port: 0 }
push: { host: 127.0.0.1, port: 0 }
broker: { mode: embedded, host: 127.0.0.1, port: 0 }
lanes:
  - id: L1
    devices:
      - { id: seal-1, model: eseal-mqtt-json, auth: { username: seal-1, password: ${SEAL_PASSWORD} } }
`,
    );
    gate = await spawnGate(configPath);
});

afterAll(async () => {
    if (gate && gate.child.exitCode === null) {
        gate.child.kill("SIGTERM");
        await gate.exited;
    }
    dir.cleanup();
});

/** The gate process's resident memory (VmRSS), in MB. */
function gateRssMb(): number {
    const status = readFileSync(`/proc/${gate.child.pid}/status`, "utf8");
    const kb = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1]);
    return kb / 1024;
}

function rawSocket(url: string): Promise<Socket> {
    const { hostname, port } = new URL(url);
    return new Promise((resolve, reject) => {
        const socket = connectTcp(Number(port), hostname, () => resolve(socket));
        socket.once("error", reject);
    });
}

/** An MQTT remaining length (variable byte integer). */
function remainingLength(value: number): Buffer {
    const bytes: number[] = [];
    let left = value;
    do {
        const byte = left % 128;
        left = Math.floor(left / 128);
        bytes.push(left > 0 ? byte | 0x80 : byte);
    } while (left > 0);
    return Buffer.from(bytes);
}

/**
 * Declares a PUBLISH of `declaredBytes` without logging in and streams its body, as fast as the gate reads
 * it, until all is sent or the gate closes the socket. Resolves with the bytes the gate accepted.
 */
async function streamOversizedPublish(url: string, declaredBytes: number): Promise<number> {
    const socket = await rawSocket(url);
    socket.on("error", () => undefined);
    const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
    let sent = 0;
    const chunk = Buffer.alloc(MiB, 0x41);
    const writable = (): Promise<void> =>
        new Promise((resolve) => {
            const done = (): void => {
                socket.off("drain", done);
                socket.off("close", done);
                resolve();
            };
            socket.once("drain", done);
            socket.once("close", done);
        });
    if (!socket.write(Buffer.concat([Buffer.from([0x30]), remainingLength(declaredBytes)]))) await writable();
    while (sent < declaredBytes && !socket.destroyed) {
        sent += chunk.length;
        if (!socket.write(chunk)) await writable();
    }
    socket.end();
    await closed;
    return sent - socket.writableLength;
}

describe("embedded broker under attack", () => {
    it("four sockets streaming a declared 100 MB PUBLISH without CONNECT cost the gate no lasting memory", async () => {
        expect((await fetch(`${gate.httpUrl}/api/v1/health`)).ok).toBe(true);
        const before = gateRssMb();
        let peak = before;
        const sampler = setInterval(() => {
            peak = Math.max(peak, gateRssMb());
        }, 50);
        const accepted = await Promise.all(
            Array.from({ length: 4 }, () => streamOversizedPublish(gate.mqttUrl, 100 * 1_000_000)),
        );
        clearInterval(sampler);
        peak = Math.max(peak, gateRssMb());
        const settled = await eventually(
            () => {
                const now = gateRssMb();
                return now < before + 20 ? now : undefined;
            },
            15_000,
            `gate memory back within 20 MB of ${before.toFixed(0)} MB (now ${gateRssMb().toFixed(0)} MB)`,
        ).catch((err: unknown) => {
            console.log(
                `RSS before ${before.toFixed(0)} MB, peak ${peak.toFixed(0)} MB, after ${gateRssMb().toFixed(0)} MB`,
            );
            throw err;
        });
        console.log(
            `oversized PUBLISH x4: RSS before ${before.toFixed(0)} MB, peak ${peak.toFixed(0)} MB, after ${settled.toFixed(0)} MB; ` +
                `bytes written into each socket before the gate closed it: ${accepted.map((b) => (b / MiB).toFixed(1)).join(", ")} MiB`,
        );
        expect(peak).toBeLessThan(before + 50);
        // The gate is still up and takes its device.
        const device = await mqtt.connectAsync(gate.mqttUrl, {
            username: "seal-1",
            password: SEAL_PASSWORD,
            reconnectPeriod: 0,
        });
        await device.endAsync();
    }, 120_000);

    it("300 wrong MQTT logins at once: at most loginRateLimit.maxFailures (10) passwords are checked", async () => {
        const answers = await Promise.all(
            Array.from({ length: 300 }, (_, i) =>
                mqtt
                    .connectAsync(gate.mqttUrl, {
                        username: "seal-1",
                        password: `guess-${i}`,
                        reconnectPeriod: 0,
                        connectTimeout: 30_000,
                    })
                    .then(
                        async (client) => {
                            await client.endAsync();
                            return "accepted";
                        },
                        (err: unknown) => String(err),
                    ),
            ),
        );
        const checked = answers.filter((answer) => /Bad username or password/i.test(answer)).length;
        const throttled = answers.filter((answer) => /Server unavailable/i.test(answer)).length;
        console.log(`300 wrong MQTT logins: ${checked} passwords checked, ${throttled} refused unchecked`);
        expect(answers).not.toContain("accepted");
        expect(checked).toBe(10);
        expect(throttled).toBe(290);
    }, 120_000);
});

describe("camera push receiver under password guessing", () => {
    it("20 wrong camera logins at once: at most push.loginRateLimit.maxFailures are checked, the rest 429", async () => {
        const pushDir = tempDir();
        const camera = await startGate(
            testConfig(
                pushDir.path,
                `
  - id: L1
    devices:
      - { id: front-1, model: hikvision-isapi-anpr, role: front, address: "http-push:", auth: { username: front-1, password: front-1-password } }
`,
                "push: { host: 127.0.0.1, port: 0, loginRateLimit: { maxFailures: 5, windowMinutes: 10 } }",
            ),
        );
        try {
            const statuses = await Promise.all(
                Array.from({ length: 20 }, async (_, i) => {
                    const res = await fetch(`${camera.addresses.push}/ISAPI/Event/notification/alert`, {
                        method: "POST",
                        headers: {
                            authorization: `Basic ${Buffer.from(`front-1:guess-${i}`).toString("base64")}`,
                            "content-type": "application/xml",
                        },
                        body: "<EventNotificationAlert/>",
                    });
                    await res.arrayBuffer();
                    return res.status;
                }),
            );
            const checked = statuses.filter((status) => status === 401).length;
            const throttled = statuses.filter((status) => status === 429).length;
            console.log(
                `20 wrong camera logins: ${checked} passwords checked (401), ${throttled} refused unchecked (429)`,
            );
            expect(checked).toBe(5);
            expect(throttled).toBe(15);
        } finally {
            await camera.stop();
            pushDir.cleanup();
        }
    });

    it("20 wrong Digest logins at once on one nonce: the same limit, at most 5 checked, the rest 429", async () => {
        const pushDir = tempDir();
        const camera = await startGate(
            testConfig(
                pushDir.path,
                `
  - id: L1
    devices:
      - { id: rear-1, model: dahua-itsapi-anpr, role: rear, auth: { username: rear-1, password: rear-1-password } }
`,
                "push: { host: 127.0.0.1, port: 0, loginRateLimit: { maxFailures: 5, windowMinutes: 10 } }",
            ),
        );
        const url = `${camera.addresses.push}/NotificationInfo/TollgateInfo`;
        try {
            const challenge = await fetch(url, { method: "POST", headers: { "content-type": "application/json" } });
            await challenge.arrayBuffer();
            // The first challenge is MD5; fetch joins the headers, and the nonce is the same in each.
            const nonce = parseDigestParams(
                challenge.headers.get("www-authenticate")?.split(", Digest ")[0] ?? "",
            )?.get("nonce");
            expect(nonce).toMatch(/^[0-9a-f]{60}$/);
            const statuses = await Promise.all(
                Array.from({ length: 20 }, async (_, i) => {
                    const nc = (i + 1).toString(16).padStart(8, "0");
                    const ha1 = digestHa1("MD5", "rear-1", PUSH_REALM, `guess-${i}`);
                    const uri = "/NotificationInfo/TollgateInfo";
                    const response = digestResponse({
                        algorithm: "MD5",
                        ha1,
                        nonce: nonce ?? "",
                        nc,
                        cnonce: "c",
                        qop: "auth",
                        method: "POST",
                        uri,
                    });
                    const res = await fetch(url, {
                        method: "POST",
                        headers: {
                            authorization: `Digest username="rear-1", realm="${PUSH_REALM}", nonce="${nonce}", uri="${uri}", response="${response}", qop=auth, nc=${nc}, cnonce="c"`,
                            "content-type": "application/json",
                        },
                        body: "{}",
                    });
                    await res.arrayBuffer();
                    return res.status;
                }),
            );
            const checked = statuses.filter((status) => status === 401).length;
            const throttled = statuses.filter((status) => status === 429).length;
            console.log(
                `20 wrong Digest logins: ${checked} responses checked (401), ${throttled} refused unchecked (429)`,
            );
            expect(checked).toBe(5);
            expect(throttled).toBe(15);
        } finally {
            await camera.stop();
            pushDir.cleanup();
        }
    });
});
