/**
 * The simulators behind a gate configuration's devices, started from the configuration alone: for every
 * device on this machine the right simulator listens where the config says (TCP serial servers with a
 * scale or scanner behind them, ONVIF cameras, one lane PLC per OPC UA endpoint), and once the gate has its
 * addresses the devices that dial it connect (e-seal readers on its broker, push cameras on its receiver).
 * The one place this is done: the demo (`npm start`), the whole-gate bench (scenario runner and replay),
 * the startup and lanes benchmarks and the test helpers all stand on it.
 *
 * Start order: `startSimulatorsFor` (the device side gate-edge connects to) before the gate starts;
 * `connect(addresses)` once it listens; `stop()` after the gate has stopped, so it sees no device drop out.
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { connect as connectMqtt, type MqttClient } from "mqtt";
import type { Logger } from "pino";
import { pino } from "pino";
import type { DeviceConfig, GateConfig } from "../src/config/types.ts";
import { errorMessage, GateError } from "../src/core/errors.ts";
import type { GateAddresses } from "../src/gate.ts";
import { SealReaderSimulator } from "./eseal.ts";
import { LanePlcSimulator, type LanePlcSimulatorOptions } from "./lane-plc.ts";
import { OnvifCameraSimulator } from "./onvif-camera.ts";
import { type PushCameraModelId, PushCameraSimulator, type PushCameraSimulatorOptions } from "./push-camera.ts";
import { seededRng } from "./random.ts";
import { ScaleSimulator } from "./scale.ts";
import { ScannerSimulator, type ScannerSimulatorOptions } from "./scanner.ts";
import { TcpSerialServer } from "./transport.ts";

/**
 * A free TCP port on loopback, bound and released: a generated config names it before anyone listens on it.
 * Taken below the system's ephemeral range (Linux: /proc/sys/net/ipv4/ip_local_port_range), where no
 * outgoing connection is given a local port: a port the kernel had handed out as "free" could be taken by
 * any client socket of a busy machine before the simulator listened (EADDRINUSE in a loaded test run).
 */
export async function freePort(): Promise<number> {
    const { low, size } = portSlice(ephemeralLow());
    for (let attempt = 0; attempt < 50; attempt++) {
        const port = low + Math.floor(Math.random() * size);
        // A port handed out is not listened on yet: a second draw of it would pass canListen too.
        if (handedOut.has(port)) continue;
        if (await canListen(port)) {
            handedOut.add(port);
            return port;
        }
    }
    return listenOnce(0);
}

/** Ports this process has handed out, never handed out twice (a config names several before any listens). */
const handedOut = new Set<number>();

/**
 * Each test worker (VITEST_POOL_ID 1, 2 …) draws from its own slice of the range, so two test files running at
 * once never draw the same port between the check and the listen; anything else draws from the whole range.
 */
function portSlice(below: number): { low: number; size: number } {
    const pool = Number(process.env.VITEST_POOL_ID);
    const whole = below - FIXED_LOW;
    if (!Number.isInteger(pool) || pool < 1) return { low: FIXED_LOW, size: whole };
    const size = Math.floor(whole / PORT_SLICES);
    return { low: FIXED_LOW + ((pool - 1) % PORT_SLICES) * size, size };
}
/** vitest runs at most this many workers here (vitest.config.ts, vitest.resilience.config.ts: 2). */
const PORT_SLICES = 8;

/** The first port below which the system never picks one for an outgoing connection. */
function ephemeralLow(): number {
    try {
        const low = Number(readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0]);
        if (Number.isInteger(low) && low > FIXED_LOW + 1000) return low;
    } catch {
        // Not Linux: IANA's dynamic range starts at 49152.
    }
    return 49_152;
}
/** Well above the ports of services a test machine may run (databases, brokers, web servers). */
const FIXED_LOW = 20_000;

async function canListen(port: number): Promise<boolean> {
    return listenOnce(port).then(
        () => true,
        () => false,
    );
}

function listenOnce(port: number): Promise<number> {
    return new Promise((resolve, reject) => {
        const server = createServer();
        server.once("error", reject);
        server.listen(port, "127.0.0.1", () => {
            const address = server.address();
            const bound = typeof address === "object" && address ? address.port : 0;
            server.close(() => resolve(bound));
        });
    });
}

export function isLocalHost(host: string): boolean {
    return host === "127.0.0.1" || host === "localhost" || host === "::1";
}

