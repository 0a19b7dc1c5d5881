/**
 * The scenario model: which trucks come to which lane, what each must be decided, and (for whole-gate runs,
 * `gate-edge simulate gate --scenario FILE`) how fast they arrive and which faults strike when. One file
 * format serves the integration test (test/fixtures/scenario-100.yaml), the central simulator's clearance
 * feed (simulators/central/feed.ts scenarioItems) and the runner (simulators/gate/runner.ts).
 *
 *   name: busy-day                       # for reports
 *   seed: 7                              # the same seed plans the same trucks, arrivals and plates
 *   lanes: [L1, L2]
 *   trucksPerHour: 120                   # per lane, Poisson arrivals (whole-gate runs; default 60)
 *   speed: 30                            # default time compression of a whole-gate run (default 1)
 *   mix: { clean: 40, yellow-channel: 4, red-channel: 4, ... }   # how many trucks of each kind
 *   declarations:                        # per lane: the declared trucks the kinds are made from
 *     L1: { green: {...}, red: {...}, yellow: {...}?, watched: {...}? }
 *   unknownDeclaration: "105551234500"   # a valid number central never sends
 *   expect: { overweight: INSPECT }      # optional: overrides of DEFAULT_EXPECT
 *   watchList: [...]                     # optional extra watch-list entries central serves
 *   faults:                              # optional, whole-gate runs only; times are scenario time
 *     - { at: 10m, kind: scale-unplugged, lane: L1, for: 1m }
 *     - { at: 30m, kind: clock-jump, by: 1h }
 *     - { at: 2h, kind: lane-closed, lane: L2, for: 1h }   # yard runs: the lane's PLC to maintenance
 *   yard:                                # optional: yard mode (simulators/gate/yard.ts)
 *     policy: perishablesFirst           # fifo | slot | perishablesFirst (the gate's yard.queuePolicy)
 *     groups: { import: [L1, L2], export: [L3, L4] }   # every lane in one group; declarations go its way
 *     perishableShare: 0.2               # share of perishable trucks (default 0)
 *     unannouncedShare: 0.05             # import trucks central sent no pre-arrival for (default 0)
 *     noShow: 10m                        # the gate's yard.noShowMs (compressed, at least 30 s of wall time)
 *     driveToLane: 2m                    # from the call to the lane; driveToExit: from the lane to the exit
 *     rates:                             # trucks per hour at the yard entry (the whole gate's) from a time on
 *       - { from: 0, trucksPerHour: 40 }
 *       - { from: 1h30m, trucksPerHour: 110, perishableShare: 0.6 }
 *
 * Kinds and the truck each makes: clean (the lane's green declaration, declared plates, intact seal,
 * weight within ±2 %), yellow-channel (the yellow declaration, document check not done), red-channel (the
 * red declaration, not inspected), wrong-plate (green papers, plates 29C-999.99 / 29R-999.99), tampered-seal
 * (green, seal TAMPERED), overweight (green, +15 %), unknown-declaration (green truck, the unknown number),
 * watch-listed (the watched declaration, whose tractor plate central puts on the watch list),
 * device-dropout (green, the weighbridge is unplugged before the truck is weighed), and the half matches of
 * issue 14, each of which was released before: trailer-mismatch (green, the declared tractor but trailer
 * plate 29R-099.98), tractor-mismatch (green, tractor 29C-111.18 and the declared trailer),
 * newer-amendment (green truck showing its declaration's next amendment, which central has not sent) and
 * swapped-seal (green, its e-seal reader reports the seal on another container: SWAPPED_CONTAINER). The
 * inspection area's kinds (issue 18): radiation-norm (green, its cargo raises a NORM nuisance alarm on the
 * lane's RPM: not diverted, its channel decides), radiation-alarm (green, a genuine source: the RPM alarm
 * sends it to inspection whatever its channel) and xray-suspicious (the red declaration, and its X-ray scan
 * in the inspection area is suspicious: a physical examination is required). Every truck passes its lane's
 * RPM (clean unless its kind says otherwise) and every truck sent to inspection is scanned (clear unless
 * xray-suspicious); none of them may leave through an exit while its case is not cleared.
 */
import { readFileSync } from "node:fs";
import { parse as parseYaml } from "yaml";
import { errorMessage, GateError } from "../src/core/errors.ts";
import { directionOfTypeCode, parseContainerNumber, parseDeclarationNumber } from "../src/core/identifiers.ts";
import { validateWatchListEntry } from "../src/store/clearance.ts";
import type { SealReaderSimulator } from "./eseal.ts";
import type { LanePlcSimulator } from "./lane-plc.ts";
import type { PushCameraSimulator } from "./push-camera.ts";
import { type Rng, seededRng } from "./random.ts";
import type { RpmPassKind } from "./rpm.ts";
import type { ScaleSimulator } from "./scale.ts";
import type { ScannerSimulator } from "./scanner.ts";
import type { ByteLink } from "./transport.ts";

