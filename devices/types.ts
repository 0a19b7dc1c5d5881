/**
 * What a device model file exports: plain data plus pure functions. A model never opens a port or a
 * socket; the drivers in src/drivers do the I/O and the simulators in simulators/ use the encoders, so
 * both sides of the wire agree.
 *
 * Error rule for every `decode`: it never throws. Whatever bytes it is given, it answers a
 * DecodeResult; a frame that cannot be trusted is `invalid` with a reason and never yields values.
 */
import type {
    ImageRole,
    RadiationValues,
    ScanValues,
    SealValues,
    WeightValues,
    XrayValues,
} from "../src/core/events.ts";

export type DecodeResult<V> =
    /** A frame that carries a reading. */
    | { status: "reading"; values: V }
    /** A well-formed frame with nothing to read (an acknowledgement, a heartbeat, a busy answer). */
    | { status: "ignored"; reason: string }
    /** A frame that cannot be trusted: bad checksum, garbage, wrong length. Counted and logged. */
    | { status: "invalid"; reason: string };

/**
 * How a byte stream is cut into frames. Serial lines and TCP serial servers deliver chunks that do not
 * align with frames, so the driver re-frames with one of these rules.
 */
export type FramerSpec =
    /** Frames end with `delimiter` (e.g. CR LF); the delimiter is not part of the frame. */
    | { type: "delimiter"; delimiter: readonly number[]; maxLength: number }
    /**
     * Frames start with `start` and end with `end`, then `trailer` more bytes (a checksum after CR).
     * Bytes before a start byte are garbage. The frame passed to decode includes start, end and trailer.
     */
    | {
          type: "start-end";
          start: number;
          end: number;
          trailer: number;
          maxLength: number;
          /**
           * Applied to every byte before framing. 0x7f strips the parity bit of a 7E1 line read as 8N1,
           * where STX arrives as 0x82 and CR as 0x8D and no frame would ever be found.
           */
          byteMask?: number;
      };

export interface SerialDefaults {
    baudRate: number;
    dataBits: 7 | 8;
    parity: "none" | "even" | "odd";
    stopBits: 1 | 2;
}

/** A setting of the device that its manual lets the installer change and that changes how its output reads. */
export interface ModelOptionSpec {
    type: "boolean";
    /** The device's factory setting, which the model without options reads. */
    default: boolean;
    description: string;
}

/** A device's settings as its config gives them (`options:` of a device), checked against the model's specs. */
export type ModelOptions = Readonly<Record<string, boolean>>;

interface ModelBase {
    /** Unique model id used in the config, e.g. "toledo-continuous". */
    model: string;
    vendor: string;
    description: string;
    /** The settings a device config may give for this model; none when absent. */
    options?: Readonly<Record<string, ModelOptionSpec>>;
    /** The model as it reads a device with these settings (a configured model has no options of its own). */
    withOptions?(options: ModelOptions): DeviceModel;
}

export interface SerialModelBase<V> extends ModelBase {
    transport: "serial";
    serialDefaults: SerialDefaults;
    /** How the device's output is framed. */
    framer: FramerSpec;
    /** Pure decode of one frame as cut by `framer`. Never throws. */
    decode(frame: Uint8Array): DecodeResult<V>;
}

/** What a simulated weighbridge indicator currently shows. */
export interface ScaleState {
    kg: number;
    motion: boolean;
    overload: boolean;
    underload: boolean;
    tareKg?: number;
    /**
     * Where what rests on the deck lies against the indicator's zero-setting range (a few % of capacity
     * around its calibrated zero); a zero command outside it is refused. Absent: within.
     */
    zeroRange?: "within" | "above" | "below";
}

/** What a simulated indicator is, beyond what it shows: what its identification commands answer. */
export interface IndicatorInfo {
    serialNumber: string;
    /** Which line of its "about" list the next SMA `B` command answers (0 = the first after `A`). */
    aboutLine: number;
}

/**
 * What a host command does to the indicator besides answering (request mode): zero or tare the display,
 * reset it, repeat the answer until the next command, restart or advance the "about" list.
 */
export type ScaleCommandEffect = "zero" | "tare" | "reset" | "repeat" | "about-restart" | "about-next";

