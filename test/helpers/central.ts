import Database from "better-sqlite3";
import { type GateEventType, outboxClassOf } from "../../src/core/events.ts";

export interface CentralAudit {
    /** Rows central holds for the gate. */
    stored: number;
    /** Distinct ids among them (exactly once: equal to stored). */
    distinctIds: number;
    /** Ids the gate's log has that central lacks. */
    missing: string[];
    /** Ids central has that the gate's log does not. */
    extra: string[];
    /** Places where central received an event of a lane and class before an earlier one of the same. */
    orderViolations: string[];
}

/**
 * The independent check of central's side: reads the central simulator's SQLite file directly (not its
 * counters, nor gate-edge's) and compares it with the ids in the gate's own event log.
 */
export function auditCentral(centralDb: string, gateDb: string, gateId: string): CentralAudit {
    const central = new Database(centralDb, { readonly: true, fileMustExist: true });
    const gate = new Database(gateDb, { readonly: true, fileMustExist: true });
    try {
        const rows = central
            .prepare("SELECT id, seq, lane_id, type FROM events WHERE gate_id = ? ORDER BY received_order")
            .all(gateId) as { id: string; seq: number; lane_id: string | null; type: string }[];
        const gateIds = new Set((gate.prepare("SELECT id FROM events").all() as { id: string }[]).map((r) => r.id));
        const centralIds = new Set(rows.map((row) => row.id));
        const lastSeq = new Map<string, number>();
        const orderViolations: string[] = [];
        for (const row of rows) {
            const key = `${row.lane_id ?? "-"}/${outboxClassOf(row.type as GateEventType)}`;
            const before = lastSeq.get(key) ?? 0;
            if (row.seq < before && orderViolations.length < 10)
                orderViolations.push(`${key}: ${row.seq} after ${before}`);
            lastSeq.set(key, Math.max(before, row.seq));
        }
        return {
            stored: rows.length,
            distinctIds: centralIds.size,
            missing: [...gateIds].filter((id) => !centralIds.has(id)).slice(0, 10),
            extra: [...centralIds].filter((id) => !gateIds.has(id)).slice(0, 10),
            orderViolations,
        };
    } finally {
        central.close();
        gate.close();
    }
}
