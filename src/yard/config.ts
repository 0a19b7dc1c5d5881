/**
 * `yard` of the configuration (issue 19): the yard entry points (a lane plate camera each, like
 * `inspection.exits`), which queue each lane serves, the queue policy, the call-forward's no-show time, the
 * dwell limits and how long a driver's personal data is kept. The JSON schema has checked the shapes; this
 * checks what it cannot: cameras and lanes that exist.
 */
import { sealPassword } from "../config/passwords.ts";
import type { DeviceCredentials, LaneConfig } from "../config/types.ts";
import type { QueuePolicy } from "./queue.ts";
import type { LaneGroup } from "./types.ts";

export interface YardEntryConfig {
    id: string;
    /** A plate camera of one of the lanes: its reads open visits. */
    camera: string;
    /** The queue of an unannounced truck read here (default import); an announced one's is its pre-arrival's. */
    laneGroup?: LaneGroup;
}

export interface YardConfig {
    entries: YardEntryConfig[];
    /** lane id → the queue it takes trucks from. */
    laneGroups: Record<string, LaneGroup>;
    queuePolicy: QueuePolicy;
    /** A called truck not at its lane after this long is a no-show: back in the queue, called again later. */
    noShowMs: number;
    /** Dwell since arrival: an alert when `warnHours` is reached and another when `limitHours` is exceeded. */
    dwell: { warnHours: number; limitHours: number };
    /** A pre-arrival's driver name and phone are dropped this many days after they were received. */
    personalDataRetentionDays: number;
    /** Logins of the embedded broker that may read the calls (a driver app's server, an SMS gateway), nothing else. */
    callReceivers: { id: string; auth: DeviceCredentials }[];
}

/** As the YAML gives it; defaults filled by yardConfig. */
export interface RawYard {
    entries?: YardEntryConfig[];
    laneGroups?: Record<string, LaneGroup>;
    queuePolicy?: QueuePolicy;
    noShowMs?: number;
    dwell?: { warnHours?: number; limitHours?: number };
    personalDataRetentionDays?: number;
    callReceivers?: { id: string; auth: { username: string; password: string } }[];
}

const DEFAULT_NO_SHOW_MS = 10 * 60_000;
const DEFAULT_DWELL = { warnHours: 24, limitHours: 36 };
const DEFAULT_PERSONAL_DATA_DAYS = 30;

/** The checked yard, or undefined when the gate has none; problems go to `errors` as `yard.key: message`. */
export function yardConfig(
    raw: RawYard | undefined,
    lanes: readonly LaneConfig[],
    gate: { deviceIds: Set<string>; usernames: Set<string>; brokerMode: "embedded" | "external" },
    errors: string[],
): YardConfig | undefined {
    if (raw === undefined) return undefined;
    const cameras = new Set(lanes.flatMap((lane) => lane.devices.filter((d) => d.kind === "plate").map((d) => d.id)));
    const laneIds = new Set(lanes.map((lane) => lane.id));
    const ids = new Set<string>();
    const entries = (raw.entries ?? []).filter((entry, index) => {
        const path = `yard.entries[${index}]`;
        const before = errors.length;
        if (ids.has(entry.id)) errors.push(`${path}.id: entry id "${entry.id}" is used twice`);
        ids.add(entry.id);
        if (!cameras.has(entry.camera)) errors.push(`${path}.camera: no plate camera "${entry.camera}" on a lane`);
        return errors.length === before;
    });
    const laneGroups = raw.laneGroups ?? {};
    for (const laneId of Object.keys(laneGroups))
        if (!laneIds.has(laneId)) errors.push(`yard.laneGroups.${laneId}: no lane "${laneId}"`);
    const dwell = { ...DEFAULT_DWELL, ...raw.dwell };
    if (dwell.warnHours >= dwell.limitHours)
        errors.push(`yard.dwell.warnHours: ${dwell.warnHours} must be less than limitHours (${dwell.limitHours})`);
    const callReceivers = (raw.callReceivers ?? []).flatMap((receiver, index) => {
        const path = `yard.callReceivers[${index}]`;
        const before = errors.length;
        if (gate.deviceIds.has(receiver.id)) errors.push(`${path}.id: id "${receiver.id}" is used twice`);
        gate.deviceIds.add(receiver.id);
        if (gate.brokerMode === "external")
            errors.push(`${path}: with broker.mode external, the receiver logs in to that broker`);
        if (gate.usernames.has(receiver.auth.username))
            errors.push(`${path}.auth.username: "${receiver.auth.username}" is used by another device`);
        gate.usernames.add(receiver.auth.username);
        if (errors.length > before) return [];
        const auth = { username: receiver.auth.username, passwordHash: sealPassword(receiver.auth.password) };
        return [{ id: receiver.id, auth }];
    });
    return {
        callReceivers,
        entries,
        laneGroups,
        queuePolicy: raw.queuePolicy ?? "fifo",
        noShowMs: raw.noShowMs ?? DEFAULT_NO_SHOW_MS,
        dwell,
        personalDataRetentionDays: raw.personalDataRetentionDays ?? DEFAULT_PERSONAL_DATA_DAYS,
    };
}