export interface ScaleModel extends SerialModelBase<WeightValues> {
    kind: "weight";
    withOptions?(options: ModelOptions): ScaleModel;
    /** `continuous`: the indicator streams frames unasked. `request`: it answers the host's commands. */
    mode: "continuous" | "request";
    /** Request mode: the command the driver sends to ask for the weight, and how often. */
    poll?: { command: readonly number[]; intervalMs: number };
    /** Request mode: how the indicator frames the host's commands. */
    commandFramer?: FramerSpec;
    /** The frame the indicator sends for this state. `corrupt` breaks its checksum (or its syntax if it has none). */
    encode(state: ScaleState, options?: { corrupt?: boolean }): Uint8Array;
    /** Request mode: the indicator's answer to one host command (framed by commandFramer), or undefined to stay silent. */
    respond?(command: Uint8Array, state: ScaleState, indicator?: IndicatorInfo): Uint8Array | undefined;
    /**
     * Request mode: what the command does to an indicator in this state besides the answer `respond` gives;
     * undefined when nothing. A command the indicator refuses (a zero outside the zero range) has no effect.
     */
    effect?(command: Uint8Array, state: ScaleState): ScaleCommandEffect | undefined;
}

export interface ScannerModel extends SerialModelBase<ScanValues> {
    kind: "scan";
    /** The bytes a scanner sends for one read. */
    encode(payload: string, options?: { suffix?: "CRLF" | "CR"; aimPrefix?: string }): Uint8Array;
}

/** The JSON an e-seal reader publishes (docs/devices.md "E-seals and e-locks"), one message per read or heartbeat. */
export type SealMessage =
    | {
          msg: "read";
          sealId: string;
          type: SealValues["type"];
          status: SealValues["status"];
          battery?: { pct?: number; low: boolean };
          alerts?: string[];
          readerId?: string;
          rssi?: number;
          /** The container the seal is fixed to, where the reader reports it (ISO 18185 readers do). */
          container?: string;
          ts: string;
      }
    | { msg: "heartbeat"; readerId: string; ts: string };

export interface MqttModelBase<V> extends ModelBase {
    transport: "mqtt";
    /** Payloads larger than this are refused before parsing. */
    maxPayloadBytes: number;
    /** Pure decode of one publish under the device's topic prefix. `subtopic` is the part after the prefix. */
    decode(subtopic: string, payload: Uint8Array): DecodeResult<V> & { observedAt?: number };
}

export interface SealReaderModel extends MqttModelBase<SealValues> {
    kind: "seal";
    /** Subtopic and payload a reader publishes for this message. */
    encode(message: SealMessage): { subtopic: string; payload: Uint8Array };
}

/**
 * Where a frame ends in a byte stream whose frames describe themselves (a length field, or a closing
 * byte), for protocols a FramerSpec cannot express: `frame` of `length` bytes at the start of the buffer,
 * `skip` `length` bytes of garbage, or `more` bytes are needed.
 */
export type FrameCut = { type: "frame"; length: number } | { type: "skip"; length: number } | { type: "more" };

/** What a GPS e-lock reports in one position frame (simulators encode it; gate-edge decodes it). */
export interface ElockReport {
    /** The lock's own id, e.g. 10 digits for Jointech. */
    lockId: string;
    at: Date;
    lat: number;
    lon: number;
    gpsValid: boolean;
    /** The shackle/steel rope is in the lock body. */
    ropeInserted: boolean;
    /** The motor holds the lock shut. */
    locked: boolean;
    /** 0-100, or "charging" (on USB, no level reported). */
    battery: number | "charging";
    /** Alarm codes as the model names them (e.g. ROPE_CUT); the model maps them to its status bits. */
    alarms: readonly string[];
    /** The device's message counter, echoed in acknowledgements. */
    index: number;
}

/**
 * A device that dials in to gate-edge over TCP and speaks its vendor's protocol (GPS e-locks): one
 * listener serves many devices, each named by the id inside its frames.
 */
export interface ElockModel extends ModelBase {
    kind: "seal";
    transport: "tcp-listen";
    /** Frames larger than this are garbage; a listener never buffers more per connection. */
    maxFrameBytes: number;
    /** Where the first frame in `buffer` ends. Never throws. */
    cut(buffer: Uint8Array): FrameCut;
    /** Pure decode of one frame as cut. Never throws. */
    decode(frame: Uint8Array): DecodeResult<SealValues> & { observedAt?: number };
    /** The answer the device waits for after this frame is stored, or undefined when it expects none. */
    acknowledge(frame: Uint8Array): Uint8Array | undefined;
    /** The binary position frame a lock sends for this report (simulators). */
    encode(report: ElockReport): Uint8Array;
}

export type DeviceModel =
    | ScaleModel
    | ScannerModel
    | SealReaderModel
    | ElockModel
    | OnvifCameraModel
    | HttpPushCameraModel
    | PlcModel;
export type DeviceModelKind = DeviceModel["kind"];

// ---------------------------------------------------------------------------------------------------
// Plate cameras (ANPR) and the lane PLC.

