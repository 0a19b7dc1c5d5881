/**
 * Byte transports a simulated serial device serves on, so gate-edge reaches it exactly as it reaches the
 * real one: a serial port (a PTY pair made by socat) or a Moxa NPort-style TCP serial server.
 *
 * Both behave like wires, not like queues: bytes written while nobody listens are lost (a UART does not
 * wait for a reader), and `unplug()` / `plug()` reproduce the faults technicians see on site.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { lstat, stat, unlink } from "node:fs/promises";
import { type AddressInfo, createServer, type Server, type Socket } from "node:net";
import { resolve as resolvePath } from "node:path";
import { SerialPort } from "serialport";
import type { SerialDefaults } from "../devices/types.ts";
import { errorMessage, GateError } from "../src/core/errors.ts";
import type { Rng } from "./random.ts";

export type LinkEventType = "listening" | "connected" | "disconnected" | "rejected" | "unplugged" | "plugged" | "error";

/** Something a technician wants to see happen on the link (a client came, a port vanished). */
export interface LinkEvent {
    type: LinkEventType;
    detail: string;
}

/**
 * The device side of a wire. The simulator writes device bytes and receives the host's bytes.
 *
 * Error rules: `start()` and `plug()` reject with a GateError when the link cannot be made (socat missing,
 * port in use, link path taken); `write()` never throws and drops bytes nobody can receive; `stop()`,
 * `unplug()` never reject and are idempotent. Listeners must not throw.
 */
export interface ByteLink {
    /** Where gate-edge connects, e.g. "tcp://127.0.0.1:4001" or "pty /tmp/ttyScale". */
    readonly description: string;
    /** Makes the link available. A second call while started does nothing. */
    start(): Promise<void>;
    /** Tears the link down for good; the simulator is finished with it. */
    stop(): Promise<void>;
    /** Sends device bytes to the host. Dropped (and counted) while no host can receive them. */
    write(bytes: Uint8Array): void;
    /** Host → device bytes, in whatever chunks they arrive. Returns a function that removes the listener. */
    onData(listener: (bytes: Uint8Array) => void): () => void;
    /** Link happenings for the operator's console. Returns a function that removes the listener. */
    onEvent(listener: (event: LinkEvent) => void): () => void;
    /** The cable or adapter is pulled: the host's port or socket goes away. */
    unplug(): Promise<void>;
    /** Plugged back in on the same path or port. */
    plug(): Promise<void>;
}

/** A small listener list; `add` returns the remover so stop() can undo what start() registered. */
class Listeners<T> {
    private readonly listeners = new Set<(value: T) => void>();

    add(listener: (value: T) => void): () => void {
        this.listeners.add(listener);
        return () => this.listeners.delete(listener);
    }

    emit(value: T): void {
        for (const listener of this.listeners) listener(value);
    }
}

// ---------------------------------------------------------------------------------------------------
// PTY pair (socat)

export interface PtyPairOptions {
    /** Path of the symlink the simulator opens, e.g. /tmp/ttyScaleDevice. */
    deviceLink: string;
    /** Path of the symlink gate-edge opens as its serial port, e.g. /tmp/ttyScale. */
    hostLink: string;
    /** Line settings the device side is opened with (the model's serialDefaults). Default 9600 8N1. */
    serial?: SerialDefaults;
    /** socat binary; default "socat" from PATH. */
    socatPath?: string;
    /** How long socat may take to create both PTYs. Default 5000 ms. */
    startTimeoutMs?: number;
}

const DEFAULT_SERIAL: SerialDefaults = { baudRate: 9600, dataBits: 8, parity: "none", stopBits: 1 };
/** A UART never blocks its sender; past this many unsent bytes (nobody reads the host side) we drop. */
const MAX_PENDING_SERIAL_BYTES = 4096;
/** socat address syntax uses these characters, so a path containing them would be misparsed. */
const SOCAT_UNSAFE_PATH = /[,:!\s]/;

