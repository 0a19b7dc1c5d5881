/**
 * The faults a whole-gate scenario schedules, injected into the running bench for real where gate-edge
 * and the simulators allow it, and reported as not injected — with the reason — where they do not. Never
 * pretends: a fault that could not be injected is listed so, and no truck is excused because of it.
 *
 * What each kind does:
 * - scale-unplugged: the scale's TCP serial server stops listening (the cable is pulled) for `for`.
 * - camera-reboot: an ONVIF camera power-cycles (port closed, subscriptions lost, back after `for`); a
 *   push camera has no session to lose, so it pushes nothing for `for` (its reads are lost).
 * - plc-restart: the lane PLC's OPC UA server goes away for `for` and comes back (LanePlcSimulator.restart).
 * - broker-restart: the gate's embedded MQTT broker is stopped and started again on its port; with an
 *   external broker (or a broker on port 0, which would come back elsewhere) the e-seal readers'
 *   connections are dropped and made again instead, and the record says so.
 * - central-outage: the central simulator is stopped (connection refused) and started again on the same
 *   port and store after `for`.
 * - disk-quota: the disk fills up: a ballast as large as storage.quotaMb is counted against the quota on top
 *   of the database's size (GateOptions.storageBallast; the runner writes nothing into the evidence database)
 *   for `for` (or to the end of the run without it). gate-edge must raise DISK_QUOTA, switch every lane to
 *   manual processing (its trucks are held for an officer) and drop nothing; then clear it when the ballast
 *   goes.
 * - clock-jump: the gate's clock (GateOptions.clock, a JumpClock) steps by `by`; the runner keeps its own time.
 * - xray-offline: the X-ray scanner's share goes away for `for`: its folder is moved aside and a file stands
 *   in its path, so the gate can neither read nor recreate it (the scanner offline); the scans of that time
 *   wait at the scanner and are exported when the share is back, so the cases get them late.
 * - rpm-detector-failure: the lane's RPM reports a failed gamma panel (severity error) in its background
 *   report and in every occupancy document for `for`, then a healthy background report: degraded, then online.
 *
 * Only device faults (scale, camera, PLC, broker) and a full disk excuse a truck: one of their lane's trucks
 * may be held instead of getting its own decision, because docs/design.md sends a passage whose device went
 * offline to an officer, and a gate out of storage processes every lane by hand. A central outage, a clock
 * step, the scanner offline or a failed RPM detector excuses nothing: decisions and cases must not change.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "pino";
import type { GateConfig } from "../../src/config/types.ts";
import type { Clock } from "../../src/core/clock.ts";
import { errorMessage } from "../../src/core/errors.ts";
import type { Gate } from "../../src/gate.ts";
import type { CentralSimulator } from "../central/server.ts";
import type { ConfigSimulators } from "../forConfig.ts";
import type { ScenarioFault } from "../scenario.ts";
import type { TcpSerialServer } from "../transport.ts";
import type { ScenarioInspection } from "./inspection.ts";

/** The system clock plus an offset the runner steps: how a clock jump reaches the gate. */
export class JumpClock implements Clock {
    offsetMs = 0;

    now(): number {
        return Date.now() + this.offsetMs;
    }

    /** Time itself does not jump: durations go on the undisturbed clock. */
    monotonic(): number {
        return performance.now();
    }

    jump(byMs: number): void {
        this.offsetMs += byMs;
    }
}

/**
 * Unplug/plug of a serial link shared by several users (a scheduled scale fault and a truck whose weighbridge
 * drops out): the link is unplugged while anyone holds it and plugged back when the last one lets go.
 */
export class UnplugHolds {
    private readonly holds = new Map<TcpSerialServer, number>();

    async unplug(link: TcpSerialServer): Promise<void> {
        const count = this.holds.get(link) ?? 0;
        this.holds.set(link, count + 1);
        if (count === 0) await link.unplug();
    }

    async plug(link: TcpSerialServer): Promise<void> {
        const count = (this.holds.get(link) ?? 1) - 1;
        this.holds.set(link, Math.max(0, count));
        if (count <= 0) await link.plug();
    }

    unplugged(link: TcpSerialServer): boolean {
        return (this.holds.get(link) ?? 0) > 0;
    }
}

