import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg, totalmem } from "node:os";
import { dirname } from "node:path";

/**
 * The benchmark report (issue 7 item 5): bench/results/latest.json holds the last result of every
 * benchmark with the machine it ran on, and BENCHMARKS.md is regenerated from it, so a single benchmark run
 * replaces its own entry and keeps the others.
 */

export interface Machine {
    node: string;
    platform: string;
    cpuModel: string;
    cpus: number;
    totalMemoryMb: number;
    /** 1, 5 and 15 minute load averages when the run started: a busy machine explains slow figures. */
    loadAverageAtStart: number[];
}

export interface Entry {
    at: string;
    machine: Machine;
    /** BENCH_* variables set for the run: figures from a shortened run are not comparable to a full one. */
    knobs: Record<string, string>;
    result: object;
}

export interface Latest {
    updatedAt: string;
    /** The machine of the last run; each entry keeps its own, since entries may come from different runs. */
    machine?: Machine;
    results: Record<string, Entry>;
}

export function machineInfo(): Machine {
    const cpuList = cpus();
    return {
        node: process.version,
        platform: `${process.platform} ${process.arch}`,
        cpuModel: cpuList[0]?.model.trim() ?? "unknown",
        cpus: cpuList.length,
        totalMemoryMb: Math.round(totalmem() / 2 ** 20),
        loadAverageAtStart: loadavg().map((l) => Math.round(l * 100) / 100),
    };
}

/**
 * The size each benchmark runs at when its knob is not set. A knob set to exactly this is a full-size run;
 * BENCH_SOAK only adds the soak to `all` and BENCH_NODE_ARGS changes settings, not the size.
 */
const FULL_SIZE: Record<string, string> = {
    BENCH_MESSAGES_PER_DEVICE: "5000",
    BENCH_SECONDS: "20",
    BENCH_BACKLOG: "1000000",
    BENCH_SAMPLES: "200",
    BENCH_RUNS: "5",
    BENCH_SOAK_MINUTES: "30",
    BENCH_SOAK_SAMPLE_SECONDS: "10",
    BENCH_SOAK: "1",
};

/** The knobs of a run that make it smaller than full size (or otherwise not as shipped). */
function shortening(knobs: Record<string, string>): [string, string][] {
    return Object.entries(knobs).filter(([key, value]) => key !== "BENCH_SOAK" && FULL_SIZE[key] !== value);
}

export function benchKnobs(): Record<string, string> {
    return Object.fromEntries(
        Object.entries(process.env).filter(
            (entry): entry is [string, string] => entry[0].startsWith("BENCH_") && entry[1] !== undefined,
        ),
    );
}

export function readLatest(file: string): Latest {
    if (!existsSync(file)) return { updatedAt: "", results: {} };
    try {
        return JSON.parse(readFileSync(file, "utf8")) as Latest;
    } catch {
        // A damaged file is replaced, not a reason to lose the run that just finished.
        return { updatedAt: "", results: {} };
    }
}

export function writeLatest(file: string, latest: Latest): void {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, `${JSON.stringify(latest, null, 2)}\n`);
}

// ---------------------------------------------------------------------------------------------------------
// BENCHMARKS.md

interface Row {
    figure: string;
    value: string;
    baseline: string;
    ratio: string;
    bar: string;
}

const ORDER = ["ingest", "devices", "lanes", "sync", "startup", "storage", "retention", "soak"];

const TITLES: Record<string, string> = {
    ingest: "Ingest: 32 MQTT devices, QoS 1, durable commit before PUBACK",
    devices: "Devices: camera push / ONVIF event in, barrier command out",
    lanes: "Lanes: 16 lanes, trucks back to back, under the 32-device MQTT load",
    sync: "Sync: backlog drained to the central simulator, and interference",
    startup: "Start-up to ready (demo gate)",
    storage: "Storage: bytes stored per passage against reads per passage",
    retention: "Retention: a compressed year on a small quota (store size, pruning steps)",
    soak: "Soak and memory: 16 lanes at full load",
};

