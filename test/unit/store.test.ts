import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { canonicalEnvelope, canonicalJson, chainHash, GENESIS_HASH } from "../../src/core/canonical.ts";
import { ManualClock } from "../../src/core/clock.ts";
import { OutboxClass } from "../../src/core/events.ts";
import { verifyChain } from "../../src/store/audit.ts";
import { openDatabase } from "../../src/store/db.ts";
import { EventLog, hashedPart } from "../../src/store/eventLog.ts";
import { SCHEMA_VERSION } from "../../src/store/migrations.ts";
import { Outbox } from "../../src/store/outbox.ts";
import { tempDir, testLog } from "../helpers/tmp.ts";

const dir = tempDir();
afterAll(() => dir.cleanup());
let fileNo = 0;
function freshLog(groupCommitMax = 500) {
    const db = openDatabase(join(dir.path, `store-${fileNo++}.db`));
    const clock = new ManualClock(Date.UTC(2026, 10, 22, 8, 0, 0));
    const log = new EventLog(db, { gateId: "HN01", clock, log: testLog, groupCommitMax });
    log.start();
    return { db, log, clock };
}

describe("canonical JSON", () => {
    it("sorts keys at every depth and drops undefined members", () => {
        expect(canonicalJson({ b: 1, a: { d: [1, { z: true, y: null }], c: undefined } })).toBe(
            '{"a":{"d":[1,{"y":null,"z":true}]},"b":1}',
        );
    });
    it("is the same for objects built in different key orders", () => {
        expect(canonicalJson({ x: 1, y: "é" })).toBe(canonicalJson({ y: "é", x: 1 }));
    });
});

describe("canonical envelope", () => {
    it("builds the same bytes as canonicalJson, with and without optional members", () => {
        const base = {
            gateId: "HN01",
            id: "01JX0000000000000000000000",
            occurredAt: "2026-11-22T08:00:00.000Z",
            prevHash: GENESIS_HASH,
            recordedAt: "2026-11-22T08:00:00.001Z",
            seq: 42,
            type: "reading.weight",
        };
        const data = { values: { kg: 24560, stable: true }, raw: "02", note: undefined, 'quote"key': "é" };
        for (const event of [base, { ...base, laneId: "L1" }, { ...base, deviceId: "scale-l1", laneId: 'L"2' }]) {
            expect(canonicalEnvelope(event, canonicalJson(data))).toBe(canonicalJson({ ...event, data }));
        }
    });
});

describe("database", () => {
    it("opens in WAL with synchronous=FULL and the current schema version", () => {
        const { db } = freshLog();
        expect(db.pragma("journal_mode", { simple: true })).toBe("wal");
        expect(db.pragma("synchronous", { simple: true })).toBe(2);
        expect(db.pragma("user_version", { simple: true })).toBe(SCHEMA_VERSION);
    });
    it("refuses to update or delete an event", async () => {
        const { db, log } = freshLog();
        await log.append({ type: "gate.started", data: {} });
        expect(() => db.prepare("UPDATE events SET data = '{}'").run()).toThrow(/append-only/);
        expect(() => db.prepare("DELETE FROM events").run()).toThrow(/append-only/);
    });
});

