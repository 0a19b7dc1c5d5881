import { type ChildProcess, spawn } from "node:child_process";
import { copyFileSync, mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { pino } from "pino";
import { parseConfig } from "../../src/config/load.ts";
import { systemClock } from "../../src/core/clock.ts";
import type { GateEventDraft } from "../../src/core/events.ts";
import { Gate } from "../../src/gate.ts";
import { openDatabase } from "../../src/store/db.ts";
import { EventLog, type EventRow } from "../../src/store/eventLog.ts";
import { Outbox } from "../../src/store/outbox.ts";
import { wireJson } from "../../src/sync/uplink.ts";
import { gateIngest } from "./ingest.ts";

const GATE_ID = "BENCHSYNC";
const TOKEN = "bench-sync-token";
const TOKEN_ENV = "BENCH_CENTRAL_TOKEN";

/** The backlog: a day-long outage's worth of readings, passages and alerts over 16 lanes. */
async function buildBacklog(path: string, events: number, out: (line: string) => void): Promise<number> {
    const started = performance.now();
    const db = openDatabase(path);
    const log = new EventLog(db, { gateId: GATE_ID, clock: systemClock, log: pino({ level: "error" }) });
    log.start();
    const CHUNK = 5000;
    for (let base = 0; base < events; base += CHUNK) {
        const drafts: GateEventDraft[] = [];
        for (let i = base; i < Math.min(events, base + CHUNK); i++) {
            const laneId = `L${(i % 16) + 1}`;
            if (i % 100 === 0)
                drafts.push({ type: "alert.raised", laneId, data: { code: "BENCH", severity: "info", i } });
            else if (i % 10 === 0)
                drafts.push({ type: "passage.updated", laneId, data: { passageId: `P${i}`, state: "WEIGHING" } });
            else {
                drafts.push({
                    type: "reading.seal",
                    laneId,
                    deviceId: `seal-${i % 32}`,
                    data: { sealId: `VNC-${String(i).padStart(7, "0")}`, status: "SEALED", battery: 87, rssi: -61 },
                });
            }
        }
        await Promise.all(drafts.map((draft) => log.append(draft)));
    }
    log.close();
    db.pragma("wal_checkpoint(TRUNCATE)");
    db.close();
    const seconds = (performance.now() - started) / 1000;
    out(`backlog of ${events} events built in ${seconds.toFixed(1)} s`);
    return seconds;
}

/** The baseline: read a batch, serialise it as sent, mark it delivered; no network, no central. */
function rawLocalDrain(path: string): { events: number; seconds: number; perSecond: number; bodyBytes: number } {
    const db = openDatabase(path);
    const outbox = new Outbox(db);
    const select = db.prepare("SELECT * FROM events WHERE seq = ?");
    let events = 0;
    let bytes = 0;
    const started = performance.now();
    for (;;) {
        const entries = outbox.nextBatch(500);
        if (entries.length === 0) break;
        const body = `{"events":[${entries.map((entry) => wireJson(select.get(entry.seq) as EventRow)).join(",")}]}`;
        bytes += body.length;
        outbox.markDelivered(entries);
        events += entries.length;
    }
    const seconds = (performance.now() - started) / 1000;
    db.close();
    // The bodies' total size: what the upload would put on the wire, and a use that keeps them computed.
    return { events, seconds, perSecond: events / seconds, bodyBytes: bytes };
}

/** The central simulator in its own process, as central would be on its own machine. */
async function startCentral(dbPath: string): Promise<{ url: string; child: ChildProcess; stop(): Promise<void> }> {
    const child = spawn(
        process.execPath,
        ["bin/gate-edge.js", "simulate", "central", "--port", "0", "--db", dbPath, "--token-env", TOKEN_ENV],
        { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, [TOKEN_ENV]: TOKEN } },
    );
    const url = await new Promise<string>((resolve, reject) => {
        let output = "";
        const onData = (chunk: Buffer) => {
            output += chunk.toString();
            const match = /ready at (https?:\/\/\S+)/.exec(output);
            if (match) resolve(match[1] as string);
        };
        child.stdout?.on("data", onData);
        child.stderr?.on("data", (chunk: Buffer) => {
            output += chunk.toString();
        });
        child.once("exit", (code) => reject(new Error(`central simulator exited with ${code}:\n${output}`)));
    });
    // Keep reading its per-batch lines so its stdout pipe never fills.
    child.stdout?.resume();
    return {
        url,
        child,
        stop: async () => {
            const exited = new Promise((resolve) => child.once("exit", resolve));
            child.kill("SIGTERM");
            await exited;
        },
    };
}