/**
 * Two linked pseudo-terminals made by `socat -d -d pty,raw,echo=0,link=<device> pty,raw,echo=0,link=<host>`.
 * The simulator opens the device link with serialport; gate-edge opens the host link as if it were
 * /dev/ttyUSB0. `unplug()` kills socat so the host link disappears, like a USB-serial adapter pulled out.
 *
 * Error rules: start() rejects with GateError SYSTEM_TOOL_MISSING when socat is not installed, and with
 * SIMULATOR_USAGE when a link path is unusable (a regular file is never replaced; a symlink to a live
 * device is treated as another simulator's). If socat dies on its own, an "error" LinkEvent is emitted.
 */
export class PtyPair implements ByteLink {
    private child: ChildProcess | undefined;
    private port: SerialPort | undefined;
    private running = false;
    private plugged = false;
    private readonly data = new Listeners<Uint8Array>();
    private readonly events = new Listeners<LinkEvent>();
    /** Bytes written while the device side was closed or nobody drained the host side. */
    dropped = 0;

    constructor(private readonly options: PtyPairOptions) {}

    /** Absolute path gate-edge opens. */
    get hostPath(): string {
        return resolvePath(this.options.hostLink);
    }

    get devicePath(): string {
        return resolvePath(this.options.deviceLink);
    }

    get description(): string {
        return `pty ${this.hostPath}`;
    }

    /** True while socat runs and the device side is open. */
    get isPlugged(): boolean {
        return this.plugged;
    }

    async start(): Promise<void> {
        if (this.running) return;
        this.running = true;
        try {
            await this.connect();
        } catch (err) {
            this.running = false;
            throw err;
        }
    }

    async stop(): Promise<void> {
        this.running = false;
        await this.disconnect();
    }

    write(bytes: Uint8Array): void {
        const port = this.port;
        if (!this.plugged || !port?.isOpen || port.writableLength > MAX_PENDING_SERIAL_BYTES) {
            this.dropped += bytes.length;
            return;
        }
        port.write(Buffer.from(bytes));
    }

    onData(listener: (bytes: Uint8Array) => void): () => void {
        return this.data.add(listener);
    }

    onEvent(listener: (event: LinkEvent) => void): () => void {
        return this.events.add(listener);
    }

    async unplug(): Promise<void> {
        if (!this.plugged) return;
        await this.disconnect();
        this.events.emit({ type: "unplugged", detail: `${this.hostPath} removed` });
    }

    /** Error rule: rejects like start(); rejects with SIMULATOR_USAGE when the link was never started. */
    async plug(): Promise<void> {
        if (!this.running) throw new GateError("SIMULATOR_USAGE", "plug() before start() or after stop()");
        if (this.plugged) return;
        await this.connect();
        this.events.emit({ type: "plugged", detail: `${this.hostPath} is back` });
    }

    private async connect(): Promise<void> {
        const device = this.devicePath;
        const host = this.hostPath;
        if (device === host) throw new GateError("SIMULATOR_USAGE", "the device and host links must differ");
        await checkLinkPath(device);
        await checkLinkPath(host);
        this.child = await this.spawnSocat(device, host);
        try {
            this.port = await openSerial(device, this.options.serial ?? DEFAULT_SERIAL);
        } catch (err) {
            await this.killSocat();
            throw new GateError("SIMULATOR_USAGE", `cannot open ${device}: ${errorMessage(err)}`, { cause: err });
        }
        this.port.on("data", (chunk: Buffer) => this.data.emit(chunk));
        // Without a listener an 'error' would crash the process; a vanished PTY is reported instead.
        this.port.on("error", (err: Error) => this.events.emit({ type: "error", detail: err.message }));
        this.plugged = true;
        this.events.emit({ type: "listening", detail: `open ${host} as the serial port` });
    }

    private async disconnect(): Promise<void> {
        this.plugged = false;
        const port = this.port;
        this.port = undefined;
        if (port?.isOpen) {
            await new Promise<void>((resolve) => port.close(() => resolve()));
        }
        port?.removeAllListeners("data");
        await this.killSocat();
    }

