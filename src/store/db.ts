import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import { GateError } from "../core/errors.ts";
import { migrate } from "./migrations.ts";

export type Db = Database.Database;

/**
 * Opens the gate database: WAL, and `synchronous=FULL` on every open, because SQLite falls back to its
 * default on each connection that does not set it and "committed" must survive a power cut, not only a
 * crash. Runs the migrations. Throws STORE_CORRUPT when the pragmas do not take.
 */
export function openDatabase(path: string, options: { readonly?: boolean } = {}): Db {
    if (path !== ":memory:" && !options.readonly) mkdirSync(dirname(path), { recursive: true });
    const db = new Database(path, { readonly: options.readonly ?? false, fileMustExist: options.readonly ?? false });
    db.pragma("busy_timeout = 5000");
    if (!options.readonly) {
        db.pragma("journal_mode = WAL");
        db.pragma("synchronous = FULL");
        db.pragma("foreign_keys = ON");
        // 2 = FULL; anything else means the durability promise is broken.
        const synchronous = db.pragma("synchronous", { simple: true });
        if (synchronous !== 2) throw new GateError("STORE_CORRUPT", `synchronous is ${String(synchronous)}, not FULL`);
        migrate(db);
    }
    return db;
}
