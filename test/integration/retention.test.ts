/**
 * Issue 20 at small scale: a compressed year (the resilience suite runs a busier one), the delete trigger's
 * refusal of anything unannounced or unaccepted, `audit verify` and `archive export/verify` on the command
 * line, the upgrade's switch to incremental vacuum, and the running gate's /api/v1/storage.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Writable } from "node:stream";
import { gunzipSync, gzipSync } from "node:zlib";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { main } from "../../src/cli.ts";
import { ManualClock } from "../../src/core/clock.ts";
import { fileSha256, verifyArchive } from "../../src/store/archive.ts";
import { AUTO_VACUUM_INCREMENTAL, openDatabase, upgradeDatabase } from "../../src/store/db.ts";
import { EventLog } from "../../src/store/eventLog.ts";
import { migrationSql } from "../../src/store/migrations.ts";
import { Outbox } from "../../src/store/outbox.ts";
import { Retention } from "../../src/store/retention.ts";
import { simulateYear } from "../bench/retention.ts";
import { apiSession } from "../helpers/api.ts";
import { startGate, testConfig } from "../helpers/gate.ts";
import { tempDir, testLog } from "../helpers/tmp.ts";

const dir = tempDir();
afterAll(() => dir.cleanup());
const DAY_MS = 86_400_000;

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
    let out = "";
    let err = "";
    const sink = (append: (text: string) => void): Writable =>
        new Writable({
            write(chunk: Buffer, _encoding, done) {
                append(chunk.toString());
                done();
            },
        });
    const code = await main(argv, {
        stdout: sink((text) => (out += text)),
        stderr: sink((text) => (err += text)),
    });
    return { code, out, err };
}

/** A log of `days` days, 20 events a day; central accepts every seq `accept` says yes to. */
async function pastLog(name: string, days: number, accept: (seq: number) => boolean, archiveDir?: string) {
    const path = join(dir.path, name);
    const db = openDatabase(path);
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const log = new EventLog(db, { gateId: "HN01", clock, log: testLog });
    log.start();
    for (let day = 0; day < days; day++) {
        clock.set(Date.UTC(2026, 0, 1) + day * DAY_MS);
        await Promise.all(
            Array.from({ length: 20 }, (_, i) => log.append({ type: "reading.weight", data: { kg: i } })),
        );
    }
    const outbox = new Outbox(db);
    const entries = outbox.nextBatch(100_000).filter((entry) => accept(entry.seq));
    outbox.markDelivered(entries, { at: new Date(clock.now()), digest: "ab".repeat(32) });
    const retention = new Retention(
        { db, clock, log: testLog, append: (draft) => log.append(draft) },
        {
            gateId: "HN01",
            retentionDays: 10,
            checkEveryMs: DAY_MS,
            quotaMb: 64,
            path,
            ...(archiveDir !== undefined && { archiveDir }),
        },
    );
    return { path, db, log, clock, retention };
}

describe("retention over a compressed year", () => {
    it("keeps the store under its quota all year, prunes only what central accepted, and audit verify proves continuity", async () => {
        const result = await simulateYear({
            days: 365,
            trucksPerDay: 2,
            healthPerHour: 0.5,
            sealReadsPerHour: 0.25,
            stepHours: 6,
            retentionDays: 30,
            imageRetentionDays: 14,
            quotaMb: 3,
            outageFromDay: 150,
            outageDays: 6,
            rejectOneIn: 2000,
            archiveOnDay: 200,
            dir: dir.path,
        });
        const over = result.samples.filter((sample) => sample.peakBytes >= result.quotaBytes);
        expect(over, "days over the quota").toEqual([]);
        expect(result.prunedUnaccepted, "pruned events central had not accepted then").toEqual([]);
        expect(result.rejectedByCentral).toBeGreaterThan(0);
        expect(result.rejectedMissing, "events central rejected that are gone").toEqual([]);
        expect(result.evidence.ok, JSON.stringify(result.evidence.events.firstBroken)).toBe(true);
        // One checkpoint per day from day 31 on (the outage's days included: older events were accepted).
        expect(result.checkpoints).toBeGreaterThan(300);
        expect(result.evidence.events.continuity?.pruned).toBe(result.pruned);
        expect(result.archive).toMatchObject({ ok: true, problems: [] });
        expect(result.archive.images).toBeGreaterThan(0);
        expect(result.archive.checkpoints).toBeGreaterThan(0);
        // The outage left its backlog in the store until central was back, then it drained.
        const outageEnd = result.samples[155]!;
        expect(outageEnd.unsynced).toBeGreaterThan(150);
        expect(result.samples[364]!.unsynced).toBeLessThan(20);
    }, 120_000);
});

