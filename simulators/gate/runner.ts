/**
 * The whole-gate scenario runner (`gate-edge simulate gate --scenario FILE`): in one process it starts the
 * central simulator (serving the scenario's declarations and watch list through the real clearance feed),
 * the gate itself from a configuration (generated to match the scenario's lanes, or a technician's file),
 * and a simulator behind every device; then it sends the scenario's trucks at their Poisson arrival times
 * (divided by the speed), injects the scheduled faults, and reports every truck's decision against its
 * ground truth, the decision latency, the faults, and whether central holds every event the gate stored.
 *
 * A truck, the way it meets the lane: it stops on the entry loop; the cameras read its tractor and trailer
 * plates, the e-seal reader its seal, the scanner its declaration and container; it drives onto the
 * weighbridge and settles. The runner waits for the gate's decision (on the gate's bus), then drives the
 * truck through if the barrier opens, or turns it back, and waits for the passage to close before the next
 * truck of the lane pulls up. A released truck whose barrier does not open (a PLC fault ate the command) is
 * held and released again by the runner acting as the officer, as one would from the dashboard.
 *
 * Ground truth: the decision the truck's kind must get (scenario `expect`). A truck in a lane while a fault
 * touched that lane may instead be held (docs/design.md: a device offline mid-passage goes to an officer);
 * such trucks are counted apart ("held under a fault"), never silently. Anything else is a mismatch.
 *
 * The inspection area (./inspection.ts): before it reaches the lane the truck passes the lane's RPM, and
 * pulls up only once the gate has stored the occupancy (a genuine alarm must divert it before it is decided).
 * A truck sent to inspection is scanned by the X-ray scanner and then tries to leave through the exit point
 * (the generated configuration has one: an exit lane's camera). After the run every such truck must have a
 * case that is not cleared, with what its kind requires, and its exit attempt refused; the report lists
 * every truck for which that is not so.
 */
import { randomBytes } from "node:crypto";
import { setMaxListeners } from "node:events";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "pino";
import { parseConfig } from "../../src/config/load.ts";
import type { GateConfig } from "../../src/config/types.ts";
import { errorMessage, GateError } from "../../src/core/errors.ts";
import { Gate } from "../../src/gate.ts";
import { caseIdOf } from "../../src/inspection/caseModel.ts";
import { CentralSimulator } from "../central/server.ts";
import type { SealReaderSimulator } from "../eseal.ts";
import { ConfigSimulators, freePort, isLocalHost, type SimulatedDevice } from "../forConfig.ts";
import type { LanePlcSimulator } from "../lane-plc.ts";
import type { ScaleSimulator } from "../scale.ts";
import type { ScannerSimulator } from "../scanner.ts";
import {
    expectedDecision,
    planArrivals,
    planScenario,
    readScenario,
    type ScenarioFile,
    type TruckPlan,
    type YardPolicy,
} from "../scenario.ts";
import type { TcpSerialServer } from "../transport.ts";
import { benchConfig, benchFromFile } from "./bench.ts";
import { FaultInjector, JumpClock, UnplugHolds } from "./faults.ts";
import { checkTruckCase, fitPlanToRpms, ScenarioInspection } from "./inspection.ts";
import { GateObserver, type ObservedPassage, summarise } from "./observer.ts";
import type { ProgressBar } from "./progress.ts";
import { Recorder } from "./record.ts";
import {
    auditCentral,
    decisionSummary,
    inspectionSummary,
    type ScenarioReport,
    type TruckResult,
    truckVerdict,
    verdictCounts,
} from "./report.ts";
import { planYard, waitForCall, type YardTruck, type YardTruckResult, YardWatch, yardReport } from "./yard.ts";

export interface ScenarioRunOptions {
    scenarioFile: string;
    /** A gate config whose devices point at 127.0.0.1 (like config/demo.yaml); default: generated. */
    configFile?: string;
    /** The central simulator's SQLite file; default in the work dir. */
    centralDb?: string;
    /** Time compression; default the scenario's `speed`, else 1. */
    speed?: number;
    seed?: number;
    /** The gate's database, the PKI folders and the central store go here. */
    workDir: string;
    log: Logger;
    progress?: ProgressBar;
    /** Also record the gate's raw device traffic to this file (gate-edge record format). */
    recordTo?: string;
    /**
     * The generated gate's inspection area (an RPM per lane, an X-ray scanner, an exit point). Default true;
     * false for a run whose recording is to be replayed: a recording holds the lanes' device traffic, not the
     * inspection area's folders.
     */
    inspectionArea?: boolean;
    /** Yard mode: the queue policy instead of the scenario's `yard.policy`. */
    policy?: YardPolicy;
    signal?: AbortSignal;
}

/** The devices of one lane the runner drives. */
interface LaneKit {
    laneId: string;
    scale: ScaleSimulator;
    scaleLink: TcpSerialServer;
    scanner: ScannerSimulator;
    seal: SealReaderSimulator | undefined;
    cameras: SimulatedCamera[];
    plc: { sim: LanePlcSimulator; lane: string };
}

/** A plate camera the runner makes read a plate; false when the read did not reach the gate. */
interface SimulatedCamera {
    deviceId: string;
    role: "front" | "rear";
    read(text: string, confidence: number): Promise<boolean>;
}

/** The generated configuration's exit point: a camera on an exit lane of its own. */
const EXIT_CAMERA = "cam-exit";
/** Yard mode: the yard entry's camera, on a lane of its own (as config/demo.yaml's Y1). */
const YARD_CAMERA = "cam-yard";
/** Inspection folders polled often: the truck waits at the RPM for its occupancy to be stored. */
const INSPECTION_POLL = { pollMs: 100, settleMs: 150 };

