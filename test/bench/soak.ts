import { type ChildProcess, fork, spawn } from "node:child_process";
import { existsSync, mkdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { type ServiceRuntime, serviceRuntime } from "../helpers/serviceRuntime.ts";
import { runPublishers, sealLanesYaml } from "./ingest.ts";
import { median } from "./stats.ts";

/**
 * `npm run bench -- soak` (issue 7 item 4, performance.md B8 shortened): the gate in its own process with
 * 16 lanes of two MQTT e-seal readers each, all 32 publishing QoS 1 at full rate (the ingest benchmark's
 * publishers, in child processes) for BENCH_SOAK_MINUTES. Every BENCH_SOAK_SAMPLE_SECONDS the gate's
 * resident memory, JS heap and WAL file size are sampled. Reported: RSS steady state (median after a
 * one-minute warm-up), peak, growth per hour (least-squares slope after the warm-up), WAL max; beside a
 * bare Node process with the same modules loaded but no gate, measured in the same run.
 *
 * The gate runs the compiled dist/ (deploy/gate-edge.js, as the installed service does) when `npm run build`
 * made it, otherwise the sources through tsx (whose compiler adds its own memory); the result says which.
 * Either way with the service's memory settings (the unit's Environment= and node flags: serviceRuntime()),
 * and the baseline node with the same settings. BENCH_NODE_ARGS replaces the unit's node flags, to compare.
 */

const DEVICES = 32;
const LANES = 16;
const WINDOW = 64;
const WARMUP_MS = 60_000;

interface Sample {
    /** Seconds since the load was started. */
    t: number;
    rssMb: number;
    heapUsedMb: number;
    /** V8's reserved heap: with heapUsed it tells garbage not yet collected from native memory in the RSS. */
    heapTotalMb: number;
    externalMb: number;
    walMb: number;
    dbMb: number;
    headSeq: number;
    /** CPU the gate process used since it started (user + system), seconds. */
    cpuSeconds: number;
    /** Time spent in garbage collection since the gate started, ms: scavenges and full collections. */
    gcMinorMs: number;
    gcMajorMs: number;
}

const MB = 2 ** 20;

async function freePort(): Promise<number> {
    const server = createServer();
    await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
    const port = (server.address() as { port: number }).port;
    await new Promise((done) => server.close(done));
    return port;
}

const fileMb = (path: string): number => (existsSync(path) ? statSync(path).size / MB : 0);

/** Least-squares slope of y over x. */
function slope(xs: number[], ys: number[]): number {
    const n = xs.length;
    if (n < 2) return Number.NaN;
    const mx = xs.reduce((a, b) => a + b, 0) / n;
    const my = ys.reduce((a, b) => a + b, 0) / n;
    let num = 0;
    let den = 0;
    for (let i = 0; i < n; i++) {
        num += (xs[i]! - mx) * (ys[i]! - my);
        den += (xs[i]! - mx) ** 2;
    }
    return den === 0 ? Number.NaN : num / den;
}

/**
 * The baseline: a Node process that loads the modules (imports only, nothing started) and reports its
 * resident memory after a second, so the gate's figure can be read as "Node + code + the gate's state".
 */
function bareNodeRss(
    modules: string[],
    tsx: boolean,
    runtime: ServiceRuntime,
): Promise<{ rssMb: number; heapUsedMb: number }> {
    const script = `${modules.map((m) => `await import(${JSON.stringify(m)});`).join("")}
setTimeout(() => process.stdout.write(JSON.stringify(process.memoryUsage())), 1000);`;
    const args = [...runtime.nodeArgs, ...(tsx ? ["--import", "tsx"] : []), "--input-type=module", "-e", script];
    return new Promise((done, reject) => {
        const child = spawn(process.execPath, args, {
            stdio: ["ignore", "pipe", "inherit"],
            env: { ...process.env, ...runtime.env },
        });
        let text = "";
        child.stdout.on("data", (chunk: Buffer) => {
            text += chunk.toString();
        });
        child.once("error", reject);
        child.once("exit", (code) => {
            if (code !== 0) return reject(new Error(`baseline node exited ${code}`));
            const usage = JSON.parse(text) as NodeJS.MemoryUsage;
            done({ rssMb: usage.rss / MB, heapUsedMb: usage.heapUsed / MB });
        });
    });
}

interface ProbeAnswer {
    memory: NodeJS.MemoryUsage;
    cpu: NodeJS.CpuUsage;
    gc: { minorMs: number; minorCount: number; majorMs: number; majorCount: number };
}

function askMemory(child: ChildProcess): Promise<ProbeAnswer | undefined> {
    return new Promise((done) => {
        const timer = setTimeout(() => {
            child.off("message", onMessage);
            done(undefined);
        }, 2000);
        const onMessage = (message: unknown) => {
            const answer = message as Partial<ProbeAnswer>;
            if (!answer.memory || !answer.cpu || !answer.gc) return;
            clearTimeout(timer);
            child.off("message", onMessage);
            done({ memory: answer.memory, cpu: answer.cpu, gc: answer.gc });
        };
        child.on("message", onMessage);
        child.send("memory?");
    });
}

export async function benchSoak(out: (line: string) => void): Promise<object> {
    const minutes = Number(process.env.BENCH_SOAK_MINUTES ?? 30);
    const sampleMs = Number(process.env.BENCH_SOAK_SAMPLE_SECONDS ?? 10) * 1000;
    const durationMs = minutes * 60_000;
    // A short test run still needs samples after the warm-up for a slope.
    const warmupMs = Math.min(WARMUP_MS, durationMs / 2);
    const dir = join(tmpdir(), `gate-edge-bench-soak-${process.pid}`);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const dbPath = join(dir, "soak.db");
    const [httpPort, mqttPort] = [await freePort(), await freePort()];
    const devices = Array.from({ length: DEVICES }, (_, i) => ({
        id: `seal-${i}`,
        username: `seal-${i}`,
        password: `bench-password-${i}`,
    }));
    const configFile = join(dir, "soak.yaml");
    // The quota is far above what the run can write: hitting it would switch lanes to manual, not a soak.
    writeFileSync(
        configFile,
        `gate: { id: SOAK }
storage: { path: ${JSON.stringify(dbPath)}, quotaMb: 500000 }
http: { host: 127.0.0.1, port: ${httpPort} }
broker: { mode: embedded, host: 127.0.0.1, port: ${mqttPort} }
ingest: { duplicateWindowMs: 3000, rawFrameBuffer: 200 }
lanes:
${sealLanesYaml(devices, LANES)}
`,
    );

    const compiled = existsSync("dist/src/cli.js");
    const launcher = compiled ? "deploy/gate-edge.js" : "bin/gate-edge.js";
    const measured = compiled ? "compiled dist/ (deploy/gate-edge.js)" : "sources through tsx (bin/gate-edge.js)";
    const modules = compiled
        ? ["dist/src/cli.js", "dist/src/service.js", "dist/src/gate.js", "dist/devices/index.js"]
        : ["src/cli.ts", "src/service.ts", "src/gate.ts", "devices/index.ts"];
    const moduleUrls = modules.map((m) => pathToFileURL(resolve(m)).href);

    const runtime = serviceRuntime(process.env.BENCH_NODE_ARGS);
    out(`soak benchmark: ${LANES} lanes, ${DEVICES} MQTT devices at full rate for ${minutes} min; gate: ${measured}`);
    out(`node settings ${runtime.describe}`);
    const bareEmpty = await bareNodeRss([], false, runtime);
    const bareLoaded = await bareNodeRss(moduleUrls, !compiled, runtime);
    out(
        `baseline: bare node ${bareEmpty.rssMb.toFixed(0)} MB RSS; node with the gate's modules loaded ${bareLoaded.rssMb.toFixed(0)} MB`,
    );

    const probe = fileURLToPath(new URL("./memory-probe.mjs", import.meta.url));
    const gate = fork(resolve(launcher), ["start", "--config", configFile], {
        execArgv: [...runtime.nodeArgs, "--import", pathToFileURL(probe).href],
        stdio: ["ignore", "ignore", "inherit", "ipc"],
        env: { ...process.env, ...runtime.env, GATE_LOG_LEVEL: "warn" },
    });
    const exited = new Promise<number | null>((done) => gate.once("exit", done));
    const api = `http://127.0.0.1:${httpPort}/api/v1/health`;
    const headSeq = async (): Promise<number> => {
        const health = (await (await fetch(api)).json()) as { store: { headSeq: number } };
        return health.store.headSeq;
    };
    const samples: Sample[] = [];
    try {
        const readyBy = Date.now() + 60_000;
        for (;;) {
            try {
                if ((await fetch(api)).ok) break;
            } catch {
                // Not listening yet.
            }
            if (Date.now() > readyBy) throw new Error("the soak gate did not answer /health within 60 s");
            await new Promise((done) => setTimeout(done, 100));
        }
        const idle = await askMemory(gate);
        const idleRssMb = (idle?.memory.rss ?? Number.NaN) / MB;
        out(`gate idle (started, no load): ${idleRssMb.toFixed(0)} MB RSS`);

        const started = performance.now();
        const take = async () => {
            const answer = await askMemory(gate);
            if (!answer) return;
            const { memory, cpu, gc } = answer;
            const sample: Sample = {
                t: (performance.now() - started) / 1000,
                rssMb: memory.rss / MB,
                heapUsedMb: memory.heapUsed / MB,
                heapTotalMb: memory.heapTotal / MB,
                externalMb: memory.external / MB,
                walMb: fileMb(`${dbPath}-wal`),
                dbMb: fileMb(dbPath),
                headSeq: await headSeq().catch(() => Number.NaN),
                cpuSeconds: (cpu.user + cpu.system) / 1e6,
                gcMinorMs: gc.minorMs,
                gcMajorMs: gc.majorMs,
            };
            samples.push(sample);
            out(
                `  t=${sample.t.toFixed(0).padStart(5)} s  RSS ${sample.rssMb.toFixed(0).padStart(4)} MB  heap ${sample.heapUsedMb.toFixed(0).padStart(4)}/${sample.heapTotalMb.toFixed(0).padStart(4)} MB  WAL ${sample.walMb.toFixed(1).padStart(6)} MB  db ${sample.dbMb.toFixed(0).padStart(6)} MB  events ${sample.headSeq}`,
            );
        };
        const sampler = setInterval(() => void take(), sampleMs);
        let load: { acked: number; seconds: number };
        try {
            load = await runPublishers({
                url: `mqtt://127.0.0.1:${mqttPort}`,
                devices: devices.map((d) => ({
                    username: d.username,
                    password: d.password,
                    topic: `gate/SOAK/devices/${d.id}`,
                })),
                // Not Infinity: the job crosses the IPC channel as JSON, where Infinity becomes null.
                messagesPerDevice: Number.MAX_SAFE_INTEGER,
                window: WINDOW,
                durationMs,
            });
        } finally {
            clearInterval(sampler);
        }
        await take();

        const loadStart = samples[0]?.t ?? 0;
        const steady = samples.filter((s) => s.t >= loadStart + warmupMs / 1000 - sampleMs / 1000);
        const rssSteadyMb = median(steady.map((s) => s.rssMb));
        const rssPeakMb = Math.max(...samples.map((s) => s.rssMb));
        const rssGrowthMbPerHour = slope(
            steady.map((s) => s.t / 3600),
            steady.map((s) => s.rssMb),
        );
        const heapGrowthMbPerHour = slope(
            steady.map((s) => s.t / 3600),
            steady.map((s) => s.heapUsedMb),
        );
        const heapPeakMb = Math.max(...samples.map((s) => s.heapUsedMb));
        const walMaxMb = Math.max(...samples.map((s) => s.walMb));
        const dbFinalMb = samples.at(-1)?.dbMb ?? Number.NaN;
        const eventsPerSecond = load.acked / load.seconds;
        // CPU per committed event is what the memory settings trade against; unlike events/s it hardly
        // depends on how much of the 2 cores the publishers took in this run.
        const firstSteady = steady[0];
        const lastSteady = steady.at(-1);
        const cpuMicrosPerEvent =
            firstSteady && lastSteady && lastSteady.headSeq > firstSteady.headSeq
                ? ((lastSteady.cpuSeconds - firstSteady.cpuSeconds) * 1e6) / (lastSteady.headSeq - firstSteady.headSeq)
                : Number.NaN;
        const steadySeconds = firstSteady && lastSteady ? lastSteady.t - firstSteady.t : Number.NaN;
        const gcShare = (key: "gcMinorMs" | "gcMajorMs") =>
            firstSteady && lastSteady ? (lastSteady[key] - firstSteady[key]) / 1000 / steadySeconds : Number.NaN;
        const gcMinorShare = gcShare("gcMinorMs");
        const gcMajorShare = gcShare("gcMajorMs");

        const verdict = (ok: boolean) => (ok ? "met" : "NOT met");
        out("");
        out("| measurement | gate-edge | baseline (same run) | ratio | bar |");
        out("|---|---:|---:|---:|---|");
        out(
            `| RSS steady state (median after ${Math.round(warmupMs / 1000)} s), MB | ${rssSteadyMb.toFixed(0)} | node + modules ${bareLoaded.rssMb.toFixed(0)} | ${(rssSteadyMb / bareLoaded.rssMb).toFixed(2)}× | ≤ 150 MB ${verdict(rssSteadyMb <= 150)} |`,
        );
        out(
            `| RSS peak, MB | ${rssPeakMb.toFixed(0)} | node + modules ${bareLoaded.rssMb.toFixed(0)} | ${(rssPeakMb / bareLoaded.rssMb).toFixed(2)}× | ≤ 150 MB ${verdict(rssPeakMb <= 150)} |`,
        );
        out(
            `| RSS growth after warm-up, MB/h | ${rssGrowthMbPerHour.toFixed(1)} | — | — | ≤ 2 MB/h (B8) ${verdict(rssGrowthMbPerHour <= 2)} |`,
        );
        out(`| JS heap used peak, MB | ${heapPeakMb.toFixed(0)} | ${bareLoaded.heapUsedMb.toFixed(0)} | — | — |`);
        out(`| WAL file max, MB | ${walMaxMb.toFixed(1)} | — | — | ≤ 64 MB (B8) ${verdict(walMaxMb <= 64)} |`);
        out(`| events committed/s (load) | ${Math.round(eventsPerSecond)} | — | — | — |`);
        out(`| gate CPU per committed event, µs | ${cpuMicrosPerEvent.toFixed(1)} | — | — | — |`);
        out(
            `| time in garbage collection (scavenge + full), % of wall time | ${(gcMinorShare * 100).toFixed(1)} + ${(gcMajorShare * 100).toFixed(1)} | — | — | — |`,
        );
        out(`| database at the end, MB | ${dbFinalMb.toFixed(0)} | — | — | — |`);
        out("");
        out(
            `measured: ${measured}, node settings ${runtime.describe}; bare node alone ${bareEmpty.rssMb.toFixed(0)} MB`,
        );

        return {
            benchmark: "soak",
            at: new Date().toISOString(),
            node: process.version,
            measured,
            runtime: { env: runtime.env, nodeArgs: runtime.nodeArgs },
            lanes: LANES,
            devices: DEVICES,
            minutes,
            sampleSeconds: sampleMs / 1000,
            warmupSeconds: warmupMs / 1000,
            steadyMinutes: ((steady.at(-1)?.t ?? 0) - (steady[0]?.t ?? 0)) / 60,
            baseline: { bareNode: bareEmpty, nodeWithModules: { ...bareLoaded, modules } },
            idleRssMb,
            rssSteadyMb,
            rssPeakMb,
            rssGrowthMbPerHour,
            heapPeakMb,
            heapGrowthMbPerHour,
            walMaxMb,
            dbFinalMb,
            load: {
                acked: load.acked,
                seconds: load.seconds,
                eventsPerSecond,
                cpuMicrosPerEvent,
                gcMinorShare,
                gcMajorShare,
            },
            samples,
            bars: {
                rssSteady: rssSteadyMb <= 150,
                rssPeak: rssPeakMb <= 150,
                rssGrowth: rssGrowthMbPerHour <= 2,
                walMax: walMaxMb <= 64,
            },
        };
    } finally {
        gate.kill("SIGTERM");
        const timer = setTimeout(() => gate.kill("SIGKILL"), 15_000);
        await exited;
        clearTimeout(timer);
        rmSync(dir, { recursive: true, force: true });
    }
}
