/**
 * What the dashboard is shown: lane tiles and passage summaries and details, built from the lane
 * engine's facts and decision, the passage records and the clearance cache. Plate texts, reasons and
 * notes are passed through verbatim; escaping them is the job of whoever renders them.
 */
import type { DeviceStatus, ImageRole, PlateValues } from "../core/events.ts";
import type { LaneSnapshot, PassageStanding } from "../lane/correlator.ts";
import type { PassageFollowUp } from "../lane/followUp.ts";
import { outcomeFromState } from "../lane/outcome.ts";
import type { RuleFinding } from "../lane/reasonCodes.ts";
import type { ClearanceView, DecisionRecord, PassageFacts } from "../lane/types.ts";
import type { PassageRow } from "../store/passages.ts";

export interface PlateView {
    text: string;
    confidence: number;
    imageRef?: string;
}

export interface PassageSummary {
    id: string;
    laneId: string;
    openedAt: string;
    plates: { front?: PlateView; rear?: PlateView };
    declaration?: { number: string; channel?: string; status?: string };
    containers: { number: string; checkDigitOk: boolean }[];
    seals: { id: string; status: string }[];
    weight?: { kg: number; declaredKg?: number; deviationPct?: number };
    /**
     * `outcome` is what happens to the truck now: the rules' decision as officers' actions left it
     * (held before the decision, diverted, released after inspection); `automatic` is the rules' own
     * decision when it differs. `rule` and `reason` are the rules'.
     */
    decision?: {
        outcome: string;
        automatic?: string;
        rule?: string;
        reason?: string;
        /** The deciding rule's reason as codes with parameters, for the reader's language. */
        findings?: RuleFinding[];
        offline: boolean;
        /** How old the clearance data was at the decision (ms; negative: dated after now), beside `offline`. */
        clearanceAgeMs?: number;
    };
    /** Before the decision: an officer's hold (HOLD) or diversion (INSPECT) the decision cannot go below. */
    officerHold?: string;
    awaitingApproval: boolean;
}

export interface DeviceDot {
    id: string;
    role: string;
    kind: string;
    status: DeviceStatus;
}

export interface LaneTile {
    id: string;
    name: string;
    state: string;
    since: string;
    devices: DeviceDot[];
    passage?: PassageSummary;
}

function plateView(plate: PlateValues | undefined): PlateView | undefined {
    if (!plate) return undefined;
    const imageRef = plate.imageRefs[0];
    return { text: plate.text, confidence: plate.confidence, ...(imageRef !== undefined && { imageRef }) };
}

export function passageSummary(
    facts: PassageFacts,
    decision: DecisionRecord | undefined,
    clearance: ClearanceView | undefined,
    awaitingApproval: boolean,
    state: string,
    closedAs?: string,
    standing: PassageStanding = {},
): PassageSummary {
    const front = plateView(facts.frontPlate);
    const rear = plateView(facts.rearPlate);
    const number = facts.declarations[0];
    const declared = number !== undefined ? clearance?.declaration(number) : undefined;
    let weight: PassageSummary["weight"];
    if (facts.grossKg !== undefined) {
        const declaredKg = declared?.declaredGrossKg;
        weight = {
            kg: facts.grossKg,
            ...(declaredKg !== undefined &&
                declaredKg > 0 && {
                    declaredKg,
                    deviationPct: Math.round(((facts.grossKg - declaredKg) / declaredKg) * 1000) / 10,
                }),
        };
    }
    const deciding = decision?.results.find((result) => result.rule === decision.decidingRule);
    // Kept with the passage since outcome.ts; read from its state for records written before.
    const outcome = decision ? (standing.outcome ?? outcomeFromState(decision.decision, state, closedAs)) : undefined;
    return {
        id: facts.passageId,
        laneId: facts.laneId,
        openedAt: new Date(facts.openedAt).toISOString(),
        plates: { ...(front && { front }), ...(rear && { rear }) },
        ...(number !== undefined && {
            declaration: {
                number,
                ...(declared && { channel: declared.channel, status: declared.status }),
            },
        }),
        containers: facts.containers.map((container) => ({ ...container })),
        seals: facts.seals.map((seal) => ({ id: seal.sealId, status: seal.status })),
        ...(weight && { weight }),
        ...(decision && {
            decision: {
                outcome: outcome as string,
                ...(outcome !== decision.decision && { automatic: decision.decision }),
                ...(decision.decidingRule !== undefined && { rule: decision.decidingRule }),
                ...(deciding && { reason: deciding.reason }),
                ...(deciding?.findings !== undefined && { findings: deciding.findings }),
                offline: decision.offline,
                ...(decision.clearanceAgeMs !== undefined && { clearanceAgeMs: decision.clearanceAgeMs }),
            },
        }),
        ...(!decision && standing.officerHold !== undefined && { officerHold: standing.officerHold }),
        awaitingApproval,
    };
}

export function laneTile(
    lane: { id: string; name: string },
    snapshot: LaneSnapshot | undefined,
    since: string,
    devices: DeviceDot[],
    clearance: ClearanceView | undefined,
    awaitingApproval: (passageId: string) => boolean,
): LaneTile {
    const passage = snapshot?.passage;
    return {
        id: lane.id,
        name: lane.name,
        state: snapshot?.state ?? "IDLE",
        since,
        devices,
        ...(passage && {
            passage: passageSummary(
                passage.facts,
                passage.decision,
                clearance,
                awaitingApproval(passage.passageId),
                snapshot.state,
                undefined,
                passage.standing,
            ),
        }),
    };
}

