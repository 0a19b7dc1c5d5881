import { GateError } from "../core/errors.ts";
import type {
    BarrierValues,
    DeviceStatus,
    PlateValues,
    PresenceValues,
    Reading,
    SealStatus,
    SealValues,
    WeightValues,
} from "../core/events.ts";
import {
    alertCodeOf,
    completionOf,
    ESCALATION,
    type Outcome,
    outcomeAtDecision,
    type PassageCompletion,
    releaseNeedsFourEyes,
    restingState,
    stronger,
} from "./outcome.ts";
import { sealBroken } from "./rules.ts";
import type { DecisionRecord, ExcessKind, PassageFacts, RuleParams } from "./types.ts";

/**
 * The per-lane correlator: one state machine per lane that turns the lane's readings into passages
 * (docs/design.md "Lane engine", docs/devices.md). It is synchronous and deterministic: it owns no timers and
 * does no I/O. The owner feeds it readings, device statuses and officer actions as they happen, calls
 * tick(now) periodically, and turns every returned LaneOutput into a stored event or an action.
 *
 * IDLE → VEHICLE_PRESENT → IDENTIFYING → WEIGHING → DECIDING → RELEASED | HELD | INSPECTION → EXITING →
 * CLOSED → IDLE. DECIDING and CLOSED are passed through within one call (the rules are a pure function),
 * so the owner sees them as `state` outputs but never as the resting state of a snapshot.
 */

export type LaneState =
    | "IDLE"
    | "VEHICLE_PRESENT"
    | "IDENTIFYING"
    | "WEIGHING"
    | "DECIDING"
    | "RELEASED"
    | "HELD"
    | "INSPECTION"
    | "EXITING"
    | "CLOSED";

export type LaneCommand = "open-barrier" | "light-green" | "light-red";
export type PassageOutcome = PassageCompletion;
export type AlertSeverity = "critical" | "warning";
export type RequiredRead = RuleParams["requiredReads"][number];

/**
 * What one read or event added to a passage: the event stores this, not the whole passage, so a passage's
 * stored bytes grow with what happened, not with its size times its reads.
 */
export type PassageChange =
    | { plate: PlateValues }
    | { declaration: string }
    | { container: { number: string; checkDigitOk: boolean } }
    /** `displaced`: a kept intact seal this broken one took the place of in a full passage. */
    | { seal: SealValues; displaced?: string }
    | { grossKg: number }
    | { timedOut: string[] }
    | { deviceOffline: string };

/** What one call of the correlator asks its owner to store, do or show. */
export type LaneOutput =
    | { type: "passage.opened"; passageId: string; facts: PassageFacts }
    /** `facts` is the whole passage for its record; `change` is what the stored event carries. */
    | { type: "passage.updated"; passageId: string; facts: PassageFacts; change: PassageChange; state: LaneState }
    /** `outcome`: the rules' decision as an officer's hold before it raised it (outcome.ts). */
    | { type: "passage.decided"; passageId: string; facts: PassageFacts; decision: DecisionRecord; outcome: Outcome }
    | { type: "command"; passageId: string; command: LaneCommand }
    | { type: "alert"; passageId?: string; code: string; severity: AlertSeverity; message: string }
    | { type: "passage.completed"; passageId: string; outcome: PassageOutcome }
    | { type: "approval.required"; passageId: string; requestedBy: string }
    /** An officer's hold or divert came after the barrier open was commanded: nothing changed at the lane. */
    | { type: "action.too-late"; passageId: string; late: LateAction }
    /** `outcome`: the outcome in force, on the state a decided passage rests in for it (outcome.ts). */
    | { type: "state"; state: LaneState; passageId?: string; outcome?: Outcome };

/** A device of the lane as configured; `kind` "plate" with `role` "rear" is the rear (trailer) camera. */
export interface LaneDevice {
    id: string;
    kind: string;
    role?: string;
}

export interface LaneTimeouts {
    /** Plates, scans and seals must arrive within this many ms of the vehicle's arrival. */
    identifyMs: number;
    /** A stable weight must arrive within this many ms of the vehicle's arrival. */
    weighMs: number;
    /** After a release the truck should have left within this many ms; later raises EXIT_TIMEOUT. */
    exitMs: number;
}

export const DEFAULT_LANE_TIMEOUTS: Readonly<LaneTimeouts> = {
    identifyMs: 20_000, // 20 seconds
    weighMs: 30_000, // 30 seconds
    exitMs: 60_000, // 60 seconds
};

export interface LaneCorrelatorOptions {
    laneId: string;
    direction: "IN" | "OUT";
    /** The lane's devices: status changes of other devices are ignored. */
    devices: readonly LaneDevice[];
    timeouts?: Partial<LaneTimeouts>;
    /** From RuleParams: the reads a passage waits for before it is decided. */
    requiredReads: readonly RequiredRead[];
    /**
     * The rules. Must be pure; if it throws, the passage is held (never released) and DECIDE_FAILED is
     * raised, because an exception must not open a barrier.
     */
    decide: (facts: PassageFacts, now: number) => DecisionRecord;
    newPassageId: () => string;
    /**
     * The clock lane timeouts are measured on (ms, never jumps). Absent: the `now` each call is given,
     * which is what the pure tests pass; the engine hands in the monotonic clock so a wall-clock step
     * neither times a truck out at once nor keeps it waiting an hour.
     */
    monotonic?: () => number;
}

export type OfficerActionKind = "confirm" | "hold" | "release" | "divert";

/**
 * Why an officer's hold or divert could no longer stop a truck: the lane had commanded the barrier open
 * (gate-edge never commands a close, the PLC keeps safety), the barrier was seen open or the truck was
 * leaving, or the truck had left the lane.
 */
export type TooLateBecause = "open-commanded" | "barrier-open" | "left";

const TOO_LATE_TEXT: Readonly<Record<TooLateBecause, string>> = {
    "open-commanded": "the barrier open command had already been sent",
    "barrier-open": "the barrier had already opened",
    left: "the truck had already left the lane",
};

