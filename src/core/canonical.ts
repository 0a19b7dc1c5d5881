import { createHash } from "node:crypto";

/**
 * Canonical JSON: object keys sorted, no whitespace, `undefined` members left out. Two processes that
 * hold the same event produce the same bytes, so the hash chain can be checked anywhere (central too).
 */
export function canonicalJson(value: unknown): string {
    if (value === null || typeof value !== "object") {
        if (typeof value === "number" && !Number.isFinite(value)) return "null";
        return JSON.stringify(value) ?? "null";
    }
    if (Array.isArray(value)) {
        let out = "[";
        for (let i = 0; i < value.length; i++) {
            if (i > 0) out += ",";
            out += value[i] === undefined ? "null" : canonicalJson(value[i]);
        }
        return `${out}]`;
    }
    // Sorted by UTF-16 code units (Array.prototype.sort's default), as any JS verifier would.
    const keys = Object.keys(value).sort();
    let out = "{";
    let first = true;
    for (const key of keys) {
        const member = (value as Record<string, unknown>)[key];
        if (member === undefined) continue;
        if (!first) out += ",";
        first = false;
        out += `${JSON.stringify(key)}:${canonicalJson(member)}`;
    }
    return `${out}}`;
}

export const GENESIS_HASH = "0".repeat(64);

/** hash = SHA-256(prevHash + canonical JSON of the event without its hash), hex. */
export function chainHash(prevHash: string, eventWithoutHash: object): string {
    return createHash("sha256").update(prevHash).update(canonicalJson(eventWithoutHash)).digest("hex");
}

/**
 * canonicalJson of an event envelope whose data is already canonical JSON: the same bytes, built without
 * walking and sorting the envelope again. Keys in sorted order; the unit tests pin it to canonicalJson.
 */
export function canonicalEnvelope(
    event: {
        deviceId?: string | undefined;
        gateId: string;
        id: string;
        laneId?: string | undefined;
        occurredAt: string;
        prevHash: string;
        recordedAt: string;
        seq: number;
        type: string;
    },
    dataJson: string,
): string {
    const device = event.deviceId === undefined ? "" : `"deviceId":${JSON.stringify(event.deviceId)},`;
    const lane = event.laneId === undefined ? "" : `"laneId":${JSON.stringify(event.laneId)},`;
    return (
        `{"data":${dataJson},${device}"gateId":${JSON.stringify(event.gateId)},"id":${JSON.stringify(event.id)},` +
        `${lane}"occurredAt":${JSON.stringify(event.occurredAt)},"prevHash":${JSON.stringify(event.prevHash)},` +
        `"recordedAt":${JSON.stringify(event.recordedAt)},"seq":${canonicalJson(event.seq)},"type":${JSON.stringify(event.type)}}`
    );
}

/** chainHash for an envelope whose data is already canonical JSON. */
export function chainHashOfEnvelope(
    prevHash: string,
    event: Parameters<typeof canonicalEnvelope>[0],
    dataJson: string,
): string {
    return createHash("sha256").update(prevHash).update(canonicalEnvelope(event, dataJson)).digest("hex");
}
