/**
 * The command lines of whole-gate runs:
 *
 *   gate-edge simulate gate --scenario FILE [--config FILE] [--speed N] [--report FILE] [--record FILE] ...
 *   gate-edge simulate gate --replay FILE [--config FILE] [--clearance FILE | --scenario FILE] [--speed N] ...
 *   gate-edge record --config FILE --out FILE [--duration 10m] [--with-simulators]
 *
 * Exit codes of `simulate gate`: 0 every truck got its ground truth (or was held while a fault touched its
 * lane) and central holds every event the gate stored (replay: the run completed and central holds every
 * event); 1 otherwise, or the run failed; 2 bad arguments or an invalid scenario / recording / config.
 * `record`: 0 recorded, 1 the gate failed, 2 bad arguments or config.
 */
import { createWriteStream, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { loadConfig } from "../../src/config/load.ts";
import type { GateConfig } from "../../src/config/types.ts";
import { errorMessage, GateError, isGateError } from "../../src/core/errors.ts";
import { createLogger } from "../../src/core/logger.ts";
import { quietOpcuaStartup, routeOpcuaLogs } from "../../src/core/opcuaLog.ts";
import type { ClearanceSourceSpec } from "../central/feed.ts";
import { YARD_POLICIES, type YardPolicy } from "../scenario.ts";
import { ProgressBar } from "./progress.ts";
import type { ReplayReport } from "./replay.ts";

export interface GateCommandIo {
    stdout: { write(text: string): unknown };
    stderr: { write(text: string): unknown; isTTY?: boolean };
    signal?: AbortSignal;
}

const GATE_OPTIONS = {
    scenario: { type: "string" },
    replay: { type: "string" },
    config: { type: "string" },
    clearance: { type: "string" },
    "central-db": { type: "string" },
    speed: { type: "string" },
    seed: { type: "string" },
    report: { type: "string" },
    record: { type: "string" },
    "work-dir": { type: "string" },
    keep: { type: "boolean" },
    "progress-every": { type: "string" },
    policy: { type: "string" },
    "compare-policies": { type: "boolean" },
    help: { type: "boolean", short: "h" },
} as const;

export function gateUsage(): string {
    return [
        "gate-edge simulate gate --scenario <file> [options]   a whole gate: trucks, faults, a report",
        "gate-edge simulate gate --replay <file> [options]     play a recording (gate-edge record) into a fresh gate",
        "  --scenario <file>      whole-gate scenario (YAML; config/scenarios/*.yaml). With --replay: the clearance",
        "                         data the bench central serves (the scenario's declarations)",
        "  --replay <file>        a recording made by `gate-edge record` (or --record)",
        "  --config <file>        run the gate from this config (devices on 127.0.0.1, e.g. config/demo.yaml; its",
        "                         database is left alone) instead of a generated one",
        "  --clearance <file>     with --replay: a clearance file (config/clearance-demo.yaml format) central serves",
        "  --central-db <file>    the central simulator's SQLite store (default: in the work dir)",
        "  --speed <n>            time compression (scenario: default its `speed`; replay: default 1 = recorded pace)",
        "  --seed <n>             plan other trucks than the scenario's seed does",
        "  --report <file>        also write the report as JSON",
        "  --record <file>        with --scenario: record the gate's raw device traffic (for --replay)",
        "  --work-dir <dir>       the gate's database, PKI, central store and run.log (default: a temp dir, kept when",
        "  --keep                 the run fails or with --keep)",
        "  --progress-every <s>   progress line interval when stderr is not a terminal (default 5)",
        "  --policy <p>           a yard scenario: the queue policy (fifo, slot, perishablesFirst) instead of its own",
        "  --compare-policies     a yard scenario: run it under fifo, then perishablesFirst, and print the difference",
        "                         in waiting time (arrived → called) per goods class",
        "Exit: 0 every decision matched its ground truth and central holds every event; 1 otherwise; 2 bad input.",
        "",
    ].join("\n");
}

/** `gate-edge simulate gate ...`. Never throws; returns the exit code. */
export async function runGateCommand(argv: string[], io: GateCommandIo): Promise<number> {
    let values: ReturnType<typeof parseGateArgs>;
    try {
        values = parseGateArgs(argv);
    } catch (err) {
        io.stderr.write(`gate-edge simulate gate: ${errorMessage(err)}\n${gateUsage()}`);
        return 2;
    }
    if (values.help) {
        io.stdout.write(gateUsage());
        return 0;
    }
    let speed: number | undefined;
    let seed: number | undefined;
    let progressEvery = 5;
    try {
        if (values.scenario === undefined && values.replay === undefined) {
            throw new GateError("SIMULATOR_USAGE", "give --scenario <file> or --replay <file>");
        }
        if (values.replay !== undefined && values.record !== undefined) {
            throw new GateError("SIMULATOR_USAGE", "--record goes with --scenario");
        }
        if (values.replay !== undefined && values.clearance !== undefined && values.scenario !== undefined) {
            throw new GateError("SIMULATOR_USAGE", "with --replay give --clearance or --scenario, not both");
        }
        if (values.replay === undefined && values.clearance !== undefined) {
            throw new GateError("SIMULATOR_USAGE", "--clearance goes with --replay (a scenario serves its own)");
        }
        speed = positive("--speed", values.speed);
        const seedValue = values.seed === undefined ? undefined : Number(values.seed);
        if (seedValue !== undefined && !Number.isInteger(seedValue)) {
            throw new GateError("SIMULATOR_USAGE", `--seed must be an integer, got ${values.seed}`);
        }
        seed = seedValue;
        progressEvery = positive("--progress-every", values["progress-every"]) ?? 5;
        if (values.policy !== undefined && !(YARD_POLICIES as readonly string[]).includes(values.policy))
            throw new GateError("SIMULATOR_USAGE", `--policy must be one of ${YARD_POLICIES.join(", ")}`);
        if (values.replay !== undefined && (values.policy !== undefined || values["compare-policies"]))
            throw new GateError("SIMULATOR_USAGE", "--policy and --compare-policies go with --scenario");
        if (values.policy !== undefined && values["compare-policies"])
            throw new GateError("SIMULATOR_USAGE", "give --policy or --compare-policies, not both");
    } catch (err) {
        io.stderr.write(`gate-edge simulate gate: ${errorMessage(err)}\n`);
        return 2;
    }

    quietOpcuaStartup();
    // Loaded only now, so node-opcua (under the PLC simulator) starts with its start-up warnings quieted.
    const { runGateScenario } = await import("./runner.ts");
    const { replayRecording } = await import("./replay.ts");
    const { renderScenarioReport, scenarioExitCode } = await import("./report.ts");
    const workDir = values["work-dir"] ? resolve(values["work-dir"]) : mkdtempSync(join(tmpdir(), "gate-edge-run-"));
    mkdirSync(workDir, { recursive: true });
    const logFile = join(workDir, "run.log");
    const logStream = createWriteStream(logFile, { flags: "a" });
    // Never ended: a driver's late callback may still log while the gate winds down, and a log line must
    // not crash the process; Node flushes the stream before it exits.
    logStream.on("error", () => undefined);
    const log = createLogger({ destination: logStream });
    routeOpcuaLogs(log);
    const progress = new ProgressBar(io.stderr, progressEvery * 1000);
    const controller = new AbortController();
    const forward = () => controller.abort();
    io.signal?.addEventListener("abort", forward, { once: true });
    let exitCode = 1;
    try {
        if (values.replay !== undefined) {
            const clearance: ClearanceSourceSpec | undefined =
                values.clearance !== undefined
                    ? { file: values.clearance }
                    : values.scenario !== undefined
                      ? { scenario: values.scenario }
                      : undefined;
            const report = await replayRecording({
                file: values.replay,
                ...(values.config !== undefined && { configFile: values.config }),
                ...(clearance && { clearance }),
                ...(values["central-db"] !== undefined && { centralDb: values["central-db"] }),
                ...(speed !== undefined && { speed }),
                workDir,
                log,
                progress,
                signal: controller.signal,
            });
            io.stdout.write(renderReplayReport(report));
            if (values.report) writeFileSync(values.report, `${JSON.stringify(report, null, 2)}\n`);
            exitCode = report.central === null || report.central.holdsEveryEvent ? 0 : 1;
        } else if (values["compare-policies"]) {
            const { renderPolicyComparison } = await import("./yard.ts");
            const reports = [];
            for (const policy of COMPARED_POLICIES) {
                const runDir = join(workDir, policy);
                mkdirSync(runDir, { recursive: true });
                reports.push(
                    await runGateScenario({
                        scenarioFile: values.scenario as string,
                        ...(speed !== undefined && { speed }),
                        ...(seed !== undefined && { seed }),
                        policy,
                        workDir: runDir,
                        log: log.child({ policy }),
                        progress,
                        signal: controller.signal,
                    }),
                );
            }
            for (const report of reports) io.stdout.write(`${renderScenarioReport(report)}\n`);
            const [first, second] = reports;
            if (first?.yard && second?.yard) io.stdout.write(renderPolicyComparison(first.yard, second.yard));
            if (values.report) writeFileSync(values.report, `${JSON.stringify({ runs: reports }, null, 2)}\n`);
            exitCode = Math.max(...reports.map(scenarioExitCode));
        } else {
            const report = await runGateScenario({
                scenarioFile: values.scenario as string,
                // Checked against YARD_POLICIES with the other arguments.
                ...(values.policy !== undefined && { policy: values.policy as YardPolicy }),
                ...(values.config !== undefined && { configFile: values.config }),
                ...(values["central-db"] !== undefined && { centralDb: values["central-db"] }),
                ...(speed !== undefined && { speed }),
                ...(seed !== undefined && { seed }),
                ...(values.record !== undefined && { recordTo: values.record }),
                workDir,
                log,
                progress,
                signal: controller.signal,
            });
            io.stdout.write(renderScenarioReport(report));
            if (values.report) writeFileSync(values.report, `${JSON.stringify(report, null, 2)}\n`);
            exitCode = scenarioExitCode(report);
        }
    } catch (err) {
        const usageError =
            isGateError(err, "SCENARIO_INVALID") ||
            isGateError(err, "SCENARIO_UNREADABLE") ||
            isGateError(err, "RECORDING_INVALID") ||
            isGateError(err, "CONFIG_INVALID") ||
            isGateError(err, "CONFIG_UNREADABLE") ||
            isGateError(err, "CLEARANCE_INVALID") ||
            isGateError(err, "CLEARANCE_UNREADABLE") ||
            isGateError(err, "SIMULATOR_USAGE");
        io.stderr.write(`gate-edge simulate gate: ${errorMessage(err)}\n`);
        if (isGateError(err)) for (const line of err.details) io.stderr.write(`  ${line}\n`);
        exitCode = usageError ? 2 : 1;
        log.error({ err: errorMessage(err) }, "whole-gate run failed");
    } finally {
        io.signal?.removeEventListener("abort", forward);
    }
    // A run that passed, or never started (bad input), leaves nothing behind unless asked to.
    if ((exitCode === 0 || exitCode === 2) && !values.keep && !values["work-dir"]) {
        rmSync(workDir, { recursive: true, force: true });
    } else io.stderr.write(`work dir (gate database, central store, run.log): ${workDir}\n`);
    return exitCode;
}

/** The policies --compare-policies runs, in this order: the baseline first. */
const COMPARED_POLICIES: readonly YardPolicy[] = ["fifo", "perishablesFirst"];

function parseGateArgs(argv: string[]) {
    try {
        return parseArgs({ args: argv, options: GATE_OPTIONS, strict: true, allowPositionals: false }).values;
    } catch (err) {
        throw new GateError("SIMULATOR_USAGE", errorMessage(err));
    }
}

function positive(name: string, text: string | undefined): number | undefined {
    if (text === undefined) return undefined;
    const value = Number(text);
    if (!(Number.isFinite(value) && value > 0))
        throw new GateError("SIMULATOR_USAGE", `${name} must be a number > 0, got ${text}`);
    return value;
}

export function renderReplayReport(report: ReplayReport): string {
    const lines: string[] = [];
    const r = report.recording;
    lines.push(
        `Replay of ${r.file}: gate ${r.gateId}, recorded ${r.startedAt}, ${(r.durationMs / 1000).toFixed(1)} s, ${r.frames} frames${r.complete ? "" : " (no end line: the recorder stopped abruptly)"}`,
    );
    lines.push(
        `  into a fresh gate (config ${report.config}) at ×${report.speed}: ${(report.wallMs / 1000).toFixed(1)} s`,
    );
    const sum = (table: Record<string, number>) => Object.values(table).reduce((a, b) => a + b, 0);
    lines.push(
        `  frames played back: ${sum(report.replayed)} (${Object.entries(report.replayed)
            .map(([d, n]) => `${d} ${n}`)
            .join(", ")})`,
    );
    if (sum(report.skipped) > 0) {
        lines.push(`  frames skipped: ${sum(report.skipped)}`);
        for (const [why, n] of Object.entries(report.skipped)) lines.push(`    ${n} × ${why}`);
    }
    if (sum(report.undelivered) > 0) {
        lines.push(`  frames the bench could not deliver: ${sum(report.undelivered)}`);
        for (const [why, n] of Object.entries(report.undelivered)) lines.push(`    ${n} × ${why}`);
    }
    lines.push("  readings (device: kind replayed / recorded):");
    const devices = [
        ...new Set([...Object.keys(report.readings), ...Object.keys(report.recordedReadings ?? {})]),
    ].sort();
    for (const device of devices) {
        const replayed = report.readings[device] ?? {};
        const recorded = report.recordedReadings?.[device] ?? {};
        const kinds = [...new Set([...Object.keys(replayed), ...Object.keys(recorded)])].sort();
        lines.push(
            `    ${device}: ${kinds.map((k) => `${k} ${replayed[k] ?? 0}${report.recordedReadings ? `/${recorded[k] ?? 0}` : ""}`).join(", ")}`,
        );
    }
    lines.push(
        report.recordedReadings === null
            ? "  (the recording has no end line with the recorded readings to compare)"
            : report.readingDifferences.length === 0
              ? "  the bench gate made the same readings as the recording gate"
              : `  DIFFERENT readings: ${report.readingDifferences.join("; ")}` +
                (report.readingDifferences.every((line) => / barrier: /.test(line))
                    ? " (barrier states are the bench PLC's own answers to the bench gate's commands, sampled over OPC UA)"
                    : ""),
    );
    const decisions = new Map<string, number>();
    for (const p of report.passages)
        decisions.set(p.decision ?? "undecided", (decisions.get(p.decision ?? "undecided") ?? 0) + 1);
    lines.push(
        `  passages: ${report.passages.length} (${[...decisions.entries()].map(([d, n]) => `${d} ${n}`).join(", ") || "none"})`,
    );
    if (report.central) {
        const c = report.central;
        lines.push(
            `  central holds ${c.held} of the bench gate's ${c.gateEvents} events${c.holdsEveryEvent ? "" : ` — ${c.missing} MISSING`}`,
        );
    }
    return `${lines.join("\n")}\n`;
}

// ---------------------------------------------------------------------------------------------------
// gate-edge record

const RECORD_OPTIONS = {
    config: { type: "string" },
    out: { type: "string" },
    duration: { type: "string" },
    "with-simulators": { type: "boolean" },
    help: { type: "boolean", short: "h" },
} as const;

export function recordUsage(): string {
    return [
        "gate-edge record --config <file> --out <file> [--duration 10m] [--with-simulators]",
        "  runs the gate from <file> (in this process; stop the gate's service first) and writes every raw frame its",
        "  devices send, with its time, to <file> as JSON lines (format: simulators/gate/record.ts). Stops after",
        "  --duration (500ms, 30s, 10m, 1h) or on Ctrl-C. Replay it on a bench: gate-edge simulate gate --replay <file>.",
        "  --with-simulators      also run the demo simulators the config points at (as `start --with-simulators`)",
        "  The recording holds plates and plate images: personal data, kept and shared like the gate's database.",
        "",
    ].join("\n");
}

/** `gate-edge record ...`. Never throws; returns the exit code. */
export async function runRecordCommand(argv: string[], io: GateCommandIo): Promise<number> {
    let values: { config?: string; out?: string; duration?: string; "with-simulators"?: boolean; help?: boolean };
    let durationMs: number | undefined;
    try {
        values = parseArgs({ args: argv, options: RECORD_OPTIONS, strict: true, allowPositionals: false }).values;
        if (values.help) {
            io.stdout.write(recordUsage());
            return 0;
        }
        if (values.config === undefined || values.out === undefined) throw new Error("--config and --out are required");
        if (values.duration !== undefined) {
            const { parseScenarioDuration } = await import("../scenario.ts");
            durationMs = parseScenarioDuration(values.duration);
            if (durationMs === undefined || durationMs <= 0)
                throw new Error(`--duration must be like 30s or 10m, got ${values.duration}`);
        }
    } catch (err) {
        io.stderr.write(`gate-edge record: ${errorMessage(err)}\n${recordUsage()}`);
        return 2;
    }
    const configFile = values.config;
    let config: GateConfig;
    try {
        config = loadConfig(configFile);
    } catch (err) {
        io.stderr.write(`gate-edge record: ${errorMessage(err)}\n`);
        if (isGateError(err)) for (const line of err.details) io.stderr.write(`  ${line}\n`);
        return 2;
    }
    const log = createLogger({ destination: process.stderr, level: process.env.GATE_LOG_LEVEL ?? "warn" });
    const say = (line: string) => void io.stdout.write(`${line}\n`);
    quietOpcuaStartup();
    const { Gate } = await import("../../src/gate.ts");
    const { Recorder } = await import("./record.ts");
    if (config.lanes.some((lane) => lane.devices.some((d) => d.address.transport === "opcua"))) routeOpcuaLogs(log);
    const gate = new Gate({ config, log });
    let recorder: InstanceType<typeof Recorder>;
    try {
        recorder = new Recorder(gate, config, values.out);
    } catch (err) {
        io.stderr.write(`gate-edge record: ${values.out}: ${errorMessage(err)}\n`);
        return 2;
    }
    let simulators: import("../demo.ts").DemoSimulators | undefined;
    let central: { stop(): Promise<void> } | undefined;
    const controller = new AbortController();
    const stop = () => controller.abort();
    io.signal?.addEventListener("abort", stop, { once: true });
    if (!io.signal) {
        process.once("SIGINT", stop);
        process.once("SIGTERM", stop);
    }
    let exitCode = 0;
    try {
        if (values["with-simulators"]) {
            const demo = await import("../demo.ts");
            central = await demo.startDemoCentral(
                configFile,
                config,
                log.child({ component: "central-simulator" }),
                say,
            );
            simulators = await demo.startDemoSimulators(configFile, config, log.child({ component: "simulators" }));
        }
        const addresses = await gate.start();
        await simulators?.connect(addresses);
        say(
            `recording gate ${config.gate.id} to ${values.out}${durationMs ? ` for ${values.duration}` : ""}; stop with Ctrl+C`,
        );
        await (durationMs === undefined
            ? new Promise<void>((resolve) =>
                  controller.signal.addEventListener("abort", () => resolve(), { once: true }),
              )
            : sleep(durationMs, undefined, { signal: controller.signal }).catch(() => undefined));
    } catch (err) {
        io.stderr.write(`gate-edge record: ${errorMessage(err)}\n`);
        exitCode = 1;
    } finally {
        io.signal?.removeEventListener("abort", stop);
        process.off("SIGINT", stop);
        process.off("SIGTERM", stop);
        // The recording ends where the technician stopped it, before the shutdown's own disconnects.
        await recorder.close().catch((err: unknown) => {
            io.stderr.write(`gate-edge record: ${errorMessage(err)}\n`);
            exitCode = 1;
        });
        simulators?.stopTraffic();
        await gate.stop();
        await simulators?.stop();
        await central?.stop();
    }
    const byDevice = [...recorder.byDevice.entries()].map(([device, n]) => `${device} ${n}`).join(", ");
    say(`${recorder.frames} frame(s) recorded to ${values.out}${byDevice ? ` (${byDevice})` : ""}`);
    return exitCode;
}
