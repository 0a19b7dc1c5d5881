/**
 * Inspection cases as one part of the gate (started and stopped with it). It reads the committed events
 * in order and acts on those that concern the inspection area:
 *
 * - `passage.decided` with the outcome INSPECT (RED channel, watch list, tampered seal, random selection,
 *   an officer's divert before the decision) and an officer's divert after the decision open the passage's
 *   case (`inspection.opened`), naming the truck by its plates, containers and declarations.
 * - A genuine RPM alarm (`reading.radiation` assessed "alarm", not a NORM nuisance) on a lane's approach
 *   diverts the lane's truck through the lane engine's officer action (outcome order: INSPECT whatever the
 *   channel); when the barrier had already opened, the case is opened anyway, for the exit to stop it.
 * - An X-ray package (`reading.xray`) is matched to the open case naming one of its plates or containers
 *   (`inspection.result`); "suspicious" adds the physical examination to the case's required steps.
 * - A plate or container read by an exit point's camera (`inspection.exits`) is checked: a truck with an
 *   open (or detained/refused) case is refused, recorded (`inspection.exit`) and alerted
 *   (INSPECTION_EXIT_REFUSED); one whose cases are cleared gets its exit release (`inspection.exit`). An
 *   exit point with a barrier moves it for every truck read there (src/inspection/exitBarrier.ts).
 *
 * The case table is the fold of the `inspection.*` events (caseModel.ts). The part keeps a cursor: the seq
 * of the last event it acted on; at start it reads the log from there, so a SIGKILL between an event and
 * its consequence loses neither (each consequence is idempotent: one case per passage, one result per
 * reading, one exit record per read).
 *
 * What waits in memory — an RPM alarm waiting for its lane's next passage, the radiation readings of a
 * passage whose case is not open yet — is rebuilt at start from the log before the cursor (its last
 * PENDING_LOOKBACK events: the wait is a minute), so a restart between the alarm and the truck's passage
 * still diverts the truck, and a crash between a case's opening and its radiation result still puts the
 * reading on the case.
 */
import type { Logger } from "pino";
import type { ExitPointConfig } from "../config/types.ts";
import type { Clock } from "../core/clock.ts";
import { GateError } from "../core/errors.ts";
import { type AppendOptions, type GateEvent, type GateEventDraft, isEventOf, type JsonObject } from "../core/events.ts";
import { catchUpFoldingFirst, SerialQueue } from "../core/serialQueue.ts";
import type { DecisionRecord, PassageFacts } from "../lane/types.ts";
import {
    type CaseAction,
    type CaseActor,
    type CaseTrigger,
    caseIdOf,
    checkAction,
    exitVerdict,
    type InspectionCase,
} from "./caseModel.ts";
import type { CaseQuery, CaseStore } from "./caseStore.ts";
import type { ExitAttempt } from "./exitBarrier.ts";

/** A passage as the inspection part needs it: who the truck is and how it was decided. */
export interface PassageView {
    laneId: string;
    facts?: PassageFacts;
    decision?: DecisionRecord;
    /** The officer actions of its timeline (divert with its reason code). */
    officerActions: { action: string; reasonCode: string }[];
}

export interface InspectionCasesDeps {
    store: CaseStore;
    append(draft: GateEventDraft, options?: AppendOptions): Promise<GateEvent>;
    /** Committed events after `afterSeq`, at most `limit` (the catch-up at start). */
    read(afterSeq: number, limit: number): GateEvent[];
    headSeq(): number;
    onCommitted(listener: (event: GateEvent) => void): () => void;
    passage(passageId: string): PassageView | undefined;
    /** The passage a lane is handling now, if any. */
    currentPassage(laneId: string): string | undefined;
    /** The lane engine's divert of a passage, as an officer's; `tooLate` when the barrier had opened. */
    divert(
        passageId: string,
        request: { reasonCode: string; officerId: string; note: string },
    ): Promise<{ tooLate: boolean }>;
    exits: () => readonly ExitPointConfig[];
    /** The exit barrier's move for a live read at an exit point (src/inspection/exitBarrier.ts). */
    atExit?(attempt: ExitAttempt): Promise<void>;
    clock: Clock;
    log: Logger;
}

