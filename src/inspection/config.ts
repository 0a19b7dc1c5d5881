/**
 * `inspection.devices` of the configuration: radiation portal monitors and X-ray / NII scanners, each
 * reading its own folder (src/inspection/devices.ts). The JSON schema has checked the shapes; this checks
 * what it cannot: a known inspection model, a unique id among all devices, a lane that exists.
 */
import { isAbsolute, resolve } from "node:path";
import { getInspectionModel, inspectionModels } from "../../devices/index.ts";
import type { InspectionDeviceConfig } from "../config/types.ts";

export interface RawInspectionDevice {
    id: string;
    model: string;
    lane?: string;
    folder: string;
    pollMs?: number;
    settleMs?: number;
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
        if (!getInspectionModel(device.model))
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
            },
        ];
    });
}
