import { createServer } from "node:net";
import { join } from "node:path";
import mqtt from "mqtt";
import { definition as scanner } from "../../devices/serial-barcode-scanner.ts";
import { SealReaderSimulator } from "../../simulators/eseal.ts";
import { ScannerSimulator } from "../../simulators/scanner.ts";
import { PtyPair, TcpSerialServer } from "../../simulators/transport.ts";
import type { GateEvent } from "../../src/core/events.ts";
import type { Gate } from "../../src/gate.ts";
import { eventually, testConfig } from "../helpers/gate.ts";
import { acceptsConnections, hasTool, systemToolAvailable } from "../helpers/system.ts";
import { type ContractHarness, driverContract } from "./driverContract.ts";

/** Valid declaration numbers, one per read number: 10 + 8-digit sequence + (sequence mod 7) + 0. */
const declaration = (n: number) => {
    const sequence = 12345670 + n;
    return `10${sequence}${sequence % 7}0`;
};
const scanNumber = (event: GateEvent) => {
    const payload = (event.data.values as { payload?: string }).payload ?? "";
    for (let n = 1; n <= 10; n++) if (payload === declaration(n)) return n;
    return undefined;
};
const lane = (device: string) => `  - id: L1\n    devices:\n      - ${device}\n`;

function scannerHarness(
    link: () => TcpSerialServer | PtyPair,
    address: (link: TcpSerialServer | PtyPair) => string,
): ContractHarness {
    let current: TcpSerialServer | PtyPair;
    let sim: ScannerSimulator;
    return {
        deviceId: "scanner-1",
        readingType: "reading.scan",
        async start(dir) {
            current = link();
            sim = new ScannerSimulator({ model: scanner.model, link: current, suffix: "CRLF" });
            await sim.start();
            return testConfig(
                dir,
                lane(`{ id: scanner-1, model: serial-barcode-scanner, address: "${address(current)}" }`),
            );
        },
        async sendRead(n) {
            sim.scan(declaration(n));
        },
        readNumber: scanNumber,
        async sendBadData() {
            // A read with control characters in it: a scanner would never send it, so it is not a scan.
            current.write(Buffer.from("10123\u0001\u0002456\r\n", "latin1"));
        },
        async restartPeer() {
            await current.unplug();
            await current.plug();
        },
        async stop() {
            await sim.stop();
        },
    };
}

driverContract("serial over a TCP serial server", () =>
    scannerHarness(
        () => new TcpSerialServer({ port: 0, chunking: "bytewise" }),
        (link) => `tcp://127.0.0.1:${(link as TcpSerialServer).port}`,
    ),
);

driverContract(
    "serial port (socat PTY pair)",
    () => {
        let pair: PtyPair;
        return scannerHarness(
            () => {
                const base = join(process.env.TMPDIR ?? "/tmp", `gate-edge-pty-${process.pid}-${Date.now()}`);
                pair = new PtyPair({ deviceLink: `${base}-device`, hostLink: `${base}-host` });
                return pair;
            },
            () => `serial://${pair.hostPath}?baudRate=9600`,
        );
    },
    { skip: !systemToolAvailable("socat") },
);

function sealHarness(mode: "embedded" | "external"): ContractHarness {
    let sim: SealReaderSimulator | undefined;
    let url = "";
    let restart: () => Promise<void> = async () => undefined;
    let stopBroker: () => Promise<void> = async () => undefined;
    const topic = "gate/T01/devices/seal-1";
    const makeSim = () =>
        new SealReaderSimulator({
            model: "eseal-mqtt-json",
            brokerUrl: url,
            username: "seal-1",
            password: "contract-password",
            topicPrefix: topic,
            readerId: "reader-1",
            reconnectMs: 200,
        });
    return {
        deviceId: "seal-1",
        readingType: "reading.seal",
        async start(dir) {
            const device = `{ id: seal-1, model: eseal-mqtt-json, auth: { username: seal-1, password: contract-password } }`;
            if (mode === "embedded")
                return testConfig(dir, lane(device), "broker: { mode: embedded, host: 127.0.0.1, port: 0 }");
            const { spawn } = await import("node:child_process");
            const { writeFileSync } = await import("node:fs");
            const port = await new Promise<number>((resolve) => {
                const probe = createServer().listen(0, "127.0.0.1", () => {
                    const bound = (probe.address() as { port: number }).port;
                    probe.close(() => resolve(bound));
                });
            });
            const conf = join(dir, "mosquitto.conf");
            writeFileSync(conf, `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\n`);
            const brokerUp = () =>
                eventually(async () => (await acceptsConnections(port)) || undefined, 10_000, "mosquitto listening");
            let broker = spawn("mosquitto", ["-c", conf], { stdio: "ignore" });
            const stopIt = async () => {
                const exited = new Promise((resolve) => broker.once("exit", resolve));
                broker.kill("SIGTERM");
                await exited;
            };
            stopBroker = stopIt;
            restart = async () => {
                await stopIt();
                broker = spawn("mosquitto", ["-c", conf], { stdio: "ignore" });
                await brokerUp();
            };
            url = `mqtt://127.0.0.1:${port}`;
            await brokerUp();
            sim = makeSim();
            await sim.start();
            return testConfig(
                dir,
                lane(device),
                `broker: { mode: external, url: "${url}", clientId: gate-edge-contract }`,
            );
        },
        async gateStarted(gate: Gate) {
            if (mode !== "embedded") return;
            url = gate.addresses.mqtt!;
            sim = makeSim();
            await sim.start();
            restart = async () => {
                await sim?.stop();
                sim = makeSim();
                await sim.start();
            };
        },
        async sendRead(n) {
            await sim!.read({ sealId: `SEAL-${n}`, type: "ISO18185", status: "SEALED" });
        },
        readNumber(event) {
            const match = /^SEAL-(\d+)$/.exec((event.data.values as { sealId?: string }).sealId ?? "");
            return match ? Number(match[1]) : undefined;
        },
        async sendBadData() {
            const client = mqtt.connect(url, { username: "seal-1", password: "contract-password", reconnectPeriod: 0 });
            await new Promise<void>((resolve, reject) => {
                client.once("connect", () => resolve());
                client.once("error", reject);
            });
            await client.publishAsync(`${topic}/seal`, "{not json", { qos: 1 });
            await client.endAsync();
        },
        async restartPeer() {
            await restart();
        },
        async stop() {
            await sim?.stop();
            await stopBroker();
        },
    };
}

driverContract("MQTT device on the embedded broker", () => sealHarness("embedded"));
driverContract("MQTT device through an external Mosquitto", () => sealHarness("external"), {
    skip: !(hasTool("mosquitto") || systemToolAvailable("mosquitto")),
});
