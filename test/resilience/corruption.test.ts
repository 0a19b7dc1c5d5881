/**
 * A damaged, truncated or foreign database file: every place that can verify the evidence verifies all of
 * it (SQLite's own check of the file, the event log's and the audit log's hash chains) and names what is
 * broken; start-up raises a critical alert for a damaged file and still runs the lanes; a file that cannot
 * be the gate's database is refused with an error naming the file and the key that points at it.
 */
import { createHash } from "node:crypto";
import {
    closeSync,
    copyFileSync,
    openSync,
    readFileSync,
    statSync,
    truncateSync,
    writeFileSync,
    writeSync,
} from "node:fs";
import { join } from "node:path";
import { Writable } from "node:stream";
import Database from "better-sqlite3";
import { pino } from "pino";
import { afterAll, describe, expect, it } from "vitest";
import { main } from "../../src/cli.ts";
import type { GateConfig } from "../../src/config/types.ts";
import { isGateError } from "../../src/core/errors.ts";
import type { GateEvent } from "../../src/core/events.ts";
import { Gate } from "../../src/gate.ts";
import {
    checkIntegrity,
    checkIntegrityOffThread,
    INTEGRITY_MESSAGES_MAX,
    type IntegrityReport,
    type IntegrityRun,
} from "../../src/store/audit.ts";
import { AuditLog } from "../../src/store/auditLog.ts";
import { type Db, openDatabase } from "../../src/store/db.ts";
import { apiSession } from "../helpers/api.ts";
import { eventually, startGate, testConfig } from "../helpers/gate.ts";
import { tempDir, testLog } from "../helpers/tmp.ts";

const dir = tempDir("gate-edge-corruption-");
afterAll(() => dir.cleanup());

const lanesYaml = `  - id: L1
    devices:
      - { id: seal-1, model: eseal-mqtt-json, auth: { username: seal-1, password: corruption-test-password } }`;

const configFor = (path: string): GateConfig =>
    testConfig(dir.path, lanesYaml, `storage: { path: ${JSON.stringify(path)} }`);

/** The 16 KB of garbage the attacker wrote. */
const GARBAGE_BYTES = 16 * 1024;

let template: string | undefined;

/**
 * A copy of a real gate database, written by a running gate: its events, and an audit log long enough to
 * span well over a hundred pages (what officers' requests leave over a few days). Built once.
 */
async function gateDatabase(name: string): Promise<string> {
    if (template === undefined) {
        const path = join(dir.path, "template.db");
        const gate = await startGate(configFor(path));
        try {
            const audit = new AuditLog(gate.database);
            for (let i = 0; i < 2000; i++) {
                audit.append({
                    user: `officer-${i % 7}`,
                    role: "officer",
                    action: "passage.view",
                    target: `passage:01J${String(i).padStart(23, "0")}`,
                    outcome: "ok",
                    ip: "10.0.0.7",
                    detail: { lane: "L1", note: "viewed from the lane tile" },
                });
            }
            for (let i = 0; i < 200; i++)
                await gate.log.append({ type: "reading.weight", laneId: "L1", data: { kg: i } });
            // Everything into the main file, so one file is the whole database.
            gate.database.pragma("wal_checkpoint(TRUNCATE)");
        } finally {
            await gate.stop();
        }
        template = path;
    }
    const path = join(dir.path, name);
    copyFileSync(template, path);
    return path;
}

interface TablePages {
    pageSize: number;
    rootPage: number;
    /** Every page of the table's b-tree, in file order. */
    pages: number[];
}

function auditLogPages(path: string): TablePages {
    const db = new Database(path, { readonly: true, fileMustExist: true });
    try {
        const pageSize = db.pragma("page_size", { simple: true }) as number;
        const { rootpage } = db.prepare("SELECT rootpage FROM sqlite_master WHERE name = 'audit_log'").get() as {
            rootpage: number;
        };
        const pages = (
            db.prepare("SELECT pageno FROM dbstat WHERE name = 'audit_log' ORDER BY pageno").all() as {
                pageno: number;
            }[]
        ).map((row) => row.pageno);
        return { pageSize, rootPage: rootpage, pages };
    } finally {
        db.close();
    }
}

