import type { FastifyInstance } from "fastify";
import type { Logger } from "pino";
import { createApiServer } from "./api/server.ts";
import type { EmbeddedBroker } from "./broker/embedded.ts";
import type { GateConfig } from "./config/types.ts";
import { EventBus } from "./core/bus.ts";
import { type Clock, systemClock } from "./core/clock.ts";
import { GateError } from "./core/errors.ts";
import { LaneDisplays } from "./display/part.ts";
import { registerDisplayRoutes } from "./display/routes.ts";
import type { ActuatorCommand, ActuatorOutcome } from "./drivers/transport.ts";
import { Actuation } from "./gate/actuation.ts";
import { DeviceSupervisor } from "./gate/devices.ts";
import { type DeviceTestAction, type DeviceTestResult, DeviceTests } from "./gate/deviceTests.ts";
import { Housekeeping } from "./gate/housekeeping.ts";
import { applyReload, configRevision, type ReloadReport } from "./gate/reload.ts";
import { StoreCheck, type StoreCheckState } from "./gate/storeCheck.ts";
import { openStores } from "./gate/stores.ts";
import type { DeviceRuntime, EventSink } from "./ingest/deviceRuntime.ts";
import type { InspectionCases } from "./inspection/cases.ts";
import { InspectionDevices } from "./inspection/devices.ts";
import { inspectionCasesPart } from "./inspection/part.ts";
import { registerInspectionRoutes } from "./inspection/routes.ts";
import { LaneEngine, type OfficerActionRequest, type OfficerActionResult } from "./lane/engine.ts";
import type { IntegrityRun } from "./store/audit.ts";
import { claimDatabase } from "./store/backup.ts";
import type { ClearanceCache } from "./store/clearance.ts";
import { type Db, openDatabase, storeOpenError, type UpgradeReport, upgradeDatabase } from "./store/db.ts";
import type { EventLog } from "./store/eventLog.ts";
import type { ImageStore } from "./store/images.ts";
import type { PassageStore } from "./store/passages.ts";
import type { QuotaReading } from "./store/quota.ts";
import { type Retention, retentionOf } from "./store/retention.ts";
import { SyncService } from "./sync/service.ts";
import type { SyncTimers } from "./sync/timers.ts";

export interface GateOptions {
    config: GateConfig;
    log: Logger;
    clock?: Clock;
    /** Tests wrap the event log to hold commits back; production uses the log itself. */
    wrapSink?: (log: EventLog) => EventSink;
    /** Tests run the sync loops on virtual time. */
    syncTimers?: SyncTimers;
    /**
     * Bytes counted against storage.quotaMb on top of the database's own size: how the scenario runner
     * fills the disk for a "disk quota reached" fault without writing ballast into the evidence database.
     */
    storageBallast?: () => number;
    /** Tests hold the start-up check of the database back; the gate runs checkIntegrityOffThread(db). */
    checkStore?: (db: Db) => IntegrityRun;
}

export interface GateAddresses {
    http: string;
    mqtt: string | undefined;
    /** The camera push receiver, when any push camera is configured. */
    push: string | undefined;
}

export type { ActuatorCommand, ActuatorOutcome, DeviceTestAction, DeviceTestResult, ReloadReport, StoreCheckState };

/**
 * One running gate: owns the lifecycle of the store, the device runtimes and their transports, the MQTT
 * broker (or the link to an external one) and the HTTP API. Constructing does nothing; start() brings the
 * parts up in dependency order and stop() takes them down in reverse, each part stopping what it started.
 */
export class Gate {
    readonly bus: EventBus;
    private db: Db | undefined;
    private eventLog: EventLog | undefined;
    private readonly devices: DeviceSupervisor;
    private images: ImageStore | undefined;
    private housekeeping: Housekeeping | undefined;
    private actuation: Actuation | undefined;
    private deviceTests: DeviceTests | undefined;
    private clearanceCache: ClearanceCache | undefined;
    private passageStore: PassageStore | undefined;
    private laneEngine: LaneEngine | undefined;
    private syncService: SyncService | undefined;
    private retention: Retention | undefined;
    private api: FastifyInstance | undefined;
    private displays: LaneDisplays | undefined;
    private inspectionDevices: InspectionDevices | undefined;
    private inspectionCases: InspectionCases | undefined;
    private readonly clock: Clock;
    private startedAt = "";
    /** The configuration in force: the one the gate started with, then each reload's. */
    private config: GateConfig;
    /** Where device runtimes and the lane engine append (the event log, or a test's wrapper of it). */
    private sink: EventSink | undefined;
    private releaseClaim: (() => void) | undefined;
    private readonly startupCheck: StoreCheck;
    /** Reloads run one at a time: a second SIGHUP waits for the first. */
    private reloading: Promise<unknown> = Promise.resolve();
    addresses: GateAddresses = { http: "", mqtt: undefined, push: undefined };
    /** The schema upgrade the last start ran, if any. */
    upgrade: UpgradeReport | undefined;

