import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { nextToCall, orderQueue, type QueuedVisit, rankForPosition, sortKey } from "../../src/yard/queue.ts";
import { VISIT_STAGES } from "../../src/yard/types.ts";
import {
    applyVisitEvent,
    dwellOf,
    isoInZone,
    summaryOf,
    type Visit,
    type VisitEvent,
} from "../../src/yard/visitModel.ts";

const ZONE = "Asia/Ho_Chi_Minh";
const T0 = Date.parse("2026-11-15T01:00:00Z");
const MIN = 60_000;
const HOUR = 3_600_000;
const LIMITS = { warnHours: 24, limitHours: 36 };

let seq = 0;
function event(type: string, at: number, data: Record<string, unknown>): VisitEvent {
    seq++;
    return {
        id: `E${seq}`,
        seq,
        type,
        occurredAt: new Date(at).toISOString(),
        data: { visitId: "V1", ...data },
    } as VisitEvent;
}

const ARRIVED = (at = T0) =>
    event("visit.arrived", at, {
        tractorPlate: "15C88810",
        trailerPlate: "15R01234",
        laneGroup: "export",
        goodsClass: "perishable",
        declarations: ["100001234540"],
        preArrivalId: "PA-1",
        slot: { from: "2026-11-15T10:00:00+07:00", to: "2026-11-15T11:00:00+07:00" },
    });

function fold(events: readonly VisitEvent[]): Visit | undefined {
    return events.reduce<Visit | undefined>((visit, e) => applyVisitEvent(visit, e, ZONE), undefined);
}

describe("isoInZone", () => {
    it("writes the instant with the zone's offset", () => {
        expect(isoInZone(Date.parse("2026-11-15T01:02:03.004Z"), ZONE)).toBe("2026-11-15T08:02:03.004+07:00");
        expect(isoInZone(Date.parse("2026-07-01T12:00:00Z"), "Europe/Tallinn")).toBe("2026-07-01T15:00:00.000+03:00");
        expect(isoInZone(Date.parse("2026-01-01T12:00:00Z"), "America/St_Johns")).toBe("2026-01-01T08:30:00.000-03:30");
        expect(Date.parse(isoInZone(T0 + 123, ZONE))).toBe(T0 + 123);
    });
});

