/**
 * What a device model file exports: plain data plus pure functions. A model never opens a port or a
 * socket; the drivers in src/drivers do the I/O and the simulators in simulators/ use the encoders, so
 * both sides of the wire agree.
 *
 * Error rule for every `decode`: it never throws. Whatever bytes it is given, it answers a
 * DecodeResult; a frame that cannot be trusted is `invalid` with a reason and never yields values.
 */
import type { ScanValues, SealValues, WeightValues } from "../src/core/events.ts";

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

interface ModelBase {
    /** Unique model id used in the config, e.g. "toledo-continuous". */
    model: string;
    vendor: string;
    description: string;
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
}

export interface ScaleModel extends SerialModelBase<WeightValues> {
    kind: "weight";
    /** `continuous`: the indicator streams frames unasked. `request`: it answers the host's commands. */
    mode: "continuous" | "request";
    /** Request mode: the command the driver sends to ask for the weight, and how often. */
    poll?: { command: readonly number[]; intervalMs: number };
    /** Request mode: how the indicator frames the host's commands. */
    commandFramer?: FramerSpec;
    /** The frame the indicator sends for this state. `corrupt` breaks its checksum (or its syntax if it has none). */
    encode(state: ScaleState, options?: { corrupt?: boolean }): Uint8Array;
    /** Request mode: the indicator's answer to one host command (framed by commandFramer), or undefined to stay silent. */
    respond?(command: Uint8Array, state: ScaleState): Uint8Array | undefined;
}

export interface ScannerModel extends SerialModelBase<ScanValues> {
    kind: "scan";
    /** The bytes a scanner sends for one read. */
    encode(payload: string, options?: { suffix?: "CRLF" | "CR"; aimPrefix?: string }): Uint8Array;
}

/** The JSON an e-seal reader publishes (domain.md §4), one message per read or heartbeat. */
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

export type DeviceModel = ScaleModel | ScannerModel | SealReaderModel;
export type DeviceModelKind = DeviceModel["kind"];
