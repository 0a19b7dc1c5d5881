import type { Role } from "../store/users.ts";

/**
 * Who may call which route, and what a call leaves in the audit log: the one table the role guard
 * reads (docs/api.md "Permissions" is the same table in words). A route under /api/ that is missing
 * here is refused to everyone, so a new route is closed until someone decides who may use it.
 */
export interface RoutePermission {
    /** "open": no login; otherwise the roles that may call it. */
    roles: "open" | readonly Role[];
    /** The audit action a call writes; absent = not audited when it succeeds (403s always are). */
    audit?: string;
}

const ALL: readonly Role[] = ["officer", "supervisor", "technician", "auditor", "admin"];
const PASSAGE_READERS: readonly Role[] = ["officer", "supervisor", "auditor", "admin"];
const LANE_OFFICERS: readonly Role[] = ["officer", "supervisor"];
const ALERT_ROLES: readonly Role[] = ["officer", "supervisor", "technician", "admin"];
const DEVICE_READERS: readonly Role[] = ["supervisor", "technician", "admin"];
const TECHNICIANS: readonly Role[] = ["technician", "admin"];
const AUDITORS: readonly Role[] = ["auditor", "admin"];

/** Keyed by `METHOD url-pattern`, the pattern exactly as the route is registered with Fastify. */
export const PERMISSIONS: Readonly<Record<string, RoutePermission>> = {
    "GET /api/v1/health": { roles: "open" },
    "POST /api/v1/auth/login": { roles: "open" },
    "POST /api/v1/auth/logout": { roles: ALL },
    "GET /api/v1/auth/me": { roles: ALL },
    "GET /api/v1/me/language": { roles: ALL },
    "PUT /api/v1/me/language": { roles: ALL, audit: "user.language" },

    "GET /api/v1/lanes": { roles: ALL },
    "GET /api/v1/stream": { roles: ALL },

    "GET /api/v1/passages": { roles: PASSAGE_READERS, audit: "passage.search" },
    "GET /api/v1/passages/:id": { roles: PASSAGE_READERS, audit: "passage.view" },
    "GET /api/v1/images/:ref": { roles: PASSAGE_READERS, audit: "image.view" },
    "GET /api/v1/reason-codes": { roles: PASSAGE_READERS },
    "POST /api/v1/passages/:id/actions": { roles: LANE_OFFICERS, audit: "passage.action" },

    "GET /api/v1/inspections": { roles: PASSAGE_READERS, audit: "inspection.search" },
    "GET /api/v1/inspections/:id": { roles: PASSAGE_READERS, audit: "inspection.view" },
    "POST /api/v1/inspections/:id/actions": { roles: LANE_OFFICERS, audit: "inspection.action" },
    "POST /api/v1/inspections/:id/photos": { roles: LANE_OFFICERS, audit: "inspection.photo" },
    "POST /api/v1/exits/:id/open": { roles: ["supervisor"], audit: "exit.open" },

    "GET /api/v1/visits": { roles: PASSAGE_READERS, audit: "visit.search" },
    "GET /api/v1/visits/:id": { roles: PASSAGE_READERS, audit: "visit.view" },
    "GET /api/v1/yard": { roles: PASSAGE_READERS },
    "POST /api/v1/yard/reorder": { roles: LANE_OFFICERS, audit: "yard.reorder" },
    "POST /api/v1/visits/:id/cancel": { roles: LANE_OFFICERS, audit: "visit.cancel" },
    "GET /api/v1/reports/time-release": { roles: PASSAGE_READERS },
    "POST /api/v1/prearrivals": { roles: ["supervisor"], audit: "prearrival.import" },

    "GET /api/v1/approvals": { roles: ["supervisor"] },
    "POST /api/v1/approvals/:passageId/approve": { roles: ["supervisor"], audit: "approval.approve" },
    "POST /api/v1/approvals/:passageId/reject": { roles: ["supervisor"], audit: "approval.reject" },

    "GET /api/v1/alerts": { roles: ALERT_ROLES },
    "POST /api/v1/alerts/:id/ack": { roles: ALERT_ROLES, audit: "alert.ack" },

    "GET /api/v1/devices": { roles: DEVICE_READERS },
    "GET /api/v1/devices/:id/frames": { roles: DEVICE_READERS },
    "POST /api/v1/devices/:id/test": { roles: TECHNICIANS, audit: "device.test" },
    "GET /api/v1/sync": { roles: DEVICE_READERS },
    "GET /api/v1/storage": { roles: DEVICE_READERS },
    "POST /api/v1/sync/parked/:seq/retry": { roles: TECHNICIANS, audit: "sync.retry" },
    "GET /api/v1/events": { roles: ["technician", "auditor", "admin"], audit: "events.read" },

    "GET /api/v1/audit": { roles: AUDITORS, audit: "audit.read" },
    "GET /api/v1/audit/verify": { roles: AUDITORS, audit: "audit.verify" },

    "GET /api/v1/users": { roles: ["admin"], audit: "user.list" },
    "POST /api/v1/users": { roles: ["admin"], audit: "user.create" },
    "PATCH /api/v1/users/:name": { roles: ["admin"], audit: "user.update" },
};

/** The permission of a route; HEAD is answered by the GET route. Undefined: not in the table. */
export function permissionOf(method: string, url: string): RoutePermission | undefined {
    return PERMISSIONS[`${method === "HEAD" ? "GET" : method} ${url}`];
}

/** Methods that change state: they need the session's CSRF token. */
export const STATE_CHANGING = new Set(["POST", "PUT", "PATCH", "DELETE"]);
