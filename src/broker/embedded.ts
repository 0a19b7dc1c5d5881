import { createServer, type Server, type Socket } from "node:net";
import { Aedes, type AuthenticateError, type Client, type PublishPacket } from "aedes";
import mqttPacket from "mqtt-packet";
import type { Logger } from "pino";
import { verifyPasswordAsync } from "../config/passwords.ts";
import type { DeviceConfig } from "../config/types.ts";
import { type ErrorCode, errorMessage, GateError } from "../core/errors.ts";
import { SummarizedWarning } from "../core/logger.ts";
import { DeviceLoginLimiter } from "../core/loginRateLimiter.ts";
import { MqttFrameGuard } from "./frameGuard.ts";

/** An MQTT device the broker lets in: its credentials and the topic prefix it owns. */
export interface BrokerDevice {
    device: DeviceConfig;
    topic: string;
    /** A lane sign: it may subscribe to exactly `topic` (its lane's display) and publish nothing. */
    subscribeOnly?: boolean;
}

/** What one stranger, or one device account, may cost the broker (config `broker.*`). */
export interface BrokerLimits {
    /** Largest remaining length a packet may declare; larger ones close the socket before it is read. */
    maxPacketBytes: number;
    /** A socket without an accepted CONNECT this long after it opened is closed. */
    connectTimeoutMs: number;
    /** Open sessions one device account may hold; a login beyond them is refused. */
    maxSessionsPerAccount: number;
    /** Failed logins per source address and per account in the window before logins are refused unchecked. */
    loginRateLimit: { maxFailures: number; windowMinutes: number };
}

export interface EmbeddedBrokerOptions {
    host: string;
    port: number;
    gateId: string;
    limits: BrokerLimits;
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

/** CONNACK return codes (aedes types them as a const enum we cannot import). */
const SERVER_UNAVAILABLE = 3;
const BAD_USERNAME_OR_PASSWORD = 4;
const NOT_AUTHORIZED = 5;
/** Client ids remembered per account (a device with a random id per start leaves one behind each time). */
const CLIENT_IDS_PER_ACCOUNT = 16;

/**
 * The part of aedes's in-memory persistence the broker wraps (aedes.d.ts leaves `persistence` untyped).
 * Incoming QoS 2 packets are kept there from PUBLISH until PUBREL, only to recognise a resent one.
 */
interface IncomingQos2Store {
    incomingStorePacket(client: Client, packet: PublishPacket): Promise<void>;
    incomingGetPacket(client: Client, packet: { messageId?: number }): Promise<unknown>;
}

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
    /** Per device id: its clients from an accepted login until their socket closes (the session limit). */
    private readonly admitted = new Map<string, Set<Client>>();
    /** Client id → the device id it is bound to, since that device first logged in with it. */
    private readonly clientIdOwner = new Map<string, string>();
    private readonly clientIdsOf = new Map<string, string[]>();
    /** Sockets whose client logged in (and is not closed); the others are closed after connectTimeoutMs. */
    private readonly loggedIn = new WeakSet<object>();
    /** Per client id: QoS 2 packet ids being stored now, so a resend while the first is committing waits for it. */
    private readonly qos2Storing = new Map<string, Map<number, Promise<void>>>();
    private incoming: IncomingQos2Store | undefined;
    private readonly logins: DeviceLoginLimiter;
    /** A client publishing or subscribing outside its topics can do it in a loop: one summary line per interval. */
    private readonly aclLog: SummarizedWarning<"publishes" | "subscriptions">;
    readonly counters = {
        authFailures: 0,
        aclRefusals: 0,
        publishes: 0,
        storeFailures: 0,
        /** Sockets closed by the frame guard: a first packet other than CONNECT, or one over maxPacketBytes. */
        framesRefused: 0,
        /** Sockets closed for not logging in within connectTimeoutMs. */
        connectTimeouts: 0,
        /** Logins refused without checking the password (too many failures from the address or for the account). */
        loginsThrottled: 0,
        /** Logins refused because the client id is bound to another device. */
        clientIdRefusals: 0,
        /** Logins refused because the account holds maxSessionsPerAccount sessions. */
        sessionLimitRefusals: 0,
        /** QoS 2 publishes sent again and recognised: acknowledged, not stored twice. */
        qos2Repeats: 0,
        /** Device publishes with the retain flag: stored as usual, not retained by the broker. */
        retainCleared: 0,
    };

