/**
 * The one contract every transport keeps (EdgeX's ProtocolDriver and MQTT.js's `protocols` map are the
 * models): created from a device's configuration and what the gate injects, started and stopped (stop is
 * idempotent), saying what it can do, describing itself for doctor and /health, and handing everything
 * the device sends to the device runtime through one `input(raw)`.
 *
 * Adding a transport is one file exporting a `TransportModule` and one line in `registry.ts`.
 */
import type { Logger } from "pino";
import type { DeviceModel, FolderEntry, InspectionDeviceModel, PushRequest } from "../../devices/types.ts";
import type { DeviceAddress, DeviceConfig, GateConfig } from "../config/types.ts";
import { GateError } from "../core/errors.ts";
import type { DeviceStatus } from "../core/events.ts";

/** A JPEG (or other image) a camera gave. */
export interface Snapshot {
    contentType: string;
    bytes: Buffer;
}

/** Everything a device sends, as its transport received it: the one input of the device runtime. */
export type RawInput =
    /** One complete frame, as cut by the model's framer (serial line, TCP serial server, dialled-in device). */
    | { kind: "frame"; bytes: Buffer }
    /** Bytes the framer threw away (noise, a half frame at reconnect): counted and logged, never a reading. */
    | { kind: "discarded"; bytes: Buffer; why: string }
    /** An MQTT publish under the device's topic prefix; `subtopic` is what follows the prefix. */
    | { kind: "publish"; subtopic: string; payload: Buffer }
    /** One ONVIF wsnt:NotificationMessage on the plate topic (raw XML), with the snapshot fetched for it. */
    | { kind: "notification"; xml: string; snapshot?: Snapshot }
    /** One HTTP request a push camera posted. */
    | { kind: "push"; request: PushRequest }
    /** A monitored PLC tag changed (raw OPC UA value). */
    | { kind: "tag"; tag: string; value: unknown; sourceTimestamp?: Date }
    /** A settled entry of a watched folder (a file or a package of files), with every file's contents. */
    | { kind: "entry"; entry: FolderEntry };

/**
 * What a lane model's transport hands its device runtime: the runtime decodes each input with the model
 * that reads it, and refuses input of another kind (a transport bound to the wrong runtime).
 */
export const INPUT_OF_TRANSPORT = {
    serial: "frame",
    "tcp-listen": "frame",
    mqtt: "publish",
    onvif: "notification",
    "http-push": "push",
    opcua: "tag",
} as const satisfies { readonly [transport in DeviceModel["transport"]]: RawInput["kind"] };

type InputTransports = typeof INPUT_OF_TRANSPORT;

/** A lane model whose transport delivers input of this kind. */
export type ModelReading<K extends RawInput["kind"]> = Extract<
    DeviceModel,
    { transport: { [T in keyof InputTransports]: InputTransports[T] extends K ? T : never }[keyof InputTransports] }
>;

/** The model, if its transport delivers input of this kind; undefined otherwise. */
export function modelReading<K extends RawInput["kind"]>(model: DeviceModel, kind: K): ModelReading<K> | undefined {
    // INPUT_OF_TRANSPORT says the model's transport delivers `kind`: ModelReading<K> is that very subset.
    return INPUT_OF_TRANSPORT[model.transport] === kind ? (model as ModelReading<K>) : undefined;
}

/**
 * What the runtime made of an input. It resolves once anything the input produced is durable in the event
 * log, so a transport that can acknowledge its peer (PUBACK, an HTTP answer) does so only then; "refused"
 * (bad data, with the reason) is an answer, not an error. It rejects only when the store failed, and then
 * nothing must be acknowledged.
 */
export interface InputOutcome {
    outcome: "stored" | "refused";
    reason?: string;
}

/** What a transport is given by the device runtime that owns it. */
export interface TransportContext {
    /** pino child bound to the device. */
    readonly log: Logger;
    input(raw: RawInput): Promise<InputOutcome>;
    /**
     * Session transports own their device's status (a camera is online only while subscribed). `reason` is
     * the English text for logs and old readers; `because` is the same reason as a code with parameters,
     * stored beside it so the dashboard words it in the reader's language.
     */
    setStatus(status: DeviceStatus, reason: string, because?: StatusReason): void;
}

