import { createServer, type Server, type Socket } from "node:net";
import { Aedes, type AuthenticateError, type Client } from "aedes";
import mqttPacket from "mqtt-packet";
import type { Logger } from "pino";
import { verifyPasswordAsync } from "../config/passwords.ts";
import type { DeviceConfig } from "../config/types.ts";
import { errorMessage, GateError } from "../core/errors.ts";
import { SummarizedWarning } from "../core/logger.ts";

/** An MQTT device the broker lets in: its credentials and the topic prefix it owns. */
export interface BrokerDevice {
    device: DeviceConfig;
    topic: string;
}

export interface EmbeddedBrokerOptions {
    host: string;
    port: number;
    gateId: string;
    devices: readonly BrokerDevice[];
    log: Logger;
    /**
     * A device published under its own prefix. Resolve once what it carries is durable: a QoS 1 publish
     * is PUBACKed only then. Reject when the store failed: the client is disconnected without a PUBACK
     * and resends after it reconnects.
     */
    onPublish(device: DeviceConfig, subtopic: string, payload: Buffer): Promise<void>;
    /** A device's MQTT session came up or went away (its status follows). */
    onConnection?(device: DeviceConfig, connected: boolean, reason: string): void;
}

// mqtt-packet (aedes's encoder) otherwise builds, on its first write, a table of all 65,536 packet ids as
// two-byte Buffers and keeps it for the life of the process: ~7 MB of a gate's 150 MB budget, to save
// allocating 2 bytes per PUBACK. The external client turns it off the same way (MQTT.js writeCache).
mqttPacket.writeToStream.cacheNumbers = false;

/** CONNACK 4 "bad user name or password" (aedes types this as a const enum we cannot import). */
const BAD_USERNAME_OR_PASSWORD = 4;

/**
 * gate-edge's own MQTT broker (aedes), so a gate needs nothing else. Devices log in with the username and
 * password of the config (kept only as scrypt hashes) and may publish only under their own topic prefix
 * and subscribe only to it and to the lane state topics; everything else is refused and logged.
 */
export class EmbeddedBroker {
    private aedes: Aedes | undefined;
    private server: Server | undefined;
    private readonly sockets = new Set<Socket>();
    private readonly byUsername = new Map<string, BrokerDevice>();
    private readonly clientDevice = new WeakMap<Client, BrokerDevice>();
    private readonly sessions = new Map<BrokerDevice, Set<Client>>();
    readonly counters = { authFailures: 0, aclRefusals: 0, publishes: 0, storeFailures: 0 };
    /** A client publishing or subscribing outside its topics can do it in a loop: one summary line per interval. */
    private readonly aclLog: SummarizedWarning<"publishes" | "subscriptions">;

    constructor(private readonly options: EmbeddedBrokerOptions) {
        this.aclLog = new SummarizedWarning(
            options.log,
            ["publishes", "subscriptions"],
            ({ publishes, subscriptions }, since) =>
                `MQTT refused by ACL: ${publishes} publishes, ${subscriptions} subscriptions since ${since}`,
        );
    }

    /** Listens; resolves with the bound port. */
    async start(): Promise<number> {
        for (const entry of this.options.devices) {
            if (entry.device.auth) this.byUsername.set(entry.device.auth.username, entry);
        }
        const aedes = await Aedes.createBroker({ id: `gate-edge-${this.options.gateId}`, concurrency: 1000 });
        this.aedes = aedes;
        aedes.authenticate = (client, username, password, done) => this.authenticate(client, username, password, done);
        aedes.authorizePublish = (client, packet, callback) => {
            if (!client) {
                // Wills of clients that are gone: they were checked when the client connected.
                callback(null);
                return;
            }
            this.authorizePublish(client, packet.topic, toBuffer(packet.payload), callback);
        };
        aedes.authorizeSubscribe = (client, subscription, callback) => {
            if (this.maySubscribe(client, subscription.topic)) {
                callback(null, subscription);
                return;
            }
            this.counters.aclRefusals++;
            this.aclLog.note({ subscriptions: 1 }, { clientId: client.id, topic: subscription.topic });
            callback(null, null);
        };
        aedes.on("clientReady", (client) => {
            const entry = this.clientDevice.get(client);
            if (!entry) return;
            const sessions = this.sessions.get(entry) ?? new Set<Client>();
            sessions.add(client);
            this.sessions.set(entry, sessions);
            this.options.onConnection?.(entry.device, true, `MQTT session ${client.id} up`);
        });
        aedes.on("clientDisconnect", (client) => {
            const entry = this.clientDevice.get(client);
            const sessions = entry && this.sessions.get(entry);
            if (!entry || !sessions?.delete(client)) return;
            // A device may hold a second session (a reconnect racing the old one); offline only if none is left.
            if (sessions.size === 0)
                this.options.onConnection?.(entry.device, false, `MQTT session ${client.id} closed`);
        });
        aedes.on("clientError", (client, err) => {
            this.options.log.debug({ clientId: client.id, err: errorMessage(err) }, "MQTT client error");
        });
        const server = createServer((socket) => {
            this.sockets.add(socket);
            socket.once("close", () => this.sockets.delete(socket));
            aedes.handle(socket);
        });
        this.server = server;
        await new Promise<void>((resolve, reject) => {
            server.once("error", reject);
            server.listen(this.options.port, this.options.host, () => {
                server.off("error", reject);
                resolve();
            });
        });
        const address = server.address();
        return typeof address === "object" && address ? address.port : this.options.port;
    }

