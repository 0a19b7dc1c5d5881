import type { Logger } from "pino";
import type { DecodeResult, DeviceModel, PlateRead, PlcSignal, PlcTag, PushRequest } from "../../devices/types.ts";
import type { DeviceConfig } from "../config/types.ts";
import type { EventBus } from "../core/bus.ts";
import { type Clock, monotonicOf } from "../core/clock.ts";
import type {
    AppendOptions,
    DeviceStatus,
    GateEvent,
    GateEventDraft,
    Reading,
    ScanValues,
    SealValues,
    TypedEventDraft,
    WeightValues,
} from "../core/events.ts";
import { SummarizedWarning } from "../core/logger.ts";
import {
    type InputOutcome,
    modelReading,
    type RawInput,
    type Snapshot,
    type StatusReason,
} from "../drivers/transport.ts";
import type { ImageStore } from "../store/images.ts";
import { plateValues, plcMeaning } from "./meaning.ts";
import { ReadingPriority } from "./readingPriority.ts";
import { DuplicateReducer, type ReduceOutcome, scanKey, sealKey, WeightReducer } from "./reducers.ts";
import { RejectedInputKeeper } from "./rejectedInput.ts";

/** Where the runtime stores events; the EventLog in production. Resolves when the event is durable. */
export interface EventSink {
    append(draft: GateEventDraft | TypedEventDraft, options?: AppendOptions): Promise<GateEvent>;
}

export interface RawFrameRecord {
    at: string;
    hex: string;
    outcome: "reading" | "ignored" | "invalid" | "duplicate" | "unchanged" | "settling" | "discarded";
    reason?: string;
}

export interface DeviceHealth {
    deviceId: string;
    /** null for a device of the inspection area rather than a lane (src/inspection/devices.ts). */
    laneId: string | null;
    model: string;
    kind: string;
    address: string;
    status: DeviceStatus;
    reason: string;
    /** The reason as a code with parameters (officer catalogue `deviceReason.<code>`), when the driver gave one. */
    reasonCode?: StatusReason["code"];
    reasonParams?: StatusReason["params"];
    statusSince: string;
    lastFrameAt: string | null;
    counters: {
        frames: number;
        readings: number;
        invalid: number;
        ignored: number;
        duplicates: number;
        discardedBytes: number;
        reconnects: number;
        /** Acknowledged input that failed decode, stored with its raw bytes as an `input.rejected` event. */
        rejectedKept: number;
        /** Acknowledged input that failed decode over the per-device limit: only counted (the count is stored). */
        rejectedCounted: number;
    };
}

export interface IngestSettings {
    weightSettleMs: number;
    weightSettleToleranceKg: number;
    duplicateWindowMs: number;
    rawFrameBuffer: number;
}

const MAX_LOGGED_FRAME_BYTES = 256;

/**
 * Everything gate-edge knows about one device between its transport and the event log: decodes each
 * frame with the device's model, reduces frames to readings of meaning, stores them, keeps a ring buffer
 * of raw frames for technicians, counts what it threw away, and tracks the device's status.
 *
 * Error rule: a frame never makes this throw. `input()` rejects only when the event store failed, so the
 * transport must not acknowledge the device.
 */
export class DeviceRuntime {
    private status: DeviceStatus = "offline";
    /** Set when the gate stops: offline from then on is expected. */
    private gateStopping = false;
    private statusReason = "not connected yet";
    private statusBecause: StatusReason | undefined;
    private statusSince: number;
    private lastFrameAt: number | undefined;
    /** Raw frames kept as bytes; hex is made only when a technician asks. */
    private readonly frames: { at: number; bytes: Buffer; outcome: RawFrameRecord["outcome"]; reason?: string }[] = [];
    private readonly reduce: (values: unknown, now: number) => ReduceOutcome<unknown>;
    private readonly lastSignal = new Map<string, string>();
    private lastFaultCode: number | undefined;
    private readonly raisedAlerts = new Set<string>();
    /** The latest decoded weight frame, settled or not: what a technician's "read weight" test shows. */
    private lastWeight: { at: number; values: WeightValues } | undefined;
    private weightWaiters: ((weight: { at: number; values: WeightValues }) => void)[] = [];
    /** The first image of the latest plate read: a push camera's "snapshot" for a technician's test. */
    private lastImageRef: string | undefined;
    readonly counters: DeviceHealth["counters"] = {
        frames: 0,
        readings: 0,
        invalid: 0,
        ignored: 0,
        duplicates: 0,
        discardedBytes: 0,
        reconnects: 0,
        rejectedKept: 0,
        rejectedCounted: 0,
    };
    private readonly rejectedInput: RejectedInputKeeper;
    /** Which readings go to the log as urgent: a lane may be waiting on them (src/ingest/readingPriority.ts). */
    private readonly priority = new ReadingPriority();
    /** Noise and bad frames come by the thousand from a babbling line: logged as one summary per interval. */
    private readonly badInputLog: SummarizedWarning<"discardedBytes" | "badFrames">;

