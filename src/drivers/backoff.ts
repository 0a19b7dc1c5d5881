/**
 * Exponential backoff with full jitter: the wait is random in [0, min(max, base·2^attempt)], so many
 * devices that lost the same switch do not all reconnect in the same millisecond.
 */
export class Backoff {
    private attempt = 0;

    constructor(
        private readonly baseMs = 250,
        private readonly maxMs = 10_000,
        private readonly random: () => number = Math.random,
    ) {}

    next(): number {
        const ceiling = Math.min(this.maxMs, this.baseMs * 2 ** this.attempt);
        this.attempt = Math.min(this.attempt + 1, 30);
        // Never 0: a peer that refuses at once must not turn this into a busy loop.
        return Math.max(this.baseMs / 4, Math.round(this.random() * ceiling));
    }

    reset(): void {
        this.attempt = 0;
    }
}
