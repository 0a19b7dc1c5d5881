import type { Logger } from "pino";
import type { GateConfig } from "../config/types.ts";
import type { EventBus } from "../core/bus.ts";
import { GateError } from "../core/errors.ts";
import type { GateEventDraft } from "../core/events.ts";
import { outboxClassOf } from "../core/events.ts";
import type { ClearanceCache } from "../store/clearance.ts";
import type { Db } from "../store/db.ts";
import { Outbox, type ParkedEvent } from "../store/outbox.ts";
import { CentralClient } from "./client.ts";
import { Downlink, type DownlinkStatus } from "./downlink.ts";
import { realTimers, type SyncTimers } from "./timers.ts";
import {
    type CentralTransport,
    CLASS_NAMES,
    type SyncErrorCode,
    Uplink,
    type UplinkCounters,
    type UplinkState,
} from "./uplink.ts";

export interface SyncServiceDeps {
    config: GateConfig;
    db: Db;
    cache: ClearanceCache;
    bus: EventBus;
    append(draft: GateEventDraft): Promise<unknown>;
    log: Logger;
    timers?: SyncTimers;
    /** Tests hand in their own transport; otherwise one is built from central.url. */
    transport?: CentralTransport;
    env?: NodeJS.ProcessEnv;
}

export interface ClassBacklog {
    class: string;
    pending: number;
    parked: number;
    /** Age of the oldest pending event of the class (its recordedAt to now), in seconds. */
    oldestPendingAgeS: number | null;
}

export interface SyncStatus {
    enabled: boolean;
    central: string | undefined;
    state: UplinkState | "disabled";
    backlog: ClassBacklog[];
    parked: (ParkedEvent & { className: string })[];
    lastAttemptAt: string | null;
    lastSuccessAt: string | null;
    lastError: string | null;
    /** The last error as a code with parameters (officer catalogue `syncError.<code>`). */
    lastErrorCode: SyncErrorCode | null;
    lastErrorParams: Record<string, string | number> | null;
    retryAt: string | null;
    counters: UplinkCounters | null;
    downlink:
        | (Omit<DownlinkStatus, "lastPollAt" | "lastSuccessAt"> & {
              lastPollAt: string | null;
              lastSuccessAt: string | null;
          })
        | null;
}

const iso = (ms: number | undefined): string | null => (ms === undefined ? null : new Date(ms).toISOString());

/** The declaration numbers a stored decision asks central for (DecisionRecord.clearanceRequests). */
function clearanceRequestsOf(data: Readonly<Record<string, unknown>>): string[] {
    const decision = data.decision;
    if (typeof decision !== "object" || decision === null) return [];
    const requests = (decision as { clearanceRequests?: unknown }).clearanceRequests;
    return Array.isArray(requests) ? requests.filter((n): n is string => typeof n === "string") : [];
}

/**
 * Central sync as one gate extension: the uplink of the outbox and the downlink of clearance data, both
 * talking protocol v1 through one client. Without central.url the gate runs standalone: nothing is sent,
 * the outbox keeps every event, and status says so.
 */
export class SyncService {
    readonly outbox: Outbox;
    private uplink: Uplink | undefined;
    private downlink: Downlink | undefined;
    private client: CentralClient | undefined;
    private readonly timers: SyncTimers;
    private readonly log: Logger;

    constructor(private readonly deps: SyncServiceDeps) {
        this.outbox = new Outbox(deps.db);
        this.timers = deps.timers ?? realTimers({ now: () => Date.now() });
        this.log = deps.log.child({ component: "sync" });
    }

    get enabled(): boolean {
        return this.deps.config.central.url !== undefined || this.deps.transport !== undefined;
    }

