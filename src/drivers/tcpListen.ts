import { createServer, type Server, type Socket } from "node:net";
import type { ElockModel } from "../../devices/types.ts";
import type { DeviceAddress } from "../config/types.ts";
import { errorMessage } from "../core/errors.ts";
import { Backoff } from "./backoff.ts";
import { addressOf, modelOf, READ_ONLY, type TransportContext, type TransportModule } from "./transport.ts";

export interface TcpListenOptions {
    address: Extract<DeviceAddress, { transport: "tcp-listen" }>;
    /** The model's framing and answers; decoding is the runtime's. */
    model: Pick<ElockModel, "cut" | "acknowledge" | "maxFrameBytes">;
    backoff?: Backoff;
}

/**
 * Frames of one connection handed on but not yet durable. Past this the socket is paused, so a lock
 * that floods cannot queue frames without bound while the store is slow.
 */
const MAX_PENDING_FRAMES = 64;

/**
 * A TCP listener devices dial in to (GPS e-locks over GPRS: `tcp-listen://0.0.0.0:5013`). One listener
 * serves many devices; each names itself inside its frames, so the connection is only a pipe. Per
 * connection: frames cut by the model, buffered at most `maxFrameBytes` (garbage and over-long runs are
 * discarded and counted), handed on in order, and answered with the model's acknowledgement only once
 * what the frame carried is durable; a lock that gets no answer sends its data again. Connections over
 * `maxConnections` are closed at once, idle ones after `idleTimeoutMs`.
 *
 * Status: online while listening (locks come and go with the trucks; no lock connected is normal).
 * Error rules: `start()` never rejects; a port that cannot be bound is `offline` and retried with
 * backoff. `stop()` is idempotent and closes the listener and every connection.
 */
export class TcpListenDriver {
    private server: Server | undefined;
    private readonly sockets = new Set<Socket>();
    private stopped = true;
    private retryTimer: NodeJS.Timeout | undefined;
    private readonly backoff: Backoff;
    private boundPort: number | undefined;
    /** Connections closed at once because maxConnections were open. */
    refusedConnections = 0;

    constructor(
        private readonly options: TcpListenOptions,
        private readonly ctx: TransportContext,
    ) {
        this.backoff = options.backoff ?? new Backoff();
    }

    /** The port listened on (the system's choice for port 0), once listening. */
    get port(): number | undefined {
        return this.boundPort;
    }

    get connections(): number {
        return this.sockets.size;
    }

    get description(): string {
        const { host, port } = this.options.address;
        return `tcp-listen://${host}:${this.boundPort ?? port}`;
    }

    async start(): Promise<void> {
        if (!this.stopped) return;
        this.stopped = false;
        await this.listenOnce();
    }

    async stop(): Promise<void> {
        this.stopped = true;
        clearTimeout(this.retryTimer);
        for (const socket of this.sockets) socket.destroy();
        this.sockets.clear();
        const server = this.server;
        this.server = undefined;
        this.boundPort = undefined;
        if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    }

    private listenOnce(): Promise<void> {
        const { host, port, maxConnections } = this.options.address;
        const server = createServer((socket) => this.accept(socket, maxConnections));
        return new Promise<void>((resolve) => {
            server.once("listening", () => {
                if (this.stopped) {
                    server.close();
                    resolve();
                    return;
                }
                this.server = server;
                const bound = server.address();
                this.boundPort = typeof bound === "object" && bound ? bound.port : port;
                this.backoff.reset();
                this.ctx.setStatus("online", `listening on ${this.description}`, {
                    code: "LISTENING",
                    params: { target: this.description },
                });
                resolve();
            });
            server.once("error", (err) => {
                server.close();
                if (this.stopped) {
                    resolve();
                    return;
                }
                const wait = this.backoff.next();
                this.ctx.setStatus("offline", `cannot listen on ${host}:${port}: ${err.message}`, {
                    code: "LISTEN_FAILED",
                    params: { target: `${host}:${port}`, detail: err.message },
                });
                this.retryTimer = setTimeout(() => void this.listenOnce(), wait);
                resolve();
            });
            server.listen({ host, port });
        });
    }

    private accept(socket: Socket, maxConnections: number): void {
        const peer = `${socket.remoteAddress}:${socket.remotePort}`;
        if (this.stopped || this.sockets.size >= maxConnections) {
            this.refusedConnections++;
            this.ctx.log.warn({ peer, maxConnections }, "connection refused: listener at its connection limit");
            socket.destroy();
            return;
        }
        this.sockets.add(socket);
        socket.setNoDelay(true);
        socket.setKeepAlive(true, 30_000);
        socket.setTimeout(this.options.address.idleTimeoutMs, () => {
            this.ctx.log.info({ peer }, "idle connection closed");
            socket.destroy();
        });
        const { model } = this.options;
        let buffer: Buffer = Buffer.alloc(0);
        let pending = 0;
        let chain = Promise.resolve();
        const handOn = (frame: Buffer): void => {
            pending++;
            if (pending >= MAX_PENDING_FRAMES) socket.pause();
            chain = chain
                .then(() => this.ctx.input({ kind: "frame", bytes: frame }))
                .then(
                    () => {
                        const answer = model.acknowledge(frame);
                        if (answer && !socket.destroyed) socket.write(answer);
                    },
                    (err: unknown) => this.ctx.log.error({ err, peer }, "frame could not be stored; not acknowledged"),
                )
                .finally(() => {
                    pending--;
                    if (pending < MAX_PENDING_FRAMES && socket.isPaused()) socket.resume();
                });
        };
        socket.on("data", (chunk: Buffer) => {
            buffer = buffer.length === 0 ? chunk : Buffer.concat([buffer, chunk]);
            for (;;) {
                const cut = model.cut(buffer);
                if (cut.type === "more") break;
                const length = Math.max(1, Math.min(cut.length, buffer.length));
                const piece = Buffer.from(buffer.subarray(0, length));
                buffer = buffer.subarray(length);
                if (cut.type === "frame") handOn(piece);
                else void this.ctx.input({ kind: "discarded", bytes: piece, why: "bytes outside a frame" });
                if (buffer.length === 0) break;
            }
            if (buffer.length > model.maxFrameBytes) {
                void this.ctx.input({
                    kind: "discarded",
                    bytes: Buffer.from(buffer),
                    why: `no frame end within ${model.maxFrameBytes} bytes`,
                });
                buffer = Buffer.alloc(0);
            }
        });
        socket.on("error", (err) => this.ctx.log.debug({ peer, err: errorMessage(err) }, "connection error"));
        socket.once("close", () => {
            this.sockets.delete(socket);
            if (buffer.length > 0 && !this.stopped)
                void this.ctx.input({ kind: "discarded", bytes: Buffer.from(buffer), why: "half frame at disconnect" });
            buffer = Buffer.alloc(0);
        });
    }
}

/** The listening transport: one port devices dial in to (GPS e-locks over GPRS). */
export const transport: TransportModule = {
    framesProveLife: false,
    describeAddress(device) {
        const address = addressOf(device, "tcp-listen");
        return `tcp-listen://${address.host}:${address.port}`;
    },
    doctorTarget: () => ({ kind: "listener" }),
    create({ device, model }, ctx) {
        const listener = new TcpListenDriver(
            { address: addressOf(device, "tcp-listen"), model: modelOf(device, model, "tcp-listen") },
            ctx,
        );
        return {
            capabilities: READ_ONLY,
            start: () => listener.start(),
            stop: () => listener.stop(),
            describe: () => ({
                address: listener.description,
                ...(listener.port !== undefined && { listeningPort: listener.port }),
            }),
        };
    },
};
