import { createHash } from "node:crypto";
import type { FastifyInstance } from "fastify";
import type { Logger } from "pino";
import { createApiServer } from "./api/server.ts";
import type { EmbeddedBroker } from "./broker/embedded.ts";
import { diffConfig, laneChangePaths } from "./config/diff.ts";
import type { GateConfig, LaneConfig } from "./config/types.ts";
import { EventBus } from "./core/bus.ts";
import { canonicalJson } from "./core/canonical.ts";
import { type Clock, systemClock } from "./core/clock.ts";
import { errorMessage, GateError } from "./core/errors.ts";
import type { DeviceStatus, WeightValues } from "./core/events.ts";
import { LaneDisplays } from "./display/part.ts";
import { registerDisplayRoutes } from "./display/routes.ts";
import type { ActuatorCommand, ActuatorOutcome } from "./drivers/transport.ts";
import { DeviceSupervisor } from "./gate/devices.ts";
import type { DeviceRuntime, EventSink } from "./ingest/deviceRuntime.ts";
import { InspectionDevices } from "./inspection/devices.ts";
import { LaneEngine, type OfficerActionRequest, type OfficerActionResult } from "./lane/engine.ts";
import { storeDamagedAlert } from "./store/alerts.ts";
import { checkIntegrityOffThread, type IntegrityReport, type IntegrityRun } from "./store/audit.ts";
import { claimDatabase } from "./store/backup.ts";
import { ClearanceCache } from "./store/clearance.ts";
import { type Db, openDatabase, storeOpenError, type UpgradeReport, upgradeDatabase } from "./store/db.ts";
import { EventLog } from "./store/eventLog.ts";
import { ImageStore } from "./store/images.ts";
import { PassageStore } from "./store/passages.ts";
import { databaseBytes, type QuotaReading, quotaLevel } from "./store/quota.ts";
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

/** Where the start-up check of the database file is (SQLite's quick_check, on a worker thread). */
export type StoreCheckState =
    | { state: "running" }
    | { state: "passed" | "failed"; report: IntegrityReport }
    /** The check itself could not run (not damage: that is "failed"). */
    | { state: "error"; error: string }
    | { state: "stopped" };

export interface GateAddresses {
    http: string;
    mqtt: string | undefined;
    /** The camera push receiver, when any push camera is configured. */
    push: string | undefined;
}

export type { ActuatorCommand, ActuatorOutcome };

/** What a configuration reload did (SIGHUP, `systemctl reload gate-edge`). */
export interface ReloadReport {
    /** Key paths applied to the running gate. */
    applied: string[];
    /** Key paths that need a restart; the gate keeps running on the old values. */
    restartNeeded: string[];
    /** Changes to a lane with a truck in it, left for a reload once the lane is idle. */
    deferred: string[];
    /** The revision of the configuration now in force. */
    revision: string;
}

/** A technician's test of one device from the dashboard. */
export type DeviceTestAction = "readWeight" | "snapshot" | "pulseLight";

export interface DeviceTestResult {
    ok: boolean;
    detail: string;
    weight?: WeightValues;
    at?: string;
    imageRef?: string;
    /**
     * The snapshot itself as a data: URL: technicians may not fetch plate images by reference (they are
     * personal data, /api/v1/images is for officers and auditors), but must see what their camera sees.
     */
    imageDataUrl?: string;
}