/** A hold or divert that came too late: the truck is flagged for the next point that can stop it. */
export interface LateAction {
    action: "hold" | "divert";
    /** What the officer asked for (HOLD or INSPECT). */
    asked: Outcome;
    officerId: string;
    reasonCode: string;
    note?: string;
    because: TooLateBecause;
    /** Why, in words (the API answer and the alert say it). */
    reason: string;
    /** The truck as the lane identified it: its plates (front, rear) and declarations. */
    plates: string[];
    declarations: string[];
}

/** What identifies a truck to the next point that can stop it: the plates read front and rear, its declarations. */
export interface TruckIdentity {
    plates: string[];
    declarations: string[];
}

export function truckIdentity(facts: PassageFacts): TruckIdentity {
    const best = [facts.frontPlate, facts.rearPlate].flatMap((plate) => (plate ? [plate.normalized] : []));
    const plates = best.length > 0 ? best : facts.plateReads.map((plate) => plate.normalized);
    return { plates: [...new Set(plates)], declarations: [...facts.declarations] };
}

/**
 * The outputs of a hold or divert that came too late: the late action (stored as the passage's follow-up,
 * its record flagged) and a critical alert naming the truck, so the exit or the inspection area stops it.
 */
export function tooLateOutputs(
    request: Pick<OfficerActionRequest, "passageId" | "officerId" | "reasonCode" | "note"> & {
        action: "hold" | "divert";
    },
    truck: TruckIdentity,
    because: TooLateBecause,
): LaneOutput[] {
    const { passageId, action, officerId } = request;
    const asked = ESCALATION[action];
    const plates = truck.plates.length > 0 ? truck.plates.join(" / ") : "no plate read";
    const reason = `too late to ${action} passage ${passageId}: ${TOO_LATE_TEXT[because]}`;
    const late: LateAction = {
        action,
        asked,
        officerId,
        reasonCode: request.reasonCode,
        ...(request.note !== undefined && { note: request.note }),
        because,
        reason,
        plates: truck.plates,
        declarations: truck.declarations,
    };
    const where = action === "divert" ? "the inspection area" : "the exit";
    return [
        { type: "action.too-late", passageId, late },
        {
            type: "alert",
            passageId,
            code: "PASSAGE_ACTION_TOO_LATE",
            severity: "critical",
            message: `truck ${plates} (passage ${passageId}${truck.declarations.length > 0 ? `, declaration ${truck.declarations.join(", ")}` : ""}): ${officerId}'s ${action} (${request.reasonCode}) came too late, ${TOO_LATE_TEXT[because]}; the truck was not stopped at the lane: stop it at ${where}`,
        },
    ];
}

export interface OfficerActionRequest {
    passageId: string;
    action: OfficerActionKind;
    /** Required (non-blank) for hold, release and divert. */
    reasonCode: string;
    note?: string;
    officerId: string;
    /** "supervisor" may give the second approval of a four-eyes release; any other role may not. */
    role: string;
    now: number;
}

/** What officers made of a passage, beside the rules' decision: kept with the passage record. */
export interface PassageStanding {
    /** The outcome in force once decided (see outcome.ts). */
    outcome?: Outcome;
    /** An officer's hold or divert made before the decision: the decision cannot go below it. */
    officerHold?: Outcome;
    /** The first half of a four-eyes release, waiting for a supervisor. */
    approvalRequestedBy?: string;
}

export interface LaneSnapshot {
    state: LaneState;
    passage?: {
        passageId: string;
        facts: PassageFacts;
        decision?: DecisionRecord;
        openedAt: number;
        standing: PassageStanding;
    };
}

/** A passage as its record keeps it, to carry on with after a restart. */
export interface SavedPassage {
    facts: PassageFacts;
    state: LaneState;
    decision?: DecisionRecord;
    standing: PassageStanding;
}

interface Passage {
    facts: PassageFacts;
    state: LaneState;
    decision?: DecisionRecord;
    /** Timeouts run from here: the arrival, or the moment a passage waiting behind another one opened. */
    windowStart: number;
    releasedAt?: number;
    exitTimeoutAlerted: boolean;
    /** The identify timeout passed: a plate from one camera is then enough. */
    identifyExpired: boolean;
    /** The strongest hold or divert of an officer before the decision: the decision cannot go below it. */
    officerHold?: Outcome;
    /** The outcome in force once decided: the rules' decision as officers raised or released it. */
    outcome?: Outcome;
    /** First release of a four-eyes passage, waiting for a supervisor. */
    approvalRequestedBy?: string;
    /** The kinds whose bound this passage reached (alerted once each). */
    excessAlerted: Set<ExcessKind>;
    /** The exit loop was occupied while EXITING, so its clearing means the truck has left. */
    exitLoopSeen: boolean;
    tailgatingAlerted: boolean;
}

interface Buffered {
    reading: VehicleReading;
    at: number;
}

type VehicleReading = Extract<Reading, { kind: "plate" | "scan" | "container" | "seal" | "weight" }>;

/** A lane that never closes its passage must not grow without bound; older buffered reads are dropped. */
const MAX_BUFFERED = 256;
/** Enough closed ids to tell "closed" from "unknown" for actions on recent passages. */
const MAX_CLOSED_IDS = 100;
/**
 * Distinct reads of one kind (plate reads, declarations, containers, seals) a passage keeps. A truck has a
 * handful; a reader in range of a yard reports hundreds of seals, and each kept one is in every record
 * write and in the decided event. Beyond it reads are counted in facts.excess and the passage is held.
 */
export const MAX_FACTS_PER_KIND = 64;

/**
 * Correlates one lane's readings into passages. Every method returns the outputs it produced, in order;
 * none keeps a reference to an output's facts (each carries a copy).
 */
