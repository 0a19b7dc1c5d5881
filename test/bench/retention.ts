/**
 * A compressed year at a busy gate: real EventLog, outbox, images and Retention on a real database file,
 * a fake clock, and a fake central that accepts what the outbox offers (and rejects a few events for good)
 * through the store's own acknowledgement path (Outbox.markDelivered, as the uplink does). Central keeps its
 * own record of what it accepted and when, the independent record the checks compare the gate with.
 *
 * Used by the retention bench (`npm run bench -- retention`: the size series, charted in BENCHMARKS.md),
 * test/resilience/retention-year.test.ts (a full busy year) and test/integration/retention.test.ts (small).
 */
import { createHash } from "node:crypto";
import { join } from "node:path";
import { ManualClock } from "../../src/core/clock.ts";
import type { GateEventDraft } from "../../src/core/events.ts";
import { exportArchiveSteps, verifyArchive } from "../../src/store/archive.ts";
import { type EvidenceReport, verifyEvidence } from "../../src/store/audit.ts";
import { finishNow } from "../../src/store/chunked.ts";
import { type Db, openDatabase } from "../../src/store/db.ts";
import { EventLog } from "../../src/store/eventLog.ts";
import { ImageStore } from "../../src/store/images.ts";
import { Outbox, type OutboxEntry } from "../../src/store/outbox.ts";
import { databaseBytes } from "../../src/store/quota.ts";
import { Retention } from "../../src/store/retention.ts";
import { tempDir, testLog } from "../helpers/tmp.ts";

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

export interface YearOptions {
    days: number;
    trucksPerDay: number;
    /** Device health reports per hour (each device's status, the scale's zero, cameras' heartbeats). */
    healthPerHour: number;
    /** Extra e-seal reads per hour outside passages (locks reporting while parked). */
    sealReadsPerHour: number;
    retentionDays: number;
    imageRetentionDays: number;
    quotaMb: number;
    /** Central is unreachable from the start of this day for outageDays days. */
    outageFromDay: number;
    outageDays: number;
    /** One event in this many is rejected by central for good (parked: never accepted, never pruned). */
    rejectOneIn: number;
    /** The day an archive of an old range is exported and verified. */
    archiveOnDay: number;
    /** Hours simulated as one step (traffic appended, central offered the outbox); 1 by default. */
    stepHours?: number;
    /** Where the bench keeps its database; a temporary folder by default. */
    dir?: string;
    onDay?: (day: number, sample: DaySample) => void;
}

export interface DaySample {
    day: number;
    /** Largest size measured that day (before its pruning), and after it. */
    peakBytes: number;
    afterBytes: number;
    events: number;
    unsynced: number;
}

export interface YearResult {
    options: YearOptions;
    samples: DaySample[];
    quotaBytes: number;
    maxBytes: number;
    appended: number;
    acceptedByCentral: number;
    rejectedByCentral: number;
    checkpoints: number;
    pruned: number;
    /** Pruned events central had not accepted when their checkpoint was written (must be empty). */
    prunedUnaccepted: number[];
    /** Events central rejected that are not in the log any more (must be empty). */
    rejectedMissing: number[];
    evidence: EvidenceReport;
    archive: {
        ok: boolean;
        events: number;
        images: number;
        problems: string[];
        fromSeq: number;
        toSeq: number;
        checkpoints: number;
    };
    longestStepMs: number;
    longestStep: string;
    /** The median over the daily runs of each run's longest step (ms): what a typical run holds the writer. */
    medianRunLongestMs: number;
    wallMs: number;
    dbPath: string;
}

/** A plate of the form seen at a Vietnamese–Chinese border crossing. */
const plate = (n: number): string =>
    n % 3 === 0 ? `桂A${String(10000 + (n % 89999)).slice(-5)}挂` : `15C-${String(100000 + (n % 899999)).slice(-5)}`;

