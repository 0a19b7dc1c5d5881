/**
 * Yard mode of the whole-gate runner (scenario `yard:`, issue 19 part 4): the trucks of the scenario arrive at
 * the yard entry instead of at a lane, wait for the gate's call, drive to the lane they were called to (the
 * runner's own lane code, runner.ts driveTruck) and, released, to the exit point.
 *
 * - Papers: every truck gets plates, a declaration number and a container of its own (made from its planned
 *   lane's declared truck of its kind), so the yard can tell trucks apart by plate; central serves each
 *   truck's declaration and, for all but the unannounced share of import trucks, its pre-arrival record.
 * - Arrivals: a Poisson process at the yard entry whose rate (and perishable share) may change over the day.
 * - YardWatch follows the gate's `visit.*` events on its bus, for the drivers (their calls) and for the
 *   ground truth checked after the run: every visit has the stages its outcome calls for, no visit is called
 *   to a lane while it is called to another, none closes without its exit.
 */
import type { EventBus } from "../../src/core/bus.ts";
import type { GateEvent } from "../../src/core/events.ts";
import { iso6346CheckDigit, normalizePlate, parseDeclarationNumber } from "../../src/core/identifiers.ts";
import type { Declaration } from "../../src/lane/types.ts";
import type { ClearanceItem } from "../../src/sync/protocol.ts";
import { reportVisitOf, timeReleaseReport } from "../../src/yard/report.ts";
import type { GoodsClass, TimeReleaseReport, VisitStage } from "../../src/yard/types.ts";
import { seededRng } from "../random.ts";
import { DECLARED_FOR, type ScenarioFile, type ScenarioYard, type TruckPlan, type YardGroup } from "../scenario.ts";
import { percentile } from "./observer.ts";

/** A truck of a yard run: its plan (with papers of its own), its group, goods and arrival at the yard. */
export interface YardTruck {
    truck: TruckPlan;
    group: YardGroup;
    goodsClass: GoodsClass;
    /** Central sent its pre-arrival record. */
    announced: boolean;
    /** Scenario ms of its arrival at the yard entry. */
    arrivalMs: number;
}

/** The lane group of each scenario lane. */
export function groupOfLane(yard: ScenarioYard): Map<string, YardGroup> {
    const groups = new Map<string, YardGroup>();
    // Object.entries forgets the key type; the keys are the groups checkYard let through.
    for (const [group, lanes] of Object.entries(yard.groups) as [YardGroup, string[]][])
        for (const lane of lanes) groups.set(lane, group);
    return groups;
}

/** The rate in force at `atMs` of scenario time. */
function rateAt(yard: ScenarioYard, atMs: number): ScenarioYard["rates"][number] {
    let rate = yard.rates[0] ?? { fromMs: 0, trucksPerHour: 60 };
    for (const candidate of yard.rates) if (candidate.fromMs <= atMs) rate = candidate;
    return rate;
}

/** A 12-digit declaration number of `typeCode` with its check digit (sequence mod 7), amendment 0. */
function declarationNumber(typeCode: string, sequence: number): string {
    const digits = String(sequence).padStart(8, "0");
    return `${typeCode}${digits}${sequence % 7}0`;
}

/** An ISO 6346 container number of `owner` (4 letters) with a valid check digit. */
function containerNumber(owner: string, serial: number): string {
    const first10 = `${owner}${String(serial).padStart(6, "0")}`;
    return `${first10}${iso6346CheckDigit(first10) ?? 0}`;
}

/**
 * The yard run's trucks and what central serves for them. Each truck keeps its kind and planned lane (its
 * group), gets tractor and trailer plates, a declaration and a container of its own, and arrives at the yard
 * by the scenario's rates (Poisson, from its own seeded stream); perishable by the rate's share; unannounced
 * (import trucks only: the yard entry's queue for a truck it does not know is import) by unannouncedShare.
 */