/** Timings of one truck, compressed by the speed but never below what the devices need. */
interface TruckTimings {
    rampMs: number;
    settleMs: number;
    underBoomMs: number;
    exitClearMs: number;
    /** Between two trucks of a lane: longer than the gate's duplicate window, so identical papers count again. */
    gapMs: number;
    readsWaitMs: number;
    decisionTimeoutMs: number;
    barrierWaitMs: number;
    completeTimeoutMs: number;
    /** How long a truck waits for its RPM occupancy, its scan and its exit attempt to be stored. */
    inspectionWaitMs: number;
}

const GENERATED_TOKEN_ENV = "GATE_SCENARIO_CENTRAL_TOKEN";

const clamp = (value: number, min: number, max: number): number => Math.min(max, Math.max(min, value));

export async function runGateScenario(options: ScenarioRunOptions): Promise<ScenarioReport> {
    const { log, workDir } = options;
    const scenario = readScenario(options.scenarioFile);
    if (options.seed !== undefined) scenario.seed = options.seed;
    const speed = options.speed ?? scenario.speed ?? 1;
    if (!(speed > 0)) throw new GateError("SIMULATOR_USAGE", `speed must be > 0, got ${speed}`);
    const yard = scenario.yard && { ...scenario.yard, policy: options.policy ?? scenario.yard.policy };
    if (options.policy !== undefined && !yard)
        throw new GateError("SIMULATOR_USAGE", `${options.scenarioFile} has no yard section: a queue policy needs one`);
    if (yard && (options.configFile !== undefined || options.inspectionArea === false))
        throw new GateError(
            "SIMULATOR_USAGE",
            "a yard scenario runs on the generated gate (its yard entry, lane groups and exit point)",
        );
    const startedAt = new Date();
    const runStart = performance.now();
    const elapsed = (): number => performance.now() - runStart;

    // ---- configuration and central -------------------------------------------------------------
    const token = randomBytes(18).toString("base64url");
    let config: GateConfig;
    let passwords: Map<string, string>;
    let centralPort: number;
    let centralHost = "127.0.0.1";
    if (options.configFile) {
        const bench = benchFromFile(options.configFile, workDir);
        config = parseConfig(bench.yaml, { source: options.configFile });
        passwords = bench.passwords;
        const url = config.central.url ? new URL(config.central.url) : undefined;
        if (url?.protocol !== "http:" || !isLocalHost(url.hostname)) {
            throw new GateError(
                "SIMULATOR_USAGE",
                `${options.configFile}: central.url must be http:// on 127.0.0.1 — the runner plays central there`,
            );
        }
        centralHost = url.hostname;
        centralPort = Number(url.port || 80);
        process.env[config.central.tokenEnv] ??= token;
    } else {
        centralPort = await freePort();
        const exitLane = scenario.lanes.includes("EXIT") ? "EXIT-OUT" : "EXIT";
        const yardLane = scenario.lanes.includes("YARD") ? "YARD-IN" : "YARD";
        const withInspection = options.inspectionArea !== false;
        const bench = await benchConfig({
            gate: { id: "SCN01", name: `Scenario ${scenario.name}` },
            workDir,
            lanes: [
                ...scenario.lanes.map((lane) => {
                    const l = lane.toLowerCase();
                    return {
                        id: lane,
                        name: `Lane ${lane}`,
                        // A yard run's lanes go their group's way (the rules hold a declaration going the other).
                        ...(yard?.groups.export?.includes(lane) && { direction: "OUT" as const }),
                        devices: [
                            { id: `scale-${l}`, model: "toledo-continuous" },
                            { id: `scanner-${l}`, model: "serial-barcode-scanner" },
                            { id: `seal-${l}`, model: "eseal-mqtt-json" },
                            { id: `cam-front-${l}`, model: "onvif-anpr", role: "front" },
                            { id: `cam-rear-${l}`, model: "dahua-itsapi-anpr", role: "rear" },
                            { id: `plc-${l}`, model: "lane-plc-opcua", lanePrefix: lane },
                        ],
                    };
                }),
                ...(withInspection
                    ? [
                          {
                              id: exitLane,
                              name: "Exit",
                              direction: "OUT" as const,
                              devices: [{ id: EXIT_CAMERA, model: "dahua-itsapi-anpr", role: "front" }],
                          },
                      ]
                    : []),
                ...(yard
                    ? [
                          {
                              id: yardLane,
                              name: "Yard entry",
                              direction: "IN" as const,
                              devices: [{ id: YARD_CAMERA, model: "dahua-itsapi-anpr", role: "front" }],
                          },
                      ]
                    : []),
            ],
            // The yard: its entry camera opens visits, each lane takes its group's trucks; the no-show time is
            // the scenario's compressed, but never shorter than a loaded machine takes to bring a truck up.
            ...(yard && {
                yard: {
                    entries: [{ id: "entry-1", camera: YARD_CAMERA, laneGroup: "import" }],
                    laneGroups: Object.fromEntries(
                        Object.entries(yard.groups).flatMap(([group, lanes]) => lanes.map((lane) => [lane, group])),
                    ),
                    queuePolicy: yard.policy,
                    noShowMs: Math.max(30_000, Math.round(yard.noShowMs / speed)),
                },
            }),
            // An RPM on each lane's approach, one X-ray scanner in the inspection area, one exit point.
            inspection: withInspection
                ? {
                      devices: [
                          ...scenario.lanes.map((lane) => ({
                              id: `rpm-${lane.toLowerCase()}`,
                              model: "n42-rpm",
                              lane,
                              folder: join(workDir, "inspection", `rpm-${lane.toLowerCase()}`),
                              ...INSPECTION_POLL,
                          })),
                          {
                              id: "xray-1",
                              model: "nii-scan-package",
                              folder: join(workDir, "inspection", "xray-1"),
                              ...INSPECTION_POLL,
                          },
                      ],
                      exits: [{ id: "exit-1", camera: EXIT_CAMERA }],
                  }
                : undefined,
            central: { url: `http://127.0.0.1:${centralPort}`, tokenEnv: GENERATED_TOKEN_ENV },
            // Trucks of a compressed day follow each other within a second with the same papers: a short
            // duplicate window keeps one truck's repeats out without swallowing the next truck's reads.
            // Silence before a device counts as offline: the simulators share this process with the gate, and a
            // busy machine's pause of 1.5 s took streaming scales for offline in full test runs (trucks held).
            ingest: { weightSettleMs: 0, duplicateWindowMs: 300, offlineAfterMs: 3000 },
            // The lane's timeouts are wall-clock: generous enough that a loaded machine's slow reads are not
            // taken for missing ones (a truck's decision waits for its reads, not for these).
            rules: { identifySeconds: 8, weighSeconds: 10, exitSeconds: 30 },
            centralExtra: { clearancePollMs: 500, backoffBaseMs: 50, backoffMaxMs: 1000, requestTimeoutMs: 5000 },
        });
        config = parseConfig(bench.yaml, { source: "(generated bench config)" });
        passwords = bench.passwords;
        process.env[GENERATED_TOKEN_ENV] = token;
    }
    const tokenValue = process.env[config.central.tokenEnv] ?? token;
    const missingLanes = scenario.lanes.filter((lane) => !config.lanes.some((l) => l.id === lane));
    if (missingLanes.length > 0) {
        throw new GateError(
            "SIMULATOR_USAGE",
            `the scenario's lane(s) ${missingLanes.join(", ")} are not in ${config.source} (lanes: ${config.lanes.map((l) => l.id).join(", ")})`,
        );
    }

    const central = new CentralSimulator({
        host: centralHost,
        port: centralPort,
        dbPath: options.centralDb ?? `${workDir}/central.db`,
        tokens: [tokenValue],
        clearance: [{ scenario: options.scenarioFile }],
        log: log.child({ component: "central-simulator" }),
    });
    const clock = new JumpClock();
    const bench = new ConfigSimulators(config, {
        passwords,
        mode: "scenario",
        workDir,
        log: log.child({ component: "bench" }),
        plc: {
            travelMs: clamp(2000 / speed, 100, 2000),
            autoCloseMs: 20_000,
            // Longer than a real PLC's 3 s: the whole gate and every simulator share one event loop here.
            watchdogTimeoutMs: 5000,
        },
        seed: scenario.seed,
        scaleRateHz: 20,
        sealHeartbeatMs: 30_000,
        push: { resend: { intervalMs: 500, max: 6 }, timeoutMs: 10_000 },
    });
    const ballast = { bytes: 0 };
    const gate = new Gate({
        config,
        log: log.child({ component: "gate" }),
        clock,
        storageBallast: () => ballast.bytes,
    });
    const observer = new GateObserver(gate);
    const inspection = new ScenarioInspection(config, scenario.seed);
    const recorder = options.recordTo ? new Recorder(gate, config, options.recordTo) : undefined;
    const holds = new UnplugHolds();
    const camerasDown = new Set<string>();
    let faults: FaultInjector | undefined;
    const results: TruckResult[] = [];
    const anomalies: string[] = [];
    // Yard mode: the trucks' own papers, planned before central starts so it serves them from the first page.
    const fittedPlan = fitPlanToRpms(
        planScenario(scenario),
        new Set(inspection.rpms.keys()),
        expectedDecision(scenario, "clean"),
    );
    const yardPlan = yard ? planYard(scenario, yard, fittedPlan.plan) : undefined;
    let watch: YardWatch | undefined;
    try {
        await central.start();
        if (yardPlan) central.addClearance(yardPlan.feed, `scenario-${scenario.name}-yard`);
        await bench.startDeviceSide();
        await gate.start();
        await bench.connect(gate.addresses);
        const kits = new Map(scenario.lanes.map((lane) => [lane, laneKit(bench, lane, camerasDown)] as const));
        const exitCameras = (config.inspection?.exits ?? []).flatMap((exit) => {
            const entry = bench.devices.get(exit.camera);
            return entry ? cameraOf(entry, camerasDown) : [];
        });
        watch = yard ? new YardWatch(gate.bus, new Set(exitCameras.map((camera) => camera.deviceId))) : undefined;
        const yardNumbers = (yardPlan?.feed ?? []).flatMap((item) =>
            item.type === "declaration" ? [item.declaration.number] : [],
        );
        await waitReady(gate, bench, scenario, inspection, observer, options.signal, yardNumbers);
        log.info({ url: gate.addresses.http }, "bench ready; trucks start");

        // ---- trucks and faults -----------------------------------------------------------------
        const plan = yardPlan ? yardPlan.trucks.map((y) => y.truck) : fittedPlan.plan;
        anomalies.push(...fittedPlan.notes);
        const arrivals = planArrivals(scenario, plan);
        const timings: TruckTimings = {
            rampMs: clamp(4000 / speed, 200, 4000),
            settleMs: clamp(1500 / speed, 100, 1500),
            // Loop pulses well above the gate's OPC UA sampling interval (100 ms): a shorter one may be
            // sampled or not, and a replay of the run would then see other loop changes.
            underBoomMs: clamp(1500 / speed, 300, 1500),
            exitClearMs: clamp(800 / speed, 300, 800),
            gapMs: config.ingest.duplicateWindowMs + 150,
            readsWaitMs: 2000,
            decisionTimeoutMs: (Math.max(config.rules.identifySeconds, config.rules.weighSeconds) + 10) * 1000,
            barrierWaitMs: 6000,
            completeTimeoutMs: 10_000,
            inspectionWaitMs: 15_000,
        };
        const lanesDone = new Set<string>();
        const queues: Record<string, number> = yard
            ? Object.fromEntries(Object.keys(yard.groups).map((group) => [group, 0]))
            : Object.fromEntries(scenario.lanes.map((lane) => [lane, 0]));
        /** Lanes a truck (or a closing) holds now: one truck at a lane at a time. */
        const busyLanes = new Set<string>();
        // While trucks run, each is judged with the faults recorded so far, as the report judges it at the end.
        const progress = () =>
            options.progress?.update({
                done: results.length,
                total: plan.length,
                ...verdictCounts(results.map((r) => truckVerdict(r, faults?.records ?? []))),
                queues,
                faultsInjected: faults?.records.filter((f) => f.injected).length ?? 0,
                faultsTotal: scenario.faults?.length ?? 0,
            });
        faults = new FaultInjector({
            gate,
            config,
            bench,
            central,
            clock,
            holds,
            camerasDown,
            speed,
            log: log.child({ component: "faults" }),
            elapsed,
            ballast,
            inspection,
            deviceStatus: (id) => observer.deviceStatus.get(id),
            busyLanes,
            laneClosedSeen: (laneId) => watch?.laneClosed(laneId) === true,
        });
        const trucksStart = performance.now();
        const trucksStartWall = Date.now();
        /** What each truck sent to inspection does after the lane (scan, exit attempt), by truck index. */
        const afterLane = new Map<number, Promise<InspectionVisit>>();
        let yardDone = false;
        faults.schedule(
            scenario.faults ?? [],
            () => (yardPlan ? !yardDone : lanesDone.size < scenario.lanes.length),
            progress,
        );
        progress();
        const ctx: DriveContext = {
            gate,
            observer,
            holds,
            timings,
            elapsed,
            log,
            anomalies,
            inspection,
            exitCamera: exitCameras[0],
            afterLane,
        };
        const yardResults: YardTruckResult[] = [];
        if (yardPlan && yard && watch) {
            const yardWatch = watch;
            const entryCamera = bench.devices.get(YARD_CAMERA);
            const yardCamera = entryCamera ? cameraOf(entryCamera, camerasDown)[0] : undefined;
            if (!yardCamera) throw new GateError("SIMULATOR_USAGE", "the generated gate has no simulated yard camera");
            const sampleQueues = () => {
                for (const group of Object.keys(yard.groups))
                    queues[group] = [...yardWatch.visits.values()].filter(
                        (v) => v.laneGroup === group && v.state === "QUEUED",
                    ).length;
            };
            // Every truck waits for its arrival at once, each with the run's abort signal.
            if (options.signal) setMaxListeners(yardPlan.trucks.length + 20, options.signal);
            await Promise.all(
                yardPlan.trucks.map(async (yardTruck) => {
                    if (options.signal?.aborted) return;
                    const due = trucksStart + yardTruck.arrivalMs / speed;
                    const wait = due - performance.now();
                    if (wait > 0) await sleep(wait, undefined, { signal: options.signal }).catch(() => undefined);
                    const outcome = await yardVisit(yardTruck, {
                        ...ctx,
                        watch: yardWatch,
                        yardCamera,
                        kits,
                        busyLanes,
                        driveToLaneMs: yard.driveToLaneMs / speed,
                        driveToExitMs: yard.driveToExitMs / speed,
                        signal: options.signal,
                    });
                    yardResults.push(outcome.yard);
                    if (outcome.lane) {
                        outcome.lane.queuedMs = Math.round(Math.max(0, outcome.laneStart - due));
                        outcome.lane.arrivalMs = yardTruck.arrivalMs;
                        results.push(outcome.lane);
                    }
                    sampleQueues();
                    progress();
                }),
            );
            yardDone = true;
        }
        await Promise.all(
            (yardPlan ? [] : scenario.lanes).map(async (lane) => {
                const kit = kits.get(lane) as LaneKit;
                const trucks = plan.filter((truck) => truck.lane === lane);
                for (const [n, truck] of trucks.entries()) {
                    if (options.signal?.aborted) break;
                    const due = trucksStart + (arrivals[truck.index] ?? 0) / speed;
                    const wait = due - performance.now();
                    if (wait > 0) await sleep(wait, undefined, { signal: options.signal }).catch(() => undefined);
                    queues[lane] = trucks
                        .slice(n + 1)
                        .filter((t) => trucksStart + (arrivals[t.index] ?? 0) / speed <= performance.now()).length;
                    const queuedMs = Math.max(0, performance.now() - due);
                    const result = await driveTruck(truck, kit, ctx);
                    result.queuedMs = Math.round(queuedMs);
                    result.arrivalMs = arrivals[truck.index] ?? 0;
                    results.push(result);
                    progress();
                }
                lanesDone.add(lane);
            }),
        );
        await faults.finish();
        const visits = new Map<number, InspectionVisit>();
        for (const [index, visit] of afterLane) visits.set(index, await visit);
        const trucksEnd = performance.now();
        // Scans that waited for the scanner's share are exported when it came back: give them their moment.
        const scansLanded = () =>
            results.every((r) => {
                const visit = visits.get(r.index);
                const truck = plan[r.index];
                if (!visit?.scanned || !truck?.xray || !visit.caseId) return true;
                return gate.inspections.get(visit.caseId)?.entries.some((e) => e.kind === "xray") === true;
            });
        await until(scansLanded, timings.inspectionWaitMs);
        await gate.inspections.settled();
        for (const result of results) {
            const truck = plan[result.index];
            if (!truck) continue;
            const visit = visits.get(result.index);
            result.inspection = checkTruckCase(
                truck,
                result.actual,
                result.passageId,
                (id) => gate.inspections.get(id),
                {
                    scanned: visit?.scanned === true,
                    exitTried: visit?.exitTried === true,
                },
            );
        }

        // ---- verdicts --------------------------------------------------------------------------
        for (const result of results) Object.assign(result, truckVerdict(result, faults.records));
        options.progress?.update(
            {
                done: results.length,
                total: plan.length,
                ...verdictCounts(results),
                queues,
                faultsInjected: faults.records.filter((f) => f.injected).length,
                faultsTotal: faults.records.length,
                note: "waiting for central to hold every event",
            },
            true,
        );

        // ---- central ---------------------------------------------------------------------------
        // After an outage the uplink may be waiting out its longest backoff before it tries again.
        const audit = await auditCentral(gate, central, config.gate.id, {
            timeoutMs: 30_000 + config.central.backoffMaxMs,
            signal: options.signal,
        });
        const sync = gate.sync.status();
        const passages = [...observer.passages.values()];
        const truckPassages = new Set(results.flatMap((r) => (r.passageId ? [r.passageId] : [])));
        // The exit lane's passages are the exit attempts, not trucks of the scenario.
        const unmatched = passages.filter((p) => scenario.lanes.includes(p.laneId) && !truckPassages.has(p.passageId));
        for (const p of unmatched) {
            anomalies.push(
                `passage ${p.passageId} in lane ${p.laneId} (${p.decision ?? "undecided"}) belongs to no truck`,
            );
        }
        // A passage decided when a window ran out (a read timed out, or a camera of the lane never read and
        // the identify window closed) measures the window, not the gate: it is counted apart.
        const onReads = (r: TruckResult): ObservedPassage | undefined => {
            const p = r.passageId ? observer.passages.get(r.passageId) : undefined;
            if (!p || p.timedOut.length > 0) return undefined;
            const roles = kits.get(r.lane)?.cameras.map((c) => c.role) ?? [];
            return roles.every((role) => p.plates[role]) ? p : undefined;
        };
        const decidedOnReads = results.flatMap((r) => {
            const latency = onReads(r)?.latencyMs;
            return latency === undefined ? [] : [latency];
        });
        const gateMeasured = results.flatMap((r) => {
            const latency = onReads(r)?.gateLatencyMs;
            return latency === undefined ? [] : [latency];
        });
        const report: ScenarioReport = {
            scenario: {
                name: scenario.name,
                file: options.scenarioFile,
                seed: scenario.seed,
                lanes: scenario.lanes,
                trucksPerHour: scenario.trucksPerHour ?? 60,
                speed,
            },
            config: options.configFile ?? "generated",
            gateId: config.gate.id,
            startedAt: startedAt.toISOString(),
            wallMs: Math.round(elapsed()),
            trucksWallMs: Math.round(trucksEnd - trucksStart),
            simulatedMs: Math.round((trucksEnd - trucksStart) * speed),
            workDir,
            planned: plan.length,
            decisions: decisionSummary(results, scenario.lanes),
            trucks: results.sort((a, b) => a.index - b.index),
            latency: {
                lastReadToCommand: summarise(decidedOnReads),
                gateMeasured: summarise(gateMeasured),
                decidedOnTimeout: results.filter((r) => r.passageId !== null && onReads(r) === undefined).length,
            },
            faults: faults.records,
            alerts: Object.fromEntries([...observer.alerts.entries()].sort()),
            central: audit,
            outbox: {
                pending: sync.backlog.reduce((sum, row) => sum + row.pending, 0),
                parked: sync.backlog.reduce((sum, row) => sum + row.parked, 0),
                byClass: Object.fromEntries(sync.backlog.map((row) => [row.class, row.pending])),
            },
            anomalies,
            recording: options.recordTo ?? null,
            inspection: inspectionSummary(results),
        };
        if (yard && watch) {
            const yardWatch = watch;
            for (const truck of yardResults) truck.state = yardWatch.visits.get(truck.visitId ?? "")?.state ?? null;
            report.yard = yardReport(
                yardWatch,
                yard,
                yardResults.sort((a, b) => a.index - b.index),
                {
                    startMs: trucksStartWall,
                    endMs: Date.now(),
                    speed,
                    timeZone: config.gate.timeZone,
                    policy: yard.policy,
                },
            );
        }
        return report;
    } finally {
        options.progress?.finish();
        await faults?.finish().catch(() => undefined);
        observer.detach();
        watch?.detach();
        await recorder?.close().catch(() => undefined);
        await bench.stop();
        await gate.stop();
        await central.stop();
    }
}

