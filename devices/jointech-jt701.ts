/**
 * Jointech JT701 GPS e-lock (and the JT600 protocol family it shares), the electronic lock Vietnam
 * customs fixes to containers in transit. The lock dials in over GPRS/TCP and mixes two kinds of frame
 * on one connection (layout as open GPS servers such as Traccar decode it, bit meanings as Jointech's
 * JT701 protocol documents them):
 *
 * Binary position frame, `$` (0x24):
 *   `$` · lock id, 5 bytes BCD (10 digits) · [long format: protocol version] · version byte ·
 *   length u16 BE (bytes after the 10-byte header, index included) · records · index u8.
 *   The long format (JT701) is told by a zero high byte of the length at offset 8. Each record:
 *   date DDMMYY + time hhmmss (BCD, UTC) · latitude 8 BCD digits DDMMmmmm · longitude 9 BCD digits
 *   DDDMMmmmm + a flags nibble (bit0 fix valid, bit1 north, bit2 east) · speed (BCD) · course/2 ·
 *   long format only: odometer u32 · satellites · vehicle id u32 · status u16 · battery (0-100 %,
 *   0xFF charging) · cell id u16 · LAC u16 · GSM signal · protocol 0x17/0x19: geofence id, 3 reserved
 *   bytes, then vendor extensions up to the index.
 *   Status bits (0 = least significant): 0 located by cell, 1 entered geofence, 2 left geofence,
 *   3 steel rope cut, 4 vibration, 5 the lock waits for an answer, 6 rope inserted, 7 motor locked,
 *   8 unlock alarm, 9 wrong password five times, 10 unauthorised RFID card, 11 low battery,
 *   12 back cover opened, 13 back cover closed, 14 motor fault.
 *   Short-format frames come from JT600 trackers: a position without lock state.
 *
 * Text frames, `(` ... `)`, comma-separated, `(` `)` `,` `=` inside values escaped as 0x3D + 0x15 /
 * 0x14 / 0x11 / 0x00: `(id,P45,...)` a lock event (unlock by card, password or command) with position;
 * `(id,@JT)` a heartbeat; `(id,U01..U06,...)`, `(id,W01,...)` tracker reports; `(id,...,WLNET,5,...)`
 * peripheral sensors.
 *
 * Readings: a long-format binary frame → the seal's status from the status word (rope cut or back cover
 * opened → TAMPERED; motor locked with the rope in → SEALED; anything else → OPENED), battery, position
 * (with a valid fix) and alarms; a P45 event → UNKNOWN status (the event does not say how the lock ended
 * up; its next position frame does) with the LOCK_EVENT alert. The rest is `ignored`.
 *
 * Answers the lock waits for, sent once what the frame carried is stored: `(P35)` (protocol before 0x19)
 * or `(P69,0,<index>)` to a binary frame with status bit 5; `(P69,0,<index>)` to P45; `(S39)` to
 * U01-U03 and `(S20)` to U06. Without them the lock sends the same data again.
 */

import { GateError } from "../src/core/errors.ts";
import type { SealValues } from "../src/core/events.ts";
import type { DecodeResult, ElockModel, ElockReport, FrameCut } from "./types.ts";

const DOLLAR = 0x24;
const OPEN = 0x28;
const CLOSE = 0x29;
const ESCAPE = 0x3d;
/** Binary frames are at most a header, 19 re-uploaded positions and an index; text frames are shorter. */
const MAX_FRAME_BYTES = 1024;
const HEADER_BYTES = 10;
const POSITION_BYTES = 17;
const LONG_EXTRA_BYTES = 17;
const SHORT_EXTRA_BYTES = 10;
/** Protocol versions whose records end in a geofence id, 3 reserved bytes and vendor extensions. */
const EXTENDED_PROTOCOLS: readonly number[] = [0x17, 0x19];
/** The protocol version the simulator speaks (JT701 firmware of 2019 on). */
const SIMULATED_PROTOCOL = 0x19;

/** Status word bit of each alarm, as named in gate-edge's seal alerts (ROPE_CUT as in docs/devices.md "E-seals and e-locks"). */
export const JT701_ALARM_BITS: Readonly<Record<string, number>> = {
    GEOFENCE_ENTER: 1,
    GEOFENCE_EXIT: 2,
    ROPE_CUT: 3,
    VIBRATION: 4,
    UNLOCK_ALARM: 8,
    WRONG_PASSWORD: 9,
    ILLEGAL_RFID: 10,
    LOW_BATTERY: 11,
    BACK_COVER_OPEN: 12,
    MOTOR_FAULT: 14,
};
const STATUS = { cellLocated: 0, needsAnswer: 5, ropeInserted: 6, locked: 7, coverClosed: 13 } as const;
/** Alarms that mean someone got at the lock, not merely near it. */
const TAMPER_ALARMS: readonly string[] = ["ROPE_CUT", "BACK_COVER_OPEN"];

