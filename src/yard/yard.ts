/**
 * The yard as one part of the gate (issue 19): a truck's whole visit, from the yard entry to the exit point.
 * It reads the committed events in order and acts on those that concern a visit:
 *
 * - A plate read by a yard entry camera (`yard.entries`) opens a visit (`visit.arrived`), matched to its
 *   pre-arrival record by plate with the lanes' misread tolerance, or unannounced; a truck already in the
 *   yard read again opens nothing.
 * - When a lane of a group (`yard.laneGroups`) is free — its engine IDLE and no truck called to it on its
 *   way — the group's next waiting truck (queue.ts, `yard.queuePolicy`) is called (`visit.called`): a
 *   message on `gate/<gate>/yard/calls` (QoS 1) for a driver app or SMS gateway, and the lane's display
 *   shows the plate and lane. A truck not at its lane after `yard.noShowMs` is a no-show (`visit.no-show`):
 *   back in the queue, called again later.
 * - The lane passage whose plate matches a called or waiting visit is its `laneEntered`; the passage's
 *   decision, the inspection case's opening and closing, the release and the exit point's read of the
 *   truck (`inspection.exits`) are its stages (`visit.stage`); the exit closes the visit.
 * - Dwell since arrival past `yard.dwell.warnHours` / `limitHours` raises an alert once each (`visit.dwell`).
 * - A pre-arrival's driver data is dropped after `yard.personalDataRetentionDays`.
 *
 * The visits table is the fold of the `visit.*` events (visitModel.ts). As the inspection part does, the
 * part keeps a cursor and resumes from it after a restart; each consequence is idempotent (a visit's id is
 * its arrival read's event id; a stage already reached is not appended again).
 */
import type { Logger } from "pino";
import type { ExitPointConfig } from "../config/types.ts";
import { type Clock, monotonicOf } from "../core/clock.ts";
import { GateError } from "../core/errors.ts";
import { type AppendOptions, type GateEvent, type GateEventDraft, isEventOf, type JsonObject } from "../core/events.ts";
import { plateRelation } from "../core/identifiers.ts";
import { catchUpFoldingFirst, SerialQueue } from "../core/serialQueue.ts";
import type { UpsertCounts } from "../store/clearance.ts";
import type { YardConfig } from "./config.ts";
import { type PreArrivalStore, redacted } from "./preArrival.ts";
import { nextToCall, orderQueue, rankForPosition } from "./queue.ts";
import type { LaneGroup, PreArrival, ReportVisit, VisitSource, VisitStage, VisitSummary, YardView } from "./types.ts";
import { type DwellLevel, dwellOf, isOpen, summaryOf, type Visit } from "./visitModel.ts";
import type { VisitQuery, VisitStore } from "./visitStore.ts";

export interface YardDeps {
    store: VisitStore;
    preArrivals: PreArrivalStore;
    append(draft: GateEventDraft, options?: AppendOptions): Promise<GateEvent>;
    read(afterSeq: number, limit: number): GateEvent[];
    headSeq(): number;
    onCommitted(listener: (event: GateEvent) => void): () => void;
    config(): YardConfig | undefined;
    exits(): readonly ExitPointConfig[];
    /** The lane takes the next truck: its engine is IDLE and it is not processed by hand. */
    laneIdle(laneId: string): boolean;
    /** The channel of a truck's declarations (the clearance cache's), if known. */
    channelOf(declarations: readonly string[]): string | undefined;
    /** Publishes a call on the gate's broker (QoS 1). */
    publish(topic: string, payload: string): Promise<void> | undefined;
    gateId: string;
    timeZone: string;
    clock: Clock;
    log: Logger;
    /** How often the no-shows, dwell and free lanes are looked at besides each event (default 1 s). */
    tickMs?: number;
}

/** How many waiting trucks of each group (and dwell warnings) the Yard page gets unless it asks for more. */
export const YARD_VIEW_LIMIT = 100;
export const YARD_VIEW_MAX = 1000;

export const YARD_CALLS_TOPIC = (gateId: string) => `gate/${gateId}/yard/calls`;