    constructor(
        readonly device: DeviceConfig,
        readonly model: DeviceModel,
        private readonly deps: {
            sink: EventSink;
            bus: EventBus;
            clock: Clock;
            log: Logger;
            settings: IngestSettings;
            /** Where plate images go; without it plate readings carry no image references. */
            images?: ImageStore;
            /** What the device's transport says of itself (the registry's entry for it). */
            transport: {
                /** Where the device is, as health shows it. */
                address: string;
                /** Frames are proof of life (serial, MQTT); session transports own the status themselves. */
                framesProveLife: boolean;
            };
        },
    ) {
        this.statusSince = deps.clock.now();
        this.reduce = makeReducer(model, deps.settings);
        this.rejectedInput = new RejectedInputKeeper({
            sink: deps.sink,
            clock: deps.clock,
            log: deps.log,
            device,
            model: model.model,
        });
        this.badInputLog = new SummarizedWarning(
            deps.log,
            ["discardedBytes", "badFrames"],
            ({ discardedBytes, badFrames }, since) =>
                `bad device input: ${[
                    discardedBytes > 0 && `${discardedBytes} bytes discarded`,
                    badFrames > 0 && `${badFrames} ${badFrames === 1 ? "frame" : "frames"} rejected`,
                ]
                    .filter(Boolean)
                    .join(", ")} since ${since}`,
            { clock: deps.clock },
        );
    }

    /** The gate is stopping: the device going offline from here on is the gate's doing, logged as info. */
    stopping(): void {
        this.gateStopping = true;
    }

    /** The device goes (stop, reload): what is pending of its bad-input log line and rejected-input count is written. */
    async stop(): Promise<void> {
        this.badInputLog.flush();
        await this.rejectedInput.flush();
    }

    /**
     * Everything the device's transport received, in one place. Resolves when the input may be
     * acknowledged: what it carried is durable, or, if it failed decode, the message itself (where the
     * transport acknowledges what it was handed). Rejects only when the event store failed.
     */
    input(raw: RawInput): Promise<InputOutcome> {
        switch (raw.kind) {
            case "frame":
                return this.frame(raw.bytes);
            case "discarded":
                this.discarded(raw.bytes, raw.why);
                return Promise.resolve(STORED);
            case "publish":
                return this.publish(raw.subtopic, raw.payload);
            case "notification":
                return this.notification(raw.xml, raw.snapshot);
            case "push":
                return this.push(raw.request);
            case "tag":
                return this.tag(raw.tag, raw.value, raw.sourceTimestamp);
            case "entry":
                // Folder devices are inspection devices, read by src/inspection/devices.ts, not by a lane runtime.
                return notFor("a folder device");
        }
    }

    /** A frame from a serial/TCP device or a device that dialled in, as cut by the model's framer. */
    private async frame(frame: Buffer): Promise<InputOutcome> {
        const model = modelReading(this.model, "frame");
        if (!model) return notFor("a byte-stream device");
        this.rawFrame(frame);
        const result: DecodeResult<unknown> & { observedAt?: number } = model.decode(frame);
        // Short frames are the evidence themselves: their bytes go with the reading.
        return this.handleDecoded(frame, result, result.observedAt, { rawIsEvidence: true });
    }