describe("event log", () => {
    it("gives gap-free seqs, ULID ids and a hash chain from genesis", async () => {
        const { log } = freshLog();
        const events = await Promise.all(
            Array.from({ length: 25 }, (_, i) => log.append({ type: "reading.scan", laneId: "L1", data: { i } })),
        );
        expect(events.map((event) => event.seq)).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
        expect(events[0]?.prevHash).toBe(GENESIS_HASH);
        for (let i = 1; i < events.length; i++) expect(events[i]?.prevHash).toBe(events[i - 1]?.hash);
        for (const event of events) {
            expect(event.id).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
            expect(event.hash).toBe(chainHash(event.prevHash, hashedPart(event)));
        }
        expect(new Set(events.map((event) => event.id)).size).toBe(25);
    });

    it("writes appends made in one turn in few transactions (group commit)", async () => {
        const { log } = freshLog(100);
        await Promise.all(Array.from({ length: 1000 }, (_, i) => log.append({ type: "reading.scan", data: { i } })));
        expect(log.stats.events).toBe(1000);
        expect(log.stats.commits).toBe(10);
    });

    it("commits an urgent append alone, ahead of the bulk queued before it, before the loop turns", async () => {
        const { log } = freshLog();
        const order: string[] = [];
        // Queued before the appends: the urgent commit must come before it, the group commit after it.
        setImmediate(() => order.push("next turn"));
        const bulk = log
            .append({ type: "reading.weight", deviceId: "flooding-scale", data: { i: 1 } })
            .then(() => order.push("bulk"));
        const urgent = await log.append({ type: "passage.decided", laneId: "L1", data: {} }, { urgent: true });
        order.push("urgent");
        expect(order).toEqual(["urgent"]);
        expect(log.stats).toMatchObject({ commits: 1, events: 1 });
        await bulk;
        expect(order).toEqual(["urgent", "next turn", "bulk"]);
        // Seq is the order of commits; the chain holds.
        expect(urgent.seq).toBe(1);
        expect(log.read(0, 10).map((event) => [event.seq, event.type])).toEqual([
            [1, "passage.decided"],
            [2, "reading.weight"],
        ]);
    });

    it("commits what is queued, urgent first, when flushed", async () => {
        const { log } = freshLog();
        const bulk = log.append({ type: "reading.scan", data: { i: 1 } });
        const urgent = log.append({ type: "passage.opened", laneId: "L1", data: {} }, { urgent: true });
        log.flushAll();
        expect([(await urgent).seq, (await bulk).seq]).toEqual([1, 2]);
    });

    it("reads back exactly what it resolved", async () => {
        const { log } = freshLog();
        const stored = await log.append({
            type: "reading.weight",
            laneId: "L2",
            deviceId: "s",
            data: { kg: 24560, nested: { ok: true } },
        });
        expect(log.read(0, 10)).toEqual([stored]);
    });

    it("continues the chain after the database is reopened", async () => {
        const path = join(dir.path, "reopen.db");
        const clock = new ManualClock();
        const first = new EventLog(openDatabase(path), { gateId: "HN01", clock, log: testLog });
        first.start();
        const a = await first.append({ type: "gate.started", data: {} });
        first.close();
        const second = new EventLog(openDatabase(path), { gateId: "HN01", clock, log: testLog });
        second.start();
        const b = await second.append({ type: "gate.started", data: {} });
        expect(b.seq).toBe(a.seq + 1);
        expect(b.prevHash).toBe(a.hash);
    });

    it("rejects every append of a failed transaction and keeps the chain head", async () => {
        const { db, log } = freshLog();
        const ok = await log.append({ type: "gate.started", data: {} });
        db.exec("CREATE TRIGGER fail_next BEFORE INSERT ON events BEGIN SELECT RAISE(ABORT, 'disk full'); END;");
        const failed = await Promise.allSettled([
            log.append({ type: "reading.scan", data: {} }),
            log.append({ type: "reading.scan", data: {} }),
        ]);
        expect(failed.map((result) => result.status)).toEqual(["rejected", "rejected"]);
        db.exec("DROP TRIGGER fail_next");
        const next = await log.append({ type: "reading.scan", data: {} });
        expect(next.seq).toBe(ok.seq + 1);
        expect(next.prevHash).toBe(ok.hash);
        expect(verifyChain(db).ok).toBe(true);
    });

    it("queues each event in the outbox by class, in the same transaction", async () => {
        const { db, log } = freshLog();
        await log.append({ type: "reading.seal", data: {} });
        await log.append({ type: "alert.raised", data: {} });
        await log.append({ type: "device.status", data: {} });
        const rows = db.prepare("SELECT seq, class, state FROM outbox ORDER BY seq").all();
        expect(rows).toEqual([
            { seq: 1, class: OutboxClass.Reading, state: "pending" },
            { seq: 2, class: OutboxClass.Alert, state: "pending" },
            { seq: 3, class: OutboxClass.Telemetry, state: "pending" },
        ]);
    });
});

