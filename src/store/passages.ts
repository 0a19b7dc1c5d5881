import type { Statement } from "better-sqlite3";
import { type Db, statementCache } from "./db.ts";

/** The passage record kept for the API and the dashboard; the event log stays the evidence. */
export interface PassageRow {
    passageId: string;
    laneId: string;
    state: string;
    openedAt: string;
    decidedAt: string | null;
    completedAt: string | null;
    decision: string | null;
    /** Plates (normalised) seen in the passage, for search. */
    plates: string[];
    declarations: string[];
    /** The whole record: facts, decision with every rule result, officer actions, commands. */
    record: Record<string, unknown>;
}

interface Raw {
    passage_id: string;
    lane_id: string;
    state: string;
    opened_at: string;
    decided_at: string | null;
    completed_at: string | null;
    decision: string | null;
    plates: string;
    declarations: string;
    record: string;
}

const fromRaw = (row: Raw): PassageRow => ({
    passageId: row.passage_id,
    laneId: row.lane_id,
    state: row.state,
    openedAt: row.opened_at,
    decidedAt: row.decided_at,
    completedAt: row.completed_at,
    decision: row.decision,
    plates: JSON.parse(row.plates),
    declarations: JSON.parse(row.declarations),
    record: JSON.parse(row.record),
});

/** What the passage history can be searched by. */
export interface PassageQuery {
    laneId?: string;
    plate?: string;
    declaration?: string;
    decision?: string;
    /** ISO 8601: passages opened before this. */
    before?: string;
    /** ISO 8601: passages opened at or after this. */
    from?: string;
    /** A container number (ISO 6346, upper case) seen in the passage. */
    container?: string;
    limit: number;
}

/** Each optional filter and its SQL condition on the parameter of the same name. */
const FILTERS: readonly [keyof Omit<PassageQuery, "limit">, string][] = [
    ["laneId", "lane_id = @laneId"],
    ["decision", "decision = @decision"],
    ["before", "opened_at < @before"],
    ["from", "opened_at >= @from"],
    [
        "container",
        "EXISTS (SELECT 1 FROM json_each(record, '$.facts.containers') WHERE json_extract(value, '$.number') = @container)",
    ],
    ["plate", "EXISTS (SELECT 1 FROM json_each(plates) WHERE value = @plate)"],
    ["declaration", "EXISTS (SELECT 1 FROM json_each(declarations) WHERE value = @declaration)"],
];

/** Passages by id, lane and time; written by the lane engine after each passage event is committed. */
export class PassageStore {
    private readonly sql: (sql: string) => Statement;

    constructor(db: Db) {
        this.sql = statementCache(db);
    }

    upsert(row: PassageRow): void {
        this.sql(
            `INSERT INTO passages (passage_id, lane_id, state, opened_at, decided_at, completed_at, decision, plates, declarations, record)
                 VALUES (@passage_id, @lane_id, @state, @opened_at, @decided_at, @completed_at, @decision, @plates, @declarations, @record)
                 ON CONFLICT (passage_id) DO UPDATE SET state = excluded.state, decided_at = excluded.decided_at,
                   completed_at = excluded.completed_at, decision = excluded.decision, plates = excluded.plates,
                   declarations = excluded.declarations, record = excluded.record`,
        ).run({
            passage_id: row.passageId,
            lane_id: row.laneId,
            state: row.state,
            opened_at: row.openedAt,
            decided_at: row.decidedAt,
            completed_at: row.completedAt,
            decision: row.decision,
            plates: JSON.stringify(row.plates),
            declarations: JSON.stringify(row.declarations),
            record: JSON.stringify(row.record),
        });
    }

    get(passageId: string): PassageRow | undefined {
        const row = this.sql("SELECT * FROM passages WHERE passage_id = ?").get(passageId) as Raw | undefined;
        return row && fromRaw(row);
    }

    /**
     * The lane's newest passage if it has not closed: the one the lane was handling when the gate stopped.
     * An older one left open is history, not the truck in the lane. Ids break ties: the next truck's passage
     * opens in the same millisecond its predecessor closes, and ids grow.
     */
    openOf(laneId: string): PassageRow | undefined {
        const row = this.sql(
            "SELECT * FROM passages WHERE lane_id = ? ORDER BY opened_at DESC, passage_id DESC LIMIT 1",
        ).get(laneId) as Raw | undefined;
        return row && row.state !== "CLOSED" ? fromRaw(row) : undefined;
    }

    /**
     * Passages decided offline (on stale clearance data) that were not re-checked on fresh data yet, oldest
     * decision first. A scan of the records: run only when such a decision may exist (LaneEngine).
     */
    decidedOfflineUnchecked(limit: number): PassageRow[] {
        return (
            this.sql(
                `SELECT * FROM passages WHERE decided_at IS NOT NULL
                       AND json_extract(record, '$.decision.offline') = 1
                       AND json_extract(record, '$.offlineRecheck') IS NULL
                     ORDER BY decided_at, passage_id LIMIT ?`,
            ).all(limit) as Raw[]
        ).map(fromRaw);
    }

    /** Newest first. `plate` matches a normalised plate exactly; `decision` one of the four. */
    list(query: PassageQuery): PassageRow[] {
        const where: string[] = [];
        const params: Record<string, string | number> = { limit: query.limit };
        for (const [key, clause] of FILTERS) {
            const value = query[key];
            if (value === undefined || value === "") continue;
            where.push(clause);
            params[key] = value;
        }
        const sql = `SELECT * FROM passages ${where.length > 0 ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY opened_at DESC LIMIT @limit`;
        return (this.sql(sql).all(params) as Raw[]).map(fromRaw);
    }
}
