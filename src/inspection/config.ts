/**
 * `inspection.devices` of the configuration: radiation portal monitors and X-ray / NII scanners, each
 * reading its own folder (src/inspection/devices.ts). The JSON schema has checked the shapes; this checks
 * what it cannot: a known inspection model, a unique id among all devices, a lane that exists.
 */
import { isAbsolute, resolve } from "node:path";
import { getInspectionModel, inspectionModels } from "../../devices/index.ts";
import type { ExitPointConfig, InspectionDeviceConfig, LaneConfig } from "../config/types.ts";

export interface RawInspectionDevice {
    id: string;
    model: string;
    lane?: string;
    folder: string;
    pollMs?: number;
    settleMs?: number;
    silentAfterMs?: number;
}

const DEFAULT_POLL_MS = 1000;
const DEFAULT_SETTLE_MS = 2000;

/** The checked devices; problems go to `errors` as `inspection.devices[i].key: message`. */
export function inspectionDevices(
    raw: { devices?: RawInspectionDevice[] } | undefined,
    where: { laneIds: ReadonlySet<string>; deviceIds: Set<string>; baseDir: string },
    errors: string[],
): InspectionDeviceConfig[] {
    const folders = new Map<string, string>();
    return (raw?.devices ?? []).flatMap((device, index) => {
        const path = `inspection.devices[${index}]`;
        const before = errors.length;
        if (where.deviceIds.has(device.id)) errors.push(`${path}.id: device id "${device.id}" is used twice`);
        where.deviceIds.add(device.id);
        const model = getInspectionModel(device.model);
        if (!model)
            errors.push(
                `${path}.model: "${device.model}" is not an inspection device model (${inspectionModels.map((m) => m.model).join(", ")})`,
            );
        if (device.lane !== undefined && !where.laneIds.has(device.lane))
            errors.push(`${path}.lane: no lane "${device.lane}"`);
        const folder = isAbsolute(device.folder) ? device.folder : resolve(where.baseDir, device.folder);
        const other = folders.get(folder);
        if (other !== undefined) errors.push(`${path}.folder: ${folder} is also the folder of ${other}`);
        folders.set(folder, device.id);
        if (errors.length > before) return [];
        return [
            {
                id: device.id,
                model: device.model,
                ...(device.lane !== undefined && { laneId: device.lane }),
                folder,
                pollMs: device.pollMs ?? DEFAULT_POLL_MS,
                settleMs: device.settleMs ?? DEFAULT_SETTLE_MS,
                silentAfterMs: device.silentAfterMs ?? model?.silentAfterMs ?? 0,
            },
        ];
    });
}

/**
 * `inspection.exits`: each exit point names a camera of one of the lanes, whose plate and container reads
 * are checked against the inspection cases (src/inspection/cases.ts). Problems go to `errors`.
 */
export function inspectionExits(
    raw: readonly ExitPointConfig[] | undefined,
    lanes: readonly LaneConfig[],
    errors: string[],
): ExitPointConfig[] {
    // A plate camera or a container code reader: the kinds whose reads name a truck.
    const readers = lanes.flatMap((lane) => lane.devices.filter((d) => d.kind === "plate" || d.kind === "container"));
    const laneOfCamera = new Map(readers.map((d) => [d.id, d.laneId]));
    const plcs = new Map(lanes.flatMap((lane) => lane.devices.filter((d) => d.kind === "plc").map((d) => [d.id, d])));
    const ids = new Set<string>();
    const barriers = new Set<string>();
    return (raw ?? []).flatMap((exit, index) => {
        const path = `inspection.exits[${index}]`;
        const before = errors.length;
        if (ids.has(exit.id)) errors.push(`${path}.id: exit id "${exit.id}" is used twice`);
        ids.add(exit.id);
        const cameraLane = laneOfCamera.get(exit.camera);
        if (cameraLane === undefined)
            errors.push(`${path}.camera: no plate or container camera "${exit.camera}" on a lane`);
        if (exit.barrier !== undefined) {
            const plc = plcs.get(exit.barrier);
            if (!plc) errors.push(`${path}.barrier: no lane PLC "${exit.barrier}"`);
            else if (cameraLane !== undefined && plc.laneId !== cameraLane)
                errors.push(
                    `${path}.barrier: PLC "${exit.barrier}" is on lane ${plc.laneId}, the camera on ${cameraLane}`,
                );
            if (barriers.has(exit.barrier))
                errors.push(`${path}.barrier: PLC "${exit.barrier}" is the barrier of another exit too`);
            barriers.add(exit.barrier);
        }
        if (errors.length > before) return [];
        return [{ id: exit.id, camera: exit.camera, ...(exit.barrier !== undefined && { barrier: exit.barrier }) }];
    });
}
