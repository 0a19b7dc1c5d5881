/**
 * Injectable time, so correlation windows and timeouts are testable with a fake clock.
 *
 * Two readings: `now()` is the wall clock, for what is recorded (event times, passage times); `monotonic()`
 * never jumps, for what is measured (duplicate windows, settle windows, lane timeouts), so a wall-clock
 * step of an hour (NTP after a long outage, a technician's mistake) neither holds a truck at once nor
 * drops an hour of repeat reads as duplicates.
 */
export interface Clock {
    /** ms since epoch. */
    now(): number;
    /** ms on a clock that only moves forward at the rate of real time; absent = now(). */
    monotonic?(): number;
}

/** The duration clock of `clock`: its monotonic reading when it has one, else its wall clock. */
export function monotonicOf(clock: Clock): number {
    return clock.monotonic ? clock.monotonic() : clock.now();
}

export const systemClock: Clock = { now: () => Date.now(), monotonic: () => performance.now() };

/** A clock tests move by hand. */
export class ManualClock implements Clock {
    private elapsed = 0;
    constructor(private current = Date.UTC(2026, 0, 1)) {}
    now(): number {
        return this.current;
    }
    monotonic(): number {
        return this.elapsed;
    }
    /** Time passes: both readings move. */
    advance(ms: number): void {
        this.current += ms;
        this.elapsed += Math.max(0, ms);
    }
    set(ms: number): void {
        this.advance(ms - this.current);
    }
    /** The wall clock is stepped (NTP, a technician); no time passes. */
    jump(ms: number): void {
        this.current += ms;
    }
}