function laneKit(bench: ConfigSimulators, laneId: string, camerasDown: ReadonlySet<string>): LaneKit {
    const devices = bench.lane(laneId);
    const need = <T>(what: string, found: T | undefined): T => {
        if (found === undefined) {
            const skipped = devices.filter((d) => d.skipped).map((d) => `${d.device.id}: ${d.skipped}`);
            throw new GateError(
                "SIMULATOR_USAGE",
                `lane ${laneId} has no simulated ${what}${skipped.length > 0 ? ` (${skipped.join("; ")})` : ""}`,
            );
        }
        return found;
    };
    const scaleEntry = need(
        "weighbridge on a TCP serial server",
        devices.find((d) => d.scale && d.link),
    );
    const cameras = devices.flatMap((entry) => cameraOf(entry, camerasDown));
    need("plate camera", cameras[0]);
    const plcEntry = need(
        "lane PLC",
        devices.find((d) => d.plc),
    );
    return {
        laneId,
        scale: scaleEntry.scale as ScaleSimulator,
        scaleLink: scaleEntry.link as TcpSerialServer,
        scanner: need("scanner", devices.find((d) => d.scanner)?.scanner),
        seal: devices.find((d) => d.seal)?.seal,
        cameras,
        plc: plcEntry.plc as { sim: LanePlcSimulator; lane: string },
    };
}

