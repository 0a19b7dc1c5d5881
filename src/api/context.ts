import type { Logger } from "pino";
import type { AlertStore } from "../store/alerts.ts";
import type { ApprovalStore } from "../store/approvals.ts";
import type { AuditLog } from "../store/auditLog.ts";
import type { SessionStore, UserStore } from "../store/users.ts";
import type { AlertFeed, LaneBoard, LiveHub } from "./live.ts";
import type { ApiSource } from "./server.ts";

/** Everything a route file needs: the gate (source) and the API's own stores and live parts. */
export interface ApiContext {
    source: ApiSource;
    users: UserStore;
    sessions: SessionStore;
    audit: AuditLog;
    approvals: ApprovalStore;
    alerts: AlertStore;
    alertFeed: AlertFeed;
    board: LaneBoard;
    hub: LiveHub;
    log: Logger;
}

/** Schema fragments shared by the route files. */
export const ULID_PATTERN = "^[0-9A-HJKMNP-TV-Z]{26}$";
/** Free text is checked by src/api/freeText.ts: a note may span lines, a reason code is one line. */
export const NOTE = { type: "string", maxLength: 500, freeText: "lines" } as const;
export const REASON_CODE = { type: "string", minLength: 1, maxLength: 40, freeText: "line" } as const;
