import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import mqtt from "mqtt";
import type { Logger } from "pino";
import { parse as parseYaml } from "yaml";
import { pointLaneIds } from "../src/config/pointLanes.ts";
import type { GateConfig } from "../src/config/types.ts";
import { normalizePlate } from "../src/core/identifiers.ts";
import { kioskUrls } from "../src/display/urls.ts";
import { demoCentralEnvFile, demoCentralToken } from "../src/doctor.ts";
import type { GateAddresses } from "../src/gate.ts";
import type { GateCompanion } from "../src/service.ts";
import { createDemoUsers } from "../src/usersCommand.ts";
import type { LaneGroup, PreArrival } from "../src/yard/types.ts";
import { YARD_CALLS_TOPIC } from "../src/yard/yard.ts";
import { CentralSimulator } from "./central/index.ts";
import type { SealReaderSimulator } from "./eseal.ts";
import { isLocalHost, type SimulatedDevice, startSimulatorsFor } from "./forConfig.ts";
import type { LanePlcSimulator } from "./lane-plc.ts";
import { type RpmPassKind, RpmSimulator } from "./rpm.ts";
import type { ScaleSimulator } from "./scale.ts";
import type { ScannerSimulator } from "./scanner.ts";
import { XraySimulator } from "./xray.ts";

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
    /** Announces a truck's visit before it comes (through the demo central's feed); without it, trucks come unannounced. */
    announce?: (preArrival: PreArrival) => void;
}

/** How long a demo truck waits in the yard for its call before its driver drives to the lane anyway. */
export const DEMO_CALL_WAIT_MS = 150_000;

/**
 * The pre-arrival record of a demo truck's visit: in the lane's group (lane 1 imports, lane 2 exports), lane
 * 1's green truck perishable (lychee: it goes first in the yard), lane 2's bulk truck a foreign vehicle's permit.
 */
export function demoPreArrival(laneId: string, laneGroup: LaneGroup, plan: DemoTruckPlan, truck: number): PreArrival {
    return {
        preArrivalId: `DEMO-${laneId}-${truck}`,
        tractorPlate: plan.tractor,
        trailerPlate: plan.trailer,
        declarations: [plan.declaration],
        goodsClass: plan.declaration === "101234567820" ? "perishable" : "general",
        laneGroup,
        ...(plan.declaration === "305551234130" && { transportPermit: "VN-CN 2026-0042" }),
        version: 1,
    };
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
): Promise<CentralSimulator | undefined> {
    if (!config.central.url) return undefined;
    const url = new URL(config.central.url);
    if (!isLocalHost(url.hostname) || url.protocol !== "http:") return undefined;
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
    /** The RPM on the lane's approach and the inspection area's X-ray scanner, where configured. */
    rpm?: RpmSimulator;
    xray?: XraySimulator;
    /** The yard (issue 19): the entry and exit cameras, the lane's queue and the calls its drivers get. */
    yard?: {
        group: LaneGroup;
        entry?: DemoCamera;
        exit?: DemoCamera;
        called(plate: string, ms: number): Promise<boolean>;
    };
}

/** The calls of the yard, as a driver app reads them: resolves when `plate` is called to `laneId`. */
function yardCalls(client: mqtt.MqttClient, signal: AbortSignal) {
    const waiting = new Set<{ plate: string; laneId: string; resolve(called: boolean): void }>();
    client.on("message", (_topic, payload) => {
        let call: { tractorPlate?: unknown; laneId?: unknown };
        try {
            call = JSON.parse(payload.toString()) as typeof call; // the yard's call message (src/yard/yard.ts)
        } catch {
            return;
        }
        for (const waiter of waiting)
            if (waiter.plate === call.tractorPlate && waiter.laneId === call.laneId) {
                waiting.delete(waiter);
                waiter.resolve(true);
            }
    });
    return (laneId: string) =>
        (plate: string, ms: number): Promise<boolean> =>
            new Promise((resolve) => {
                const waiter = { plate: normalizePlate(plate).normalized, laneId, resolve };
                waiting.add(waiter);
                const timer = setTimeout(() => {
                    waiting.delete(waiter);
                    resolve(false);
                }, ms);
                signal.addEventListener("abort", () => clearTimeout(timer), { once: true });
            });
}

