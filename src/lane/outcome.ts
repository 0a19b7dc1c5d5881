/**
 * The order of a passage's outcomes, in one place: REJECT > INSPECT > HOLD > RELEASE. The rules decide one;
 * an officer's hold or divert can only raise it (a hold of a truck the rules sent to inspection leaves it
 * in inspection); the only way down is a release, and a release below what the rules decided needs a
 * supervisor's second approval (four eyes) when the rules decided INSPECT or REJECT or asked for it (RED
 * channel, watch list). A rules' HOLD is by definition a truck waiting for an officer's check, so one
 * officer's release with a reason resolves it. The lane state a passage rests in, how it completes and
 * the alert it raises all follow from its outcome here, so they cannot tell different stories.
 */
import type { Decision, DecisionRecord, Severity } from "./types.ts";

export type Outcome = Decision;

/** How a passage ended: through the barrier, back out of the lane, or to the inspection area. */
export type PassageCompletion = "exited" | "turned-back" | "diverted";

/** The lane states a decided passage rests in. */
export type RestingState = "RELEASED" | "HELD" | "INSPECTION";

/** The officer actions that raise an outcome, and the outcome each asks for. */
export const ESCALATION: Readonly<Record<"hold" | "divert", Outcome>> = { hold: "HOLD", divert: "INSPECT" };

const RANK: Readonly<Record<Outcome, number>> = { RELEASE: 0, HOLD: 1, INSPECT: 2, REJECT: 3 };

/** The stronger of two outcomes. */
export function stronger<T extends Outcome>(a: T, b: T): T {
    return RANK[b] > RANK[a] ? b : a;
}

/** The strongest of failing rules' severities (REJECT > INSPECT > HOLD); HOLD for none. */
export function strongestSeverity(severities: readonly Severity[]): Severity {
    return severities.reduce<Severity>((worst, s) => stronger(worst, s), "HOLD");
}

/** True when `a` lets the truck go further than `b` would. */
export function isWeaker(a: Outcome, b: Outcome): boolean {
    return RANK[a] < RANK[b];
}

/** The outcome when the rules decided `decided` and officers had raised it to `officerFloor` before. */
export function outcomeAtDecision(decided: Outcome, officerFloor: Outcome | undefined): Outcome {
    return officerFloor === undefined ? decided : stronger(decided, officerFloor);
}

/** Whether the release of a passage with this decision needs a supervisor as the second person. */
export function releaseNeedsFourEyes(decision: Pick<DecisionRecord, "decision" | "fourEyes">): boolean {
    return decision.fourEyes || RANK[decision.decision] >= RANK.INSPECT;
}

export function restingState(outcome: Outcome): RestingState {
    return outcome === "RELEASE" ? "RELEASED" : outcome === "INSPECT" ? "INSPECTION" : "HELD";
}

/** How a passage with this outcome completes when the truck leaves the lane. */
export function completionOf(outcome: Outcome): PassageCompletion {
    return outcome === "RELEASE" ? "exited" : outcome === "INSPECT" ? "diverted" : "turned-back";
}

/** The alert a stopped passage raises for the officer; none for a release. */
export function alertCodeOf(outcome: Outcome): "PASSAGE_HELD" | "PASSAGE_INSPECT" | "PASSAGE_REJECTED" | undefined {
    if (outcome === "RELEASE") return undefined;
    return outcome === "HOLD" ? "PASSAGE_HELD" : outcome === "INSPECT" ? "PASSAGE_INSPECT" : "PASSAGE_REJECTED";
}

/**
 * The outcome of a passage recorded before the outcome was kept with it (records of older releases): read
 * from the lane state it rests in, or how it ended. A HELD passage the rules rejected is a rejection.
 */
export function outcomeFromState(automatic: Outcome, state: string, completion?: string): Outcome {
    const byState: Record<string, Outcome> = {
        RELEASED: "RELEASE",
        EXITING: "RELEASE",
        HELD: automatic === "REJECT" ? "REJECT" : "HOLD",
        INSPECTION: "INSPECT",
    };
    const byCompletion: Record<string, Outcome> = {
        exited: "RELEASE",
        diverted: "INSPECT",
        "turned-back": automatic === "REJECT" ? "REJECT" : "HOLD",
    };
    if (state === "CLOSED") return (completion !== undefined ? byCompletion[completion] : undefined) ?? automatic;
    return byState[state] ?? automatic;
}
