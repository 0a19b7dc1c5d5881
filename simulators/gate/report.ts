/**
 * The whole-gate run report: what the runner prints at the end (stdout) and writes as JSON (`--report`).
 * The central part is read from the central simulator's own SQLite file, not from its counters nor from
 * gate-edge, so "central holds every event" is checked by a party that did not send them.
 */
import { setTimeout as sleep } from "node:timers/promises";
import Database from "better-sqlite3";
import type { Gate } from "../../src/gate.ts";
import type { CentralSimulator } from "../central/server.ts";
import type { ExpectedDecision, TruckKind } from "../scenario.ts";
import { type FaultRecord, faultWindows, seconds } from "./faults.ts";
import type { TruckCaseCheck } from "./inspection.ts";
import type { LatencySummary } from "./observer.ts";
import { renderYardReport, type YardReport } from "./yard.ts";

export interface TruckResult {
    index: number;
    lane: string;
    kind: TruckKind;
    tractor: string;
    declaration: string;
    expect: ExpectedDecision;
    /** The gate's decision, or NONE when no passage was decided in time. */
    actual: string;
    /** match; held-under-fault (HOLD while a fault touched the lane: acceptable); mismatch. */
    verdict: "match" | "held-under-fault" | "mismatch";
    passageId: string | null;
    /** The failing rules' reasons. */
    reasons: string[];
    timedOut: string[];
    offline?: boolean;
    /** Reads the devices could not deliver (a camera rebooting, a publish that failed). */
    readsLost: string[];
    barrier: "not-released" | "opened" | "opened-after-officer" | "never-opened";
    /** ms since the run started: the truck pulled up, and its passage was decided. */
    startMs: number;
    endMs: number;
    /** Scenario time of its arrival (ms) and how long it waited behind the lane's previous truck (wall ms). */
    arrivalMs: number;
    queuedMs: number;
    /** Kinds of the faults that touched its lane while it was there. */
    faults: string[];
    /** Its inspection case against the ground truth (set when the run ends). */
    inspection?: TruckCaseCheck;
}

/** The inspection area's part of the report: cases that must not be released, and the exit. */
export interface InspectionSummary {
    /** Trucks that had to be inspected (expected INSPECT, or decided so). */
    mustInspect: number;
    /** Of them, those with a case that is not cleared. */
    held: number;
    byStatus: Record<string, number>;
    exitRefused: number;
    /** Each truck whose case is not as it must be, with why. */
    violations: string[];
}

/**
 * A truck's verdict against its ground truth: the decision it should get; a HOLD while a fault touched its
 * lane (acceptable: the gate could not vouch for the truck); anything else is wrong. The progress line and
 * the report count with this one function, so they cannot disagree.
 */
export function truckVerdict(
    truck: Pick<TruckResult, "lane" | "expect" | "actual" | "startMs" | "endMs">,
    faults: readonly FaultRecord[],
): { verdict: TruckResult["verdict"]; faults: string[] } {
    const windows = faultWindows(faults, truck.lane).filter((w) => w.from <= truck.endMs && w.to >= truck.startMs);
    const kinds = windows.map((w) => w.record.kind);
    if (truck.actual === truck.expect) return { verdict: "match", faults: kinds };
    if (truck.actual === "HOLD" && windows.length > 0) return { verdict: "held-under-fault", faults: kinds };
    return { verdict: "mismatch", faults: kinds };
}

/** The verdict counts of the progress line and the report's summary. */
export function verdictCounts(trucks: readonly Pick<TruckResult, "verdict">[]): {
    matched: number;
    heldUnderFault: number;
    mismatched: number;
} {
    const count = (verdict: TruckResult["verdict"]) => trucks.filter((t) => t.verdict === verdict).length;
    return { matched: count("match"), heldUnderFault: count("held-under-fault"), mismatched: count("mismatch") };
}

export interface CentralAudit {
    /** Events in the gate's log when checked (its head seq). */
    gateEvents: number;
    /** Rows central holds for this gate, and their distinct ids (a run reusing --central-db may add older ones). */
    centralEvents: number;
    distinctIds: number;
    /** Of the gate's events, how many central holds, and the first ids it lacks. */
    held: number;
    missing: number;
    missingSample: string[];
    /** Central answered "duplicate" this many times: resends after lost answers, never doubles. */
    duplicatesAnswered: number;
    holdsEveryEvent: boolean;
    /** How long after the last truck the check passed (or gave up), ms. */
    waitedMs: number;
}

