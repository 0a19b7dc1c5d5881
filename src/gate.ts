import type { FastifyInstance } from "fastify";
import type { Logger } from "pino";
import type { EmbeddedBroker } from "./broker/embedded.ts";
import type { GateConfig } from "./config/types.ts";
import { EventBus } from "./core/bus.ts";
import { type Clock, systemClock } from "./core/clock.ts";
import type { ActuatorCommand, ActuatorOutcome } from "./drivers/transport.ts";
import { Actuation } from "./gate/actuation.ts";
import { createGateApi } from "./gate/api.ts";
import { GateAreas } from "./gate/areas.ts";
import { GateDatabase } from "./gate/database.ts";
import { DeviceSupervisor } from "./gate/devices.ts";
import { DeviceTests } from "./gate/deviceTests.ts";
import { Housekeeping } from "./gate/housekeeping.ts";
import { stopInOrder, whileRunning } from "./gate/parts.ts";
import { applyReload, type ReloadReport } from "./gate/reload.ts";
import { StoreCheck, type StoreCheckState } from "./gate/storeCheck.ts";
import type { DeviceRuntime, EventSink } from "./ingest/deviceRuntime.ts";
import type { InspectionCases } from "./inspection/cases.ts";
import type { LaneEngine, OfficerActionRequest, OfficerActionResult } from "./lane/engine.ts";
import type { IntegrityRun } from "./store/audit.ts";
import type { ClearanceCache } from "./store/clearance.ts";
import { type Db, storeOpenError, type UpgradeReport } from "./store/db.ts";
import type { EventLog } from "./store/eventLog.ts";
import type { PassageStore } from "./store/passages.ts";
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

export type { ActuatorCommand, ActuatorOutcome, ReloadReport, StoreCheckState };

/**
 * One running gate: owns the lifecycle of the store, the device runtimes and their transports, the MQTT
 * broker (or the link to an external one) and the HTTP API, each a part in src/gate/ or its own folder.
 * Constructing does nothing; start() brings the parts up in dependency order and stop() takes them down
 * as an ordered list (src/gate/parts.ts), each part stopping what it started.
 */
