import { createHash } from "node:crypto";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Logger } from "pino";
import type { Clock } from "../core/clock.ts";
import { errorMessage } from "../core/errors.ts";
import type { GateEvent, GateEventDraft } from "../core/events.ts";
import { exportArchiveSteps } from "./archive.ts";
import { checkpointsOf } from "./audit.ts";
import {
    CHECKPOINT_TYPE,
    type Checkpoint,
    type CheckpointData,
    checkpointOf,
    type PruneCandidate,
    planSegments,
    type RangeAcknowledgement,
} from "./checkpoints.ts";
import { type Chunked, finishYielding } from "./chunked.ts";
import type { Db } from "./db.ts";
import type { EventRow } from "./eventLog.ts";
import { databaseBytes } from "./quota.ts";
import { firstSeqAtOrAfter } from "./seqTime.ts";

const DAY_MS = 86_400_000;
/** The least log the growth rate is measured over (storageStatus). */
export const MIN_RATE_SPAN_MS = 3_600_000;

/**
 * Rows one pruning transaction removes. Each deletion checks the delete trigger (outbox, checkpoints) and
 * updates the id index: ~5 µs a row, so a step holds the writer (and the event loop) ~1–2 ms; a lane's
 * commit waits no longer than that. The bench (`npm run bench -- retention`) reports the longest step.
 */
export const PRUNE_BATCH_ROWS = 256;
/** Pages one incremental vacuum step returns to the file system (4 KiB each: 512 KiB a step). */
export const VACUUM_STEP_PAGES = 128;
/** Steps between two passive WAL checkpoints while pruning runs. */
const WAL_CHECKPOINT_EVERY_STEPS = 8;
/** Most events one checkpoint announces: a run's deletions are bounded, the next run goes on. */
export const MAX_EVENTS_PER_CHECKPOINT = 200_000;
/** Present rows the planner reads per chunk before it yields. */
const PLAN_CHUNK_ROWS = 1024;

export interface RetentionOptions {
    gateId: string;
    /** Events central accepted leave the log this many days after they were recorded. */
    retentionDays: number;
    /** Where an archive of each pruned range is written before it is pruned (storage.archiveDir). */
    archiveDir?: string;
    /** How often pruning runs. */
    checkEveryMs: number;
    /** The database file, for its size (absent: in memory). */
    path?: string;
    quotaMb: number;
}

export interface RetentionDeps {
    db: Db;
    clock: Clock;
    log: Logger;
    /** Appends through the gate's event log: the checkpoint is an event of the chain. */
    append(draft: GateEventDraft): Promise<GateEvent>;
}

export interface PruneReport {
    checkpoint?: Checkpoint;
    /** Events removed by this run (including an earlier run's checkpoint it finished). */
    removed: number;
    steps: number;
    longestStepMs: number;
    /** What the longest step was (delete, vacuum, wal checkpoint …), for the bench. */
    longestStep: string;
    /** Median and 99th percentile of the steps' durations (ms): what a lane's commit may wait behind. */
    stepP50Ms: number;
    stepP99Ms: number;
    vacuumedPages: number;
}

/** Days of headroom and the state of pruning, for doctor, /api/v1/storage and the dashboard's sync page. */
export interface StorageStatus {
    retentionDays: number;
    usedBytes: number;
    quotaBytes: number;
    /** Events recorded in the last day (or the span the log covers, scaled to a day). */
    eventsPerDay: number;
    bytesPerDay: number;
    /**
     * Days until the quota at the current rate if nothing could be pruned (central out of reach); null: no growth,
     * or too little history to tell (rateSpanMs under an hour).
     */
    headroomDays: number | null;
    /** How much of the log the rate is measured over (ms, at most a day): under an hour there is no estimate. */
    rateSpanMs: number;
    /** The oldest event central has not accepted. */
    oldestUnsynced: { seq: number; recordedAt: string } | null;
    lastCheckpoint: {
        seq: number;
        recordedAt: string;
        firstSeq: number;
        lastSeq: number;
        count: number;
        acknowledgement: RangeAcknowledgement;
        done: boolean;
    } | null;
    /** Events pruned since the log began (all checkpoints). */
    prunedEvents: number;
    lastRun: { at: string; removed: number; longestStepMs: number; error?: string } | null;
}

