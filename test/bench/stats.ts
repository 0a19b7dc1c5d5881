/**
 * Order statistics for the benchmarks and the SIGKILL log lines. One definition, so that a p50 in one
 * report means the same as a p50 in another: the nearest rank at or above q·n, NaN for no samples.
 */

export function ascending(values: readonly number[]): number[] {
    return [...values].sort((a, b) => a - b);
}

/** The q-quantile of values already sorted ascending. */
export function percentile(sorted: readonly number[], q: number): number {
    return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}

export function median(values: readonly number[]): number {
    return percentile(ascending(values), 0.5);
}

export function latencySummary(values: readonly number[]): { p50: number; p99: number; max: number } {
    const sorted = ascending(values);
    return { p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99), max: sorted.at(-1) ?? Number.NaN };
}
