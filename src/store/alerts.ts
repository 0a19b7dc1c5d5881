import type { GateEvent, GateEventDraft } from "../core/events.ts";
import type { IntegrityReport } from "./audit.ts";
import type { Db } from "./db.ts";
import { type EventRow, rowToEvent } from "./eventLog.ts";

export type AlertSeverity = "info" | "warning" | "critical";

/** One alert of the queue: an `alert.raised` event (or a device going offline) and what people did about it. */
export interface Alert {
    /** The id of the event that raised it. */
    id: string;
    seq: number;
    code: string;
    severity: AlertSeverity;
    message: string;
    laneId?: string;
    deviceId?: string;
    passageId?: string;
    raisedAt: string;
    clearedAt?: string;
    acknowledgedBy?: string;
    acknowledgedAt?: string;
    note?: string;
}

export type AlertState = "open" | "acknowledged" | "all";

interface AlertRaw {
    seq: number;
    id: string;
    code: string;
    severity: AlertSeverity;
    message: string;
    lane_id: string | null;
    device_id: string | null;
    passage_id: string | null;
    raised_at: string;
    cleared_at: string | null;
    acknowledged_by: string | null;
    acknowledged_at: string | null;
    note: string | null;
}

const toAlert = (row: AlertRaw): Alert => ({
    id: row.id,
    seq: row.seq,
    code: row.code,
    severity: row.severity,
    message: row.message,
    ...(row.lane_id !== null && { laneId: row.lane_id }),
    ...(row.device_id !== null && { deviceId: row.device_id }),
    ...(row.passage_id !== null && { passageId: row.passage_id }),
    raisedAt: row.raised_at,
    ...(row.cleared_at !== null && { clearedAt: row.cleared_at }),
    ...(row.acknowledged_by !== null && { acknowledgedBy: row.acknowledged_by }),
    ...(row.acknowledged_at !== null && { acknowledgedAt: row.acknowledged_at }),
    ...(row.note !== null && { note: row.note }),
});

const CURSOR_KEY = "alerts.cursor";
export const DEVICE_OFFLINE = "DEVICE_OFFLINE";
/** The gate's database failed SQLite's check at start: evidence in it may be damaged. */
export const STORE_DAMAGED = "STORE_DAMAGED";

/**
 * The critical alert of a database that fails its start-up check, naming the file, the damaged tables and
 * SQLite's first message. The lanes keep working (new events still chain onto the log): the alert is what
 * makes a technician keep the file and restore the last backup at a quiet moment.
 */
export function storeDamagedAlert(path: string, report: IntegrityReport): GateEventDraft {
    const where = report.tables.length > 0 ? ` in ${report.tables.join(", ")}` : "";
    return {
        type: "alert.raised",
        data: {
            code: STORE_DAMAGED,
            severity: "critical",
            message:
                `database ${path} fails SQLite's ${report.check}${where} (${report.messages[0] ?? "no message"}): ` +
                `evidence in it may be damaged — keep the file, run gate-edge audit verify --db ${path}, and restore the last backup (gate-edge restore) at a quiet moment`,
            path,
            tables: report.tables,
            messages: report.messages,
        },
    };
}

/** Whether an event is something the alerts queue shows. */
export function isAlertEvent(event: Pick<GateEvent, "type">): boolean {
    return event.type === "alert.raised" || event.type === "alert.cleared" || event.type === "device.status";
}

function severityOf(value: unknown): AlertSeverity {
    return value === "info" || value === "critical" ? value : "warning";
}

/**
 * The alerts queue: a projection of the event log (alert.raised / alert.cleared, and device.status
 * offline/online as DEVICE_OFFLINE) with acknowledgements. The event log stays the evidence; this table
 * is rebuilt from it after the stored cursor, so no alert is missed across a restart.
 */
export class AlertStore {
    constructor(
        private readonly db: Db,
        private readonly now: () => number = Date.now,
    ) {}

    get cursor(): number {
        const row = this.db.prepare("SELECT value FROM meta WHERE key = ?").get(CURSOR_KEY) as
            | { value: string }
            | undefined;
        return row ? Number(row.value) : 0;
    }

    /** Reads the events the projection has not seen (after the cursor) and applies them. */
    catchUp(): Alert[] {
        const rows = this.db
            .prepare(
                "SELECT * FROM events WHERE seq > ? AND type IN ('alert.raised', 'alert.cleared', 'device.status') ORDER BY seq",
            )
            .all(this.cursor) as EventRow[];
        const head = this.db.prepare("SELECT max(seq) AS seq FROM events").get() as { seq: number | null };
        return this.apply(rows.map(rowToEvent), head.seq ?? 0);
    }

