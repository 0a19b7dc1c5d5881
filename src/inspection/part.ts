/**
 * The inspection cases part as the gate builds it: what InspectionCases needs, taken from the gate's
 * event log, passage records and lane engine, so src/gate.ts only creates, starts and stops it.
 */
import type { Logger } from "pino";
import type { GateConfig } from "../config/types.ts";
import type { EventBus } from "../core/bus.ts";
import type { Clock } from "../core/clock.ts";
import type { EventSink } from "../ingest/deviceRuntime.ts";
import type { LaneEngine } from "../lane/engine.ts";
import type { DecisionRecord, PassageFacts } from "../lane/types.ts";
import type { Db } from "../store/db.ts";
import type { EventLog } from "../store/eventLog.ts";
import type { PassageStore } from "../store/passages.ts";
import { CaseStore } from "./caseStore.ts";
import { InspectionCases, type PassageView } from "./cases.ts";

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
        clock: deps.clock,
        log: deps.log,
    });
}
