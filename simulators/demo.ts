import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { Logger } from "pino";
import { parse as parseYaml } from "yaml";
import type { GateConfig } from "../src/config/types.ts";
import { demoCentralEnvFile, demoCentralToken } from "../src/doctor.ts";
import type { GateAddresses } from "../src/gate.ts";
import { CentralSimulator } from "./central/index.ts";
import { SealReaderSimulator } from "./eseal.ts";
import { LanePlcSimulator } from "./lane-plc.ts";
import { OnvifCameraSimulator } from "./onvif-camera.ts";
import { PushCameraSimulator } from "./push-camera.ts";
import { ScaleSimulator } from "./scale.ts";
import { ScannerSimulator } from "./scanner.ts";
import { TcpSerialServer } from "./transport.ts";

/**
 * The trucks of the demo, per lane, matching config/clearance-demo.yaml (imported at start): a green truck
 * that is released, then one the rules stop (red channel in lane 1, yellow with its document check
 * pending in lane 2). Every fifth truck's seal reports tampering.
 */
interface DemoTruck {
    declaration: string;
    tractor: string;
    trailer: string;
    container?: string;
    seal?: string;
    grossKg: number;
}
const DEMO_TRUCKS: readonly (readonly DemoTruck[])[] = [
    [
        {
            declaration: "101234567820",
            tractor: "15C-123.45",
            trailer: "15R-012.34",
            container: "CSQU3054383",
            seal: "VNC-0100001",
            grossKg: 28_500,
        },
        {
            declaration: "100001234540",
            tractor: "15C-888.10",
            trailer: "15R-088.10",
            container: "ZEPU0037255",
            seal: "VNC-0100002",
            grossKg: 31_000,
        },
    ],
    [
        { declaration: "305551234130", tractor: "14C-301.72", trailer: "14R-030.17", grossKg: 36_000 },
        {
            declaration: "301234567820",
            tractor: "14C-234.56",
            trailer: "14R-045.67",
            container: "MSKU1234565",
            seal: "VNC-0200001",
            grossKg: 24_000,
        },
    ],
];

/**
 * How long a demo truck the lane does not let through waits at the barrier before it turns back: long
 * enough for an officer to open the red or yellow truck's passage on the dashboard and act on it (release,
 * hold, divert) while the truck is still in the lane. The lane's next truck comes only after it has gone.
 */
export const DEMO_HELD_TRUCK_WAIT_MS = 180_000;

export interface DemoOptions {
    /** ms a truck waits at the closed barrier before it turns back; default DEMO_HELD_TRUCK_WAIT_MS. */
    heldTruckWaitMs?: number;
}

/** What the demo's truck number `truck` (from 1) of a lane carries and does. */
export interface DemoTruckPlan extends DemoTruck {
    /** Its seal reports tampering (every fifth truck). */
    tampered: boolean;
    /** ms it waits at the barrier for the lane to open it, then it turns back. */
    barrierWaitMs: number;
}

export function demoTruckPlan(laneIndex: number, truck: number, options: DemoOptions = {}): DemoTruckPlan {
    const lanePlan = DEMO_TRUCKS[laneIndex % DEMO_TRUCKS.length]!;
    return {
        ...lanePlan[(truck - 1) % lanePlan.length]!,
        tampered: truck % 5 === 0,
        barrierWaitMs: options.heldTruckWaitMs ?? DEMO_HELD_TRUCK_WAIT_MS,
    };
}

/**
 * The demo's central clearance system: a central simulator on the loopback address the demo config's
 * central.url names, with its own store beside the gate's, serving config/clearance-demo.yaml (the
 * declarations the demo trucks carry) through the clearance feed. When the token variable is unset a
 * random demo token is put in this process's environment, so the gate and the simulator agree.
 * Undefined when central.url is absent or not on this machine.
 */
export async function startDemoCentral(
    configFile: string,
    config: GateConfig,
    log: Logger,
    out: (line: string) => void,
): Promise<{ stop(): Promise<void> } | undefined> {
    if (!config.central.url) return undefined;
    const url = new URL(config.central.url);
    if (!isLocal(url.hostname) || url.protocol !== "http:") return undefined;
    const tokenEnv = config.central.tokenEnv;
    // Made up once and kept beside the database: the next start, and `gate-edge doctor`, use the same one.
    let token = process.env[tokenEnv] || demoCentralToken(config);
    if (!token) {
        token = randomBytes(18).toString("base64url");
        const envFile = demoCentralEnvFile(config);
        mkdirSync(dirname(envFile), { recursive: true });
        writeFileSync(envFile, `# The demo central's token, made up by npm start\n${tokenEnv}=${token}\n`, {
            mode: 0o600,
        });
    }
    process.env[tokenEnv] = token;
    const fixture = join(dirname(configFile), "clearance-demo.yaml");
    const sim = new CentralSimulator({
        host: url.hostname,
        port: Number(url.port || 80),
        dbPath: join(dirname(config.storage.path), "central-sim.db"),
        tokens: [token],
        clearance: existsSync(fixture) ? [{ file: fixture }] : [],
        log,
    });
    await sim.start();
    out(
        `  central: ${sim.url}   (simulated central clearance system, store ${sim.dbPath}; admin: ${sim.url}/admin/stats)`,
    );
    return sim;
}

