import type { Logger } from "pino";
import { errorMessage } from "../core/errors.ts";
import type { GateEventDraft } from "../core/events.ts";
import { Backoff } from "../drivers/backoff.ts";
import type { ClearanceCache } from "../store/clearance.ts";
import { CLEARANCE_PAGE_LIMIT, type ClearanceItem, clearancePath, parseClearancePage } from "./protocol.ts";
import { SyncLoop, type SyncTimers } from "./timers.ts";
import type { CentralTransport } from "./uplink.ts";

export interface DownlinkOptions {
    gateId: string;
    pollMs: number;
    backoffBaseMs: number;
    backoffMaxMs: number;
}

export interface DownlinkDeps {
    cache: ClearanceCache;
    transport: CentralTransport;
    append(draft: GateEventDraft): Promise<unknown>;
    log: Logger;
    timers: SyncTimers;
    random?: () => number;
    /** Called after a poll that read the feed to its end: the cache holds central's current data. */
    caughtUp?: () => void;
}

export interface DownlinkStatus {
    cursor: string | undefined;
    version: string;
    lastPollAt: number | undefined;
    lastSuccessAt: number | undefined;
    lastError: string | undefined;
    itemsApplied: number;
    /** Declaration numbers a truck showed that the cache lacked, asked of central and not received yet. */
    requested: string[];
}

/** At most this many numbers wait for central at once; a flood of unknown numbers cannot grow it. */
const MAX_REQUESTED = 100;

export const CLEARANCE_REJECTED = "SYNC_CLEARANCE_INVALID";

/**
 * The downlink: polls central's clearance feed from the stored cursor and writes declarations and
 * watch-list entries into the clearance cache (the higher version wins), then stores the new cursor. The
 * lane engine reads the cache at each decision, so new data counts from the next decision on. A page that
 * fails validation is not applied and its cursor not stored: an alert is raised and the page is asked
 * again later, so no item is skipped. A crash between the items and the cursor re-applies the page, which
 * the version rule makes harmless. Each successful poll, even an empty one, refreshes the data's age.
 */
export class Downlink extends SyncLoop {
    private readonly backoff: Backoff;
    private lastPollAt: number | undefined;
    private lastSuccessAt: number | undefined;
    private lastError: string | undefined;
    private itemsApplied = 0;
    private invalidAlertRaised = false;
    private readonly requested = new Set<string>();
    /** A request came while a poll was in flight: poll again at once instead of pausing. */
    private askAgain = false;

    constructor(
        private readonly deps: DownlinkDeps,
        private readonly options: DownlinkOptions,
    ) {
        super(deps.timers, (err) => deps.log.error({ err }, "downlink stopped on an unexpected error"));
        this.backoff = new Backoff(options.backoffBaseMs, options.backoffMaxMs, deps.random);
    }

    /** Poll now instead of at the end of the current wait. */
    pollNow(): void {
        this.interruptPause();
    }

    /**
     * A truck showed declarations the cache does not have (an unknown number, or an amendment newer than
     * the cache's): ask central at once. Protocol v1 has no look-up of one declaration; central's feed
     * carries every declaration and amendment for this gate, so the ask is a poll of the feed now rather
     * than at the end of the poll interval. The numbers stay in `status().requested` until they arrive.
     */
    requestDeclarations(numbers: readonly string[]): void {
        const fresh = numbers.filter((n) => !this.requested.has(n) && this.missing(n));
        if (fresh.length === 0) return;
        for (const n of fresh) if (this.requested.size < MAX_REQUESTED) this.requested.add(n);
        this.deps.log.info({ declarations: fresh }, "a truck showed a declaration the gate lacks: asking central now");
        this.askAgain = true;
        this.pollNow();
    }

    /** The cache lacks this number: no declaration of its base, or only an older amendment. */
    private missing(number: string): boolean {
        const cached = this.deps.cache.declaration(number);
        return cached === undefined || cached.number < number.trim();
    }

    status(): DownlinkStatus {
        return {
            cursor: this.deps.cache.cursor(),
            version: this.deps.cache.view().version,
            lastPollAt: this.lastPollAt,
            lastSuccessAt: this.lastSuccessAt,
            lastError: this.lastError,
            itemsApplied: this.itemsApplied,
            requested: [...this.requested],
        };
    }

