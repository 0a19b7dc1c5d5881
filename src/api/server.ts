import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance } from "fastify";
import type { Logger } from "pino";
import type { GateConfig } from "../config/types.ts";
import type { EventBus } from "../core/bus.ts";
import { GateError, isGateError } from "../core/errors.ts";
import type { GateEvent, GateEventDraft } from "../core/events.ts";
import type { DeviceTestAction, DeviceTestResult } from "../gate/deviceTests.ts";
import type { ApiStores } from "../gate/stores.ts";
import type { DeviceHealth, RawFrameRecord } from "../ingest/deviceRuntime.ts";
import type { LaneSnapshot } from "../lane/correlator.ts";
import type { OfficerActionRequest, OfficerActionResult } from "../lane/engine.ts";
import type { ClearanceView } from "../lane/types.ts";
import type { Db } from "../store/db.ts";
import type { PassageQuery, PassageRow } from "../store/passages.ts";
import type { QuotaReading } from "../store/quota.ts";
import type { StorageStatus } from "../store/retention.ts";
import type { SyncService } from "../sync/service.ts";
import { parseCookies, registerAuth, SESSION_COOKIE } from "./auth.ts";
import type { ApiContext } from "./context.ts";
import { FREE_TEXT_KEYWORD } from "./freeText.ts";
import { registerLanguageRoutes, UserLanguages } from "./language.ts";
import { AlertFeed, LaneBoard, LiveHub } from "./live.ts";
import { permissionOf } from "./permissions.ts";
import { registerAlertRoutes } from "./routes/alerts.ts";
import { registerAuditRoutes } from "./routes/audit.ts";
import { registerDeviceRoutes } from "./routes/devices.ts";
import { registerLaneRoutes } from "./routes/lanes.ts";
import { registerPassageRoutes } from "./routes/passages.ts";
import { registerUserRoutes } from "./routes/users.ts";
import { registerMetrics, registerSyncRoutes } from "./syncRoutes.ts";
import { laneTile } from "./views.ts";

/** What the API reads from (and asks of) the running gate. */
export interface ApiSource {
    /** The time zone is the dashboard's, read from /api/v1/health at start. */
    gate: { id: string; name: string; timeZone: string };
    startedAt: string;
    devices(): DeviceHealth[];
    recentFrames(deviceId: string): readonly RawFrameRecord[] | undefined;
    lanes(): { id: string; name: string; deviceIds: string[] }[];
    /** Per lane: ready when every one of its devices is online (computed once, by the gate's device supervision). */
    readiness(): { laneId: string; ready: boolean; notReady: string[] }[];
    events(afterSeq: number, limit: number): GateEvent[];
    headSeq(): number;
    storeStats(): { commits: number; events: number; failedCommits: number };
    image(ref: string): { contentType: string; bytes: Buffer } | undefined;
    passages(query: PassageQuery): PassageRow[];
    passage(id: string): PassageRow | undefined;
    laneSnapshot(laneId: string): LaneSnapshot | undefined;
    /** Central sync; absent in API tests that do not need it. */
    sync?: SyncService;
    /** The database's size against its quota (storage.quotaMb). */
    storageQuota?: () => QuotaReading | undefined;
    /** Days of headroom, the oldest unsynced event, the last pruning checkpoint (src/store/retention.ts). */
    storage?: () => StorageStatus | undefined;
    /** The gate database: users, sessions, audit log, approvals and the alerts queue live beside the events. */
    db: Db;
    bus: EventBus;
    http: GateConfig["http"];
    /** The dashboard's default language (config ui.defaultLanguage); Vietnamese when absent. */
    ui?: GateConfig["ui"];
    /** The stores the API works with, built with the gate's (src/gate/stores.ts). */
    stores: ApiStores;
    /** The gate's clock (ms): session expiry and the login rate limit run on it. */
    now(): number;
    /** A lane's devices as configured (the board's device dots). */
    laneDevices(laneId: string): { id: string; kind: string; role?: string }[];
    clearance(): ClearanceView | undefined;
    officerAction(request: OfficerActionRequest): Promise<OfficerActionResult>;
    appendEvent(draft: GateEventDraft): Promise<GateEvent>;
    deviceTest(deviceId: string, action: DeviceTestAction): Promise<DeviceTestResult>;
}

/**
 * The HTTP API (Fastify). Every query and body is validated by its schema, so a bad request gets a 400
 * naming the field; errors answer `{error: CODE, message}` from the one error catalogue, never a stack
 * trace. Every route under /api/ passes the role guard of src/api/auth.ts (roles in permissions.ts).
 */