/** Why an officer moves a truck in the queue: the reason codes of POST /api/v1/yard/reorder. */
export const REORDER_REASONS = [
    "PERISHABLE_URGENT",
    "LIVE_ANIMALS",
    "HUMANITARIAN",
    "CARRIER_DELAY",
    "OFFICER_PRIORITY",
    "QUEUE_CORRECTION",
] as const;
export type ReorderReason = (typeof REORDER_REASONS)[number];

/** Why an officer ends a visit that never reached a lane: the reason codes of POST /api/v1/visits/{id}/cancel. */
export const CANCEL_REASONS = [
    "DRIVER_LEFT",
    "DUPLICATE_VISIT",
    "WRONG_GATE",
    "NOT_A_TRUCK",
    "OFFICER_DECISION",
] as const;
export type CancelReason = (typeof CANCEL_REASONS)[number];

const RELEVANT = new Set([
    "reading.plate",
    "passage.opened",
    "passage.updated",
    "passage.decided",
    "passage.completed",
    "inspection.opened",
    "inspection.closed",
]);
const CATCH_UP_CHUNK = 500;
const GROUPS: readonly LaneGroup[] = ["import", "export", "empty"];
const DWELL_ORDER: readonly DwellLevel[] = ["ok", "approaching", "exceeded"];
const DAY_MS = 86_400_000;
const YARD_DWELL_APPROACHING = "YARD_DWELL_APPROACHING";
const YARD_DWELL_EXCEEDED = "YARD_DWELL_EXCEEDED";
/** The alert of each dwell level past "ok". */
const DWELL_ALERTS = {
    approaching: { code: YARD_DWELL_APPROACHING, severity: "warning" },
    exceeded: { code: YARD_DWELL_EXCEEDED, severity: "critical" },
} as const;
/** Personal data is dropped at most this often. */
const PURGE_EVERY_MS = 3_600_000;

/** The plates a passage event names (its facts, or the plate an update adds). */
function passagePlates(event: GateEvent): string[] {
    const d = event.data as {
        facts?: { plateReads?: { normalized?: string }[] };
        change?: { plate?: { normalized?: string } };
    }; // the lane engine's passage events (src/lane/engine.ts apply): these keys, these shapes
    const plates = (d.facts?.plateReads ?? []).map((read) => read.normalized);
    if (d.change?.plate?.normalized !== undefined) plates.push(d.change.plate.normalized);
    return [...new Set(plates.filter((plate): plate is string => typeof plate === "string" && plate !== ""))];
}

export class Yard implements VisitSource {
    // Its error handler reads this.deps only when a job fails, after the constructor ran.
    private readonly queue = new SerialQueue((err: unknown) => this.deps.log.error({ err }, "yard step failed"));
    private processedSeq = 0;
    private unsubscribe: (() => void) | undefined;
    private timer: NodeJS.Timeout | undefined;
    /** Open visits by id, as stored: the queue and call-forward work in memory. */
    private readonly visits = new Map<string, Visit>();
    /** passage id → visit id. */
    private readonly passageVisits = new Map<string, string>();
    private readonly queueLengths = new Map<LaneGroup, number>();
    private lastPurge = Number.NEGATIVE_INFINITY;
    private live = false;

    constructor(private readonly deps: YardDeps) {}

    async start(): Promise<void> {
        for (const visit of this.deps.store.open()) this.remember(visit);
        for (const group of GROUPS) this.queueLengths.set(group, this.queuedIn(group).length);
        this.unsubscribe = this.deps.onCommitted((event) => {
            if (event.seq > this.processedSeq) this.enqueue(() => this.handle(event));
        });
        const cursor = this.deps.store.cursor;
        if (cursor === undefined) this.deps.store.setCursor(this.deps.headSeq());
        this.processedSeq = cursor ?? this.deps.headSeq();
        this.enqueue(() => this.catchUp());
        this.enqueue(() => {
            this.live = true;
        });
        await this.queue.settled();
        this.enqueue(() => this.tick());
        const tickMs = this.deps.tickMs ?? 1000;
        this.timer = setInterval(() => this.enqueue(() => this.tick()), tickMs);
        this.timer.unref();
    }

