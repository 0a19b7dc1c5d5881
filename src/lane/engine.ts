import type { Logger } from "pino";
import { pointLaneIds } from "../config/pointLanes.ts";
import type { GateConfig, LaneConfig } from "../config/types.ts";
import type { EventBus, EventMap } from "../core/bus.ts";
import { type Clock, monotonicOf } from "../core/clock.ts";
import { errorMessage, GateError } from "../core/errors.ts";
import {
    type AppendOptions,
    type DeviceStatus,
    type GateEvent,
    type GateEventDraft,
    isEventOf,
    readingOfEvent,
} from "../core/events.ts";
import { createIdFactory } from "../core/ids.ts";
import type { PassageStore } from "../store/passages.ts";
import {
    LaneCorrelator,
    type LaneOutput,
    type LaneState,
    type PassageStanding,
    type TooLateBecause,
    tooLateOutputs,
    truckIdentity,
} from "./correlator.ts";
import { type OfflineRecheck, type PassageFollowUp, recheckOffline, truckWentThrough } from "./followUp.ts";
import { type Outcome, restingState } from "./outcome.ts";
import { decide } from "./rules.ts";
import type { ClearanceView, DecisionRecord, DiskQuotaFull, PassageFacts, RuleParams } from "./types.ts";

/** What the engine asks of the gate: commands to a lane's PLC and the lane display topic. */
export interface LaneEngineDeps {
    config: GateConfig;
    log: Logger;
    clock: Clock;
    bus: EventBus;
    append(draft: GateEventDraft, options?: AppendOptions): Promise<GateEvent>;
    passages: PassageStore;
    clearance(): ClearanceView;
    /** Sends a command to the lane's PLC. `meta` says which passage and which read led to it. */
    command(
        laneId: string,
        command: "open-barrier" | "light-green" | "light-red",
        meta: { passageId: string; triggeredAt?: number },
    ): Promise<void>;
    /** Publishes the lane state for display boards (retained). */
    publishState(laneId: string, state: EventMap["laneState"]): void;
}

export interface OfficerActionRequest {
    passageId: string;
    action: "confirm" | "hold" | "release" | "divert";
    reasonCode: string;
    note?: string;
    officerId: string;
    role: "officer" | "supervisor";
}

export interface OfficerActionResult {
    /** A four-eyes release was requested and waits for a supervisor's approval. */
    awaitingApproval: boolean;
    /**
     * A hold or divert that came after the barrier open was commanded: nothing changed at the lane, the
     * truck is flagged on its record (a follow-up) and a PASSAGE_ACTION_TOO_LATE alert names it.
     */
    tooLate?: { because: TooLateBecause; reason: string };
}

/** Offline decisions re-checked per store read when fresh clearance data arrives. */
const RECHECK_BATCH = 100;

const TICK_MS = 250;

const LANE_STATES: ReadonlySet<string> = new Set<LaneState>([
    "VEHICLE_PRESENT",
    "IDENTIFYING",
    "WEIGHING",
    "RELEASED",
    "HELD",
    "INSPECTION",
    "EXITING",
]);

export function ruleParams(config: GateConfig): RuleParams {
    return {
        weightTolerance: config.rules.weightTolerancePct / 100,
        requiredReads: config.rules.requiredReads,
        clearanceMaxAgeMs: config.rules.clearanceMaxAgeMinutes * 60_000,
        offlinePolicy: config.rules.offlinePolicy,
        minPlateConfidence: config.rules.minPlateConfidence,
        gateId: config.gate.id,
        staleReleaseFourEyes: config.rules.staleReleaseFourEyes,
        randomInspectionRate: config.inspection?.randomRate ?? 0,
    };
}

/**
 * The lane engine: one correlator per lane fed with readings *after* they are committed (a reading is
 * stored before anything acts on it), each of its outputs turned into a stored event, a passage record,
 * a PLC command, an alert or a lane display update.
 */
export class LaneEngine {
    private manualReason: string | undefined;
    private manualQuota: DiskQuotaFull | undefined;
    private readonly correlators = new Map<string, LaneCorrelator>();
    private readonly laneOfDevice = new Map<string, string>();
    private timer: NodeJS.Timeout | undefined;
    private readonly nextId: () => string;
    /** Serialises the output handling per lane, so a lane's events are stored in the order they happened. */
    private readonly queues = new Map<string, Promise<void>>();
    /**
     * A passage may have been decided offline and not re-checked on fresh data yet: true at start (the
     * records tell) and after each offline decision; the re-check scans the records only then.
     */
    private offlineUnchecked = true;
    private recheckRun: Promise<void> | undefined;

