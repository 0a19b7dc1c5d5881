import type { Db } from "./db.ts";

/**
 * The first present seq recorded at or after `iso` (undefined when none is), by binary search over seq:
 * events has no index on time, and recorded_at grows with seq (the gate's clock at each commit). A clock
 * stepped back makes the answer approximate near the step, never wrong by more than the step.
 */
export function firstSeqAtOrAfter(db: Db, iso: string): number | undefined {
    const bounds = db.prepare("SELECT MIN(seq) AS low, MAX(seq) AS high FROM events").get() as {
        low: number | null;
        high: number | null;
    };
    if (bounds.low === null || bounds.high === null) return undefined;
    const atOrAfter = db.prepare("SELECT seq, recorded_at FROM events WHERE seq >= ? ORDER BY seq LIMIT 1");
    let low = bounds.low;
    let high = bounds.high;
    const last = atOrAfter.get(high) as { seq: number; recorded_at: string };
    if (last.recorded_at < iso) return undefined;
    while (low < high) {
        const middle = Math.floor((low + high) / 2);
        const row = atOrAfter.get(middle) as { seq: number; recorded_at: string };
        if (row.recorded_at >= iso) high = middle;
        else low = row.seq + 1;
    }
    return (atOrAfter.get(low) as { seq: number }).seq;
}
