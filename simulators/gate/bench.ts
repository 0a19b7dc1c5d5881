/**
 * The bench a whole-gate run stands on: a gate configuration whose devices are all simulators on this
 * machine, and the simulators behind each of its devices. Used by the scenario runner (every device a
 * behaving simulator: scale, scanner, e-seal reader, cameras, lane PLC) and by replay (raw links that play
 * recorded bytes back through the same transports).
 *
 * A configuration comes either from `benchConfig` (generated: free loopback ports, generated device
 * passwords) or from a technician's file (`--config`, device addresses on 127.0.0.1 as in config/demo.yaml;
 * the simulators then listen where the file says and log in with the file's plain passwords).
 *
 * Start order: `startDeviceSide` (the servers gate-edge connects to: TCP serial servers, ONVIF cameras,
 * lane PLCs) before the gate starts; `connectClients` (the devices that connect to gate-edge: e-seal
 * readers on its broker, push cameras on its receiver) once it has its addresses.
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { connect, type MqttClient } from "mqtt";
import type { Logger } from "pino";
import { parse as parseYaml, stringify as stringifyYaml } from "yaml";
import { getModel } from "../../devices/index.ts";
import type { DeviceConfig, GateConfig } from "../../src/config/types.ts";
import { errorMessage, GateError } from "../../src/core/errors.ts";
import type { GateAddresses } from "../../src/gate.ts";
import { SealReaderSimulator } from "../eseal.ts";
import { LanePlcSimulator } from "../lane-plc.ts";
import { OnvifCameraSimulator } from "../onvif-camera.ts";
import { type PushCameraModelId, PushCameraSimulator } from "../push-camera.ts";
import { seededRng } from "../random.ts";
import { ScaleSimulator } from "../scale.ts";
import { ScannerSimulator } from "../scanner.ts";
import { TcpSerialServer } from "../transport.ts";

/** A free TCP port on loopback (bound and released; a generated config names it before anyone listens). */
export function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const server = createServer();
        server.once("error", reject);
        server.listen(0, "127.0.0.1", () => {
            const address = server.address();
            const port = typeof address === "object" && address ? address.port : 0;
            server.close(() => resolve(port));
        });
    });
}

export function isLocalHost(host: string): boolean {
    return host === "127.0.0.1" || host === "localhost" || host === "::1";
}

/** One device of a generated bench gate. */
export interface BenchDeviceSpec {
    id: string;
    model: string;
    role?: string;
    /** MQTT devices: the topic prefix (default gate/<gate>/devices/<id>). */
    topic?: string;
    /** Lane PLC devices: the lane's tag prefix (default the lane id). */
    lanePrefix?: string;
    pollIntervalMs?: number;
}

export interface BenchLaneSpec {
    id: string;
    name?: string;
    direction?: "IN" | "OUT";
    devices: BenchDeviceSpec[];
}

export interface BenchConfigOptions {
    gate: { id: string; name: string };
    /** The gate's database, PKI and the simulators' files go here. */
    workDir: string;
    lanes: BenchLaneSpec[];
    central: { url: string; tokenEnv: string };
    /** Sections copied into the config as they are (ingest, rules, central timings …). */
    ingest?: Record<string, unknown>;
    rules?: Record<string, unknown>;
    centralExtra?: Record<string, unknown>;
}

export interface GeneratedBench {
    yaml: string;
    /** Plain passwords of the devices that log in to gate-edge or that gate-edge logs in to, by device id. */
    passwords: Map<string, string>;
}

/**
 * A gate configuration for the bench: every device on a free loopback port (one lane PLC server for all
 * lanes), embedded broker on a fixed free port (so a broker restart comes back where the readers look),
 * HTTP API and push receiver on any free port, generated device passwords.
 */
