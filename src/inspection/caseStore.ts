/**
 * The inspection case table (migration 8): each case as the fold of its `inspection.*` events
 * (src/inspection/caseModel.ts), for the API and the exit check; the event log stays the evidence.
 */
import type { Statement } from "better-sqlite3";
import { type Db, statementCache } from "../store/db.ts";
import { applyCaseEvent, type CaseEvent, type InspectionCase } from "./caseModel.ts";

interface Raw {
    record: string;
}

/** What the worklist can be filtered by; newest first, `before` pages by opened_at. */
export interface CaseQuery {
    status?: "open" | "closed";
    laneId?: string;
    plate?: string;
    assignee?: string;
    /** ISO 8601: cases opened before this (the next page). */
    before?: string;
    limit: number;
}

const FILTERS: readonly [keyof Omit<CaseQuery, "limit" | "status">, string][] = [
    ["laneId", "lane_id = @laneId"],
    ["before", "opened_at < @before"],
    ["plate", "EXISTS (SELECT 1 FROM json_each(plates) WHERE value = @plate)"],
    ["assignee", "json_extract(record, '$.assignee') = @assignee"],
];

export class CaseStore {
    private readonly sql: (sql: string) => Statement;

    constructor(db: Db) {
        this.sql = statementCache(db);
    }

    get(caseId: string): InspectionCase | undefined {
        const row = this.sql("SELECT record FROM inspection_cases WHERE case_id = ?").get(caseId) as Raw | undefined;
        return row && (JSON.parse(row.record) as InspectionCase); // written by save() from an InspectionCase
    }

    /** Folds a committed inspection event into its case; an event already folded in (by seq) changes nothing. */
    apply(event: CaseEvent): InspectionCase | undefined {
        const caseId = typeof event.data.caseId === "string" ? event.data.caseId : undefined;
        if (caseId === undefined) return undefined;
        const current = this.get(caseId);
        if (current && current.lastSeq >= event.seq) return current;
        const next = applyCaseEvent(current, event);
        if (next) this.save(next);
        return next;
    }

    private save(c: InspectionCase): void {
        this.sql(
            `INSERT INTO inspection_cases (case_id, passage_id, lane_id, status, opened_at, closed_at, plates, containers, last_seq, record)
                 VALUES (@case_id, @passage_id, @lane_id, @status, @opened_at, @closed_at, @plates, @containers, @last_seq, @record)
                 ON CONFLICT (case_id) DO UPDATE SET status = excluded.status, closed_at = excluded.closed_at,
                   plates = excluded.plates, containers = excluded.containers, last_seq = excluded.last_seq,
                   record = excluded.record`,
        ).run({
            case_id: c.caseId,
            passage_id: c.passageId,
            lane_id: c.laneId,
            status: c.status,
            opened_at: c.openedAt,
            closed_at: c.closed?.at ?? null,
            plates: JSON.stringify(c.plates),
            containers: JSON.stringify(c.containers),
            last_seq: c.lastSeq,
            record: JSON.stringify(c),
        });
    }

    list(query: CaseQuery): InspectionCase[] {
        const where: string[] = [];
        const params: Record<string, string | number> = { limit: query.limit };
        if (query.status === "open") where.push("status = 'open'");
        if (query.status === "closed") where.push("status <> 'open'");
        for (const [key, clause] of FILTERS) {
            const value = query[key];
            if (value === undefined || value === "") continue;
            where.push(clause);
            params[key] = value;
        }
        const sql = `SELECT record FROM inspection_cases ${where.length > 0 ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY opened_at DESC, case_id DESC LIMIT @limit`;
        return (this.sql(sql).all(params) as Raw[]).map((row) => JSON.parse(row.record) as InspectionCase); // see get()
    }

    /** Cases naming any of these plates or containers, open or closed: what the exit check weighs. */
    naming(plates: readonly string[], containers: readonly string[]): InspectionCase[] {
        if (plates.length === 0 && containers.length === 0) return [];
        return (
            this.sql(
                `SELECT record FROM inspection_cases
                      WHERE EXISTS (SELECT 1 FROM json_each(plates) WHERE value IN (SELECT value FROM json_each(@plates)))
                         OR EXISTS (SELECT 1 FROM json_each(containers) WHERE value IN (SELECT value FROM json_each(@containers)))`,
            ).all({ plates: JSON.stringify(plates), containers: JSON.stringify(containers) }) as Raw[]
        ).map((row) => JSON.parse(row.record) as InspectionCase); // see get()
    }

    /** The seq of the last event the part acted on; undefined before its first start on this database. */
    get cursor(): number | undefined {
        const row = this.sql("SELECT seq FROM inspection_cursor WHERE id = 1").get() as { seq: number } | undefined;
        return row?.seq;
    }

    setCursor(seq: number): void {
        this.sql(
            "INSERT INTO inspection_cursor (id, seq) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET seq = MAX(seq, excluded.seq)",
        ).run(seq);
    }
}