const int = (n: number): string => (Number.isFinite(n) ? Math.round(n).toLocaleString("en-US") : "—");
const fixed = (n: number, digits = 1): string => (Number.isFinite(n) ? n.toFixed(digits) : "—");
const percent = (a: number, b: number): string =>
    b > 0 && Number.isFinite(a) ? `${((a / b) * 100).toFixed(1)} %` : "—";
const times = (a: number, b: number): string => (b > 0 && Number.isFinite(a) ? `${(a / b).toFixed(2)}×` : "—");
const verdict = (ok: boolean): string => (ok ? "met" : "**NOT met**");

// The results are the benchmarks' own JSON objects, written before this report existed; their shapes are
// read here field by field, hence the loose record type instead of one interface per benchmark.
type Json = Record<string, unknown>;
const num = (o: unknown, ...path: string[]): number => {
    let v: unknown = o;
    for (const key of path) v = (v as Json | undefined)?.[key];
    return typeof v === "number" ? v : Number.NaN;
};

function ingestRows(r: Json): Row[] {
    const gate = num(r, "gate", "perSecond");
    const loop = num(r, "rawMqttLoopback", "perSecond");
    const puback = num(r, "rawMqttPuback", "perSecond");
    const sqlite = num(r, "rawSqlite", "perSecond");
    return [
        {
            figure: "durable events/s",
            value: int(gate),
            baseline: `raw MQTT.js QoS 1 loopback ${int(loop)}`,
            ratio: percent(gate, loop),
            bar: `≥ 20,000/s ${verdict(gate >= 20_000)}; ≥ 50 % ${verdict(gate / loop >= 0.5)}`,
        },
        {
            figure: "durable events/s",
            value: int(gate),
            baseline: `raw QoS 1 PUBACK only ${int(puback)}`,
            ratio: percent(gate, puback),
            bar: "—",
        },
        {
            figure: "durable events/s",
            value: int(gate),
            baseline: `raw SQLite 500/tx FULL ${int(sqlite)}`,
            ratio: percent(gate, sqlite),
            bar: "—",
        },
        {
            figure: "peak RSS during ingest, MB",
            value: int(num(r, "gate", "rssMb")),
            baseline: `before the load ${int(num(r, "gate", "idleRssMb"))}`,
            ratio: times(num(r, "gate", "rssMb"), num(r, "gate", "idleRssMb")),
            bar: "— (the memory bar is the soak's)",
        },
    ];
}

function devicesRows(r: Json): Row[] {
    const rows = (r.rows as Json[] | undefined) ?? [];
    const find = (prefix: string) => rows.find((row) => String(row.name).startsWith(prefix));
    const push = find("push");
    const onvif = find("ONVIF");
    const http = find("raw HTTP");
    const barrier = find("barrier");
    const opcua = find("raw node-opcua");
    const out: Row[] = [];
    for (const [label, row, base, baseLabel] of [
        ["push → committed", push, http, "raw HTTP POST"],
        ["ONVIF event → committed", onvif, http, "raw HTTP POST"],
        ["barrier written → opening seen", barrier, opcua, "raw node-opcua write → notification"],
    ] as const) {
        for (const q of ["p50", "p99"] as const)
            out.push({
                figure: `${label} ${q}, ms`,
                value: fixed(num(row, q), 2),
                baseline: `${baseLabel} ${fixed(num(base, q), 2)}`,
                ratio: times(num(row, q), num(base, q)),
                bar: "— (no DESIGN bar)",
            });
    }
    return out;
}

