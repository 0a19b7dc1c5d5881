/**
 * Mettler Toledo "Toledo continuous" output, also emulated by many clone indicators (docs/devices.md "Weighbridge indicators").
 * The indicator streams 18-byte frames unasked:
 *
 *     STX SWA SWB SWC wwwwww tttttt CR checksum
 *
 * The checksum is optional in the manual (a terminal setting): with the device option `checksum: false`
 * the model reads the 17-byte frame that ends at CR, and an 18-byte frame is refused, as any frame of the
 * wrong length. The factory setting, and the model without options, sends and requires the checksum.
 *
 * Decode rules:
 * - Bit 7 of every byte is masked first: the line is often 7E1 read as 8N1, so bit 7 is parity.
 * - Checksum: two's complement of the sum of the low 7 bits of STX..CR, compared on 7 bits (the
 *   checksum byte's own bit 7 is parity too). Verified against both vectors in docs/devices.md "Weighbridge indicators"
 * - SWA bits 0–2: decimal position (0 → ×100, 1 → ×10, 2 → units, 3..7 → 1..5 decimals).
 * - SWB: bit0 net, bit1 negative, bit2 out of range (overload, or underload when negative), bit3
 *   motion, bit4 kg (else lb), bit6 power-up not zeroed.
 * - SWC bits 0–2: 0 → unit from SWB, 1 → grams, 2 → tonnes (extended units); others are invalid
 *   because a value in an unknown unit would be wrong by a factor.
 * - Weight and tare are 6 digits; non-significant leading zeros may be spaces.
 * - The "always 1 / always 0" bits are not checked: clones set them differently (Liden LUW2001).
 *   SWB bit4 follows Mettler's polarity (kg = 1); a clone with the Liden polarity needs its own model.
 * - A power-up-not-zeroed frame is a reading with `stable: false`: its weight is not legal for trade,
 *   so it must never settle into a weighing.
 * - The frame has no centre-of-zero flag; `zero` is set when the displayed weight is exactly 0.
 * - `tareKg` is reported when the tare field is not zero.
 */

import type { WeightValues } from "../src/core/events.ts";
import { CR, fitDigits, latin1, STX, toKg, type WeightUnit, weight } from "./lib/codec.ts";
import type { DecodeResult, ModelOptions, ScaleModel, ScaleState } from "./types.ts";

/** STX through CR; the checksum, where the terminal sends one, follows. */
const BODY_LENGTH = 17;

function checksum(bytes: Uint8Array, end: number): number {
    let sum = 0;
    for (let i = 0; i < end; i++) sum += (bytes[i] ?? 0) & 0x7f;
    return -sum & 0x7f;
}

/** 6 digits, leading spaces allowed as zeros; undefined otherwise. */
function digits6(text: string): number | undefined {
    return /^ {0,5}\d+$/.test(text) && text.length === 6 ? Number(text.trim()) : undefined;
}

function unitOf(swb: number, swc: number): WeightUnit | undefined {
    switch (swc & 0x07) {
        case 0:
            return swb & 0x10 ? "kg" : "lb";
        case 1:
            return "g";
        case 2:
            return "t";
        default:
            return undefined;
    }
}

function decode(frame: Uint8Array, withChecksum: boolean): DecodeResult<WeightValues> {
    const length = BODY_LENGTH + (withChecksum ? 1 : 0);
    if (frame.length !== length) return { status: "invalid", reason: `expected ${length} bytes, got ${frame.length}` };
    const b = frame.map((byte) => byte & 0x7f);
    if (b[0] !== STX || b[16] !== CR) return { status: "invalid", reason: "no STX at 0 or CR at 16" };
    if (withChecksum && b[17] !== checksum(b, BODY_LENGTH)) return { status: "invalid", reason: "checksum mismatch" };
    const swa = b[1] ?? 0;
    const swb = b[2] ?? 0;
    const swc = b[3] ?? 0;
    const text = latin1(b);
    const shown = digits6(text.slice(4, 10));
    const tare = digits6(text.slice(10, 16));
    if (shown === undefined || tare === undefined)
        return { status: "invalid", reason: "weight or tare is not 6 digits" };
    const unit = unitOf(swb, swc);
    if (unit === undefined) return { status: "invalid", reason: `unsupported unit code ${swc & 0x07}` };
    const exponent = 2 - (swa & 0x07);
    const negative = (swb & 0x02) !== 0;
    const outOfRange = (swb & 0x04) !== 0;
    const motion = (swb & 0x08) !== 0;
    const notZeroed = (swb & 0x40) !== 0;
    const kg = toKg(shown, exponent, unit, negative);
    const flags: Partial<WeightValues> = {
        motion,
        stable: !motion && !notZeroed,
        overload: outOfRange && !negative,
        underload: outOfRange && negative,
        zero: kg === 0,
        net: (swb & 0x01) !== 0,
    };
    if (tare !== 0) flags.tareKg = toKg(tare, exponent, unit);
    return { status: "reading", values: weight(kg, flags) };
}

