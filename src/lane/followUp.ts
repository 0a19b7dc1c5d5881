/**
 * What is learnt of a passage after its decision, for the next point that can still stop the truck (the
 * exit, the inspection area): an officer's hold or divert that came too late at the lane, and an offline
 * decision that central's fresh clearance data would now decide more strictly. Each is a
 * `passage.followup` event in the chain and an entry of the passage record's `followUps`.
 */
import type { LateAction } from "./correlator.ts";
import { isWeaker, type Outcome } from "./outcome.ts";
import { decide } from "./rules.ts";
import type { ClearanceView, Decision, DecisionRecord, PassageFacts, RuleParams } from "./types.ts";

export type PassageFollowUp =
    | ({ kind: "too-late"; at: string } & LateAction)
    | ({ kind: "offline-recheck"; at: string } & OfflineRecheck);

/** An offline decision re-checked against fresh clearance data. */
export interface OfflineRecheck {
    /** The rules' decision made offline, and what they decide with the fresh data. */
    was: Decision;
    now: Decision;
    /** The fresh data decides more strictly: the truck is named in an alert. */
    stronger: boolean;
    /** The failing rule of the new decision and its reason. */
    rule?: string;
    reason?: string;
    clearanceVersion: string;
}

/**
 * The clearance view as it is now, read for a decision made at an earlier time: declarations and watch list
 * as central says now, and the data's present age, so a decision re-made for `decidedAt` is not offline
 * merely because the data was refreshed after it.
 */
function agedNow(view: ClearanceView, now: number): ClearanceView {
    return {
        declaration: (number) => view.declaration(number),
        watchList: () => view.watchList(),
        version: view.version,
        ageMs: () => view.ageMs(now),
    };
}

/**
 * Re-decides a passage decided offline with the same pure rules against the clearance data in force now,
 * at the time it was decided (a validity date counts as it stood then). Undefined while the data is still
 * stale: nothing is fresher to check against yet.
 */
export function recheckOffline(
    facts: PassageFacts,
    decided: DecisionRecord,
    decidedAt: number,
    clearance: ClearanceView,
    params: RuleParams,
    now: number,
): { record: DecisionRecord; recheck: OfflineRecheck } | undefined {
    const record = decide(facts, agedNow(clearance, now), params, decidedAt);
    if (record.offline) return undefined;
    const deciding = record.results.find((result) => result.rule === record.decidingRule);
    return {
        record,
        recheck: {
            was: decided.decision,
            now: record.decision,
            stronger: isWeaker(decided.decision, record.decision),
            ...(record.decidingRule !== undefined && { rule: record.decidingRule }),
            ...(deciding && { reason: deciding.reason }),
            clearanceVersion: record.clearanceVersion,
        },
    };
}

/** Whether the truck went on through the barrier: released, leaving, or closed by leaving through it. */
export function truckWentThrough(outcome: Outcome | undefined, completion: string | undefined): boolean {
    return completion === "exited" || (completion === undefined && outcome === "RELEASE");
}
