/**
 * An MQTT device: "mqtt:" or no address, and a topic of its own (gate/<gate>/devices/<device> unless
 * `topic` says otherwise). On the embedded broker it logs in with its own username and password.
 */
import { sealPassword } from "../config/passwords.ts";
import type { TransportAddress } from "./address.ts";

export const mqttAddress: TransportAddress = {
    ownKeys: ["topic"],
    sealAuth: (auth) => ({ username: auth.username, passwordHash: sealPassword(auth.password) }),
    parse(device, model, { path, errors, gateId, brokerMode, topics }) {
        if (device.address !== undefined && device.address !== "mqtt:")
            errors.push(`${path}.address: model ${model.model} publishes over MQTT; use "mqtt:" or leave it out`);
        const topic = device.topic ?? `gate/${gateId}/devices/${device.id}`;
        const other = topics.get(topic);
        if (other) errors.push(`${path}.topic: "${topic}" is also the topic of device ${other}`);
        topics.set(topic, device.id);
        if (brokerMode === "embedded" && !device.auth)
            errors.push(`${path}.auth: an MQTT device needs a username and password on the embedded broker`);
        return { transport: "mqtt", topic };
    },
};
