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

/**
 * The life of a sync loop: start() runs `run()` once in the background; stop() ends the current wait,
 * aborts `stopSignal` (which cancels a request in flight) and resolves when `run()` has returned. A wait
 * (`pause`) ends early on stop() and on `interruptPause()`.
 */
export abstract class SyncLoop {
    protected running = false;
    private loop: Promise<void> | undefined;
    private readonly stopController = new AbortController();
    private pauseController: AbortController | undefined;

    constructor(
        protected readonly timers: SyncTimers,
        private readonly onCrash: (err: unknown) => void,
    ) {}

    protected abstract run(): Promise<void>;

    /** Cancels what the loop has in flight when stop() is called. */
    protected get stopSignal(): AbortSignal {
        return this.stopController.signal;
    }

    start(): void {
        if (this.running) return;
        this.running = true;
        this.loop = this.run().catch(this.onCrash);
    }

    async stop(): Promise<void> {
        this.running = false;
        this.stopController.abort();
        this.pauseController?.abort();
        await this.loop;
    }

    protected async pause(ms: number): Promise<void> {
        if (!this.running) return;
        const controller = new AbortController();
        this.pauseController = controller;
        const onStop = (): void => controller.abort();
        this.stopController.signal.addEventListener("abort", onStop, { once: true });
        try {
            await this.timers.sleep(ms, controller.signal);
        } finally {
            this.stopController.signal.removeEventListener("abort", onStop);
            this.pauseController = undefined;
        }
    }

    protected interruptPause(): void {
        this.pauseController?.abort();
    }
}