/** The camera behind a device, as the runner makes it read (none when it is no simulated plate camera). */
function cameraOf(entry: SimulatedDevice, camerasDown: ReadonlySet<string>): SimulatedCamera[] {
    const role: "front" | "rear" = entry.device.role === "rear" ? "rear" : "front";
    const deviceId = entry.device.id;
    if (entry.onvif) {
        const camera = entry.onvif;
        return [
            {
                deviceId,
                role,
                // A camera with no live subscription (rebooting, or the gate not resubscribed yet) loses the read.
                read: async (text: string, confidence: number) =>
                    camera.plate({ text, likelihood: confidence, countryCode: "VN" }) > 0,
            },
        ];
    }
    if (entry.push) {
        const camera = entry.push;
        return [
            {
                deviceId,
                role,
                read: async (text: string, confidence: number) => {
                    if (camerasDown.has(deviceId)) return false;
                    const answer = await camera.push({ text, confidence, countryCode: "VN", withImages: true });
                    return answer.status === 200;
                },
            },
        ];
    }
    return [];
}

/**
 * Every simulated device of the scenario's lanes online, the inspection area's devices too (their stored
 * status: they have no device runtime), and the scenario's clearance data in the cache.
 */
async function waitReady(
    gate: Gate,
    bench: ConfigSimulators,
    scenario: ScenarioFile,
    inspection: ScenarioInspection,
    observer: GateObserver,
    signal: AbortSignal | undefined,
    /** Yard mode: every truck's own declaration. */
    moreNumbers: readonly string[],
): Promise<void> {
    const deadline = performance.now() + 45_000;
    const numbers = new Set([
        ...scenario.lanes.flatMap((lane) => {
            const d = scenario.declarations[lane];
            return [d?.green, d?.red, d?.yellow, d?.watched].flatMap((t) => (t ? [t.number] : []));
        }),
        ...moreNumbers,
    ]);
    for (;;) {
        const waitingFor: string[] = [];
        for (const lane of scenario.lanes) {
            for (const entry of bench.lane(lane)) {
                if (entry.skipped) continue;
                const status = gate.runtime(entry.device.id)?.health().status;
                if (status !== "online") waitingFor.push(`${entry.device.id} (${status ?? "unknown"})`);
            }
        }
        for (const deviceId of inspection.deviceIds) {
            const status = observer.deviceStatus.get(deviceId);
            if (status !== "online") waitingFor.push(`${deviceId} (${status ?? "unknown"})`);
        }
        const view = gate.clearance.view();
        const missing = [...numbers].filter((number) => !view.declaration(number));
        if (missing.length > 0)
            waitingFor.push(
                `clearance data for ${missing.length} declaration(s): ${missing.slice(0, 5).join(", ")}${missing.length > 5 ? ", …" : ""}`,
            );
        if (waitingFor.length === 0) return;
        if (signal?.aborted) throw new GateError("BENCH_NOT_READY", "stopped while waiting");
        if (performance.now() > deadline)
            throw new GateError("BENCH_NOT_READY", `still waiting for ${waitingFor.join(", ")}`);
        await sleep(100);
    }
}

