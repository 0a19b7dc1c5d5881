/**
 * A barcode / QR scanner on a serial line (or USB CDC-ACM), one read per line (docs/devices.md "Barcode and QR scanners").
 * Frames end at CR; scanners set to CR LF leave the LF at the start of the next frame.
 *
 * Decode rules:
 * - Leading and trailing LF, NUL and whitespace are stripped (left-over suffix bytes, padding).
 * - The payload must be valid UTF-8 (QR codes may carry Vietnamese text) without control characters:
 *   a control byte inside a read means line noise or a misconfigured suffix, so the read is invalid.
 * - An optional AIM symbology identifier `]` + letter + digit (e.g. `]Q1` QR, `]C0` Code 128, `]A0`
 *   Code 39) becomes `symbology`; without one the symbology is "unknown".
 * - An empty read is ignored. The payload is classified by classifyScanPayload (declaration number,
 *   container number or other).
 */

import type { ScanValues } from "../src/core/events.ts";
import { classifyScanPayload } from "../src/core/identifiers.ts";
import { CR } from "./lib/codec.ts";
import type { DecodeResult, ScannerModel } from "./types.ts";

const AIM = /^\][A-Za-z][0-9]/;
const utf8 = new TextDecoder("utf-8", { fatal: true });

/** C0 and C1 controls and DEL. The suffix is already cut off by the framer, so any of these is noise. */
function hasControl(text: string): boolean {
    for (let i = 0; i < text.length; i++) {
        const code = text.charCodeAt(i);
        if (code < 0x20 || (code >= 0x7f && code <= 0x9f)) return true;
    }
    return false;
}

/** Trims whitespace and NUL padding at both ends (String.prototype.trim keeps NUL). */
function trimPadding(text: string): string {
    const isPadding = (i: number) => text.charCodeAt(i) === 0 || /\s/.test(text.charAt(i));
    let start = 0;
    let end = text.length;
    while (start < end && isPadding(start)) start++;
    while (end > start && isPadding(end - 1)) end--;
    return text.slice(start, end);
}

function decode(frame: Uint8Array): DecodeResult<ScanValues> {
    let text: string;
    try {
        text = utf8.decode(frame);
    } catch {
        return { status: "invalid", reason: "not UTF-8" };
    }
    text = trimPadding(text);
    if (text === "") return { status: "ignored", reason: "empty read" };
    if (hasControl(text)) return { status: "invalid", reason: "control character in read" };
    const aim = AIM.exec(text);
    const symbology = aim ? aim[0] : "unknown";
    const payload = aim ? text.slice(3).trim() : text;
    if (payload === "") return { status: "ignored", reason: "empty read" };
    return { status: "reading", values: { symbology, payload, parsed: classifyScanPayload(payload) } };
}

const encoder = new TextEncoder();

export const definition = {
    model: "serial-barcode-scanner",
    vendor: "Generic (Honeywell, Zebra/Symbol, Datalogic, Newland compatible)",
    description: "Serial or USB-CDC barcode/QR scanner: one read per CR or CR LF line, optional AIM prefix",
    kind: "scan",
    transport: "serial",
    serialDefaults: { baudRate: 9600, dataBits: 8, parity: "none", stopBits: 1 },
    framer: { type: "delimiter", delimiter: [CR], maxLength: 512 },
    decode,
    /** The bytes of one read: AIM prefix (if given), payload as UTF-8, suffix (CR LF unless told CR). */
    encode(payload: string, options?: { suffix?: "CRLF" | "CR"; aimPrefix?: string }): Uint8Array {
        const suffix = options?.suffix === "CR" ? "\r" : "\r\n";
        return encoder.encode(`${options?.aimPrefix ?? ""}${payload}${suffix}`);
    },
} satisfies ScannerModel;