describe("what may leave the log", () => {
    it("refuses to delete an event central has not accepted, or one no checkpoint announced", async () => {
        const { db, log, retention } = await pastLog("refuse.db", 30, (seq) => seq !== 5);
        const report = await retention.pruneNow();
        expect(report.checkpoint?.data.segments).toEqual([
            expect.objectContaining({ firstSeq: 1, lastSeq: 4, count: 4 }),
            expect.objectContaining({ firstSeq: 6, count: 19 * 20 - 5 }),
        ]);
        // Seq 5 is still queued for central: it stays, and SQL itself refuses to remove it.
        expect(db.prepare("SELECT seq FROM events WHERE seq <= 6 ORDER BY seq").all()).toEqual([{ seq: 5 }]);
        expect(() => db.prepare("DELETE FROM events WHERE seq = 5").run()).toThrow(/append-only/);
        // A young event, accepted but not announced by any checkpoint, is refused too; so is the checkpoint.
        expect(() => db.prepare("DELETE FROM events WHERE seq = 590").run()).toThrow(/append-only/);
        expect(() => db.prepare("DELETE FROM events WHERE seq = ?").run(report.checkpoint!.seq)).toThrow(/append-only/);
        log.close();
        db.close();
    });

    it("audit verify names each checkpoint; archive export/verify works without the database; a changed archive fails", async () => {
        const { path, db, log, retention } = await pastLog("cli.db", 30, () => true);
        await retention.pruneNow();
        log.close();
        db.close();
        const verify = await cli("audit", "verify", "--db", path);
        expect(verify.err).toBe("");
        expect(verify.code).toBe(0);
        expect(verify.out).toMatch(/continuous across 1 pruning checkpoint\(s\): 380 event\(s\) pruned/);
        expect(verify.out).toMatch(
            /checkpoint seq 601 at .*: pruned 380 event\(s\) of seq 1\.\.380 recorded before .* central acknowledged it in 1 answer/,
        );

        const file = join(dir.path, "range.gea");
        const exported = await cli("archive", "export", "--db", path, "--from", "2026-01-15", "--to", "600", file);
        expect(exported.err).toBe("");
        expect(exported.out).toMatch(/archive of seq 381\.\.600 written/);
        const checked = await cli("archive", "verify", file);
        expect(checked.code).toBe(0);
        expect(checked.out).toMatch(/archive intact: gate HN01, seq 381\.\.600, 220 event\(s\)/);
        expect(checked.out).toMatch(/checkpoint seq 601/);

        const lines = gunzipSync(readFileSync(file)).toString().split("\n");
        const tampered = lines.map((line) => line.replace('"kg":3', '"kg":4')).join("\n");
        writeFileSync(join(dir.path, "tampered.gea"), gzipSync(tampered));
        const broken = await cli("archive", "verify", join(dir.path, "tampered.gea"));
        expect(broken.code).toBe(1);
        expect(broken.err).toMatch(/hash does not match|digest/);
        const cut = lines.slice(0, 100).join("\n");
        writeFileSync(join(dir.path, "cut.gea"), gzipSync(cut));
        expect((await cli("archive", "verify", join(dir.path, "cut.gea"))).err).toMatch(/cut short/);
    });
});

