import type { GateEvent } from "./events.ts";

/**
 * Jobs run one after another, in the order they were handed in: how a part that folds the event log (the
 * inspection cases, the yard) keeps live events, its catch-up and its API actions from interleaving.
 */
export class SerialQueue {
    private tail: Promise<void> = Promise.resolve();

    /** `onError` hears a failed job; the queue goes on with the next. */
    constructor(private readonly onError: (err: unknown) => void) {}

    /** Runs `job` after the jobs before it; its failure goes to onError. */
    enqueue(job: () => Promise<void> | void): void {
        this.tail = this.tail.then(job).catch(this.onError);
    }

    /** Runs `job` after the jobs before it and answers with its result (or its error) to the caller. */
    run<T>(job: () => Promise<T>): Promise<T> {
        const result = this.tail.then(job);
        this.tail = result.then(
            () => undefined,
            () => undefined,
        );
        return result;
    }

    /** Resolves when every job handed in so far has run. */
    settled(): Promise<void> {
        return this.tail;
    }
}

/** Reading the log after a cursor: a part's own access to the event log. */
export interface LogReader {
    headSeq(): number;
    read(afterSeq: number, limit: number): GateEvent[];
}

/**
 * Hands `handle` every event after `afterSeq` up to the log's head at the call, in seq order, `chunk` at a time
 * (a long log is never read into memory at once).
 */
export async function forEachEventAfter(
    log: LogReader,
    afterSeq: number,
    chunk: number,
    handle: (event: GateEvent) => Promise<void> | void,
): Promise<void> {
    const head = log.headSeq();
    let after = afterSeq;
    while (after < head) {
        const events = log.read(after, chunk);
        if (events.length === 0) break;
        for (const event of events) await handle(event);
        after = events.at(-1)?.seq ?? head;
    }
}

/**
 * A part's catch-up after a restart, in two passes over the log after its cursor. First its own events are
 * folded into its table, to the log's end: the last run may have committed a consequence and been killed
 * before folding it. Acting on the cause again before that fold would store the consequence a second time,
 * and the stored one, folded after the newer, would be skipped by seq: the table would no longer be the fold
 * of its log. Then every event is acted on, each step checking the table as the log has it.
 */
export async function catchUpFoldingFirst(
    log: LogReader,
    afterSeq: number,
    chunk: number,
    part: { isOwn(event: GateEvent): boolean; fold(event: GateEvent): void; handle(event: GateEvent): Promise<void> },
): Promise<void> {
    await forEachEventAfter(log, afterSeq, chunk, (event) => {
        if (part.isOwn(event)) part.fold(event);
    });
    await forEachEventAfter(log, afterSeq, chunk, (event) => part.handle(event));
}
