/**
 * Yaohua XK3190-A9(+) continuous output (tF=0), common on Asian truck scales (docs/devices.md "Weighbridge indicators"). 12 bytes:
 *
 *     STX sign d d d d d d decimals xorH xorL ETX
 *
 * Decode rules:
 * - sign is '+' or '-'; six weight digits, high to low; decimals is '0'..'4' (places from the right).
 * - Checksum: XOR of sign..decimals, i.e. "bytes 2..9" of the manual counted from 1 with STX as byte 1
 *   (0-based offsets 1..8). Counting from 0 (offsets 2..9) does not reproduce the manual's example:
 *   `02 2B 30 32 34 35 36 30 30 31 45 03` XORs to 0x1E over offsets 1..8 and 0x04 over 2..9.
 * - Each checksum nibble is sent as ASCII: +0x30 when ≤ 9, else +0x37 ('A'..'F', upper case only).
 * - The unit is kg: the frame carries none, and truck scales are set up in kg. An indicator set to
 *   tonnes needs its own model.
 * - The frame carries no motion, stability, range or zero flags. Readings say `stable: true,
 *   motion: false` because nothing in the frame says otherwise; the settle window in src/ (weight
 *   unchanged for a configured time) does the real stability work for this model. `zero` is set when
 *   the weight is exactly 0.
 */

import type { WeightValues } from "../src/core/events.ts";
import { ETX, fitDigits, latin1, STX, weight } from "./lib/codec.ts";
import type { DecodeResult, ScaleModel, ScaleState } from "./types.ts";

const FRAME_LENGTH = 12;

function xorOf(bytes: Uint8Array): number {
    let x = 0;
    for (let i = 1; i <= 8; i++) x ^= bytes[i] ?? 0;
    return x;
}

function nibbleChar(nibble: number): number {
    return nibble <= 9 ? nibble + 0x30 : nibble + 0x37;
}

function decode(frame: Uint8Array): DecodeResult<WeightValues> {
    if (frame.length !== FRAME_LENGTH) return { status: "invalid", reason: `expected 12 bytes, got ${frame.length}` };
    if (frame[0] !== STX || frame[11] !== ETX) return { status: "invalid", reason: "no STX at 0 or ETX at 11" };
    const x = xorOf(frame);
    if (frame[9] !== nibbleChar(x >> 4) || frame[10] !== nibbleChar(x & 0x0f)) {
        return { status: "invalid", reason: "checksum mismatch" };
    }
    const m = /^([+-])(\d{6})([0-4])$/.exec(latin1(frame.subarray(1, 9)));
    if (!m) return { status: "invalid", reason: "not a sign, 6 digits and a decimal count 0-4" };
    const [, sign, digits = "", decimals = "0"] = m;
    const magnitude = Number(digits) / 10 ** Number(decimals);
    const kg = sign === "-" && magnitude !== 0 ? -magnitude : magnitude;
    return { status: "reading", values: weight(kg, { stable: true, motion: false, zero: kg === 0 }) };
}

/**
 * The frame for this state. Motion, overload and underload cannot be expressed by this format and are
 * dropped; weights beyond 6 digits are clamped to 999999.
 */
function encode(state: ScaleState, options?: { corrupt?: boolean }): Uint8Array {
    const { mantissa, decimals } = fitDigits(state.kg, 6, 4);
    const text = `${state.kg < 0 ? "-" : "+"}${String(mantissa).padStart(6, "0")}${decimals}`;
    const frame = new Uint8Array(FRAME_LENGTH);
    frame[0] = STX;
    for (let i = 0; i < 8; i++) frame[1 + i] = text.charCodeAt(i);
    const x = xorOf(frame) ^ (options?.corrupt ? 0x01 : 0);
    frame[9] = nibbleChar(x >> 4);
    frame[10] = nibbleChar(x & 0x0f);
    frame[11] = ETX;
    return frame;
}

export const definition = {
    model: "yaohua-xk3190-a9",
    vendor: "Shanghai Yaohua",
    description: "XK3190-A9(+) continuous output (tF=0): 12-byte STX/ETX frames with XOR checksum",
    kind: "weight",
    transport: "serial",
    serialDefaults: { baudRate: 9600, dataBits: 8, parity: "none", stopBits: 1 },
    framer: { type: "start-end", start: STX, end: ETX, trailer: 0, maxLength: FRAME_LENGTH },
    mode: "continuous",
    decode,
    encode,
} satisfies ScaleModel;
