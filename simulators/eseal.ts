/**
 * An e-seal reader that publishes over MQTT (docs/devices.md "E-seals and e-locks"): seal reads, periodic heartbeats, tamper
 * and low-battery events, RF dropouts. Payloads and subtopics come from the model's encode(), QoS 1 under
 * `<topicPrefix>/<subtopic>`, so the broker's ACL and gate-edge's decoder see what a real reader sends.
 */
import { randomBytes as cryptoRandomBytes } from "node:crypto";
import { EventEmitter } from "node:events";
import { connect, type ErrorWithReasonCode, type MqttClient } from "mqtt";
import type { SealMessage, SealReaderModel } from "../devices/types.ts";
import { errorMessage, GateError } from "../src/core/errors.ts";
import type { SealStatus, SealValues } from "../src/core/events.ts";
import { resolveModel } from "./models.ts";
import { forgivingPromise } from "./promises.ts";
import { type Rng, randomInt } from "./random.ts";

export interface SealReaderSimulatorOptions {
    /** Model id from devices/ (e.g. "eseal-mqtt-json") or a SealReaderModel object. */
    model: string | SealReaderModel;
    /** e.g. mqtt://127.0.0.1:1883 */
    brokerUrl: string;
    username?: string;
    password?: string;
    /** The reader's own topic, e.g. gate/HN01/devices/seal-l1; messages go to `<topicPrefix>/<subtopic>`. */
    topicPrefix: string;
    readerId: string;
    /** ms between heartbeats. Default 30 000 (readers send one every 30–60 s). */
    heartbeatMs?: number;
    /** ms between reconnect attempts after the broker goes away. Default 2000. */
    reconnectMs?: number;
    /** Seedable source for RSSI values. Default Math.random. */
    rng?: Rng;
}

/** One seal as the reader hears it. */
export interface SealRead {
    sealId: string;
    type: SealValues["type"];
    status: SealStatus;
    /** Battery charge 0–100; below 20 % the reader flags it low. */
    batteryPct?: number;
    alerts?: string[];
    /** Signal strength in dBm; default a plausible −45…−75. */
    rssi?: number;
    /** The container the seal is fixed to, reported with each read (an ISO 18185 reader); absent: not reported. */
    container?: string;
}

// A type alias, not an interface: EventEmitter's type parameter needs an index-compatible map.
export type SealReaderSimulatorEvents = {
    connected: [];
    /** The connection to the broker dropped; mqtt.js retries by itself. */
    offline: [];
    /** Connecting failed or the connection broke (refused, auth, socket error). Retrying continues. */
    connectionError: [error: Error];
    /** A publish was not acknowledged (the message is lost unless the caller retries). */
    publishError: [error: Error, message: SealMessage];
    /** A message was PUBACKed by the broker. */
    published: [topic: string, message: SealMessage];
    /** The radio link dropped or came back. */
    rf: [state: "lost" | "restored"];
};

const LOW_BATTERY_PCT = 20;
const AUTH_REASON_CODES = new Set([4, 5, 134, 135]); // MQTT 3.1.1 bad credentials/not authorized, MQTT 5 the same

/**
 * Error rules: start() rejects with GateError MODEL_UNKNOWN (unknown model), SIMULATOR_USAGE (bad URL or
 * topic prefix), BROKER_AUTH (the broker refused the credentials on the first connect) and DRIVER_CANCELED
 * (stop() before the first connect). Unreachable brokers are retried forever and reported as
 * "connectionError" events. read() rejects when the publish fails (also reported as "publishError").
 */
export class SealReaderSimulator extends EventEmitter<SealReaderSimulatorEvents> {
    private model: SealReaderModel | undefined;
    private client: MqttClient | undefined;
    private heartbeatTimer: NodeJS.Timeout | undefined;
    private rfTimer: NodeJS.Timeout | undefined;
    private rfLostUntil = 0;
    private cancelStart: ((err: Error) => void) | undefined;
    private readonly seals = new Map<string, SealRead>();
    /** Messages PUBACKed by the broker. */
    published = 0;
    /** Reads that went nowhere because the radio link was down. */
    lost = 0;

