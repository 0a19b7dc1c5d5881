/**
 * SIGKILL durability machinery shared by test/integration/sigkill.test.ts (a few kills, in `npm test`) and
 * test/resilience/sigkill-100.test.ts (the bar's 100 kills): a child `gate-edge start` with one MQTT e-seal,
 * QoS 1 ingest until a random kill, then the checks only a PUBACK promises (the read is stored) and what a
 * crash must never do (a broken file, a broken hash chain, a gap in seq).
 */
import type { ChildProcess } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import mqtt, { type MqttClient } from "mqtt";
import { chainHash, GENESIS_HASH } from "../../src/core/canonical.ts";
import { verifyChain } from "../../src/store/audit.ts";
import { openDatabase } from "../../src/store/db.ts";
import { type EventRow, hashedPart, rowToEvent } from "../../src/store/eventLog.ts";
import { latencySummary } from "../bench/stats.ts";
import { type GateLauncher, spawnGate } from "./child.ts";
import { eventually } from "./gate.ts";
import { publishSeals } from "./sealPublisher.ts";

const GATE_ID = "K01";
const SEAL_USER = "seal-1";
const SEAL_PASSWORD = "kill-test-password";

export interface KillTarget {
    configPath: string;
    dbPath: string;
}

/** Writes the one-seal gate config the kill tests run. */
export function writeKillConfig(dir: string): KillTarget {
    const dbPath = join(dir, "killed.db");
    const configPath = join(dir, "gate.yaml");
    writeFileSync(
        configPath,
        `
gate: { id: ${GATE_ID} }
storage: { path: ${JSON.stringify(dbPath)} }
http: { host: 127.0.0.1, port: 0 }
broker: { mode: embedded, host: 127.0.0.1, port: 0 }
lanes:
  - id: L1
    devices:
      - { id: ${SEAL_USER}, model: eseal-mqtt-json, auth: { username: ${SEAL_USER}, password: ${SEAL_PASSWORD} } }
`,
    );
    return { configPath, dbPath };
}

export interface RunningChild {
    child: ChildProcess;
    mqttUrl: string;
    httpUrl: string;
    /** A connected device client (its CONNACK is part of "ready"). */
    client: MqttClient;
    /** Spawn → health answered `up` and the broker accepted the device's connection. */
    readyMs: number;
}

