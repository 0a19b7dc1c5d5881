import { type ChildProcess, fork } from "node:child_process";
import { mkdirSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Aedes } from "aedes";
import Database from "better-sqlite3";
import mqtt from "mqtt";
import { pino } from "pino";
import { definition as eseal } from "../../devices/eseal-mqtt-json.ts";
import { parseConfig } from "../../src/config/load.ts";
import { Gate } from "../../src/gate.ts";
import type { PublisherJob } from "./publisher.ts";

const DEVICES = 32;
const WINDOW = 64;

interface Figures {
    name: string;
    events: number;
    seconds: number;
    perSecond: number;
}

export async function runPublishers(job: PublisherJob): Promise<{ acked: number; seconds: number }> {
    // Two processes split the devices so the load generator is not itself the bottleneck.
    const halves = [job.devices.slice(0, job.devices.length / 2), job.devices.slice(job.devices.length / 2)];
    const children = halves.map(() =>
        fork(fileURLToPath(new URL("./publisher.ts", import.meta.url)), [], { execArgv: ["--import", "tsx"] }),
    );
    const next = <T>(child: ChildProcess): Promise<T> =>
        new Promise((resolve, reject) => {
            child.once("message", (message) => resolve(message as T));
            child.once("exit", (code) => reject(new Error(`publisher exited with ${code}`)));
        });
    await Promise.all(
        children.map((child, half) => {
            const ready = next(child);
            child.send({ ...job, devices: halves[half], offset: half * halves[0]!.length });
            return ready;
        }),
    );
    const results = await Promise.all(
        children.map((child) => {
            const done = next<{ acked: number; seconds: number }>(child);
            child.send("go");
            return done;
        }),
    );
    return { acked: results.reduce((sum, r) => sum + r.acked, 0), seconds: Math.max(...results.map((r) => r.seconds)) };
}

/** Starts a bare aedes broker on an ephemeral loopback port. */
async function bareBroker(): Promise<{ url: string; close(): Promise<void> }> {
    const broker = await Aedes.createBroker();
    const server = createServer(broker.handle);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as { port: number }).port;
    return {
        url: `mqtt://127.0.0.1:${port}`,
        async close() {
            await new Promise((resolve) => server.close(resolve));
            await new Promise<void>((resolve) => broker.close(() => resolve()));
        },
    };
}

const rawDevices = () =>
    Array.from({ length: DEVICES }, (_, i) => ({ username: `d${i}`, password: "x", topic: `raw/devices/d${i}` }));

/**
 * Raw baseline 1, the loopback of performance.md L4: the same publishers, QoS 1, through a bare aedes
 * broker to one MQTT.js subscriber at QoS 1, in this process; rate = messages the subscriber received.
 */