/** A plate camera of the demo, whichever way it delivers: ONVIF events or HTTP pushes. */
interface DemoCamera {
    role: "front" | "rear";
    plate(text: string, confidence: number): Promise<void>;
}

interface LaneKit {
    laneId: string;
    scale?: ScaleSimulator;
    scanner?: ScannerSimulator;
    seal?: SealReaderSimulator;
    cameras: DemoCamera[];
    plc?: { sim: LanePlcSimulator; lane: string };
}

/** The demo's simulated devices: started before the gate, connected to it once it listens. */
export interface DemoSimulators {
    /**
     * The devices that dial the gate (e-seal readers on its broker, push cameras on its receiver) connect,
     * and the trucks start coming.
     */
    connect(addresses: GateAddresses): Promise<void>;
    /** No more trucks: called before the gate stops, so none is half way through the lane meanwhile. */
    stopTraffic(): void;
    /** Every simulated device goes; after the gate has stopped, so it sees no device drop out. */
    stop(): Promise<void>;
}

/**
 * The simulated devices `npm start` runs beside the demo gate: for every device of the configuration that
 * lives on 127.0.0.1 a TCP serial server with the right simulator behind it, an ONVIF camera and the lane
 * PLC (all listening before the gate starts, so it finds them at its first try), and once the gate listens
 * an e-seal reader for every MQTT device and a push camera for every push device. Each lane then sees a
 * truck every half minute or so: a declaration and a container are scanned, the truck drives onto the
 * weighbridge and settles, its seal is read, and it drives off; now and then a seal reports tampering.
 */
export async function startDemoSimulators(
    configFile: string,
    config: GateConfig,
    log: Logger,
    options: DemoOptions = {},
): Promise<DemoSimulators> {
    const passwords = plainPasswords(configFile);
    const kits: LaneKit[] = [];
    const started: { stop(): Promise<void> }[] = [];
    /** What connects to the gate once it listens. */
    const dialers: ((addresses: GateAddresses) => Promise<void>)[] = [];
    // One PLC simulator per endpoint, serving the lanes whose prefixes point at it.
    const plcs = new Map<string, LanePlcSimulator>();
    for (const device of config.lanes.flatMap((lane) => lane.devices)) {
        const address = device.address;
        if (address.transport !== "opcua" || plcs.has(address.endpointUrl)) continue;
        const url = new URL(address.endpointUrl.replace(/^opc\.tcp:/, "http:"));
        if (!isLocal(url.hostname)) continue;
        const lanes = config.lanes
            .flatMap((lane) => lane.devices)
            .flatMap((d) =>
                d.address.transport === "opcua" && d.address.endpointUrl === address.endpointUrl
                    ? [d.address.lanePrefix]
                    : [],
            );
        const sim = new LanePlcSimulator({
            host: url.hostname.replace(/^\[|\]$/g, ""),
            port: Number(url.port),
            lanes,
            pkiFolder: join(config.storage.pkiFolder, "simulated-plc"),
        });
        await sim.start();
        started.push(sim);
        plcs.set(address.endpointUrl, sim);
        log.info({ endpoint: sim.endpointUrl, lanes }, "simulated lane PLC listening");
    }
    for (const lane of config.lanes) {
        const kit: LaneKit = { laneId: lane.id, cameras: [] };
        for (const device of lane.devices) {
            const address = device.address;
            if (address.transport === "tcp" && isLocal(address.host)) {
                const link = new TcpSerialServer({ host: address.host, port: address.port, chunking: "random" });
                if (device.kind === "weight") {
                    kit.scale = new ScaleSimulator({ model: device.model, link, noiseDivisions: 0 });
                    await kit.scale.start();
                    started.push(kit.scale);
                } else if (device.kind === "scan") {
                    kit.scanner = new ScannerSimulator({ model: device.model, link, aimPrefix: "]Q1" });
                    await kit.scanner.start();
                    started.push(kit.scanner);
                }
                log.info(
                    { deviceId: device.id, model: device.model, port: address.port },
                    "simulated device listening",
                );
            } else if (address.transport === "onvif" && isLocal(address.host) && device.login) {
                const camera = new OnvifCameraSimulator({
                    host: address.host,
                    port: address.port,
                    username: device.login.username,
                    password: device.login.password,
                });
                await camera.start();
                started.push(camera);
                kit.cameras.push({
                    role: device.role === "rear" ? "rear" : "front",
                    plate: async (text, confidence) =>
                        void camera.plate({ text, likelihood: confidence, countryCode: "VN" }),
                });
                log.info({ deviceId: device.id, port: address.port }, "simulated ONVIF camera listening");
            } else if (address.transport === "http-push") {
                dialers.push(async (addresses) => {
                    if (!addresses.push) return;
                    const camera = new PushCameraSimulator({
                        model: device.model as "hikvision-isapi-anpr" | "dahua-itsapi-anpr",
                        url: addresses.push,
                        ...(device.auth && {
                            username: device.auth.username,
                            password: passwords.get(device.id) ?? "",
                        }),
                        resend: { intervalMs: 1000, max: 5 },
                    });
                    started.push({ stop: async () => camera.stop() });
                    kit.cameras.push({
                        role: device.role === "rear" ? "rear" : "front",
                        plate: async (text, confidence) => {
                            // Vietnam's trucks in transport business carry yellow plates.
                            await camera.push({
                                text,
                                confidence,
                                countryCode: "VN",
                                withImages: true,
                                plateColour: "yellow",
                            });
                        },
                    });
                });
            } else if (address.transport === "opcua") {
                const sim = plcs.get(address.endpointUrl);
                if (sim) kit.plc = { sim, lane: address.lanePrefix };
            } else if (address.transport === "mqtt" && device.auth) {
                const username = device.auth.username;
                dialers.push(async (addresses) => {
                    if (!addresses.mqtt) return;
                    kit.seal = new SealReaderSimulator({
                        model: device.model,
                        brokerUrl: addresses.mqtt,
                        username,
                        password: passwords.get(device.id) ?? "",
                        topicPrefix: address.topic,
                        readerId: `${device.id}-reader`,
                        heartbeatMs: 30_000,
                    });
                    await kit.seal.start();
                    started.push(kit.seal);
                    log.info({ deviceId: device.id, topic: address.topic }, "simulated e-seal reader connected");
                });
            }
        }
        kits.push(kit);
    }
    const abort = new AbortController();
    return {
        async connect(addresses) {
            for (const dial of dialers) await dial(addresses);
            kits.forEach((kit, index) => {
                void runTraffic(kit, index, abort.signal, log, options).catch((err: unknown) => {
                    if (!abort.signal.aborted) log.error({ err, laneId: kit.laneId }, "demo traffic stopped");
                });
            });
        },
        stopTraffic() {
            abort.abort();
        },
        async stop() {
            abort.abort();
            for (const simulator of started.reverse()) await simulator.stop();
        },
    };
}

