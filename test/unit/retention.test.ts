import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { chainHash, GENESIS_HASH } from "../../src/core/canonical.ts";
import { ManualClock } from "../../src/core/clock.ts";
import {
    CHECKPOINT_TYPE,
    ChainWalker,
    type Checkpoint,
    type PrunedSegment,
    planSegments,
} from "../../src/store/checkpoints.ts";
import { openDatabase } from "../../src/store/db.ts";
import { EventLog, type EventRow } from "../../src/store/eventLog.ts";
import { storageFindings, storageStatus } from "../../src/store/retention.ts";
import { firstSeqAtOrAfter } from "../../src/store/seqTime.ts";
import { tempDir, testLog } from "../helpers/tmp.ts";

const dir = tempDir();
afterAll(() => dir.cleanup());

/** A hash chain of `count` rows, as the event log stores them. */
function chain(count: number, checkpointAt: Record<number, object> = {}): EventRow[] {
    const rows: EventRow[] = [];
    let prev = GENESIS_HASH;
    for (let seq = 1; seq <= count; seq++) {
        const type = checkpointAt[seq] ? CHECKPOINT_TYPE : "device.status";
        const data = JSON.stringify(checkpointAt[seq] ?? { n: seq });
        const unhashed = {
            id: `id-${seq}`,
            gateId: "HN01",
            seq,
            type,
            occurredAt: "2026-01-01T00:00:00.000Z",
            recordedAt: "2026-01-01T00:00:00.000Z",
            data: JSON.parse(data),
            prevHash: prev,
        };
        const hash = chainHash(prev, unhashed);
        rows.push({
            seq,
            id: unhashed.id,
            gate_id: "HN01",
            lane_id: null,
            type,
            occurred_at: unhashed.occurredAt,
            recorded_at: unhashed.recordedAt,
            device_id: null,
            data,
            prev_hash: prev,
            hash,
        });
        prev = hash;
    }
    return rows;
}

function walk(rows: readonly EventRow[], checkpoints: Checkpoint[]): string | undefined {
    const walker = new ChainWalker(checkpoints);
    for (const row of rows) {
        const reason = walker.accept(row);
        if (reason !== undefined) return `${row.seq}: ${reason}`;
    }
    const end = walker.finish();
    return "broken" in end ? end.broken : undefined;
}

const checkpointOver = (seq: number, segments: PrunedSegment[]): Checkpoint => ({
    seq,
    recordedAt: "2026-01-01T00:00:00.000Z",
    data: {
        firstSeq: segments[0]!.firstSeq,
        lastSeq: segments[segments.length - 1]!.lastSeq,
        count: segments.reduce((sum, s) => sum + s.count, 0),
        lastHash: segments[segments.length - 1]!.lastHash,
        segments,
        olderThan: "2026-01-01T00:00:00.000Z",
        retentionDays: 90,
        acknowledgement: { batches: 0 },
    },
});

describe("planSegments", () => {
    it("makes maximal runs of removable rows, broken by each row that stays", () => {
        const rows = [1, 2, 3, 4, 5, 6, 7].map((seq) => ({ seq, hash: `h${seq}`, removable: seq !== 4 && seq !== 7 }));
        expect(planSegments(rows)).toEqual([
            { firstSeq: 1, lastSeq: 3, count: 3, lastHash: "h3" },
            { firstSeq: 5, lastSeq: 6, count: 2, lastHash: "h6" },
        ]);
    });
    it("spans seqs already gone and counts only the rows present", () => {
        const rows = [
            { seq: 3, hash: "h3", removable: true },
            { seq: 9, hash: "h9", removable: true },
        ];
        expect(planSegments(rows)).toEqual([{ firstSeq: 3, lastSeq: 9, count: 2, lastHash: "h9" }]);
    });
    it("plans nothing when nothing may go", () => {
        expect(planSegments([{ seq: 1, hash: "h1", removable: false }])).toEqual([]);
    });
});

describe("ChainWalker: continuity across pruning", () => {
    const rows = chain(12);
    const hashOf = (seq: number): string => rows[seq - 1]!.hash;

    it("passes a whole chain without checkpoints", () => {
        expect(walk(rows, [])).toBeUndefined();
    });
    it("refuses a pruned prefix no checkpoint announced", () => {
        expect(walk(rows.slice(4), [])).toMatch(/events before seq 5 are missing and no checkpoint accounts/);
    });
    it("passes a pruned prefix whose checkpoint (a row of the chain) states the hash of its last event", () => {
        // Events before the checkpoint do not depend on it: their hashes are those of the plain chain.
        const checkpoint = checkpointOver(12, [{ firstSeq: 1, lastSeq: 4, count: 4, lastHash: hashOf(4) }]);
        const withCheckpoint = chain(12, { 12: checkpoint.data });
        expect(walk(withCheckpoint.slice(4), [checkpoint])).toBeUndefined();
        // A walk ending before the checkpoint (head 11) is not asked to meet it; one whose row 12 is no checkpoint is.
        expect(walk(withCheckpoint.slice(4, 11), [checkpoint])).toBeUndefined();
        expect(walk(rows.slice(4), [checkpoint])).toMatch(/a checkpoint the walk was not told of|not in the chain/);
    });
    it("refuses a stated hash that is not the pruned event's, and a gap no checkpoint announced", () => {
        const wrong = checkpointOver(12, [{ firstSeq: 1, lastSeq: 4, count: 4, lastHash: "f".repeat(64) }]);
        expect(walk(chain(12, { 12: wrong.data }).slice(4), [wrong])).toMatch(
            /is not the hash the checkpoint states for event 4/,
        );
        const gap = [...rows.slice(0, 5), ...rows.slice(7)];
        expect(walk(gap, [])).toMatch(/seq jumps from 5 to 8 and no checkpoint accounts/);
    });
    it("accepts a deletion that stopped midway: the rest of the segment still links to its stated hash", () => {
        const checkpoint = checkpointOver(12, [{ firstSeq: 1, lastSeq: 6, count: 6, lastHash: hashOf(6) }]);
        const built = chain(12, { 12: checkpoint.data });
        const walker = new ChainWalker([checkpoint]);
        for (const row of built.slice(3)) expect(walker.accept(row)).toBeUndefined();
        const end = walker.finish();
        expect("report" in end && end.report.inProgress).toBe(12);
        expect("report" in end && end.report.pruned).toBe(3);
    });
    it("refuses an edited event after the checkpoint", () => {
        const edited = rows.map((row) => (row.seq === 9 ? { ...row, data: '{"n":999}' } : row));
        expect(walk(edited, [])).toMatch(/^9: hash does not match/);
    });
});

