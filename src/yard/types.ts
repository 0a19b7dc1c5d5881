/**
 * The truck's whole visit (issue 19): the shapes the yard part (src/yard/*) keeps and the API, the time-release
 * report and the dashboard read. A visit is built from its `visit.*` events, as an inspection case is from its
 * `inspection.*` events; these types are the read model, not the stored evidence.
 */

/** Which queue a truck waits in: lanes are grouped the same way (config `yard.laneGroups`). */
export type LaneGroup = "import" | "export" | "empty";

/** What the goods are, as far as the queue cares: perishables may go first in season. */
export type GoodsClass = "perishable" | "general";

/**
 * A visit's place in its life: waiting in the yard, called to a lane, at the lane, in the inspection area,
 * released from customs control, gone through the exit point. `CLOSED` is an exit; no other end exists,
 * except `CANCELLED` by an officer (with a reason).
 */
export type VisitState = "QUEUED" | "CALLED" | "IN_LANE" | "INSPECTION" | "RELEASED" | "CLOSED" | "CANCELLED";

/**
 * The stages the time-release record times, in visit order. Each is a wall-clock time (ISO 8601 with zone)
 * and, for durations, the gate's monotonic clock (`…Mono` in the events), as passages are timed today.
 */
export const VISIT_STAGES = [
    "arrived",
    "called",
    "laneEntered",
    "decided",
    "inspectionStarted",
    "inspectionEnded",
    "released",
    "exited",
] as const;
export type VisitStage = (typeof VISIT_STAGES)[number];

/** An expected visit, from central's clearance feed or an import (CLI / API). */
export interface PreArrival {
    preArrivalId: string;
    tractorPlate: string;
    trailerPlate?: string;
    declarations: string[];
    goodsClass: GoodsClass;
    laneGroup: LaneGroup;
    /** A foreign vehicle's cross-border transport permit number. */
    transportPermit?: string;
    /** Its booked time slot, if any (ISO 8601). */
    slot?: { from: string; to: string };
    /** The driver, kept to what the gate needs; dropped after `yard.personalDataRetentionDays`. */
    driver?: { name?: string; phone?: string };
    version: number;
}

/** A visit as the API and the dashboard show it. */
export interface VisitSummary {
    visitId: string;
    state: VisitState;
    laneGroup: LaneGroup;
    goodsClass: GoodsClass;
    tractorPlate: string;
    trailerPlate?: string;
    declarations: string[];
    /** Matched to a pre-arrival record (else an unannounced visit). */
    preArrivalId?: string;
    slot?: { from: string; to: string };
    /** Its place in its group's queue (1 = next), while QUEUED. */
    queuePosition?: number;
    /** The lane it was called to (CALLED and after). */
    laneId?: string;
    /** Times it was called and did not come in time. */
    noShows: number;
    /** Each stage reached so far: ISO 8601 wall-clock time with the gate's offset. */
    stages: Partial<Record<VisitStage, string>>;
    /** The lane's decision and channel, once decided. */
    decision?: string;
    channel?: string;
    passageIds: string[];
    caseIds: string[];
    /** Time since arrival (ms), and where it stands against the dwell limit (`yard.dwell`). */
    dwellMs: number;
    dwell: "ok" | "approaching" | "exceeded";
}

/** One row of the time-release report: a stage (or the whole visit) for one channel, lane and goods class. */
export interface TimeReleaseRow {
    channel: string;
    laneId: string;
    goodsClass: GoodsClass;
    /** `${from}→${to}` between two stages (e.g. "arrived→called"), or "visit" (arrived → exited). */
    interval: string;
    count: number;
    medianMs: number;
    p90Ms: number;
    maxMs: number;
}

/** The queue length of a lane group at a time (for the queue chart). */
export interface QueueSample {
    at: string;
    laneGroup: LaneGroup;
    length: number;
}

/** A stage (or the whole visit) for one channel over all its lanes and goods classes (the page's chart). */
export type ChannelStageRow = Omit<TimeReleaseRow, "laneId" | "goodsClass">;

export interface TimeReleaseReport {
    from: string;
    to: string;
    timeZone: string;
    visits: number;
    rows: TimeReleaseRow[];
    /** The same figures per channel alone: percentiles of lanes cannot be merged, so they are counted apart. */
    byChannel: ChannelStageRow[];
    queue: QueueSample[];
}

/** `GET /api/v1/yard`: what the Yard page shows. */
export interface YardView {
    gateTime: string;
    timeZone: string;
    /** The queue policy in force (config `yard.queuePolicy`). */
    policy: "fifo" | "slot" | "perishablesFirst";
    groups: {
        laneGroup: LaneGroup;
        /** How many trucks wait in this group's queue. */
        waiting: number;
        /** The first waiting trucks in call order (queuePosition 1 first), as many as asked (`?limit`). */
        queue: VisitSummary[];
        /** Called and not yet at their lane. */
        called: VisitSummary[];
        lanes: { laneId: string; free: boolean; calledVisitId?: string }[];
    }[];
    /** Visits approaching or over their dwell limit, longest first (the first `?limit` of them). */
    dwellWarnings: VisitSummary[];
    /** How many visits are approaching or over their dwell limit. */
    dwellWarningCount: number;
}

/**
 * What the time-release report reads of a visit: where it went and when it reached each stage, as epoch ms in
 * VISIT_STAGES order (NaN for a stage not reached). Numbers, not a VisitSummary's ISO texts: a year's report
 * reads a hundred thousand visits.
 */
export interface ReportVisit {
    channel?: string;
    laneId?: string;
    goodsClass: GoodsClass;
    stageMs: ArrayLike<number>;
}

/** What the time-release report reads: the yard part's store implements it. */
export interface VisitSource {
    /** Visits that arrived in [from, to) (epoch ms), with their stages. */
    visitsArrivedBetween(from: number, to: number): ReportVisit[];
    /** The queue length of each group at each change in [from, to). */
    queueSamples(from: number, to: number): QueueSample[];
}