export const TRUCK_KINDS = [
    "clean",
    "yellow-channel",
    "wrong-plate",
    "tampered-seal",
    "overweight",
    "red-channel",
    "unknown-declaration",
    "watch-listed",
    "device-dropout",
    "trailer-mismatch",
    "tractor-mismatch",
    "newer-amendment",
    "swapped-seal",
    "radiation-norm",
    "radiation-alarm",
    "xray-suspicious",
] as const;
export type TruckKind = (typeof TRUCK_KINDS)[number];

export const EXPECTED_DECISIONS = ["RELEASE", "HOLD", "INSPECT", "REJECT"] as const;
export type ExpectedDecision = (typeof EXPECTED_DECISIONS)[number];

/** The decision each kind gets from the rules of docs/design.md "Lane engine", unless a scenario's `expect` says otherwise. */
export const DEFAULT_EXPECT: Readonly<Record<TruckKind, ExpectedDecision>> = {
    clean: "RELEASE",
    "yellow-channel": "HOLD",
    "wrong-plate": "HOLD",
    "tampered-seal": "INSPECT",
    overweight: "INSPECT",
    "red-channel": "INSPECT",
    "unknown-declaration": "HOLD",
    "watch-listed": "INSPECT",
    "device-dropout": "HOLD",
    "trailer-mismatch": "HOLD",
    "tractor-mismatch": "HOLD",
    "newer-amendment": "HOLD",
    "swapped-seal": "INSPECT",
    "radiation-norm": "RELEASE",
    "radiation-alarm": "INSPECT",
    "xray-suspicious": "INSPECT",
};

/** The container a swapped-seal truck's reader reports its seal on (or the other one, if this is declared). */
export const SWAPPED_CONTAINER = ["TGHU1234567", "CSQU3054383"] as const;

export interface DeclaredTruck {
    number: string;
    tractor: string;
    trailer: string;
    container?: string;
    seal?: string;
    grossKg: number;
}

/** A lane's declared trucks: green and red always; yellow and watched when the mix has such trucks. */
export interface LaneDeclarations {
    green: DeclaredTruck;
    red: DeclaredTruck;
    yellow?: DeclaredTruck;
    watched?: DeclaredTruck;
}

export const SCENARIO_FAULT_KINDS = [
    "scale-unplugged",
    "camera-reboot",
    "plc-restart",
    "broker-restart",
    "central-outage",
    "disk-quota",
    "clock-jump",
    "xray-offline",
    "rpm-detector-failure",
    "lane-closed",
] as const;
export type ScenarioFaultKind = (typeof SCENARIO_FAULT_KINDS)[number];

/** One scheduled fault, times in ms of scenario time (the runner divides them by its speed). */
export interface ScenarioFault {
    kind: ScenarioFaultKind;
    atMs: number;
    /** How long the fault lasts; absent for clock-jump (a step) and disk-quota when it stays. */
    forMs?: number;
    /** The lane whose device is hit (scale-unplugged, camera-reboot, rpm-detector-failure; plc-restart: the PLC serving it). */
    lane?: string;
    /** The device of the lane, when the lane has several of the kind (camera-reboot). */
    device?: string;
    /** clock-jump: how far the gate's clock steps (negative: back). */
    byMs?: number;
}

/** A fault's default duration when the file gives none (scenario time). */
export const DEFAULT_FAULT_MS: Readonly<Record<ScenarioFaultKind, number | undefined>> = {
    "scale-unplugged": 60_000,
    "camera-reboot": 30_000,
    "plc-restart": 15_000,
    "broker-restart": 10_000,
    "central-outage": 300_000,
    "disk-quota": undefined,
    "clock-jump": undefined,
    "xray-offline": 60_000,
    "rpm-detector-failure": 60_000,
    "lane-closed": 3_600_000,
};

export interface ScenarioFile {
    name: string;
    seed: number;
    lanes: string[];
    mix: Partial<Record<TruckKind, number>>;
    declarations: Record<string, LaneDeclarations>;
    unknownDeclaration: string;
    /** Overrides of DEFAULT_EXPECT. */
    expect?: Partial<Record<TruckKind, ExpectedDecision>>;
    /** Trucks per hour arriving at each lane (whole-gate runs). Default 60. */
    trucksPerHour?: number;
    /** Default time compression of a whole-gate run. Default 1. */
    speed?: number;
    /** Extra watch-list entries central serves (as in a clearance file). */
    watchList?: unknown[];
    /** Normalised by readScenario: times in ms. */
    faults?: ScenarioFault[];
    /** Yard mode (simulators/gate/yard.ts): trucks arrive at the yard and wait for the gate's call. */
    yard?: ScenarioYard;
}

/** The lane groups a yard scenario may name (an empty truck has no declaration to drive a lane with). */
export const YARD_GROUPS = ["import", "export"] as const;
export type YardGroup = (typeof YARD_GROUPS)[number];
export const YARD_POLICIES = ["fifo", "slot", "perishablesFirst"] as const;
export type YardPolicy = (typeof YARD_POLICIES)[number];

