/**
 * Central sync against the real central simulator over HTTP on loopback, while it fights back. Every
 * verdict comes from central's own SQLite file (test/helpers/central.ts), not from gate-edge's counters.
 */
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CentralSimulator, FAULT_KINDS, type FaultSpec } from "../../simulators/central/index.ts";
import { ManualClock } from "../../src/core/clock.ts";
import type { GateEventDraft } from "../../src/core/events.ts";
import type { Gate } from "../../src/gate.ts";
import type { SyncTimers } from "../../src/sync/timers.ts";
import { apiSession } from "../helpers/api.ts";
import { auditCentral } from "../helpers/central.ts";
import { eventually, startGate, testConfig } from "../helpers/gate.ts";
import { tempDir } from "../helpers/tmp.ts";

const dir = tempDir();
afterAll(() => dir.cleanup());

const TOKEN = "chaos-test-token-4c1f";
const LANES = ["L1", "L2", "L3", "L4"];
const lanesYaml = LANES.map(
    (id) => `  - id: ${id}
    devices:
      - { id: seal-${id}, model: eseal-mqtt-json, auth: { username: seal-${id}, password: chaos-password-${id} } }`,
).join("\n");

function centralYaml(url: string, backoffMaxMs = 250): string {
    return `central: { url: ${JSON.stringify(url)}, tokenEnv: CHAOS_CENTRAL_TOKEN, backoffBaseMs: 20, backoffMaxMs: ${backoffMaxMs}, requestTimeoutMs: 3000, authRetryMs: 300, maxRetryAfterMs: 1500, clearancePollMs: 200 }`;
}

beforeAll(() => {
    process.env.CHAOS_CENTRAL_TOKEN = TOKEN;
});

function draftsFor(batch: number, size: number): GateEventDraft[] {
    return Array.from({ length: size }, (_, i) => {
        const lane = LANES[(batch + i) % LANES.length] as string;
        const n = batch * size + i;
        if (n % 50 === 0) return { type: "alert.raised", laneId: lane, data: { code: "TEST", n } };
        if (n % 10 === 0) return { type: "passage.updated", laneId: lane, data: { n } };
        return {
            type: "reading.weight",
            laneId: lane,
            deviceId: `scale-${lane}`,
            data: { kg: 20_000 + n, stable: true },
        };
    });
}

function pendingTotal(gate: Gate): number {
    return gate.sync.status().backlog.reduce((sum, row) => sum + row.pending, 0);
}

