import type { FastifyInstance } from "fastify";
import type { ApiContext } from "../context.ts";

/** Auditors: the audit log, and whether the event log and the audit log are intact. */
export function registerAuditRoutes(app: FastifyInstance, ctx: ApiContext): void {
    app.get<{ Querystring: { after: number; limit: number } }>(
        "/api/v1/audit",
        {
            schema: {
                querystring: {
                    type: "object",
                    additionalProperties: false,
                    properties: {
                        after: { type: "integer", minimum: 0, default: 0 },
                        limit: { type: "integer", minimum: 1, maximum: 1000, default: 100 },
                    },
                },
            },
        },
        async (request) => {
            const entries = ctx.audit.list(request.query.after, request.query.limit);
            const last = entries[entries.length - 1];
            return { entries, next: last ? last.seq : request.query.after };
        },
    );

    app.get("/api/v1/audit/verify", async (request) => {
        const events = ctx.source.verifyEvents();
        const audit = ctx.audit.verify();
        const result = {
            events: {
                ok: events.ok,
                checked: events.events,
                ...(events.firstBroken && {
                    firstBroken: { seq: events.firstBroken.seq, reason: events.firstBroken.reason },
                }),
            },
            audit,
        };
        request.auditDetail = { eventsOk: result.events.ok, auditOk: audit.ok };
        return result;
    });
}
