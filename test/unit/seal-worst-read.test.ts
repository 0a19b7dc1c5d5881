/**
 * A tamper seen during a passage stays seen: the correlator keeps what each seal showed, never only what
 * it showed last, so a TAMPERED read followed by a SEALED one still sends the truck to inspection (with the
 * real rules), and the reason names the tampered seal.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Reading, SealStatus, SealValues } from "../../src/core/events.ts";
import { LaneCorrelator, type LaneOutput } from "../../src/lane/correlator.ts";
import { decide } from "../../src/lane/rules.ts";
import type { ClearanceView, DecisionRecord, PassageFacts, RuleParams } from "../../src/lane/types.ts";
import { DECLARATION, declarationScanValues, plateValues } from "../helpers/readings.ts";

const LANE = "L1";
const T0 = Date.UTC(2026, 10, 20, 8);
const SEAL = "VNC-0100001";
const CONTAINER = "CSQU3054383";

const PARAMS: RuleParams = {
    weightTolerance: 0.05,
    requiredReads: ["plate", "declaration", "seal"],
    clearanceMaxAgeMs: 3_600_000,
    offlinePolicy: "cached",
    minPlateConfidence: 0.8,
};

const clearance: ClearanceView = {
    version: "test",
    declaration: (number) => (number.slice(0, 11) === DECLARATION.number.slice(0, 11) ? DECLARATION : undefined),
    watchList: () => [],
    ageMs: (now) => now - (T0 - 60_000),
};

const DEVICES = [
    { id: "cam-front", kind: "plate", role: "front" },
    { id: "cam-rear", kind: "plate", role: "rear" },
    { id: "scanner", kind: "scan" },
    { id: "seal-reader", kind: "seal" },
];

function lane(): LaneCorrelator {
    return new LaneCorrelator({
        laneId: LANE,
        direction: "IN",
        devices: DEVICES,
        requiredReads: PARAMS.requiredReads,
        decide: (facts, now) => decide(facts, clearance, PARAMS, now),
        newPassageId: () => "p1",
    });
}

const reading = <K extends Reading["kind"]>(
    kind: K,
    deviceId: string,
    values: Extract<Reading, { kind: K }>["values"],
): Reading => ({ deviceId, laneId: LANE, kind, observedAt: T0, values }) as Reading;
const front = () => reading("plate", "cam-front", plateValues("15C-123.45", "front"));
const rear = () => reading("plate", "cam-rear", plateValues("15R-012.34", "rear"));
const scan = () => reading("scan", "scanner", declarationScanValues(DECLARATION.number));
const container = () => reading("container", "scanner", { number: CONTAINER, checkDigitOk: true });
const seal = (status: SealStatus, extra: Partial<SealValues> = {}) =>
    reading("seal", "seal-reader", { sealId: SEAL, type: "ISO18185", status, alerts: [], ...extra });

function feed(correlator: LaneCorrelator, readings: Reading[]): LaneOutput[] {
    return readings.flatMap((r) => correlator.onReading(r, T0));
}

function decidedOf(outputs: LaneOutput[]): { facts: PassageFacts; decision: DecisionRecord } {
    const decided = outputs.find((o) => o.type === "passage.decided");
    if (decided?.type !== "passage.decided") throw new Error("the passage was not decided");
    return decided;
}

/** The truck: plates, container and the seal reads in order, then the declaration, which decides it. */
function passage(statuses: SealStatus[]): { facts: PassageFacts; decision: DecisionRecord } {
    const correlator = lane();
    const out = feed(correlator, [front(), rear(), container(), ...statuses.map((s) => seal(s)), scan()]);
    return decidedOf(out);
}

describe("a seal's worst read counts, not its last", () => {
    it("sends a truck whose seal read TAMPERED, then SEALED, to inspection, naming the tamper", () => {
        const { facts, decision } = passage(["TAMPERED", "SEALED"]);
        expect(facts.seals.map((s) => s.status)).toEqual(["TAMPERED"]);
        expect(decision.decision).toBe("INSPECT");
        expect(decision.decidingRule).toBe("seals");
        const seals = decision.results.find((r) => r.rule === "seals");
        expect(seals?.reason).toMatch(new RegExp(`${SEAL}.*TAMPERED`));
    });

    it("keeps OPENED over a later SEALED, and UNKNOWN over a later SEALED (held, not released)", () => {
        expect(passage(["OPENED", "SEALED"]).decision.decision).toBe("INSPECT");
        const unknown = passage(["SEALED", "UNKNOWN", "SEALED"]);
        expect(unknown.facts.seals.map((s) => s.status)).toEqual(["UNKNOWN"]);
        expect(unknown.decision.decision).toBe("HOLD");
    });

    it("still releases a truck whose seal only ever read SEALED", () => {
        expect(passage(["SEALED", "SEALED"]).decision.decision).toBe("RELEASE");
    });

    it("keeps every alert code a seal raised, and every container it reported itself on", () => {
        const correlator = lane();
        feed(correlator, [
            front(),
            seal("SEALED", { alerts: ["ROPE_CUT"], containerNumber: "TGHU1234567" }),
            seal("SEALED", { containerNumber: CONTAINER }),
            seal("SEALED"),
        ]);
        const seals = correlator.snapshot().passage?.facts.seals ?? [];
        expect(seals.map((s) => [s.containerNumber, s.alerts])).toEqual([
            ["TGHU1234567", ["ROPE_CUT"]],
            [CONTAINER, []],
        ]);
    });

    it("after the decision, a seal turning TAMPERED alerts once; reading SEALED again changes nothing", () => {
        const correlator = lane();
        decidedOf(feed(correlator, [front(), rear(), container(), seal("SEALED"), scan()]));
        const tampered = correlator.onReading(seal("TAMPERED"), T0 + 1000);
        expect(tampered.flatMap((o) => (o.type === "alert" ? [o.code] : []))).toEqual(["SEAL_TAMPERED_AFTER_DECISION"]);
        expect(correlator.onReading(seal("SEALED"), T0 + 2000)).toEqual([]);
        expect(correlator.onReading(seal("TAMPERED"), T0 + 3000)).toEqual([]);
        expect(correlator.snapshot().passage?.facts.seals.map((s) => s.status)).toEqual(["TAMPERED"]);
    });

    it("whatever the order of a seal's reads, the passage keeps its worst status", () => {
        const rank: Record<SealStatus, number> = { SEALED: 0, UNKNOWN: 1, OPENED: 2, TAMPERED: 3 };
        const status = fc.constantFrom<SealStatus>("SEALED", "UNKNOWN", "OPENED", "TAMPERED");
        fc.assert(
            fc.property(fc.array(status, { minLength: 1, maxLength: 8 }), (statuses) => {
                const correlator = lane();
                feed(correlator, [front(), ...statuses.map((s) => seal(s))]);
                const worst = statuses.reduce((a, b) => (rank[b] > rank[a] ? b : a));
                expect(correlator.snapshot().passage?.facts.seals.map((s) => s.status)).toEqual([worst]);
            }),
        );
    });
});