/**
 * The kinds a yard run can follow from the yard entry to its lane: each truck has plates of its own, read at
 * the yard and matched to its papers. The misread-plate kinds (wrong-plate, tractor-mismatch,
 * trailer-mismatch) share their odd plates between trucks, so the yard could not tell them apart.
 */
export const YARD_KINDS: readonly TruckKind[] = [
    "clean",
    "yellow-channel",
    "red-channel",
    "tampered-seal",
    "overweight",
    "unknown-declaration",
    "watch-listed",
    "device-dropout",
    "swapped-seal",
    "radiation-norm",
    "radiation-alarm",
    "xray-suspicious",
];

/** From `fromMs` of scenario time on, trucks arrive at the yard entry at this rate (the whole gate's). */
export interface YardRate {
    fromMs: number;
    trucksPerHour: number;
    /** The share of perishable goods among them (else the yard's perishableShare). */
    perishableShare?: number;
}

/** The `yard` section of a scenario, normalised: times in ms of scenario time. */
export interface ScenarioYard {
    policy: YardPolicy;
    /** Which lanes take each group's trucks; every scenario lane is in one group. */
    groups: Partial<Record<YardGroup, string[]>>;
    perishableShare: number;
    /** The share of import trucks central sent no pre-arrival for (they queue as unannounced). */
    unannouncedShare: number;
    /** A called truck not at its lane after this long is a no-show (the gate's yard.noShowMs, scenario time). */
    noShowMs: number;
    /** From the call to the lane, and from the lane to the exit point (scenario time). */
    driveToLaneMs: number;
    driveToExitMs: number;
    /** Sorted by fromMs; the first starts at 0. */
    rates: YardRate[];
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
    /** `container`: the container the e-seal reader reports the seal on (swapped-seal trucks only). */
    seal?: { id: string; status: "SEALED" | "TAMPERED"; container?: string };
    grossKg: number;
    expect: ExpectedDecision;
    /** What the lane's RPM sees as the truck passes it on the approach. */
    rpm: RpmPassKind;
    /** The X-ray scan in the inspection area, for a truck sent there. */
    xray?: "clear" | "suspicious";
}

/**
 * Reads and validates a scenario file. Throws GateError SCENARIO_UNREADABLE when the file cannot be read
 * and SCENARIO_INVALID whose `details` name every problem by its key path (`faults[2].lane: ...`).
 */
export function readScenario(file: string): ScenarioFile {
    let text: string;
    try {
        text = readFileSync(file, "utf8");
    } catch (err) {
        throw new GateError(
            "SCENARIO_UNREADABLE",
            `${file}: ${(err as NodeJS.ErrnoException).code ?? errorMessage(err)}`,
            {
                cause: err,
            },
        );
    }
    let document: unknown;
    try {
        document = parseYaml(text, { prettyErrors: true });
    } catch (err) {
        throw new GateError("SCENARIO_INVALID", `${file} is not valid YAML`, {
            cause: err,
            details: [`(root): ${errorMessage(err).split("\n")[0] ?? ""}`],
        });
    }
    return validateScenario(document, file);
}

type Obj = Record<string, unknown>;

function isObject(value: unknown): value is Obj {
    return typeof value === "object" && value !== null && !Array.isArray(value);
}

const ROOT_KEYS = [
    "name",
    "seed",
    "lanes",
    "trucksPerHour",
    "speed",
    "mix",
    "declarations",
    "unknownDeclaration",
    "expect",
    "watchList",
    "faults",
    "yard",
];
const YARD_KEYS = [
    "policy",
    "groups",
    "perishableShare",
    "unannouncedShare",
    "noShow",
    "driveToLane",
    "driveToExit",
    "rates",
];
const RATE_KEYS = ["from", "trucksPerHour", "perishableShare"];
const TRUCK_KEYS = ["number", "tractor", "trailer", "container", "seal", "grossKg"];
const FAULT_KEYS = ["at", "kind", "for", "lane", "device", "by"];
const LANE_ID = /^[A-Za-z0-9_-]{1,32}$/;
/** Which declared truck of a lane each kind is made from. */
export const DECLARED_FOR: Readonly<Record<TruckKind, keyof LaneDeclarations>> = {
    clean: "green",
    "yellow-channel": "yellow",
    "wrong-plate": "green",
    "tampered-seal": "green",
    overweight: "green",
    "red-channel": "red",
    "unknown-declaration": "green",
    "watch-listed": "watched",
    "device-dropout": "green",
    "trailer-mismatch": "green",
    "tractor-mismatch": "green",
    "newer-amendment": "green",
    "swapped-seal": "green",
    "radiation-norm": "green",
    "radiation-alarm": "green",
    "xray-suspicious": "red",
};
const FAULT_NEEDS_LANE: ReadonlySet<ScenarioFaultKind> = new Set([
    "scale-unplugged",
    "camera-reboot",
    "rpm-detector-failure",
    "lane-closed",
]);
/** Faults that hit one device of their lane, chosen by `device` when the lane has several of the kind. */
const FAULT_HITS_DEVICE: ReadonlySet<ScenarioFaultKind> = new Set(["scale-unplugged", "camera-reboot"]);