export interface ScenarioReport {
    scenario: { name: string; file: string; seed: number; lanes: string[]; trucksPerHour: number; speed: number };
    config: string;
    gateId: string;
    startedAt: string;
    wallMs: number;
    /** From the first truck's time to the last truck leaving (wall ms), and that span in scenario time. */
    trucksWallMs: number;
    simulatedMs: number;
    workDir: string;
    planned: number;
    /** The summary the text report prints: per lane, the confusion table, the verdict counts. */
    decisions: {
        trucksPerLane: Record<string, number>;
        confusion: Record<string, Record<string, number>>;
        matched: number;
        heldUnderFault: number;
        mismatched: number;
    };
    trucks: TruckResult[];
    latency: { lastReadToCommand: LatencySummary; gateMeasured: LatencySummary; decidedOnTimeout: number };
    faults: FaultRecord[];
    alerts: Record<string, number>;
    central: CentralAudit;
    outbox: { pending: number; parked: number; byClass: Record<string, number> };
    /** Things that went wrong in the run itself (a passage no truck explains, a truck never decided). */
    anomalies: string[];
    recording: string | null;
    inspection: InspectionSummary;
    /** Yard mode: the visits, their ground truth, the time-release table and the queue over time. */
    yard?: YardReport;
}

/** Every id in the gate's event log, in seq order. */
function gateEventIds(gate: Gate): string[] {
    const ids: string[] = [];
    let after = 0;
    for (;;) {
        const page = gate.log.read(after, 1000);
        if (page.length === 0) return ids;
        for (const event of page) ids.push(event.id);
        after = page[page.length - 1]?.seq ?? after;
    }
}

/**
 * Waits (up to timeoutMs) until central's store holds every event the gate has stored, then reports what
 * it holds. Reads central's SQLite read-only.
 */
export async function auditCentral(
    gate: Gate,
    central: CentralSimulator,
    gateId: string,
    options: { timeoutMs: number; signal?: AbortSignal | undefined },
): Promise<CentralAudit> {
    const started = Date.now();
    let audit: CentralAudit | undefined;
    for (;;) {
        audit = readCentral(gate, central.dbPath, gateId, started);
        // Central holding what the gate stored so far is not enough: the gate still writes (an exit attempt's
        // passage decided at the end of its identify window, an RPM's background report), and the report reads
        // the outbox right after this. Done when both hold at the same moment: everything stored is at central
        // and nothing waits in the outbox.
        const pending = gate.sync.status().backlog.reduce((sum, row) => sum + row.pending, 0);
        if (audit.holdsEveryEvent && pending === 0) return audit;
        if (Date.now() - started > options.timeoutMs || options.signal?.aborted) return audit;
        await sleep(250);
    }
}

function readCentral(gate: Gate, dbPath: string, gateId: string, started: number): CentralAudit {
    const ids = gateEventIds(gate);
    const db = new Database(dbPath, { readonly: true, fileMustExist: true });
    try {
        const held = new Set(
            (db.prepare("SELECT id FROM events WHERE gate_id = ?").all(gateId) as { id: string }[]).map((r) => r.id),
        );
        const totals = db.prepare("SELECT COUNT(*) AS n FROM events WHERE gate_id = ?").get(gateId) as { n: number };
        const counters = db.prepare("SELECT duplicates FROM gate_counters WHERE gate_id = ?").get(gateId) as
            | { duplicates: number }
            | undefined;
        const missing = ids.filter((id) => !held.has(id));
        return {
            gateEvents: ids.length,
            centralEvents: totals.n,
            distinctIds: held.size,
            held: ids.length - missing.length,
            missing: missing.length,
            missingSample: missing.slice(0, 10),
            duplicatesAnswered: counters?.duplicates ?? 0,
            holdsEveryEvent: missing.length === 0 && ids.length > 0,
            waitedMs: Date.now() - started,
        };
    } finally {
        db.close();
    }
}

export function decisionSummary(trucks: readonly TruckResult[], lanes: readonly string[]): ScenarioReport["decisions"] {
    return {
        trucksPerLane: Object.fromEntries(lanes.map((lane) => [lane, trucks.filter((t) => t.lane === lane).length])),
        confusion: confusion(trucks),
        ...verdictCounts(trucks),
    };
}

/** The inspection summary of the trucks' case checks. */
export function inspectionSummary(trucks: readonly TruckResult[]): InspectionSummary {
    const concerned = trucks.filter((t) => t.expect === "INSPECT" || t.actual === "INSPECT");
    const byStatus: Record<string, number> = {};
    for (const t of concerned) {
        const status = t.inspection?.status ?? "none";
        byStatus[status] = (byStatus[status] ?? 0) + 1;
    }
    return {
        mustInspect: concerned.length,
        held: concerned.filter((t) => t.inspection && !["none", "cleared"].includes(t.inspection.status)).length,
        byStatus,
        exitRefused: concerned.filter((t) => t.inspection?.exitRefused).length,
        violations: trucks.flatMap((t) =>
            (t.inspection?.problems ?? []).map((p) => `truck ${t.index} ${t.lane} ${t.kind}: ${p}`),
        ),
    };
}