/** One truck's passage at its real mix: open, two plates, a weight, two seals, decision, barrier, close. */
function passageDrafts(truck: number, laneId: string, imageRef: string): GateEventDraft[] {
    const passageId = `P${truck.toString(36).padStart(8, "0")}`;
    const tractor = plate(truck);
    const declaration = `10${String(4_000_000_000 + truck).slice(-10)}`;
    const reading = (kind: string, deviceId: string, values: object): GateEventDraft => ({
        type: `reading.${kind}` as GateEventDraft["type"],
        laneId,
        deviceId,
        // The values vary by kind; the data is JSON.
        data: { kind, deviceId, observedAt: 0, values: values as GateEventDraft["data"], raw: "02303030" },
    });
    return [
        { type: "passage.opened", laneId, data: { passageId, laneId, trigger: "loop-1" } },
        reading("plate", `${laneId}-cam-front`, {
            plate: tractor,
            confidence: 0.97,
            images: [{ ref: imageRef, role: "plate" }],
        }),
        reading("plate", `${laneId}-cam-rear`, { plate: `${tractor}-R`, confidence: 0.93 }),
        reading("declaration", `${laneId}-scanner`, {
            number: declaration,
            driver: { name: "Nguyễn Văn A", id: `0${truck}` },
        }),
        reading("weight", `${laneId}-scale`, { kg: 24_000 + (truck % 9000), stable: true, unit: "kg" }),
        reading("seal", `${laneId}-eseal`, {
            sealId: `SL${truck}`,
            state: "SEALED",
            container: `MSKU${truck % 9_999_999}`,
        }),
        {
            type: "passage.decided",
            laneId,
            data: {
                passageId,
                outcome: "RELEASE",
                findings: [{ code: "ALL_MATCH" }],
                plates: [tractor],
                declarations: [declaration],
            },
        },
        { type: "actuator.command", laneId, data: { command: { type: "openBarrier" }, passageId } },
        {
            type: "actuator.result",
            laneId,
            data: { command: { type: "openBarrier" }, confirmed: true, detail: "barrier up" },
        },
        { type: "passage.completed", laneId, data: { passageId, exitedAt: "loop-2" } },
    ];
}

const healthDraft = (n: number): GateEventDraft => ({
    type: "device.status",
    deviceId: `dev-${n % 12}`,
    data: { status: "online", reason: "heartbeat", counters: { frames: n, rejected: 0, bytes: n * 64 } },
});

const sealDraft = (n: number): GateEventDraft => ({
    type: "reading.seal",
    deviceId: `eseal-yard-${n % 40}`,
    data: {
        kind: "seal",
        values: { sealId: `SY${n % 40}`, state: "SEALED", battery: 80 - (n % 30), lat: 21.9, lon: 106.7 },
    },
});

/** A small JPEG-sized blob per truck, unique bytes: the image store and its own retention at work. */
const imageBytes = (truck: number): Buffer => {
    const bytes = Buffer.alloc(3072);
    bytes.writeUInt32BE(truck, 0);
    createHash("sha256").update(String(truck)).digest().copy(bytes, 8);
    return bytes;
};

/**
 * Runs the year. Each simulated hour: the hour's traffic is appended (group commit), then central is offered
 * the outbox (unless in the outage). Each day at 02:00 retention runs (as the gate's hourly timer would,
 * sooner or later), then images past their own retention go (ImageStore.prune, the gate's image timer).
 */
