import { GateError } from "../core/errors.ts";

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
