/** The downlink's rules against a scripted clearance feed, over a real clearance cache in SQLite. */
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { EventBus } from "../../src/core/bus.ts";
import { ManualClock } from "../../src/core/clock.ts";
import type { GateEventDraft } from "../../src/core/events.ts";
import type { Declaration } from "../../src/lane/types.ts";
import { ClearanceCache } from "../../src/store/clearance.ts";
import { openDatabase } from "../../src/store/db.ts";
import type { CentralResponse } from "../../src/sync/client.ts";
import { Downlink } from "../../src/sync/downlink.ts";
import type { ClearanceItem } from "../../src/sync/protocol.ts";
import { SyncService } from "../../src/sync/service.ts";
import type { SyncTimers } from "../../src/sync/timers.ts";
import { eventually, testConfig } from "../helpers/gate.ts";
import { tempDir, testLog } from "../helpers/tmp.ts";

const dir = tempDir();
afterAll(() => dir.cleanup());

function declaration(number: string, version: number, channel: Declaration["channel"] = "GREEN"): Declaration {
    return {
        number,
        // The type code is the number's first digits (10 import, 30 export).
        type: number.startsWith("3") ? "30" : "10",
        channel,
        status: "CLEARED",
        documentCheckDone: false,
        inspectionDone: false,
        declaredPlates: ["15C-123.45"],
        containers: [],
        version,
    };
}

/** A feed of items; the cursor is the index after the last item given. */
class Feed {
    readonly asked: (string | null)[] = [];
    broken = false;
    constructor(public items: ClearanceItem[]) {}
    async request(_method: "GET" | "POST", path: string): Promise<CentralResponse> {
        const query = new URL(path, "http://central").searchParams;
        const after = query.get("after");
        this.asked.push(after);
        const start = after === null ? 0 : Number(after);
        const limit = Number(query.get("limit"));
        const page = this.items.slice(start, start + Math.min(limit, 2));
        const items = this.broken ? [{ type: "declaration", declaration: { number: "nope" } }] : page;
        return {
            status: 200,
            headers: {},
            body: {
                items,
                next: String(start + page.length),
                hasMore: start + page.length < this.items.length,
                version: `v${this.items.length}`,
            },
        };
    }
}

const timers = (clock: ManualClock): SyncTimers => ({
    now: () => clock.now(),
    sleep: (_ms, signal) =>
        new Promise<void>((resolve) => {
            if (signal.aborted) return resolve();
            signal.addEventListener("abort", () => resolve(), { once: true });
        }),
});

function open(file: string) {
    const db = openDatabase(join(dir.path, file));
    const cache = ClearanceCache.open(db);
    return { db, cache };
}

