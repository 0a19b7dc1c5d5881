import { createHash } from "node:crypto";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import type { Logger } from "pino";
import { getModel } from "../devices/index.ts";
import { createApiServer } from "./api/server.ts";
import { type BrokerDevice, EmbeddedBroker } from "./broker/embedded.ts";
import type { DeviceConfig, GateConfig } from "./config/types.ts";
import { EventBus } from "./core/bus.ts";
import { canonicalJson } from "./core/canonical.ts";
import { type Clock, systemClock } from "./core/clock.ts";
import { errorMessage, GateError } from "./core/errors.ts";
import type { WeightValues } from "./core/events.ts";
import { deviceLogger } from "./core/logger.ts";
import { HttpPushReceiver, type PushCameraBinding } from "./drivers/httpPush.ts";
import { ExternalMqttIngest } from "./drivers/mqtt.ts";
import type { OnvifCameraDriver } from "./drivers/onvif.ts";
import type { OpcUaPlcDriver } from "./drivers/opcua.ts";
import { SerialDriver } from "./drivers/serial.ts";
import { DeviceRuntime, type EventSink } from "./ingest/deviceRuntime.ts";
import { LaneEngine, type OfficerActionRequest, type OfficerActionResult } from "./lane/engine.ts";
import { verifyChain } from "./store/audit.ts";
import { ClearanceCache } from "./store/clearance.ts";
import { type Db, openDatabase } from "./store/db.ts";
import { EventLog } from "./store/eventLog.ts";
import { ImageStore } from "./store/images.ts";
import { PassageStore } from "./store/passages.ts";
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
}

export interface GateAddresses {
    http: string;
    mqtt: string | undefined;
    /** The camera push receiver, when any push camera is configured. */
    push: string | undefined;
}

/** What gate-edge may ask a lane PLC to do. There is no close: the PLC closes behind the truck. */
export type ActuatorCommand =
    | { type: "openBarrier" }
    | { type: "setLight"; which: "entry" | "exit"; color: "off" | "red" | "green" | "yellow" | "flashing" };

/** Driver classes loaded on demand (see start()). */
interface SessionDriverClasses {
    onvif: typeof OnvifCameraDriver | undefined;
    opcua: typeof OpcUaPlcDriver | undefined;
}

export interface ActuatorOutcome {
    confirmed: boolean;
    detail: string;
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
    private readonly runtimes = new Map<string, DeviceRuntime>();
    private readonly serialDrivers: SerialDriver[] = [];
    /** Drivers that own a session with their device (ONVIF cameras, PLCs), in start order. */
    private readonly sessionDrivers: { start(): Promise<void>; stop(): Promise<void> }[] = [];
    private readonly plcs = new Map<string, OpcUaPlcDriver>();
    /** By device id, for a technician's tests: serial drivers (to poll a scale) and ONVIF cameras (snapshot). */
    private readonly serialByDevice = new Map<string, SerialDriver>();
    private readonly cameras = new Map<string, OnvifCameraDriver>();
    private readonly pushBindings: PushCameraBinding[] = [];
    private pushReceiver: HttpPushReceiver | undefined;
    private images: ImageStore | undefined;
    private retentionTimer: NodeJS.Timeout | undefined;
    private clearanceCache: ClearanceCache | undefined;
    private passageStore: PassageStore | undefined;
    private laneEngine: LaneEngine | undefined;
    private syncService: SyncService | undefined;
    private broker: EmbeddedBroker | undefined;
    private external: ExternalMqttIngest | undefined;
    private api: FastifyInstance | undefined;
    private readonly clock: Clock;
    private startedAt = "";
    addresses: GateAddresses = { http: "", mqtt: undefined, push: undefined };

    constructor(private readonly options: GateOptions) {
        this.clock = options.clock ?? systemClock;
        this.bus = new EventBus(options.log);
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
        return this.runtimes.get(deviceId);
    }

    get embeddedBroker(): EmbeddedBroker | undefined {
        return this.broker;
    }

    /** External broker mode: whether the link is up. */
    get externalBrokerConnected(): boolean {
        return this.external?.connected ?? false;
    }

