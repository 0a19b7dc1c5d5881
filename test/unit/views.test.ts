/** What the passage API shows of a decision: the data age beside the offline flag (issue 14). */
import { describe, expect, it } from "vitest";
import { passageSummary } from "../../src/api/views.ts";
import { decide } from "../../src/lane/rules.ts";
import type { ClearanceView, PassageFacts, RuleParams } from "../../src/lane/types.ts";
import { DECLARATION, plateValues } from "../helpers/readings.ts";

const NOW = Date.parse("2026-11-15T10:00:00+07:00");
const PARAMS: RuleParams = {
    weightTolerance: 0.05,
    requiredReads: ["plate", "declaration", "weight"],
    clearanceMaxAgeMs: 60_000,
    offlinePolicy: "hold",
    minPlateConfidence: 0.7,
};
const FACTS: PassageFacts = {
    passageId: "P1",
    laneId: "L1",
    direction: "IN",
    openedAt: NOW - 30_000,
    frontPlate: plateValues("15C-123.45", "front"),
    rearPlate: plateValues("15R-012.34", "rear"),
    plateReads: [],
    declarations: [DECLARATION.number],
    containers: [],
    seals: [],
    grossKg: 28_500,
    timedOut: [],
    devicesOffline: [],
};
const view = (ageMs: number): ClearanceView => ({
    version: "v1",
    declaration: () => DECLARATION,
    watchList: () => [],
    ageMs: () => ageMs,
});

describe("passage summary", () => {
    it("returns the clearance data's age beside the offline flag, and the reason prints it exactly", () => {
        const decision = decide(FACTS, view(67_000), PARAMS, NOW);
        const summary = passageSummary(FACTS, decision, view(67_000), false, "HELD");
        expect(summary.decision).toMatchObject({
            outcome: "HOLD",
            rule: "clearance-fresh",
            offline: true,
            clearanceAgeMs: 67_000,
            reason: "clearance data is 67 s old (max 60 s); the offline policy holds every passage",
        });
        const fresh = decide(FACTS, view(5_000), PARAMS, NOW);
        expect(passageSummary(FACTS, fresh, view(5_000), false, "RELEASED").decision).toMatchObject({
            offline: false,
            clearanceAgeMs: 5_000,
        });
    });
});
