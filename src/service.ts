import type { Logger } from "pino";
import { loadConfig } from "./config/load.ts";
import type { GateConfig } from "./config/types.ts";
import { errorMessage, isGateError } from "./core/errors.ts";
import { type GateEvent, isEventOf } from "./core/events.ts";
import { createLogger, wantsPrettyLog } from "./core/logger.ts";
import { routeOpcuaLogs } from "./core/opcuaLog.ts";
import { SdNotify } from "./core/sdNotify.ts";
import { Gate, type GateAddresses } from "./gate.ts";

/** A stop must be over within this; systemd's TimeoutStopSec in deploy/gate-edge.service leaves room above it. */
export const STOP_DEADLINE_MS = 10_000;
/** How often `systemctl status` gets a fresh line (lanes ready, backlog). */
const STATUS_EVERY_MS = 10_000;

/**
 * What a command runs beside the gate in the same process (`start --with-simulators`: the demo's central and
 * simulated devices, simulators/demo.ts): the service only calls it at its moments, it knows nothing of it.
 */
export interface GateCompanion {
    /** Before the gate starts: what the gate dials must listen by then. */
    start(log: Logger): Promise<void>;
    /** Once the gate listens. */
    connect(gate: Gate, addresses: GateAddresses): Promise<void>;
    /** The stop begins: no new work, before the gate stops. */
    quiesce(): void;
    /** After the gate has stopped, so it sees nothing drop out. */
    stop(): Promise<void>;
}

export interface RunGateOptions {
    file: string;
    config: GateConfig;
    companion?: GateCompanion;
    pretty: boolean;
    out: (line: string) => void;
    err: (line: string) => void;
}

function statusLine(gate: Gate): string {
    const lanes = gate.readiness();
    const ready = lanes.filter((lane) => lane.ready).length;
    let backlog = "";
    try {
        const waiting = gate.sync.status(0).backlog.reduce((sum, row) => sum + row.pending + row.parked, 0);
        backlog = `, ${waiting} event(s) waiting for central`;
    } catch {
        // Sync not running (stopping): the lanes are what matters.
    }
    return `${gate.configuration.gate.id}: ${ready}/${lanes.length} lane(s) ready${backlog}`;
}

/**
 * `gate-edge start`: runs a gate until SIGTERM or SIGINT, as a systemd service (Type=notify, watchdog) or
 * in a terminal. SIGHUP reloads the configuration file. Exit codes: 0 stopped cleanly, 1 could not start
 * or the stop overran its deadline, 130 a second signal cut the stop short.
 */
export async function runGate(options: RunGateOptions): Promise<number> {
    const { file, config, companion, out, err } = options;
    const log = createLogger({ pretty: options.pretty || wantsPrettyLog() });
    routeOpcuaLogs(log);
    const notify = new SdNotify({ log: log.child({ component: "systemd" }) });
    const gate = new Gate({ config, log });
    // One line per lane decision: what a person at the console (or reading the journal) wants to see.
    const decisions = log.child({ component: "lane" });
    gate.bus.on("committed", decisions, (event) => {
        const entry = decisionLogEntry(event);
        if (entry) decisions.info(entry.fields, entry.message);
    });
    const startedAt = performance.now();
    // Listening from the first moment: a stop asked for during the start waits for it, then stops cleanly.
    const stopSignal = new Promise<NodeJS.Signals>((resolve) => {
        process.once("SIGINT", () => resolve("SIGINT"));
        process.once("SIGTERM", () => resolve("SIGTERM"));
    });
    // SIGHUP's default is to end the process: a reload asked for during the start runs once it is up.
    let reloadAsked = false;
    const earlyHangup = (): void => {
        reloadAsked = true;
    };
    process.on("SIGHUP", earlyHangup);
    try {
        await companion?.start(log);
        const addresses = await gate.start();
        await companion?.connect(gate, addresses);
        out(`gate-edge ${config.gate.id} is running`);
        out(`  API:   ${addresses.http}/api/v1/health   (dashboard: ${addresses.http}/)`);
        if (addresses.mqtt) out(`  MQTT:  ${addresses.mqtt}`);
        if (addresses.push) out(`  push:  ${addresses.push}   (camera push receiver)`);
        out(`  store: ${config.storage.path}`);
        out("  stop with Ctrl+C; reload the configuration with SIGHUP (systemctl reload gate-edge)");
        log.info({ startupMs: Math.round(performance.now() - startedAt) }, "lanes started and API listening");
        void notify.ready(statusLine(gate));
    } catch (error) {
        err(`gate-edge could not start: ${errorMessage(error)}`);
        log.error({ err: errorMessage(error) }, "gate-edge could not start");
        await gate.stop();
        await companion?.stop();
        process.off("SIGHUP", earlyHangup);
        return 1;
    }

    const statusTimer = setInterval(() => notify.status(statusLine(gate)), STATUS_EVERY_MS);
    statusTimer.unref();
    const onHangup = (): void => void reload(file, gate, notify, log);
    process.on("SIGHUP", onHangup);
    process.off("SIGHUP", earlyHangup);
    if (reloadAsked) onHangup();
    const signal = await stopSignal;
    process.off("SIGHUP", onHangup);
    clearInterval(statusTimer);
    return stopGate({ signal, gate, companion, notify, log, out });
}