    constructor(private readonly options: GateOptions) {
        this.clock = options.clock ?? systemClock;
        this.bus = new EventBus(options.log);
        this.config = options.config;
        this.startupCheck = new StoreCheck(options.log, options.checkStore);
        this.devices = new DeviceSupervisor({
            log: options.log,
            bus: this.bus,
            clock: this.clock,
            config: () => this.config,
        });
    }

    /** Per lane: ready when every one of its devices is online (what /api/v1/health says too). */
    readiness(): { laneId: string; ready: boolean; notReady: string[] }[] {
        return this.devices.readiness();
    }

    /** The configuration in force. */
    get configuration(): GateConfig {
        return this.config;
    }

    get log(): EventLog {
        if (!this.eventLog) throw new GateError("STORE_CLOSED");
        return this.eventLog;
    }

    get database(): Db {
        if (!this.db) throw new GateError("STORE_CLOSED");
        return this.db;
    }

    runtime(deviceId: string): DeviceRuntime | undefined {
        return this.devices.runtime(deviceId);
    }

    get embeddedBroker(): EmbeddedBroker | undefined {
        return this.devices.brokerSide.embedded;
    }

    /** External broker mode: whether the link is up. */
    get externalBrokerConnected(): boolean {
        return this.devices.brokerSide.externalConnected;
    }

