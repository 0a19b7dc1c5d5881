import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { benchIngest } from "./ingest.ts";

const BENCHMARKS: Record<string, (out: (line: string) => void) => Promise<object>> = {
    ingest: benchIngest,
    // Loaded on demand: the device stacks (node-opcua) are heavy and not needed for the ingest run.
    devices: async (out) => (await import("./devices.ts")).benchDevices(out),
    lanes: async (out) => (await import("./lanes.ts")).benchLanes(out),
    sync: async (out) => (await import("./sync.ts")).benchSync(out),
    startup: async (out) => (await import("./startup.ts")).benchStartup(out),
};

/** `npm run bench -- <name>`: prints a table and writes JSON to bench/results/. */
export async function runBenchmark(
    name: string,
    out: (line: string) => void,
    err: (line: string) => void,
): Promise<number> {
    const bench = BENCHMARKS[name];
    if (!bench) {
        err(`unknown benchmark "${name}" (known: ${Object.keys(BENCHMARKS).join(", ")})`);
        return 2;
    }
    const result = await bench(out);
    const dir = join(process.cwd(), "bench", "results");
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `${name}-${new Date().toISOString().replace(/[:.]/g, "-")}.json`);
    writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
    out(`results written to ${file}`);
    return 0;
}