export async function benchConfig(options: BenchConfigOptions): Promise<GeneratedBench> {
    const passwords = new Map<string, string>();
    const secret = (deviceId: string): string => {
        const password = `bench-${randomBytes(9).toString("base64url")}`;
        passwords.set(deviceId, password);
        return password;
    };
    const plcPort = await freePort();
    const lanes = [];
    for (const lane of options.lanes) {
        const devices = [];
        for (const spec of lane.devices) {
            const model = getModel(spec.model);
            if (!model) throw new GateError("MODEL_UNKNOWN", spec.model);
            const device: Record<string, unknown> = { id: spec.id, model: spec.model };
            if (spec.role !== undefined) device.role = spec.role;
            if (spec.pollIntervalMs !== undefined) device.pollIntervalMs = spec.pollIntervalMs;
            switch (model.transport) {
                case "serial":
                    device.address = `tcp://127.0.0.1:${await freePort()}`;
                    break;
                case "mqtt":
                    device.address = "mqtt:";
                    if (spec.topic !== undefined) device.topic = spec.topic;
                    device.auth = { username: spec.id, password: secret(spec.id) };
                    break;
                case "http-push":
                    device.auth = { username: spec.id, password: secret(spec.id) };
                    break;
                case "onvif":
                    device.address = `http://127.0.0.1:${await freePort()}`;
                    device.auth = { username: "admin", password: secret(spec.id) };
                    break;
                case "opcua":
                    device.address = `opc.tcp://127.0.0.1:${plcPort}/UA/LanePLC`;
                    device.plc = { lanePrefix: spec.lanePrefix ?? lane.id };
                    break;
            }
            devices.push(device);
        }
        lanes.push({
            id: lane.id,
            ...(lane.name !== undefined && { name: lane.name }),
            ...(lane.direction !== undefined && { direction: lane.direction }),
            devices,
        });
    }
    const document = {
        gate: options.gate,
        storage: { path: join(options.workDir, "gate.db"), pkiFolder: join(options.workDir, "pki") },
        http: { host: "127.0.0.1", port: 0 },
        broker: { mode: "embedded", host: "127.0.0.1", port: await freePort() },
        push: { host: "127.0.0.1", port: 0 },
        central: { url: options.central.url, tokenEnv: options.central.tokenEnv, ...options.centralExtra },
        ...(options.ingest && { ingest: options.ingest }),
        ...(options.rules && { rules: options.rules }),
        lanes,
    };
    return { yaml: stringifyYaml(document), passwords };
}

/**
 * A technician's config file prepared for a bench run: its own storage is left alone (the run's database
 * and PKI go to `workDir`), everything else is as written. Returns the YAML to parse and the file's plain
 * device passwords (`${VAR}` references resolved from the environment).
 */
export function benchFromFile(file: string, workDir: string): GeneratedBench {
    let document: unknown;
    try {
        document = parseYaml(readFileSync(file, "utf8"));
    } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        throw new GateError(code ? "CONFIG_UNREADABLE" : "CONFIG_INVALID", `${file}: ${code ?? errorMessage(err)}`, {
            cause: err,
        });
    }
    if (typeof document !== "object" || document === null) {
        throw new GateError("CONFIG_INVALID", `${file}: not a mapping`, { details: ["(root): must be a mapping"] });
    }
    const raw = document as { storage?: Record<string, unknown>; lanes?: unknown };
    raw.storage = { ...raw.storage, path: join(workDir, "gate.db"), pkiFolder: join(workDir, "pki") };
    const passwords = new Map<string, string>();
    for (const lane of Array.isArray(raw.lanes) ? raw.lanes : []) {
        const devices = (lane as { devices?: unknown }).devices;
        for (const device of Array.isArray(devices) ? devices : []) {
            const { id, auth } = device as { id?: unknown; auth?: { password?: unknown } };
            const password = auth?.password;
            if (typeof id !== "string" || typeof password !== "string") continue;
            const resolved = password.replace(
                /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g,
                (_m, name: string) => process.env[name] ?? "",
            );
            passwords.set(id, resolved);
        }
    }
    return { yaml: stringifyYaml(raw), passwords };
}

