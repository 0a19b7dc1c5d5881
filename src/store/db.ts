import { existsSync, mkdirSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import Database from "better-sqlite3";
import type { Logger } from "pino";
import { errorMessage, GateError } from "../core/errors.ts";
import { migrate, SCHEMA_VERSION, schemaVersionOf } from "./migrations.ts";

export type Db = Database.Database;

/**
 * A store's prepared statements, one per SQL text, compiled at first use: better-sqlite3 compiles at every
 * prepare(), which on a store's hot path (a write per committed event or passage step) cost three to five
 * times the statement's own run (about 110 µs against 20–30 µs for a passage upsert).
 */
export function statementCache(db: Db): (sql: string) => Database.Statement {
    const statements = new Map<string, Database.Statement>();
    return (sql) => {
        let statement = statements.get(sql);
        if (!statement) {
            statement = db.prepare(sql);
            statements.set(sql, statement);
        }
        return statement;
    };
}

/** The page cache of the gate's connection, in KiB. */
const PAGE_CACHE_KIB = 4096;

/** Where a database's file name came from (`storage.path`, `--db`), for errors a person must act on. */
export interface StoreOrigin {
    /** The configuration key or command-line option that named the file. */
    key?: string;
}

/** Whether an SQLite error says the file is damaged, truncated or not a database at all. */
export function isStoreDamage(err: unknown): err is Error & { code: string } {
    // better-sqlite3's SqliteError carries SQLite's extended code name (SQLITE_CORRUPT_INDEX …) in `code`.
    const code = err instanceof Error ? (err as Error & { code?: unknown }).code : undefined;
    return typeof code === "string" && (code.startsWith("SQLITE_CORRUPT") || code === "SQLITE_NOTADB");
}

/** Why a chain's rows could not be read, in SQLite's words and code, for a report naming what is broken. */
export function unreadableReason(err: Error & { code: string }, afterSeq: number): string {
    return `the rows after seq ${afterSeq} cannot be read: ${err.message} (${err.code})`;
}

/**
 * A file that cannot be the gate's database, as an error naming the file and the key that named it, and
 * saying what to do, instead of SQLite's bare SQLITE_NOTADB or SQLITE_CORRUPT. Other errors pass through.
 */
export function storeOpenError(err: unknown, path: string, origin: StoreOrigin = {}): unknown {
    if (!isStoreDamage(err)) return err;
    const named = origin.key === undefined ? path : `${origin.key} ${path}`;
    const what =
        err.code === "SQLITE_NOTADB"
            ? "is not an SQLite database (or its first page is destroyed)"
            : "is damaged or truncated";
    return new GateError(
        "STORE_UNUSABLE",
        `${named} ${what} (SQLite: ${err.message}, ${err.code}): restore the last backup (gate-edge restore) or correct the path`,
        { cause: err },
    );
}

/**
 * Refuses a file another application wrote (STORE_UNUSABLE), before a migration adds the gate's tables to
 * it: gate-edge's first migration creates `events`, so a database with tables but no schema version, or with
 * a version but no event log, is not one of ours. Reads the head of the event log, so a file cut short
 * (its last pages missing) fails here with SQLITE_CORRUPT rather than at the first append.
 */
function assertGateDatabase(db: Db, path: string, origin: StoreOrigin): void {
    const tables = (
        db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").all() as {
            name: string;
        }[]
    ).map((row) => row.name);
    const version = schemaVersionOf(db);
    if ((version === 0 && tables.length > 0) || (version > 0 && !tables.includes("events"))) {
        const named = origin.key === undefined ? path : `${origin.key} ${path}`;
        const shown = tables.slice(0, 8).join(", ") + (tables.length > 8 ? ", …" : "");
        throw new GateError(
            "STORE_UNUSABLE",
            `${named} is not a gate-edge database (schema version ${version}, tables: ${shown || "none"}): it belongs to another application; correct the path`,
        );
    }
    if (tables.includes("events")) db.prepare("SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1").get();
}