describe("automatic archive", () => {
    it("exports each range to storage.archiveDir before pruning it, and the checkpoint names the file and its digest", async () => {
        const archiveDir = join(dir.path, "archive");
        const { db, log, retention } = await pastLog("auto-archive.db", 30, () => true, archiveDir);
        const { checkpoint } = await retention.pruneNow();
        log.close();
        db.close();
        expect(checkpoint?.data.archive?.file).toBe(join(archiveDir, "HN01-1-380.gea"));
        const file = checkpoint!.data.archive!.file;
        expect(await fileSha256(file)).toBe(checkpoint!.data.archive!.sha256);
        const report = await verifyArchive(file);
        expect(report).toMatchObject({ ok: true, firstSeq: 1, lastSeq: 380, events: 380, problems: [] });
    });
});

describe("space comes back", () => {
    it("an older database is switched to incremental vacuum at its upgrade, after the backup", async () => {
        const path = join(dir.path, "v6.db");
        const old = new Database(path);
        old.pragma("journal_mode = WAL");
        for (let version = 1; version <= 6; version++) {
            old.exec(migrationSql(version));
            old.pragma(`user_version = ${version}`);
        }
        expect(old.pragma("auto_vacuum", { simple: true })).toBe(0);
        old.close();
        const report = await upgradeDatabase(path, { log: testLog });
        expect(report.backup).toBeDefined();
        const db = openDatabase(path);
        expect(db.pragma("auto_vacuum", { simple: true })).toBe(AUTO_VACUUM_INCREMENTAL);
        db.close();
    });

    it("pruning returns the freed pages to the file system and truncates the WAL", async () => {
        const { path, db, log, retention } = await pastLog("space.db", 40, () => true);
        // Fat events, so the file is pages of events and not mostly schema.
        const before = db.pragma("page_count", { simple: true }) as number;
        const report = await retention.pruneNow();
        expect(report.removed).toBeGreaterThan(500);
        expect(report.vacuumedPages).toBeGreaterThan(0);
        expect(db.pragma("freelist_count", { simple: true })).toBe(0);
        expect(db.pragma("page_count", { simple: true }) as number).toBeLessThan(before);
        const wal = (() => {
            try {
                return readFileSync(`${path}-wal`).length;
            } catch {
                return 0;
            }
        })();
        expect(wal).toBe(0);
        log.close();
        db.close();
    });
});

describe("the running gate", () => {
    it("reports headroom, the oldest unsynced event and the last checkpoint on /api/v1/storage", async () => {
        const config = testConfig(
            dir.path,
            "  - id: L1\n    devices:\n      - { id: seal-1, model: eseal-mqtt-json, auth: { username: seal-1, password: storage-test-password } }",
            "storage: { path: " +
                JSON.stringify(join(dir.path, "running.db")) +
                ", quotaMb: 64, retentionDays: 0, retentionCheckMs: 100 }",
        );
        const gate = await startGate(config);
        try {
            const technician = apiSession(gate, "technician");
            const response = await technician.inject("GET", "/api/v1/storage");
            expect(response.statusCode).toBe(200);
            const body = response.json() as {
                oldestUnsynced: { seq: number };
                headroomDays: number | null;
                rateSpanMs: number;
                lastCheckpoint: unknown;
                quotaBytes: number;
            };
            // No central: nothing is accepted, so nothing is pruned even with a retention of 0 days.
            expect(body.oldestUnsynced.seq).toBe(1);
            expect(body.lastCheckpoint).toBeNull();
            expect(body.quotaBytes).toBe(64 * 2 ** 20);
            // A gate started seconds ago has no growth rate yet: no estimate, rather than "0 days".
            expect(body.rateSpanMs).toBeLessThan(3_600_000);
            expect(body.headroomDays).toBeNull();
            expect((await apiSession(gate, "officer").inject("GET", "/api/v1/storage")).statusCode).toBe(403);
        } finally {
            await gate.stop();
        }
    });
});
