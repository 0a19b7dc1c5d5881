/**
 * The visits table (migration 9): each visit as the fold of its `visit.*` events (visitModel.ts), the queue
 * length of each lane group at every change (the time-release report's queue chart), and the yard part's
 * cursor. The event log stays the evidence.
 */
import type { Statement } from "better-sqlite3";
import { type Db, statementCache } from "../store/db.ts";
import { isoMs } from "./report.ts";
import type { LaneGroup, QueueSample, ReportVisit, VISIT_STAGES, VisitState } from "./types.ts";
import { applyVisitEvent, isoInZone, type Visit, type VisitEvent } from "./visitModel.ts";

interface Raw {
    record: string;
}

/** What the visit list can be filtered by; newest arrival first, paged by `before` (arrival, ms). */
export interface VisitQuery {
    state?: VisitState;
    laneGroup?: LaneGroup;
    /** A normalised plate: the tractor's (exact). */
    plate?: string;
    /** Arrived in [from, to) (ms). */
    from?: number;
    to?: number;
    before?: number;
    limit: number;
}

/** The stages after arrival and their columns (migration 10); arrival is `arrived_ms`. */
const STAGE_COLUMNS = [
    ["called", "called_ms"],
    ["laneEntered", "lane_entered_ms"],
    ["decided", "decided_ms"],
    ["inspectionStarted", "inspection_started_ms"],
    ["inspectionEnded", "inspection_ended_ms"],
    ["released", "released_ms"],
    ["exited", "exited_ms"],
] as const satisfies readonly (readonly [(typeof VISIT_STAGES)[number], string])[];
/** Arrival and each stage after it: the report's stageMs. */
const STAGE_COUNT = STAGE_COLUMNS.length + 1;
const STAGE_COLUMN_LIST = STAGE_COLUMNS.map(([, column]) => column).join(", ");
/** A report row as SQLite gives it: channel, lane, goods class, then arrival and each stage (ms or NULL). */
type ReportRow = [string | null, string | null, string, ...(number | null)[]];

const parse = (row: Raw): Visit => JSON.parse(row.record) as Visit; // written by save() from a Visit

export class VisitStore {
    private readonly sql: (sql: string) => Statement;

    constructor(
        db: Db,
        private readonly timeZone: string,
    ) {
        this.sql = statementCache(db);
    }

    get(visitId: string): Visit | undefined {
        const row = this.sql("SELECT record FROM visits WHERE visit_id = ?").get(visitId) as Raw | undefined;
        return row && parse(row);
    }

    /** Folds a committed visit event into its visit; one already folded in (by seq) changes nothing. */
    apply(event: VisitEvent): Visit | undefined {
        const visitId = typeof event.data.visitId === "string" ? event.data.visitId : undefined;
        if (visitId === undefined) return undefined;
        const current = this.get(visitId);
        if (current && current.lastSeq >= event.seq) return current;
        const next = applyVisitEvent(current, event, this.timeZone);
        if (next) this.save(next);
        return next;
    }

    private save(visit: Visit): void {
        const stageMs = Object.fromEntries(
            STAGE_COLUMNS.map(([stage, column]) => {
                const text = visit.stages[stage];
                const ms = text === undefined ? Number.NaN : isoMs(text);
                return [column, Number.isNaN(ms) ? null : ms];
            }),
        );
        this.sql(
            `INSERT INTO visits (visit_id, state, lane_group, tractor_plate, arrived_at, arrived_ms, last_seq, record,
                   channel, lane_id, goods_class, ${STAGE_COLUMN_LIST})
                 VALUES (@visit_id, @state, @lane_group, @tractor_plate, @arrived_at, @arrived_ms, @last_seq, @record,
                   @channel, @lane_id, @goods_class, ${STAGE_COLUMNS.map(([, column]) => `@${column}`).join(", ")})
                 ON CONFLICT (visit_id) DO UPDATE SET state = excluded.state, last_seq = excluded.last_seq,
                   record = excluded.record, channel = excluded.channel, lane_id = excluded.lane_id,
                   goods_class = excluded.goods_class,
                   ${STAGE_COLUMNS.map(([, column]) => `${column} = excluded.${column}`).join(", ")}`,
        ).run({
            visit_id: visit.visitId,
            state: visit.state,
            lane_group: visit.laneGroup,
            tractor_plate: visit.tractorPlate,
            arrived_at: visit.stages.arrived ?? "",
            arrived_ms: visit.arrivedMs,
            last_seq: visit.lastSeq,
            record: JSON.stringify(visit),
            channel: visit.channel ?? null,
            lane_id: visit.laneId ?? null,
            goods_class: visit.goodsClass,
            ...stageMs,
        });
    }

