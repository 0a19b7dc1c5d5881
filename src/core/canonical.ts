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
        return `[${value.map((item) => (item === undefined ? "null" : canonicalJson(item))).join(",")}]`;
    }
    const entries = Object.entries(value as Record<string, unknown>)
        .filter(([, member]) => member !== undefined)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, member]) => `${JSON.stringify(key)}:${canonicalJson(member)}`).join(",")}}`;
}

export const GENESIS_HASH = "0".repeat(64);

/** hash = SHA-256(prevHash + canonical JSON of the event without its hash), hex. */
export function chainHash(prevHash: string, eventWithoutHash: object): string {
    return createHash("sha256").update(prevHash).update(canonicalJson(eventWithoutHash)).digest("hex");
}
