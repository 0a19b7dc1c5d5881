/**
 * The contracts every part of gate-edge speaks: normalised readings from devices and the immutable
 * GateEvent that is stored, hash-chained and synced to central. See docs/design.md "Core contracts".
 */

export type Country = "VN" | "CN" | "LA" | "KH" | "UNKNOWN";

export interface WeightValues {
    /** Displayed weight in kilograms (gross unless `net`). Negative below zero. */
    kg: number;
    /** The indicator says the weight is stable (no motion). The settle window is applied on top. */
    stable: boolean;
    motion: boolean;
    overload: boolean;
    underload: boolean;
    /** At centre of zero. */
    zero: boolean;
    net: boolean;
    tareKg?: number;
}

export type ParsedScan =
    | { type: "declaration"; number: string; base: string; typeCode: string; amendment: number }
    | { type: "container"; number: string; checkDigitOk: boolean }
    | { type: "other" };

export interface ScanValues {
    /** AIM symbology identifier such as "]Q1", or "unknown" when the scanner sent no prefix. */
    symbology: string;
    payload: string;
    parsed: ParsedScan;
}

export type SealStatus = "SEALED" | "OPENED" | "TAMPERED" | "UNKNOWN";

export interface SealValues {
    sealId: string;
    type: "ISO18185" | "GPS" | "OTHER";
    status: SealStatus;
    battery?: { pct?: number; low: boolean };
    alerts: string[];
    readerId?: string;
    rssi?: number;
    /** The container the seal reports it is fixed to (ISO 18185 readers report it), normalised ISO 6346. */
    containerNumber?: string;
    /** Where a GPS seal was at the read, decimal degrees (WGS 84), when it had a valid fix. */
    position?: { lat: number; lon: number };
}

export interface PlateValues {
    /** Exactly as the camera sent it. */
    text: string;
    /** Upper case, separators removed: the form plates are compared in. */
    normalized: string;
    country: Country;
    /** The text fits a VN or CN plate pattern. */
    valid: boolean;
    /** A trailer / semi-trailer plate (VN R series, CN 挂). */
    trailer: boolean;
    /** Plates that differ only by O/0, 8/B, D/0, I/1 share this key: a likely misread of each other. */
    misreadKey: string;
    /** 0–1. */
    confidence: number;
    position: "front" | "rear";
    /** Content-addressed images, `sha256:<hex>`; the scene picture first. */
    imageRefs: string[];
    /** The same images with what each shows; absent in reads stored before roles were kept. */
    images?: PlateImageRef[];
}

/** What a camera's image shows: the scene (the vehicle in its lane) or the camera's crop of the plate. */
export type ImageRole = "scene" | "plate";

/** A stored image linked to a plate reading, with its role. */
export interface PlateImageRef {
    ref: string;
    role: ImageRole;
}

export interface ContainerValues {
    number: string;
    checkDigitOk: boolean;
}

export interface PresenceValues {
    loop: "entry" | "safety" | "exit";
    occupied: boolean;
}

export interface BarrierValues {
    state: "closed" | "opening" | "open" | "closing" | "stopped" | "fault" | "unknown";
}

export type DeviceStatus = "online" | "degraded" | "offline";

export interface DeviceStatusValues {
    status: DeviceStatus;
    reason?: string;
}

/** One detector's counts over an RPM occupancy (devices/n42-rpm.ts): gross counts, all energy windows summed. */
export interface RadiationDetectorCounts {
    /** The RPM's detector id, by DNDO convention pillar, row, number: Aa1, Ba2, Aa1N. */
    detector: string;
    category: "gamma" | "neutron";
    /** Counts per second in the background measurement the document carries; absent when it has none. */
    backgroundCps?: number;
    /** Highest counts per second of any occupied time slice. */
    peakCps: number;
    /** Counts of each time slice in document order (pre-, during and post-occupancy), at most 600. */
    slices: number[];
}