export class LaneCorrelator {
    private options: LaneCorrelatorOptions;
    private timeouts: LaneTimeouts;
    private passage: Passage | undefined;
    private readonly loops = { entry: false, safety: false, exit: false };
    private barrier: BarrierValues["state"] = "unknown";
    private lastWeight: WeightValues | undefined;
    private readonly deviceStatus = new Map<string, DeviceStatus>();
    /** Reads of the next vehicle that arrived while the current one was leaving. */
    private buffer: Buffered[] = [];
    /** Recently closed passages: how each ended and which truck it was, for actions that come after. */
    private readonly closedPassages: { passageId: string; completion: PassageCompletion; truck: TruckIdentity }[] = [];

    constructor(options: LaneCorrelatorOptions) {
        this.options = options;
        this.timeouts = { ...DEFAULT_LANE_TIMEOUTS, ...options.timeouts };
    }

    /** Where lane timeouts are measured: the monotonic clock when given, else the caller's `now`. */
    private elapsedClock(now: number): number {
        return this.options.monotonic ? this.options.monotonic() : now;
    }

    /**
     * New rule settings from a configuration reload: timeouts and required reads count from the next
     * check on, also for a passage already open (its window start stays where it was).
     */
    updateSettings(settings: { timeouts?: Partial<LaneTimeouts>; requiredReads: readonly RequiredRead[] }): void {
        this.options = { ...this.options, requiredReads: settings.requiredReads };
        this.timeouts = { ...DEFAULT_LANE_TIMEOUTS, ...settings.timeouts };
    }

    /** The lane's state: the current passage's, or IDLE. */
    get state(): LaneState {
        return this.passage?.state ?? "IDLE";
    }

    /**
     * A reading of this lane (readings of other lanes are ignored). Feed every kind: plates, scans,
     * containers, seals, weights, presence loops, barrier states and device statuses.
     */
    onReading(reading: Reading, now: number): LaneOutput[] {
        if (reading.laneId !== this.options.laneId) return [];
        const out: LaneOutput[] = [];
        switch (reading.kind) {
            case "presence":
                this.onPresence(reading.values, now, out);
                break;
            case "barrier":
                this.onBarrier(reading.values, now, out);
                break;
            case "device":
                return this.onDeviceStatus(reading.deviceId, reading.values.status, now);
            case "radiation":
            case "xray":
                // Inspection-area readings belong to the inspection case (issue 18 part 2), not to a passage.
                return out;
            default:
                if (reading.kind === "weight") this.onScale(reading.values, now, out);
                this.onVehicleReading(reading, now, now, out);
        }
        return out;
    }

    /**
     * A status change of a device. A lane device going offline while a passage is open is recorded in
     * facts.devicesOffline (the rules hold such a passage) and raises DEVICE_OFFLINE_MID_PASSAGE once.
     */
    onDeviceStatus(deviceId: string, status: DeviceStatus, now: number): LaneOutput[] {
        if (!this.options.devices.some((device) => device.id === deviceId)) return [];
        this.deviceStatus.set(deviceId, status);
        const passage = this.passage;
        if (status !== "offline" || !passage || passage.facts.devicesOffline.includes(deviceId)) return [];
        const out: LaneOutput[] = [];
        passage.facts.devicesOffline.push(deviceId);
        out.push({
            type: "alert",
            passageId: passage.facts.passageId,
            code: "DEVICE_OFFLINE_MID_PASSAGE",
            severity: "warning",
            message: `device ${deviceId} went offline during passage ${passage.facts.passageId}`,
        });
        this.factsChanged(passage, { deviceOffline: deviceId }, now, out);
        return out;
    }

    /** The lane's emergency stop changed. While a passage is open, pressing it raises ESTOP_DURING_PASSAGE. */
    onEStop(active: boolean, _now: number): LaneOutput[] {
        const passage = this.passage;
        if (!active || !passage) return [];
        return [
            {
                type: "alert",
                passageId: passage.facts.passageId,
                code: "ESTOP_DURING_PASSAGE",
                severity: "critical",
                message: `emergency stop pressed during passage ${passage.facts.passageId} (${passage.state})`,
            },
        ];
    }

    /**
     * Applies the timeouts; call it periodically (every 250 ms–1 s). Identify and weigh timeouts put every
     * missing required read in facts.timedOut and decide; the exit timeout raises EXIT_TIMEOUT once.
     */
    tick(now: number): LaneOutput[] {
        const passage = this.passage;
        if (!passage) return [];
        const out: LaneOutput[] = [];
        const clock = this.elapsedClock(now);
        if (!passage.decision) {
            const elapsed = clock - passage.windowStart;
            if (elapsed >= this.timeouts.identifyMs && !passage.identifyExpired) {
                // A camera that missed its plate must not keep the truck waiting once the other one has read.
                passage.identifyExpired = true;
                const missing = this.missing(passage);
                if (missing.absent.some((read) => read !== "weight")) this.timeOut(passage, missing.absent, now, out);
                else if (missing.waiting.length === 0) this.decide(passage, now, out);
                else this.setState(passage, this.collectingState(passage, missing.waiting), out);
            }
            if (!passage.decision && elapsed >= this.timeouts.weighMs) {
                const missing = this.missing(passage);
                if (missing.absent.length > 0) this.timeOut(passage, missing.absent, now, out);
            }
        } else if (
            (passage.state === "RELEASED" || passage.state === "EXITING") &&
            passage.releasedAt !== undefined &&
            clock - passage.releasedAt >= this.timeouts.exitMs &&
            !passage.exitTimeoutAlerted
        ) {
            passage.exitTimeoutAlerted = true;
            out.push({
                type: "alert",
                passageId: passage.facts.passageId,
                code: "EXIT_TIMEOUT",
                severity: "warning",
                message: `passage ${passage.facts.passageId} was released ${Math.round((clock - passage.releasedAt) / 1000)} s ago and has not left the lane`,
            });
        }
        return out;
    }

