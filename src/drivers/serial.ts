import { connect, type Socket } from "node:net";
import type { SerialPort as SerialPortClass } from "serialport";
import type { FramerSpec, SerialDefaults } from "../../devices/types.ts";
import type { DeviceAddress } from "../config/types.ts";
import { errorMessage, GateError } from "../core/errors.ts";
import { Backoff } from "./backoff.ts";
import { StreamFramer } from "./framing.ts";
import {
    addressOf,
    modelOf,
    READ_ONLY,
    type StatusReason,
    type Transport,
    type TransportContext,
    type TransportModule,
    type TransportSetup,
} from "./transport.ts";

/** A connected byte pipe: a serial port or a TCP socket to a serial device server. */
interface Pipe {
    write(bytes: Uint8Array): Promise<void>;
    close(): void;
}

export interface SerialDriverOptions {
    address: Extract<DeviceAddress, { transport: "serial" | "tcp" }>;
    serialDefaults: SerialDefaults;
    framer: FramerSpec;
    /** Request/response devices: bytes to send every intervalMs while connected. */
    poll?: { command: readonly number[]; intervalMs: number };
    /**
     * Streaming and polled devices: no bytes for this long while connected → reported offline (the cable
     * is out but the port is there). Absent for devices that speak only when they have a read (scanners).
     */
    silenceMs?: number;
    backoff?: Backoff;
    /**
     * Where local ports come from (serialport's own design): the real SerialPort by default, loaded on
     * first use; unit tests inject serialport's SerialPortMock over @serialport/binding-mock.
     */
    portClass?: () => Promise<SerialPortConstructor>;
}

/** A serialport class: SerialPort over the native binding, or SerialPortMock over the mock binding. */
export type SerialPortConstructor = new (options: {
    path: string;
    baudRate: number;
    dataBits: 7 | 8;
    parity: "none" | "even" | "odd";
    stopBits: 1 | 2;
    autoOpen: false;
}) => SerialPortLike;

/** What the driver uses of a serialport stream. */
interface SerialPortLike {
    readonly isOpen: boolean;
    on(event: "data", listener: (chunk: Buffer) => void): unknown;
    on(event: "error", listener: (err: Error) => void): unknown;
    on(event: "close", listener: (err: Error | null) => void): unknown;
    open(callback: (err: Error | null) => void): void;
    write(data: Buffer, callback: (err: Error | null | undefined) => void): boolean;
    drain(callback: () => void): void;
    close(callback: () => void): void;
}

/**
 * Reads a device on a local serial port (`serial:///dev/ttyUSB0?baudRate=9600`) or behind a TCP serial
 * server (`tcp://10.0.0.5:4001`, Moxa NPort "TCP server" mode: one connection, frames split or merged
 * across TCP chunks). Re-frames the stream, reconnects with backoff and jitter when the port vanishes or
 * the socket drops, and reports silence.
 */
export class SerialDriver {
    private pipe: Pipe | undefined;
    private stopped = true;
    private retryTimer: NodeJS.Timeout | undefined;
    private pollTimer: NodeJS.Timeout | undefined;
    private silenceTimer: NodeJS.Timeout | undefined;
    private silent = false;
    private readonly framer: StreamFramer;
    private readonly backoff: Backoff;
    private attempts = 0;
    reconnects = 0;

    constructor(
        private readonly options: SerialDriverOptions,
        private readonly ctx: TransportContext,
    ) {
        this.framer = new StreamFramer(options.framer);
        this.backoff = options.backoff ?? new Backoff();
    }

    get connected(): boolean {
        return this.pipe !== undefined;
    }

    get description(): string {
        const address = this.options.address;
        return address.transport === "serial" ? `serial://${address.path}` : `tcp://${address.host}:${address.port}`;
    }

    async start(): Promise<void> {
        if (!this.stopped) return;
        this.stopped = false;
        this.connectOnce();
    }

    async stop(): Promise<void> {
        this.stopped = true;
        clearTimeout(this.retryTimer);
        this.clearConnectionTimers();
        const pipe = this.pipe;
        this.pipe = undefined;
        pipe?.close();
    }

    async write(bytes: Uint8Array): Promise<void> {
        if (!this.pipe) throw new GateError("DRIVER_DISCONNECTED", this.description);
        await this.pipe.write(bytes);
    }

