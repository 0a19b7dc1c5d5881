/**
 * Recordings of a gate's raw device traffic (`gate-edge record`), so a field problem can be replayed on a
 * bench (`gate-edge simulate gate --replay FILE`).
 *
 * Format: JSON Lines, UTF-8, one object per line.
 *
 *   line 1   {"type":"header","format":"gate-edge-recording","version":1,"gateId":"HN01","startedAt":ISO,
 *             "source":"config file","lanes":[{id,name,direction}],
 *             "devices":[{id,laneId,model,kind,transport,role?,topic?,lanePrefix?,pollIntervalMs?}],
 *             "ingest":{...},"rules":{...}}                      -- the config's non-secret parts
 *   frames   {"t":1234.567,"device":"scale-l1","lane":"L1","transport":"serial","hex":"02..."}
 *            {"t":...,"device":"seal-l1","lane":"L1","transport":"mqtt","channel":"read","text":"{...}"}
 *            {"t":...,"device":"cam-rear-l1","lane":"L1","transport":"http-push","channel":"/NotificationInfo/TollgateInfo",
 *             "contentType":"application/json","text":"{...}"}
 *            {"t":...,"device":"cam-front-l1","lane":"L1","transport":"onvif","text":"<wsnt:NotificationMessage ..."}
 *            {"t":...,"device":"plc-l1","lane":"L1","transport":"opcua","channel":"Loop.Entry.Occupied","text":"Loop.Entry.Occupied=true"}
 *   last     {"type":"end","t":...,"frames":N,"byDevice":{"scale-l1":N,...},
 *             "readings":{"scale-l1":{"weight":N},...}}   -- absent if the recorder died
 *
 * The end line's `readings` counts the readings the recording gate committed per device and kind, so a
 * replay can show whether the bench gate made the same readings of the same frames; only the lanes'
 * devices count, whose frames the recording holds (an RPM's or X-ray scanner's documents come from folders
 * and are not recorded).
 *
 * A header device's `transport` is how the gate reached it (its address: tcp, serial, mqtt, http-push,
 * onvif, opcua); a frame's `transport` is its model's (serial for scales and scanners on either).
 * `t` is ms since the recording started, on a monotonic clock (a jump of the gate's clock does not move it).
 * Exactly one of `text` (valid UTF-8 with no control characters but tab, CR and LF) or `hex` carries the
 * payload. Serial frames are the bytes on the wire: the frame as the model's framer cut it plus the
 * delimiter the framer removed; `"discarded":true` marks bytes the framer threw away (noise, cut frames).
 * MQTT frames are the payload with the subtopic under the device's prefix in `channel`; HTTP pushes the
 * whole body with its path and Content-Type; ONVIF the NotificationMessage element as pulled; OPC UA one
 * monitored tag change as `tag=JSON value`.
 *
 * A recording holds what the devices sent: plates and plate images are personal data, so treat the file
 * like the gate's own database (same retention, same access).
 */
import { createReadStream, createWriteStream, type WriteStream } from "node:fs";
import { performance } from "node:perf_hooks";
import { createInterface } from "node:readline";
import { getModel } from "../../devices/index.ts";
import type { GateConfig } from "../../src/config/types.ts";
import type { EventMap } from "../../src/core/bus.ts";
import { errorMessage, GateError } from "../../src/core/errors.ts";
import type { Gate } from "../../src/gate.ts";

export const RECORDING_FORMAT = "gate-edge-recording";
export const RECORDING_VERSION = 1;

export interface RecordedDevice {
    id: string;
    laneId: string;
    model: string;
    kind: string;
    transport: string;
    role?: string;
    /** MQTT: the device's topic prefix. */
    topic?: string;
    /** OPC UA: the lane's tag prefix in the PLC. */
    lanePrefix?: string;
    pollIntervalMs?: number;
}

export interface RecordingHeader {
    type: "header";
    format: typeof RECORDING_FORMAT;
    version: number;
    gateId: string;
    startedAt: string;
    source: string;
    lanes: { id: string; name: string; direction: "IN" | "OUT" }[];
    devices: RecordedDevice[];
    ingest: GateConfig["ingest"];
    rules: GateConfig["rules"];
}

export interface RecordedFrame {
    t: number;
    device: string;
    lane: string;
    transport: string;
    hex?: string;
    text?: string;
    channel?: string;
    contentType?: string;
    discarded?: true;
}