/** An image a camera delivered with a plate read (scene or plate crop). */
export interface PlateImage {
    /** e.g. "detectionPicture.jpg", "licensePlatePicture.jpg", "NormalPic". */
    name: string;
    /** What it shows, where the camera says; absent: the scene. */
    role?: ImageRole;
    contentType: string;
    bytes: Uint8Array;
}

/**
 * A plate read as the camera reported it, before gate-edge normalises it: the raw text exactly as sent
 * (leading zeros and all), the confidence scaled to 0–1, and any images.
 */
export interface PlateRead {
    text: string;
    /** Country or region code as the camera sent it, if any (e.g. "VN", "CN", "US"). */
    countryCode?: string;
    /** 0–1. ONVIF Likelihood as is; Hikvision confidenceLevel / 100; Dahua Confidence / 100. */
    confidence: number;
    /** The camera's own direction or lane position, when it says ("forward", "reverse"). */
    direction?: string;
    images: PlateImage[];
}

/** A camera read over ONVIF: PullPoint subscription to the licence-plate topic. */
export interface OnvifCameraModel extends ModelBase {
    kind: "plate";
    transport: "onvif";
    /** The event topic the driver subscribes to, e.g. "tns1:RuleEngine/Recognition/LicensePlate". */
    plateTopic: string;
    /**
     * Pure decode of one wsnt:NotificationMessage, given as its raw XML (never the onvif library's
     * converted object, which turns "003725" into 3725). Messages on other topics are `ignored`.
     */
    decode(notificationXml: string): DecodeResult<PlateRead> & { observedAt?: number };
}

/** One HTTP request a push camera made, as the receiver got it. */
export interface PushRequest {
    path: string;
    /** The Content-Type header, with its parameters (multipart boundary). */
    contentType: string;
    body: Uint8Array;
}

/** A camera that pushes its reads over HTTP (Hikvision ISAPI alarm, Dahua ITSAPI). */
export interface HttpPushCameraModel extends ModelBase {
    kind: "plate";
    transport: "http-push";
    /** Paths under the push receiver the camera posts to (fixed by the vendor, or as configured on it). */
    paths: readonly string[];
    /** Requests larger than this are refused with 413 before they are parsed. */
    maxBodyBytes: number;
    /** Pure decode of one request. Heartbeats and non-plate alarms are `ignored`. Never throws. */
    decode(request: PushRequest): DecodeResult<PlateRead> & { observedAt?: number };
    /**
     * The answer the camera expects: `stored` once the read is committed (or was ignored on purpose),
     * `refused` for a request that could not be trusted. Dahua resends until it gets {"Result":true}.
     */
    reply(outcome: "stored" | "refused", reason?: string): { status: number; contentType: string; body: string };
    /** The request a camera of this model sends for a read (simulators). */
    encode(read: PlateRead, options?: { at?: Date; deviceName?: string }): PushRequest;
}

/** The logical tags of a lane PLC (docs/devices.md "Lane PLC"); a PLC model maps each to an OPC UA node. */
export type PlcTag =
    | "Barrier.CmdOpen"
    | "Barrier.State"
    | "Barrier.LimitOpen"
    | "Barrier.LimitClosed"
    | "Barrier.Fault"
    | "Barrier.FaultCode"
    | "Loop.Entry.Occupied"
    | "Loop.Safety.Occupied"
    | "Loop.Exit.Occupied"
    | "Light.Entry"
    | "Light.Exit"
    | "EStop.Active"
    | "PLC.Heartbeat"
    | "PLC.Mode"
    | "Watchdog.Heartbeat";

export type PlcDataType = "Boolean" | "Int32" | "UInt32";

export interface PlcTagSpec {
    /** OPC UA node id, with `{lane}` standing for the PLC's lane prefix, e.g. "ns=1;s={lane}.Barrier.State". */
    nodeId: string;
    dataType: PlcDataType;
    /** read: gate-edge monitors it; write: gate-edge writes it (commands, lights, its own heartbeat). */
    access: "read" | "write";
}

/** What the PLC reports, normalised; each monitored tag change becomes one of these. */
export type PlcSignal =
    | { tag: "Barrier.State"; state: "closed" | "opening" | "open" | "closing" | "stopped" | "fault" | "unknown" }
    | { tag: "Loop.Entry.Occupied" | "Loop.Safety.Occupied" | "Loop.Exit.Occupied"; occupied: boolean }
    | { tag: "Barrier.LimitOpen" | "Barrier.LimitClosed" | "Barrier.Fault" | "EStop.Active"; active: boolean }
    | { tag: "Barrier.FaultCode" | "PLC.Heartbeat"; value: number }
    | { tag: "PLC.Mode"; mode: "auto" | "manual" | "maintenance" | "unknown" };

