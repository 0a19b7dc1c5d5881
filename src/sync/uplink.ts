import { createHash } from "node:crypto";
import type { Statement } from "better-sqlite3";
import type { Logger } from "pino";
import { canonicalEnvelope, canonicalJson } from "../core/canonical.ts";
import { errorMessage, GateError } from "../core/errors.ts";
import { type GateEventDraft, OutboxClass } from "../core/events.ts";
import { Backoff } from "../drivers/backoff.ts";
import type { Db } from "../store/db.ts";
import type { EventRow } from "../store/eventLog.ts";
import { CLASS_WEIGHTS, type Outbox, type OutboxEntry } from "../store/outbox.ts";
import type { CentralResponse } from "./client.ts";
import { eventsPath, MAX_BATCH_BYTES, MAX_BATCH_EVENTS, parseEventsResponse, parseRetryAfter } from "./protocol.ts";
import { SyncLoop, type SyncTimers } from "./timers.ts";

/** What the uplink needs of the HTTP client (a test may hand in its own). */
export interface CentralTransport {
    request(method: "GET" | "POST", path: string, body?: string, signal?: AbortSignal): Promise<CentralResponse>;
}

export interface UplinkOptions {
    gateId: string;
    batchMaxEvents: number;
    backoffBaseMs: number;
    backoffMaxMs: number;
    authRetryMs: number;
    maxRetryAfterMs: number;
    /** With nothing to send, look again after this long even if no event was committed. */
    idleCheckMs: number;
    /** Upload at most this many events per second (0 = as fast as central answers). */
    maxEventsPerSecond: number;
    /**
     * While the gate itself commits more than busyIngestPerSecond events a second (lanes and devices at
     * work), upload at most this many per second, so draining a backlog leaves the CPU to the lanes.
     */
    busyMaxEventsPerSecond: number;
    busyIngestPerSecond: number;
}

export interface UplinkDeps {
    db: Db;
    outbox: Outbox;
    transport: CentralTransport;
    /** Appends an event (alerts about sync) through the gate's event log. */
    append(draft: GateEventDraft): Promise<unknown>;
    log: Logger;
    timers: SyncTimers;
    random?: () => number;
}

export type UplinkState = "idle" | "sending" | "paced" | "backoff" | "auth-failed";

/**
 * Why the last upload failed, as the officer catalogue's `syncError.<code>` words it (the English
 * `lastError` stays for logs). Codes are stable: add new ones, never rename one that shipped.
 */
export type SyncErrorCode =
    | "STORE"
    | "NETWORK"
    | "AUTH_REFUSED"
    | "CENTRAL_BUSY"
    | "CENTRAL_BUSY_RETRY"
    | "BATCH_TOO_LARGE"
    | "HTTP_ERROR"
    | "PROTOCOL";

export interface SyncError {
    code: SyncErrorCode;
    params?: Record<string, string | number>;
}

export type RequestOutcome = "ok" | "network" | "http5xx" | "rateLimited" | "auth" | "http4xx" | "protocol";

export interface UplinkCounters {
    batches: number;
    accepted: number;
    duplicates: number;
    rejected: number;
    requests: Record<RequestOutcome, number>;
}

export interface UplinkStatus {
    state: UplinkState;
    lastAttemptAt: number | undefined;
    lastSuccessAt: number | undefined;
    lastError: string | undefined;
    lastErrorReason: SyncError | undefined;
    /** When the current wait ends (backoff, Retry-After or auth retry). */
    retryAt: number | undefined;
    counters: UplinkCounters;
}

interface Batch {
    entries: OutboxEntry[];
    rows: EventRow[];
    body: string;
}

/** The alert code a parked event raises; a parked alert of this code raises no further alert. */
export const SYNC_PARKED = "SYNC_PARKED";
export const SYNC_AUTH = "SYNC_AUTH";

const ENVELOPE_BYTES = '{"events":[]}'.length;