/** Runs one bounded piece of pruning work synchronously and times it. */
type Step = <T>(name: string, work: () => T) => T;

const yieldTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Retention of what central holds: every checkEveryMs, events that central accepted (no outbox row) and that
 * were recorded more than retentionDays ago leave the log — after a `store.checkpoint` event (the range, the
 * hash of its last event, the count, central's acknowledgement) is committed to the chain, optionally after
 * an archive of the range was written. Deletions run PRUNE_BATCH_ROWS per transaction with a turn of the event
 * loop between; freed pages go back to the file system by incremental vacuum in steps, then the WAL is
 * checkpointed (truncated). A stop or crash midway leaves a checkpoint not done: the next start finishes
 * it first. The delete trigger of migration 7 refuses anything else, whatever the code here does.
 */
export class Retention {
    private timer: NodeJS.Timeout | undefined;
    private running: Promise<unknown> | undefined;
    private readonly abort = new AbortController();
    private lastRun: StorageStatus["lastRun"] = null;
    private statusCache: { at: number; status: StorageStatus } | undefined;

    constructor(
        private readonly deps: RetentionDeps,
        private readonly options: RetentionOptions,
    ) {}

    start(): void {
        this.schedule(0);
    }

    async stop(): Promise<void> {
        clearTimeout(this.timer);
        this.timer = undefined;
        this.abort.abort();
        await this.running?.catch(() => undefined);
    }

    private schedule(ms: number): void {
        if (this.abort.signal.aborted) return;
        this.timer = setTimeout(() => {
            this.running = this.run().finally(() => this.schedule(this.options.checkEveryMs));
        }, ms);
        this.timer.unref();
    }

    private async run(): Promise<void> {
        try {
            const report = await this.pruneNow();
            if (report.removed > 0)
                this.deps.log.info(
                    {
                        removed: report.removed,
                        checkpointSeq: report.checkpoint?.seq,
                        longestStepMs: Math.round(report.longestStepMs * 10) / 10,
                        vacuumedPages: report.vacuumedPages,
                    },
                    "events central accepted and past retention pruned",
                );
        } catch (err) {
            if (this.abort.signal.aborted) return;
            this.lastRun = {
                at: new Date(this.deps.clock.now()).toISOString(),
                removed: 0,
                longestStepMs: 0,
                error: errorMessage(err),
            };
            this.deps.log.error({ err }, "pruning failed; the store keeps everything until the next run");
        }
    }

    /**
     * One run: finishes any checkpoint whose deletions stopped midway, announces the next eligible range and
     * removes it, returns the space, bounds the WAL. Yields a turn of the event loop after each step.
     */
    async pruneNow(): Promise<PruneReport> {
        const report: PruneReport = {
            removed: 0,
            steps: 0,
            longestStepMs: 0,
            longestStep: "",
            stepP50Ms: 0,
            stepP99Ms: 0,
            vacuumedPages: 0,
        };
        const durations: number[] = [];
        const step: Step = (name, work) => {
            // The WAL is written back a little at a time (a passive checkpoint every few steps): it stays
            // bounded while pruning runs, and no single checkpoint at the end has the whole run to copy.
            if (report.steps % WAL_CHECKPOINT_EVERY_STEPS === WAL_CHECKPOINT_EVERY_STEPS - 1) {
                report.steps++;
                const started = performance.now();
                this.deps.db.pragma("wal_checkpoint(PASSIVE)");
                durations.push(performance.now() - started);
            }
            const started = performance.now();
            try {
                return work();
            } finally {
                report.steps++;
                const ms = performance.now() - started;
                durations.push(ms);
                if (ms > report.longestStepMs) {
                    report.longestStepMs = ms;
                    report.longestStep = name;
                }
            }
        };
        await this.finishCheckpoints(report, step);
        const cutoff = new Date(this.deps.clock.now() - this.options.retentionDays * DAY_MS);
        const segments = await finishYielding(this.planSteps(cutoff.toISOString()), this.abort.signal);
        if (segments.length > 0) {
            const firstSeq = segments[0]!.firstSeq;
            const last = segments[segments.length - 1]!;
            const data: CheckpointData = {
                firstSeq,
                lastSeq: last.lastSeq,
                count: segments.reduce((sum, segment) => sum + segment.count, 0),
                lastHash: last.lastHash,
                segments,
                olderThan: cutoff.toISOString(),
                retentionDays: this.options.retentionDays,
                acknowledgement: this.acknowledgementOf(firstSeq, last.lastSeq),
            };
            if (this.options.archiveDir !== undefined) {
                mkdirSync(this.options.archiveDir, { recursive: true });
                const file = join(this.options.archiveDir, `${this.options.gateId}-${firstSeq}-${last.lastSeq}.gea`);
                const summary = await await finishYielding(
                    exportArchiveSteps(this.deps.db, {
                        file,
                        fromSeq: firstSeq,
                        toSeq: last.lastSeq,
                        gateId: this.options.gateId,
                        now: new Date(this.deps.clock.now()),
                    }),
                    this.abort.signal,
                );
                data.archive = { file, sha256: summary.sha256 };
            }
            // Checkpoint data is plain JSON (numbers, strings, arrays and objects of them), a JsonValue by
            // construction; TypeScript cannot see that through the named interfaces.
            const event = await this.deps.append({
                type: "store.checkpoint",
                data: data as unknown as GateEventDraft["data"],
            });
            report.checkpoint = { seq: event.seq, recordedAt: event.recordedAt, data };
            await this.finishCheckpoints(report, step);
        }
        await this.pruneProjections(cutoff.toISOString(), step);
        await this.vacuum(report, step);
        step("wal checkpoint", () => this.deps.db.pragma("wal_checkpoint(TRUNCATE)"));
        durations.sort((x, y) => x - y);
        report.stepP50Ms = durations[Math.floor(durations.length * 0.5)] ?? 0;
        report.stepP99Ms = durations[Math.min(durations.length - 1, Math.floor(durations.length * 0.99))] ?? 0;
        this.lastRun = {
            at: new Date(this.deps.clock.now()).toISOString(),
            removed: report.removed,
            longestStepMs: report.longestStepMs,
        };
        this.statusCache = undefined;
        return report;
    }

    /**
     * The runs of removable rows from the oldest present event on: accepted by central, recorded before the
     * cutoff, not a checkpoint. Stops at the first event recorded after the cutoff, and after
     * MAX_EVENTS_PER_CHECKPOINT removable ones. Only rows present are read (pruned seqs are not there).
     */
    private *planSteps(cutoff: string): Chunked<ReturnType<typeof planSegments>> {
        // Checkpoint rows stay for ever and pile up at the old end of the log: they are taken from the small
        // checkpoints table, not re-read and tested row by row at every run.
        const checkpointSeqs = (
            this.deps.db.prepare("SELECT seq FROM checkpoints ORDER BY seq").all() as { seq: number }[]
        ).map((row) => row.seq);
        let nextCheckpoint = 0;
        const read = this.deps.db.prepare(
            `SELECT e.seq, e.hash, e.recorded_at,
                    EXISTS (SELECT 1 FROM outbox o WHERE o.class IN (0, 1, 2, 3, 4) AND o.seq = e.seq) AS queued
               FROM events e WHERE e.seq > ? AND e.type != '${CHECKPOINT_TYPE}' ORDER BY e.seq LIMIT ?`,
        );
        const candidates: PruneCandidate[] = [];
        let removable = 0;
        let after = Number.MIN_SAFE_INTEGER;
        for (;;) {
            const rows = read.all(after, PLAN_CHUNK_ROWS) as {
                seq: number;
                hash: string;
                recorded_at: string;
                queued: number;
            }[];
            for (const row of rows) {
                if (row.recorded_at >= cutoff || removable >= MAX_EVENTS_PER_CHECKPOINT)
                    return planSegments(candidates);
                // A checkpoint row between the last candidate and this one stays: it ends a segment.
                while (nextCheckpoint < checkpointSeqs.length && (checkpointSeqs[nextCheckpoint] as number) < row.seq) {
                    candidates.push({ seq: checkpointSeqs[nextCheckpoint] as number, hash: "", removable: false });
                    nextCheckpoint++;
                }
                const ok = row.queued === 0;
                candidates.push({ seq: row.seq, hash: row.hash, removable: ok });
                if (ok) removable++;
                after = row.seq;
            }
            if (rows.length < PLAN_CHUNK_ROWS) return planSegments(candidates);
            yield;
        }
    }

    /** Central's answers for batches holding events of firstSeq..lastSeq, as one digest. */
    private acknowledgementOf(firstSeq: number, lastSeq: number): RangeAcknowledgement {
        const rows = this.deps.db
            .prepare("SELECT at, digest FROM central_acks WHERE first_seq <= ? AND last_seq >= ? ORDER BY id")
            .all(lastSeq, firstSeq) as { at: string; digest: string }[];
        if (rows.length === 0) return { batches: 0 };
        const digest = createHash("sha256");
        for (const row of rows) digest.update(row.digest);
        return {
            batches: rows.length,
            firstAt: rows[0]!.at,
            lastAt: rows[rows.length - 1]!.at,
            digest: digest.digest("hex"),
        };
    }

    /** Deletes what each announced, unfinished checkpoint names, in steps, oldest first; marks each done. */
    private async finishCheckpoints(report: PruneReport, step: Step): Promise<void> {
        const { db } = this.deps;
        const open = (
            db
                .prepare(
                    "SELECT e.seq, e.type, e.data, e.recorded_at FROM checkpoints c JOIN events e ON e.seq = c.seq WHERE c.done = 0 ORDER BY c.seq",
                )
                .all() as Pick<EventRow, "seq" | "type" | "data" | "recorded_at">[]
        ).flatMap((row) => checkpointOf(row) ?? []);
        const remove = db.prepare(
            "DELETE FROM events WHERE seq IN (SELECT seq FROM events WHERE seq >= ? AND seq <= ? ORDER BY seq LIMIT ?)",
        );
        for (const checkpoint of open) {
            const { seq } = checkpoint;
            // Steps of PRUNE_BATCH_ROWS rows, across segments (a segment may be a handful of rows between two
            // events central has not accepted), each in one transaction, with a turn of the loop after each.
            const segments = checkpoint.data.segments;
            let index = 0;
            while (index < segments.length) {
                if (this.abort.signal.aborted) return;
                report.removed += step("delete events", () =>
                    db.transaction(() => {
                        let budget = PRUNE_BATCH_ROWS;
                        while (budget > 0 && index < segments.length) {
                            const segment = segments[index] as (typeof segments)[number];
                            const removed = remove.run(segment.firstSeq, segment.lastSeq, budget).changes;
                            if (removed < budget) index++;
                            budget -= removed;
                        }
                        return PRUNE_BATCH_ROWS - budget;
                    })(),
                );
                await yieldTurn();
            }
            step("checkpoint done", () =>
                db.transaction(() => {
                    db.prepare("UPDATE checkpoints SET done = 1 WHERE seq = ?").run(seq);
                    // Acknowledgements of batches wholly before what is left are named by checkpoints now.
                    db.prepare(`DELETE FROM central_acks WHERE first_seq < @left AND last_seq < @left`).run({
                        left: (
                            db
                                .prepare("SELECT COALESCE(MIN(seq), 0) AS seq FROM events WHERE seq > ? AND type != ?")
                                .get(checkpoint.data.lastSeq - 1, CHECKPOINT_TYPE) as { seq: number }
                        ).seq,
                    });
                })(),
            );
            await yieldTurn();
        }
    }

    /**
     * The dashboard's projections of what left the log: completed passages opened before the cutoff, and
     * alerts an officer acknowledged that were raised before it. The event log stays the evidence.
     */
    private async pruneProjections(cutoff: string, step: Step): Promise<void> {
        const { db } = this.deps;
        const passages = db.prepare(
            `DELETE FROM passages WHERE passage_id IN
               (SELECT passage_id FROM passages WHERE opened_at < ? AND completed_at IS NOT NULL LIMIT ?)`,
        );
        const alerts = db.prepare(
            `DELETE FROM alerts WHERE seq IN
               (SELECT seq FROM alerts WHERE raised_at < ? AND acknowledged_at IS NOT NULL ORDER BY seq LIMIT ?)`,
        );
        for (const statement of [passages, alerts]) {
            for (;;) {
                if (this.abort.signal.aborted) return;
                if (
                    step("delete projections", () => statement.run(cutoff, PRUNE_BATCH_ROWS).changes) < PRUNE_BATCH_ROWS
                )
                    break;
                await yieldTurn();
            }
        }
    }

    /** Returns freed pages to the file system, VACUUM_STEP_PAGES at a time (needs auto_vacuum=INCREMENTAL). */
    private async vacuum(report: PruneReport, step: Step): Promise<void> {
        const { db } = this.deps;
        for (;;) {
            if (this.abort.signal.aborted) return;
            const free = db.pragma("freelist_count", { simple: true }) as number;
            if (free === 0 || (db.pragma("auto_vacuum", { simple: true }) as number) !== 2) return;
            step("incremental vacuum", () => db.pragma(`incremental_vacuum(${VACUUM_STEP_PAGES})`));
            report.vacuumedPages += Math.min(free, VACUUM_STEP_PAGES);
            await yieldTurn();
        }
    }

    /** Days of headroom, the oldest unsynced event, the last checkpoint; measured at most every 30 s. */
    status(): StorageStatus {
        const now = this.deps.clock.now();
        if (this.statusCache && now - this.statusCache.at < 30_000) return this.statusCache.status;
        const status = storageStatus(this.deps.db, {
            now,
            retentionDays: this.options.retentionDays,
            quotaMb: this.options.quotaMb,
            ...(this.options.path !== undefined && { path: this.options.path }),
            lastRun: this.lastRun,
        });
        this.statusCache = { at: now, status };
        return status;
    }
}

/**
 * The storage status of a database, for the running gate (Retention.status) and for doctor (read-only).
 * The rate is the events recorded in the last day (the log's span when shorter, scaled to a day) times the
 * bytes an event takes now (used bytes / events present).
 */
export function storageStatus(
    db: Db,
    options: { now: number; retentionDays: number; quotaMb: number; path?: string; lastRun?: StorageStatus["lastRun"] },
): StorageStatus {
    const usedBytes =
        options.path !== undefined
            ? databaseBytes(options.path)
            : (db.pragma("page_count", { simple: true }) as number) *
              (db.pragma("page_size", { simple: true }) as number);
    const quotaBytes = options.quotaMb * 1024 * 1024;
    const head = db.prepare("SELECT seq, recorded_at FROM events ORDER BY seq DESC LIMIT 1").get() as
        | { seq: number; recorded_at: string }
        | undefined;
    const first = db.prepare("SELECT seq, recorded_at FROM events ORDER BY seq LIMIT 1").get() as
        | { seq: number; recorded_at: string }
        | undefined;
    let eventsPerDay = 0;
    let rateSpanMs = 0;
    if (head && first) {
        const dayAgo = new Date(options.now - DAY_MS).toISOString();
        const since = firstSeqAtOrAfter(db, dayAgo) ?? head.seq + 1;
        rateSpanMs = Math.max(0, Math.min(DAY_MS, options.now - Date.parse(first.recorded_at)));
        // A fresh gate's first minutes (its start-up burst, the database's fixed pages over a few events) scaled
        // to a day would read as a store full tomorrow: no rate before an hour of log.
        if (rateSpanMs >= MIN_RATE_SPAN_MS) eventsPerDay = ((head.seq - since + 1) * DAY_MS) / rateSpanMs;
    }

    const oldest = db
        .prepare(
            // One look-up per class in the (class, seq) key, not a scan of the backlog.
            `SELECT seq, recorded_at FROM events WHERE seq = (SELECT MIN(seq) FROM (
                SELECT (SELECT MIN(seq) FROM outbox WHERE class = 0) AS seq
                UNION ALL SELECT (SELECT MIN(seq) FROM outbox WHERE class = 1)
                UNION ALL SELECT (SELECT MIN(seq) FROM outbox WHERE class = 2)
                UNION ALL SELECT (SELECT MIN(seq) FROM outbox WHERE class = 3)
                UNION ALL SELECT (SELECT MIN(seq) FROM outbox WHERE class = 4)))`,
        )
        .get() as { seq: number; recorded_at: string } | undefined;
    const checkpoints = checkpointsOf(db);
    const last = checkpoints[checkpoints.length - 1];
    const prunedEvents = checkpoints.reduce((sum, checkpoint) => sum + checkpoint.data.count, 0);
    // Events present, from the head and what checkpoints removed: no COUNT(*) walk over a large log.
    const present = Math.max(0, (head?.seq ?? 0) - prunedEvents);
    const bytesPerDay = present > 0 ? (usedBytes / present) * eventsPerDay : 0;
    const lastDone =
        last === undefined
            ? false
            : (db.prepare("SELECT done FROM checkpoints WHERE seq = ?").get(last.seq) as { done: number }).done === 1;
    return {
        retentionDays: options.retentionDays,
        usedBytes,
        quotaBytes,
        eventsPerDay: Math.round(eventsPerDay),
        bytesPerDay: Math.round(bytesPerDay),
        headroomDays: bytesPerDay > 0 ? Math.max(0, (quotaBytes - usedBytes) / bytesPerDay) : null,
        rateSpanMs,
        oldestUnsynced: oldest ? { seq: oldest.seq, recordedAt: oldest.recorded_at } : null,
        lastCheckpoint: last
            ? {
                  seq: last.seq,
                  recordedAt: last.recordedAt,
                  firstSeq: last.data.firstSeq,
                  lastSeq: last.data.lastSeq,
                  count: last.data.count,
                  acknowledgement: last.data.acknowledgement,
                  done: lastDone,
              }
            : null,
        prunedEvents,
        lastRun: options.lastRun ?? null,
    };
}

/** The retention part of a gate from its configuration (storage.*). */
export function retentionOf(
    storage: { path: string; quotaMb: number; retentionDays: number; retentionCheckMs: number; archiveDir?: string },
    gateId: string,
    deps: RetentionDeps,
): Retention {
    return new Retention(deps, {
        gateId,
        retentionDays: storage.retentionDays,
        checkEveryMs: storage.retentionCheckMs,
        quotaMb: storage.quotaMb,
        ...(storage.path !== ":memory:" && { path: storage.path }),
        ...(storage.archiveDir !== undefined && { archiveDir: storage.archiveDir }),
    });
}

/** A storage status in plain words, each with how worried a technician should be (doctor's lines). */
export function storageFindings(status: StorageStatus, now: number): { level: "ok" | "warn"; message: string }[] {
    const mib = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
    const findings: { level: "ok" | "warn"; message: string }[] = [];
    if (status.headroomDays === null && status.rateSpanMs < MIN_RATE_SPAN_MS) {
        findings.push({
            level: "ok",
            message: "the log covers less than an hour: the headroom is estimated once the gate has run an hour",
        });
    } else if (status.headroomDays === null) {
        findings.push({ level: "ok", message: "no events recorded in the last day: the store is not growing" });
    } else {
        const days = status.headroomDays;
        findings.push({
            level: days < 7 ? "warn" : "ok",
            message: `at the current rate (${status.eventsPerDay} events, ${mib(status.bytesPerDay)} a day) the store reaches its quota in ${days.toFixed(1)} day(s) if central stays away; while central accepts, pruning past storage.retentionDays (${status.retentionDays} d) keeps it level`,
        });
    }
    if (status.oldestUnsynced) {
        const ageDays = (now - Date.parse(status.oldestUnsynced.recordedAt)) / DAY_MS;
        findings.push({
            level: ageDays > 1 ? "warn" : "ok",
            message: `the oldest event central has not accepted is seq ${status.oldestUnsynced.seq}, recorded ${status.oldestUnsynced.recordedAt} (${ageDays.toFixed(1)} day(s) ago); it is kept until central accepts it`,
        });
    } else findings.push({ level: "ok", message: "central has accepted every event" });
    const last = status.lastCheckpoint;
    findings.push({
        level: "ok",
        message: last
            ? `last pruning checkpoint: seq ${last.seq} at ${last.recordedAt}, ${last.count} event(s) of seq ${last.firstSeq}..${last.lastSeq}${last.done ? "" : " (its deletions are still running)"}; ${status.prunedEvents} pruned in all`
            : "nothing pruned yet (no checkpoint)",
    });
    return findings;
}