/**
 * A scenario duration: a number of seconds, or "500ms", "20s", "5m", "1h", or units in a row ("3m30s",
 * "1h15m"); `signed` allows a leading "-". Undefined when it is not one.
 */
export function parseScenarioDuration(value: unknown, signed = false): number | undefined {
    if (typeof value === "number") return Number.isFinite(value) && (signed || value >= 0) ? value * 1000 : undefined;
    if (typeof value !== "string") return undefined;
    const match = /^([-+])?(\d+(?:\.\d+)?)$|^([-+])?((?:\d+(?:\.\d+)?(?:ms|s|m|h))+)$/.exec(value.trim());
    if (!match) return undefined;
    const sign = match[1] ?? match[3];
    if (sign === "-" && !signed) return undefined;
    let ms = 0;
    if (match[2] !== undefined) ms = Number(match[2]) * 1000;
    else {
        const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
        for (const part of (match[4] ?? "").matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)) {
            ms += Number(part[1]) * (units[part[2] ?? "s"] ?? 1000);
        }
    }
    return sign === "-" ? -ms : ms;
}

/**
 * Checks a parsed scenario document; returns it typed, with faults normalised to ms. Throws GateError
 * SCENARIO_INVALID listing every problem as `key.path: message`.
 */
export function validateScenario(document: unknown, source = "scenario"): ScenarioFile {
    const errors: string[] = [];
    if (!isObject(document)) {
        throw new GateError("SCENARIO_INVALID", `${source} has 1 error(s)`, {
            details: ["(root): must be a mapping with name, seed, lanes, mix and declarations"],
        });
    }
    for (const key of Object.keys(document)) {
        if (!ROOT_KEYS.includes(key)) errors.push(`${key}: unknown key (valid: ${ROOT_KEYS.join(", ")})`);
    }
    const name = document.name;
    if (typeof name !== "string" || name.trim() === "") errors.push("name: must be a non-empty string");
    if (!Number.isInteger(document.seed)) errors.push("seed: must be an integer");
    const lanes = document.lanes;
    const laneIds: string[] = [];
    if (!Array.isArray(lanes) || lanes.length === 0) errors.push("lanes: must be a non-empty list of lane ids");
    else {
        lanes.forEach((lane: unknown, index) => {
            if (typeof lane !== "string" || !LANE_ID.test(lane)) {
                errors.push(`lanes[${index}]: must be a lane id of 1-32 letters, digits, _ or -`);
            } else if (laneIds.includes(lane)) errors.push(`lanes[${index}]: lane ${lane} is listed twice`);
            else laneIds.push(lane);
        });
    }
    for (const key of ["trucksPerHour", "speed"] as const) {
        const value = document[key];
        if (value !== undefined && !(typeof value === "number" && Number.isFinite(value) && value > 0)) {
            errors.push(`${key}: must be a number > 0`);
        }
    }
    const mix: Partial<Record<TruckKind, number>> = {};
    if (!isObject(document.mix)) errors.push(`mix: must map truck kinds (${TRUCK_KINDS.join(", ")}) to counts`);
    else {
        for (const [kind, count] of Object.entries(document.mix)) {
            if (!(TRUCK_KINDS as readonly string[]).includes(kind)) {
                errors.push(`mix.${kind}: unknown truck kind (valid: ${TRUCK_KINDS.join(", ")})`);
            } else if (!(Number.isInteger(count) && (count as number) >= 0)) {
                errors.push(`mix.${kind}: must be a whole number of trucks ≥ 0`);
            } else mix[kind as TruckKind] = count as number;
        }
        if (Object.values(mix).reduce((sum, n) => sum + n, 0) === 0) errors.push("mix: must have at least one truck");
    }
    const needed = new Set(
        (Object.entries(mix) as [TruckKind, number][]).filter(([, n]) => n > 0).map(([kind]) => DECLARED_FOR[kind]),
    );
    const declaredNumbers = new Set<string>();
    if (!isObject(document.declarations)) {
        errors.push("declarations: must map each lane to its declared trucks (green, red, yellow, watched)");
    } else {
        for (const lane of Object.keys(document.declarations)) {
            if (!laneIds.includes(lane)) errors.push(`declarations.${lane}: not a lane of the scenario`);
        }
        for (const lane of laneIds) {
            const trucks = document.declarations[lane];
            if (!isObject(trucks)) {
                errors.push(`declarations.${lane}: missing; every lane needs its green and red trucks`);
                continue;
            }
            for (const key of Object.keys(trucks)) {
                if (!["green", "red", "yellow", "watched"].includes(key)) {
                    errors.push(`declarations.${lane}.${key}: unknown (valid: green, red, yellow, watched)`);
                }
            }
            for (const color of ["green", "red", "yellow", "watched"] as const) {
                const path = `declarations.${lane}.${color}`;
                if (trucks[color] === undefined) {
                    if (color === "green" || color === "red") errors.push(`${path}: is required`);
                    else if (needed.has(color)) {
                        errors.push(
                            `${path}: is required because the mix has ${color === "yellow" ? "yellow-channel" : "watch-listed"} trucks`,
                        );
                    }
                    continue;
                }
                const number = checkDeclaredTruck(trucks[color], path, errors);
                if (number !== undefined) declaredNumbers.add(number);
            }
        }
    }
    const unknown = document.unknownDeclaration;
    if (unknown !== undefined || (mix["unknown-declaration"] ?? 0) > 0) {
        if (typeof unknown !== "string" || !parseDeclarationNumber(unknown).ok) {
            errors.push(
                "unknownDeclaration: must be a valid 12-digit declaration number (check digit = sequence mod 7)",
            );
        } else if (declaredNumbers.has(unknown.trim())) {
            errors.push(`unknownDeclaration: ${unknown} is also a declared truck's number`);
        }
    }
    if (document.expect !== undefined) {
        if (!isObject(document.expect)) errors.push("expect: must map truck kinds to RELEASE, HOLD, INSPECT or REJECT");
        else {
            for (const [kind, decision] of Object.entries(document.expect)) {
                if (!(TRUCK_KINDS as readonly string[]).includes(kind))
                    errors.push(`expect.${kind}: unknown truck kind`);
                else if (!(EXPECTED_DECISIONS as readonly unknown[]).includes(decision)) {
                    errors.push(`expect.${kind}: must be one of ${EXPECTED_DECISIONS.join(", ")}`);
                }
            }
        }
    }
    if (document.watchList !== undefined) {
        if (!Array.isArray(document.watchList)) errors.push("watchList: must be a list of watch-list entries");
        else
            document.watchList.forEach((entry: unknown, i) => {
                validateWatchListEntry(entry, `watchList[${i}]`, errors);
            });
    }
    const faults = checkFaults(document.faults, laneIds, errors);
    const yard = document.yard === undefined ? undefined : checkYard(document.yard, document, laneIds, mix, errors);
    if (faults.some((fault) => fault.kind === "lane-closed") && document.yard === undefined)
        errors.push(
            "faults: lane-closed needs yard mode (a yard section): without a yard no truck is called to a lane",
        );
    if (errors.length > 0) {
        throw new GateError("SCENARIO_INVALID", `${source} has ${errors.length} error(s)`, { details: errors });
    }
    // Checked above, key by key: the document has the shape of a ScenarioFile.
    const scenario = { ...document, faults, yard } as unknown as ScenarioFile;
    if (document.faults === undefined) delete scenario.faults;
    if (yard === undefined) delete scenario.yard;
    return scenario;
}