/** What stands behind one configured device on the bench. */
export interface BenchDevice {
    device: DeviceConfig;
    /** Serial devices: the TCP serial server gate-edge connects to. */
    link?: TcpSerialServer;
    /** Scenario mode: the behaving simulators. */
    scale?: ScaleSimulator;
    scanner?: ScannerSimulator;
    seal?: SealReaderSimulator;
    /** Replay mode: a plain MQTT client logged in as the device. */
    mqtt?: MqttClient;
    onvif?: OnvifCameraSimulator;
    push?: PushCameraSimulator;
    plc?: { sim: LanePlcSimulator; lane: string };
    /** Why nothing stands behind this device (not on this machine, a transport the bench cannot serve). */
    skipped?: string;
}

export interface BenchOptions {
    /** "scenario": behaving device simulators; "replay": raw links for recorded traffic. */
    mode: "scenario" | "replay";
    workDir: string;
    log: Logger;
    /** Lane PLC timings (scaled by the runner's speed). */
    plc?: { travelMs?: number; autoCloseMs?: number; watchdogTimeoutMs?: number };
    /** Seed of the TCP chunking, so a run can be repeated. */
    seed?: number;
    /** Seal readers' and MQTT clients' reconnect period, ms. Default 300. */
    reconnectMs?: number;
}

/** Every simulator behind a gate config's devices. */
export class Bench {
    readonly devices = new Map<string, BenchDevice>();
    readonly plcs = new Map<string, LanePlcSimulator>();
    private readonly stoppers: { stop(): Promise<void> | void }[] = [];

    constructor(
        readonly config: GateConfig,
        private readonly passwords: ReadonlyMap<string, string>,
        private readonly options: BenchOptions,
    ) {}

    /** The devices of a lane, in config order. */
    lane(laneId: string): BenchDevice[] {
        const lane = this.config.lanes.find((l) => l.id === laneId);
        return (lane?.devices ?? []).flatMap((device) => {
            const entry = this.devices.get(device.id);
            return entry ? [entry] : [];
        });
    }

    /** Starts the servers gate-edge connects to. Rejects when a port cannot be bound. */
    async startDeviceSide(): Promise<void> {
        const { log, mode } = this.options;
        const rng = this.options.seed === undefined ? undefined : seededRng(this.options.seed);
        for (const device of this.config.lanes.flatMap((lane) => lane.devices)) {
            const entry: BenchDevice = { device };
            this.devices.set(device.id, entry);
            const address = device.address;
            if (address.transport === "tcp") {
                if (!isLocalHost(address.host)) {
                    entry.skipped = `${address.host} is not this machine`;
                    continue;
                }
                const link = new TcpSerialServer({
                    host: address.host,
                    port: address.port,
                    chunking: mode === "scenario" ? "random" : "whole",
                    ...(rng && { rng }),
                });
                entry.link = link;
                if (mode === "replay") {
                    await link.start();
                    this.stoppers.push(link);
                } else if (device.kind === "weight") {
                    entry.scale = new ScaleSimulator({ model: device.model, link, rateHz: 20, noiseDivisions: 0 });
                    await entry.scale.start();
                    this.stoppers.push(entry.scale);
                } else if (device.kind === "scan") {
                    entry.scanner = new ScannerSimulator({ model: device.model, link, suffix: "CRLF" });
                    await entry.scanner.start();
                    this.stoppers.push(entry.scanner);
                } else {
                    await link.start();
                    this.stoppers.push(link);
                }
            } else if (address.transport === "serial") {
                entry.skipped = `serial port ${address.path}: the bench serves serial devices over TCP only`;
            } else if (address.transport === "onvif") {
                if (!isLocalHost(address.host) || !device.login) {
                    entry.skipped = !device.login
                        ? "no ONVIF login in the config"
                        : `${address.host} is not this machine`;
                    continue;
                }
                const camera = new OnvifCameraSimulator({
                    host: address.host,
                    port: address.port,
                    username: device.login.username,
                    password: device.login.password,
                });
                await camera.start();
                entry.onvif = camera;
                this.stoppers.push(camera);
            } else if (address.transport === "opcua") {
                const plc = await this.plcFor(address.endpointUrl);
                if (plc) entry.plc = { sim: plc, lane: address.lanePrefix };
                else entry.skipped = `${address.endpointUrl} is not this machine`;
            }
        }
        log.info({ devices: this.devices.size, plcs: this.plcs.size }, "bench device side listening");
    }