    /**
     * Applies events in seq order in one transaction and moves the cursor to `upToSeq` (every event up
     * to it has been seen, alert or not). Returns the alerts that changed.
     */
    apply(events: readonly GateEvent[], upToSeq: number): Alert[] {
        const changed = new Map<number, number>();
        this.db.transaction(() => {
            const cursor = this.cursor;
            let next = Math.max(cursor, upToSeq);
            for (const event of events) {
                if (event.seq <= cursor) continue;
                const seq = this.applyOne(event);
                if (seq !== undefined) changed.set(seq, seq);
                next = Math.max(next, event.seq);
            }
            this.db
                .prepare(
                    "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                )
                .run(CURSOR_KEY, String(next));
        })();
        return [...changed.keys()].map((seq) => this.bySeq(seq)).filter((alert) => alert !== undefined);
    }

    private applyOne(event: GateEvent): number | undefined {
        const data = event.data;
        const deviceId = event.deviceId ?? null;
        const laneId = event.laneId ?? null;
        if (event.type === "device.status") {
            if (data.status === "offline") {
                // A flapping device keeps one open alert rather than filling the queue.
                const open = this.db
                    .prepare(
                        "SELECT seq FROM alerts WHERE code = ? AND device_id IS ? AND acknowledged_at IS NULL ORDER BY seq DESC LIMIT 1",
                    )
                    .get(DEVICE_OFFLINE, deviceId) as { seq: number } | undefined;
                if (open) {
                    this.db.prepare("UPDATE alerts SET cleared_at = NULL WHERE seq = ?").run(open.seq);
                    return open.seq;
                }
                return this.insert(event, {
                    code: DEVICE_OFFLINE,
                    severity: "warning",
                    message: `device ${event.deviceId ?? "?"} is offline: ${String(data.reason ?? "no reason given")}`,
                });
            }
            return data.status === "online"
                ? this.clear(DEVICE_OFFLINE, deviceId, laneId, null, event.recordedAt)
                : undefined;
        }
        const code = typeof data.code === "string" ? data.code : "UNKNOWN";
        const passageId = typeof data.passageId === "string" ? data.passageId : null;
        if (event.type === "alert.cleared") return this.clear(code, deviceId, laneId, passageId, event.recordedAt);
        return this.insert(event, {
            code,
            severity: severityOf(data.severity),
            message: typeof data.message === "string" ? data.message : code,
            passageId,
        });
    }

    private insert(
        event: GateEvent,
        alert: { code: string; severity: AlertSeverity; message: string; passageId?: string | null },
    ): number {
        this.db
            .prepare(
                `INSERT OR IGNORE INTO alerts (seq, id, code, severity, message, lane_id, device_id, passage_id, raised_at)
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
            )
            .run(
                event.seq,
                event.id,
                alert.code,
                alert.severity,
                alert.message,
                event.laneId ?? null,
                event.deviceId ?? null,
                alert.passageId ?? null,
                event.occurredAt,
            );
        return event.seq;
    }

    /**
     * The newest alert of the code on the same device, lane and passage (each when the clearing event
     * names it) that is not cleared yet.
     */
    private clear(
        code: string,
        deviceId: string | null,
        laneId: string | null,
        passageId: string | null,
        at: string,
    ): number | undefined {
        const open = this.db
            .prepare(
                `SELECT seq FROM alerts WHERE code = @code AND device_id IS @deviceId
                   AND (@laneId IS NULL OR lane_id IS @laneId) AND (@passageId IS NULL OR passage_id IS @passageId)
                   AND cleared_at IS NULL
                 ORDER BY seq DESC LIMIT 1`,
            )
            .get({ code, deviceId, laneId, passageId }) as { seq: number } | undefined;
        if (!open) return undefined;
        this.db.prepare("UPDATE alerts SET cleared_at = ? WHERE seq = ?").run(at, open.seq);
        return open.seq;
    }

    list(state: AlertState, limit: number): Alert[] {
        const where =
            state === "open"
                ? "WHERE acknowledged_at IS NULL"
                : state === "acknowledged"
                  ? "WHERE acknowledged_at IS NOT NULL"
                  : "";
        return (
            this.db.prepare(`SELECT * FROM alerts ${where} ORDER BY seq DESC LIMIT ?`).all(limit) as AlertRaw[]
        ).map(toAlert);
    }

    get(id: string): Alert | undefined {
        const row = this.db.prepare("SELECT * FROM alerts WHERE id = ?").get(id) as AlertRaw | undefined;
        return row && toAlert(row);
    }

    private bySeq(seq: number): Alert | undefined {
        const row = this.db.prepare("SELECT * FROM alerts WHERE seq = ?").get(seq) as AlertRaw | undefined;
        return row && toAlert(row);
    }

    openCount(): number {
        return (
            this.db.prepare("SELECT count(*) AS n FROM alerts WHERE acknowledged_at IS NULL").get() as { n: number }
        ).n;
    }

    /** Acknowledges an alert; the first acknowledgement stays. Undefined for an unknown id. */
    acknowledge(id: string, by: string, note?: string): { alert: Alert; changed: boolean } | undefined {
        const changed =
            this.db
                .prepare(
                    "UPDATE alerts SET acknowledged_by = ?, acknowledged_at = ?, note = ? WHERE id = ? AND acknowledged_at IS NULL",
                )
                .run(by, new Date(this.now()).toISOString(), note ?? null, id).changes > 0;
        const alert = this.get(id);
        return alert && { alert, changed };
    }
}
