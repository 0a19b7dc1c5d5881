/**
 * The central simulator's own SQLite store: every event it accepted (exactly once by id), per-gate
 * counters of duplicates and rejections, and the clearance feed it serves. Tests open the same file
 * read-only (`CentralSimulator.dbPath`) to check exactly-once and per-lane order on their own, so the
 * schema below is part of the simulator's contract with them:
 *
 *   events(received_order INTEGER PRIMARY KEY, id TEXT UNIQUE, gate_id, seq, lane_id, type, hash,
 *          received_at, event)       -- event: the whole GateEvent as JSON; index on (gate_id, seq)
 *   gate_counters(gate_id PRIMARY KEY, duplicates, rejected, conflicts, batches, last_received_at)
 *   feed(position INTEGER PRIMARY KEY AUTOINCREMENT, kind, key, version, item, added_at)
 *   meta(key PRIMARY KEY, value)     -- feed_version
 */
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database, { type Statement } from "better-sqlite3";
import { errorMessage, GateError } from "../../src/core/errors.ts";
import type { ClearanceItem, EventResult } from "../../src/sync/protocol.ts";
import type { CheckedEvent } from "./events.ts";

/** PRAGMA application_id of a central simulator database ("CSIM"), so a gate's database is never mistaken for one. */
const APPLICATION_ID = 0x4353494d;
const SCHEMA_VERSION = 1;

const SCHEMA = `
    -- received_order is the rowid: rows are never deleted, so it only grows, across gates and restarts.
    CREATE TABLE IF NOT EXISTS events (
        received_order INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        gate_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        lane_id TEXT,
        type TEXT NOT NULL,
        hash TEXT NOT NULL,
        received_at TEXT NOT NULL,
        event TEXT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS events_gate_seq ON events (gate_id, seq);
    CREATE TABLE IF NOT EXISTS gate_counters (
        gate_id TEXT PRIMARY KEY,
        duplicates INTEGER NOT NULL DEFAULT 0,
        rejected INTEGER NOT NULL DEFAULT 0,
        conflicts INTEGER NOT NULL DEFAULT 0,
        batches INTEGER NOT NULL DEFAULT 0,
        last_received_at TEXT
    );
    -- AUTOINCREMENT: a position is never reused, so an edge's stored cursor can never skip a new item.
    CREATE TABLE IF NOT EXISTS feed (
        position INTEGER PRIMARY KEY AUTOINCREMENT,
        kind TEXT NOT NULL,
        key TEXT NOT NULL,
        version INTEGER,
        item TEXT NOT NULL,
        added_at TEXT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS feed_key ON feed (key, position);
    CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
`;

/** One event of a batch as the server checked it: to store, or already refused with a reason. */
export type BatchEntry = { event: CheckedEvent } | { id: string; reason: string };

export interface StoreGateStats {
    gateId: string;
    /** Events stored for the gate (each id once). */
    events: number;
    /** Distinct seqs among them; fewer than events means the gate sent two ids with the same seq. */
    distinctSeqs: number;
    /** Highest seq stored, 0 when none. */
    maxSeq: number;
    /** Seqs from 1 to maxSeq never received. */
    missingSeqs: number;
    /** The first (up to 10) missing ranges, inclusive: [from, to]. */
    firstGaps: Array<[number, number]>;
    /** Events answered "duplicate" (already stored by id). */
    duplicates: number;
    /** Events answered "rejected" (bad shape or hash, reject rule, conflicting duplicate). */
    rejected: number;
    /** Of those: an id already stored with a different hash (the same id for other content). */
    conflicts: number;
    /** Batches answered with 200. */
    batches: number;
    lastReceivedAt: string | null;
}

/** Where a clearance item sits in the dedupe bookkeeping: declarations by number, watch-list entries by id. */
function feedKey(item: ClearanceItem): { kind: ClearanceItem["type"]; key: string; version: number | null } {
    switch (item.type) {
        case "declaration":
            return { kind: item.type, key: `d:${item.declaration.number}`, version: item.declaration.version };
        case "watchList":
            return { kind: item.type, key: `w:${item.entry.id}`, version: item.entry.version };
        case "watchListRemoved":
            return { kind: item.type, key: `w:${item.id}`, version: null };
        case "preArrival":
            return { kind: item.type, key: `p:${item.preArrival.preArrivalId}`, version: item.preArrival.version };
    }
}

export interface FeedAppendResult {
    added: number;
    /** Items left out because the feed already has that version or a newer one (onlyNewer). */
    skipped: number;
    version: string;
    /** Position of the last item in the feed after the append ("0" when empty). */
    last: string;
}

export class CentralStore {
    private readonly db: Database.Database;
    private readonly insertEvent: Statement<[string, string, number, string | null, string, string, string, string]>;
    private readonly storedEvent: Statement<[string], { received_order: number; hash: string }>;
    private readonly bumpCounters: Statement<[string, number, number, number, string]>;
    private readonly feedPage: Statement<[number, number], { position: number; item: string }>;
    private readonly feedLatest: Statement<[string], { kind: string; version: number | null }>;
    private readonly insertFeed: Statement<[string, string, number | null, string, string]>;
    private closed = false;

