/**
 * E-seal reader publishing JSON over MQTT (docs/devices.md "E-seals and e-locks"): ISO 18185 container seals and Vietnam
 * customs GPS seals, normalised by the reader gateway. Under the device's topic prefix:
 *
 * - `seal` (or `seal/<sealId>`, which must match the payload): `{"msg":"read"?, sealId, type, status,
 *   battery?, alerts?, readerId?, rssi?, container?, ts}` → a reading. A message on the seal topic is a
 *   read unless it says otherwise: the normalised seal event of docs/devices.md "E-seals and e-locks" has no `msg` at all. One that
 *   says `"msg":"heartbeat"` is a heartbeat; any other `msg` (a gateway's "status", say) is ignored with
 *   its name as the reason: well-formed, but no seal read.
 * - `heartbeat`: `{"msg":"heartbeat", readerId, ts}` → ignored with reason "heartbeat".
 *
 * Decode rules (the payload comes from the network, so every field is checked):
 * - payloads over maxPayloadBytes, non-UTF-8, non-JSON, non-objects and unknown subtopics are invalid;
 * - sealId and readerId: 1–64 printable ASCII characters, no leading or trailing space;
 * - type ISO18185 | GPS | OTHER; status SEALED | OPENED | TAMPERED | UNKNOWN;
 * - battery `{pct?: 0–100, low: boolean}`; rssi a finite number (dBm);
 * - container: the container the seal reports it is fixed to (ISO 18185 readers report it), 1–32 printable
 *   characters, kept upper-cased without spaces, '-' or '/' even when it is no valid ISO 6346 number: the
 *   lane engine compares it with the declared pairing, and a garbled one must count as a mismatch, not be
 *   dropped (dropping the read would drop its seal status with it);
 * - alerts: at most 16 upper-case codes (`[A-Z][A-Z0-9_]*`, ≤ 32 chars); codes outside KNOWN_SEAL_ALERTS
 *   are kept, because readers add alerts before gate-edge knows them and dropping one could hide a tamper;
 * - ts: ISO 8601 date-time with Z or an offset (a local time would be ambiguous), becomes `observedAt`.
 * Extra keys are allowed and dropped: gateways add vendor fields (lat, lon, sealedAt) that the lane
 * engine does not use.
 */

import type { SealValues } from "../src/core/events.ts";
import type { DecodeResult, SealMessage, SealReaderModel } from "./types.ts";

/** Alert codes named in docs/devices.md "E-seals and e-locks"; others are accepted as long as they look like codes. */
export const KNOWN_SEAL_ALERTS: readonly string[] = [
    "ROUTE_DEVIATION",
    "OVERSTAY",
    "GPS_LOST",
    "DOOR_OPEN",
    "ROPE_CUT",
];

const MAX_PAYLOAD_BYTES = 4096;
const SEAL_TYPES: readonly string[] = ["ISO18185", "GPS", "OTHER"] satisfies SealValues["type"][];
const SEAL_STATUSES: readonly string[] = ["SEALED", "OPENED", "TAMPERED", "UNKNOWN"] satisfies SealValues["status"][];
const ISO_DATE_TIME =
    /^(\d{4})-(\d{2})-(\d{2})T([01]\d|2[0-3]):([0-5]\d):([0-5]\d)(?:\.\d{1,9})?(?:Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)$/;

type Decoded = DecodeResult<SealValues> & { observedAt?: number };
type Json = { [key: string]: unknown };

const utf8 = new TextDecoder("utf-8", { fatal: true });
const encoder = new TextEncoder();

function invalid(reason: string): Decoded {
    return { status: "invalid", reason };
}

function parseObject(payload: Uint8Array): Json | string {
    let value: unknown;
    try {
        value = JSON.parse(utf8.decode(payload));
    } catch {
        return "not UTF-8 JSON";
    }
    if (typeof value !== "object" || value === null || Array.isArray(value)) return "not a JSON object";
    return value as Json;
}

function isId(value: unknown): value is string {
    return typeof value === "string" && /^[\x21-\x7e](?:[\x20-\x7e]{0,62}[\x21-\x7e])?$/.test(value);
}

/** ms since epoch of a strict ISO 8601 date-time, or undefined (Date.parse alone rolls 30 Feb into March). */
function parseTimestamp(value: unknown): number | undefined {
    if (typeof value !== "string") return undefined;
    const m = ISO_DATE_TIME.exec(value);
    if (!m) return undefined;
    const year = Number(m[1]);
    const month = Number(m[2]);
    const day = Number(m[3]);
    const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
    if (month < 1 || month > 12 || day < 1 || day > daysInMonth) return undefined;
    const ms = Date.parse(value);
    return Number.isFinite(ms) ? ms : undefined;
}