/** Events the part acts on; the cursor moves only with these (a write per device reading would be waste). */
const RELEVANT = new Set(["passage.decided", "passage.opened", "officer.action", "reading.xray", "reading.radiation"]);
const CATCH_UP_CHUNK = 500;
/** A plate read again by the exit camera within this time is the same attempt (for the same cases). */
const EXIT_REPEAT_MS = 60_000;
/** How many exit attempts are remembered before those past the repeat window are swept out. */
const EXIT_SEEN_SWEEP_AT = 1000;
/** An RPM alarm with no truck in the lane yet waits this long for the next passage of that lane. */
const RPM_WAIT_MS = 60_000;
/**
 * How many events before the cursor are read at start to rebuild what waited in memory: a minute of a busy
 * gate's events is a few thousand (device frames included), and the read must not slow a start much.
 */
const PENDING_LOOKBACK = 10_000;
export const RPM_ALARM_REASON = "RPM_ALARM";

const TRIGGER_OF_RULE: Readonly<Record<string, CaseTrigger>> = {
    channel: "CHANNEL_RED",
    "watch-list": "WATCH_LIST",
    seals: "SEAL_TAMPERED",
    "random-selection": "RANDOM_SELECTION",
};

export class InspectionCases {
    // Its error handler reads this.deps only when a job fails, after the constructor ran.
    private readonly queue = new SerialQueue((err: unknown) =>
        this.deps.log.error({ err }, "inspection case step failed"),
    );
    private processedSeq = 0;
    private unsubscribe: (() => void) | undefined;
    /** RPM alarms waiting for their lane's next passage: lane → (reading event, when). */
    private readonly rpmWaiting = new Map<string, { event: GateEvent; at: number }>();
    /** Radiation readings of a passage that has no case yet: passage → reading events. */
    private readonly radiationOf = new Map<string, GateEvent[]>();
    /** Exit attempts already recorded: `exit|plate` → when. */
    private readonly exitSeen = new Map<string, number>();

    constructor(private readonly deps: InspectionCasesDeps) {}

    /** Subscribes, then catches up from the cursor; live events the catch-up already read are skipped. */
    async start(): Promise<void> {
        this.unsubscribe = this.deps.onCommitted((event) => {
            this.enqueue(() => this.handle(event, true));
        });
        const cursor = this.deps.store.cursor;
        // The first start on a database (a new one, or one upgraded to cases): no case can be behind, and a
        // long log is not read through at start.
        if (cursor === undefined) this.deps.store.setCursor(this.deps.headSeq());
        this.processedSeq = cursor ?? this.deps.headSeq();
        if (cursor !== undefined) this.enqueue(() => this.rebuildPending(cursor));
        this.enqueue(() => this.catchUp());
        await this.queue.settled();
    }

    async stop(): Promise<void> {
        this.unsubscribe?.();
        this.unsubscribe = undefined;
        await this.queue.settled();
        if (this.processedSeq > 0) this.deps.store.setCursor(this.processedSeq);
    }

    /** Waits until every event handed in so far is acted on (tests, the API's answer after an action). */
    settled(): Promise<void> {
        return this.queue.settled();
    }

    list(query: CaseQuery): InspectionCase[] {
        return this.deps.store.list(query);
    }

    get(caseId: string): InspectionCase | undefined {
        return this.deps.store.get(caseId);
    }