    /** The configuration in force: the one the engine started with, or the last reload's. */
    private config: GateConfig;
    private params: RuleParams;

    constructor(private readonly deps: LaneEngineDeps) {
        this.nextId = createIdFactory(deps.clock);
        this.config = deps.config;
        this.params = ruleParams(deps.config);
    }

    /**
     * Switches every lane to manual processing (each truck held for an officer, with `reason`) or, with
     * undefined, back to automatic. Counts from the next decision.
     */
    setManualProcessing(reason: string | undefined, quota?: DiskQuotaFull): void {
        this.manualReason = reason;
        this.manualQuota = reason === undefined ? undefined : quota;
    }

    get manualProcessing(): string | undefined {
        return this.manualReason;
    }

    start(): void {
        const pointLanes = pointLaneIds(this.config);
        for (const lane of this.config.lanes) if (!pointLanes.has(lane.id)) this.restore(this.addLane(lane), lane.id);
        this.deps.bus.on("committed", this, (event) => this.onCommitted(event));
        this.deps.bus.on("clearanceRefreshed", this, () => {
            this.recheckOfflineDecisions().catch((err: unknown) =>
                this.deps.log.error({ err }, "offline decisions could not be re-checked"),
            );
        });
        this.timer = setInterval(() => this.tick(), TICK_MS);
        this.timer.unref();
    }

    private timeoutsOf(config: GateConfig): { identifyMs: number; weighMs: number; exitMs: number } {
        return {
            identifyMs: config.rules.identifySeconds * 1000,
            weighMs: config.rules.weighSeconds * 1000,
            exitMs: config.rules.exitSeconds * 1000,
        };
    }

    /** Starts correlating a lane (at start, or a lane a reload added or rebuilt), its display at IDLE. */
    private addLane(lane: LaneConfig): LaneCorrelator {
        for (const device of lane.devices) this.laneOfDevice.set(device.id, lane.id);
        const correlator = new LaneCorrelator({
            laneId: lane.id,
            direction: lane.direction,
            devices: lane.devices.map((device) => ({
                id: device.id,
                kind: device.kind,
                ...(device.role !== undefined && { role: device.role }),
            })),
            timeouts: this.timeoutsOf(this.config),
            requiredReads: this.params.requiredReads,
            // Reads this.params at each decision, so a reload's rule parameters count from the next truck.
            decide: (facts: PassageFacts, now: number) =>
                decide(
                    facts,
                    this.deps.clearance(),
                    this.manualReason === undefined
                        ? this.params
                        : {
                              ...this.params,
                              manualProcessing: this.manualReason,
                              ...(this.manualQuota && { manualProcessingQuota: this.manualQuota }),
                          },
                    now,
                ),
            newPassageId: this.nextId,
            monotonic: () => monotonicOf(this.deps.clock),
        });
        this.correlators.set(lane.id, correlator);
        this.deps.publishState(lane.id, {
            laneId: lane.id,
            state: "IDLE",
            at: new Date(this.deps.clock.now()).toISOString(),
        });
        return correlator;
    }

    /**
     * After a restart the lane carries on with the passage its record says it was handling: the facts,
     * the decision and what officers made of it (an officer's hold before the decision, a four-eyes
     * request), so neither is forgotten and the truck's next read does not open a second passage.
     */
    private restore(correlator: LaneCorrelator, laneId: string): void {
        const row = this.deps.passages.openOf(laneId);
        const record = row?.record as
            | { facts?: PassageFacts; decision?: DecisionRecord; standing?: PassageStanding }
            | undefined;
        if (!row || !record?.facts) return;
        correlator.restore(
            {
                facts: record.facts,
                // The column holds only the correlator's own states; an unknown one restarts collecting.
                state: (LANE_STATES.has(row.state) ? row.state : "IDENTIFYING") as LaneState,
                ...(record.decision && { decision: record.decision }),
                standing: record.standing ?? {},
            },
            this.deps.clock.now(),
        );
        this.deps.log.info({ laneId, passageId: row.passageId, state: row.state }, "passage restored after a restart");
        this.deps.publishState(laneId, {
            laneId,
            state: correlator.state,
            passageId: row.passageId,
            at: new Date(this.deps.clock.now()).toISOString(),
        });
    }