/** How long a polled scale has to answer a technician's test poll. */
const TEST_WEIGHT_TIMEOUT_MS = 2000;
/** How long a technician's light pulse stays on. */
const TEST_PULSE_MS = 1000;

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
    private retentionTimer: NodeJS.Timeout | undefined;
    private quotaTimer: NodeJS.Timeout | undefined;
    private quota: QuotaReading | undefined;
    private clearanceCache: ClearanceCache | undefined;
    private passageStore: PassageStore | undefined;
    private laneEngine: LaneEngine | undefined;
    private syncService: SyncService | undefined;
    private retention: Retention | undefined;
    private api: FastifyInstance | undefined;
    private displays: LaneDisplays | undefined;
    private inspectionDevices: InspectionDevices | undefined;
    private readonly clock: Clock;
    private startedAt = "";
    /** The configuration in force: the one the gate started with, then each reload's. */
    private config: GateConfig;
    /** Where device runtimes and the lane engine append (the event log, or a test's wrapper of it). */
    private sink: EventSink | undefined;
    private releaseClaim: (() => void) | undefined;
    private storeCheckRun: IntegrityRun | undefined;
    private storeCheckState: StoreCheckState = { state: "stopped" };
    /** Reloads run one at a time: a second SIGHUP waits for the first. */
    private reloading: Promise<unknown> = Promise.resolve();
    addresses: GateAddresses = { http: "", mqtt: undefined, push: undefined };
    /** The schema upgrade the last start ran, if any. */
    upgrade: UpgradeReport | undefined;

    constructor(private readonly options: GateOptions) {
        this.clock = options.clock ?? systemClock;
        this.bus = new EventBus(options.log);
        this.config = options.config;
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
            this.eventLog = new EventLog(this.db, {
                gateId: config.gate.id,
                clock: this.clock,
                log: log.child({ component: "store" }),
                bus: this.bus,
                groupCommitMax: config.storage.groupCommitMax,
            });
            this.eventLog.start();
            this.images = new ImageStore(this.db);
            this.clearanceCache = ClearanceCache.open(this.db, this.clock);
            this.passageStore = new PassageStore(this.db);
            this.pruneImages();
            // Plate images are personal data: kept only as long as the configured retention.
            this.retentionTimer = setInterval(() => this.pruneImages(), 3_600_000);
            this.retentionTimer.unref();
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
            this.startStoreCheck(this.db, sink);

            const images = this.images;
            Object.assign(this.addresses, await this.devices.start({ sink, images }));

            this.laneEngine = new LaneEngine({
                config,
                log: log.child({ component: "lanes" }),
                clock: this.clock,
                bus: this.bus,
                append: (draft, options) => sink.append(draft, options),
                passages: this.passageStore,
                clearance: () => this.clearance.view(),
                command: (laneId, command, meta) => this.laneCommand(laneId, command, meta),
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

            await this.checkQuota(sink);
            this.quotaTimer = setInterval(() => void this.checkQuota(sink), config.storage.quotaCheckMs);
            this.quotaTimer.unref();

            this.api = await createApiServer(
                {
                    gate: config.gate,
                    startedAt: this.startedAt,
                    devices: () => this.devices.allRuntimes().map((runtime) => runtime.health()),
                    recentFrames: (deviceId) => this.devices.runtime(deviceId)?.recentFrames(),
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
                    laneDevices: (laneId) =>
                        (this.config.lanes.find((lane) => lane.id === laneId)?.devices ?? []).map((device) => ({
                            id: device.id,
                            kind: device.kind,
                            ...(device.role !== undefined && { role: device.role }),
                        })),
                    clearance: () => this.clearanceCache?.view(),
                    officerAction: (request) => this.officerAction(request),
                    appendEvent: (draft) => this.log.append(draft),
                    deviceTest: (deviceId, action) => this.deviceTest(deviceId, action),
                    sync: this.syncService,
                    storageQuota: () => this.quota,
                    storage: () => this.retention?.status(),
                },
                log,
            );
            registerDisplayRoutes(this.api, this.displays);
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
        return this.storeCheckState;
    }

    /**
     * SQLite's own check of the evidence file (quick_check, 2–3 s per GB), on a worker thread with its own
     * read-only connection: the gate becomes ready and the lanes run meanwhile. A failure is a critical
     * STORE_DAMAGED alert; the lanes keep running (new events chain onto the log as before).
     */
    private startStoreCheck(db: Db, sink: EventSink): void {
        const { log } = this.options;
        const path = this.config.storage.path;
        const run = (this.options.checkStore ?? ((checked: Db) => checkIntegrityOffThread(checked, "quick_check")))(db);
        this.storeCheckRun = run;
        this.storeCheckState = { state: "running" };
        const current = (): boolean => this.storeCheckRun === run;
        run.report
            .then(async (integrity) => {
                if (!current()) return;
                this.storeCheckRun = undefined;
                this.storeCheckState = { state: integrity.ok ? "passed" : "failed", report: integrity };
                if (integrity.ok) {
                    log.info({ db: path, ms: integrity.ms }, "database passes its quick check");
                    return;
                }
                log.error({ db: path, integrity }, "database FAILS its quick check: evidence may be damaged");
                await sink
                    .append(storeDamagedAlert(path, integrity))
                    .catch((err: unknown) =>
                        log.error({ db: path, err }, "the STORE_DAMAGED alert could not be stored"),
                    );
            })
            .catch((err: unknown) => {
                if (!current()) return;
                this.storeCheckRun = undefined;
                this.storeCheckState = { state: "error", error: errorMessage(err) };
                log.warn({ db: path, err }, "the database's quick check could not run");
            });
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
        // A check still running is of a file this gate no longer holds; its result would come too late.
        const storeCheck = this.storeCheckRun;
        this.storeCheckRun = undefined;
        if (storeCheck) {
            this.storeCheckState = { state: "stopped" };
            await storeCheck.stop();
        }
        clearInterval(this.retentionTimer);
        clearInterval(this.quotaTimer);
        const api = this.api;
        this.api = undefined;
        await api?.close();
        this.laneEngine?.stop();
        await this.laneEngine?.settled();
        this.laneEngine = undefined;
        await this.displays?.stop(); // every sign back to STOP while the broker still runs
        this.displays = undefined;
        await this.inspectionDevices?.stop();
        this.inspectionDevices = undefined;
        await this.devices.stop();
        await this.retention?.stop();
        this.retention = undefined;
        this.eventLog?.flushAll();
        await this.syncService?.stop();
        this.syncService = undefined;
        this.eventLog?.close();
        this.eventLog = undefined;
        this.sink = undefined;
        this.db?.close();
        this.db = undefined;
        this.releaseClaim?.();
        this.releaseClaim = undefined;
        this.bus.removeListeners(this);
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
        const run = this.reloading.then(() => this.applyReload(next));
        this.reloading = run.catch(() => undefined);
        return run;
    }

    private async applyReload(next: GateConfig): Promise<ReloadReport> {
        const running = this.config;
        const engine = this.laneEngine;
        const sink = this.sink;
        if (!engine || !sink) throw new GateError("STORE_CLOSED", "the gate is not running");
        const diff = diffConfig(running, next);
        const applied: string[] = [];
        const restartNeeded = [...diff.restartNeeded];
        const deferred: string[] = [];
        const appliedLanes = new Set<string>();
        const moved = new Set(
            diff.restartNeeded.flatMap((path) => /^lanes\[[^\]]+\]\.devices\[([^\]]+)\] \(moves/.exec(path)?.[1] ?? []),
        );
        const nextLanes = new Map(next.lanes.map((lane) => [lane.id, lane]));
        const runningLanes = new Map(running.lanes.map((lane) => [lane.id, lane]));
        for (const change of diff.lanes) {
            const paths = laneChangePaths(change);
            const newLane = nextLanes.get(change.laneId);
            const oldLane = runningLanes.get(change.laneId);
            const touched = [...change.devicesAdded, ...change.devicesRemoved, ...change.devicesChanged];
            const blockers: string[] = [];
            for (const id of touched) {
                const device = newLane?.devices.find((d) => d.id === id) ?? oldLane?.devices.find((d) => d.id === id);
                const why = device && !moved.has(id) ? await this.devices.hotSwapBlocker(device) : undefined;
                if (why) blockers.push(`lanes[${change.laneId}].devices[${id}] (${why})`);
            }
            // The whole lane waits for the restart: half a lane's change applied would be a lane nobody configured.
            if (touched.some((id) => moved.has(id))) continue;
            if (blockers.length > 0) {
                restartNeeded.push(...blockers);
                continue;
            }
            const onlyName = touched.length === 0 && change.fields.every((field) => field === "name");
            const state = engine.laneState(change.laneId);
            if (!onlyName && state !== undefined && state !== "IDLE") {
                deferred.push(...paths.map((path) => `${path} (lane busy: ${state})`));
                continue;
            }
            await this.applyLaneChange(change.laneId, oldLane, newLane, touched, engine, onlyName);
            appliedLanes.add(change.laneId);
            applied.push(...paths);
        }
        // The configuration now in force: the file's rules and the lanes applied; all else as it ran.
        const lanes: LaneConfig[] = [];
        for (const lane of next.lanes) {
            if (appliedLanes.has(lane.id)) lanes.push(lane);
            else if (runningLanes.has(lane.id)) lanes.push(runningLanes.get(lane.id) as LaneConfig);
        }
        for (const lane of running.lanes) {
            if (!nextLanes.has(lane.id) && !appliedLanes.has(lane.id)) lanes.push(lane);
        }
        const effective = Object.freeze({ ...running, rules: next.rules, lanes, source: next.source });
        applied.push(...diff.rules);
        this.config = effective;
        engine.reconfigure(effective);
        const revision = configRevision(effective);
        if (applied.length > 0) {
            await sink.append({
                type: "config.applied",
                data: {
                    source: effective.source,
                    revision,
                    lanes: effective.lanes.map((lane) => lane.id),
                    reload: true,
                    changed: applied,
                    restartNeeded,
                    deferred,
                },
            });
        }
        return { applied, restartNeeded, deferred, revision };
    }

    private async applyLaneChange(
        laneId: string,
        oldLane: LaneConfig | undefined,
        newLane: LaneConfig | undefined,
        touched: string[],
        engine: LaneEngine,
        onlyName: boolean,
    ): Promise<void> {
        const log = this.options.log.child({ component: "reload", laneId });
        // Stop what goes away or changes, with a last status event so the evidence says why it went quiet.
        for (const id of touched) {
            if (!oldLane?.devices.some((device) => device.id === id)) continue;
            await this.devices.remove(id);
        }
        const started: string[] = [];
        for (const id of touched) {
            const device = newLane?.devices.find((d) => d.id === id);
            if (!device) continue;
            await this.devices.add(device);
            started.push(id);
        }
        if (!newLane) {
            engine.removeLane(laneId);
        } else if (!onlyName) {
            const statuses = new Map<string, DeviceStatus>();
            for (const device of newLane.devices) {
                const status = this.devices.runtime(device.id)?.health().status;
                if (status !== undefined && !touched.includes(device.id)) statuses.set(device.id, status);
            }
            engine.replaceLane(newLane, statuses);
        }
        for (const id of started) await this.devices.startDevice(id);
        if (touched.length > 0)
            log.info({ stopped: touched.filter((id) => !started.includes(id)), started }, "lane rebuilt");
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
        const runtime = this.devices.runtime(deviceId);
        if (!runtime) throw new GateError("DEVICE_UNKNOWN", deviceId);
        const transport = this.devices.transport(deviceId);
        const model = runtime.model;
        const wrongKind = (wanted: string): GateError =>
            new GateError("API_BAD_REQUEST", `${action} needs a ${wanted}; ${deviceId} is a ${model.kind} device`);
        switch (action) {
            case "readWeight": {
                if (model.kind !== "weight") throw wrongKind("scale");
                if (transport?.poll) {
                    if (!transport.describe().connected) return { ok: false, detail: `${deviceId} is not connected` };
                    const answer = runtime.nextWeight(TEST_WEIGHT_TIMEOUT_MS);
                    await transport.poll();
                    const weight = await answer;
                    if (!weight) return { ok: false, detail: `no answer within ${TEST_WEIGHT_TIMEOUT_MS} ms` };
                    return weightResult(weight, "answer to a test poll");
                }
                // A streaming scale sends all the time: its latest frame is a fresh reading.
                const weight = runtime.latestWeight();
                if (!weight) return { ok: false, detail: "no weight frame received yet" };
                return weightResult(weight, "latest frame");
            }
            case "snapshot": {
                if (model.kind !== "plate") throw wrongKind("camera");
                if (transport?.snapshot && this.images) {
                    try {
                        const image = await transport.snapshot();
                        const imageRef = this.images.put(image.bytes, image.contentType, new Date(this.clock.now()));
                        return {
                            ok: true,
                            detail: `snapshot of ${image.bytes.length} bytes`,
                            imageRef,
                            imageDataUrl: dataUrl(image.contentType, image.bytes),
                        };
                    } catch (err) {
                        return { ok: false, detail: errorMessage(err) };
                    }
                }
                // A push camera cannot be asked for a picture: show the one it pushed last.
                const imageRef = runtime.latestImageRef();
                const image = imageRef !== undefined ? this.images?.get(imageRef) : undefined;
                if (!imageRef || !image) return { ok: false, detail: "the camera has sent no image yet" };
                return {
                    ok: true,
                    detail: "image of the camera's last push",
                    imageRef,
                    imageDataUrl: dataUrl(image.contentType, image.bytes),
                };
            }
            case "pulseLight": {
                if (model.kind !== "plc") throw wrongKind("lane PLC");
                const laneId = runtime.device.laneId;
                const state = this.laneEngine?.snapshot(laneId)?.state ?? "IDLE";
                // A light means something to a driver: a test must not tell a waiting truck to go or stop.
                if (state !== "IDLE") throw new GateError("DEVICE_BUSY", `lane ${laneId} has a passage (${state})`);
                const on = await this.actuate(deviceId, { type: "setLight", which: "entry", color: "yellow" });
                if (!on.confirmed) return { ok: false, detail: on.detail };
                await new Promise((resolve) => setTimeout(resolve, TEST_PULSE_MS));
                const off = await this.actuate(deviceId, { type: "setLight", which: "entry", color: "red" });
                return {
                    ok: off.confirmed,
                    detail: off.confirmed ? `entry light yellow for ${TEST_PULSE_MS} ms, then red` : off.detail,
                };
            }
        }
    }

    /** The lane's PLC, if it has one, carries out the lane engine's command. */
    private async laneCommand(
        laneId: string,
        command: "open-barrier" | "light-green" | "light-red",
        meta: { passageId: string; triggeredAt?: number },
    ): Promise<void> {
        const plc = this.config.lanes
            .find((lane) => lane.id === laneId)
            ?.devices.find((device) => this.devices.transport(device.id)?.actuate !== undefined);
        if (!plc) {
            this.options.log.warn({ laneId, command }, "lane has no PLC: the command is for the officer to carry out");
            return;
        }
        const actuatorCommand: ActuatorCommand =
            command === "open-barrier"
                ? { type: "openBarrier" }
                : { type: "setLight", which: "entry", color: command === "light-green" ? "green" : "red" };
        await this.actuate(plc.id, actuatorCommand, { ...meta, laneCommand: command });
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
        return this.quota;
    }

    /** Measures the storage against its quota now, rather than at the next storage.quotaCheckMs tick. */
    async checkStorageNow(): Promise<QuotaReading | undefined> {
        if (this.sink) await this.checkQuota(this.sink);
        return this.quota;
    }

    /**
     * Measures the database against its quota and acts on a change of level: near → a warning alert and a
     * WAL checkpoint (the WAL's pages go back into the file); full → a critical alert and every lane to
     * manual processing; back under → the alert cleared and automatic processing resumed. Nothing is ever
     * dropped or refused: events keep being stored and sent.
     */
    private async checkQuota(sink: EventSink): Promise<void> {
        if (!this.db) return;
        const before = this.quota?.level ?? "ok";
        const used = databaseBytes(this.config.storage.path) + (this.options.storageBallast?.() ?? 0);
        const reading = quotaLevel(used, this.config.storage.quotaMb, before);
        this.quota = reading;
        if (reading.level === before) return;
        const usedMb = Math.round(reading.usedBytes / 2 ** 20);
        const text = `${usedMb} MiB of the ${this.config.storage.quotaMb} MiB storage quota used`;
        if (reading.level !== "ok") this.db.pragma("wal_checkpoint(TRUNCATE)");
        this.laneEngine?.setManualProcessing(reading.level === "full" ? `disk quota reached (${text})` : undefined);
        const alert =
            reading.level === "ok"
                ? {
                      type: "alert.cleared" as const,
                      data: { code: "DISK_QUOTA", message: `storage back under its quota: ${text}` },
                  }
                : {
                      type: "alert.raised" as const,
                      data: {
                          code: "DISK_QUOTA",
                          severity: reading.level === "full" ? "critical" : "warning",
                          message:
                              reading.level === "full"
                                  ? `${text}: lanes switched to manual processing; no event is dropped — free disk space or raise storage.quotaMb`
                                  : `${text}: near the quota`,
                          usedBytes: reading.usedBytes,
                          quotaBytes: reading.quotaBytes,
                      },
                  };
        this.options.log[reading.level === "ok" ? "info" : "warn"](
            { usedMb, quotaMb: this.config.storage.quotaMb },
            alert.data.message,
        );
        try {
            await sink.append(alert);
        } catch (err) {
            this.options.log.error({ err }, "could not store the disk quota alert");
        }
    }

    /** Deletes images not seen within storage.imageRetentionDays. */
    pruneImages(): number {
        if (!this.images) return 0;
        const days = this.config.storage.imageRetentionDays;
        const removed = this.images.prune(new Date(this.clock.now() - days * 86_400_000));
        if (removed > 0) this.options.log.info({ removed, retentionDays: days }, "plate images past retention deleted");
        return removed;
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
        const transport = this.devices.transport(deviceId);
        const runtime = this.devices.runtime(deviceId);
        if (!transport?.actuate || !runtime)
            throw new GateError("DEVICE_UNKNOWN", `${deviceId} is not a PLC of this gate`);
        const base = { laneId: runtime.device.laneId, deviceId };
        await this.log.append({
            type: "actuator.command",
            ...base,
            data: { command, ...(origin && { passageId: origin.passageId }) },
        });
        if (origin) {
            this.bus.emit("laneCommand", {
                laneId: base.laneId,
                passageId: origin.passageId,
                command: origin.laneCommand,
                ...(origin.triggeredAt !== undefined && { triggeredAt: origin.triggeredAt }),
                at: this.clock.now(),
            });
        }
        let outcome: ActuatorOutcome;
        try {
            outcome = await transport.actuate(command);
        } catch (err) {
            outcome = { confirmed: false, detail: errorMessage(err) };
        }
        await this.log.append({ type: "actuator.result", ...base, data: { command, ...outcome } });
        if (!outcome.confirmed) {
            await this.log.append({
                type: "alert.raised",
                ...base,
                data: {
                    code: "ACTUATOR_UNCONFIRMED",
                    severity: "critical",
                    message: `${command.type} on ${deviceId} not confirmed: ${outcome.detail}`,
                },
            });
        }
        return outcome;
    }
}

/** A short fingerprint of the configuration (without secrets), recorded with every start. */
function configRevision(config: GateConfig): string {
    const withoutSecrets = JSON.parse(
        JSON.stringify(config, (key, value) => (key === "passwordHash" || key === "password" ? undefined : value)),
    );
    return createHash("sha256").update(canonicalJson(withoutSecrets)).digest("hex").slice(0, 16);
}

function dataUrl(contentType: string, bytes: Uint8Array): string {
    return `data:${contentType};base64,${Buffer.from(bytes).toString("base64")}`;
}

function weightResult(weight: { at: number; values: WeightValues }, what: string): DeviceTestResult {
    const { kg, stable, motion } = weight.values;
    return {
        ok: true,
        detail: `${kg} kg, ${stable && !motion ? "stable" : "in motion"} (${what})`,
        weight: weight.values,
        at: new Date(weight.at).toISOString(),
    };
}
