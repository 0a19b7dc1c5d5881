import type { EventBus } from "../core/bus.ts";
import type { GateEvent } from "../core/events.ts";
import { type Alert, type AlertStore, isAlertEvent } from "../store/alerts.ts";
import type { Approval } from "../store/approvals.ts";
import type { Role } from "../store/users.ts";
import type { LaneTile } from "./views.ts";

/** One message of the live stream (GET /api/v1/stream), with the roles that may see it. */
export type LiveMessage =
    | { event: "lane"; data: LaneTile }
    | { event: "alert"; data: Alert }
    | {
          event: "device";
          data: {
              id: string;
              laneId: string;
              status: string;
              reason?: string;
              reasonCode?: string;
              reasonParams?: Record<string, string | number>;
          };
      }
    | { event: "approval"; data: Approval | { passageId: string; resolved: true } };

/** Who sees which kind of message: the same roles as the routes that serve the same data. */
export const LIVE_ROLES: Readonly<Record<LiveMessage["event"], readonly Role[]>> = {
    lane: ["officer", "supervisor", "technician", "auditor", "admin"],
    device: ["officer", "supervisor", "technician", "auditor", "admin"],
    alert: ["officer", "supervisor", "technician", "admin"],
    approval: ["supervisor"],
};

/** Fan-out of live messages to the open streams. */
export class LiveHub {
    private readonly listeners = new Set<(message: LiveMessage) => void>();

    subscribe(listener: (message: LiveMessage) => void): () => void {
        this.listeners.add(listener);
        return () => this.listeners.delete(listener);
    }

    publish(message: LiveMessage): void {
        for (const listener of this.listeners) listener(message);
    }

    get size(): number {
        return this.listeners.size;
    }
}

/** A lane tile is re-sent at most this often; a truck's reads arrive in bursts. */
const LANE_COALESCE_MS = 100;

/**
 * The lanes board: tiles built on demand, with each lane's "since" tracked from the lane state changes,
 * and a coalesced `lane` message whenever something a tile shows changed.
 */
export class LaneBoard {
    private readonly since = new Map<string, string>();
    private readonly dirty = new Set<string>();
    private timer: NodeJS.Timeout | undefined;

    constructor(
        private readonly bus: EventBus,
        private readonly hub: LiveHub,
        private readonly tileOf: (laneId: string, since: string) => LaneTile | undefined,
        private readonly laneOfDevice: (deviceId: string) => string | undefined,
        private readonly startedAt: string,
    ) {}

    start(): void {
        this.bus.on("laneState", this, (state) => {
            // DECIDING and CLOSED pass within one step: the tile's state is the one the lane rests in.
            this.since.set(state.laneId, state.at);
            this.touch(state.laneId);
        });
        this.bus.on("committed", this, (event: GateEvent) => {
            if (event.type.startsWith("passage.") && event.laneId) this.touch(event.laneId);
        });
        this.bus.on("deviceStatus", this, (status) => {
            this.hub.publish({
                event: "device",
                data: {
                    id: status.deviceId,
                    laneId: status.laneId,
                    status: status.status,
                    ...(status.reason !== undefined && { reason: status.reason }),
                    ...(status.reasonCode !== undefined && { reasonCode: status.reasonCode }),
                    ...(status.reasonParams !== undefined && { reasonParams: status.reasonParams }),
                },
            });
            this.touch(status.laneId ?? this.laneOfDevice(status.deviceId));
        });
    }

    stop(): void {
        this.bus.removeListeners(this);
        clearTimeout(this.timer);
        this.timer = undefined;
    }

    tile(laneId: string): LaneTile | undefined {
        return this.tileOf(laneId, this.since.get(laneId) ?? this.startedAt);
    }

    /** Something on the lane's tile changed: send it soon. */
    touch(laneId: string | undefined): void {
        if (laneId === undefined) return;
        this.dirty.add(laneId);
        if (this.timer) return;
        this.timer = setTimeout(() => this.flush(), LANE_COALESCE_MS);
        this.timer.unref();
    }

    private flush(): void {
        this.timer = undefined;
        const lanes = [...this.dirty];
        this.dirty.clear();
        // Nobody watching: nothing to build.
        if (this.hub.size === 0) return;
        for (const laneId of lanes) {
            const tile = this.tile(laneId);
            if (tile) this.hub.publish({ event: "lane", data: tile });
        }
    }
}

/** Alerts reach the queue's table within this long of their commit. */
const ALERT_FLUSH_MS = 200;

/**
 * Keeps the alerts table (a projection of the event log) current: catches up from its cursor at start,
 * then collects alert events as they are committed and writes them in one transaction per flush, so the
 * ingest path pays nothing for the queue. Every changed alert goes to the live stream.
 */
export class AlertFeed {
    private pending: GateEvent[] = [];
    private timer: NodeJS.Timeout | undefined;

    constructor(
        private readonly store: AlertStore,
        private readonly bus: EventBus,
        private readonly hub: LiveHub,
        private readonly headSeq: () => number,
    ) {}

    start(): void {
        this.store.catchUp();
        this.bus.on("committed", this, (event: GateEvent) => {
            if (!isAlertEvent(event)) return;
            this.pending.push(event);
            if (this.timer) return;
            this.timer = setTimeout(() => this.flush(), ALERT_FLUSH_MS);
            this.timer.unref();
        });
    }

    stop(): void {
        this.bus.removeListeners(this);
        // Even with nothing to write the cursor moves to the head, so the next start does not re-read the
        // events of a quiet day looking for alerts.
        this.flush(true);
    }

    /** Writes what was collected; reads call it first, so a query never misses a committed alert. */
    flush(always = false): void {
        clearTimeout(this.timer);
        this.timer = undefined;
        const events = this.pending;
        this.pending = [];
        if (events.length === 0 && !always) return;
        for (const alert of this.store.apply(events, this.headSeq())) this.hub.publish({ event: "alert", data: alert });
    }
}