    /** A publish under the device's topic prefix; `subtopic` is what follows the prefix. */
    private async publish(subtopic: string, payload: Buffer): Promise<InputOutcome> {
        const model = modelReading(this.model, "publish");
        if (!model) return notFor("an MQTT device");
        this.rawFrame(payload, { channel: subtopic });
        if (payload.length > model.maxPayloadBytes) {
            const reason = `payload of ${payload.length} bytes is over the ${model.maxPayloadBytes}-byte limit`;
            await this.handleDecoded(payload.subarray(0, MAX_LOGGED_FRAME_BYTES), { status: "invalid", reason });
            await this.keepRejected(payload, reason, subtopic);
            return { outcome: "refused", reason };
        }
        const result = model.decode(subtopic, payload);
        const outcome = await this.handleDecoded(payload, result, result.observedAt);
        if (result.status === "invalid") await this.keepRejected(payload, result.reason, subtopic);
        return outcome;
    }

    /** Bytes the framer discarded. */
    private discarded(bytes: Buffer, why: string): void {
        this.counters.discardedBytes += bytes.length;
        this.rawFrame(bytes, { discarded: true });
        const hex = hexOf(bytes);
        this.remember(this.deps.clock.now(), bytes, "discarded", why);
        this.badInputLog.note({ discardedBytes: bytes.length }, { why, frame: hex });
        this.deps.bus.emit("badFrame", { deviceId: this.device.id, reason: why, rawHex: hex });
    }

    /**
     * The device's transport acknowledges what it was handed, so a message that failed decode is kept as
     * evidence (bounded per device) before the acknowledgement.
     */
    private async keepRejected(payload: Uint8Array, reason: string, channel?: string): Promise<void> {
        const outcome = await this.rejectedInput.keep(payload, reason, channel);
        if (outcome === "kept") this.counters.rejectedKept++;
        else this.counters.rejectedCounted++;
    }

    /**
     * Records a status change as a `device.status` event. Returns the stored event, or undefined when the
     * status did not change.
     */
    setStatus(status: DeviceStatus, reason: string, because?: StatusReason): Promise<GateEvent | undefined> {
        if (status === this.status) {
            this.statusReason = reason;
            this.statusBecause = because;
            return Promise.resolve(undefined);
        }
        if (status === "online" && this.status === "offline" && this.counters.frames > 0) this.counters.reconnects++;
        this.status = status;
        this.statusReason = reason;
        this.statusBecause = because;
        this.statusSince = this.deps.clock.now();
        this.deps.log[status === "online" || this.gateStopping ? "info" : "warn"](
            { status, reason },
            "device status changed",
        );
        const coded = because && {
            reasonCode: because.code,
            ...(because.params !== undefined && { reasonParams: because.params }),
        };
        this.deps.bus.emit("deviceStatus", {
            deviceId: this.device.id,
            laneId: this.device.laneId,
            status,
            reason,
            ...coded,
        });
        return this.priority
            .send(false, 1, () =>
                this.deps.sink.append({
                    type: "device.status",
                    laneId: this.device.laneId,
                    deviceId: this.device.id,
                    data: { status, reason, ...coded, model: this.model.model },
                }),
            )
            .catch((err: unknown) => {
                this.deps.log.error({ err }, "device status could not be stored");
                return undefined;
            });
    }

    health(): DeviceHealth {
        return {
            deviceId: this.device.id,
            laneId: this.device.laneId,
            model: this.model.model,
            kind: this.model.kind,
            address: this.deps.transport.address,
            status: this.status,
            reason: this.statusReason,
            ...(this.statusBecause && {
                reasonCode: this.statusBecause.code,
                ...(this.statusBecause.params !== undefined && { reasonParams: this.statusBecause.params }),
            }),
            statusSince: new Date(this.statusSince).toISOString(),
            lastFrameAt: this.lastFrameAt === undefined ? null : new Date(this.lastFrameAt).toISOString(),
            counters: { ...this.counters },
        };
    }

    /** The latest weight frame the scale sent (any, not only settled ones). */
    latestWeight(): { at: number; values: WeightValues } | undefined {
        return this.lastWeight;
    }

    /** The next weight frame, or undefined after `timeoutMs` (a polled scale's answer to a test poll). */
    nextWeight(timeoutMs: number): Promise<{ at: number; values: WeightValues } | undefined> {
        return new Promise((resolve) => {
            const timer = setTimeout(() => {
                this.weightWaiters = this.weightWaiters.filter((waiter) => waiter !== done);
                resolve(undefined);
            }, timeoutMs);
            const done = (weight: { at: number; values: WeightValues }): void => {
                clearTimeout(timer);
                resolve(weight);
            };
            this.weightWaiters.push(done);
        });
    }

