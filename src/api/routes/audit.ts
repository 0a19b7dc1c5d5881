import type { FastifyInstance } from "fastify";
import { GateError } from "../../core/errors.ts";
import type { ApiContext } from "../context.ts";

/** Auditors: the audit log, and whether the event log and the audit log are intact. */
export function registerAuditRoutes(app: FastifyInstance, ctx: ApiContext): void {
    app.get<{ Querystring: { order: "asc" | "desc"; after?: number; before?: number; limit: number } }>(
        "/api/v1/audit",
        {
            schema: {
                querystring: {
                    type: "object",
                    additionalProperties: false,
                    properties: {
                        order: { type: "string", enum: ["asc", "desc"], default: "asc" },
                        after: { type: "integer", minimum: 0 },
                        before: { type: "integer", minimum: 1 },
                        limit: { type: "integer", minimum: 1, maximum: 1000, default: 100 },
                    },
                },
            },
        },
        async (request) => {
            const { order, after, before, limit } = request.query;
            // A busy gate's auditor reads the newest first (order=desc, then before=next); a collector
            // walks forward (after=next). Each cursor belongs to one direction.
            if (order === "asc" && before !== undefined)
                throw new GateError("API_BAD_REQUEST", "before pages newest first: use it with order=desc");
            if (order === "desc" && after !== undefined)
                throw new GateError("API_BAD_REQUEST", "after pages oldest first: use it with order=asc");
            const entries = order === "desc" ? ctx.audit.listNewest(before, limit) : ctx.audit.list(after ?? 0, limit);
            const last = entries[entries.length - 1];
            return { entries, next: last ? last.seq : order === "desc" ? (before ?? null) : (after ?? 0) };
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
