import type { FastifyInstance } from "fastify";
import { GateError } from "../../core/errors.ts";
import { evidenceProblems, verifyEvidence } from "../../store/audit.ts";
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

    // The whole evidence: SQLite's quick check of the file (the gate's own connection: a few seconds per GB,
    // the integrity_check of `gate-edge audit verify` takes as long again), the event log and the audit log.
    // A damaged file is a report saying so, not a 500.
    app.get("/api/v1/audit/verify", async (request) => {
        const report = verifyEvidence(ctx.source.db, "quick_check");
        const { integrity, events, audit } = report;
        const result = {
            ok: report.ok,
            integrity,
            events: {
                ok: events.ok,
                checked: events.events,
                ...(events.firstBroken && {
                    firstBroken: { seq: events.firstBroken.seq, reason: events.firstBroken.reason },
                }),
            },
            audit,
            problems: evidenceProblems(report),
        };
        request.auditDetail = { eventsOk: events.ok, auditOk: audit.ok, integrityOk: integrity.ok };
        return result;
    });
}