export interface RecordingEnd {
    type: "end";
    t: number;
    frames: number;
    byDevice: Record<string, number>;
    /** Readings the recording gate committed, by device and kind. */
    readings: Record<string, Record<string, number>>;
}

export interface Recording {
    header: RecordingHeader;
    frames: RecordedFrame[];
    end: RecordingEnd | undefined;
}

/** Printable text (and tab, CR, LF) that survives a round trip through UTF-8. */
function asText(bytes: Uint8Array): string | undefined {
    const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8");
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what is looked for
    if (text.includes("\uFFFD") || /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/.test(text)) return undefined;
    return text;
}

/** The bytes of a frame, from its text or hex. */
export function frameBytes(frame: RecordedFrame): Buffer {
    return frame.text !== undefined ? Buffer.from(frame.text, "utf8") : Buffer.from(frame.hex ?? "", "hex");
}

export function recordingHeader(config: GateConfig, startedAt: Date): RecordingHeader {
    return {
        type: "header",
        format: RECORDING_FORMAT,
        version: RECORDING_VERSION,
        gateId: config.gate.id,
        startedAt: startedAt.toISOString(),
        source: config.source,
        lanes: config.lanes.map((lane) => ({ id: lane.id, name: lane.name, direction: lane.direction })),
        devices: config.lanes.flatMap((lane) =>
            lane.devices.map((device) => {
                const address = device.address;
                return {
                    id: device.id,
                    laneId: lane.id,
                    model: device.model,
                    kind: device.kind,
                    transport: address.transport,
                    ...(device.role !== undefined && { role: device.role }),
                    ...(address.transport === "mqtt" && { topic: address.topic }),
                    ...(address.transport === "opcua" && { lanePrefix: address.lanePrefix }),
                    ...(device.pollIntervalMs !== undefined && { pollIntervalMs: device.pollIntervalMs }),
                };
            }),
        ),
        ingest: config.ingest,
        rules: config.rules,
    };
}

/**
 * Writes every raw frame the gate's devices send to a recording file, from construction to close().
 * Attach it before gate.start() so the first frames of every device are in it.
 */
export class Recorder {
    private readonly out: WriteStream;
    private readonly t0 = performance.now();
    private readonly delimiters = new Map<string, Buffer>();
    readonly byDevice = new Map<string, number>();
    private readonly readings = new Map<string, Record<string, number>>();
    /** The lanes' devices: those whose frames are recorded. */
    private readonly recorded = new Set<string>();
    frames = 0;
    private closed = false;
    private error: Error | undefined;

    constructor(
        private readonly gate: Gate,
        config: GateConfig,
        readonly file: string,
    ) {
        for (const device of config.lanes.flatMap((lane) => lane.devices)) {
            this.recorded.add(device.id);
            const model = getModel(device.model);
            const framer = model?.transport === "serial" ? model.framer : undefined;
            // The framer cut the delimiter off; the wire had it.
            if (framer?.type === "delimiter") this.delimiters.set(device.id, Buffer.from(framer.delimiter));
        }
        this.out = createWriteStream(file, { flags: "w" });
        this.out.on("error", (err) => {
            this.error = err;
        });
        this.line(recordingHeader(config, new Date()));
        gate.bus.on("rawFrame", this, (frame) => this.record(frame));
        gate.bus.on("committed", this, (event) => {
            if (!event.type.startsWith("reading.") || !event.deviceId || this.closed) return;
            if (!this.recorded.has(event.deviceId)) return;
            const kinds = this.readings.get(event.deviceId) ?? {};
            const kind = event.type.slice("reading.".length);
            kinds[kind] = (kinds[kind] ?? 0) + 1;
            this.readings.set(event.deviceId, kinds);
        });
    }

    /** Readings the gate committed while recording, by device and kind. */
    readingCounts(): Record<string, Record<string, number>> {
        return Object.fromEntries([...this.readings.entries()].sort(([a], [b]) => a.localeCompare(b)));
    }

