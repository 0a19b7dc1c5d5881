/**
 * Every store of the gate database, built in this one place when the gate opens it: the event log and
 * what the lanes use (images, clearance cache, passages) and what the API uses (users and sessions, the
 * audit log, four-eyes approvals, the alerts queue).
 */
import type { Logger } from "pino";
import type { GateConfig } from "../config/types.ts";
import type { EventBus } from "../core/bus.ts";
import type { Clock } from "../core/clock.ts";
import { AlertStore } from "../store/alerts.ts";
import { ApprovalStore } from "../store/approvals.ts";
import { AuditLog } from "../store/auditLog.ts";
import { ClearanceCache } from "../store/clearance.ts";
import type { Db } from "../store/db.ts";
import { EventLog } from "../store/eventLog.ts";
import { ImageStore } from "../store/images.ts";
import { PassageStore } from "../store/passages.ts";
import { SessionStore, UserStore } from "../store/users.ts";

/** The stores the HTTP API works with. */
export interface ApiStores {
    users: UserStore;
    sessions: SessionStore;
    audit: AuditLog;
    approvals: ApprovalStore;
    alerts: AlertStore;
}

export interface GateStores extends ApiStores {
    events: EventLog;
    images: ImageStore;
    clearance: ClearanceCache;
    passages: PassageStore;
}

/** Builds every store on the open database; the event log is started (its group commit runs). */
export function openStores(
    db: Db,
    { config, clock, log, bus }: { config: GateConfig; clock: Clock; log: Logger; bus: EventBus },
): GateStores {
    const events = new EventLog(db, {
        gateId: config.gate.id,
        clock,
        log: log.child({ component: "store" }),
        bus,
        groupCommitMax: config.storage.groupCommitMax,
    });
    events.start();
    const now = () => clock.now();
    return {
        events,
        images: new ImageStore(db),
        clearance: ClearanceCache.open(db, clock),
        passages: new PassageStore(db),
        users: new UserStore(db, now),
        sessions: new SessionStore(db, now),
        audit: new AuditLog(db, now),
        approvals: new ApprovalStore(db, now),
        alerts: new AlertStore(db, now),
    };
}