/** A share between 0 and 1, or undefined (with the problem in `errors`) when it is not one. */
function checkShare(value: unknown, path: string, errors: string[]): number | undefined {
    if (typeof value === "number" && value >= 0 && value <= 1) return value;
    errors.push(`${path}: must be a share between 0 and 1`);
    return undefined;
}

/** A positive scenario duration, or `fallback` when absent. */
function checkDuration(value: unknown, path: string, fallback: number, errors: string[]): number {
    if (value === undefined) return fallback;
    const ms = parseScenarioDuration(value);
    if (ms !== undefined && ms > 0) return ms;
    errors.push(`${path}: must be a duration > 0 such as 90s or 10m`);
    return fallback;
}

/**
 * Checks the `yard` section: every lane in one group, each lane's declarations going the way its group does
 * (import: IN, export: OUT, by the declaration's type code), kinds the yard can follow, rates in time order.
 */
function checkYard(
    input: unknown,
    document: Obj,
    lanes: readonly string[],
    mix: Partial<Record<TruckKind, number>>,
    errors: string[],
): ScenarioYard | undefined {
    if (!isObject(input)) {
        errors.push("yard: must be a mapping {policy, groups, perishableShare, ...}");
        return undefined;
    }
    const before = errors.length;
    for (const key of Object.keys(input)) {
        if (!YARD_KEYS.includes(key)) errors.push(`yard.${key}: unknown key (valid: ${YARD_KEYS.join(", ")})`);
    }
    const policy = input.policy ?? "fifo";
    if (!(YARD_POLICIES as readonly unknown[]).includes(policy))
        errors.push(`yard.policy: must be one of ${YARD_POLICIES.join(", ")}`);
    const groups: Partial<Record<YardGroup, string[]>> = {};
    const grouped = new Map<string, YardGroup>();
    if (!isObject(input.groups)) errors.push("yard.groups: must map import and/or export to their lanes");
    else {
        for (const [group, list] of Object.entries(input.groups)) {
            const path = `yard.groups.${group}`;
            if (!(YARD_GROUPS as readonly string[]).includes(group)) {
                errors.push(`${path}: unknown group (valid: ${YARD_GROUPS.join(", ")})`);
                continue;
            }
            if (!Array.isArray(list) || list.length === 0) {
                errors.push(`${path}: must be a non-empty list of the scenario's lanes`);
                continue;
            }
            list.forEach((lane: unknown, i) => {
                if (typeof lane !== "string" || !lanes.includes(lane))
                    errors.push(`${path}[${i}]: must be one of the scenario's lanes (${lanes.join(", ")})`);
                else if (grouped.has(lane))
                    errors.push(`${path}[${i}]: lane ${lane} is already in ${grouped.get(lane)}`);
                // Checked against YARD_GROUPS above.
                else grouped.set(lane, group as YardGroup);
            });
            // Checked against YARD_GROUPS above.
            groups[group as YardGroup] = list.filter((lane): lane is string => typeof lane === "string");
        }
        for (const lane of lanes) if (!grouped.has(lane)) errors.push(`yard.groups: lane ${lane} is in no group`);
    }
    const declarations = isObject(document.declarations) ? document.declarations : {};
    for (const [lane, group] of grouped) {
        const trucks = declarations[lane];
        if (!isObject(trucks)) continue;
        for (const [color, truck] of Object.entries(trucks)) {
            const number = isObject(truck) && typeof truck.number === "string" ? truck.number : "";
            const parsed = parseDeclarationNumber(number);
            if (!parsed.ok) continue;
            const direction = directionOfTypeCode(parsed.typeCode);
            const wanted = group === "import" ? "IN" : "OUT";
            if (direction !== wanted && direction !== "EITHER")
                errors.push(
                    `declarations.${lane}.${color}.number: type ${parsed.typeCode} is not an ${group} declaration, and lane ${lane} is in the ${group} group`,
                );
        }
    }
    for (const [kind, count] of Object.entries(mix) as [TruckKind, number][]) {
        if (count > 0 && !YARD_KINDS.includes(kind))
            errors.push(
                `mix.${kind}: not in yard mode (its plates are shared between trucks; valid: ${YARD_KINDS.join(", ")})`,
            );
    }
    const perishableShare =
        input.perishableShare === undefined
            ? 0
            : (checkShare(input.perishableShare, "yard.perishableShare", errors) ?? 0);
    const unannouncedShare =
        input.unannouncedShare === undefined
            ? 0
            : (checkShare(input.unannouncedShare, "yard.unannouncedShare", errors) ?? 0);
    const rates: YardRate[] = [];
    if (input.rates !== undefined) {
        if (!Array.isArray(input.rates) || input.rates.length === 0)
            errors.push("yard.rates: must be a list of {from, trucksPerHour, perishableShare?}");
        else
            input.rates.forEach((raw: unknown, i) => {
                const path = `yard.rates[${i}]`;
                if (!isObject(raw)) {
                    errors.push(`${path}: must be a mapping {from, trucksPerHour, perishableShare?}`);
                    return;
                }
                for (const key of Object.keys(raw)) {
                    if (!RATE_KEYS.includes(key))
                        errors.push(`${path}.${key}: unknown (valid: ${RATE_KEYS.join(", ")})`);
                }
                const fromMs = parseScenarioDuration(raw.from ?? 0);
                if (fromMs === undefined) errors.push(`${path}.from: must be a scenario time such as 0, 90s or 2h`);
                else if (i === 0 && fromMs !== 0) errors.push(`${path}.from: the first rate starts at 0`);
                else if (i > 0 && fromMs <= (rates[rates.length - 1]?.fromMs ?? -1))
                    errors.push(`${path}.from: must be after the rate before it`);
                const perHour = raw.trucksPerHour;
                if (!(typeof perHour === "number" && Number.isFinite(perHour) && perHour > 0))
                    errors.push(`${path}.trucksPerHour: must be a number > 0`);
                const share =
                    raw.perishableShare === undefined
                        ? undefined
                        : checkShare(raw.perishableShare, `${path}.perishableShare`, errors);
                if (fromMs === undefined || !(typeof perHour === "number" && perHour > 0)) return;
                rates.push({ fromMs, trucksPerHour: perHour, ...(share !== undefined && { perishableShare: share }) });
            });
    } else
        rates.push({
            fromMs: 0,
            trucksPerHour: typeof document.trucksPerHour === "number" ? document.trucksPerHour : 60,
        });
    const noShowMs = checkDuration(input.noShow, "yard.noShow", 600_000, errors);
    const driveToLaneMs = checkDuration(input.driveToLane, "yard.driveToLane", 120_000, errors);
    const driveToExitMs = checkDuration(input.driveToExit, "yard.driveToExit", 60_000, errors);
    if (errors.length > before) return undefined;
    return {
        // Checked against YARD_POLICIES above.
        policy: policy as YardPolicy,
        groups,
        perishableShare,
        unannouncedShare,
        noShowMs,
        driveToLaneMs,
        driveToExitMs,
        rates,
    };
}

