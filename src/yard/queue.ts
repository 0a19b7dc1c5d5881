/**
 * The yard queue's order (issue 19 part 2), pure: which waiting truck of a lane group is called next, and
 * each one's place. A visit's sort key is a tier (lower first) and a time within it, by `yard.queuePolicy`:
 *
 * - fifo: one tier, by the time it (last) entered the queue;
 * - slot: a truck whose booked slot has begun goes first, by its slot's start; the rest by arrival;
 * - perishablesFirst: perishable goods first, each tier by arrival.
 *
 * An officer's move gives the visit its own key (`rank`, chosen between its new neighbours'). The next call
 * is one linear scan for the smallest key (no sort, nothing built per truck), so a yard of thousands decides
 * in microseconds.
 */

import { isoMs } from "./report.ts";
import type { YardView } from "./types.ts";
import type { QueueRank, Visit } from "./visitModel.ts";

export type QueuePolicy = YardView["policy"];
export type QueuedVisit = Pick<Visit, "visitId" | "state" | "goodsClass" | "slot" | "slotFromMs" | "queuedMs" | "rank">;

/** When its booked slot begins (ms), if it has one: kept by the fold, or read from the slot's ISO text. */
function slotStart(visit: QueuedVisit): number | undefined {
    if (visit.slotFromMs !== undefined) return visit.slotFromMs;
    return visit.slot ? isoMs(visit.slot.from) : undefined;
}

/** The visit's tier under the policy at `now` (lower is called first; the slot policy's tiers move as slots begin). */
function tierOf(visit: QueuedVisit, policy: QueuePolicy, now: number): number {
    if (visit.rank) return visit.rank.tier;
    if (policy === "perishablesFirst") return visit.goodsClass === "perishable" ? 0 : 1;
    if (policy === "slot") {
        const from = slotStart(visit);
        if (from !== undefined && from <= now) return 0;
    }
    return 1;
}

/** The visit's time within its tier (earlier is called first). */
function keyOf(visit: QueuedVisit, policy: QueuePolicy, now: number): number {
    if (visit.rank) return visit.rank.key;
    if (policy === "slot") {
        const from = slotStart(visit);
        if (from !== undefined && from <= now) return from;
    }
    return visit.queuedMs;
}

/** The visit's key under the policy at `now`. */
export function sortKey(visit: QueuedVisit, policy: QueuePolicy, now: number): QueueRank {
    return { tier: tierOf(visit, policy, now), key: keyOf(visit, policy, now) };
}

function compare(a: QueueRank & { id: string }, b: QueueRank & { id: string }): number {
    return a.tier - b.tier || a.key - b.key || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

const keyed = (visit: QueuedVisit, policy: QueuePolicy, now: number) => ({
    tier: tierOf(visit, policy, now),
    key: keyOf(visit, policy, now),
    id: visit.visitId,
});

/**
 * The waiting visit to call next (state QUEUED), or undefined when none waits: one pass, O(n), that builds
 * nothing per truck (the call-forward decision runs on every free lane of a yard of thousands).
 */
export function nextToCall<T extends QueuedVisit>(
    visits: Iterable<T>,
    policy: QueuePolicy,
    now: number,
    skip?: ReadonlySet<string>,
): T | undefined {
    let best: T | undefined;
    let bestTier = 0;
    let bestKey = 0;
    for (const visit of visits) {
        if (visit.state !== "QUEUED" || skip?.has(visit.visitId)) continue;
        const tier = tierOf(visit, policy, now);
        const key = keyOf(visit, policy, now);
        if (
            best === undefined ||
            tier < bestTier ||
            (tier === bestTier && (key < bestKey || (key === bestKey && visit.visitId < best.visitId)))
        ) {
            best = visit;
            bestTier = tier;
            bestKey = key;
        }
    }
    return best;
}

/** The waiting visits in call order (position 1 first). */
export function orderQueue<T extends QueuedVisit>(visits: Iterable<T>, policy: QueuePolicy, now: number): T[] {
    return [...visits]
        .filter((visit) => visit.state === "QUEUED")
        .map((visit) => ({ visit, key: keyed(visit, policy, now) }))
        .sort((a, b) => compare(a.key, b.key))
        .map(({ visit }) => visit);
}

/**
 * The key that puts `visitId` at `position` (1-based; past the end = last) of the queue as it is ordered
 * now: between the keys of its new neighbours, in the tier of the one after it.
 */
export function rankForPosition(
    ordered: readonly QueuedVisit[],
    visitId: string,
    position: number,
    policy: QueuePolicy,
    now: number,
): QueueRank {
    const others = ordered.filter((visit) => visit.visitId !== visitId);
    const index = Math.max(0, Math.min(position - 1, others.length));
    const before = index > 0 ? others[index - 1] : undefined;
    const after = others[index];
    const b = before && sortKey(before, policy, now);
    const a = after && sortKey(after, policy, now);
    if (a && b)
        return a.tier === b.tier ? { tier: a.tier, key: (a.key + b.key) / 2 } : { tier: a.tier, key: a.key - 1 };
    if (a) return { tier: a.tier, key: a.key - 1 };
    if (b) return { tier: b.tier, key: b.key + 1 };
    return { tier: 1, key: now };
}