interface DriveContext {
    gate: Gate;
    observer: GateObserver;
    holds: UnplugHolds;
    timings: TruckTimings;
    elapsed: () => number;
    log: Logger;
    anomalies: string[];
    inspection: ScenarioInspection;
    /** The exit point's camera, when the configuration has one. */
    exitCamera: SimulatedCamera | undefined;
    /** Where a truck sent to inspection leaves what it does after the lane (scan, exit attempt). */
    afterLane: Map<number, Promise<InspectionVisit>>;
}

/** What a truck sent to inspection did after the lane. */
interface InspectionVisit {
    caseId: string | undefined;
    /** Its package was exported (now or, the share away, once it was back). */
    scanned: boolean;
    /** It tried to leave through the exit point and the camera's read reached the gate. */
    exitTried: boolean;
}

async function until(check: () => boolean, timeoutMs: number, stepMs = 20): Promise<boolean> {
    const deadline = performance.now() + timeoutMs;
    while (!check()) {
        if (performance.now() > deadline) return false;
        await sleep(stepMs);
    }
    return true;
}

/** Waits at most `ms` for the promises; what has not settled by then is left to finish on its own. */
async function settleWithin(promises: Promise<unknown>[], ms: number): Promise<void> {
    await Promise.race([Promise.allSettled(promises), sleep(ms)]);
}

