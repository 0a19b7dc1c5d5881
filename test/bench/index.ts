import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { benchIngest } from "./ingest.ts";
import { benchKnobs, type Latest, machineInfo, readLatest, renderMarkdown, writeLatest } from "./report.ts";

const BENCHMARKS: Record<string, (out: (line: string) => void) => Promise<object>> = {
    ingest: benchIngest,
    // Loaded on demand: the device stacks (node-opcua) are heavy and not needed for the ingest run.
    devices: async (out) => (await import("./devices.ts")).benchDevices(out),
    lanes: async (out) => (await import("./lanes.ts")).benchLanes(out),
    sync: async (out) => (await import("./sync.ts")).benchSync(out),
    startup: async (out) => (await import("./startup.ts")).benchStartup(out),
    storage: async (out) => (await import("./storage.ts")).benchStorage(out),
    soak: async (out) => (await import("./soak.ts")).benchSoak(out),
    retention: async (out) => (await import("./retention.ts")).benchRetention(out),
    yard: async (out) => (await import("./yard.ts")).benchYard(out),
};

/** What `all` runs: the soak takes BENCH_SOAK_MINUTES (30 by default), so only on request. */
const ALL = ["ingest", "devices", "lanes", "sync", "startup", "storage"];

/**
 * `npm run bench [-- <name> | all [--with-soak]]`: runs one benchmark or all of them, prints their tables,
 * writes each result to bench/results/<name>-<time>.json, merges them into bench/results/latest.json and
 * regenerates BENCHMARKS.md from it.
 */
export async function runBenchmark(
    name: string,
    out: (line: string) => void,
    err: (line: string) => void,
): Promise<number> {
    // The command declares --with-soak; it is read from argv here so its action stays a one-liner.
    const withSoak = process.env.BENCH_SOAK === "1" || process.argv.includes("--with-soak");
    const names = name === "all" ? [...ALL, ...(withSoak ? ["soak"] : [])] : [name];
    for (const each of names) {
        if (!BENCHMARKS[each]) {
            err(`unknown benchmark "${each}" (known: all, ${Object.keys(BENCHMARKS).join(", ")})`);
            return 2;
        }
    }
    const dir = join(process.cwd(), "bench", "results");
    mkdirSync(dir, { recursive: true });
    const latestFile = join(dir, "latest.json");
    // latest.json's top-level machine: taken before the first benchmark, so the load average is not our own.
    const machine = machineInfo();
    const knobs = benchKnobs();
    let failed = 0;
    for (const each of names) {
        if (names.length > 1) out(`\n=== ${each} ===`);
        // Per benchmark too: in an `all` run the load average before each one is the one that explains it.
        const machineAtStart = machineInfo();
        let result: object;
        try {
            result = await BENCHMARKS[each]!(out);
        } catch (error) {
            // One broken benchmark must not cost the figures of the others in an `all` run.
            if (names.length === 1) throw error;
            err(`benchmark ${each} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
            failed++;
            continue;
        }
        const at = new Date().toISOString();
        const file = join(dir, `${each}-${at.replace(/[:.]/g, "-")}.json`);
        writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
        out(`results written to ${file}`);
        // Re-read per benchmark so a run that dies half-way still leaves the finished ones in the report.
        const latest: Latest = readLatest(latestFile);
        latest.updatedAt = at;
        latest.machine = machine;
        latest.results[each] = { at, machine: machineAtStart, knobs, result };
        writeLatest(latestFile, latest);
        writeFileSync(join(process.cwd(), "BENCHMARKS.md"), renderMarkdown(latest));
    }
    out(`report: ${latestFile} and BENCHMARKS.md`);
    return failed === 0 ? 0 : 1;
}