/**
 * The uplink: sends the outbox to central in batches (≤ batchMaxEvents, ≤ 1 MiB), one batch in flight, and
 * applies central's per-event answers. accepted/duplicate → the outbox row is deleted; rejected → parked
 * with the reason and an alert, until a technician retries it. A batch whose answer never came is sent
 * again (central deduplicates by id), so nothing is lost and nothing is doubled at central.
 *
 * Waits: network errors, 5xx and unreadable answers back off exponentially with full jitter; 429/503 wait
 * for Retry-After (capped); 401/403 raise an alert once and retry every authRetryMs until central takes
 * the token again. A batch is taken from the oldest pending events of each class by CLASS_WEIGHTS, so
 * alerts and passages go first and readings still drain; within a class events go in seq order, and a
 * batch is only replaced by the next once it is answered, so per-lane order within a class holds.
 */
export class Uplink extends SyncLoop {
    private state: UplinkState = "idle";
    private readonly backoff: Backoff;
    private batchLimit: number;
    private lastAttemptAt: number | undefined;
    private lastSuccessAt: number | undefined;
    private lastError: string | undefined;
    private lastErrorReason: SyncError | undefined;
    private retryAt: number | undefined;
    private authAlertRaised = false;
    private readonly selectEvent: Statement;
    /** Outbox rows per class, kept in step with every change so status and metrics never scan the backlog. */
    private readonly pending = new Map<OutboxClass, number>();
    private readonly parked = new Map<OutboxClass, number>();
    private ingestSecond = 0;
    private ingestThisSecond = 0;
    private ingestLastSecond = 0;
    readonly counters: UplinkCounters = {
        batches: 0,
        accepted: 0,
        duplicates: 0,
        rejected: 0,
        requests: { ok: 0, network: 0, http5xx: 0, rateLimited: 0, auth: 0, http4xx: 0, protocol: 0 },
    };

    constructor(
        private readonly deps: UplinkDeps,
        private readonly options: UplinkOptions,
    ) {
        super(deps.timers, (err) => deps.log.error({ err }, "uplink stopped on an unexpected error"));
        this.backoff = new Backoff(options.backoffBaseMs, options.backoffMaxMs, deps.random);
        this.batchLimit = Math.min(options.batchMaxEvents, MAX_BATCH_EVENTS);
        this.selectEvent = deps.db.prepare("SELECT * FROM events WHERE seq = ?");
    }

    override start(): void {
        if (this.running) return;
        for (const row of this.deps.outbox.backlog()) {
            this.pending.set(row.class, row.pending);
            this.parked.set(row.class, row.parked);
        }
        super.start();
    }

    /**
     * Stops after the batch in flight: its request is cancelled, and since its answer is then unknown its
     * events stay in the outbox and go again after the restart (central answers duplicate).
     */
    override async stop(): Promise<void> {
        await super.stop();
    }

    /** An event of this class was committed (so queued by the outbox trigger). */
    noteQueued(cls: OutboxClass): void {
        this.pending.set(cls, (this.pending.get(cls) ?? 0) + 1);
        const second = Math.floor(this.deps.timers.now() / 1000);
        if (second !== this.ingestSecond) {
            this.ingestLastSecond = second === this.ingestSecond + 1 ? this.ingestThisSecond : 0;
            this.ingestSecond = second;
            this.ingestThisSecond = 0;
        }
        this.ingestThisSecond++;
        this.wake();
    }

    /** The gate's own commit rate over the last whole second. */
    private ingestRate(): number {
        const second = Math.floor(this.deps.timers.now() / 1000);
        if (second === this.ingestSecond) return Math.max(this.ingestLastSecond, this.ingestThisSecond);
        return second === this.ingestSecond + 1 ? this.ingestThisSecond : 0;
    }

    /** The upload rate allowed now, in events per second (0 = no limit). */
    private allowedRate(): number {
        const { maxEventsPerSecond, busyMaxEventsPerSecond, busyIngestPerSecond } = this.options;
        const busy = busyMaxEventsPerSecond > 0 && this.ingestRate() > busyIngestPerSecond;
        if (!busy) return maxEventsPerSecond;
        return maxEventsPerSecond > 0 ? Math.min(maxEventsPerSecond, busyMaxEventsPerSecond) : busyMaxEventsPerSecond;
    }

    /** Pending and parked events per class, from the counts kept in step with the outbox. */
    backlog(): { class: OutboxClass; pending: number; parked: number }[] {
        return CLASSES_IN_ORDER.map((cls) => ({
            class: cls,
            pending: this.pending.get(cls) ?? 0,
            parked: this.parked.get(cls) ?? 0,
        }));
    }