export class Gate {
    readonly bus: EventBus;
    /** The database and its stores: opened first, closed last. */
    private readonly store = new GateDatabase();
    private readonly devices: DeviceSupervisor;
    private housekeepingPart: Housekeeping | undefined;
    private actuation: Actuation | undefined;
    private deviceTests: DeviceTests | undefined;
    private laneEngine: LaneEngine | undefined;
    private syncService: SyncService | undefined;
    private api: FastifyInstance | undefined;
    private areas: GateAreas | undefined;
    private readonly clock: Clock;
    private startedAt = "";
    /** The configuration in force: the one the gate started with, then each reload's. */
    private config: GateConfig;
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
        return whileRunning(this.store.current?.stores.events);
    }

    get database(): Db {
        return whileRunning(this.store.current?.db);
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
            this.startedAt = new Date(this.clock.now()).toISOString();
            const database = await this.store.start({
                ...{ config, clock: this.clock, log, bus: this.bus, wrapSink: this.options.wrapSink },
            });
            const { db, stores, sink } = database;
            const { images, passages } = stores;
            this.upgrade = database.upgrade;
            this.startupCheck.start(db, config.storage.path, sink);

            Object.assign(this.addresses, await this.devices.start({ sink, images }));
            const actuation = new Actuation({
                ...{ devices: this.devices, sink, bus: this.bus, clock: this.clock, log, config: () => this.config },
            });
            this.actuation = actuation;

            this.laneEngine = actuation.laneEngine(passages, () => this.clearance.view());
            this.laneEngine.start();
            // The lane displays, the inspection area and the yard (src/gate/areas.ts).
            this.areas = new GateAreas({
                ...{ database, devices: this.devices, laneEngine: () => this.laneEngine, config: () => this.config },
                ...{ bus: this.bus, clock: this.clock, log },
                actuate: (deviceId, command, exit) => actuation.actuate(deviceId, command, undefined, exit),
                laneFault: (laneId) =>
                    this.laneEngine?.manualProcessing !== undefined ||
                    this.readiness().some((l) => l.laneId === laneId && !l.ready),
            });
            await this.areas.start();

            this.syncService = new SyncService({
                config,
                db,
                cache: stores.clearance,
                bus: this.bus,
                append: (draft) => sink.append(draft),
                log,
                ...(this.options.syncTimers && { timers: this.options.syncTimers }),
            });
            this.syncService.start();
            // The disk quota, and the retention of events and of plate images (personal data).
            this.housekeepingPart = new Housekeeping({
                ...{ db, images, sink, clock: this.clock, log, config: () => this.config },
                setManualProcessing: (reason, quota) => this.laneEngine?.setManualProcessing(reason, quota),
                ...(this.options.storageBallast && { storageBallast: this.options.storageBallast }),
            });
            await this.housekeepingPart.start();
            this.deviceTests = new DeviceTests({
                ...{ devices: this.devices, actuation, images, clock: this.clock },
                laneState: (laneId) => this.laneEngine?.snapshot(laneId)?.state,
            });

            this.api = await createGateApi(
                {
                    ...{ config: () => this.config, startedAt: this.startedAt, clock: this.clock, bus: this.bus },
                    ...{ database, devices: this.devices, laneEngine: () => this.laneEngine },
                    ...{ sync: this.syncService, housekeeping: this.housekeepingPart, deviceTests: this.deviceTests },
                    officerAction: (request) => this.officerAction(request),
                },
                log,
            );
            this.areas.registerRoutes(this.api);
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
        await stopInOrder(
            [
                { name: "store check", run: () => this.startupCheck.stop() },
                { name: "housekeeping", run: () => this.housekeepingPart?.stop() },
                { name: "api", run: () => this.stopPart("api") },
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
                ...(this.areas?.stopSteps() ?? []),
                { name: "devices", run: () => this.devices.stop() },
                { name: "event log flush", run: () => this.store.flush() },
                { name: "sync", run: () => this.stopPart("syncService") },
                ...this.store.stopSteps(),
                { name: "bus", run: () => this.bus.removeListeners(this) },
            ],
            this.options.log,
        );
    }

    /** Stops a part held in a field and forgets it: a second stop finds nothing to stop. */
    private async stopPart(key: "api" | "syncService"): Promise<void> {
        const part = this[key];
        this[key] = undefined;
        // Fastify's instance stops with close(); every other part with stop().
        await (part && "close" in part ? part.close() : part?.stop());
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
            const engine = whileRunning(this.laneEngine, "the gate is not running");
            const sink = whileRunning(this.store.current?.sink, "the gate is not running");
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
        return whileRunning(this.store.current?.stores.clearance);
    }

    get sync(): SyncService {
        return whileRunning(this.syncService);
    }

    get passages(): PassageStore {
        return whileRunning(this.store.current?.stores.passages);
    }

    get lanes(): LaneEngine {
        return whileRunning(this.laneEngine);
    }

    /** The inspection cases (src/inspection/cases.ts). */
    get inspections(): InspectionCases {
        return whileRunning(this.areas).inspections;
    }

    /** An officer's action on a passage (the dashboard's API calls this for a logged-in officer). */
    officerAction(request: OfficerActionRequest): Promise<OfficerActionResult> {
        return this.lanes.officerAction(request);
    }

    /** The HTTP API's Fastify instance (tests call it with inject()). */
    get httpApi(): FastifyInstance {
        return whileRunning(this.api, "the HTTP API is not running");
    }

    /** The disk quota and the retention of images (src/gate/housekeeping.ts): its readings, a check now. */
    get housekeeping(): Housekeeping {
        return whileRunning(this.housekeepingPart, "the gate is not running");
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
        return whileRunning(this.actuation, "the gate is not running").actuate(deviceId, command, origin);
    }
}