/** An RPM's report of one occupancy (a vehicle between its pillars), as ANSI N42.42 gives it. */
export interface RadiationValues {
    /** The document's n42DocUUID, else the first measurement's id: what makes a resent report a duplicate. */
    occupancyId: string;
    /** The RPM's analysis raised an alarm. */
    alarm: boolean;
    /** clear; nuisance: an alarm whose every identified nuclide is in the NORM category; alarm otherwise. */
    assessment: "clear" | "nuisance" | "alarm";
    /** Which kinds of radiation alarmed: gamma, neutron (others as the document names them, lower case). */
    alarmCategories: string[];
    /** Nuclides or categories the RPM named, identified or not. */
    nuclides: { name: string; identified: boolean; category?: string }[];
    /** Seconds the vehicle was between the pillars (occupied slices). */
    occupiedSeconds: number;
    /** Vehicle speed in km/h where the RPM measured it. */
    speedKmh?: number;
    detectors: RadiationDetectorCounts[];
    /** Faults the RPM reported with the occupancy (code, severity). */
    faults: { code: string; severity: "fatal" | "error" | "warning"; description: string }[];
    instrument: { manufacturer: string; model: string; serial?: string };
}

/** An image of an X-ray / NII scan, stored once by its SHA-256 like a camera's. */
export interface XrayImageRef {
    ref: string;
    /** The view as the scanner names it: top, side, dual-energy, photo … */
    view: string;
}

/** A region the image analyst marked on a scan image: a box in fractions of the image's width and height. */
export interface XrayRegion {
    /** Index into `images`. */
    image: number;
    x: number;
    y: number;
    width: number;
    height: number;
    label: string;
}

/** A scanned vehicle's package (devices/nii-scan-package.ts): images and the analyst's result. */
export interface XrayValues {
    scanId: string;
    result: "clear" | "suspicious" | "not-analysed";
    /** Plates and container numbers the scanner recorded (normalised: upper case, no separators). */
    plates: string[];
    containers: string[];
    images: XrayImageRef[];
    regions: XrayRegion[];
    analyst?: string;
    /** ISO 8601 of the analyst's result. */
    analysedAt?: string;
    remarks?: string;
}

export interface ReadingValuesByKind {
    weight: WeightValues;
    scan: ScanValues;
    seal: SealValues;
    plate: PlateValues;
    container: ContainerValues;
    presence: PresenceValues;
    barrier: BarrierValues;
    device: DeviceStatusValues;
    radiation: RadiationValues;
    xray: XrayValues;
}

export type ReadingKind = keyof ReadingValuesByKind;

/** What a device saw, normalised. Nothing protocol-specific crosses this boundary. */
export type Reading = {
    [K in ReadingKind]: {
        deviceId: string;
        laneId: string;
        kind: K;
        /** ms since epoch: the device's clock where trustworthy, else gate-edge's at receipt. */
        observedAt: number;
        values: ReadingValuesByKind[K];
        /** Raw frame as hex, kept for evidence on readings that are stored. */
        raw?: string;
    };
}[ReadingKind];

export type GateEventType =
    | `reading.${ReadingKind}`
    | "passage.opened"
    | "passage.updated"
    | "passage.decided"
    | "passage.completed"
    /**
     * Something learnt of a passage after its decision that the next point must act on: an officer's hold
     * or divert that came too late to stop the truck at the lane, or an offline decision re-checked on
     * fresh clearance data (src/lane/followUp.ts).
     */
    | "passage.followup"
    | "actuator.command"
    | "actuator.result"
    | "officer.action"
    | "device.status"
    /** Input a device's transport acknowledged but its model could not decode (src/ingest/rejectedInput.ts). */
    | "input.rejected"
    | "alert.raised"
    | "alert.cleared"
    | "config.applied"
    | "gate.started"
    /** A pruning checkpoint: what leaves the log, under which acknowledgement (src/store/retention.ts). */
    | "store.checkpoint"
    /** The steps of an inspection case (src/inspection/caseModel.ts), and a truck at an exit point. */
    | "inspection.opened"
    | "inspection.assigned"
    | "inspection.result"
    | "inspection.finding"
    /** A photo an inspector uploaded for the case (its image ref), before a finding names it. */
    | "inspection.photo"
    | "inspection.sealed"
    | "inspection.release-requested"
    | "inspection.closed"
    | "inspection.exit"
    /**
     * A truck's visit (src/yard/visitModel.ts): arrived at the yard entry, called forward to a lane (and a
     * no-show), moved in the queue by an officer, each later stage (lane, decision, inspection, release,
     * exit), cancelled; a dwell limit reached.
     */
    | "visit.arrived"
    | "visit.called"
    | "visit.no-show"
    | "visit.reordered"
    | "visit.stage"
    | "visit.dwell"
    | "visit.cancelled";