/** What stands behind one configured device. */
export interface SimulatedDevice {
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
    /** Why nothing stands behind this device (not on this machine, a transport that cannot be served, left out). */
    skipped?: string;
}

export interface SimulatorsOptions {
    /** "scenario" (default): behaving device simulators; "replay": raw links for recorded traffic. */
    mode?: "scenario" | "replay";
    /** The lane PLCs' PKI folders go here (`plc-pki-<port>`), unless `plcPkiFolder` says otherwise. */
    workDir: string;
    /** Default: silent. */
    log?: Logger;
    /** Plain passwords of the devices that log in to gate-edge, by device id (the loaded config keeps hashes). */
    passwords?: ReadonlyMap<string, string>;
    /** Only the devices this accepts get a simulator; the others are skipped (e.g. a PLC a test runs itself). */
    include?: (device: DeviceConfig) => boolean;
    /** Lane PLC timings. */
    plc?: Pick<Partial<LanePlcSimulatorOptions>, "travelMs" | "autoCloseMs" | "watchdogTimeoutMs">;
    /** Where the PLC of `port` keeps its PKI. */
    plcPkiFolder?: (port: number) => string;
    /** How the TCP serial servers cut their bytes: default "random" in scenario mode, "whole" in replay. */
    chunking?: "random" | "whole";
    /** Seed of the TCP chunking, so a run can be repeated. */
    seed?: number;
    /** Scale frames per second (the simulator's default when absent). */
    scaleRateHz?: number;
    /** Scanner framing (the simulator's defaults when absent). */
    scanner?: Pick<ScannerSimulatorOptions, "suffix" | "aimPrefix">;
    /** Push cameras' resending and answer timeout (the simulator's defaults when absent). */
    push?: Pick<PushCameraSimulatorOptions, "resend" | "timeoutMs">;
    /** E-seal readers' heartbeat period, ms (the simulator's default when absent). */
    sealHeartbeatMs?: number;
    /** E-seal reader id of a device; default `<device id>-reader`. */
    sealReaderId?: (device: DeviceConfig) => string;
    /** Seal readers' and MQTT clients' reconnect period, ms. Default 300. */
    reconnectMs?: number;
}

/** Every simulator behind a gate config's devices. */
export class ConfigSimulators {
    readonly devices = new Map<string, SimulatedDevice>();
    readonly plcs = new Map<string, LanePlcSimulator>();
    private readonly stoppers: { stop(): Promise<void> | void }[] = [];
    private readonly log: Logger;

    constructor(
        readonly config: GateConfig,
        private readonly options: SimulatorsOptions,
    ) {
        this.log = options.log ?? pino({ level: "silent" });
    }

    /** The devices of a lane, in config order. */
    lane(laneId: string): SimulatedDevice[] {
        const lane = this.config.lanes.find((l) => l.id === laneId);
        return (lane?.devices ?? []).flatMap((device) => {
            const entry = this.devices.get(device.id);
            return entry ? [entry] : [];
        });
    }

    /** What stands behind device `id`; throws SIMULATOR_USAGE when the config has no such device. */
    device(id: string): SimulatedDevice {
        const entry = this.devices.get(id);
        if (!entry) throw new GateError("SIMULATOR_USAGE", `no device ${id} in the configuration`);
        return entry;
    }