    /** The first image reference of the latest plate read. */
    latestImageRef(): string | undefined {
        return this.lastImageRef;
    }

    private weightSeen(weight: { at: number; values: WeightValues }): void {
        this.lastWeight = weight;
        const waiters = this.weightWaiters;
        this.weightWaiters = [];
        for (const waiter of waiters) waiter(weight);
    }

    /** The most recent raw frames, newest last. */
    recentFrames(): readonly RawFrameRecord[] {
        return this.frames.map((frame) => ({
            at: new Date(frame.at).toISOString(),
            hex: hexOf(frame.bytes),
            outcome: frame.outcome,
            ...(frame.reason !== undefined && { reason: frame.reason }),
        }));
    }

    /** One ONVIF NotificationMessage (raw XML) with the snapshot the driver fetched for it. */
    private async notification(xml: string, snapshot?: Snapshot): Promise<InputOutcome> {
        const model = modelReading(this.model, "notification");
        if (!model) return notFor("an ONVIF camera");
        this.rawFrame(Buffer.from(xml));
        const result = model.decode(xml);
        // The snapshot shows the scene at the moment of the read: evidence beside the camera's own crops.
        const withSnapshot: DecodeResult<unknown> =
            result.status === "reading" && snapshot
                ? {
                      status: "reading",
                      values: {
                          ...result.values,
                          images: [{ name: "snapshot.jpg", ...snapshot }, ...result.values.images],
                      },
                  }
                : result;
        const outcome = await this.handleDecoded(Buffer.from(xml), withSnapshot, result.observedAt);
        // A pulled notification is gone from the camera: one that failed decode is kept like a PUBACKed message.
        if (result.status === "invalid") await this.keepRejected(Buffer.from(xml), result.reason);
        return outcome;
    }

    /**
     * One HTTP push from a camera. Resolves with what the camera should be told: `stored` once the read
     * is durable (or was a heartbeat or a repeat), `refused` with the reason for a request not to be trusted.
     */
    private async push(request: PushRequest): Promise<InputOutcome> {
        const model = modelReading(this.model, "push");
        if (!model) return notFor("a push camera");
        this.rawFrame(request.body, { channel: request.path, contentType: request.contentType });
        const result = model.decode(request);
        const shown = Buffer.from(request.body.subarray(0, MAX_LOGGED_FRAME_BYTES));
        return this.handleDecoded(shown, result, result.observedAt);
    }

    /** A monitored PLC tag changed. Only changes of meaning are stored; heartbeats are proof of life. */
    private async tag(tag: string, value: unknown, sourceTimestamp?: Date): Promise<InputOutcome> {
        const model = modelReading(this.model, "tag");
        if (!model) return notFor("a lane PLC");
        const raw = Buffer.from(`${tag}=${JSON.stringify(value) ?? String(value)}`);
        this.rawFrame(raw, { channel: tag });
        const known = tag in model.tags;
        const result: DecodeResult<unknown> = known
            ? model.decode(tag as PlcTag, value)
            : { status: "invalid", reason: `unknown tag ${tag}` };
        return this.handleDecoded(raw, result, sourceTimestamp?.getTime());
    }

    /** Hands the frame, as the device sent it, to whoever records raw traffic (the bus's `rawFrame`). */
    private rawFrame(
        bytes: Uint8Array,
        extra: { channel?: string; contentType?: string; discarded?: boolean } = {},
    ): void {
        const { id: deviceId, laneId } = this.device;
        this.deps.bus.emit("rawFrame", { deviceId, laneId, transport: this.model.transport, bytes, ...extra });
    }