    /** The state of a lane (IDLE when it has no passage), undefined for a lane the engine does not run. */
    laneState(laneId: string): string | undefined {
        return this.correlators.get(laneId)?.state;
    }

    /**
     * A reload changed a lane's devices or direction: its correlator is replaced by one for the new lane
     * (the gate rebuilds only an IDLE lane, so no passage is cut), told the status of the devices that kept
     * running. Its queue of stored outputs carries on, so nothing of the old one is lost.
     */
    replaceLane(lane: LaneConfig, statuses: ReadonlyMap<string, DeviceStatus>): void {
        this.forgetDevices(lane.id);
        // A lane whose new devices are all entry or exit point devices has no passages from now on.
        if (pointLaneIds({ ...this.config, lanes: [lane] }).has(lane.id)) {
            this.correlators.delete(lane.id);
            return;
        }
        const correlator = this.addLane(lane);
        const now = this.deps.clock.now();
        for (const [deviceId, status] of statuses)
            void this.handle(lane.id, correlator.onDeviceStatus(deviceId, status, now));
    }

    /** A reload removed a lane. */
    removeLane(laneId: string): void {
        this.forgetDevices(laneId);
        this.correlators.delete(laneId);
    }

    private forgetDevices(laneId: string): void {
        for (const [deviceId, lane] of this.laneOfDevice) if (lane === laneId) this.laneOfDevice.delete(deviceId);
    }

    /** The configuration after a reload: rule parameters and timeouts apply from the next check on. */
    reconfigure(config: GateConfig): void {
        this.config = config;
        this.params = ruleParams(config);
        for (const correlator of this.correlators.values()) {
            correlator.updateSettings({ timeouts: this.timeoutsOf(config), requiredReads: this.params.requiredReads });
        }
    }

    stop(): void {
        clearInterval(this.timer);
        this.timer = undefined;
        this.deps.bus.removeListeners(this);
    }

    /** Waits until every output handled so far is stored (tests, shutdown). */
    async settled(): Promise<void> {
        await Promise.all(this.queues.values());
    }

    snapshot(laneId: string): ReturnType<LaneCorrelator["snapshot"]> | undefined {
        return this.correlators.get(laneId)?.snapshot();
    }

    lanes(): LaneConfig[] {
        return this.config.lanes;
    }

    /**
     * An officer's (or supervisor's) action on a passage. Throws GateError API_BAD_REQUEST with a reason
     * for an unknown passage or an action that is not allowed (e.g. approving one's own release).
     * `awaitingApproval`: the action was a four-eyes release that now waits for a supervisor.
     */
    async officerAction(request: OfficerActionRequest): Promise<OfficerActionResult> {
        const row = this.deps.passages.get(request.passageId);
        const correlator = row ? this.correlators.get(row.laneId) : undefined;
        if (!row || !correlator) throw new GateError("API_BAD_REQUEST", `no open passage ${request.passageId}`);
        const now = this.deps.clock.now();
        await this.store({
            type: "officer.action",
            laneId: row.laneId,
            occurredAt: now,
            data: { ...request },
        });
        const outputs = this.actionOutputs(correlator, { ...request, now });
        this.note(request.passageId, {
            step: "OFFICER",
            action: request.action,
            reasonCode: request.reasonCode,
            officerId: request.officerId,
            role: request.role,
            ...(request.note !== undefined && { note: request.note }),
        });
        await this.handle(row.laneId, outputs);
        this.keepStanding(request.passageId, correlator.snapshot().passage?.standing);
        const late = outputs.find((output) => output.type === "action.too-late");
        return {
            awaitingApproval: outputs.some((output) => output.type === "approval.required"),
            ...(late && { tooLate: { because: late.late.because, reason: late.late.reason } }),
        };
    }

    /**
     * The correlator's answer to an action; a hold or divert of a truck that left through the barrier
     * longer ago than the correlator remembers (or before a restart) is too late by its record.
     */
    private actionOutputs(correlator: LaneCorrelator, request: OfficerActionRequest & { now: number }): LaneOutput[] {
        try {
            return correlator.officerAction(request);
        } catch (err) {
            const row = this.deps.passages.get(request.passageId);
            const record = row?.record as { facts?: PassageFacts; outcome?: string } | undefined;
            const action = request.action;
            if ((action === "hold" || action === "divert") && row?.state === "CLOSED" && record?.outcome === "exited") {
                const truck = record.facts
                    ? truckIdentity(record.facts)
                    : { plates: row.plates, declarations: row.declarations };
                return tooLateOutputs({ ...request, action }, truck, "left");
            }
            throw err;
        }
    }