    private count(map: Map<OutboxClass, number>, cls: OutboxClass, delta: number): void {
        map.set(cls, Math.max(0, (map.get(cls) ?? 0) + delta));
    }

    /** Something new to send: end an idle wait now (not a backoff or a Retry-After). */
    wake(): void {
        if (this.state === "idle") this.interruptPause();
    }

    status(): UplinkStatus {
        return {
            state: this.state,
            lastAttemptAt: this.lastAttemptAt,
            lastSuccessAt: this.lastSuccessAt,
            lastError: this.lastError,
            lastErrorReason: this.lastErrorReason,
            retryAt: this.retryAt,
            counters: this.counters,
        };
    }

    /**
     * A technician's retry of a parked event: back to pending, and the uplink looks at once. Throws
     * SYNC_NOT_PARKED when the event is not parked (delivered already, or never rejected).
     */
    retryParked(seq: number): OutboxEntry {
        const entry = this.deps.outbox.entryOf(seq);
        if (entry?.state !== "parked") throw new GateError("SYNC_NOT_PARKED", `event seq ${seq} is not parked`);
        if (this.deps.outbox.retryParked(entry, new Date(this.deps.timers.now()))) {
            this.count(this.parked, entry.class, -1);
            this.count(this.pending, entry.class, 1);
        }
        this.wake();
        return { seq: entry.seq, class: entry.class };
    }

    protected async run(): Promise<void> {
        while (this.running) {
            let batch: Batch | undefined;
            try {
                batch = this.nextBatch();
            } catch (err) {
                // The store is closing or broken; the gate's own health reports that.
                this.lastError = errorMessage(err);
                this.lastErrorReason = { code: "STORE", params: { detail: this.lastError } };
                await this.wait("backoff", this.backoff.next());
                continue;
            }
            if (!batch) {
                await this.wait("idle", this.options.idleCheckMs);
                continue;
            }
            const began = this.deps.timers.now();
            const delivered = await this.send(batch);
            const rate = delivered ? this.allowedRate() : 0;
            if (rate > 0) {
                // Pace: this batch may not take less time than its size allows at the permitted rate.
                const rest = (batch.entries.length / rate) * 1000 - (this.deps.timers.now() - began);
                if (rest > 1) await this.wait("paced", rest);
            }
        }
    }

    /** Waits in `state`, ended early by stop() (and, when idle, by wake()). */
    private async wait(state: UplinkState, ms: number): Promise<void> {
        if (!this.running) return;
        this.state = state;
        this.retryAt = state === "idle" ? undefined : this.deps.timers.now() + ms;
        try {
            await this.pause(ms);
        } finally {
            this.retryAt = undefined;
        }
    }

    /** The next batch: oldest pending events by class weight, in seq order, under the count and byte limits. */
    private nextBatch(): Batch | undefined {
        for (;;) {
            const candidates = this.deps.outbox.nextBatch(this.batchLimit);
            if (candidates.length === 0) return undefined;
            const entries: OutboxEntry[] = [];
            const rows: EventRow[] = [];
            const parts: string[] = [];
            let bytes = ENVELOPE_BYTES;
            let oversized = false;
            for (const entry of candidates) {
                const row = this.selectEvent.get(entry.seq) as EventRow | undefined;
                if (!row) continue;
                const json = wireJson(row);
                const size = Buffer.byteLength(json) + 1;
                if (size + ENVELOPE_BYTES > MAX_BATCH_BYTES) {
                    // No batch can ever carry it: park it for a technician rather than block the class.
                    this.parkOne(
                        entry,
                        row,
                        `event is ${size} bytes, larger than the ${MAX_BATCH_BYTES}-byte batch limit`,
                    );
                    oversized = true;
                    continue;
                }
                // Stop at the first event that does not fit: the batch stays a prefix of each class's queue.
                if (bytes + size > MAX_BATCH_BYTES) break;
                bytes += size;
                entries.push(entry);
                rows.push(row);
                parts.push(json);
            }
            if (entries.length > 0) return { entries, rows, body: `{"events":[${parts.join(",")}]}` };
            if (!oversized) return undefined;
        }
    }

