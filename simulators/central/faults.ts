/**
 * Fault injection for the central simulator: what can go wrong between a gate and central (slow links,
 * 5xx from a load balancer, rate limiting, torn connections, answers lost after the commit, outages), so
 * the edge's sync can be tested against each on purpose. A fault list is tried in order per request; the
 * first spec that applies to the route and fires decides what happens to that request.
 */
import { GateError } from "../../src/core/errors.ts";
import type { Rng } from "../random.ts";

export const FAULT_KINDS = [
    "latency",
    "status",
    "rateLimit",
    "reset",
    "lostResponse",
    "slowDrip",
    "unauthorized",
    "down",
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export const FAULT_TARGETS = ["events", "clearance", "all"] as const;
/** Which API routes a fault applies to. Admin routes are never faulted: they are how a test gets out. */
export type FaultTarget = (typeof FAULT_TARGETS)[number];

export const FAULT_STATUS_CODES = [500, 502, 503, 504] as const;
export type FaultStatusCode = (typeof FAULT_STATUS_CODES)[number];

interface FaultCommon {
    /** 0–1: the chance the fault fires on a matching request. Default 1. */
    probability?: number;
    /** Fire on at most this many requests, then expire. Default: never expires. */
    times?: number;
    /** Default "events". */
    on?: FaultTarget;
}

/** One fault. See the CLI help (`gate-edge simulate central --help`) for the compact text form. */
export type FaultSpec = FaultCommon &
    (
        | { kind: "latency"; ms: number }
        | { kind: "status"; code: FaultStatusCode; retryAfterS?: number }
        | { kind: "rateLimit"; retryAfterS: number }
        | { kind: "reset" }
        | { kind: "lostResponse" }
        | { kind: "slowDrip"; chunkBytes: number; intervalMs: number }
        | { kind: "unauthorized" }
        /** forMs: after firing, new connections are also dropped at once for this long (the outage lasts). */
        | { kind: "down"; forMs?: number }
    );

export type FaultCounts = Record<FaultKind, number>;

export function zeroFaultCounts(): FaultCounts {
    return Object.fromEntries(FAULT_KINDS.map((kind) => [kind, 0])) as FaultCounts;
}

type Obj = Record<string, unknown>;

function isObject(value: unknown): value is Obj {
    return typeof value === "object" && value !== null && !Array.isArray(value);
}

const KIND_KEYS: Record<FaultKind, readonly string[]> = {
    latency: ["ms"],
    status: ["code", "retryAfterS"],
    rateLimit: ["retryAfterS"],
    reset: [],
    lostResponse: [],
    slowDrip: ["chunkBytes", "intervalMs"],
    unauthorized: [],
    down: ["forMs"],
};
const COMMON_KEYS = ["kind", "probability", "times", "on"];

function checkNumber(
    spec: Obj,
    key: string,
    path: string,
    errors: string[],
    limits: { min: number; max?: number; integer?: boolean; required: boolean },
): void {
    const value = spec[key];
    if (value === undefined) {
        if (limits.required) errors.push(`${path}.${key}: is required`);
        return;
    }
    const ok =
        typeof value === "number" &&
        Number.isFinite(value) &&
        value >= limits.min &&
        (limits.max === undefined || value <= limits.max) &&
        (!limits.integer || Number.isInteger(value));
    if (!ok) {
        const what = limits.integer ? "an integer" : "a number";
        errors.push(
            `${path}.${key}: must be ${what} ≥ ${limits.min}${limits.max === undefined ? "" : ` and ≤ ${limits.max}`}`,
        );
    }
}

/** Checks one fault spec; pushes every problem as `path.key: message`. */
function checkFault(input: unknown, path: string, errors: string[]): FaultSpec | undefined {
    const before = errors.length;
    if (!isObject(input)) {
        errors.push(`${path}: must be an object with a kind`);
        return undefined;
    }
    const kind = input.kind as FaultKind;
    if (!FAULT_KINDS.includes(kind)) {
        errors.push(`${path}.kind: must be one of ${FAULT_KINDS.join(", ")}`);
        return undefined;
    }
    const allowed = [...COMMON_KEYS, ...KIND_KEYS[kind]];
    for (const key of Object.keys(input)) {
        if (!allowed.includes(key)) errors.push(`${path}.${key}: unknown for ${kind} (valid: ${allowed.join(", ")})`);
    }
    checkNumber(input, "probability", path, errors, { min: 0, max: 1, required: false });
    checkNumber(input, "times", path, errors, { min: 1, integer: true, required: false });
    if (input.on !== undefined && !FAULT_TARGETS.includes(input.on as FaultTarget)) {
        errors.push(`${path}.on: must be one of ${FAULT_TARGETS.join(", ")}`);
    }
    switch (kind) {
        case "latency":
            checkNumber(input, "ms", path, errors, { min: 0, max: 600_000, required: true });
            break;
        case "status":
            if (!FAULT_STATUS_CODES.includes(input.code as FaultStatusCode)) {
                errors.push(`${path}.code: must be one of ${FAULT_STATUS_CODES.join(", ")}`);
            }
            checkNumber(input, "retryAfterS", path, errors, { min: 0, integer: true, required: false });
            break;
        case "rateLimit":
            checkNumber(input, "retryAfterS", path, errors, { min: 0, integer: true, required: true });
            break;
        case "slowDrip":
            checkNumber(input, "chunkBytes", path, errors, { min: 1, integer: true, required: true });
            checkNumber(input, "intervalMs", path, errors, { min: 0, max: 60_000, required: true });
            break;
        case "down":
            checkNumber(input, "forMs", path, errors, { min: 0, max: 3_600_000, required: false });
            break;
        default:
            break;
    }
    // The checks above established the shape the union describes.
    return errors.length > before ? undefined : ({ ...input } as unknown as FaultSpec);
}

/**
 * Validates a fault list (the body of PUT /admin/faults, or options). Throws SIMULATOR_USAGE whose
 * details list every problem by its path, e.g. `[1].code: must be one of 500, 502, 503, 504`.
 */
export function validateFaults(input: unknown): FaultSpec[] {
    if (!Array.isArray(input)) throw new GateError("SIMULATOR_USAGE", "faults must be a JSON array of fault specs");
    const errors: string[] = [];
    const specs: FaultSpec[] = [];
    input.forEach((item: unknown, index) => {
        const spec = checkFault(item, `[${index}]`, errors);
        if (spec) specs.push(spec);
    });
    if (errors.length > 0) {
        throw new GateError("SIMULATOR_USAGE", `${errors.length} invalid fault spec field(s): ${errors.join("; ")}`, {
            details: errors,
        });
    }
    return specs;
}

/** The bare value a kind takes without a key name in the text form, e.g. `status:503`, `latency:200`. */
const POSITIONAL: Partial<Record<FaultKind, string>> = {
    latency: "ms",
    status: "code",
    rateLimit: "retryAfterS",
    down: "forMs",
};

/** Short key names accepted in the text form, for typing convenience at a terminal. */
const KEY_ALIASES: Record<string, string> = {
    p: "probability",
    retryAfter: "retryAfterS",
    chunk: "chunkBytes",
    interval: "intervalMs",
    for: "forMs",
};

export const FAULT_TEXT_HELP = [
    "latency:<ms>                      delay before handling (e.g. latency:300)",
    "status:<500|502|503|504>[:retryAfter=<s>]   answer that status, store nothing",
    "rateLimit:<s> | rateLimit:retryAfter=<s>    429 with Retry-After, store nothing",
    "reset                             destroy the socket after part of the body, store nothing",
    "lostResponse                      store the batch, then drop the connection without answering",
    "slowDrip:chunk=<bytes>:interval=<ms>        answer in small chunks, slowly",
    "unauthorized                      401 even with a good token",
    "down[:for=<ms>]                   drop every connection (and new ones for <ms>)",
    "any kind also takes :p=<0-1> (probability), :times=<n> (then expire), :on=events|clearance|all",
];

/**
 * Parses the compact text form used on the command line: `kind[:value][:key=value]...`, e.g.
 * `status:503:p=0.1`, `rateLimit:retryAfter=2`, `lostResponse:times=3`, `slowDrip:chunk=64:interval=50`.
 * Throws SIMULATOR_USAGE naming the valid forms.
 */
export function parseFaultText(text: string): FaultSpec {
    const [kindText = "", ...parts] = text.trim().split(":");
    const kind = kindText as FaultKind;
    const bad = (why: string) =>
        new GateError("SIMULATOR_USAGE", `--fault ${JSON.stringify(text)}: ${why}`, { details: FAULT_TEXT_HELP });
    if (!FAULT_KINDS.includes(kind)) throw bad(`unknown fault kind; valid: ${FAULT_KINDS.join(", ")}`);
    const spec: Obj = { kind };
    parts.forEach((part, index) => {
        const eq = part.indexOf("=");
        let key: string;
        let value: string;
        if (eq < 0) {
            const positional = POSITIONAL[kind];
            if (index !== 0 || positional === undefined) throw bad(`${JSON.stringify(part)} needs a key=value form`);
            key = positional;
            value = part;
        } else {
            key = part.slice(0, eq);
            value = part.slice(eq + 1);
            key = KEY_ALIASES[key] ?? key;
        }
        const allowed = ["probability", "times", "on", ...KIND_KEYS[kind]];
        if (!allowed.includes(key)) throw bad(`${key}: unknown for ${kind} (valid: ${allowed.join(", ")})`);
        if (key in spec) throw bad(`${key} is given twice`);
        if (key === "on") spec[key] = value;
        else {
            const number = value.trim() === "" ? Number.NaN : Number(value);
            if (!Number.isFinite(number)) throw bad(`${key} must be a number, got ${JSON.stringify(value)}`);
            spec[key] = number;
        }
    });
    try {
        const [valid] = validateFaults([spec]);
        return valid as FaultSpec;
    } catch (err) {
        throw bad((err as GateError).details.map((line) => line.replace(/^\[0\]\./, "")).join("; "));
    }
}

/** The compact text form of a spec, for log lines: the inverse of parseFaultText. */
export function describeFault(spec: FaultSpec): string {
    const parts: string[] = [spec.kind];
    for (const [key, value] of Object.entries(spec)) {
        if (key === "kind" || value === undefined) continue;
        parts.push(`${key}=${String(value)}`);
    }
    return parts.join(":");
}

interface ActiveFault {
    spec: FaultSpec;
    /** Firings left; undefined = unlimited. */
    left: number | undefined;
}

/**
 * The live fault list. pick() is called once per API request: it walks the list in order, and the first
 * spec that targets the route and wins its probability roll fires, is counted, loses one of its `times`
 * (a spec whose times are used up is removed), and is returned. `times` counts firings, not rolls, so
 * `{probability: 0.5, times: 2}` fires twice in all, whenever the dice say so.
 */
export class FaultPlan {
    private active: ActiveFault[] = [];
    readonly counts: FaultCounts = zeroFaultCounts();

    constructor(
        specs: readonly FaultSpec[] = [],
        private readonly rng: Rng = Math.random,
    ) {
        this.set(specs);
    }

    /** Replaces the list (validated); counts are kept. */
    set(specs: readonly FaultSpec[]): void {
        const valid = validateFaults(specs);
        this.active = valid.map((spec) => ({ spec, left: spec.times }));
    }

    /** The specs still active, with the firings each has left. */
    list(): Array<FaultSpec & { left?: number }> {
        return this.active.map(({ spec, left }) => ({ ...spec, ...(left !== undefined && { left }) }));
    }

    pick(route: "events" | "clearance"): FaultSpec | undefined {
        for (let i = 0; i < this.active.length; i++) {
            const fault = this.active[i] as ActiveFault;
            const on = fault.spec.on ?? "events";
            if (on !== "all" && on !== route) continue;
            const probability = fault.spec.probability ?? 1;
            // probability 1 never rolls, so a seeded sequence is not shifted by certain faults.
            if (probability < 1 && !(this.rng() < probability)) continue;
            if (fault.left !== undefined) {
                fault.left--;
                if (fault.left <= 0) this.active.splice(i, 1);
            }
            this.counts[fault.spec.kind]++;
            return fault.spec;
        }
        return undefined;
    }
}