    async start(): Promise<GateAddresses> {
        const { config, log } = this.options;
        try {
            this.db = openDatabase(config.storage.path);
            this.eventLog = new EventLog(this.db, {
                gateId: config.gate.id,
                clock: this.clock,
                log: log.child({ component: "store" }),
                bus: this.bus,
                groupCommitMax: config.storage.groupCommitMax,
            });
            this.eventLog.start();
            this.images = new ImageStore(this.db);
            this.clearanceCache = ClearanceCache.open(this.db);
            this.passageStore = new PassageStore(this.db);
            this.pruneImages();
            // Plate images are personal data: kept only as long as the configured retention.
            this.retentionTimer = setInterval(() => this.pruneImages(), 3_600_000);
            this.retentionTimer.unref();
            const sink = this.options.wrapSink ? this.options.wrapSink(this.eventLog) : this.eventLog;
            this.startedAt = new Date(this.clock.now()).toISOString();
            await sink.append({
                type: "config.applied",
                data: { source: config.source, revision: configRevision(config), lanes: config.lanes.map((l) => l.id) },
            });

            // The ONVIF and OPC UA stacks are large: load them only for a gate that has such devices.
            const transports = new Set(config.lanes.flatMap((lane) => lane.devices.map((d) => d.address.transport)));
            const drivers: SessionDriverClasses = {
                onvif: transports.has("onvif") ? (await import("./drivers/onvif.ts")).OnvifCameraDriver : undefined,
                opcua: transports.has("opcua") ? (await import("./drivers/opcua.ts")).OpcUaPlcDriver : undefined,
            };
            for (const lane of config.lanes) {
                for (const device of lane.devices) this.createRuntime(device, sink, drivers);
            }
            await this.startBrokerSide();
            for (const driver of this.serialDrivers) await driver.start();
            // Session drivers connect in the background (a camera or PLC absent at start is retried).
            for (const driver of this.sessionDrivers) await driver.start();
            if (this.pushBindings.length > 0) {
                this.pushReceiver = new HttpPushReceiver({
                    host: config.push.host,
                    port: config.push.port,
                    log: log.child({ component: "push" }),
                    cameras: this.pushBindings,
                });
                const port = await this.pushReceiver.start();
                this.addresses.push = `http://${config.push.host === "0.0.0.0" ? "127.0.0.1" : config.push.host}:${port}`;
                // A push camera has no session to watch: it is reachable while the receiver listens.
                for (const binding of this.pushBindings) {
                    void this.runtimes.get(binding.deviceId)?.setStatus("online", `push receiver on port ${port}`);
                }
            }

            this.laneEngine = new LaneEngine({
                config,
                log: log.child({ component: "lanes" }),
                clock: this.clock,
                bus: this.bus,
                append: (draft) => sink.append(draft),
                passages: this.passageStore,
                clearance: () => this.clearance.view(),
                command: (laneId, command, meta) => this.laneCommand(laneId, command, meta),
                publishState: (laneId, state) => this.publishLaneState(laneId, state),
            });
            this.laneEngine.start();

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

            this.api = await createApiServer(
                {
                    gate: config.gate,
                    startedAt: this.startedAt,
                    devices: () => [...this.runtimes.values()].map((runtime) => runtime.health()),
                    recentFrames: (deviceId) => this.runtimes.get(deviceId)?.recentFrames(),
                    lanes: () =>
                        config.lanes.map((lane) => ({
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
                    now: () => this.clock.now(),
                    laneDevices: (laneId) =>
                        (config.lanes.find((lane) => lane.id === laneId)?.devices ?? []).map((device) => ({
                            id: device.id,
                            kind: device.kind,
                            ...(device.role !== undefined && { role: device.role }),
                        })),
                    clearance: () => this.clearanceCache?.view(),
                    officerAction: (request) => this.officerAction(request),
                    appendEvent: (draft) => this.log.append(draft),
                    deviceTest: (deviceId, action) => this.deviceTest(deviceId, action),
                    verifyEvents: () => verifyChain(this.database),
                    sync: this.syncService,
                },
                log,
            );
            const http = await this.api.listen({ host: config.http.host, port: config.http.port });
            this.addresses.http = http;
            log.info({ http, mqtt: this.addresses.mqtt, db: config.storage.path }, "gate-edge is running");
            return this.addresses;
        } catch (err) {
            await this.stop();
            throw err;
        }
    }

    async stop(): Promise<void> {
        clearInterval(this.retentionTimer);
        // First, while the event log still takes its alerts: an upload in flight is cancelled and its
        // events stay queued (central answers duplicate for any it had already stored).
        await this.syncService?.stop();
        this.syncService = undefined;
        this.laneEngine?.stop();
        await this.laneEngine?.settled();
        this.laneEngine = undefined;
        const api = this.api;
        this.api = undefined;
        await api?.close();
        await this.pushReceiver?.stop();
        this.pushReceiver = undefined;
        this.pushBindings.length = 0;
        for (const driver of this.sessionDrivers) await driver.stop();
        this.sessionDrivers.length = 0;
        this.plcs.clear();
        this.cameras.clear();
        this.serialByDevice.clear();
        for (const driver of this.serialDrivers) await driver.stop();
        this.serialDrivers.length = 0;
        await this.broker?.stop();
        this.broker = undefined;
        await this.external?.stop();
        this.external = undefined;
        this.eventLog?.close();
        this.eventLog = undefined;
        this.db?.close();
        this.db = undefined;
        this.bus.removeListeners(this);
    }

    private createRuntime(device: DeviceConfig, sink: EventSink, drivers: SessionDriverClasses): void {
        const { config, log } = this.options;
        const model = getModel(device.model);
        if (!model) throw new GateError("MODEL_UNKNOWN", device.model);
        const deviceLog = deviceLogger(log, device);
        const runtime = new DeviceRuntime(device, model, {
            sink,
            bus: this.bus,
            clock: this.clock,
            log: deviceLog,
            settings: config.ingest,
            ...(this.images && { images: this.images }),
        });
        this.runtimes.set(device.id, runtime);
        const setStatus = (status: "online" | "degraded" | "offline", reason: string): void =>
            void runtime.setStatus(status, reason);
        const address = device.address;
        if (model.transport === "serial" && (address.transport === "serial" || address.transport === "tcp")) {
            const poll =
                model.kind === "weight" && model.poll
                    ? { command: model.poll.command, intervalMs: device.pollIntervalMs ?? model.poll.intervalMs }
                    : undefined;
            const serialDriver = new SerialDriver(
                {
                    address,
                    serialDefaults: model.serialDefaults,
                    framer: model.framer,
                    ...(poll && { poll }),
                    // A scanner is quiet until something is scanned; a scale streams or answers polls.
                    ...(model.kind === "weight" && { silenceMs: config.ingest.offlineAfterMs }),
                },
                {
                    log: deviceLog,
                    onFrame: (frame) => runtime.handleFrame(frame),
                    onDiscarded: (bytes, why) => runtime.discarded(bytes, why),
                    setStatus,
                },
            );
            this.serialDrivers.push(serialDriver);
            this.serialByDevice.set(device.id, serialDriver);
        } else {
            this.createSessionDriver(device, runtime, deviceLog, drivers);
        }
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
        const runtime = this.runtimes.get(deviceId);
        if (!runtime) throw new GateError("DEVICE_UNKNOWN", deviceId);
        const model = runtime.model;
        const wrongKind = (wanted: string): GateError =>
            new GateError("API_BAD_REQUEST", `${action} needs a ${wanted}; ${deviceId} is a ${model.kind} device`);
        switch (action) {
            case "readWeight": {
                if (model.kind !== "weight") throw wrongKind("scale");
                const driver = this.serialByDevice.get(deviceId);
                if (model.poll && driver) {
                    if (!driver.connected) return { ok: false, detail: `${deviceId} is not connected` };
                    const answer = runtime.nextWeight(TEST_WEIGHT_TIMEOUT_MS);
                    await driver.write(Uint8Array.from(model.poll.command));
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
                const camera = this.cameras.get(deviceId);
                if (camera && this.images) {
                    try {
                        const image = await camera.snapshot();
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
        const plc = this.options.config.lanes
            .find((lane) => lane.id === laneId)
            ?.devices.find((device) => this.plcs.has(device.id));
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
        const topic = `gate/${this.options.config.gate.id}/lanes/${laneId}/state`;
        const payload = JSON.stringify(state);
        const sent = this.broker
            ? this.broker.publish(topic, payload, { retain: true, qos: 1 })
            : this.external?.publish(topic, payload);
        sent?.catch((err: unknown) =>
            this.options.log.warn({ err: errorMessage(err), topic }, "lane state not published"),
        );
    }

    /** Deletes images not seen within storage.imageRetentionDays. */
    pruneImages(): number {
        if (!this.images) return 0;
        const days = this.options.config.storage.imageRetentionDays;
        const removed = this.images.prune(new Date(this.clock.now() - days * 86_400_000));
        if (removed > 0) this.options.log.info({ removed, retentionDays: days }, "plate images past retention deleted");
        return removed;
    }

    /** Cameras and PLCs: each transport's driver, bound to the device's runtime. */
    private createSessionDriver(
        device: DeviceConfig,
        runtime: DeviceRuntime,
        deviceLog: Logger,
        drivers: SessionDriverClasses,
    ): void {
        const { config } = this.options;
        const model = runtime.model;
        const address = device.address;
        const setStatus = (status: "online" | "degraded" | "offline", reason: string): void =>
            void runtime.setStatus(status, reason);
        if (model.transport === "onvif" && address.transport === "onvif" && drivers.onvif) {
            const camera = new drivers.onvif(
                {
                    hostname: address.host,
                    port: address.port,
                    username: device.login?.username ?? "",
                    password: device.login?.password ?? "",
                    plateTopic: model.plateTopic,
                    snapshot: address.snapshot,
                },
                {
                    log: deviceLog,
                    onNotification: (xml, snapshot) => runtime.handleOnvifNotification(xml, snapshot),
                    setStatus,
                },
            );
            this.sessionDrivers.push(camera);
            this.cameras.set(device.id, camera);
        } else if (model.transport === "http-push" && address.transport === "http-push") {
            this.pushBindings.push({
                deviceId: device.id,
                model,
                ...(device.auth && { auth: device.auth }),
                ...(address.allow.length > 0 && { allow: address.allow }),
                handler: (request) => runtime.handlePush(request),
            });
        } else if (model.transport === "opcua" && address.transport === "opcua" && drivers.opcua) {
            const driver = new drivers.opcua(
                {
                    endpointUrl: address.endpointUrl,
                    lanePrefix: address.lanePrefix,
                    model,
                    securityMode: address.securityMode,
                    ...(address.securityPolicy !== undefined && { securityPolicy: address.securityPolicy }),
                    ...(device.login && { username: device.login.username, password: device.login.password }),
                    // One folder per PLC: two drivers creating their first certificate in one folder could collide.
                    pkiFolder: join(config.storage.pkiFolder, device.id),
                    heartbeatMs: address.heartbeatMs,
                    commandTimeoutMs: address.commandTimeoutMs,
                },
                {
                    log: deviceLog,
                    onTagValue: (tag, value, sourceTimestamp) => runtime.handlePlcTag(tag, value, sourceTimestamp),
                    setStatus,
                },
            );
            this.plcs.set(device.id, driver);
            this.sessionDrivers.push(driver);
        }
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
        const driver = this.plcs.get(deviceId);
        const runtime = this.runtimes.get(deviceId);
        if (!driver || !runtime) throw new GateError("DEVICE_UNKNOWN", `${deviceId} is not a PLC of this gate`);
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
            if (command.type === "openBarrier") {
                const result = await driver.openBarrier();
                outcome = {
                    confirmed: result.confirmed,
                    detail: result.confirmed
                        ? `barrier ${result.state} after ${result.elapsedMs} ms`
                        : `no opening seen within ${result.elapsedMs} ms (barrier ${result.state ?? "unknown"})`,
                };
            } else {
                await driver.setLight(command.which, command.color);
                outcome = { confirmed: true, detail: `${command.which} light ${command.color}` };
            }
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

    private mqttBindings(): BrokerDevice[] {
        return [...this.runtimes.values()]
            .filter((runtime) => runtime.device.address.transport === "mqtt")
            .map((runtime) => ({
                device: runtime.device,
                topic: (runtime.device.address as { topic: string }).topic,
            }));
    }

    private async startBrokerSide(): Promise<void> {
        const { config, log } = this.options;
        const bindings = this.mqttBindings();
        const onPublish = (device: DeviceConfig, subtopic: string, payload: Buffer): Promise<void> => {
            const runtime = this.runtimes.get(device.id);
            return runtime ? runtime.handlePublish(subtopic, payload) : Promise.resolve();
        };
        if (config.broker.mode === "embedded") {
            this.broker = new EmbeddedBroker({
                host: config.broker.host,
                port: config.broker.port,
                gateId: config.gate.id,
                devices: bindings,
                log: log.child({ component: "broker" }),
                onPublish,
                onConnection: (device, connected, reason) =>
                    void this.runtimes.get(device.id)?.setStatus(connected ? "online" : "offline", reason),
            });
            const port = await this.broker.start();
            this.addresses.mqtt = `mqtt://${config.broker.host === "0.0.0.0" ? "127.0.0.1" : config.broker.host}:${port}`;
            // MQTT devices are online while they publish; the runtime flips them on the first message.
            return;
        }
        this.external = new ExternalMqttIngest({
            url: config.broker.url,
            clientId: config.broker.clientId,
            ...(config.broker.username !== undefined && { username: config.broker.username }),
            ...(config.broker.password !== undefined && { password: config.broker.password }),
            bindings,
            log: log.child({ component: "mqtt" }),
            onPublish,
            onStatus: (connected, reason) => {
                log[connected ? "info" : "warn"]({ connected, reason }, "external broker link");
                // Through another broker gate-edge cannot see a device's own session: its devices are
                // reachable exactly while the link (and the subscription on it) is up.
                for (const binding of bindings) {
                    void this.runtimes
                        .get(binding.device.id)
                        ?.setStatus(connected ? "online" : "offline", `external broker link: ${reason}`);
                }
            },
        });
        await this.external.start();
        this.addresses.mqtt = config.broker.url;
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
