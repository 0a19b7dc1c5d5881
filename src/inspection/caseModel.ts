/**
 * The inspection case as a pure fold of its events (issue 18 part 2). A case is opened for a truck the lane
 * sent to inspection and outlives the lane passage: what is to be done (X-ray scan, radiation secondary
 * check, physical examination), by whom, the results as they arrive from the devices and the officers, and
 * how it ends (cleared, detained, refused). Every step is an `inspection.*` GateEvent; the case table is only
 * this fold of them, so a restart rebuilds what a crash left unwritten (src/inspection/cases.ts).
 *
 * `checkAction` says whether an action may be taken on a case as it stands (a GateError with the reason if
 * not); `applyCaseEvent` folds a committed event into the case and never refuses one: the event log is the
 * evidence. `exitVerdict` is the exit point's one question: may this truck leave.
 */
import { GateError } from "../core/errors.ts";
import type { JsonObject } from "../core/events.ts";

export type StepKind = "xray" | "radiation" | "physical";
export const STEP_KINDS: readonly StepKind[] = ["xray", "radiation", "physical"];

/** Why the truck was sent to inspection: the rule or action that did it. */
export type CaseTrigger =
    | "CHANNEL_RED"
    | "WATCH_LIST"
    | "SEAL_TAMPERED"
    | "RPM_ALARM"
    | "RANDOM_SELECTION"
    | "OFFICER_DIVERT"
    | "RULES";

export type CaseStatus = "open" | "cleared" | "detained" | "refused";
export type CaseOutcome = Exclude<CaseStatus, "open">;

/** One result of the case, from a device (X-ray package, RPM occupancy) or an officer. */
export interface CaseEntry {
    at: string;
    eventId: string;
    kind: "xray" | "radiation" | "finding" | "seal" | "assigned" | "release-requested" | "closed" | "exit";
    by?: string;
    /** xray: clear | suspicious | not-analysed; radiation: clear | nuisance | alarm; exit: refused | released. */
    result?: string;
    /** The step an officer's finding completes. */
    step?: StepKind;
    text?: string;
    /** Image references (photos of a finding; the scan's images). */
    images?: string[];
    seals?: string[];
    /** The device reading (event id) a result came from. */
    readingEventId?: string;
    reasonCode?: string;
    exitId?: string;
    /** X-ray: the regions the analyst marked, in fractions of the image (index into `images`). */
    regions?: { image: number; x: number; y: number; width: number; height: number; label: string }[];
    /** Radiation: each detector's counts per time slice, and its background, for the chart. */
    detectors?: { detector: string; category: string; peakCps: number; slices: number[]; backgroundCps?: number }[];
}

export interface InspectionCase {
    caseId: string;
    passageId: string;
    laneId: string;
    openedAt: string;
    triggers: CaseTrigger[];
    plates: string[];
    containers: string[];
    declarations: string[];
    /** Clearing needs a supervisor as the second person (RED channel, watch list, RPM alarm). */
    fourEyes: boolean;
    status: CaseStatus;
    assignee?: string;
    /** Steps to be done before the case may be cleared, in STEP_KINDS order. */
    required: StepKind[];
    /** Steps done: an X-ray with an analysed result, an officer's finding for the other two. */
    done: StepKind[];
    entries: CaseEntry[];
    /**
     * The photos inspectors uploaded for the case (image refs, each once, in upload order): what a finding's
     * `images` name, and evidence the image store keeps while the case needs it (src/store/images.ts).
     * Absent on a case that has none (and on cases stored before photos existed).
     */
    photos?: string[];
    /** A clearance waiting for the supervisor's approval. */
    releaseRequest?: { by: string; reasonCode: string; at: string };
    closed?: { at: string; outcome: CaseOutcome; reasonCode: string; by: string; requestedBy?: string };
    /** The seq of the last event folded in. */
    lastSeq: number;
}

/** A committed `inspection.*` event as the fold reads it. */
export interface CaseEvent {
    id: string;
    seq: number;
    type: string;
    occurredAt: string;
    data: JsonObject;
}