describe("central sync under fire", () => {
    it("delivers 50,000 events exactly once, per-lane order intact, while central injects every fault in turn", async () => {
        const centralDb = join(dir.path, "central-chaos.db");
        const central = new CentralSimulator({ port: 0, dbPath: centralDb, tokens: [TOKEN] });
        const { url } = await central.start();
        const config = testConfig(dir.path, lanesYaml, centralYaml(url));
        const gate = await startGate(config);
        try {
            const faults: FaultSpec[][] = [
                [{ kind: "latency", ms: 40, times: 10 }],
                [{ kind: "status", code: 500, times: 4 }],
                [{ kind: "status", code: 503, retryAfterS: 1, times: 2 }],
                [{ kind: "rateLimit", retryAfterS: 1, times: 2 }],
                [{ kind: "reset", times: 4 }],
                [{ kind: "lostResponse", times: 4 }],
                [{ kind: "slowDrip", chunkBytes: 512, intervalMs: 2, times: 3 }],
                [{ kind: "unauthorized", times: 2 }],
                [{ kind: "down", times: 2, forMs: 300 }],
            ];
            // Producer: 50 bursts of 1000 events, spread over the whole fault schedule.
            const TOTAL_BURSTS = 50;
            let produced = 0;
            const producer = (async () => {
                for (let burst = 0; burst < TOTAL_BURSTS; burst++) {
                    await Promise.all(draftsFor(burst, 1000).map((draft) => gate.log.append(draft)));
                    produced += 1000;
                    // Pacing, not a wait: the bursts are spread out so events keep arriving while faults fire.
                    await new Promise((resolve) => setTimeout(resolve, 30));
                }
            })();
            for (const step of faults) {
                const kind = step[0]?.kind as string;
                const before = central.stats(config.gate.id).faultsInjected[step[0]?.kind ?? "latency"];
                central.setFaults(step);
                const times = step[0]?.times ?? 1;
                await eventually(
                    () =>
                        central.stats(config.gate.id).faultsInjected[step[0]?.kind ?? "latency"] >= before + times ||
                        undefined,
                    30_000,
                    `fault ${kind} to fire ${times} times`,
                );
            }
            central.setFaults([]);
            await producer;
            expect(produced).toBe(50_000);
            await eventually(() => pendingTotal(gate) === 0 || undefined, 120_000, "the outbox to drain");
            const status = gate.sync.status();
            const head = gate.log.headSeq;
            await gate.stop();

            const audit = auditCentral(centralDb, config.storage.path, config.gate.id);
            expect(audit.missing).toEqual([]);
            expect(audit.extra).toEqual([]);
            expect(audit.stored).toBe(audit.distinctIds);
            expect(audit.stored).toBe(head);
            expect(audit.orderViolations).toEqual([]);
            const stats = central.stats(config.gate.id);
            expect(stats.missingSeqs).toBe(0);
            // lostResponse stored batches the gate never heard about: it sent them again, central said duplicate.
            expect(stats.duplicates).toBeGreaterThan(0);
            expect(status.parked).toHaveLength(0);
            for (const kind of FAULT_KINDS) {
                expect(stats.faultsInjected[kind], kind).toBeGreaterThan(0);
            }
            // The 401s raised a SYNC_AUTH alert and central's acceptance cleared it.
            const alerts = alertsIn(config.storage.path);
            expect(alerts).toContain("alert.raised:SYNC_AUTH");
            expect(alerts).toContain("alert.cleared:SYNC_AUTH");
        } finally {
            await gate.stop();
            await central.stop();
        }
    }, 240_000);

    it("parks a rejected event with an alert; a technician's retry delivers it once central takes it", async () => {
        const centralDb = join(dir.path, "central-reject.db");
        const central = new CentralSimulator({
            port: 0,
            dbPath: centralDb,
            tokens: [TOKEN],
            rejectRules: [{ types: ["passage.updated"], reason: "passage references an unknown declaration" }],
        });
        const { url } = await central.start();
        const config = testConfig(dir.path, lanesYaml, centralYaml(url));
        const gate = await startGate(config);
        try {
            const rejected = await gate.log.append({
                type: "passage.updated",
                laneId: "L1",
                data: { declaration: "1012" },
            });
            await Promise.all(
                draftsFor(1, 20)
                    .filter((d) => d.type !== "passage.updated")
                    .map((d) => gate.log.append(d)),
            );
            const parked = await eventually(() => gate.sync.status().parked[0], 20_000, "the event to be parked");
            expect(parked).toMatchObject({ seq: rejected.seq, reason: "passage references an unknown declaration" });
            await eventually(() => pendingTotal(gate) === 0 || undefined, 20_000, "the rest to drain");
            const alert = gate.log
                .read(0, 1000)
                .find((e) => e.type === "alert.raised" && e.data.code === "SYNC_PARKED");
            expect(alert?.data).toMatchObject({ seq: rejected.seq, eventId: rejected.id });
            expect(gate.sync.status().backlog.find((row) => row.class === "passage")?.parked).toBe(1);

            // The technician sees it on the sync view and in the metrics; an officer may not retry it.
            const technician = apiSession(gate, "technician");
            const view = (await technician.inject("GET", "/api/v1/sync")).json() as {
                parked: { seq: number; reason: string }[];
            };
            expect(view.parked).toEqual([
                expect.objectContaining({ seq: rejected.seq, reason: "passage references an unknown declaration" }),
            ]);
            const metrics = await (await fetch(`${gate.addresses.http}/metrics`)).text();
            expect(metrics).toContain('gate_sync_parked_events{class="passage"} 1');
            expect(metrics).toMatch(/gate_sync_last_success_timestamp_seconds [1-9]/);
            const officer = apiSession(gate, "officer");
            expect((await officer.inject("POST", `/api/v1/sync/parked/${rejected.seq}/retry`)).statusCode).toBe(403);

            // Central learns the declaration; the technician retries the parked event.
            central.setRejectRules([]);
            const retry = await technician.inject("POST", `/api/v1/sync/parked/${rejected.seq}/retry`);
            expect(retry.statusCode).toBe(200);
            expect((await technician.inject("POST", "/api/v1/sync/parked/999999/retry")).statusCode).toBe(409);
            await eventually(() => gate.sync.status().parked.length === 0 || undefined, 20_000, "the retry");
            await eventually(() => pendingTotal(gate) === 0 || undefined, 20_000, "the drain after the retry");
            const head = gate.log.headSeq;
            await gate.stop();
            const audit = auditCentral(centralDb, config.storage.path, config.gate.id);
            expect(audit.missing).toEqual([]);
            expect(audit.stored).toBe(head);
            expect(audit.stored).toBe(audit.distinctIds);
        } finally {
            await gate.stop();
            await central.stop();
        }
    }, 60_000);

    it("rides out central down for a day (virtual time) and drains when it is back", async () => {
        const centralDb = join(dir.path, "central-outage.db");
        const first = new CentralSimulator({ port: 0, dbPath: centralDb, tokens: [TOKEN] });
        const { url } = await first.start();
        const port = first.port;
        await first.stop();
        const clock = new ManualClock(Date.UTC(2026, 10, 22, 0, 0, 0));
        const waits: number[] = [];
        // Every wait passes at once on the clock the whole gate runs on: a day goes by in seconds.
        const timers: SyncTimers = {
            now: () => clock.now(),
            sleep: async (ms, signal) => {
                waits.push(ms);
                if (signal.aborted) return;
                clock.advance(ms);
                await new Promise((resolve) => setImmediate(resolve));
            },
        };
        const config = testConfig(dir.path, lanesYaml, centralYaml(url, 60_000));
        const gate = await startGate(config, { clock, syncTimers: timers });
        let central: CentralSimulator | undefined;
        try {
            await Promise.all(draftsFor(0, 2000).map((d) => gate.log.append(d)));
            // Each virtual retry is a real refused connection: generous for a loaded machine.
            await eventually(
                () => clock.now() > Date.UTC(2026, 10, 23, 0, 0, 0) || undefined,
                240_000,
                "a virtual day",
            );
            const during = gate.sync.status();
            expect(pendingTotal(gate)).toBeGreaterThanOrEqual(2000);
            expect(Math.max(...during.backlog.map((row) => row.oldestPendingAgeS ?? 0))).toBeGreaterThan(86_400);
            expect(during.counters?.requests.network).toBeGreaterThan(100);
            expect(Math.max(...waits)).toBeLessThanOrEqual(60_000);
            central = new CentralSimulator({ port, dbPath: centralDb, tokens: [TOKEN] });
            await central.start();
            await eventually(() => pendingTotal(gate) === 0 || undefined, 120_000, "the drain after the outage");
            const head = gate.log.headSeq;
            await gate.stop();
            const audit = auditCentral(centralDb, config.storage.path, config.gate.id);
            expect(audit.missing).toEqual([]);
            expect(audit.stored).toBe(head);
            expect(audit.orderViolations).toEqual([]);
        } finally {
            await gate.stop();
            await central?.stop();
        }
    }, 420_000);

    it("takes clearance data from central, and after a restart resumes the feed from its stored cursor", async () => {
        const centralDb = join(dir.path, "central-feed.db");
        const central = new CentralSimulator({
            port: 0,
            dbPath: centralDb,
            tokens: [TOKEN],
            clearance: [{ file: "config/clearance-demo.yaml" }],
        });
        const { url } = await central.start();
        const config = testConfig(dir.path, lanesYaml, centralYaml(url));
        let gate = await startGate(config);
        try {
            await eventually(() => gate.clearance.declaration("101234567820"), 10_000, "the demo declarations");
            const firstItems = gate.sync.status().downlink?.itemsApplied ?? 0;
            expect(firstItems).toBeGreaterThanOrEqual(4);
            const cursor = gate.clearance.cursor();
            expect(cursor).toBeDefined();
            await gate.stop();

            central.addClearance([
                {
                    type: "declaration",
                    declaration: {
                        number: "101234567821",
                        type: "10",
                        channel: "RED",
                        status: "CLEARED",
                        documentCheckDone: false,
                        inspectionDone: false,
                        declaredPlates: ["15C-123.45", "15R-012.34"],
                        containers: [{ number: "CSQU3054383", sealNumbers: ["VNC-0100001"] }],
                        declaredGrossKg: 28500,
                        version: 2,
                    },
                },
            ]);
            gate = await startGate(config);
            // The lane engine reads the cache at each decision: the amendment counts at once.
            await eventually(
                () => gate.clearance.declaration("10123456782")?.channel === "RED" || undefined,
                10_000,
                "the amendment",
            );
            // Only the new item came down: the feed resumed from the cursor, not from the start.
            expect(gate.sync.status().downlink?.itemsApplied).toBe(1);
            expect(gate.clearance.cursor()).not.toBe(cursor);
        } finally {
            await gate.stop();
            await central.stop();
        }
    }, 60_000);
});

/** The alert events in a stopped gate's database, as "type:code". */
function alertsIn(dbPath: string): string[] {
    const db = new Database(dbPath, { readonly: true });
    try {
        return (
            db.prepare("SELECT type, data FROM events WHERE type LIKE 'alert.%'").all() as {
                type: string;
                data: string;
            }[]
        ).map((row) => `${row.type}:${(JSON.parse(row.data) as { code: string }).code}`);
    } finally {
        db.close();
    }
}