export function planYard(
    scenario: ScenarioFile,
    yard: ScenarioYard,
    plan: readonly TruckPlan[],
): { trucks: YardTruck[]; feed: ClearanceItem[] } {
    const rng = seededRng((scenario.seed ^ 0x7a2d) >>> 0);
    // Streams of their own, drawn for every truck: a share changed in the file moves no other truck's draw.
    const goodsRng = seededRng((scenario.seed ^ 0x6f0d) >>> 0);
    const announceRng = seededRng((scenario.seed ^ 0xa11c) >>> 0);
    const groups = groupOfLane(yard);
    const trucks: YardTruck[] = [];
    const declarations: ClearanceItem[] = [];
    const preArrivals: ClearanceItem[] = [];
    const watched: ClearanceItem[] = [];
    let clock = 0;
    for (const planned of plan) {
        const rate = rateAt(yard, clock);
        // 1 - rng() is in (0, 1], so the logarithm is finite.
        clock -= (3_600_000 / rate.trucksPerHour) * Math.log(1 - rng());
        const share = rateAt(yard, clock).perishableShare ?? yard.perishableShare;
        const perishable = goodsRng() < share;
        const group = groups.get(planned.lane) ?? "import";
        const unannounced = announceRng() < yard.unannouncedShare;
        const announced = !(group === "import" && !perishable && unannounced);
        const base = scenario.declarations[planned.lane]?.[DECLARED_FOR[planned.kind]];
        // 5xx.xx: apart from the plates a scenario file declares (its own trucks are 1xx.xx-4xx.xx by habit).
        const serial = 50_000 + planned.index;
        const area = (base?.tractor ?? "15C").slice(0, 2);
        const plate = (series: string) => `${area}${series}-${String(serial).slice(0, 3)}.${String(serial).slice(3)}`;
        const ownNumber = base ? declarationNumber(base.number.slice(0, 2), 20_260_000 + planned.index) : "";
        const truck: TruckPlan = {
            ...planned,
            tractor: plate("C"),
            trailer: plate("R"),
            declaration: planned.kind === "unknown-declaration" ? planned.declaration : ownNumber,
            ...(planned.container !== undefined && {
                container: containerNumber(planned.container.slice(0, 4), serial),
            }),
        };
        trucks.push({
            truck,
            group,
            goodsClass: perishable ? "perishable" : "general",
            announced,
            arrivalMs: Math.round(clock),
        });
        if (base && planned.kind !== "unknown-declaration") {
            const color = DECLARED_FOR[planned.kind];
            const declaration: Declaration = {
                number: ownNumber,
                type: parseDeclarationNumber(ownNumber).ok ? ownNumber.slice(0, 2) : "10",
                channel: color === "red" ? "RED" : color === "yellow" ? "YELLOW" : "GREEN",
                status: "CLEARED",
                documentCheckDone: false,
                inspectionDone: false,
                declaredPlates: [truck.tractor, truck.trailer],
                containers:
                    truck.container !== undefined
                        ? [{ number: truck.container, sealNumbers: base.seal !== undefined ? [base.seal] : [] }]
                        : [],
                declaredGrossKg: base.grossKg,
                version: 1,
            };
            declarations.push({ type: "declaration", declaration });
        }
        if (planned.kind === "watch-listed")
            watched.push({
                type: "watchList",
                entry: {
                    id: `scenario-watched-${planned.index}`,
                    kind: "plate",
                    value: truck.tractor,
                    reason: "watch-listed truck of the scenario",
                    version: 1,
                },
            });
        if (announced)
            preArrivals.push({
                type: "preArrival",
                preArrival: {
                    preArrivalId: `PA-${scenario.name}-${planned.index}`,
                    tractorPlate: truck.tractor,
                    trailerPlate: truck.trailer,
                    declarations: [truck.declaration],
                    goodsClass: perishable ? "perishable" : "general",
                    laneGroup: group,
                    version: 1,
                },
            });
    }
    // Declarations first: a pre-arrival applied means its truck's papers are in the cache too (feed order).
    return { trucks, feed: [...declarations, ...watched, ...preArrivals] };
}