    /**
     * An officer's action on a case: checked against the case as it stands (one at a time, so two clearances
     * cannot both pass the check), stored as its event, folded in. Answers the case after it.
     */
    act(caseId: string, action: CaseAction, actor: CaseActor): Promise<InspectionCase> {
        return this.serially(async () => {
            const current = this.deps.store.get(caseId);
            if (!current) throw new GateError("NOT_FOUND", `no inspection case ${caseId}`);
            const draft = checkAction(current, action, actor);
            const event = await this.deps.append({ ...draft, laneId: current.laneId }, { urgent: true });
            // The cursor moves when the committed event's turn in the queue comes, not before earlier ones.
            return this.deps.store.apply(event) ?? current;
        });
    }

    private enqueue(job: () => Promise<void> | void): void {
        this.queue.enqueue(job);
    }

    private serially<T>(job: () => Promise<T>): Promise<T> {
        return this.queue.run(job);
    }

    private catchUp(): Promise<void> {
        return catchUpFoldingFirst(this.deps, this.processedSeq, CATCH_UP_CHUNK, {
            isOwn: (event) => event.type.startsWith("inspection."),
            fold: (event) => this.deps.store.apply(event),
            handle: (event) => this.handle(event, false),
        });
    }

    /**
     * The RPM alarms and radiation readings that were waiting in memory when the part last stopped, from the
     * events up to the cursor, as handle() left them: a reading in a lane with a passage open belongs to that
     * passage; an alarm in a lane without one waits for the next passage (which consumes it). Readings of a
     * passage whose case is open now go on it (what a crash between the two left undone).
     */
    private async rebuildPending(cursor: number): Promise<void> {
        const openPassage = new Map<string, string>();
        let after = Math.max(0, cursor - PENDING_LOOKBACK);
        while (after < cursor) {
            const events = this.deps.read(after, Math.min(CATCH_UP_CHUNK, cursor - after));
            if (events.length === 0) break;
            for (const event of events) {
                if (event.seq > cursor) break;
                const laneId = event.laneId;
                if (laneId === undefined) continue;
                if (event.type === "passage.opened") {
                    const passageId = String(event.data.passageId);
                    openPassage.set(laneId, passageId);
                    const waiting = this.rpmWaiting.get(laneId);
                    this.rpmWaiting.delete(laneId);
                    if (waiting && Date.parse(event.recordedAt) - waiting.at <= RPM_WAIT_MS)
                        this.radiationOf.set(passageId, [...(this.radiationOf.get(passageId) ?? []), waiting.event]);
                } else if (event.type === "passage.completed") {
                    if (openPassage.get(laneId) === event.data.passageId) openPassage.delete(laneId);
                } else if (isEventOf(event, "reading.radiation")) {
                    const passageId = openPassage.get(laneId);
                    if (passageId !== undefined)
                        this.radiationOf.set(passageId, [...(this.radiationOf.get(passageId) ?? []), event]);
                    else if (event.data.values.assessment === "alarm")
                        this.rpmWaiting.set(laneId, { event, at: Date.parse(event.recordedAt) });
                }
            }
            after = events.at(-1)?.seq ?? cursor;
        }
        for (const [passageId, readings] of this.radiationOf) {
            const caseId = caseIdOf(passageId);
            if (!this.deps.store.get(caseId)) continue;
            for (const reading of readings) await this.addRadiation(caseId, reading);
            this.radiationOf.delete(passageId);
        }
        if (this.rpmWaiting.size > 0)
            this.deps.log.info(
                { lanes: [...this.rpmWaiting.keys()] },
                "RPM alarm waiting for its passage, from the log",
            );
    }

    private moveCursor(seq: number): void {
        this.deps.store.setCursor(seq);
    }

    private async handle(event: GateEvent, live: boolean): Promise<void> {
        if (event.seq <= this.processedSeq) return;
        this.processedSeq = event.seq;
        const exit = this.deps.exits().find((point) => point.camera === event.deviceId);
        if (event.type.startsWith("inspection.")) {
            this.deps.store.apply(event);
        } else if (exit && (event.type === "reading.plate" || event.type === "reading.container")) {
            await this.exitCheck(exit, event, live);
        } else if (!RELEVANT.has(event.type)) {
            return;
        } else if (event.type === "passage.decided") {
            await this.onDecided(event);
        } else if (event.type === "passage.opened") {
            await this.onPassageOpened(event, live);
        } else if (event.type === "officer.action") {
            await this.onOfficerAction(event);
        } else if (event.type === "reading.xray") {
            await this.onXray(event);
        } else if (event.type === "reading.radiation") {
            await this.onRadiation(event, live);
        }
        this.moveCursor(event.seq);
    }