    private async handleDecoded(
        frame: Buffer,
        result: DecodeResult<unknown>,
        deviceObservedAt?: number,
        { rawIsEvidence = false }: { rawIsEvidence?: boolean } = {},
    ): Promise<InputOutcome> {
        const now = this.deps.clock.now();
        this.counters.frames++;
        this.lastFrameAt = now;
        // Proof of life for devices that only talk when they have something (serial, MQTT); drivers of
        // session-based devices (ONVIF, OPC UA) own their status, since a frame says nothing about the session.
        if (this.status !== "online" && this.deps.transport.framesProveLife) {
            void this.setStatus("online", "frames arriving", { code: "FRAMES_ARRIVING" });
        }
        if (result.status === "invalid") {
            this.counters.invalid++;
            this.remember(now, frame, "invalid", result.reason);
            const hex = hexOf(frame);
            this.badInputLog.note({ badFrames: 1 }, { reason: result.reason, frame: hex });
            this.deps.bus.emit("badFrame", { deviceId: this.device.id, reason: result.reason, rawHex: hex });
            return { outcome: "refused", reason: result.reason };
        }
        if (result.status === "ignored") {
            this.counters.ignored++;
            this.remember(now, frame, "ignored", result.reason);
            return { outcome: "stored" };
        }
        if (this.model.kind === "weight") this.weightSeen({ at: now, values: result.values as WeightValues });
        // Windows are durations: measured on the monotonic clock, so a wall-clock step changes nothing.
        const outcome = this.reduce(result.values, monotonicOf(this.deps.clock));
        if (!outcome.emit) {
            if (outcome.why === "duplicate") this.counters.duplicates++;
            this.remember(now, frame, outcome.why);
            return { outcome: "stored" };
        }
        this.remember(now, frame, "reading");
        const observedAt = deviceObservedAt ?? now;
        const drafts = this.meaningOf(outcome.values, rawIsEvidence ? frame : undefined, observedAt);
        if (drafts.length === 0) return { outcome: "stored" };
        const urgent = this.priority.mayBeUrgent(monotonicOf(this.deps.clock));
        await this.priority.send(urgent, drafts.length, (asUrgent) =>
            Promise.all(drafts.map((draft) => this.deps.sink.append(draft, { urgent: asUrgent }))),
        );
        return { outcome: "stored" };
    }

    /** The events one reduced read stands for: usually one reading, sometimes an alert with it. */
    private meaningOf(
        values: unknown,
        evidence: Buffer | undefined,
        observedAt: number,
    ): (GateEventDraft | TypedEventDraft)[] {
        const base = { laneId: this.device.laneId, deviceId: this.device.id, occurredAt: observedAt };
        const readingDraft = (reading: Reading, raw?: string): TypedEventDraft => {
            this.counters.readings++;
            this.deps.bus.emit("reading", reading);
            return {
                type: `reading.${reading.kind}`,
                ...base,
                data: { values: reading.values, ...(raw !== undefined && { raw }), model: this.model.model },
            };
        };
        const make = <K extends Reading["kind"]>(kind: K, readingValues: Extract<Reading, { kind: K }>["values"]) =>
            ({
                deviceId: this.device.id,
                laneId: this.device.laneId,
                kind,
                observedAt,
                values: readingValues,
            }) as Reading;

        switch (this.model.kind) {
            case "weight":
            case "scan":
            case "seal": {
                // Serial frames are short and are the evidence; an MQTT payload is what `values` already holds.
                const raw = evidence === undefined ? undefined : hexOf(evidence);
                // What the reducer passed on is what this model's decode made: the values of its kind (as makeReducer).
                const kindValues = values as Extract<Reading, { kind: "weight" | "scan" | "seal" }>["values"];
                const reading = {
                    ...make(this.model.kind, kindValues),
                    ...(raw !== undefined && { raw }),
                } as Reading;
                const drafts = [readingDraft(reading, raw)];
                for (const alert of alertsFor(reading)) drafts.push({ type: "alert.raised", ...base, data: alert });
                return drafts;
            }
            case "plate": {
                const read = values as PlateRead;
                const at = new Date(this.deps.clock.now());
                const images = this.deps.images?.putPlateImages(read.images, at) ?? [];
                const refs = [...new Set(images.map((image) => image.ref))];
                if (refs[0] !== undefined) this.lastImageRef = refs[0];
                const plate = plateValues(read, this.device, refs);
                return [readingDraft(make("plate", images.length > 0 ? { ...plate, images } : plate))];
            }
            case "plc": {
                const signal = values as PlcSignal;
                if (signal.tag === "Barrier.FaultCode") this.lastFaultCode = signal.value;
                // OPC UA resends every value after a reconnect; only a change is news.
                const key = JSON.stringify(signal);
                if (this.lastSignal.get(signal.tag) === key) return [];
                this.lastSignal.set(signal.tag, key);
                const meaning = plcMeaning(signal, this.lastFaultCode);
                if (meaning.kind === "presence" || meaning.kind === "barrier") {
                    return [readingDraft(make(meaning.kind, meaning.values))];
                }
                if (meaning.kind === "alert") {
                    // A condition first seen inactive (E-stop released at connect) was never raised: nothing to clear.
                    if (meaning.raised) this.raisedAlerts.add(meaning.code);
                    else if (!this.raisedAlerts.delete(meaning.code)) return [];
                    return [
                        {
                            type: meaning.raised ? "alert.raised" : "alert.cleared",
                            ...base,
                            data: { code: meaning.code, severity: meaning.severity, message: meaning.message },
                        },
                    ];
                }
                return [];
            }
        }
    }