    /**
     * An officer's action on the lane's current passage.
     * - confirm: acknowledges the decision; no output.
     * - hold / divert: raise the outcome to HOLD / INSPECT, never lower it (outcome.ts): before the decision
     *   the decision cannot go below it; after it, a passage below becomes HELD / INSPECTION with a red
     *   light, and one already at or above stays as it is. Once the passage is released (the barrier open
     *   commanded) or has left through the barrier, it is too late: nothing changes at the lane and the
     *   outputs are tooLateOutputs' (the action, flagged for the next point that can stop the truck, and
     *   a critical alert).
     * - release: releases a HELD or INSPECTION passage (green light, open barrier). When the decision needs
     *   four eyes (releaseNeedsFourEyes), the first release only returns `approval.required`; a second
     *   release by a different person with role "supervisor" releases it.
     * @throws GateError API_BAD_REQUEST with the reason: unknown or closed passage, blank reason code,
     *   confirm/release before the decision, release of a released passage, a four-eyes approval by the requester themselves or by someone who is not a supervisor.
     */
    officerAction(request: OfficerActionRequest): LaneOutput[] {
        const passage = this.passage;
        const { passageId, action, officerId, now } = request;
        if (action !== "confirm" && request.reasonCode.trim() === "") {
            throw new GateError("API_BAD_REQUEST", `a reason code is required to ${action} a passage`);
        }
        if (!passage || passage.facts.passageId !== passageId) {
            const closed = this.closedPassages.find((entry) => entry.passageId === passageId);
            if (closed?.completion === "exited" && (action === "hold" || action === "divert")) {
                return tooLateOutputs({ ...request, action }, closed.truck, "left");
            }
            const reason = closed
                ? `passage ${passageId} is closed`
                : `unknown passage ${passageId} on lane ${this.options.laneId}`;
            throw new GateError("API_BAD_REQUEST", reason);
        }
        const out: LaneOutput[] = [];
        switch (action) {
            case "confirm":
                if (!passage.decision)
                    throw new GateError("API_BAD_REQUEST", `passage ${passageId} is not decided yet`);
                break;
            case "hold":
            case "divert": {
                // Once the lane commanded the barrier open nothing here can stop the truck: the action is
                // answered as too late and the truck flagged, never changed to a hold the barrier ignores.
                if (passage.outcome === "RELEASE") {
                    const because =
                        passage.state === "EXITING"
                            ? "barrier-open"
                            : this.barrierUp()
                              ? "barrier-open"
                              : "open-commanded";
                    return tooLateOutputs({ ...request, action }, truckIdentity(passage.facts), because);
                }
                passage.approvalRequestedBy = undefined;
                const asked = ESCALATION[action];
                if (passage.outcome === undefined) {
                    passage.officerHold = outcomeAtDecision(asked, passage.officerHold);
                    break;
                }
                const target = stronger(passage.outcome, asked);
                if (target === passage.outcome) break;
                this.settle(
                    passage,
                    target,
                    `${action === "hold" ? "held" : "diverted to inspection"} by ${officerId}: ${request.reasonCode}`,
                    now,
                    out,
                );
                break;
            }
            case "release":
                if (!passage.decision || passage.outcome === undefined)
                    throw new GateError("API_BAD_REQUEST", `passage ${passageId} is not decided yet`);
                if (passage.outcome === "RELEASE") {
                    throw new GateError("API_BAD_REQUEST", `passage ${passageId} is already released`);
                }
                if (releaseNeedsFourEyes(passage.decision)) {
                    const requestedBy = passage.approvalRequestedBy;
                    if (requestedBy === undefined) {
                        passage.approvalRequestedBy = officerId;
                        out.push({ type: "approval.required", passageId, requestedBy: officerId });
                        break;
                    }
                    if (requestedBy === officerId) {
                        throw new GateError(
                            "API_BAD_REQUEST",
                            `${officerId} requested this release and may not approve it: a second person must`,
                        );
                    }
                    if (request.role !== "supervisor") {
                        throw new GateError(
                            "API_BAD_REQUEST",
                            `the release of passage ${passageId} needs a supervisor's approval; ${officerId} is ${request.role}`,
                        );
                    }
                    passage.approvalRequestedBy = undefined;
                }
                this.settle(passage, "RELEASE", `released by ${officerId}: ${request.reasonCode}`, now, out);
                break;
        }
        return out;
    }

    /** The lane as the API and the display show it. */
    snapshot(): LaneSnapshot {
        const passage = this.passage;
        if (!passage) return { state: "IDLE" };
        return {
            state: passage.state,
            passage: {
                passageId: passage.facts.passageId,
                facts: structuredClone(passage.facts),
                ...(passage.decision && { decision: structuredClone(passage.decision) }),
                openedAt: passage.facts.openedAt,
                standing: standingOf(passage),
            },
        };
    }

    /**
     * Carries on with a passage the gate was handling when it stopped (read back from its record), so a
     * restart neither forgets an officer's hold nor lets the truck's next read open a second passage. Its
     * timeouts count from now; the lane's loops and barrier are learnt again from the devices. Ignored
     * while the lane has a passage, or for a passage that already closed.
     */
    restore(saved: SavedPassage, now: number): void {
        if (this.passage || saved.state === "CLOSED" || saved.facts.laneId !== this.options.laneId) return;
        const decided = saved.decision !== undefined;
        const clock = this.elapsedClock(now);
        // A decision without a kept outcome (a record of an older release) stands as the rules made it.
        const outcome = decided ? (saved.standing.outcome ?? saved.decision?.decision) : undefined;
        this.passage = {
            facts: structuredClone(saved.facts),
            state: saved.state === "DECIDING" ? "IDENTIFYING" : saved.state,
            windowStart: clock,
            exitTimeoutAlerted: false,
            identifyExpired: false,
            exitLoopSeen: false,
            tailgatingAlerted: false,
            excessAlerted: new Set(
                Object.entries(saved.facts.excess ?? {}).flatMap(([kind, n]) => (n > 0 ? [kind as ExcessKind] : [])),
            ),
            ...(saved.decision && { decision: structuredClone(saved.decision) }),
            ...(outcome !== undefined && { outcome }),
            ...(saved.standing.officerHold !== undefined && { officerHold: saved.standing.officerHold }),
            ...(saved.standing.approvalRequestedBy !== undefined && {
                approvalRequestedBy: saved.standing.approvalRequestedBy,
            }),
            ...(outcome === "RELEASE" && { releasedAt: clock }),
        };
    }

