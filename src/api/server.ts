import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance } from "fastify";
import type { Logger } from "pino";
import { isGateError } from "../core/errors.ts";
import type { GateEvent } from "../core/events.ts";
import type { DeviceHealth, RawFrameRecord } from "../ingest/deviceRuntime.ts";
import type { PassageQuery, PassageRow } from "../store/passages.ts";
import type { SyncService } from "../sync/service.ts";
import { registerMetrics, registerSyncRoutes } from "./syncRoutes.ts";

/** What the API reads from the running gate. */
export interface ApiSource {
    gate: { id: string; name: string };
    startedAt: string;
    devices(): DeviceHealth[];
    recentFrames(deviceId: string): readonly RawFrameRecord[] | undefined;
    lanes(): { id: string; name: string; deviceIds: string[] }[];
    events(afterSeq: number, limit: number): GateEvent[];
    headSeq(): number;
    storeStats(): { commits: number; events: number; failedCommits: number };
    image(ref: string): { contentType: string; bytes: Buffer } | undefined;
    passages(query: PassageQuery): PassageRow[];
    passage(id: string): PassageRow | undefined;
    laneSnapshot(laneId: string): unknown;
    /** Central sync; absent in API tests that do not need it. */
    sync?: SyncService;
}

const MAX_EVENTS_PAGE = 1000;

/**
 * The HTTP API (Fastify). Every query is validated by its schema, so a bad request gets a 400 naming the
 * field; errors answer `{error: CODE, message}` from the one error catalogue, never a stack trace.
 */
