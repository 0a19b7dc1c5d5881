import { GateError } from "../core/errors.ts";
import type { Db } from "./db.ts";

/**
 * Work over many rows written once, run two ways: a generator that yields between bounded chunks, so the
 * command line finishes it in one go and the running gate gives its event loop a turn after each chunk.
 */
export type Chunked<T> = Generator<void, T, void>;

/**
 * Rows per chunk of a hash-chain walk: each row is read, parsed and hashed (~25 µs), so a chunk holds the
 * event loop for about 4 ms; a lane decision waits no longer than that behind an auditor's verify.
 */
export const CHAIN_CHUNK_ROWS = 128;

/** Runs chunked work to its end now, without yielding (the command line, a backup's check). */
export function finishNow<T>(work: Chunked<T>): T {
    for (;;) {
        const step = work.next();
        if (step.done) return step.value;
    }
}

/**
 * Runs chunked work with a turn of the event loop (setImmediate: timers, I/O and other requests run) after
 * each chunk. An aborted signal ends it between chunks with STORE_CLOSED (the gate is stopping).
 */
export async function finishYielding<T>(work: Chunked<T>, signal?: AbortSignal): Promise<T> {
    for (;;) {
        if (signal?.aborted) throw new GateError("STORE_CLOSED", "the gate stopped before the check finished");
        const step = work.next();
        if (step.done) return step.value;
        await new Promise<void>((resolve) => setImmediate(resolve));
    }
}

/** Marks the end of a full chunk in seqRowsInChunks: where a chunked walk yields. */
export const CHUNK_END: unique symbol = Symbol("chunk end");

/**
 * Every row of a seq-ordered table, in seq order, up to the head it had when the walk began,
 * CHAIN_CHUNK_ROWS at a time with CHUNK_END after each full chunk. It starts below any seq, so a tampered
 * row before seq 1 is read too. Rows come one by one, so a damaged page throws at the first row it hides;
 * a chunk is read to its end before CHUNK_END, so no iterator stays open across a turn of the event loop.
 */
export function* seqRowsInChunks<Row extends { seq: number }>(
    db: Db,
    table: "events" | "audit_log",
): Generator<Row | typeof CHUNK_END, void, void> {
    const { untilSeq } = db.prepare(`SELECT COALESCE(MAX(seq), 0) AS untilSeq FROM ${table}`).get() as {
        untilSeq: number;
    };
    const chunk = db.prepare(`SELECT * FROM ${table} WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT ?`);
    let afterSeq = Number.MIN_SAFE_INTEGER;
    for (;;) {
        let rows = 0;
        for (const row of chunk.iterate(afterSeq, untilSeq, CHAIN_CHUNK_ROWS) as IterableIterator<Row>) {
            rows++;
            afterSeq = row.seq;
            yield row;
        }
        if (rows < CHAIN_CHUNK_ROWS) return;
        yield CHUNK_END;
    }
}