/**
 * Bytes that look random but are the same in every run (SHA-256 in counter mode), so a test never meets the
 * one garbage in a few hundred that happens to look like a valid page header.
 */
function garbage(length: number, seed: string): Buffer {
    const blocks: Buffer[] = [];
    for (let i = 0; blocks.length * 32 < length; i++) blocks.push(createHash("sha256").update(`${seed}:${i}`).digest());
    return Buffer.concat(blocks).subarray(0, length);
}

/** Overwrites GARBAGE_BYTES of the closed file, from the start of `page`, with random bytes. */
function writeGarbage(path: string, page: number, pageSize: number): void {
    const fd = openSync(path, "r+");
    try {
        writeSync(fd, garbage(GARBAGE_BYTES, `page ${page}`), 0, GARBAGE_BYTES, (page - 1) * pageSize);
    } finally {
        closeSync(fd);
    }
}

/**
 * A gate database with 16 KB of garbage in the middle of its audit log's pages: the root page and the last
 * leaves (where new entries go) are left whole, so the gate can still append — damage where it lands most.
 */
async function auditLogDamagedInTheMiddle(name: string): Promise<string> {
    const path = await gateDatabase(name);
    const { pageSize, rootPage, pages } = auditLogPages(path);
    const pagesHit = GARBAGE_BYTES / pageSize;
    // Enough rows to span pages: the garbage must land on audit_log pages only.
    expect(pages.length).toBeGreaterThan(50);
    const middle = pages.findIndex(
        (page, index) =>
            index > pages.length / 3 && page !== rootPage && pages[index + pagesHit - 1] === page + pagesHit - 1,
    );
    expect(middle).toBeGreaterThan(0);
    writeGarbage(path, pages[middle] as number, pageSize);
    return path;
}

/** Runs the CLI in this process and collects what it writes. */
async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
    const collect = (): { stream: Writable; text: () => string } => {
        const chunks: string[] = [];
        return {
            stream: new Writable({
                write(chunk, _encoding, done) {
                    chunks.push(String(chunk));
                    done();
                },
            }),
            text: () => chunks.join(""),
        };
    };
    const out = collect();
    const err = collect();
    const code = await main(argv, { stdout: out.stream, stderr: err.stream });
    return { code, out: out.text(), err: err.text() };
}

/** A gate logger whose lines a test can read. */
function recordingLog(): { log: pino.Logger; lines: () => { level: number; msg: string; [key: string]: unknown }[] } {
    const lines: string[] = [];
    const log = pino(
        { level: "info" },
        new Writable({
            write(chunk, _encoding, done) {
                lines.push(String(chunk));
                done();
            },
        }),
    );
    return { log, lines: () => lines.map((line) => JSON.parse(line)) };
}

/** The STORE_DAMAGED alerts in a running gate's log. */
const storeDamagedAlerts = (gate: Gate): GateEvent[] =>
    gate.log.read(0, 100_000).filter((event) => event.type === "alert.raised" && event.data.code === "STORE_DAMAGED");

/**
 * The gate's own start-up check (SQLite's quick_check on a worker thread), its report held back until the
 * test releases it: a check as slow as a big file's, without a big file.
 */
function heldCheck(): {
    checkStore: (db: Db) => IntegrityRun;
    release(): void;
    stops(): number;
    settled(): Promise<unknown>;
} {
    let release = (): void => undefined;
    const released = new Promise<void>((resolve) => {
        release = resolve;
    });
    let stops = 0;
    let report: Promise<IntegrityReport> | undefined;
    return {
        checkStore: (db) => {
            const run = checkIntegrityOffThread(db, "quick_check");
            report = released.then(() => run.report);
            return {
                report,
                stop: () => {
                    stops++;
                    return run.stop();
                },
            };
        },
        release,
        stops: () => stops,
        settled: () => (report ?? Promise.resolve()).catch(() => undefined),
    };
}