describe("downlink", () => {
    const items: ClearanceItem[] = [
        { type: "declaration", declaration: declaration("101234567820", 1) },
        { type: "declaration", declaration: declaration("301234567820", 1, "YELLOW") },
        { type: "watchList", entry: { id: "w1", kind: "plate", value: "15C-666.66", reason: "stolen", version: 1 } },
        { type: "declaration", declaration: declaration("101234567820", 2, "RED") },
        { type: "watchListRemoved", id: "w1" },
    ];

    it("applies the feed page by page, stores the cursor, and the cache shows the newest version at once", async () => {
        const { cache, db } = open("down-1.db");
        const clock = new ManualClock();
        const feed = new Feed(items.slice(0, 3));
        const alerts: GateEventDraft[] = [];
        const downlink = new Downlink(
            { cache, transport: feed, append: async (d) => alerts.push(d), log: testLog, timers: timers(clock) },
            { gateId: "HN01", pollMs: 5000, backoffBaseMs: 100, backoffMaxMs: 1000 },
        );
        expect(await downlink.pollOnce()).toBe(true);
        expect(await downlink.pollOnce()).toBe(false);
        expect(cache.cursor()).toBe("3");
        expect(cache.view().declaration("101234567820")?.channel).toBe("GREEN");
        expect(
            cache
                .view()
                .watchList()
                .map((e) => e.id),
        ).toEqual(["w1"]);
        expect(cache.view().version).toBe("v3");
        expect(cache.view().ageMs(clock.now())).toBe(0);

        // Central adds an amendment and lifts the watch-list entry; a restart resumes from the cursor.
        feed.items = items;
        db.close();
        const reopened = open("down-1.db");
        const again = new Downlink(
            {
                cache: reopened.cache,
                transport: feed,
                append: async (d) => alerts.push(d),
                log: testLog,
                timers: timers(clock),
            },
            { gateId: "HN01", pollMs: 5000, backoffBaseMs: 100, backoffMaxMs: 1000 },
        );
        expect(await again.pollOnce()).toBe(false);
        expect(feed.asked.at(-1)).toBe("3");
        expect(reopened.cache.view().declaration("101234567820")?.channel).toBe("RED");
        expect(reopened.cache.view().watchList()).toHaveLength(0);
        expect(reopened.cache.cursor()).toBe("5");
        expect(alerts).toHaveLength(0);
        reopened.db.close();
    });

    it("does not apply an invalid page nor move the cursor; raises one alert, cleared when the feed heals", async () => {
        const { cache, db } = open("down-2.db");
        const clock = new ManualClock();
        const feed = new Feed(items);
        const alerts: GateEventDraft[] = [];
        const downlink = new Downlink(
            { cache, transport: feed, append: async (d) => alerts.push(d), log: testLog, timers: timers(clock) },
            { gateId: "HN01", pollMs: 5000, backoffBaseMs: 100, backoffMaxMs: 1000 },
        );
        feed.broken = true;
        await expect(downlink.pollOnce()).rejects.toThrow(/clearance data is invalid/);
        await expect(downlink.pollOnce()).rejects.toThrow();
        expect(cache.cursor()).toBeUndefined();
        expect(alerts.map((a) => `${a.type}:${(a.data as { code: string }).code}`)).toEqual([
            "alert.raised:SYNC_CLEARANCE_INVALID",
        ]);
        feed.broken = false;
        await downlink.pollOnce();
        expect(cache.cursor()).toBe("2");
        expect(alerts.at(-1)?.type).toBe("alert.cleared");
        db.close();
    });

    it("runs as a loop: polls until hasMore is false, then waits; stop() ends it", async () => {
        const { cache, db } = open("down-3.db");
        const clock = new ManualClock();
        const feed = new Feed(items);
        const downlink = new Downlink(
            { cache, transport: feed, append: async () => undefined, log: testLog, timers: timers(clock) },
            { gateId: "HN01", pollMs: 5000, backoffBaseMs: 100, backoffMaxMs: 1000 },
        );
        downlink.start();
        await eventually(() => cache.cursor() === "5" || undefined, 10_000, "every page applied");
        await downlink.stop();
        expect(cache.cursor()).toBe("5");
        expect(feed.asked).toEqual([null, "2", "4"]);
        expect(downlink.status().itemsApplied).toBe(5);
        db.close();
    });

    it("asks central at once for an amendment a truck showed and the cache lacks, not at the end of the poll interval", async () => {
        const { cache, db } = open("down-ask.db");
        const clock = new ManualClock();
        const feed = new Feed([{ type: "declaration", declaration: declaration("103000000460", 1) }]);
        // The poll interval is an hour and the manual clock never moves: only an ask can start another poll.
        const downlink = new Downlink(
            { cache, transport: feed, append: async () => undefined, log: testLog, timers: timers(clock) },
            { gateId: "HN01", pollMs: 3_600_000, backoffBaseMs: 100, backoffMaxMs: 1000 },
        );
        downlink.start();
        await eventually(() => cache.declaration("103000000460") ?? undefined, 10_000, "the first poll");
        const polls = feed.asked.length;
        // Central registers amendment 1; the truck shows it.
        feed.items = [...feed.items, { type: "declaration", declaration: declaration("103000000461", 2) }];
        downlink.requestDeclarations(["103000000461"]);
        expect(downlink.status().requested).toEqual(["103000000461"]);
        await eventually(
            () => (cache.declaration("103000000460")?.number === "103000000461" ? true : undefined),
            10_000,
            "amendment 1 fetched",
        );
        expect(feed.asked.length).toBeGreaterThan(polls);
        expect(downlink.status().requested).toEqual([]);
        // A number the cache already has is not asked for again.
        const after = feed.asked.length;
        downlink.requestDeclarations(["103000000461", "103000000460"]);
        expect(downlink.status().requested).toEqual([]);
        await downlink.stop();
        expect(feed.asked.length).toBe(after);
        db.close();
    });

    it("sync asks central when a stored decision names declarations to request", async () => {
        const { cache, db } = open("down-ask-service.db");
        const clock = new ManualClock();
        const feed = new Feed([{ type: "declaration", declaration: declaration("103000000460", 1) }]);
        const bus = new EventBus(testLog);
        const config = testConfig(
            dir.path,
            "    - { id: L1, devices: [{ id: scanner-l1, model: serial-barcode-scanner, address: 'tcp://127.0.0.1:1' }] }",
            "central: { clearancePollMs: 3600000 }",
        );
        const sync = new SyncService({
            config,
            db,
            cache,
            bus,
            append: async () => undefined,
            log: testLog,
            timers: timers(clock),
            transport: feed,
        });
        sync.start();
        await eventually(() => cache.declaration("103000000460") ?? undefined, 10_000, "the first poll");
        feed.items = [...feed.items, { type: "declaration", declaration: declaration("103000000461", 2) }];
        bus.emit("committed", {
            type: "passage.decided",
            data: { passageId: "P1", decision: { decision: "HOLD", clearanceRequests: ["103000000461"] } },
        } as never);
        await eventually(
            () => (cache.declaration("103000000460")?.number === "103000000461" ? true : undefined),
            10_000,
            "amendment 1 fetched on the decision's request",
        );
        await sync.stop();
        db.close();
    });
});
