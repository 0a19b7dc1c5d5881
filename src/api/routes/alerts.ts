import type { FastifyInstance } from "fastify";
import { GateError } from "../../core/errors.ts";
import type { AlertState } from "../../store/alerts.ts";
import { sessionOf } from "../auth.ts";
import { type ApiContext, NOTE, ULID_PATTERN } from "../context.ts";
import { alertView } from "../views.ts";

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
                            alert,
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
