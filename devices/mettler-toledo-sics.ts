/**
 * Mettler Toledo MT-SICS, request/response (docs/devices.md "Weighbridge indicators"). The host sends `SI` and the indicator
 * answers one line ending in CR LF, e.g. `S S      24560 kg`. Lines are parsed by whitespace tokens
 * because field spacing differs between terminals.
 *
 * Decode rules:
 * - `S S <value> <unit>` is a stable reading; `S D <value> <unit>` a reading in motion.
 * - `S +` / `S -` are readings with `overload` / `underload` set, `kg: 0` and `stable: false`: the
 *   indicator sends no weight in range errors, and 0 with the flag is safer than NaN in JSON and sums.
 * - `S I` (busy), `ES`/`ET`/`EL` (errors), `Z A`/`Z I`/`Z +`/`Z -` (zero answers), `I4 A "<serial>"`
 *   (the answer to `@` reset, or to `I4`) and empty lines are ignored with a reason.
 * - Units kg, t, g and lb are converted to kg. Any other token sequence, unit or non-ASCII byte is invalid.
 * - The frame has no centre-of-zero flag; `zero` is set when the displayed weight is exactly 0.
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

const IGNORED: Readonly<Record<string, string>> = {
    "S I": "busy: command not executable now",
    ES: "indicator reports a syntax error",
    ET: "indicator reports a transmission error",
    EL: "indicator reports a logical error",
    "Z A": "zero done",
    "Z I": "zero not executed (busy or in motion)",
    "Z +": "zero refused: upper limit exceeded",
    "Z -": "zero refused: lower limit exceeded",
};

function decode(frame: Uint8Array): DecodeResult<WeightValues> {
    const text = latin1(frame);
    if (!isPrintableAscii(text.replace(/[\r\n\t]/g, " "))) return { status: "invalid", reason: "non-printable byte" };
    const tokens = text.trim().split(/\s+/);
    const joined = tokens.join(" ");
    if (joined === "") return { status: "ignored", reason: "empty line" };
    const ignored = IGNORED[joined];
    if (ignored !== undefined) return { status: "ignored", reason: ignored };
    // The serial number in quotes may hold spaces; the answer is still one line.
    if (/^I4 A "[\x20-\x21\x23-\x7e]*"$/.test(joined)) return { status: "ignored", reason: "serial number" };
    if (joined === "S +") return { status: "reading", values: weight(0, { overload: true, stable: false }) };
    if (joined === "S -") return { status: "reading", values: weight(0, { underload: true, stable: false }) };
    const [command, status, value, unit] = tokens;
    if (command !== "S" || (status !== "S" && status !== "D")) return { status: "invalid", reason: "unknown response" };
    if (tokens.length !== 4 || value === undefined || unit === undefined) {
        return { status: "invalid", reason: "weight response needs a value and a unit" };
    }
    const decimal = parseDecimal(value);
    if (!decimal) return { status: "invalid", reason: "weight is not a number" };
    if (!isWeightUnit(unit)) return { status: "invalid", reason: "unknown unit" };
    const kg = toKg(decimal.mantissa, -decimal.decimals, unit, decimal.negative);
    return { status: "reading", values: weight(kg, { motion: status === "D", zero: kg === 0 }) };
}

/** The answer to Z: refused in motion (`Z I`) and outside the zero range (`Z +` above, `Z -` below). */
function zeroAnswer(state: ScaleState): "Z A" | "Z I" | "Z +" | "Z -" {
    if (state.motion) return "Z I";
    if (state.zeroRange === "above") return "Z +";
    if (state.zeroRange === "below") return "Z -";
    return "Z A";
}

/** `S S` + value right-aligned in 10 + unit, as the Rust and Python SICS mocks print it. */
function weightLine(state: ScaleState, corrupt: boolean): string {
    if (state.overload) return corrupt ? "S #" : "S +";
    if (state.underload) return corrupt ? "S #" : "S -";
    let value = formatDecimal(state.kg, 3);
    // A '#' inside the number breaks its syntax: what a line with a flipped bit looks like.
    if (corrupt) value = `${value.slice(0, -1)}#`;
    return `S ${state.motion ? "D" : "S"} ${value.padStart(10)} kg`;
}

function line(text: string): Uint8Array {
    return bytesOf(`${text}\r\n`);
}

export const definition = {
    model: "mettler-toledo-sics",
    vendor: "Mettler Toledo",
    description: "MT-SICS request/response weighbridge indicator (SI polled, CR LF lines)",
    kind: "weight",
    transport: "serial",
    // Factory interface setting quoted for MT-SICS terminals.
    serialDefaults: { baudRate: 9600, dataBits: 8, parity: "none", stopBits: 1 },
    framer: { type: "delimiter", delimiter: [CR, LF], maxLength: 64 },
    mode: "request",
    // SI answers at once even in motion, so the driver sees motion instead of a silent busy indicator.
    poll: { command: [0x53, 0x49, CR, LF], intervalMs: 200 },
    commandFramer: { type: "delimiter", delimiter: [CR, LF], maxLength: 64 },
    decode,
    /** The answer to SI for this state: `S S`/`S D` weight line, or `S +`/`S -` out of range. */
    encode(state: ScaleState, options?: { corrupt?: boolean }): Uint8Array {
        return line(weightLine(state, options?.corrupt === true));
    },
    /**
     * S answers `S I` while in motion (it waits for stability); SI and SIR answer at once (SIR repeats,
     * which the simulator does by calling again). Z answers `Z A`, `Z I` in motion, `Z +` / `Z -` when
     * the load is above / below the zero range. `@` resets and answers `I4 A "<serial>"`, as I4 does.
     * Unknown commands answer `ES`.
     */
    respond(command: Uint8Array, state: ScaleState, indicator?: IndicatorInfo): Uint8Array | undefined {
        const text = latin1(command).trim();
        switch (text) {
            case "S":
                return line(state.motion && !state.overload && !state.underload ? "S I" : weightLine(state, false));
            case "SI":
            case "SIR":
                return line(weightLine(state, false));
            case "Z":
                return line(zeroAnswer(state));
            case "@":
            case "I4":
                return line(`I4 A "${indicator?.serialNumber ?? ""}"`);
            default:
                return line("ES");
        }
    },
    /** Z zeroes only when it answers `Z A`; `@` resets (ends SIR, clears the tare); SIR repeats. */
    effect(command: Uint8Array, state: ScaleState): ScaleCommandEffect | undefined {
        switch (latin1(command).trim()) {
            case "Z":
                return zeroAnswer(state) === "Z A" ? "zero" : undefined;
            case "@":
                return "reset";
            case "SIR":
                return "repeat";
            default:
                return undefined;
        }
    },
} satisfies ScaleModel;
