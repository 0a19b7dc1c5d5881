import mqtt, { type MqttClient } from "mqtt";
import type { Logger } from "pino";
import type { DeviceConfig } from "../config/types.ts";
import { errorMessage } from "../core/errors.ts";
import { SummarizedWarning } from "../core/logger.ts";

export interface MqttTopicBinding {
    device: DeviceConfig;
    /** The prefix the device publishes under; its publishes are `<topic>/<subtopic>`. */
    topic: string;
}

/** Finds the device that owns a topic: the binding whose prefix it is under. */
export function routeTopic(
    bindings: readonly MqttTopicBinding[],
    topic: string,
): { binding: MqttTopicBinding; subtopic: string } | undefined {
    for (const binding of bindings) {
        const prefix = `${binding.topic}/`;
        if (topic.startsWith(prefix) && topic.length > prefix.length) {
            return { binding, subtopic: topic.slice(prefix.length) };
        }
    }
    return undefined;
}

export interface ExternalMqttOptions {
    url: string;
    clientId: string;
    username?: string;
    password?: string;
    bindings: readonly MqttTopicBinding[];
    log: Logger;
    /** Resolve when durable; the PUBACK to the broker waits for it. Reject: no PUBACK, the broker redelivers. */
    onPublish(device: DeviceConfig, subtopic: string, payload: Buffer): Promise<void>;
    onStatus(connected: boolean, reason: string): void;
}

/**
 * Joins an existing broker (Mosquitto, EMQX) with a persistent session (clean=false, fixed client id) and
 * subscribes QoS 1 to every MQTT device's prefix. A message is PUBACKed to the broker only after its event
 * committed, so a crash in between makes the broker deliver it again after the restart.
 * Device authentication and ACLs are then the external broker's job.
 */
export class ExternalMqttIngest {
    private client: MqttClient | undefined;
    private subscribed = false;
    private reportedDown = false;
    readonly counters = { messages: 0, unrouted: 0, storeFailures: 0 };
    private readonly unroutedLog: SummarizedWarning<"messages">;

    constructor(private readonly options: ExternalMqttOptions) {
        this.unroutedLog = new SummarizedWarning(
            options.log,
            ["messages"],
            ({ messages }, since) =>
                `${messages} ${messages === 1 ? "message" : "messages"} on topics no device owns since ${since}; acknowledged and dropped`,
        );
    }

    async start(): Promise<void> {
        const { log } = this.options;
        const client = mqtt.connect(this.options.url, {
            clientId: this.options.clientId,
            // MQTT.js honours customHandleAcks (our PUBACK-after-commit) only on MQTT 5, and an MQTT 5
            // session outlives the connection only with a session expiry: a week covers any outage.
            protocolVersion: 5,
            clean: false,
            properties: { sessionExpiryInterval: 7 * 24 * 3600 },
            reconnectPeriod: 1000,
            // No table of 65,536 pre-built packet ids in the heap (see src/broker/embedded.ts).
            writeCache: false,
            connectTimeout: 10_000,
            ...(this.options.username !== undefined && { username: this.options.username }),
            ...(this.options.password !== undefined && { password: this.options.password }),
            customHandleAcks: (topic, message, _packet, done) => {
                this.counters.messages++;
                const route = routeTopic(this.options.bindings, topic);
                if (!route) {
                    this.counters.unrouted++;
                    this.unroutedLog.note({ messages: 1 }, { topic });
                    done(0);
                    return;
                }
                this.options.onPublish(route.binding.device, route.subtopic, Buffer.from(message)).then(
                    () => done(0),
                    (err: unknown) => {
                        this.counters.storeFailures++;
                        log.error({ err, topic }, "message not stored; not acknowledged, the broker will redeliver");
                        done(err instanceof Error ? err : new Error(String(err)));
                    },
                );
            },
        });
        this.client = client;
        client.on("connect", (connack) => {
            const session = connack.sessionPresent ? "session resumed" : "new session";
            const topics = Object.fromEntries(
                this.options.bindings.map((binding) => [`${binding.topic}/#`, { qos: 1 as const }]),
            );
            if (Object.keys(topics).length === 0) {
                this.subscribed = true;
                this.options.onStatus(true, session);
                return;
            }
            client.subscribe(topics, (err) => {
                if (err) {
                    log.error({ err: errorMessage(err) }, "subscribe to device topics failed");
                    return;
                }
                this.subscribed = true;
                this.reportedDown = false;
                this.options.onStatus(true, `${session}, subscribed`);
            });
        });
        client.on("close", () => {
            // MQTT.js emits close on every failed reconnect too; report the loss once.
            if (!this.subscribed && this.reportedDown) return;
            this.subscribed = false;
            this.reportedDown = true;
            this.options.onStatus(false, "connection closed");
        });
        client.on("error", (err) => log.warn({ err: errorMessage(err) }, "external broker error"));
    }

    /** Publishes retained at QoS 1 as gate-edge (lane state for display boards). */
    async publish(topic: string, payload: string): Promise<void> {
        if (!this.client) throw new Error("external broker link is not running");
        await this.client.publishAsync(topic, payload, { qos: 1, retain: true });
    }

    async stop(): Promise<void> {
        const client = this.client;
        this.client = undefined;
        if (client) await client.endAsync(true);
        this.unroutedLog.flush();
    }

    /** Connected and subscribed to every device topic. */
    get connected(): boolean {
        return (this.client?.connected ?? false) && this.subscribed;
    }
}
