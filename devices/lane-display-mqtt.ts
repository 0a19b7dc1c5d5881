import type { DisplayMessage } from "../src/display/message.ts";
import type { MqttDisplayModel } from "./display-types.ts";

/**
 * An LED lane sign whose controller subscribes to `gate/<gate>/lanes/<lane>/display` (retained, QoS 1) and
 * shows one language's two lines, or cycles through them. The payload is the DisplayMessage as JSON, UTF-8:
 * `signal` (stop, scan, go, inspect, back, fault) for the sign's colour, `lines.vi|zh|en` (2 lines of at
 * most 20 columns, CJK two columns each), and `keys` for a controller with its own texts. A controller
 * whose broker connection drops shows STOP until the next message.
 */
export const definition: MqttDisplayModel = {
    model: "lane-display-mqtt",
    vendor: "gate-edge",
    description: "LED lane sign controller subscribing to its lane's retained display topic (JSON, UTF-8)",
    transport: "mqtt-subscribe",
    lines: 2,
    columns: 20,
    encode: (message) => JSON.stringify(message),
    decode(payload) {
        let parsed: unknown;
        try {
            parsed = JSON.parse(typeof payload === "string" ? payload : Buffer.from(payload).toString("utf8"));
        } catch {
            return undefined;
        }
        return isDisplayMessage(parsed) ? parsed : undefined;
    },
};

const isTwoStrings = (value: unknown): boolean =>
    Array.isArray(value) && value.length === 2 && value.every((line) => typeof line === "string");

function isDisplayMessage(value: unknown): value is DisplayMessage {
    if (typeof value !== "object" || value === null) return false;
    const message = value as Record<string, unknown>;
    const lines = message.lines as Record<string, unknown> | undefined;
    return (
        message.v === 1 &&
        typeof message.gate === "string" &&
        typeof message.lane === "string" &&
        typeof message.signal === "string" &&
        (message.plate === null || typeof message.plate === "string") &&
        typeof lines === "object" &&
        lines !== null &&
        ["vi", "zh", "en"].every((language) => isTwoStrings(lines[language]))
    );
}
