import type Database from "better-sqlite3";
import { GateError } from "../core/errors.ts";

/**
 * Schema migrations, applied in order by `PRAGMA user_version`. Append new steps; never edit a step
 * that has shipped, since gates in the field have already run it.
 */
const MIGRATIONS: readonly string[] = [
    // 1: append-only hash-chained event log and the outbox that feeds central sync.
    `
    CREATE TABLE events (
        seq INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        gate_id TEXT NOT NULL,
        lane_id TEXT,
        type TEXT NOT NULL,
        occurred_at TEXT NOT NULL,
        recorded_at TEXT NOT NULL,
        device_id TEXT,
        data TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL
    );
    CREATE TRIGGER events_no_update BEFORE UPDATE ON events
        BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END;
    CREATE TRIGGER events_no_delete BEFORE DELETE ON events
        BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END;

    -- One row per event central has not accepted yet, clustered by (class, seq) so the sync reads the
    -- oldest pending events of a class in order from one b-tree; a delivered event's row is deleted.
    -- (Secondary indexes on events by lane or type cost a third of ingest throughput; add one only with
    -- the query that needs it.)
    CREATE TABLE outbox (
        class INTEGER NOT NULL,
        seq INTEGER NOT NULL,
        state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'parked')),
        attempts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        updated_at TEXT,
        PRIMARY KEY (class, seq)
    ) WITHOUT ROWID;

    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);

    -- Every event is queued for sync in its own transaction, by SQLite itself: no event can be stored
    -- without being queued, and ingest pays one statement per event instead of two. The class rules
    -- mirror outboxClassOf() in src/core/events.ts (a unit test holds them together).
    CREATE TRIGGER events_to_outbox AFTER INSERT ON events BEGIN
        INSERT INTO outbox (class, seq) VALUES (
            CASE
                WHEN NEW.type LIKE 'alert.%' OR NEW.type LIKE 'actuator.%' OR NEW.type = 'officer.action' THEN 0
                WHEN NEW.type LIKE 'passage.%' THEN 1
                WHEN NEW.type LIKE 'reading.%' THEN 2
                ELSE 4
            END,
            NEW.seq);
    END;
    `,
    // 2: plate and scene images, content-addressed, with a retention clock.
    `
    CREATE TABLE images (
        sha256 TEXT PRIMARY KEY,
        content_type TEXT NOT NULL,
        bytes BLOB NOT NULL,
        size INTEGER NOT NULL,
        created_at TEXT NOT NULL,
        last_seen_at TEXT NOT NULL
    );
    CREATE INDEX images_last_seen ON images (last_seen_at);
    `,
    // 3: the clearance cache: declarations and the watch list as central sends them, so the lane engine
    // can decide offline. Every amendment of a declaration is kept (the 12th digit); rules look up the
    // latest by the 11-digit base, hence the index.
    `
    CREATE TABLE declarations (
        number TEXT PRIMARY KEY,
        base TEXT NOT NULL,
        data TEXT NOT NULL,
        version INTEGER NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE INDEX declarations_base ON declarations (base);
    CREATE TABLE watch_list (
        id TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        value TEXT NOT NULL,
        data TEXT NOT NULL,
        version INTEGER NOT NULL
    );
    CREATE TABLE clearance_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    `,
    // 4: passage records for the API and the dashboard (the event log stays the evidence).
    `
    CREATE TABLE passages (
        passage_id TEXT PRIMARY KEY,
        lane_id TEXT NOT NULL,
        state TEXT NOT NULL,
        opened_at TEXT NOT NULL,
        decided_at TEXT,
        completed_at TEXT,
        decision TEXT,
        plates TEXT NOT NULL,
        declarations TEXT NOT NULL,
        record TEXT NOT NULL
    );
    CREATE INDEX passages_lane_opened ON passages (lane_id, opened_at);
    CREATE INDEX passages_opened ON passages (opened_at);
    `,
    // 5: central sync: parked events found without scanning a large backlog (the partial index holds only
    // the few parked rows, so ingest, which inserts pending rows, does not pay for it).
    `
    CREATE INDEX outbox_parked ON outbox (seq) WHERE state = 'parked';
    `,
    // 6: people at the gate: users (scrypt hashes), sessions (only a SHA-256 of the cookie token is kept, so
    // a copy of the database opens no session), the append-only hash-chained audit log of what they did,
    // four-eyes approvals, and the alerts of the event log with their acknowledgements (a projection: the
    // event log stays the evidence, this table is what the alerts queue reads and acknowledges).
    `
    CREATE TABLE users (
        name TEXT PRIMARY KEY,
        role TEXT NOT NULL CHECK (role IN ('officer', 'supervisor', 'technician', 'auditor', 'admin')),
        password_hash TEXT NOT NULL,
        disabled INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE TABLE sessions (
        token_hash TEXT PRIMARY KEY,
        user_name TEXT NOT NULL REFERENCES users (name) ON DELETE CASCADE,
        csrf_token TEXT NOT NULL,
        created_at TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        ip TEXT NOT NULL
    );
    CREATE INDEX sessions_user ON sessions (user_name);
    CREATE INDEX sessions_expires ON sessions (expires_at);

    CREATE TABLE audit_log (
        seq INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        user_name TEXT NOT NULL,
        role TEXT,
        action TEXT NOT NULL,
        target TEXT,
        outcome TEXT NOT NULL CHECK (outcome IN ('ok', 'denied', 'failed')),
        ip TEXT NOT NULL,
        detail TEXT,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL
    );
    CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
    CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;

    CREATE TABLE approvals (
        id INTEGER PRIMARY KEY,
        passage_id TEXT NOT NULL,
        lane_id TEXT NOT NULL,
        requested_by TEXT NOT NULL,
        requested_at TEXT NOT NULL,
        reason_code TEXT NOT NULL,
        note TEXT,
        plates TEXT NOT NULL,
        channel TEXT,
        watch_listed INTEGER NOT NULL,
        resolved_at TEXT,
        resolved_by TEXT,
        resolution TEXT
    );
    -- At most one open request per passage.
    CREATE UNIQUE INDEX approvals_open ON approvals (passage_id) WHERE resolved_at IS NULL;

    CREATE TABLE alerts (
        seq INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        code TEXT NOT NULL,
        severity TEXT NOT NULL,
        message TEXT NOT NULL,
        lane_id TEXT,
        device_id TEXT,
        passage_id TEXT,
        raised_at TEXT NOT NULL,
        cleared_at TEXT,
        acknowledged_by TEXT,
        acknowledged_at TEXT,
        note TEXT
    );
    CREATE INDEX alerts_open ON alerts (seq) WHERE acknowledged_at IS NULL;
    `,
    // 7: retention. Events central accepted may leave the log once a checkpoint of the chain itself announced
    // them (src/store/retention.ts): the checkpoints table (filled by SQLite from each committed checkpoint
    // event) is what the delete trigger consults, so no code path can remove an event central has not
    // accepted, an unannounced one, or a checkpoint. central_acks keeps a digest of each answer of central's
    // that accepted events, so a checkpoint can name the acknowledgement of what it removes.
    `
    CREATE TABLE checkpoints (
        seq INTEGER PRIMARY KEY,
        last_seq INTEGER NOT NULL,
        done INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX checkpoints_last_seq ON checkpoints (last_seq);
    CREATE TRIGGER events_checkpoint AFTER INSERT ON events WHEN NEW.type = 'store.checkpoint' BEGIN
        INSERT INTO checkpoints (seq, last_seq) VALUES (NEW.seq, json_extract(NEW.data, '$.lastSeq'));
    END;
    DROP TRIGGER events_no_delete;
    CREATE TRIGGER events_no_delete BEFORE DELETE ON events
        WHEN OLD.type = 'store.checkpoint'
          OR OLD.seq > COALESCE((SELECT MAX(last_seq) FROM checkpoints), 0)
          OR EXISTS (SELECT 1 FROM outbox WHERE class IN (0, 1, 2, 3, 4) AND seq = OLD.seq)
        BEGIN SELECT RAISE(ABORT, 'the event log is append-only: only events central accepted, announced by a checkpoint, may leave it'); END;
    CREATE TABLE central_acks (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        first_seq INTEGER NOT NULL,
        last_seq INTEGER NOT NULL,
        events INTEGER NOT NULL,
        digest TEXT NOT NULL
    );
    CREATE INDEX central_acks_first_seq ON central_acks (first_seq);
    `,
    // 8: inspection cases (src/inspection): the fold of the inspection.* events, kept for the API and the exit
    // check; the cursor is the last event seq the inspection part has acted on, so a restart goes on from there.
    `
    CREATE TABLE inspection_cases (
        case_id TEXT PRIMARY KEY,
        passage_id TEXT NOT NULL,
        lane_id TEXT NOT NULL,
        status TEXT NOT NULL,
        opened_at TEXT NOT NULL,
        closed_at TEXT,
        plates TEXT NOT NULL,
        containers TEXT NOT NULL,
        last_seq INTEGER NOT NULL,
        record TEXT NOT NULL
    );
    CREATE INDEX inspection_cases_open ON inspection_cases (status, opened_at);
    CREATE TABLE inspection_cursor (id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL);
    `,
    // 9: the truck's visit (src/yard): pre-arrival records (from central's feed or an import; the driver's
    // personal data in a column of its own, so it can be dropped after the retention while the record stays),
    // the visits as the fold of their visit.* events, each group's queue length at every change (the report's
    // queue chart), and the yard part's cursor, as for inspection cases.
    `
    CREATE TABLE pre_arrivals (
        pre_arrival_id TEXT PRIMARY KEY,
        tractor_key TEXT NOT NULL,
        trailer_key TEXT,
        data TEXT NOT NULL,
        driver TEXT,
        version INTEGER NOT NULL,
        received_at TEXT NOT NULL,
        visit_id TEXT
    );
    CREATE INDEX pre_arrivals_tractor ON pre_arrivals (tractor_key);
    CREATE INDEX pre_arrivals_trailer ON pre_arrivals (trailer_key);
    CREATE INDEX pre_arrivals_driver ON pre_arrivals (received_at) WHERE driver IS NOT NULL;
    CREATE TABLE visits (
        visit_id TEXT PRIMARY KEY,
        state TEXT NOT NULL,
        lane_group TEXT NOT NULL,
        tractor_plate TEXT NOT NULL,
        arrived_at TEXT NOT NULL,
        arrived_ms INTEGER NOT NULL,
        last_seq INTEGER NOT NULL,
        record TEXT NOT NULL
    );
    CREATE INDEX visits_arrived ON visits (arrived_ms);
    CREATE INDEX visits_open ON visits (state) WHERE state NOT IN ('CLOSED', 'CANCELLED');
    CREATE TABLE yard_queue_samples (
        at_ms INTEGER NOT NULL,
        lane_group TEXT NOT NULL,
        length INTEGER NOT NULL
    );
    CREATE INDEX yard_queue_samples_at ON yard_queue_samples (at_ms);
    CREATE TABLE yard_cursor (id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL);
    `,
    // 10: what the time-release report reads of a visit, in columns of their own (a year's report read 100,000
    // whole JSON records): its channel, lane and goods class and each stage's time in epoch ms, filled in for the
    // visits already folded (julianday reads the stages' ISO times with their offset; exact to the millisecond),
    // and an index that covers them.
    `
    ALTER TABLE visits ADD COLUMN channel TEXT;
    ALTER TABLE visits ADD COLUMN lane_id TEXT;
    ALTER TABLE visits ADD COLUMN goods_class TEXT NOT NULL DEFAULT 'general';
    ALTER TABLE visits ADD COLUMN called_ms INTEGER;
    ALTER TABLE visits ADD COLUMN lane_entered_ms INTEGER;
    ALTER TABLE visits ADD COLUMN decided_ms INTEGER;
    ALTER TABLE visits ADD COLUMN inspection_started_ms INTEGER;
    ALTER TABLE visits ADD COLUMN inspection_ended_ms INTEGER;
    ALTER TABLE visits ADD COLUMN released_ms INTEGER;
    ALTER TABLE visits ADD COLUMN exited_ms INTEGER;
    UPDATE visits SET
        channel = json_extract(record, '$.channel'),
        lane_id = json_extract(record, '$.laneId'),
        goods_class = COALESCE(json_extract(record, '$.goodsClass'), 'general'),
        called_ms = CAST(ROUND((julianday(json_extract(record, '$.stages.called')) - 2440587.5) * 86400000) AS INTEGER),
        lane_entered_ms = CAST(ROUND((julianday(json_extract(record, '$.stages.laneEntered')) - 2440587.5) * 86400000) AS INTEGER),
        decided_ms = CAST(ROUND((julianday(json_extract(record, '$.stages.decided')) - 2440587.5) * 86400000) AS INTEGER),
        inspection_started_ms = CAST(ROUND((julianday(json_extract(record, '$.stages.inspectionStarted')) - 2440587.5) * 86400000) AS INTEGER),
        inspection_ended_ms = CAST(ROUND((julianday(json_extract(record, '$.stages.inspectionEnded')) - 2440587.5) * 86400000) AS INTEGER),
        released_ms = CAST(ROUND((julianday(json_extract(record, '$.stages.released')) - 2440587.5) * 86400000) AS INTEGER),
        exited_ms = CAST(ROUND((julianday(json_extract(record, '$.stages.exited')) - 2440587.5) * 86400000) AS INTEGER);
    -- Covering: the report reads these from the index alone, in arrival order, never the rows themselves
    -- (added columns sit behind the record, on its overflow pages).
    CREATE INDEX visits_report ON visits (arrived_ms, channel, lane_id, goods_class, called_ms, lane_entered_ms,
        decided_ms, inspection_started_ms, inspection_ended_ms, released_ms, exited_ms);
    `,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/** The SQL of one migration (1-based), for the upgrade tests that build a database as an older release did. */
export function migrationSql(version: number): string {
    const sql = MIGRATIONS[version - 1];
    if (sql === undefined) throw new RangeError(`no migration ${version} (1..${MIGRATIONS.length})`);
    return sql;
}

/** The schema version a database is at (0 = new, nothing created yet). */
export function schemaVersionOf(db: Database.Database): number {
    return db.pragma("user_version", { simple: true }) as number;
}

/**
 * Brings the schema forward to `to` (default: this release's), one migration per transaction, so a power
 * cut leaves the database at the last whole step and the next start goes on from there. Forward only: a
 * database written by a newer release is refused (STORE_SCHEMA_NEWER) rather than guessed at.
 */
export function migrate(
    db: Database.Database,
    options: {
        to?: number;
        /** Runs inside each step's transaction after its SQL; throwing rolls the step back. */
        check?: () => void;
        onStep?: (version: number) => void;
    } = {},
): void {
    const current = schemaVersionOf(db);
    const target = options.to ?? MIGRATIONS.length;
    if (current > MIGRATIONS.length) {
        throw new GateError(
            "STORE_SCHEMA_NEWER",
            `database schema version ${current} is newer than this gate-edge knows (${MIGRATIONS.length}); refusing to run an older release on it`,
        );
    }
    for (let version = current; version < target; version++) {
        db.transaction(() => {
            db.exec(MIGRATIONS[version] as string);
            options.check?.();
            db.pragma(`user_version = ${version + 1}`);
        })();
        options.onStep?.(version + 1);
    }
}