    /**
     * Re-checks every passage decided offline since the last fresh data against the clearance data in force
     * (after the downlink caught up with central): the same pure rules, for the time each was decided. Each
     * is a `passage.followup` in the chain and on its record; each the fresh data decides more strictly
     * (central cancelled its declaration, listed its plate …) raises OFFLINE_DECISION_CHANGED naming the
     * truck. Runs one at a time; while the data is still stale it leaves the passages for the next refresh.
     */
    recheckOfflineDecisions(): Promise<void> {
        if (!this.offlineUnchecked) return this.recheckRun ?? Promise.resolve();
        this.recheckRun ??= this.recheckOffline()
            .catch((err: unknown) => {
                this.offlineUnchecked = true;
                throw err;
            })
            .finally(() => {
                this.recheckRun = undefined;
            });
        return this.recheckRun;
    }

    private async recheckOffline(): Promise<void> {
        // A decision made offline while this runs sets it again, for the next refresh.
        this.offlineUnchecked = false;
        const clearance = this.deps.clearance();
        for (;;) {
            const rows = this.deps.passages.decidedOfflineUnchecked(RECHECK_BATCH);
            if (rows.length === 0) return;
            for (const row of rows) {
                const now = this.deps.clock.now();
                const record = row.record as { facts?: PassageFacts; decision?: DecisionRecord };
                const decidedAt = row.decidedAt === null ? Number.NaN : Date.parse(row.decidedAt);
                const result =
                    record.facts && record.decision && Number.isFinite(decidedAt)
                        ? recheckOffline(record.facts, record.decision, decidedAt, clearance, this.params, now)
                        : undefined;
                if (!result) {
                    // Still stale (nothing fresher to check against) or a record without its facts: try later.
                    this.offlineUnchecked = true;
                    return;
                }
                await this.offlineFollowUp(row.laneId, row.passageId, result.recheck, now);
            }
        }
    }

    private async offlineFollowUp(laneId: string, passageId: string, recheck: OfflineRecheck, now: number) {
        const iso = new Date(now).toISOString();
        await this.recordFollowUp(laneId, passageId, { kind: "offline-recheck", at: iso, ...recheck }, now);
        if (!recheck.stronger) return;
        const row = this.deps.passages.get(passageId);
        const record = (row?.record ?? {}) as { facts?: PassageFacts; standing?: PassageStanding; outcome?: string };
        const truck = record.facts
            ? truckIdentity(record.facts)
            : { plates: row?.plates ?? [], declarations: row?.declarations ?? [] };
        const outcome = record.standing?.outcome ?? recheck.was;
        const went = truckWentThrough(outcome, record.outcome);
        const where = went
            ? "it went through the barrier: stop it at the next point"
            : record.outcome !== undefined
              ? `it ${record.outcome === "turned-back" ? "turned back" : record.outcome}`
              : `it is still at the lane (${outcome})`;
        await this.handle(laneId, [
            {
                type: "alert",
                passageId,
                code: "OFFLINE_DECISION_CHANGED",
                severity: went ? "critical" : "warning",
                message: `truck ${truck.plates.join(" / ") || "with no plate read"} (passage ${passageId}, declaration ${truck.declarations.join(", ") || "none scanned"}) was decided ${recheck.was} offline, on stale clearance data; central's data now decides ${recheck.now}${recheck.reason !== undefined ? ` (${recheck.rule}: ${recheck.reason})` : ""}; ${where}`,
            },
        ]);
    }

    /** A follow-up of a passage: a `passage.followup` event, and on its record (followUps, timeline). */
    private async recordFollowUp(laneId: string, passageId: string, followUp: PassageFollowUp, now: number) {
        await this.store({
            type: "passage.followup",
            laneId,
            occurredAt: now,
            data: JSON.parse(JSON.stringify({ passageId, ...followUp })),
        });
        const existing = this.deps.passages.get(passageId);
        if (!existing) return;
        const record = existing.record as { followUps?: PassageFollowUp[]; timeline?: unknown[] };
        this.deps.passages.upsert({
            ...existing,
            record: {
                ...record,
                followUps: [...(record.followUps ?? []), followUp],
                ...(followUp.kind === "offline-recheck" && { offlineRecheck: { at: followUp.at, now: followUp.now } }),
                timeline: [...(record.timeline ?? []), { step: `FOLLOWUP ${followUp.kind}`, ...followUp }],
            },
        });
    }

