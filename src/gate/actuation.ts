/**
 * Actuation: what the lane engine (and a technician's test) asks a lane PLC to do, with the command and
 * its confirmed or unconfirmed result in the event log, through the one sink everything else appends to.
 */
import type { Logger } from "pino";
import { exitBarrierIds } from "../config/pointLanes.ts";
import type { GateConfig } from "../config/types.ts";
import type { EventBus } from "../core/bus.ts";
import type { Clock } from "../core/clock.ts";
import { errorMessage, GateError } from "../core/errors.ts";
import type { ActuatorCommand, ActuatorOutcome } from "../drivers/transport.ts";
import type { EventSink } from "../ingest/deviceRuntime.ts";
import { LaneEngine } from "../lane/engine.ts";
import type { ClearanceView } from "../lane/types.ts";
import type { PassageStore } from "../store/passages.ts";
import type { DeviceSupervisor } from "./devices.ts";

/** A lane engine's command, carried out by the lane's PLC. */
export type LaneCommand = "open-barrier" | "light-green" | "light-red";

export interface ActuationOptions {
    devices: DeviceSupervisor;
    sink: EventSink;
    bus: EventBus;
    clock: Clock;
    log: Logger;
    config: () => GateConfig;
}

export class Actuation {
    constructor(private readonly options: ActuationOptions) {}

    /**
     * Asks a lane PLC to act, with the command and its result in the event log. A command not confirmed
     * by the state change it should cause raises an alert. Never a close: the PLC closes behind the truck.
     */
    async actuate(
        deviceId: string,
        command: ActuatorCommand,
        origin?: { passageId: string; triggeredAt?: number; laneCommand: string },
        /** An exit barrier's move: the exit point, the truck and why (src/inspection/exitBarrier.ts). */
        exit?: Record<string, string | string[]>,
    ): Promise<ActuatorOutcome> {
        const { devices, sink, bus, clock } = this.options;
        const transport = devices.transport(deviceId);
        const runtime = devices.runtime(deviceId);
        if (!transport?.actuate || !runtime)
            throw new GateError("DEVICE_UNKNOWN", `${deviceId} is not a PLC of this gate`);
        const base = { laneId: runtime.device.laneId, deviceId };
        // A truck waits on the command: committed ahead of bulk device input (src/store/eventLog.ts).
        await sink.append(
            {
                type: "actuator.command",
                ...base,
                data: { command, ...(origin && { passageId: origin.passageId }), ...(exit && { exit }) },
            },
            { urgent: true },
        );
        if (origin) {
            bus.emit("laneCommand", {
                laneId: base.laneId,
                passageId: origin.passageId,
                command: origin.laneCommand,
                ...(origin.triggeredAt !== undefined && { triggeredAt: origin.triggeredAt }),
                at: clock.now(),
            });
        }
        let outcome: ActuatorOutcome;
        try {
            outcome = await transport.actuate(command);
        } catch (err) {
            outcome = { confirmed: false, detail: errorMessage(err) };
        }
        await sink.append({ type: "actuator.result", ...base, data: { command, ...outcome } }, { urgent: true });
        if (!outcome.confirmed) {
            await sink.append({
                type: "alert.raised",
                ...base,
                data: {
                    code: "ACTUATOR_UNCONFIRMED",
                    severity: "critical",
                    message: `${command.type} on ${deviceId} not confirmed: ${outcome.detail}`,
                },
            });
        }
        return outcome;
    }

    /**
     * The lane engine wired to the gate: its events through the one sink, its commands to the lanes' PLCs
     * through this actuation, its state to the dashboard (bus) and to the lane's MQTT state topic.
     */
    laneEngine(passages: PassageStore, clearance: () => ClearanceView): LaneEngine {
        const { devices, sink, bus, clock, log, config } = this.options;
        return new LaneEngine({
            ...{ config: config(), log: log.child({ component: "lanes" }), clock, bus, passages, clearance },
            append: (draft, options) => sink.append(draft, options),
            command: (laneId, command, meta) => this.laneCommand(laneId, command, meta),
            publishState: (_laneId, state) => {
                bus.emit("laneState", state);
                devices.brokerSide.publishLaneState(config().gate.id, state);
            },
        });
    }

    /** The lane's PLC, if it has one, carries out the lane engine's command. */
    async laneCommand(
        laneId: string,
        command: LaneCommand,
        meta: { passageId: string; triggeredAt?: number },
    ): Promise<void> {
        const { devices, config, log } = this.options;
        const exitBarriers = exitBarrierIds(config());
        const plc = config()
            .lanes.find((lane) => lane.id === laneId)
            ?.devices.find(
                (device) => !exitBarriers.has(device.id) && devices.transport(device.id)?.capabilities.actuate === true,
            );
        if (!plc) {
            log.warn({ laneId, command }, "lane has no PLC: the command is for the officer to carry out");
            return;
        }
        const actuatorCommand: ActuatorCommand =
            command === "open-barrier"
                ? { type: "openBarrier" }
                : { type: "setLight", which: "entry", color: command === "light-green" ? "green" : "red" };
        await this.actuate(plc.id, actuatorCommand, { ...meta, laneCommand: command });
    }
}
