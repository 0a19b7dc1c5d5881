import { chainHash, GENESIS_HASH } from "../core/canonical.ts";
import type { Db } from "./db.ts";
import { type EventRow, hashedPart, rowToEvent } from "./eventLog.ts";

export interface ChainReport {
    ok: boolean;
    events: number;
    headSeq: number;
    /** The first event that does not fit the chain, and why. */
    firstBroken?: { seq: number; id: string; reason: string };
}

/**
 * Walks the whole event log in seq order and checks that seq has no gap, every event links to the hash of
 * the one before it, and every hash matches its content. Streams rows, so a large log needs little memory.
 */
export function verifyChain(db: Db): ChainReport {
    let expectedSeq: number | undefined;
    let prevHash = GENESIS_HASH;
    let count = 0;
    let headSeq = 0;
    for (const row of db.prepare("SELECT * FROM events ORDER BY seq").iterate() as IterableIterator<EventRow>) {
        count++;
        headSeq = row.seq;
        const broken = (reason: string): ChainReport => ({
            ok: false,
            events: count,
            headSeq,
            firstBroken: { seq: row.seq, id: row.id, reason },
        });
        // The first event of a pruned log may start later than 1; from there on, no gaps.
        if (expectedSeq !== undefined && row.seq !== expectedSeq) {
            return broken(`seq jumps from ${expectedSeq - 1} to ${row.seq}`);
        }
        if (expectedSeq === undefined && row.seq === 1 && row.prev_hash !== GENESIS_HASH) {
            return broken("the first event does not start from the genesis hash");
        }
        if (expectedSeq !== undefined && row.prev_hash !== prevHash) {
            return broken(`prevHash ${row.prev_hash.slice(0, 12)}… does not match the hash of event ${row.seq - 1}`);
        }
        let event: ReturnType<typeof rowToEvent>;
        try {
            event = rowToEvent(row);
        } catch {
            return broken("data is not valid JSON");
        }
        const recomputed = chainHash(row.prev_hash, hashedPart(event));
        if (recomputed !== row.hash) return broken("hash does not match the event's content");
        prevHash = row.hash;
        expectedSeq = row.seq + 1;
    }
    return { ok: true, events: count, headSeq };
}