    async start(): Promise<GateAddresses> {
        const config = this.config;
        const { log } = this.options;
        try {
            // Before anything opens the file: one gate per database, and an older release's schema is
            // backed up and brought forward.
            this.releaseClaim = claimDatabase(config.storage.path);
            this.upgrade = await upgradeDatabase(config.storage.path, {
                log: log.child({ component: "store" }),
                key: "storage.path",
            });
            this.db = openDatabase(config.storage.path, { key: "storage.path" });
            const stores = openStores(this.db, { config, clock: this.clock, log, bus: this.bus });
            this.eventLog = stores.events;
            this.images = stores.images;
            this.clearanceCache = stores.clearance;
            this.passageStore = stores.passages;
            const sink = this.options.wrapSink ? this.options.wrapSink(this.eventLog) : this.eventLog;
            this.sink = sink;
            this.startedAt = new Date(this.clock.now()).toISOString();
            const upgrade = this.upgrade;
            await sink.append({
                type: "config.applied",
                data: {
                    source: config.source,
                    revision: configRevision(config),
                    lanes: config.lanes.map((l) => l.id),
                    // The evidence says when the store was upgraded, and where its backup went.
                    ...(upgrade?.backup !== undefined && {
                        schemaUpgrade: { from: upgrade.from, to: upgrade.to, backup: upgrade.backup },
                    }),
                },
            });
            this.startupCheck.start(this.db, config.storage.path, sink);

            const images = this.images;
            Object.assign(this.addresses, await this.devices.start({ sink, images }));
            const actuation = new Actuation({
                devices: this.devices,
                sink,
                bus: this.bus,
                clock: this.clock,
                log,
                config: () => this.config,
            });
            this.actuation = actuation;

            this.laneEngine = new LaneEngine({
                config,
                log: log.child({ component: "lanes" }),
                clock: this.clock,
                bus: this.bus,
                append: (draft, options) => sink.append(draft, options),
                passages: this.passageStore,
                clearance: () => this.clearance.view(),
                command: (laneId, command, meta) => actuation.laneCommand(laneId, command, meta),
                publishState: (laneId, state) => this.publishLaneState(laneId, state),
            });
            this.laneEngine.start();
            // The drivers' lane displays (src/display): kiosk pages and LED signs, fed from the lane state.
            this.displays = new LaneDisplays({
                ...{ gateId: config.gate.id, bus: this.bus, clock: this.clock, broker: this.embeddedBroker, log },
                lanes: () => this.config.lanes,
                snapshot: (laneId) => this.laneEngine?.snapshot(laneId),
                fault: (laneId) =>
                    this.laneEngine?.manualProcessing !== undefined ||
                    this.readiness().some((l) => l.laneId === laneId && !l.ready),
                publish: (topic, payload) => this.devices.brokerSide.send(topic, payload),
            });
            await this.displays.start();
            // Inspection cases (src/inspection/cases.ts): opened by INSPECT decisions, fed by the inspection devices.
            const { db, eventLog, passageStore: passages } = this;
            const caseDeps = {
                db,
                sink,
                eventLog,
                passages,
                bus: this.bus,
                clock: this.clock,
                config: () => this.config,
            };
            this.inspectionCases = inspectionCasesPart({ ...caseDeps, laneEngine: () => this.laneEngine, log });
            await this.inspectionCases.start();
            // The inspection area's RPMs and X-ray scanners (src/inspection): documents from their folders.
            this.inspectionDevices = new InspectionDevices({
                ...{ devices: config.inspection?.devices ?? [], sink, images: this.images, clock: this.clock },
                log: log.child({ component: "inspection" }),
            });
            await this.inspectionDevices.start();

            this.syncService = new SyncService({
                config,
                db: this.db,
                cache: this.clearanceCache,
                bus: this.bus,
                append: (draft) => sink.append(draft),
                log,
                ...(this.options.syncTimers && { timers: this.options.syncTimers }),
            });
            this.syncService.start();
            // Accepted events past storage.retentionDays leave the log after a checkpoint in the chain.
            const retentionLog = log.child({ component: "retention" });
            const retentionDeps = { db: this.db, clock: this.clock, log: retentionLog, append: sink.append.bind(sink) };
            this.retention = retentionOf(config.storage, config.gate.id, retentionDeps);
            this.retention.start();

            // Plate images are personal data, kept only as long as the configured retention; the disk quota.
            this.housekeeping = new Housekeeping({
                ...{ db: this.db, images, sink, clock: this.clock, log, config: () => this.config },
                setManualProcessing: (reason, quota) => this.laneEngine?.setManualProcessing(reason, quota),
                ...(this.options.storageBallast && { storageBallast: this.options.storageBallast }),
            });
            await this.housekeeping.start();
            this.deviceTests = new DeviceTests({
                ...{ devices: this.devices, actuation, images, clock: this.clock },
                laneState: (laneId) => this.laneEngine?.snapshot(laneId)?.state,
            });

            this.api = await createApiServer(
                {
                    gate: config.gate,
                    startedAt: this.startedAt,
                    devices: () => this.devices.allRuntimes().map((runtime) => runtime.health()),
                    recentFrames: (deviceId) => this.devices.runtime(deviceId)?.recentFrames(),
                    readiness: () => this.readiness(),
                    lanes: () =>
                        this.config.lanes.map((lane) => ({
                            id: lane.id,
                            name: lane.name,
                            deviceIds: lane.devices.map((device) => device.id),
                        })),
                    events: (after, limit) => this.log.read(after, limit),
                    headSeq: () => this.log.headSeq,
                    storeStats: () => ({ ...this.log.stats }),
                    image: (ref) => this.images?.get(ref),
                    passages: (query) => this.passages.list(query),
                    passage: (id) => this.passages.get(id),
                    laneSnapshot: (laneId) => this.laneEngine?.snapshot(laneId),
                    db: this.database,
                    bus: this.bus,
                    http: config.http,
                    ui: config.ui,
                    now: () => this.clock.now(),
                    stores,
                    laneDevices: (laneId) =>
                        (this.config.lanes.find((lane) => lane.id === laneId)?.devices ?? []).map((device) => ({
                            id: device.id,
                            kind: device.kind,
                            ...(device.role !== undefined && { role: device.role }),
                        })),
                    clearance: () => this.clearanceCache?.view(),
                    officerAction: (request) => this.officerAction(request),
                    appendEvent: (draft) => sink.append(draft),
                    deviceTest: (deviceId, action) => this.deviceTest(deviceId, action),
                    sync: this.syncService,
                    storageQuota: () => this.housekeeping?.quota,
                    storage: () => this.retention?.status(),
                },
                log,
            );
            registerDisplayRoutes(this.api, this.displays);
            registerInspectionRoutes(this.api, this.inspectionCases);
            const http = await this.api.listen({ host: config.http.host, port: config.http.port });
            this.addresses.http = http;
            log.info({ http, mqtt: this.addresses.mqtt, db: config.storage.path }, "gate-edge is running");
            return this.addresses;
        } catch (err) {
            await this.stop();
            // SQLite's bare SQLITE_CORRUPT would not say which file, nor which key names it.
            throw storeOpenError(err, config.storage.path, { key: "storage.path" });
        }
    }

