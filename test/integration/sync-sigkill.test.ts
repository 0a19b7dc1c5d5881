/**
 * gate-edge SIGKILLed again and again while it uploads a backlog to the central simulator: central ends
 * with every event exactly once and the outbox empties. Checked on central's SQLite and the gate's.
 */
import type { ChildProcess } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { CentralSimulator } from "../../simulators/central/index.ts";
import { systemClock } from "../../src/core/clock.ts";
import type { GateEventDraft } from "../../src/core/events.ts";
import { verifyChain } from "../../src/store/audit.ts";
import { openDatabase } from "../../src/store/db.ts";
import { EventLog } from "../../src/store/eventLog.ts";
import { auditCentral } from "../helpers/central.ts";
import { spawnGate } from "../helpers/child.ts";
import { eventually } from "../helpers/gate.ts";
import { tempDir, testLog } from "../helpers/tmp.ts";

const dir = tempDir();
afterAll(() => dir.cleanup());

const TOKEN = "sigkill-sync-token-9a";
const BACKLOG = 50_000;
const KILLS = 6;
const dbPath = join(dir.path, "gate.db");
const centralDb = join(dir.path, "central.db");
const configPath = join(dir.path, "gate.yaml");

async function startChild(url: string): Promise<ChildProcess> {
    return (await spawnGate(configPath, { KILL_CENTRAL_TOKEN: TOKEN, CENTRAL_URL: url })).child;
}

function pendingInGate(): number {
    const db = new Database(dbPath, { readonly: true });
    try {
        return (db.prepare("SELECT COUNT(*) AS n FROM outbox WHERE state = 'pending'").get() as { n: number }).n;
    } finally {
        db.close();
    }
}

describe("central sync across SIGKILLs", () => {
    it(`delivers a ${BACKLOG}-event backlog exactly once across ${KILLS} kills mid-upload`, async () => {
        writeFileSync(
            configPath,
            `
gate: { id: KS01 }
storage: { path: ${JSON.stringify(dbPath)} }
http: { host: 127.0.0.1, port: 0 }
broker: { mode: embedded, host: 127.0.0.1, port: 0 }
central: { url: "\${CENTRAL_URL}", tokenEnv: KILL_CENTRAL_TOKEN, backoffBaseMs: 20, backoffMaxMs: 200 }
lanes:
  - id: L1
    devices:
      - { id: seal-1, model: eseal-mqtt-json, auth: { username: seal-1, password: kill-sync-password } }
`,
        );
        // The backlog: a gate that was cut off from central for a while.
        const db = openDatabase(dbPath);
        const log = new EventLog(db, { gateId: "KS01", clock: systemClock, log: testLog });
        log.start();
        const lanes = ["L1", "L2", "L3"];
        const drafts: GateEventDraft[] = Array.from({ length: BACKLOG }, (_, i) =>
            i % 25 === 0
                ? { type: "passage.updated", laneId: lanes[i % 3] as string, data: { i } }
                : { type: "reading.weight", laneId: lanes[i % 3] as string, data: { kg: i } },
        );
        await Promise.all(drafts.map((draft) => log.append(draft)));
        log.close();
        db.close();

        // Slow enough that each kill lands mid-upload; some answers are lost after central committed.
        const central = new CentralSimulator({
            port: 0,
            dbPath: centralDb,
            tokens: [TOKEN],
            faults: [
                { kind: "latency", ms: 15 },
                { kind: "lostResponse", probability: 0.1 },
            ],
        });
        const { url } = await central.start();
        try {
            let stored = 0;
            for (let kill = 0; kill < KILLS; kill++) {
                const child = await startChild(url);
                const exited = new Promise((resolve) => child.once("exit", resolve));
                const target = stored + 1000 + Math.floor(Math.random() * 2000);
                await eventually(() => central.stats("KS01").events >= target || undefined, 60_000, "upload progress");
                child.kill("SIGKILL");
                await exited;
                stored = central.stats("KS01").events;
            }
            expect(stored).toBeLessThan(BACKLOG);
            const child = await startChild(url);
            const exited = new Promise((resolve) => child.once("exit", resolve));
            await eventually(() => pendingInGate() === 0 || undefined, 120_000, "the outbox to drain");
            child.kill("SIGTERM");
            await exited;

            const audit = auditCentral(centralDb, dbPath, "KS01");
            expect(audit.missing).toEqual([]);
            expect(audit.extra).toEqual([]);
            expect(audit.stored).toBe(audit.distinctIds);
            expect(audit.orderViolations).toEqual([]);
            const stats = central.stats("KS01");
            expect(stats.missingSeqs).toBe(0);
            expect(stats.conflicts).toBe(0);
            const check = openDatabase(dbPath);
            try {
                expect(verifyChain(check).ok).toBe(true);
                expect(check.prepare("SELECT COUNT(*) AS n FROM outbox").get()).toEqual({ n: 0 });
            } finally {
                check.close();
            }
        } finally {
            await central.stop();
        }
    }, 300_000);
});
