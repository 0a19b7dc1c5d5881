import { canonicalJson } from "../core/canonical.ts";
import type { DeviceConfig, GateConfig, LaneConfig } from "./types.ts";

/** What changed in one lane between the running configuration and the file. */
export interface LaneChange {
    laneId: string;
    kind: "added" | "removed" | "changed";
    /** Device ids, by what happened to them. */
    devicesAdded: string[];
    devicesRemoved: string[];
    devicesChanged: string[];
    /** The lane's own keys that changed (name, direction). */
    fields: string[];
}

export interface ConfigDiff {
    /** Key paths of changes a running gate cannot take: they need a restart. */
    restartNeeded: string[];
    /** Key paths under `rules` that changed. */
    rules: string[];
    lanes: LaneChange[];
}

/**
 * Sections a running gate cannot change under itself: the database, the listening ports and the broker
 * are opened once; the sync client and the ingest settings are handed to long-lived parts at start.
 */
const RESTART_SECTIONS = ["gate", "storage", "http", "push", "broker", "central", "ingest"] as const;

/**
 * A device as a reload compares it: everything in its config, with the salted password hash (different on
 * every load) replaced by the keyed fingerprint of its credentials.
 */
function deviceKey(device: DeviceConfig): string {
    const { auth, ...rest } = device;
    return canonicalJson({
        ...rest,
        ...(auth && { auth: { username: auth.username } }),
        credentials: device.authFingerprint ?? null,
    });
}

/** Key paths where two plain values differ, one level of objects deep (enough to name a setting). */
function changedKeys(prefix: string, before: unknown, after: unknown): string[] {
    if (canonicalJson(before) === canonicalJson(after)) return [];
    const isObject = (value: unknown): value is Record<string, unknown> =>
        typeof value === "object" && value !== null && !Array.isArray(value);
    if (!isObject(before) || !isObject(after)) return [prefix];
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
    return keys
        .filter((key) => canonicalJson(before[key]) !== canonicalJson(after[key]))
        .map((key) => `${prefix}.${key}`);
}

/**
 * What a reload of `next` over `running` would change. Lanes and devices are matched by id, so reordering
 * the file changes nothing; key paths name lanes and devices by id (`lanes[L2].devices[scale-l2]`), which
 * is what a technician on the phone can find in the file.
 */
export function diffConfig(running: GateConfig, next: GateConfig): ConfigDiff {
    const restartNeeded = RESTART_SECTIONS.flatMap((section) => changedKeys(section, running[section], next[section]));
    const rules = changedKeys("rules", running.rules, next.rules);
    const lanes: LaneChange[] = [];
    const before = new Map(running.lanes.map((lane) => [lane.id, lane]));
    const after = new Map(next.lanes.map((lane) => [lane.id, lane]));
    for (const [laneId, lane] of after) {
        const old = before.get(laneId);
        if (!old) {
            lanes.push({
                laneId,
                kind: "added",
                devicesAdded: lane.devices.map((device) => device.id),
                devicesRemoved: [],
                devicesChanged: [],
                fields: [],
            });
            continue;
        }
        const change = compareLane(old, lane);
        if (change) lanes.push(change);
    }
    for (const [laneId, lane] of before) {
        if (after.has(laneId)) continue;
        lanes.push({
            laneId,
            kind: "removed",
            devicesAdded: [],
            devicesRemoved: lane.devices.map((device) => device.id),
            devicesChanged: [],
            fields: [],
        });
    }
    // A device that moves between lanes would be removed from one and added to the other; if only one
    // side could be applied it would be in two lanes at once, so a move is a restart.
    const added = new Map(lanes.flatMap((lane) => lane.devicesAdded.map((id) => [id, lane.laneId] as const)));
    for (const lane of lanes) {
        for (const id of lane.devicesRemoved) {
            const to = added.get(id);
            if (to !== undefined) restartNeeded.push(`lanes[${lane.laneId}].devices[${id}] (moves to lane ${to})`);
        }
    }
    return { restartNeeded, rules, lanes };
}

function compareLane(old: LaneConfig, lane: LaneConfig): LaneChange | undefined {
    const oldDevices = new Map(old.devices.map((device) => [device.id, device]));
    const newDevices = new Map(lane.devices.map((device) => [device.id, device]));
    const change: LaneChange = {
        laneId: lane.id,
        kind: "changed",
        devicesAdded: [...newDevices.keys()].filter((id) => !oldDevices.has(id)),
        devicesRemoved: [...oldDevices.keys()].filter((id) => !newDevices.has(id)),
        devicesChanged: [...newDevices].flatMap(([id, device]) => {
            const before = oldDevices.get(id);
            return before && deviceKey(before) !== deviceKey(device) ? [id] : [];
        }),
        fields: (["name", "direction"] as const).filter((key) => old[key] !== lane[key]),
    };
    const changed =
        change.devicesAdded.length + change.devicesRemoved.length + change.devicesChanged.length + change.fields.length;
    return changed > 0 ? change : undefined;
}

/** Key paths of a lane change, for the log line and the `config.applied` event. */
export function laneChangePaths(change: LaneChange): string[] {
    const lane = `lanes[${change.laneId}]`;
    if (change.kind !== "changed") return [`${lane} (${change.kind})`];
    return [
        ...change.fields.map((field) => `${lane}.${field}`),
        ...change.devicesAdded.map((id) => `${lane}.devices[${id}] (added)`),
        ...change.devicesRemoved.map((id) => `${lane}.devices[${id}] (removed)`),
        ...change.devicesChanged.map((id) => `${lane}.devices[${id}] (changed)`),
    ];
}
