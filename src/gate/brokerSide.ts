/**
 * The gate's MQTT side: the embedded broker (login, topic ACLs, PUBACK after commit) or the one persistent
 * session on another broker. MQTT devices' transports attach their topic bindings here; the lane engine
 * publishes lane state through it.
 */
import type { Logger } from "pino";
import { EmbeddedBroker } from "../broker/embedded.ts";
import type { GateConfig } from "../config/types.ts";
import type { EventMap } from "../core/bus.ts";
import { errorMessage } from "../core/errors.ts";
import type { ExternalMqttIngest } from "../drivers/mqtt.ts";
import type { MqttBinding, TransportHubs } from "../drivers/transport.ts";
import { TurnBudget } from "../ingest/turnBudget.ts";

/**
 * MQTT publishes decoded and stored per turn of the event loop (TurnBudget): at ~40 µs each, some 5 ms of
 * bulk work, after which the turn ends and the lanes' own reads are committed and decided.
 */
const PUBLISHES_PER_TURN = 128;

export class BrokerSide implements Pick<TransportHubs, "mqtt"> {
    private readonly bindings = new Map<string, MqttBinding>();
    private broker: EmbeddedBroker | undefined;
    private external: ExternalMqttIngest | undefined;
    /** The gate is going down: the broker closes every session when it stops, device by device is not needed. */
    private closing = false;
    private readonly budget = new TurnBudget(PUBLISHES_PER_TURN);

    constructor(private readonly log: Logger) {}

    readonly mqtt: TransportHubs["mqtt"] = {
        attach: (binding) => {
            this.bindings.set(binding.device.id, binding);
            // A device a reload added: it may log in from now on.
            this.broker?.addDevice({ device: binding.device, topic: binding.topic });
        },
        detach: async (deviceId) => {
            if (!this.bindings.delete(deviceId) || this.closing) return;
            await this.broker?.removeDevice(deviceId);
        },
    };

    get embedded(): EmbeddedBroker | undefined {
        return this.broker;
    }

    /** External broker mode: whether the link is up. */
    get externalConnected(): boolean {
        return this.external?.connected ?? false;
    }

    /** Starts the broker (or joins the external one) for the bindings attached so far; resolves with its address. */
    async start(config: GateConfig): Promise<string> {
        this.closing = false;
        const bindings = [...this.bindings.values()].map(({ device, topic }) => ({ device, topic }));
        const onPublish = (deviceId: string, subtopic: string, payload: Buffer): Promise<void> =>
            this.budget.run(async () => {
                await this.bindings.get(deviceId)?.ctx.input({ kind: "publish", subtopic, payload });
            });
        if (config.broker.mode === "embedded") {
            this.broker = new EmbeddedBroker({
                host: config.broker.host,
                port: config.broker.port,
                gateId: config.gate.id,
                limits: config.broker,
                devices: bindings,
                log: this.log.child({ component: "broker" }),
                onPublish: (device, subtopic, payload) => onPublish(device.id, subtopic, payload),
                onConnection: (device, connected, reason) =>
                    this.bindings.get(device.id)?.ctx.setStatus(connected ? "online" : "offline", reason, {
                        code: connected ? "MQTT_SESSION_UP" : "MQTT_SESSION_CLOSED",
                    }),
            });
            const port = await this.broker.start();
            // MQTT devices are online while they publish; the runtime flips them on the first message.
            return `mqtt://${config.broker.host === "0.0.0.0" ? "127.0.0.1" : config.broker.host}:${port}`;
        }
        // MQTT.js loads only for a gate that uses another broker (~50 ms of every start otherwise).
        const { ExternalMqttIngest } = await import("../drivers/mqtt.ts");
        const log = this.log;
        this.external = new ExternalMqttIngest({
            url: config.broker.url,
            clientId: config.broker.clientId,
            ...(config.broker.username !== undefined && { username: config.broker.username }),
            ...(config.broker.password !== undefined && { password: config.broker.password }),
            bindings,
            log: log.child({ component: "mqtt" }),
            onPublish: (device, subtopic, payload) => onPublish(device.id, subtopic, payload),
            onStatus: (connected, reason) => {
                log[connected ? "info" : "warn"]({ connected, reason }, "external broker link");
                // Through another broker gate-edge cannot see a device's own session: its devices are
                // reachable exactly while the link (and the subscription on it) is up.
                for (const { device } of bindings) {
                    this.bindings
                        .get(device.id)
                        ?.ctx.setStatus(connected ? "online" : "offline", `external broker link: ${reason}`, {
                            code: "EXTERNAL_BROKER",
                            params: { detail: reason },
                        });
                }
            },
        });
        await this.external.start();
        return config.broker.url;
    }

    /** Publishes retained (QoS 1) as the gate itself; undefined while no broker runs. */
    send(topic: string, payload: string): Promise<void> | undefined {
        return this.broker
            ? this.broker.publish(topic, payload, { retain: true, qos: 1 })
            : this.external?.publish(topic, payload);
    }

    /** Lane state, retained, for the display boards at the lane (gate/<gate>/lanes/<lane>/state); a failure is logged. */
    publishLaneState(gateId: string, state: EventMap["laneState"]): void {
        const topic = `gate/${gateId}/lanes/${state.laneId}/state`;
        this.send(topic, JSON.stringify(state))?.catch((err: unknown) =>
            this.log.warn({ err: errorMessage(err), topic }, "lane state not published"),
        );
    }

    /** From now on the devices' transports stop because the gate does: the broker's own stop closes their sessions. */
    stopping(): void {
        this.closing = true;
    }

    async stop(): Promise<void> {
        this.closing = true;
        const broker = this.broker;
        this.broker = undefined;
        await broker?.stop();
        const external = this.external;
        this.external = undefined;
        await external?.stop();
        this.bindings.clear();
    }
}