async function driveTruck(truck: TruckPlan, kit: LaneKit, ctx: DriveContext): Promise<TruckResult> {
    const { observer, timings, gate } = ctx;
    const { sim: plc, lane: prefix } = kit.plc;
    const startMs = ctx.elapsed();
    const passageIndex = observer.opened(kit.laneId);
    const result: TruckResult = {
        index: truck.index,
        lane: kit.laneId,
        kind: truck.kind,
        tractor: truck.tractor,
        declaration: truck.declaration,
        expect: truck.expect,
        actual: "NONE",
        verdict: "mismatch",
        passageId: null,
        reasons: [],
        timedOut: [],
        readsLost: [],
        barrier: "not-released",
        startMs: Math.round(startMs),
        endMs: 0,
        queuedMs: 0,
        arrivalMs: 0,
        faults: [],
    };
    const lost = (what: string) => (delivered: boolean) => {
        if (!delivered) result.readsLost.push(what);
    };
    const failed = (what: string) => (err: unknown) => {
        result.readsLost.push(`${what} (${errorMessage(err)})`);
    };

    // ---- the RPM on the approach ------------------------------------------------------------------
    const rpm = ctx.inspection.rpms.get(kit.laneId);
    if (rpm) {
        const stored = () => observer.readings.get(rpm.deviceId)?.get("radiation") ?? 0;
        const before = stored();
        await ctx.inspection.pass(kit.laneId, truck.rpm);
        if (!(await until(() => stored() > before, timings.inspectionWaitMs))) {
            ctx.anomalies.push(
                `truck ${truck.index} (${truck.kind}, lane ${kit.laneId}): its RPM occupancy was not stored within ${timings.inspectionWaitMs} ms`,
            );
        }
    }

    // ---- the truck pulls up and is read ---------------------------------------------------------
    plc.vehicleArrives(prefix);
    const reads: Promise<unknown>[] = [];
    for (const camera of kit.cameras) {
        const text = camera.role === "rear" ? truck.trailer : truck.tractor;
        const confidence = camera.role === "rear" ? 0.93 : 0.95;
        reads.push(camera.read(text, confidence).then(lost(camera.deviceId), failed(camera.deviceId)));
    }
    kit.scanner.scan(truck.declaration);
    if (truck.container) kit.scanner.scan(truck.container);
    // An e-seal reader's range reaches the queue, so gate-edge opens no passage on a seal alone: the seal
    // counts once the truck is in position (its passage open), as at a real lane.
    await until(() => observer.passageAt(kit.laneId, passageIndex) !== undefined, timings.readsWaitMs);
    if (truck.seal && kit.seal) {
        reads.push(
            kit.seal
                .read({
                    sealId: truck.seal.id,
                    type: "GPS",
                    status: truck.seal.status,
                    batteryPct: 80,
                    ...(truck.seal.container !== undefined && { container: truck.seal.container }),
                })
                .then(lost("seal"), failed("seal")),
        );
    }
    // Seals and plates are read as the truck rolls up, before it is weighed: give them their moment.
    await settleWithin(reads, timings.readsWaitMs);
    const dropout = truck.kind === "device-dropout";
    let weighed: Promise<unknown> = Promise.resolve();
    if (dropout) await ctx.holds.unplug(kit.scaleLink);
    else
        weighed = kit.scale
            .driveOn(truck.grossKg, { rampMs: timings.rampMs, settleMs: timings.settleMs })
            .catch(() => 0);

    // ---- the decision -------------------------------------------------------------------------------
    let passage: ObservedPassage | undefined;
    await until(() => {
        passage = observer.passageAt(kit.laneId, passageIndex);
        return passage?.decision !== undefined;
    }, timings.decisionTimeoutMs);
    if (passage) result.passageId = passage.passageId;
    if (passage?.decision) {
        result.actual = passage.decision;
        result.reasons = passage.reasons;
        result.timedOut = passage.timedOut;
        result.offline = passage.offline;
    } else {
        ctx.anomalies.push(
            `truck ${truck.index} (${truck.kind}, lane ${kit.laneId}): ${passage ? `passage ${passage.passageId} not decided` : "no passage opened"} within ${timings.decisionTimeoutMs} ms`,
        );
    }
    const decidedMs = ctx.elapsed();

    // ---- through the barrier, or back -----------------------------------------------------------
    const barrierOpen = () => {
        const state = plc.state(prefix).barrier;
        return state === "open";
    };
    if (passage && result.actual === "RELEASE") {
        let opened = await until(barrierOpen, timings.barrierWaitMs);
        if (opened) result.barrier = "opened";
        else {
            // The open command was lost (PLC restarting, watchdog fail-safe): the officer holds the truck and
            // releases it again from the dashboard, which sends a new open command.
            const officer = { officerId: "scenario-officer", role: "officer" as const };
            const note = "barrier did not open on the gate's command (scenario runner acting as the officer)";
            try {
                await gate.officerAction({
                    passageId: passage.passageId,
                    action: "hold",
                    reasonCode: "DEVICE_FAULT",
                    note,
                    ...officer,
                });
                await gate.officerAction({
                    passageId: passage.passageId,
                    action: "release",
                    reasonCode: "DEVICE_FAULT",
                    note,
                    ...officer,
                });
                opened = await until(barrierOpen, timings.barrierWaitMs * 2);
            } catch (err) {
                ctx.anomalies.push(`truck ${truck.index}: officer re-release failed: ${errorMessage(err)}`);
            }
            result.barrier = opened ? "opened-after-officer" : "never-opened";
            if (!opened) {
                await gate
                    .officerAction({
                        passageId: passage.passageId,
                        action: "hold",
                        reasonCode: "DEVICE_FAULT",
                        note,
                        ...officer,
                    })
                    .catch(() => undefined);
            }
        }
        if (opened) {
            await weighed;
            plc.vehicleUnderBoom(prefix, true);
            const off = dropout
                ? Promise.resolve()
                : kit.scale.driveOff({ rampMs: timings.rampMs, settleMs: timings.settleMs });
            await sleep(timings.underBoomMs);
            await plc.vehicleLeaves(prefix, timings.exitClearMs);
            await off;
        } else {
            plc.setLoop(prefix, "entry", false);
            await weighed;
            if (!dropout) await kit.scale.driveOff({ rampMs: timings.rampMs, settleMs: timings.settleMs });
        }
    } else {
        plc.setLoop(prefix, "entry", false);
        await weighed;
        if (!dropout) await kit.scale.driveOff({ rampMs: timings.rampMs, settleMs: timings.settleMs });
    }
    if (dropout) {
        await ctx.holds.plug(kit.scaleLink);
        kit.scale.setWeight(0, false);
        // The next truck needs a weighbridge the gate reads again.
        if (!(await until(() => kit.scaleLink.connected, 15_000, 50))) {
            ctx.anomalies.push(`truck ${truck.index}: the gate did not reconnect to the weighbridge within 15 s`);
        }
    }

    // ---- the lane is free again --------------------------------------------------------------------
    if (passage) {
        const closed = await until(() => passage?.completedAt !== undefined, timings.completeTimeoutMs);
        if (!closed) {
            ctx.anomalies.push(
                `truck ${truck.index} (${truck.kind}, lane ${kit.laneId}): passage ${passage.passageId} still open ${timings.completeTimeoutMs} ms after the truck left`,
            );
        }
    }
    result.endMs = Math.round(Math.max(decidedMs, ctx.elapsed()));
    if (passage && result.actual === "INSPECT")
        ctx.afterLane.set(truck.index, inspectionVisit(truck, passage.passageId, ctx));
    await sleep(timings.gapMs);
    ctx.log.debug({ truck: truck.index, lane: kit.laneId, expect: truck.expect, actual: result.actual }, "truck done");
    return result;
}