/** What happened to one scheduled fault. Times are ms since the run started (wall clock of the bench). */
export interface FaultRecord {
    kind: ScenarioFault["kind"];
    lane?: string;
    device?: string;
    /** When the scenario scheduled it, in scenario time (ms). */
    scheduledAtMs: number;
    /** Scenario duration asked for (ms), if any. */
    forMs?: number;
    byMs?: number;
    injected: boolean;
    /** What was done, in words; or, when not injected, why not. */
    detail: string;
    startedAtMs?: number;
    endedAtMs?: number;
    /** When the gate had the devices back online (central: when its uplink delivered again). */
    recoveredAtMs?: number;
    /** Lanes whose trucks may be held because of it (the decision must then be the truck's own or HOLD). */
    lanes: string[];
    /** How long after the fault ends a lane may still feel it (reconnects, offline detection), ms. */
    graceMs: number;
    error?: string;
}

export interface FaultInjectorDeps {
    gate: Gate;
    config: GateConfig;
    bench: ConfigSimulators;
    central: CentralSimulator;
    clock: JumpClock;
    holds: UnplugHolds;
    /** Cameras the runner must not push from while they "reboot" (push cameras have no session). */
    camerasDown: Set<string>;
    speed: number;
    log: Logger;
    /** ms since the run started. */
    elapsed: () => number;
    /** The simulated ballast on the gate's disk (the runner passes it to the gate as storageBallast). */
    ballast: { bytes: number };
    /** The inspection area's simulators (xray-offline, rpm-detector-failure). */
    inspection: ScenarioInspection;
    /** A device's latest status as the gate stored it (device.status events). */
    deviceStatus: (deviceId: string) => string | undefined;
    /** Lanes a truck holds now (yard mode): a lane-closed waits for its truck to leave and then holds it. */
    busyLanes?: Set<string>;
    /** The gate has stored the lane's PLC as off automatic (its PLC_NOT_AUTO alert raised, not cleared). */
    laneClosedSeen?: (laneId: string) => boolean;
}

/** The failed detector an rpm-detector-failure reports. */
const FAILED_PANEL = {
    code: "DetectorFailure",
    severity: "error" as const,
    detector: "Aa1",
    description: "gamma panel Aa1 gives no counts (high voltage lost)",
};

/** How long the injector waits for the gate to have a faulted device back before it says it did not. */
const RECOVERY_WAIT_MS = 60_000;

export class FaultInjector {
    readonly records: FaultRecord[] = [];
    private readonly running = new Set<Promise<void>>();
    private readonly timers: NodeJS.Timeout[] = [];

    constructor(private readonly deps: FaultInjectorDeps) {}

    /**
     * Schedules every fault at its scenario time divided by the speed, counted from now. `stillRunning` says
     * whether the run still goes on; a fault whose time comes after the trucks are done is not injected.
     */
    schedule(faults: readonly ScenarioFault[], stillRunning: () => boolean, onChange: () => void): void {
        for (const fault of faults) {
            const record: FaultRecord = {
                kind: fault.kind,
                ...(fault.lane !== undefined && { lane: fault.lane }),
                ...(fault.device !== undefined && { device: fault.device }),
                scheduledAtMs: fault.atMs,
                ...(fault.forMs !== undefined && { forMs: fault.forMs }),
                ...(fault.byMs !== undefined && { byMs: fault.byMs }),
                injected: false,
                detail: "not reached: the run ended first",
                lanes: [],
                graceMs: 0,
            };
            this.records.push(record);
            const timer = setTimeout(() => {
                if (!stillRunning()) {
                    record.detail = "not injected: every truck had finished before its time";
                    onChange();
                    return;
                }
                const work = this.inject(fault, record)
                    .catch((err: unknown) => {
                        record.error = errorMessage(err);
                        record.detail = `${record.detail} — failed: ${record.error}`;
                        this.deps.log.error({ err: record.error, kind: fault.kind }, "fault injection failed");
                    })
                    .finally(onChange);
                this.running.add(work);
                void work.finally(() => this.running.delete(work));
            }, fault.atMs / this.deps.speed);
            this.timers.push(timer);
        }
    }

    /** Faults in progress (started, not yet restored). */
    get active(): number {
        return this.running.size;
    }

    /** Cancels faults not yet due and waits for those in progress to be restored. */
    async finish(): Promise<void> {
        for (const timer of this.timers) clearTimeout(timer);
        while (this.running.size > 0) await Promise.allSettled([...this.running]);
    }

