/**
 * The inspection area of a whole-gate run (issue 18): the RPM on each lane's approach and the X-ray scanner,
 * as the configuration's `inspection.devices` name them, played by the RPM and X-ray simulators writing into
 * the folders the gate watches; the scanner's share going away and coming back (fault xray-offline); and the
 * ground truth of the cases: a truck sent to inspection has a case that is not cleared (the runner clears
 * none), carries what its kind requires, and is refused at the exit.
 */
import { mkdir, rename, rm, unlink, writeFile } from "node:fs/promises";
import type { GateConfig, InspectionDeviceConfig } from "../../src/config/types.ts";
import { caseIdOf, type InspectionCase } from "../../src/inspection/caseModel.ts";
import { type RpmPassKind, RpmSimulator } from "../rpm.ts";
import type { TruckPlan } from "../scenario.ts";
import { type XrayScanRequest, XraySimulator } from "../xray.ts";

/** An RPM of a lane's approach, with the device id its readings carry. */
export interface ScenarioRpm {
    deviceId: string;
    sim: RpmSimulator;
}

/** The X-ray scanner and its folder. */
export interface ScenarioXray {
    deviceId: string;
    folder: string;
    sim: XraySimulator;
}

/** How many times a folder swap is tried while the gate's folder poll recreates the folder in between. */
const SWAP_TRIES = 5;

export class ScenarioInspection {
    /** Lane id → its RPM (the first RPM configured for the lane). */
    readonly rpms = new Map<string, ScenarioRpm>();
    readonly xray: ScenarioXray | undefined;
    /** Scans exported while the scanner's share was away: written when it is back. */
    private readonly waiting: XrayScanRequest[] = [];
    private unmounted = false;

    constructor(config: GateConfig, seed: number) {
        const devices = config.inspection?.devices ?? [];
        devices.forEach((device: InspectionDeviceConfig, index) => {
            if (device.model !== "n42-rpm" || device.laneId === undefined || this.rpms.has(device.laneId)) return;
            const sim = new RpmSimulator({ folder: device.folder, seed: seed + index, serial: `SIM-${device.id}` });
            this.rpms.set(device.laneId, { deviceId: device.id, sim });
        });
        const scanner = devices.find((device) => device.model === "nii-scan-package");
        this.xray = scanner && {
            deviceId: scanner.id,
            folder: scanner.folder,
            sim: new XraySimulator({ folder: scanner.folder, scanner: scanner.id.toUpperCase(), seed }),
        };
    }

    /** The inspection devices the run plays (the runner waits for them to be online before the first truck). */
    get deviceIds(): string[] {
        return [...[...this.rpms.values()].map((rpm) => rpm.deviceId), ...(this.xray ? [this.xray.deviceId] : [])];
    }

    /** The truck passes its lane's RPM; false when the lane has none. */
    async pass(laneId: string, kind: RpmPassKind): Promise<boolean> {
        const rpm = this.rpms.get(laneId);
        if (!rpm) return false;
        await rpm.sim.pass(kind, { neutron: false });
        return true;
    }

    /**
     * The truck is scanned in the inspection area: "scanned" when its package is in the folder, "waiting"
     * while the share is away (exported when it is back), "no-scanner" when the configuration has none.
     */
    async scan(request: XrayScanRequest): Promise<"scanned" | "waiting" | "no-scanner"> {
        if (!this.xray) return "no-scanner";
        if (this.unmounted) {
            this.waiting.push(request);
            return "waiting";
        }
        await this.xray.sim.scan(request);
        return "scanned";
    }

    /**
     * The scanner's share goes away: its folder is moved aside and a file stands in its path, so the gate's
     * poll can neither read it nor create it again (an unmounted share the gate would otherwise see as an
     * empty folder). Scans wait meanwhile.
     */
    async unmountXray(): Promise<void> {
        const xray = this.xray;
        if (!xray || this.unmounted) return;
        this.unmounted = true;
        await mkdir(xray.folder, { recursive: true });
        await rename(xray.folder, `${xray.folder}.away`);
        const standIn = `${xray.folder}.standin`;
        await writeFile(standIn, "the scanner's share is not mounted\n");
        await swapInto(standIn, xray.folder);
    }

    /** The share is back: the folder returns with what it held, and the scans that waited are exported. Answers how many. */
    async remountXray(): Promise<number> {
        const xray = this.xray;
        if (!xray || !this.unmounted) return 0;
        await unlink(xray.folder);
        await swapInto(`${xray.folder}.away`, xray.folder);
        this.unmounted = false;
        const waiting = this.waiting.splice(0);
        for (const request of waiting) await xray.sim.scan(request);
        return waiting.length;
    }
}