/** What a truck of a yard run needs besides the lane's (runner.ts DriveContext). */
interface YardDriveContext extends DriveContext {
    watch: YardWatch;
    yardCamera: SimulatedCamera;
    kits: ReadonlyMap<string, LaneKit>;
    busyLanes: Set<string>;
    /** Wall ms (the scenario's, divided by the speed). */
    driveToLaneMs: number;
    driveToExitMs: number;
    signal: AbortSignal | undefined;
}

/** How long the yard may call nobody at all before a waiting truck gives up (the call-forward stalled). */
const YARD_STALL_MS = 180_000;

/**
 * A truck's visit in yard mode: read by the yard camera, it waits for its call, drives to the lane it was
 * called to, waits there for the truck before it to leave, goes through the lane as any truck (driveTruck),
 * and, released, drives on to the exit point. A call that lapses while it waits (a no-show) sends it back to
 * wait for the next one.
 */
async function yardVisit(
    yardTruck: YardTruck,
    ctx: YardDriveContext,
): Promise<{ yard: YardTruckResult; lane?: TruckResult; laneStart: number }> {
    const { truck } = yardTruck;
    const yard: YardTruckResult = {
        index: truck.index,
        tractor: truck.tractor,
        group: yardTruck.group,
        goodsClass: yardTruck.goodsClass,
        visitId: null,
        lane: null,
        outcome: "NONE",
        state: null,
        exitRead: false,
    };
    const problem = (what: string) => {
        ctx.anomalies.push(`truck ${truck.index} (${truck.kind}, ${truck.tractor}): ${what}`);
        return { yard, laneStart: 0 };
    };
    if (!(await ctx.yardCamera.read(truck.tractor, 0.95).catch(() => false)))
        return problem("the yard camera's read did not reach the gate");
    if (!(await until(() => ctx.watch.visitOf(truck.tractor) !== undefined, ctx.timings.inspectionWaitMs)))
        return problem(`no visit opened within ${ctx.timings.inspectionWaitMs} ms of the yard camera's read`);
    yard.visitId = ctx.watch.visitOf(truck.tractor)?.visitId ?? null;
    // Set inside the wait's check, which runs synchronously: no other truck takes the lane in between.
    const at: { lane?: string } = {};
    while (at.lane === undefined) {
        const visit = await waitForCall(ctx.watch, truck.tractor, { stallMs: YARD_STALL_MS, signal: ctx.signal });
        const calledTo = visit?.calledTo;
        if (!visit || calledTo === undefined)
            return problem(`never called to a lane (the yard called nobody for ${YARD_STALL_MS / 1000} s)`);
        await sleep(ctx.driveToLaneMs);
        const settled = await until(() => {
            if (visit.calledTo !== calledTo) return true;
            if (ctx.busyLanes.has(calledTo)) return false;
            ctx.busyLanes.add(calledTo);
            at.lane = calledTo;
            return true;
        }, YARD_STALL_MS);
        if (!settled) return problem(`lane ${calledTo} was not free within ${YARD_STALL_MS / 1000} s of its call`);
    }
    const laneId = at.lane;
    const kit = ctx.kits.get(laneId);
    if (!kit) {
        ctx.busyLanes.delete(laneId);
        return problem(`called to ${laneId}, which is none of the scenario's lanes`);
    }
    yard.lane = laneId;
    const laneStart = performance.now();
    let result: TruckResult;
    try {
        result = await driveTruck({ ...truck, lane: laneId }, kit, ctx);
    } finally {
        ctx.busyLanes.delete(laneId);
    }
    yard.outcome = result.actual;
    const through = result.barrier === "opened" || result.barrier === "opened-after-officer";
    if (result.actual === "RELEASE" && through && ctx.exitCamera) {
        await sleep(ctx.driveToExitMs);
        yard.exitRead = await ctx.exitCamera.read(truck.tractor, 0.95).catch(() => false);
        const visitId = yard.visitId ?? "";
        if (!yard.exitRead) problem("the exit camera's read did not reach the gate");
        else if (!(await until(() => ctx.watch.visits.get(visitId)?.state === "CLOSED", ctx.timings.inspectionWaitMs)))
            problem(
                `its visit ${visitId} was not closed ${ctx.timings.inspectionWaitMs} ms after the exit camera's read`,
            );
    }
    return { yard, lane: result, laneStart };
}

