/**
 * Which of one device's events go to the event log as urgent — committed at once, ahead of the bulk input
 * queued before them, because a truck at a lane may be waiting on them (src/store/eventLog.ts). A device
 * that reads at a truck's pace gets that: up to `perSecond` readings a second (2), with bursts of `burst` (6:
 * a truck's plate reads, its scan, the PLC's loop and barrier changes). Beyond it — a scale's ramp, a reading
 * a frame; a babbling or hostile device — all its readings go in bulk with every other device's input until
 * it has kept that pace for a few seconds. Each urgent commit is a transaction and a disk sync of its own:
 * at ten a second per device the event loop was busy enough on a loaded machine that devices timed out as
 * silent (a loaded run of the fruit-season scenario), and a flood of them would cost the whole gate's ingest.
 *
 * A device's events keep their order in the log: one goes urgent only while none of the device's earlier
 * events is still waiting in bulk (a presence loop's "occupied" must not be committed after its "clear").
 */
export class ReadingPriority {
    private tokens: number;
    private refilledAt: number | undefined;
    private bulkWaiting = 0;

    constructor(
        private readonly perSecond = 2,
        private readonly burst = 6,
    ) {
        this.tokens = burst;
    }

    /** Whether the device's next reading, read at `nowMs` (a monotonic clock), may go urgent. */
    mayBeUrgent(nowMs: number): boolean {
        if (this.refilledAt !== undefined)
            this.tokens = Math.min(this.burst, this.tokens + ((nowMs - this.refilledAt) / 1000) * this.perSecond);
        this.refilledAt = nowMs;
        const urgent = this.bulkWaiting === 0 && this.tokens >= 1;
        // Every reading spends a token, urgent or not: a flood keeps the bucket empty (down to -burst, so the
        // device is trusted again once it has kept the pace for about twice the burst's length).
        this.tokens = Math.max(-this.burst, this.tokens - 1);
        return urgent;
    }

    /**
     * Appends `count` events through `append` as urgent or bulk, and keeps count of the bulk ones until they
     * are committed (or refused).
     */
    async send<T>(urgent: boolean, count: number, append: (urgent: boolean) => Promise<T>): Promise<T> {
        if (urgent) return append(true);
        this.bulkWaiting += count;
        try {
            return await append(false);
        } finally {
            this.bulkWaiting -= count;
        }
    }
}
