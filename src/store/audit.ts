import { type AuditChainReport, AuditLog } from "./auditLog.ts";
import { ChainWalker, type Checkpoint, type ContinuityReport, checkpointOf } from "./checkpoints.ts";
import { CHUNK_END, type Chunked, finishNow, finishYielding, seqRowsInChunks } from "./chunked.ts";
import { type Db, isStoreDamage, unreadableReason } from "./db.ts";
import type { EventRow } from "./eventLog.ts";
import { type QuerySteps, runQueriesHere, SqliteWorker } from "./sqliteWorker.ts";

export interface ChainReport {
    ok: boolean;
    events: number;
    headSeq: number;
    /**
     * The first event that does not fit the chain, and why. No id when the rows from `seq` on cannot be
     * read at all (damaged pages).
     */
    firstBroken?: { seq: number; id?: string; reason: string };
    /** What was pruned and under which checkpoints, when the walk proved the chain continuous. */
    continuity?: ContinuityReport;
}

/**
 * Walks the whole event log in seq order and checks that seq has no gap but those pruning checkpoints
 * announced (ChainWalker), every event links to the hash of the one before it or the one a checkpoint
 * states, and every hash matches its content. Reads CHAIN_CHUNK_ROWS rows at a time, up to the
 * head there was when it began (events appended meanwhile are the next verify's), and yields after each
 * chunk, so little memory is needed and a running gate can turn its event loop in between. Damaged pages
 * end the walk as a broken chain at the first seq that cannot be read, not as an exception.
 */
export function* eventChainSteps(db: Db): Chunked<ChainReport> {
    let walker: ChainWalker | undefined;
    try {
        walker = new ChainWalker(checkpointsOf(db));
        for (const row of seqRowsInChunks<EventRow>(db, "events")) {
            if (row === CHUNK_END) {
                yield;
                continue;
            }
            const reason = walker.accept(row);
            if (reason !== undefined)
                return {
                    ok: false,
                    events: walker.count + 1,
                    headSeq: row.seq,
                    firstBroken: { seq: row.seq, id: row.id, reason },
                };
        }
    } catch (err) {
        if (!isStoreDamage(err)) throw err;
        const headSeq = walker?.headSeq ?? 0;
        return {
            ok: false,
            events: walker?.count ?? 0,
            headSeq,
            firstBroken: { seq: headSeq + 1, reason: unreadableReason(err, headSeq) },
        };
    }
    const end = walker.finish();
    if ("broken" in end)
        return {
            ok: false,
            events: walker.count,
            headSeq: walker.headSeq,
            firstBroken: { seq: walker.headSeq, reason: end.broken },
        };
    // An unpruned log reports as it always did; a pruned one says what was pruned and under what.
    const pruned = end.report.checkpoints.length > 0;
    return { ok: true, events: walker.count, headSeq: walker.headSeq, ...(pruned && { continuity: end.report }) };
}

/**
 * The checkpoint events of the log, found through the checkpoints table (filled by a trigger as each is
 * committed); their content is proven by the chain walk that crosses them. None in a database older than
 * retention.
 */
export function checkpointsOf(db: Db): Checkpoint[] {
    const hasTable = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'checkpoints'").get();
    if (hasTable === undefined) return [];
    const rows = db
        .prepare(
            "SELECT e.seq, e.type, e.data, e.recorded_at FROM checkpoints c JOIN events e ON e.seq = c.seq ORDER BY e.seq",
        )
        .all() as Pick<EventRow, "seq" | "type" | "data" | "recorded_at">[];
    return rows.flatMap((row) => checkpointOf(row) ?? []);
}

/** The event log's chain walk (eventChainSteps) in one go. */
export function verifyChain(db: Db): ChainReport {
    return finishNow(eventChainSteps(db));
}

/** At most this many of SQLite's own messages are kept: a badly damaged file yields thousands. */
export const INTEGRITY_MESSAGES_MAX = 20;

export type IntegrityCheck = "quick_check" | "integrity_check";

export interface IntegrityReport {
    ok: boolean;
    /**
     * quick_check: every page of every table and index is well formed (reads the whole file once);
     * integrity_check: also that every index matches its table (slower).
     */
    check: IntegrityCheck;
    /** SQLite's messages ("ok" when sound), at most INTEGRITY_MESSAGES_MAX. */
    messages: string[];
    /** The tables whose pages (or indexes) fail the check. */
    tables: string[];
    ms: number;
}

/** `PRAGMA <check>(limit)` on the whole file or one table: SQLite's messages, or its error as one. */
function* checkMessages(check: IntegrityCheck, table?: string): QuerySteps<string[]> {
    const argument = table === undefined ? String(INTEGRITY_MESSAGES_MAX) : `"${table.replaceAll('"', '""')}"`;
    const outcome = yield `PRAGMA ${check}(${argument})`;
    if ("error" in outcome) {
        // Some damage stops the check itself (e.g. a destroyed page of a b-tree it must descend).
        if (!isStoreDamage(outcome.error)) throw outcome.error;
        return [`${outcome.error.message} (${outcome.error.code})`];
    }
    // Each row is { [check]: text }; a text may hold several messages, one per line.
    return outcome.rows
        .flatMap((row) => String(Object.values(row)[0]).split("\n"))
        .filter((line) => line !== "" && !line.startsWith("*** in database"));
}

const isSound = (messages: readonly string[]): boolean => messages.length === 1 && messages[0] === "ok";