/** Starts `gate-edge start` as a child and resolves once it is ready (see RunningChild.readyMs). */
export async function startChild(configPath: string, launcher: GateLauncher = "sources"): Promise<RunningChild> {
    const spawnedAt = performance.now();
    const { child, mqttUrl, httpUrl } = await spawnGate(configPath, {}, launcher);
    // Ready = the API answers `up` and the broker takes a device: both polled, as a supervisor would.
    for (;;) {
        const up = await fetch(`${httpUrl}/api/v1/health`)
            .then(async (res) => res.ok && ((await res.json()) as { status?: string }).status === "up")
            .catch(() => false);
        if (up) break;
        if (child.exitCode !== null) throw new Error(`gate-edge exited with ${child.exitCode} before ready`);
        await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const client = mqtt.connect(mqttUrl, { username: SEAL_USER, password: SEAL_PASSWORD, reconnectPeriod: 0 });
    client.on("error", () => undefined);
    await new Promise<void>((resolve, reject) => {
        client.once("connect", () => resolve());
        client.once("error", reject);
    });
    return { child, mqttUrl, httpUrl, client, readyMs: performance.now() - spawnedAt };
}

export interface KillRunResult {
    /** Seal ids whose PUBACK arrived: each must be in the log. */
    acked: Set<string>;
    sent: number;
    readyMs: number[];
}

/**
 * `kills` rounds of: start, publish QoS 1 with 64 in flight for `ingestMs` (random in the range), SIGKILL, then
 * the file's integrity and the hash chain checked after every kill (the chain's new part each time, all of it every 25).
 */
export async function runKillRounds(
    target: KillTarget,
    kills: number,
    options: { ingestMs: [number, number]; afterKill?: (round: number) => void; launcher?: GateLauncher },
): Promise<KillRunResult> {
    const acked = new Set<string>();
    const readyMs: number[] = [];
    let sent = 0;
    let chain: ChainTail = { seq: 0, hash: GENESIS_HASH };
    for (let round = 0; round < kills; round++) {
        const { child, client, readyMs: ready } = await startChild(target.configPath, options.launcher);
        readyMs.push(ready);
        const exited = new Promise((resolve) => child.once("exit", resolve));
        // Publish with a window of 64 in flight until the kill; only PUBACKed reads are promised.
        const publisher = publishSeals(client, {
            topic: `gate/${GATE_ID}/devices/${SEAL_USER}`,
            sealId: (n) => `K-${round}-${n}`,
            onSent: () => void sent++,
            onAcked: (sealId) => void acked.add(sealId),
        });
        const [low, high] = options.ingestMs;
        const ackedBefore = acked.size;
        await eventually(() => acked.size > ackedBefore || undefined, 30_000, "the ingest to run");
        // Then a random while on purpose: the kill must land at an arbitrary moment of a running ingest.
        await new Promise((resolve) => setTimeout(resolve, low + Math.random() * (high - low)));
        child.kill("SIGKILL");
        await exited;
        publisher.stop();
        client.end(true);
        await publisher.done;
        // The whole chain every 25 kills and at the end; in between the part written since the last check
        // (the full walk is O(events) and 100 of them would be the suite's slowest part).
        if (round % 25 === 24 || round === kills - 1) {
            checkDatabase(target.dbPath);
            chain = { seq: 0, hash: GENESIS_HASH };
        } else {
            chain = checkDatabaseTail(target.dbPath, chain);
        }
        options.afterKill?.(round);
    }
    return { acked, sent, readyMs };
}

/** Throws unless SQLite's integrity check and the whole hash chain pass. */
export function checkDatabase(dbPath: string): void {
    const db = openDatabase(dbPath, { readonly: true });
    try {
        const integrity = db.pragma("integrity_check", { simple: true });
        if (integrity !== "ok") throw new Error(`integrity_check: ${String(integrity)}`);
        const report = verifyChain(db);
        if (!report.ok) throw new Error(`hash chain broken: ${JSON.stringify(report.firstBroken)}`);
    } finally {
        db.close();
    }
}

/** The last event already checked: where the next tail check picks the chain up. */
export interface ChainTail {
    seq: number;
    hash: string;
}

/**
 * SQLite's integrity check, then the hash chain from `from` on: no seq gap, each event linked to the one
 * before and its hash matching its content (what verifyChain does for the whole log).
 */
export function checkDatabaseTail(dbPath: string, from: ChainTail): ChainTail {
    const db = openDatabase(dbPath, { readonly: true });
    try {
        const integrity = db.pragma("integrity_check", { simple: true });
        if (integrity !== "ok") throw new Error(`integrity_check: ${String(integrity)}`);
        let last = from;
        const rows = db.prepare("SELECT * FROM events WHERE seq > ? ORDER BY seq").iterate(from.seq);
        for (const row of rows as IterableIterator<EventRow>) {
            if (row.seq !== last.seq + 1) throw new Error(`seq jumps from ${last.seq} to ${row.seq}`);
            if (row.prev_hash !== last.hash) throw new Error(`event ${row.seq} does not link to event ${last.seq}`);
            if (chainHash(row.prev_hash, hashedPart(rowToEvent(row))) !== row.hash) {
                throw new Error(`event ${row.seq}: hash does not match its content`);
            }
            last = { seq: row.seq, hash: row.hash };
        }
        return last;
    } finally {
        db.close();
    }
}

/** The stored seal ids, and every seq in order (for the gap-free check). */
export function storedReads(dbPath: string): { sealIds: Set<string>; seqs: number[] } {
    const db = openDatabase(dbPath, { readonly: true });
    try {
        const sealIds = new Set(
            (db.prepare("SELECT data FROM events WHERE type = 'reading.seal'").all() as { data: string }[]).map(
                (row) => (JSON.parse(row.data) as { values: { sealId: string } }).values.sealId,
            ),
        );
        const seqs = (db.prepare("SELECT seq FROM events ORDER BY seq").all() as { seq: number }[]).map((r) => r.seq);
        return { sealIds, seqs };
    } finally {
        db.close();
    }
}

/** p50 and max of a list of durations, for the log line; the benchmarks' definition, so the figures compare. */
export function percentiles(values: readonly number[]): { p50: number; max: number } {
    const { p50, max } = latencySummary(values);
    return { p50, max };
}