    /** Starts the servers gate-edge connects to. Rejects when a port cannot be bound. */
    async startDeviceSide(): Promise<void> {
        const mode = this.options.mode ?? "scenario";
        const rng = this.options.seed === undefined ? undefined : seededRng(this.options.seed);
        for (const device of this.config.lanes.flatMap((lane) => lane.devices)) {
            const entry: SimulatedDevice = { device };
            this.devices.set(device.id, entry);
            if (this.options.include && !this.options.include(device)) {
                entry.skipped = "left out by the caller";
                continue;
            }
            const address = device.address;
            if (address.transport === "tcp") {
                if (!isLocalHost(address.host)) {
                    entry.skipped = `${address.host} is not this machine`;
                    continue;
                }
                const link = new TcpSerialServer({
                    host: address.host,
                    port: address.port,
                    chunking: this.options.chunking ?? (mode === "scenario" ? "random" : "whole"),
                    ...(rng && { rng }),
                });
                entry.link = link;
                if (mode === "replay") {
                    await link.start();
                    this.stoppers.push(link);
                } else if (device.kind === "weight") {
                    entry.scale = new ScaleSimulator({
                        model: device.model,
                        link,
                        ...(this.options.scaleRateHz !== undefined && { rateHz: this.options.scaleRateHz }),
                        noiseDivisions: 0,
                    });
                    await entry.scale.start();
                    this.stoppers.push(entry.scale);
                } else if (device.kind === "scan") {
                    entry.scanner = new ScannerSimulator({ model: device.model, link, ...this.options.scanner });
                    await entry.scanner.start();
                    this.stoppers.push(entry.scanner);
                } else {
                    await link.start();
                    this.stoppers.push(link);
                }
            } else if (address.transport === "serial") {
                entry.skipped = `serial port ${address.path}: simulators serve serial devices over TCP only`;
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
        this.log.info({ devices: this.devices.size, plcs: this.plcs.size }, "simulated device side listening");
    }

    /** Starts the devices that connect to gate-edge: e-seal readers (or raw MQTT clients) and push cameras. */
    async connect(addresses: GateAddresses): Promise<void> {
        const mode = this.options.mode ?? "scenario";
        const reconnectPeriod = this.options.reconnectMs ?? 300;
        const passwords = this.options.passwords ?? new Map<string, string>();
        for (const entry of this.devices.values()) {
            const { device } = entry;
            if (entry.skipped) continue;
            const address = device.address;
            if (address.transport === "mqtt") {
                if (!addresses.mqtt) {
                    entry.skipped = "the gate has no MQTT broker address";
                    continue;
                }
                const username = device.auth?.username;
                const password = passwords.get(device.id) ?? "";
                if (mode === "scenario") {
                    entry.seal = new SealReaderSimulator({
                        model: device.model,
                        brokerUrl: addresses.mqtt,
                        ...(username !== undefined && { username, password }),
                        topicPrefix: address.topic,
                        readerId: this.options.sealReaderId?.(device) ?? `${device.id}-reader`,
                        ...(this.options.sealHeartbeatMs !== undefined && {
                            heartbeatMs: this.options.sealHeartbeatMs,
                        }),
                        reconnectMs: reconnectPeriod,
                    });
                    await entry.seal.start();
                    this.stoppers.push(entry.seal);
                } else {
                    const client = connectMqtt(addresses.mqtt, {
                        clientId: `${device.id}-replay-${randomBytes(3).toString("hex")}`,
                        ...(username !== undefined && { username, password }),
                        reconnectPeriod,
                        connectTimeout: 5000,
                    });
                    entry.mqtt = client;
                    // mqtt.js keeps reconnecting by itself; an 'error' without a listener would end the process.
                    client.on("error", (err) =>
                        this.log.warn({ deviceId: device.id, err: err.message }, "replay MQTT client error"),
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
                    // The config loader accepted the model for an http-push address: it is a push camera's.
                    model: device.model as PushCameraModelId,
                    url: addresses.push,
                    ...(device.auth && {
                        username: device.auth.username,
                        password: passwords.get(device.id) ?? "",
                    }),
                    ...this.options.push,
                });
                entry.push = push;
                this.stoppers.push({ stop: () => push.stop() });
            }
        }
    }

    /** Stops every simulator, the last started first; one that fails to stop does not keep the others up. */
    async stop(): Promise<void> {
        for (const stopper of this.stoppers.reverse()) {
            try {
                await stopper.stop();
            } catch (err) {
                this.log.warn({ err: errorMessage(err) }, "simulator did not stop cleanly");
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
        const port = Number(url.port);
        const sim = new LanePlcSimulator({
            host: url.hostname.replace(/^\[|\]$/g, ""),
            port,
            lanes: [...new Set(lanes)],
            pkiFolder: this.options.plcPkiFolder?.(port) ?? join(this.options.workDir, `plc-pki-${port}`),
            ...this.options.plc,
        });
        await sim.start();
        this.plcs.set(endpointUrl, sim);
        this.stoppers.push(sim);
        return sim;
    }
}

/**
 * Starts the device side of every simulator behind `config`'s devices (see the file's comment); the
 * returned set connects the rest with `connect(addresses)` and stops everything with `stop()`. A failure
 * half way stops what had started before it rejects.
 */
export async function startSimulatorsFor(config: GateConfig, options: SimulatorsOptions): Promise<ConfigSimulators> {
    const simulators = new ConfigSimulators(config, options);
    try {
        await simulators.startDeviceSide();
    } catch (err) {
        await simulators.stop();
        throw err;
    }
    return simulators;
}