/** The steps each trigger asks for; a suspicious X-ray adds the physical examination. */
const STEPS_OF: Readonly<Record<CaseTrigger, readonly StepKind[]>> = {
    CHANNEL_RED: ["xray"],
    WATCH_LIST: ["xray"],
    SEAL_TAMPERED: ["physical"],
    RPM_ALARM: ["xray", "radiation"],
    RANDOM_SELECTION: ["xray"],
    OFFICER_DIVERT: ["xray"],
    RULES: ["xray"],
};

/**
 * The most photos one case may get: a case is one truck, and fifty photos of 8 MiB at most
 * (src/inspection/routes.ts) keep one client from filling the gate's disk through one case.
 */
export const MAX_CASE_PHOTOS = 50;

export function requiredSteps(triggers: readonly CaseTrigger[]): StepKind[] {
    const wanted = new Set(triggers.flatMap((trigger) => STEPS_OF[trigger]));
    return STEP_KINDS.filter((step) => wanted.has(step));
}

/** The case id of a passage's case: one case per passage, so opening twice is the same case. */
export function caseIdOf(passageId: string): string {
    return `INS-${passageId}`;
}

const strings = (value: unknown): string[] =>
    Array.isArray(value) ? value.filter((item): item is string => typeof item === "string") : [];
const text = (value: unknown): string | undefined => (typeof value === "string" ? value : undefined);

function withStep(list: readonly StepKind[], step: StepKind): StepKind[] {
    return STEP_KINDS.filter((kind) => kind === step || list.includes(kind));
}

/** The entry an event adds to its case, with the fields it carries. */
function entryOf(event: CaseEvent, kind: CaseEntry["kind"]): CaseEntry {
    const d = event.data;
    const entry: CaseEntry = { at: event.occurredAt, eventId: event.id, kind };
    const by = text(d.by);
    if (by !== undefined) entry.by = by;
    const result = text(d.result);
    if (result !== undefined) entry.result = result;
    const step = text(d.step);
    if (step !== undefined && (STEP_KINDS as readonly string[]).includes(step)) entry.step = step as StepKind; // checked just above
    const note = text(d.text);
    if (note !== undefined) entry.text = note;
    if (Array.isArray(d.images)) entry.images = strings(d.images);
    if (Array.isArray(d.seals)) entry.seals = strings(d.seals);
    const readingEventId = text(d.readingEventId);
    if (readingEventId !== undefined) entry.readingEventId = readingEventId;
    const reasonCode = text(d.reasonCode);
    if (reasonCode !== undefined) entry.reasonCode = reasonCode;
    const exitId = text(d.exitId);
    if (exitId !== undefined) entry.exitId = exitId;
    const num = (value: unknown): number => (typeof value === "number" && Number.isFinite(value) ? value : 0);
    const records = (value: unknown): Record<string, unknown>[] =>
        Array.isArray(value)
            ? value.filter((item): item is Record<string, unknown> => typeof item === "object" && item !== null)
            : [];
    if (Array.isArray(d.regions))
        entry.regions = records(d.regions).map((r) => ({
            ...{ image: num(r.image), x: num(r.x), y: num(r.y), width: num(r.width), height: num(r.height) },
            label: text(r.label) ?? "",
        }));
    if (Array.isArray(d.detectors))
        entry.detectors = records(d.detectors).map((r) => ({
            detector: text(r.detector) ?? "",
            category: text(r.category) ?? "",
            peakCps: num(r.peakCps),
            slices: Array.isArray(r.slices) ? r.slices.map(num) : [],
            ...(typeof r.backgroundCps === "number" && { backgroundCps: r.backgroundCps }),
        }));
    return entry;
}

/**
 * Folds one committed event into its case (undefined before `inspection.opened`). A second opening of the
 * same case adds what it newly names (plates read later, another trigger) and keeps the rest.
 */