/**
 * Opens the gate database: WAL, and `synchronous=FULL` on every open, because SQLite falls back to its
 * default on each connection that does not set it and "committed" must survive a power cut, not only a
 * crash. Creates the schema of a new database. A database an older release wrote is not upgraded here
 * (STORE_UPGRADE_PENDING): upgrading takes a backup first, which is asynchronous — see upgradeDatabase(),
 * which the gate runs at start. Throws STORE_CORRUPT when the pragmas do not take, and STORE_UNUSABLE
 * (naming the file and `origin.key`) for a file that is not an SQLite database, is cut short or damaged
 * where the gate reads first, or belongs to another application.
 */
export function openDatabase(path: string, options: { readonly?: boolean } & StoreOrigin = {}): Db {
    if (path !== ":memory:" && !options.readonly) mkdirSync(dirname(path), { recursive: true });
    let db: Db;
    try {
        db = new Database(path, { readonly: options.readonly ?? false, fileMustExist: options.readonly ?? false });
    } catch (err) {
        throw storeOpenError(err, path, options);
    }
    try {
        db.pragma("busy_timeout = 5000");
        // First, before a pragma writes the header: another application's file is left exactly as it was.
        assertGateDatabase(db, path, options);
        if (options.readonly) return db;
        // A new file, before its first page is written (WAL writes it): the pages pruning frees go back to the
        // file system (incremental vacuum); an existing file is switched at its upgrade.
        if (schemaVersionOf(db) === 0) db.pragma("auto_vacuum = INCREMENTAL");
        db.pragma("journal_mode = WAL");
        db.pragma("synchronous = FULL");
        db.pragma("foreign_keys = ON");
        // better-sqlite3 builds SQLite with a 16 MB page cache per connection; the gate appends and reads
        // back recent rows, so 4 MB holds the hot index and table pages and leaves the rest of the memory
        // budget (150 MB resident at full load) to the lanes.
        db.pragma(`cache_size = -${PAGE_CACHE_KIB}`);
        // 2 = FULL; anything else means the durability promise is broken.
        const synchronous = db.pragma("synchronous", { simple: true });
        if (synchronous !== 2) throw new GateError("STORE_CORRUPT", `synchronous is ${String(synchronous)}, not FULL`);
        const version = schemaVersionOf(db);
        if (version > 0 && version < SCHEMA_VERSION) {
            throw new GateError(
                "STORE_UPGRADE_PENDING",
                `${path} is at schema v${version}, this release needs v${SCHEMA_VERSION}; start the gate once (it backs the database up, then upgrades it)`,
            );
        }
        migrate(db);
    } catch (err) {
        db.close();
        throw storeOpenError(err, path, options);
    }
    return db;
}

/**
 * A backup copies the source's WAL mode into its header, so opening it would grow -wal and -shm files
 * beside it: switched to a rollback journal, the backup is one file a technician can copy and keep.
 */
export function makeSelfContained(path: string): void {
    const copy = new Database(path, { fileMustExist: true });
    try {
        copy.pragma("journal_mode = DELETE");
    } finally {
        copy.close();
    }
}

export interface UpgradeReport {
    from: number;
    to: number;
    /** The online backup taken before the first migration, when one ran. */
    backup?: string;
}

/** What a migration must never change: the evidence and what central has not accepted yet. */
interface Invariants {
    events: number;
    headSeq: number;
    headHash: string;
    outbox: number;
}

function invariants(db: Db): Invariants | undefined {
    const hasTable = (name: string): boolean =>
        db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(name) !== undefined;
    if (!hasTable("events") || !hasTable("outbox")) return undefined;
    const head = db.prepare("SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1").get() as
        | { seq: number; hash: string }
        | undefined;
    return {
        events: (db.prepare("SELECT COUNT(*) AS n FROM events").get() as { n: number }).n,
        headSeq: head?.seq ?? 0,
        headHash: head?.hash ?? "",
        outbox: (db.prepare("SELECT COUNT(*) AS n FROM outbox").get() as { n: number }).n,
    };
}

/** PRAGMA auto_vacuum's value for INCREMENTAL. */
export const AUTO_VACUUM_INCREMENTAL = 2;

