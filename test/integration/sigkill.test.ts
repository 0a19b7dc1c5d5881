import { type ChildProcess, spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import mqtt from "mqtt";
import { afterAll, describe, expect, it } from "vitest";
import { definition as eseal } from "../../devices/eseal-mqtt-json.ts";
import { verifyChain } from "../../src/store/audit.ts";
import { openDatabase } from "../../src/store/db.ts";
import { tempDir } from "../helpers/tmp.ts";

const dir = tempDir();
afterAll(() => dir.cleanup());

const KILLS = 20;
const dbPath = join(dir.path, "killed.db");
const configPath = join(dir.path, "gate.yaml");
writeFileSync(
    configPath,
    `
gate: { id: K01 }
storage: { path: ${JSON.stringify(dbPath)} }
http: { host: 127.0.0.1, port: 0 }
broker: { mode: embedded, host: 127.0.0.1, port: 0 }
lanes:
  - id: L1
    devices:
      - { id: seal-1, model: eseal-mqtt-json, auth: { username: seal-1, password: kill-test-password } }
`,
);

/** Starts `gate-edge start` as a child process and resolves with its MQTT URL once it is listening. */
function startChild(): Promise<{ child: ChildProcess; mqttUrl: string }> {
    const child = spawn(process.execPath, ["bin/gate-edge.js", "start", "--config", configPath], {
        stdio: ["ignore", "pipe", "pipe"],
        env: { ...process.env, GATE_LOG_LEVEL: "error" },
    });
    return new Promise((resolve, reject) => {
        let output = "";
        const onData = (chunk: Buffer) => {
            output += chunk.toString();
            const match = /MQTT:\s+(mqtt:\/\/\S+)/.exec(output);
            if (match) {
                child.stdout?.off("data", onData);
                resolve({ child, mqttUrl: match[1]! });
            }
        };
        child.stdout?.on("data", onData);
        child.stderr?.on("data", (chunk: Buffer) => {
            output += chunk.toString();
        });
        child.once("exit", (code) => reject(new Error(`gate-edge exited with ${code} before listening:\n${output}`)));
    });
}

describe("durability under SIGKILL", () => {
    it(`loses no PUBACKed reading across ${KILLS} kills during ingest, and the database stays intact`, async () => {
        const acked = new Set<string>();
        let sent = 0;
        for (let round = 0; round < KILLS; round++) {
            const { child, mqttUrl } = await startChild();
            const exited = new Promise((resolve) => child.once("exit", resolve));
            const client = mqtt.connect(mqttUrl, {
                username: "seal-1",
                password: "kill-test-password",
                reconnectPeriod: 0,
            });
            client.on("error", () => undefined);
            await new Promise<void>((resolve, reject) => {
                client.once("connect", () => resolve());
                client.once("error", reject);
            });
            // Publish with a window of 64 in flight until the kill; only PUBACKed reads are promised.
            let stop = false;
            const publisher = (async () => {
                const inFlight = new Set<Promise<void>>();
                for (let n = 0; !stop; n++) {
                    const sealId = `K-${round}-${n}`;
                    const { subtopic, payload } = eseal.encode({
                        msg: "read",
                        sealId,
                        type: "ISO18185",
                        status: "SEALED",
                        ts: new Date().toISOString(),
                    });
                    sent++;
                    const publish = client
                        .publishAsync(`gate/K01/devices/seal-1/${subtopic}`, Buffer.from(payload), { qos: 1 })
                        .then(
                            () => void acked.add(sealId),
                            () => undefined,
                        )
                        .finally(() => inFlight.delete(publish));
                    inFlight.add(publish);
                    if (inFlight.size >= 64) await Promise.race(inFlight);
                }
            })();
            await new Promise((resolve) => setTimeout(resolve, 150 + Math.random() * 400));
            child.kill("SIGKILL");
            await exited;
            stop = true;
            client.end(true);
            await publisher;

            const db = openDatabase(dbPath, { readonly: true });
            try {
                expect(db.pragma("integrity_check", { simple: true })).toBe("ok");
                const report = verifyChain(db);
                expect(report.ok, JSON.stringify(report.firstBroken)).toBe(true);
            } finally {
                db.close();
            }
        }
        const db = new Database(dbPath, { readonly: true });
        const stored = new Set(
            (db.prepare("SELECT data FROM events WHERE type = 'reading.seal'").all() as { data: string }[]).map(
                (row) => (JSON.parse(row.data) as { values: { sealId: string } }).values.sealId,
            ),
        );
        db.close();
        const lost = [...acked].filter((sealId) => !stored.has(sealId));
        expect(acked.size).toBeGreaterThan(KILLS * 10);
        expect(lost).toEqual([]);
        expect(sent).toBeGreaterThanOrEqual(acked.size);
    }, 240_000);
});
