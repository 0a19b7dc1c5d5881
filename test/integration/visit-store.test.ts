/**
 * The visits table on real SQLite (issue 19): what the time-release report reads of a visit comes from
 * columns of their own (migration 10), and they say what the visit's record says, whether written by the
 * fold or filled in by the upgrade of a database the fold wrote before those columns existed.
 */
import Database from "better-sqlite3";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { openDatabase } from "../../src/store/db.ts";
import { migrate } from "../../src/store/migrations.ts";
import { reportVisitOf } from "../../src/yard/report.ts";
import { type ReportVisit, VISIT_STAGES } from "../../src/yard/types.ts";
import { applyVisitEvent, type Visit, type VisitEvent } from "../../src/yard/visitModel.ts";
import { VisitStore } from "../../src/yard/visitStore.ts";

const ZONE = "Asia/Ho_Chi_Minh";
const T0 = Date.parse("2026-07-01T00:00:00Z");
const MIN = 60_000;

/** A visit's events: its arrival, then each later stage it reached, `gaps` minutes apart (0 = skipped). */
function visitEvents(visitId: string, start: number, gaps: number[], channel: string | undefined): VisitEvent[] {
    let seq = 0;
    let at = start;
    const event = (type: string, data: Record<string, string | string[]>): VisitEvent => ({
        id: `${visitId}-${++seq}`,
        seq,
        type,
        occurredAt: new Date(at).toISOString(),
        data: { visitId, ...data },
    });
    const events = [
        event("visit.arrived", {
            laneGroup: "import",
            goodsClass: seq % 2 === 0 ? "perishable" : "general",
            tractorPlate: "29C12345",
            declarations: [],
        }),
    ];
    for (const [i, stage] of VISIT_STAGES.slice(1).entries()) {
        const gap = gaps[i] ?? 0;
        if (gap === 0) continue;
        at += gap * MIN + 7; // odd milliseconds: the columns are exact to the millisecond
        if (stage === "called") events.push(event("visit.called", { laneId: "L2" }));
        else
            events.push(
                event("visit.stage", {
                    stage,
                    ...(stage === "laneEntered" && { laneId: "L2" }),
                    ...(stage === "decided" && channel !== undefined && { channel, decision: "RELEASE" }),
                }),
            );
    }
    return events;
}

const visitArb = fc.record({
    start: fc.integer({ min: 0, max: 365 * 24 * 60 }),
    gaps: fc.array(fc.integer({ min: 0, max: 600 }), { minLength: 7, maxLength: 7 }),
    channel: fc.option(fc.constantFrom("GREEN", "YELLOW", "RED"), { nil: undefined }),
});

describe("the visits table", () => {
    it("property: the report's columns say what each folded visit's record says", () => {
        fc.assert(
            fc.property(fc.array(visitArb, { minLength: 1, maxLength: 12 }), (specs) => {
                const db = openDatabase(":memory:");
                try {
                    const store = new VisitStore(db, ZONE);
                    const folded: Visit[] = [];
                    for (const [i, spec] of specs.entries()) {
                        let visit: Visit | undefined;
                        for (const e of visitEvents(`V${i}`, T0 + spec.start * MIN, spec.gaps, spec.channel))
                            visit = store.apply(e);
                        if (visit) folded.push(visit);
                    }
                    // In arrival order; visits that arrived in the same millisecond in any order (the report
                    // does not depend on it).
                    const key = (v: ReportVisit) =>
                        JSON.stringify([
                            v.stageMs[0],
                            v.channel ?? "",
                            v.laneId ?? "",
                            v.goodsClass,
                            Array.from(v.stageMs),
                        ]);
                    const canonical = (list: ReportVisit[]) =>
                        list
                            .map((v) => ({ ...v, stageMs: [...Array.from(v.stageMs)] }))
                            .sort((a, b) => (a.stageMs[0] ?? 0) - (b.stageMs[0] ?? 0) || (key(a) < key(b) ? -1 : 1));
                    const read = store.reportVisits(T0 - MIN, T0 + 400 * 24 * 60 * MIN);
                    const arrivals = read.map((v) => v.stageMs[0] ?? 0);
                    expect(arrivals).toEqual([...arrivals].sort((a, b) => a - b));
                    expect(canonical(read)).toEqual(canonical(folded.map((visit) => reportVisitOf(visit))));
                    // The range is arrival in [from, to).
                    const first = folded[0] as Visit;
                    expect(store.reportVisits(first.arrivedMs + 1, first.arrivedMs + 2)).toEqual([]);
                } finally {
                    db.close();
                }
            }),
            { numRuns: 60 },
        );
    });

    it("a database folded before migration 10 has its columns filled in by the upgrade", () => {
        // Built as release 9 left it (openDatabase would bring it to the newest schema at once).
        const db = new Database(":memory:");
        try {
            migrate(db, { to: 9 });
            const visits: Visit[] = [];
            for (const [i, gaps] of [
                [5, 10, 2, 0, 0, 3, 8],
                [5, 10, 2, 30, 90, 3, 8],
                [240, 0, 0, 0, 0, 0, 0],
                [0, 0, 0, 0, 0, 0, 0],
            ].entries()) {
                const channel = i === 1 ? "RED" : i === 0 ? "GREEN" : undefined;
                const visit = visitEvents(`V${i}`, T0 + i * 60 * MIN, gaps, channel).reduce<Visit | undefined>(
                    (v, e) => applyVisitEvent(v, e, ZONE),
                    undefined,
                ) as Visit; // every list starts with its arrival
                visits.push(visit);
                // As the fold of release 9 wrote it: the record and the columns of migration 9 alone.
                db.prepare(
                    `INSERT INTO visits (visit_id, state, lane_group, tractor_plate, arrived_at, arrived_ms, last_seq, record)
                     VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
                ).run(
                    visit.visitId,
                    visit.state,
                    visit.laneGroup,
                    visit.tractorPlate,
                    visit.stages.arrived,
                    visit.arrivedMs,
                    visit.lastSeq,
                    JSON.stringify(visit),
                );
            }
            migrate(db);
            const read = new VisitStore(db, ZONE).reportVisits(T0, T0 + 24 * 60 * MIN);
            expect(read.map((v) => ({ ...v, stageMs: [...Array.from(v.stageMs)] }))).toEqual(
                visits.map((visit) => reportVisitOf(visit)),
            );
            expect(read[1]?.channel).toBe("RED");
            expect(Array.from(read[3]?.stageMs ?? []).filter((ms) => !Number.isNaN(ms))).toHaveLength(1);
        } finally {
            db.close();
        }
    });
});