    private async onDecided(event: GateEvent): Promise<void> {
        if (event.data.outcome !== "INSPECT") return;
        const passageId = String(event.data.passageId);
        await this.open(passageId, event.laneId ?? "");
    }

    private async onOfficerAction(event: GateEvent): Promise<void> {
        if (event.data.action !== "divert") return;
        const passageId = String(event.data.passageId);
        const passage = this.deps.passage(passageId);
        // Before the decision the divert is the officer's floor: the decision's INSPECT opens the case.
        if (!passage?.decision) return;
        await this.open(passageId, passage.laneId);
    }

    /** Opens (or adds to) the case of a passage, with what the passage says of the truck and why. */
    private async open(passageId: string, laneId: string, extra: CaseTrigger[] = []): Promise<void> {
        const passage = this.deps.passage(passageId);
        const facts = passage?.facts;
        const decision = passage?.decision;
        const triggers = new Set<CaseTrigger>(extra);
        for (const result of decision?.results ?? []) {
            if (result.pass || result.severity !== "INSPECT") continue;
            triggers.add(TRIGGER_OF_RULE[result.rule] ?? "RULES");
        }
        for (const action of passage?.officerActions ?? []) {
            if (action.action !== "divert") continue;
            triggers.add(action.reasonCode === RPM_ALARM_REASON ? "RPM_ALARM" : "OFFICER_DIVERT");
        }
        if (triggers.size === 0) triggers.add("OFFICER_DIVERT");
        const caseId = caseIdOf(passageId);
        const existing = this.deps.store.get(caseId);
        const plates = [...new Set(facts?.plateReads.map((plate) => plate.normalized) ?? [])];
        const containers = [...new Set(facts?.containers.map((c) => c.number.toUpperCase()) ?? [])];
        const declarations = facts?.declarations ?? [];
        const fourEyes = decision?.fourEyes === true || triggers.has("WATCH_LIST") || triggers.has("RPM_ALARM");
        const adds =
            !existing ||
            [...triggers].some((t) => !existing.triggers.includes(t)) ||
            plates.some((p) => !existing.plates.includes(p)) ||
            containers.some((c) => !existing.containers.includes(c));
        if (adds) {
            const event = await this.deps.append(
                {
                    type: "inspection.opened",
                    laneId,
                    data: {
                        caseId,
                        passageId,
                        laneId,
                        triggers: [...triggers],
                        plates,
                        containers,
                        declarations,
                        fourEyes,
                    },
                },
                { urgent: true },
            );
            this.deps.store.apply(event);
        }
        for (const reading of this.radiationOf.get(passageId) ?? []) await this.addRadiation(caseId, reading);
        this.radiationOf.delete(passageId);
    }

    private async onXray(event: GateEvent): Promise<void> {
        const values = isEventOf(event, "reading.xray") ? event.data.values : undefined;
        if (!values) return;
        const open = this.deps.store
            .naming(values.plates, values.containers)
            .filter((c) => c.status === "open" && !c.entries.some((entry) => entry.readingEventId === event.id));
        for (const c of open) {
            const result = await this.deps.append(
                {
                    type: "inspection.result",
                    laneId: c.laneId,
                    ...(event.deviceId !== undefined && { deviceId: event.deviceId }),
                    data: {
                        caseId: c.caseId,
                        passageId: c.passageId,
                        kind: "xray",
                        result: values.result,
                        readingEventId: event.id,
                        scanId: values.scanId,
                        images: values.images.map((image) => image.ref),
                        regions: JSON.parse(JSON.stringify(values.regions)) as JsonObject[], // plain data
                        ...(values.analyst !== undefined && { by: values.analyst }),
                        ...(values.remarks !== undefined && { text: values.remarks }),
                    },
                },
                { urgent: true },
            );
            this.deps.store.apply(result);
        }
        if (open.length === 0)
            this.deps.log.info({ scanId: values.scanId, plates: values.plates }, "X-ray scan matches no open case");
    }