describe("firstSeqAtOrAfter", () => {
    it("finds the first event recorded at or after an instant by binary search, over gaps", async () => {
        const db = openDatabase(join(dir.path, "seq-time.db"));
        const clock = new ManualClock(Date.UTC(2026, 0, 1));
        const log = new EventLog(db, { gateId: "HN01", clock, log: testLog });
        log.start();
        for (let i = 0; i < 50; i++) {
            await log.append({ type: "device.status", data: { i } });
            clock.advance(60_000);
        }
        const at = (minutes: number): string => new Date(Date.UTC(2026, 0, 1) + minutes * 60_000).toISOString();
        expect(firstSeqAtOrAfter(db, at(0))).toBe(1);
        expect(firstSeqAtOrAfter(db, at(10))).toBe(11);
        expect(firstSeqAtOrAfter(db, at(9.5))).toBe(11);
        expect(firstSeqAtOrAfter(db, at(49))).toBe(50);
        expect(firstSeqAtOrAfter(db, at(50))).toBeUndefined();
        log.close();
        db.close();
    });
});

describe("storageStatus: days of headroom", () => {
    async function logOver(name: string, minutes: number): Promise<ReturnType<typeof openDatabase>> {
        const db = openDatabase(join(dir.path, name));
        const clock = new ManualClock(Date.UTC(2026, 0, 1));
        const log = new EventLog(db, { gateId: "HN01", clock, log: testLog });
        log.start();
        for (let i = 0; i <= minutes; i++) {
            await log.append({ type: "device.status", data: { i } });
            clock.advance(60_000);
        }
        log.close();
        return db;
    }

    it("gives no estimate over less than an hour of log (a fresh gate is not full tomorrow)", async () => {
        const db = await logOver("fresh.db", 5);
        const status = storageStatus(db, { now: Date.UTC(2026, 0, 1, 0, 6), retentionDays: 90, quotaMb: 4096 });
        expect(status.rateSpanMs).toBe(6 * 60_000);
        expect(status.headroomDays).toBeNull();
        expect(storageFindings(status, Date.UTC(2026, 0, 1, 0, 6))[0]?.message).toMatch(/less than an hour/);
        db.close();
    });

    it("estimates from two hours of log: a minute's event a day is 1,440 events", async () => {
        const db = await logOver("two-hours.db", 120);
        const status = storageStatus(db, { now: Date.UTC(2026, 0, 1, 2, 1), retentionDays: 90, quotaMb: 4096 });
        expect(status.eventsPerDay).toBe(Math.round((121 * 86_400_000) / (121 * 60_000)));
        expect(status.headroomDays).toBeGreaterThan(0);
        db.close();
    });
});

describe("storageFindings (doctor's lines)", () => {
    const now = Date.UTC(2026, 5, 1);
    const status = {
        retentionDays: 90,
        usedBytes: 3.5 * 2 ** 30,
        quotaBytes: 4 * 2 ** 30,
        eventsPerDay: 30_000,
        bytesPerDay: 100 * 2 ** 20,
        headroomDays: 5.12,
        rateSpanMs: 86_400_000,
        oldestUnsynced: { seq: 42, recordedAt: new Date(now - 3 * 86_400_000).toISOString() },
        lastCheckpoint: {
            seq: 900,
            recordedAt: "2026-05-31T02:00:00.000Z",
            firstSeq: 1,
            lastSeq: 800,
            count: 799,
            acknowledgement: { batches: 2 },
            done: false,
        },
        prunedEvents: 799,
        lastRun: null,
    };
    it("warns when the quota is less than a week away at the current rate, and when central has not taken a day-old event", () => {
        const findings = storageFindings(status, now);
        expect(findings[0]).toEqual({
            level: "warn",
            message: expect.stringMatching(/30000 events, 100\.0 MiB a day\) the store reaches its quota in 5\.1 day/),
        });
        expect(findings[1]).toEqual({ level: "warn", message: expect.stringMatching(/seq 42, .*3\.0 day\(s\) ago/) });
        expect(findings[2]?.message).toMatch(
            /seq 900 .* 799 event\(s\) of seq 1\.\.800 \(its deletions are still running\)/,
        );
    });
    it("is calm with weeks of headroom, nothing unsynced and nothing pruned yet", () => {
        const findings = storageFindings(
            { ...status, headroomDays: 40, oldestUnsynced: null, lastCheckpoint: null },
            now,
        );
        expect(findings.map((f) => f.level)).toEqual(["ok", "ok", "ok"]);
        expect(findings[2]?.message).toBe("nothing pruned yet (no checkpoint)");
    });
});