    constructor(readonly path: string) {
        if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
        try {
            this.db = new Database(path);
        } catch (err) {
            throw new GateError("SIMULATOR_STORE", `${path}: ${errorMessage(err)}`, { cause: err });
        }
        try {
            this.db.pragma("busy_timeout = 5000");
            this.db.pragma("journal_mode = WAL");
            // NORMAL, not FULL as the gate uses: in WAL mode a commit still survives a crash of this process
            // (SIGKILL included), it can only be lost with the machine's power. For a simulator that is
            // enough, and it keeps the 1,000,000-event drain bench measuring the edge, not central's fsyncs.
            this.db.pragma("synchronous = NORMAL");
            this.initSchema();
        } catch (err) {
            this.db.close();
            throw err;
        }
        this.insertEvent = this.db.prepare(
            `INSERT OR IGNORE INTO events (id, gate_id, seq, lane_id, type, hash, received_at, event)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
        );
        this.storedEvent = this.db.prepare("SELECT received_order, hash FROM events WHERE id = ?");
        this.bumpCounters = this.db.prepare(
            `INSERT INTO gate_counters (gate_id, duplicates, rejected, conflicts, batches, last_received_at)
             VALUES (?, ?, ?, ?, 1, ?)
             ON CONFLICT (gate_id) DO UPDATE SET duplicates = duplicates + excluded.duplicates,
                 rejected = rejected + excluded.rejected, conflicts = conflicts + excluded.conflicts,
                 batches = batches + 1, last_received_at = excluded.last_received_at`,
        );
        this.feedPage = this.db.prepare("SELECT position, item FROM feed WHERE position > ? ORDER BY position LIMIT ?");
        this.feedLatest = this.db.prepare(
            "SELECT kind, version FROM feed WHERE key = ? ORDER BY position DESC LIMIT 1",
        );
        this.insertFeed = this.db.prepare(
            "INSERT INTO feed (kind, key, version, item, added_at) VALUES (?, ?, ?, ?, ?)",
        );
    }

    private initSchema(): void {
        const appId = this.db.pragma("application_id", { simple: true }) as number;
        if (appId !== APPLICATION_ID) {
            const tables = this.db
                .prepare("SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
                .get() as { n: number };
            // A file with tables of its own is someone else's (a gate's database, say): never write into it.
            if (appId !== 0 || tables.n > 0) {
                throw new GateError(
                    "SIMULATOR_STORE",
                    `${this.path} is not a central simulator database (application_id ${appId}); give --db a new file`,
                );
            }
        }
        this.db.transaction(() => {
            this.db.exec(SCHEMA);
            this.db.pragma(`application_id = ${APPLICATION_ID}`);
            this.db.pragma(`user_version = ${SCHEMA_VERSION}`);
        })();
    }

    /**
     * Stores one batch in one transaction, in order: each checked event is inserted unless its id is
     * there already (then "duplicate", or "rejected" when the stored one has another hash); refused
     * entries are counted. Returns one result per entry, in the same order.
     */
    storeBatch(gateId: string, entries: readonly BatchEntry[], receivedAt: string): EventResult[] {
        this.assertOpen();
        return this.db.transaction(() => {
            const results: EventResult[] = new Array(entries.length);
            let duplicates = 0;
            let rejected = 0;
            let conflicts = 0;
            for (let i = 0; i < entries.length; i++) {
                const entry = entries[i] as BatchEntry;
                if (!("event" in entry)) {
                    rejected++;
                    results[i] = { id: entry.id, status: "rejected", reason: entry.reason };
                    continue;
                }
                const e = entry.event;
                const info = this.insertEvent.run(e.id, gateId, e.seq, e.laneId, e.type, e.hash, receivedAt, e.json);
                if (info.changes > 0) {
                    results[i] = { id: e.id, status: "accepted", reference: `C-${info.lastInsertRowid}` };
                    continue;
                }
                const stored = this.storedEvent.get(e.id);
                if (stored && stored.hash !== e.hash) {
                    // Answering "duplicate" would tell the edge its different content was delivered; it was not.
                    conflicts++;
                    rejected++;
                    results[i] = {
                        id: e.id,
                        status: "rejected",
                        reason: `id already stored as C-${stored.received_order} with a different hash`,
                    };
                } else {
                    duplicates++;
                    results[i] = {
                        id: e.id,
                        status: "duplicate",
                        ...(stored && { reference: `C-${stored.received_order}` }),
                    };
                }
            }
            this.bumpCounters.run(gateId, duplicates, rejected, conflicts, receivedAt);
            return results;
        })();
    }

    /**
     * What central holds of one gate, from the store itself (so it survives restarts). Requests refused
     * as a whole (401, 413, faults) never reach the store and are not counted here.
     */
    stats(gateId: string): StoreGateStats {
        this.assertOpen();
        const totals = this.db
            .prepare(
                `SELECT COUNT(*) AS events, COUNT(DISTINCT seq) AS distinctSeqs, COALESCE(MAX(seq), 0) AS maxSeq
                 FROM events WHERE gate_id = ?`,
            )
            .get(gateId) as { events: number; distinctSeqs: number; maxSeq: number };
        const gaps = this.db
            .prepare(
                `SELECT prev + 1 AS gapFrom, seq - 1 AS gapTo FROM (
                     SELECT seq, LAG(seq, 1, 0) OVER (ORDER BY seq) AS prev
                     FROM (SELECT DISTINCT seq FROM events WHERE gate_id = ?)
                 ) WHERE seq > prev + 1 ORDER BY seq LIMIT 10`,
            )
            .all(gateId) as Array<{ gapFrom: number; gapTo: number }>;
        const counters = this.db
            .prepare(
                "SELECT duplicates, rejected, conflicts, batches, last_received_at FROM gate_counters WHERE gate_id = ?",
            )
            .get(gateId) as
            | { duplicates: number; rejected: number; conflicts: number; batches: number; last_received_at: string }
            | undefined;
        return {
            gateId,
            ...totals,
            missingSeqs: totals.maxSeq - totals.distinctSeqs,
            firstGaps: gaps.map((gap) => [gap.gapFrom, gap.gapTo]),
            duplicates: counters?.duplicates ?? 0,
            rejected: counters?.rejected ?? 0,
            conflicts: counters?.conflicts ?? 0,
            batches: counters?.batches ?? 0,
            lastReceivedAt: counters?.last_received_at ?? null,
        };
    }

    /** Every gate that has sent anything. */
    gateIds(): string[] {
        this.assertOpen();
        const rows = this.db
            .prepare("SELECT gate_id FROM gate_counters UNION SELECT DISTINCT gate_id FROM events ORDER BY gate_id")
            .all() as Array<{ gate_id: string }>;
        return rows.map((row) => row.gate_id);
    }

    // ----------------------------------------------------------------------------------------------
    // clearance feed

    /**
     * Appends items to the feed in one transaction and sets the feed version. With onlyNewer, an item is
     * left out when the feed's latest entry for the same declaration number or watch-list id has the same
     * or a higher version (a removal is left out when the entry is already removed or was never listed),
     * so loading the same source again adds nothing. Without it every item is appended as given.
     */
    appendFeed(items: readonly ClearanceItem[], options: { onlyNewer: boolean; version?: string }): FeedAppendResult {
        this.assertOpen();
        return this.db.transaction(() => {
            const now = new Date().toISOString();
            let added = 0;
            let skipped = 0;
            for (const item of items) {
                const { kind, key, version } = feedKey(item);
                const latest = this.feedLatest.get(key);
                if (options.onlyNewer) {
                    const present = latest !== undefined && latest.kind !== "watchListRemoved";
                    const stale =
                        kind === "watchListRemoved"
                            ? !present
                            : latest !== undefined && (latest.version ?? -1) >= (version ?? 0);
                    if (stale) {
                        skipped++;
                        continue;
                    }
                }
                // A removal keeps the version of what it removed: reloading a file that still lists the entry
                // at that version must not bring it back; only a newer version does.
                const rowVersion = kind === "watchListRemoved" ? (latest?.version ?? null) : version;
                this.insertFeed.run(kind, key, rowVersion, JSON.stringify(item), now);
                added++;
            }
            const last = this.lastPosition();
            let feedVersion = this.feedVersion();
            if (options.version !== undefined) feedVersion = options.version;
            else if (added > 0) feedVersion = `feed-${last}`;
            this.db
                .prepare(
                    "INSERT INTO meta (key, value) VALUES ('feed_version', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                )
                .run(feedVersion);
            return { added, skipped, version: feedVersion, last: String(last) };
        })();
    }

    /**
     * The items after position `after`, at most `limit`, as their stored JSON (served without a second
     * stringify), with whether more follow.
     */
    feedAfter(after: number, limit: number): { rows: Array<{ position: number; item: string }>; hasMore: boolean } {
        this.assertOpen();
        const rows = this.feedPage.all(after, limit + 1);
        const hasMore = rows.length > limit;
        if (hasMore) rows.length = limit;
        return { rows, hasMore };
    }

    lastPosition(): number {
        const row = this.db.prepare("SELECT COALESCE(MAX(position), 0) AS last FROM feed").get() as { last: number };
        return row.last;
    }

    feedVersion(): string {
        const row = this.db.prepare("SELECT value FROM meta WHERE key = 'feed_version'").get() as
            | { value: string }
            | undefined;
        return row?.value ?? "none";
    }

    get isOpen(): boolean {
        return !this.closed;
    }

    close(): void {
        if (this.closed) return;
        this.closed = true;
        this.db.close();
    }

    private assertOpen(): void {
        if (this.closed) throw new GateError("STORE_CLOSED", "central simulator store");
    }
}
