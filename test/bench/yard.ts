import { mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import Fastify from "fastify";
import { pino } from "pino";
import { ulid } from "ulid";
import { parseConfig } from "../../src/config/load.ts";
import { Gate } from "../../src/gate.ts";
import { openDatabase } from "../../src/store/db.ts";
import { nextToCall, type QueuedVisit } from "../../src/yard/queue.ts";
import { reportVisitOf, timeReleaseReport } from "../../src/yard/report.ts";
import { registerTimeReleaseRoutes } from "../../src/yard/reportRoutes.ts";
import type { GoodsClass, VisitStage, VisitSummary, YardView } from "../../src/yard/types.ts";
import { VisitStore } from "../../src/yard/visitStore.ts";
import { apiSession } from "../helpers/api.ts";
import { latencySummary } from "./stats.ts";

/**
 * The yard (issue 19 "Bars"): a yard of 2,000 waiting trucks and 16 lanes, and a year's time-release report.
 *
 * - call-forward decision: a lane of a group frees, the gate picks that group's next truck (src/yard/queue.ts
 *   nextToCall, one pass over the waiting trucks); every lane calls in turn, the trucks already called
 *   skipped. Baseline: a bare loop for the smallest number in an array of the same length, the least any
 *   choice of "the next" can cost.
 * - GET /api/v1/yard on a real gate holding the 2,000 waiting trucks; baseline: GET /api/v1/auth/me on the
 *   same gate and connection (the HTTP, session and role guard round trip with no work behind it).
 * - the time-release report over 100,000 visits (src/yard/report.ts timeReleaseReport) as the API computes
 *   it, over the visits as the visits table gives them (stage times in ms); baseline: the same visits'
 *   arrival-to-exit durations computed and sorted once.
 */

const WAITING = Number(process.env.BENCH_YARD_TRUCKS ?? 2_000);
const LANES = 16;
const REPORT_VISITS = Number(process.env.BENCH_YARD_VISITS ?? 100_000);
const DECISIONS = Number(process.env.BENCH_YARD_DECISIONS ?? 5_000);
const REPORT_RUNS = 5;
const REQUESTS = Number(process.env.BENCH_YARD_REQUESTS ?? 300);
const T0 = Date.UTC(2026, 6, 1, 0, 0, 0);
const MIN = 60_000;

/** A small deterministic generator (mulberry32): the same yard and visits every run. */
function random(seed: number): () => number {
    let state = seed >>> 0;
    return () => {
        state = (state + 0x6d2b79f5) >>> 0;
        let t = state;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
    };
}

const ms = (start: number) => performance.now() - start;

/** A year's visits: arrival spread over 365 days, stages minutes apart, one in five inspected. */
export function yearOfVisits(count: number, seed = 19): VisitSummary[] {
    const next = random(seed);
    const channels = ["GREEN", "GREEN", "GREEN", "YELLOW", "RED"];
    const visits: VisitSummary[] = [];
    for (let i = 0; i < count; i++) {
        const channel = channels[Math.floor(next() * channels.length)] as string;
        const stages: Partial<Record<VisitStage, string>> = {};
        let at = T0 + Math.floor(next() * 365 * 24 * 60) * MIN;
        const stage = (name: VisitStage, minutes: number) => {
            at += Math.floor(minutes * MIN);
            stages[name] = new Date(at).toISOString();
        };
        stage("arrived", 0);
        stage("called", 5 + next() * 240);
        stage("laneEntered", 2 + next() * 15);
        stage("decided", 1 + next() * 5);
        if (channel === "RED") {
            stage("inspectionStarted", 5 + next() * 60);
            stage("inspectionEnded", 20 + next() * 120);
        }
        stage("released", 1 + next() * 10);
        stage("exited", 2 + next() * 20);
        visits.push({
            visitId: `V${i}`,
            state: "CLOSED",
            laneGroup: next() < 0.7 ? "import" : "export",
            goodsClass: (next() < 0.3 ? "perishable" : "general") as GoodsClass,
            tractorPlate: `15C${String(i).padStart(5, "0")}`,
            declarations: [],
            noShows: 0,
            stages,
            channel,
            laneId: `L${1 + Math.floor(next() * LANES)}`,
            passageIds: [],
            caseIds: [],
            dwellMs: 0,
            dwell: "ok",
        });
    }
    return visits;
}

/** The time-release report over a year of visits, against parsing and sorting their whole-visit times once. */
function benchReport(out: (line: string) => void) {
    const visits = yearOfVisits(REPORT_VISITS);
    // As the visits table gives them (each stage's time in ms, converted once when a visit is stored).
    const asRead = visits.map(reportVisitOf);
    const from = new Date(T0).toISOString();
    const to = new Date(T0 + 366 * 24 * 60 * MIN).toISOString();
    const reportMs: number[] = [];
    const baselineMs: number[] = [];
    let rows = 0;
    for (let run = 0; run < REPORT_RUNS; run++) {
        let start = performance.now();
        const durations = new Float64Array(visits.length);
        for (const [i, visit] of asRead.entries()) durations[i] = (visit.stageMs[7] ?? 0) - (visit.stageMs[0] ?? 0);
        durations.sort();
        baselineMs.push(ms(start));
        start = performance.now();
        const report = timeReleaseReport({ from, to, timeZone: "Asia/Ho_Chi_Minh", queue: [], visits: asRead });
        // What the API sends: the report as JSON.
        JSON.stringify(report);
        reportMs.push(ms(start));
        rows = report.rows.length;
    }
    const report = latencySummary(reportMs);
    const baseline = latencySummary(baselineMs);
    out(
        `time-release report, ${REPORT_VISITS.toLocaleString("en-US")} visits (${rows} rows): median ${report.p50.toFixed(0)} ms, ` +
            `max ${report.max.toFixed(0)} ms (bar ≤ 1000 ms); baseline durations+sort median ${baseline.p50.toFixed(0)} ms`,
    );
    return { visits: REPORT_VISITS, runs: REPORT_RUNS, rows, reportMs: report, baselineMs: baseline };
}

/** 2,000 waiting trucks in two lane groups; each of 16 lanes in turn calls the next of its group. */
function benchDecision(out: (line: string) => void) {
    const next = random(7);
    const now = T0 + 12 * 60 * MIN;
    const groups = { import: [] as QueuedVisit[], export: [] as QueuedVisit[] };
    for (let i = 0; i < WAITING; i++) {
        const perishable = next() < 0.3;
        const queuedMs = now - Math.floor(next() * 24 * 60) * MIN;
        const slotFrom = queuedMs + Math.floor(next() * 6 * 60) * MIN;
        (i % 3 === 0 ? groups.export : groups.import).push({
            visitId: `V${String(i).padStart(5, "0")}`,
            state: "QUEUED",
            goodsClass: perishable ? "perishable" : "general",
            queuedMs,
            // As the fold keeps a booked slot: its texts and its start in ms.
            ...(next() < 0.5 && {
                slot: { from: new Date(slotFrom).toISOString(), to: new Date(slotFrom + 60 * MIN).toISOString() },
                slotFromMs: slotFrom,
            }),
        });
    }
    const laneGroup = (lane: number) => (lane < 11 ? groups.import : groups.export);
    const decisionMs: number[] = [];
    const baselineMs: number[] = [];
    const policies = ["fifo", "slot", "perishablesFirst"] as const;
    let called = new Set<string>();
    for (let i = 0; i < DECISIONS; i++) {
        const lane = i % LANES;
        // A round of 16 calls, then the yard is as it was: the queue stays at 2,000.
        if (lane === 0) called = new Set();
        const queue = laneGroup(lane);
        const policy = policies[Math.floor(i / LANES) % policies.length] as (typeof policies)[number];
        let start = performance.now();
        const chosen = nextToCall(queue, policy, now, called);
        decisionMs.push(ms(start));
        if (chosen) called.add(chosen.visitId);
        const plain = Float64Array.from(queue, (visit) => visit.queuedMs);
        start = performance.now();
        let smallest = Number.POSITIVE_INFINITY;
        for (let k = 0; k < plain.length; k++) if ((plain[k] as number) < smallest) smallest = plain[k] as number;
        baselineMs.push(ms(start));
        // The scan's answer is used (and checked), so it is not optimised away.
        if (!(smallest <= now)) throw new Error("the bare scan found no waiting truck");
    }
    const decision = latencySummary(decisionMs);
    const baseline = latencySummary(baselineMs);
    out(
        `call-forward decision, ${WAITING.toLocaleString("en-US")} waiting, ${LANES} lanes, ${DECISIONS} decisions: ` +
            `p50 ${decision.p50.toFixed(3)} ms, p99 ${decision.p99.toFixed(3)} ms (bar ≤ 20 ms); ` +
            `baseline bare scan p99 ${baseline.p99.toFixed(3)} ms`,
    );
    return { waiting: WAITING, lanes: LANES, decisions: DECISIONS, decisionMs: decision, baselineMs: baseline };
}

/**
 * A real gate with 16 lanes in two lane groups and 2,000 trucks arrived at its yard (their visit.arrived
 * events, folded by the yard part, which calls the first 16 forward): GET /api/v1/yard over HTTP as an
 * officer, each request beside a GET /api/v1/auth/me on the same connection.
 */
async function benchYardApi(out: (line: string) => void) {
    const dir = join(tmpdir(), `gate-edge-bench-yard-${process.pid}`);
    mkdirSync(dir, { recursive: true });
    const laneIds = Array.from({ length: LANES }, (_, i) => `L${i + 1}`);
    const camera = (id: string) =>
        `      - { id: ${id}, model: dahua-itsapi-anpr, role: front, auth: { username: ${id}, password: bench-${id}-password } }`;
    const config = parseConfig(`
gate: { id: BENCHYARD }
storage: { path: ${JSON.stringify(join(dir, "gate.db"))} }
http: { host: 127.0.0.1, port: 0 }
push: { host: 127.0.0.1, port: 0 }
broker: { mode: embedded, host: 127.0.0.1, port: 0 }
lanes:
${laneIds.map((lane, i) => `  - id: ${lane}\n    devices:\n${camera(`cam-${i}`)}`).join("\n")}
  - id: YARD
    devices:
${camera("cam-yard")}
yard:
    entries: [{ id: Y1, camera: cam-yard }]
    laneGroups: { ${laneIds.map((lane, i) => `${lane}: ${i < 11 ? "import" : "export"}`).join(", ")} }
    queuePolicy: perishablesFirst
`);
    const gate = new Gate({ config, log: pino({ level: "error" }) });
    await gate.start();
    try {
        const next = random(11);
        const now = Date.now();
        for (let i = 0; i < WAITING; i++) {
            await gate.log.append({
                type: "visit.arrived",
                occurredAt: now - Math.floor(next() * 20 * 60) * MIN,
                data: {
                    visitId: `V-${ulid()}`,
                    laneGroup: i % 3 === 0 ? "export" : "import",
                    goodsClass: next() < 0.3 ? "perishable" : "general",
                    tractorPlate: `29C${String(10_000 + i)}`,
                    declarations: [],
                },
            });
        }
        const officer = apiSession(gate, "officer", "bench-officer");
        const waitingNow = async () => {
            const view = (await (await officer.fetch("/api/v1/yard")).json()) as YardView;
            return view.groups.reduce((sum, group) => sum + group.waiting + group.called.length, 0);
        };
        const deadline = Date.now() + 120_000;
        while ((await waitingNow()) < WAITING) {
            if (Date.now() > deadline) throw new Error("the yard did not fold the 2,000 arrivals in 120 s");
            await new Promise((resolve) => setTimeout(resolve, 200));
        }
        const yardMs: number[] = [];
        const baselineMs: number[] = [];
        let bytes = 0;
        for (let i = 0; i < REQUESTS; i++) {
            let start = performance.now();
            const body = await (await officer.fetch("/api/v1/yard")).text();
            yardMs.push(ms(start));
            bytes = body.length;
            start = performance.now();
            await (await officer.fetch("/api/v1/auth/me")).text();
            baselineMs.push(ms(start));
        }
        const yard = latencySummary(yardMs);
        const baseline = latencySummary(baselineMs);
        out(
            `GET /api/v1/yard, ${WAITING.toLocaleString("en-US")} trucks in the yard, ${REQUESTS} requests (${Math.round(bytes / 1024)} KiB each): ` +
                `p50 ${yard.p50.toFixed(1)} ms, p99 ${yard.p99.toFixed(1)} ms (bar ≤ 100 ms); baseline GET /api/v1/auth/me p99 ${baseline.p99.toFixed(1)} ms`,
        );
        return { trucks: WAITING, requests: REQUESTS, bytes, yardMs: yard, baselineMs: baseline };
    } finally {
        await gate.stop();
        rmSync(dir, { recursive: true, force: true });
    }
}

/**
 * The report as the API answers it from the yard's own store: 100,000 visits folded into a SQLite visits
 * table (src/yard/visitStore.ts) from their visit.* events, then GET /api/v1/reports/time-release for the
 * year (read, summarised, reported, sent as JSON). Baseline: the bare read of the same rows.
 */
async function benchStoredReport(out: (line: string) => void) {
    const dir = join(tmpdir(), `gate-edge-bench-yard-store-${process.pid}`);
    mkdirSync(dir, { recursive: true });
    const db = openDatabase(join(dir, "gate.db"));
    try {
        const store = new VisitStore(db, "Asia/Ho_Chi_Minh");
        let seq = 0;
        const fold = db.transaction((visits: VisitSummary[]) => {
            for (const visit of visits) {
                const event = (type: string, at: string | undefined, data: Record<string, string | string[]>) => {
                    if (at === undefined) return;
                    seq += 1;
                    store.apply({
                        id: String(seq),
                        seq,
                        type,
                        occurredAt: at,
                        data: { visitId: visit.visitId, ...data },
                    });
                };
                const { stages } = visit;
                event("visit.arrived", stages.arrived, {
                    laneGroup: visit.laneGroup,
                    goodsClass: visit.goodsClass,
                    tractorPlate: visit.tractorPlate,
                    declarations: [],
                });
                event("visit.called", stages.called, { laneId: visit.laneId ?? "L1" });
                event("visit.stage", stages.laneEntered, { stage: "laneEntered", laneId: visit.laneId ?? "L1" });
                event("visit.stage", stages.decided, { stage: "decided", channel: visit.channel ?? "GREEN" });
                event("visit.stage", stages.inspectionStarted, { stage: "inspectionStarted" });
                event("visit.stage", stages.inspectionEnded, { stage: "inspectionEnded" });
                event("visit.stage", stages.released, { stage: "released" });
                event("visit.stage", stages.exited, { stage: "exited" });
            }
        });
        const visits = yearOfVisits(REPORT_VISITS, 23);
        for (let i = 0; i < visits.length; i += 5_000) fold(visits.slice(i, i + 5_000));
        const app = Fastify();
        registerTimeReleaseRoutes(
            app,
            () => ({
                visitsArrivedBetween: (from, to) => store.reportVisits(from, to),
                queueSamples: (from, to) => store.queueSamples(from, to),
            }),
            "Asia/Ho_Chi_Minh",
        );
        await app.ready();
        const answerMs: number[] = [];
        const baselineMs: number[] = [];
        // The same rows as the report reads them (visitStore.ts reportVisits): the bare SQLite read of its columns.
        const read = db
            .prepare(
                `SELECT channel, lane_id, goods_class, arrived_ms, called_ms, lane_entered_ms, decided_ms,
                   inspection_started_ms, inspection_ended_ms, released_ms, exited_ms
                 FROM visits WHERE arrived_ms >= ? AND arrived_ms < ?`,
            )
            .raw();
        let visitsInAnswer = 0;
        for (let run = 0; run < REPORT_RUNS; run++) {
            let start = performance.now();
            read.all(T0 - DAY_MS, T0 + 366 * DAY_MS);
            baselineMs.push(ms(start));
            start = performance.now();
            const answer = await app.inject({
                method: "GET",
                url: `/api/v1/reports/time-release?from=${new Date(T0 - DAY_MS).toISOString()}&to=${new Date(T0 + 365 * DAY_MS).toISOString()}`,
            });
            answerMs.push(ms(start));
            if (answer.statusCode !== 200) throw new Error(`report answered ${answer.statusCode}: ${answer.body}`);
            visitsInAnswer = (answer.json() as { visits: number }).visits;
        }
        await app.close();
        const answer = latencySummary(answerMs);
        const baseline = latencySummary(baselineMs);
        out(
            `GET /api/v1/reports/time-release from the visits table, ${visitsInAnswer.toLocaleString("en-US")} visits: median ${answer.p50.toFixed(0)} ms, ` +
                `max ${answer.max.toFixed(0)} ms (bar ≤ 1000 ms); baseline bare SQLite read of the rows median ${baseline.p50.toFixed(0)} ms`,
        );
        return { visits: visitsInAnswer, runs: REPORT_RUNS, answerMs: answer, baselineMs: baseline };
    } finally {
        db.close();
        rmSync(dir, { recursive: true, force: true });
    }
}
const DAY_MS = 24 * 60 * MIN;

export async function benchYard(out: (line: string) => void): Promise<object> {
    const decision = benchDecision(out);
    const report = benchReport(out);
    const storedReport = await benchStoredReport(out);
    const api = await benchYardApi(out);
    return { decision, report, storedReport, api };
}
