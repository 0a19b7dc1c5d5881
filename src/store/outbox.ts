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

export interface BacklogByClass {
    class: OutboxClass;
    pending: number;
    parked: number;
    oldestPendingSeq: number | null;
}

/**
 * The outbox: one row per event not yet accepted by central. Rows are written in the same transaction as
 * their event (see EventLog), so an event can never be stored without being queued for sync.
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
                   FROM outbox WHERE state != 'delivered' GROUP BY class`,
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
     * The next pending seqs to send, at most `limit`, shared between classes by CLASS_WEIGHTS; a class's
     * unused share goes to the others. Within a class, oldest first, so per-lane order is kept.
     */
    nextBatch(limit: number): number[] {
        const totalWeight = CLASSES.reduce((sum, cls) => sum + CLASS_WEIGHTS[cls], 0);
        const select = this.db.prepare(
            "SELECT seq FROM outbox WHERE state = 'pending' AND class = ? ORDER BY seq LIMIT ?",
        );
        const picked = new Map<OutboxClass, number[]>();
        let remaining = limit;
        for (const cls of CLASSES) {
            const share = Math.max(1, Math.floor((limit * CLASS_WEIGHTS[cls]) / totalWeight));
            const seqs = (select.all(cls, Math.min(share, remaining)) as { seq: number }[]).map((row) => row.seq);
            picked.set(cls, seqs);
            remaining -= seqs.length;
        }
        for (const cls of CLASSES) {
            if (remaining <= 0) break;
            const already = picked.get(cls) ?? [];
            const after = already.length > 0 ? (already[already.length - 1] as number) : 0;
            const more = (
                this.db
                    .prepare(
                        "SELECT seq FROM outbox WHERE state = 'pending' AND class = ? AND seq > ? ORDER BY seq LIMIT ?",
                    )
                    .all(cls, after, remaining) as { seq: number }[]
            ).map((row) => row.seq);
            picked.set(cls, [...already, ...more]);
            remaining -= more.length;
        }
        return [...picked.values()].flat().sort((a, b) => a - b);
    }

    markDelivered(seqs: readonly number[], at: Date): void {
        const update = this.db.prepare("UPDATE outbox SET state = 'delivered', updated_at = ? WHERE seq = ?");
        this.db.transaction(() => {
            for (const seq of seqs) update.run(at.toISOString(), seq);
        })();
    }

    park(seq: number, reason: string, at: Date): void {
        this.db
            .prepare(
                "UPDATE outbox SET state = 'parked', last_error = ?, attempts = attempts + 1, updated_at = ? WHERE seq = ?",
            )
            .run(reason, at.toISOString(), seq);
    }

    retryParked(seq: number, at: Date): boolean {
        return (
            this.db
                .prepare("UPDATE outbox SET state = 'pending', updated_at = ? WHERE seq = ? AND state = 'parked'")
                .run(at.toISOString(), seq).changes === 1
        );
    }
}
