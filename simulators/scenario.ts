import { readFileSync } from "node:fs";
import { parse as parseYaml } from "yaml";
import type { SealReaderSimulator } from "./eseal.ts";
import type { LanePlcSimulator } from "./lane-plc.ts";
import type { PushCameraSimulator } from "./push-camera.ts";
import { type Rng, seededRng } from "./random.ts";
import type { ScaleSimulator } from "./scale.ts";
import type { ScannerSimulator } from "./scanner.ts";
import type { ByteLink } from "./transport.ts";

export type TruckKind =
    | "clean"
    | "wrong-plate"
    | "tampered-seal"
    | "overweight"
    | "red-channel"
    | "unknown-declaration"
    | "device-dropout";

export type ExpectedDecision = "RELEASE" | "HOLD" | "INSPECT" | "REJECT";

interface DeclaredTruck {
    number: string;
    tractor: string;
    trailer: string;
    container?: string;
    seal?: string;
    grossKg: number;
}

export interface ScenarioFile {
    name: string;
    seed: number;
    lanes: string[];
    mix: Partial<Record<TruckKind, number>>;
    declarations: Record<string, { green: DeclaredTruck; red: DeclaredTruck }>;
    unknownDeclaration: string;
    expect: Record<TruckKind, ExpectedDecision>;
}

/** One truck of a scenario and the decision it must get. */
export interface TruckPlan {
    index: number;
    lane: string;
    kind: TruckKind;
    tractor: string;
    trailer: string;
    declaration: string;
    container?: string;
    seal?: { id: string; status: "SEALED" | "TAMPERED" };
    grossKg: number;
    expect: ExpectedDecision;
}

export function readScenario(file: string): ScenarioFile {
    return parseYaml(readFileSync(file, "utf8")) as ScenarioFile;
}

/** Expands the mix into trucks, shuffled with the scenario's seed and dealt round-robin to the lanes. */
export function planScenario(scenario: ScenarioFile): TruckPlan[] {
    const rng: Rng = seededRng(scenario.seed);
    const kinds: TruckKind[] = [];
    for (const [kind, count] of Object.entries(scenario.mix) as [TruckKind, number][]) {
        for (let i = 0; i < count; i++) kinds.push(kind);
    }
    for (let i = kinds.length - 1; i > 0; i--) {
        const j = Math.floor(rng() * (i + 1));
        [kinds[i], kinds[j]] = [kinds[j] as TruckKind, kinds[i] as TruckKind];
    }
    return kinds.map((kind, index) => {
        const lane = scenario.lanes[index % scenario.lanes.length] as string;
        const declared = scenario.declarations[lane];
        if (!declared) throw new Error(`scenario: no declarations for lane ${lane}`);
        const base = kind === "red-channel" ? declared.red : declared.green;
        // Within ±2 % of the declared gross, rounded to the scale's 10 kg division.
        const gross = Math.round((base.grossKg * (0.98 + rng() * 0.04)) / 10) * 10;
        const plan: TruckPlan = {
            index,
            lane,
            kind,
            tractor: kind === "wrong-plate" ? "29C-999.99" : base.tractor,
            trailer: kind === "wrong-plate" ? "29R-999.99" : base.trailer,
            declaration: kind === "unknown-declaration" ? scenario.unknownDeclaration : base.number,
            ...(base.container !== undefined && { container: base.container }),
            ...(base.seal !== undefined && {
                seal: { id: base.seal, status: kind === "tampered-seal" ? ("TAMPERED" as const) : ("SEALED" as const) },
            }),
            grossKg: kind === "overweight" ? Math.round((base.grossKg * 1.15) / 10) * 10 : gross,
            expect: scenario.expect[kind],
        };
        return plan;
    });
}

/** The simulated devices of one lane. */
export interface LaneKit {
    plc: LanePlcSimulator;
    lanePrefix: string;
    front: PushCameraSimulator;
    rear: PushCameraSimulator;
    scanner: ScannerSimulator;
    scale: ScaleSimulator;
    scaleLink: ByteLink;
    seal: SealReaderSimulator;
}

export interface TruckOutcome {
    truck: TruckPlan;
    /** What the lane did with the truck, as the PLC saw it. */
    barrierOpened: boolean;
}

export interface RunOptions {
    /** How long a truck waits at a closed barrier before it turns back (ms). */
    holdWaitMs: number;
    /** How long a truck whose weighbridge dropped out waits (the gate's weigh timeout plus margin, ms). */
    dropoutWaitMs: number;
    /** Pause between two trucks of a lane (ms): longer than the gate's duplicate window. */
    gapMs: number;
    signal?: AbortSignal;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Drives the trucks of each lane one after another through the simulated devices, the lanes in parallel,
 * the way a truck meets them: entry loop, plates, seal, scans, weighbridge, then through the barrier if
 * it opens or back out if it does not.
 */
export async function runScenario(
    plan: TruckPlan[],
    kits: Map<string, LaneKit>,
    options: RunOptions,
): Promise<TruckOutcome[]> {
    const outcomes: TruckOutcome[] = [];
    await Promise.all(
        [...kits.entries()].map(async ([lane, kit]) => {
            for (const truck of plan.filter((t) => t.lane === lane)) {
                if (options.signal?.aborted) return;
                outcomes.push(await driveTruck(truck, kit, options));
            }
        }),
    );
    return outcomes.sort((a, b) => a.truck.index - b.truck.index);
}

async function driveTruck(truck: TruckPlan, kit: LaneKit, options: RunOptions): Promise<TruckOutcome> {
    const { plc, lanePrefix } = kit;
    plc.vehicleArrives(lanePrefix);
    await kit.front.push({ text: truck.tractor, confidence: 0.95, countryCode: "VN", withImages: false });
    await kit.rear.push({ text: truck.trailer, confidence: 0.93, countryCode: "VN", withImages: false });
    if (truck.seal)
        await kit.seal.read({ sealId: truck.seal.id, type: "GPS", status: truck.seal.status, batteryPct: 80 });
    kit.scanner.scan(truck.declaration);
    if (truck.container) kit.scanner.scan(truck.container);
    if (truck.kind === "device-dropout") {
        await kit.scaleLink.unplug();
    } else {
        await kit.scale.driveOn(truck.grossKg, { rampMs: 200, settleMs: 100 });
    }
    const wait = truck.kind === "device-dropout" ? options.dropoutWaitMs : options.holdWaitMs;
    const deadline = Date.now() + wait;
    let opened = false;
    while (Date.now() < deadline) {
        const state = plc.state(lanePrefix).barrier;
        if (state === "opening" || state === "open") {
            opened = true;
            break;
        }
        await sleep(20);
    }
    if (opened) {
        while (plc.state(lanePrefix).barrier !== "open") await sleep(20);
        plc.vehicleUnderBoom(lanePrefix, true);
        await sleep(100);
        await plc.vehicleLeaves(lanePrefix, 100);
    } else {
        plc.setLoop(lanePrefix, "entry", false);
    }
    if (truck.kind === "device-dropout") {
        await kit.scaleLink.plug();
        kit.scale.setWeight(0, false);
        // The next truck needs a weighbridge the gate reads again: wait for the gate to reconnect.
        const back = Date.now() + 15_000;
        while (!(kit.scaleLink as { connected?: boolean }).connected && Date.now() < back) await sleep(50);
    } else {
        await kit.scale.driveOff({ rampMs: 150, settleMs: 50 });
    }
    await sleep(options.gapMs);
    return { truck, barrierOpened: opened };
}