describe("16 KB of garbage in the audit log's pages", () => {
    it("audit verify names the audit log, the first unreadable seq and SQLite's messages, and exits 1", async () => {
        const path = await auditLogDamagedInTheMiddle("cli-middle.db");
        const result = await cli("audit", "verify", "--db", path);
        expect(result.code).toBe(1);
        // The event log is not damaged, and says so.
        expect(result.out).toMatch(/hash chain intact: \d+ event\(s\)/);
        expect(result.err).toMatch(/SQLite integrity_check failed in table\(s\) [^:]*audit_log/);
        expect(result.err).toMatch(
            /audit log hash chain BROKEN at seq \d+: the rows after seq \d+ cannot be read: .*SQLITE_CORRUPT/,
        );
        expect(result.err).toContain(path);
    });

    it("audit verify names it too when the garbage lands on the root page", async () => {
        const path = await gateDatabase("cli-root.db");
        const { pageSize, rootPage } = auditLogPages(path);
        writeGarbage(path, rootPage, pageSize);
        const result = await cli("audit", "verify", "--db", path, "--quick");
        expect(result.code).toBe(1);
        expect(result.err).toMatch(/SQLite quick_check failed in table\(s\) [^:]*audit_log/);
        expect(result.err).toMatch(/audit log hash chain BROKEN at seq 1: the rows after seq 0 cannot be read/);
    });

    it("start-up raises a critical alert naming the file and the table, logs it, and the lanes still run", async () => {
        const path = await auditLogDamagedInTheMiddle("start.db");
        const { log, lines } = recordingLog();
        const gate = new Gate({ config: configFor(path), log });
        await gate.start();
        try {
            // The check runs on its worker thread after the gate is ready: its alert comes when it ends.
            await eventually(() => gate.storeCheck.state !== "running", 30_000, "the start-up check");
            const alerts = await eventually(() => {
                const raised = storeDamagedAlerts(gate);
                return raised.length > 0 ? raised : undefined;
            });
            expect(gate.storeCheck.state).toBe("failed");
            expect(alerts).toHaveLength(1);
            expect(alerts[0]?.data).toMatchObject({
                severity: "critical",
                path,
                tables: expect.arrayContaining(["audit_log"]),
                message: expect.stringContaining(`database ${path} fails SQLite's quick_check in `),
            });
            const logged = lines().find((line) => line.msg.includes("FAILS its quick check"));
            expect(logged).toMatchObject({ level: 50, db: path });
            // The alerts queue an officer sees, through the API.
            const alertsSeen = (await apiSession(gate, "supervisor").inject("GET", "/api/v1/alerts")).json() as {
                alerts: { code: string; severity: string }[];
            };
            expect(alertsSeen.alerts).toContainEqual(
                expect.objectContaining({ code: "STORE_DAMAGED", severity: "critical" }),
            );
            // The lanes work as before: automatic processing, and new evidence still chains onto the log.
            expect(gate.lanes.manualProcessing).toBeUndefined();
            const stored = await gate.log.append({ type: "reading.weight", laneId: "L1", data: { kg: 42 } });
            expect(stored.seq).toBe(gate.log.headSeq);
        } finally {
            await gate.stop();
        }
    });

    it("start-up does not wait for the check: ready while it runs on its worker thread, the alert when it ends", async () => {
        const path = await auditLogDamagedInTheMiddle("held.db");
        const held = heldCheck();
        const gate = new Gate({ config: configFor(path), log: testLog, checkStore: held.checkStore });
        await gate.start();
        try {
            // Ready: the API answers, the lanes store evidence; the check has not reported yet.
            expect(storeDamagedAlerts(gate)).toHaveLength(0);
            expect(gate.storeCheck.state).toBe("running");
            const health = await apiSession(gate, "supervisor").inject("GET", "/api/v1/health");
            expect(health.statusCode).toBe(200);
            await gate.log.append({ type: "reading.weight", laneId: "L1", data: { kg: 7 } });
            expect(storeDamagedAlerts(gate)).toHaveLength(0);
            held.release();
            const alerts = await eventually(() => {
                const raised = storeDamagedAlerts(gate);
                return raised.length > 0 ? raised : undefined;
            });
            expect(alerts[0]?.data).toMatchObject({
                severity: "critical",
                path,
                tables: expect.arrayContaining(["audit_log"]),
            });
            expect(gate.storeCheck).toMatchObject({ state: "failed", report: { check: "quick_check", ok: false } });
        } finally {
            await gate.stop();
        }
    });

    it("stopping the gate stops a start-up check still running: no state, no alert after the stop", async () => {
        const path = await auditLogDamagedInTheMiddle("held-stop.db");
        const held = heldCheck();
        const gate = new Gate({ config: configFor(path), log: testLog, checkStore: held.checkStore });
        await gate.start();
        expect(gate.storeCheck.state).toBe("running");
        await gate.stop();
        expect(gate.storeCheck.state).toBe("stopped");
        expect(held.stops()).toBe(1);
        // Its result, coming after the stop, is dropped.
        held.release();
        await held.settled();
        expect(gate.storeCheck.state).toBe("stopped");
        const db = openDatabase(path, { readonly: true });
        try {
            const raised = db
                .prepare("SELECT COUNT(*) AS n FROM events WHERE type = 'alert.raised' AND data LIKE '%STORE_DAMAGED%'")
                .get() as { n: number };
            expect(raised.n).toBe(0);
        } finally {
            db.close();
        }
    });

    it("GET /api/v1/audit/verify answers 200 with a report that names what is broken", async () => {
        const path = await auditLogDamagedInTheMiddle("api.db");
        const gate = await startGate(configFor(path));
        try {
            const response = await apiSession(gate, "auditor").inject("GET", "/api/v1/audit/verify");
            expect(response.statusCode).toBe(200);
            const report = response.json() as {
                ok: boolean;
                integrity: { ok: boolean; check: string; tables: string[]; messages: string[] };
                events: { ok: boolean };
                audit: { ok: boolean; firstBroken?: { seq: number; reason: string } };
                problems: string[];
            };
            expect(report.ok).toBe(false);
            expect(report.integrity).toMatchObject({ ok: false, check: "quick_check" });
            expect(report.integrity.tables).toContain("audit_log");
            expect(report.integrity.messages.length).toBeGreaterThan(0);
            expect(report.events.ok).toBe(true);
            expect(report.audit.ok).toBe(false);
            expect(report.audit.firstBroken?.reason).toMatch(/cannot be read: .*SQLITE_CORRUPT/);
            expect(report.problems.join("\n")).toMatch(/audit log hash chain BROKEN at seq \d+/);
        } finally {
            await gate.stop();
        }
    });

    it("keeps SQLite's messages bounded however much of the file is garbage", async () => {
        const path = await gateDatabase("bounded.db");
        const { pageSize, pages } = auditLogPages(path);
        // Every fourth page of the table, its header and cell pointers kept: SQLite's check goes on past each
        // one, and finds more than the report keeps (it stops at its own maximum of 100).
        const fd = openSync(path, "r+");
        try {
            const kept = 200;
            for (const page of pages.filter((_, index) => index % 4 === 1))
                writeSync(
                    fd,
                    garbage(pageSize - kept, `page ${page}`),
                    0,
                    pageSize - kept,
                    (page - 1) * pageSize + kept,
                );
        } finally {
            closeSync(fd);
        }
        const db = new Database(path, { readonly: true, fileMustExist: true });
        try {
            const unbounded = db.pragma("integrity_check") as { integrity_check: string }[];
            expect(unbounded.flatMap((row) => row.integrity_check.split("\n")).length).toBeGreaterThan(
                INTEGRITY_MESSAGES_MAX,
            );
            const report = checkIntegrity(db, "integrity_check");
            expect(report.ok).toBe(false);
            expect(report.messages.length).toBeGreaterThan(0);
            expect(report.messages.length).toBeLessThanOrEqual(INTEGRITY_MESSAGES_MAX);
            expect(report.tables).toContain("audit_log");
        } finally {
            db.close();
        }
    });
});