function lanesRows(r: Json): Row[] {
    const p50 = num(r, "latencyMs", "p50");
    const p99 = num(r, "latencyMs", "p99");
    const quietP50 = num(r, "quietLatencyMs", "p50");
    const quietP99 = num(r, "quietLatencyMs", "p99");
    const load = num(r, "loadEventsPerSecond");
    const raw = num(r, "rawMqttLoopbackPerSecond");
    const mis = num(r, "misCorrelated");
    const quiet = (value: number) =>
        Number.isNaN(value) ? "none (BENCH_LOAD=0 is a separate run)" : `same run without the load ${fixed(value, 0)}`;
    return [
        {
            figure: "decision latency p50 under the load, ms",
            value: fixed(p50, 0),
            baseline: quiet(quietP50),
            ratio: Number.isNaN(quietP50) ? "—" : times(p50, quietP50),
            bar: `≤ 10 ms ${verdict(p50 <= 10)}`,
        },
        {
            figure: "decision latency p99 under the load, ms",
            value: fixed(p99, 0),
            baseline: quiet(quietP99),
            ratio: Number.isNaN(quietP99) ? "—" : times(p99, quietP99),
            bar: `≤ 50 ms ${verdict(p99 <= 50)}`,
        },
        {
            figure: "mis-correlated passages",
            value: int(mis),
            baseline: "—",
            ratio: "—",
            bar: `0 ${verdict(mis === 0)}`,
        },
        {
            figure: "trucks (samples) / per hour",
            value: `${int(num(r, "trucks"))} / ${int(num(r, "trucksPerHour"))}`,
            baseline: "—",
            ratio: "—",
            bar: "—",
        },
        {
            figure: "background MQTT load, events/s",
            value: int(load),
            baseline: Number.isNaN(raw) ? "—" : `raw MQTT.js QoS 1 loopback ${int(raw)}`,
            ratio: Number.isNaN(raw) ? "—" : percent(load, raw),
            bar: "—",
        },
    ];
}

function syncRows(r: Json): Row[] {
    const drain = num(r, "drain", "perSecond");
    const raw = num(r, "rawLocalDrain", "perSecond");
    const bars = (r.bars as Json | undefined) ?? {};
    return [
        {
            figure: `drain of ${int(num(r, "backlog"))} events, events/s`,
            value: int(drain),
            baseline: `raw local drain ${int(raw)}`,
            ratio: percent(drain, raw),
            bar: `≥ 10,000/s ${verdict(drain >= 10_000)}`,
        },
        {
            figure: "central holds each event once",
            value: `${int(num(r, "central", "distinctIds"))} distinct of ${int(num(r, "central", "stored"))}`,
            baseline: `gate sent ${int(num(r, "drain", "events"))}`,
            ratio: "—",
            bar: `nothing lost or doubled ${verdict(bars.exactlyOnce === true)}`,
        },
        {
            figure: "ingest while draining, events/s",
            value: int(num(r, "ingest", "draining")),
            baseline: `solo ${int(num(r, "ingest", "solo"))}`,
            ratio: percent(num(r, "ingest", "draining"), num(r, "ingest", "solo")),
            bar: `≥ 80 % ${verdict(bars.ingestRatio === true)}`,
        },
        {
            figure: "decision p99 while draining, ms",
            value: fixed(num(r, "decisionLatencyMs", "draining", "p99"), 0),
            baseline: `solo ${fixed(num(r, "decisionLatencyMs", "solo", "p99"), 0)}`,
            ratio: times(num(r, "decisionLatencyMs", "draining", "p99"), num(r, "decisionLatencyMs", "solo", "p99")),
            bar: `≤ 2× ${verdict(bars.p99Ratio === true)}`,
        },
    ];
}