/** One `visit.*` event as the watch keeps it. */
export interface VisitStep {
    type: string;
    seq: number;
    /** Gate wall-clock ms of the event. */
    at: number;
    laneId?: string;
    stage?: VisitStage;
    /** visit.stage exited: the exit point's read event. */
    readingEventId?: string;
}

export interface WatchedVisit {
    visitId: string;
    tractorPlate: string;
    goodsClass: GoodsClass;
    laneGroup: string;
    announced: boolean;
    steps: VisitStep[];
    /** The lane of its latest call while it stands (cleared by a no-show or its lane entered). */
    calledTo?: string;
    state: "QUEUED" | "CALLED" | "IN_LANE" | "INSPECTION" | "RELEASED" | "CLOSED" | "CANCELLED";
    channel?: string;
    laneId?: string;
    decision?: string;
    stages: Partial<Record<VisitStage, string>>;
}

/** The PLC mode alert (src/ingest/meaning.ts): a lane's key switch is off automatic. */
const PLC_NOT_AUTO = "PLC_NOT_AUTO";

/** Follows the gate's visits on its bus: what the drivers wait for and what the ground truth is checked on. */
export class YardWatch {
    readonly visits = new Map<string, WatchedVisit>();
    private readonly byPlate = new Map<string, string>();
    /** Exit point reads (reading.plate events of the exit cameras): their ids. */
    readonly exitReads = new Set<string>();
    /** Lanes whose PLC the gate stored as off automatic, since the seq of that alert. */
    private readonly closedSince = new Map<string, number>();
    /** Each closing of a lane (its PLC off automatic) by the seqs of its alerts, and the calls to it meanwhile. */
    readonly closures: { laneId: string; fromSeq: number; toSeq?: number; callsWhileClosed: string[] }[] = [];
    /** Queue length of each group after each change: [gate ms, length]. */
    readonly queue = new Map<string, [number, number][]>();
    /** Runner-monotonic ms of the latest call (the yard is alive). */
    lastCallAt = performance.now();
    /** Drivers waiting for the next visit event (hundreds of trucks wait at a time: they do not poll). */
    private waiters: (() => void)[] = [];

    /** Resolves at the next visit event, or after `timeoutMs`. */
    changed(timeoutMs: number): Promise<void> {
        return new Promise((resolve) => {
            const timer = setTimeout(resolve, timeoutMs);
            this.waiters.push(() => {
                clearTimeout(timer);
                resolve();
            });
        });
    }

    /** Whether the gate has stored the lane's PLC as off automatic (the lane closed). */
    laneClosed(laneId: string): boolean {
        return this.closedSince.has(laneId);
    }

    constructor(
        private readonly bus: EventBus,
        private readonly exitCameras: ReadonlySet<string>,
    ) {
        bus.on("committed", this, (event) => this.onCommitted(event));
    }

    detach(): void {
        this.bus.removeListeners(this);
    }

    /** The visit the yard opened for this tractor plate, if any. */
    visitOf(tractor: string): WatchedVisit | undefined {
        const id = this.byPlate.get(normalizePlate(tractor).normalized);
        return id === undefined ? undefined : this.visits.get(id);
    }