/**
 * Why a device has its status, as the officer catalogue's `deviceReason.<code>` renders it. Codes are stable:
 * add new ones, never rename one that shipped. `detail` parameters carry a device's or library's own words.
 */
export type StatusReasonCode =
    | "CONNECTING"
    | "CONNECTED"
    | "CONNECTION_CLOSED"
    | "CONNECTION_FAILED"
    | "SILENT"
    | "LISTENING"
    | "LISTEN_FAILED"
    | "PUSH_RECEIVER"
    | "FRAMES_ARRIVING"
    | "RELOAD_REMOVED"
    | "MQTT_SESSION_UP"
    | "MQTT_SESSION_CLOSED"
    | "EXTERNAL_BROKER"
    | "FOLDER_WATCHING"
    | "FOLDER_UNREADABLE"
    /** A device reports a fault of its own (an RPM's detector failure, tamper): `detail` in its words. */
    | "DEVICE_FAULT"
    /** A device reports a warning of its own (an RPM's high background) and keeps working. */
    | "DEVICE_WARNING"
    | "PLC_UNREACHABLE"
    | "CONNECTION_LOST"
    | "RETRYING"
    | "RESUBSCRIBING"
    | "WATCHDOG_REFUSED"
    | "SESSION_READY"
    | "SUBSCRIBED"
    | "CAMERA_CREDENTIALS"
    | "CAMERA_UNREACHABLE"
    | "CAMERA_ANSWER"
    | "STOPPED";

export interface StatusReason {
    code: StatusReasonCode;
    params?: Record<string, string | number>;
}

/** What gate-edge may ask a lane PLC to do. There is no close: the PLC closes behind the truck. */
export type ActuatorCommand =
    | { type: "openBarrier" }
    | { type: "setLight"; which: "entry" | "exit"; color: "off" | "red" | "green" | "yellow" | "flashing" };

export interface ActuatorOutcome {
    confirmed: boolean;
    detail: string;
}

export interface TransportCapabilities {
    /** Delivers reads by itself (every transport today). */
    read: boolean;
    /** Can be asked for a read now (`poll()`: a polled scale's poll command). */
    poll: boolean;
    /** Can take a picture on demand (`snapshot()`). */
    snapshot: boolean;
    /** Carries out commands (`actuate()`: a lane PLC). */
    actuate: boolean;
    /** May be added, removed or changed by a configuration reload while the gate runs. */
    hotSwappable: boolean;
}

/** How a transport describes itself to doctor and /health. */
export interface TransportDescription {
    /** Where the device is, e.g. `tcp://10.0.0.5:4001`. */
    address: string;
    /** Whether the link to the device is up now (undefined: the transport has no link of its own). */
    connected?: boolean;
    /** The port a listening transport is bound to (the system's choice for port 0). */
    listeningPort?: number;
}

export interface Transport {
    readonly capabilities: TransportCapabilities;
    /** Resolves once the first connection attempt is under way; never rejects for an absent device (it is retried). */
    start(): Promise<void>;
    /** Idempotent: cancels retries and closes the link; what the transport holds is handed in first. */
    stop(): Promise<void>;
    describe(): TransportDescription;
    /** Sends the model's poll command now; rejects with DRIVER_DISCONNECTED while not connected. */
    poll?(): Promise<void>;
    snapshot?(): Promise<Snapshot>;
    actuate?(command: ActuatorCommand): Promise<ActuatorOutcome>;
}

/** A binding of one MQTT device to the gate's broker side (embedded broker or the link to another one). */
export interface MqttBinding {
    device: DeviceConfig;
    topic: string;
    ctx: TransportContext;
}

/** A binding of one push camera to the gate's one push receiver. */
export interface PushBinding {
    device: DeviceConfig;
    model: Extract<DeviceModel, { transport: "http-push" }>;
    ctx: TransportContext;
}