/** One position record of a binary frame. Lock fields only in the long (JT701) format. */
export interface Jt701Record {
    /** ms since epoch, or undefined when the lock's clock has no date yet (01/01/00). */
    at: number | undefined;
    lat: number;
    lon: number;
    gpsValid: boolean;
    status?: number;
    /** 0-100, or "charging". */
    battery?: number | "charging";
}

export interface Jt701BinaryFrame {
    lockId: string;
    longFormat: boolean;
    protocolVersion: number;
    records: Jt701Record[];
    index: number;
}

type Decoded = DecodeResult<SealValues> & { observedAt?: number };

const ascii = new TextDecoder("latin1");
const encoder = new TextEncoder();

function invalid(reason: string): Decoded {
    return { status: "invalid", reason };
}

function bit(value: number, index: number): boolean {
    return ((value >> index) & 1) === 1;
}

/** The decimal digits of BCD bytes, or undefined if a nibble is not a digit. */
function bcdDigits(bytes: Uint8Array): string | undefined {
    let digits = "";
    for (const byte of bytes) {
        const high = byte >> 4;
        const low = byte & 0x0f;
        if (high > 9 || low > 9) return undefined;
        digits += `${high}${low}`;
    }
    return digits;
}

/** ms since epoch of a UTC date and time, or undefined when the fields are no real date (or 01/01/2000). */
function utcTime(day: number, month: number, year2: number, hour: number, minute: number, second: number) {
    if (day === 1 && month === 1 && year2 === 0) return undefined;
    const ms = Date.UTC(2000 + year2, month - 1, day, hour, minute, second);
    const d = new Date(ms);
    const same =
        d.getUTCDate() === day &&
        d.getUTCMonth() === month - 1 &&
        d.getUTCHours() === hour &&
        d.getUTCMinutes() === minute &&
        d.getUTCSeconds() === second;
    return same ? ms : undefined;
}

/** DDMMmmmm (or DDDMMmmmm) as decimal degrees. */
function degreesOf(digits: string, degreeDigits: number): number {
    const degrees = Number(digits.slice(0, degreeDigits));
    const minutes = Number(digits.slice(degreeDigits)) / 10_000;
    return degrees + minutes / 60;
}

function isLongFormat(frame: Uint8Array): boolean {
    return frame[8] === 0;
}

function cut(buffer: Uint8Array): FrameCut {
    const first = buffer[0];
    if (first === undefined) return { type: "more" };
    if (first === DOLLAR) {
        if (buffer.length < HEADER_BYTES) return { type: "more" };
        const at = isLongFormat(buffer) ? 8 : 7;
        const length = (((buffer[at] ?? 0) << 8) | (buffer[at + 1] ?? 0)) + HEADER_BYTES;
        // A length no lock sends means this '$' was noise: drop it and look for the next frame.
        if (length > MAX_FRAME_BYTES) return { type: "skip", length: 1 };
        return buffer.length >= length ? { type: "frame", length } : { type: "more" };
    }
    if (first === OPEN) {
        const end = buffer.indexOf(CLOSE);
        if (end >= 0 && end < MAX_FRAME_BYTES) return { type: "frame", length: end + 1 };
        return buffer.length >= MAX_FRAME_BYTES ? { type: "skip", length: 1 } : { type: "more" };
    }
    let next = 1;
    while (next < buffer.length && buffer[next] !== DOLLAR && buffer[next] !== OPEN) next++;
    return { type: "skip", length: next };
}