    private onCommitted(event: GateEvent): void {
        // Event data is JSON of many shapes: read field by field, each checked before use.
        const data = event.data as Record<string, unknown>;
        if (event.type === "reading.plate" && event.deviceId !== undefined && this.exitCameras.has(event.deviceId)) {
            this.exitReads.add(event.id);
            return;
        }
        if ((event.type === "alert.raised" || event.type === "alert.cleared") && data.code === PLC_NOT_AUTO) {
            if (event.laneId === undefined) return;
            if (event.type === "alert.raised") {
                this.closedSince.set(event.laneId, event.seq);
                this.closures.push({ laneId: event.laneId, fromSeq: event.seq, callsWhileClosed: [] });
            } else {
                this.closedSince.delete(event.laneId);
                const open = this.closures.findLast((c) => c.laneId === event.laneId && c.toSeq === undefined);
                if (open) open.toSeq = event.seq;
            }
            return;
        }
        if (!event.type.startsWith("visit.")) return;
        const waiters = this.waiters;
        this.waiters = [];
        for (const wake of waiters) wake();
        const visitId = String(data.visitId ?? "");
        const at = Date.parse(event.occurredAt);
        const step: VisitStep = {
            type: event.type,
            seq: event.seq,
            at,
            ...(typeof data.laneId === "string" && data.laneId !== "" && { laneId: data.laneId }),
            // The yard appends visit.stage only with one of VISIT_STAGES (src/yard/yard.ts stage()).
            ...(typeof data.stage === "string" && { stage: data.stage as VisitStage }),
            ...(typeof data.readingEventId === "string" && { readingEventId: data.readingEventId }),
        };
        if (event.type === "visit.arrived") {
            const visit: WatchedVisit = {
                visitId,
                tractorPlate: String(data.tractorPlate ?? ""),
                goodsClass: data.goodsClass === "perishable" ? "perishable" : "general",
                laneGroup: String(data.laneGroup ?? ""),
                announced: data.preArrivalId !== undefined,
                steps: [step],
                state: "QUEUED",
                stages: { arrived: event.occurredAt },
            };
            this.visits.set(visitId, visit);
            this.byPlate.set(String(data.plateRead ?? visit.tractorPlate), visitId);
            this.byPlate.set(visit.tractorPlate, visitId);
            this.sampleQueue(visit.laneGroup, at);
            return;
        }
        const visit = this.visits.get(visitId);
        if (!visit) return;
        visit.steps.push(step);
        if (event.type === "visit.called") {
            // The yard reads the lane's closing as it is committed: any later call to it is a wrong one.
            if (step.laneId !== undefined && this.closedSince.has(step.laneId)) {
                const closure = this.closures.findLast((c) => c.laneId === step.laneId && c.toSeq === undefined);
                closure?.callsWhileClosed.push(`visit ${visitId} called to ${step.laneId} at seq ${event.seq}`);
            }
            visit.state = "CALLED";
            visit.calledTo = step.laneId;
            // As the gate's fold keeps it (src/yard/visitModel.ts): the latest call is the visit's.
            visit.stages.called = event.occurredAt;
            this.lastCallAt = performance.now();
        } else if (event.type === "visit.no-show") {
            if (visit.state !== "CALLED") return;
            visit.state = "QUEUED";
            visit.calledTo = undefined;
        } else if (event.type === "visit.cancelled") visit.state = "CANCELLED";
        else if (event.type === "visit.stage" && step.stage !== undefined) {
            if (step.stage === "inspectionEnded") visit.stages.inspectionEnded = event.occurredAt;
            else visit.stages[step.stage] ??= event.occurredAt;
            if (step.stage === "laneEntered") {
                visit.state = "IN_LANE";
                visit.laneId = step.laneId ?? visit.calledTo;
                visit.calledTo = undefined;
            } else if (step.stage === "decided") {
                if (typeof data.channel === "string") visit.channel = data.channel;
                if (typeof data.decision === "string") visit.decision = data.decision;
            } else if (step.stage === "inspectionStarted") visit.state = "INSPECTION";
            else if (step.stage === "released") visit.state = "RELEASED";
            else if (step.stage === "exited") visit.state = "CLOSED";
        }
        this.sampleQueue(visit.laneGroup, at);
    }

    private sampleQueue(group: string, at: number): void {
        const length = [...this.visits.values()].filter((v) => v.laneGroup === group && v.state === "QUEUED").length;
        const samples = this.queue.get(group) ?? [];
        if (samples[samples.length - 1]?.[1] !== length) samples.push([at, length]);
        this.queue.set(group, samples);
    }
}