describe("a file that cannot be the gate's database", () => {
    /** The start error, which must name the file and storage.path. */
    async function startError(path: string): Promise<Error> {
        const gate = new Gate({ config: configFor(path), log: pino({ level: "silent" }) });
        const error = await gate.start().then(
            () => undefined,
            (err: unknown) => err,
        );
        if (error === undefined) await gate.stop();
        expect(error).toBeInstanceOf(Error);
        return error as Error;
    }

    it("random bytes: start fails naming the file and storage.path", async () => {
        const path = join(dir.path, "random.db");
        writeFileSync(path, garbage(64 * 1024, "not a database"));
        const error = await startError(path);
        expect(isGateError(error, "STORE_UNUSABLE")).toBe(true);
        expect(error.message).toContain(`storage.path ${path} is not an SQLite database`);
        expect(error.message).toMatch(/SQLITE_NOTADB/);
    });

    it("a truncated copy: start fails naming the file and storage.path", async () => {
        const source = await gateDatabase("whole.db");
        const path = join(dir.path, "truncated.db");
        copyFileSync(source, path);
        truncateSync(path, Math.floor(statSync(path).size / 2));
        const error = await startError(path);
        expect(isGateError(error, "STORE_UNUSABLE")).toBe(true);
        expect(error.message).toContain(`storage.path ${path} is damaged or truncated`);
        expect(error.message).toMatch(/SQLITE_CORRUPT/);
    });

    it("another application's SQLite database: start fails naming it, and the file is left as it was", async () => {
        for (const [name, userVersion] of [
            ["places.sqlite", 0],
            ["versioned-app.db", 3],
        ] as const) {
            const path = join(dir.path, name);
            const other = new Database(path);
            other.exec(
                "CREATE TABLE moz_places (id INTEGER PRIMARY KEY, url TEXT); INSERT INTO moz_places (url) VALUES ('x')",
            );
            other.pragma(`user_version = ${userVersion}`);
            other.close();
            const before = readFileSync(path);
            const error = await startError(path);
            expect(isGateError(error, "STORE_UNUSABLE")).toBe(true);
            expect(error.message).toContain(`storage.path ${path} is not a gate-edge database`);
            expect(error.message).toContain("moz_places");
            // No gate table was added to someone else's file, and nothing was backed up or migrated.
            expect(readFileSync(path).equals(before)).toBe(true);
        }
    });

    it("audit verify --db and backup name the file and the option", async () => {
        const path = join(dir.path, "random-cli.db");
        writeFileSync(path, garbage(64 * 1024, "not a database"));
        const verify = await cli("audit", "verify", "--db", path);
        expect(verify.code).toBe(2);
        expect(verify.err).toContain(`--db ${path} is not an SQLite database`);
        const backup = await cli("backup", join(dir.path, "random-cli.backup"), "--db", path);
        expect(backup.code).toBe(1);
        expect(backup.err).toContain(`--db ${path} is not an SQLite database`);
        const restore = await cli("restore", path, "--db", join(dir.path, "restored.db"));
        expect(restore.code).toBe(1);
        expect(restore.err).toContain(`${path} is not an SQLite database`);
    });

    it("opens a sound gate database as before", () => {
        const path = join(dir.path, "new.db");
        const db = openDatabase(path, { key: "storage.path" });
        db.close();
        const again = openDatabase(path, { readonly: true, key: "--db" });
        expect(checkIntegrity(again).ok).toBe(true);
        again.close();
    });
});