/**
 * Decimal-position code and mantissas for a state: the fewest decimals (up to 5) that show kg and tare
 * exactly in 6 digits, else ×10 or ×100 for weights above 999 999 (clamped beyond 99 999 900).
 */
function layout(state: ScaleState): { code: number; weight: number; tare: number } {
    const tareKg = state.tareKg ?? 0;
    const big = Math.max(Math.abs(state.kg), Math.abs(tareKg));
    if (big > 999_999) {
        const exponent = big > 9_999_990 ? 2 : 1;
        const scaleTo = (kg: number) => Math.min(999_999, Math.round(Math.abs(kg) / 10 ** exponent));
        return { code: 2 - exponent, weight: scaleTo(state.kg), tare: scaleTo(tareKg) };
    }
    const w = fitDigits(state.kg, 6, 5);
    const t = fitDigits(tareKg, 6, 5);
    // Weight and tare share one decimal position: take the finer one, then back off until both fit.
    let decimals = Math.max(w.decimals, t.decimals);
    while (decimals > 0 && Math.round(big * 10 ** decimals) > 999_999) decimals--;
    const scaleTo = (kg: number) => Math.min(999_999, Math.round(Math.abs(kg) * 10 ** decimals));
    return { code: 2 + decimals, weight: scaleTo(state.kg), tare: scaleTo(tareKg) };
}

function encode(state: ScaleState, withChecksum: boolean, corrupt: boolean): Uint8Array {
    const { code, weight: shown, tare } = layout(state);
    // Bit 5 is the constant 1 of every status word; SWA bit 3 = increment ×1.
    const swa = 0x20 | 0x08 | code;
    const net = (state.tareKg ?? 0) > 0;
    const swb =
        0x20 |
        0x10 |
        (net ? 0x01 : 0) |
        (state.kg < 0 || state.underload ? 0x02 : 0) |
        (state.overload || state.underload ? 0x04 : 0) |
        (state.motion ? 0x08 : 0);
    const swc = 0x20;
    const frame = new Uint8Array(BODY_LENGTH + (withChecksum ? 1 : 0));
    frame.set([STX, swa, swb, swc]);
    const digits = String(shown).padStart(6, "0") + String(tare).padStart(6, "0");
    for (let i = 0; i < 12; i++) frame[4 + i] = digits.charCodeAt(i);
    frame[16] = CR;
    if (withChecksum) {
        const sum = checksum(frame, BODY_LENGTH);
        frame[17] = corrupt ? (sum + 1) & 0x7f : sum;
    } else if (corrupt) {
        // No checksum to break: a letter among the weight digits breaks the syntax instead.
        frame[9] = 0x23;
    }
    return frame;
}

const DESCRIPTION =
    "Toledo continuous output: STX frames with status words (18 bytes with checksum, 17 without), streamed";

/** The model for a terminal that sends the checksum (`withChecksum`) or not. */
function configured(withChecksum: boolean): ScaleModel {
    const trailer = withChecksum ? 1 : 0;
    return {
        model: "toledo-continuous",
        vendor: "Mettler Toledo",
        description: DESCRIPTION,
        kind: "weight",
        transport: "serial",
        // 8N1 is the common setting; a 7E1 line read as 8N1 still decodes because bit 7 is masked.
        serialDefaults: { baudRate: 9600, dataBits: 8, parity: "none", stopBits: 1 },
        // maxLength counts the whole frame: STX through CR and the checksum after it, if any.
        // Many clones send 7E1; read as 8N1 the parity bit would hide STX and CR from the framer.
        framer: { type: "start-end", start: STX, end: CR, trailer, maxLength: BODY_LENGTH + trailer, byteMask: 0x7f },
        mode: "continuous",
        decode: (frame) => decode(frame, withChecksum),
        encode: (state, options) => encode(state, withChecksum, options?.corrupt === true),
    };
}

export const definition: ScaleModel = {
    ...configured(true),
    options: {
        checksum: {
            type: "boolean",
            default: true,
            description: "The terminal sends the checksum byte after CR (factory setting); false for 17-byte frames.",
        },
    },
    withOptions: (options: ModelOptions) => configured(options.checksum ?? true),
};
