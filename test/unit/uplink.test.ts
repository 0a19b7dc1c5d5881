/**
 * The uplink's rules against a scripted central (a fake transport: pure protocol logic over a real
 * SQLite store). The whole path against the real central simulator is in test/integration/sync*.test.ts.
 */
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../src/core/clock.ts";
import { GateError } from "../../src/core/errors.ts";
import { type GateEventDraft, OutboxClass } from "../../src/core/events.ts";
import { openDatabase } from "../../src/store/db.ts";
import { EventLog } from "../../src/store/eventLog.ts";
import { Outbox } from "../../src/store/outbox.ts";
import type { CentralResponse } from "../../src/sync/client.ts";
import { MAX_BATCH_BYTES, parseRetryAfter } from "../../src/sync/protocol.ts";
import type { SyncTimers } from "../../src/sync/timers.ts";
import { type CentralTransport, Uplink, type UplinkOptions } from "../../src/sync/uplink.ts";
import { eventually } from "../helpers/gate.ts";
import { tempDir, testLog } from "../helpers/tmp.ts";

const dir = tempDir();
afterAll(() => dir.cleanup());
let fileNo = 0;

/** Virtual time: every wait is recorded and passes at once (after a turn of the event loop). */
class VirtualTimers implements SyncTimers {
    readonly waits: number[] = [];
    constructor(readonly clock: ManualClock) {}
    now(): number {
        return this.clock.now();
    }
    async sleep(ms: number, signal: AbortSignal): Promise<void> {
        this.waits.push(ms);
        if (signal.aborted) return;
        this.clock.advance(ms);
        await new Promise((resolve) => setImmediate(resolve));
    }
}

type Handler = (events: { id: string; seq: number; type: string; laneId?: string }[], call: number) => CentralResponse;

class ScriptedCentral implements CentralTransport {
    calls = 0;
    readonly received: { id: string; seq: number; type: string; laneId?: string }[] = [];
    constructor(public handler: Handler) {}
    async request(_method: "GET" | "POST", _path: string, body?: string): Promise<CentralResponse> {
        const parsed = JSON.parse(body ?? "{}") as { events: { id: string; seq: number; type: string }[] };
        this.calls++;
        const response = this.handler(parsed.events, this.calls);
        if (response.status === 200) this.received.push(...parsed.events);
        return response;
    }
}

const ok = (events: { id: string }[]): CentralResponse => ({
    status: 200,
    headers: {},
    body: { results: events.map((e) => ({ id: e.id, status: "accepted" })) },
});

const options: UplinkOptions = {
    gateId: "HN01",
    batchMaxEvents: 500,
    backoffBaseMs: 500,
    backoffMaxMs: 60_000,
    authRetryMs: 300_000,
    maxRetryAfterMs: 600_000,
    idleCheckMs: 1000,
    maxEventsPerSecond: 0,
    busyMaxEventsPerSecond: 0,
    busyIngestPerSecond: 2000,
};

async function setup(handler: Handler, drafts: GateEventDraft[], opts: Partial<UplinkOptions> = {}) {
    const db = openDatabase(join(dir.path, `uplink-${fileNo++}.db`));
    const clock = new ManualClock(Date.UTC(2026, 10, 22, 8, 0, 0));
    const log = new EventLog(db, { gateId: "HN01", clock, log: testLog });
    log.start();
    await Promise.all(drafts.map((draft) => log.append(draft)));
    const timers = new VirtualTimers(clock);
    const central = new ScriptedCentral(handler);
    const outbox = new Outbox(db);
    const uplink = new Uplink(
        {
            db,
            outbox,
            transport: central,
            append: (draft) => log.append(draft),
            log: testLog,
            timers,
            random: () => 0.5,
        },
        { ...options, ...opts },
    );
    const drained = async (timeoutMs = 10_000): Promise<void> => {
        const deadline = Date.now() + timeoutMs;
        while (outbox.backlog().some((row) => row.pending > 0)) {
            if (Date.now() > deadline) throw new Error("outbox did not drain");
            await new Promise((resolve) => setTimeout(resolve, 5));
        }
    };
    return { db, log, clock, timers, central, outbox, uplink, drained };
}

