/**
 * The truck's visit as a pure fold of its `visit.*` events (issue 19), as an inspection case is of its
 * `inspection.*` events (src/inspection/caseModel.ts): arrival at the yard entry, call-forward (and
 * no-shows), an officer's move in the queue, the stages at the lane and in the inspection area, the release
 * and the exit point that closes it. The visits table is only this fold, so a restart rebuilds it from the
 * yard part's cursor. `applyVisitEvent` never refuses a committed event: the event log is the evidence; a
 * stage that comes again keeps its first time (a truck called twice keeps the time of the call it answered).
 */
import type { JsonObject } from "../core/events.ts";
import type { LaneGroup, VisitStage, VisitState, VisitSummary } from "./types.ts";

/** An officer's move of a visit in its queue: its sort key from then on (see queue.ts). */
export interface QueueRank {
    tier: number;
    key: number;
}

export type DwellLevel = VisitSummary["dwell"];

/**
 * The read model: a VisitSummary's stored part (all of it but what is worked out when it is shown: the queue
 * position and the dwell), and what the queue and the dwell check need.
 */
export interface Visit extends Omit<VisitSummary, "queuePosition" | "dwellMs" | "dwell"> {
    /** Arrival (ms since epoch, wall clock): dwell is measured from it. */
    arrivedMs: number;
    /** When its booked slot begins (ms): the slot policy reads it for every waiting truck at every call. */
    slotFromMs?: number;
    /** When it last entered its queue (arrival, or its last no-show): the order of first come. */
    queuedMs: number;
    /** When it was last called (CALLED only): a no-show is counted from it. */
    calledMs?: number;
    rank?: QueueRank;
    /** The dwell level an alert was raised for. */
    dwellAlerted: DwellLevel;
    lastSeq: number;
}

/** A committed `visit.*` event as the fold reads it. */
export interface VisitEvent {
    id: string;
    seq: number;
    type: string;
    occurredAt: string;
    data: JsonObject;
}

const OPEN_STATES: readonly VisitState[] = ["QUEUED", "CALLED", "IN_LANE", "INSPECTION", "RELEASED"];

export function isOpen(visit: Pick<Visit, "state">): boolean {
    return OPEN_STATES.includes(visit.state);
}

const text = (value: unknown): string | undefined => (typeof value === "string" ? value : undefined);
const strings = (value: unknown): string[] =>
    Array.isArray(value) ? value.filter((item): item is string => typeof item === "string") : [];
const LANE_GROUPS: readonly LaneGroup[] = ["import", "export", "empty"];

/**
 * An instant as ISO 8601 with the offset of `timeZone` at that instant (2026-11-15T10:00:00.000+07:00):
 * the stages are read by people at the gate and the report groups by the gate's day.
 */
export function isoInZone(ms: number, timeZone: string): string {
    const parts = Object.fromEntries(
        new Intl.DateTimeFormat("en-GB", {
            timeZone,
            hourCycle: "h23",
            ...{ year: "numeric", month: "2-digit", day: "2-digit" },
            ...{ hour: "2-digit", minute: "2-digit", second: "2-digit" },
        })
            .formatToParts(ms)
            .map((part) => [part.type, part.value]),
    );
    const local = Date.UTC(
        Number(parts.year),
        Number(parts.month) - 1,
        Number(parts.day),
        Number(parts.hour),
        Number(parts.minute),
        Number(parts.second),
    );
    const offsetMinutes = Math.round((local - (ms - (((ms % 1000) + 1000) % 1000))) / 60_000);
    const sign = offsetMinutes < 0 ? "-" : "+";
    const abs = Math.abs(offsetMinutes);
    const offset = `${sign}${String(Math.floor(abs / 60)).padStart(2, "0")}:${String(abs % 60).padStart(2, "0")}`;
    const millis = String(((ms % 1000) + 1000) % 1000).padStart(3, "0");
    return `${parts.year}-${parts.month}-${parts.day}T${parts.hour}:${parts.minute}:${parts.second}.${millis}${offset}`;
}

/** The stage an event sets; a stage already reached keeps its first time unless `latest`. */
function withStage(visit: Visit, stage: VisitStage, at: string, latest = false): Visit["stages"] {
    if (visit.stages[stage] !== undefined && !latest) return visit.stages;
    return { ...visit.stages, [stage]: at };
}

