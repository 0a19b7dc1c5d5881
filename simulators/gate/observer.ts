/**
 * Watches a gate run from inside the process, on the gate's own bus: passages as they open, are decided
 * and complete; readings per device and kind; alerts; and the decision latency, measured on the runner's
 * monotonic clock (never the gate's, which a clock-jump fault moves) from the last read of a truck decoded
 * in its lane to the lane's first command for the passage.
 */
import { performance } from "node:perf_hooks";
import type { GateEvent } from "../../src/core/events.ts";
import type { Gate } from "../../src/gate.ts";

export interface ObservedPassage {
    passageId: string;
    laneId: string;
    /** Runner-monotonic ms. */
    openedAt: number;
    decidedAt?: number;
    decision?: string;
    /** The failing rules' reasons, for the report. */
    reasons: string[];
    /** Required reads that timed out (the decision came from a timeout, not from the last read). */
    timedOut: string[];
    offline: boolean;
    /** Plate positions read when it was decided. */
    plates: { front: boolean; rear: boolean };
    completedAt?: number;
    outcome?: string;
    /** Last vehicle read decoded in the lane → first lane command, ms (runner-monotonic). */
    latencyMs?: number;
    /** The same as gate-edge measures it (laneCommand at − triggeredAt, gate clock), ms. */
    gateLatencyMs?: number;
    commands: string[];
}

/** Reading kinds that come from the truck (not the lane's own loops, barrier or device statuses). */
const VEHICLE_KINDS = new Set(["plate", "scan", "seal", "weight", "container"]);

export class GateObserver {
    readonly passages = new Map<string, ObservedPassage>();
    /** Opened passages per lane, in order. */
    readonly byLane = new Map<string, ObservedPassage[]>();
    /** reading.<kind> events committed, by device then kind. */
    readonly readings = new Map<string, Map<string, number>>();
    readonly alerts = new Map<string, number>();
    /** Each device's latest status as its `device.status` events say (inspection devices have no runtime). */
    readonly deviceStatus = new Map<string, string>();
    /** `inspection.exit` events committed: the case's id → the results at the exit (refused, released). */
    readonly exits = new Map<string, string[]>();
    private readonly lastRead = new Map<string, number>();

    constructor(private readonly gate: Gate) {
        gate.bus.on("committed", this, (event) => this.onCommitted(event));
        gate.bus.on("reading", this, (reading) => {
            if (VEHICLE_KINDS.has(reading.kind)) this.lastRead.set(reading.laneId, performance.now());
        });
        gate.bus.on("laneCommand", this, (command) => {
            const passage = this.passages.get(command.passageId);
            if (!passage) return;
            passage.commands.push(command.command);
            if (passage.latencyMs !== undefined) return;
            const read = this.lastRead.get(command.laneId);
            if (read !== undefined && read >= passage.openedAt - 60_000) passage.latencyMs = performance.now() - read;
            if (command.triggeredAt !== undefined) passage.gateLatencyMs = command.at - command.triggeredAt;
        });
    }

    detach(): void {
        this.gate.bus.removeListeners(this);
    }

    /** Passages of a lane opened so far. */
    opened(laneId: string): number {
        return this.byLane.get(laneId)?.length ?? 0;
    }

    /** The lane's passage number `index` (0-based, in opening order), if it has opened. */
    passageAt(laneId: string, index: number): ObservedPassage | undefined {
        return this.byLane.get(laneId)?.[index];
    }

    /** Readings committed: `{deviceId: {kind: count}}`. */
    readingCounts(): Record<string, Record<string, number>> {
        const out: Record<string, Record<string, number>> = {};
        for (const [device, kinds] of [...this.readings.entries()].sort(([a], [b]) => a.localeCompare(b))) {
            out[device] = Object.fromEntries([...kinds.entries()].sort(([a], [b]) => a.localeCompare(b)));
        }
        return out;
    }

    private onCommitted(event: GateEvent): void {
        const data = event.data as Record<string, unknown>;
        if (event.type.startsWith("reading.") && event.deviceId) {
            const kinds = this.readings.get(event.deviceId) ?? new Map<string, number>();
            const kind = event.type.slice("reading.".length);
            kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
            this.readings.set(event.deviceId, kinds);
            return;
        }
        if (event.type === "device.status" && event.deviceId) {
            this.deviceStatus.set(event.deviceId, String(data.status));
            return;
        }
        if (event.type === "inspection.exit") {
            const caseId = String(data.caseId);
            this.exits.set(caseId, [...(this.exits.get(caseId) ?? []), String(data.result)]);
            return;
        }
        if (event.type === "alert.raised") {
            const code = String(data.code ?? "unknown");
            this.alerts.set(code, (this.alerts.get(code) ?? 0) + 1);
            return;
        }
        const passageId = typeof data.passageId === "string" ? data.passageId : undefined;
        if (!passageId || !event.laneId) return;
        const now = performance.now();
        if (event.type === "passage.opened") {
            const passage: ObservedPassage = {
                passageId,
                laneId: event.laneId,
                openedAt: now,
                reasons: [],
                timedOut: [],
                offline: false,
                plates: { front: false, rear: false },
                commands: [],
            };
            this.passages.set(passageId, passage);
            const list = this.byLane.get(event.laneId) ?? [];
            list.push(passage);
            this.byLane.set(event.laneId, list);
            return;
        }
        const passage = this.passages.get(passageId);
        if (!passage) return;
        if (event.type === "passage.decided") {
            // The stored event carries the correlator's output: facts and the decision record.
            const decision = data.decision as
                | { decision?: string; offline?: boolean; results?: { rule: string; pass: boolean; reason: string }[] }
                | undefined;
            const facts = data.facts as { timedOut?: string[]; frontPlate?: unknown; rearPlate?: unknown } | undefined;
            passage.plates = { front: facts?.frontPlate !== undefined, rear: facts?.rearPlate !== undefined };
            passage.decidedAt = now;
            // The outcome is what the lane does: the rules' decision raised by an officer's (or an RPM alarm's)
            // divert before it (src/lane/outcome.ts); a diverted truck's rules may well have said RELEASE.
            passage.decision = typeof data.outcome === "string" ? data.outcome : (decision?.decision ?? "UNKNOWN");
            passage.offline = decision?.offline === true;
            passage.timedOut = facts?.timedOut ?? [];
            passage.reasons = (decision?.results ?? []).filter((r) => !r.pass).map((r) => `${r.rule}: ${r.reason}`);
        } else if (event.type === "passage.completed") {
            passage.completedAt = now;
            passage.outcome = typeof data.outcome === "string" ? data.outcome : "completed";
        }
    }
}

/** Nearest-rank percentile of an ascending list; undefined when empty. */
export function percentile(sorted: readonly number[], p: number): number | undefined {
    if (sorted.length === 0) return undefined;
    const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
    return sorted[rank - 1];
}

export interface LatencySummary {
    count: number;
    p50Ms: number | null;
    p95Ms: number | null;
    p99Ms: number | null;
    maxMs: number | null;
}

export function summarise(values: readonly number[]): LatencySummary {
    const sorted = [...values].sort((a, b) => a - b);
    const round = (v: number | undefined) => (v === undefined ? null : Math.round(v * 10) / 10);
    return {
        count: sorted.length,
        p50Ms: round(percentile(sorted, 50)),
        p95Ms: round(percentile(sorted, 95)),
        p99Ms: round(percentile(sorted, 99)),
        maxMs: round(sorted[sorted.length - 1]),
    };
}
