import type { Logger } from "pino";
import type { DeviceStatus, GateEvent, Reading } from "./events.ts";

/** Everything that moves inside one gate-edge process. Keys map to the listener's argument. */
export interface EventMap {
    /** A reading was decoded from a device (before it is stored). */
    reading: Reading;
    /** An event was committed durably to the event log. */
    committed: GateEvent;
    deviceStatus: {
        deviceId: string;
        laneId: string;
        status: DeviceStatus;
        reason?: string;
        /** The reason as a code with parameters (src/drivers/transport.ts StatusReason), when there is one. */
        reasonCode?: string;
        reasonParams?: Record<string, string | number>;
    };
    /**
     * The lane engine's command is about to be written to the lane PLC. `triggeredAt` is when gate-edge
     * received the read that completed the passage, so `at - triggeredAt` is the decision latency.
     */
    laneCommand: { laneId: string; passageId: string; command: string; triggeredAt?: number; at: number };
    /** A lane changed state (the lane display topic's payload); `at` is ISO 8601. */
    laneState: { laneId: string; state: string; passageId?: string | null; at: string };
    /**
     * Central's clearance feed was read to its end (the downlink is caught up): the cache holds central's
     * current data, e.g. after an outage. `version` is the cache's data version.
     */
    clearanceRefreshed: { version: string };
    /** A frame a device sent that could not be trusted. */
    badFrame: { deviceId: string; reason: string; rawHex: string };
    /**
     * Every raw frame as a device delivered it, before decoding (recordings: `gate-edge record`). `channel`
     * is the MQTT subtopic, the HTTP push path or the OPC UA tag; `discarded` marks bytes a framer threw away.
     */
    rawFrame: {
        deviceId: string;
        laneId: string;
        transport: string;
        bytes: Uint8Array;
        channel?: string;
        contentType?: string;
        discarded?: boolean;
    };
}

type Listener<K extends keyof EventMap> = (payload: EventMap[K]) => void;

interface Registration {
    owner: object;
    listener: Listener<keyof EventMap>;
}

/**
 * A typed event bus. One listener's failure is logged and does not stop the others; every listener is
 * registered with an owner so an extension's stop() removes all of its own with one call.
 */
export class EventBus {
    private readonly listeners = new Map<keyof EventMap, Registration[]>();

    constructor(private readonly log: Logger) {}

    on<K extends keyof EventMap>(key: K, owner: object, listener: Listener<K>): void {
        const list = this.listeners.get(key) ?? [];
        list.push({ owner, listener: listener as Listener<keyof EventMap> });
        this.listeners.set(key, list);
    }

    emit<K extends keyof EventMap>(key: K, payload: EventMap[K]): void {
        for (const { owner, listener } of this.listeners.get(key) ?? []) {
            try {
                listener(payload);
            } catch (err) {
                this.log.error({ err, event: key, owner: owner.constructor.name }, "event bus listener failed");
            }
        }
    }

    removeListeners(owner: object): void {
        for (const [key, list] of this.listeners) {
            this.listeners.set(
                key,
                list.filter((registration) => registration.owner !== owner),
            );
        }
    }
}
