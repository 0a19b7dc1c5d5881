/**
 * SMA (Scale Manufacturers Association) standard serial protocol, request/response (docs/devices.md "Weighbridge indicators"):
 * Sartorius/Minebea PR 52xx, Fairbanks, B-Tek, Cardinal. The host sends `<LF>W<CR>`; the indicator
 * answers `<LF><s><r><n><m><f><10-char weight><3-char unit><CR>` (20 bytes).
 *
 * Decode rules:
 * - s: ' ' none, 'Z' centre of zero, 'O' over capacity, 'U' under capacity; 'E' zero error, 'T' tare
 *   error and 'I' (initialising) carry no usable weight and are ignored with a reason. Others invalid.
 * - r: range digit. n: 'G'/'g' gross, 'N'/'n' net; 'T' is a tare value (reply to M), ignored because
 *   it is not what is on the deck. m: 'M' motion, ' ' stable. f: reserved, not checked.
 * - Weight: optional '-', digits, optional decimals, right-aligned in 10 characters. A field of dashes
 *   (stability timeout, or the E/T/I states) is ignored; with 'O'/'U' it is an over/under-capacity
 *   reading with `kg: 0`, as MT-SICS reports them. Any other field text is invalid.
 * - Unit: "kg", "lb", "t", "g" (space padded), converted to kg; others invalid.
 * - `<LF>?<CR>` (command not recognised), `<LF>!<CR>` (communication error), "XXX:" information
 *   lines (replies to A/B) and the diagnostics reply `<LF><r><e><c><m><CR>` (reply to D: 'R' RAM/ROM,
 *   'E' EEPROM, 'C' calibration error, space OK) are ignored with a reason. Every other length is invalid.
 */

import type { WeightValues } from "../src/core/events.ts";
import {
    bytesOf,
    CR,
    formatDecimal,
    isPrintableAscii,
    isWeightUnit,
    LF,
    latin1,
    parseDecimal,
    toKg,
    weight,
} from "./lib/codec.ts";
import type { DecodeResult, IndicatorInfo, ScaleCommandEffect, ScaleModel, ScaleState } from "./types.ts";

const FRAME_LENGTH = 20;

const IGNORED_STATUS: Readonly<Record<string, string>> = {
    E: "zero error",
    T: "tare error",
    I: "indicator initialising",
};

function decode(frame: Uint8Array): DecodeResult<WeightValues> {
    const text = latin1(frame);
    if (text.charCodeAt(0) !== LF || text.charCodeAt(text.length - 1) !== CR || text.length < 3) {
        return { status: "invalid", reason: "not an LF ... CR frame" };
    }
    const body = text.slice(1, -1);
    if (!isPrintableAscii(body)) return { status: "invalid", reason: "non-printable byte" };
    if (body === "?") return { status: "ignored", reason: "indicator did not recognise the command" };
    if (body === "!") return { status: "ignored", reason: "indicator reports a communication error" };
    if (/^[A-Z]{3}:/.test(body)) return { status: "ignored", reason: "information line" };
    if (/^[R ][E ][C ] $/.test(body)) {
        const faults = [body[0] === "R" && "RAM/ROM", body[1] === "E" && "EEPROM", body[2] === "C" && "calibration"];
        const named = faults.filter((fault) => fault !== false);
        return { status: "ignored", reason: `diagnostics: ${named.length === 0 ? "ok" : `${named.join(", ")} error`}` };
    }
    if (text.length !== FRAME_LENGTH) return { status: "invalid", reason: `expected 20 bytes, got ${text.length}` };

    const s = body.charAt(0);
    const range = body.charAt(1);
    const n = body.charAt(2);
    const m = body.charAt(3);
    const field = body.slice(5, 15).trim();
    const unit = body.slice(15, 18).trimEnd();
    const ignored = IGNORED_STATUS[s];
    if (ignored !== undefined) return { status: "ignored", reason: ignored };
    if (!" ZOU".includes(s)) return { status: "invalid", reason: "unknown status" };
    if (!/^[1-9]$/.test(range)) return { status: "invalid", reason: "range is not a digit" };
    if (n === "T") return { status: "ignored", reason: "tare value" };
    if (!"GgNn".includes(n)) return { status: "invalid", reason: "unknown gross/net flag" };
    if (m !== "M" && m !== " ") return { status: "invalid", reason: "unknown motion flag" };
    if (!isWeightUnit(unit)) return { status: "invalid", reason: "unknown unit" };
    const flags = {
        motion: m === "M",
        overload: s === "O",
        underload: s === "U",
        zero: s === "Z",
        net: n === "N" || n === "n",
    };
    if (/^-{2,}$/.test(field)) {
        if (s === "O" || s === "U") return { status: "reading", values: weight(0, { ...flags, stable: false }) };
        return { status: "ignored", reason: "no weight (dashes)" };
    }
    const decimal = parseDecimal(field);
    if (!decimal || field.startsWith("+")) return { status: "invalid", reason: "weight is not a number" };
    return {
        status: "reading",
        values: weight(toKg(decimal.mantissa, -decimal.decimals, unit, decimal.negative), flags),
    };
}

function frame(body: string): Uint8Array {
    return bytesOf(`\n${body}\r`);
}

/** The weight in at most 10 characters: fewer decimals if needed, clamped when even the integer is too wide. */
function fieldText(kg: number): string {
    for (let decimals = 3; decimals >= 0; decimals--) {
        const text = formatDecimal(kg, decimals);
        if (text.length <= 10) return text;
    }
    return kg < 0 ? "-999999999" : "9999999999";
}