    async stop(): Promise<void> {
        clearInterval(this.timer);
        this.timer = undefined;
        this.unsubscribe?.();
        this.unsubscribe = undefined;
        this.live = false;
        await this.queue.settled();
        if (this.processedSeq > 0) this.deps.store.setCursor(this.processedSeq);
    }

    /** Waits until every event handed in so far is acted on. */
    settled(): Promise<void> {
        return this.queue.settled();
    }

    private enqueue(job: () => Promise<void> | void): void {
        this.queue.enqueue(job);
    }

    private serially<T>(job: () => Promise<T>): Promise<T> {
        return this.queue.run(job);
    }

    private catchUp(): Promise<void> {
        return catchUpFoldingFirst(this.deps, this.processedSeq, CATCH_UP_CHUNK, {
            isOwn: (event) => event.type.startsWith("visit."),
            fold: (event) => this.fold(event),
            handle: (event) => this.handle(event),
        });
    }

    private remember(visit: Visit): void {
        if (isOpen(visit)) this.visits.set(visit.visitId, visit);
        else this.visits.delete(visit.visitId);
        for (const passageId of visit.passageIds) this.passageVisits.set(passageId, visit.visitId);
    }

    private queuedIn(group: LaneGroup): Visit[] {
        return [...this.visits.values()].filter((visit) => visit.laneGroup === group && visit.state === "QUEUED");
    }

    private async handle(event: GateEvent): Promise<void> {
        if (event.seq <= this.processedSeq) return;
        this.processedSeq = event.seq;
        const yard = this.deps.config();
        if (!yard) return;
        if (event.type.startsWith("visit.")) {
            this.fold(event);
            return;
        }
        if (!RELEVANT.has(event.type)) return;
        if (event.type === "reading.plate") {
            const entry = yard.entries.find((point) => point.camera === event.deviceId);
            const exit = this.deps.exits().find((point) => point.camera === event.deviceId);
            if (entry) await this.onArrival(event, entry);
            else if (exit) await this.onExit(event, exit);
        } else if (event.type.startsWith("passage.")) {
            if (event.laneId === undefined || yard.laneGroups[event.laneId] === undefined) return;
            await this.onPassage(event, event.laneId);
        } else {
            await this.onInspection(event);
        }
        this.deps.store.setCursor(event.seq);
        if (this.live) await this.tick();
    }

    /** Folds a committed visit event in: the table, the open visits, the queue length samples. */
    private fold(event: GateEvent): void {
        const visit = this.deps.store.apply(event);
        if (!visit) return;
        this.remember(visit);
        const group = visit.laneGroup;
        const length = this.queuedIn(group).length;
        if (this.queueLengths.get(group) !== length) {
            this.queueLengths.set(group, length);
            this.deps.store.addQueueSample(Date.parse(event.occurredAt), group, length);
        }
    }

    private async appendVisit(draft: GateEventDraft): Promise<Visit | undefined> {
        // The gate's monotonic reading beside the wall-clock time: durations within a run, whatever NTP does.
        const atMono = Math.round(monotonicOf(this.deps.clock) * 10) / 10;
        const event = await this.deps.append({ ...draft, data: { ...draft.data, atMono } }, { urgent: true });
        // Folded now, so the next step sees it; its own turn in the queue finds it folded (by seq).
        this.fold(event);
        return this.deps.store.get(String(draft.data.visitId));
    }

    /** The open visit whose tractor or trailer plate this read is, or a likely misread of. */
    private visitOfPlate(plates: readonly string[], states?: readonly Visit["state"][]): Visit | undefined {
        let misread: Visit | undefined;
        for (const visit of this.visits.values()) {
            if (states && !states.includes(visit.state)) continue;
            for (const plate of plates) {
                const relations = [visit.tractorPlate, visit.trailerPlate]
                    .filter((p): p is string => p !== undefined)
                    .map((p) => plateRelation(plate, p));
                if (relations.includes("same")) return visit;
                if (relations.includes("misread")) misread ??= visit;
            }
        }
        return misread;
    }