    private async inject(fault: ScenarioFault, record: FaultRecord): Promise<void> {
        const { bench, config, log, speed } = this.deps;
        const downMs = Math.max(50, Math.round((fault.forMs ?? 0) / speed));
        const offlineGrace = config.ingest.offlineAfterMs + 2000;
        const start = (lanes: string[], graceMs: number, detail: string): void => {
            record.injected = true;
            record.startedAtMs = this.deps.elapsed();
            record.lanes = lanes;
            record.graceMs = graceMs;
            record.detail = detail;
            log.warn({ fault: record.kind, lane: record.lane, detail }, "fault injected");
        };
        /** The fault is over; waits (up to 60 s) for the gate to have the devices back, and notes when it did. */
        const end = async (devices: readonly string[]): Promise<void> => {
            record.endedAtMs = this.deps.elapsed();
            if (devices.length === 0) return;
            const back = () => devices.every((id) => this.deps.gate.runtime(id)?.health().status === "online");
            const deadline = Date.now() + RECOVERY_WAIT_MS;
            while (!back() && Date.now() < deadline) await sleep(100);
            if (back()) record.recoveredAtMs = this.deps.elapsed();
            else record.detail += `; ${devices.join(", ")} not back online ${RECOVERY_WAIT_MS / 1000} s later`;
        };
        /** Waits (up to 60 s) for an inspection device's stored status; false when it never came. */
        const statusSeen = async (deviceId: string, status: string): Promise<boolean> => {
            const deadline = Date.now() + RECOVERY_WAIT_MS;
            while (this.deps.deviceStatus(deviceId) !== status && Date.now() < deadline) await sleep(50);
            return this.deps.deviceStatus(deviceId) === status;
        };
        switch (fault.kind) {
            case "scale-unplugged": {
                const entry = bench
                    .lane(fault.lane ?? "")
                    .find((d) => (fault.device ? d.device.id === fault.device : d.device.kind === "weight"));
                const link = entry?.link;
                if (!entry || !link) {
                    record.detail = `not injected: lane ${fault.lane} has no simulated ${fault.device ?? "scale"} on a TCP serial server`;
                    return;
                }
                record.device = entry.device.id;
                start(
                    [entry.device.laneId],
                    offlineGrace,
                    `${entry.device.id}: TCP serial server ${link.description} stopped listening (cable pulled) for ${seconds(downMs)}`,
                );
                await this.deps.holds.unplug(link);
                await sleep(downMs);
                await this.deps.holds.plug(link);
                await end([entry.device.id]);
                return;
            }
            case "camera-reboot": {
                const cameras = bench
                    .lane(fault.lane ?? "")
                    .filter((d) => d.device.kind === "plate" && (!fault.device || d.device.id === fault.device));
                const entry = cameras.find((d) => d.onvif) ?? cameras.find((d) => d.push);
                if (!entry) {
                    record.detail = `not injected: lane ${fault.lane} has no simulated camera${fault.device ? ` ${fault.device}` : ""}`;
                    return;
                }
                record.device = entry.device.id;
                if (entry.onvif) {
                    start(
                        [entry.device.laneId],
                        offlineGrace + 3000,
                        `${entry.device.id}: ONVIF camera power-cycled: port closed, every PullPoint subscription lost, back after ${seconds(downMs)}`,
                    );
                    await entry.onvif.reboot(downMs);
                    await end([entry.device.id]);
                } else {
                    start(
                        [entry.device.laneId],
                        1000,
                        `${entry.device.id}: push camera rebooting: it pushes nothing for ${seconds(downMs)} (a push camera has no session for the gate to lose)`,
                    );
                    this.deps.camerasDown.add(entry.device.id);
                    await sleep(downMs);
                    this.deps.camerasDown.delete(entry.device.id);
                    await end([]);
                }
                return;
            }
            case "plc-restart": {
                const plcs = [...bench.devices.values()].filter(
                    (d) => d.plc && (fault.lane === undefined || d.device.laneId === fault.lane),
                );
                const sims = [...new Set(plcs.map((d) => d.plc?.sim))].filter((sim) => sim !== undefined);
                if (sims.length === 0) {
                    record.detail = `not injected: no simulated lane PLC${fault.lane ? ` serves lane ${fault.lane}` : ""}`;
                    return;
                }
                const served = [...bench.devices.values()].filter((d) => d.plc && sims.includes(d.plc.sim));
                const lanes = [...new Set(served.map((d) => d.device.laneId))];
                start(
                    lanes,
                    offlineGrace,
                    `lane PLC OPC UA server${sims.length > 1 ? "s" : ""} (${sims.map((sim) => sim.endpointUrl).join(", ")}, serving lane${lanes.length > 1 ? "s" : ""} ${lanes.join(", ")}) down for ${seconds(downMs)} and back with the same address space; the PLC logic and watchdog kept running`,
                );
                await Promise.all(sims.map((sim) => sim.restart(downMs)));
                await end(served.map((d) => d.device.id));
                return;
            }
            case "broker-restart": {
                const mqttDevices = [...bench.devices.values()].filter(
                    (d) => d.device.address.transport === "mqtt" && !d.skipped,
                );
                const mqttLanes = [...new Set(mqttDevices.map((d) => d.device.laneId))];
                const broker = this.deps.gate.embeddedBroker;
                if (broker && config.broker.mode === "embedded" && config.broker.port !== 0) {
                    start(
                        mqttLanes,
                        3000,
                        `the gate's embedded MQTT broker stopped (every session dropped) and started again on port ${config.broker.port} after ${seconds(downMs)}`,
                    );
                    await broker.stop();
                    await sleep(downMs);
                    await broker.start();
                } else {
                    const seals = [...bench.devices.values()].filter((d) => d.seal);
                    start(
                        mqttLanes,
                        3000,
                        `${config.broker.mode === "external" ? "the broker is external" : "the embedded broker listens on port 0 and would come back elsewhere"}: instead, the connections of ${seals.length} e-seal reader(s) were dropped for ${seconds(downMs)} and made again`,
                    );
                    await Promise.all(seals.map((d) => d.seal?.stop()));
                    await sleep(downMs);
                    await Promise.all(seals.map((d) => d.seal?.start()));
                }
                await end(mqttDevices.map((d) => d.device.id));
                return;
            }
            case "central-outage": {
                const central = this.deps.central;
                start(
                    [],
                    0,
                    `central simulator stopped (connections refused) for ${seconds(downMs)}, then started again on ${central.url} with the same store`,
                );
                await central.stop();
                await sleep(downMs);
                const restarted = Date.now();
                await central.start();
                record.endedAtMs = this.deps.elapsed();
                // Back means the gate's uplink got an answer again.
                const deadline = restarted + RECOVERY_WAIT_MS + config.central.backoffMaxMs;
                const delivered = () => Date.parse(this.deps.gate.sync.status().lastSuccessAt ?? "") >= restarted;
                while (!delivered() && Date.now() < deadline) await sleep(100);
                if (delivered()) record.recoveredAtMs = this.deps.elapsed();
                else record.detail += "; the uplink had not delivered again a minute later";
                return;
            }
            case "disk-quota": {
                const { gate, ballast } = this.deps;
                const quotaMb = config.storage.quotaMb;
                start(
                    config.lanes.map((lane) => lane.id),
                    2000,
                    `a simulated ballast of ${quotaMb} MiB counted against storage.quotaMb (${quotaMb} MiB) ${fault.forMs === undefined ? "to the end of the run" : `for ${seconds(downMs)}`}: every lane to manual processing, nothing dropped`,
                );
                ballast.bytes = quotaMb * 2 ** 20;
                if ((await gate.housekeeping.checkQuota())?.level !== "full")
                    record.detail += "; the gate did not see its quota reached";
                if (fault.forMs === undefined) return;
                await sleep(downMs);
                ballast.bytes = 0;
                record.endedAtMs = this.deps.elapsed();
                if ((await gate.housekeeping.checkQuota())?.level === "ok") record.recoveredAtMs = this.deps.elapsed();
                else record.detail += "; the gate still saw its quota reached after the ballast went";
                return;
            }
            case "xray-offline": {
                const { inspection } = this.deps;
                const xray = inspection.xray;
                if (!xray) {
                    record.detail = "not injected: the configuration has no X-ray scanner (inspection.devices)";
                    return;
                }
                record.device = xray.deviceId;
                start(
                    [],
                    0,
                    `${xray.deviceId}: the scanner's share went away for ${seconds(downMs)} (its folder ${xray.folder} replaced by a file: unreadable); scans of that time wait at the scanner`,
                );
                await inspection.unmountXray();
                if (!(await statusSeen(xray.deviceId, "offline")))
                    record.detail += "; the gate did not see the scanner go offline";
                await sleep(downMs);
                const waited = await inspection.remountXray();
                record.endedAtMs = this.deps.elapsed();
                record.detail += `; ${waited} scan(s) waited for the share`;
                if (await statusSeen(xray.deviceId, "online")) record.recoveredAtMs = this.deps.elapsed();
                else record.detail += "; the scanner not back online a minute later";
                return;
            }
            case "rpm-detector-failure": {
                const rpm = this.deps.inspection.rpms.get(fault.lane ?? "");
                if (!rpm) {
                    record.detail = `not injected: lane ${fault.lane} has no RPM (inspection.devices)`;
                    return;
                }
                record.device = rpm.deviceId;
                start(
                    [],
                    0,
                    `${rpm.deviceId}: ${FAILED_PANEL.code} (${FAILED_PANEL.detector}, severity ${FAILED_PANEL.severity}) in its background report and every occupancy for ${seconds(downMs)}`,
                );
                rpm.sim.setFaults([FAILED_PANEL]);
                await rpm.sim.backgroundReport();
                if (!(await statusSeen(rpm.deviceId, "degraded")))
                    record.detail += "; the gate did not see the RPM degraded";
                await sleep(downMs);
                rpm.sim.setFaults([]);
                await rpm.sim.backgroundReport();
                record.endedAtMs = this.deps.elapsed();
                if (await statusSeen(rpm.deviceId, "online")) record.recoveredAtMs = this.deps.elapsed();
                else record.detail += "; the RPM not back online a minute later";
                return;
            }
            case "lane-closed": {
                const lane = fault.lane ?? "";
                const plc = bench.lane(lane).find((d) => d.plc)?.plc;
                const { busyLanes, laneClosedSeen } = this.deps;
                if (!plc || !busyLanes || !laneClosedSeen) {
                    record.detail = `not injected: ${plc ? "only a yard run closes a lane (its trucks are called to lanes)" : `lane ${lane} has no simulated lane PLC`}`;
                    return;
                }
                // The officer closes the lane once the truck in it has left; no truck is driven to it while closed.
                while (busyLanes.has(lane)) await sleep(50);
                busyLanes.add(lane);
                try {
                    start(
                        [],
                        0,
                        `lane ${lane} closed for ${seconds(downMs)}: its PLC's key switch to maintenance (PLC.Mode), so the gate must call no truck to it`,
                    );
                    plc.sim.setMode(plc.lane, "maintenance");
                    const seen = async (closed: boolean): Promise<boolean> => {
                        const deadline = Date.now() + RECOVERY_WAIT_MS;
                        while (laneClosedSeen(lane) !== closed && Date.now() < deadline) await sleep(50);
                        return laneClosedSeen(lane) === closed;
                    };
                    if (!(await seen(true))) record.detail += "; the gate did not store the PLC off automatic";
                    await sleep(downMs);
                    plc.sim.setMode(plc.lane, "auto");
                    record.endedAtMs = this.deps.elapsed();
                    if (await seen(false)) record.recoveredAtMs = this.deps.elapsed();
                    else record.detail += "; the gate did not store the PLC back in automatic a minute later";
                } finally {
                    busyLanes.delete(lane);
                }
                return;
            }
            case "clock-jump": {
                const by = fault.byMs ?? 0;
                // No lane is excused: a clock step is no device going offline, and gate-edge must decide every
                // truck as before it (its windows ought to run on a monotonic clock).
                start(
                    [],
                    0,
                    `the gate's clock (GateOptions.clock) stepped ${by > 0 ? "forward" : "back"} by ${seconds(Math.abs(by))}; the runner's own timing (and the devices' clocks) did not move`,
                );
                this.deps.clock.jump(by);
                await end([]);
                return;
            }
        }
    }
}