export async function createApiServer(source: ApiSource, log: Logger): Promise<FastifyInstance> {
    const app = Fastify({
        // pino's Logger is a FastifyBaseLogger; the cast keeps FastifyInstance at its default logger type.
        // Request lines at info would flood a gate's log; errors still come through.
        loggerInstance: log.child({ component: "api" }, { level: "warn" }) as FastifyBaseLogger,
        bodyLimit: 64 * 1024,
        ajv: {
            customOptions: {
                allErrors: true,
                coerceTypes: true,
                removeAdditional: false,
                keywords: [FREE_TEXT_KEYWORD],
            },
        },
    });

    app.setErrorHandler((error: FastifyError, request, reply) => {
        if (error.validation) {
            return reply.status(400).send({
                error: "API_BAD_REQUEST",
                // Fastify's message already starts with the part of the request at fault ("body/note …").
                message: error.message,
            });
        }
        if (isGateError(error)) return reply.status(error.status).send({ error: error.code, message: error.message });
        if (error.code === "FST_ERR_CTP_BODY_TOO_LARGE") {
            // Fastify's refusal of a body past the route's bodyLimit, in the catalogue's words.
            const limit = request.routeOptions.bodyLimit;
            const tooLarge = new GateError("PAYLOAD_TOO_LARGE", `this request's body may be ${limit} bytes at most`);
            return reply.status(tooLarge.status).send({ error: tooLarge.code, message: tooLarge.message });
        }
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

    const apiLog = log.child({ component: "api" });
    const hub = new LiveHub();
    const { users, sessions, audit, approvals, alerts } = source.stores;
    const alertFeed = new AlertFeed(alerts, source.bus, hub, source.headSeq);
    const laneOfDevice = new Map(source.lanes().flatMap((lane) => lane.deviceIds.map((id) => [id, lane.id] as const)));
    const board = new LaneBoard(
        source.bus,
        hub,
        (laneId, since) => {
            const lane = source.lanes().find((candidate) => candidate.id === laneId);
            if (!lane) return undefined;
            const status = new Map(source.devices().map((device) => [device.deviceId, device.status]));
            const devices = source.laneDevices(laneId).map((device) => ({
                id: device.id,
                role: device.role ?? device.kind,
                kind: device.kind,
                status: status.get(device.id) ?? ("offline" as const),
            }));
            return laneTile(
                lane,
                source.laneSnapshot(laneId),
                since,
                devices,
                source.clearance(),
                (passageId) => approvals.pending(passageId) !== undefined,
            );
        },
        (deviceId) => laneOfDevice.get(deviceId),
        source.startedAt,
    );
    alertFeed.start();
    board.start();
    app.addHook("onClose", async () => {
        board.stop();
        alertFeed.stop();
    });
    const ctx: ApiContext = { source, users, sessions, audit, approvals, alerts, alertFeed, board, hub, log: apiLog };

    // The guard's hooks first, so they are in front of every route registered after them.
    registerAuth(app, { users, sessions, audit, http: source.http, now: source.now, log: apiLog });

    registerMetrics(app, source);
    if (source.sync) registerSyncRoutes(app, source.sync);
    // Beside the sync page's data: how long the store lasts if central stays away.
    app.get("/api/v1/storage", async () => source.storage?.() ?? {});

    // A device's status reason names its MQTT client id, addresses and paths: for those who may read the
    // device list (GET /api/v1/devices), not for anyone who can reach the open health check.
    const deviceReaders = permissionOf("GET", "/api/v1/devices")?.roles;
    const mayReadReasons = (cookie: string | undefined): boolean => {
        const token = parseCookies(cookie).get(SESSION_COOKIE);
        const role = token === undefined ? undefined : sessions.get(token).session?.user.role;
        return role !== undefined && Array.isArray(deviceReaders) && deviceReaders.includes(role);
    };
    const languages = new UserLanguages(source.db, source.ui?.defaultLanguage ?? "vi");
    app.get("/api/v1/health", async (request) => {
        const withReasons = mayReadReasons(request.headers.cookie);
        const devices = source.devices();
        const readiness = new Map(source.readiness().map((lane) => [lane.laneId, lane]));
        const lanes = source.lanes().map((lane) => {
            const { ready, notReady } = readiness.get(lane.id) ?? { ready: false, notReady: lane.deviceIds };
            return { id: lane.id, name: lane.name, ready, notReady };
        });
        return {
            status: "up",
            gate: source.gate,
            // Open like the rest of /health: the login page is shown in it before anyone logs in.
            ui: { defaultLanguage: languages.defaultLanguage },
            startedAt: source.startedAt,
            store: { headSeq: source.headSeq(), ...source.storeStats() },
            lanes,
            devices: devices.map((device) => ({
                id: device.deviceId,
                laneId: device.laneId,
                model: device.model,
                status: device.status,
                ...(withReasons && { reason: device.reason }),
                since: device.statusSince,
                lastFrameAt: device.lastFrameAt,
            })),
        };
    });

    registerLaneRoutes(app, ctx);
    registerPassageRoutes(app, ctx);
    registerAlertRoutes(app, ctx);
    registerDeviceRoutes(app, ctx);
    registerAuditRoutes(app, ctx);
    registerUserRoutes(app, ctx);
    registerLanguageRoutes(app, languages);

    (await import("./ui.ts")).registerUi(app); // the dashboard's static files (src/ui), open like /health
    return app;
}