    private async onArrival(event: GateEvent, entry: YardConfig["entries"][number]): Promise<void> {
        if (!isEventOf(event, "reading.plate")) return;
        const plate = event.data.values.normalized;
        const visitId = `V-${event.id}`;
        if (this.deps.store.get(visitId) || this.visitOfPlate([plate])) return;
        const match = this.deps.preArrivals.match(plate);
        const pre = match?.preArrival;
        if (pre) this.deps.preArrivals.claim(pre.preArrivalId, visitId);
        const data: JsonObject = {
            visitId,
            entryId: entry.id,
            plateRead: plate,
            readingEventId: event.id,
            match: match?.relation ?? "unannounced",
            tractorPlate: pre ? pre.tractorPlate.toUpperCase().replace(/[\s\-.·]/g, "") : plate,
            ...(pre?.trailerPlate !== undefined && {
                trailerPlate: pre.trailerPlate.toUpperCase().replace(/[\s\-.·]/g, ""),
            }),
            laneGroup: pre?.laneGroup ?? entry.laneGroup ?? "import",
            goodsClass: pre?.goodsClass ?? "general",
            declarations: pre?.declarations ?? [],
            ...(pre && { preArrivalId: pre.preArrivalId }),
            ...(pre?.transportPermit !== undefined && { transportPermit: pre.transportPermit }),
            ...(pre?.slot !== undefined && { slot: pre.slot }),
        };
        await this.appendVisit({ type: "visit.arrived", ...(event.laneId && { laneId: event.laneId }), data });
        this.deps.log.info(
            { visitId, plate, preArrival: pre && redacted(pre), match: data.match },
            "truck arrived at the yard",
        );
    }

    /** A stage of a visit, appended once (a stage already reached is not appended again, except `again`). */
    private async stage(visit: Visit, stage: VisitStage, data: JsonObject, again = false): Promise<void> {
        if (visit.stages[stage] !== undefined && !again) return;
        await this.appendVisit({
            type: "visit.stage",
            ...(visit.laneId !== undefined && { laneId: visit.laneId }),
            data: { visitId: visit.visitId, stage, ...data },
        });
    }

    private async onPassage(event: GateEvent, laneId: string): Promise<void> {
        const passageId = String(event.data.passageId ?? "");
        let visitId = this.passageVisits.get(passageId);
        if (visitId === undefined) {
            const plates = passagePlates(event);
            if (plates.length === 0) return;
            // The truck called to this lane first, then any waiting one (it came without waiting for its call).
            const called = [...this.visits.values()].filter((v) => v.state === "CALLED" && v.laneId === laneId);
            const visit =
                called.find((v) => this.visitOfPlate(plates, ["CALLED"])?.visitId === v.visitId) ??
                this.visitOfPlate(plates, ["CALLED", "QUEUED"]);
            if (!visit) return;
            visitId = visit.visitId;
            this.passageVisits.set(passageId, visitId);
            await this.stage({ ...visit, laneId }, "laneEntered", { passageId, laneId });
        }
        const visit = this.visits.get(visitId);
        if (!visit) return;
        if (event.type === "passage.decided") {
            const d = event.data as {
                decision?: { decision?: string };
                outcome?: string;
                facts?: { declarations?: string[] };
            }; // engine.ts apply
            const decision = d.outcome ?? d.decision?.decision ?? "";
            const declarations = d.facts?.declarations ?? visit.declarations;
            const channel = this.deps.channelOf(declarations);
            await this.stage(visit, "decided", { passageId, decision, ...(channel !== undefined && { channel }) });
            if (decision === "RELEASE") await this.stage(this.visits.get(visitId) ?? visit, "released", { passageId });
        } else if (event.type === "passage.completed" && event.data.outcome === "exited") {
            // Waved through by an officer after a hold: the barrier opened, the truck left the lane released.
            const now = this.visits.get(visitId) ?? visit;
            if (now.state === "IN_LANE") await this.stage(now, "released", { passageId });
        }
    }

