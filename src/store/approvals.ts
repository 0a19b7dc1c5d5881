import type { Db } from "./db.ts";

/** A release that waits for a supervisor's second pair of eyes. */
export interface Approval {
    passageId: string;
    laneId: string;
    requestedBy: string;
    requestedAt: string;
    reasonCode: string;
    note?: string;
    plates: string[];
    channel?: string;
    watchListed: boolean;
}

interface ApprovalRaw {
    passage_id: string;
    lane_id: string;
    requested_by: string;
    requested_at: string;
    reason_code: string;
    note: string | null;
    plates: string;
    channel: string | null;
    watch_listed: number;
}

const toApproval = (row: ApprovalRaw): Approval => ({
    passageId: row.passage_id,
    laneId: row.lane_id,
    requestedBy: row.requested_by,
    requestedAt: row.requested_at,
    reasonCode: row.reason_code,
    ...(row.note !== null && { note: row.note }),
    plates: JSON.parse(row.plates),
    ...(row.channel !== null && { channel: row.channel }),
    watchListed: row.watch_listed !== 0,
});

export type ApprovalResolution = "approved" | "rejected" | "withdrawn" | "expired";

/**
 * Open four-eyes requests and how each ended. The lane's correlator holds the state that decides
 * (who asked); this table is what supervisors see and what survives a page reload.
 */
export class ApprovalStore {
    constructor(
        private readonly db: Db,
        private readonly now: () => number = Date.now,
    ) {}

    /** Records a request; an open one for the same passage is replaced (the correlator keeps one). */
    request(approval: Approval): void {
        this.db.transaction(() => {
            this.resolve(approval.passageId, "withdrawn", approval.requestedBy);
            this.db
                .prepare(
                    `INSERT INTO approvals (passage_id, lane_id, requested_by, requested_at, reason_code, note, plates, channel, watch_listed)
                     VALUES (@passageId, @laneId, @requestedBy, @requestedAt, @reasonCode, @note, @plates, @channel, @watchListed)`,
                )
                .run({
                    ...approval,
                    note: approval.note ?? null,
                    plates: JSON.stringify(approval.plates),
                    channel: approval.channel ?? null,
                    watchListed: approval.watchListed ? 1 : 0,
                });
        })();
    }

    pending(passageId: string): Approval | undefined {
        const row = this.db
            .prepare("SELECT * FROM approvals WHERE passage_id = ? AND resolved_at IS NULL")
            .get(passageId) as ApprovalRaw | undefined;
        return row && toApproval(row);
    }

    listPending(): Approval[] {
        return (
            this.db
                .prepare("SELECT * FROM approvals WHERE resolved_at IS NULL ORDER BY requested_at")
                .all() as ApprovalRaw[]
        ).map(toApproval);
    }

    /** Closes the open request of a passage; false when there was none. */
    resolve(passageId: string, resolution: ApprovalResolution, by: string): boolean {
        return (
            this.db
                .prepare(
                    "UPDATE approvals SET resolved_at = ?, resolved_by = ?, resolution = ? WHERE passage_id = ? AND resolved_at IS NULL",
                )
                .run(new Date(this.now()).toISOString(), by, resolution, passageId).changes > 0
        );
    }
}
