/**
 * The gate's areas around its lanes, as one part: the drivers' lane displays (src/display), the inspection
 * area (its cases, src/inspection/cases.ts, and its RPMs and X-ray scanners, src/inspection/devices.ts) and
 * the yard (src/yard), with their API routes. Each reads the lane engine and the configuration in force
 * through functions, so a reload or a lane engine stopped first is seen at once. Started after the lane
 * engine (the displays show its state, the cases divert its passages); stopped right after it, displays
 * first so every sign says STOP while the broker still carries it.
 */
import type { FastifyInstance } from "fastify";
import type { Logger } from "pino";
import type { GateConfig } from "../config/types.ts";
import type { EventBus } from "../core/bus.ts";
import type { Clock } from "../core/clock.ts";
import { LaneDisplays } from "../display/part.ts";
import { registerDisplayRoutes } from "../display/routes.ts";
import type { InspectionCases } from "../inspection/cases.ts";
import { InspectionDevices } from "../inspection/devices.ts";
import { registerExitRoutes } from "../inspection/exitRoutes.ts";
import { type InspectionPartDeps, inspectionCasesPart } from "../inspection/part.ts";
import { registerInspectionRoutes } from "../inspection/routes.ts";
import type { LaneEngine } from "../lane/engine.ts";
import { yardPart } from "../yard/part.ts";
import { registerTimeReleaseRoutes } from "../yard/reportRoutes.ts";
import { registerYardRoutes } from "../yard/routes.ts";
import type { Yard } from "../yard/yard.ts";
import type { OpenGateDatabase } from "./database.ts";
import type { DeviceSupervisor } from "./devices.ts";
import { type StopStep, whileRunning } from "./parts.ts";

export interface GateAreasDeps {
    database: OpenGateDatabase;
    devices: DeviceSupervisor;
    laneEngine: () => LaneEngine | undefined;
    /** A lane is in fault for its display: the gate processes by hand, or a device of the lane is not ready. */
    laneFault: (laneId: string) => boolean;
    config: () => GateConfig;
    /** The gate's actuation, for the exit barriers. */
    actuate: InspectionPartDeps["actuate"];
    bus: EventBus;
    clock: Clock;
    log: Logger;
}

/** What the areas' start built; each is taken out as it stops. */
interface AreaParts {
    displays?: LaneDisplays;
    cases?: InspectionCases;
    yard?: Yard;
    inspectionDevices?: InspectionDevices;
}

export class GateAreas {
    private readonly parts: AreaParts = {};

    constructor(private readonly deps: GateAreasDeps) {}

    async start(): Promise<void> {
        const { database, devices, bus, clock, log, config, laneEngine, actuate } = this.deps;
        const { db, sink, stores } = database;
        const { images, passages, events: eventLog } = stores;
        const initial = config();
        const broker = () => devices.brokerSide.embedded;
        const parts = this.parts;
        parts.displays = new LaneDisplays({
            ...{ gateId: initial.gate.id, bus, clock, broker: broker(), log },
            lanes: () => config().lanes,
            snapshot: (laneId) => laneEngine()?.snapshot(laneId),
            fault: this.deps.laneFault,
            publish: (topic, payload) => devices.brokerSide.send(topic, payload),
            called: (laneId) => parts.yard?.calledTo(laneId),
        });
        await parts.displays.start();
        const partDeps = { db, sink, eventLog, passages, bus, clock, config, laneEngine, log };
        parts.cases = inspectionCasesPart({ ...partDeps, actuate });
        await parts.cases.start();
        parts.yard = yardPart({
            ...partDeps,
            broker,
            send: (topic, payload) => devices.brokerSide.send(topic, payload),
            clearance: () => stores.clearance.view(),
        });
        await parts.yard.start();
        parts.inspectionDevices = new InspectionDevices({
            ...{ devices: initial.inspection?.devices ?? [], sink, images, db, clock },
            log: log.child({ component: "inspection" }),
        });
        devices.supervise(parts.inspectionDevices);
        await parts.inspectionDevices.start();
    }

    registerRoutes(api: FastifyInstance): void {
        const { displays, cases, yard } = this.parts;
        registerDisplayRoutes(api, whileRunning(displays));
        const { images } = this.deps.database.stores;
        registerInspectionRoutes(api, whileRunning(cases), { images, clock: this.deps.clock });
        registerYardRoutes(api, whileRunning(yard));
        registerExitRoutes(api, () => this.deps.config().inspection?.exits ?? [], this.deps.actuate);
        const zone = this.deps.config().gate.timeZone;
        registerTimeReleaseRoutes(api, () => (this.deps.config().yard ? this.parts.yard : undefined), zone);
    }

    /** The inspection cases, while the gate runs. */
    get inspections(): InspectionCases {
        return whileRunning(this.parts.cases);
    }

    /** Each area's stop, in the gate's stop order; a second stop finds nothing to stop. */
    stopSteps(): StopStep[] {
        const take = <K extends keyof AreaParts>(key: K): AreaParts[K] => {
            const part = this.parts[key];
            delete this.parts[key];
            return part;
        };
        return [
            { name: "displays", run: () => take("displays")?.stop() },
            { name: "inspection devices", run: () => take("inspectionDevices")?.stop() },
            { name: "inspection cases", run: () => take("cases")?.stop() },
            { name: "yard", run: () => take("yard")?.stop() },
        ];
    }
}