    // ---- physical lane ----

    private onPresence(values: PresenceValues, now: number, out: LaneOutput[]): void {
        const was = this.loops[values.loop];
        this.loops[values.loop] = values.occupied;
        // Loops report changes; a repeat carries no edge and must not count as a second vehicle.
        if (was === values.occupied) return;
        const passage = this.passage;
        if (!passage) {
            if (values.loop === "entry" && values.occupied) this.open(now, now, out);
            return;
        }
        if (!values.occupied) {
            if (values.loop === "exit" && passage.state === "EXITING" && passage.exitLoopSeen) {
                this.close(passage, "exited", now, out);
                return;
            }
            this.maybeTurnedBack(passage, now, out);
            return;
        }
        if (values.loop === "entry") {
            // Before the barrier opens the truck in the lane is the one being identified (a gap between
            // tractor and trailer drops the loop for a moment); once it opens, a new occupation is a follower.
            if (passage.state === "EXITING") this.alertTailgating(passage, "the entry loop was occupied again", out);
            return;
        }
        if (passage.state === "RELEASED") this.setState(passage, "EXITING", out);
        if (values.loop === "exit" && passage.state === "EXITING") passage.exitLoopSeen = true;
    }

    private onBarrier(values: BarrierValues, now: number, out: LaneOutput[]): void {
        const was = this.barrier;
        this.barrier = values.state;
        const passage = this.passage;
        if (was === values.state || !passage) return;
        // Only a change seen after the release counts: a boom still up for the previous truck is not this one's.
        if (values.state === "open" && passage.state === "RELEASED") this.setState(passage, "EXITING", out);
        else if (values.state === "closed" && passage.state === "EXITING") this.close(passage, "exited", now, out);
    }

    private onScale(values: WeightValues, now: number, out: LaneOutput[]): void {
        const wasLoaded = this.scaleLoaded();
        this.lastWeight = values;
        if (wasLoaded && !this.scaleLoaded() && this.passage) this.maybeTurnedBack(this.passage, now, out);
    }

    private scaleLoaded(): boolean {
        const weight = this.lastWeight;
        return weight !== undefined && !weight.zero && weight.kg > 0;
    }

    private barrierUp(): boolean {
        return this.barrier === "open" || this.barrier === "opening";
    }

    // ---- readings of a vehicle ----

    private onVehicleReading(reading: VehicleReading, now: number, detectedAt: number, out: LaneOutput[]): void {
        let passage = this.passage;
        if (!passage) {
            // Only a plate or a document read means a truck is in position: an e-seal reader's range reaches
            // the queue, and a scale settling with no truck is drift.
            if (!opensPassage(reading)) return;
            passage = this.open(now, detectedAt, out);
        }
        if (this.belongsToNext(passage, reading)) {
            if (reading.kind === "plate")
                this.alertTailgating(passage, `plate ${reading.values.normalized} was read`, out);
            this.bufferForNext(reading, now);
            return;
        }
        const sealBefore = reading.kind === "seal" ? this.sealStatusOf(passage, reading.values.sealId) : undefined;
        const change = this.record(passage, reading, out);
        if (!change) return;
        // After the decision a seal that got worse is news; one that reads better again is not.
        if (
            reading.kind === "seal" &&
            passage.decision &&
            this.sealStatusOf(passage, reading.values.sealId) !== sealBefore
        )
            this.alertLateSeal(passage, reading.values, out);
        this.factsChanged(passage, change, now, out);
    }

    /** Never merge two trucks: after the decision, reads that cannot be this truck's wait for the next passage. */
    private belongsToNext(passage: Passage, reading: VehicleReading): boolean {
        if (!passage.decision) return false;
        const facts = passage.facts;
        if (passage.state !== "EXITING") {
            // The barrier is still down, so the truck in front of the cameras is this one, except a plate at an
            // already-read position that is not a misread of any plate of it.
            return (
                reading.kind === "plate" &&
                (reading.values.position === "front" ? facts.frontPlate : facts.rearPlate) !== undefined &&
                !facts.plateReads.some((plate) => plate.misreadKey === reading.values.misreadKey)
            );
        }
        switch (reading.kind) {
            case "plate":
                return !facts.plateReads.some((plate) => plate.misreadKey === reading.values.misreadKey);
            case "seal":
                return !facts.seals.some((seal) => seal.sealId === reading.values.sealId);
            case "container":
                return !facts.containers.some((container) => container.number === reading.values.number);
            case "scan": {
                const parsed = reading.values.parsed;
                if (parsed.type === "declaration") return !facts.declarations.includes(parsed.number);
                if (parsed.type === "container") return !facts.containers.some((c) => c.number === parsed.number);
                return false;
            }
            case "weight":
                return true;
        }
    }

    private bufferForNext(reading: VehicleReading, now: number): void {
        if (reading.kind === "weight") {
            // Only the latest weight describes the scale: earlier ones are the leaving truck's axles, and an
            // unsettled one says the scale holds no truck to weigh yet.
            this.buffer = this.buffer.filter((item) => item.reading.kind !== "weight");
            if (!isSettled(reading.values)) return;
        }
        this.buffer.push({ reading, at: now });
        if (this.buffer.length > MAX_BUFFERED) this.buffer.shift();
    }

    /** The worst status the passage has seen of a seal; undefined before its first read. */
    private sealStatusOf(passage: Passage, sealId: string): SealStatus | undefined {
        const statuses = passage.facts.seals.filter((seal) => seal.sealId === sealId).map((seal) => seal.status);
        return statuses.length > 0 ? worstSealStatus(statuses) : undefined;
    }