    /** Stops recording, writes the end line and closes the file. Rejects if the file could not be written. */
    async close(): Promise<void> {
        if (this.closed) return;
        this.closed = true;
        this.gate.bus.removeListeners(this);
        const end: RecordingEnd = {
            type: "end",
            t: this.now(),
            frames: this.frames,
            byDevice: Object.fromEntries(this.byDevice),
            readings: this.readingCounts(),
        };
        this.line(end);
        await new Promise<void>((resolve) => this.out.end(() => resolve()));
        if (this.error) throw new GateError("RECORDING_INVALID", `${this.file}: ${errorMessage(this.error)}`);
    }

    private now(): number {
        return Math.round((performance.now() - this.t0) * 1000) / 1000;
    }

    private record(frame: EventMap["rawFrame"]): void {
        if (this.closed) return;
        const delimiter = frame.discarded ? undefined : this.delimiters.get(frame.deviceId);
        const bytes = delimiter ? Buffer.concat([frame.bytes, delimiter]) : frame.bytes;
        const text = asText(bytes);
        const line: RecordedFrame = {
            t: this.now(),
            device: frame.deviceId,
            lane: frame.laneId,
            transport: frame.transport,
            ...(frame.channel !== undefined && { channel: frame.channel }),
            ...(frame.contentType !== undefined && { contentType: frame.contentType }),
            ...(frame.discarded && { discarded: true as const }),
            ...(text !== undefined ? { text } : { hex: Buffer.from(bytes).toString("hex") }),
        };
        this.frames++;
        this.byDevice.set(frame.deviceId, (this.byDevice.get(frame.deviceId) ?? 0) + 1);
        this.line(line);
    }

    private line(value: object): void {
        this.out.write(`${JSON.stringify(value)}\n`);
    }
}

/**
 * Reads a recording. Throws GateError RECORDING_INVALID naming the line of the first problem (a bad
 * header, a line that is not JSON, a frame without device or payload, times that go backwards).
 */
export async function readRecording(file: string): Promise<Recording> {
    const lines = createInterface({ input: createReadStream(file, "utf8"), crlfDelay: Number.POSITIVE_INFINITY });
    let header: RecordingHeader | undefined;
    const frames: RecordedFrame[] = [];
    let end: RecordingEnd | undefined;
    let n = 0;
    const invalid = (why: string) => new GateError("RECORDING_INVALID", `${file} line ${n}: ${why}`);
    try {
        for await (const text of lines) {
            n++;
            if (text.trim() === "") continue;
            let value: unknown;
            try {
                value = JSON.parse(text);
            } catch {
                throw invalid("not JSON");
            }
            if (typeof value !== "object" || value === null) throw invalid("not a JSON object");
            const object = value as Record<string, unknown>;
            if (!header) {
                if (object.type !== "header" || object.format !== RECORDING_FORMAT) {
                    throw invalid(`the first line must be the ${RECORDING_FORMAT} header`);
                }
                if (object.version !== RECORDING_VERSION) {
                    throw invalid(
                        `version ${String(object.version)}; this gate-edge reads version ${RECORDING_VERSION}`,
                    );
                }
                if (!Array.isArray(object.devices) || !Array.isArray(object.lanes))
                    throw invalid("header without devices or lanes");
                header = object as unknown as RecordingHeader;
                continue;
            }
            if (object.type === "end") {
                end = object as unknown as RecordingEnd;
                continue;
            }
            const frame = object as unknown as RecordedFrame;
            if (
                typeof frame.device !== "string" ||
                typeof frame.transport !== "string" ||
                typeof frame.t !== "number"
            ) {
                throw invalid("a frame needs t, device and transport");
            }
            if ((frame.text === undefined) === (frame.hex === undefined))
                throw invalid("a frame needs exactly one of text or hex");
            if (frame.hex !== undefined && !/^(?:[0-9a-f]{2})*$/i.test(frame.hex))
                throw invalid("hex is not hexadecimal");
            const previous = frames[frames.length - 1];
            if (previous && frame.t < previous.t)
                throw invalid(`t ${frame.t} is before the previous frame's ${previous.t}`);
            frames.push(frame);
        }
    } catch (err) {
        if (err instanceof GateError) throw err;
        const code = (err as NodeJS.ErrnoException).code;
        throw new GateError("RECORDING_INVALID", `${file}: ${code ?? errorMessage(err)}`, { cause: err });
    }
    if (!header) throw new GateError("RECORDING_INVALID", `${file} is empty`);
    return { header, frames, end };
}
