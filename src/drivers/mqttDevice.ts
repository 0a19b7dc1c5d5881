/**
 * The MQTT transport of one device: a binding of its topic prefix to the gate's broker side (the embedded
 * broker, or the one persistent session on another broker). Light on purpose: MQTT.js loads only for a
 * gate that joins another broker (src/drivers/mqtt.ts).
 */
import { addressOf, type MqttBinding, READ_ONLY, type TransportModule } from "./transport.ts";

export const transport: TransportModule = {
    framesProveLife: true,
    describeAddress(device) {
        return `mqtt:${addressOf(device, "mqtt").topic}`;
    },
    doctorTarget: () => ({ kind: "dials-in" }),
    create({ device, config, hubs }, ctx) {
        const binding: MqttBinding = { device, topic: addressOf(device, "mqtt").topic, ctx };
        let attached = false;
        return {
            capabilities: { ...READ_ONLY, hotSwappable: transport.hotSwapBlocker?.(config) === undefined },
            start: async () => {
                if (attached) return;
                attached = true;
                hubs.mqtt.attach(binding);
            },
            stop: async () => {
                if (!attached) return;
                attached = false;
                await hubs.mqtt.detach(device.id);
            },
            describe: () => ({ address: `mqtt:${binding.topic}` }),
        };
    },
    // An external broker's subscriptions are made once, on the one persistent session.
    hotSwapBlocker: (config) => (config.broker.mode === "embedded" ? undefined : "device on an external broker"),
};