    private remember(at: number, bytes: Buffer, outcome: RawFrameRecord["outcome"], reason?: string): void {
        if (this.deps.settings.rawFrameBuffer === 0) return;
        this.frames.push({ at, bytes, outcome, ...(reason !== undefined && { reason }) });
        if (this.frames.length > this.deps.settings.rawFrameBuffer) this.frames.shift();
    }
}

function makeReducer(
    model: DeviceModel,
    settings: IngestSettings,
): (values: unknown, now: number) => ReduceOutcome<unknown> {
    switch (model.kind) {
        case "weight": {
            const reducer = new WeightReducer(settings.weightSettleMs, settings.weightSettleToleranceKg);
            return (values, now) => reducer.reduce(values as WeightValues, now);
        }
        case "scan": {
            const reducer = new DuplicateReducer<ScanValues>(settings.duplicateWindowMs, scanKey);
            return (values, now) => reducer.reduce(values as ScanValues, now);
        }
        case "seal": {
            const reducer = new DuplicateReducer<SealValues>(settings.duplicateWindowMs, sealKey);
            return (values, now) => reducer.reduce(values as SealValues, now);
        }
        case "plate": {
            // A camera that reads the same plate several times as the truck rolls in yields one reading.
            const reducer = new DuplicateReducer<PlateRead>(settings.duplicateWindowMs, (read) => read.text);
            return (values, now) => reducer.reduce(values as PlateRead, now);
        }
        case "plc":
            // The PLC reports changes only (OPC UA monitored items): each one means something.
            return (values) => ({ emit: true, values });
    }
}

/** Alerts an officer must see at once, whatever the lane engine later decides. */
function alertsFor(
    reading: Reading,
): { code: string; severity: "critical" | "warning"; message: string; sealId?: string }[] {
    if (reading.kind !== "seal") return [];
    const seal = reading.values;
    const alerts: { code: string; severity: "critical" | "warning"; message: string; sealId?: string }[] = [];
    if (seal.status === "TAMPERED") {
        alerts.push({
            code: "SEAL_TAMPERED",
            severity: "critical",
            message: `seal ${seal.sealId} reports tampering`,
            sealId: seal.sealId,
        });
    } else if (seal.status === "OPENED") {
        alerts.push({
            code: "SEAL_OPENED",
            severity: "critical",
            message: `seal ${seal.sealId} is open`,
            sealId: seal.sealId,
        });
    }
    if (seal.battery?.low) {
        alerts.push({
            code: "SEAL_BATTERY_LOW",
            severity: "warning",
            message: `seal ${seal.sealId} battery is low`,
            sealId: seal.sealId,
        });
    }
    return alerts;
}

function hexOf(bytes: Uint8Array): string {
    const shown = bytes.length > MAX_LOGGED_FRAME_BYTES ? bytes.subarray(0, MAX_LOGGED_FRAME_BYTES) : bytes;
    return Buffer.from(shown).toString("hex") + (bytes.length > MAX_LOGGED_FRAME_BYTES ? "…" : "");
}

/** The answer to input a device of another kind cannot send (a transport bound to the wrong runtime). */
function notFor(what: string): Promise<InputOutcome> {
    return Promise.resolve({ outcome: "refused", reason: `not ${what}` });
}

const STORED: InputOutcome = Object.freeze({ outcome: "stored" });
