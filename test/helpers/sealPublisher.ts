import type { MqttClient } from "mqtt";
import { definition as eseal } from "../../devices/eseal-mqtt-json.ts";

/** An e-seal reader's message that it read `sealId`, intact, now: the subtopic to publish it under and its body. */
export function sealedRead(sealId: string) {
    return eseal.encode({ msg: "read", sealId, type: "ISO18185", status: "SEALED", ts: new Date().toISOString() });
}

export interface SealPublisher {
    /** Ends the loop at its next read; `done` then settles. */
    stop(): void;
    done: Promise<void>;
}

/**
 * Publishes SEALED e-seal reads (ids from `sealId(n)`) under `topic` (`gate/<gate>/devices/<device>`) at QoS 1,
 * as fast as the PUBACKs come with `window` in flight, until stopped. Only a PUBACKed read is a promise the
 * gate made, so only those are handed to `onAcked`. `graceful`: the loop also ends when the client loses its
 * connection and waits for what is in flight (a stop the gate announces); without it the loop keeps
 * publishing into a killed gate until stopped, as a device does when the far side vanishes.
 */
export function publishSeals(
    client: MqttClient,
    options: {
        topic: string;
        sealId: (n: number) => string;
        onAcked: (sealId: string) => void;
        onSent?: () => void;
        window?: number;
        graceful?: boolean;
    },
): SealPublisher {
    const window = options.window ?? 64;
    let stopped = false;
    const done = (async () => {
        const inFlight = new Set<Promise<void>>();
        for (let n = 0; !stopped; n++) {
            const sealId = options.sealId(n);
            const { subtopic, payload } = sealedRead(sealId);
            options.onSent?.();
            const publish = client
                .publishAsync(`${options.topic}/${subtopic}`, Buffer.from(payload), { qos: 1 })
                .then(
                    () => options.onAcked(sealId),
                    () => undefined,
                )
                .finally(() => inFlight.delete(publish));
            inFlight.add(publish);
            if (inFlight.size >= window) await Promise.race(inFlight);
            if (options.graceful && (client.disconnected || client.disconnecting)) break;
        }
        if (options.graceful) await Promise.allSettled(inFlight);
    })();
    return {
        stop: () => {
            stopped = true;
        },
        done,
    };
}