    /** Every visit not closed nor cancelled (the yard part keeps them in memory). */
    open(): Visit[] {
        return (this.sql("SELECT record FROM visits WHERE state NOT IN ('CLOSED', 'CANCELLED')").all() as Raw[]).map(
            parse,
        );
    }

    list(query: VisitQuery): Visit[] {
        const where: string[] = [];
        const params: Record<string, string | number> = { limit: query.limit };
        const filters: [keyof VisitQuery, string, string | number | undefined][] = [
            ["state", "state = @state", query.state],
            ["laneGroup", "lane_group = @laneGroup", query.laneGroup],
            ["plate", "tractor_plate = @plate", query.plate],
            ["from", "arrived_ms >= @from", query.from],
            ["to", "arrived_ms < @to", query.to],
            ["before", "arrived_ms < @before", query.before],
        ];
        for (const [key, clause, value] of filters) {
            if (value === undefined || value === "") continue;
            where.push(clause);
            params[key] = value;
        }
        const sql = `SELECT record FROM visits ${where.length > 0 ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY arrived_ms DESC, visit_id DESC LIMIT @limit`;
        return (this.sql(sql).all(params) as Raw[]).map(parse);
    }

    /** What the time-release report reads of the visits that arrived in [from, to) (ms): their columns alone. */
    reportVisits(from: number, to: number): ReportVisit[] {
        const rows = this.sql(
            `SELECT channel, lane_id, goods_class, arrived_ms, ${STAGE_COLUMN_LIST}
                 FROM visits WHERE arrived_ms >= ? AND arrived_ms < ? ORDER BY arrived_ms`,
        )
            .raw()
            .all(from, to) as ReportRow[];
        // A plain loop: a year is a hundred thousand rows, and rest patterns and spreads cost more than the report.
        const visits: ReportVisit[] = new Array(rows.length);
        for (let i = 0; i < rows.length; i++) {
            const row = rows[i] as ReportRow;
            const stageMs = new Float64Array(STAGE_COUNT);
            for (let stage = 0; stage < STAGE_COUNT; stage++)
                stageMs[stage] = (row[3 + stage] as number | null) ?? Number.NaN; // past the three texts: ms or NULL
            const visit: ReportVisit = { goodsClass: row[2] === "perishable" ? "perishable" : "general", stageMs };
            if (row[0] !== null) visit.channel = row[0];
            if (row[1] !== null) visit.laneId = row[1];
            visits[i] = visit;
        }
        return visits;
    }

    addQueueSample(at: number, laneGroup: LaneGroup, length: number): void {
        this.sql("INSERT INTO yard_queue_samples (at_ms, lane_group, length) VALUES (?, ?, ?)").run(
            at,
            laneGroup,
            length,
        );
    }

    /** The queue length of each group at each change in [from, to). */
    queueSamples(from: number, to: number): QueueSample[] {
        const rows = this.sql(
            "SELECT at_ms, lane_group, length FROM yard_queue_samples WHERE at_ms >= ? AND at_ms < ? ORDER BY at_ms, rowid",
        ).all(from, to) as { at_ms: number; lane_group: LaneGroup; length: number }[];
        return rows.map((row) => ({
            at: isoInZone(row.at_ms, this.timeZone),
            laneGroup: row.lane_group,
            length: row.length,
        }));
    }

    /** The seq of the last event the part acted on; undefined before its first start on this database. */
    get cursor(): number | undefined {
        const row = this.sql("SELECT seq FROM yard_cursor WHERE id = 1").get() as { seq: number } | undefined;
        return row?.seq;
    }

    setCursor(seq: number): void {
        this.sql(
            "INSERT INTO yard_cursor (id, seq) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET seq = MAX(seq, excluded.seq)",
        ).run(seq);
    }
}
