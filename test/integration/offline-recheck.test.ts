/**
 * Central changes its mind during an outage (issue 14 §5): a declaration is cancelled while the gate cannot
 * reach central, trucks pass on it under offlinePolicy `cached`, central comes back. The offline decisions
 * are re-checked on the fresh data with the same rules: alerts name exactly the trucks the fresh data
 * decides more strictly, and every re-checked passage shows its follow-up in the chain and on its record.
 * A real gate against the central simulator over HTTP; the gate runs on a manual clock so the clearance
 * data can age past rules.clearanceMaxAgeMinutes without waiting an hour.
 */
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { CentralSimulator } from "../../simulators/central/index.ts";
import { ManualClock } from "../../src/core/clock.ts";
import type { GateEvent } from "../../src/core/events.ts";
import type { Gate } from "../../src/gate.ts";
import type { DecisionRecord, Declaration } from "../../src/lane/types.ts";
import { eventually, startGate, testConfig } from "../helpers/gate.ts";
import { declarationScanDraft, plateDraft } from "../helpers/readings.ts";
import { tempDir } from "../helpers/tmp.ts";

const dir = tempDir();
const TOKEN = "recheck-test-token-7d2a";
const LANES = ["L1", "L2", "L3", "L4", "L5"];

/** Declared for any truck of the consignment (no plate listed): cancelled by central during the outage. */
const CANCELLED_LATER: Declaration = {
    number: "106012345610",
    type: "10",
    channel: "GREEN",
    status: "CLEARED",
    documentCheckDone: false,
    inspectionDone: false,
    declaredPlates: [],
    containers: [],
    version: 1,
};
/** Stays cleared. */
const STAYS: Declaration = { ...CANCELLED_LATER, number: "101234567820", declaredPlates: ["15C-123.45"] };
/** Central never sent it. */
const UNKNOWN = "109999999910";

afterAll(() => dir.cleanup());