export async function simulateYear(options: YearOptions): Promise<YearResult> {
    const started = performance.now();
    const tmp = options.dir === undefined ? tempDir("gate-edge-year-") : undefined;
    const dir = options.dir ?? tmp!.path;
    const dbPath = join(dir, "year.db");
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const db: Db = openDatabase(dbPath);
    // The year measures sizes and the rules of pruning, not durability (the SIGKILL tests do): without an
    // fsync per commit a year runs in seconds instead of minutes. BENCH_RETENTION_SYNC=1 keeps FULL.
    if (process.env.BENCH_RETENTION_SYNC !== "1") db.pragma("synchronous = OFF");
    const log = new EventLog(db, { gateId: "HN01", clock, log: testLog });
    log.start();
    const outbox = new Outbox(db);
    const images = new ImageStore(db);
    const retention = new Retention(
        { db, clock, log: testLog, append: (draft) => log.append(draft) },
        {
            gateId: "HN01",
            retentionDays: options.retentionDays,
            checkEveryMs: DAY_MS,
            path: dbPath,
            quotaMb: options.quotaMb,
        },
    );
    /** Central's own record: seq → when it accepted it (ms). */
    const accepted = new Map<number, number>();
    const rejected = new Set<number>();
    const samples: DaySample[] = [];
    const quotaBytes = options.quotaMb * 1024 * 1024;
    let maxBytes = 0;
    let truck = 0;
    let healthNo = 0;
    let sealNo = 0;
    let appended = 0;
    let longestStepMs = 0;
    let longestStep = "";
    /** Each daily run's longest step (ms). */
    const runLongest: number[] = [];
    let archive: YearResult["archive"] = {
        ok: false,
        events: 0,
        images: 0,
        problems: ["not run"],
        fromSeq: 0,
        toSeq: 0,
        checkpoints: 0,
    };
    const selectId = db.prepare("SELECT id, hash FROM events WHERE seq = ?");
    const pendingBatch = db.prepare(
        "SELECT class, seq FROM outbox WHERE state = 'pending' AND class IN (0, 1, 2, 3, 4) ORDER BY seq LIMIT 500",
    );
    const owed = new Map<string, number>();
    /** Whole events of a kind due this hour; the fraction is owed to the next. */
    const carry = (kind: string, perHour: number): number => {
        const due = (owed.get(kind) ?? 0) + perHour;
        const whole = Math.floor(due);
        owed.set(kind, due - whole);
        return whole;
    };

    const offerToCentral = (): void => {
        for (;;) {
            // Central takes what is pending, oldest first (the uplink's class weighting is not the point here).
            const batch = pendingBatch.all() as OutboxEntry[];
            if (batch.length === 0) return;
            const now = clock.now();
            const ok = batch.filter((entry) => entry.seq % options.rejectOneIn !== 7);
            const answer = createHash("sha256");
            for (const entry of ok) {
                accepted.set(entry.seq, now);
                answer.update((selectId.get(entry.seq) as { id: string }).id);
            }
            db.transaction(() => {
                outbox.markDelivered(ok, { at: new Date(now), digest: answer.digest("hex") });
                for (const entry of batch.filter((e) => e.seq % options.rejectOneIn === 7)) {
                    rejected.add(entry.seq);
                    outbox.park(entry, "rejected by central (test)", new Date(now));
                }
            })();
        }
    };

    const step = options.stepHours ?? 1;
    for (let day = 0; day < options.days; day++) {
        let peak = 0;
        const outage = day >= options.outageFromDay && day < options.outageFromDay + options.outageDays;
        for (let hour = 0; hour < 24; hour += step) {
            clock.set(Date.UTC(2026, 0, 1) + day * DAY_MS + hour * HOUR_MS);
            // Busier by day: two thirds of the trucks between 06:00 and 18:00. Fractions carry to the next hour.
            const share = hour >= 6 && hour < 18 ? 2 / 3 / 12 : 1 / 3 / 12;
            const trucks = carry("trucks", options.trucksPerDay * share * step);
            const health = carry("health", options.healthPerHour * step);
            const seals = carry("seals", options.sealReadsPerHour * step);
            const appends: Promise<unknown>[] = [];
            for (let t = 0; t < trucks; t++) {
                truck++;
                const ref = images.put(imageBytes(truck), "image/jpeg", new Date(clock.now()));
                for (const draft of passageDrafts(truck, truck % 2 === 0 ? "L1" : "L2", ref))
                    appends.push(log.append(draft));
            }
            for (let h = 0; h < health; h++) appends.push(log.append(healthDraft(healthNo++)));
            for (let s = 0; s < seals; s++) appends.push(log.append(sealDraft(sealNo++)));
            await Promise.all(appends);
            appended += appends.length;
            if (!outage) offerToCentral();
            if (hour <= 2 && hour + step > 2) {
                peak = Math.max(peak, databaseBytes(dbPath));
                const report = await retention.pruneNow();
                runLongest.push(report.longestStepMs);
                if (report.longestStepMs > longestStepMs) {
                    longestStepMs = report.longestStepMs;
                    longestStep = report.longestStep;
                }
                images.prune(new Date(clock.now() - options.imageRetentionDays * DAY_MS));
            }
            peak = Math.max(peak, databaseBytes(dbPath));
        }
        if (day === options.archiveOnDay) archive = await exportAndVerify(db, dir, clock.now());
        const afterBytes = databaseBytes(dbPath);
        maxBytes = Math.max(maxBytes, peak);
        const unsynced = (db.prepare("SELECT COUNT(*) AS n FROM outbox").get() as { n: number }).n;
        const events = (db.prepare("SELECT COUNT(*) AS n FROM events").get() as { n: number }).n;
        const sample = { day, peakBytes: peak, afterBytes, events, unsynced };
        samples.push(sample);
        options.onDay?.(day, sample);
    }
    log.flushAll();
    const evidence = verifyEvidence(db, "quick_check");
    // The independent check: every seq missing from the log must have been accepted by central before the
    // checkpoint that announced it was recorded.
    const checkpoints = evidence.events.continuity?.checkpoints ?? [];
    const present = new Set((db.prepare("SELECT seq FROM events").all() as { seq: number }[]).map((r) => r.seq));
    // When each seq was first announced as pruned (the earliest checkpoint naming it is the one removing it).
    const announcedAt = new Float64Array(log.headSeq + 1).fill(Number.POSITIVE_INFINITY);
    let pruned = 0;
    for (const checkpoint of checkpoints) {
        const at = Date.parse(checkpoint.recordedAt);
        for (const segment of checkpoint.data.segments) {
            pruned += segment.count;
            for (let seq = segment.firstSeq; seq <= segment.lastSeq; seq++) {
                if (announcedAt[seq] === Number.POSITIVE_INFINITY) announcedAt[seq] = at;
            }
        }
    }
    const prunedUnaccepted: number[] = [];
    for (let seq = 1; seq <= log.headSeq; seq++) {
        if (present.has(seq)) continue;
        const when = accepted.get(seq);
        if ((when === undefined || when > (announcedAt[seq] as number)) && prunedUnaccepted.length < 20)
            prunedUnaccepted.push(seq);
    }
    const rejectedMissing = [...rejected].filter((seq) => !present.has(seq));
    await retention.stop();
    log.close();
    db.close();
    tmp?.cleanup();
    return {
        options,
        samples,
        quotaBytes,
        maxBytes,
        appended,
        acceptedByCentral: accepted.size,
        rejectedByCentral: rejected.size,
        checkpoints: checkpoints.length,
        pruned,
        prunedUnaccepted,
        rejectedMissing,
        evidence,
        archive,
        longestStepMs,
        longestStep,
        medianRunLongestMs: [...runLongest].sort((a, b) => a - b)[Math.floor(runLongest.length / 2)] ?? 0,
        wallMs: performance.now() - started,
        dbPath,
    };
}

