/**
 * Lane PLC over OPC UA (docs/devices.md "Lane PLC"): one PLC per lane (or one per gate with one prefix per lane) that
 * owns the barrier, the three induction loops, the entry and exit lights and the emergency stop. Every tag
 * lives in one namespace as a string node id prefixed by the lane, e.g. "ns=1;s=L1.Barrier.State".
 *
 * Tags and types:
 * - read (monitored): Barrier.State Int32 enum 0 closed / 1 opening / 2 open / 3 closing / 4 stopped /
 *   5 fault; Barrier.LimitOpen, Barrier.LimitClosed, Barrier.Fault, Loop.{Entry,Safety,Exit}.Occupied,
 *   EStop.Active Boolean; Barrier.FaultCode UInt32 (0 = no fault, otherwise the PLC's own code);
 *   PLC.Heartbeat UInt32 counter the PLC increments every second; PLC.Mode Int32 0 auto / 1 manual /
 *   2 maintenance.
 * - write (gate-edge's commands): Barrier.CmdOpen Boolean (pulse), Light.Entry and Light.Exit Int32
 *   (lightCodes), Watchdog.Heartbeat UInt32 counter gate-edge writes every second; the PLC fails safe
 *   (red, barrier closed unless the safety loop is occupied) when it stops changing.
 *
 * There is deliberately no Barrier.CmdClose in the write set: gate-edge never commands a close. The PLC
 * closes by itself once the exit loop clears (or on its auto-close timer), and only it can see the safety
 * loop fast enough to never bring the boom down on a vehicle.
 *
 * Decode rules (the value comes from the network, so its JS type and range are checked): booleans must be
 * booleans, enums integers inside their range (an unknown code is invalid, not "unknown": a PLC that
 * sends 7 for Barrier.State runs a program gate-edge was not configured for), counters integers in
 * 0–2³²−1. null/undefined (a Bad-quality value) is invalid. The write tags are never signals: a valid
 * value is `ignored`, a wrong one `invalid`.
 */
import type { DecodeResult, PlcDataType, PlcModel, PlcSignal, PlcTag, PlcTagSpec } from "./types.ts";

type BarrierState = Extract<PlcSignal, { tag: "Barrier.State" }>["state"];
type PlcMode = Extract<PlcSignal, { tag: "PLC.Mode" }>["mode"];

/** Barrier.State codes, index = code. */
export const BARRIER_STATES: readonly BarrierState[] = ["closed", "opening", "open", "closing", "stopped", "fault"];
/** PLC.Mode codes, index = code. */
export const PLC_MODES: readonly PlcMode[] = ["auto", "manual", "maintenance"];

export const LIGHT_CODES = { off: 0, red: 1, green: 2, yellow: 3, flashing: 4 } as const;

const UINT32_MAX = 0xffff_ffff;
const INT32_MIN = -0x8000_0000;
const INT32_MAX = 0x7fff_ffff;

function spec(tag: PlcTag, dataType: PlcDataType, access: PlcTagSpec["access"]): PlcTagSpec {
    return { nodeId: `ns=1;s={lane}.${tag}`, dataType, access };
}

const tags: Readonly<Record<PlcTag, PlcTagSpec>> = {
    "Barrier.CmdOpen": spec("Barrier.CmdOpen", "Boolean", "write"),
    "Barrier.State": spec("Barrier.State", "Int32", "read"),
    "Barrier.LimitOpen": spec("Barrier.LimitOpen", "Boolean", "read"),
    "Barrier.LimitClosed": spec("Barrier.LimitClosed", "Boolean", "read"),
    "Barrier.Fault": spec("Barrier.Fault", "Boolean", "read"),
    "Barrier.FaultCode": spec("Barrier.FaultCode", "UInt32", "read"),
    "Loop.Entry.Occupied": spec("Loop.Entry.Occupied", "Boolean", "read"),
    "Loop.Safety.Occupied": spec("Loop.Safety.Occupied", "Boolean", "read"),
    "Loop.Exit.Occupied": spec("Loop.Exit.Occupied", "Boolean", "read"),
    "Light.Entry": spec("Light.Entry", "Int32", "write"),
    "Light.Exit": spec("Light.Exit", "Int32", "write"),
    "EStop.Active": spec("EStop.Active", "Boolean", "read"),
    "PLC.Heartbeat": spec("PLC.Heartbeat", "UInt32", "read"),
    "PLC.Mode": spec("PLC.Mode", "Int32", "read"),
    "Watchdog.Heartbeat": spec("Watchdog.Heartbeat", "UInt32", "write"),
};

