/**
 * A gate's lane devices played by the simulators: the shared OPC UA lane PLC, and per lane a serial-over-TCP
 * scale and scanner, an e-seal reader on the gate's broker and the two HTTP-push plate cameras, named as the
 * lanes' YAML from laneDevices names them (scale-l1, seal-l1, front-l1, …).
 */
import { join } from "node:path";
import { SealReaderSimulator } from "../../simulators/eseal.ts";
import { LanePlcSimulator, type LanePlcSimulatorOptions } from "../../simulators/lane-plc.ts";
import { PushCameraSimulator, type PushCameraSimulatorOptions } from "../../simulators/push-camera.ts";
import { ScaleSimulator } from "../../simulators/scale.ts";
import { ScannerSimulator } from "../../simulators/scanner.ts";
import { TcpSerialServer } from "../../simulators/transport.ts";
import type { Gate } from "../../src/gate.ts";

/**
 * A started lane PLC on an ephemeral port with its PKI under `dir`. Unless `options` say otherwise the
 * barrier moves in 100 ms and stays open for a minute, so a test closes it when it means to.
 */
export async function startLanePlc(
    dir: string,
    lanes: readonly string[],
    options: Partial<LanePlcSimulatorOptions> = {},
): Promise<LanePlcSimulator> {
    const plc = new LanePlcSimulator({
        port: 0,
        lanes,
        pkiFolder: join(dir, "plc-pki"),
        travelMs: 100,
        autoCloseMs: 60_000,
        ...options,
    });
    await plc.start();
    return plc;
}

export interface LaneLinks {
    scale: TcpSerialServer;
    scanner: TcpSerialServer;
}

/**
 * Listening serial links for each lane's scale and scanner, and the lanes' YAML: those two, an e-seal reader,
 * a Dahua front and a Hikvision rear camera, and the lane on `plcEndpoint`. `header` adds lines below a
 * lane's id (a name, a direction).
 */
export async function laneDevices(
    lanes: readonly string[],
    plcEndpoint: string,
    header: (lane: string, index: number) => string = () => "",
): Promise<{ links: Map<string, LaneLinks>; yaml: string }> {
    const links = new Map<string, LaneLinks>();
    let yaml = "";
    for (const [index, lane] of lanes.entries()) {
        const scale = new TcpSerialServer({ port: 0 });
        const scanner = new TcpSerialServer({ port: 0 });
        await scale.start();
        await scanner.start();
        links.set(lane, { scale, scanner });
        const l = lane.toLowerCase();
        yaml += `  - id: ${lane}
${header(lane, index)}    devices:
      - { id: scale-${l}, model: toledo-continuous, address: "tcp://127.0.0.1:${scale.port}" }
      - { id: scanner-${l}, model: serial-barcode-scanner, address: "tcp://127.0.0.1:${scanner.port}" }
      - { id: seal-${l}, model: eseal-mqtt-json, auth: { username: seal-${l}, password: seal-${l}-password } }
      - { id: front-${l}, model: dahua-itsapi-anpr, role: front, auth: { username: front-${l}, password: front-${l}-password } }
      - { id: rear-${l}, model: hikvision-isapi-anpr, role: rear, auth: { username: rear-${l}, password: rear-${l}-password } }
      - { id: plc-${l}, model: lane-plc-opcua, address: "${plcEndpoint}", plc: { lanePrefix: ${lane} } }
`;
    }
    return { links, yaml };
}

export interface LaneSimulators {
    scaleLink: TcpSerialServer;
    scale: ScaleSimulator;
    scanner: ScannerSimulator;
    seal: SealReaderSimulator;
    front: PushCameraSimulator;
    rear: PushCameraSimulator;
}

/**
 * Starts the scale, scanner and e-seal reader of `lane` against the running gate and makes its cameras (a
 * camera has nothing to start: it pushes when told). What was started is added to `stops`, as soon as it
 * is, so a failure half way leaves nothing running.
 */
export async function startLaneSimulators(
    gate: Gate,
    lane: string,
    links: LaneLinks,
    stops: (() => Promise<void>)[],
    options: { scaleRateHz: number; cameraResend?: PushCameraSimulatorOptions["resend"] },
): Promise<LaneSimulators> {
    const l = lane.toLowerCase();
    const scale = new ScaleSimulator({ model: "toledo-continuous", link: links.scale, rateHz: options.scaleRateHz });
    const scanner = new ScannerSimulator({ model: "serial-barcode-scanner", link: links.scanner, suffix: "CRLF" });
    await scale.start();
    await scanner.start();
    stops.push(
        () => scale.stop(),
        () => scanner.stop(),
    );
    const seal = new SealReaderSimulator({
        model: "eseal-mqtt-json",
        brokerUrl: gate.addresses.mqtt!,
        username: `seal-${l}`,
        password: `seal-${l}-password`,
        topicPrefix: `gate/T01/devices/seal-${l}`,
        readerId: `reader-${l}`,
    });
    await seal.start();
    stops.push(() => seal.stop());
    const camera = (model: "dahua-itsapi-anpr" | "hikvision-isapi-anpr", name: string) =>
        new PushCameraSimulator({
            model,
            url: gate.addresses.push!,
            username: name,
            password: `${name}-password`,
            ...(options.cameraResend && { resend: options.cameraResend }),
        });
    return {
        scaleLink: links.scale,
        scale,
        scanner,
        seal,
        front: camera("dahua-itsapi-anpr", `front-${l}`),
        rear: camera("hikvision-isapi-anpr", `rear-${l}`),
    };
}
