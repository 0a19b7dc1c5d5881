import type { ScanValues, SealValues, WeightValues } from "../core/events.ts";

/**
 * Readings are events of meaning, not samples: these reducers turn a stream of decoded frames into the
 * few readings worth storing. All are pure over (state, input, now), so they are tested with plain numbers.
 */

export type ReduceOutcome<V> = { emit: true; values: V } | { emit: false; why: "unchanged" | "settling" | "duplicate" };

/**
 * A scale yields a reading when its settled weight or its motion/range state changes. A weight counts as
 * stable only when the indicator says so AND it stayed within `toleranceKg` for `settleMs` — some
 * indicators (and all Yaohua continuous frames) claim stability too early or not at all.
 */
export class WeightReducer {
    private candidateKg: number | undefined;
    private candidateSince = 0;
    private last: WeightValues | undefined;

    constructor(
        private readonly settleMs: number,
        private readonly toleranceKg: number,
    ) {}

    reduce(values: WeightValues, now: number): ReduceOutcome<WeightValues> {
        const inRange = !values.overload && !values.underload;
        const steadyFrame = values.stable && !values.motion && inRange;
        if (
            !steadyFrame ||
            this.candidateKg === undefined ||
            Math.abs(values.kg - this.candidateKg) > this.toleranceKg
        ) {
            this.candidateKg = values.kg;
            this.candidateSince = now;
        }
        if (steadyFrame && now - this.candidateSince < this.settleMs) return { emit: false, why: "settling" };
        return this.emitIfChanged({ ...values, stable: steadyFrame, motion: values.motion });
    }

    private emitIfChanged(values: WeightValues): ReduceOutcome<WeightValues> {
        const last = this.last;
        const changed =
            !last ||
            last.stable !== values.stable ||
            last.motion !== values.motion ||
            last.overload !== values.overload ||
            last.underload !== values.underload ||
            (values.stable && last.kg !== values.kg);
        if (!changed) return { emit: false, why: "unchanged" };
        this.last = values;
        return { emit: true, values };
    }
}

/**
 * Collapses repeats of the same read within a window (a scanner beeping twice, a seal reader hearing
 * the same seal from two antennas): the first is stored, the rest counted.
 */
export class DuplicateReducer<V> {
    private readonly seen = new Map<string, number>();
    private lastPrune = 0;

    constructor(
        private readonly windowMs: number,
        private readonly keyOf: (values: V) => string,
    ) {}

    reduce(values: V, now: number): ReduceOutcome<V> {
        const key = this.keyOf(values);
        const at = this.seen.get(key);
        if (at !== undefined && now - at < this.windowMs) return { emit: false, why: "duplicate" };
        // Map order is insertion order, so re-inserting keeps the oldest entries first for pruning.
        this.seen.delete(key);
        this.seen.set(key, now);
        // Prune at most once per window, so a busy device costs O(1) per read, not O(entries).
        if (now - this.lastPrune >= this.windowMs) {
            this.lastPrune = now;
            for (const [oldKey, when] of this.seen) {
                if (now - when < this.windowMs) break;
                this.seen.delete(oldKey);
            }
        }
        return { emit: true, values };
    }
}

export const scanKey = (values: ScanValues): string => `${values.symbology}\u0000${values.payload}`;

/** A seal read repeats only if its status, battery state or alerts changed. */
export const sealKey = (values: SealValues): string =>
    [values.sealId, values.status, values.battery?.low ?? "", [...values.alerts].sort().join(",")].join("\u0000");