export interface PlcModel extends ModelBase {
    kind: "plc";
    transport: "opcua";
    tags: Readonly<Record<PlcTag, PlcTagSpec>>;
    /** Light.Entry / Light.Exit values: off, red, green, yellow, flashing. */
    lightCodes: Readonly<Record<"off" | "red" | "green" | "yellow" | "flashing", number>>;
    /** Pure check and decode of one monitored value. A value of the wrong type is `invalid`. Never throws. */
    decode(tag: PlcTag, value: unknown): DecodeResult<PlcSignal>;
}

// ---------------------------------------------------------------------------------------------------
// Inspection-area devices: radiation portal monitors and X-ray / NII scanners. They hand over whole
// documents (an N42.42 file per occupancy, a package per scanned vehicle) by dropping them into a folder
// gate-edge watches (src/drivers/folderWatch.ts; docs/devices.md "Inspection area").

/** One input found in a watched folder: a single file, or a package folder with its files. */
export interface FolderEntry {
    /** The file's name (a single-file model), or the package folder's name. */
    name: string;
    /** Every file of the entry by name: a single-file model's one file under `name`, a package's files. */
    files: ReadonlyMap<string, Uint8Array>;
}

/** How a model's inputs lie in the folder. */
export type FolderLayout =
    /** Each file whose name ends in `suffix` is one input (written under another name, then renamed). */
    | { type: "file"; suffix: string }
    /** Each sub-folder holding `manifest` is one input; the manifest lists the package's other files. */
    | { type: "package"; manifest: string };

interface FolderModelBase<V> extends ModelBase {
    transport: "folder";
    layout: FolderLayout;
    /** An entry whose files together are larger than this is refused unread. */
    maxEntryBytes: number;
    /**
     * A device that reports continuously (an RPM's background reports): silent this long, it is offline
     * (`inspection.devices[].silentAfterMs` overrides). Absent: silence is normal (a scanner between scans).
     */
    silentAfterMs?: number;
    /** Pure decode of one entry. Never throws. */
    decode(entry: FolderEntry): DecodeResult<V> & { observedAt?: number };
}

/** A fault an RPM reports (N42 Fault): the code as sent, its severity, and on which detector if one. */
export interface RpmFault {
    code: string;
    severity: "fatal" | "error" | "warning";
    description: string;
    detector?: string;
}

/** What one N42.42 document from a portal monitor says: an occupancy, or the RPM's state between them. */
export type RpmDocument =
    | { type: "occupancy"; values: RadiationValues }
    | {
          type: "background";
          /** Background counts per second by detector. */
          backgroundCps: Readonly<Record<string, number>>;
          faults: RpmFault[];
      };

/** What a simulated RPM reports (simulators/rpm.ts); the model writes it as N42.42. */
export interface RpmReport {
    uuid: string;
    instrument: { manufacturer: string; model: string; serial: string };
    detectors: readonly { id: string; category: "gamma" | "neutron" }[];
    /** Start of the first time slice (of the background measurement for a background report). */
    start: Date;
    sliceMs: number;
    /** Background cps per detector, in `detectors` order; written as one Background measurement. */
    backgroundCps: readonly number[];
    /** Occupancy time slices; empty for a background report. Counts per detector, in `detectors` order. */
    slices: readonly { counts: readonly number[]; occupied: boolean }[];
    speedKmh?: number;
    alarms: readonly { category: "Gamma" | "Neutron"; detectors: readonly string[]; description?: string }[];
    nuclides: readonly { name: string; identified: boolean; category?: string }[];
    faults: readonly RpmFault[];
}

export interface RadiationPortalModel extends FolderModelBase<RpmDocument> {
    kind: "radiation";
    /** The N42.42 document for this report, as the file the RPM drops. */
    encode(report: RpmReport): FolderEntry;
}

/** An image of a scan package, with its bytes (the gate stores it and keeps the reference). */
export interface ScanImage {
    name: string;
    view: string;
    contentType: string;
    bytes: Uint8Array;
}

/** A decoded scan package: XrayValues with the images' bytes instead of their stored references. */
export type ScanPackage = Omit<XrayValues, "images"> & { images: ScanImage[]; scannedAt?: string };

export interface ScanPackageModel extends FolderModelBase<ScanPackage> {
    kind: "xray";
    /** The package folder a scanner exports for this scan (simulators/xray.ts). */
    encode(scan: ScanPackage & { scannedAt: string; scanner: string }): FolderEntry;
}

/** Devices of the inspection area; kept out of DeviceModel while the lane runtime knows only lane devices. */
export type InspectionDeviceModel = RadiationPortalModel | ScanPackageModel;
