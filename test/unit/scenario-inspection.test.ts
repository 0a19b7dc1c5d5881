/**
 * The scenario runner's inspection ground truth (simulators/gate/inspection.ts checkTruckCase) and the
 * scenario file's inspection kinds and faults (simulators/scenario.ts): pure logic, no gate.
 */
import { describe, expect, it } from "vitest";
import { checkTruckCase } from "../../simulators/gate/inspection.ts";
import { inspectionSummary, type TruckResult } from "../../simulators/gate/report.ts";
import { planScenario, validateScenario } from "../../simulators/scenario.ts";
import { caseIdOf, type InspectionCase } from "../../src/inspection/caseModel.ts";

const PASSAGE = "01JTESTPASSAGE0000000000001";

function caseWith(overrides: Partial<InspectionCase>): InspectionCase {
    return {
        caseId: caseIdOf(PASSAGE),
        passageId: PASSAGE,
        laneId: "L1",
        openedAt: "2026-12-07T10:00:00.000Z",
        triggers: ["CHANNEL_RED"],
        plates: ["15C88810"],
        containers: [],
        declarations: [],
        fourEyes: true,
        status: "open",
        required: ["xray"],
        done: [],
        entries: [
            { at: "2026-12-07T10:01:00.000Z", eventId: "e1", kind: "xray", result: "clear" },
            { at: "2026-12-07T10:02:00.000Z", eventId: "e2", kind: "exit", result: "refused", exitId: "exit-1" },
        ],
        lastSeq: 10,
        ...overrides,
    };
}

const red = { kind: "red-channel", expect: "INSPECT", xray: "clear" } as const;
const everything = { scanned: true, exitTried: true };
const lookup = (found: InspectionCase | undefined) => (id: string) => (found?.caseId === id ? found : undefined);

describe("a scenario truck's inspection case against its ground truth", () => {
    it("an open case with its scan and a refused exit attempt is as it must be", () => {
        const check = checkTruckCase(red, "INSPECT", PASSAGE, lookup(caseWith({})), everything);
        expect(check).toMatchObject({ status: "open", xray: ["clear"], exitRefused: true, problems: [] });
    });

    it("a cleared case the runner did not clear, no case, a missing scan or exit refusal: each is named", () => {
        const cleared = checkTruckCase(red, "INSPECT", PASSAGE, lookup(caseWith({ status: "cleared" })), everything);
        expect(cleared.problems).toEqual([`case ${caseIdOf(PASSAGE)} is cleared, but nobody cleared it`]);
        expect(checkTruckCase(red, "INSPECT", PASSAGE, lookup(undefined), everything).problems).toEqual([
            "sent to inspection but no case was opened",
        ]);
        const bare = checkTruckCase(red, "INSPECT", PASSAGE, lookup(caseWith({ entries: [] })), everything);
        expect(bare.problems).toHaveLength(2);
        expect(bare.problems[0]).toMatch(/has not got its clear scan/);
        expect(bare.problems[1]).toMatch(/exit attempt was not refused/);
        // A truck the gate wrongly released still had to be inspected: no case is a violation too.
        expect(checkTruckCase(red, "RELEASE", PASSAGE, lookup(undefined), everything).problems).toHaveLength(1);
    });

    it("an RPM alarm must be the case's trigger; a suspicious scan must require the physical examination", () => {
        const alarm = { kind: "radiation-alarm", expect: "INSPECT", xray: "clear" } as const;
        expect(checkTruckCase(alarm, "INSPECT", PASSAGE, lookup(caseWith({})), everything).problems).toEqual([
            `case ${caseIdOf(PASSAGE)} does not name the RPM alarm (CHANNEL_RED)`,
        ]);
        const suspicious = { kind: "xray-suspicious", expect: "INSPECT", xray: "suspicious" } as const;
        const scanned = caseWith({
            entries: [
                { at: "2026-12-07T10:01:00.000Z", eventId: "e1", kind: "xray", result: "suspicious" },
                { at: "2026-12-07T10:02:00.000Z", eventId: "e2", kind: "exit", result: "refused" },
            ],
        });
        expect(checkTruckCase(suspicious, "INSPECT", PASSAGE, lookup(scanned), everything).problems).toEqual([
            `case ${caseIdOf(PASSAGE)}: a suspicious scan and no physical examination required`,
        ]);
    });

    it("a NORM nuisance of a green truck must open no case", () => {
        const norm = { kind: "radiation-norm", expect: "RELEASE" } as const;
        expect(checkTruckCase(norm, "RELEASE", PASSAGE, lookup(undefined), everything).problems).toEqual([]);
        const opened = checkTruckCase(
            norm,
            "RELEASE",
            PASSAGE,
            lookup(caseWith({ triggers: ["RPM_ALARM"] })),
            everything,
        );
        expect(opened.problems).toEqual([`has case ${caseIdOf(PASSAGE)} (RPM_ALARM) but had to be released`]);
    });

    it("the report's summary counts the held cases and lists every violation", () => {
        const truck = (index: number, inspection: TruckResult["inspection"]) =>
            ({
                index,
                lane: "L1",
                kind: "red-channel",
                expect: "INSPECT",
                actual: "INSPECT",
                inspection,
            }) as TruckResult;
        const ok = checkTruckCase(red, "INSPECT", PASSAGE, lookup(caseWith({})), everything);
        const bad = checkTruckCase(red, "INSPECT", PASSAGE, lookup(caseWith({ status: "cleared" })), everything);
        const summary = inspectionSummary([truck(0, ok), truck(1, bad)]);
        expect(summary).toMatchObject({ mustInspect: 2, held: 1, byStatus: { open: 1, cleared: 1 }, exitRefused: 2 });
        expect(summary.violations).toEqual([
            `truck 1 L1 red-channel: case ${caseIdOf(PASSAGE)} is cleared, but nobody cleared it`,
        ]);
    });
});