    /** Where the start-up check of the database file is. */
    get storeCheck(): StoreCheckState {
        return this.startupCheck.state;
    }

    /**
     * Stops in the order that loses nothing: first the officers' API (an action in progress finishes) and
     * the lane engine (no new decision or barrier command while the gate goes down; the outputs it has in
     * hand are stored); then every way device input comes in — the push receiver, camera and PLC sessions,
     * serial lines, the broker — each committing what it already holds (a device is acknowledged only after
     * its commit, so what is cut off unacknowledged is sent again after the restart); then the event log
     * commits everything in hand; then sync stops, while alerts can still be stored: an upload in flight is
     * cancelled and its events stay queued (central answers duplicate for any it had already stored); last
     * the store closes and the database is released.
     */
    async stop(): Promise<void> {
        // A reload half done would start drivers after they were all stopped.
        await this.reloading;
        for (const step of this.stopSteps()) {
            try {
                await step.run();
            } catch (err) {
                this.options.log.error(
                    { err, step: step.name },
                    "a part of the gate failed to stop; stopping the rest",
                );
            }
        }
    }

    /** The stop order, each step on its own: one that fails does not keep the others (the database) from stopping. */
    private stopSteps(): { name: string; run(): unknown }[] {
        return [
            { name: "store check", run: () => this.startupCheck.stop() },
            { name: "housekeeping", run: () => this.housekeeping?.stop() },
            {
                name: "api",
                run: () => {
                    const api = this.api;
                    this.api = undefined;
                    return api?.close();
                },
            },
            {
                name: "lane engine",
                run: async () => {
                    const engine = this.laneEngine;
                    this.laneEngine = undefined;
                    engine?.stop();
                    await engine?.settled();
                },
            },
            // Every sign back to STOP while the broker still runs.
            { name: "displays", run: () => this.stopPart("displays") },
            { name: "inspection devices", run: () => this.stopPart("inspectionDevices") },
            { name: "inspection cases", run: () => this.inspectionCases?.stop() },
            { name: "devices", run: () => this.devices.stop() },
            { name: "retention", run: () => this.stopPart("retention") },
            { name: "event log flush", run: () => this.eventLog?.flushAll() },
            { name: "sync", run: () => this.stopPart("syncService") },
            {
                name: "event log",
                run: () => {
                    const eventLog = this.eventLog;
                    this.eventLog = undefined;
                    this.sink = undefined;
                    eventLog?.close();
                },
            },
            {
                name: "database",
                run: () => {
                    const db = this.db;
                    this.db = undefined;
                    db?.close();
                },
            },
            {
                name: "claim",
                run: () => {
                    const release = this.releaseClaim;
                    this.releaseClaim = undefined;
                    release?.();
                },
            },
            { name: "bus", run: () => this.bus.removeListeners(this) },
        ];
    }

    /** Stops a part held in a field and forgets it: a second stop finds nothing to stop. */
    private async stopPart(key: "displays" | "inspectionDevices" | "retention" | "syncService"): Promise<void> {
        const part = this[key];
        this[key] = undefined;
        await part?.stop();
    }