    private connectOnce(): void {
        if (this.stopped) return;
        this.attempts++;
        const onOpen = (pipe: Pipe): void => {
            if (this.stopped) {
                pipe.close();
                return;
            }
            if (this.attempts > 1) this.reconnects++;
            this.pipe = pipe;
            this.backoff.reset();
            this.silent = false;
            this.ctx.setStatus("online", `connected to ${this.description}`, {
                code: "CONNECTED",
                params: { target: this.description },
            });
            this.armSilenceTimer();
            this.startPolling();
        };
        const onData = (chunk: Buffer): void => {
            this.silent = false;
            this.armSilenceTimer();
            const { frames, discarded } = this.framer.push(chunk);
            for (const bytes of discarded)
                void this.ctx.input({ kind: "discarded", bytes, why: "bytes outside a frame" });
            for (const frame of frames) {
                this.ctx.input({ kind: "frame", bytes: frame }).catch((err: unknown) => {
                    this.ctx.log.error({ err }, "frame could not be stored");
                });
            }
        };
        const onClosed = (reason: string, because: StatusReason): void => {
            const wasOpen = this.pipe !== undefined;
            this.pipe = undefined;
            this.clearConnectionTimers();
            const half = this.framer.reset();
            // A frame cut short because the gate closed the line itself is no bad input from the device.
            if (this.stopped) return;
            if (half.length > 0)
                void this.ctx.input({ kind: "discarded", bytes: half, why: "half frame at disconnect" });
            if (wasOpen) this.ctx.setStatus("offline", reason, because);
            this.scheduleRetry(reason, because, !wasOpen);
        };
        const address = this.options.address;
        if (address.transport === "tcp") openTcp(address.host, address.port, onOpen, onData, onClosed);
        else {
            (this.options.portClass ?? loadSerialPort)().then(
                (SerialPort) => openSerial(SerialPort, address, this.options.serialDefaults, onOpen, onData, onClosed),
                (err: unknown) => {
                    const detail = `serialport could not be loaded: ${errorMessage(err)}`;
                    onClosed(detail, failed(detail));
                },
            );
        }
    }

    private scheduleRetry(reason: string, because: StatusReason, firstFailure: boolean): void {
        const wait = this.backoff.next();
        if (firstFailure && this.attempts === 1) this.ctx.setStatus("offline", reason, because);
        this.ctx.log.debug({ waitMs: wait, reason }, "device connection retry scheduled");
        this.retryTimer = setTimeout(() => this.connectOnce(), wait);
    }

    private startPolling(): void {
        const poll = this.options.poll;
        if (!poll) return;
        const send = (): void => {
            this.pipe?.write(Uint8Array.from(poll.command)).catch((err: unknown) => {
                this.ctx.log.warn({ err: errorMessage(err) }, "poll command could not be written");
            });
        };
        send();
        this.pollTimer = setInterval(send, poll.intervalMs);
    }

    private armSilenceTimer(): void {
        clearTimeout(this.silenceTimer);
        const silenceMs = this.options.silenceMs;
        if (silenceMs === undefined) return;
        this.silenceTimer = setTimeout(() => {
            if (!this.pipe || this.silent) return;
            this.silent = true;
            this.ctx.setStatus("offline", `no data for ${silenceMs} ms`, { code: "SILENT", params: { ms: silenceMs } });
        }, silenceMs);
    }

    private clearConnectionTimers(): void {
        clearInterval(this.pollTimer);
        clearTimeout(this.silenceTimer);
        this.pollTimer = undefined;
        this.silenceTimer = undefined;
    }

    /** Called by the runtime when a frame arrives after silence, so the status flips back. */
    get isSilent(): boolean {
        return this.silent;
    }
}

function openTcp(
    host: string,
    port: number,
    onOpen: (pipe: Pipe) => void,
    onData: (chunk: Buffer) => void,
    onClosed: (reason: string, because: StatusReason) => void,
): void {
    const socket: Socket = connect({ host, port });
    let closedReason = "connection closed";
    let because: StatusReason = { code: "CONNECTION_CLOSED" };
    socket.setNoDelay(true);
    // Moxa's "TCP alive check" is 7 minutes; keepalive finds a dead peer long before that.
    socket.setKeepAlive(true, 10_000);
    socket.once("connect", () =>
        onOpen({
            write: (bytes) =>
                new Promise<void>((resolve, reject) => socket.write(bytes, (err) => (err ? reject(err) : resolve()))),
            close: () => socket.destroy(),
        }),
    );
    socket.on("data", onData);
    socket.on("error", (err) => {
        closedReason = err.message;
        because = failed(err.message);
    });
    socket.once("close", () => onClosed(closedReason, because));
}

