/**
 * gate-edge as a service, each as its own process (`node bin/gate-edge.js start`):
 * - SIGTERM during full ingest with an upload to central in flight: exits 0 within the 10 s deadline,
 *   every PUBACKed reading is stored, the database is intact, and after a restart central holds every
 *   event exactly once (the abandoned upload cost nothing);
 * - SIGHUP after a device was added to the file: the new device reads, a lane that did not change keeps its
 *   MQTT session, what needs a restart is said, and the reload is a `config.applied` event;
 * - the systemd notifications through the real systemd-notify, with socat as the service manager.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import mqtt from "mqtt";
import { afterAll, describe, expect, it } from "vitest";
import { CentralSimulator } from "../../simulators/central/index.ts";
import { ScannerSimulator } from "../../simulators/scanner.ts";
import { TcpSerialServer } from "../../simulators/transport.ts";
import { STOP_DEADLINE_MS } from "../../src/service.ts";
import { verifyChain } from "../../src/store/audit.ts";
import { auditCentral } from "../helpers/central.ts";
import { spawnGate } from "../helpers/child.ts";
import { eventually } from "../helpers/gate.ts";
import { publishSeals, sealedRead } from "../helpers/sealPublisher.ts";
import { systemToolAvailable } from "../helpers/system.ts";
import { tempDir } from "../helpers/tmp.ts";

const dir = tempDir();
afterAll(() => dir.cleanup());

interface Child {
    child: ChildProcess;
    output: () => string;
    mqttUrl: string;
    apiUrl: string;
    exited: Promise<number | null>;
}

async function startChild(configPath: string, env: NodeJS.ProcessEnv = {}): Promise<Child> {
    const gate = await spawnGate(configPath, { GATE_LOG_LEVEL: "info", ...env });
    return { child: gate.child, output: gate.output, mqttUrl: gate.mqttUrl, apiUrl: gate.httpUrl, exited: gate.exited };
}

function readDb<T>(path: string, read: (db: Database.Database) => T): T {
    const db = new Database(path, { readonly: true });
    try {
        return read(db);
    } finally {
        db.close();
    }
}

async function sealClient(url: string, username: string, password: string) {
    const client = mqtt.connect(url, { username, password, reconnectPeriod: 0 });
    client.on("error", () => undefined);
    await new Promise<void>((resolve, reject) => {
        client.once("connect", () => resolve());
        client.once("error", reject);
    });
    return client;
}

describe("graceful stop", () => {
    it("SIGTERM during full ingest with an upload in flight loses nothing and exits in time", async () => {
        const dbPath = join(dir.path, "stop.db");
        const configPath = join(dir.path, "stop.yaml");
        const DEVICES = 4;
        // Slow answers, so an upload is in flight when the signal comes.
        const central = new CentralSimulator({
            port: 0,
            dbPath: join(dir.path, "stop-central.db"),
            tokens: ["stop-token"],
            latencyMs: 300,
        });
        const { url } = await central.start();
        writeFileSync(
            configPath,
            `
gate: { id: ST01 }
storage: { path: ${JSON.stringify(dbPath)} }
http: { host: 127.0.0.1, port: 0 }
broker: { mode: embedded, host: 127.0.0.1, port: 0 }
central: { url: "${url}", tokenEnv: STOP_TOKEN, backoffBaseMs: 20, backoffMaxMs: 200 }
lanes:
  - id: L1
    devices:
${Array.from({ length: DEVICES }, (_, i) => `      - { id: seal-${i}, model: eseal-mqtt-json, auth: { username: seal-${i}, password: stop-password-${i} } }`).join("\n")}
`,
        );
        try {
            const gate = await startChild(configPath, { STOP_TOKEN: "stop-token" });
            const acked = new Set<string>();
            const publishers = await Promise.all(
                Array.from({ length: DEVICES }, async (_, device) => {
                    const client = await sealClient(gate.mqttUrl, `seal-${device}`, `stop-password-${device}`);
                    const publisher = publishSeals(client, {
                        topic: `gate/ST01/devices/seal-${device}`,
                        sealId: (n) => `S-${device}-${n}`,
                        onAcked: (sealId) => void acked.add(sealId),
                        graceful: true,
                    });
                    return { client, publisher };
                }),
            );
            await eventually(() => (central.stats("ST01").events > 0 ? true : undefined), 10_000, "uploads to start");
            // Full ingest: the signal comes once over 1000 reads are acknowledged (checked below), however slow.
            await eventually(() => acked.size > 1000 || undefined, 60_000, "over 1000 reads acknowledged");

            const signalledAt = performance.now();
            gate.child.kill("SIGTERM");
            const code = await gate.exited;
            const stopMs = performance.now() - signalledAt;
            for (const { publisher } of publishers) publisher.stop();
            for (const { client, publisher } of publishers) {
                client.end(true);
                await publisher.done;
            }
            expect(code, gate.output().slice(-3000)).toBe(0);
            expect(stopMs).toBeLessThan(STOP_DEADLINE_MS);
            expect(gate.output()).toMatch(/"msg":"stopped"/);

            const stored = readDb(dbPath, (db) => {
                expect(db.pragma("integrity_check", { simple: true })).toBe("ok");
                expect(verifyChain(db).ok).toBe(true);
                return new Set(
                    (db.prepare("SELECT data FROM events WHERE type = 'reading.seal'").all() as { data: string }[]).map(
                        (row) => (JSON.parse(row.data) as { values: { sealId: string } }).values.sealId,
                    ),
                );
            });
            expect(acked.size).toBeGreaterThan(1000);
            expect([...acked].filter((sealId) => !stored.has(sealId))).toEqual([]);
            // The stop left events for central (the upload in flight among them): a restart delivers
            // them, and central holds each event of the gate exactly once.
            expect(readDb(dbPath, (db) => db.prepare("SELECT COUNT(*) AS n FROM outbox").get())).not.toEqual({ n: 0 });
            const again = await startChild(configPath, { STOP_TOKEN: "stop-token", GATE_LOG_LEVEL: "error" });
            await eventually(
                () =>
                    readDb(
                        dbPath,
                        (db) => (db.prepare("SELECT COUNT(*) AS n FROM outbox").get() as { n: number }).n,
                    ) === 0 || undefined,
                60_000,
                "the outbox to drain",
            );
            again.child.kill("SIGTERM");
            expect(await again.exited).toBe(0);
            const audit = auditCentral(join(dir.path, "stop-central.db"), dbPath, "ST01");
            expect(audit.missing).toEqual([]);
            expect(audit.extra).toEqual([]);
            expect(audit.stored).toBe(audit.distinctIds);
        } finally {
            await central.stop();
        }
    }, 120_000);
});

describe("configuration reload", () => {
    it("SIGHUP adds a device to a running gate without touching the lane that did not change", async () => {
        const dbPath = join(dir.path, "reload.db");
        const configPath = join(dir.path, "reload.yaml");
        const base = `
gate: { id: RL01 }
storage: { path: ${JSON.stringify(dbPath)} }
http: { host: 127.0.0.1, port: 0 }
broker: { mode: embedded, host: 127.0.0.1, port: 0 }
ingest: { offlineAfterMs: 5000 }
lanes:
  - id: L1
    devices:
      - { id: seal-1, model: eseal-mqtt-json, auth: { username: seal-1, password: reload-password-1 } }
  - id: L2
    devices:
      - { id: seal-2, model: eseal-mqtt-json, auth: { username: seal-2, password: reload-password-2 } }
`;
        writeFileSync(configPath, base);
        const link = new TcpSerialServer({ port: 0 });
        const scanner = new ScannerSimulator({ model: "serial-barcode-scanner", link });
        await scanner.start();
        const gate = await startChild(configPath);
        try {
            // Lane 1's reader keeps publishing across the reload; its session must not drop.
            const client = await sealClient(gate.mqttUrl, "seal-1", "reload-password-1");
            let closes = 0;
            client.on("close", () => {
                closes++;
            });
            const publish = async (sealId: string) => {
                const { subtopic, payload } = sealedRead(sealId);
                await client.publishAsync(`gate/RL01/devices/seal-1/${subtopic}`, Buffer.from(payload), { qos: 1 });
            };
            await publish("BEFORE-RELOAD");

            // The technician adds a scanner to lane 2, widens the weight tolerance, and changes a setting
            // a running gate cannot take.
            writeFileSync(
                configPath,
                base
                    .replace("offlineAfterMs: 5000", "offlineAfterMs: 6000")
                    .replace("ingest:", "rules: { weightTolerancePct: 7 }\ningest:") +
                    `      - { id: scan-2, model: serial-barcode-scanner, address: "tcp://127.0.0.1:${link.port}" }\n`,
            );
            gate.child.kill("SIGHUP");
            const applied = await eventually(
                () =>
                    readDb(
                        dbPath,
                        (db) =>
                            db
                                .prepare(
                                    "SELECT data FROM events WHERE type = 'config.applied' AND data LIKE '%\"reload\":true%'",
                                )
                                .get() as { data: string } | undefined,
                    ),
                10_000,
                "config.applied of the reload",
            );
            const data = JSON.parse(applied.data) as Record<string, unknown>;
            expect(data.changed).toEqual(["lanes[L2].devices[scan-2] (added)", "rules.weightTolerancePct"]);
            expect(data.restartNeeded).toEqual(["ingest.offlineAfterMs"]);
            expect(data.revision).toMatch(/^[0-9a-f]{16}$/);
            await eventually(
                () => /restart needed for: ingest\.offlineAfterMs/.test(gate.output()) || undefined,
                5000,
                "the restart-needed log line",
            );

            // The new scanner reads.
            await eventually(
                async () => {
                    const health = (await (await fetch(`${gate.apiUrl}/api/v1/health`)).json()) as {
                        devices: { id: string; status: string }[];
                    };
                    return health.devices.find((device) => device.id === "scan-2")?.status === "online" || undefined;
                },
                10_000,
                "scan-2 online",
            );
            scanner.scan("101234567820");
            await eventually(
                () =>
                    readDb(dbPath, (db) =>
                        db.prepare("SELECT 1 FROM events WHERE type = 'reading.scan' AND device_id = 'scan-2'").get(),
                    ),
                10_000,
                "a scan from the added scanner",
            );
            // Lane 1 went on as if nothing happened.
            await publish("AFTER-RELOAD");
            expect(closes).toBe(0);
            const seals = readDb(dbPath, (db) =>
                (db.prepare("SELECT data FROM events WHERE type = 'reading.seal'").all() as { data: string }[]).map(
                    (row) => (JSON.parse(row.data) as { values: { sealId: string } }).values.sealId,
                ),
            );
            expect(seals).toEqual(["BEFORE-RELOAD", "AFTER-RELOAD"]);
            client.end(true);

            // A file with an error is not applied: the gate keeps running on what it has.
            writeFileSync(configPath, `${readFileSync(configPath, "utf8")}      - { id: broken, model: nope }\n`);
            gate.child.kill("SIGHUP");
            await eventually(() => /configuration NOT reloaded/.test(gate.output()) || undefined, 10_000, "refusal");
            expect(gate.output()).toMatch(/unknown model \\"nope\\"/);
        } finally {
            gate.child.kill("SIGTERM");
            expect(await gate.exited).toBe(0);
            await scanner.stop();
        }
    }, 60_000);
});

describe("systemd notifications", () => {
    const ready = systemToolAvailable("socat") && systemToolAvailable("systemd-notify");
    it.skipIf(!ready)(
        "READY=1, WATCHDOG=1 pings and STOPPING=1 reach NOTIFY_SOCKET through systemd-notify",
        async () => {
            const socket = join(dir.path, "notify.sock");
            // socat stands in for PID 1: it prints every datagram sent to the socket.
            const manager = spawn("socat", ["-u", `UNIX-RECV:${socket},unlink-early`, "STDOUT"], {
                stdio: ["ignore", "pipe", "inherit"],
            });
            let received = "";
            manager.stdout?.on("data", (chunk: Buffer) => {
                received += chunk.toString();
            });
            try {
                await eventually(
                    () => {
                        try {
                            readFileSync(socket);
                        } catch (err) {
                            return (err as NodeJS.ErrnoException).code === "ENXIO" || undefined;
                        }
                        return undefined;
                    },
                    5000,
                    "the notify socket",
                );
                const configPath = join(dir.path, "notify.yaml");
                writeFileSync(
                    configPath,
                    `
gate: { id: SD01 }
storage: { path: ${JSON.stringify(join(dir.path, "notify.db"))} }
http: { host: 127.0.0.1, port: 0 }
broker: { mode: embedded, host: 127.0.0.1, port: 0 }
lanes:
  - id: L1
    devices:
      - { id: seal-1, model: eseal-mqtt-json, auth: { username: seal-1, password: notify-password } }
`,
                );
                const gate = await startChild(configPath, { NOTIFY_SOCKET: socket, WATCHDOG_USEC: "400000" });
                await eventually(() => /READY=1/.test(received) || undefined, 10_000, "READY=1");
                expect(received).toMatch(/STATUS=SD01: 0\/1 lane\(s\) ready/);
                await eventually(
                    () => (received.match(/WATCHDOG=1/g)?.length ?? 0) >= 2 || undefined,
                    10_000,
                    "two watchdog pings",
                );
                gate.child.kill("SIGTERM");
                expect(await gate.exited).toBe(0);
                await eventually(() => /STOPPING=1/.test(received) || undefined, 5000, "STOPPING=1");
            } finally {
                manager.kill();
            }
        },
        30_000,
    );
});
