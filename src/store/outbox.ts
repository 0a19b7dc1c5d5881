import { OutboxClass } from "../core/events.ts";
import type { Db } from "./db.ts";

/** Share of each batch a class gets when all have a backlog: alerts first, nothing starves. */
export const CLASS_WEIGHTS: Readonly<Record<OutboxClass, number>> = {
    [OutboxClass.Alert]: 8,
    [OutboxClass.Passage]: 4,
    [OutboxClass.Reading]: 2,
    [OutboxClass.Image]: 1,
    [OutboxClass.Telemetry]: 1,
};

const CLASSES = Object.keys(CLASS_WEIGHTS).map(Number) as OutboxClass[];

/** One queued event: its seq and the class it is queued under. */
export interface OutboxEntry {
    seq: number;
    class: OutboxClass;
}

/** A parked event as a technician sees it. */
export interface ParkedEvent {
    seq: number;
    class: OutboxClass;
    id: string;
    type: string;
    laneId: string | null;
    reason: string;
    attempts: number;
    parkedAt: string | null;
}

export interface BacklogByClass {
    class: OutboxClass;
    pending: number;
    parked: number;
    oldestPendingSeq: number | null;
}

/**
 * The outbox: one row per event central has not accepted. Rows are written by a trigger in the same
 * transaction as their event (see the migrations), so an event can never be stored without being queued;
 * a delivered event's row is deleted, a rejected one is parked with its reason until a technician retries.
 */
export class Outbox {
    constructor(private readonly db: Db) {}

    backlog(): BacklogByClass[] {
        const rows = this.db
            .prepare(
                `SELECT class,
                        SUM(state = 'pending') AS pending,
                        SUM(state = 'parked') AS parked,
                        MIN(CASE WHEN state = 'pending' THEN seq END) AS oldest
                   FROM outbox GROUP BY class`,
            )
            .all() as { class: number; pending: number; parked: number; oldest: number | null }[];
        return CLASSES.map((cls) => {
            const row = rows.find((candidate) => candidate.class === cls);
            return {
                class: cls,
                pending: row?.pending ?? 0,
                parked: row?.parked ?? 0,
                oldestPendingSeq: row?.oldest ?? null,
            };
        });
    }

    /**
     * The next pending events to send, at most `limit`, shared between classes by CLASS_WEIGHTS; a class's
     * unused share goes to the others. Within a class, oldest first, so per-lane order is kept. Sorted by seq.
     */
    nextBatch(limit: number): OutboxEntry[] {
        const totalWeight = CLASSES.reduce((sum, cls) => sum + CLASS_WEIGHTS[cls], 0);
        const select = this.db.prepare(
            "SELECT seq FROM outbox WHERE class = ? AND seq > ? AND state = 'pending' ORDER BY seq LIMIT ?",
        );
        const picked = new Map<OutboxClass, number[]>();
        let remaining = limit;
        const take = (cls: OutboxClass, count: number): void => {
            if (count <= 0) return;
            const already = picked.get(cls) ?? [];
            const after = already.length > 0 ? (already[already.length - 1] as number) : 0;
            const more = (select.all(cls, after, count) as { seq: number }[]).map((row) => row.seq);
            picked.set(cls, [...already, ...more]);
            remaining -= more.length;
        };
        for (const cls of CLASSES) {
            take(cls, Math.min(remaining, Math.max(1, Math.floor((limit * CLASS_WEIGHTS[cls]) / totalWeight))));
        }
        for (const cls of CLASSES) take(cls, remaining);
        return [...picked.entries()]
            .flatMap(([cls, seqs]) => seqs.map((seq) => ({ seq, class: cls })))
            .sort((a, b) => a.seq - b.seq);
    }

    /**
     * Central accepted these (or already had them): they leave the outbox. With `ack` (central's answer's
     * digest and when it came), the acknowledgement is kept for the checkpoint that later prunes them.
     */
    markDelivered(entries: readonly OutboxEntry[], ack?: { at: Date; digest: string }): void {
        const remove = this.db.prepare("DELETE FROM outbox WHERE class = ? AND seq = ?");
        this.db.transaction(() => {
            for (const entry of entries) remove.run(entry.class, entry.seq);
            if (ack === undefined || entries.length === 0) return;
            let first = Number.POSITIVE_INFINITY;
            let last = 0;
            for (const { seq } of entries) {
                first = Math.min(first, seq);
                last = Math.max(last, seq);
            }
            this.db
                .prepare("INSERT INTO central_acks (at, first_seq, last_seq, events, digest) VALUES (?, ?, ?, ?, ?)")
                .run(ack.at.toISOString(), first, last, entries.length, ack.digest);
        })();
    }

    /** Central rejected it: kept, with the reason, out of the batches until a technician retries it. */
    park(entry: OutboxEntry, reason: string, at: Date): void {
        this.db
            .prepare(
                "UPDATE outbox SET state = 'parked', last_error = ?, attempts = attempts + 1, updated_at = ? WHERE class = ? AND seq = ?",
            )
            .run(reason, at.toISOString(), entry.class, entry.seq);
    }

    /** Parked events, oldest first (through the partial index of migration 5: no backlog scan). */
    parked(limit: number): ParkedEvent[] {
        return (
            this.db
                .prepare(
                    `SELECT o.seq, o.class, o.attempts, o.last_error, o.updated_at, e.id, e.type, e.lane_id
                       FROM outbox o JOIN events e ON e.seq = o.seq
                      WHERE o.state = 'parked' ORDER BY o.seq LIMIT ?`,
                )
                .all(limit) as {
                seq: number;
                class: OutboxClass;
                attempts: number;
                last_error: string | null;
                updated_at: string | null;
                id: string;
                type: string;
                lane_id: string | null;
            }[]
        ).map((row) => ({
            seq: row.seq,
            class: row.class,
            id: row.id,
            type: row.type,
            laneId: row.lane_id,
            reason: row.last_error ?? "",
            attempts: row.attempts,
            parkedAt: row.updated_at,
        }));
    }

    /** The queued entry of an event, if it is still queued. */
    entryOf(seq: number): (OutboxEntry & { state: "pending" | "parked" }) | undefined {
        // The key is (class, seq): naming every class turns this into five index look-ups, not a scan.
        return this.db
            .prepare("SELECT seq, class, state FROM outbox WHERE class IN (0, 1, 2, 3, 4) AND seq = ?")
            .get(seq) as (OutboxEntry & { state: "pending" | "parked" }) | undefined;
    }

    /** When the oldest pending event of a class was recorded (ISO), or undefined when none is pending. */
    oldestPendingRecordedAt(cls: OutboxClass): string | undefined {
        const row = this.db
            .prepare(
                `SELECT e.recorded_at FROM outbox o JOIN events e ON e.seq = o.seq
                  WHERE o.class = ? AND o.state = 'pending' ORDER BY o.seq LIMIT 1`,
            )
            .get(cls) as { recorded_at: string } | undefined;
        return row?.recorded_at;
    }

    /** A technician's retry: the parked event goes back to pending. False when it was not parked. */
    retryParked(entry: OutboxEntry, at: Date): boolean {
        return (
            this.db
                .prepare(
                    "UPDATE outbox SET state = 'pending', updated_at = ? WHERE class = ? AND seq = ? AND state = 'parked'",
                )
                .run(at.toISOString(), entry.class, entry.seq).changes === 1
        );
    }
}
