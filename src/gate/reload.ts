/**
 * Configuration reload (SIGHUP, `systemctl reload gate-edge`): rule parameters apply from the next
 * decision; a lane whose devices changed is rebuilt alone while every other lane keeps running; a lane with
 * a truck in it is left for a later reload; what a running gate cannot change is named in `restartNeeded`.
 */
import { createHash } from "node:crypto";
import type { Logger } from "pino";
import { diffConfig, laneChangePaths } from "../config/diff.ts";
import type { GateConfig, LaneConfig } from "../config/types.ts";
import { canonicalJson } from "../core/canonical.ts";
import type { DeviceStatus } from "../core/events.ts";
import type { EventSink } from "../ingest/deviceRuntime.ts";
import type { LaneEngine } from "../lane/engine.ts";
import type { DeviceSupervisor } from "./devices.ts";

/** What a configuration reload did. */
export interface ReloadReport {
    /** Key paths applied to the running gate. */
    applied: string[];
    /** Key paths that need a restart; the gate keeps running on the old values. */
    restartNeeded: string[];
    /** Changes to a lane with a truck in it, left for a reload once the lane is idle. */
    deferred: string[];
    /** The revision of the configuration now in force. */
    revision: string;
}

/** The running parts a reload changes. */
export interface ReloadParts {
    devices: DeviceSupervisor;
    engine: LaneEngine;
    sink: EventSink;
    log: Logger;
}

/**
 * Applies `next` to the running gate. Resolves with the report and the configuration now in force; the
 * caller puts it in force (the lane engine already runs on it).
 */
export async function applyReload(
    running: GateConfig,
    next: GateConfig,
    { devices, engine, sink, log }: ReloadParts,
): Promise<{ report: ReloadReport; effective: GateConfig }> {
    const diff = diffConfig(running, next);
    const applied: string[] = [];
    const restartNeeded = [...diff.restartNeeded];
    const deferred: string[] = [];
    const appliedLanes = new Set<string>();
    const moved = new Set(
        diff.restartNeeded.flatMap((path) => /^lanes\[[^\]]+\]\.devices\[([^\]]+)\] \(moves/.exec(path)?.[1] ?? []),
    );
    const nextLanes = new Map(next.lanes.map((lane) => [lane.id, lane]));
    const runningLanes = new Map(running.lanes.map((lane) => [lane.id, lane]));
    for (const change of diff.lanes) {
        const paths = laneChangePaths(change);
        const newLane = nextLanes.get(change.laneId);
        const oldLane = runningLanes.get(change.laneId);
        const touched = [...change.devicesAdded, ...change.devicesRemoved, ...change.devicesChanged];
        const blockers: string[] = [];
        for (const id of touched) {
            const device = newLane?.devices.find((d) => d.id === id) ?? oldLane?.devices.find((d) => d.id === id);
            const why = device && !moved.has(id) ? await devices.hotSwapBlocker(device) : undefined;
            if (why) blockers.push(`lanes[${change.laneId}].devices[${id}] (${why})`);
        }
        // The whole lane waits for the restart: half a lane's change applied would be a lane nobody configured.
        if (touched.some((id) => moved.has(id))) continue;
        if (blockers.length > 0) {
            restartNeeded.push(...blockers);
            continue;
        }
        const onlyName = touched.length === 0 && change.fields.every((field) => field === "name");
        const state = engine.laneState(change.laneId);
        if (!onlyName && state !== undefined && state !== "IDLE") {
            deferred.push(...paths.map((path) => `${path} (lane busy: ${state})`));
            continue;
        }
        await applyLaneChange({ laneId: change.laneId, oldLane, newLane, touched, onlyName }, { devices, engine, log });
        appliedLanes.add(change.laneId);
        applied.push(...paths);
    }
    // The configuration now in force: the file's rules and the lanes applied; all else as it ran.
    const lanes: LaneConfig[] = [];
    for (const lane of next.lanes) {
        if (appliedLanes.has(lane.id)) lanes.push(lane);
        else if (runningLanes.has(lane.id)) lanes.push(runningLanes.get(lane.id) as LaneConfig);
    }
    for (const lane of running.lanes) {
        if (!nextLanes.has(lane.id) && !appliedLanes.has(lane.id)) lanes.push(lane);
    }
    const effective = Object.freeze({ ...running, rules: next.rules, lanes, source: next.source });
    applied.push(...diff.rules);
    engine.reconfigure(effective);
    const revision = configRevision(effective);
    if (applied.length > 0) {
        await sink.append({
            type: "config.applied",
            data: {
                source: effective.source,
                revision,
                lanes: effective.lanes.map((lane) => lane.id),
                reload: true,
                changed: applied,
                restartNeeded,
                deferred,
            },
        });
    }
    return { report: { applied, restartNeeded, deferred, revision }, effective };
}

/** Rebuilds one lane: only its added, removed and changed devices stop or start; its correlator is replaced. */
async function applyLaneChange(
    change: {
        laneId: string;
        oldLane: LaneConfig | undefined;
        newLane: LaneConfig | undefined;
        touched: string[];
        onlyName: boolean;
    },
    { devices, engine, log: gateLog }: Pick<ReloadParts, "devices" | "engine" | "log">,
): Promise<void> {
    const { laneId, oldLane, newLane, touched, onlyName } = change;
    const log = gateLog.child({ component: "reload", laneId });
    // Stop what goes away or changes, with a last status event so the evidence says why it went quiet.
    for (const id of touched) {
        if (!oldLane?.devices.some((device) => device.id === id)) continue;
        await devices.remove(id);
    }
    const started: string[] = [];
    for (const id of touched) {
        const device = newLane?.devices.find((d) => d.id === id);
        if (!device) continue;
        await devices.add(device);
        started.push(id);
    }
    if (!newLane) {
        engine.removeLane(laneId);
    } else if (!onlyName) {
        const statuses = new Map<string, DeviceStatus>();
        for (const device of newLane.devices) {
            const status = devices.runtime(device.id)?.health().status;
            if (status !== undefined && !touched.includes(device.id)) statuses.set(device.id, status);
        }
        engine.replaceLane(newLane, statuses);
    }
    for (const id of started) await devices.startDevice(id);
    if (touched.length > 0)
        log.info({ stopped: touched.filter((id) => !started.includes(id)), started }, "lane rebuilt");
}

/** A short fingerprint of the configuration (without secrets), recorded with every start. */
export function configRevision(config: GateConfig): string {
    const withoutSecrets = JSON.parse(
        JSON.stringify(config, (key, value) => (key === "passwordHash" || key === "password" ? undefined : value)),
    );
    return createHash("sha256").update(canonicalJson(withoutSecrets)).digest("hex").slice(0, 16);
}