    private spawnSocat(device: string, host: string): Promise<ChildProcess> {
        const socat = this.options.socatPath ?? "socat";
        const args = ["-d", "-d", `pty,raw,echo=0,link=${device}`, `pty,raw,echo=0,link=${host}`];
        const timeoutMs = this.options.startTimeoutMs ?? 5000;
        return new Promise((resolve, reject) => {
            const child = spawn(socat, args, { stdio: ["ignore", "ignore", "pipe"] });
            let log = "";
            let ready = false;
            const fail = (err: Error) => {
                clearTimeout(timer);
                child.kill("SIGKILL");
                reject(err);
            };
            const timer = setTimeout(
                () =>
                    fail(new GateError("SYSTEM_TOOL_MISSING", `socat did not create the PTYs within ${timeoutMs} ms`)),
                timeoutMs,
            );
            child.stderr?.setEncoding("utf8");
            child.stderr?.on("data", (chunk: string) => {
                // Keep only a tail: socat's log is for the error message, not for memory to grow.
                log = (log + chunk).slice(-2000);
                if (!ready && log.includes("starting data transfer loop")) {
                    ready = true;
                    clearTimeout(timer);
                    resolve(child);
                }
            });
            child.on("error", (err: NodeJS.ErrnoException) => {
                if (err.code === "ENOENT") {
                    fail(
                        new GateError(
                            "SYSTEM_TOOL_MISSING",
                            `'${socat}' is not installed; PTY simulation needs it (apt-get install socat), or use --tcp`,
                            { cause: err },
                        ),
                    );
                } else {
                    fail(err);
                }
            });
            child.on("exit", (code, signal) => {
                if (!ready) {
                    fail(new GateError("SIMULATOR_USAGE", `socat exited (${signal ?? code}): ${log.trim()}`));
                } else if (this.child === child) {
                    // Not killed by us: the host port is gone without unplug() having been asked for.
                    this.child = undefined;
                    this.plugged = false;
                    this.events.emit({ type: "error", detail: `socat exited unexpectedly (${signal ?? code})` });
                }
            });
        });
    }

    private async killSocat(): Promise<void> {
        const child = this.child;
        this.child = undefined;
        if (child && child.exitCode === null && child.signalCode === null) {
            const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
            // SIGTERM lets socat remove its symlinks; SIGKILL only if it hangs.
            child.kill("SIGTERM");
            const timer = setTimeout(() => child.kill("SIGKILL"), 2000);
            await exited;
            clearTimeout(timer);
        }
        await removeDanglingLink(this.devicePath);
        await removeDanglingLink(this.hostPath);
    }
}

function openSerial(path: string, serial: SerialDefaults): Promise<SerialPort> {
    const port = new SerialPort({
        path,
        baudRate: serial.baudRate,
        dataBits: serial.dataBits,
        parity: serial.parity,
        stopBits: serial.stopBits,
        autoOpen: false,
    });
    return new Promise((resolve, reject) => port.open((err) => (err ? reject(err) : resolve(port))));
}

/** Refuses paths socat would misparse, regular files (socat would replace them) and live symlinks. */
async function checkLinkPath(path: string): Promise<void> {
    if (SOCAT_UNSAFE_PATH.test(path)) {
        throw new GateError("SIMULATOR_USAGE", `link path ${JSON.stringify(path)} must not contain , : ! or spaces`);
    }
    const info = await lstat(path).catch(() => undefined);
    if (!info) return;
    if (!info.isSymbolicLink()) {
        throw new GateError("SIMULATOR_USAGE", `${path} exists and is not a symlink; refusing to replace it`);
    }
    const target = await stat(path).catch(() => undefined);
    if (target) {
        throw new GateError(
            "SIMULATOR_USAGE",
            `${path} already links to a live device (another simulator?); remove it`,
        );
    }
}

/** socat removes its links on SIGTERM, not on SIGKILL; clear leftovers so the next plug() can use the path. */
async function removeDanglingLink(path: string): Promise<void> {
    const info = await lstat(path).catch(() => undefined);
    if (!info?.isSymbolicLink()) return;
    const target = await stat(path).catch(() => undefined);
    if (!target) await unlink(path).catch(() => undefined);
}