    async stop(): Promise<void> {
        const server = this.server;
        this.server = undefined;
        for (const socket of this.sockets) socket.destroy();
        if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
        const aedes = this.aedes;
        this.aedes = undefined;
        if (aedes) await new Promise<void>((resolve) => aedes.close(() => resolve()));
    }

    /** A device a configuration reload added (or changed: removed first): it may log in from now on. */
    addDevice(entry: BrokerDevice): void {
        if (entry.device.auth) this.byUsername.set(entry.device.auth.username, entry);
    }

    /**
     * A device a configuration reload removed (or is about to re-add changed): its login stops working and
     * its open sessions are closed, so nothing it sends is taken under the old settings. A publish of it
     * not yet committed gets no PUBACK and is sent again, under the new settings, after it reconnects.
     */
    async removeDevice(deviceId: string): Promise<void> {
        for (const [username, entry] of this.byUsername) {
            if (entry.device.id !== deviceId) continue;
            this.byUsername.delete(username);
            const clients = this.sessions.get(entry);
            // Forgotten first: their disconnects must not report the device (or its successor) offline.
            this.sessions.delete(entry);
            for (const client of clients ?? []) {
                this.clientDevice.delete(client);
                await new Promise<void>((resolve) => client.close(() => resolve()));
            }
        }
    }

    /** Publishes as the broker itself (lane state for display boards), bypassing the device ACL. */
    publish(topic: string, payload: string, options: { retain: boolean; qos: 0 | 1 }): Promise<void> {
        const aedes = this.aedes;
        if (!aedes) return Promise.reject(new GateError("DRIVER_DISCONNECTED", "broker is not running"));
        return new Promise((resolve, reject) =>
            aedes.publish(
                {
                    cmd: "publish",
                    topic,
                    payload: Buffer.from(payload),
                    qos: options.qos,
                    retain: options.retain,
                    dup: false,
                },
                (err) => (err ? reject(err) : resolve()),
            ),
        );
    }

    private authenticate(
        client: Client,
        username: string | undefined,
        password: Buffer | undefined,
        done: (error: AuthenticateError | null, success: boolean | null) => void,
    ): void {
        const entry = username === undefined ? undefined : this.byUsername.get(username);
        const hash = entry?.device.auth?.passwordHash;
        const refuse = (): void => {
            this.counters.authFailures++;
            this.options.log.warn({ clientId: client.id, username: username ?? null }, "MQTT login refused");
            const error = new GateError("BROKER_AUTH", `user ${username ?? "(none)"}`) as unknown as AuthenticateError;
            error.returnCode = BAD_USERNAME_OR_PASSWORD as AuthenticateError["returnCode"];
            done(error, false);
        };
        if (!entry || !hash || !password) {
            refuse();
            return;
        }
        verifyPasswordAsync(password, hash).then((ok) => {
            if (!ok) {
                refuse();
                return;
            }
            this.clientDevice.set(client, entry);
            done(null, true);
        }, refuse);
    }

    private authorizePublish(
        client: Client,
        topic: string,
        payload: Buffer,
        callback: (error?: Error | null) => void,
    ): void {
        const entry = this.clientDevice.get(client);
        const prefix = entry ? `${entry.topic}/` : undefined;
        if (!entry || !prefix || !topic.startsWith(prefix) || topic.length === prefix.length) {
            this.counters.aclRefusals++;
            this.aclLog.note({ publishes: 1 }, { clientId: client.id, deviceId: entry?.device.id ?? null, topic });
            callback(new GateError("BROKER_ACL", `${entry?.device.id ?? client.id} may not publish to ${topic}`));
            return;
        }
        this.counters.publishes++;
        this.options.onPublish(entry.device, topic.slice(prefix.length), payload).then(
            () => callback(null),
            (err: unknown) => {
                this.counters.storeFailures++;
                this.options.log.error({ err, deviceId: entry.device.id }, "publish not stored; no PUBACK");
                callback(err instanceof Error ? err : new Error(String(err)));
            },
        );
    }

    private maySubscribe(client: Client, topic: string): boolean {
        const entry = this.clientDevice.get(client);
        if (!entry) return false;
        if (topic === entry.topic || topic.startsWith(`${entry.topic}/`)) return true;
        const laneStates = `gate/${this.options.gateId}/lanes/`;
        return topic.startsWith(laneStates) && /^gate\/[^/]+\/lanes\/[^/#]+\/state$/.test(topic);
    }
}

/** mqtt-packet hands payloads over as Buffers already; copy only when it is a string. */
function toBuffer(payload: Buffer | string): Buffer {
    return typeof payload === "string" ? Buffer.from(payload) : payload;
}