/** What a driver in the yard does until the gate calls it: the lane it is called to now, or undefined. */
export async function waitForCall(
    watch: YardWatch,
    tractor: string,
    options: { stallMs: number; signal?: AbortSignal | undefined },
): Promise<WatchedVisit | undefined> {
    const since = performance.now();
    for (;;) {
        const visit = watch.visitOf(tractor);
        if (visit?.calledTo !== undefined) return visit;
        // The yard is stalled when nobody at all was called for stallMs since this truck began to wait.
        if (performance.now() - Math.max(since, watch.lastCallAt) > options.stallMs) return undefined;
        if (options.signal?.aborted) return undefined;
        await watch.changed(1000);
    }
}

/** The stages each outcome calls for, in order, and whether the visit must be closed. */
function stagesFor(outcome: string): { stages: VisitStage[]; closed: boolean } {
    const lane: VisitStage[] = ["arrived", "called", "laneEntered", "decided"];
    if (outcome === "RELEASE") return { stages: [...lane, "released", "exited"], closed: true };
    if (outcome === "INSPECT") return { stages: [...lane, "inspectionStarted"], closed: false };
    return { stages: lane, closed: false };
}

export interface YardTruckResult {
    index: number;
    tractor: string;
    group: YardGroup;
    goodsClass: GoodsClass;
    visitId: string | null;
    /** The lane it was called to and went through. */
    lane: string | null;
    outcome: string;
    /** Visit state at the end of the run. */
    state: string | null;
    /** It drove to the exit point and the camera's read reached the gate. */
    exitRead: boolean;
}

/**
 * The ground truth of a yard run, every violation listed: each truck's visit has the stages its outcome calls
 * for (and is closed only if released), no visit was called to a lane while called to another (without a
 * no-show between), no visit closed without the exit point's read.
 */
export function yardGroundTruth(watch: YardWatch, trucks: readonly YardTruckResult[]): string[] {
    const violations: string[] = [];
    for (const truck of trucks) {
        const name = `truck ${truck.index} (${truck.tractor})`;
        const visit = truck.visitId === null ? undefined : watch.visits.get(truck.visitId);
        if (!visit) {
            violations.push(`${name}: no visit opened at the yard entry`);
            continue;
        }
        const wanted = stagesFor(truck.outcome);
        const missing = wanted.stages.filter((stage) => visit.stages[stage] === undefined);
        if (missing.length > 0)
            violations.push(`${name}: visit ${visit.visitId} (${truck.outcome}) lacks stage(s) ${missing.join(", ")}`);
        if (wanted.closed && visit.state !== "CLOSED")
            violations.push(`${name}: visit ${visit.visitId} released but ${visit.state}, not closed at the exit`);
        if (!wanted.closed && visit.state === "CLOSED")
            violations.push(`${name}: visit ${visit.visitId} (${truck.outcome}) closed, though not released`);
    }
    for (const visit of watch.visits.values()) {
        let calledTo: string | undefined;
        for (const step of visit.steps) {
            if (step.type === "visit.called") {
                if (calledTo !== undefined && calledTo !== step.laneId)
                    violations.push(
                        `visit ${visit.visitId}: called to ${step.laneId} (seq ${step.seq}) while called to ${calledTo}`,
                    );
                calledTo = step.laneId;
            } else if (step.type === "visit.no-show" || step.stage === "laneEntered") calledTo = undefined;
        }
        if (visit.state === "CLOSED") {
            const exited = visit.steps.find((step) => step.stage === "exited");
            if (!exited?.readingEventId || !watch.exitReads.has(exited.readingEventId))
                violations.push(`visit ${visit.visitId}: closed without an exit point camera's read`);
        }
    }
    for (const closure of watch.closures) violations.push(...closure.callsWhileClosed);
    return violations;
}

export interface WaitFigures {
    count: number;
    medianMs: number | null;
    p90Ms: number | null;
    maxMs: number | null;
}