function startupRows(r: Json): Row[] {
    const bare = num(r, "nodeBareMs", "p50");
    const rows: Row[] = [];
    for (const [name, figures] of Object.entries(r)) {
        if (typeof figures !== "object" || figures === null || !("lanesReadyMs" in figures)) continue;
        const ready = num(figures, "lanesReadyMs", "p50");
        rows.push(
            {
                figure: `${name}: spawn → every lane ready p50, ms`,
                value: int(ready),
                baseline: `bare \`node -e ""\` ${int(bare)}`,
                ratio: times(ready, bare),
                bar: `≤ 2,000 ms ${verdict(ready <= 2000)}`,
            },
            {
                figure: `${name}: spawn → API up p50, ms`,
                value: int(num(figures, "apiUpMs", "p50")),
                baseline: `check-config ${int(num(figures, "checkConfigMs", "p50"))}`,
                ratio: times(num(figures, "apiUpMs", "p50"), num(figures, "checkConfigMs", "p50")),
                bar: "—",
            },
            {
                figure: `${name}: SIGTERM → exited p50, ms`,
                value: int(num(figures, "stopMs", "p50")),
                baseline: "—",
                ratio: "—",
                bar: `≤ 10,000 ms (graceful stop) ${verdict(num(figures, "stopMs", "p50") <= 10_000)}`,
            },
        );
    }
    return rows;
}

/** A passage keeps this many distinct reads of a kind (MAX_FACTS_PER_KIND); the bar is linear up to it. */
const KEPT_PER_KIND = 64;

function storageRows(r: Json): Row[] {
    const rows = (r.rows as Json[] | undefined) ?? [];
    const oneRead = rows.find((row) => row.mode === "repeated" && row.reads === 1);
    return rows.map((row) => {
        const reads = num(row, "reads");
        const bytes = num(row, "passageEventBytes");
        const readings = num(row, "readingBytes");
        // Distinct seals: linear in the seals kept (each event one seal, a few hundred bytes). The same seal
        // again: what the passage with one read stores (1 % for the longer lane ids of the larger cases).
        const distinct = row.mode === "distinct";
        const limit = distinct ? 400 * Math.min(reads, KEPT_PER_KIND) + 2048 : num(oneRead, "passageEventBytes") * 1.01;
        return {
            figure: `${distinct ? "distinct seals" : "the same seal"}, ${int(reads)} reads/passage: passage event bytes (events; record bytes)`,
            value: `${int(bytes)} (${int(num(row, "passageEvents"))}; ${int(num(row, "recordBytes"))})`,
            baseline: `the readings ${int(readings)}`,
            ratio: times(bytes, readings),
            bar: `${distinct ? `≤ 400 B per seal kept (≤ ${KEPT_PER_KIND}) + 2 KiB` : "no growth with repeats"} ${verdict(bytes <= limit)}`,
        };
    });
}

function retentionRows(r: Json): Row[] {
    const mib = (bytes: number): string => `${fixed(bytes / 2 ** 20)} MiB`;
    return [
        {
            figure: `largest store size over ${int(num(r, "options", "days"))} days (${int(num(r, "appended"))} events, a 7-day central outage)`,
            value: mib(num(r, "maxBytes")),
            baseline: `quota ${mib(num(r, "quotaBytes"))}`,
            ratio: percent(num(r, "maxBytes"), num(r, "quotaBytes")),
            bar: `under the quota all year ${verdict(num(r, "maxBytes") < num(r, "quotaBytes"))}`,
        },
        {
            figure: "pruned events central had not accepted (independent record)",
            value: int(num(r, "prunedUnaccepted")),
            baseline: `${int(num(r, "pruned"))} pruned under ${int(num(r, "checkpoints"))} checkpoints`,
            ratio: "—",
            bar: `none ${verdict(num(r, "prunedUnaccepted") === 0 && r.verifyOk === true && r.archiveOk === true)}`,
        },
        {
            figure: "a daily run's longest pruning step (median over the runs)",
            value: `${fixed(num(r, "medianRunLongestMs"), 2)} ms`,
            baseline: "—",
            ratio: "—",
            bar: "a few ms (the step's own commit included)",
        },
        {
            figure: `longest pruning step (${String(r.longestStep ?? "")})`,
            value: `${fixed(num(r, "longestStepMs"), 2)} ms`,
            baseline: "—",
            ratio: "—",
            bar: "a few ms (on a loaded machine the scheduler adds to it)",
        },
    ];
}

