/**
 * Random selection for inspection (rules.ts randomSelection, `inspection.randomRate`) and the exit points
 * of the configuration (`inspection.exits`).
 */
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/load.ts";
import { isGateError } from "../../src/core/errors.ts";
import { ruleParams } from "../../src/lane/engine.ts";
import { decide, randomSelection } from "../../src/lane/rules.ts";
import type { ClearanceView, PassageFacts, RuleParams } from "../../src/lane/types.ts";

const PARAMS: RuleParams = {
    weightTolerance: 0.05,
    requiredReads: [],
    clearanceMaxAgeMs: 3_600_000,
    offlinePolicy: "cached",
    minPlateConfidence: 0.7,
};
const EMPTY: ClearanceView = { version: "t", declaration: () => undefined, watchList: () => [], ageMs: () => 0 };

const facts = (passageId: string): PassageFacts => ({
    passageId,
    laneId: "L1",
    direction: "IN",
    openedAt: 0,
    plateReads: [],
    declarations: [],
    containers: [],
    seals: [],
    timedOut: [],
    devicesOffline: [],
});

/** A seeded run of passage ids: the same ids every run. */
const IDS = Array.from({ length: 2000 }, (_, i) => `01JR${String(i).padStart(22, "0")}`);
const draw = (id: string) => createHash("sha256").update(id).digest().readUInt32BE(0) / 2 ** 32;

describe("random selection for inspection", () => {
    it("selects about the configured share, each passage by its id's hash, and decides INSPECT for it", () => {
        const params = { ...PARAMS, randomInspectionRate: 0.1 };
        const selected = IDS.filter((id) => !randomSelection(facts(id), EMPTY, params, 0).pass);
        expect(selected).toEqual(IDS.filter((id) => draw(id) < 0.1));
        expect(selected.length).toBeGreaterThan(150);
        expect(selected.length).toBeLessThan(250);
        const chosen = selected[0] as string;
        const record = decide(facts(chosen), EMPTY, params, 0);
        expect(record).toMatchObject({ decision: "INSPECT", decidingRule: "random-selection" });
        expect(record.results.at(-1)?.reason).toBe("selected at random for inspection (10 % of trucks)");
        // The same passage again (a re-decision): the same answer.
        expect(decide(facts(chosen), EMPTY, params, 0).decision).toBe("INSPECT");
    });

    it("selects nobody at rate 0 (the default) and everybody at rate 1", () => {
        expect(IDS.every((id) => randomSelection(facts(id), EMPTY, PARAMS, 0).pass)).toBe(true);
        const all = { ...PARAMS, randomInspectionRate: 1 };
        expect(IDS.every((id) => !randomSelection(facts(id), EMPTY, all, 0).pass)).toBe(true);
    });
});

const base = `
gate: { id: T01 }
storage: { path: /tmp/unused.db }
lanes:
    - id: L1
      devices:
          - { id: scanner-l1, model: serial-barcode-scanner, address: "tcp://127.0.0.1:4001" }
          - { id: cam-x, model: dahua-itsapi-anpr, role: front, auth: { username: cam-x, password: camera-password } }
`;

function problems(yaml: string): string[] {
    try {
        parseConfig(`${base}${yaml}`, { baseDir: "/srv/gate" });
        return [];
    } catch (err) {
        if (!isGateError(err, "CONFIG_INVALID")) throw err;
        return (err.details as string[]) ?? [];
    }
}

describe("inspection.exits and inspection.randomRate", () => {
    it("an exit point on a lane camera, the random rate into the rule parameters", () => {
        const config = parseConfig(
            `${base}inspection:\n    randomRate: 0.05\n    exits:\n        - { id: exit-1, camera: cam-x }\n`,
        );
        expect(config.inspection?.exits).toEqual([{ id: "exit-1", camera: "cam-x" }]);
        expect(ruleParams(config).randomInspectionRate).toBe(0.05);
        expect(ruleParams(parseConfig(base)).randomInspectionRate).toBe(0);
    });

    it("refuses an exit on a device that reads no plate or container, a repeated id, a rate above 1", () => {
        expect(
            problems(
                "inspection:\n    exits:\n        - { id: e, camera: scanner-l1 }\n        - { id: e, camera: cam-x }\n",
            ),
        ).toEqual([
            'inspection.exits[0].camera: no plate or container camera "scanner-l1" on a lane',
            'inspection.exits[1].id: exit id "e" is used twice',
        ]);
        expect(problems("inspection:\n    randomRate: 1.5\n")).toEqual([expect.stringMatching(/randomRate/)]);
    });
});