    constructor(private readonly options: EmbeddedBrokerOptions) {
        this.logins = new DeviceLoginLimiter(options.limits.loginRateLimit);
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
        const aedes = await Aedes.createBroker({
            id: `gate-edge-${this.options.gateId}`,
            concurrency: 1000,
            connectTimeout: this.options.limits.connectTimeoutMs,
            // aedes's default (1,000 QoS 2 messages awaiting PUBREL) drops any client that publishes a
            // burst of more: its PUBRELs come behind its publishes on the socket, so they cannot be read
            // before the burst is. Keyed by the 16-bit packet id, the set cannot exceed 65,535 anyway, and
            // each entry holds no payload (see wrapIncomingStore).
            maxInflightInbound: 0,
        });
        this.aedes = aedes;
        this.incoming = this.wrapIncomingStore(aedes);
        aedes.authenticate = (client, username, password, done) => this.authenticate(client, username, password, done);
        aedes.authorizePublish = (client, packet, callback) => {
            if (!client) {
                // Wills of clients that are gone: they were checked when the client connected.
                callback(null);
                return;
            }
            this.authorizePublish(client, packet, callback);
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
            this.loggedIn.add(client.conn);
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
        aedes.on("connectionError", (_client, err) => {
            this.options.log.debug({ err: errorMessage(err) }, "MQTT connection error before login");
        });
        aedes.on("clientError", (client, err) => {
            this.options.log.debug({ clientId: client.id, err: errorMessage(err) }, "MQTT client error");
        });
        const server = createServer((socket) => {
            this.sockets.add(socket);
            this.guard(socket);
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
        const address = (client.conn as Partial<Socket>).remoteAddress ?? "unknown";
        const refuse = (code: ErrorCode, returnCode: number, why: string): void => {
            this.options.log.warn(
                { clientId: client.id, username: username ?? null, address, reason: why },
                "MQTT login refused",
            );
            // aedes wants its AuthenticateError (an Error with a returnCode); a GateError is an Error, and the
            // returnCode is set on the next line.
            const error = new GateError(code, `user ${username ?? "(none)"}: ${why}`) as unknown as AuthenticateError;
            error.returnCode = returnCode as AuthenticateError["returnCode"];
            done(error, false);
        };
        const badLogin = (): void => {
            attempt?.failed();
            this.counters.authFailures++;
            refuse("BROKER_AUTH", BAD_USERNAME_OR_PASSWORD, "bad user name or password");
        };
        // Counted before the password is checked, so a burst of guesses checks no more than the limit.
        const attempt = this.logins.begin(address, entry?.device.id, username ?? "");
        if (!attempt) {
            this.counters.loginsThrottled++;
            refuse("BROKER_LIMIT", SERVER_UNAVAILABLE, "too many failed logins; try again later");
            return;
        }
        if (!entry || !hash || !password) {
            badLogin();
            return;
        }
        verifyPasswordAsync(password, hash).then((ok) => {
            if (!ok) {
                badLogin();
                return;
            }
            attempt.succeeded();
            const deviceId = entry.device.id;
            const owner = this.clientIdOwner.get(client.id) ?? this.reservedOwner(client.id);
            if (owner !== undefined && owner !== deviceId) {
                this.counters.clientIdRefusals++;
                refuse("BROKER_CLIENT_ID", NOT_AUTHORIZED, `client id ${client.id} belongs to device ${owner}`);
                return;
            }
            // Decided and reserved in this one synchronous step, so parallel logins cannot all pass.
            const admitted = this.admitted.get(deviceId) ?? new Set<Client>();
            const replaces = [...admitted].some((other) => other.id === client.id);
            if (!replaces && admitted.size >= this.options.limits.maxSessionsPerAccount) {
                this.counters.sessionLimitRefusals++;
                refuse(
                    "BROKER_LIMIT",
                    SERVER_UNAVAILABLE,
                    `device ${deviceId} already has ${admitted.size} sessions (broker.maxSessionsPerAccount)`,
                );
                return;
            }
            admitted.add(client);
            this.admitted.set(deviceId, admitted);
            client.conn.once("close", () => {
                admitted.delete(client);
                if (admitted.size === 0 && this.admitted.get(deviceId) === admitted) this.admitted.delete(deviceId);
            });
            this.bindClientId(client.id, deviceId);
            this.clientDevice.set(client, entry);
            done(null, true);
        }, badLogin);
    }

    /** A client id that is another configured device's id or user name is that device's, bound or not. */
    private reservedOwner(clientId: string): string | undefined {
        for (const entry of this.byUsername.values()) {
            if (entry.device.id === clientId || entry.device.auth?.username === clientId) return entry.device.id;
        }
        return undefined;
    }

    private bindClientId(clientId: string, deviceId: string): void {
        const ids = (this.clientIdsOf.get(deviceId) ?? []).filter((id) => id !== clientId);
        ids.push(clientId);
        this.clientIdOwner.set(clientId, deviceId);
        // Bounded per account; an id dropped here is one the device has not used in its last 16 logins.
        while (ids.length > CLIENT_IDS_PER_ACCOUNT) {
            const oldest = ids.shift();
            if (oldest !== undefined) this.clientIdOwner.delete(oldest);
        }
        this.clientIdsOf.set(deviceId, ids);
    }

    /**
     * Closes a socket that sends anything but CONNECT first, declares a packet over maxPacketBytes, or has not
     * logged in within connectTimeoutMs. aedes reads the socket with `read()` on 'readable' and hands each chunk
     * to its parser, which buffers a declared packet whole; the chunk is inspected here, in that same `read()`,
     * so no more than one socket buffer of a refused stream is ever held.
     */
    private guard(socket: Socket): void {
        const { maxPacketBytes, connectTimeoutMs } = this.options.limits;
        const frames = new MqttFrameGuard(maxPacketBytes);
        const read = socket.read.bind(socket);
        socket.read = (size?: number) => {
            const chunk: unknown = read(size);
            if (!(chunk instanceof Uint8Array) || socket.destroyed) return chunk;
            const problem = frames.inspect(chunk);
            if (problem === undefined) return chunk;
            this.counters.framesRefused++;
            this.options.log.warn({ address: socket.remoteAddress, reason: problem }, "MQTT connection refused");
            socket.destroy();
            return null;
        };
        const timer = setTimeout(() => {
            if (this.loggedIn.has(socket)) return;
            this.counters.connectTimeouts++;
            this.options.log.warn({ address: socket.remoteAddress }, "MQTT connection closed: no login in time");
            socket.destroy();
        }, connectTimeoutMs);
        timer.unref();
        socket.once("close", () => clearTimeout(timer));
    }

    /**
     * Keeps incoming QoS 2 packets (PUBLISH to PUBREL) without their payload: aedes looks them up only to
     * recognise a resend, and the payload is already stored by then. A client may hold 65,535 of them.
     */
    private wrapIncomingStore(aedes: Aedes): IncomingQos2Store {
        // aedes.d.ts leaves `persistence` untyped; aedes's own memory persistence has these two methods.
        const store = (aedes as unknown as { persistence: IncomingQos2Store }).persistence;
        const keep = store.incomingStorePacket.bind(store);
        store.incomingStorePacket = (client, packet) => keep(client, { ...packet, payload: Buffer.alloc(0) });
        return store;
    }

    private authorizePublish(client: Client, packet: PublishPacket, callback: (error?: Error | null) => void): void {
        const { topic } = packet;
        const payload = toBuffer(packet.payload);
        const entry = this.clientDevice.get(client);
        const prefix = entry ? `${entry.topic}/` : undefined;
        if (!entry || entry.subscribeOnly || !prefix || !topic.startsWith(prefix) || topic.length === prefix.length) {
            this.counters.aclRefusals++;
            this.aclLog.note({ publishes: 1 }, { clientId: client.id, deviceId: entry?.device.id ?? null, topic });
            callback(new GateError("BROKER_ACL", `${entry?.device.id ?? client.id} may not publish to ${topic}`));
            return;
        }
        if (packet.retain) {
            // Only the gate's own lane state is retained (gate/<gate>/lanes/<lane>/state); a device's retained
            // publishes would otherwise be kept by the broker, one per topic the device invents.
            this.counters.retainCleared++;
            packet.retain = false;
        }
        const store = (): Promise<void> => {
            this.counters.publishes++;
            return this.options.onPublish(entry.device, topic.slice(prefix.length), payload);
        };
        const stored = packet.qos === 2 ? this.storeQos2Once(client, packet, store) : store();
        stored.then(
            () => callback(null),
            (err: unknown) => {
                this.counters.storeFailures++;
                this.options.log.error({ err, deviceId: entry.device.id }, "publish not stored; no PUBACK");
                callback(err instanceof Error ? err : new Error(String(err)));
            },
        );
    }

    /**
     * A QoS 2 message is stored once, however often it is sent: aedes recognises a resend only after this
     * hook (the store happens here), so a resend of one already stored (awaiting PUBREL, kept by aedes) or
     * being stored now (its commit pending) is acknowledged without storing it again.
     */
    private storeQos2Once(client: Client, packet: PublishPacket, store: () => Promise<void>): Promise<void> {
        const messageId = packet.messageId ?? 0;
        const storing = this.qos2Storing.get(client.id) ?? new Map<number, Promise<void>>();
        const pending = storing.get(messageId);
        if (pending) {
            this.counters.qos2Repeats++;
            return pending;
        }
        const incoming = this.incoming;
        const known = incoming
            ? incoming.incomingGetPacket(client, { messageId }).then(
                  () => true,
                  () => false,
              )
            : Promise.resolve(false);
        const done = known.then((repeat) => {
            if (!repeat) return store();
            this.counters.qos2Repeats++;
            return undefined;
        });
        storing.set(messageId, done);
        this.qos2Storing.set(client.id, storing);
        const forget = (): void => {
            if (storing.get(messageId) === done) storing.delete(messageId);
            if (storing.size === 0 && this.qos2Storing.get(client.id) === storing) this.qos2Storing.delete(client.id);
        };
        done.then(forget, forget);
        return done;
    }

    private maySubscribe(client: Client, topic: string): boolean {
        const entry = this.clientDevice.get(client);
        if (!entry) return false;
        if (entry.subscribeOnly) return topic === entry.topic;
        if (topic === entry.topic || topic.startsWith(`${entry.topic}/`)) return true;
        const laneStates = `gate/${this.options.gateId}/lanes/`;
        return topic.startsWith(laneStates) && /^gate\/[^/]+\/lanes\/[^/#]+\/state$/.test(topic);
    }
}

/** mqtt-packet hands payloads over as Buffers already; copy only when it is a string. */
function toBuffer(payload: Buffer | string): Buffer {
    return typeof payload === "string" ? Buffer.from(payload) : payload;
}