/** Every tag of the model, in declaration order. */
export const PLC_TAGS = Object.keys(tags) as PlcTag[];

/** The concrete node id of a tag for one lane prefix ("ns=1;s={lane}.X" → "ns=1;s=L1.X"). */
export function nodeIdFor(model: PlcModel, tag: PlcTag, lanePrefix: string): string {
    return model.tags[tag].nodeId.replaceAll("{lane}", lanePrefix);
}

function invalid(reason: string): DecodeResult<PlcSignal> {
    return { status: "invalid", reason };
}

function describe(value: unknown): string {
    if (value === null) return "null";
    if (typeof value === "number") return Number.isNaN(value) ? "NaN" : `number ${value}`;
    if (Array.isArray(value)) return "array";
    return typeof value;
}

/** Checks a value against the tag's data type; a reason string when it does not fit. */
function typeProblem(dataType: PlcDataType, value: unknown): string | undefined {
    if (dataType === "Boolean")
        return typeof value === "boolean" ? undefined : `expected Boolean, got ${describe(value)}`;
    if (typeof value !== "number" || !Number.isInteger(value)) return `expected ${dataType}, got ${describe(value)}`;
    const [min, max] = dataType === "Int32" ? [INT32_MIN, INT32_MAX] : [0, UINT32_MAX];
    return value < min || value > max ? `${dataType} out of range: ${value}` : undefined;
}

function decode(tag: PlcTag, value: unknown): DecodeResult<PlcSignal> {
    // `tag` is typed, but the runtime hands over whatever the driver was configured with.
    const tagSpec: PlcTagSpec | undefined = Object.hasOwn(tags, tag) ? tags[tag] : undefined;
    if (!tagSpec) return invalid(`unknown tag ${String(tag)}`);
    const problem = typeProblem(tagSpec.dataType, value);
    if (problem !== undefined) return invalid(`${tag}: ${problem}`);
    switch (tag) {
        case "Barrier.State": {
            const state = BARRIER_STATES[value as number];
            return state ? { status: "reading", values: { tag, state } } : invalid(`${tag}: unknown code ${value}`);
        }
        case "PLC.Mode": {
            const mode = PLC_MODES[value as number];
            return mode ? { status: "reading", values: { tag, mode } } : invalid(`${tag}: unknown code ${value}`);
        }
        case "Loop.Entry.Occupied":
        case "Loop.Safety.Occupied":
        case "Loop.Exit.Occupied":
            return { status: "reading", values: { tag, occupied: value as boolean } };
        case "Barrier.LimitOpen":
        case "Barrier.LimitClosed":
        case "Barrier.Fault":
        case "EStop.Active":
            return { status: "reading", values: { tag, active: value as boolean } };
        case "Barrier.FaultCode":
        case "PLC.Heartbeat":
            return { status: "reading", values: { tag, value: value as number } };
        case "Light.Entry":
        case "Light.Exit":
            if (!Object.values(LIGHT_CODES).includes(value as 0)) return invalid(`${tag}: unknown light code ${value}`);
            return { status: "ignored", reason: `${tag} is written by gate-edge` };
        case "Barrier.CmdOpen":
        case "Watchdog.Heartbeat":
            return { status: "ignored", reason: `${tag} is written by gate-edge` };
    }
}

export const definition = {
    model: "lane-plc-opcua",
    vendor: "Generic IEC 61131 lane PLC",
    description: "Lane PLC (barrier, induction loops, lights, e-stop) exposing the gate-edge tag set over OPC UA",
    kind: "plc",
    transport: "opcua",
    tags,
    lightCodes: LIGHT_CODES,
    decode,
} satisfies PlcModel;