describe("the visit as a fold of its events", () => {
    it("goes through every stage to CLOSED, each stage at its time with the gate's offset", () => {
        const visit = fold([
            ARRIVED(),
            event("visit.called", T0 + 10 * MIN, { laneId: "L1" }),
            event("visit.stage", T0 + 12 * MIN, { stage: "laneEntered", laneId: "L1", passageId: "P1" }),
            event("visit.stage", T0 + 13 * MIN, {
                stage: "decided",
                passageId: "P1",
                decision: "INSPECT",
                channel: "RED",
            }),
            event("visit.stage", T0 + 14 * MIN, { stage: "inspectionStarted", caseId: "INS-P1" }),
            event("visit.stage", T0 + 40 * MIN, { stage: "inspectionEnded", caseId: "INS-P1" }),
            event("visit.stage", T0 + 40 * MIN, { stage: "released", caseId: "INS-P1" }),
            event("visit.stage", T0 + 45 * MIN, { stage: "exited", exitId: "exit-1" }),
        ]);
        expect(visit).toMatchObject({
            state: "CLOSED",
            laneId: "L1",
            decision: "INSPECT",
            channel: "RED",
            passageIds: ["P1"],
            caseIds: ["INS-P1"],
            preArrivalId: "PA-1",
        });
        expect(Object.keys(visit?.stages ?? {})).toEqual([...VISIT_STAGES]);
        expect(visit?.stages.arrived).toBe("2026-11-15T08:00:00.000+07:00");
        expect(visit?.stages.exited).toBe("2026-11-15T08:45:00.000+07:00");
        expect(summaryOf(visit as Visit, T0 + 50 * HOUR, LIMITS)).toMatchObject({ dwellMs: 45 * MIN, dwell: "ok" });
    });

    it("a no-show goes back to the queue, counted, and is called again later", () => {
        const visit = fold([
            ARRIVED(),
            event("visit.called", T0 + MIN, { laneId: "L1" }),
            event("visit.no-show", T0 + 11 * MIN, { laneId: "L1" }),
        ]);
        expect(visit).toMatchObject({ state: "QUEUED", noShows: 1, queuedMs: T0 + 11 * MIN });
        expect(visit).not.toHaveProperty("laneId");
        const again = applyVisitEvent(visit, event("visit.called", T0 + 20 * MIN, { laneId: "L2" }), ZONE);
        expect(again).toMatchObject({ state: "CALLED", laneId: "L2", noShows: 1 });
        expect(again?.stages.called).toBe(isoInZone(T0 + 20 * MIN, ZONE));
    });

    it("a closed visit takes no further step; a repeated arrival changes nothing", () => {
        const closed = fold([ARRIVED(), event("visit.cancelled", T0 + MIN, { reasonCode: "LEFT" })]);
        const after = applyVisitEvent(closed, event("visit.called", T0 + 2 * MIN, { laneId: "L1" }), ZONE);
        expect(after).toMatchObject({ state: "CANCELLED" });
        expect(after?.stages.called).toBeUndefined();
        expect(applyVisitEvent(closed, ARRIVED(T0 + 5 * MIN), ZONE)).toBe(closed);
    });

    it("dwell: approaching at the warning, exceeded past the limit", () => {
        const visit = fold([ARRIVED()]) as Visit;
        expect(dwellOf(visit, T0 + 23 * HOUR, LIMITS).dwell).toBe("ok");
        expect(dwellOf(visit, T0 + 24 * HOUR, LIMITS).dwell).toBe("approaching");
        expect(dwellOf(visit, T0 + 36 * HOUR + 1, LIMITS)).toEqual({ dwellMs: 36 * HOUR + 1, dwell: "exceeded" });
    });

    it("property: over any order of a visit's later events, CLOSED has its exit, CALLED its lane, and the fold resumes from any cut", () => {
        const later = fc.constantFrom(
            ["visit.called", { laneId: "L1" }],
            ["visit.no-show", { laneId: "L1" }],
            ["visit.stage", { stage: "laneEntered", laneId: "L1", passageId: "P1" }],
            ["visit.stage", { stage: "decided", decision: "RELEASE", channel: "GREEN" }],
            ["visit.stage", { stage: "inspectionStarted", caseId: "C1" }],
            ["visit.stage", { stage: "inspectionEnded", caseId: "C1" }],
            ["visit.stage", { stage: "released" }],
            ["visit.stage", { stage: "exited", exitId: "x" }],
            ["visit.cancelled", { reasonCode: "LEFT" }],
        ) as fc.Arbitrary<[string, Record<string, unknown>]>;
        fc.assert(
            fc.property(fc.array(later, { maxLength: 20 }), (steps) => {
                const events = [ARRIVED(), ...steps.map(([type, data], i) => event(type, T0 + (i + 1) * MIN, data))];
                const visit = fold(events) as Visit;
                if (visit.state === "CLOSED") expect(visit.stages.exited).toBeDefined();
                if (visit.stages.exited !== undefined) expect(visit.state).toBe("CLOSED");
                if (visit.state === "CALLED") expect(visit.laneId).toBeDefined();
                expect(visit.noShows).toBeLessThanOrEqual(steps.filter(([type]) => type === "visit.no-show").length);
                // Fold is resumable: from any prefix's visit, the rest gives the same visit (the cursor's restart).
                const cut = Math.floor(events.length / 2);
                const resumed = events
                    .slice(cut)
                    .reduce<Visit | undefined>((v, e) => applyVisitEvent(v, e, ZONE), fold(events.slice(0, cut)));
                expect(resumed).toEqual(visit);
            }),
        );
    });
});

