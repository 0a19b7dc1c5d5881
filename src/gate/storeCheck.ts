/**
 * SQLite's own check of the evidence file at start (quick_check, 2–3 s per GB), on a worker thread with
 * its own read-only connection: the gate becomes ready and the lanes run meanwhile. A failure is a
 * critical STORE_DAMAGED alert; the lanes keep running (new events chain onto the log as before).
 */
import type { Logger } from "pino";
import { errorMessage } from "../core/errors.ts";
import type { EventSink } from "../ingest/deviceRuntime.ts";
import { storeDamagedAlert } from "../store/alerts.ts";
import { checkIntegrityOffThread, type IntegrityReport, type IntegrityRun } from "../store/audit.ts";
import type { Db } from "../store/db.ts";

/** Where the start-up check of the database file is (SQLite's quick_check, on a worker thread). */
export type StoreCheckState =
    | { state: "running" }
    | { state: "passed" | "failed"; report: IntegrityReport }
    /** The check itself could not run (not damage: that is "failed"). */
    | { state: "error"; error: string }
    | { state: "stopped" };

export class StoreCheck {
    private run: IntegrityRun | undefined;
    private current: StoreCheckState = { state: "stopped" };

    constructor(
        private readonly log: Logger,
        /** Tests hold the check back; the gate runs checkIntegrityOffThread(db). */
        private readonly check: (db: Db) => IntegrityRun = (db) => checkIntegrityOffThread(db, "quick_check"),
    ) {}

    get state(): StoreCheckState {
        return this.current;
    }

    start(db: Db, path: string, sink: EventSink): void {
        const log = this.log;
        const run = this.check(db);
        this.run = run;
        this.current = { state: "running" };
        const current = (): boolean => this.run === run;
        run.report
            .then(async (integrity) => {
                if (!current()) return;
                this.run = undefined;
                this.current = { state: integrity.ok ? "passed" : "failed", report: integrity };
                if (integrity.ok) {
                    log.info({ db: path, ms: integrity.ms }, "database passes its quick check");
                    return;
                }
                log.error({ db: path, integrity }, "database FAILS its quick check: evidence may be damaged");
                await sink
                    .append(storeDamagedAlert(path, integrity))
                    .catch((err: unknown) =>
                        log.error({ db: path, err }, "the STORE_DAMAGED alert could not be stored"),
                    );
            })
            .catch((err: unknown) => {
                if (!current()) return;
                this.run = undefined;
                this.current = { state: "error", error: errorMessage(err) };
                log.warn({ db: path, err }, "the database's quick check could not run");
            });
    }

    /** A check still running is of a file the gate no longer holds; its result would come too late. */
    async stop(): Promise<void> {
        const run = this.run;
        this.run = undefined;
        if (run) {
            this.current = { state: "stopped" };
            await run.stop();
        }
    }
}