    private async onRadiation(event: GateEvent, live: boolean): Promise<void> {
        if (!isEventOf(event, "reading.radiation") || event.laneId === undefined) return;
        const laneId = event.laneId;
        const passageId = this.deps.currentPassage(laneId);
        if (passageId === undefined) {
            if (event.data.values.assessment === "alarm")
                this.rpmWaiting.set(laneId, { event, at: this.deps.clock.now() });
            return;
        }
        await this.attachRadiation(passageId, event, live);
    }

    private async onPassageOpened(event: GateEvent, live: boolean): Promise<void> {
        const laneId = event.laneId;
        const waiting = laneId === undefined ? undefined : this.rpmWaiting.get(laneId);
        if (!laneId || !waiting) return;
        this.rpmWaiting.delete(laneId);
        if (this.deps.clock.now() - waiting.at > RPM_WAIT_MS) return;
        await this.attachRadiation(String(event.data.passageId), waiting.event, live);
    }

    /**
     * A radiation reading of a passage: on its case (now, or when the case opens); a genuine alarm diverts
     * the truck to inspection first (live, or caught up while the passage is still the lane's: a replayed
     * alarm's truck may be long gone from the lane).
     */
    private async attachRadiation(passageId: string, event: GateEvent, live: boolean): Promise<void> {
        if (!isEventOf(event, "reading.radiation")) return;
        const caseId = caseIdOf(passageId);
        if (this.deps.store.get(caseId)) await this.addRadiation(caseId, event);
        else this.radiationOf.set(passageId, [...(this.radiationOf.get(passageId) ?? []), event]);
        // Caught up after a restart, the alarm still diverts a truck that is still in the lane.
        const inLane = live || this.deps.currentPassage(event.laneId ?? "") === passageId;
        if (event.data.values.assessment !== "alarm" || !inLane) return;
        const categories = event.data.values.alarmCategories.join(", ");
        const answer = await this.deps
            .divert(passageId, {
                reasonCode: RPM_ALARM_REASON,
                officerId: `rpm:${event.deviceId ?? "unknown"}`,
                note: `radiation alarm (${categories || "unspecified"}) at occupancy ${event.data.values.occupancyId}`,
            })
            .catch((err: unknown) => {
                this.deps.log.warn({ err, passageId }, "RPM alarm could not divert the passage; opening its case");
                return { tooLate: true };
            });
        // The truck went on: its case opens now, for the exit to stop it.
        if (answer.tooLate) await this.open(passageId, event.laneId ?? "", ["RPM_ALARM"]);
    }

    private async addRadiation(caseId: string, event: GateEvent): Promise<void> {
        if (!isEventOf(event, "reading.radiation")) return;
        const c = this.deps.store.get(caseId);
        if (c?.status !== "open" || c.entries.some((entry) => entry.readingEventId === event.id)) return;
        const values = event.data.values;
        const result = await this.deps.append(
            {
                type: "inspection.result",
                laneId: c.laneId,
                ...(event.deviceId !== undefined && { deviceId: event.deviceId }),
                data: {
                    caseId,
                    passageId: c.passageId,
                    kind: "radiation",
                    result: values.assessment,
                    readingEventId: event.id,
                    occupancyId: values.occupancyId,
                    alarmCategories: values.alarmCategories,
                    // The chart's data: each detector's counts per time slice, with its background.
                    detectors: values.detectors.map((d) => ({
                        detector: d.detector,
                        category: d.category,
                        peakCps: d.peakCps,
                        slices: d.slices,
                        ...(d.backgroundCps !== undefined && { backgroundCps: d.backgroundCps }),
                    })),
                },
            },
            { urgent: true },
        );
        this.deps.store.apply(result);
    }