/** A connection that failed with the system's own words (ECONNREFUSED, a serial port's error). */
function failed(detail: string): StatusReason {
    return { code: "CONNECTION_FAILED", params: { detail } };
}

let serialPortLoaded: Promise<typeof SerialPortClass> | undefined;

/** serialport and its native binding load only for a gate that has a local port (~30 ms of every start). */
function loadSerialPort(): Promise<SerialPortConstructor> {
    serialPortLoaded ??= import("serialport").then((module) => module.SerialPort);
    return serialPortLoaded;
}

function openSerial(
    SerialPort: SerialPortConstructor,
    address: Extract<DeviceAddress, { transport: "serial" }>,
    defaults: SerialDefaults,
    onOpen: (pipe: Pipe) => void,
    onData: (chunk: Buffer) => void,
    onClosed: (reason: string, because: StatusReason) => void,
): void {
    const port = new SerialPort({
        path: address.path,
        baudRate: address.baudRate ?? defaults.baudRate,
        dataBits: address.dataBits ?? defaults.dataBits,
        parity: address.parity ?? defaults.parity,
        stopBits: address.stopBits ?? defaults.stopBits,
        autoOpen: false,
    });
    let opened = false;
    let reported = false;
    const closed = (reason: string, because: StatusReason = failed(reason)): void => {
        if (reported) return;
        reported = true;
        onClosed(reason, because);
    };
    port.on("data", onData);
    port.on("error", (err) => {
        if (port.isOpen) port.close(() => undefined);
        closed(err.message);
    });
    port.on("close", (err: Error | null) =>
        err ? closed(err.message) : closed("port closed", { code: "CONNECTION_CLOSED" }),
    );
    port.open((err) => {
        if (err) {
            closed(err.message);
            return;
        }
        opened = true;
        onOpen({
            write: (bytes) =>
                new Promise<void>((resolve, reject) =>
                    port.write(Buffer.from(bytes), (writeErr) =>
                        writeErr ? reject(writeErr) : port.drain(() => resolve()),
                    ),
                ),
            close: () => {
                if (opened && port.isOpen) port.close(() => undefined);
            },
        });
    });
}

/** The serial transport: a local port (`serial://`) or a TCP serial server (`tcp://`), one device each. */
export const transport: TransportModule = {
    framesProveLife: true,
    describeAddress(device) {
        const address = addressOf(device, "serial", "tcp");
        return address.transport === "serial" ? `serial://${address.path}` : `tcp://${address.host}:${address.port}`;
    },
    doctorTarget(device) {
        const address = addressOf(device, "serial", "tcp");
        return address.transport === "serial"
            ? { kind: "local-port", path: address.path }
            : { kind: "network", host: address.host, port: address.port, url: `tcp://${address.host}:${address.port}` };
    },
    create(setup, ctx) {
        return serialTransport(setup, ctx);
    },
};

/** A serial device's transport; `portClass` is the binding injection point (SerialPortMock in unit tests). */
export function serialTransport(
    {
        device,
        config,
        ...setup
    }: Pick<TransportSetup, "device" | "model"> & {
        config: { ingest: Pick<TransportSetup["config"]["ingest"], "offlineAfterMs"> };
    },
    ctx: TransportContext,
    inject: Pick<SerialDriverOptions, "portClass" | "backoff"> = {},
): Transport {
    const model = modelOf(device, setup.model, "serial");
    const poll =
        model.kind === "weight" && model.poll
            ? { command: model.poll.command, intervalMs: device.pollIntervalMs ?? model.poll.intervalMs }
            : undefined;
    const driver = new SerialDriver(
        {
            address: addressOf(device, "serial", "tcp"),
            serialDefaults: model.serialDefaults,
            framer: model.framer,
            ...(poll && { poll }),
            // A scanner is quiet until something is scanned; a scale streams or answers polls.
            ...(model.kind === "weight" && { silenceMs: config.ingest.offlineAfterMs }),
            ...inject,
        },
        ctx,
    );
    return {
        capabilities: { ...READ_ONLY, poll: poll !== undefined },
        start: () => driver.start(),
        stop: () => driver.stop(),
        describe: () => ({ address: driver.description, connected: driver.connected }),
        ...(poll && { poll: () => driver.write(Uint8Array.from(poll.command)) }),
    };
}