/**
 * Status 'O'/'U' out of range, 'Z' at exactly 0, else ' '; 'N' when a tare is set (the display shows
 * net), lower case for the high-resolution replies (H, S, Q); up to 3 decimals, as the `xxxxxx.xxx`
 * field allows.
 */
function weightFrame(state: ScaleState, corrupt: boolean, highResolution = false): Uint8Array {
    const status = state.overload ? "O" : state.underload ? "U" : state.kg === 0 ? "Z" : " ";
    const net = (state.tareKg ?? 0) > 0 ? "N" : "G";
    let value = fieldText(state.kg);
    // A '#' inside the number breaks its syntax: SMA has no checksum to break.
    if (corrupt) value = `${value.slice(0, -1)}#`;
    const n = highResolution ? net.toLowerCase() : net;
    return frame(`${status}1${n}${state.motion ? "M" : " "} ${value.padStart(10)}kg `);
}

/** A reply with the weight field dashed: 'E' zero error, 'T' tare error, ' ' stability timeout (Q). */
function dashedFrame(status: "E" | "T" | " ", n: "G" | "g", motion: boolean): Uint8Array {
    return frame(`${status}1${n}${motion ? "M" : " "} ${"-".repeat(10)}kg `);
}

/** Zero is refused (status 'E') in motion and outside the zero-setting range. */
function zeroAccepted(state: ScaleState): boolean {
    return !state.motion && (state.zeroRange ?? "within") === "within";
}

/** Tare is refused (status 'T') in motion and for a gross weight below zero. */
function tareAccepted(state: ScaleState): boolean {
    return !state.motion && state.kg + (state.tareKg ?? 0) >= 0;
}

/** The lines of `B`, one per command after `A` (which answers the SMA level); END: ends the list. */
const ABOUT_LINES: readonly string[] = ["MFG:gate-edge simulator", "MOD:sma-scale", "REV:1.0", "END:"];

function commandBody(command: Uint8Array): string {
    const text = latin1(command);
    return text.startsWith("\n") && text.endsWith("\r") ? text.slice(1, -1) : text;
}

export const definition = {
    model: "sma-scale",
    vendor: "Scale Manufacturers Association (Sartorius, Minebea, Fairbanks, B-Tek, Cardinal)",
    description: "SMA standard serial protocol, request/response (<LF>W<CR> polled, 20-byte replies)",
    kind: "weight",
    transport: "serial",
    serialDefaults: { baudRate: 9600, dataBits: 8, parity: "none", stopBits: 1 },
    // 64 leaves room for the longer A/B information lines; weight replies are 20 bytes.
    framer: { type: "start-end", start: LF, end: CR, trailer: 0, maxLength: 64 },
    mode: "request",
    poll: { command: [LF, 0x57, CR], intervalMs: 200 },
    commandFramer: { type: "start-end", start: LF, end: CR, trailer: 0, maxLength: 16 },
    decode,
    /** The reply to W for this state. */
    encode(state: ScaleState, options?: { corrupt?: boolean }): Uint8Array {
        return weightFrame(state, options?.corrupt === true);
    },
    /**
     * The commands docs/devices.md "Weighbridge indicators" lists, as the Sartorius PR 52xx manuals answer them: W weight, H high
     * resolution, R / S the same repeated until the next command, Q high resolution once stable (dashes
     * in motion, as after its stability time-out), Z zero (the zeroed weight, or 'E' with dashes in
     * motion or outside the zero range), T tare (net 0, or 'T' with dashes in motion or below zero), M
     * the tare (n = 'T'), D diagnostics (no fault), A the SMA level and B the next "about" line.
     * Anything else answers `<LF>?<CR>`.
     */
    respond(command: Uint8Array, state: ScaleState, indicator?: IndicatorInfo): Uint8Array | undefined {
        switch (commandBody(command)) {
            case "W":
            case "R":
                return weightFrame(state, false);
            case "H":
            case "S":
                return weightFrame(state, false, true);
            case "Q":
                return state.motion ? dashedFrame(" ", "g", true) : weightFrame(state, false, true);
            case "Z":
                if (!zeroAccepted(state)) return dashedFrame("E", "G", state.motion);
                return weightFrame({ ...state, kg: 0, overload: false, underload: false }, false);
            case "T": {
                if (!tareAccepted(state)) return dashedFrame("T", "G", state.motion);
                const gross = state.kg + (state.tareKg ?? 0);
                return weightFrame({ ...state, kg: 0, tareKg: gross, overload: false, underload: false }, false);
            }
            case "M":
                return frame(` 1T  ${fieldText(state.tareKg ?? 0).padStart(10)}kg `);
            case "D":
                return frame("    ");
            case "A":
                return frame("SMA:2/1.0");
            case "B": {
                const line = Math.min(indicator?.aboutLine ?? 0, ABOUT_LINES.length - 1);
                return frame(ABOUT_LINES[line] ?? "END:");
            }
            default:
                return frame("?");
        }
    },
    /** Z and T change the display only when accepted; R and S repeat; A restarts and B advances the about list. */
    effect(command: Uint8Array, state: ScaleState): ScaleCommandEffect | undefined {
        switch (commandBody(command)) {
            case "Z":
                return zeroAccepted(state) ? "zero" : undefined;
            case "T":
                return tareAccepted(state) ? "tare" : undefined;
            case "R":
            case "S":
                return "repeat";
            case "A":
                return "about-restart";
            case "B":
                return "about-next";
            default:
                return undefined;
        }
    },
} satisfies ScaleModel;