    private async onInspection(event: GateEvent): Promise<void> {
        const passageId = String(event.data.passageId ?? "");
        const caseId = String(event.data.caseId ?? "");
        const visitId = this.passageVisits.get(passageId);
        const visit = visitId === undefined ? undefined : this.visits.get(visitId);
        if (!visit) return;
        if (event.type === "inspection.opened") {
            await this.stage(visit, "inspectionStarted", { caseId, passageId });
            return;
        }
        await this.stage(visit, "inspectionEnded", { caseId, outcome: String(event.data.outcome ?? "") }, true);
        if (event.data.outcome === "cleared")
            await this.stage(this.visits.get(visit.visitId) ?? visit, "released", { caseId });
    }

    /** The exit point closes a released visit; a truck not released is the inspection part's to refuse. */
    private async onExit(event: GateEvent, exit: ExitPointConfig): Promise<void> {
        if (!isEventOf(event, "reading.plate")) return;
        const visit = this.visitOfPlate([event.data.values.normalized], ["RELEASED"]);
        if (!visit) return;
        await this.stage(visit, "exited", { exitId: exit.id, readingEventId: event.id });
    }

    /** Call-forward, no-shows, dwell alerts and personal data: what time alone changes. */
    private async tick(): Promise<void> {
        const yard = this.deps.config();
        if (!yard || !this.live) return;
        const now = this.deps.clock.now();
        for (const visit of [...this.visits.values()]) {
            if (visit.state === "CALLED" && visit.calledMs !== undefined && now - visit.calledMs >= yard.noShowMs)
                await this.appendVisit({
                    type: "visit.no-show",
                    ...(visit.laneId !== undefined && { laneId: visit.laneId }),
                    data: { visitId: visit.visitId, laneId: visit.laneId ?? "", noShows: visit.noShows + 1 },
                });
        }
        await this.callForward(yard, now);
        await this.checkDwell(yard, now);
        if (now - this.lastPurge >= PURGE_EVERY_MS) {
            this.lastPurge = now;
            const dropped = this.deps.preArrivals.dropPersonalData(now - yard.personalDataRetentionDays * DAY_MS);
            if (dropped > 0) this.deps.log.info({ dropped }, "drivers' personal data dropped after its retention");
        }
    }

    private async callForward(yard: YardConfig, now: number): Promise<void> {
        const calledTo = new Set<string>();
        /** Each group's waiting trucks as this round found them; a truck called in this round is skipped. */
        const waiting = new Map<LaneGroup, Visit[]>();
        for (const visit of this.visits.values()) {
            if (visit.state === "CALLED") calledTo.add(visit.laneId ?? "");
            else if (visit.state === "QUEUED") {
                const list = waiting.get(visit.laneGroup);
                if (list) list.push(visit);
                else waiting.set(visit.laneGroup, [visit]);
            }
        }
        const calledNow = new Set<string>();
        for (const [laneId, group] of Object.entries(yard.laneGroups)) {
            if (calledTo.has(laneId) || !this.deps.laneIdle(laneId)) continue;
            const next = nextToCall(waiting.get(group) ?? [], yard.queuePolicy, now, calledNow);
            if (!next) continue;
            calledTo.add(laneId);
            calledNow.add(next.visitId);
            const at = new Date(now).toISOString();
            await this.appendVisit({
                type: "visit.called",
                laneId,
                data: { visitId: next.visitId, laneId, laneGroup: group, tractorPlate: next.tractorPlate },
            });
            const message = {
                v: 1,
                gate: this.deps.gateId,
                visitId: next.visitId,
                laneId,
                laneGroup: group,
                tractorPlate: next.tractorPlate,
                ...(next.trailerPlate !== undefined && { trailerPlate: next.trailerPlate }),
                noShows: next.noShows,
                at,
            };
            this.deps.publish(YARD_CALLS_TOPIC(this.deps.gateId), JSON.stringify(message))?.catch((err: unknown) => {
                this.deps.log.warn({ err, visitId: next.visitId }, "yard call not published");
            });
        }
    }

