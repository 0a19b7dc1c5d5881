/**
 * The yard part as the gate builds it: what Yard needs, taken from the gate's event log, clearance cache,
 * lane engine and broker, so src/gate.ts only creates, starts and stops it.
 */
import type { Logger } from "pino";
import type { EmbeddedBroker } from "../broker/embedded.ts";
import type { GateConfig } from "../config/types.ts";
import type { EventBus } from "../core/bus.ts";
import type { Clock } from "../core/clock.ts";
import type { EventSink } from "../ingest/deviceRuntime.ts";
import type { LaneEngine } from "../lane/engine.ts";
import type { ClearanceView } from "../lane/types.ts";
import type { Db } from "../store/db.ts";
import type { EventLog } from "../store/eventLog.ts";
import { PreArrivalStore } from "./preArrival.ts";
import { VisitStore } from "./visitStore.ts";
import { YARD_CALLS_TOPIC, Yard } from "./yard.ts";

export interface YardPartDeps {
    db: Db;
    sink: EventSink;
    eventLog: EventLog;
    bus: EventBus;
    laneEngine: () => LaneEngine | undefined;
    clearance: () => ClearanceView | undefined;
    config: () => GateConfig;
    /** The embedded broker: the call receivers (`yard.callReceivers`) log in to it. */
    broker: () => EmbeddedBroker | undefined;
    /** Publishes on an external broker (retained, QoS 1): the embedded one publishes the calls itself. */
    send(topic: string, payload: string): Promise<void> | undefined;
    clock: Clock;
    log: Logger;
}

/** The alert a lane PLC raises while its key switch is off automatic (src/ingest/meaning.ts, PLC.Mode). */
const PLC_NOT_AUTO = "PLC_NOT_AUTO";

export function yardPart(deps: YardPartDeps): Yard {
    const listener = {};
    /**
     * Lanes whose PLC is in manual or maintenance mode: the lane is closed, so no truck is called to it. Seen
     * on the bus, not caught up from the log: after a restart the PLC's first reported mode raises it again.
     */
    const closedLanes = new Set<string>();
    const config = deps.config();
    const topic = YARD_CALLS_TOPIC(config.gate.id);
    for (const receiver of config.yard?.callReceivers ?? []) {
        const device = { id: receiver.id, laneId: "", model: "yard-calls", kind: "display", auth: receiver.auth };
        // Subscribe-only to the calls topic, as a lane sign is to its display (src/broker/embedded.ts).
        deps.broker()?.addDevice({
            device: { ...device, address: { transport: "mqtt", topic } },
            topic,
            subscribeOnly: true,
        });
    }
    return new Yard({
        store: new VisitStore(deps.db, config.gate.timeZone),
        preArrivals: new PreArrivalStore(deps.db),
        append: (draft, options) => deps.sink.append(draft, options),
        read: (afterSeq, limit) => deps.eventLog.read(afterSeq, limit),
        headSeq: () => deps.eventLog.headSeq,
        onCommitted: (handler) => {
            deps.bus.on("committed", listener, (event) => {
                if (event.laneId !== undefined && event.data.code === PLC_NOT_AUTO) {
                    if (event.type === "alert.raised") closedLanes.add(event.laneId);
                    else if (event.type === "alert.cleared") closedLanes.delete(event.laneId);
                }
                handler(event);
            });
            return () => deps.bus.removeListeners(listener);
        },
        config: () => deps.config().yard,
        exits: () => deps.config().inspection?.exits ?? [],
        laneIdle: (laneId) => {
            const engine = deps.laneEngine();
            return (
                !closedLanes.has(laneId) &&
                engine?.manualProcessing === undefined &&
                engine?.snapshot(laneId)?.state === "IDLE"
            );
        },
        channelOf: (declarations) => {
            const view = deps.clearance();
            for (const number of declarations) {
                const channel = view?.declaration(number)?.channel;
                if (channel !== undefined) return channel;
            }
            return undefined;
        },
        // QoS 1, not retained on the embedded broker: a driver app must not take an old call for a new one.
        publish: (topic, payload) =>
            deps.broker()?.publish(topic, payload, { retain: false, qos: 1 }) ?? deps.send(topic, payload),
        gateId: config.gate.id,
        timeZone: config.gate.timeZone,
        clock: deps.clock,
        log: deps.log.child({ component: "yard" }),
    });
}
