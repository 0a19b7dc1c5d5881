import { chownSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import { errorMessage, GateError } from "../core/errors.ts";
import { type ChainReport, checkIntegrity, verifyChain } from "./audit.ts";
import { type AuditChainReport, AuditLog } from "./auditLog.ts";
import { isStoreDamage, makeSelfContained, type StoreOrigin, storeOpenError } from "./db.ts";
import { SCHEMA_VERSION, schemaVersionOf } from "./migrations.ts";

/** What a technician needs to know about a database file before trusting it. */
export interface DatabaseCheck {
    path: string;
    bytes: number;
    /** `PRAGMA integrity_check`: "ok", or SQLite's first complaints and the tables they are in. */
    integrity: string;
    schemaVersion: number;
    chain: ChainReport | undefined;
    /** The audit log's hash chain, when the file has one. */
    audit: AuditChainReport | undefined;
    /** Events central has not accepted yet (pending and parked outbox rows). */
    undelivered: number;
    parked: number;
}

/**
 * Opens a database file read-only and checks its pages, its schema version and both hash chains. A file
 * that is not an SQLite database, or is cut short, is STORE_UNUSABLE naming the file and `origin.key`.
 */
export function checkDatabaseFile(path: string, origin: StoreOrigin = {}): DatabaseCheck {
    let db: Database.Database;
    try {
        db = new Database(path, { readonly: true, fileMustExist: true });
    } catch (err) {
        throw storeOpenError(err, path, origin);
    }
    try {
        db.pragma("busy_timeout = 5000");
        const check = checkIntegrity(db, "integrity_check");
        const integrity = check.ok
            ? "ok"
            : `${check.messages.slice(0, 3).join("; ")}${check.tables.length > 0 ? ` (in ${check.tables.join(", ")})` : ""}`;
        const tables = new Set(
            (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]).map(
                (row) => row.name,
            ),
        );
        const outbox =
            tables.has("outbox") && check.ok
                ? (db
                      .prepare("SELECT COUNT(*) AS n, COALESCE(SUM(state = 'parked'), 0) AS parked FROM outbox")
                      .get() as {
                      n: number;
                      parked: number;
                  })
                : { n: 0, parked: 0 };
        return {
            path,
            bytes: statSync(path).size,
            integrity,
            schemaVersion: schemaVersionOf(db),
            chain: tables.has("events") && check.ok ? verifyChain(db) : undefined,
            audit: tables.has("audit_log") && check.ok ? new AuditLog(db).verify() : undefined,
            undelivered: outbox.n,
            parked: outbox.parked,
        };
    } catch (err) {
        throw storeOpenError(err, path, origin);
    } finally {
        db.close();
    }
}

/** The problems that make a checked file unfit to run a gate on, in plain words; empty when it is fit. */
export function databaseProblems(check: DatabaseCheck): string[] {
    const problems: string[] = [];
    if (check.integrity !== "ok") problems.push(`SQLite integrity check failed: ${check.integrity}`);
    if (check.schemaVersion > SCHEMA_VERSION)
        problems.push(
            `written by a newer gate-edge (schema v${check.schemaVersion}, this one knows v${SCHEMA_VERSION})`,
        );
    if (check.chain && !check.chain.ok) {
        const broken = check.chain.firstBroken!;
        const id = broken.id === undefined ? "" : ` (event ${broken.id})`;
        problems.push(`hash chain broken at seq ${broken.seq}${id}: ${broken.reason}`);
    }
    if (check.audit && !check.audit.ok) {
        const broken = check.audit.firstBroken!;
        problems.push(`audit log hash chain broken at seq ${broken.seq}: ${broken.reason}`);
    }
    if (check.integrity === "ok" && !check.chain) problems.push("it holds no event log: not a gate-edge database");
    return problems;
}

/**
 * An SQLite online backup of a gate database to `dest`, safe while the gate runs (WAL: the gate keeps
 * writing; the copy is one consistent snapshot), then the copy is checked. Refuses to overwrite a file.
 */