/**
 * Exports everything the log holds now (the oldest events just after the last checkpoint, the recent ones
 * with their images) and verifies the file on its own.
 */
async function exportAndVerify(db: Db, dir: string, now: number): Promise<YearResult["archive"]> {
    const { first, last } = db.prepare("SELECT MIN(seq) AS first, MAX(seq) AS last FROM events").get() as {
        first: number;
        last: number;
    };
    const file = join(dir, `mid-year-${first}-${last}.gea`);
    const summary = await finishNow(
        exportArchiveSteps(db, { file, fromSeq: first, toSeq: last, gateId: "HN01", now: new Date(now) }),
    );
    const report = await verifyArchive(file);
    return {
        ok: report.ok,
        events: summary.events,
        images: summary.images,
        problems: report.problems,
        fromSeq: first,
        toSeq: last,
        checkpoints: report.checkpoints.length,
    };
}

/** A size-over-the-year chart in text: one column per week, the quota as the top line. */
export function asciiChart(samples: readonly DaySample[], quotaBytes: number, height = 16): string[] {
    const weeks: number[] = [];
    for (let i = 0; i < samples.length; i += 7) {
        weeks.push(Math.max(...samples.slice(i, i + 7).map((s) => s.peakBytes)));
    }
    const mib = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(0)} MiB`.padStart(8);
    const lines: string[] = [];
    for (let row = height; row >= 1; row--) {
        const level = (quotaBytes * row) / height;
        const label =
            row === height
                ? `${mib(quotaBytes)} quota ┤`
                : row === height / 2
                  ? `${mib(level)}       ┤`
                  : "               ┤";
        lines.push(label + weeks.map((bytes) => (bytes >= level - quotaBytes / height / 2 ? "█" : " ")).join(""));
    }
    lines.push(`               └${"─".repeat(weeks.length)}`);
    lines.push(`                week 1${" ".repeat(Math.max(1, weeks.length - 12))}week ${weeks.length}`);
    return lines;
}

/** The retention bench: a busy year at its real mix on a small quota; the size series and its chart. */
export async function benchRetention(out: (line: string) => void): Promise<object> {
    const options: YearOptions = {
        days: Number(process.env.BENCH_RETENTION_DAYS ?? 365),
        trucksPerDay: Number(process.env.BENCH_RETENTION_TRUCKS ?? 60),
        healthPerHour: 12,
        sealReadsPerHour: 6,
        retentionDays: 30,
        imageRetentionDays: 14,
        quotaMb: 24,
        outageFromDay: 180,
        outageDays: 7,
        rejectOneIn: 20_000,
        archiveOnDay: 200,
        stepHours: 2,
    };
    const result = await simulateYear(options);
    for (const line of asciiChart(result.samples, result.quotaBytes)) out(line);
    out(
        `${result.appended} events in ${options.days} days; peak ${(result.maxBytes / 2 ** 20).toFixed(1)} MiB of ${options.quotaMb} MiB; ${result.checkpoints} checkpoints; verify ${result.evidence.ok ? "ok" : "BROKEN"}; pruning steps: a typical run's longest ${result.medianRunLongestMs.toFixed(2)} ms, longest ${result.longestStepMs.toFixed(2)} ms (${result.longestStep}); ${(result.wallMs / 1000).toFixed(1)} s`,
    );
    return {
        options: { ...options, onDay: undefined },
        quotaBytes: result.quotaBytes,
        maxBytes: result.maxBytes,
        appended: result.appended,
        checkpoints: result.checkpoints,
        pruned: result.pruned,
        prunedUnaccepted: result.prunedUnaccepted.length,
        verifyOk: result.evidence.ok,
        archiveOk: result.archive.ok,
        longestStepMs: result.longestStepMs,
        longestStep: result.longestStep,
        medianRunLongestMs: result.medianRunLongestMs,
        wallMs: result.wallMs,
        // The size series: per day the peak and the size after pruning (bytes).
        series: result.samples.map((s) => [s.day, s.peakBytes, s.afterBytes, s.unsynced]),
        chart: asciiChart(result.samples, result.quotaBytes),
    };
}