    private async exitCheck(exit: ExitPointConfig, event: GateEvent, live: boolean): Promise<void> {
        const plates = isEventOf(event, "reading.plate") ? [event.data.values.normalized] : [];
        const containers = isEventOf(event, "reading.container") ? [event.data.values.number.toUpperCase()] : [];
        const cases = this.deps.store.naming(plates, containers);
        const { verdict, cases: concerned } = exitVerdict(cases, { plates, containers });
        // Without a barrier a truck with no case is not the inspection area's; with one, the barrier decides.
        if (verdict === "none" && exit.barrier === undefined) return;
        // The same truck read again is the same attempt only for the same cases: a case opened since its last
        // refusal (the truck sent to inspection again) gets a refusal of its own.
        const key = `${exit.id}|${verdict}|${[...plates, ...containers].join(",")}|${concerned.map((c) => c.caseId).join(",")}`;
        const now = this.deps.clock.now();
        const seen = this.exitSeen.get(key);
        if (seen !== undefined && now - seen < EXIT_REPEAT_MS) return;
        if (concerned.some((c) => c.entries.some((entry) => entry.readingEventId === event.id))) return;
        this.rememberExit(key, now);
        if (verdict !== "none") await this.recordExit(exit, event, verdict, concerned, { plates, containers });
        // The record first (it is quick), then the barrier, which waits for the PLC to confirm.
        if (live)
            await this.deps.atExit?.({
                ...{ exit, verdict, plates, containers, readingEventId: event.id },
                caseIds: concerned.map((c) => c.caseId),
                laneId: event.laneId,
            });
    }

    /**
     * Every truck at an exit with a barrier leaves a key here: the ones past the repeat window are dropped
     * as the map grows, so a year of trucks does not stay in memory.
     */
    private rememberExit(key: string, now: number): void {
        if (this.exitSeen.size >= EXIT_SEEN_SWEEP_AT)
            for (const [seenKey, at] of this.exitSeen) if (now - at >= EXIT_REPEAT_MS) this.exitSeen.delete(seenKey);
        this.exitSeen.set(key, now);
    }

    /** The exit attempt on each case it concerns, and the alert for a refused one. */
    private async recordExit(
        exit: ExitPointConfig,
        event: GateEvent,
        verdict: "refused" | "released",
        concerned: readonly InspectionCase[],
        { plates, containers }: { plates: string[]; containers: string[] },
    ): Promise<void> {
        for (const c of concerned) {
            const recorded = await this.deps.append(
                {
                    type: "inspection.exit",
                    laneId: c.laneId,
                    ...(event.deviceId !== undefined && { deviceId: event.deviceId }),
                    data: {
                        caseId: c.caseId,
                        passageId: c.passageId,
                        exitId: exit.id,
                        result: verdict,
                        status: c.status,
                        plates,
                        containers,
                        readingEventId: event.id,
                    },
                },
                { urgent: true },
            );
            this.deps.store.apply(recorded);
        }
        if (verdict !== "refused") return;
        const truck = [...plates, ...containers].join(" / ");
        await this.deps.append(
            {
                type: "alert.raised",
                ...(concerned[0] && { laneId: concerned[0].laneId }),
                data: {
                    code: "INSPECTION_EXIT_REFUSED",
                    severity: "critical",
                    message: `truck ${truck} at exit ${exit.id} has an inspection case that is not cleared (${concerned.map((c) => `${c.caseId}: ${c.status}`).join(", ")}): do not let it leave`,
                    exitId: exit.id,
                    truck,
                    caseId: concerned[0]?.caseId ?? "",
                    ...(concerned[0] && { passageId: concerned[0].passageId }),
                },
            },
            { urgent: true },
        );
    }
}