    start(): void {
        const central = this.deps.config.central;
        if (!this.enabled) {
            this.log.warn("no central.url configured: events stay in the outbox until one is");
            return;
        }
        let transport = this.deps.transport;
        if (!transport) {
            const token = (this.deps.env ?? process.env)[central.tokenEnv];
            if (!token)
                this.log.warn(
                    { tokenEnv: central.tokenEnv },
                    "no central token in the environment; central will refuse uploads",
                );
            this.client = new CentralClient({
                url: central.url as string,
                token: token || undefined,
                timeoutMs: central.requestTimeoutMs,
                ...(central.ca !== undefined && { ca: central.ca }),
                ...(central.clientCert !== undefined && { clientCert: central.clientCert }),
                ...(central.clientKey !== undefined && { clientKey: central.clientKey }),
            });
            transport = this.client;
            this.log.info({ central: this.client.target }, "central sync starting");
        }
        const gateId = this.deps.config.gate.id;
        this.uplink = new Uplink(
            {
                db: this.deps.db,
                outbox: this.outbox,
                transport,
                append: this.deps.append,
                log: this.log,
                timers: this.timers,
            },
            {
                gateId,
                batchMaxEvents: central.batchMaxEvents,
                backoffBaseMs: central.backoffBaseMs,
                backoffMaxMs: central.backoffMaxMs,
                authRetryMs: central.authRetryMs,
                maxRetryAfterMs: central.maxRetryAfterMs,
                idleCheckMs: 1000,
                maxEventsPerSecond: central.maxEventsPerSecond,
                busyMaxEventsPerSecond: central.busyMaxEventsPerSecond,
                busyIngestPerSecond: central.busyIngestPerSecond,
            },
        );
        this.downlink = new Downlink(
            {
                cache: this.deps.cache,
                transport,
                append: this.deps.append,
                log: this.log,
                timers: this.timers,
                caughtUp: () => this.deps.bus.emit("clearanceRefreshed", { version: this.deps.cache.view().version }),
            },
            {
                gateId,
                pollMs: central.clearancePollMs,
                backoffBaseMs: central.backoffBaseMs,
                backoffMaxMs: central.backoffMaxMs,
            },
        );
        // start() reads the backlog counts and the listener keeps them in step: both in this same turn,
        // so no commit falls between them.
        this.uplink.start();
        const uplink = this.uplink;
        const downlink = this.downlink;
        this.deps.bus.on("committed", this, (event) => {
            uplink.noteQueued(outboxClassOf(event.type));
            // A truck showed a declaration (or an amendment) the cache does not have: ask central at once.
            if (event.type === "passage.decided") downlink.requestDeclarations(clearanceRequestsOf(event.data));
        });
        this.downlink.start();
    }

    async stop(): Promise<void> {
        this.deps.bus.removeListeners(this);
        await Promise.all([this.uplink?.stop(), this.downlink?.stop()]);
        this.client?.close();
    }

    /** A technician's retry of a parked event (SYNC_NOT_PARKED when it is not parked). */
    retryParked(seq: number): void {
        if (this.uplink) {
            this.uplink.retryParked(seq);
            return;
        }
        const entry = this.outbox.entryOf(seq);
        if (entry?.state !== "parked" || !this.outbox.retryParked(entry, new Date(this.timers.now()))) {
            throw new GateError("SYNC_NOT_PARKED", `event seq ${seq} is not parked`);
        }
    }

    /** Poll the clearance feed now (a technician's "refresh"). */
    pollClearanceNow(): void {
        this.downlink?.pollNow();
    }

    status(parkedLimit = 100): SyncStatus {
        const now = this.timers.now();
        const counts = this.uplink?.backlog() ?? this.outbox.backlog();
        const backlog = counts.map((row) => {
            const oldest = row.pending > 0 ? this.outbox.oldestPendingRecordedAt(row.class) : undefined;
            return {
                class: CLASS_NAMES[row.class],
                pending: row.pending,
                parked: row.parked,
                oldestPendingAgeS: oldest === undefined ? null : Math.max(0, (now - Date.parse(oldest)) / 1000),
            };
        });
        const parked = counts.some((row) => row.parked > 0)
            ? this.outbox.parked(parkedLimit).map((event) => ({ ...event, className: CLASS_NAMES[event.class] }))
            : [];
        const up = this.uplink?.status();
        const down = this.downlink?.status();
        return {
            enabled: this.enabled,
            central: this.client?.target ?? (this.deps.transport ? "(test transport)" : undefined),
            state: up?.state ?? "disabled",
            backlog,
            parked,
            lastAttemptAt: iso(up?.lastAttemptAt),
            lastSuccessAt: iso(up?.lastSuccessAt),
            lastError: up?.lastError ?? null,
            lastErrorCode: up?.lastErrorReason?.code ?? null,
            lastErrorParams: up?.lastErrorReason?.params ?? null,
            retryAt: iso(up?.retryAt),
            counters: up?.counters ?? null,
            downlink: down
                ? { ...down, lastPollAt: iso(down.lastPollAt), lastSuccessAt: iso(down.lastSuccessAt) }
                : null,
        };
    }
}
