/**
 * The lane displays of a running gate: works out each lane's display message from the lane state on the
 * bus (the same bus the dashboard's lanes board follows), publishes it retained on
 * `gate/<gate>/lanes/<lane>/display` for the LED signs, and hands it to the kiosk pages' streams. A part of
 * the gate with start() and stop(): stop() leaves every lane's retained message at STOP, so a sign never
 * shows "proceed" from a gate that is gone.
 */
import type { Logger } from "pino";
import { getDisplayModel, type MqttDisplayModel } from "../../devices/displays.ts";
import type { BrokerDevice, EmbeddedBroker } from "../broker/embedded.ts";
import type { DisplayConfig, LaneConfig } from "../config/types.ts";
import type { EventBus } from "../core/bus.ts";
import type { Clock } from "../core/clock.ts";
import { errorMessage } from "../core/errors.ts";
import type { GateEvent } from "../core/events.ts";
import type { LaneSnapshot } from "../lane/correlator.ts";
import { type DisplayMessage, displayKeys, displayMessage, fallbackMessage, sameShown } from "./message.ts";

export interface LaneDisplaysDeps {
    gateId: string;
    /** The lanes in force (a reload may change them). */
    lanes(): readonly LaneConfig[];
    bus: EventBus;
    clock: Clock;
    log: Logger;
    snapshot(laneId: string): LaneSnapshot | undefined;
    /** The lane is in manual processing, or one of its devices is not online. */
    fault(laneId: string): boolean;
    /** The embedded broker, where LED signs log in; undefined with an external broker. */
    broker: EmbeddedBroker | undefined;
    /** The plate of the truck the yard called to this lane and that is on its way (src/yard), if any. */
    called?(laneId: string): string | undefined;
    /** Publishes retained (QoS 1) on the gate's broker, embedded or external. */
    publish(topic: string, payload: string): Promise<void> | undefined;
    /** How long a message waits for the broker's acknowledgement before the part goes on (default ACK_WAIT_MS). */
    ackWaitMs?: number;
}

/** A burst of reads (plates, scans, a seal) becomes one message. */
const COALESCE_MS = 50;

/**
 * The longest a display message waits for its acknowledgement. The message is on the wire by then; the
 * acknowledgement may never be read (an external link whose reading is held by a message the gate has not
 * committed yet), and the gate's stop must not hang on a peer.
 */
export const ACK_WAIT_MS = 2000;

export function displayTopic(gateId: string, laneId: string): string {
    return `gate/${gateId}/lanes/${laneId}/display`;
}

const mqttModel = getDisplayModel("lane-display-mqtt") as MqttDisplayModel; // registered in devices/displays.ts

export class LaneDisplays {
    private readonly current = new Map<string, DisplayMessage>();
    private readonly listeners = new Map<string, Set<(message: DisplayMessage) => void>>();
    private readonly dirty = new Set<string>();
    private timer: NodeJS.Timeout | undefined;
    private running = false;

    constructor(private readonly deps: LaneDisplaysDeps) {}

    /** The configured displays of a lane. */
    displaysOf(laneId: string): readonly DisplayConfig[] {
        return this.deps.lanes().find((lane) => lane.id === laneId)?.displays ?? [];
    }

    async start(): Promise<void> {
        this.running = true;
        const { bus, broker, gateId } = this.deps;
        for (const lane of this.deps.lanes()) {
            for (const display of lane.displays ?? []) {
                if (!display.auth || !broker) continue;
                // A sign reads its lane's topic and nothing else; it may publish nothing (embedded.ts).
                const sign: BrokerDevice = {
                    device: {
                        id: display.id,
                        laneId: lane.id,
                        model: display.model,
                        kind: "display",
                        address: { transport: "mqtt", topic: displayTopic(gateId, lane.id) },
                        auth: display.auth,
                    },
                    topic: displayTopic(gateId, lane.id),
                    subscribeOnly: true,
                };
                broker.addDevice(sign);
            }
        }
        bus.on("laneState", this, (state) => this.touch(state.laneId));
        bus.on("deviceStatus", this, (status) => this.touch(status.laneId));
        bus.on("committed", this, (event: GateEvent) => {
            const shows = event.type.startsWith("passage.") || event.type.startsWith("visit.");
            if (event.laneId && (shows || event.type === "officer.action")) this.touch(event.laneId);
        });
        await Promise.all(this.deps.lanes().map((lane) => this.refresh(lane.id)));
    }

    /** Every lane's retained message back to STOP, then quiet. */
    async stop(): Promise<void> {
        this.running = false;
        this.deps.bus.removeListeners(this);
        clearTimeout(this.timer);
        this.timer = undefined;
        const at = new Date(this.deps.clock.now());
        await Promise.all(
            this.deps.lanes().map((lane) => {
                const message = fallbackMessage(this.deps.gateId, lane.id, at);
                this.current.set(lane.id, message);
                for (const listener of this.listeners.get(lane.id) ?? []) listener(message);
                return this.send(message);
            }),
        );
    }

    /** The lane's message now (STOP for a lane the gate does not run). */
    message(laneId: string): DisplayMessage {
        return this.current.get(laneId) ?? fallbackMessage(this.deps.gateId, laneId, new Date(this.deps.clock.now()));
    }

    /** The lane's safe message (the kiosk page starts from it). */
    fallback(laneId: string): DisplayMessage {
        return fallbackMessage(this.deps.gateId, laneId, new Date(this.deps.clock.now()));
    }

    /** Calls `listener` with each new message of the lane; returns the unsubscribe. */
    subscribe(laneId: string, listener: (message: DisplayMessage) => void): () => void {
        const set = this.listeners.get(laneId) ?? new Set();
        set.add(listener);
        this.listeners.set(laneId, set);
        return () => set.delete(listener);
    }

    private touch(laneId: string | undefined): void {
        if (laneId === undefined || !this.running) return;
        this.dirty.add(laneId);
        if (this.timer) return;
        this.timer = setTimeout(() => {
            this.timer = undefined;
            const lanes = [...this.dirty];
            this.dirty.clear();
            for (const lane of lanes) void this.refresh(lane);
        }, COALESCE_MS);
        this.timer.unref();
    }

    private async refresh(laneId: string): Promise<void> {
        if (!this.running || !this.deps.lanes().some((lane) => lane.id === laneId)) return;
        const called = this.deps.called?.(laneId);
        const shown = displayKeys({
            snapshot: this.deps.snapshot(laneId),
            fault: this.deps.fault(laneId),
            ...(called !== undefined && { called: { plate: called, laneId } }),
        });
        const message = displayMessage(this.deps.gateId, laneId, shown, new Date(this.deps.clock.now()));
        if (sameShown(this.current.get(laneId), message)) return;
        this.current.set(laneId, message);
        for (const listener of this.listeners.get(laneId) ?? []) listener(message);
        await this.send(message);
    }

    private async send(message: DisplayMessage): Promise<void> {
        const topic = displayTopic(this.deps.gateId, message.lane);
        const waitMs = this.deps.ackWaitMs ?? ACK_WAIT_MS;
        let timer: NodeJS.Timeout | undefined;
        const late = new Promise<"late">((resolve) => {
            timer = setTimeout(() => resolve("late"), waitMs);
        });
        try {
            const sent = this.deps.publish(topic, mqttModel.encode(message));
            if ((await Promise.race([sent, late])) === "late")
                this.deps.log.warn({ topic, waitMs }, "lane display message not acknowledged in time; going on");
        } catch (err) {
            this.deps.log.warn({ err: errorMessage(err), topic }, "lane display message not published");
        } finally {
            clearTimeout(timer);
        }
    }
}