function readings(count: number, lanes = ["L1", "L2"]): GateEventDraft[] {
    return Array.from({ length: count }, (_, i) => ({
        type: "reading.weight" as const,
        laneId: lanes[i % lanes.length] as string,
        deviceId: "scale",
        data: { kg: 1000 + i },
    }));
}

describe("uplink", () => {
    it("sends every event once in batches of at most 500, then the outbox is empty", async () => {
        const { central, uplink, drained, outbox } = await setup((events) => ok(events), readings(1234));
        uplink.start();
        await drained();
        await uplink.stop();
        expect(central.calls).toBe(3);
        expect(central.received.length).toBe(1234);
        expect(new Set(central.received.map((e) => e.id)).size).toBe(1234);
        expect(outbox.backlog().every((row) => row.pending === 0 && row.parked === 0)).toBe(true);
        expect(uplink.counters.accepted).toBe(1234);
    });

    it("keeps each batch under 1 MiB and parks an event no batch can carry", async () => {
        const big = "x".repeat(300_000);
        const drafts: GateEventDraft[] = [
            ...Array.from({ length: 6 }, (_, i) => ({
                type: "reading.plate" as const,
                laneId: "L1",
                data: { blob: big, i },
            })),
            { type: "reading.plate", laneId: "L1", data: { blob: "y".repeat(MAX_BATCH_BYTES) } },
        ];
        const sizes: number[] = [];
        const { central, uplink, drained, outbox, log } = await setup((events) => {
            sizes.push(JSON.stringify({ events }).length);
            return ok(events);
        }, drafts);
        uplink.start();
        await drained();
        await uplink.stop();
        expect(Math.max(...sizes)).toBeLessThanOrEqual(MAX_BATCH_BYTES);
        expect(central.received.filter((e) => e.type === "reading.plate").length).toBe(6);
        const parked = outbox.parked(10);
        expect(parked.map((p) => p.seq)).toEqual([7]);
        expect(parked[0]?.reason).toMatch(/larger than the 1048576-byte batch limit/);
        const alerts = log.read(0, 100).filter((e) => e.type === "alert.raised");
        expect(alerts.map((a) => (a.data as { code: string }).code)).toContain("SYNC_PARKED");
    });

    it("parks a rejected event with its reason and an alert; a technician's retry delivers it", async () => {
        let reject = true;
        const { central, uplink, drained, outbox, log } = await setup(
            (events) => ({
                status: 200,
                headers: {},
                body: {
                    results: events.map((e) =>
                        reject && e.seq === 3
                            ? { id: e.id, status: "rejected", reason: "declaration 1012 unknown at central" }
                            : { id: e.id, status: "accepted" },
                    ),
                },
            }),
            readings(5),
        );
        uplink.start();
        await drained();
        const parked = outbox.parked(10);
        expect(parked).toHaveLength(1);
        expect(parked[0]).toMatchObject({ seq: 3, reason: "declaration 1012 unknown at central", attempts: 1 });
        expect(uplink.backlog().find((row) => row.parked > 0)?.parked).toBe(1);
        // The alert is appended after the park, with the next group commit: wait for it, not for a turn.
        const alert = await eventually(
            () => log.read(0, 100).find((e) => e.type === "alert.raised"),
            10_000,
            "the SYNC_PARKED alert",
        );
        expect(alert.data).toMatchObject({
            code: "SYNC_PARKED",
            seq: 3,
            reason: "declaration 1012 unknown at central",
        });
        expect(() => uplink.retryParked(2)).toThrow(GateError);
        reject = false;
        uplink.retryParked(3);
        await drained();
        await eventually(
            () => central.received.filter((e) => e.seq === 3).length === 2 || undefined,
            10_000,
            "the retried event delivered",
        );
        await uplink.stop();
        expect(outbox.parked(10)).toHaveLength(0);
        expect(central.received.filter((e) => e.seq === 3)).toHaveLength(2);
        expect(outbox.backlog().every((row) => row.pending === 0 && row.parked === 0)).toBe(true);
    });

    it("does not raise an alert about a rejected SYNC_PARKED alert (no alert loop)", async () => {
        const { uplink, drained, log, outbox } = await setup(
            (events) => ({
                status: 200,
                headers: {},
                body: {
                    results: events.map((e) =>
                        e.type === "alert.raised" || e.seq === 1
                            ? { id: e.id, status: "rejected", reason: "no" }
                            : { id: e.id, status: "accepted" },
                    ),
                },
            }),
            readings(2),
        );
        uplink.start();
        await drained();
        // Once the SYNC_PARKED alert itself is parked, a loop would raise the next alert in the same turn
        // (stop() waits for it): stopping then shows whether one was raised.
        await eventually(() => outbox.parked(10).length === 2 || undefined, 10_000, "the alert parked too");
        await uplink.stop();
        const alerts = log.read(0, 100).filter((e) => e.type === "alert.raised");
        expect(alerts).toHaveLength(1);
        expect(outbox.parked(10).map((p) => p.type)).toEqual(["reading.weight", "alert.raised"]);
    });

    it("honours Retry-After on 429 and 503, capped by maxRetryAfterMs", async () => {
        const { central, uplink, drained, timers } = await setup(
            (events, call) =>
                call === 1
                    ? { status: 429, headers: { "retry-after": "7" }, body: undefined }
                    : call === 2
                      ? { status: 503, headers: { "retry-after": "86400" }, body: undefined }
                      : ok(events),
            readings(3),
        );
        uplink.start();
        await drained();
        await uplink.stop();
        expect(timers.waits.slice(0, 2)).toEqual([7000, 600_000]);
        expect(uplink.counters.requests.rateLimited).toBe(2);
        expect(central.received).toHaveLength(3);
    });

    it("on 401 raises one alert, retries slowly, and clears the alert once central takes the token", async () => {
        const { uplink, drained, timers, log } = await setup(
            (events, call) => (call <= 3 ? { status: 401, headers: {}, body: { message: "bad token" } } : ok(events)),
            readings(2),
        );
        uplink.start();
        await drained();
        const authAlerts = () =>
            log.read(0, 100).filter((e) => e.type.startsWith("alert.") && e.data.code === "SYNC_AUTH").length;
        await eventually(() => authAlerts() === 2 || undefined, 10_000, "the auth alert raised and cleared");
        await uplink.stop();
        expect(timers.waits.slice(0, 3)).toEqual([300_000, 300_000, 300_000]);
        const codes = log
            .read(0, 100)
            .filter((e) => e.type.startsWith("alert."))
            .map((e) => `${e.type}:${(e.data as { code: string }).code}`);
        expect(codes).toEqual(["alert.raised:SYNC_AUTH", "alert.cleared:SYNC_AUTH"]);
    });

    it("backs off with full jitter on network errors and 5xx, and resends the same batch", async () => {
        const { central, uplink, drained, timers } = await setup((events, call) => {
            if (call === 1) throw new GateError("SYNC_NETWORK", "connection reset");
            if (call <= 4) return { status: 500, headers: {}, body: undefined };
            return ok(events);
        }, readings(10));
        uplink.start();
        await drained();
        await uplink.stop();
        // random() = 0.5: half the ceiling, which doubles from 500 ms.
        expect(timers.waits.slice(0, 4)).toEqual([250, 500, 1000, 2000]);
        expect(central.received.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    });

    it("marks nothing delivered when central's answer breaks the protocol", async () => {
        const { central, uplink, drained } = await setup(
            (events, call) =>
                call === 1
                    ? {
                          status: 200,
                          headers: {},
                          body: { results: events.slice(1).map((e) => ({ id: e.id, status: "accepted" })) },
                      }
                    : ok(events),
            readings(4),
        );
        uplink.start();
        await drained();
        await uplink.stop();
        expect(uplink.counters.requests.protocol).toBe(1);
        expect(central.calls).toBe(2);
        expect(uplink.counters.accepted).toBe(4);
    });

    it("halves the batch on 413 until central takes it", async () => {
        const sizes: number[] = [];
        const { uplink, drained } = await setup((events) => {
            sizes.push(events.length);
            return events.length > 100 ? { status: 413, headers: {}, body: undefined } : ok(events);
        }, readings(300));
        uplink.start();
        await drained();
        await uplink.stop();
        expect(sizes.slice(0, 4)).toEqual([300, 250, 125, 62]);
        expect(uplink.counters.accepted).toBe(300);
    });

    it("sends alerts and passages before readings, and readings still drain", async () => {
        const drafts: GateEventDraft[] = [
            ...readings(900),
            ...Array.from({ length: 20 }, () => ({ type: "alert.raised" as const, laneId: "L1", data: { code: "X" } })),
            ...Array.from({ length: 20 }, () => ({ type: "passage.opened" as const, laneId: "L1", data: {} })),
        ];
        const { central, uplink, drained } = await setup((events) => ok(events), drafts);
        uplink.start();
        await drained();
        await uplink.stop();
        const firstBatch = central.received.slice(0, 500);
        expect(firstBatch.filter((e) => e.type === "alert.raised")).toHaveLength(20);
        expect(firstBatch.filter((e) => e.type === "passage.opened")).toHaveLength(20);
        expect(central.received).toHaveLength(940);
        // Per lane and class, seq order holds across batches.
        const last = new Map<string, number>();
        for (const e of central.received) {
            const key = `${e.laneId}/${e.type}`;
            expect(e.seq).toBeGreaterThan(last.get(key) ?? 0);
            last.set(key, e.seq);
        }
    });

    it("paces uploads to maxEventsPerSecond, and to busyMaxEventsPerSecond while the gate is busy", async () => {
        const capped = await setup((events) => ok(events), readings(1500), { maxEventsPerSecond: 1000 });
        capped.uplink.start();
        await capped.drained();
        await capped.uplink.stop();
        expect(capped.timers.waits.slice(0, 3)).toEqual([500, 500, 500]);

        const busy = await setup((events) => ok(events), readings(1500), {
            busyMaxEventsPerSecond: 2000,
            busyIngestPerSecond: 10,
        });
        // The lanes commit 50 events within this second: the gate is busy.
        for (let i = 0; i < 50; i++) busy.uplink.noteQueued(OutboxClass.Reading);
        busy.uplink.start();
        await busy.drained();
        await busy.uplink.stop();
        expect(busy.timers.waits.slice(0, 3)).toEqual([250, 250, 250]);

        const idle = await setup((events) => ok(events), readings(1500), {
            busyMaxEventsPerSecond: 2000,
            busyIngestPerSecond: 10,
        });
        idle.uplink.start();
        await idle.drained();
        await idle.uplink.stop();
        expect(idle.timers.waits.filter((ms) => ms !== 1000)).toEqual([]);
    });

    it("rides out a day-long central outage on virtual time and then drains", async () => {
        const outageEnds = Date.UTC(2026, 10, 23, 8, 0, 0);
        let clockRef: ManualClock | undefined;
        const { uplink, drained, timers, clock, central } = await setup((events) => {
            if ((clockRef as ManualClock).now() < outageEnds) throw new GateError("SYNC_NETWORK", "ECONNREFUSED");
            return ok(events);
        }, readings(50));
        clockRef = clock;
        uplink.start();
        // Thousands of virtual retries: about 8 s on an idle CI machine, past 30 s on a loaded one. The limit
        // guards a hang, not speed.
        await drained(150_000);
        await uplink.stop();
        const waits = timers.waits;
        expect(Math.max(...waits)).toBeLessThanOrEqual(60_000);
        // ~24 h at a mean wait of ~30 s once the ceiling is reached: a bounded number of attempts.
        expect(uplink.counters.requests.network).toBeGreaterThan(1000);
        expect(uplink.counters.requests.network).toBeLessThan(6000);
        expect(clock.now()).toBeGreaterThanOrEqual(outageEnds);
        expect(central.received).toHaveLength(50);
    }, 180_000);
});

describe("Retry-After", () => {
    it("reads delta-seconds and HTTP dates", () => {
        const now = Date.UTC(2026, 10, 22, 8, 0, 0);
        expect(parseRetryAfter("120", now)).toBe(120_000);
        expect(parseRetryAfter(new Date(now + 30_000).toUTCString(), now)).toBe(30_000);
        expect(parseRetryAfter("soon", now)).toBeUndefined();
        expect(parseRetryAfter(undefined, now)).toBeUndefined();
        expect(parseRetryAfter(new Date(now - 5000).toUTCString(), now)).toBe(0);
    });
});