    /**
     * The lane's own events are few and a truck waits on them: committed at once (AppendOptions.urgent),
     * not after the next turn's device input.
     */
    private store(draft: GateEventDraft): Promise<GateEvent> {
        return this.deps.append(draft, { urgent: true });
    }

    private onCommitted(event: GateEvent): void {
        const laneId = event.laneId ?? (event.deviceId ? this.laneOfDevice.get(event.deviceId) : undefined);
        const correlator = laneId ? this.correlators.get(laneId) : undefined;
        if (!laneId || !correlator) return;
        const now = this.deps.clock.now();
        if ((event.type === "alert.raised" || event.type === "alert.cleared") && event.data.code === "ESTOP") {
            void this.handle(laneId, correlator.onEStop(event.type === "alert.raised", now));
            return;
        }
        if (isEventOf(event, "device.status") && event.deviceId) {
            void this.handle(laneId, correlator.onDeviceStatus(event.deviceId, event.data.status, now));
            return;
        }
        const reading = readingOfEvent(event, laneId);
        if (!reading) return;
        void this.handle(laneId, correlator.onReading(reading, now), reading.observedAt);
    }

    private tick(): void {
        const now = this.deps.clock.now();
        for (const [laneId, correlator] of this.correlators) {
            const outputs = correlator.tick(now);
            if (outputs.length > 0) void this.handle(laneId, outputs);
        }
    }

    /** Turns outputs into stored events and actions, in order, per lane. */
    private handle(laneId: string, outputs: LaneOutput[], triggeredAt?: number): Promise<void> {
        if (outputs.length === 0) return this.queues.get(laneId) ?? Promise.resolve();
        const previous = this.queues.get(laneId) ?? Promise.resolve();
        const next = previous
            .then(() => this.apply(laneId, outputs, triggeredAt))
            .catch((err: unknown) => {
                this.deps.log.error({ err, laneId }, "lane engine output could not be stored");
            });
        this.queues.set(laneId, next);
        return next;
    }

    private async apply(laneId: string, outputs: LaneOutput[], triggeredAt?: number): Promise<void> {
        const now = this.deps.clock.now();
        const iso = new Date(now).toISOString();
        for (const output of outputs) {
            switch (output.type) {
                case "passage.opened":
                case "passage.updated":
                case "passage.decided":
                case "passage.completed": {
                    // An update stores what changed; the whole passage is in its opened and decided events and
                    // its record, so a passage's stored bytes grow with its reads, not with their square.
                    const data =
                        output.type === "passage.updated"
                            ? { passageId: output.passageId, state: output.state, change: output.change }
                            : { ...output, type: undefined };
                    await this.store({
                        type: output.type,
                        laneId,
                        occurredAt: now,
                        data: JSON.parse(JSON.stringify(data)),
                    });
                    this.recordPassage(laneId, output, iso);
                    break;
                }
                case "command":
                    this.note(output.passageId, { step: "COMMAND", command: output.command });
                    // Commands run in the background: a PLC that does not answer must not stall the lane's events.
                    void this.deps
                        .command(laneId, output.command, {
                            passageId: output.passageId,
                            ...(triggeredAt !== undefined && { triggeredAt }),
                        })
                        .catch((err: unknown) => {
                            this.deps.log.error(
                                { err: errorMessage(err), laneId, command: output.command },
                                "lane command failed",
                            );
                        });
                    break;
                case "alert":
                    if (output.passageId !== undefined)
                        this.note(output.passageId, { step: "ALERT", code: output.code, message: output.message });
                    await this.store({
                        type: "alert.raised",
                        laneId,
                        occurredAt: now,
                        data: {
                            code: output.code,
                            severity: output.severity,
                            message: output.message,
                            ...(output.passageId !== undefined && { passageId: output.passageId }),
                        },
                    });
                    break;
                case "action.too-late":
                    await this.recordFollowUp(
                        laneId,
                        output.passageId,
                        { kind: "too-late", at: iso, ...output.late },
                        now,
                    );
                    break;
                case "approval.required":
                    await this.store({
                        type: "alert.raised",
                        laneId,
                        occurredAt: now,
                        data: {
                            code: "FOUR_EYES_PENDING",
                            severity: "warning",
                            message: `release of passage ${output.passageId} requested by ${output.requestedBy}; a supervisor must approve`,
                            passageId: output.passageId,
                            requestedBy: output.requestedBy,
                        },
                    });
                    break;
                case "state":
                    // The record follows the lane: an officer's hold before the decision leaves a RELEASE
                    // decision on a HELD passage, and only this output says so.
                    if (output.passageId !== undefined && output.state !== "DECIDING")
                        this.recordState(output.passageId, output.state, output.outcome, iso);
                    this.deps.publishState(laneId, {
                        laneId,
                        state: output.state,
                        passageId: output.passageId ?? null,
                        at: iso,
                    });
                    break;
            }
        }
    }

