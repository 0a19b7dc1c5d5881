/**
 * The peers of the driver contract, one harness per transport: a real simulator, server or broker each,
 * used by the whole-gate suites (foundation-, camera-, plc-drivers) and the transport suite (transports).
 */
import { createServer } from "node:net";
import { basename, join } from "node:path";
import mqtt from "mqtt";
import { DataType } from "node-opcua";
import { definition as rpmModel } from "../../devices/n42-rpm.ts";
import { definition as scanner } from "../../devices/serial-barcode-scanner.ts";
import { SealReaderSimulator } from "../../simulators/eseal.ts";
import { Jt701Simulator } from "../../simulators/jt701.ts";
import { LanePlcSimulator } from "../../simulators/lane-plc.ts";
import { dropEntry } from "../../simulators/lib/folder.ts";
import { OnvifCameraSimulator } from "../../simulators/onvif-camera.ts";
import { PushCameraSimulator } from "../../simulators/push-camera.ts";
import { RpmSimulator } from "../../simulators/rpm.ts";
import { ScannerSimulator } from "../../simulators/scanner.ts";
import { PtyPair, TcpSerialServer } from "../../simulators/transport.ts";
import type { GateEvent } from "../../src/core/events.ts";
import type { RawInput } from "../../src/drivers/transport.ts";
import type { Gate } from "../../src/gate.ts";
import { eventually, testConfig } from "../helpers/gate.ts";
import { acceptsConnections } from "../helpers/system.ts";
import type { ContractHarness, GateView } from "./driverContract.ts";

/** Valid declaration numbers, one per read number: 10 + 8-digit sequence + (sequence mod 7) + 0. */
export const declaration = (n: number) => {
    const sequence = 12345670 + n;
    return `10${sequence}${sequence % 7}0`;
};
const scanNumber = (event: GateEvent) => {
    const payload = (event.data.values as { payload?: string }).payload ?? "";
    for (let n = 1; n <= 10; n++) if (payload === declaration(n)) return n;
    return undefined;
};
const lane = (device: string) => `  - id: L1\n    devices:\n      - ${device}\n`;