/**
 * Renames `from` to `to`; when the gate's folder poll has created an (empty) folder at `to` in between, that
 * folder is removed and the rename tried again.
 */
async function swapInto(from: string, to: string): Promise<void> {
    for (let attempt = 1; ; attempt++) {
        try {
            await rename(from, to);
            return;
        } catch (err) {
            const code = (err as NodeJS.ErrnoException).code;
            if (attempt >= SWAP_TRIES || (code !== "EISDIR" && code !== "ENOTEMPTY" && code !== "EEXIST")) throw err;
            await rm(to, { recursive: true, force: true });
        }
    }
}

/**
 * The plan as the configured inspection area can play it: a radiation truck in a lane with no RPM (a
 * technician's config, such as the demo's RPM on lane 1 only) passes no RPM, so its channel decides: it is
 * expected to get what a clean truck gets, and a note says so (the report's anomalies). Indexes are kept.
 */
export function fitPlanToRpms(
    plan: readonly TruckPlan[],
    lanesWithRpm: ReadonlySet<string>,
    cleanExpect: TruckPlan["expect"],
): { plan: TruckPlan[]; notes: string[] } {
    const notes: string[] = [];
    const fitted = plan.map((truck) => {
        if (truck.rpm === "clean" || lanesWithRpm.has(truck.lane)) return truck;
        notes.push(
            `truck ${truck.index} (${truck.kind}, lane ${truck.lane}): the lane has no RPM (inspection.devices): no ${truck.rpm} alarm, expected ${cleanExpect} as a clean truck`,
        );
        const { xray: _none, ...rest } = truck;
        return { ...rest, rpm: "clean" as const, expect: cleanExpect };
    });
    return { plan: fitted, notes };
}

/** What the run found of one truck's inspection case. */
export interface TruckCaseCheck {
    caseId: string | null;
    status: InspectionCase["status"] | "none";
    required: string[];
    /** The X-ray results on the case, and whether an exit attempt was refused. */
    xray: string[];
    exitRefused: boolean;
    /** What is wrong with it against the ground truth; empty when all is as it must be. */
    problems: string[];
}

/**
 * The ground truth of a truck's case after the run. A truck that had to be inspected (its expected decision
 * INSPECT, or the gate's decision INSPECT) must have a case that is not cleared — the runner clears none, so a
 * cleared case was released by nobody — that names the RPM alarm for a radiation-alarm truck, requires the
 * physical examination for a suspicious scan, holds its scan once scanned, and whose exit attempt (when the
 * config has an exit point) was refused. A truck that had no business there (a NORM nuisance of a green
 * truck) must have no case.
 */
export function checkTruckCase(
    truck: Pick<TruckPlan, "kind" | "expect" | "xray">,
    actual: string,
    passageId: string | null,
    caseOf: (caseId: string) => InspectionCase | undefined,
    expectations: { scanned: boolean; exitTried: boolean },
): TruckCaseCheck {
    const found = passageId === null ? undefined : caseOf(caseIdOf(passageId));
    const check: TruckCaseCheck = {
        caseId: found?.caseId ?? null,
        status: found?.status ?? "none",
        required: found?.required ?? [],
        xray: (found?.entries ?? []).filter((e) => e.kind === "xray").map((e) => e.result ?? "?"),
        exitRefused: (found?.entries ?? []).some((e) => e.kind === "exit" && e.result === "refused"),
        problems: [],
    };
    const mustInspect = truck.expect === "INSPECT" || actual === "INSPECT";
    if (!mustInspect) {
        if (found)
            check.problems.push(`has case ${found.caseId} (${found.triggers.join(", ")}) but had to be released`);
        return check;
    }
    if (!found) {
        check.problems.push("sent to inspection but no case was opened");
        return check;
    }
    if (found.status === "cleared") check.problems.push(`case ${found.caseId} is cleared, but nobody cleared it`);
    if (truck.kind === "radiation-alarm" && !found.triggers.includes("RPM_ALARM"))
        check.problems.push(`case ${found.caseId} does not name the RPM alarm (${found.triggers.join(", ")})`);
    if (truck.xray === "suspicious" && !found.required.includes("physical"))
        check.problems.push(`case ${found.caseId}: a suspicious scan and no physical examination required`);
    if (expectations.scanned && truck.xray !== undefined && !check.xray.includes(truck.xray))
        check.problems.push(
            `case ${found.caseId} has not got its ${truck.xray} scan (has: ${check.xray.join(", ") || "none"})`,
        );
    if (expectations.exitTried && !check.exitRefused)
        check.problems.push(`case ${found.caseId}: the truck's exit attempt was not refused`);
    return check;
}