export async function backupDatabase(source: string, dest: string, origin: StoreOrigin = {}): Promise<DatabaseCheck> {
    if (!existsSync(source)) throw new GateError("STORE_BACKUP_FAILED", `${source} does not exist`);
    if (existsSync(dest)) throw new GateError("STORE_BACKUP_FAILED", `${dest} exists already; choose a new name`);
    // Not read-only: a read-only connection cannot create the WAL index a running gate's file may need.
    const db = new Database(source, { fileMustExist: true });
    try {
        db.pragma("busy_timeout = 5000");
        await db.backup(dest);
        makeSelfContained(dest);
    } catch (err) {
        rmSync(dest, { force: true });
        if (isStoreDamage(err)) throw storeOpenError(err, source, origin);
        throw new GateError("STORE_BACKUP_FAILED", `${source} → ${dest}: ${errorMessage(err)}`, { cause: err });
    } finally {
        db.close();
    }
    return checkDatabaseFile(dest);
}

export interface RestoreReport {
    restored: DatabaseCheck;
    /** Where the database that was replaced now is (kept, never deleted), if there was one. */
    replacedBy: string | undefined;
}

/**
 * Puts a backup in place of a gate's database. Refuses (RESTORE_REFUSED) a backup that fails its
 * integrity check, whose hash chain is broken or that a newer release wrote, and (STORE_IN_USE) while a
 * gate runs on the database. The database it replaces is moved aside with its WAL, never deleted.
 */
export async function restoreDatabase(backup: string, target: string, now = new Date()): Promise<RestoreReport> {
    if (!existsSync(backup)) throw new GateError("RESTORE_REFUSED", `${backup} does not exist`);
    const check = checkDatabaseFile(backup);
    const problems = databaseProblems(check);
    if (problems.length > 0) throw new GateError("RESTORE_REFUSED", `${backup}: ${problems.join("; ")}`);
    const running = gateHolding(target);
    if (running !== undefined)
        throw new GateError(
            "STORE_IN_USE",
            `gate-edge (pid ${running}) runs on ${target}; stop it first (systemctl stop gate-edge)`,
        );
    let replacedBy: string | undefined;
    if (existsSync(target)) {
        replacedBy = `${target}.replaced-${now.toISOString().replace(/[:.]/g, "-")}`;
        // The WAL may hold committed pages not yet in the main file: the three files move together.
        for (const suffix of ["", "-wal", "-shm"]) {
            if (existsSync(`${target}${suffix}`)) renameSync(`${target}${suffix}`, `${replacedBy}${suffix}`);
        }
    }
    const source = new Database(backup, { readonly: true, fileMustExist: true });
    try {
        await source.backup(target);
    } finally {
        source.close();
    }
    // A technician restores as root; the service, as its own user, must still be able to write the file.
    const owner = statSync(dirname(target));
    if (process.getuid?.() === 0 && owner.uid !== 0) chownSync(target, owner.uid, owner.gid);
    return { restored: checkDatabaseFile(target), replacedBy };
}

// ---- the running gate's claim on its database ----

/** The pid file beside a database that says a gate runs on it. */
export function pidFileOf(dbPath: string): string {
    return `${dbPath}.pid`;
}

/**
 * The pid of a live gate-edge process that holds the database, if any. A pid file left by a killed gate
 * (or from before a reboot, its pid now someone else's) does not count.
 */
export function gateHolding(dbPath: string): number | undefined {
    let pid: number;
    try {
        pid = Number.parseInt(readFileSync(pidFileOf(dbPath), "utf8"), 10);
    } catch {
        return undefined;
    }
    if (!Number.isInteger(pid) || pid <= 0) return undefined;
    try {
        process.kill(pid, 0);
    } catch (err) {
        // EPERM: alive, but another user's (the service user's, seen by a technician's shell).
        if ((err as NodeJS.ErrnoException).code !== "EPERM") return undefined;
    }
    try {
        const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8");
        if (!cmdline.includes("gate-edge")) return undefined;
    } catch {
        // No /proc to ask (or not allowed to read it): the live pid is all we can go by.
    }
    return pid;
}

/**
 * Claims the database for this process: STORE_IN_USE when another live gate holds it, because two event
 * logs on one file would both number events from the same head and fork the hash chain.
 */
export function claimDatabase(dbPath: string): () => void {
    if (dbPath === ":memory:") return () => undefined;
    const holder = gateHolding(dbPath);
    if (holder !== undefined && holder !== process.pid)
        throw new GateError("STORE_IN_USE", `gate-edge pid ${holder} already runs on ${dbPath}`);
    const file = pidFileOf(dbPath);
    // The claim comes before the database is opened, which is what creates a new gate's data directory.
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, `${process.pid}\n`);
    return () => {
        try {
            if (readFileSync(file, "utf8").trim() === String(process.pid)) rmSync(file, { force: true });
        } catch {
            // Already gone.
        }
    };
}