// ---------------------------------------------------------------------------------------------------
// TCP serial server (Moxa NPort "TCP server" mode)

/**
 * How device bytes are cut into TCP segments. A serial device server packs serial bytes by its own
 * timers, so frames arrive split and merged; "whole" is the kind case, "bytewise" the cruellest.
 */
export type Chunking = "whole" | "random" | "bytewise";
export const CHUNKINGS: readonly Chunking[] = ["whole", "random", "bytewise"];

export interface TcpSerialServerOptions {
    /** Default 127.0.0.1. */
    host?: string;
    /** 0 picks a free port; plug() after unplug() reuses the port first bound. Moxa's default is 4001. */
    port: number;
    /** Default "whole". */
    chunking?: Chunking;
    /** Chooses chunk sizes in "random" mode. Default Math.random. */
    rng?: Rng;
}

/**
 * Longest a "random" chunk tail is held back waiting to be merged with the next write: a little more
 * than one frame period at 10 Hz, so a held tail sometimes leaves glued to the next frame.
 */
const MAX_HOLD_MS = 120; // ms
/** Beyond this many bytes queued for a client that does not read, bytes are dropped (NPort has 1 KB per port). */
const MAX_PENDING_TCP_BYTES = 64 * 1024;

/**
 * A Moxa NPort lookalike in "TCP server" mode: listens on host:port, serves ONE client at a time (a second
 * connection is closed at once, as with the NPort's default "max connection 1"), sends device bytes to it
 * and passes its bytes to the device. Bytes written with no client connected are lost.
 *
 * Error rules: start()/plug() reject with GateError SIMULATOR_USAGE when the port cannot be bound; socket
 * errors are reported as "error" LinkEvents and never thrown.
 */
export class TcpSerialServer implements ByteLink {
    private server: Server | undefined;
    private client: Socket | undefined;
    private queue: Buffer = Buffer.alloc(0);
    private pumpScheduled = false;
    private holdTimer: NodeJS.Timeout | undefined;
    private boundPort: number | undefined;
    private running = false;
    private readonly data = new Listeners<Uint8Array>();
    private readonly events = new Listeners<LinkEvent>();
    /** Bytes written while no client was connected (or a client stopped reading). */
    dropped = 0;
    /** Connections refused because one client was already connected. */
    rejected = 0;

    constructor(private readonly options: TcpSerialServerOptions) {}

    get host(): string {
        return this.options.host ?? "127.0.0.1";
    }

    /** The bound port once started (the real one when 0 was asked for). */
    get port(): number {
        return this.boundPort ?? this.options.port;
    }

    get description(): string {
        const host = this.host.includes(":") ? `[${this.host}]` : this.host;
        return `tcp://${host}:${this.port}`;
    }

    get connected(): boolean {
        return this.client !== undefined;
    }

    get isPlugged(): boolean {
        return this.server !== undefined;
    }

    async start(): Promise<void> {
        if (this.running) return;
        this.running = true;
        try {
            await this.listen();
        } catch (err) {
            this.running = false;
            throw err;
        }
    }

    async stop(): Promise<void> {
        this.running = false;
        await this.close();
    }

    write(bytes: Uint8Array): void {
        const client = this.client;
        if (!client || client.writableLength > MAX_PENDING_TCP_BYTES) {
            this.dropped += bytes.length;
            return;
        }
        const chunking = this.options.chunking ?? "whole";
        if (chunking === "whole") {
            client.write(Buffer.from(bytes));
            return;
        }
        this.queue = this.queue.length === 0 ? Buffer.from(bytes) : Buffer.concat([this.queue, bytes]);
        if (this.holdTimer) {
            // A held tail meets new bytes: send them together, which is how frames end up merged.
            clearTimeout(this.holdTimer);
            this.holdTimer = undefined;
        }
        this.schedulePump();
    }

    onData(listener: (bytes: Uint8Array) => void): () => void {
        return this.data.add(listener);
    }

    onEvent(listener: (event: LinkEvent) => void): () => void {
        return this.events.add(listener);
    }