export interface YardReport {
    policy: string;
    groups: Partial<Record<YardGroup, string[]>>;
    trucks: YardTruckResult[];
    /** Visits the gate opened, and how many are closed / still open by state. */
    visits: number;
    byState: Record<string, number>;
    /** Waiting in the yard, arrived → (first) called, per goods class (gate wall-clock ms). */
    waitByGoods: Record<string, WaitFigures>;
    timeRelease: TimeReleaseReport;
    /** Queue length per group at the end of every 10 minutes of scenario time (the chart's data). */
    queueChart: { atScenarioMs: number; lengths: Record<string, number> }[];
    /** Lanes closed during the run (their PLC off automatic), by the seqs of the gate's alerts. */
    closures: YardWatch["closures"];
    violations: string[];
}

/** Figures of a list of durations. */
function figures(values: number[]): WaitFigures {
    const sorted = [...values].sort((a, b) => a - b);
    return {
        count: sorted.length,
        medianMs: percentile(sorted, 50) ?? null,
        p90Ms: percentile(sorted, 90) ?? null,
        maxMs: sorted[sorted.length - 1] ?? null,
    };
}

const CHART_STEP_MS = 600_000;

/** The yard part of the run report, from what the watch saw; the time-release table by the gate's own function. */
export function yardReport(
    watch: YardWatch,
    yard: ScenarioYard,
    trucks: YardTruckResult[],
    run: { startMs: number; endMs: number; speed: number; timeZone: string; policy: string },
): YardReport {
    const visits = [...watch.visits.values()];
    const byState: Record<string, number> = {};
    for (const visit of visits) byState[visit.state] = (byState[visit.state] ?? 0) + 1;
    const waitByGoods: Record<string, WaitFigures> = {};
    for (const goods of ["perishable", "general"] as const) {
        const waits = visits.flatMap((visit) => {
            if (visit.goodsClass !== goods || visit.stages.called === undefined || visit.stages.arrived === undefined)
                return [];
            return [Date.parse(visit.stages.called) - Date.parse(visit.stages.arrived)];
        });
        waitByGoods[goods] = figures(waits);
    }
    const timeRelease = timeReleaseReport({
        from: new Date(run.startMs).toISOString(),
        to: new Date(run.endMs).toISOString(),
        timeZone: run.timeZone,
        visits: visits.map((visit) =>
            reportVisitOf({
                ...(visit.channel !== undefined && { channel: visit.channel }),
                ...(visit.laneId !== undefined && { laneId: visit.laneId }),
                goodsClass: visit.goodsClass,
                stages: visit.stages,
            }),
        ),
        queue: [...watch.queue.entries()].flatMap(([group, samples]) =>
            samples.map(([at, length]) => ({
                at: new Date(at).toISOString(),
                // The group a visit.arrived named: the gate's LaneGroup, kept as its text.
                laneGroup: group as YardGroup,
                length,
            })),
        ),
    });
    const queueChart: YardReport["queueChart"] = [];
    const scenarioSpan = (run.endMs - run.startMs) * run.speed;
    for (let t = 0; t <= scenarioSpan + CHART_STEP_MS; t += CHART_STEP_MS) {
        const wall = run.startMs + t / run.speed;
        const lengths: Record<string, number> = {};
        for (const [group, samples] of watch.queue) {
            let length = 0;
            for (const [at, n] of samples) if (at <= wall) length = n;
            lengths[group] = length;
        }
        queueChart.push({ atScenarioMs: t, lengths });
        if (t > scenarioSpan) break;
    }
    return {
        policy: run.policy,
        groups: yard.groups,
        trucks,
        visits: visits.length,
        byState,
        waitByGoods,
        timeRelease,
        queueChart,
        closures: watch.closures,
        violations: yardGroundTruth(watch, trucks),
    };
}

const secs = (ms: number | null): string => (ms === null ? "–" : `${(ms / 1000).toFixed(1)} s`);

