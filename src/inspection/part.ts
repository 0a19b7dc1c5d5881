/**
 * The inspection cases part as the gate builds it: what InspectionCases needs, taken from the gate's
 * event log, passage records and lane engine, so src/gate.ts only creates, starts and stops it.
 */
import type { Logger } from "pino";
import { pointLaneIds } from "../config/pointLanes.ts";
import type { GateConfig } from "../config/types.ts";
import type { EventBus } from "../core/bus.ts";
import type { Clock } from "../core/clock.ts";
import type { ActuatorCommand, ActuatorOutcome } from "../drivers/transport.ts";
import type { EventSink } from "../ingest/deviceRuntime.ts";
import type { LaneEngine } from "../lane/engine.ts";
import { truckWentThrough } from "../lane/followUp.ts";
import type { Outcome } from "../lane/outcome.ts";
import type { DecisionRecord, PassageFacts } from "../lane/types.ts";
import type { Db } from "../store/db.ts";
import type { EventLog } from "../store/eventLog.ts";
import type { PassageStore } from "../store/passages.ts";
import { CaseStore } from "./caseStore.ts";
import { InspectionCases, type PassageView } from "./cases.ts";
import { actOnExit, type LastPassage } from "./exitBarrier.ts";

export interface InspectionPartDeps {
    db: Db;
    sink: EventSink;
    eventLog: EventLog;
    bus: EventBus;
    passages: PassageStore;
    laneEngine: () => LaneEngine | undefined;
    config: () => GateConfig;
    clock: Clock;
    log: Logger;
    /** The gate's actuation, for an exit point's barrier (src/gate/actuation.ts). */
    actuate: (
        deviceId: string,
        command: ActuatorCommand,
        exit: Record<string, string | string[]>,
    ) => Promise<ActuatorOutcome>;
}

/** A passage record as the case reads it: facts, decision, and the officers' actions of its timeline. */
function passageView(passages: PassageStore, passageId: string): PassageView | undefined {
    const row = passages.get(passageId);
    if (!row) return undefined;
    // The record is the lane engine's (src/lane/engine.ts recordPassage/note): these keys, these shapes.
    const record = row.record as {
        facts?: PassageFacts;
        decision?: DecisionRecord;
        timeline?: Record<string, unknown>[];
    };
    const officerActions = (record.timeline ?? [])
        .filter((entry) => entry.step === "OFFICER")
        .map((entry) => ({ action: String(entry.action), reasonCode: String(entry.reasonCode) }));
    return {
        laneId: row.laneId,
        officerActions,
        ...(record.facts && { facts: record.facts }),
        ...(record.decision && { decision: record.decision }),
    };
}

/** How far back a lane passage lets its truck through the exit: a day (a released truck leaves within hours). */
const EXIT_PASSAGE_WINDOW_MS = 24 * 3_600_000;

/** The plate's last passage on a lane of passages (not an entry or exit point's) within the window. */
function lastPassageOf(
    passages: PassageStore,
    plate: string,
    config: GateConfig,
    now: number,
): LastPassage | undefined {
    const pointLanes = pointLaneIds(config);
    const from = new Date(now - EXIT_PASSAGE_WINDOW_MS).toISOString();
    const row = passages.list({ plate, from, limit: 20 }).find((candidate) => !pointLanes.has(candidate.laneId));
    if (!row) return undefined;
    // The record is the lane engine's (src/lane/engine.ts recordState): the outcome in force and how it ended.
    const record = row.record as { standing?: { outcome?: Outcome }; outcome?: string };
    const wentThrough = truckWentThrough(record.standing?.outcome, record.outcome);
    return { passageId: row.passageId, laneId: row.laneId, wentThrough };
}

export function inspectionCasesPart(deps: InspectionPartDeps): InspectionCases {
    const listener = {};
    return new InspectionCases({
        store: new CaseStore(deps.db),
        append: (draft, options) => deps.sink.append(draft, options),
        read: (afterSeq, limit) => deps.eventLog.read(afterSeq, limit),
        headSeq: () => deps.eventLog.headSeq,
        onCommitted: (handler) => {
            deps.bus.on("committed", listener, handler);
            return () => deps.bus.removeListeners(listener);
        },
        passage: (passageId) => passageView(deps.passages, passageId),
        currentPassage: (laneId) => deps.laneEngine()?.snapshot(laneId)?.passage?.passageId,
        divert: async (passageId, request) => {
            const engine = deps.laneEngine();
            if (!engine) return { tooLate: true };
            const answer = await engine.officerAction({ passageId, action: "divert", role: "officer", ...request });
            return { tooLate: answer.tooLate !== undefined };
        },
        exits: () => deps.config().inspection?.exits ?? [],
        atExit: (attempt) =>
            actOnExit(attempt, {
                actuate: deps.actuate,
                lastPassage: (plate) => lastPassageOf(deps.passages, plate, deps.config(), deps.clock.now()),
                append: (draft, options) => deps.sink.append(draft, options),
            }),
        clock: deps.clock,
        log: deps.log,
    });
}