    /**
     * Adds a read to the facts and says what it changed; undefined when it changes nothing (a repeat, or
     * nothing the facts keep). A kind at its bound counts the read in facts.excess instead.
     */
    private record(passage: Passage, reading: VehicleReading, out: LaneOutput[]): PassageChange | undefined {
        const facts = passage.facts;
        switch (reading.kind) {
            case "plate":
                return this.recordPlate(passage, reading.values, out);
            case "container":
                return this.recordContainer(passage, reading.values.number, reading.values.checkDigitOk, out);
            case "scan": {
                const parsed = reading.values.parsed;
                if (parsed.type === "container")
                    return this.recordContainer(passage, parsed.number, parsed.checkDigitOk, out);
                if (parsed.type !== "declaration" || facts.declarations.includes(parsed.number)) return undefined;
                if (facts.declarations.length >= MAX_FACTS_PER_KIND)
                    return this.countExcess(passage, "declarations", out);
                facts.declarations.push(parsed.number);
                return { declaration: parsed.number };
            }
            case "seal":
                return this.recordSeal(passage, reading.values, out);
            case "weight": {
                const weight = reading.values;
                if (!isSettled(weight)) return undefined;
                // After the decision the decided weight stays: later settled values are partial axle loads
                // of a truck driving off. A weight that arrives late, after a timeout, is still recorded.
                if (passage.decision && facts.grossKg !== undefined) return undefined;
                if (facts.grossKg === weight.kg) return undefined;
                facts.grossKg = weight.kg;
                return { grossKg: weight.kg };
            }
        }
    }

    /** Keeps every distinct read; the best confidence per position wins. A read no better than one kept is a repeat. */
    private recordPlate(passage: Passage, plate: PlateValues, out: LaneOutput[]): PassageChange | undefined {
        const facts = passage.facts;
        const repeat = facts.plateReads.some(
            (known) =>
                known.position === plate.position &&
                known.normalized === plate.normalized &&
                known.confidence >= plate.confidence,
        );
        if (repeat) return undefined;
        const key = plate.position === "front" ? "frontPlate" : "rearPlate";
        const best = facts[key];
        const better = !best || plate.confidence > best.confidence;
        if (facts.plateReads.length >= MAX_FACTS_PER_KIND) {
            this.countExcess(passage, "plateReads", out);
            // The best read of each position still counts: it is what the plates are matched by.
            if (!better) return undefined;
        } else facts.plateReads.push(plate);
        if (better) facts[key] = plate;
        return { plate };
    }

    private recordContainer(
        passage: Passage,
        number: string,
        checkDigitOk: boolean,
        out: LaneOutput[],
    ): PassageChange | undefined {
        const containers = passage.facts.containers;
        if (containers.some((container) => container.number === number)) return undefined;
        if (containers.length >= MAX_FACTS_PER_KIND) return this.countExcess(passage, "containers", out);
        containers.push({ number, checkDigitOk });
        return { container: { number, checkDigitOk } };
    }

    /**
     * What each seal showed during the passage, never what it showed last: its worst status (a TAMPERED
     * read stays seen after a later SEALED one), every alert code it raised, and the container it reported
     * itself on. A seal that reports another container than before is kept once more, with that container,
     * so neither pairing can hide the other. In a full passage a broken seal displaces an intact one, never
     * the reverse.
     */
    private recordSeal(passage: Passage, seal: SealValues, out: LaneOutput[]): PassageChange | undefined {
        const seals = passage.facts.seals;
        const same = seals.filter((known) => known.sealId === seal.sealId);
        if (same.length > 0) {
            const status = worstSealStatus([seal.status, ...same.map((known) => known.status)]);
            const index = seals.findIndex(
                (known) =>
                    known.sealId === seal.sealId &&
                    (seal.containerNumber === undefined ||
                        known.containerNumber === undefined ||
                        known.containerNumber === seal.containerNumber),
            );
            const kept = seals[index];
            const merged: SealValues = kept ? mergeSealRead(kept, seal, status) : { ...seal, status };
            // Every kept entry of this seal shows its worst status, whichever one the rules look at.
            let changed = false;
            for (const [at, known] of seals.entries()) {
                if (known.sealId !== seal.sealId || known.status === status) continue;
                seals[at] = { ...known, status };
                changed = true;
            }
            if (kept) {
                if (!sameSealRead(kept, merged)) {
                    seals[index] = merged;
                    changed = true;
                }
                return changed ? { seal: seals[index] ?? merged } : undefined;
            }
            if (seals.length < MAX_FACTS_PER_KIND) {
                seals.push(merged);
                return { seal: merged };
            }
            this.countExcess(passage, "seals", out);
            return changed ? { seal: { ...(same[0] ?? seal), status } } : undefined;
        }
        if (seals.length < MAX_FACTS_PER_KIND) {
            seals.push(seal);
            return { seal };
        }
        this.countExcess(passage, "seals", out);
        const intact = sealBroken(seal) ? seals.findIndex((known) => !sealBroken(known)) : -1;
        const displaced = seals[intact];
        if (!displaced) return undefined;
        seals[intact] = seal;
        return { seal, displaced: displaced.sealId };
    }

    /** One read more than the passage keeps of its kind: counted, alerted once per kind, not stored. */
    private countExcess(passage: Passage, kind: ExcessKind, out: LaneOutput[]): undefined {
        const excess = passage.facts.excess ?? {};
        passage.facts.excess = excess;
        excess[kind] = (excess[kind] ?? 0) + 1;
        if (passage.excessAlerted.has(kind)) return undefined;
        passage.excessAlerted.add(kind);
        out.push({
            type: "alert",
            passageId: passage.facts.passageId,
            code: "PASSAGE_READS_BOUNDED",
            severity: "warning",
            message: `passage ${passage.facts.passageId} keeps at most ${MAX_FACTS_PER_KIND} ${kind}; further ones are counted, not kept, and the passage is not released automatically`,
        });
        return undefined;
    }

    private factsChanged(passage: Passage, change: PassageChange, now: number, out: LaneOutput[]): void {
        if (passage.decision) {
            out.push(this.updated(passage, change));
            return;
        }
        const missing = this.missing(passage);
        const ready = missing.waiting.length === 0;
        if (!ready) this.setState(passage, this.collectingState(passage, missing.waiting), out);
        out.push(this.updated(passage, change));
        if (ready) this.decide(passage, now, out);
    }