function parseBattery(value: unknown): SealValues["battery"] | string {
    if (typeof value !== "object" || value === null || Array.isArray(value)) return "battery is not an object";
    const { pct, low } = value as Json;
    if (typeof low !== "boolean") return "battery.low is not a boolean";
    if (pct === undefined) return { low };
    if (typeof pct !== "number" || !Number.isFinite(pct) || pct < 0 || pct > 100) return "battery.pct is not 0-100";
    return { pct, low };
}

function parseAlerts(value: unknown): string[] | string {
    if (value === undefined) return [];
    if (!Array.isArray(value) || value.length > 16) return "alerts is not an array of at most 16";
    const alerts: string[] = [];
    for (const alert of value) {
        if (typeof alert !== "string" || !/^[A-Z][A-Z0-9_]{0,31}$/.test(alert))
            return "alert is not an upper-case code";
        alerts.push(alert);
    }
    return alerts;
}

function decodeRead(json: Json, topicSealId: string | undefined): Decoded {
    const { sealId, type, status, battery, alerts, readerId, rssi, container, ts } = json;
    if (!isId(sealId)) return invalid("sealId is not 1-64 printable characters");
    if (topicSealId !== undefined && topicSealId !== sealId) return invalid("sealId differs from the topic");
    if (typeof type !== "string" || !SEAL_TYPES.includes(type)) return invalid("unknown seal type");
    if (typeof status !== "string" || !SEAL_STATUSES.includes(status)) return invalid("unknown seal status");
    const observedAt = parseTimestamp(ts);
    if (observedAt === undefined) return invalid("ts is not an ISO 8601 date-time with zone");
    const parsedAlerts = parseAlerts(alerts);
    if (typeof parsedAlerts === "string") return invalid(parsedAlerts);
    const values: SealValues = {
        sealId,
        type: type as SealValues["type"],
        status: status as SealValues["status"],
        alerts: parsedAlerts,
    };
    if (battery !== undefined) {
        const parsed = parseBattery(battery);
        if (typeof parsed === "string") return invalid(parsed);
        values.battery = parsed;
    }
    if (readerId !== undefined) {
        if (!isId(readerId)) return invalid("readerId is not 1-64 printable characters");
        values.readerId = readerId;
    }
    if (rssi !== undefined) {
        if (typeof rssi !== "number" || !Number.isFinite(rssi)) return invalid("rssi is not a number");
        values.rssi = rssi;
    }
    if (container !== undefined) {
        if (typeof container !== "string" || !/^[\x20-\x7e]{1,32}$/.test(container)) {
            return invalid("container is not 1-32 printable characters");
        }
        const normalized = container.toUpperCase().replace(/[\s\-/]/g, "");
        if (normalized === "") return invalid("container is empty");
        values.containerNumber = normalized;
    }
    return { status: "reading", values, observedAt };
}

function decode(subtopic: string, payload: Uint8Array): Decoded {
    if (payload.length > MAX_PAYLOAD_BYTES) return invalid(`payload over ${MAX_PAYLOAD_BYTES} bytes`);
    const [head, topicSealId, ...rest] = subtopic.split("/");
    if (rest.length > 0 || (head === "heartbeat" && topicSealId !== undefined)) return invalid("unknown subtopic");
    if (head !== "seal" && head !== "heartbeat") return invalid("unknown subtopic");
    const json = parseObject(payload);
    if (typeof json === "string") return invalid(json);
    const msg = json.msg;
    if (msg !== undefined && (typeof msg !== "string" || !/^[a-z][a-z_-]{0,31}$/.test(msg)))
        return invalid("msg is not a lower-case message name");
    if (head === "seal" && (msg === undefined || msg === "read")) return decodeRead(json, topicSealId);
    if (msg === "heartbeat") return decodeHeartbeat(json);
    return head === "seal" ? { status: "ignored", reason: `${msg} message` } : invalid('msg is not "heartbeat"');
}

function decodeHeartbeat(json: Json): Decoded {
    if (!isId(json.readerId)) return invalid("readerId is not 1-64 printable characters");
    const observedAt = parseTimestamp(json.ts);
    if (observedAt === undefined) return invalid("ts is not an ISO 8601 date-time with zone");
    return { status: "ignored", reason: "heartbeat", observedAt };
}

export const definition = {
    model: "eseal-mqtt-json",
    vendor: "Generic e-seal reader gateway",
    description: "E-seal reader (ISO 18185 / GPS seals) publishing JSON reads and heartbeats over MQTT",
    kind: "seal",
    transport: "mqtt",
    maxPayloadBytes: MAX_PAYLOAD_BYTES,
    decode,
    /** Reads go to `seal`, heartbeats to `heartbeat`; the payload is the message as JSON. */
    encode(message: SealMessage): { subtopic: string; payload: Uint8Array } {
        return {
            subtopic: message.msg === "read" ? "seal" : "heartbeat",
            payload: encoder.encode(JSON.stringify(message)),
        };
    },
} satisfies SealReaderModel;