    /** Sends one batch and applies the answer; true when central answered it (200). */
    private async send(batch: Batch): Promise<boolean> {
        this.state = "sending";
        this.lastAttemptAt = this.deps.timers.now();
        let response: CentralResponse;
        try {
            response = await this.deps.transport.request(
                "POST",
                eventsPath(this.options.gateId),
                batch.body,
                this.stopSignal,
            );
        } catch (err) {
            if (!this.running) return false;
            this.counters.requests.network++;
            const detail = err instanceof Error ? err.message : String(err);
            this.failed(detail, { code: "NETWORK", params: { detail } });
            await this.wait("backoff", this.backoff.next());
            return false;
        }
        const { status } = response;
        if (status === 200) return this.applyResults(batch, response.body);
        if (status === 401 || status === 403) {
            this.counters.requests.auth++;
            this.failed(`central refused the gate's credentials (HTTP ${status})`, {
                code: "AUTH_REFUSED",
                params: { status: String(status) },
            });
            await this.raiseAuthAlert(status);
            await this.wait("auth-failed", this.options.authRetryMs);
            return false;
        }
        if (status === 429 || status === 503) {
            this.counters.requests.rateLimited++;
            const header = response.headers["retry-after"];
            const asked = parseRetryAfter(Array.isArray(header) ? header[0] : header, this.deps.timers.now());
            this.failed(
                `central is busy (HTTP ${status}${asked === undefined ? "" : `, retry after ${asked} ms`})`,
                asked === undefined
                    ? { code: "CENTRAL_BUSY", params: { status: String(status) } }
                    : { code: "CENTRAL_BUSY_RETRY", params: { status: String(status), ms: asked } },
            );
            const delay = asked === undefined ? this.backoff.next() : Math.min(asked, this.options.maxRetryAfterMs);
            await this.wait("backoff", delay);
            return false;
        }
        if (status === 413 && this.batchLimit > 1) {
            // Central takes less than the protocol promises: halve the batch until it fits.
            this.counters.requests.http4xx++;
            this.batchLimit = Math.max(1, Math.floor(this.batchLimit / 2));
            this.failed(`central refused a batch as too large (HTTP 413); batches now ≤ ${this.batchLimit} events`, {
                code: "BATCH_TOO_LARGE",
                params: { limit: this.batchLimit },
            });
            return false;
        }
        if (status >= 500) this.counters.requests.http5xx++;
        else this.counters.requests.http4xx++;
        // Any other answer: central cannot take this batch now. Nothing is dropped: back off and resend.
        this.failed(`central answered HTTP ${status}${describeError(response.body)}`, {
            code: "HTTP_ERROR",
            params: { status: String(status), detail: describeError(response.body) },
        });
        await this.wait("backoff", this.backoff.next());
        return false;
    }

    private async applyResults(batch: Batch, body: unknown): Promise<boolean> {
        let results: ReturnType<typeof parseEventsResponse>;
        try {
            results = parseEventsResponse(
                body,
                batch.rows.map((row) => row.id),
            );
        } catch (err) {
            this.counters.requests.protocol++;
            this.failed(errorMessage(err), { code: "PROTOCOL", params: { detail: errorMessage(err) } });
            await this.wait("backoff", this.backoff.next());
            return false;
        }
        const delivered: OutboxEntry[] = [];
        const rejected: { entry: OutboxEntry; row: EventRow; reason: string }[] = [];
        batch.entries.forEach((entry, index) => {
            const row = batch.rows[index] as EventRow;
            const result = results.get(row.id);
            if (result?.status === "rejected") {
                rejected.push({ entry, row, reason: result.reason?.trim() || "rejected by central (no reason given)" });
            } else {
                if (result?.status === "duplicate") this.counters.duplicates++;
                else this.counters.accepted++;
                delivered.push(entry);
            }
        });
        const at = new Date(this.deps.timers.now());
        this.deps.db.transaction(() => {
            // Central's answer, as a digest: the business acknowledgement a pruning checkpoint names.
            this.deps.outbox.markDelivered(delivered, { at, digest: sha256Hex(canonicalJson(body)) });
            for (const { entry, reason } of rejected) this.deps.outbox.park(entry, reason, at);
        })();
        for (const entry of delivered) this.count(this.pending, entry.class, -1);
        for (const { entry } of rejected) {
            this.count(this.pending, entry.class, -1);
            this.count(this.parked, entry.class, 1);
        }
        this.counters.requests.ok++;
        this.counters.batches++;
        this.counters.rejected += rejected.length;
        this.lastSuccessAt = this.deps.timers.now();
        this.lastError = undefined;
        this.lastErrorReason = undefined;
        this.backoff.reset();
        this.batchLimit = Math.min(this.options.batchMaxEvents, MAX_BATCH_EVENTS, this.batchLimit * 2);
        if (this.authAlertRaised) {
            this.authAlertRaised = false;
            await this.appendAlert({
                type: "alert.cleared",
                data: { code: SYNC_AUTH, message: "central accepts the gate's credentials again" },
            });
        }
        for (const { row, reason } of rejected) await this.parkedAlert(row, reason);
        return true;
    }