    constructor(private readonly options: SealReaderSimulatorOptions) {
        super();
    }

    get connected(): boolean {
        return this.client?.connected ?? false;
    }

    get rfLost(): boolean {
        return Date.now() < this.rfLostUntil;
    }

    get description(): string {
        return `${this.options.brokerUrl} ${this.options.topicPrefix}`;
    }

    /** Connects and resolves on the first CONNACK; then heartbeats run until stop(). */
    async start(): Promise<void> {
        if (this.client) return;
        const model = resolveModel("seal", this.options.model);
        const prefix = this.options.topicPrefix;
        if (prefix === "" || /[+#]/.test(prefix) || prefix.endsWith("/")) {
            throw new GateError("SIMULATOR_USAGE", `topic prefix ${JSON.stringify(prefix)} must be a plain topic`);
        }
        const heartbeatMs = this.options.heartbeatMs ?? 30_000;
        if (!(heartbeatMs > 0)) throw new GateError("SIMULATOR_USAGE", `heartbeatMs must be > 0, got ${heartbeatMs}`);
        this.model = model;
        let client: MqttClient;
        try {
            client = connect(this.options.brokerUrl, {
                clientId: `${this.options.readerId}-sim-${cryptoRandomBytes(3).toString("hex")}`,
                username: this.options.username,
                password: this.options.password,
                reconnectPeriod: this.options.reconnectMs ?? 2000, // ms
                connectTimeout: 5000, // ms
                keepalive: 30, // s
                // A broker restarted with an ACL reload may refuse once; a reader in the field keeps trying.
                reconnectOnConnackError: true,
            });
        } catch (err) {
            throw new GateError("SIMULATOR_USAGE", `broker URL ${this.options.brokerUrl}: ${errorMessage(err)}`, {
                cause: err,
            });
        }
        this.client = client;
        client.on("connect", () => {
            this.emit("connected");
            this.heartbeat();
        });
        client.on("offline", () => this.emit("offline"));
        client.on("error", (err) => this.emit("connectionError", err));
        try {
            await new Promise<void>((resolve, reject) => {
                this.cancelStart = reject;
                client.once("connect", () => resolve());
                client.on("error", (err: Error | ErrorWithReasonCode) => {
                    if ("code" in err && typeof err.code === "number" && AUTH_REASON_CODES.has(err.code)) {
                        reject(
                            new GateError("BROKER_AUTH", `${this.options.brokerUrl}: ${err.message}`, { cause: err }),
                        );
                    }
                });
            });
        } catch (err) {
            this.client = undefined;
            await client.endAsync(true).catch(() => undefined);
            throw err;
        } finally {
            this.cancelStart = undefined;
        }
        this.heartbeatTimer = setInterval(() => this.heartbeat(), heartbeatMs);
    }

    /**
     * Stops heartbeats and disconnects, waiting briefly for in-flight publishes; those still unacknowledged
     * then reject. Idempotent.
     */
    async stop(): Promise<void> {
        clearInterval(this.heartbeatTimer);
        this.heartbeatTimer = undefined;
        clearTimeout(this.rfTimer);
        this.rfTimer = undefined;
        this.cancelStart?.(new GateError("DRIVER_CANCELED", "seal reader simulator stopped"));
        const client = this.client;
        this.client = undefined;
        if (!client) return;
        const graceful = client.endAsync(false);
        let timer: NodeJS.Timeout | undefined;
        const timedOut = new Promise<"timeout">((resolve) => {
            timer = setTimeout(() => resolve("timeout"), 2000);
        });
        const result = await Promise.race([graceful.then(() => "done" as const), timedOut]).catch(() => "done");
        clearTimeout(timer);
        if (result === "timeout") await client.endAsync(true).catch(() => undefined);
    }

    /**
     * The reader hears a seal. Resolves true once the broker PUBACKs the read, false when the read was lost
     * to an RF dropout. While the broker is unreachable the read waits in mqtt.js's queue and is sent on
     * reconnect. Rejects if the publish fails or the simulator stops first (also reported as "publishError";
     * a caller that dropped the promise does not get an unhandled rejection).
     */
    read(seal: SealRead): Promise<boolean> {
        return forgivingPromise(this.publishRead(seal));
    }

    /** The seal read again as last heard (a periodic re-read; a tampered seal stays tampered). */
    reread(sealId: string): Promise<boolean> {
        return this.read(this.knownSeal(sealId));
    }

    /** The seal's rope is cut: status TAMPERED with alert ROPE_CUT. A tampered seal stays tampered. */
    tamper(sealId: string): Promise<boolean> {
        return this.read({ ...this.knownSeal(sealId), status: "TAMPERED", alerts: ["ROPE_CUT"] });
    }

    /** The seal reports a nearly flat battery (default 8 %). */
    lowBattery(sealId: string, pct = 8): Promise<boolean> {
        return this.read({ ...this.knownSeal(sealId), batteryPct: pct });
    }

    /** The radio link drops for `ms`: nothing is published (reads are lost, heartbeats skipped). */
    rfLoss(ms: number): void {
        if (!(ms > 0)) throw new GateError("SIMULATOR_USAGE", `RF loss duration must be > 0 ms, got ${ms}`);
        this.rfLostUntil = Date.now() + ms;
        clearTimeout(this.rfTimer);
        this.emit("rf", "lost");
        this.rfTimer = setTimeout(() => {
            this.rfTimer = undefined;
            this.emit("rf", "restored");
            this.heartbeat();
        }, ms);
    }

    private async publishRead(seal: SealRead): Promise<boolean> {
        const known = this.seals.get(seal.sealId);
        this.seals.set(seal.sealId, { ...known, ...seal, alerts: [] });
        if (this.rfLost) {
            this.lost++;
            return false;
        }
        const battery =
            seal.batteryPct === undefined
                ? undefined
                : { pct: seal.batteryPct, low: seal.batteryPct < LOW_BATTERY_PCT };
        const message: SealMessage = {
            msg: "read",
            sealId: seal.sealId,
            type: seal.type,
            status: seal.status,
            ...(battery ? { battery } : {}),
            alerts: seal.alerts ?? [],
            readerId: this.options.readerId,
            rssi: seal.rssi ?? -randomInt(this.options.rng ?? Math.random, 45, 75),
            ...(seal.container !== undefined && { container: seal.container }),
            ts: new Date().toISOString(),
        };
        await this.publish(message);
        return true;
    }

    private knownSeal(sealId: string): SealRead {
        // A seal never read before: assume the GPS e-seals Vietnam customs uses (docs/devices.md "E-seals and e-locks").
        return this.seals.get(sealId) ?? { sealId, type: "GPS", status: "SEALED" };
    }

    private heartbeat(): void {
        // Heartbeats are "I am alive now"; queueing them while offline would only replay stale ones.
        if (!this.client?.connected || this.rfLost) return;
        this.publish({ msg: "heartbeat", readerId: this.options.readerId, ts: new Date().toISOString() }).catch(
            () => undefined, // already reported as publishError
        );
    }

    private async publish(message: SealMessage): Promise<void> {
        const client = this.client;
        const model = this.model;
        if (!client || !model) throw new GateError("SIMULATOR_USAGE", "seal reader simulator is not started");
        const { subtopic, payload } = model.encode(message);
        const topic = subtopic === "" ? this.options.topicPrefix : `${this.options.topicPrefix}/${subtopic}`;
        try {
            await client.publishAsync(topic, Buffer.from(payload), { qos: 1 });
        } catch (err) {
            const error = err instanceof Error ? err : new Error(String(err));
            this.emit("publishError", error, message);
            throw error;
        }
        this.published++;
        this.emit("published", topic, message);
    }
}
