/** Injectable time, so correlation windows and timeouts are testable with a fake clock. */
export interface Clock {
    /** ms since epoch. */
    now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** A clock tests move by hand. */
export class ManualClock implements Clock {
    constructor(private current = Date.UTC(2026, 0, 1)) {}
    now(): number {
        return this.current;
    }
    advance(ms: number): void {
        this.current += ms;
    }
    set(ms: number): void {
        this.current = ms;
    }
}