    private async checkDwell(yard: YardConfig, now: number): Promise<void> {
        for (const visit of [...this.visits.values()]) {
            const { dwell, dwellMs } = dwellOf(visit, now, yard.dwell);
            if (dwell === "ok" || DWELL_ORDER.indexOf(dwell) <= DWELL_ORDER.indexOf(visit.dwellAlerted)) continue;
            const hours = Math.floor(dwellMs / 3_600_000);
            await this.appendVisit({ type: "visit.dwell", data: { visitId: visit.visitId, level: dwell, dwellMs } });
            await this.deps.append(
                {
                    type: "alert.raised",
                    ...(visit.laneId !== undefined && { laneId: visit.laneId }),
                    data: {
                        ...DWELL_ALERTS[dwell],
                        message: `truck ${visit.tractorPlate} has been at the gate ${hours} h (limit ${yard.dwell.limitHours} h)`,
                        visitId: visit.visitId,
                        plate: visit.tractorPlate,
                        hours,
                        limitHours: yard.dwell.limitHours,
                    },
                },
                { urgent: true },
            );
        }
    }

    // --- what the API reads ---

    private limits(): YardConfig["dwell"] {
        return this.deps.config()?.dwell ?? { warnHours: 24, limitHours: 36 };
    }

    private summary(visit: Visit, now: number, position?: number): VisitSummary {
        return summaryOf(visit, now, this.limits(), position);
    }

    list(query: VisitQuery): VisitSummary[] {
        const now = this.deps.clock.now();
        const positions = this.queuePositions(now);
        return this.deps.store.list(query).map((visit) => this.summary(visit, now, positions(visit)));
    }

    get(visitId: string): VisitSummary | undefined {
        const visit = this.deps.store.get(visitId);
        const now = this.deps.clock.now();
        return visit && this.summary(visit, now, this.queuePositions(now)(visit));
    }

    /** Each waiting visit's place in its queue at `now`; each group is ordered once, when first asked. */
    private queuePositions(now: number): (visit: Visit) => number | undefined {
        const byGroup = new Map<LaneGroup, Map<string, number>>();
        return (visit) => {
            const policy = this.deps.config()?.queuePolicy;
            if (visit.state !== "QUEUED" || policy === undefined) return undefined;
            let positions = byGroup.get(visit.laneGroup);
            if (!positions) {
                positions = new Map(
                    orderQueue(this.queuedIn(visit.laneGroup), policy, now).map((v, i) => [v.visitId, i + 1]),
                );
                byGroup.set(visit.laneGroup, positions);
            }
            return positions.get(visit.visitId);
        };
    }

    /**
     * What the Yard page shows: each group's first `limit` waiting trucks in call order and how many wait in
     * all, the trucks called, the lanes, and the first `limit` dwell warnings (longest first) of how many.
     */
    view(limit = YARD_VIEW_LIMIT): YardView {
        const yard = this.deps.config();
        if (!yard) throw new GateError("YARD_DISABLED");
        const now = this.deps.clock.now();
        const open = [...this.visits.values()];
        const groups = GROUPS.filter(
            (group) =>
                Object.values(yard.laneGroups).includes(group) || open.some((visit) => visit.laneGroup === group),
        ).map((group) => {
            const members = open.filter((visit) => visit.laneGroup === group);
            const called = members.filter((visit) => visit.state === "CALLED");
            const ordered = orderQueue(members, yard.queuePolicy, now);
            return {
                laneGroup: group,
                waiting: ordered.length,
                queue: ordered.slice(0, limit).map((visit, i) => this.summary(visit, now, i + 1)),
                called: called.map((visit) => this.summary(visit, now)),
                lanes: Object.entries(yard.laneGroups)
                    .filter(([, laneGroup]) => laneGroup === group)
                    .map(([laneId]) => {
                        const calledVisit = called.find((visit) => visit.laneId === laneId);
                        return {
                            laneId,
                            free: calledVisit === undefined && this.deps.laneIdle(laneId),
                            ...(calledVisit && { calledVisitId: calledVisit.visitId }),
                        };
                    }),
            };
        });
        const limits = this.limits();
        const warned = open
            .map((visit) => ({ visit, ...dwellOf(visit, now, limits) }))
            .filter(({ dwell }) => dwell !== "ok")
            .sort((a, b) => b.dwellMs - a.dwellMs);
        return {
            gateTime: new Date(now).toISOString(),
            timeZone: this.deps.timeZone,
            policy: yard.queuePolicy,
            groups,
            dwellWarnings: warned.slice(0, limit).map(({ visit }) => this.summary(visit, now)),
            dwellWarningCount: warned.length,
        };
    }