    /** The lane state and the outcome in force; a changed outcome is a step of the timeline. */
    private recordState(passageId: string, state: string, outcome: Outcome | undefined, iso: string): void {
        const existing = this.deps.passages.get(passageId);
        if (!existing) return;
        const record = existing.record as { standing?: PassageStanding; timeline?: unknown[] };
        const was = record.standing?.outcome;
        if (existing.state === state && was === outcome) return;
        const changed = outcome !== undefined && outcome !== was;
        // The first outcome is the decision's unless an officer's hold before it raised it: only then a step.
        const step = changed && (was !== undefined || outcome !== existing.decision);
        this.deps.passages.upsert({
            ...existing,
            state,
            record: changed
                ? {
                      ...record,
                      standing: { ...record.standing, outcome },
                      timeline: step
                          ? [...(record.timeline ?? []), { at: iso, step: `OUTCOME ${outcome}` }]
                          : record.timeline,
                  }
                : record,
        });
    }

    /** What officers made of the passage, so a restart carries on with it (restore). */
    private keepStanding(passageId: string, standing: PassageStanding | undefined): void {
        const existing = this.deps.passages.get(passageId);
        if (!existing || standing === undefined) return;
        const record = existing.record as { standing?: PassageStanding };
        if (JSON.stringify(record.standing ?? {}) === JSON.stringify(standing)) return;
        this.deps.passages.upsert({ ...existing, record: { ...record, standing } });
    }

    /** Adds a command, alert or officer action to the passage record's timeline. */
    private note(passageId: string, entry: Record<string, unknown>): void {
        const existing = this.deps.passages.get(passageId);
        if (!existing) return;
        const record = { ...existing.record };
        record.timeline = [
            ...((record.timeline as unknown[]) ?? []),
            { at: new Date(this.deps.clock.now()).toISOString(), ...entry },
        ];
        this.deps.passages.upsert({ ...existing, record });
    }

    private recordPassage(laneId: string, output: Extract<LaneOutput, { passageId: string }>, iso: string): void {
        const existing = this.deps.passages.get(output.passageId);
        const record: Record<string, unknown> = { ...(existing?.record ?? {}) };
        let state = existing?.state ?? "VEHICLE_PRESENT";
        let decision = existing?.decision ?? null;
        let decidedAt = existing?.decidedAt ?? null;
        let completedAt = existing?.completedAt ?? null;
        if ("facts" in output) record.facts = output.facts;
        if (output.type === "passage.updated") state = output.state;
        // The per-stage timestamps of the passage record (docs/devices.md): when it was seen, each state it
        // went through, the decision, and how it ended.
        const step =
            output.type === "passage.updated"
                ? output.state
                : output.type === "passage.decided"
                  ? `DECIDED ${output.decision.decision}`
                  : output.type === "passage.completed"
                    ? `COMPLETED ${output.outcome}`
                    : "OPENED";
        const timeline = (record.timeline as { step?: string }[] | undefined) ?? [];
        // A passage is updated at every read; the timeline keeps the first time it reached each stage.
        if (timeline.at(-1)?.step !== step) record.timeline = [...timeline, { at: iso, step }];
        if (output.type === "passage.decided") {
            // Decided on stale data: re-checked when fresh data arrives (recheckOfflineDecisions).
            if (output.decision.offline) this.offlineUnchecked = true;
            record.decision = output.decision;
            decision = output.decision.decision;
            decidedAt = iso;
            state = restingState(output.outcome);
        }
        if (output.type === "passage.completed") {
            record.outcome = output.outcome;
            state = "CLOSED";
            completedAt = iso;
        }
        const facts = record.facts as PassageFacts | undefined;
        this.deps.passages.upsert({
            passageId: output.passageId,
            laneId,
            state,
            openedAt: existing?.openedAt ?? iso,
            decidedAt,
            completedAt,
            decision,
            plates: facts ? [...new Set(facts.plateReads.map((plate) => plate.normalized))] : [],
            declarations: facts?.declarations ?? [],
            record,
        });
    }
}