export async function rawMqttLoopback(messagesPerDevice: number): Promise<Figures> {
    const broker = await bareBroker();
    const subscriber = mqtt.connect(broker.url, { clientId: "raw-subscriber", reconnectPeriod: 0 });
    await new Promise<void>((resolve) => subscriber.once("connect", () => resolve()));
    await subscriber.subscribeAsync("raw/devices/#", { qos: 1 });
    let received = 0;
    let last = 0n;
    subscriber.on("message", () => {
        received++;
        last = process.hrtime.bigint();
    });
    const started = process.hrtime.bigint();
    const result = await runPublishers({ url: broker.url, devices: rawDevices(), messagesPerDevice, window: WINDOW });
    const total = DEVICES * messagesPerDevice;
    const deadline = Date.now() + 30_000;
    while (received < total && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    // Publishers start timing after their logins; the subscriber's clock starts a little earlier, which
    // only makes this baseline slower (and the ratio kinder), so use the publishers' own span when larger.
    const seconds = Math.max(result.seconds, Number(last - started) / 1e9 - 0.05);
    await subscriber.endAsync();
    await broker.close();
    return {
        name: "raw MQTT.js QoS 1 loopback: publishers → aedes → subscriber",
        events: received,
        seconds,
        perSecond: received / seconds,
    };
}

/** Raw baseline 2: the same publishers against a bare aedes broker that PUBACKs at once, no subscriber. */
async function rawMqttPuback(messagesPerDevice: number): Promise<Figures> {
    const broker = await bareBroker();
    const result = await runPublishers({ url: broker.url, devices: rawDevices(), messagesPerDevice, window: WINDOW });
    await broker.close();
    return {
        name: "raw MQTT.js QoS 1 publish → aedes PUBACK, no subscriber",
        events: result.acked,
        seconds: result.seconds,
        perSecond: result.acked / result.seconds,
    };
}

/** Raw baseline 3: better-sqlite3 inserts of event-sized rows, 500 per transaction, WAL + synchronous=FULL. */
function rawSqlite(dir: string, rows: number): Figures {
    const db = new Database(join(dir, "raw.db"));
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = FULL");
    db.exec("CREATE TABLE t (seq INTEGER PRIMARY KEY, id TEXT, data TEXT, hash TEXT)");
    const insert = db.prepare("INSERT INTO t (seq, id, data, hash) VALUES (?, ?, ?, ?)");
    const payload = JSON.stringify({
        values: { sealId: "B1-1", type: "ISO18185", status: "SEALED", alerts: [] },
        raw: "x".repeat(300),
    });
    const batch = db.transaction((from: number, count: number) => {
        for (let i = from; i < from + count; i++) insert.run(i, `id-${i}`, payload, "h".repeat(64));
    });
    const started = process.hrtime.bigint();
    for (let from = 1; from <= rows; from += 500) batch(from, Math.min(500, rows - from + 1));
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    db.close();
    return { name: "raw better-sqlite3 insert, 500/tx, WAL+FULL", events: rows, seconds, perSecond: rows / seconds };
}

/** The real thing: 32 authenticated devices → embedded broker → decode → group commit → PUBACK. */
/** Where the ingest gate keeps its data and what else it runs (the sync benchmark adds a draining backlog). */
export interface GateIngestOptions {
    gateId?: string;
    dbPath?: string;
    /** More top-level YAML (e.g. a central section). */
    extraYaml?: string;
}

export async function gateIngest(
    dir: string,
    messagesPerDevice: number,
    options: GateIngestOptions = {},
): Promise<
    Figures & {
        rssMb: number;
        idleRssMb: number;
        heapMb: number;
        externalMb: number;
        liveHeapMbAfterGc?: number;
        commits: number;
    }
> {
    const devices = Array.from({ length: DEVICES }, (_, i) => ({
        id: `seal-${i}`,
        username: `seal-${i}`,
        password: `bench-password-${i}`,
    }));
    const gateId = options.gateId ?? "BENCH";
    const config = parseConfig(`
gate: { id: ${gateId} }
storage: { path: ${JSON.stringify(options.dbPath ?? join(dir, "gate.db"))} }
http: { host: 127.0.0.1, port: 0 }
broker: { mode: embedded, host: 127.0.0.1, port: 0 }
ingest: { duplicateWindowMs: 3000, rawFrameBuffer: 200 }
${options.extraYaml ?? ""}
lanes:
${sealLanesYaml(devices, 16)}
`);
    const gate = new Gate({ config, log: pino({ level: "warn" }) });
    const addresses = await gate.start();
    const before = gate.log.stats.events;
    const commitsBefore = gate.log.stats.commits;
    const idleRss = process.memoryUsage().rss;
    let peakRss = idleRss;
    let peakHeap = 0;
    let peakExternal = 0;
    const sampler = setInterval(() => {
        const usage = process.memoryUsage();
        peakRss = Math.max(peakRss, usage.rss);
        peakHeap = Math.max(peakHeap, usage.heapUsed);
        peakExternal = Math.max(peakExternal, usage.external);
    }, 100);
    const result = await runPublishers({
        url: addresses.mqtt!,
        devices: devices.map((d) => ({
            username: d.username,
            password: d.password,
            topic: `gate/${gateId}/devices/${d.id}`,
        })),
        messagesPerDevice,
        window: WINDOW,
    });
    clearInterval(sampler);
    // With --expose-gc: what stays live after the load, as opposed to garbage not yet collected.
    const gc = (globalThis as { gc?: () => void }).gc;
    gc?.();
    const liveHeapMb = gc ? process.memoryUsage().heapUsed / 2 ** 20 : undefined;
    const events = gate.log.stats.events - before;
    const commits = gate.log.stats.commits - commitsBefore;
    await gate.stop();
    if (events < result.acked) throw new Error(`only ${events} events committed for ${result.acked} PUBACKs`);
    return {
        name: "gate-edge durable ingest (32 devices, embedded broker, PUBACK after commit)",
        events: result.acked,
        seconds: result.seconds,
        perSecond: result.acked / result.seconds,
        rssMb: peakRss / 2 ** 20,
        idleRssMb: idleRss / 2 ** 20,
        heapMb: peakHeap / 2 ** 20,
        ...(liveHeapMb !== undefined && { liveHeapMbAfterGc: liveHeapMb }),
        externalMb: peakExternal / 2 ** 20,
        commits,
    };
}

export async function benchIngest(
    out: (line: string) => void,
    options: { messagesPerDevice?: number } = {},
): Promise<object> {
    const messagesPerDevice = options.messagesPerDevice ?? Number(process.env.BENCH_MESSAGES_PER_DEVICE ?? 5000);
    const dir = join(tmpdir(), `gate-edge-bench-${process.pid}`);
    mkdirSync(dir, { recursive: true });
    out(`ingest benchmark: ${DEVICES} devices × ${messagesPerDevice} QoS 1 messages, window ${WINDOW} per device`);
    // gate-edge first, so its resident memory is not the high-water mark the baselines left behind.
    const gate = await gateIngest(dir, messagesPerDevice);
    const mqttRaw = await rawMqttLoopback(messagesPerDevice);
    const pubackRaw = await rawMqttPuback(messagesPerDevice);
    const sqliteRaw = rawSqlite(dir, DEVICES * messagesPerDevice);
    const rows = [mqttRaw, pubackRaw, sqliteRaw, gate];
    out("");
    out("| measurement | events | seconds | events/s |");
    out("|---|---:|---:|---:|");
    for (const row of rows)
        out(`| ${row.name} | ${row.events} | ${row.seconds.toFixed(2)} | ${Math.round(row.perSecond)} |`);
    const ratioMqtt = gate.perSecond / mqttRaw.perSecond;
    const ratioPuback = gate.perSecond / pubackRaw.perSecond;
    const ratioSqlite = gate.perSecond / sqliteRaw.perSecond;
    out("");
    out(`gate-edge / raw MQTT QoS 1 loopback: ${(ratioMqtt * 100).toFixed(1)} %   (bar ≥ 50 %)`);
    out(`gate-edge / raw MQTT PUBACK only:    ${(ratioPuback * 100).toFixed(1)} %`);
    out(`gate-edge / raw SQLite FULL:     ${(ratioSqlite * 100).toFixed(1)} %`);
    out(`gate-edge durable events/s:      ${Math.round(gate.perSecond)}   (bar ≥ 20000)`);
    out(`events per commit (group commit): ${(gate.events / Math.max(1, gate.commits)).toFixed(1)}`);
    out(
        `peak resident memory:            ${gate.rssMb.toFixed(0)} MB (gate-edge process; load generator in child processes)`,
    );
    out(`resident memory before the load: ${gate.idleRssMb.toFixed(0)} MB`);
    out(`peak JS heap used / external:    ${gate.heapMb.toFixed(0)} MB / ${gate.externalMb.toFixed(0)} MB`);
    if (gate.liveHeapMbAfterGc !== undefined)
        out(`live JS heap after the load (GC): ${gate.liveHeapMbAfterGc.toFixed(0)} MB`);
    const result = {
        benchmark: "ingest",
        at: new Date().toISOString(),
        node: process.version,
        devices: DEVICES,
        messagesPerDevice,
        window: WINDOW,
        rawMqttLoopback: mqttRaw,
        rawMqttPuback: pubackRaw,
        rawSqlite: sqliteRaw,
        gate,
        ratioToRawMqttLoopback: ratioMqtt,
        ratioToRawMqttPuback: ratioPuback,
        ratioToRawSqlite: ratioSqlite,
        bars: { eventsPerSecond: gate.perSecond >= 20_000, ratioToRawMqttLoopback: ratioMqtt >= 0.5 },
    };
    return result;
}

/** `lanes` entries for e-seal readers, two per lane, with their MQTT logins: the ingest and soak gates. */
export function sealLanesYaml(
    devices: readonly { id: string; username: string; password: string }[],
    lanes: number,
): string {
    return Array.from(
        { length: lanes },
        (_, lane) =>
            `  - id: L${lane + 1}\n    devices:\n${devices
                .slice(lane * 2, lane * 2 + 2)
                .map(
                    (d) =>
                        `      - { id: ${d.id}, model: ${eseal.model}, auth: { username: ${d.username}, password: ${d.password} } }`,
                )
                .join("\n")}`,
    ).join("\n");
}