    /** The plate the lane's display shows for the truck called to it, if any. */
    calledTo(laneId: string): string | undefined {
        for (const visit of this.visits.values())
            if (visit.state === "CALLED" && visit.laneId === laneId) return visit.tractorPlate;
        return undefined;
    }

    /** An officer moves a waiting truck to `position` of its queue (1 = next), with a reason; answers the visit. */
    reorder(
        visitId: string,
        position: number,
        reasonCode: ReorderReason,
        actor: { name: string; role: string },
    ): Promise<VisitSummary> {
        return this.serially(async () => {
            const yard = this.deps.config();
            if (!yard) throw new GateError("YARD_DISABLED");
            const visit = this.visits.get(visitId) ?? this.deps.store.get(visitId);
            if (!visit) throw new GateError("NOT_FOUND", `no visit ${visitId}`);
            if (visit.state !== "QUEUED")
                throw new GateError("VISIT_NOT_QUEUED", `visit ${visitId} is ${visit.state.toLowerCase()}`);
            const now = this.deps.clock.now();
            const ordered = orderQueue(this.queuedIn(visit.laneGroup), yard.queuePolicy, now);
            const rank = rankForPosition(ordered, visitId, position, yard.queuePolicy, now);
            const moved = await this.appendVisit({
                type: "visit.reordered",
                data: { visitId, position, ...rank, reasonCode, by: actor.name, role: actor.role },
            });
            const shown = moved ?? visit;
            return this.summary(shown, now, this.queuePositions(now)(shown));
        });
    }

    /**
     * An officer ends a visit still in the yard (waiting, or called and not come), with a reason: the truck
     * left, was read twice, came to the wrong gate. A visit that reached a lane is its passage's and case's
     * to decide, and closes only at the exit. A called truck's lane is free for the next call at once.
     */
    cancel(visitId: string, reasonCode: CancelReason, actor: { name: string; role: string }): Promise<VisitSummary> {
        return this.serially(async () => {
            if (!this.deps.config()) throw new GateError("YARD_DISABLED");
            const visit = this.visits.get(visitId) ?? this.deps.store.get(visitId);
            if (!visit) throw new GateError("NOT_FOUND", `no visit ${visitId}`);
            if (visit.state !== "QUEUED" && visit.state !== "CALLED")
                throw new GateError("VISIT_NOT_CANCELLABLE", `visit ${visitId} is ${visit.state.toLowerCase()}`);
            const cancelled = await this.appendVisit({
                type: "visit.cancelled",
                ...(visit.laneId !== undefined && { laneId: visit.laneId }),
                data: { visitId, reasonCode, by: actor.name, role: actor.role },
            });
            return this.summary(cancelled ?? visit, this.deps.clock.now());
        });
    }

    /** Pre-arrival records from the API (validated by the caller); the higher version wins. */
    importPreArrivals(records: readonly PreArrival[]): UpsertCounts {
        return this.deps.preArrivals.write(records, this.deps.clock.now());
    }

    // --- VisitSource, for the time-release report ---

    visitsArrivedBetween(from: number, to: number): ReportVisit[] {
        return this.deps.store.reportVisits(from, to);
    }

    queueSamples(from: number, to: number) {
        return this.deps.store.queueSamples(from, to);
    }
}