/**
 * A database created before retention has auto_vacuum off: the pages pruning frees would stay in the file
 * for ever. The mode of an existing file changes only with a full VACUUM (a rewrite of the file: needs as
 * much free disk as the database, and a minute or so per GB), run once here, after the upgrade's backup.
 */
function switchToIncrementalVacuum(db: Db, log: Logger | undefined): void {
    if (db.pragma("auto_vacuum", { simple: true }) === AUTO_VACUUM_INCREMENTAL) return;
    const started = performance.now();
    db.pragma("auto_vacuum = INCREMENTAL");
    db.exec("VACUUM");
    log?.info(
        { db: db.name, ms: Math.round(performance.now() - started) },
        "database rewritten with incremental vacuum, so space pruning frees returns to the disk",
    );
}

/**
 * Upgrades a database an earlier release wrote, the way a gate that has been running for years must be
 * upgraded: an SQLite online backup first (kept in `backups/` beside the database and checked before
 * anything changes), then every pending migration forward, each in its own transaction, each checked not
 * to have touched the event log or the outbox (a step that would is rolled back and the start refused).
 * A new database, or one already current, is left alone. STORE_BACKUP_FAILED: nothing was migrated, the
 * database is as the old release left it (free disk space, or run the old release).
 */
export async function upgradeDatabase(
    path: string,
    options: { log?: Logger; now?: Date } & StoreOrigin = {},
): Promise<UpgradeReport> {
    if (path === ":memory:" || !existsSync(path)) return { from: 0, to: SCHEMA_VERSION };
    let db: Db;
    let from: number;
    try {
        db = new Database(path, { fileMustExist: true });
    } catch (err) {
        throw storeOpenError(err, path, options);
    }
    try {
        db.pragma("busy_timeout = 5000");
        // Before anything is written, backed up or migrated: another application's file is refused untouched.
        assertGateDatabase(db, path, options);
        db.pragma("journal_mode = WAL");
        db.pragma("synchronous = FULL");
        from = schemaVersionOf(db);
    } catch (err) {
        db.close();
        throw storeOpenError(err, path, options);
    }
    try {
        if (from > SCHEMA_VERSION) migrate(db); // throws STORE_SCHEMA_NEWER with the versions
        if (from === 0 || from === SCHEMA_VERSION) return { from, to: from || SCHEMA_VERSION };
        const stamp = (options.now ?? new Date()).toISOString().replace(/[:.]/g, "-");
        const backup = join(dirname(path), "backups", `${basename(path)}.schema-v${from}.${stamp}`);
        mkdirSync(dirname(backup), { recursive: true });
        try {
            await db.backup(backup);
            makeSelfContained(backup);
            const copy = new Database(backup, { readonly: true, fileMustExist: true });
            try {
                const check = copy.pragma("quick_check", { simple: true });
                if (check !== "ok") throw new Error(`the copy fails its check: ${String(check)}`);
                if (schemaVersionOf(copy) !== from) throw new Error("the copy is not at the same schema version");
            } finally {
                copy.close();
            }
        } catch (err) {
            throw new GateError(
                "STORE_BACKUP_FAILED",
                `no upgrade of ${path} (schema v${from} kept): backup to ${backup} failed: ${errorMessage(err)}`,
                { cause: err },
            );
        }
        options.log?.info({ db: path, from, to: SCHEMA_VERSION, backup }, "database backed up before its upgrade");
        const before = invariants(db);
        migrate(db, {
            check: () => {
                const now = invariants(db);
                if (before && JSON.stringify(now) !== JSON.stringify(before))
                    throw new GateError(
                        "STORE_CORRUPT",
                        `a migration changed the event log or the outbox (${JSON.stringify(before)} → ${JSON.stringify(now)}); rolled back`,
                    );
            },
            onStep: (version) => options.log?.info({ db: path, version }, "database migrated"),
        });
        switchToIncrementalVacuum(db, options.log);
        return { from, to: SCHEMA_VERSION, backup };
    } finally {
        db.close();
    }
}