    private collectingState(passage: Passage, waiting: readonly RequiredRead[]): LaneState {
        if (!waiting.some((read) => read !== "weight")) return "WEIGHING";
        const facts = passage.facts;
        const anyRead =
            facts.plateReads.length + facts.declarations.length + facts.containers.length + facts.seals.length > 0 ||
            facts.grossKg !== undefined;
        return anyRead ? "IDENTIFYING" : "VEHICLE_PRESENT";
    }

    /**
     * `absent`: required reads with nothing at all; `waiting`: what the passage still waits for, which also
     * counts a plate position whose camera the lane has but that has not read yet (tractor and trailer).
     */
    private missing(passage: Passage): { absent: RequiredRead[]; waiting: RequiredRead[] } {
        const facts = passage.facts;
        const absent: RequiredRead[] = [];
        const waiting: RequiredRead[] = [];
        for (const read of this.options.requiredReads) {
            const has =
                read === "plate"
                    ? facts.plateReads.length > 0
                    : read === "declaration"
                      ? facts.declarations.length > 0
                      : read === "seal"
                        ? facts.seals.length > 0
                        : facts.grossKg !== undefined;
            if (!has) absent.push(read);
            const complete =
                read === "plate"
                    ? has &&
                      (passage.identifyExpired ||
                          this.platePositions().every((position) =>
                              position === "front" ? facts.frontPlate !== undefined : facts.rearPlate !== undefined,
                          ))
                    : has;
            if (!complete) waiting.push(read);
        }
        return { absent, waiting };
    }

    private platePositions(): PlateValues["position"][] {
        const cameras = this.options.devices.filter((device) => device.kind === "plate");
        return [
            ...new Set(cameras.map((camera): PlateValues["position"] => (camera.role === "rear" ? "rear" : "front"))),
        ];
    }

    // ---- passage lifecycle ----

    private open(now: number, detectedAt: number, out: LaneOutput[]): Passage {
        const passageId = this.options.newPassageId();
        const facts: PassageFacts = {
            passageId,
            laneId: this.options.laneId,
            direction: this.options.direction,
            openedAt: detectedAt,
            plateReads: [],
            declarations: [],
            containers: [],
            seals: [],
            timedOut: [],
            // "At some point during the passage" includes a device that was already down when it began.
            devicesOffline: this.options.devices
                .filter((device) => this.deviceStatus.get(device.id) === "offline")
                .map((device) => device.id),
        };
        const passage: Passage = {
            facts,
            state: "VEHICLE_PRESENT",
            windowStart: this.elapsedClock(now),
            exitTimeoutAlerted: false,
            identifyExpired: false,
            exitLoopSeen: false,
            tailgatingAlerted: false,
            excessAlerted: new Set(),
        };
        this.passage = passage;
        out.push({ type: "passage.opened", passageId, facts: structuredClone(facts) });
        out.push({ type: "state", state: "VEHICLE_PRESENT", passageId });
        if (this.missing(passage).waiting.length === 0) this.decide(passage, now, out);
        return passage;
    }

    private timeOut(passage: Passage, absent: readonly RequiredRead[], now: number, out: LaneOutput[]): void {
        // Every required read still absent when the passage is decided did not arrive in time, the weight too
        // when the identification ran out first: the passage is not kept waiting for it any longer.
        passage.facts.timedOut = [...new Set([...passage.facts.timedOut, ...absent])];
        out.push(this.updated(passage, { timedOut: passage.facts.timedOut }));
        this.decide(passage, now, out);
    }

    private decide(passage: Passage, now: number, out: LaneOutput[]): void {
        this.setState(passage, "DECIDING", out);
        const passageId = passage.facts.passageId;
        let record: DecisionRecord;
        try {
            record = this.options.decide(structuredClone(passage.facts), now);
        } catch (err) {
            record = failedDecision(err);
            out.push({
                type: "alert",
                passageId,
                code: "DECIDE_FAILED",
                severity: "critical",
                message: `the rules failed on passage ${passageId}; it is held: ${record.results[0]?.reason ?? ""}`,
            });
        }
        passage.decision = record;
        const outcome = outcomeAtDecision(record.decision, passage.officerHold);
        out.push({
            type: "passage.decided",
            passageId,
            facts: structuredClone(passage.facts),
            decision: record,
            outcome,
        });
        const reason =
            outcome !== record.decision
                ? `decided ${record.decision}; an officer ${passage.officerHold === "HOLD" ? "held" : "diverted"} it before the decision`
                : (record.results.find((result) => result.rule === record.decidingRule)?.reason ??
                  record.decidingRule ??
                  "no reason given");
        this.settle(passage, outcome, reason, now, out);
    }

    /** Puts the passage at `outcome`: released (green, barrier opens), or stopped with its alert. */
    private settle(passage: Passage, outcome: Outcome, reason: string, now: number, out: LaneOutput[]): void {
        passage.outcome = outcome;
        const code = alertCodeOf(outcome);
        if (code === undefined) this.release(passage, now, out);
        else this.stop(passage, code, reason, out);
    }

    private release(passage: Passage, now: number, out: LaneOutput[]): void {
        const passageId = passage.facts.passageId;
        passage.releasedAt = this.elapsedClock(now);
        out.push({ type: "command", passageId, command: "light-green" });
        out.push({ type: "command", passageId, command: "open-barrier" });
        this.setState(passage, "RELEASED", out);
    }

    /** HELD or INSPECTION: a red light and an alert for the officer. gate-edge never commands a close. */
    private stop(passage: Passage, code: string, reason: string, out: LaneOutput[]): void {
        const passageId = passage.facts.passageId;
        out.push({ type: "command", passageId, command: "light-red" });
        out.push({
            type: "alert",
            passageId,
            code,
            severity: code === "PASSAGE_REJECTED" ? "critical" : "warning",
            message: `passage ${passageId}: ${reason}`,
        });
        this.setState(passage, restingState(passage.outcome ?? "HOLD"), out);
    }

