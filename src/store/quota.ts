import { statSync } from "node:fs";

export type QuotaLevel = "ok" | "near" | "full";

export interface QuotaReading {
    level: QuotaLevel;
    usedBytes: number;
    quotaBytes: number;
}

/** From this share of the quota on, the gate alarms (and checkpoints the WAL to win space back). */
export const NEAR_QUOTA = 0.9;
const HYSTERESIS = 0.05;

/** Bytes the database occupies on disk: the file, its WAL and its shared-memory index. */
export function databaseBytes(path: string): number {
    let total = 0;
    for (const file of [path, `${path}-wal`, `${path}-shm`]) {
        try {
            total += statSync(file).size;
        } catch {
            // A WAL or shm file that does not exist (yet) takes no space.
        }
    }
    return total;
}

/**
 * The storage quota of docs/design.md "Storage": near it (≥ 90 %) the gate alarms; at it, lanes switch to
 * manual processing. Nothing is ever refused or dropped: every event central has not accepted stays, and
 * new readings are still stored (a truck's evidence matters more than the quota); the quota is the
 * technician's early warning, set well below the disk's real size.
 */
export function quotaLevel(usedBytes: number, quotaMb: number, previous: QuotaLevel = "ok"): QuotaReading {
    const quotaBytes = quotaMb * 1024 * 1024;
    // A level is left only HYSTERESIS below where it was entered: the WAL checkpoint an alarm triggers can
    // shrink the files a little, and that must not clear and raise the alarm again and again.
    const full = usedBytes >= quotaBytes * (previous === "full" ? 1 - HYSTERESIS : 1);
    const near = usedBytes >= quotaBytes * (previous === "ok" ? NEAR_QUOTA : NEAR_QUOTA - HYSTERESIS);
    const level: QuotaLevel = full ? "full" : near ? "near" : "ok";
    return { level, usedBytes, quotaBytes };
}
