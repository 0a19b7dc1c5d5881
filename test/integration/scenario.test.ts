import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LanePlcSimulator } from "../../simulators/lane-plc.ts";
import { type LaneKit, planScenario, readScenario, runScenario, type TruckOutcome } from "../../simulators/scenario.ts";
import type { Gate } from "../../src/gate.ts";
import { eventually, startGate, testConfig } from "../helpers/gate.ts";
import { laneDevices, laneSimulators, startLaneDeviceSide, startLanePlc } from "../helpers/lanes.ts";
import { tempDir } from "../helpers/tmp.ts";

const dir = tempDir();
const scenario = readScenario("test/fixtures/scenario-100.yaml");
// SCENARIO_TRUCKS=n runs only the first n trucks (debugging); the ground truth check covers what ran.
const plan = planScenario(scenario).slice(0, Number(process.env.SCENARIO_TRUCKS ?? Number.POSITIVE_INFINITY));
let gate: Gate;
let plc: LanePlcSimulator;
const stops: (() => Promise<void>)[] = [];
let outcomes: TruckOutcome[] = [];

const declaration = (
    d: { number: string; tractor: string; trailer: string; container?: string; seal?: string; grossKg: number },
    channel: "GREEN" | "RED",
) => ({
    number: d.number,
    type: d.number.slice(0, 2),
    channel,
    status: "CLEARED",
    declaredPlates: [d.tractor, d.trailer],
    containers: d.container ? [{ number: d.container, sealNumbers: d.seal ? [d.seal] : [] }] : [],
    declaredGrossKg: d.grossKg,
    version: 1,
});

beforeAll(async () => {
    plc = await startLanePlc(dir.path, scenario.lanes, { autoCloseMs: 400, watchdogTimeoutMs: 20_000 });
    stops.push(() => plc.stop());
    const { yaml: lanesYaml } = await laneDevices(scenario.lanes, plc.endpointUrl);
    const config = testConfig(
        dir.path,
        lanesYaml,
        // Trucks of a scenario follow each other closely with the same declaration and plates: a short
        // duplicate window keeps one truck's repeats out without swallowing the next truck's reads.
        "rules: { requiredReads: [plate, declaration, weight], identifySeconds: 10, weighSeconds: 2, exitSeconds: 10 }\ningest: { weightSettleMs: 0, duplicateWindowMs: 200, offlineAfterMs: 1500 }",
    );
    const simulators = await startLaneDeviceSide(config, dir.path, stops, { scaleRateHz: 20 });
    gate = await startGate(config);
    // The ingest section of testConfig settles weights at once; a short duplicate window lets one
    // declaration serve truck after truck.
    gate.clearance.importData(
        {
            version: "scenario-1",
            declarations: [
                ...new Map(
                    scenario.lanes.flatMap((lane) => {
                        const d = scenario.declarations[lane]!;
                        return [
                            [d.green.number, declaration(d.green, "GREEN")],
                            [d.red.number, declaration(d.red, "RED")],
                        ] as const;
                    }),
                ).values(),
            ] as never,
            watchList: [],
        },
        Date.now(),
    );
    gate.clearance.setVersion("scenario-1", Date.now());
    await simulators.connect(gate.addresses);
    const kits = new Map<string, LaneKit>();
    for (const lane of scenario.lanes) {
        kits.set(lane, { plc, lanePrefix: lane, ...laneSimulators(simulators, lane) });
    }
    await eventually(
        () =>
            (gate.log.read(0, 100_000).length > 0 &&
                [...kits.keys()].every(
                    (lane) => gate.runtime(`plc-${lane.toLowerCase()}`)!.health().status === "online",
                )) ||
            undefined,
        30_000,
        "PLC sessions",
    );
    // Each truck waits for the gate's decision on it (the n-th decided passage of its lane), not a fixed
    // time, so a loaded machine that decides slowly cannot turn a released truck back.
    const decidedSoFar = new Map<string, number>();
    const awaitDecision = async (truck: (typeof plan)[number]): Promise<string> => {
        const nth = (decidedSoFar.get(truck.lane) ?? 0) + 1;
        decidedSoFar.set(truck.lane, nth);
        return eventually(
            () => {
                const decided = gate.passages
                    .list({ laneId: truck.lane, limit: 500 })
                    .filter((passage) => passage.decision !== null);
                return decided.length >= nth ? (decided[decided.length - nth]?.decision ?? undefined) : undefined;
            },
            60_000,
            `the decision on truck ${truck.index} in ${truck.lane}`,
        );
    };
    outcomes = await runScenario(plan, kits, { holdWaitMs: 2000, dropoutWaitMs: 3500, gapMs: 400, awaitDecision });
    await eventually(
        () => gate.passages.list({ limit: 500 }).every((p) => p.decision !== null) || undefined,
        15_000,
        "every passage decided",
    );
}, 900_000);

