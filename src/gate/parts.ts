/**
 * How the gate's parts are taken down: an ordered list of steps, each run on its own, so that one which
 * fails (a bug in a part, a hung dependency) is logged and the rest still run — the database closed and
 * its claim released last whatever came before.
 */
import type { Logger } from "pino";
import { GateError } from "../core/errors.ts";

/** One step of the gate's stop list. */
export interface StopStep {
    name: string;
    run(): unknown;
}

export async function stopInOrder(steps: readonly StopStep[], log: Logger): Promise<void> {
    for (const step of steps) {
        try {
            await step.run();
        } catch (err) {
            log.error({ err, step: step.name }, "a part of the gate failed to stop; stopping the rest");
        }
    }
}

/** A part that exists only while the gate runs; asked for at another time, the gate answers STORE_CLOSED. */
export function whileRunning<T>(part: T | undefined, message?: string): T {
    if (part === undefined) throw new GateError("STORE_CLOSED", message);
    return part;
}