    async unplug(): Promise<void> {
        if (!this.server) return;
        await this.close();
        this.events.emit({ type: "unplugged", detail: `${this.description} no longer listening` });
    }

    /** Error rule: rejects like start(); rejects with SIMULATOR_USAGE when the link was never started. */
    async plug(): Promise<void> {
        if (!this.running) throw new GateError("SIMULATOR_USAGE", "plug() before start() or after stop()");
        if (this.server) return;
        await this.listen();
        this.events.emit({ type: "plugged", detail: `${this.description} listening again` });
    }

    private async listen(): Promise<void> {
        const server = createServer((socket) => this.accept(socket));
        await new Promise<void>((resolve, reject) => {
            server.once("error", (err: NodeJS.ErrnoException) => {
                reject(
                    new GateError(
                        "SIMULATOR_USAGE",
                        `cannot listen on ${this.description}: ${err.code ?? err.message}`,
                        {
                            cause: err,
                        },
                    ),
                );
            });
            server.listen(this.port, this.host, () => resolve());
        });
        server.removeAllListeners("error");
        server.on("error", (err) => this.events.emit({ type: "error", detail: err.message }));
        this.server = server;
        this.boundPort = (server.address() as AddressInfo).port;
        this.events.emit({ type: "listening", detail: `one client at a time, ${this.chunking} chunks` });
    }

    private get chunking(): Chunking {
        return this.options.chunking ?? "whole";
    }

    private accept(socket: Socket): void {
        const peer = `${socket.remoteAddress}:${socket.remotePort}`;
        if (this.client) {
            this.rejected++;
            socket.destroy();
            this.events.emit({ type: "rejected", detail: `${peer}: one connection at a time` });
            return;
        }
        this.client = socket;
        // Without this, Nagle would glue our deliberately separate writes back together.
        socket.setNoDelay(true);
        // NPort's "TCP alive check" (default 7 min) drops half-open connections; keepalive does the same here.
        socket.setKeepAlive(true, 7 * 60_000);
        socket.on("data", (chunk: Buffer) => this.data.emit(chunk));
        socket.on("error", (err) => this.events.emit({ type: "error", detail: `${peer}: ${err.message}` }));
        socket.on("close", () => {
            if (this.client !== socket) return;
            this.client = undefined;
            this.clearQueue();
            this.events.emit({ type: "disconnected", detail: peer });
        });
        this.events.emit({ type: "connected", detail: peer });
    }

    private async close(): Promise<void> {
        const server = this.server;
        this.server = undefined;
        const client = this.client;
        this.client = undefined;
        this.clearQueue();
        client?.destroy();
        if (client) this.events.emit({ type: "disconnected", detail: `${client.remoteAddress}:${client.remotePort}` });
        if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    }

    private clearQueue(): void {
        this.queue = Buffer.alloc(0);
        clearTimeout(this.holdTimer);
        this.holdTimer = undefined;
    }

    private schedulePump(): void {
        if (this.pumpScheduled) return;
        this.pumpScheduled = true;
        // setImmediate between writes: each write leaves in its own segment because the event loop
        // polls (and the kernel sends) between them.
        setImmediate(() => this.pump());
    }

    private pump(): void {
        this.pumpScheduled = false;
        const client = this.client;
        if (!client || this.queue.length === 0 || this.holdTimer) return;
        const rng = this.options.rng ?? Math.random;
        const size = this.chunking === "bytewise" ? 1 : 1 + Math.floor(rng() * this.queue.length);
        client.write(this.queue.subarray(0, size));
        this.queue = this.queue.subarray(size);
        if (this.queue.length === 0) return;
        if (this.chunking === "random" && rng() < 0.3) {
            // Hold the tail back, like a device server waiting for its packing timer, so it may leave
            // together with the next frame.
            this.holdTimer = setTimeout(
                () => {
                    this.holdTimer = undefined;
                    this.pump();
                },
                1 + Math.floor(rng() * MAX_HOLD_MS),
            );
            return;
        }
        this.schedulePump();
    }
}