/**
 * Listeners many devices share, owned by the gate: a transport of such a device binds to them rather than
 * owning a socket of its own.
 */
export interface TransportHubs {
    mqtt: {
        attach(binding: MqttBinding): void;
        detach(deviceId: string): Promise<void>;
    };
    push: {
        attach(binding: PushBinding): void;
        detach(deviceId: string): void;
    };
}

/** What the gate injects when it creates a device's transport. */
export interface TransportSetup {
    device: DeviceConfig;
    /** A lane device's model, or an inspection device's (read from a folder). */
    model: DeviceModel | InspectionDeviceModel;
    /** The configuration in force (ingest settings, the PKI folder, the broker mode). */
    config: GateConfig;
    hubs: TransportHubs;
}

/** What doctor checks of a device while no gate runs. */
export type DoctorTarget =
    /** A port on this machine: it must exist (and have a stable name). */
    | { kind: "local-port"; path: string }
    /** A peer gate-edge connects to: it must accept a TCP connection. */
    | { kind: "network"; host: string; port: number; url: string }
    /** The device connects to the gate itself: its status shows only while the gate runs. */
    | { kind: "dials-in" }
    /** The gate listens for the device (checked with the gate's own listeners). */
    | { kind: "listener" }
    /** A folder the device writes into (a local folder or a mounted share): it must be readable. */
    | { kind: "local-folder"; path: string };

/** A transport's name: what a device's address says (`serial://`, `tcp://`, `onvif://`, …). */
export type TransportName = DeviceAddress["transport"];

/** What a transport's file exports (as `transport`): the registry loads it on demand. */
export interface TransportModule {
    /**
     * Frames are the device's proof of life (serial lines, MQTT devices talk only when they have
     * something): the runtime sets the device online when one arrives. Session transports (cameras, PLCs,
     * listeners) own the status themselves, since a frame says nothing about the session.
     */
    readonly framesProveLife: boolean;
    /** The device's address as people read it (health, logs, doctor), e.g. `tcp://10.0.0.5:4001`. */
    describeAddress(device: DeviceConfig): string;
    /** What doctor can check of the device before the gate runs. */
    doctorTarget(device: DeviceConfig): DoctorTarget;
    create(setup: TransportSetup, ctx: TransportContext): Transport;
    /** Why a device on this transport cannot be added, removed or changed while the gate runs, if it cannot. */
    hotSwapBlocker?(config: GateConfig): string | undefined;
}

/** The address of a device of one of these transports, or DRIVER_UNSUPPORTED (a device given to the wrong transport). */
export function addressOf<T extends TransportName>(
    device: DeviceConfig,
    ...transports: readonly T[]
): Extract<DeviceAddress, { transport: T }> {
    const address = device.address;
    if (!(transports as readonly string[]).includes(address.transport)) {
        throw new GateError(
            "DRIVER_UNSUPPORTED",
            `${device.id}: ${address.transport} is not ${transports.join(" or ")}`,
        );
    }
    // Checked on the line above: the address's transport is one of T.
    return address as Extract<DeviceAddress, { transport: T }>;
}

/** The model of a device of this transport, or DRIVER_UNSUPPORTED. */
export function modelOf<T extends (DeviceModel | InspectionDeviceModel)["transport"]>(
    device: DeviceConfig,
    model: DeviceModel | InspectionDeviceModel,
    transport: T,
): Extract<DeviceModel | InspectionDeviceModel, { transport: T }> {
    if (model.transport !== transport) {
        throw new GateError("DRIVER_UNSUPPORTED", `${device.id}: model ${model.model} is not read over ${transport}`);
    }
    // Checked on the line above.
    return model as Extract<DeviceModel | InspectionDeviceModel, { transport: T }>;
}

/** The capabilities of a transport that only reads. */
export const READ_ONLY: TransportCapabilities = Object.freeze({
    read: true,
    poll: false,
    snapshot: false,
    actuate: false,
    hotSwappable: true,
});