function centralYaml(url: string): string {
    return `central: { url: ${JSON.stringify(url)}, tokenEnv: ${TOKEN_ENV} }`;
}

function lanesYaml(): string {
    return `lanes:\n  - id: L1\n    devices:\n      - { id: seal-idle, model: eseal-mqtt-json, auth: { username: seal-idle, password: bench-idle-password } }`;
}

/** Starts a gate on the backlog with central configured and times the drain to an empty outbox. */
async function gateDrain(path: string, url: string): Promise<{ events: number; seconds: number; perSecond: number }> {
    process.env[TOKEN_ENV] = TOKEN;
    const config = parseConfig(`
gate: { id: ${GATE_ID} }
storage: { path: ${JSON.stringify(path)} }
http: { host: 127.0.0.1, port: 0 }
broker: { mode: embedded, host: 127.0.0.1, port: 0 }
${centralYaml(url)}
${lanesYaml()}
`);
    const gate = new Gate({ config, log: pino({ level: "error" }) });
    const started = performance.now();
    await gate.start();
    for (;;) {
        const pending = gate.sync.status().backlog.reduce((sum, row) => sum + row.pending, 0);
        if (pending === 0) break;
        await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const seconds = (performance.now() - started) / 1000;
    // Everything the gate holds went up: the backlog plus the gate's own events since it started.
    const events = gate.log.headSeq;
    await gate.stop();
    return { events, seconds, perSecond: events / seconds };
}

function centralHolds(dbPath: string): { stored: number; distinctIds: number; maxSeq: number } {
    const db = new Database(dbPath, { readonly: true });
    try {
        return db
            .prepare(
                "SELECT COUNT(*) AS stored, COUNT(DISTINCT id) AS distinctIds, MAX(seq) AS maxSeq FROM events WHERE gate_id = ?",
            )
            .get(GATE_ID) as { stored: number; distinctIds: number; maxSeq: number };
    } finally {
        db.close();
    }
}

function percentOf(part: number, whole: number): string {
    return `${((part / whole) * 100).toFixed(1)} %`;
}

/**
 * `npm run bench -- sync`: a 1,000,000-event backlog drained to the central simulator (its own process) on
 * loopback, beside the raw local drain (read, serialise, mark delivered, no network) measured in the same
 * run; then ingest and decision latency each solo and while a backlog drains.
 */
export async function benchSync(out: (line: string) => void): Promise<object> {
    const backlog = Number(process.env.BENCH_BACKLOG ?? 1_000_000);
    const dir = join(tmpdir(), `gate-edge-bench-sync-${process.pid}`);
    mkdirSync(dir, { recursive: true });
    try {
        out(`sync benchmark: ${backlog} buffered events drained to the central simulator on loopback`);
        const master = join(dir, "backlog.db");
        const buildSeconds = await buildBacklog(master, backlog, out);
        const copy = (name: string): string => {
            const path = join(dir, name);
            copyFileSync(master, path);
            return path;
        };

        const raw = rawLocalDrain(copy("raw.db"));
        out(
            `raw local drain: ${raw.events} events in ${raw.seconds.toFixed(2)} s = ${Math.round(raw.perSecond)} events/s`,
        );

        const centralDb = join(dir, "central.db");
        const central = await startCentral(centralDb);
        let drain: { events: number; seconds: number; perSecond: number };
        try {
            drain = await gateDrain(copy("drain.db"), central.url);
        } finally {
            await central.stop();
        }
        const held = centralHolds(centralDb);
        out(
            `gate-edge drain to central: ${drain.events} events in ${drain.seconds.toFixed(2)} s = ${Math.round(drain.perSecond)} events/s`,
        );
        out(`central holds ${held.stored} events, ${held.distinctIds} distinct ids, max seq ${held.maxSeq}`);

        // Interference: ingest and decisions solo, then while a backlog drains to central.
        const messagesPerDevice = Number(process.env.BENCH_MESSAGES_PER_DEVICE ?? 5000);
        const ingestSolo = await gateIngest(dir, messagesPerDevice, {
            gateId: GATE_ID,
            dbPath: join(dir, "ingest-solo.db"),
        });
        out(`ingest solo: ${Math.round(ingestSolo.perSecond)} events/s`);
        const central2 = await startCentral(join(dir, "central-2.db"));
        let ingestDraining: Awaited<ReturnType<typeof gateIngest>>;
        try {
            ingestDraining = await gateIngest(dir, messagesPerDevice, {
                gateId: GATE_ID,
                dbPath: copy("ingest-drain.db"),
                extraYaml: centralYaml(central2.url),
            });
        } finally {
            await central2.stop();
        }
        out(`ingest while draining: ${Math.round(ingestDraining.perSecond)} events/s`);

        const { benchLanes } = await import("./lanes.ts");
        const quiet = (): void => undefined;
        const seconds = Number(process.env.BENCH_SECONDS ?? 20);
        const lanesSolo = (await benchLanes(quiet, {
            gateId: GATE_ID,
            dbPath: join(dir, "lanes-solo.db"),
            seconds,
            baselines: false,
        })) as {
            latencyMs: { p50: number; p99: number };
        };
        out(
            `decision latency solo (with the ingest load): p50 ${lanesSolo.latencyMs.p50} ms, p99 ${lanesSolo.latencyMs.p99} ms`,
        );
        const central3 = await startCentral(join(dir, "central-3.db"));
        let lanesDraining: { latencyMs: { p50: number; p99: number } };
        try {
            lanesDraining = (await benchLanes(quiet, {
                gateId: GATE_ID,
                dbPath: copy("lanes-drain.db"),
                extraYaml: centralYaml(central3.url),
                seconds,
                baselines: false,
            })) as { latencyMs: { p50: number; p99: number } };
        } finally {
            await central3.stop();
        }
        out(
            `decision latency while draining: p50 ${lanesDraining.latencyMs.p50} ms, p99 ${lanesDraining.latencyMs.p99} ms`,
        );

        const ingestRatio = ingestDraining.perSecond / ingestSolo.perSecond;
        const p99Ratio = lanesDraining.latencyMs.p99 / lanesSolo.latencyMs.p99;
        // The gate adds its own config.applied event at start: central must hold exactly what the gate had.
        const exact = held.stored === drain.events && held.distinctIds === drain.events && held.maxSeq === drain.events;
        out("");
        out("| measurement | value | baseline (same run) | ratio | bar |");
        out("|---|---:|---:|---:|---|");
        out(
            `| drain to central, events/s | ${Math.round(drain.perSecond)} | raw local drain ${Math.round(raw.perSecond)} | ${percentOf(drain.perSecond, raw.perSecond)} | ≥ 10,000/s ${drain.perSecond >= 10_000 ? "met" : "NOT met"} |`,
        );
        out(
            `| central holds each event once | ${held.distinctIds} distinct of ${held.stored} stored, gate had ${drain.events} | — | — | ${exact ? "met" : "NOT met"} |`,
        );
        out(
            `| ingest while draining, events/s | ${Math.round(ingestDraining.perSecond)} | solo ${Math.round(ingestSolo.perSecond)} | ${percentOf(ingestDraining.perSecond, ingestSolo.perSecond)} | ≥ 80 % ${ingestRatio >= 0.8 ? "met" : "NOT met"} |`,
        );
        out(
            `| decision p99 while draining, ms | ${lanesDraining.latencyMs.p99} | solo ${lanesSolo.latencyMs.p99} | ${p99Ratio.toFixed(2)}× | ≤ 2× ${p99Ratio <= 2 ? "met" : "NOT met"} |`,
        );
        return {
            benchmark: "sync",
            at: new Date().toISOString(),
            node: process.version,
            backlog,
            buildSeconds,
            rawLocalDrain: raw,
            drain,
            drainRatioToRaw: drain.perSecond / raw.perSecond,
            central: held,
            ingest: { solo: ingestSolo.perSecond, draining: ingestDraining.perSecond, ratio: ingestRatio },
            decisionLatencyMs: { solo: lanesSolo.latencyMs, draining: lanesDraining.latencyMs, p99Ratio },
            bars: {
                drainPerSecond: drain.perSecond >= 10_000,
                exactlyOnce: exact,
                ingestRatio: ingestRatio >= 0.8,
                p99Ratio: p99Ratio <= 2,
            },
        };
    } finally {
        rmSync(dir, { recursive: true, force: true });
    }
}