function soakRows(r: Json): Row[] {
    const loaded = num(r, "baseline", "nodeWithModules", "rssMb");
    const steady = num(r, "rssSteadyMb");
    const peak = num(r, "rssPeakMb");
    const growth = num(r, "rssGrowthMbPerHour");
    const wal = num(r, "walMaxMb");
    const base = `node + the gate's modules ${int(loaded)}`;
    return [
        {
            figure: "RSS steady state (median after warm-up), MB",
            value: int(steady),
            baseline: base,
            ratio: times(steady, loaded),
            bar: `≤ 150 MB ${verdict(steady <= 150)}`,
        },
        {
            figure: "RSS peak, MB",
            value: int(peak),
            baseline: base,
            ratio: times(peak, loaded),
            bar: `≤ 150 MB ${verdict(peak <= 150)}`,
        },
        {
            figure: `RSS growth after warm-up (fit over ${fixed(num(r, "steadyMinutes"), 1)} min), MB/h`,
            value: fixed(growth, 1),
            baseline: "—",
            ratio: "—",
            bar: `≤ 2 MB/h (performance.md B8) ${verdict(growth <= 2)}`,
        },
        {
            figure: "JS heap used peak, MB",
            value: int(num(r, "heapPeakMb")),
            baseline: `node + modules ${int(num(r, "baseline", "nodeWithModules", "heapUsedMb"))}`,
            ratio: times(num(r, "heapPeakMb"), num(r, "baseline", "nodeWithModules", "heapUsedMb")),
            bar: "—",
        },
        {
            figure: "WAL file max, MB",
            value: fixed(wal, 1),
            baseline: "—",
            ratio: "—",
            bar: `≤ 64 MB (B8) ${verdict(wal <= 64)}`,
        },
        {
            figure: "load committed, events/s",
            value: int(num(r, "load", "eventsPerSecond")),
            baseline: "—",
            ratio: "—",
            bar: "—",
        },
        {
            figure: "gate CPU per committed event, µs",
            value: fixed(num(r, "load", "cpuMicrosPerEvent"), 1),
            baseline: "—",
            ratio: "—",
            bar: "—",
        },
        {
            figure: "time in garbage collection, % of wall time (scavenges + full)",
            value: `${fixed(num(r, "load", "gcMinorShare") * 100, 1)} + ${fixed(num(r, "load", "gcMajorShare") * 100, 1)}`,
            baseline: "—",
            ratio: "—",
            bar: "—",
        },
    ];
}

const ROWS: Record<string, (r: Json) => Row[]> = {
    ingest: ingestRows,
    devices: devicesRows,
    lanes: lanesRows,
    sync: syncRows,
    startup: startupRows,
    storage: storageRows,
    retention: retentionRows,
    soak: soakRows,
};

/** The node settings a soak ran with (deploy/gate-edge.service's), when the result records them. */
function settingsOf(r: Json): string {
    const runtime = r.runtime as { env?: Record<string, string>; nodeArgs?: string[] } | undefined;
    if (!runtime) return "";
    const settings = [
        ...Object.entries(runtime.env ?? {}).map(([key, value]) => `${key}=${value}`),
        ...(runtime.nodeArgs ?? []),
    ];
    return ` with the service's settings \`${settings.join(" ")}\``;
}

function notes(name: string, r: Json): string[] {
    if (name === "soak")
        return [
            `Measured: ${String(r.measured)}${settingsOf(r)}; ${num(r, "minutes")} min, a sample every ${num(r, "sampleSeconds")} s, warm-up ${num(r, "warmupSeconds")} s; bare \`node -e\` alone ${int(num(r, "baseline", "bareNode", "rssMb"))} MB. The 30-minute run is \`BENCH_SOAK_MINUTES=30\` (the default); a slope fitted over a few minutes follows the garbage collector's saw-tooth, not a leak, and means little.`,
        ];
    if (name === "storage")
        return [
            "Before issue 13 (18040d3, the same benchmark) every new seal re-stored the whole passage: 1,000 distinct seals stored 37,149,360 bytes of passage events (1,002 events) per passage, 100 stored 430,608; now an update carries what changed and a passage keeps at most 64 seals (the rest counted, one PASSAGE_READS_BOUNDED alert).",
        ];
    if (name === "retention")
        return [
            "Store size per week (the largest of the week) against the quota; `npm run bench -- retention` (BENCH_RETENTION_DAYS, BENCH_RETENTION_TRUCKS scale it):",
            ["```", ...((r.chart as string[] | undefined) ?? []), "```"].join("\n"),
        ];
    if (name === "lanes")
        return [
            "The same run first measures this machine's raw MQTT QoS 1 loopback (a bare aedes, the ingest benchmark's publishers) and the lanes for half the time without the background load; the load then runs beside the lanes. The sync table below has the decision latency solo beside while a backlog drains.",
        ];
    return [];
}

