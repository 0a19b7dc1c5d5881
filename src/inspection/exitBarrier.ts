/**
 * The exit barrier (`inspection.exits[].barrier`): what the exit point's PLC does when its camera reads a
 * truck. It opens only for a truck the gate let through: its inspection cases all cleared, or, with no case,
 * its last lane passage at this gate one that let it through the lane's barrier. Every other truck stays
 * behind a shut barrier with the light red, and an officer is told: a case not cleared is the inspection
 * area's alert (INSPECTION_EXIT_REFUSED, src/inspection/cases.ts); a truck the gate never released is
 * EXIT_NOT_RELEASED. Only live reads move the barrier: a read caught up after a restart is history, and the
 * truck it saw is long gone or still waiting for a new read.
 */
import type { ExitPointConfig } from "../config/types.ts";
import { GateError } from "../core/errors.ts";
import type { AppendOptions, GateEvent, GateEventDraft } from "../core/events.ts";
import type { ActuatorCommand, ActuatorOutcome } from "../drivers/transport.ts";

/** The exit check's answer for a truck (src/inspection/caseModel.ts exitVerdict). */
export type CaseVerdict = "refused" | "released" | "none";

/** The last lane passage of a plate at this gate, as the exit barrier weighs it. */
export interface LastPassage {
    passageId: string;
    laneId: string;
    /** The truck went on through the lane's barrier (released, or waved through after a hold). */
    wentThrough: boolean;
}

export type ExitBarrierDecision =
    | { open: true; because: "cases-cleared" | "passage-released"; passageId?: string }
    | { open: false; because: "case-not-cleared" | "not-released"; passageId?: string };

/**
 * What the barrier does for a truck read at the exit. Undefined: nothing to decide (a container code read
 * alone names no tractor whose passage could be looked up).
 */
export function exitBarrierDecision(
    verdict: CaseVerdict,
    plates: readonly string[],
    lastPassage: LastPassage | undefined,
): ExitBarrierDecision | undefined {
    if (verdict === "refused") return { open: false, because: "case-not-cleared" };
    if (verdict === "released") return { open: true, because: "cases-cleared" };
    if (plates.length === 0) return undefined;
    if (lastPassage?.wentThrough) return { open: true, because: "passage-released", passageId: lastPassage.passageId };
    return {
        open: false,
        because: "not-released",
        ...(lastPassage !== undefined && { passageId: lastPassage.passageId }),
    };
}

/** A truck at an exit point, as the exit check saw it. */
export interface ExitAttempt {
    exit: ExitPointConfig;
    verdict: CaseVerdict;
    plates: readonly string[];
    containers: readonly string[];
    caseIds: readonly string[];
    laneId: string | undefined;
    readingEventId: string;
}

export interface ExitBarrierDeps {
    /** The gate's actuation (src/gate/actuation.ts): the command and its result go to the event log. */
    actuate(
        deviceId: string,
        command: ActuatorCommand,
        exit: Record<string, string | string[]>,
    ): Promise<ActuatorOutcome>;
    lastPassage(plate: string): LastPassage | undefined;
    append(draft: GateEventDraft, options?: AppendOptions): Promise<GateEvent>;
}

/** Moves the exit barrier for a live read at an exit point with a barrier; no barrier, nothing to move. */
export async function actOnExit(attempt: ExitAttempt, deps: ExitBarrierDeps): Promise<void> {
    const barrier = attempt.exit.barrier;
    if (barrier === undefined) return;
    const plate = attempt.plates[0];
    const last = plate === undefined ? undefined : deps.lastPassage(plate);
    const decision = exitBarrierDecision(attempt.verdict, attempt.plates, last);
    if (!decision) return;
    const why = {
        exitId: attempt.exit.id,
        because: decision.because,
        plates: [...attempt.plates],
        containers: [...attempt.containers],
        readingEventId: attempt.readingEventId,
        ...(attempt.caseIds.length > 0 && { caseIds: [...attempt.caseIds] }),
        ...(decision.passageId !== undefined && { passageId: decision.passageId }),
    };
    if (decision.open) {
        await deps.actuate(barrier, { type: "setLight", which: "entry", color: "green" }, why);
        await deps.actuate(barrier, { type: "openBarrier" }, why);
        return;
    }
    await deps.actuate(barrier, { type: "setLight", which: "entry", color: "red" }, why);
    // A case not cleared has its alert from the exit check already; a truck never released needs its own.
    if (decision.because !== "not-released") return;
    const truck = [...attempt.plates, ...attempt.containers].join(" / ");
    await deps.append(
        {
            type: "alert.raised",
            ...(attempt.laneId !== undefined && { laneId: attempt.laneId }),
            deviceId: barrier,
            data: {
                code: "EXIT_NOT_RELEASED",
                severity: "critical",
                message: `truck ${truck} at exit ${attempt.exit.id} was not released by a lane of this gate${last ? ` (last passage ${last.passageId} on ${last.laneId} did not let it through)` : ""}: the barrier stays shut for an officer to decide`,
                exitId: attempt.exit.id,
                truck,
                ...(last && { passageId: last.passageId }),
            },
        },
        { urgent: true },
    );
}

/** A supervisor's opening of an exit barrier by hand: who, why, and the truck as the officer names it. */
export interface ExitOpeningByHand {
    exitId: string;
    supervisor: string;
    reasonCode: string;
    note?: string;
    plate?: string;
}

/**
 * Opens an exit point's barrier on a supervisor's word: the way out for a truck the barrier keeps (a misread
 * plate, a passage record lost), which bypasses the cases and the lanes' decisions, so the event names who
 * and why. NOT_FOUND for an unknown exit, EXIT_NO_BARRIER for one without a barrier.
 */
export async function openExitByHand(
    opening: ExitOpeningByHand,
    exits: readonly ExitPointConfig[],
    actuate: ExitBarrierDeps["actuate"],
): Promise<ActuatorOutcome> {
    const exit = exits.find((point) => point.id === opening.exitId);
    if (!exit) throw new GateError("NOT_FOUND", `no exit point ${opening.exitId}`);
    if (exit.barrier === undefined)
        throw new GateError("EXIT_NO_BARRIER", `exit point ${exit.id} has no barrier (inspection.exits[].barrier)`);
    const why = {
        exitId: exit.id,
        because: "supervisor",
        supervisor: opening.supervisor,
        reasonCode: opening.reasonCode,
        ...(opening.note !== undefined && { note: opening.note }),
        ...(opening.plate !== undefined && { plates: [opening.plate] }),
    };
    await actuate(exit.barrier, { type: "setLight", which: "entry", color: "green" }, why);
    return actuate(exit.barrier, { type: "openBarrier" }, why);
}