/**
 * The stop: device input first, then what is in hand committed, then sync (see Gate.stop()), all within
 * STOP_DEADLINE_MS. A part that hangs past it does not keep the gate from exiting (non-zero, with a line
 * saying so): everything acknowledged is on disk by then, and systemd restarts the service. A second
 * SIGINT/SIGTERM ends the stop at once, for the same reason.
 */
async function stopGate(parts: {
    signal: NodeJS.Signals;
    gate: Gate;
    companion: GateCompanion | undefined;
    notify: SdNotify;
    log: Logger;
    out: (line: string) => void;
}): Promise<number> {
    const { signal, gate, notify, log, out } = parts;
    const began = performance.now();
    out("stopping…");
    log.info({ signal }, "stopping: device input first, then commit what is in hand, then sync");
    void notify.stopping();
    const deadline = setTimeout(() => {
        log.fatal(
            { deadlineMs: STOP_DEADLINE_MS },
            "the stop did not finish in time; exiting anyway (everything acknowledged is committed)",
        );
        process.exit(1);
    }, STOP_DEADLINE_MS);
    const force = (second: NodeJS.Signals): void => {
        log.warn({ signal: second }, "second signal: exiting now (everything acknowledged is committed)");
        process.exit(130);
    };
    process.once("SIGINT", force);
    process.once("SIGTERM", force);
    try {
        // The gate goes first, so it does not see its (simulated) devices drop out one by one and warn.
        parts.companion?.quiesce();
        await gate.stop();
        await parts.companion?.stop();
    } finally {
        clearTimeout(deadline);
        process.off("SIGINT", force);
        process.off("SIGTERM", force);
        notify.close();
    }
    log.info({ stopMs: Math.round(performance.now() - began) }, "stopped");
    // A library that left a socket or timer behind must not keep a stopped gate alive.
    setTimeout(() => process.exit(process.exitCode ?? 0), 1000).unref();
    return 0;
}

/** SIGHUP: read the file again and apply what a running gate can take; say plainly what needs a restart. */
async function reload(file: string, gate: Gate, notify: SdNotify, log: Logger): Promise<void> {
    const reloadLog = log.child({ component: "reload" });
    void notify.reloading();
    try {
        let next: GateConfig;
        try {
            next = loadConfig(file);
        } catch (error) {
            const details = isGateError(error) ? error.details : [];
            reloadLog.error(
                { file, errors: details, err: errorMessage(error) },
                "configuration NOT reloaded: the file has errors; the gate keeps running on the configuration it has",
            );
            return;
        }
        const report = await gate.reload(next);
        if (report.restartNeeded.length > 0) {
            reloadLog.warn(
                { restartNeeded: report.restartNeeded },
                `restart needed for: ${report.restartNeeded.join(", ")} (running on the old values until systemctl restart gate-edge)`,
            );
        }
        if (report.deferred.length > 0) {
            reloadLog.warn(
                { deferred: report.deferred },
                `not applied yet, a truck is in the lane: ${report.deferred.join(", ")} (reload again when the lane is idle)`,
            );
        }
        reloadLog.info(
            { applied: report.applied, revision: report.revision },
            report.applied.length > 0
                ? `configuration reloaded: ${report.applied.join(", ")}`
                : "configuration reloaded: nothing a running gate can apply changed",
        );
    } catch (error) {
        reloadLog.error({ err: errorMessage(error) }, "configuration reload failed; the gate keeps running");
    } finally {
        void notify.reloaded(statusLine(gate));
    }
}

/**
 * The log line of a lane decision, from its committed `passage.decided` event: outcome, plates and the
 * reason of the rule that decided it, e.g. "HOLD 14C-301.72 / 14R-030.17 — declaration 305551234130 …".
 */
export function decisionLogEntry(event: GateEvent): { fields: Record<string, unknown>; message: string } | undefined {
    if (!isEventOf(event, "passage.decided")) return undefined;
    const { passageId, facts, decision } = event.data;
    const plates = [facts.frontPlate?.text, facts.rearPlate?.text].filter((plate) => plate !== undefined);
    const deciding =
        decision.results.find((result) => result.rule === decision.decidingRule) ??
        decision.results.find((result) => !result.pass);
    const reason = deciding ? deciding.reason : "every rule passed";
    const offline = decision.offline ? " (decided offline, on cached clearance data)" : "";
    return {
        fields: { laneId: event.laneId, passageId, decision: decision.decision, plates, reason },
        message: `${decision.decision} ${plates.length > 0 ? plates.join(" / ") : "(no plate read)"} — ${reason}${offline}`,
    };
}