    /** Starts the devices that connect to gate-edge: e-seal readers (or raw MQTT clients) and push cameras. */
    async connectClients(addresses: GateAddresses): Promise<void> {
        const { mode } = this.options;
        const reconnectPeriod = this.options.reconnectMs ?? 300;
        for (const entry of this.devices.values()) {
            const { device } = entry;
            const address = device.address;
            if (address.transport === "mqtt") {
                if (!addresses.mqtt) {
                    entry.skipped = "the gate has no MQTT broker address";
                    continue;
                }
                const username = device.auth?.username;
                const password = this.passwords.get(device.id) ?? "";
                if (mode === "scenario") {
                    entry.seal = new SealReaderSimulator({
                        model: device.model,
                        brokerUrl: addresses.mqtt,
                        ...(username !== undefined && { username, password }),
                        topicPrefix: address.topic,
                        readerId: `${device.id}-reader`,
                        heartbeatMs: 30_000,
                        reconnectMs: reconnectPeriod,
                    });
                    await entry.seal.start();
                    this.stoppers.push(entry.seal);
                } else {
                    const client = connect(addresses.mqtt, {
                        clientId: `${device.id}-replay-${randomBytes(3).toString("hex")}`,
                        ...(username !== undefined && { username, password }),
                        reconnectPeriod,
                        connectTimeout: 5000,
                    });
                    entry.mqtt = client;
                    // mqtt.js keeps reconnecting by itself; an 'error' without a listener would end the process.
                    client.on("error", (err) =>
                        this.options.log.warn({ deviceId: device.id, err: err.message }, "replay MQTT client error"),
                    );
                    this.stoppers.push({ stop: () => client.endAsync(true).then(() => undefined) });
                    await new Promise<void>((resolve, reject) => {
                        client.once("connect", () => resolve());
                        client.once("error", (err) =>
                            reject(new GateError("BROKER_AUTH", `${device.id}: ${err.message}`, { cause: err })),
                        );
                    });
                }
            } else if (address.transport === "http-push") {
                if (!addresses.push) {
                    entry.skipped = "the gate has no push receiver";
                    continue;
                }
                const push = new PushCameraSimulator({
                    model: device.model as PushCameraModelId,
                    url: addresses.push,
                    ...(device.auth && {
                        username: device.auth.username,
                        password: this.passwords.get(device.id) ?? "",
                    }),
                    resend: { intervalMs: 500, max: 6 },
                    timeoutMs: 10_000,
                });
                entry.push = push;
                this.stoppers.push({ stop: () => push.stop() });
            }
        }
    }

    async stop(): Promise<void> {
        for (const stopper of this.stoppers.reverse()) {
            try {
                await stopper.stop();
            } catch (err) {
                this.options.log.warn({ err: errorMessage(err) }, "bench simulator did not stop cleanly");
            }
        }
        this.stoppers.length = 0;
    }

    /** One lane PLC simulator per local endpoint, serving every lane prefix that points at it. */
    private async plcFor(endpointUrl: string): Promise<LanePlcSimulator | undefined> {
        const existing = this.plcs.get(endpointUrl);
        if (existing) return existing;
        const url = new URL(endpointUrl.replace(/^opc\.tcp:/, "http:"));
        if (!isLocalHost(url.hostname)) return undefined;
        const lanes = this.config.lanes
            .flatMap((lane) => lane.devices)
            .flatMap((d) =>
                d.address.transport === "opcua" && d.address.endpointUrl === endpointUrl ? [d.address.lanePrefix] : [],
            );
        const sim = new LanePlcSimulator({
            port: Number(url.port),
            lanes: [...new Set(lanes)],
            pkiFolder: join(this.options.workDir, `plc-pki-${url.port}`),
            ...this.options.plc,
        });
        await sim.start();
        this.plcs.set(endpointUrl, sim);
        this.stoppers.push(sim);
        return sim;
    }
}