/** JSON value as stored in an event's data. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue | undefined };

/** An event before the store gives it an id, a seq and its place in the hash chain. */
/** How soon an appended event is committed. */
export interface AppendOptions {
    /**
     * Commit before the event loop turns again, instead of with the next group commit: for the lane
     * engine's few events a truck waits on (its decision must be durable before the barrier moves), so a
     * flood of device input read in the next turn cannot delay them. Bulk input never sets it.
     */
    urgent?: boolean;
}

export interface GateEventDraft {
    type: GateEventType;
    laneId?: string;
    deviceId?: string;
    /** ms since epoch; defaults to the clock at append. */
    occurredAt?: number;
    data: { [key: string]: JsonValue | undefined };
}

/** The immutable unit that is stored and synced. */
export interface GateEvent {
    id: string;
    gateId: string;
    seq: number;
    laneId?: string;
    type: GateEventType;
    /** ISO 8601 UTC. */
    occurredAt: string;
    /** ISO 8601 UTC, gate-edge's clock at commit. */
    recordedAt: string;
    deviceId?: string;
    data: { [key: string]: JsonValue | undefined };
    prevHash: string;
    hash: string;
}

/** An event's data as JSON: what an event type with no declared shape carries. */
export type JsonObject = { [key: string]: JsonValue | undefined };

/** The data of a stored `reading.<kind>` event, as the device runtime appends it. */
export interface ReadingEventData<K extends ReadingKind = ReadingKind> {
    values: ReadingValuesByKind[K];
    /** The raw frame as hex, where the reading keeps its evidence. */
    raw?: string;
    /** The model that decoded it. */
    model: string;
}

/** The data of a stored `device.status` event. */
export interface DeviceStatusEventData {
    status: DeviceStatus;
    /** English text, as before reasons had codes; kept for logs and old rows. */
    reason?: string;
    /** The reason as a code with parameters (src/drivers/transport.ts StatusReason): rendered per language. */
    reasonCode?: string;
    reasonParams?: Record<string, string | number>;
    model: string;
}

type ReadingEventType = `reading.${ReadingKind}`;

/**
 * Event data declared by the part that appends it, beside its own types (declaration merging: see
 * src/lane/types.ts for `passage.decided`), so this file need not import every producer's types.
 */
// biome-ignore lint/suspicious/noEmptyInterface: each producer adds its event types by declaration merging.
export interface DeclaredEventData {}

/**
 * The data each type of stored event carries: readings per kind, device statuses and what producers
 * declare in DeclaredEventData; the other types' data is free-form JSON until its producer declares it.
 * Types only: the stored JSON is the same, so the hash chain and the upload to central do not change.
 */
export type EventDataByType = { [K in ReadingKind as `reading.${K}`]: ReadingEventData<K> } & {
    "device.status": DeviceStatusEventData;
} & {
    [T in Exclude<GateEventType, ReadingEventType | "device.status">]: T extends keyof DeclaredEventData
        ? DeclaredEventData[T]
        : JsonObject;
};

/**
 * A draft whose data has its type's declared shape: what the producers of declared events append (a
 * reading's values as the reducer made them, a device status), no cast to JSON needed.
 */