/** Checks one declared truck; returns its number when that is valid. */
function checkDeclaredTruck(input: unknown, path: string, errors: string[]): string | undefined {
    if (!isObject(input)) {
        errors.push(`${path}: must be a declared truck {number, tractor, trailer, container?, seal?, grossKg}`);
        return undefined;
    }
    for (const key of Object.keys(input)) {
        if (!TRUCK_KEYS.includes(key)) errors.push(`${path}.${key}: unknown (valid: ${TRUCK_KEYS.join(", ")})`);
    }
    let number: string | undefined;
    if (typeof input.number !== "string" || !parseDeclarationNumber(input.number).ok) {
        errors.push(`${path}.number: must be a valid 12-digit declaration number, quoted`);
    } else number = input.number.trim();
    for (const key of ["tractor", "trailer"]) {
        if (typeof input[key] !== "string" || (input[key] as string).trim() === "") {
            errors.push(`${path}.${key}: must be a plate`);
        }
    }
    if (input.container !== undefined) {
        const parsed = typeof input.container === "string" ? parseContainerNumber(input.container) : undefined;
        if (!parsed?.ok || !parsed.checkDigitOk)
            errors.push(`${path}.container: must be an ISO 6346 container number with a valid check digit`);
    }
    if (input.seal !== undefined && (typeof input.seal !== "string" || input.seal.trim() === "")) {
        errors.push(`${path}.seal: must be a seal id`);
    }
    if (input.seal !== undefined && input.container === undefined) {
        errors.push(`${path}.seal: a seal is declared on a container: give the container too`);
    }
    if (!(typeof input.grossKg === "number" && input.grossKg > 0 && input.grossKg < 200_000)) {
        errors.push(`${path}.grossKg: must be the declared gross weight in kg (> 0)`);
    }
    return number;
}

