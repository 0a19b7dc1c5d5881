/**
 * A gate's lane devices played by the simulators: the shared OPC UA lane PLC, and per lane a serial-over-TCP
 * scale and scanner, an e-seal reader on the gate's broker and the two HTTP-push plate cameras, named as the
 * lanes' YAML from laneDevices names them (scale-l1, seal-l1, front-l1, …), started by startSimulatorsFor.
 */
import { join } from "node:path";
import type { SealReaderSimulator } from "../../simulators/eseal.ts";
import { type ConfigSimulators, freePort, startSimulatorsFor } from "../../simulators/forConfig.ts";
import { LanePlcSimulator, type LanePlcSimulatorOptions } from "../../simulators/lane-plc.ts";
import type { PushCameraSimulator, PushCameraSimulatorOptions } from "../../simulators/push-camera.ts";
import type { ScaleSimulator } from "../../simulators/scale.ts";
import type { ScannerSimulator } from "../../simulators/scanner.ts";
import type { TcpSerialServer } from "../../simulators/transport.ts";
import type { GateConfig } from "../../src/config/types.ts";
import { readingOfEvent } from "../../src/core/events.ts";
import type { Gate } from "../../src/gate.ts";
import { eventually } from "./gate.ts";

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

/**
 * Sets a presence loop of `laneId` on the simulated PLC and waits until `gate` has stored the change. The PLC
 * driver samples its monitored items (100 ms): a loop occupied and cleared again inside one sample is never
 * reported, as with a real PLC, and a test truck that "arrives" and "reverses" within it would leave the lane
 * waiting for an edge it never saw. A real truck stays on a loop for seconds; the test waits for the edge.
 */
export async function setLoopSeen(
    gate: Gate,
    plc: LanePlcSimulator,
    laneId: string,
    loop: "entry" | "safety" | "exit",
    occupied: boolean,
): Promise<void> {
    const lastSeq = gate.log.headSeq;
    plc.setLoop(laneId, loop, occupied);
    await eventually(
        () =>
            gate.log
                .read(lastSeq, 10_000)
                .filter((event) => event.laneId === laneId)
                .map((event) => readingOfEvent(event, laneId))
                .some(
                    (reading) =>
                        reading?.kind === "presence" &&
                        reading.values.loop === loop &&
                        reading.values.occupied === occupied,
                ) || undefined,
        10_000,
        `the gate to see the ${loop} loop of ${laneId} ${occupied ? "occupied" : "clear"}`,
    );
}

/**
 * The lanes' YAML: per lane a serial scale and scanner on free loopback ports, an e-seal reader, a Dahua
 * front and a Hikvision rear camera, and the lane on `plcEndpoint`. `header` adds lines below a lane's id (a
 * name, a direction). Every device that logs in has the password `<device id>-password`.
 */
export async function laneDevices(
    lanes: readonly string[],
    plcEndpoint: string,
    header: (lane: string, index: number) => string = () => "",
): Promise<{ yaml: string }> {
    let yaml = "";
    for (const [index, lane] of lanes.entries()) {
        const l = lane.toLowerCase();
        yaml += `  - id: ${lane}
${header(lane, index)}    devices:
      - { id: scale-${l}, model: toledo-continuous, address: "tcp://127.0.0.1:${await freePort()}" }
      - { id: scanner-${l}, model: serial-barcode-scanner, address: "tcp://127.0.0.1:${await freePort()}" }
      - { id: seal-${l}, model: eseal-mqtt-json, auth: { username: seal-${l}, password: seal-${l}-password } }
      - { id: front-${l}, model: dahua-itsapi-anpr, role: front, auth: { username: front-${l}, password: front-${l}-password } }
      - { id: rear-${l}, model: hikvision-isapi-anpr, role: rear, auth: { username: rear-${l}, password: rear-${l}-password } }
      - { id: plc-${l}, model: lane-plc-opcua, address: "${plcEndpoint}", plc: { lanePrefix: ${lane} } }
`;
    }
    return { yaml };
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
 * Starts the simulators behind the lanes laneDevices described (all but the PLC, which the test runs itself
 * with startLanePlc): call before the gate starts, so it finds its serial devices at the first try, and
 * `connect` them once it listens. Their stop is added to `stops` at once, so a failure half way leaves
 * nothing running.
 */
export async function startLaneDeviceSide(
    config: GateConfig,
    dir: string,
    stops: (() => Promise<void>)[],
    options: { scaleRateHz: number; cameraResend?: PushCameraSimulatorOptions["resend"] },
): Promise<ConfigSimulators> {
    const devices = config.lanes.flatMap((lane) => lane.devices);
    const simulators = await startSimulatorsFor(config, {
        workDir: dir,
        include: (device) => device.address.transport !== "opcua",
        passwords: new Map(devices.map((device) => [device.id, `${device.id}-password`])),
        chunking: "whole",
        scaleRateHz: options.scaleRateHz,
        scanner: { suffix: "CRLF" },
        sealReaderId: (device) => device.id.replace(/^seal-/, "reader-"),
        ...(options.cameraResend && { push: { resend: options.cameraResend } }),
    });
    stops.push(() => simulators.stop());
    return simulators;
}

/** The simulators of `lane` (a lane laneDevices described), once they are connected to the gate. */
export function laneSimulators(simulators: ConfigSimulators, lane: string): LaneSimulators {
    const l = lane.toLowerCase();
    const scale = simulators.device(`scale-${l}`);
    const missing = (what: string): never => {
        throw new Error(`lane ${lane} has no ${what}: not started, or not connected yet`);
    };
    return {
        scaleLink: scale.link ?? missing("scale link"),
        scale: scale.scale ?? missing("scale"),
        scanner: simulators.device(`scanner-${l}`).scanner ?? missing("scanner"),
        seal: simulators.device(`seal-${l}`).seal ?? missing("e-seal reader"),
        front: simulators.device(`front-${l}`).push ?? missing("front camera"),
        rear: simulators.device(`rear-${l}`).push ?? missing("rear camera"),
    };
}
