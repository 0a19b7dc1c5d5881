import type { GateConfig } from "./types.ts";

/**
 * The lanes that are only a yard entry or an exit point: every device of theirs is a yard entry camera, an
 * exit point's camera or an exit barrier. Their reads are the yard's and the exit check's; the lane engine
 * opens no passage there (an exit read would otherwise be decided as an entry, and the exit barrier would
 * take the lane engine's commands as well as the exit check's).
 */
export function pointLaneIds(config: Pick<GateConfig, "lanes" | "inspection" | "yard">): Set<string> {
    const pointDevices = new Set<string>();
    for (const exit of config.inspection?.exits ?? []) {
        pointDevices.add(exit.camera);
        if (exit.barrier !== undefined) pointDevices.add(exit.barrier);
    }
    for (const entry of config.yard?.entries ?? []) pointDevices.add(entry.camera);
    return new Set(
        config.lanes
            .filter((lane) => lane.devices.length > 0 && lane.devices.every((device) => pointDevices.has(device.id)))
            .map((lane) => lane.id),
    );
}

/** The PLCs that drive exit barriers: the exit check's alone, never a lane passage's. */
export function exitBarrierIds(config: Pick<GateConfig, "inspection">): Set<string> {
    return new Set(
        (config.inspection?.exits ?? []).flatMap((exit) => (exit.barrier === undefined ? [] : [exit.barrier])),
    );
}