function checkFaults(input: unknown, lanes: readonly string[], errors: string[]): ScenarioFault[] {
    if (input === undefined) return [];
    if (!Array.isArray(input)) {
        errors.push("faults: must be a list of {at, kind, ...}");
        return [];
    }
    const faults: ScenarioFault[] = [];
    input.forEach((raw: unknown, index) => {
        const path = `faults[${index}]`;
        if (!isObject(raw)) {
            errors.push(`${path}: must be a mapping {at, kind, for?, lane?, device?, by?}`);
            return;
        }
        const before = errors.length;
        for (const key of Object.keys(raw)) {
            if (!FAULT_KEYS.includes(key)) errors.push(`${path}.${key}: unknown (valid: ${FAULT_KEYS.join(", ")})`);
        }
        const kind = raw.kind as ScenarioFaultKind;
        if (!(SCENARIO_FAULT_KINDS as readonly unknown[]).includes(kind)) {
            errors.push(`${path}.kind: must be one of ${SCENARIO_FAULT_KINDS.join(", ")}`);
            return;
        }
        const atMs = parseScenarioDuration(raw.at);
        if (atMs === undefined) errors.push(`${path}.at: must be a scenario time such as 90s, 10m or 1h`);
        let forMs: number | undefined;
        if (raw.for !== undefined) {
            forMs = parseScenarioDuration(raw.for);
            if (kind === "clock-jump") errors.push(`${path}.for: a clock jump is a step; give by, not for`);
            else if (forMs === undefined || forMs <= 0) errors.push(`${path}.for: must be a duration > 0 such as 30s`);
        } else forMs = DEFAULT_FAULT_MS[kind];
        let byMs: number | undefined;
        if (kind === "clock-jump") {
            byMs = parseScenarioDuration(raw.by, true);
            if (byMs === undefined || byMs === 0)
                errors.push(`${path}.by: must be a non-zero signed duration such as 1h or -1h`);
        } else if (raw.by !== undefined) errors.push(`${path}.by: only a clock-jump has by`);
        if (raw.lane !== undefined && (typeof raw.lane !== "string" || !lanes.includes(raw.lane))) {
            errors.push(`${path}.lane: must be one of the scenario's lanes (${lanes.join(", ")})`);
        } else if (raw.lane === undefined && FAULT_NEEDS_LANE.has(kind)) {
            errors.push(`${path}.lane: ${kind} needs the lane whose device it hits`);
        }
        if (raw.device !== undefined && (typeof raw.device !== "string" || raw.device === "")) {
            errors.push(`${path}.device: must be a device id`);
        } else if (raw.device !== undefined && !FAULT_HITS_DEVICE.has(kind)) {
            errors.push(`${path}.device: only scale-unplugged and camera-reboot hit one device`);
        }
        if (errors.length > before || atMs === undefined) return;
        faults.push({
            kind,
            atMs,
            ...(forMs !== undefined && { forMs }),
            ...(typeof raw.lane === "string" && { lane: raw.lane }),
            ...(typeof raw.device === "string" && { device: raw.device }),
            ...(byMs !== undefined && { byMs }),
        });
    });
    return faults.sort((a, b) => a.atMs - b.atMs);
}