/** A stored passage record as a summary: the lane engine keeps facts and decision in the record. */
export function rowSummary(
    row: PassageRow,
    clearance: ClearanceView | undefined,
    awaitingApproval: boolean,
): PassageSummary & {
    state: string;
    decidedAt?: string;
    closedAt?: string;
    outcome?: string;
    followUps?: PassageFollowUp[];
} {
    const record = row.record as {
        facts?: PassageFacts;
        decision?: DecisionRecord;
        outcome?: string;
        standing?: PassageStanding;
        followUps?: PassageFollowUp[];
    };
    const facts: PassageFacts = record.facts ?? {
        passageId: row.passageId,
        laneId: row.laneId,
        direction: "IN",
        openedAt: Date.parse(row.openedAt),
        plateReads: [],
        declarations: row.declarations,
        containers: [],
        seals: [],
        timedOut: [],
        devicesOffline: [],
    };
    return {
        ...passageSummary(
            facts,
            record.decision,
            clearance,
            awaitingApproval,
            row.state,
            record.outcome,
            record.standing,
        ),
        // The record's opening time is when the passage was stored; the facts' is when the truck arrived.
        state: row.state,
        ...(row.decidedAt !== null && { decidedAt: row.decidedAt }),
        ...(row.completedAt !== null && { closedAt: row.completedAt }),
        ...(record.outcome !== undefined && { outcome: record.outcome }),
        // What was learnt after the decision for the next point that can stop the truck (lane/followUp.ts).
        ...(record.followUps !== undefined && record.followUps.length > 0 && { followUps: record.followUps }),
    };
}

interface TimelineRecord {
    at: string;
    step: string;
    [key: string]: unknown;
}

function summaryOf(entry: TimelineRecord): string {
    const [type, ...rest] = entry.step.split(" ");
    switch (type) {
        case "OPENED":
            return "passage opened";
        case "DECIDED":
            return `decided ${rest.join(" ")}`;
        case "COMPLETED":
            return `completed: ${rest.join(" ")}`;
        case "OUTCOME":
            return `outcome ${rest.join(" ")}`;
        case "COMMAND":
            return `command ${String(entry.command)}`;
        case "ALERT":
            return `${String(entry.code)}: ${String(entry.message)}`;
        case "FOLLOWUP":
            return entry.kind === "too-late"
                ? `flagged for the next point: ${String(entry.reason)}`
                : `re-checked on fresh clearance data: ${String(entry.was)} → ${String(entry.now)}${entry.stronger === true ? ` (${String(entry.rule)}: ${String(entry.reason)})` : ""}`;
        case "OFFICER":
            return `${String(entry.officerId)} (${String(entry.role)}) ${String(entry.action)}: ${String(entry.reasonCode)}`;
        default:
            return `lane ${entry.step}`;
    }
}

/** The detail of a stored passage: summary, timeline, every rule result, images, officer actions. */
export function passageDetail(row: PassageRow, clearance: ClearanceView | undefined, awaitingApproval: boolean) {
    const record = row.record as { facts?: PassageFacts; decision?: DecisionRecord; timeline?: TimelineRecord[] };
    const timeline = (record.timeline ?? []).map((entry) => {
        const { at, step, ...data } = entry;
        // `step` and `data` let the dashboard word the entry in the reader's language; `summary` is the English.
        return { at, type: step.split(" ")[0] as string, step, summary: summaryOf(entry), data };
    });
    // Each camera's scene and plate crop side by side; reads stored before roles were kept have refs only.
    const images: { ref: string; position: string; role?: ImageRole }[] = [];
    for (const plate of record.facts?.plateReads ?? []) {
        for (const { ref, role } of plate.images ?? plate.imageRefs.map((ref) => ({ ref, role: undefined }))) {
            const same = (image: (typeof images)[number]) =>
                image.ref === ref && image.role === role && image.position === plate.position;
            if (images.some(same)) continue;
            images.push({ ref, position: plate.position, ...(role !== undefined && { role }) });
        }
    }
    const officerActions = (record.timeline ?? [])
        .filter((entry) => entry.step === "OFFICER")
        .map((entry) => ({
            at: entry.at,
            officerId: String(entry.officerId),
            role: String(entry.role),
            action: String(entry.action),
            reasonCode: String(entry.reasonCode),
            ...(typeof entry.note === "string" && { note: entry.note }),
        }));
    return {
        ...rowSummary(row, clearance, awaitingApproval),
        timeline,
        rules: (record.decision?.results ?? []).map((result) => ({
            rule: result.rule,
            outcome: result.pass ? "pass" : "fail",
            reason: result.reason,
            ...(result.findings !== undefined && { findings: result.findings }),
            severity: result.severity,
        })),
        images,
        officerActions,
    };
}

/** An alert with the plates of its passage as read (front, rear): officers know a truck by its plates. */
export function alertView<A extends { passageId?: string }>(
    alert: A,
    passage: PassageRow | undefined,
): A & { plates?: string[] } {
    if (!passage) return alert;
    const facts = (passage.record as { facts?: PassageFacts }).facts;
    const read = [facts?.frontPlate?.text, facts?.rearPlate?.text].filter((text) => text !== undefined);
    const plates = read.length > 0 ? read : passage.plates;
    return plates.length > 0 ? { ...alert, plates } : alert;
}
