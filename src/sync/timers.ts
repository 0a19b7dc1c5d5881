import { setTimeout as sleep } from "node:timers/promises";
import type { Clock } from "../core/clock.ts";

/**
 * Time for the sync loops: the clock they read and the waits they make. Production waits for real; a test
 * hands in a virtual scheduler, so a day of central outage with its backoff passes in milliseconds.
 */
export interface SyncTimers extends Clock {
    /** Resolves after `ms`, or as soon as `signal` aborts (never rejects). */
    sleep(ms: number, signal: AbortSignal): Promise<void>;
}

export function realTimers(clock: Clock): SyncTimers {
    return {
        now: () => clock.now(),
        sleep: async (ms, signal) => {
            if (signal.aborted) return;
            try {
                await sleep(ms, undefined, { signal });
            } catch {
                // Aborted: the caller was woken or stopped.
            }
        },
    };
}