/**
 * The fault windows of a lane as [from, to] ms since the run started, grace included. A fault still going
 * (not ended yet: the progress line judges trucks while the run goes on) lasts until further notice.
 */
export function faultWindows(
    records: readonly FaultRecord[],
    laneId: string,
): { record: FaultRecord; from: number; to: number }[] {
    return records.flatMap((record) =>
        record.injected && record.startedAtMs !== undefined && record.lanes.includes(laneId)
            ? [
                  {
                      record,
                      from: record.startedAtMs,
                      // Until the gate has the devices back, and a grace after the fault itself ended.
                      to:
                          record.endedAtMs === undefined && record.forMs !== undefined
                              ? Number.POSITIVE_INFINITY
                              : Math.max(
                                    (record.endedAtMs ?? record.startedAtMs) + record.graceMs,
                                    (record.recoveredAtMs ?? record.endedAtMs ?? record.startedAtMs) + 1000,
                                ),
                  },
              ]
            : [],
    );
}

/** A duration for a report line: "0.3 s", "42 s", "1 h". */
export function seconds(ms: number): string {
    if (ms >= 3_600_000 && ms % 360_000 === 0) return `${ms / 3_600_000} h`;
    return ms >= 10_000 ? `${Math.round(ms / 1000)} s` : `${(ms / 1000).toFixed(1)} s`;
}