export function applyCaseEvent(current: InspectionCase | undefined, event: CaseEvent): InspectionCase | undefined {
    const d = event.data;
    if (event.type === "inspection.opened") {
        const triggers = strings(d.triggers) as CaseTrigger[]; // written by openDraft from CaseTrigger values
        if (current) {
            const merged = [...new Set([...current.triggers, ...triggers])];
            return {
                ...current,
                triggers: merged,
                plates: [...new Set([...current.plates, ...strings(d.plates)])],
                containers: [...new Set([...current.containers, ...strings(d.containers)])],
                declarations: [...new Set([...current.declarations, ...strings(d.declarations)])],
                fourEyes: current.fourEyes || d.fourEyes === true,
                required: requiredSteps(merged).reduce(withStep, current.required),
                lastSeq: event.seq,
            };
        }
        return {
            caseId: text(d.caseId) ?? "",
            passageId: text(d.passageId) ?? "",
            laneId: text(d.laneId) ?? "",
            openedAt: event.occurredAt,
            triggers,
            plates: strings(d.plates),
            containers: strings(d.containers),
            declarations: strings(d.declarations),
            fourEyes: d.fourEyes === true,
            status: "open",
            required: requiredSteps(triggers),
            done: [],
            entries: [],
            lastSeq: event.seq,
        };
    }
    if (!current) return undefined;
    const next: InspectionCase = { ...current, lastSeq: event.seq };
    switch (event.type) {
        case "inspection.assigned": {
            const entry = entryOf(event, "assigned");
            next.assignee = text(d.assignee) ?? current.assignee;
            next.entries = [...current.entries, { ...entry, text: next.assignee ?? "" }];
            return next;
        }
        case "inspection.result": {
            const kind = d.kind === "radiation" ? "radiation" : "xray";
            next.entries = [...current.entries, entryOf(event, kind)];
            if (kind === "xray" && (d.result === "clear" || d.result === "suspicious"))
                next.done = withStep(current.done, "xray");
            if (kind === "xray" && d.result === "suspicious") next.required = withStep(current.required, "physical");
            if (kind === "radiation" && d.result === "alarm") next.required = withStep(current.required, "radiation");
            return next;
        }
        case "inspection.finding": {
            const entry = entryOf(event, "finding");
            next.entries = [...current.entries, entry];
            if (entry.step !== undefined) next.done = withStep(current.done, entry.step);
            return next;
        }
        case "inspection.sealed":
            next.entries = [...current.entries, entryOf(event, "seal")];
            return next;
        case "inspection.photo": {
            const ref = text(d.ref);
            const photos = current.photos ?? [];
            if (ref !== undefined && !photos.includes(ref)) next.photos = [...photos, ref];
            return next;
        }
        case "inspection.release-requested":
            next.entries = [...current.entries, entryOf(event, "release-requested")];
            next.releaseRequest = { by: text(d.by) ?? "", reasonCode: text(d.reasonCode) ?? "", at: event.occurredAt };
            return next;
        case "inspection.closed": {
            const outcome = d.outcome === "cleared" || d.outcome === "detained" ? d.outcome : "refused";
            next.entries = [...current.entries, { ...entryOf(event, "closed"), result: outcome }];
            next.status = outcome;
            next.closed = {
                at: event.occurredAt,
                outcome,
                reasonCode: text(d.reasonCode) ?? "",
                by: text(d.by) ?? "",
                ...(current.releaseRequest && { requestedBy: current.releaseRequest.by }),
            };
            delete next.releaseRequest;
            return next;
        }
        case "inspection.exit":
            next.entries = [...current.entries, entryOf(event, "exit")];
            return next;
        default:
            return current;
    }
}

/** Steps still to be done before the case may be cleared. */
export function missingSteps(c: InspectionCase): StepKind[] {
    return c.required.filter((step) => !c.done.includes(step));
}

export type CaseAction =
    | { action: "assign"; assignee: string }
    | { action: "finding"; step?: StepKind; text: string; images?: string[] }
    | { action: "seal"; seals: string[] }
    | { action: "photo"; ref: string; contentType: string; bytes: number }
    | { action: "clear"; reasonCode: string }
    | { action: "detain" | "refuse"; reasonCode: string };

export interface CaseActor {
    name: string;
    role: string;
}