/** The decision a kind must get in this scenario. */
export function expectedDecision(scenario: ScenarioFile, kind: TruckKind): ExpectedDecision {
    return scenario.expect?.[kind] ?? DEFAULT_EXPECT[kind];
}

/** The same declaration's next amendment (the 12th digit + 1, at most 9). */
export function nextAmendment(number: string): string {
    const amendment = Number(number.charAt(11));
    return `${number.slice(0, 11)}${Math.min(9, amendment + 1)}`;
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
        if (!declared) throw new GateError("SCENARIO_INVALID", `no declarations for lane ${lane}`);
        const base = declared[DECLARED_FOR[kind]];
        if (!base) throw new GateError("SCENARIO_INVALID", `declarations.${lane}.${DECLARED_FOR[kind]} is missing`);
        // Within ±2 % of the declared gross, rounded to the scale's 10 kg division.
        const gross = Math.round((base.grossKg * (0.98 + rng() * 0.04)) / 10) * 10;
        const plan: TruckPlan = {
            index,
            lane,
            kind,
            tractor: kind === "wrong-plate" ? "29C-999.99" : kind === "tractor-mismatch" ? "29C-111.18" : base.tractor,
            trailer: kind === "wrong-plate" ? "29R-999.99" : kind === "trailer-mismatch" ? "29R-099.98" : base.trailer,
            declaration:
                kind === "unknown-declaration"
                    ? scenario.unknownDeclaration
                    : kind === "newer-amendment"
                      ? nextAmendment(base.number)
                      : base.number,
            ...(base.container !== undefined && { container: base.container }),
            ...(base.seal !== undefined && {
                seal: {
                    id: base.seal,
                    status: kind === "tampered-seal" ? ("TAMPERED" as const) : ("SEALED" as const),
                    ...(kind === "swapped-seal" && {
                        container:
                            base.container === SWAPPED_CONTAINER[0] ? SWAPPED_CONTAINER[1] : SWAPPED_CONTAINER[0],
                    }),
                },
            }),
            grossKg: kind === "overweight" ? Math.round((base.grossKg * 1.15) / 10) * 10 : gross,
            expect: expectedDecision(scenario, kind),
            rpm: kind === "radiation-norm" ? "norm" : kind === "radiation-alarm" ? "alarm" : "clean",
        };
        if (plan.expect === "INSPECT") plan.xray = kind === "xray-suspicious" ? "suspicious" : "clear";
        return plan;
    });
}

/**
 * When each truck arrives at its lane, in ms of scenario time: a Poisson process per lane at
 * `trucksPerHour` (exponential gaps), from its own seeded stream so the trucks planned stay the same.
 * Indexed like the plan.
 */
export function planArrivals(scenario: ScenarioFile, plan: readonly TruckPlan[]): number[] {
    const rng = seededRng((scenario.seed ^ 0x5eed) >>> 0);
    const meanGapMs = 3_600_000 / (scenario.trucksPerHour ?? 60);
    const clock = new Map<string, number>();
    return plan.map((truck) => {
        // 1 - rng() is in (0, 1], so the logarithm is finite.
        const at = (clock.get(truck.lane) ?? 0) - meanGapMs * Math.log(1 - rng());
        clock.set(truck.lane, at);
        return Math.round(at);
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
    /**
     * Where the driver can see the gate (a test beside it): resolves with the decision the gate made for
     * this truck. The truck then waits for its barrier only when released, however long a loaded machine
     * takes, instead of guessing from holdWaitMs.
     */
    awaitDecision?: (truck: TruckPlan) => Promise<string>;
    signal?: AbortSignal;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** How long a released truck waits for its barrier to start opening when the driver knows the decision. */
const BARRIER_WAIT_MS = 30_000;

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
        await kit.seal.read({
            sealId: truck.seal.id,
            type: "GPS",
            status: truck.seal.status,
            batteryPct: 80,
            ...(truck.seal.container !== undefined && { container: truck.seal.container }),
        });
    kit.scanner.scan(truck.declaration);
    if (truck.container) kit.scanner.scan(truck.container);
    if (truck.kind === "device-dropout") {
        await kit.scaleLink.unplug();
    } else {
        await kit.scale.driveOn(truck.grossKg, { rampMs: 200, settleMs: 100 });
    }
    const decision = options.awaitDecision ? await options.awaitDecision(truck) : undefined;
    const wait =
        decision === undefined
            ? truck.kind === "device-dropout"
                ? options.dropoutWaitMs
                : options.holdWaitMs
            : decision === "RELEASE"
              ? BARRIER_WAIT_MS
              : 0;
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
