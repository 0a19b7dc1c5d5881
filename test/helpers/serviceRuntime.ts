import { readFileSync } from "node:fs";

/** How the installed service runs node: the unit's Environment= settings and the node flags of ExecStart. */
export interface ServiceRuntime {
    env: Record<string, string>;
    nodeArgs: string[];
    /** One line for a report: where the settings came from and what they are. */
    describe: string;
}

export const SERVICE_UNIT = "deploy/gate-edge.service";

/**
 * Reads deploy/gate-edge.service so a benchmark or test runs the gate with the memory settings the service
 * ships with, not a copy of them that could drift. `nodeArgsOverride` (space-separated; empty for none)
 * replaces the unit's node flags, for a benchmark comparing settings.
 */
export function serviceRuntime(nodeArgsOverride?: string, unitPath = SERVICE_UNIT): ServiceRuntime {
    const lines = readFileSync(unitPath, "utf8").split("\n");
    const env: Record<string, string> = {};
    for (const line of lines) {
        const assignment = /^Environment=([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line.trim());
        if (assignment) env[assignment[1]!] = assignment[2]!;
    }
    const execStart = lines.find((line) => line.startsWith("ExecStart="));
    if (!execStart) throw new Error(`${unitPath} has no ExecStart=`);
    // ExecStart=/usr/bin/node --flag … /opt/…/gate-edge.js start …: the flags sit between node and the script.
    const words = execStart.slice("ExecStart=".length).trim().split(/\s+/).slice(1);
    const unitArgs = words.slice(
        0,
        words.findIndex((word) => !word.startsWith("--")),
    );
    const nodeArgs = nodeArgsOverride === undefined ? unitArgs : nodeArgsOverride.split(/\s+/).filter(Boolean);
    const settings = [...Object.entries(env).map(([key, value]) => `${key}=${value}`), ...nodeArgs].join(" ");
    const source = nodeArgsOverride === undefined ? SERVICE_UNIT : `${SERVICE_UNIT} environment, overridden flags`;
    return { env, nodeArgs, describe: `as ${source}: ${settings || "(no settings)"}` };
}
