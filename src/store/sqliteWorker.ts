import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";
import { GateError } from "../core/errors.ts";
import type { Db } from "./db.ts";

export type Row = Record<string, unknown>;

/** What one query gave: its rows, or SQLite's error (damage is a finding for a check, not a crash). */
export type QueryOutcome = { rows: Row[] } | { error: Error & { code?: string } };

/**
 * A check written once as the read queries it needs, so it runs on either connection: each `yield sql`
 * is answered with that query's outcome; the generator's return value is the check's result.
 */
export type QuerySteps<T> = Generator<string, T, QueryOutcome>;

/** Runs a check's queries on this connection, on this thread (the command line; tests). */
export function runQueriesHere<T>(db: Db, steps: QuerySteps<T>): T {
    let step = steps.next();
    while (!step.done) {
        let outcome: QueryOutcome;
        try {
            // better-sqlite3 types rows as unknown; a query's row is an object of its columns.
            outcome = { rows: db.prepare(step.value).all() as Row[] };
        } catch (err) {
            outcome = { error: err instanceof Error ? err : new Error(String(err)) };
        }
        step = steps.next(outcome);
    }
    return step.value;
}

/**
 * The worker's whole program, plain JavaScript: the same code runs from the sources (tsx, vitest) and from
 * dist/ (a TypeScript worker file would need a loader in the worker). It opens the file read-only and answers
 * each query with its rows, or with SQLite's error (message and code): damage is a finding, not a crash.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const Database = require(workerData.driver);
let db;
let openError;
try {
    db = new Database(workerData.path, { readonly: true, fileMustExist: true });
    db.pragma("busy_timeout = 5000");
} catch (err) {
    openError = err;
}
parentPort.on("message", ({ id, sql }) => {
    try {
        if (openError) throw openError;
        parentPort.postMessage({ id, rows: db.prepare(sql).all() });
    } catch (err) {
        parentPort.postMessage({ id, error: { message: String(err && err.message), code: err && err.code } });
    }
});
`;

type Answer = { id: number; rows: Row[] } | { id: number; error: { message: string; code: unknown } };

/** SQLite's error as it came from the worker: an Error with SQLite's code, as better-sqlite3 throws it here. */
function sqliteError(error: { message: string; code: unknown }): Error & { code?: string } {
    return Object.assign(new Error(error.message), typeof error.code === "string" ? { code: error.code } : {});
}

/**
 * A read-only connection to an SQLite file on a worker thread of its own: a query that reads the whole
 * file (SQLite's quick_check, seconds per GB) runs there while the event loop goes on serving the lanes.
 * Queries run one after another in the order asked. Stopping terminates the thread; a query in hand then
 * rejects with STORE_CLOSED at once. SQLite itself cannot be interrupted from JavaScript: a pragma in
 * progress runs to its end on the thread, which exits then (a process exiting meanwhile waits for it).
 */
export class SqliteWorker {
    private readonly worker: Worker;
    private readonly pending = new Map<number, { resolve(outcome: QueryOutcome): void; reject(err: unknown): void }>();
    private nextId = 1;
    private stopped: Error | undefined;

    constructor(path: string) {
        // The driver by absolute path, resolved here: the worker's code has no module of its own to resolve from.
        const driver = createRequire(import.meta.url).resolve("better-sqlite3");
        this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { path, driver } });
        // Never what keeps a stopping process alive.
        this.worker.unref();
        this.worker.on("message", (answer: Answer) => {
            const waiting = this.pending.get(answer.id);
            this.pending.delete(answer.id);
            waiting?.resolve("rows" in answer ? { rows: answer.rows } : { error: sqliteError(answer.error) });
        });
        this.worker.on("error", (err) => this.end(err));
        this.worker.on("exit", (code) =>
            this.end(new GateError("STORE_CLOSED", `the SQLite worker thread exited (code ${code})`)),
        );
    }

    /**
     * One query (a SELECT or a pragma that returns rows): its rows or SQLite's error. Rejects only when the
     * worker is stopped or gone (STORE_CLOSED).
     */
    query(sql: string): Promise<QueryOutcome> {
        if (this.stopped) return Promise.reject(this.stopped);
        const id = this.nextId++;
        return new Promise<QueryOutcome>((resolve, reject) => {
            this.pending.set(id, { resolve, reject });
            this.worker.postMessage({ id, sql });
        });
    }

    /** Runs a check's queries on this thread's connection, one after another. */
    async run<T>(steps: QuerySteps<T>): Promise<T> {
        let step = steps.next();
        while (!step.done) step = steps.next(await this.query(step.value));
        return step.value;
    }

    /** Terminates the thread; what is asked or in hand rejects with STORE_CLOSED. */
    async stop(): Promise<void> {
        if (this.stopped) return;
        this.end(new GateError("STORE_CLOSED", "the check was stopped"));
        // Not awaited: the thread exits only when SQLite returns from a pragma in progress.
        void this.worker.terminate();
    }

    private end(err: Error): void {
        this.stopped ??= err;
        for (const waiting of this.pending.values()) waiting.reject(this.stopped);
        this.pending.clear();
    }
}
