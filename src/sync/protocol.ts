/**
 * Central sync protocol v1 (docs/design.md "Central sync"): the one definition of the wire format, used by
 * gate-edge's uplink and downlink and by the central clearance system simulator, so both sides agree.
 *
 * Uplink:   POST {central}/api/v1/gates/{gateId}/events   body {"events": GateEvent[]}  (≤ 500 events, ≤ 1 MiB)
 *           200 → {"results": [{id, status: accepted|duplicate|rejected, reason?, reference?}]}, one per event
 *           429/503 → Retry-After (seconds or HTTP date); other 5xx / network error → backoff; 401/403 → alert
 * Downlink: GET {central}/api/v1/gates/{gateId}/clearance?after={cursor}&limit=1000
 *           200 → {"items": ClearanceItem[], "next": cursor, "hasMore": bool, "version"?: string}
 *
 * Delivery is at-least-once from the edge and exactly-once at central by event id. Events carry their
 * gap-free `seq`; central orders by it and detects gaps. Within one lane and one priority class the edge
 * sends in seq order; across classes, alerts and passages overtake readings (weighted, nothing starves).
 */
import { GateError } from "../core/errors.ts";
import type { Declaration, WatchListEntry } from "../lane/types.ts";
import type { PreArrival } from "../yard/types.ts";

export const SYNC_PROTOCOL_VERSION = 1;
export const MAX_BATCH_EVENTS = 500;
export const MAX_BATCH_BYTES = 1024 * 1024;
export const CLEARANCE_PAGE_LIMIT = 1000;

export function eventsPath(gateId: string): string {
    return `/api/v1/gates/${encodeURIComponent(gateId)}/events`;
}

export function clearancePath(gateId: string): string {
    return `/api/v1/gates/${encodeURIComponent(gateId)}/clearance`;
}

export type EventResultStatus = "accepted" | "duplicate" | "rejected";
export const EVENT_RESULT_STATUSES: readonly EventResultStatus[] = ["accepted", "duplicate", "rejected"];

export interface EventResult {
    id: string;
    status: EventResultStatus;
    /** Why central rejected it (required with "rejected"). */
    reason?: string;
    /** Central's own reference for the event, when it keeps one. */
    reference?: string;
}

export interface EventsResponse {
    results: EventResult[];
}

/** One change in the clearance feed, in feed order. */
export type ClearanceItem =
    | { type: "declaration"; declaration: Declaration }
    | { type: "watchList"; entry: WatchListEntry }
    | { type: "watchListRemoved"; id: string }
    /** An expected visit (issue 19): validated by the clearance cache like the rest. */
    | { type: "preArrival"; preArrival: PreArrival };

export interface ClearancePage {
    items: ClearanceItem[];
    /** The cursor to ask with next time (store it only after the items are written). */
    next: string;
    hasMore: boolean;
    /** Central's clearance data version after these items. */
    version?: string;
}

function isObject(value: unknown): value is Record<string, unknown> {
    return typeof value === "object" && value !== null && !Array.isArray(value);
}

function protocolError(detail: string): GateError {
    return new GateError("SYNC_PROTOCOL", detail);
}

/**
 * Checks central's answer to a batch: one result per sent id, each with a known status, a reason with
 * every rejection. Results may come in any order; an id we did not send, a missing id or a repeated id
 * makes the whole answer untrustworthy (SYNC_PROTOCOL), and then nothing of the batch is marked delivered.
 */
export function parseEventsResponse(body: unknown, sentIds: readonly string[]): Map<string, EventResult> {
    if (!isObject(body) || !Array.isArray(body.results)) throw protocolError("answer has no results array");
    const expected = new Set(sentIds);
    const byId = new Map<string, EventResult>();
    body.results.forEach((item: unknown, index) => {
        if (!isObject(item)) throw protocolError(`results[${index}] is not an object`);
        const { id, status, reason, reference } = item;
        if (typeof id !== "string" || !expected.has(id)) throw protocolError(`results[${index}].id was not sent`);
        if (byId.has(id)) throw protocolError(`results[${index}].id ${id} is answered twice`);
        if (typeof status !== "string" || !EVENT_RESULT_STATUSES.includes(status as EventResultStatus)) {
            throw protocolError(`results[${index}].status must be accepted, duplicate or rejected`);
        }
        if (reason !== undefined && typeof reason !== "string") throw protocolError(`results[${index}].reason`);
        if (reference !== undefined && typeof reference !== "string") {
            throw protocolError(`results[${index}].reference must be a string`);
        }
        byId.set(id, {
            id,
            status: status as EventResultStatus,
            ...(typeof reason === "string" && { reason }),
            ...(typeof reference === "string" && { reference }),
        });
    });
    if (byId.size !== expected.size) throw protocolError(`${expected.size - byId.size} sent events have no result`);
    return byId;
}

/**
 * Checks the shape of a clearance page. The items' content is validated by the clearance cache when they
 * are written (all or nothing, every error with its key path).
 */
export function parseClearancePage(body: unknown): ClearancePage {
    if (!isObject(body) || !Array.isArray(body.items)) throw protocolError("clearance page has no items array");
    if (typeof body.next !== "string" || body.next === "") throw protocolError("clearance page has no next cursor");
    if (typeof body.hasMore !== "boolean") throw protocolError("clearance page hasMore must be a boolean");
    if (body.version !== undefined && typeof body.version !== "string") {
        throw protocolError("clearance page version must be a string");
    }
    const items = body.items.map((item: unknown, index): ClearanceItem => {
        if (!isObject(item)) throw protocolError(`items[${index}] is not an object`);
        // The casts below type an item's payload as what it claims to be: the clearance cache validates each
        // one field by field when it is written, and refuses the whole page on the first bad one.
        if (item.type === "declaration" && isObject(item.declaration)) {
            return { type: "declaration", declaration: item.declaration as unknown as Declaration };
        }
        if (item.type === "watchList" && isObject(item.entry)) {
            return { type: "watchList", entry: item.entry as unknown as WatchListEntry };
        }
        if (item.type === "watchListRemoved" && typeof item.id === "string")
            return { type: "watchListRemoved", id: item.id };
        if (item.type === "preArrival" && isObject(item.preArrival))
            return { type: "preArrival", preArrival: item.preArrival as unknown as PreArrival };

        throw protocolError(
            `items[${index}].type must be declaration (with declaration), watchList (with entry), watchListRemoved (with id) or preArrival (with preArrival)`,
        );
    });
    return {
        items,
        next: body.next,
        hasMore: body.hasMore,
        ...(typeof body.version === "string" && { version: body.version }),
    };
}

/**
 * Retry-After as milliseconds from `now`: delta-seconds or an HTTP date (RFC 9110 §10.2.3). Undefined when
 * absent or unreadable; never negative.
 */
export function parseRetryAfter(header: string | undefined, now: number): number | undefined {
    if (header === undefined) return undefined;
    const text = header.trim();
    if (/^\d+$/.test(text)) return Number(text) * 1000;
    const date = Date.parse(text);
    if (Number.isNaN(date)) return undefined;
    return Math.max(0, date - now);
}