/** The yard part of the text report: ground truth, waits, the time-release table and the queue chart. */
export function renderYardReport(report: YardReport): string[] {
    const lines: string[] = [];
    const groups = Object.entries(report.groups)
        .map(([group, lanes]) => `${group} ${lanes.join("+")}`)
        .join(", ");
    lines.push(
        `Yard (policy ${report.policy}; ${groups}): ${report.visits} visit(s); ` +
            Object.entries(report.byState)
                .map(([state, n]) => `${state} ${n}`)
                .join(", "),
    );
    for (const c of report.closures)
        lines.push(
            `  lane ${c.laneId} closed (PLC off automatic) from seq ${c.fromSeq} to ${c.toSeq ?? "the end"}: ${c.callsWhileClosed.length} call(s) to it meanwhile`,
        );
    lines.push(
        `  ground truth (stages per outcome, one lane at a time, none to a closed lane, closed only at the exit): ` +
            (report.violations.length === 0 ? "holds" : `${report.violations.length} VIOLATION(S)`),
    );
    for (const line of report.violations.slice(0, 30)) lines.push(`    ${line}`);
    if (report.violations.length > 30) lines.push(`    … ${report.violations.length - 30} more in the JSON report`);
    for (const [goods, f] of Object.entries(report.waitByGoods))
        lines.push(
            `  waiting in the yard (arrived → called), ${goods}: ${f.count} truck(s), median ${secs(f.medianMs)}, p90 ${secs(f.p90Ms)}, max ${secs(f.maxMs)} (gate time)`,
        );
    lines.push("");
    lines.push("Time release (gate time; per channel, lane, goods class):");
    lines.push(
        `  ${"channel".padEnd(8)}${"lane".padEnd(6)}${"goods".padEnd(11)}${"interval".padEnd(30)}${"count".padStart(6)}${"median".padStart(10)}${"p90".padStart(10)}${"max".padStart(10)}`,
    );
    for (const row of report.timeRelease.rows) {
        lines.push(
            `  ${(row.channel || "-").padEnd(8)}${(row.laneId || "-").padEnd(6)}${row.goodsClass.padEnd(11)}${row.interval.padEnd(30)}` +
                `${String(row.count).padStart(6)}${secs(row.medianMs).padStart(10)}${secs(row.p90Ms).padStart(10)}${secs(row.maxMs).padStart(10)}`,
        );
    }
    lines.push("");
    const groupNames = [...new Set(report.queueChart.flatMap((row) => Object.keys(row.lengths)))].sort();
    const most = Math.max(1, ...report.queueChart.flatMap((row) => Object.values(row.lengths)));
    lines.push(
        `Queue length per 10 min of scenario time (${groupNames.join(", ")}; one # ≈ ${Math.ceil(most / 40)} truck(s)):`,
    );
    for (const row of report.queueChart) {
        const label = `${String(Math.floor(row.atScenarioMs / 3_600_000)).padStart(2, "0")}:${String(Math.floor((row.atScenarioMs % 3_600_000) / 60_000)).padStart(2, "0")}`;
        const bars = groupNames.map((group) => {
            const n = row.lengths[group] ?? 0;
            return `${group.padEnd(7)}${String(n).padStart(4)} ${"#".repeat(Math.ceil(n / Math.ceil(most / 40)))}`.padEnd(
                56,
            );
        });
        lines.push(`  ${label}  ${bars.join("")}`.trimEnd());
    }
    return lines;
}

/** The difference in waiting (arrived → called) per goods class between two runs of one scenario. */
export function renderPolicyComparison(a: YardReport, b: YardReport): string {
    const lines = [
        `Queue policies compared: ${a.policy} vs ${b.policy} (waiting in the yard, arrived → called, gate time)`,
    ];
    for (const goods of Object.keys(a.waitByGoods)) {
        const x = a.waitByGoods[goods];
        const y = b.waitByGoods[goods];
        if (!x || !y) continue;
        const diff =
            x.medianMs !== null && y.medianMs !== null
                ? `${y.medianMs - x.medianMs >= 0 ? "+" : "−"}${secs(Math.abs(y.medianMs - x.medianMs))}`
                : "–";
        lines.push(
            `  ${goods.padEnd(11)} median ${secs(x.medianMs)} → ${secs(y.medianMs)} (${diff}), p90 ${secs(x.p90Ms)} → ${secs(y.p90Ms)}`,
        );
    }
    return `${lines.join("\n")}\n`;
}