function machineLine(machine: Machine): string {
    // A one-minute load at or above the CPU count means something else competed for the CPUs.
    const busy = (machine.loadAverageAtStart[0] ?? 0) >= machine.cpus ? " (busy: other work was competing)" : "";
    return `${machine.cpuModel}, ${machine.cpus} CPUs, ${int(machine.totalMemoryMb)} MB, ${machine.platform}, Node ${machine.node}, load average at start ${machine.loadAverageAtStart.join(" / ")}${busy}`;
}

export function renderMarkdown(latest: Latest): string {
    const lines = [
        "# Benchmarks",
        "",
        "Generated by `npm run bench` (every benchmark but the soak; `npm run bench -- all --with-soak` or",
        "`BENCH_SOAK=1` adds it) or `npm run bench -- <name>` (one benchmark, merged into the others) from",
        "`bench/results/latest.json`. Each figure stands beside its raw baseline measured in the same run, with the",
        "ratio and the bar from DESIGN.md (“Bars”; performance.md where DESIGN has none). Figures from a shortened",
        "run (the BENCH_* knobs listed under each table) or a shared VM are indicative only.",
        "",
    ];
    const names = [
        ...ORDER.filter((n) => latest.results[n]),
        ...Object.keys(latest.results).filter((n) => !ORDER.includes(n)),
    ];
    // Said up front as well as per table: a reader skimming the first table must not take a short run for a full one.
    const groups = new Map<string, string[]>();
    for (const n of names) {
        const knobs = shortening(latest.results[n]!.knobs)
            .map(([k, v]) => `${k}=${v}`)
            .join(", ");
        if (knobs) groups.set(knobs, [...(groups.get(knobs) ?? []), n]);
    }
    lines.push(
        groups.size === 0
            ? "Every table below is from a full-size run."
            : `**Shortened runs** (figures not comparable to full-size ones): ${[...groups].map(([knobs, group]) => `${group.join(", ")} with ${knobs}`).join("; ")}.`,
        "",
    );
    for (const name of names) {
        const entry = latest.results[name]!;
        const result = entry.result as Json;
        lines.push(`## ${TITLES[name] ?? name} (\`npm run bench -- ${name}\`)`, "");
        lines.push(`Finished ${entry.at} on ${machineLine(entry.machine)}.`);
        const knobs = shortening(entry.knobs);
        lines.push(
            knobs.length === 0
                ? `Knobs: ${
                      Object.keys(entry.knobs).length === 0
                          ? "none"
                          : Object.entries(entry.knobs)
                                .map(([k, v]) => `\`${k}=${v}\``)
                                .join(", ")
                  } (full-size run).`
                : `Knobs: ${knobs.map(([k, v]) => `\`${k}=${v}\``).join(", ")} (shortened run).`,
            "",
        );
        const rows = ROWS[name]?.(result) ?? [];
        lines.push("| figure | gate-edge | same-run baseline | ratio | bar |", "|---|---:|---|---:|---|");
        for (const row of rows)
            lines.push(`| ${row.figure} | ${row.value} | ${row.baseline} | ${row.ratio} | ${row.bar} |`);
        for (const note of notes(name, result)) lines.push("", note);
        lines.push("");
    }
    return `${lines.join("\n").trimEnd()}\n`;
}