/** Parses a binary frame, or says why it is no valid one. Exported for tests and tools. */
export function parseBinaryFrame(frame: Uint8Array): Jt701BinaryFrame | string {
    if (frame.length < HEADER_BYTES + 1 || frame[0] !== DOLLAR) return "not a binary frame";
    const lockId = bcdDigits(frame.subarray(1, 6));
    if (lockId === undefined) return "lock id is not BCD";
    const longFormat = isLongFormat(frame);
    const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
    const length = view.getUint16(longFormat ? 8 : 7) + HEADER_BYTES;
    if (length !== frame.length) return `length field says ${length} bytes, frame has ${frame.length}`;
    const protocolVersion = longFormat ? (frame[6] ?? 0) : 0;
    let at = longFormat ? HEADER_BYTES : 9;
    const last = frame.length - 1;
    const records: Jt701Record[] = [];
    // Short-format versions (JT600 trackers) follow each position with 10 bytes of their own data.
    const recordBytes = POSITION_BYTES + (longFormat ? LONG_EXTRA_BYTES : SHORT_EXTRA_BYTES);
    while (last - at >= recordBytes) {
        const time = bcdDigits(frame.subarray(at, at + 6));
        const lat = bcdDigits(frame.subarray(at + 6, at + 10));
        const lon = bcdDigits(frame.subarray(at + 10, at + 14));
        const lonLast = (frame[at + 14] ?? 0) >> 4;
        const flags = (frame[at + 14] ?? 0) & 0x0f;
        if (time === undefined || lat === undefined || lon === undefined || lonLast > 9)
            return "date, time or position is not BCD";
        const n = (from: number) => Number(time.slice(from, from + 2));
        const latitude = degreesOf(lat, 2);
        const longitude = degreesOf(`${lon}${lonLast}`, 3);
        if (latitude > 90 || longitude > 180) return "position out of range";
        const record: Jt701Record = {
            at: utcTime(n(0), n(2), n(4), n(6), n(8), n(10)),
            lat: bit(flags, 1) ? latitude : -latitude,
            lon: bit(flags, 2) ? longitude : -longitude,
            gpsValid: bit(flags, 0),
        };
        if (longFormat) {
            const extra = at + POSITION_BYTES;
            record.status = view.getUint16(extra + 9);
            const battery = frame[extra + 11] ?? 0;
            if (battery !== 0xff && battery > 100) return `battery ${battery} % is out of range`;
            record.battery = battery === 0xff ? "charging" : battery;
        }
        records.push(record);
        at += recordBytes;
        // These versions end their one record with a geofence id, 3 reserved bytes and vendor extensions.
        if (longFormat && EXTENDED_PROTOCOLS.includes(protocolVersion)) {
            if (last - at < 4) return "geofence block is cut short";
            break;
        }
    }
    if (records.length === 0) return "no position record";
    return { lockId, longFormat, protocolVersion, records, index: frame[last] ?? 0 };
}

function sealOfStatus(status: number): { status: SealValues["status"]; alerts: string[] } {
    const alerts = Object.entries(JT701_ALARM_BITS)
        .filter(([, index]) => bit(status, index))
        .map(([code]) => code);
    if (alerts.some((code) => TAMPER_ALARMS.includes(code))) return { status: "TAMPERED", alerts };
    const sealed = bit(status, STATUS.locked) && bit(status, STATUS.ropeInserted);
    return { status: sealed ? "SEALED" : "OPENED", alerts };
}

function decodeBinary(frame: Uint8Array): Decoded {
    const parsed = parseBinaryFrame(frame);
    if (typeof parsed === "string") return invalid(parsed);
    if (!parsed.longFormat) return { status: "ignored", reason: "tracker position without lock state" };
    // Re-uploaded frames carry several records; the latest tells how the lock is now.
    const latest = parsed.records.reduce((a, b) => ((b.at ?? 0) >= (a.at ?? 0) ? b : a));
    const { status, alerts } = sealOfStatus(latest.status ?? 0);
    // A frame without a fix (under a canopy, in the yard) is not the trip alert GPS_LOST, which the
    // monitoring centre raises for a lost signal on the road: the reading just carries no position.
    const lowBattery = alerts.includes("LOW_BATTERY");
    const values: SealValues = {
        sealId: parsed.lockId,
        type: "GPS",
        status,
        alerts,
        battery: latest.battery === "charging" ? { low: lowBattery } : { pct: latest.battery ?? 0, low: lowBattery },
        ...(latest.gpsValid && { position: { lat: round6(latest.lat), lon: round6(latest.lon) } }),
    };
    // A lock without a fix has no trustworthy clock either: gate-edge's receipt time stands then.
    const observedAt = latest.gpsValid ? latest.at : undefined;
    return observedAt === undefined ? { status: "reading", values } : { status: "reading", values, observedAt };
}

function round6(degrees: number): number {
    return Math.round(degrees * 1e6) / 1e6;
}