async function runTraffic(
    kit: LaneKit,
    laneIndex: number,
    signal: AbortSignal,
    log: Logger,
    options: DemoOptions,
): Promise<void> {
    let truck = 0;
    await sleep(2000 + laneIndex * 7000, signal);
    while (!signal.aborted) {
        truck++;
        const plan = demoTruckPlan(laneIndex, truck, options);
        const { declaration, tractor, trailer, container } = plan;
        // Within ±1 % of the declared gross, on the scale's 10 kg division.
        const grossKg = Math.round((plan.grossKg * (0.99 + Math.random() * 0.02)) / 10) * 10;
        const sealId = plan.seal;
        log.info(
            { laneId: kit.laneId, truck, tractor, trailer, declaration, container, grossKg, sealId },
            "demo truck arrives",
        );
        // The truck stops at the barrier: the PLC sees it on the entry loop until the lane lets it through
        // (the lane engine's decision, or an officer's release of a held truck) or, after barrierWaitMs, it
        // turns back; its passage stays open meanwhile, and the lane's next truck waits behind it.
        const passing = kit.plc?.sim.truckPasses(kit.plc.lane, plan.barrierWaitMs);
        for (const camera of kit.cameras) {
            await camera.plate(camera.role === "rear" ? trailer : tractor, 0.85 + Math.random() * 0.14);
        }
        kit.scanner?.scan(declaration);
        await sleep(800, signal);
        if (container) kit.scanner?.scan(container);
        const settled = kit.scale?.driveOn(grossKg, { rampMs: 4000 });
        if (sealId) {
            await kit.seal?.read({
                sealId,
                type: "ISO18185",
                status: plan.tampered ? "TAMPERED" : "SEALED",
                batteryPct: 80,
            });
        }
        await settled;
        await sleep(6000, signal);
        await kit.scale?.driveOff({ rampMs: 3000 });
        await passing;
        await sleep(10_000, signal);
    }
}

/** The demo file's own passwords for the simulated readers (the loaded config keeps only hashes). */
function plainPasswords(configFile: string): Map<string, string> {
    const document = parseYaml(readFileSync(configFile, "utf8")) as {
        lanes?: { devices?: { id?: string; auth?: { password?: string } }[] }[];
    };
    const passwords = new Map<string, string>();
    for (const lane of document.lanes ?? []) {
        for (const device of lane.devices ?? []) {
            const password = device.auth?.password;
            if (device.id && password && !password.includes("${")) passwords.set(device.id, password);
        }
    }
    return passwords;
}

function isLocal(host: string): boolean {
    return host === "127.0.0.1" || host === "localhost" || host === "::1";
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
        if (signal.aborted) {
            reject(signal.reason);
            return;
        }
        const onAbort = (): void => {
            clearTimeout(timer);
            reject(signal.reason);
        };
        const timer = setTimeout(() => {
            signal.removeEventListener("abort", onAbort);
            resolve();
        }, ms);
        signal.addEventListener("abort", onAbort, { once: true });
    });
}
