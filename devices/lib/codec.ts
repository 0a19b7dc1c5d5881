/**
 * Small pure helpers shared by the device model files: byte/text conversion, decimal weight parsing
 * and formatting, units. Nothing here does I/O and nothing throws.
 */
import type { WeightValues } from "../../src/core/events.ts";

export const STX = 0x02;
export const ETX = 0x03;
export const LF = 0x0a;
export const CR = 0x0d;

/** One character per byte, so byte offsets and string offsets agree (serial protocols are ASCII). */
export function latin1(bytes: Uint8Array): string {
    let text = "";
    for (const byte of bytes) text += String.fromCharCode(byte);
    return text;
}

/** Inverse of latin1 for text the encoders build; characters above U+00FF are truncated to their low byte. */
export function bytesOf(text: string): Uint8Array {
    const out = new Uint8Array(text.length);
    for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i) & 0xff;
    return out;
}

/** True when every character is printable ASCII (space to tilde). */
export function isPrintableAscii(text: string): boolean {
    return /^[\x20-\x7e]*$/.test(text);
}

export type WeightUnit = "kg" | "t" | "g" | "lb";

export function isWeightUnit(text: string): text is WeightUnit {
    return text === "kg" || text === "t" || text === "g" || text === "lb";
}

/** A decimal number as an integer mantissa and a count of decimals, so scaling is one exact division. */
export interface Decimal {
    negative: boolean;
    mantissa: number;
    decimals: number;
}

/**
 * Strict decimal: optional sign, digits, optional '.' and digits. At most 15 significant digits so
 * the mantissa stays an exact integer. Anything else (exponents, "1.", ".5", garbage) is undefined.
 */
export function parseDecimal(text: string): Decimal | undefined {
    const m = /^([+-]?)(\d+)(?:\.(\d+))?$/.exec(text);
    if (!m) return undefined;
    const [, sign = "", whole = "", fraction = ""] = m;
    if (whole.length + fraction.length > 15) return undefined;
    return { negative: sign === "-", mantissa: Number(whole + fraction), decimals: fraction.length };
}

/** mantissa × 10^exponent with one exact multiplication or division, so decimal values come out exact. */
function scale(mantissa: number, exponent: number): number {
    return exponent >= 0 ? mantissa * 10 ** exponent : mantissa / 10 ** -exponent;
}

/** Kilograms from mantissa × 10^exponent in `unit`, negated when `negative`. Never answers -0. */
export function toKg(mantissa: number, exponent: number, unit: WeightUnit, negative = false): number {
    let kg: number;
    switch (unit) {
        case "kg":
            kg = scale(mantissa, exponent);
            break;
        case "t":
            kg = scale(mantissa, exponent + 3);
            break;
        case "g":
            kg = scale(mantissa, exponent - 3);
            break;
        case "lb":
            // Exact by definition of the international pound (1959).
            kg = scale(mantissa, exponent) * 0.45359237;
            break;
    }
    return negative && kg !== 0 ? -kg : kg + 0;
}

/**
 * Shortest decimal text of `value` with at most `maxDecimals` decimals (rounded beyond that), never in
 * exponent notation and never "-0".
 */
export function formatDecimal(value: number, maxDecimals: number): string {
    const v = Number.isFinite(value) ? value : 0;
    for (let d = 0; d < maxDecimals; d++) {
        const text = v.toFixed(d);
        if (Number(text) === v) return normaliseZero(text);
    }
    return normaliseZero(v.toFixed(maxDecimals));
}

function normaliseZero(text: string): string {
    return /^-0(?:\.0*)?$/.test(text) ? text.slice(1) : text;
}

/**
 * Integer mantissa and decimal count that show |kg| in a field of `digits` digits: the fewest decimals
 * (up to `maxDecimals`) that are exact, else the most decimals that fit, rounded. Values too large for
 * the field are clamped to all nines, because a display cannot show more.
 */
export function fitDigits(kg: number, digits: number, maxDecimals: number): { mantissa: number; decimals: number } {
    const abs = Number.isFinite(kg) ? Math.abs(kg) : 0;
    const max = 10 ** digits - 1;
    for (let d = 0; d <= maxDecimals; d++) {
        const mantissa = Math.round(abs * 10 ** d);
        if (mantissa > max)
            return d === 0
                ? { mantissa: max, decimals: 0 }
                : { mantissa: Math.round(abs * 10 ** (d - 1)), decimals: d - 1 };
        if (mantissa / 10 ** d === abs) return { mantissa, decimals: d };
    }
    return { mantissa: Math.min(max, Math.round(abs * 10 ** maxDecimals)), decimals: maxDecimals };
}

/** A complete WeightValues with the defaults every frame without a flag implies. */
export function weight(kg: number, flags: Partial<Omit<WeightValues, "kg">> = {}): WeightValues {
    const motion = flags.motion ?? false;
    const values: WeightValues = {
        kg: kg + 0,
        stable: flags.stable ?? !motion,
        motion,
        overload: flags.overload ?? false,
        underload: flags.underload ?? false,
        zero: flags.zero ?? false,
        net: flags.net ?? false,
    };
    if (flags.tareKg !== undefined) values.tareKg = flags.tareKg;
    return values;
}