export function scannerHarness(
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

export function sealHarness(mode: "embedded" | "external"): ContractHarness {
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
        async gateStarted(gate: GateView) {
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

/** Plate text for read number n: a valid VN plate, 29C-000.0n. */
export const plate = (n: number) => `29C-000.${String(n).padStart(2, "0")}`;
const plateNumber = (event: GateEvent) => {
    const match = /^29C-000\.(\d\d)$/.exec((event.data.values as { text?: string }).text ?? "");
    return match ? Number(match[1]) : undefined;
};

export function pushHarness(model: "dahua-itsapi-anpr" | "hikvision-isapi-anpr"): ContractHarness {
    let camera: PushCameraSimulator;
    let url = "";
    const makeCamera = () =>
        new PushCameraSimulator({
            model,
            url,
            username: "cam-1",
            password: "camera-password",
            resend: { intervalMs: 100, max: 3 },
        });
    return {
        deviceId: "cam-1",
        readingType: "reading.plate",
        statusFollowsPeer: false,
        async start(dir) {
            return testConfig(
                dir,
                `  - id: L1\n    devices:\n      - { id: cam-1, model: ${model}, role: front, auth: { username: cam-1, password: camera-password } }\n`,
                "push: { host: 127.0.0.1, port: 0 }",
            );
        },
        async gateStarted(gate: GateView) {
            url = gate.addresses.push!;
            camera = makeCamera();
        },
        async sendRead(n) {
            const answer = await camera.push({ text: plate(n), confidence: 0.9, withImages: true });
            if (answer.status !== 200) throw new Error(`push answered ${answer.status}: ${answer.body}`);
        },
        readNumber: plateNumber,
        async sendBadData() {
            const path =
                model === "dahua-itsapi-anpr" ? "/NotificationInfo/TollgateInfo" : "/ISAPI/Event/notification/alert";
            await camera.sendRaw(path, "application/json", "{ broken");
        },
        async restartPeer() {
            await camera.stop();
            camera = makeCamera();
        },
        async stop() {
            await camera?.stop();
        },
    };
}

/** A scanner behind a TCP serial server (Moxa NPort "TCP server" mode), bytes split at every byte. */
export function tcpScannerHarness(): ContractHarness {
    return scannerHarness(
        () => new TcpSerialServer({ port: 0, chunking: "bytewise" }),
        (link) => `tcp://127.0.0.1:${(link as TcpSerialServer).port}`,
    );
}

/** A scanner on a serial port: one end of a socat PTY pair. */
export function ptyScannerHarness(): ContractHarness {
    let pair: PtyPair;
    return scannerHarness(
        () => {
            const base = join(process.env.TMPDIR ?? "/tmp", `gate-edge-pty-${process.pid}-${Date.now()}`);
            pair = new PtyPair({ deviceLink: `${base}-device`, hostLink: `${base}-host` });
            return pair;
        },
        () => `serial://${pair.hostPath}?baudRate=9600`,
    );
}

export function onvifHarness(): ContractHarness {
    let camera: OnvifCameraSimulator;
    return {
        deviceId: "cam-onvif",
        readingType: "reading.plate",
        async start(dir) {
            camera = new OnvifCameraSimulator({ port: 0, username: "admin", password: "onvif-secret" });
            await camera.start();
            return testConfig(
                dir,
                `  - id: L1\n    devices:\n      - { id: cam-onvif, model: onvif-anpr, role: front, address: "http://127.0.0.1:${camera.port}", auth: { username: admin, password: onvif-secret } }\n`,
            );
        },
        async sendRead(n) {
            camera.plate({ text: plate(n), likelihood: 0.92 });
        },
        readNumber: plateNumber,
        async sendBadData() {
            // A "plate" of markup: a camera firmware bug or an injection attempt, never a reading.
            camera.plate({ text: "<script>alert(1)</script>", likelihood: 0.9 });
        },
        async restartPeer() {
            await camera.reboot(300);
        },
        async stop() {
            await camera.stop();
        },
    };
}

export function plcHarness(): ContractHarness {
    let plc: LanePlcSimulator;
    // Read n is told apart by which loop it occupies, in turn; a read is a loop becoming occupied.
    const loops = ["entry", "safety", "exit"] as const;
    const loopOf = (n: number) => loops[(n - 1) % loops.length]!;
    return {
        deviceId: "plc-1",
        readingType: "reading.presence",
        async start(dir) {
            plc = new LanePlcSimulator({
                port: 0,
                lanes: ["L1"],
                pkiFolder: join(dir, "plc-pki"),
                watchdogTimeoutMs: 10_000,
            });
            await plc.start();
            return testConfig(
                dir,
                `  - id: L1\n    devices:\n      - { id: plc-1, model: lane-plc-opcua, address: "${plc.endpointUrl}", plc: { lanePrefix: L1 } }\n`,
            );
        },
        async gateStarted(gate: Gate) {
            // The PLC's current loop states arrive as the subscription's first values, possibly after the
            // driver is online: the reads (and the count of readings before bad data) start once they are in.
            await eventually(
                () => {
                    const known = gate.log
                        .read(0, 10_000)
                        .filter((event) => event.type === "reading.presence" && event.deviceId === "plc-1")
                        .map((event) => (event.data.values as { loop: string }).loop);
                    return loops.every((loop) => known.includes(loop)) || undefined;
                },
                20_000,
                "the initial state of every loop stored",
            );
        },
        async sendRead(n) {
            for (const loop of loops) plc.setLoop("L1", loop, false);
            plc.setLoop("L1", loopOf(n), true);
        },
        readNumber(event: GateEvent) {
            const values = event.data.values as { loop: string; occupied: boolean };
            if (!values.occupied) return undefined;
            const index = loops.indexOf(values.loop as (typeof loops)[number]);
            // The harness reads 1, 2, 3 in order, so the loop names the read.
            return index >= 0 ? index + 1 : undefined;
        },
        async sendBadData() {
            // A value of the wrong type on the wire: a string where the PLC should report a boolean.
            plc.publishRaw("L1", "Loop.Exit.Occupied", { dataType: DataType.String, value: "maybe" });
        },
        async restartPeer() {
            await plc.restart(500);
        },
        async stop() {
            await plc.stop();
        },
    };
}

/** A JT701 e-lock dialling in to the device's listener; read n reports a battery of 50 + n %. */
export function jt701Harness(): ContractHarness & { isRead(raw: RawInput, n: number): boolean } {
    const lockId = "7000000001";
    let sim: Jt701Simulator | undefined;
    let port = 0;
    const sent = new Map<number, Uint8Array>();
    const connect = async () => {
        sim = new Jt701Simulator({ host: "127.0.0.1", port, lockIds: [lockId] });
        await sim.start();
    };
    return {
        deviceId: "elock-1",
        readingType: "reading.seal",
        statusFollowsPeer: false,
        async start(dir) {
            return testConfig(
                dir,
                `  - id: L1\n    devices:\n      - { id: elock-1, model: jointech-jt701, address: "tcp-listen://127.0.0.1:0" }\n`,
            );
        },
        async gateStarted(gate: GateView) {
            port = gate.listenerPort("elock-1") ?? 0;
            await connect();
        },
        async sendRead(n) {
            sent.set(n, sim!.report(lockId, { battery: 50 + n }));
        },
        readNumber(event) {
            const battery = (event.data.values as { battery?: { pct?: number } | number }).battery;
            const pct = typeof battery === "object" ? battery.pct : battery;
            return pct === undefined ? undefined : pct - 50;
        },
        isRead(raw, n) {
            const frame = sent.get(n);
            return raw.kind === "frame" && frame !== undefined && Buffer.from(frame).equals(raw.bytes);
        },
        async sendBadData() {
            sim!.writeRaw(lockId, "$$garbage");
        },
        async restartPeer() {
            await sim?.stop();
            await connect();
        },
        async stop() {
            await sim?.stop();
        },
    };
}

/** An RPM writing its N42.42 documents into a real folder; read n is the n-th file written. */
export function rpmFolderHarness(): ContractHarness & { isRead(raw: RawInput, n: number): boolean } {
    let folder = "";
    const written = new Map<number, string>();
    return {
        deviceId: "rpm-1",
        readingType: "reading.radiation",
        statusFollowsPeer: false,
        async start(dir) {
            folder = join(dir, "rpm");
            return testConfig(
                dir,
                "  - id: L1\n    devices: []\n",
                `inspection:\n  devices:\n    - { id: rpm-1, model: n42-rpm, lane: L1, folder: ${JSON.stringify(folder)}, pollMs: 100, settleMs: 150 }`,
            );
        },
        async sendRead(n) {
            const rpm = new RpmSimulator({ folder, seed: n });
            const report = rpm.report("clean");
            const entry = rpmModel.encode(report);
            written.set(n, basename(await dropEntry(folder, entry, "file")));
        },
        readNumber: () => undefined,
        async sendBadData() {
            await dropEntry(
                folder,
                { name: "broken.n42", files: new Map([["broken.n42", new Uint8Array([1, 2, 3])]]) },
                "file",
            );
        },
        async restartPeer() {
            // A folder has no peer to restart: the device writing into it is invisible to the gate.
        },
        async stop() {
            // Nothing runs beside the folder, which the suite's temporary directory removes.
        },
        isRead: (raw, n) => raw.kind === "entry" && raw.entry.name === written.get(n),
    };
}