/** Most trucks pass the RPM clean, every third with NORM cargo (the common nuisance), the seventh a real source. */
function demoRpmPass(truck: number): RpmPassKind {
    return truck === 7 ? "alarm" : truck % 3 === 0 ? "norm" : "clean";
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

/** The demo camera standing behind a device, whichever way it delivers; undefined for other devices. */
function demoCamera(entry: SimulatedDevice): DemoCamera | undefined {
    const role = entry.device.role === "rear" ? "rear" : "front";
    const { onvif, push } = entry;
    if (onvif) {
        return {
            role,
            plate: async (text, confidence) => void onvif.plate({ text, likelihood: confidence, countryCode: "VN" }),
        };
    }
    if (push) {
        return {
            role,
            plate: async (text, confidence) => {
                // Vietnam's trucks in transport business carry yellow plates.
                await push.push({ text, confidence, countryCode: "VN", withImages: true, plateColour: "yellow" });
            },
        };
    }
    return undefined;
}

/**
 * The simulated devices `npm start` runs beside the demo gate: the simulators behind every device of the
 * configuration that lives on 127.0.0.1 (startSimulatorsFor: serial servers with a scale or scanner, ONVIF
 * cameras and the lane PLC listening before the gate starts, so it finds them at its first try; e-seal
 * readers and push cameras once it listens). Each lane then sees a truck every half minute or so: a
 * declaration and a container are scanned, the truck drives onto the weighbridge and settles, its seal is
 * read, and it drives off; now and then a seal reports tampering.
 */
export async function startDemoSimulators(
    configFile: string,
    config: GateConfig,
    log: Logger,
    options: DemoOptions = {},
): Promise<DemoSimulators> {
    const simulators = await startSimulatorsFor(config, {
        workDir: config.storage.pkiFolder,
        plcPkiFolder: () => join(config.storage.pkiFolder, "simulated-plc"),
        log,
        passwords: plainPasswords(configFile),
        chunking: "random",
        scanner: { aimPrefix: "]Q1" },
        push: { resend: { intervalMs: 1000, max: 5 } },
        sealHeartbeatMs: 30_000,
    });
    const abort = new AbortController();
    let calls: mqtt.MqttClient | undefined;
    return {
        async connect(addresses) {
            await simulators.connect(addresses);
            const yard = config.yard;
            const yardCamera = (camera: string | undefined) => {
                const lane = config.lanes.find((l) => l.devices.some((d) => d.id === camera));
                const entry = lane && simulators.lane(lane.id).find((e) => e.device.id === camera);
                return entry && demoCamera(entry);
            };
            const receiver = yard?.callReceivers[0];
            const password = receiver && plainPasswords(configFile).get(receiver.id);
            if (receiver && password && addresses.mqtt) {
                calls = await mqtt.connectAsync(addresses.mqtt, {
                    username: receiver.auth.username,
                    password,
                    reconnectPeriod: 1000,
                });
                await calls.subscribeAsync(YARD_CALLS_TOPIC(config.gate.id), { qos: 1 });
            }
            const waitForCall = calls && yardCalls(calls, abort.signal);
            const pointLanes = pointLaneIds(config);
            config.lanes
                .filter((lane) => !pointLanes.has(lane.id))
                .forEach((lane, index) => {
                    const devices = simulators.lane(lane.id);
                    const kit: LaneKit = {
                        laneId: lane.id,
                        cameras: devices.flatMap((entry) => demoCamera(entry) ?? []),
                    };
                    const inspection = config.inspection?.devices ?? [];
                    const rpm = inspection.find((d) => d.model === "n42-rpm" && d.laneId === lane.id);
                    const xray = index === 0 && inspection.find((d) => d.model === "nii-scan-package");
                    if (rpm) kit.rpm = new RpmSimulator({ folder: rpm.folder, seed: index + 1 });
                    if (xray) kit.xray = new XraySimulator({ folder: xray.folder });
                    const group = yard?.laneGroups[lane.id];
                    if (group) {
                        const entry = yardCamera(yard?.entries[0]?.camera);
                        const exit = yardCamera(config.inspection?.exits?.[0]?.camera);
                        kit.yard = {
                            group,
                            ...(entry && { entry }),
                            ...(exit && { exit }),
                            called: waitForCall?.(lane.id) ?? (async () => false),
                        };
                    }
                    for (const entry of devices) {
                        kit.scale ??= entry.scale;
                        kit.scanner ??= entry.scanner;
                        kit.seal ??= entry.seal;
                        kit.plc ??= entry.plc;
                    }
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
            await calls?.endAsync();
            await simulators.stop();
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
        if (kit.yard) {
            // Its visit is announced through central's feed (polled every 2 s), it arrives at the yard and waits
            // for its call (a driver without the message drives on after DEMO_CALL_WAIT_MS).
            if (options.announce) {
                options.announce(demoPreArrival(kit.laneId, kit.yard.group, plan, truck));
                await sleep(5000, signal);
            }
            const call = kit.yard.called(tractor, DEMO_CALL_WAIT_MS);
            await kit.yard.entry?.plate(tractor, 0.9);
            log.info({ laneId: kit.laneId, truck, tractor, called: await call }, "demo truck leaves the yard");
        }
        log.info(
            { laneId: kit.laneId, truck, tractor, trailer, declaration, container, grossKg, sealId },
            "demo truck arrives",
        );
        // The truck stops at the barrier: the PLC sees it on the entry loop until the lane lets it through
        // (the lane engine's decision, or an officer's release of a held truck) or, after barrierWaitMs, it
        // turns back; its passage stays open meanwhile, and the lane's next truck waits behind it.
        const passing = kit.plc?.sim.truckPasses(kit.plc.lane, plan.barrierWaitMs);
        await kit.rpm?.pass(demoRpmPass(truck));
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
        // Through the barrier, the truck reaches the exit point: its camera closes the visit.
        if ((await passing) === "passed") await kit.yard?.exit?.plate(tractor, 0.9);
        // Lane 1's red-channel truck (every second one) is scanned in the inspection area: a dense mass.
        if (truck % 2 === 0)
            await kit.xray?.scan({
                result: "suspicious",
                plates: [tractor, trailer],
                containers: container ? [container] : [],
            });
        await sleep(10_000, signal);
    }
}

/** The demo file's own passwords for the simulated readers (the loaded config keeps only hashes). */
function plainPasswords(configFile: string): Map<string, string> {
    const document = parseYaml(readFileSync(configFile, "utf8")) as {
        lanes?: { devices?: { id?: string; auth?: { password?: string } }[] }[];
        yard?: { callReceivers?: { id?: string; auth?: { password?: string } }[] };
    };
    const passwords = new Map<string, string>();
    // The yard's call receiver is the demo's drivers' app: it logs in like a device.
    for (const devices of [...(document.lanes ?? []).map((lane) => lane.devices), document.yard?.callReceivers]) {
        for (const device of devices ?? []) {
            const password = device.auth?.password;
            if (device.id && password && !password.includes("${")) passwords.set(device.id, password);
        }
    }
    return passwords;
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

/**
 * `gate-edge start --with-simulators`: what runs beside the demo gate. Its central clearance system first,
 * so the gate's sync finds it (it serves the declarations the demo trucks carry through the real clearance
 * feed), then the simulated devices the gate dials, listening before it starts so it finds them at its
 * first try; once it listens, the demo users (a person must be able to log in; a production start never
 * creates users) and the devices that dial the gate, and the trucks start.
 */
export function demoCompanion(file: string, config: GateConfig, out: (line: string) => void): GateCompanion {
    let central: CentralSimulator | undefined;
    let simulators: DemoSimulators | undefined;
    return {
        async start(log) {
            const sim = await startDemoCentral(file, config, log.child({ component: "central-simulator" }), out);
            central = sim;
            const announce = (preArrival: PreArrival) => void sim?.addClearance([{ type: "preArrival", preArrival }]);
            simulators = await startDemoSimulators(file, config, log.child({ component: "simulators" }), { announce });
        },
        async connect(gate, addresses) {
            const demoUsers = createDemoUsers(gate.database);
            if (demoUsers.length > 0) {
                out("  demo users (passwords shown only this once):");
                for (const user of demoUsers) out(`    ${user.name.padEnd(11)} ${user.password}`);
            } else {
                out(`  users: as before (new password: npx gate-edge users passwd NAME --config ${file})`);
            }
            for (const kiosk of kioskUrls(file, addresses.http)) out(`  lane display ${kiosk.laneId}: ${kiosk.url}`);
            await simulators?.connect(addresses);
        },
        quiesce() {
            simulators?.stopTraffic();
        },
        async stop() {
            await simulators?.stop();
            await central?.stop();
        },
    };
}
