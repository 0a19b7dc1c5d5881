import { readFileSync } from "node:fs";
import type { Logger } from "pino";
import { parse as parseYaml } from "yaml";
import type { GateConfig } from "../src/config/types.ts";
import type { GateAddresses } from "../src/gate.ts";
import { SealReaderSimulator } from "./eseal.ts";
import { ScaleSimulator } from "./scale.ts";
import { ScannerSimulator } from "./scanner.ts";
import { TcpSerialServer } from "./transport.ts";

/** Valid VNACCS declaration numbers (check digit = sequence mod 7) and ISO 6346 containers for the demo. */
const DECLARATIONS = ["101234567820", "301234567820", "100001234540", "105551234100"];
const CONTAINERS = ["CSQU3054383", "MSKU1234565", "ZEPU0037255"];

interface LaneKit {
    laneId: string;
    scale?: ScaleSimulator;
    scanner?: ScannerSimulator;
    seal?: SealReaderSimulator;
}

/**
 * The simulated devices `npm start` runs beside the demo gate: for every device of the configuration that
 * lives on 127.0.0.1 a TCP serial server with the right simulator behind it, and an e-seal reader for
 * every MQTT device. Each lane then sees a truck every half minute or so: a declaration and a container
 * are scanned, the truck drives onto the weighbridge and settles, its seal is read, and it drives off;
 * now and then a seal reports tampering.
 */
export async function startDemoSimulators(
    configFile: string,
    config: GateConfig,
    addresses: GateAddresses,
    log: Logger,
): Promise<{ stop(): Promise<void> }> {
    const passwords = plainPasswords(configFile);
    const kits: LaneKit[] = [];
    const started: { stop(): Promise<void> }[] = [];
    for (const lane of config.lanes) {
        const kit: LaneKit = { laneId: lane.id };
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
            } else if (address.transport === "mqtt" && addresses.mqtt && device.auth) {
                kit.seal = new SealReaderSimulator({
                    model: device.model,
                    brokerUrl: addresses.mqtt,
                    username: device.auth.username,
                    password: passwords.get(device.id) ?? "",
                    topicPrefix: address.topic,
                    readerId: `${device.id}-reader`,
                    heartbeatMs: 30_000,
                });
                await kit.seal.start();
                started.push(kit.seal);
                log.info({ deviceId: device.id, topic: address.topic }, "simulated e-seal reader connected");
            }
        }
        kits.push(kit);
    }
    const abort = new AbortController();
    kits.forEach((kit, index) => {
        void runTraffic(kit, index, abort.signal, log).catch((err: unknown) => {
            if (!abort.signal.aborted) log.error({ err, laneId: kit.laneId }, "demo traffic stopped");
        });
    });
    return {
        async stop() {
            abort.abort();
            for (const simulator of started.reverse()) await simulator.stop();
        },
    };
}

async function runTraffic(kit: LaneKit, laneIndex: number, signal: AbortSignal, log: Logger): Promise<void> {
    let truck = 0;
    await sleep(2000 + laneIndex * 7000, signal);
    while (!signal.aborted) {
        truck++;
        const declaration = DECLARATIONS[(truck + laneIndex) % DECLARATIONS.length]!;
        const container = CONTAINERS[(truck + laneIndex) % CONTAINERS.length]!;
        const grossKg = 18_000 + Math.round(Math.random() * 20_000);
        const sealId = `VNC-${String(laneIndex + 1).padStart(2, "0")}${String(truck).padStart(5, "0")}`;
        log.info({ laneId: kit.laneId, truck, declaration, container, grossKg, sealId }, "demo truck arrives");
        kit.scanner?.scan(declaration);
        await sleep(800, signal);
        kit.scanner?.scan(container);
        const settled = kit.scale?.driveOn(grossKg, { rampMs: 4000 });
        await kit.seal?.read({ sealId, type: "ISO18185", status: "SEALED", batteryPct: 80 });
        await settled;
        if (truck % 5 === 0) await kit.seal?.tamper(sealId);
        await sleep(6000, signal);
        await kit.scale?.driveOff({ rampMs: 3000 });
        await sleep(15_000, signal);
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
        const timer = setTimeout(resolve, ms);
        signal.addEventListener(
            "abort",
            () => {
                clearTimeout(timer);
                reject(signal.reason);
            },
            { once: true },
        );
    });
}
