/**
 * The officers' HTTP API on the running gate: what each route reads comes from the part that knows it
 * (device supervision, the stores, the lane engine, sync, housekeeping, device tests).
 */
import type { FastifyInstance } from "fastify";
import type { Logger } from "pino";
import { createApiServer } from "../api/server.ts";
import type { GateConfig } from "../config/types.ts";
import type { EventBus } from "../core/bus.ts";
import type { Clock } from "../core/clock.ts";
import type { LaneEngine, OfficerActionRequest, OfficerActionResult } from "../lane/engine.ts";
import type { SyncService } from "../sync/service.ts";
import type { OpenGateDatabase } from "./database.ts";
import type { DeviceSupervisor } from "./devices.ts";
import type { DeviceTests } from "./deviceTests.ts";
import type { Housekeeping } from "./housekeeping.ts";

export interface GateApiParts {
    /** The configuration in force (a reload replaces it). */
    config: () => GateConfig;
    startedAt: string;
    clock: Clock;
    bus: EventBus;
    database: OpenGateDatabase;
    devices: DeviceSupervisor;
    laneEngine: () => LaneEngine | undefined;
    sync: SyncService;
    housekeeping: Housekeeping;
    officerAction(request: OfficerActionRequest): Promise<OfficerActionResult>;
    deviceTests: DeviceTests;
}

/** Builds the API on the gate's parts; the caller registers its further routes and listens. */
export function createGateApi(parts: GateApiParts, log: Logger): Promise<FastifyInstance> {
    const { config, clock, devices, database, laneEngine } = parts;
    const { db, stores, sink } = database;
    const { events, images, passages, clearance } = stores;
    const startConfig = config();
    return createApiServer(
        {
            gate: startConfig.gate,
            startedAt: parts.startedAt,
            devices: () => devices.health(),
            recentFrames: (deviceId) => devices.runtime(deviceId)?.recentFrames(),
            readiness: () => devices.readiness(),
            lanes: () =>
                config().lanes.map((lane) => ({
                    id: lane.id,
                    name: lane.name,
                    deviceIds: lane.devices.map((device) => device.id),
                })),
            events: (after, limit) => events.read(after, limit),
            headSeq: () => events.headSeq,
            storeStats: () => ({ ...events.stats }),
            image: (ref) => images.get(ref),
            passages: (query) => passages.list(query),
            passage: (id) => passages.get(id),
            laneSnapshot: (laneId) => laneEngine()?.snapshot(laneId),
            db,
            bus: parts.bus,
            http: startConfig.http,
            ui: startConfig.ui,
            now: () => clock.now(),
            stores,
            laneDevices: (laneId) =>
                (config().lanes.find((lane) => lane.id === laneId)?.devices ?? []).map((device) => ({
                    id: device.id,
                    kind: device.kind,
                    ...(device.role !== undefined && { role: device.role }),
                })),
            clearance: () => clearance.view(),
            officerAction: (request) => parts.officerAction(request),
            appendEvent: (draft) => sink.append(draft),
            deviceTest: (deviceId, action) => parts.deviceTests.run(deviceId, action),
            sync: parts.sync,
            storageQuota: () => parts.housekeeping.quota,
            storage: () => parts.housekeeping.storageStatus(),
        },
        log,
    );
}