    private parkOne(entry: OutboxEntry, row: EventRow, reason: string): void {
        this.deps.outbox.park(entry, reason, new Date(this.deps.timers.now()));
        this.count(this.pending, entry.class, -1);
        this.count(this.parked, entry.class, 1);
        this.counters.rejected++;
        void this.parkedAlert(row, reason);
    }

    private async parkedAlert(row: EventRow, reason: string): Promise<void> {
        this.deps.log.warn(
            { seq: row.seq, eventId: row.id, type: row.type, reason },
            "central rejected an event; parked",
        );
        // A rejected SYNC_PARKED alert must not raise another one, or a central that rejects alerts would
        // make the gate raise them forever.
        if (row.type === "alert.raised" && row.data.includes(`"code":"${SYNC_PARKED}"`)) return;
        await this.appendAlert({
            type: "alert.raised",
            ...(row.lane_id !== null && { laneId: row.lane_id }),
            data: {
                code: SYNC_PARKED,
                severity: "warning",
                message: `central rejected event ${row.seq} (${row.type}): ${reason}; parked until a technician retries it`,
                seq: row.seq,
                eventId: row.id,
                eventType: row.type,
                reason,
            },
        });
    }

    private async raiseAuthAlert(status: number): Promise<void> {
        if (this.authAlertRaised) return;
        this.authAlertRaised = true;
        await this.appendAlert({
            type: "alert.raised",
            data: {
                code: SYNC_AUTH,
                severity: "critical",
                message: `central refused the gate's credentials (HTTP ${status}); events wait in the outbox, retrying every ${Math.round(this.options.authRetryMs / 1000)} s`,
                status,
            },
        });
    }

    private async appendAlert(draft: GateEventDraft): Promise<void> {
        try {
            await this.deps.append(draft);
        } catch (err) {
            this.deps.log.error({ err, code: (draft.data as { code?: string }).code }, "could not store a sync alert");
        }
    }

    private failed(message: string, because: SyncError): void {
        this.lastError = message;
        this.lastErrorReason = because;
        this.deps.log.warn({ error: message }, "upload to central failed; will retry");
    }
}

/** The event as sent: the canonical envelope (the same bytes its hash covers) plus the hash. */
export function wireJson(row: EventRow): string {
    const envelope = canonicalEnvelope(
        {
            id: row.id,
            gateId: row.gate_id,
            seq: row.seq,
            ...(row.lane_id !== null && { laneId: row.lane_id }),
            type: row.type,
            occurredAt: row.occurred_at,
            recordedAt: row.recorded_at,
            ...(row.device_id !== null && { deviceId: row.device_id }),
            prevHash: row.prev_hash,
        },
        row.data,
    );
    return `${envelope.slice(0, -1)},"hash":${JSON.stringify(row.hash)}}`;
}

const sha256Hex = (text: string): string => createHash("sha256").update(text).digest("hex");

function describeError(body: unknown): string {
    if (typeof body === "object" && body !== null && "message" in body) {
        const message = (body as { message: unknown }).message;
        if (typeof message === "string") return `: ${message.slice(0, 200)}`;
    }
    return "";
}

/** The classes in priority order, for status and metrics. */
export const CLASS_NAMES: Readonly<Record<OutboxClass, string>> = {
    [OutboxClass.Alert]: "alert",
    [OutboxClass.Passage]: "passage",
    [OutboxClass.Reading]: "reading",
    [OutboxClass.Image]: "image",
    [OutboxClass.Telemetry]: "telemetry",
};

export const CLASSES_IN_ORDER = (Object.keys(CLASS_WEIGHTS).map(Number) as OutboxClass[]).sort((a, b) => a - b);
