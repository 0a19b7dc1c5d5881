/**
 * The yard queue's order (issue 19 part 2), pure: which waiting truck of a lane group is called next, and
 * each one's place. A visit's sort key is a tier (lower first) and a time within it, by `yard.queuePolicy`:
 *
 * - fifo: one tier, by the time it (last) entered the queue;
 * - slot: a truck whose booked slot has begun goes first, by its slot's start; the rest by arrival;
 * - perishablesFirst: perishable goods first, each tier by arrival.
 *
 * An officer's move gives the visit its own key (`rank`, chosen between its new neighbours'). The next call
 * is one linear scan for the smallest key (no sort), so a yard of thousands decides in microseconds.
 */

import type { YardView } from "./types.ts";
import type { QueueRank, Visit } from "./visitModel.ts";

export type QueuePolicy = YardView["policy"];
export type QueuedVisit = Pick<Visit, "visitId" | "state" | "goodsClass" | "slot" | "queuedMs" | "rank">;

/** The visit's key under the policy at `now` (the slot policy's tiers move as slots begin). */
export function sortKey(visit: QueuedVisit, policy: QueuePolicy, now: number): QueueRank {
    if (visit.rank) return visit.rank;
    if (policy === "perishablesFirst") return { tier: visit.goodsClass === "perishable" ? 0 : 1, key: visit.queuedMs };
    if (policy === "slot" && visit.slot) {
        const from = Date.parse(visit.slot.from);
        if (from <= now) return { tier: 0, key: from };
    }
    return { tier: 1, key: visit.queuedMs };
}

function compare(a: QueueRank & { id: string }, b: QueueRank & { id: string }): number {
    return a.tier - b.tier || a.key - b.key || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

const keyed = (visit: QueuedVisit, policy: QueuePolicy, now: number) => ({
    ...sortKey(visit, policy, now),
    id: visit.visitId,
});

/** The waiting visit to call next (state QUEUED), or undefined when none waits: one pass, O(n). */
export function nextToCall<T extends QueuedVisit>(
    visits: Iterable<T>,
    policy: QueuePolicy,
    now: number,
    skip?: ReadonlySet<string>,
): T | undefined {
    let best: T | undefined;
    let bestKey: (QueueRank & { id: string }) | undefined;
    for (const visit of visits) {
        if (visit.state !== "QUEUED" || skip?.has(visit.visitId)) continue;
        const key = keyed(visit, policy, now);
        if (bestKey === undefined || compare(key, bestKey) < 0) {
            best = visit;
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