    /**
     * Applies a new configuration to the running gate (SIGHUP). Rule parameters apply from the next
     * decision. A lane whose devices changed is rebuilt alone — only its added, removed and changed devices
     * are stopped or started, and its correlator replaced — while every other lane keeps running untouched;
     * a lane with a truck in it is left as it is until a later reload finds it idle. What a running gate
     * cannot change (ports, storage, broker, central, ingest settings, push cameras, devices on an external
     * broker) is named in `restartNeeded` and keeps its old value. What was applied is a `config.applied`
     * event with the revision of the configuration now in force.
     */
    reload(next: GateConfig): Promise<ReloadReport> {
        const run = this.reloading.then(async () => {
            const engine = this.laneEngine;
            const sink = this.sink;
            if (!engine || !sink) throw new GateError("STORE_CLOSED", "the gate is not running");
            const { report, effective } = await applyReload(this.config, next, {
                ...{ devices: this.devices, engine, sink, log: this.options.log },
            });
            this.config = effective;
            return report;
        });
        this.reloading = run.catch(() => undefined);
        return run;
    }

    /** The port a device's listener is bound to (the system's choice for port 0), while it listens. */
    listenerPort(deviceId: string): number | undefined {
        return this.devices.transport(deviceId)?.describe().listeningPort;
    }

    get clearance(): ClearanceCache {
        if (!this.clearanceCache) throw new GateError("STORE_CLOSED");
        return this.clearanceCache;
    }

    get sync(): SyncService {
        if (!this.syncService) throw new GateError("STORE_CLOSED");
        return this.syncService;
    }

    get passages(): PassageStore {
        if (!this.passageStore) throw new GateError("STORE_CLOSED");
        return this.passageStore;
    }

    get lanes(): LaneEngine {
        if (!this.laneEngine) throw new GateError("STORE_CLOSED");
        return this.laneEngine;
    }

    /** The inspection cases (src/inspection/cases.ts). */
    get inspections(): InspectionCases {
        if (!this.inspectionCases) throw new GateError("STORE_CLOSED");
        return this.inspectionCases;
    }

    /** An officer's action on a passage (the dashboard's API calls this for a logged-in officer). */
    officerAction(request: OfficerActionRequest): Promise<OfficerActionResult> {
        return this.lanes.officerAction(request);
    }

    /** The HTTP API's Fastify instance (tests call it with inject()). */
    get httpApi(): FastifyInstance {
        if (!this.api) throw new GateError("STORE_CLOSED", "the HTTP API is not running");
        return this.api;
    }

    /**
     * A technician's test of a device: read a scale, take a camera snapshot, pulse a lane light. A device
     * that does not answer is a result ({ok: false}), not an error; an action that does not fit the device
     * is API_BAD_REQUEST, and a light pulse on a lane with a truck in it is DEVICE_BUSY.
     */
    async deviceTest(deviceId: string, action: DeviceTestAction): Promise<DeviceTestResult> {
        if (!this.deviceTests) throw new GateError("STORE_CLOSED", "the gate is not running");
        return this.deviceTests.run(deviceId, action);
    }

    /** Lane state, retained, for the display boards at the lane (gate/<gate>/lanes/<lane>/state). */
    private publishLaneState(laneId: string, state: object): void {
        this.bus.emit("laneState", { laneId, ...(state as { state: string; at: string; passageId?: string | null }) });
        const topic = `gate/${this.config.gate.id}/lanes/${laneId}/state`;
        const payload = JSON.stringify(state);
        this.devices.brokerSide.publish(topic, payload);
    }

    /** The last storage quota reading (size of the database against storage.quotaMb). */
    get storageQuota(): QuotaReading | undefined {
        return this.housekeeping?.quota;
    }

    /** Measures the storage against its quota now, rather than at the next storage.quotaCheckMs tick. */
    async checkStorageNow(): Promise<QuotaReading | undefined> {
        return this.housekeeping?.checkQuota();
    }

    /** Deletes images not seen within storage.imageRetentionDays. */
    pruneImages(): number {
        return this.housekeeping?.pruneImages() ?? 0;
    }

    /**
     * Asks a lane PLC to act, with the command and its result in the event log. A command not confirmed
     * by the state change it should cause raises an alert. Never a close: the PLC closes behind the truck.
     */
    async actuate(
        deviceId: string,
        command: ActuatorCommand,
        origin?: { passageId: string; triggeredAt?: number; laneCommand: string },
    ): Promise<ActuatorOutcome> {
        if (!this.actuation) throw new GateError("STORE_CLOSED", "the gate is not running");
        return this.actuation.actuate(deviceId, command, origin);
    }
}