/**
 * 0 when every truck got its ground truth (or was held under a fault), every truck sent to inspection is
 * held by its case, and central holds every event; else 1.
 */
export function scenarioExitCode(report: ScenarioReport): number {
    const wrong = report.trucks.some((t) => t.verdict === "mismatch") || report.trucks.length < report.planned;
    const yardWrong = (report.yard?.violations.length ?? 0) > 0;
    return wrong || yardWrong || report.inspection.violations.length > 0 || !report.central.holdsEveryEvent ? 1 : 0;
}

const DECISIONS = ["RELEASE", "HOLD", "INSPECT", "REJECT", "NONE"];

/** The confusion counts: expected decision → actual decision → trucks. */
export function confusion(trucks: readonly TruckResult[]): Record<string, Record<string, number>> {
    const table: Record<string, Record<string, number>> = {};
    for (const truck of trucks) {
        const row = table[truck.expect] ?? {};
        row[truck.actual] = (row[truck.actual] ?? 0) + 1;
        table[truck.expect] = row;
    }
    return table;
}

function ms(value: number | null): string {
    return value === null ? "-" : `${value} ms`;
}

/** The report as a technician reads it. */
export function renderScenarioReport(report: ScenarioReport): string {
    const lines: string[] = [];
    const trucks = report.trucks;
    const count = (verdict: TruckResult["verdict"]) => trucks.filter((t) => t.verdict === verdict).length;
    lines.push(
        `Scenario ${report.scenario.name} (${report.scenario.file}, seed ${report.scenario.seed}) — gate ${report.gateId}, config ${report.config}`,
    );
    lines.push(
        `  ${trucks.length}/${report.planned} trucks through ${report.scenario.lanes.length} lane(s) ${report.yard ? "called from the yard" : `at ${report.scenario.trucksPerHour}/h per lane`}, speed ×${report.scenario.speed}: ` +
            `${seconds(report.trucksWallMs)} of trucks (${seconds(report.simulatedMs)} scenario time), ${seconds(report.wallMs)} in all`,
    );
    const perLane = report.scenario.lanes.map((lane) => `${lane} ${trucks.filter((t) => t.lane === lane).length}`);
    lines.push(`  trucks per lane: ${perLane.join(", ")}`);
    lines.push("");
    lines.push(
        `Decisions vs ground truth: ${count("match")} match, ${count("held-under-fault")} held under a fault, ${count("mismatch")} wrong`,
    );
    const table = confusion(trucks);
    const present = DECISIONS.filter((d) => trucks.some((t) => t.actual === d));
    lines.push(`  expected \\ got   ${present.map((d) => d.padStart(8)).join("")}`);
    for (const expected of DECISIONS.filter((d) => table[d])) {
        const row = table[expected] ?? {};
        lines.push(`  ${expected.padEnd(16)} ${present.map((d) => String(row[d] ?? 0).padStart(8)).join("")}`);
    }
    const list = (title: string, items: TruckResult[]) => {
        if (items.length === 0) return;
        lines.push(`  ${title}:`);
        for (const t of items.slice(0, 30)) {
            lines.push(
                `    truck ${t.index} ${t.lane} ${t.kind}: expected ${t.expect}, got ${t.actual} — passage ${t.passageId ?? "none"}` +
                    (t.faults.length > 0 ? ` [faults: ${[...new Set(t.faults)].join(", ")}]` : "") +
                    (t.reasons.length > 0 ? `\n      ${t.reasons.join("; ")}` : ""),
            );
        }
        if (items.length > 30) lines.push(`    … ${items.length - 30} more in the JSON report`);
    };
    list(
        "wrong",
        trucks.filter((t) => t.verdict === "mismatch"),
    );
    list(
        "held under a fault",
        trucks.filter((t) => t.verdict === "held-under-fault"),
    );
    const offline = trucks.filter((t) => t.offline).length;
    if (offline > 0) lines.push(`  ${offline} decision(s) taken offline (stale clearance data)`);
    const reopened = trucks.filter((t) => t.barrier === "opened-after-officer").length;
    const neverOpened = trucks.filter((t) => t.barrier === "never-opened").length;
    if (reopened + neverOpened > 0) {
        lines.push(
            `  barrier: ${reopened} released truck(s) needed the officer's second release, ${neverOpened} never got through`,
        );
    }
    const lost = trucks.reduce((sum, t) => sum + t.readsLost.length, 0);
    if (lost > 0) lines.push(`  ${lost} device read(s) lost on the way to the gate (see trucks[].readsLost)`);
    const queued = trucks.map((t) => t.queuedMs);
    if (queued.length > 0)
        lines.push(`  longest wait behind a lane's previous truck: ${seconds(Math.max(...queued))} (wall)`);
    lines.push("");
    const ins = report.inspection;
    lines.push(
        `Inspection cases: ${ins.held} of ${ins.mustInspect} truck(s) sent to inspection held by a case that is not cleared ` +
            `(${Object.entries(ins.byStatus)
                .map(([status, n]) => `${status} ${n}`)
                .join(", ")}); ${ins.exitRefused} refused at the exit — ` +
            (ins.violations.length === 0 ? "none released" : `${ins.violations.length} WRONG`),
    );
    for (const line of ins.violations.slice(0, 30)) lines.push(`  ${line}`);
    lines.push("");
    if (report.yard) {
        lines.push(...renderYardReport(report.yard));
        lines.push("");
    }
    const l = report.latency.lastReadToCommand;
    lines.push(
        `Decision latency, last read decoded → lane command (${l.count} passages decided on their reads): ` +
            `p50 ${ms(l.p50Ms)}, p95 ${ms(l.p95Ms)}, p99 ${ms(l.p99Ms)}, max ${ms(l.maxMs)}`,
    );
    const g = report.latency.gateMeasured;
    lines.push(
        `  as gate-edge measures it (triggeredAt → command, on the gate clock and device timestamps): p50 ${ms(g.p50Ms)}, p99 ${ms(g.p99Ms)}, max ${ms(g.maxMs)}`,
    );
    if (report.latency.decidedOnTimeout > 0) {
        lines.push(
            `  ${report.latency.decidedOnTimeout} passage(s) decided when a read window ran out (not in the figures above)`,
        );
    }
    lines.push("");
    lines.push(`Faults: ${report.faults.filter((f) => f.injected).length} of ${report.faults.length} injected`);
    for (const f of report.faults) {
        const when =
            f.startedAtMs === undefined
                ? ""
                : ` at ${seconds(f.startedAtMs)}${f.endedAtMs !== undefined && f.endedAtMs !== f.startedAtMs ? `–${seconds(f.endedAtMs)}` : ""}`;
        const back =
            f.recoveredAtMs !== undefined && f.endedAtMs !== undefined && f.kind !== "clock-jump"
                ? `; gate-edge recovered ${seconds(Math.max(0, f.recoveredAtMs - f.endedAtMs))} after it ended`
                : "";
        lines.push(
            `  ${f.injected ? "injected" : "NOT injected"} ${f.kind}${f.lane ? ` ${f.lane}` : ""} (scenario ${seconds(f.scheduledAtMs)})${when}: ${f.detail}${back}`,
        );
    }
    const alerts = Object.entries(report.alerts);
    if (alerts.length > 0) lines.push(`  alerts raised: ${alerts.map(([code, n]) => `${code} ×${n}`).join(", ")}`);
    lines.push("");
    const c = report.central;
    lines.push(
        `Central: holds ${c.held} of the gate's ${c.gateEvents} events (head seq), ${c.centralEvents} rows / ${c.distinctIds} distinct ids for ${report.gateId}; ` +
            `${c.duplicatesAnswered} resend(s) answered duplicate — ${c.holdsEveryEvent ? "every event is at central" : `${c.missing} MISSING (first: ${c.missingSample.slice(0, 3).join(", ")})`}`,
    );
    lines.push(
        `Outbox at the end: ${report.outbox.pending} pending, ${report.outbox.parked} parked` +
            (report.outbox.pending > 0
                ? ` (${Object.entries(report.outbox.byClass)
                      .filter(([, n]) => n > 0)
                      .map(([k, n]) => `${k} ${n}`)
                      .join(", ")})`
                : ""),
    );
    if (report.anomalies.length > 0) {
        lines.push("");
        lines.push(`Run anomalies (${report.anomalies.length}):`);
        for (const line of report.anomalies.slice(0, 20)) lines.push(`  ${line}`);
    }
    if (report.recording) lines.push(`Raw device traffic recorded to ${report.recording}`);
    lines.push("");
    lines.push(scenarioExitCode(report) === 0 ? "RESULT: PASS" : "RESULT: FAIL");
    return `${lines.join("\n")}\n`;
}