describe("the scenario file's inspection kinds and faults", () => {
    const truck = { number: "101234567820", tractor: "15C-123.45", trailer: "15R-012.34", grossKg: 28500 };
    const redTruck = { number: "100001234540", tractor: "15C-888.10", trailer: "15R-088.10", grossKg: 31000 };
    const base = {
        name: "t",
        seed: 1,
        lanes: ["L1"],
        mix: { "radiation-norm": 1, "radiation-alarm": 1, "xray-suspicious": 1 },
        declarations: { L1: { green: truck, red: redTruck } },
        unknownDeclaration: "105551234500",
    };

    it("plans each kind's RPM pass, X-ray result and decision", () => {
        const plan = planScenario(validateScenario(base));
        const of = (kind: string) => plan.find((t) => t.kind === kind);
        expect(of("radiation-norm")).toMatchObject({ rpm: "norm", expect: "RELEASE", declaration: truck.number });
        expect(of("radiation-norm")?.xray).toBeUndefined();
        expect(of("radiation-alarm")).toMatchObject({ rpm: "alarm", expect: "INSPECT", xray: "clear" });
        expect(of("xray-suspicious")).toMatchObject({
            rpm: "clean",
            expect: "INSPECT",
            xray: "suspicious",
            declaration: redTruck.number,
        });
    });

    it("checks the new faults: an RPM failure names its lane, the scanner offline needs none", () => {
        const faults = validateScenario({
            ...base,
            faults: [
                { at: "10s", kind: "xray-offline", for: "30s" },
                { at: "20s", kind: "rpm-detector-failure", lane: "L1" },
            ],
        }).faults;
        expect(faults).toEqual([
            { kind: "xray-offline", atMs: 10_000, forMs: 30_000 },
            { kind: "rpm-detector-failure", atMs: 20_000, forMs: 60_000, lane: "L1" },
        ]);
        expect(() => validateScenario({ ...base, faults: [{ at: "1s", kind: "rpm-detector-failure" }] })).toThrow(
            expect.objectContaining({
                details: ["faults[0].lane: rpm-detector-failure needs the lane whose device it hits"],
            }),
        );
    });
});
