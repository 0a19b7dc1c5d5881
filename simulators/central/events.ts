/**
 * Central's checks on an incoming GateEvent: its shape as protocol v1 defines it, that it belongs to the
 * gate whose path it was posted to, and that its hash is the chain hash the edge computed
 * (src/core/canonical.ts). Plus reject rules a test or technician sets to make central refuse events.
 */

import { createHash } from "node:crypto";
import { canonicalEnvelope, canonicalJson } from "../../src/core/canonical.ts";
import { GateError } from "../../src/core/errors.ts";

/** Events matching every given list are rejected with `reason`. A rule with no list matches every event. */
export interface RejectRule {
    types?: string[];
    ids?: string[];
    laneIds?: string[];
    reason: string;
}

/** An event that passed the checks, with the bytes central stores. */
export interface CheckedEvent {
    id: string;
    seq: number;
    laneId: string | null;
    type: string;
    hash: string;
    /** The event as stored: JSON of the whole event (hash first, then the canonical hashed part). */
    json: string;
}

export type CheckResult = { ok: true; event: CheckedEvent } | { ok: false; id: string; reason: string };

const ENVELOPE_KEYS: ReadonlySet<string> = new Set([
    "id",
    "gateId",
    "seq",
    "laneId",
    "type",
    "occurredAt",
    "recordedAt",
    "deviceId",
    "data",
    "prevHash",
    "hash",
]);
const HEX64 = /^[0-9a-f]{64}$/;
// ISO 8601 with a time and an offset, as the edge writes it (toISOString); a date alone is no timestamp.
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

function isObject(value: unknown): value is Record<string, unknown> {
    return typeof value === "object" && value !== null && !Array.isArray(value);
}

function optionalString(value: unknown): value is string | undefined {
    return value === undefined || typeof value === "string";
}

/**
 * Checks one event posted to gate `gateId`. Unknown top-level members are refused: they would be covered
 * by the hash, but they mean the edge and central no longer agree on the v1 contract, which a test should
 * see at once rather than after a million events.
 */
export function checkEvent(raw: unknown, index: number, gateId: string): CheckResult {
    if (!isObject(raw)) return { ok: false, id: `#${index}`, reason: `events[${index}] is not an object` };
    const { id, seq, type, occurredAt, recordedAt, data, prevHash, hash, laneId, deviceId } = raw;
    if (typeof id !== "string" || id === "") {
        return { ok: false, id: `#${index}`, reason: `events[${index}].id must be a non-empty string` };
    }
    const fail = (reason: string): CheckResult => ({ ok: false, id, reason });
    for (const key in raw) if (!ENVELOPE_KEYS.has(key)) return fail(`unknown member ${JSON.stringify(key)}`);
    if (typeof seq !== "number" || !Number.isSafeInteger(seq) || seq < 1) return fail("seq must be a positive integer");
    if (typeof type !== "string" || type === "") return fail("type must be a non-empty string");
    if (raw.gateId !== gateId) {
        return fail(`gateId ${JSON.stringify(raw.gateId)} does not match the gate in the path (${gateId})`);
    }
    if (typeof occurredAt !== "string" || !TIMESTAMP.test(occurredAt)) {
        return fail("occurredAt must be an ISO 8601 timestamp");
    }
    if (typeof recordedAt !== "string" || !TIMESTAMP.test(recordedAt)) {
        return fail("recordedAt must be an ISO 8601 timestamp");
    }
    if (!isObject(data)) return fail("data must be an object");
    if (!optionalString(laneId)) return fail("laneId must be a string when present");
    if (!optionalString(deviceId)) return fail("deviceId must be a string when present");
    if (typeof prevHash !== "string" || !HEX64.test(prevHash)) return fail("prevHash must be 64 lowercase hex digits");
    if (typeof hash !== "string" || !HEX64.test(hash)) return fail("hash must be 64 lowercase hex digits");

    // The same bytes as canonicalJson(event without hash) (a unit test in the store pins the two together),
    // built without sorting the envelope's keys again: this runs once per event on the drain path.
    const hashed = canonicalEnvelope(
        { id, gateId, seq, laneId, type, occurredAt, recordedAt, deviceId, prevHash },
        canonicalJson(data),
    );
    const expected = createHash("sha256").update(prevHash).update(hashed).digest("hex");
    if (expected !== hash) return fail(`hash mismatch: the event's content does not give its hash (seq ${seq})`);
    return {
        ok: true,
        event: {
            id,
            seq,
            laneId: laneId ?? null,
            type,
            hash,
            // A whole event in JSON without a second stringify: the hashed part is already JSON of every
            // other member, so the hash goes in front of it. Parsing it gives the event back.
            json: `{"hash":${JSON.stringify(hash)},${hashed.slice(1)}`,
        },
    };
}

/** The first rule that matches, or undefined. */
export function matchRejectRule(rules: readonly RejectRule[], event: CheckedEvent): RejectRule | undefined {
    for (const rule of rules) {
        if (rule.types && !rule.types.includes(event.type)) continue;
        if (rule.ids && !rule.ids.includes(event.id)) continue;
        if (rule.laneIds && (event.laneId === null || !rule.laneIds.includes(event.laneId))) continue;
        return rule;
    }
    return undefined;
}

/** Validates a reject-rule list (PUT /admin/reject-rules or options). Throws SIMULATOR_USAGE with every problem. */
export function validateRejectRules(input: unknown): RejectRule[] {
    if (!Array.isArray(input)) {
        throw new GateError("SIMULATOR_USAGE", "reject rules must be a JSON array of {types?, ids?, laneIds?, reason}");
    }
    const errors: string[] = [];
    const rules: RejectRule[] = [];
    input.forEach((item: unknown, index) => {
        const path = `[${index}]`;
        const before = errors.length;
        if (!isObject(item)) {
            errors.push(`${path}: must be an object`);
            return;
        }
        for (const key of Object.keys(item)) {
            if (!["types", "ids", "laneIds", "reason"].includes(key)) errors.push(`${path}.${key}: unknown property`);
        }
        if (typeof item.reason !== "string" || item.reason.trim() === "") {
            errors.push(`${path}.reason: must be a non-empty string`);
        }
        for (const key of ["types", "ids", "laneIds"] as const) {
            const list = item[key];
            if (list === undefined) continue;
            if (!Array.isArray(list) || list.length === 0 || !list.every((v) => typeof v === "string" && v !== "")) {
                errors.push(`${path}.${key}: must be a non-empty list of strings`);
            }
        }
        if (errors.length > before) return;
        rules.push({
            reason: item.reason as string,
            ...(item.types !== undefined && { types: [...(item.types as string[])] }),
            ...(item.ids !== undefined && { ids: [...(item.ids as string[])] }),
            ...(item.laneIds !== undefined && { laneIds: [...(item.laneIds as string[])] }),
        });
    });
    if (errors.length > 0) {
        throw new GateError("SIMULATOR_USAGE", `${errors.length} invalid reject rule field(s): ${errors.join("; ")}`, {
            details: errors,
        });
    }
    return rules;
}