describe("offline decisions re-checked when central comes back", () => {
    it("names exactly the trucks released on a declaration central cancelled during the outage", async () => {
        process.env.RECHECK_CENTRAL_TOKEN = TOKEN;
        const central = new CentralSimulator({ port: 0, dbPath: join(dir.path, "central.db"), tokens: [TOKEN] });
        const { url } = await central.start();
        central.addClearance([
            { type: "declaration", declaration: CANCELLED_LATER },
            { type: "declaration", declaration: STAYS },
        ]);
        const clock = new ManualClock(Date.UTC(2026, 10, 22, 8, 0, 0));
        const lanes = LANES.map(
            (lane) => `  - id: ${lane}
    devices:
      - { id: cam-${lane}, model: dahua-itsapi-anpr, role: front, auth: { username: cam-${lane}, password: camera-${lane}-password } }
      - { id: scan-${lane}, model: serial-barcode-scanner, address: "tcp://127.0.0.1:9" }
`,
        ).join("");
        const gate: Gate = await startGate(
            testConfig(
                dir.path,
                lanes,
                `central: { url: ${JSON.stringify(url)}, tokenEnv: RECHECK_CENTRAL_TOKEN, backoffBaseMs: 20, backoffMaxMs: 250, requestTimeoutMs: 3000, clearancePollMs: 200 }
rules: { requiredReads: [plate, declaration], clearanceMaxAgeMinutes: 60, offlinePolicy: cached }`,
            ),
            { clock },
        );
        const events = (type: string): GateEvent[] => gate.log.read(0, 100_000).filter((e) => e.type === type);
        /** A truck on `lane`: its passage id and decision once decided. */
        const truck = async (lane: string, plate: string, declaration: string) => {
            await gate.log.append({ laneId: lane, ...plateDraft(`cam-${lane}`, plate, plate.replace(/[-.]/g, "")) });
            await gate.log.append({ laneId: lane, ...declarationScanDraft(`scan-${lane}`, declaration) });
            const row = await eventually(
                () => gate.passages.list({ laneId: lane, limit: 1 }).find((p) => p.decision !== null),
                10_000,
                `the truck on ${lane} decided`,
            );
            return { id: row.passageId, decision: row.record.decision as DecisionRecord };
        };
        try {
            await eventually(() => gate.clearance.declaration(STAYS.number), 10_000, "central's declarations");
            // Before the outage, on fresh data: released, and never re-checked.
            const fresh = await truck("L1", "29C-000.01", CANCELLED_LATER.number);
            expect(fresh.decision).toMatchObject({ decision: "RELEASE", offline: false });

            // Central becomes unreachable; an hour passes, so the gate's data is stale; central cancels.
            central.setFaults([{ kind: "down", on: "all" }]);
            // The clearance poll is what must fail (the uplink may have nothing to send): one that started
            // after the fault, with central's data last fetched before it.
            const faultAt = Date.now();
            await eventually(
                () => {
                    const downlink = gate.sync.status().downlink;
                    if (!downlink?.lastPollAt || !downlink.lastError) return undefined;
                    const polledAfter = Date.parse(downlink.lastPollAt) > faultAt;
                    const noSuccessSince = !downlink.lastSuccessAt || Date.parse(downlink.lastSuccessAt) < faultAt;
                    return (polledAfter && noSuccessSince && /cannot be reached/.test(downlink.lastError)) || undefined;
                },
                10_000,
                "a poll that cannot reach central",
            );
            clock.advance(61 * 60_000);
            central.addClearance([
                { type: "declaration", declaration: { ...CANCELLED_LATER, status: "CANCELLED", version: 2 } },
            ]);

            // Trucks pass under `cached`: two on the cancelled declaration, one on a good one, one unknown.
            const gone1 = await truck("L2", "29C-111.11", CANCELLED_LATER.number);
            const gone2 = await truck("L3", "29C-222.22", CANCELLED_LATER.number);
            const good = await truck("L4", "15C-123.45", STAYS.number);
            const unknown = await truck("L5", "29C-333.33", UNKNOWN);
            for (const passage of [gone1, gone2, good]) {
                expect(passage.decision).toMatchObject({ decision: "RELEASE", offline: true });
            }
            expect(unknown.decision).toMatchObject({ decision: "HOLD", offline: true });
            expect(events("passage.followup")).toEqual([]);

            // Central answers again: the downlink catches up and every offline decision is re-checked.
            central.setFaults([]);
            const offline = [gone1, gone2, good, unknown];
            const followUps = await eventually(
                () => {
                    const found = events("passage.followup");
                    return found.length >= offline.length ? found : undefined;
                },
                30_000,
                "a follow-up for each offline decision",
            );
            await gate.lanes.settled();
            expect(followUps.map((e) => e.data.passageId).sort()).toEqual(offline.map((p) => p.id).sort());
            expect(gate.clearance.declaration(CANCELLED_LATER.number)?.status).toBe("CANCELLED");

            const changed = events("alert.raised").filter((e) => e.data.code === "OFFLINE_DECISION_CHANGED");
            expect(changed.map((e) => e.data.passageId).sort()).toEqual([gone1.id, gone2.id].sort());
            for (const [passage, plate] of [
                [gone1, "29C11111"],
                [gone2, "29C22222"],
            ] as const) {
                const alert = changed.find((e) => e.data.passageId === passage.id);
                expect(alert?.data.severity).toBe("critical");
                expect(alert?.data.message).toContain(plate);
                expect(alert?.data.message).toContain(CANCELLED_LATER.number);
                expect(alert?.data.message).toContain(passage.id);
                expect(alert?.data.message).toMatch(/decided RELEASE offline.*now decides REJECT/);
                const record = gate.passages.get(passage.id)?.record as {
                    followUps?: { kind: string; was: string; now: string; stronger: boolean; rule?: string }[];
                };
                expect(record.followUps).toEqual([
                    expect.objectContaining({
                        kind: "offline-recheck",
                        was: "RELEASE",
                        now: "REJECT",
                        stronger: true,
                        rule: "declaration-valid",
                    }),
                ]);
            }
            // Unchanged by the fresh data: re-checked and recorded, no alert.
            for (const [passage, decision] of [
                [good, "RELEASE"],
                [unknown, "HOLD"],
            ] as const) {
                const record = gate.passages.get(passage.id)?.record as {
                    followUps?: { now: string; stronger: boolean }[];
                };
                expect(record.followUps).toEqual([expect.objectContaining({ now: decision, stronger: false })]);
            }
            expect(gate.passages.get(fresh.id)?.record.followUps).toBeUndefined();

            // The next refresh re-checks nothing again.
            const polls = gate.sync.status().downlink?.lastSuccessAt;
            await eventually(
                () => (gate.sync.status().downlink?.lastSuccessAt ?? 0) > (polls ?? 0) || undefined,
                10_000,
                "another poll",
            );
            await gate.lanes.recheckOfflineDecisions();
            expect(events("passage.followup")).toHaveLength(offline.length);
        } finally {
            await gate.stop();
            await central.stop();
        }
    }, 90_000);
});