    protected async run(): Promise<void> {
        while (this.running) {
            let more = false;
            try {
                more = await this.pollOnce();
                this.backoff.reset();
            } catch (err) {
                if (!this.running) return;
                this.lastError = errorMessage(err);
                this.deps.log.warn({ error: this.lastError }, "clearance poll failed; will retry");
                await this.pause(Math.max(this.backoff.next(), Math.min(this.options.pollMs, 1000)));
                continue;
            }
            if (!more && !this.askAgain) await this.pause(this.options.pollMs);
        }
    }

    /** One page: returns whether central has more right away. Throws on any failure (nothing applied). */
    async pollOnce(): Promise<boolean> {
        this.askAgain = false;
        this.lastPollAt = this.deps.timers.now();
        const cursor = this.deps.cache.cursor();
        const query = new URLSearchParams({ limit: String(CLEARANCE_PAGE_LIMIT) });
        if (cursor !== undefined) query.set("after", cursor);
        const response = await this.deps.transport.request(
            "GET",
            `${clearancePath(this.options.gateId)}?${query}`,
            undefined,
            this.stopSignal,
        );
        if (response.status !== 200) throw new Error(`central answered HTTP ${response.status} to the clearance poll`);
        const page = parseClearancePage(response.body);
        const now = this.deps.timers.now();
        try {
            this.apply(page.items, now);
        } catch (err) {
            await this.raiseInvalid(errorMessage(err), cursor);
            throw err;
        }
        this.deps.cache.setCursor(page.next);
        this.deps.cache.setVersion(page.version ?? this.deps.cache.view().version, now);
        this.itemsApplied += page.items.length;
        for (const n of this.requested) if (!this.missing(n)) this.requested.delete(n);
        this.lastSuccessAt = now;
        this.lastError = undefined;
        if (page.items.length > 0) {
            this.deps.log.info(
                { items: page.items.length, cursor: page.next, version: page.version },
                "clearance data updated from central",
            );
        }
        if (this.invalidAlertRaised) {
            this.invalidAlertRaised = false;
            await this.deps.append({
                type: "alert.cleared",
                data: { code: CLEARANCE_REJECTED, message: "central's clearance feed is readable again" },
            });
        }
        const more = page.hasMore && page.items.length > 0;
        if (!more) this.deps.caughtUp?.();
        return more;
    }

    /** Applies a page in feed order, grouping runs of the same kind into one cache write each. */
    private apply(items: readonly ClearanceItem[], at: number): void {
        let index = 0;
        while (index < items.length) {
            const kind = (items[index] as ClearanceItem).type;
            let end = index;
            while (end < items.length && (items[end] as ClearanceItem).type === kind) end++;
            const run = items.slice(index, end);
            if (kind === "declaration") {
                this.deps.cache.upsertDeclarations(
                    run.map((item) => (item as Extract<ClearanceItem, { type: "declaration" }>).declaration),
                    at,
                );
            } else if (kind === "watchList") {
                this.deps.cache.upsertWatchList(
                    run.map((item) => (item as Extract<ClearanceItem, { type: "watchList" }>).entry),
                    at,
                );
            } else if (kind === "preArrival") {
                this.deps.cache.upsertPreArrivals(
                    run.map((item) => (item as Extract<ClearanceItem, { type: "preArrival" }>).preArrival),
                    at,
                );
            } else {
                this.deps.cache.removeWatchListEntries(
                    run.map((item) => (item as Extract<ClearanceItem, { type: "watchListRemoved" }>).id),
                );
            }
            index = end;
        }
    }

    private async raiseInvalid(message: string, cursor: string | undefined): Promise<void> {
        if (this.invalidAlertRaised) return;
        this.invalidAlertRaised = true;
        try {
            await this.deps.append({
                type: "alert.raised",
                data: {
                    code: CLEARANCE_REJECTED,
                    severity: "critical",
                    message: `central's clearance feed after cursor ${cursor ?? "(start)"} is invalid and was not applied: ${message}`,
                },
            });
        } catch (err) {
            this.deps.log.error({ err }, "could not store the clearance alert");
        }
    }
}