describe("audit verify", () => {
    it("passes an intact log", async () => {
        const { db, log } = freshLog();
        for (let i = 0; i < 50; i++) await log.append({ type: "reading.scan", data: { i } });
        expect(verifyChain(db)).toEqual({ ok: true, events: 50, headSeq: 50 });
    });

    it("names the first event whose content was changed", async () => {
        const { db, log } = freshLog();
        for (let i = 0; i < 20; i++) await log.append({ type: "reading.weight", data: { kg: 1000 + i } });
        db.exec("DROP TRIGGER events_no_update");
        db.prepare("UPDATE events SET data = ? WHERE seq = 7").run(JSON.stringify({ kg: 1 }));
        db.prepare("UPDATE events SET data = ? WHERE seq = 12").run(JSON.stringify({ kg: 2 }));
        const report = verifyChain(db);
        expect(report.ok).toBe(false);
        expect(report.firstBroken?.seq).toBe(7);
        expect(report.firstBroken?.reason).toMatch(/hash/);
    });

    it("names a removed event as a seq gap", async () => {
        const { db, log } = freshLog();
        for (let i = 0; i < 10; i++) await log.append({ type: "reading.scan", data: { i } });
        db.exec("DROP TRIGGER events_no_delete");
        db.prepare("DELETE FROM outbox WHERE seq = 4").run();
        db.prepare("DELETE FROM events WHERE seq = 4").run();
        const report = verifyChain(db);
        expect(report.firstBroken).toMatchObject({ seq: 5, reason: expect.stringMatching(/jumps from 3 to 5/) });
    });

    it("detects a rehashed event that no longer links to the next", async () => {
        const { db, log } = freshLog();
        const events = [];
        for (let i = 0; i < 5; i++) events.push(await log.append({ type: "reading.scan", data: { i } }));
        const forged = { ...events[2]!, data: { i: 99 } };
        const forgedHash = chainHash(forged.prevHash, hashedPart({ ...forged, hash: "" }));
        db.exec("DROP TRIGGER events_no_update");
        db.prepare("UPDATE events SET data = ?, hash = ? WHERE seq = 3").run(JSON.stringify(forged.data), forgedHash);
        expect(verifyChain(db).firstBroken?.seq).toBe(4);
    });
});

describe("outbox", () => {
    it("shares a batch between classes by weight and never starves a class", async () => {
        const { db, log } = freshLog();
        for (let i = 0; i < 300; i++) await log.append({ type: "reading.scan", data: { i } });
        for (let i = 0; i < 300; i++) await log.append({ type: "alert.raised", data: { i } });
        for (let i = 0; i < 300; i++) await log.append({ type: "device.status", data: { i } });
        const batch = new Outbox(db).nextBatch(100);
        expect(batch).toHaveLength(100);
        const counts = new Map<number, number>();
        for (const entry of batch) counts.set(entry.class, (counts.get(entry.class) ?? 0) + 1);
        expect(counts.get(OutboxClass.Alert)).toBeGreaterThan(counts.get(OutboxClass.Reading) ?? 0);
        expect(counts.get(OutboxClass.Reading) ?? 0).toBeGreaterThan(0);
        expect(counts.get(OutboxClass.Telemetry) ?? 0).toBeGreaterThan(0);
        expect(batch.map((entry) => entry.seq)).toEqual([...batch.map((entry) => entry.seq)].sort((a, b) => a - b));
    });

    it("fills a batch from whatever classes have a backlog, oldest first", async () => {
        const { db, log } = freshLog();
        for (let i = 0; i < 30; i++) await log.append({ type: "reading.scan", data: { i } });
        expect(new Outbox(db).nextBatch(20).map((entry) => entry.seq)).toEqual(
            Array.from({ length: 20 }, (_, i) => i + 1),
        );
    });

    it("delivers, parks with a reason, and retries parked events", async () => {
        const { db, log } = freshLog();
        for (let i = 0; i < 3; i++) await log.append({ type: "passage.opened", data: { i } });
        const outbox = new Outbox(db);
        const [first, second] = outbox.nextBatch(10);
        outbox.markDelivered([first!]);
        outbox.park(second!, "rejected by central: unknown lane", new Date());
        const passages = outbox.backlog().find((entry) => entry.class === OutboxClass.Passage);
        expect(passages).toMatchObject({ pending: 1, parked: 1, oldestPendingSeq: 3 });
        expect(outbox.nextBatch(10).map((entry) => entry.seq)).toEqual([3]);
        expect(outbox.retryParked(second!, new Date())).toBe(true);
        expect(outbox.retryParked(second!, new Date())).toBe(false);
        expect(outbox.nextBatch(10).map((entry) => entry.seq)).toEqual([2, 3]);
    });
});

describe("outbox trigger", () => {
    it("classes every event type as outboxClassOf does", async () => {
        const { outboxClassOf } = await import("../../src/core/events.ts");
        const { db, log } = freshLog();
        const types = [
            "reading.weight",
            "reading.plate",
            "passage.opened",
            "passage.completed",
            "actuator.command",
            "actuator.result",
            "officer.action",
            "device.status",
            "alert.raised",
            "alert.cleared",
            "config.applied",
            "gate.started",
        ] as const;
        for (const type of types) await log.append({ type, data: {} });
        const rows = db
            .prepare("SELECT e.type, o.class FROM events e JOIN outbox o USING (seq) ORDER BY seq")
            .all() as {
            type: (typeof types)[number];
            class: number;
        }[];
        expect(rows.map((row) => row.type)).toEqual([...types]);
        for (const row of rows) expect(row.class, row.type).toBe(outboxClassOf(row.type));
    });
});