afterAll(async () => {
    await gate?.stop();
    for (const stop of stops.reverse()) await stop();
    dir.cleanup();
}, 60_000);

describe(`scenario ${scenario.name}: ${plan.length} trucks through ${scenario.lanes.length} lanes`, () => {
    it("gives every truck the decision of the ground truth, one passage per truck", () => {
        if (process.env.SCENARIO_DEBUG) {
            for (const truck of plan)
                console.log(
                    "PLAN",
                    truck.index,
                    truck.lane,
                    truck.kind,
                    truck.tractor,
                    truck.declaration,
                    truck.grossKg,
                    truck.expect,
                );
            for (const p of gate.passages.list({ limit: 500 }).reverse()) {
                const r = p.record as {
                    decision?: { results?: { rule: string; pass: boolean; reason: string }[] };
                    facts?: { grossKg?: number; timedOut?: string[]; declarations?: string[] };
                    outcome?: string;
                };
                console.log(
                    "PASSAGE",
                    p.laneId,
                    p.openedAt,
                    p.plates.join(","),
                    p.decision,
                    r.facts?.grossKg,
                    r.facts?.declarations,
                    r.facts?.timedOut,
                    r.outcome,
                    (r.decision?.results ?? [])
                        .filter((x) => !x.pass)
                        .map((x) => `${x.rule}: ${x.reason}`)
                        .join(" | "),
                );
            }
        }
        const mismatches: string[] = [];
        for (const lane of scenario.lanes) {
            const trucks = plan.filter((truck) => truck.lane === lane);
            const passages = gate.passages.list({ laneId: lane, limit: 500 }).reverse();
            expect(passages.length, `passages in ${lane}`).toBe(trucks.length);
            trucks.forEach((truck, i) => {
                const passage = passages[i];
                if (passage?.decision !== truck.expect) {
                    const record = passage?.record as
                        | {
                              decision?: {
                                  decidingRule?: string;
                                  results?: { rule: string; pass: boolean; reason: string }[];
                              };
                          }
                        | undefined;
                    const failed =
                        record?.decision?.results?.filter((r) => !r.pass).map((r) => `${r.rule}: ${r.reason}`) ?? [];
                    mismatches.push(
                        `truck ${truck.index} (${truck.kind}, ${lane}) expected ${truck.expect}, got ${passage?.decision ?? "none"} [${failed.join("; ")}]`,
                    );
                }
            });
        }
        expect(mismatches).toEqual([]);
    });

    it("opens the barrier for exactly the released trucks", () => {
        for (const outcome of outcomes) {
            expect(outcome.barrierOpened, `truck ${outcome.truck.index} (${outcome.truck.kind})`).toBe(
                outcome.truck.expect === "RELEASE",
            );
        }
    });

    it("never merges two trucks: each passage's plates are one truck's", () => {
        for (const passage of gate.passages.list({ limit: 500 })) {
            const tractors = passage.plates.filter((plate) => /^\d\dC/.test(plate));
            expect(new Set(tractors).size, passage.passageId).toBeLessThanOrEqual(1);
        }
    });
});