/** Folds one committed event into its visit (undefined before `visit.arrived`). */
export function applyVisitEvent(current: Visit | undefined, event: VisitEvent, timeZone: string): Visit | undefined {
    const d = event.data;
    const ms = Date.parse(event.occurredAt);
    const at = isoInZone(ms, timeZone);
    if (event.type === "visit.arrived") {
        if (current) return current;
        const laneGroup = LANE_GROUPS.find((group) => group === d.laneGroup) ?? "import";
        const slot = d.slot as { from?: unknown; to?: unknown } | undefined; // written by the yard part from a PreArrival slot
        return {
            visitId: text(d.visitId) ?? "",
            state: "QUEUED",
            laneGroup,
            goodsClass: d.goodsClass === "perishable" ? "perishable" : "general",
            tractorPlate: text(d.tractorPlate) ?? "",
            ...(text(d.trailerPlate) !== undefined && { trailerPlate: text(d.trailerPlate) }),
            declarations: strings(d.declarations),
            ...(text(d.preArrivalId) !== undefined && { preArrivalId: text(d.preArrivalId) }),
            ...(typeof slot?.from === "string" &&
                typeof slot.to === "string" && {
                    slot: { from: slot.from, to: slot.to },
                    ...(!Number.isNaN(Date.parse(slot.from)) && { slotFromMs: Date.parse(slot.from) }),
                }),
            noShows: 0,
            stages: { arrived: at },
            passageIds: [],
            caseIds: [],
            arrivedMs: ms,
            queuedMs: ms,
            dwellAlerted: "ok",
            lastSeq: event.seq,
        };
    }
    if (!current) return undefined;
    const next: Visit = { ...current, lastSeq: event.seq };
    // A closed or cancelled visit takes no more steps; only its evidence (the event) remains.
    if (!isOpen(current)) return next;
    switch (event.type) {
        case "visit.called": {
            const laneId = text(d.laneId);
            next.state = "CALLED";
            if (laneId !== undefined) next.laneId = laneId;
            next.calledMs = ms;
            next.stages = withStage(current, "called", at, true);
            return next;
        }
        case "visit.no-show": {
            if (current.state !== "CALLED") return next;
            next.state = "QUEUED";
            next.noShows = current.noShows + 1;
            next.queuedMs = ms;
            delete next.laneId;
            delete next.calledMs;
            return next;
        }
        case "visit.reordered": {
            if (typeof d.tier === "number" && typeof d.key === "number") next.rank = { tier: d.tier, key: d.key };
            return next;
        }
        case "visit.dwell": {
            if (d.level === "approaching" || d.level === "exceeded") next.dwellAlerted = d.level;
            return next;
        }
        case "visit.cancelled":
            next.state = "CANCELLED";
            return next;
        case "visit.stage":
            return applyStage(current, next, d, at);
        default:
            return current;
    }
}

function applyStage(current: Visit, next: Visit, d: JsonObject, at: string): Visit {
    const stage = text(d.stage);
    const passageId = text(d.passageId);
    const caseId = text(d.caseId);
    if (passageId !== undefined && !current.passageIds.includes(passageId))
        next.passageIds = [...current.passageIds, passageId];
    if (caseId !== undefined && !current.caseIds.includes(caseId)) next.caseIds = [...current.caseIds, caseId];
    switch (stage) {
        case "laneEntered": {
            const laneId = text(d.laneId);
            if (laneId !== undefined) next.laneId = laneId;
            delete next.calledMs;
            if (current.state === "QUEUED" || current.state === "CALLED") next.state = "IN_LANE";
            next.stages = withStage(current, "laneEntered", at);
            return next;
        }
        case "decided": {
            const decision = text(d.decision);
            const channel = text(d.channel);
            if (decision !== undefined) next.decision = decision;
            if (channel !== undefined) next.channel = channel;
            next.stages = withStage(current, "decided", at);
            return next;
        }
        case "inspectionStarted":
            if (current.state !== "RELEASED") next.state = "INSPECTION";
            next.stages = withStage(current, "inspectionStarted", at);
            return next;
        case "inspectionEnded":
            next.stages = withStage(current, "inspectionEnded", at, true);
            return next;
        case "released":
            next.state = "RELEASED";
            next.stages = withStage(current, "released", at);
            return next;
        case "exited":
            next.state = "CLOSED";
            next.stages = withStage(current, "exited", at);
            return next;
        default:
            return current;
    }
}

const HOUR_MS = 3_600_000;

/** Where a visit stands against the dwell limits at `now`: an open visit's time since arrival. */
export function dwellOf(
    visit: Pick<Visit, "arrivedMs" | "state" | "stages">,
    now: number,
    limits: { warnHours: number; limitHours: number },
): { dwellMs: number; dwell: DwellLevel } {
    const end = isOpen(visit) ? now : Date.parse(visit.stages.exited ?? "") || now;
    const dwellMs = Math.max(0, end - visit.arrivedMs);
    const dwell =
        dwellMs > limits.limitHours * HOUR_MS
            ? "exceeded"
            : dwellMs >= limits.warnHours * HOUR_MS
              ? "approaching"
              : "ok";
    return { dwellMs, dwell };
}

/** A visit as the API shows it. */
export function summaryOf(
    visit: Visit,
    now: number,
    limits: { warnHours: number; limitHours: number },
    queuePosition?: number,
): VisitSummary {
    const {
        arrivedMs: _a,
        queuedMs: _q,
        calledMs: _c,
        rank: _r,
        dwellAlerted: _d,
        lastSeq: _s,
        slotFromMs: _f,
        ...shown
    } = visit;
    return {
        ...shown,
        ...(queuePosition !== undefined && { queuePosition }),
        ...dwellOf(visit, now, limits),
    };
}
