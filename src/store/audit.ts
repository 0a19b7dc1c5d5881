import { chainHash, GENESIS_HASH } from "../core/canonical.ts";
import { type AuditChainReport, AuditLog } from "./auditLog.ts";
import { type Db, isStoreDamage, unreadableReason } from "./db.ts";
import { type EventRow, hashedPart, rowToEvent } from "./eventLog.ts";

export interface ChainReport {
    ok: boolean;
    events: number;
    headSeq: number;
    /**
     * The first event that does not fit the chain, and why. No id when the rows from `seq` on cannot be
     * read at all (damaged pages).
     */
    firstBroken?: { seq: number; id?: string; reason: string };
}

/**
 * Walks the whole event log in seq order and checks that seq has no gap, every event links to the hash of
 * the one before it, and every hash matches its content. Streams rows, so a large log needs little memory.
 * Damaged pages end the walk as a broken chain at the first seq that cannot be read, not as an exception.
 */
export function verifyChain(db: Db): ChainReport {
    let expectedSeq: number | undefined;
    let prevHash = GENESIS_HASH;
    let count = 0;
    let headSeq = 0;
    try {
        for (const row of db.prepare("SELECT * FROM events ORDER BY seq").iterate() as IterableIterator<EventRow>) {
            count++;
            headSeq = row.seq;
            const broken = (reason: string): ChainReport => ({
                ok: false,
                events: count,
                headSeq,
                firstBroken: { seq: row.seq, id: row.id, reason },
            });
            // The first event of a pruned log may start later than 1; from there on, no gaps.
            if (expectedSeq !== undefined && row.seq !== expectedSeq) {
                return broken(`seq jumps from ${expectedSeq - 1} to ${row.seq}`);
            }
            if (expectedSeq === undefined && row.seq === 1 && row.prev_hash !== GENESIS_HASH) {
                return broken("the first event does not start from the genesis hash");
            }
            if (expectedSeq !== undefined && row.prev_hash !== prevHash) {
                return broken(
                    `prevHash ${row.prev_hash.slice(0, 12)}… does not match the hash of event ${row.seq - 1}`,
                );
            }
            let event: ReturnType<typeof rowToEvent>;
            try {
                event = rowToEvent(row);
            } catch {
                return broken("data is not valid JSON");
            }
            const recomputed = chainHash(row.prev_hash, hashedPart(event));
            if (recomputed !== row.hash) return broken("hash does not match the event's content");
            prevHash = row.hash;
            expectedSeq = row.seq + 1;
        }
    } catch (err) {
        if (!isStoreDamage(err)) throw err;
        return {
            ok: false,
            events: count,
            headSeq,
            firstBroken: { seq: headSeq + 1, reason: unreadableReason(err, headSeq) },
        };
    }
    return { ok: true, events: count, headSeq };
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

/** Runs `PRAGMA <check>(limit)` on the whole file or one table: SQLite's messages, or its error as one. */
function runCheck(db: Db, check: IntegrityCheck, table?: string): string[] {
    const argument = table === undefined ? String(INTEGRITY_MESSAGES_MAX) : `"${table.replaceAll('"', '""')}"`;
    try {
        // Each row is { [check]: text }; a text may hold several messages, one per line.
        const rows = db.pragma(`${check}(${argument})`) as Record<string, unknown>[];
        return rows
            .flatMap((row) => String(Object.values(row)[0]).split("\n"))
            .filter((line) => line !== "" && !line.startsWith("*** in database"));
    } catch (err) {
        // Some damage stops the check itself (e.g. a destroyed page of a b-tree it must descend).
        if (!isStoreDamage(err)) throw err;
        return [`${err.message} (${err.code})`];
    }
}

const isSound = (messages: readonly string[]): boolean => messages.length === 1 && messages[0] === "ok";

/**
 * SQLite's own check of the file, bounded in output, and when it fails, the tables it fails in (each
 * checked on its own: SQLite's messages name pages, which a technician cannot place).
 */
export function checkIntegrity(db: Db, check: IntegrityCheck = "quick_check"): IntegrityReport {
    const started = performance.now();
    const messages = runCheck(db, check).slice(0, INTEGRITY_MESSAGES_MAX);
    const tables: string[] = [];
    if (!isSound(messages)) {
        let names: string[];
        try {
            names = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]).map(
                (row) => row.name,
            );
        } catch (err) {
            if (!isStoreDamage(err)) throw err;
            names = [];
            tables.push("sqlite_master");
        }
        for (const name of names) if (!isSound(runCheck(db, check, name))) tables.push(name);
    }
    return { ok: isSound(messages), check, messages, tables, ms: Math.round(performance.now() - started) };
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
    const integrity = checkIntegrity(db, check);
    const events = verifyChain(db);
    const audit = new AuditLog(db).verify();
    return { ok: integrity.ok && events.ok && audit.ok, integrity, events, audit };
}

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