export async function createApiServer(source: ApiSource, log: Logger): Promise<FastifyInstance> {
    const app = Fastify({
        // pino's Logger is a FastifyBaseLogger; the cast keeps FastifyInstance at its default logger type.
        // Request lines at info would flood a gate's log; errors still come through.
        loggerInstance: log.child({ component: "api" }, { level: "warn" }) as FastifyBaseLogger,
        bodyLimit: 64 * 1024,
        ajv: { customOptions: { allErrors: true, coerceTypes: true, removeAdditional: false } },
    });

    app.setErrorHandler((error: FastifyError, request, reply) => {
        if (error.validation) {
            return reply.status(400).send({
                error: "API_BAD_REQUEST",
                message: `${error.validationContext ?? "request"} ${error.message}`,
            });
        }
        if (isGateError(error)) return reply.status(error.status).send({ error: error.code, message: error.message });
        const status = error.statusCode && error.statusCode >= 400 ? error.statusCode : 500;
        if (status >= 500) request.log.error({ err: error }, "API request failed");
        return reply
            .status(status)
            .send({ error: error.code ?? "INTERNAL", message: status >= 500 ? "internal error" : error.message });
    });
    app.setNotFoundHandler((request, reply) =>
        reply
            .status(404)
            .send({ error: "NOT_FOUND", message: `no route ${request.method} ${request.url.split("?")[0]}` }),
    );

    registerMetrics(app, source);
    if (source.sync) registerSyncRoutes(app, source.sync);

    app.get("/api/v1/health", async () => {
        const devices = source.devices();
        const lanes = source.lanes().map((lane) => {
            const laneDevices = devices.filter((device) => lane.deviceIds.includes(device.deviceId));
            const offline = laneDevices.filter((device) => device.status !== "online").map((device) => device.deviceId);
            return { id: lane.id, name: lane.name, ready: offline.length === 0, notReady: offline };
        });
        return {
            status: "up",
            gate: source.gate,
            startedAt: source.startedAt,
            store: { headSeq: source.headSeq(), ...source.storeStats() },
            lanes,
            devices: devices.map((device) => ({
                id: device.deviceId,
                laneId: device.laneId,
                model: device.model,
                status: device.status,
                reason: device.reason,
                since: device.statusSince,
                lastFrameAt: device.lastFrameAt,
            })),
        };
    });

    app.get<{ Querystring: { after: number; limit: number } }>(
        "/api/v1/events",
        {
            schema: {
                querystring: {
                    type: "object",
                    additionalProperties: false,
                    properties: {
                        after: { type: "integer", minimum: 0, default: 0 },
                        limit: { type: "integer", minimum: 1, maximum: MAX_EVENTS_PAGE, default: 100 },
                    },
                },
            },
        },
        async (request) => {
            const events = source.events(request.query.after, request.query.limit);
            const last = events[events.length - 1];
            return { events, next: last ? last.seq : request.query.after };
        },
    );

    app.get("/api/v1/devices", async () => ({ devices: source.devices() }));

    app.get("/api/v1/lanes", async () => ({
        lanes: source.lanes().map((lane) => ({ ...lane, now: source.laneSnapshot(lane.id) ?? null })),
    }));

    app.get<{
        Querystring: {
            lane?: string;
            plate?: string;
            declaration?: string;
            decision?: string;
            before?: string;
            limit: number;
        };
    }>(
        "/api/v1/passages",
        {
            schema: {
                querystring: {
                    type: "object",
                    additionalProperties: false,
                    properties: {
                        lane: { type: "string", pattern: "^[A-Za-z0-9_-]{1,32}$" },
                        plate: { type: "string", pattern: "^[A-Z0-9\\u00C0-\\u024F\\u4E00-\\u9FFF]{2,16}$" },
                        declaration: { type: "string", pattern: "^\\d{12}$" },
                        decision: { enum: ["RELEASE", "HOLD", "INSPECT", "REJECT"] },
                        before: { type: "string", format: "date-time" },
                        limit: { type: "integer", minimum: 1, maximum: 500, default: 50 },
                    },
                },
            },
        },
        async (request) => {
            const q = request.query;
            return {
                passages: source.passages({
                    limit: q.limit,
                    ...(q.lane !== undefined && { laneId: q.lane }),
                    ...(q.plate !== undefined && { plate: q.plate }),
                    ...(q.declaration !== undefined && { declaration: q.declaration }),
                    ...(q.decision !== undefined && { decision: q.decision }),
                    ...(q.before !== undefined && { before: q.before }),
                }),
            };
        },
    );

    app.get<{ Params: { id: string } }>(
        "/api/v1/passages/:id",
        {
            schema: {
                params: { type: "object", properties: { id: { type: "string", pattern: "^[0-9A-HJKMNP-TV-Z]{26}$" } } },
            },
        },
        async (request, reply) => {
            const passage = source.passage(request.params.id);
            if (!passage)
                return reply.status(404).send({ error: "NOT_FOUND", message: `no passage ${request.params.id}` });
            return passage;
        },
    );

    app.get<{ Params: { id: string } }>(
        "/api/v1/devices/:id/frames",
        {
            schema: {
                params: { type: "object", properties: { id: { type: "string", pattern: "^[A-Za-z0-9_-]{1,64}$" } } },
            },
        },
        async (request, reply) => {
            const frames = source.recentFrames(request.params.id);
            if (!frames)
                return reply.status(404).send({ error: "DEVICE_UNKNOWN", message: `no device ${request.params.id}` });
            return { deviceId: request.params.id, frames };
        },
    );

    app.get<{ Params: { ref: string } }>(
        "/api/v1/images/:ref",
        {
            schema: {
                params: { type: "object", properties: { ref: { type: "string", pattern: "^sha256:[0-9a-f]{64}$" } } },
            },
        },
        async (request, reply) => {
            const image = source.image(request.params.ref);
            if (!image)
                return reply.status(404).send({ error: "NOT_FOUND", message: `no image ${request.params.ref}` });
            // Content-addressed: the bytes behind a reference never change.
            return reply
                .header("content-type", image.contentType)
                .header("cache-control", "private, max-age=31536000, immutable")
                .send(image.bytes);
        },
    );

    return app;
}
