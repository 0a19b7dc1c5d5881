import { canonicalJson, chainHash, GENESIS_HASH } from "../core/canonical.ts";
import type { JsonValue } from "../core/events.ts";
import { CHUNK_END, type Chunked, finishNow, seqRowsInChunks } from "./chunked.ts";
import { type Db, isStoreDamage, unreadableReason } from "./db.ts";

export type AuditOutcome = "ok" | "denied" | "failed";

/** What one person did (or tried to do), as written to the audit log. */
export interface AuditDraft {
    /** User name; "anonymous" for a request without a session, "cli:<os user>" from the command line. */
    user: string;
    role?: string;
    /** Dotted verb: auth.login, passage.view, passage.action, access.denied … */
    action: string;
    /** What it was done to: passage:<id>, user:<name>, "GET /api/v1/audit" … */
    target?: string;
    outcome: AuditOutcome;
    ip: string;
    detail?: { [key: string]: JsonValue | undefined };
}

export interface AuditEntry extends AuditDraft {
    seq: number;
    at: string;
}

interface AuditRaw {
    seq: number;
    at: string;
    user_name: string;
    role: string | null;
    action: string;
    target: string | null;
    outcome: AuditOutcome;
    ip: string;
    detail: string | null;
    prev_hash: string;
    hash: string;
}

/** The part the hash covers: every column but the two hashes, with absent values left out. */
function hashedPart(row: Omit<AuditRaw, "prev_hash" | "hash">): object {
    return {
        seq: row.seq,
        at: row.at,
        user: row.user_name,
        role: row.role ?? undefined,
        action: row.action,
        target: row.target ?? undefined,
        outcome: row.outcome,
        ip: row.ip,
        detail: row.detail === null ? undefined : JSON.parse(row.detail),
    };
}

const toEntry = (row: AuditRaw): AuditEntry => ({
    seq: row.seq,
    at: row.at,
    user: row.user_name,
    ...(row.role !== null && { role: row.role }),
    action: row.action,
    ...(row.target !== null && { target: row.target }),
    outcome: row.outcome,
    ip: row.ip,
    ...(row.detail !== null && { detail: JSON.parse(row.detail) }),
});

export interface AuditChainReport {
    ok: boolean;
    checked: number;
    firstBroken?: { seq: number; reason: string };
}

/**
 * The audit log: who did what, when and from where; append-only (SQLite triggers refuse UPDATE and
 * DELETE) and hash-chained like the event log, so an edit made around the triggers is evident.
 * Appends take the write lock first (BEGIN IMMEDIATE), because the gate and the `users` CLI may append
 * to the same file at the same time and each must chain onto the other's last row.
 */
export class AuditLog {
    constructor(
        private readonly db: Db,
        private readonly now: () => number = Date.now,
    ) {}

    append(draft: AuditDraft): AuditEntry {
        const insert = this.db.transaction((): AuditEntry => {
            const head = this.db.prepare("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1").get() as
                | { seq: number; hash: string }
                | undefined;
            const row = {
                seq: (head?.seq ?? 0) + 1,
                at: new Date(this.now()).toISOString(),
                user_name: draft.user,
                role: draft.role ?? null,
                action: draft.action,
                target: draft.target ?? null,
                outcome: draft.outcome,
                ip: draft.ip,
                // Canonical, so the hash recomputed from the stored text is the one computed here.
                detail: draft.detail === undefined ? null : canonicalJson(draft.detail),
            };
            const prevHash = head?.hash ?? GENESIS_HASH;
            const hash = chainHash(prevHash, hashedPart(row));
            this.db
                .prepare(
                    `INSERT INTO audit_log (seq, at, user_name, role, action, target, outcome, ip, detail, prev_hash, hash)
                     VALUES (@seq, @at, @user_name, @role, @action, @target, @outcome, @ip, @detail, @prev_hash, @hash)`,
                )
                .run({ ...row, prev_hash: prevHash, hash });
            return toEntry({ ...row, prev_hash: prevHash, hash });
        });
        return insert.immediate();
    }

    /** Entries after `afterSeq`, oldest first. */
    list(afterSeq: number, limit: number): AuditEntry[] {
        return (
            this.db
                .prepare("SELECT * FROM audit_log WHERE seq > ? ORDER BY seq LIMIT ?")
                .all(afterSeq, limit) as AuditRaw[]
        ).map(toEntry);
    }

    /** Entries before `beforeSeq` (the newest when undefined), newest first: what an auditor reads first. */
    listNewest(beforeSeq: number | undefined, limit: number): AuditEntry[] {
        return (
            this.db
                .prepare("SELECT * FROM audit_log WHERE seq < ? ORDER BY seq DESC LIMIT ?")
                .all(beforeSeq ?? Number.MAX_SAFE_INTEGER, limit) as AuditRaw[]
        ).map(toEntry);
    }

    /**
     * Walks the whole log: no seq gap, each row linked to the one before, each hash matching its row. Reads
     * CHAIN_CHUNK_ROWS rows at a time up to the head there was when it began, yielding after each chunk.
     * Damaged pages end the walk as a broken chain at the first seq that cannot be read, not as an exception.
     */
    *verifySteps(): Chunked<AuditChainReport> {
        let prevHash = GENESIS_HASH;
        let expectedSeq = 1;
        let checked = 0;
        try {
            for (const row of seqRowsInChunks<AuditRaw>(this.db, "audit_log")) {
                if (row === CHUNK_END) {
                    yield;
                    continue;
                }
                checked++;
                const broken = (reason: string): AuditChainReport => ({
                    ok: false,
                    checked,
                    firstBroken: { seq: row.seq, reason },
                });
                if (row.seq !== expectedSeq) return broken(`seq jumps from ${expectedSeq - 1} to ${row.seq}`);
                if (row.prev_hash !== prevHash)
                    return broken(`prevHash does not match the hash of entry ${row.seq - 1}`);
                let recomputed: string;
                try {
                    recomputed = chainHash(row.prev_hash, hashedPart(row));
                } catch {
                    return broken("detail is not valid JSON");
                }
                if (recomputed !== row.hash) return broken("hash does not match the entry's content");
                prevHash = row.hash;
                expectedSeq = row.seq + 1;
            }
        } catch (err) {
            if (!isStoreDamage(err)) throw err;
            return {
                ok: false,
                checked,
                firstBroken: { seq: expectedSeq, reason: unreadableReason(err, expectedSeq - 1) },
            };
        }
        return { ok: true, checked };
    }

    /** The whole walk (verifySteps) in one go. */
    verify(): AuditChainReport {
        return finishNow(this.verifySteps());
    }
}
