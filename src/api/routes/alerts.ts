import type { FastifyInstance } from "fastify";
import { GateError } from "../../core/errors.ts";
import type { GateEvent } from "../../core/events.ts";
import type { AlertState } from "../../store/alerts.ts";
import { sessionOf } from "../auth.ts";
import { type ApiContext, NOTE, ULID_PATTERN } from "../context.ts";
import { alertView } from "../views.ts";

/**
 * The parameters of an alert, from the event that raised it (its data beside code, severity and message):
 * the dashboard words the alert from its code and these in the reader's language.
 */
export function alertParams(event: GateEvent | undefined, seq: number): Record<string, string | number> {
    const params: Record<string, string | number> = {};
    if (event?.seq !== seq) return params;
    for (const [name, value] of Object.entries(event.data)) {
        if (name === "code" || name === "severity" || name === "message") continue;
        if (typeof value === "string" || typeof value === "number") params[name] = value;
    }
    // Sizes as the alert's sentence gives them.
    if (typeof params.usedBytes === "number") params.usedMb = Math.round(params.usedBytes / 2 ** 20);
    if (typeof params.quotaBytes === "number") params.quotaMb = Math.round(params.quotaBytes / 2 ** 20);
    return params;
}

/** The alerts queue: tampered seals, weight deviations, devices offline, parked sync, disk quota … */
export function registerAlertRoutes(app: FastifyInstance, ctx: ApiContext): void {
    const { alerts, alertFeed } = ctx;

    app.get<{ Querystring: { state: AlertState; limit: number } }>(
        "/api/v1/alerts",
        {
            schema: {
                querystring: {
                    type: "object",
                    additionalProperties: false,
                    properties: {
                        state: { enum: ["open", "acknowledged", "all"], default: "open" },
                        limit: { type: "integer", minimum: 1, maximum: 1000, default: 200 },
                    },
                },
            },
        },
        async (request) => {
            alertFeed.flush();
            return {
                alerts: alerts
                    .list(request.query.state, request.query.limit)
                    .map((alert) =>
                        alertView(
                            { ...alert, params: alertParams(ctx.source.events(alert.seq - 1, 1)[0], alert.seq) },
                            alert.passageId === undefined ? undefined : ctx.source.passage(alert.passageId),
                        ),
                    ),
            };
        },
    );

    app.post<{ Params: { id: string }; Body: { note?: string } | undefined }>(
        "/api/v1/alerts/:id/ack",
        {
            schema: {
                params: {
                    type: "object",
                    required: ["id"],
                    properties: { id: { type: "string", pattern: ULID_PATTERN } },
                },
                body: { type: "object", additionalProperties: false, properties: { note: NOTE } },
            },
        },
        async (request) => {
            const { id } = request.params;
            request.auditTarget = `alert:${id}`;
            alertFeed.flush();
            const note = request.body?.note;
            const result = alerts.acknowledge(id, sessionOf(request).user.name, note);
            if (!result) throw new GateError("NOT_FOUND", `no alert ${id}`);
            request.auditDetail = {
                code: result.alert.code,
                ...(note !== undefined && { note }),
                ...(!result.changed && { alreadyAcknowledgedBy: result.alert.acknowledgedBy }),
            };
            if (result.changed) ctx.hub.publish({ event: "alert", data: result.alert });
            return { alert: result.alert };
        },
    );
}
