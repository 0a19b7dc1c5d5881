import type { FastifyInstance } from "fastify";
import { GateError } from "../../core/errors.ts";
import { type EvidenceReport, evidenceProblems, verifyEvidenceYielding } from "../../store/audit.ts";
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

    // The whole evidence: SQLite's quick check of the file (a few seconds per GB, on a worker thread with its
    // own read-only connection; the integrity_check of `gate-edge audit verify` takes as long again), the
    // event log and the audit log (walked here a chunk at a time, the lanes' work running between chunks).
    // One verify at a time: a request that comes while one runs joins it and gets its report (an auditor's
    // second click costs nothing). Stopping the gate ends a verify in progress (503 STORE_CLOSED).
    // A damaged file is a report saying so, not a 500.
    let running: { startedAt: string; report: Promise<EvidenceReport> } | undefined;
    const stopping = new AbortController();
    app.addHook("preClose", async () => stopping.abort());
    app.get("/api/v1/audit/verify", async (request) => {
        const joined = running !== undefined;
        if (running === undefined) {
            const report = verifyEvidenceYielding(ctx.source.db, "quick_check", stopping.signal);
            const started = { startedAt: new Date(ctx.source.now()).toISOString(), report };
            running = started;
            void report
                .finally(() => {
                    if (running === started) running = undefined;
                })
                .catch(() => undefined);
        }
        const { startedAt } = running;
        const report = await running.report;
        const { integrity, events, audit } = report;
        const result = {
            ok: report.ok,
            startedAt,
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
        request.auditDetail = { eventsOk: events.ok, auditOk: audit.ok, integrityOk: integrity.ok, joined };
        return result;
    });
}