/**
 * What an action does to the case as it stands, as the event to append; a GateError with the reason when it
 * may not be taken: any action on a closed case, a photo past MAX_CASE_PHOTOS, clearing with steps still to do, a clearance of a
 * four-eyes case approved by the person who asked for it or by anyone but a supervisor.
 */
export function checkAction(
    c: InspectionCase,
    request: CaseAction,
    actor: CaseActor,
): {
    type:
        | "inspection.assigned"
        | "inspection.finding"
        | "inspection.sealed"
        | "inspection.photo"
        | "inspection.release-requested"
        | "inspection.closed";
    data: JsonObject;
} {
    if (c.status !== "open")
        throw new GateError("INSPECTION_CASE_CLOSED", `case ${c.caseId} is already closed (${c.status})`);
    const base = { caseId: c.caseId, passageId: c.passageId, by: actor.name, role: actor.role };
    switch (request.action) {
        case "assign":
            return { type: "inspection.assigned", data: { ...base, assignee: request.assignee } };
        case "finding":
            return {
                type: "inspection.finding",
                data: {
                    ...base,
                    text: request.text,
                    ...(request.step !== undefined && { step: request.step }),
                    ...(request.images !== undefined && { images: request.images }),
                },
            };
        case "seal":
            return { type: "inspection.sealed", data: { ...base, seals: request.seals } };
        case "photo": {
            const photos = c.photos ?? [];
            if (photos.length >= MAX_CASE_PHOTOS && !photos.includes(request.ref))
                throw new GateError(
                    "INSPECTION_PHOTO_LIMIT",
                    `case ${c.caseId} has ${photos.length} photos, the most a case may have`,
                );
            const { ref, contentType, bytes } = request;
            return { type: "inspection.photo", data: { ...base, ref, contentType, bytes } };
        }
        case "detain":
        case "refuse":
            return {
                type: "inspection.closed",
                data: {
                    ...base,
                    outcome: request.action === "detain" ? "detained" : "refused",
                    reasonCode: request.reasonCode,
                },
            };
        case "clear": {
            const missing = missingSteps(c);
            if (missing.length > 0)
                throw new GateError(
                    "INSPECTION_STEPS_MISSING",
                    `case ${c.caseId} cannot be cleared before: ${missing.join(", ")}`,
                );
            const closing = {
                type: "inspection.closed" as const,
                data: { ...base, outcome: "cleared", reasonCode: request.reasonCode },
            };
            if (!c.fourEyes) return closing;
            const pending = c.releaseRequest;
            if (pending === undefined)
                return { type: "inspection.release-requested", data: { ...base, reasonCode: request.reasonCode } };
            if (pending.by === actor.name)
                throw new GateError("FOUR_EYES", `${actor.name} asked for this clearance and may not approve it`);
            if (actor.role !== "supervisor")
                throw new GateError("FOUR_EYES", `the clearance of case ${c.caseId} waits for a supervisor's approval`);
            return { ...closing, data: { ...closing.data, requestedBy: pending.by } };
        }
    }
}

/** The identity of a truck at the exit: plates and containers read there (normalised). */
export interface ExitIdentity {
    plates: readonly string[];
    containers: readonly string[];
}

function matches(c: InspectionCase, identity: ExitIdentity): boolean {
    return (
        identity.plates.some((plate) => c.plates.includes(plate)) ||
        identity.containers.some((container) => c.containers.includes(container))
    );
}

/**
 * May the truck leave: refused while any case naming its plates or containers is open, or ended as detained
 * or refused; released when it has a cleared case and no other; no case: not the inspection area's truck.
 */
export function exitVerdict(
    cases: readonly InspectionCase[],
    identity: ExitIdentity,
): { verdict: "refused" | "released" | "none"; cases: InspectionCase[] } {
    const own = cases.filter((c) => matches(c, identity));
    if (own.length === 0) return { verdict: "none", cases: [] };
    const blocking = own.filter((c) => c.status !== "cleared");
    return blocking.length > 0 ? { verdict: "refused", cases: blocking } : { verdict: "released", cases: own };
}
