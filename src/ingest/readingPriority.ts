/**
 * Which of one device's events go to the event log as urgent — committed at once, ahead of the bulk input
 * queued before them, because a truck at a lane may be waiting on them (src/store/eventLog.ts). A device
 * that reads at a truck's pace gets that: up to `perSecond` readings a second, with bursts of `burst`.
 * Beyond it the device floods, and its readings go in bulk with every other device's input, so no device,
 * broken or hostile, can take the decision path's commits from the others.
 *
 * A device's events keep their order in the log: one goes urgent only while none of the device's earlier
 * events is still waiting in bulk (a presence loop's "occupied" must not be committed after its "clear").
 */
export class ReadingPriority {
    private tokens: number;
    private refilledAt: number | undefined;
    private bulkWaiting = 0;

    constructor(
        private readonly perSecond = 10,
        private readonly burst = 20,
    ) {
        this.tokens = burst;
    }

    /** Whether the device's next reading, read at `nowMs` (a monotonic clock), may go urgent. */
    mayBeUrgent(nowMs: number): boolean {
        if (this.refilledAt !== undefined)
            this.tokens = Math.min(this.burst, this.tokens + ((nowMs - this.refilledAt) / 1000) * this.perSecond);
        this.refilledAt = nowMs;
        if (this.bulkWaiting > 0 || this.tokens < 1) return false;
        this.tokens -= 1;
        return true;
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