/**
 * A truck sent to inspection after it left the lane: scanned in the inspection area (its scan waits when
 * the scanner's share is away), then at the exit point, where it must be refused while its case is open.
 */
async function inspectionVisit(truck: TruckPlan, passageId: string, ctx: DriveContext): Promise<InspectionVisit> {
    const { gate, observer, timings } = ctx;
    const caseId = caseIdOf(passageId);
    const visit: InspectionVisit = { caseId: undefined, scanned: false, exitTried: false };
    const problem = (what: string) =>
        ctx.anomalies.push(`truck ${truck.index} (${truck.kind}, lane ${truck.lane}): ${what}`);
    if (!(await until(() => gate.inspections.get(caseId) !== undefined, timings.inspectionWaitMs))) return visit;
    visit.caseId = caseId;
    if (truck.xray) {
        const scan = await ctx.inspection
            .scan({
                result: truck.xray,
                plates: [truck.tractor, truck.trailer],
                containers: truck.container ? [truck.container] : [],
            })
            .catch((err: unknown) => {
                problem(`its X-ray package could not be exported: ${errorMessage(err)}`);
                return "failed" as const;
            });
        visit.scanned = scan === "scanned" || scan === "waiting";
        if (scan === "scanned") {
            const landed = () => gate.inspections.get(caseId)?.entries.some((e) => e.kind === "xray") === true;
            if (!(await until(landed, timings.inspectionWaitMs))) problem(`its scan did not reach case ${caseId}`);
        }
    }
    const camera = ctx.exitCamera;
    if (camera) {
        visit.exitTried = await camera.read(truck.tractor, 0.95).catch(() => false);
        if (!visit.exitTried) problem(`the exit camera's read of ${truck.tractor} did not reach the gate`);
        else await until(() => observer.exits.get(caseId)?.includes("refused") === true, timings.inspectionWaitMs);
    }
    return visit;
}