/** A text frame with its escapes undone, or undefined when an escape is not one the protocol defines. */
function unescapeText(frame: Uint8Array): string | undefined {
    let text = "";
    for (let i = 0; i < frame.length; i++) {
        const byte = frame[i] ?? 0;
        if (byte !== ESCAPE) {
            text += String.fromCharCode(byte);
            continue;
        }
        const replaced = { 21: "(", 20: ")", 17: ",", 0: "=" }[frame[++i] ?? -1];
        if (replaced === undefined) return undefined;
        text += replaced;
    }
    return text;
}

interface TextFrame {
    fields: string[];
    lockId: string;
    type: string;
}

function parseText(frame: Uint8Array): TextFrame | string {
    if (frame[0] !== OPEN || frame[frame.length - 1] !== CLOSE) return "not a text frame";
    // Peripheral frames carry binary sensor data after "WLNET,5,": only their id is read.
    const head = ascii.decode(frame.subarray(0, Math.min(frame.length, 40)));
    if (/^\(\d{10},\d+,\d+,WLNET,5,/.test(head))
        return { fields: head.slice(1).split(","), lockId: head.slice(1, 11), type: "WLNET" };
    const text = unescapeText(frame.subarray(1, frame.length - 1));
    if (text === undefined) return "unknown escape sequence";
    if (!/^[\x20-\x7e]*$/.test(text)) return "text frame has non-printable bytes";
    const fields = text.split(",");
    const [lockId = "", second = ""] = fields;
    if (!/^\d{10}$/.test(lockId)) return "lock id is not 10 digits";
    // One variant puts a sub-index before the type: (id,2,U09,...).
    const type = /^\d+$/.test(second) ? (fields[2] ?? "") : second;
    if (!/^(?:@JT|[A-Z]\d{2})$/.test(type)) return `unknown text frame type "${type.slice(0, 8)}"`;
    return { fields, lockId, type };
}

const DEGREES = /^\d{1,3}\.\d{1,8}$/;

function decodeP45(frame: TextFrame): Decoded {
    const [, , date = "", time = "", lat = "", ns = "", lon = "", ew = "", fix = "", ...rest] = frame.fields;
    if (!/^\d{6}$/.test(date) || !/^\d{6}$/.test(time)) return invalid("P45 date or time is not 6 digits");
    if (!DEGREES.test(lat) || !DEGREES.test(lon) || !/^[NS]$/.test(ns) || !/^[EW]$/.test(ew))
        return invalid("P45 position is malformed");
    if (fix !== "A" && fix !== "V") return invalid("P45 fix is not A or V");
    if (rest.length < 8 || !rest.slice(0, 8).every((field) => /^\d{1,10}$/.test(field)))
        return invalid("P45 event fields are malformed");
    const latitude = Number(lat);
    const longitude = Number(lon);
    if (latitude > 90 || longitude > 180) return invalid("P45 position out of range");
    const n = (s: string, from: number) => Number(s.slice(from, from + 2));
    const gpsValid = fix === "A";
    const values: SealValues = {
        sealId: frame.lockId,
        type: "GPS",
        status: "UNKNOWN",
        alerts: ["LOCK_EVENT"],
        ...(gpsValid && {
            position: { lat: ns === "S" ? -latitude : latitude, lon: ew === "W" ? -longitude : longitude },
        }),
    };
    const observedAt = gpsValid
        ? utcTime(n(date, 0), n(date, 2), n(date, 4), n(time, 0), n(time, 2), n(time, 4))
        : undefined;
    return observedAt === undefined ? { status: "reading", values } : { status: "reading", values, observedAt };
}

function decodeText(frame: Uint8Array): Decoded {
    const parsed = parseText(frame);
    if (typeof parsed === "string") return invalid(parsed);
    switch (parsed.type) {
        case "P45":
            return decodeP45(parsed);
        case "@JT":
            return { status: "ignored", reason: "heartbeat" };
        case "WLNET":
            return { status: "ignored", reason: "peripheral sensor report" };
        default:
            return { status: "ignored", reason: `${parsed.type} report carries no lock state` };
    }
}

function decode(frame: Uint8Array): Decoded {
    if (frame.length > MAX_FRAME_BYTES) return invalid(`frame over ${MAX_FRAME_BYTES} bytes`);
    if (frame[0] === DOLLAR) return decodeBinary(frame);
    if (frame[0] === OPEN) return decodeText(frame);
    return invalid("frame starts with neither '$' nor '('");
}

function acknowledge(frame: Uint8Array): Uint8Array | undefined {
    if (frame[0] === DOLLAR) {
        const parsed = parseBinaryFrame(frame);
        if (typeof parsed === "string" || !parsed.longFormat) return undefined;
        if (!parsed.records.some((record) => bit(record.status ?? 0, STATUS.needsAnswer))) return undefined;
        const answer = parsed.protocolVersion < 0x19 ? "(P35)" : `(P69,0,${parsed.index})`;
        return encoder.encode(answer);
    }
    const parsed = parseText(frame);
    if (typeof parsed === "string") return undefined;
    if (parsed.type === "P45") {
        if (decodeP45(parsed).status !== "reading") return undefined;
        return encoder.encode(`(P69,0,${parsed.fields[16] ?? "0"})`);
    }
    if (parsed.type === "U01" || parsed.type === "U02" || parsed.type === "U03") return encoder.encode("(S39)");
    if (parsed.type === "U06") return encoder.encode("(S20)");
    return undefined;
}

function bcd(value: number, digits: number): string {
    return String(Math.trunc(value)).padStart(digits, "0").slice(-digits);
}

/** Decimal degrees as DD(D)MMmmmm digits. */
function degreeDigits(degrees: number, degreeWidth: number): string {
    const absolute = Math.abs(degrees);
    let whole = Math.trunc(absolute);
    let minutes = Math.round((absolute - whole) * 60 * 10_000);
    if (minutes >= 600_000) {
        whole++;
        minutes -= 600_000;
    }
    return bcd(whole, degreeWidth) + bcd(minutes, 6);
}

/** A long-format binary position frame of protocol 0x19, as a JT701 sends it. */
function encode(report: ElockReport): Uint8Array {
    if (!/^\d{10}$/.test(report.lockId)) throw new GateError("FRAME_INVALID", "a JT701 lock id is 10 digits");
    let status = 0;
    for (const alarm of report.alarms) {
        const index = JT701_ALARM_BITS[alarm];
        if (index === undefined) throw new GateError("FRAME_INVALID", `JT701 has no alarm ${alarm}`);
        status |= 1 << index;
    }
    // Alarm data waits for the server's answer; routine reports do not.
    if (report.alarms.length > 0) status |= 1 << STATUS.needsAnswer;
    if (report.ropeInserted) status |= 1 << STATUS.ropeInserted;
    if (report.locked) status |= 1 << STATUS.locked;
    if (!report.alarms.includes("BACK_COVER_OPEN")) status |= 1 << STATUS.coverClosed;
    const at = report.at;
    const flags = (report.gpsValid ? 1 : 0) | (report.lat >= 0 ? 2 : 0) | (report.lon >= 0 ? 4 : 0);
    const digits =
        bcd(at.getUTCDate(), 2) +
        bcd(at.getUTCMonth() + 1, 2) +
        bcd(at.getUTCFullYear() % 100, 2) +
        bcd(at.getUTCHours(), 2) +
        bcd(at.getUTCMinutes(), 2) +
        bcd(at.getUTCSeconds(), 2) +
        degreeDigits(report.lat, 2) +
        degreeDigits(report.lon, 3) +
        flags.toString(16);
    const body = Buffer.alloc(POSITION_BYTES + LONG_EXTRA_BYTES + 4 + 1);
    Buffer.from(digits, "hex").copy(body, 0);
    // speed 0 (BCD) and course 0 at 15-16, odometer at 17, satellites at 21, vehicle id at 22
    body[21] = report.gpsValid ? 8 : 0;
    body.writeUInt16BE(status, 26);
    body[28] = report.battery === "charging" ? 0xff : Math.max(0, Math.min(100, Math.round(report.battery)));
    body[33] = 0x1d;
    body[body.length - 1] = report.index & 0xff;
    const header = Buffer.from([DOLLAR, ...Buffer.from(report.lockId, "hex"), SIMULATED_PROTOCOL, 0x14, 0, 0]);
    header.writeUInt16BE(body.length, 8);
    return new Uint8Array(Buffer.concat([header, body]));
}

export const definition = {
    model: "jointech-jt701",
    vendor: "Jointech (Shenzhen Joint Technology)",
    description: "JT701 GPS e-lock (JT600 protocol family) dialling in over TCP: binary positions and text events",
    kind: "seal",
    transport: "tcp-listen",
    maxFrameBytes: MAX_FRAME_BYTES,
    cut,
    decode,
    acknowledge,
    encode,
} satisfies ElockModel;
