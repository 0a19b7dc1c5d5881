/**
 * An auditor's verify of a running gate's evidence does not stall the lanes: SQLite's check of the file runs
 * on a worker thread, the hash-chain walks run a chunk at a time with a turn of the event loop after each,
 * and a second request while one runs joins it. Turns are counted (setImmediate ticks), not timed.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isGateError } from "../../src/core/errors.ts";
import type { Gate } from "../../src/gate.ts";
import {
    checkIntegrity,
    checkIntegrityOffThread,
    eventChainSteps,
    verifyEvidenceYielding,
} from "../../src/store/audit.ts";
import { AuditLog } from "../../src/store/auditLog.ts";
import { CHAIN_CHUNK_ROWS, type Chunked, finishYielding } from "../../src/store/chunked.ts";
import { apiSession } from "../helpers/api.ts";
import { startGate, testConfig } from "../helpers/gate.ts";
import { tempDir } from "../helpers/tmp.ts";

const dir = tempDir("gate-edge-evidence-verify-");
let gate: Gate;

/** Enough rows for many chunks: a walk done in one turn shows as a handful of ticks, not dozens. */
const EVENTS = 20_000;
const AUDIT_ENTRIES = 3_000;

beforeAll(async () => {
    gate = await startGate(
        testConfig(
            dir.path,
            `  - id: L1
    devices:
      - { id: seal-1, model: eseal-mqtt-json, auth: { username: seal-1, password: evidence-verify-password } }`,
        ),
    );
    for (let done = 0; done < EVENTS; done += 2_000) {
        await Promise.all(
            Array.from({ length: 2_000 }, (_, i) =>
                gate.log.append({ type: "reading.weight", laneId: "L1", data: { kg: done + i } }),
            ),
        );
    }
    const audit = new AuditLog(gate.database);
    // One commit for all of them (each append is a savepoint inside it): thousands of fsyncs would be slow.
    gate.database.transaction(() => {
        for (let i = 0; i < AUDIT_ENTRIES; i++)
            audit.append({
                user: "officer",
                action: "passage.view",
                target: `passage:${i}`,
                outcome: "ok",
                ip: "10.0.0.7",
            });
    })();
});

afterAll(async () => {
    await gate?.stop();
    dir.cleanup();
});

/** Runs `work` while counting turns of the event loop (one setImmediate tick per turn). */
async function countingTurns<T>(work: () => Promise<T>): Promise<{ value: T; turns: number }> {
    let turns = 0;
    let counting = true;
    const tick = (): void => {
        turns++;
        if (counting) setImmediate(tick);
    };
    setImmediate(tick);
    try {
        return { value: await work(), turns };
    } finally {
        counting = false;
    }
}

describe("verifying a running gate's evidence", () => {
    it("walks each hash chain a chunk at a time, with a turn of the event loop after each chunk", async () => {
        const walks: [string, () => Chunked<{ ok: boolean }>, number][] = [
            ["event log", () => eventChainSteps(gate.database), EVENTS],
            ["audit log", () => new AuditLog(gate.database).verifySteps(), AUDIT_ENTRIES],
        ];
        for (const [name, walk, rows] of walks) {
            const { value, turns } = await countingTurns(() => finishYielding(walk()));
            expect(value.ok, name).toBe(true);
            expect(turns, name).toBeGreaterThanOrEqual(Math.floor(rows / CHAIN_CHUNK_ROWS));
        }
    });

    it("GET /api/v1/audit/verify: the event loop keeps turning while it runs, and the report is whole", async () => {
        const auditor = apiSession(gate, "auditor");
        const { value: response, turns } = await countingTurns(() => auditor.inject("GET", "/api/v1/audit/verify"));
        expect(response.statusCode).toBe(200);
        const report = response.json() as {
            ok: boolean;
            startedAt: string;
            integrity: { ok: boolean; check: string };
            events: { ok: boolean; checked: number };
            audit: { ok: boolean; checked: number };
        };
        expect(report).toMatchObject({ ok: true, integrity: { ok: true, check: "quick_check" } });
        expect(report.events.checked).toBeGreaterThanOrEqual(EVENTS);
        expect(report.audit.checked).toBeGreaterThanOrEqual(AUDIT_ENTRIES);
        // Verified in one blocking turn, the whole request would see a few ticks; chunked, one per chunk at least.
        expect(turns).toBeGreaterThan(EVENTS / CHAIN_CHUNK_ROWS);
    });

    it("a request while a verify runs joins it: one verify, the same report, both in the audit log", async () => {
        const [first, second] = await Promise.all([
            apiSession(gate, "auditor").inject("GET", "/api/v1/audit/verify"),
            apiSession(gate, "admin").inject("GET", "/api/v1/audit/verify"),
        ]);
        expect(first.statusCode).toBe(200);
        expect(second.statusCode).toBe(200);
        expect(second.json()).toEqual(first.json());
        const verifies = new AuditLog(gate.database)
            .listNewest(undefined, 20)
            .filter((entry) => entry.action === "audit.verify")
            .slice(0, 2);
        expect(verifies.map((entry) => [entry.user, entry.detail?.joined])).toEqual([
            ["admin", true],
            ["auditor", false],
        ]);
        // The next request starts a verify of its own.
        const later = (await apiSession(gate, "auditor").inject("GET", "/api/v1/audit/verify")).json() as {
            startedAt: string;
        };
        expect(later.startedAt > (first.json() as { startedAt: string }).startedAt).toBe(true);
    });

    it("a verify ends between chunks with STORE_CLOSED when the gate stops (its signal aborts)", async () => {
        const stopping = new AbortController();
        const verify = verifyEvidenceYielding(gate.database, "quick_check", stopping.signal);
        // One turn in: the walk of EVENTS rows needs many more.
        await new Promise((resolve) => setImmediate(resolve));
        stopping.abort();
        const ended = await verify.then(
            () => undefined,
            (err: unknown) => err,
        );
        expect(isGateError(ended, "STORE_CLOSED")).toBe(true);
    });

    it("SQLite's check on a worker thread reports what the check here reports, and stopping it ends it", async () => {
        const here = checkIntegrity(gate.database, "quick_check");
        const offThread = await checkIntegrityOffThread(gate.database, "quick_check").report;
        expect({ ...offThread, ms: 0 }).toEqual({ ...here, ms: 0 });
        // Stopped in the same turn it started: no answer can have come back yet.
        const run = checkIntegrityOffThread(gate.database, "quick_check");
        await run.stop();
        const stopped = await run.report.then(
            () => undefined,
            (err: unknown) => err,
        );
        expect(isGateError(stopped, "STORE_CLOSED")).toBe(true);
    });
});
