import type { GateConfig } from "./types.ts";

/**
 * The lanes that are only a yard entry or an exit point: every device of theirs is a yard entry camera, an
 * exit point's camera or an exit barrier. Their reads are the yard's and the exit check's; the lane engine
 * opens no passage there (an exit read would otherwise be decided as an entry, and the exit barrier would
 * take the lane engine's commands as well as the exit check's).
 */
export function pointLaneIds(config: Pick<GateConfig, "lanes" | "inspection" | "yard">): Set<string> {
    const pointDevices = pointDeviceIds(config);
    return new Set(
        config.lanes
            .filter((lane) => lane.devices.length > 0 && lane.devices.every((device) => pointDevices.has(device.id)))
            .map((lane) => lane.id),
    );
}

/** Yard entry cameras, exit cameras and exit barriers. */
function pointDeviceIds(config: Pick<GateConfig, "inspection" | "yard">): Set<string> {
    const pointDevices = new Set<string>();
    for (const exit of config.inspection?.exits ?? []) {
        pointDevices.add(exit.camera);
        if (exit.barrier !== undefined) pointDevices.add(exit.barrier);
    }
    for (const entry of config.yard?.entries ?? []) pointDevices.add(entry.camera);
    return pointDevices;
}

/** The PLCs that drive exit barriers: the exit check's alone, never a lane passage's. */
export function exitBarrierIds(config: Pick<GateConfig, "inspection">): Set<string> {
    return new Set(
        (config.inspection?.exits ?? []).flatMap((exit) => (exit.barrier === undefined ? [] : [exit.barrier])),
    );
}

/**
 * An exit barrier's lane must be a point lane: on a lane with passage devices the lane engine would have no
 * PLC for its passages (it never commands an exit barrier), which no one configuring it would mean.
 */
export function exitBarrierLaneProblems(config: Pick<GateConfig, "lanes" | "inspection" | "yard">): string[] {
    const pointDevices = pointDeviceIds(config);
    return (config.inspection?.exits ?? []).flatMap((exit, index) => {
        const lane = config.lanes.find((candidate) => candidate.devices.some((d) => d.id === exit.barrier));
        const others = (lane?.devices ?? []).filter((d) => !pointDevices.has(d.id)).map((d) => d.id);
        if (exit.barrier === undefined || !lane || others.length === 0) return [];
        return [
            `inspection.exits[${index}].barrier: lane ${lane.id} has passage devices too (${others.join(", ")}); an exit barrier's lane holds only exit and yard entry cameras and exit barriers`,
        ];
    });
}