export type TypedEventDraft =
    | (Omit<GateEventDraft, "type" | "data"> & { type: ReadingEventType; data: ReadingEventData })
    | {
          [T in Exclude<GateEventType, ReadingEventType>]: Omit<GateEventDraft, "type" | "data"> & {
              type: T;
              data: EventDataByType[T];
          };
      }[Exclude<GateEventType, ReadingEventType>];

/** A stored event of type T (one of them, for a union), its data in that type's shape. */
export type StoredEvent<T extends GateEventType = GateEventType> = {
    [U in T]: GateEvent & { type: U; data: EventDataByType[U] };
}[T];

/**
 * Whether `event` is of `type`; its data then has that type's shape. The one place stored JSON is taken
 * for its type: each event is appended from a draft of its type and its JSON round-trips unchanged.
 */
export function isEventOf<T extends GateEventType>(event: GateEvent, type: T): event is StoredEvent<T> {
    return event.type === type;
}

type ReadingBase = Pick<Reading, "deviceId" | "laneId" | "observedAt">;

/** Per kind, the reading its stored event holds: a key for every kind, so a new kind cannot be missed. */
const READING_OF_EVENT: { [K in ReadingKind]: (event: GateEvent, base: ReadingBase) => Reading | undefined } = {
    weight: (e, base) =>
        isEventOf(e, "reading.weight") ? { ...base, kind: "weight", values: e.data.values } : undefined,
    scan: (e, base) => (isEventOf(e, "reading.scan") ? { ...base, kind: "scan", values: e.data.values } : undefined),
    seal: (e, base) => (isEventOf(e, "reading.seal") ? { ...base, kind: "seal", values: e.data.values } : undefined),
    plate: (e, base) => (isEventOf(e, "reading.plate") ? { ...base, kind: "plate", values: e.data.values } : undefined),
    container: (e, base) =>
        isEventOf(e, "reading.container") ? { ...base, kind: "container", values: e.data.values } : undefined,
    presence: (e, base) =>
        isEventOf(e, "reading.presence") ? { ...base, kind: "presence", values: e.data.values } : undefined,
    barrier: (e, base) =>
        isEventOf(e, "reading.barrier") ? { ...base, kind: "barrier", values: e.data.values } : undefined,
    device: (e, base) =>
        isEventOf(e, "reading.device") ? { ...base, kind: "device", values: e.data.values } : undefined,
    radiation: (e, base) =>
        isEventOf(e, "reading.radiation") ? { ...base, kind: "radiation", values: e.data.values } : undefined,
    xray: (e, base) => (isEventOf(e, "reading.xray") ? { ...base, kind: "xray", values: e.data.values } : undefined),
};

function isReadingKind(kind: string): kind is ReadingKind {
    return Object.hasOwn(READING_OF_EVENT, kind);
}

/** The reading a stored `reading.<kind>` event of a device holds, for `laneId`; undefined for any other event. */
export function readingOfEvent(event: GateEvent, laneId: string): Reading | undefined {
    const kind = event.type.startsWith("reading.") ? event.type.slice("reading.".length) : "";
    if (!isReadingKind(kind) || event.deviceId === undefined) return undefined;
    return READING_OF_EVENT[kind](event, {
        deviceId: event.deviceId,
        laneId,
        observedAt: Date.parse(event.occurredAt),
    });
}

/** Sync priority class of an event type: lower drains first (weighted, nothing starves). */
export enum OutboxClass {
    Alert = 0,
    Passage = 1,
    Reading = 2,
    Image = 3,
    Telemetry = 4,
}

export function outboxClassOf(type: GateEventType): OutboxClass {
    if (type.startsWith("alert.") || type.startsWith("actuator.") || type === "officer.action")
        return OutboxClass.Alert;
    if (type.startsWith("passage.")) return OutboxClass.Passage;
    if (type.startsWith("reading.")) return OutboxClass.Reading;
    return OutboxClass.Telemetry;
}