function queued(id: string, minutes: number, extra: Partial<QueuedVisit> = {}): QueuedVisit {
    return { visitId: id, state: "QUEUED", goodsClass: "general", queuedMs: T0 + minutes * MIN, ...extra };
}

describe("the queue", () => {
    const yard = [
        queued("A", 0),
        queued("B", 5, { goodsClass: "perishable" }),
        queued("C", 10, {
            slot: { from: new Date(T0 + 30 * MIN).toISOString(), to: new Date(T0 + 90 * MIN).toISOString() },
        }),
        queued("D", 15, { state: "CALLED" }),
        queued("E", 20, { goodsClass: "perishable" }),
    ];
    const ids = (list: readonly QueuedVisit[]) => list.map((v) => v.visitId);

    it("fifo: first come; slot: a begun slot first; perishablesFirst: perishables first", () => {
        expect(ids(orderQueue(yard, "fifo", T0 + 40 * MIN))).toEqual(["A", "B", "C", "E"]);
        expect(ids(orderQueue(yard, "slot", T0 + 20 * MIN))).toEqual(["A", "B", "C", "E"]);
        expect(ids(orderQueue(yard, "slot", T0 + 40 * MIN))).toEqual(["C", "A", "B", "E"]);
        expect(ids(orderQueue(yard, "perishablesFirst", T0 + 40 * MIN))).toEqual(["B", "E", "A", "C"]);
    });

    it("an officer's move puts the visit where asked, and the next call follows it", () => {
        for (const position of [1, 2, 3, 4, 9]) {
            const ordered = orderQueue(yard, "perishablesFirst", T0);
            const rank = rankForPosition(ordered, "C", position, "perishablesFirst", T0);
            const moved = yard.map((v) => (v.visitId === "C" ? { ...v, rank } : v));
            const now = orderQueue(moved, "perishablesFirst", T0);
            expect(ids(now).indexOf("C") + 1).toBe(Math.min(position, 4));
            expect(nextToCall(moved, "perishablesFirst", T0)?.visitId).toBe(now[0]?.visitId);
        }
    });

    it("property: the next call is the head of the ordered queue, skipping visits already chosen", () => {
        const visit = fc.record({
            minutes: fc.integer({ min: 0, max: 600 }),
            perishable: fc.boolean(),
            slotAt: fc.option(fc.integer({ min: 0, max: 600 })),
            state: fc.constantFrom("QUEUED", "QUEUED", "CALLED", "IN_LANE"),
        });
        fc.assert(
            fc.property(
                fc.array(visit, { maxLength: 40 }),
                fc.constantFrom("fifo", "slot", "perishablesFirst"),
                fc.integer({ min: 0, max: 600 }),
                (specs, policy, nowMinutes) => {
                    const visits = specs.map((s, i) =>
                        queued(`V${String(i).padStart(3, "0")}`, s.minutes, {
                            goodsClass: s.perishable ? "perishable" : "general",
                            state: s.state as QueuedVisit["state"],
                            ...(s.slotAt !== null && {
                                slot: {
                                    from: new Date(T0 + s.slotAt * MIN).toISOString(),
                                    to: new Date(T0 + (s.slotAt + 60) * MIN).toISOString(),
                                },
                            }),
                        }),
                    );
                    const now = T0 + nowMinutes * MIN;
                    const ordered = orderQueue(visits, policy, now);
                    expect(nextToCall(visits, policy, now)?.visitId).toBe(ordered[0]?.visitId);
                    const skip = new Set(ordered.slice(0, 2).map((v) => v.visitId));
                    expect(nextToCall(visits, policy, now, skip)?.visitId).toBe(ordered[2]?.visitId);
                    for (let i = 1; i < ordered.length; i++) {
                        const a = sortKey(ordered[i - 1] as QueuedVisit, policy, now);
                        const b = sortKey(ordered[i] as QueuedVisit, policy, now);
                        expect(a.tier < b.tier || (a.tier === b.tier && a.key <= b.key)).toBe(true);
                    }
                },
            ),
        );
    });
});