/**
 * SQLite's own check of the file, bounded in output, and when it fails, the tables it fails in (each
 * checked on its own: SQLite's messages name pages, which a technician cannot place). Written as the
 * queries it needs, so it runs on a connection here (checkIntegrity) or on a worker thread
 * (checkIntegrityOffThread).
 */
function* integritySteps(check: IntegrityCheck): QuerySteps<IntegrityReport> {
    const started = performance.now();
    const messages = (yield* checkMessages(check)).slice(0, INTEGRITY_MESSAGES_MAX);
    const tables: string[] = [];
    if (!isSound(messages)) {
        const listed = yield "SELECT name FROM sqlite_master WHERE type = 'table'";
        let names: string[] = [];
        if ("rows" in listed) names = listed.rows.map((row) => String(row.name));
        else if (isStoreDamage(listed.error)) tables.push("sqlite_master");
        else throw listed.error;
        for (const name of names) if (!isSound(yield* checkMessages(check, name))) tables.push(name);
    }
    return { ok: isSound(messages), check, messages, tables, ms: Math.round(performance.now() - started) };
}

/** SQLite's check of the file on this connection, blocking this thread while it reads the whole file. */
export function checkIntegrity(db: Db, check: IntegrityCheck = "quick_check"): IntegrityReport {
    return runQueriesHere(db, integritySteps(check));
}

/** A check running on a worker thread: its report, and how to stop it (the gate stops). */
export interface IntegrityRun {
    /** Rejects with STORE_CLOSED when stopped first, or with an error that is not damage (file gone …). */
    report: Promise<IntegrityReport>;
    stop(): Promise<void>;
}

/**
 * SQLite's check of a database's file on a worker thread with its own read-only connection: seconds per GB
 * of reading during which this thread goes on serving the lanes. Sees what is committed. An in-memory
 * database has no file another connection could open; it is checked here (it is small).
 */
export function checkIntegrityOffThread(db: Db, check: IntegrityCheck = "quick_check"): IntegrityRun {
    if (db.memory) {
        const report = new Promise<IntegrityReport>((resolve) => resolve(checkIntegrity(db, check)));
        void report.catch(() => undefined); // a caller that stopped early no longer waits for it
        return { report, stop: async () => undefined };
    }
    const worker = new SqliteWorker(db.name);
    const report = worker.run(integritySteps(check));
    // Its work done (or failed), the thread ends; a caller that stopped early no longer waits for it.
    void report.finally(() => worker.stop()).catch(() => undefined);
    return { report, stop: () => worker.stop() };
}

/** Everything in a gate database that can be verified: the file itself, the event log and the audit log. */
export interface EvidenceReport {
    ok: boolean;
    integrity: IntegrityReport;
    events: ChainReport;
    audit: AuditChainReport;
}

/**
 * Verifies the evidence of a gate database: SQLite's check of the file, the hash chain of the event log and
 * the hash chain of the audit log. Each part is checked even when another fails, so the report names every
 * broken part; damage is reported, never thrown.
 */
export function verifyEvidence(db: Db, check: IntegrityCheck = "integrity_check"): EvidenceReport {
    return evidenceReport(checkIntegrity(db, check), verifyChain(db), new AuditLog(db).verify());
}

/**
 * verifyEvidence for the running gate, without stalling its lanes: SQLite's check on a worker thread while
 * the two chain walks run here a chunk at a time, each chunk followed by a turn of the event loop. An
 * aborted signal (the gate stops) ends it with STORE_CLOSED and stops the worker.
 */
export async function verifyEvidenceYielding(
    db: Db,
    check: IntegrityCheck,
    signal?: AbortSignal,
): Promise<EvidenceReport> {
    const integrityRun = checkIntegrityOffThread(db, check);
    const stop = (): void => void integrityRun.stop();
    signal?.addEventListener("abort", stop, { once: true });
    try {
        const events = await finishYielding(eventChainSteps(db), signal);
        const audit = await finishYielding(new AuditLog(db).verifySteps(), signal);
        return evidenceReport(await integrityRun.report, events, audit);
    } finally {
        signal?.removeEventListener("abort", stop);
        await integrityRun.stop();
    }
}

const evidenceReport = (integrity: IntegrityReport, events: ChainReport, audit: AuditChainReport): EvidenceReport => ({
    ok: integrity.ok && events.ok && audit.ok,
    integrity,
    events,
    audit,
});

/** What is broken, one plain line per part, for a technician's terminal and the logs; empty when sound. */
export function evidenceProblems(report: EvidenceReport): string[] {
    const problems: string[] = [];
    const { integrity, events, audit } = report;
    if (!integrity.ok) {
        const where = integrity.tables.length > 0 ? ` in table(s) ${integrity.tables.join(", ")}` : "";
        problems.push(`SQLite ${integrity.check} failed${where}: ${integrity.messages.join("; ")}`);
    }
    if (events.firstBroken) {
        const id = events.firstBroken.id === undefined ? "" : ` (event ${events.firstBroken.id})`;
        problems.push(
            `event log hash chain BROKEN at seq ${events.firstBroken.seq}${id}: ${events.firstBroken.reason}`,
        );
    }
    if (audit.firstBroken) {
        problems.push(`audit log hash chain BROKEN at seq ${audit.firstBroken.seq}: ${audit.firstBroken.reason}`);
    }
    return problems;
}
