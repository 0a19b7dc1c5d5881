import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SealReaderSimulator } from "../../simulators/eseal.ts";
import { LanePlcSimulator } from "../../simulators/lane-plc.ts";
import { PushCameraSimulator } from "../../simulators/push-camera.ts";
import { ScaleSimulator } from "../../simulators/scale.ts";
import { ScannerSimulator } from "../../simulators/scanner.ts";
import { type LaneKit, planScenario, readScenario, runScenario, type TruckOutcome } from "../../simulators/scenario.ts";
import { TcpSerialServer } from "../../simulators/transport.ts";
import type { Gate } from "../../src/gate.ts";
import { eventually, startGate, testConfig } from "../helpers/gate.ts";
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
    plc = new LanePlcSimulator({
        port: 0,
        lanes: scenario.lanes,
        pkiFolder: join(dir.path, "plc-pki"),
        travelMs: 100,
        autoCloseMs: 400,
        watchdogTimeoutMs: 20_000,
    });
    await plc.start();
    stops.push(() => plc.stop());
    const links = new Map<string, { scale: TcpSerialServer; scanner: TcpSerialServer }>();
    let lanesYaml = "";
    for (const lane of scenario.lanes) {
        const scale = new TcpSerialServer({ port: 0 });
        const scanner = new TcpSerialServer({ port: 0 });
        await scale.start();
        await scanner.start();
        links.set(lane, { scale, scanner });
        const l = lane.toLowerCase();
        lanesYaml += `  - id: ${lane}
    devices:
      - { id: scale-${l}, model: toledo-continuous, address: "tcp://127.0.0.1:${scale.port}" }
      - { id: scanner-${l}, model: serial-barcode-scanner, address: "tcp://127.0.0.1:${scanner.port}" }
      - { id: seal-${l}, model: eseal-mqtt-json, auth: { username: seal-${l}, password: seal-${l}-password } }
      - { id: front-${l}, model: dahua-itsapi-anpr, role: front, auth: { username: front-${l}, password: front-${l}-password } }
      - { id: rear-${l}, model: hikvision-isapi-anpr, role: rear, auth: { username: rear-${l}, password: rear-${l}-password } }
      - { id: plc-${l}, model: lane-plc-opcua, address: "${plc.endpointUrl}", plc: { lanePrefix: ${lane} } }
`;
    }
    gate = await startGate(
        testConfig(
            dir.path,
            lanesYaml,
            // Trucks of a scenario follow each other closely with the same declaration and plates: a short
            // duplicate window keeps one truck's repeats out without swallowing the next truck's reads.
            "rules: { requiredReads: [plate, declaration, weight], identifySeconds: 10, weighSeconds: 2, exitSeconds: 10 }\ningest: { weightSettleMs: 0, duplicateWindowMs: 200, offlineAfterMs: 1500 }",
        ),
    );
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
    const kits = new Map<string, LaneKit>();
    for (const lane of scenario.lanes) {
        const l = lane.toLowerCase();
        const { scale: scaleLink, scanner: scannerLink } = links.get(lane)!;
        const scale = new ScaleSimulator({ model: "toledo-continuous", link: scaleLink, rateHz: 20 });
        const scanner = new ScannerSimulator({ model: "serial-barcode-scanner", link: scannerLink, suffix: "CRLF" });
        await scale.start();
        await scanner.start();
        const seal = new SealReaderSimulator({
            model: "eseal-mqtt-json",
            brokerUrl: gate.addresses.mqtt!,
            username: `seal-${l}`,
            password: `seal-${l}-password`,
            topicPrefix: `gate/T01/devices/seal-${l}`,
            readerId: `reader-${l}`,
        });
        await seal.start();
        const camera = (model: "dahua-itsapi-anpr" | "hikvision-isapi-anpr", name: string) =>
            new PushCameraSimulator({ model, url: gate.addresses.push!, username: name, password: `${name}-password` });
        kits.set(lane, {
            plc,
            lanePrefix: lane,
            front: camera("dahua-itsapi-anpr", `front-${l}`),
            rear: camera("hikvision-isapi-anpr", `rear-${l}`),
            scanner,
            scale,
            scaleLink,
            seal,
        });
        stops.push(
            () => scale.stop(),
            () => scanner.stop(),
            () => seal.stop(),
        );
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
    outcomes = await runScenario(plan, kits, { holdWaitMs: 2000, dropoutWaitMs: 3500, gapMs: 400 });
    await eventually(
        () => gate.passages.list({ limit: 500 }).every((p) => p.decision !== null) || undefined,
        15_000,
        "every passage decided",
    );
}, 300_000);

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