    /** A truck that was not released completes when it has left: entry loop clear and nothing on the lane. */
    private maybeTurnedBack(passage: Passage, now: number, out: LaneOutput[]): void {
        if (this.loops.entry || this.loops.safety || this.loops.exit || this.scaleLoaded()) return;
        if (passage.outcome !== undefined && passage.outcome !== "RELEASE")
            this.close(passage, completionOf(passage.outcome), now, out);
        else if (!passage.decision && this.missing(passage).absent.length === this.options.requiredReads.length) {
            // Nothing the rules need ever arrived: a car, a person or a truck that reversed out, not a passage
            // to decide.
            this.close(passage, "turned-back", now, out);
        }
    }

    private close(passage: Passage, outcome: PassageOutcome, now: number, out: LaneOutput[]): void {
        const passageId = passage.facts.passageId;
        out.push({ type: "passage.completed", passageId, outcome });
        this.setState(passage, "CLOSED", out);
        this.closedPassages.push({ passageId, completion: outcome, truck: truckIdentity(passage.facts) });
        if (this.closedPassages.length > MAX_CLOSED_IDS) this.closedPassages.shift();
        this.passage = undefined;
        out.push({ type: "state", state: "IDLE" });
        const waiting = this.buffer;
        this.buffer = [];
        // As in IDLE, seals and weights alone do not make a truck: with no plate, document or loop they are dropped.
        if (!this.loops.entry && !waiting.some((item) => opensPassage(item.reading))) {
            return;
        }
        // The next truck was already at the gate: its passage starts now, with what it was seen doing.
        const first = waiting[0];
        this.open(now, first ? Math.min(first.at, now) : now, out);
        for (const item of waiting) this.onVehicleReading(item.reading, now, item.at, out);
    }

    private alertTailgating(passage: Passage, what: string, out: LaneOutput[]): void {
        if (passage.tailgatingAlerted || !this.barrierUp()) return;
        passage.tailgatingAlerted = true;
        out.push({
            type: "alert",
            passageId: passage.facts.passageId,
            code: "TAILGATING",
            severity: "critical",
            message: `a second vehicle behind passage ${passage.facts.passageId} while the barrier is open: ${what}`,
        });
    }

    private alertLateSeal(passage: Passage, seal: SealValues, out: LaneOutput[]): void {
        if (seal.status !== "TAMPERED" && seal.status !== "OPENED") return;
        out.push({
            type: "alert",
            passageId: passage.facts.passageId,
            code: `SEAL_${seal.status}_AFTER_DECISION`,
            severity: "critical",
            message: `seal ${seal.sealId} reports ${seal.status} after passage ${passage.facts.passageId} was decided ${passage.decision?.decision ?? ""}`,
        });
    }

    private setState(passage: Passage, state: LaneState, out: LaneOutput[]): void {
        if (passage.state === state) return;
        passage.state = state;
        out.push({
            type: "state",
            state,
            passageId: passage.facts.passageId,
            ...(passage.outcome !== undefined &&
                state === restingState(passage.outcome) && { outcome: passage.outcome }),
        });
    }

    private updated(passage: Passage, change: PassageChange): LaneOutput {
        return {
            type: "passage.updated",
            passageId: passage.facts.passageId,
            facts: structuredClone(passage.facts),
            change,
            state: passage.state,
        };
    }
}

/** Settled gross weight of a truck: stable, no motion, above zero. */
function isSettled(weight: WeightValues): boolean {
    return weight.stable && !weight.motion && !weight.zero && weight.kg > 0;
}

function opensPassage(reading: VehicleReading): boolean {
    return (
        reading.kind === "plate" ||
        reading.kind === "container" ||
        (reading.kind === "scan" && reading.values.parsed.type !== "other")
    );
}

function failedDecision(err: unknown): DecisionRecord {
    const reason = `the rules could not be evaluated: ${err instanceof Error ? err.message : String(err)}`;
    return {
        decision: "HOLD",
        results: [{ rule: "rules-evaluated", pass: false, reason, severity: "HOLD" }],
        decidingRule: "rules-evaluated",
        ruleSetVersion: "unknown",
        clearanceVersion: "unknown",
        offline: false,
        fourEyes: false,
    };
}

function standingOf(passage: Passage): PassageStanding {
    return {
        ...(passage.outcome !== undefined && { outcome: passage.outcome }),
        ...(passage.officerHold !== undefined && { officerHold: passage.officerHold }),
        ...(passage.approvalRequestedBy !== undefined && { approvalRequestedBy: passage.approvalRequestedBy }),
    };
}

/** How alarming a seal status is: a seal seen in a worse state during the passage stays in it. */
const SEAL_STATUS_RANK: Readonly<Record<SealStatus, number>> = { SEALED: 0, UNKNOWN: 1, OPENED: 2, TAMPERED: 3 };

/** The decoder's bound per read; the union of a seal's alert codes over a passage keeps to it. */
const MAX_SEAL_ALERTS = 16;

function worstSealStatus(statuses: readonly SealStatus[]): SealStatus {
    return statuses.reduce((worst, status) => (SEAL_STATUS_RANK[status] > SEAL_STATUS_RANK[worst] ? status : worst));
}

/** A kept seal with another read of it: the worst status, every alert code, the container once reported. */
function mergeSealRead(kept: SealValues, read: SealValues, status: SealStatus): SealValues {
    const alerts = [...new Set([...kept.alerts, ...read.alerts])].slice(0, MAX_SEAL_ALERTS);
    const containerNumber = kept.containerNumber ?? read.containerNumber;
    return { ...kept, status, alerts, ...(containerNumber !== undefined && { containerNumber }) };
}

function sameSealRead(a: SealValues, b: SealValues): boolean {
    return (
        a.status === b.status &&
        a.containerNumber === b.containerNumber &&
        a.alerts.length === b.alerts.length &&
        a.alerts.every((alert, i) => b.alerts[i] === alert)
    );
}
