/**
 * The central clearance system simulator over real HTTP(S) on loopback: exactly-once by id (also across a
 * restart on the same database), hash and shape checks, reject rules, limits, tokens, every fault kind,
 * the clearance feed with its cursor, gap statistics, TLS with certificates made by openssl, and the CLI.
 * Events are made by the real EventLog, so their hashes are the ones a gate sends. Exactly-once and
 * per-lane order are checked by opening central's SQLite read-only, not by trusting its own stats.
 */
import { readFileSync } from "node:fs";
import { request as httpRequest, type IncomingHttpHeaders } from "node:http";
import { request as httpsRequest } from "node:https";
import { connect, type Socket } from "node:net";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { CentralSimulator, type CentralSimulatorOptions } from "../../simulators/central/index.ts";
import { runSimulateCommand } from "../../simulators/cli.ts";
import { seededRng } from "../../simulators/random.ts";
import { chainHash } from "../../src/core/canonical.ts";
import { ManualClock } from "../../src/core/clock.ts";
import type { GateEvent, GateEventDraft } from "../../src/core/events.ts";
import { openDatabase } from "../../src/store/db.ts";
import { EventLog, hashedPart } from "../../src/store/eventLog.ts";
import {
    type ClearanceItem,
    clearancePath,
    eventsPath,
    parseClearancePage,
    parseEventsResponse,
} from "../../src/sync/protocol.ts";
import { makeTestCerts, type TestCerts } from "../helpers/certs.ts";
import { eventually } from "../helpers/gate.ts";
import { tempDir, testLog } from "../helpers/tmp.ts";

const GATE = "HN01";
const TOKEN = "central-test-token";
const dir = tempDir("gate-edge-central-");
afterAll(() => dir.cleanup());

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

let dbNo = 0;
function freshDbPath(): string {
    return join(dir.path, `central-${dbNo++}.db`);
}

async function central(options: Partial<CentralSimulatorOptions> = {}): Promise<CentralSimulator> {
    const sim = new CentralSimulator({ port: 0, dbPath: freshDbPath(), tokens: [TOKEN], log: testLog, ...options });
    await sim.start();
    cleanups.push(() => sim.stop());
    return sim;
}

// ---------------------------------------------------------------------------------------------------
// events made by the real event log

let gateDbNo = 0;
/** `count` events of gate `gateId` from a fresh EventLog: seqs 1..count, real chain hashes. */
async function makeEvents(count: number, gateId = GATE, draft?: (i: number) => GateEventDraft): Promise<GateEvent[]> {
    const db = openDatabase(join(dir.path, `gate-${gateDbNo++}.db`));
    const log = new EventLog(db, { gateId, clock: new ManualClock(Date.UTC(2026, 10, 22, 8)), log: testLog });
    log.start();
    const events = await Promise.all(
        Array.from({ length: count }, (_, i) =>
            log.append(
                draft?.(i) ?? {
                    type: "reading.weight",
                    laneId: i % 2 === 0 ? "L1" : "L2",
                    deviceId: "scale-l1",
                    data: { values: { kg: 24_560 + i, stable: true, motion: false }, raw: "0242" },
                },
            ),
        ),
    );
    log.close();
    db.close();
    return events;
}

// ---------------------------------------------------------------------------------------------------
// a plain HTTP client that shows what the wire did (status, headers, how many chunks, socket errors)

interface Answer {
    status: number;
    headers: IncomingHttpHeaders;
    text: string;
    chunks: number;
    body: unknown;
}

interface CallOptions {
    method?: string;
    /** null: no Authorization header. */
    token?: string | null;
    body?: string | Buffer;
    tls?: { ca: Buffer; cert?: Buffer; key?: Buffer };
}

function call(base: string, path: string, options: CallOptions = {}): Promise<Answer> {
    const url = new URL(path, base);
    const token = options.token === undefined ? TOKEN : options.token;
    const headers: Record<string, string | number> = {};
    if (token !== null) headers.authorization = `Bearer ${token}`;
    if (options.body !== undefined) {
        headers["content-type"] = "application/json";
        headers["content-length"] = Buffer.byteLength(options.body);
    }
    return new Promise<Answer>((resolve, reject) => {
        const requestOptions = { method: options.method ?? "GET", headers, agent: false as const };
        const onResponse = (res: import("node:http").IncomingMessage) => {
            const parts: Buffer[] = [];
            res.on("data", (chunk: Buffer) => parts.push(chunk));
            res.on("error", reject);
            res.on("end", () => {
                const text = Buffer.concat(parts).toString("utf8");
                let body: unknown;
                try {
                    body = JSON.parse(text);
                } catch {
                    body = undefined;
                }
                resolve({ status: res.statusCode ?? 0, headers: res.headers, text, chunks: parts.length, body });
            });
        };
        const req = options.tls
            ? httpsRequest(url, { ...requestOptions, ...options.tls }, onResponse)
            : httpRequest(url, requestOptions, onResponse);
        req.on("error", reject);
        if (options.body !== undefined) req.end(options.body);
        else req.end();
    });
}

function postEvents(sim: CentralSimulator, events: readonly unknown[], options: CallOptions = {}, gateId = GATE) {
    return call(sim.url, eventsPath(gateId), { method: "POST", body: JSON.stringify({ events }), ...options });
}

/** The results of a 200 answer, checked with the edge's own parser (one per id, known statuses). */
function results(answer: Answer, events: readonly GateEvent[]) {
    expect(answer.status).toBe(200);
    return parseEventsResponse(
        answer.body,
        events.map((event) => event.id),
    );
}

/** Opens central's database read-only, as an independent checker would. */
function readCentralDb(sim: CentralSimulator) {
    const db = new Database(sim.dbPath, { readonly: true, fileMustExist: true });
    cleanups.push(() => db.close());
    return db;
}

function storedIds(sim: CentralSimulator): Set<string> {
    const db = readCentralDb(sim);
    return new Set((db.prepare("SELECT id FROM events").all() as Array<{ id: string }>).map((row) => row.id));
}

// ---------------------------------------------------------------------------------------------------

describe("events: exactly once by id", () => {
    it("accepts a batch with references, then answers duplicate to the same batch resent", async () => {
        const sim = await central();
        const events = await makeEvents(20);
        const first = results(await postEvents(sim, events), events);
        expect([...first.values()].every((r) => r.status === "accepted")).toBe(true);
        const references = [...first.values()].map((r) => r.reference);
        expect(new Set(references).size).toBe(20);
        for (const reference of references) expect(reference).toMatch(/^C-\d+$/);

        const second = results(await postEvents(sim, events), events);
        expect([...second.values()].map((r) => r.status)).toEqual(Array(20).fill("duplicate"));
        // A duplicate names the reference the event got the first time.
        expect(second.get(events[3]!.id)?.reference).toBe(first.get(events[3]!.id)?.reference);

        const stats = sim.stats(GATE);
        expect(stats).toMatchObject({ events: 20, distinctSeqs: 20, maxSeq: 20, missingSeqs: 0, duplicates: 20 });
        expect(stats.batches).toBe(2);
        expect(stats.lastReceivedAt).not.toBeNull();
    });

    it("answers the same id twice in one batch: first accepted, second duplicate", async () => {
        const sim = await central();
        const [a, b] = await makeEvents(2);
        const answer = await postEvents(sim, [a, b, a]);
        expect(answer.status).toBe(200);
        const list = (answer.body as { results: Array<{ id: string; status: string }> }).results;
        expect(list.map((r) => [r.id, r.status])).toEqual([
            [a!.id, "accepted"],
            [b!.id, "accepted"],
            [a!.id, "duplicate"],
        ]);
        expect(sim.stats(GATE).events).toBe(2);
    });

    it("still recognises duplicates after stop and a restart on the same port and database", async () => {
        const dbPath = freshDbPath();
        const first = new CentralSimulator({ port: 0, dbPath, tokens: [TOKEN], log: testLog });
        await first.start();
        const port = first.port;
        const events = await makeEvents(10);
        results(await postEvents(first, events.slice(0, 6)), events.slice(0, 6));
        await first.stop();
        await expect(call(first.url, "/admin/stats")).rejects.toThrow();

        const second = await central({ port, dbPath });
        expect(second.url).toBe(first.url);
        const answer = results(await postEvents(second, events), events);
        const statuses = events.map((event) => answer.get(event.id)?.status);
        expect(statuses).toEqual([...Array(6).fill("duplicate"), ...Array(4).fill("accepted")]);
        expect(second.stats(GATE)).toMatchObject({ events: 10, duplicates: 6, batches: 2 });
    });

    it("stores each event once and in per-lane seq order, as an independent reader of its SQLite sees", async () => {
        const sim = await central();
        const events = await makeEvents(60);
        // Batches overlap (a resend after a lost answer) and come lane by lane, as the edge sends them.
        const l1 = events.filter((e) => e.laneId === "L1");
        const l2 = events.filter((e) => e.laneId === "L2");
        for (const batch of [l1.slice(0, 20), l2.slice(0, 15), l1.slice(10), l2.slice(5)]) {
            results(await postEvents(sim, batch), batch);
        }
        const db = readCentralDb(sim);
        const totals = db.prepare("SELECT COUNT(*) AS n, COUNT(DISTINCT id) AS ids FROM events").get() as {
            n: number;
            ids: number;
        };
        expect(totals).toEqual({ n: 60, ids: 60 });
        for (const lane of ["L1", "L2"]) {
            const seqs = (
                db.prepare("SELECT seq FROM events WHERE lane_id = ? ORDER BY received_order").all(lane) as Array<{
                    seq: number;
                }>
            ).map((row) => row.seq);
            expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
            expect(seqs).toHaveLength(30);
        }
        // The stored JSON is the whole event: it parses back to exactly what the gate sent.
        const row = db.prepare("SELECT event FROM events WHERE id = ?").get(events[7]!.id) as { event: string };
        expect(JSON.parse(row.event)).toEqual(JSON.parse(JSON.stringify(events[7])));
    });

    it("reports gaps: seqs 1, 2, 5 received → 2 missing, first gap [3, 4]", async () => {
        const sim = await central();
        const events = await makeEvents(5);
        const sent = [events[0]!, events[1]!, events[4]!];
        results(await postEvents(sim, sent), sent);
        expect(sim.stats(GATE)).toMatchObject({
            events: 3,
            distinctSeqs: 3,
            maxSeq: 5,
            missingSeqs: 2,
            firstGaps: [[3, 4]],
        });
        const admin = await call(sim.url, `/admin/stats?gate=${GATE}`, { token: null });
        expect(admin.status).toBe(200);
        expect(admin.body).toMatchObject({ gateId: GATE, missingSeqs: 2, firstGaps: [[3, 4]] });
    });
});

describe("events: checks and reject rules", () => {
    it("rejects an event whose content does not give its hash, with a reason, and stores nothing of it", async () => {
        const sim = await central();
        const events = await makeEvents(3);
        const tampered = { ...events[1]!, data: { ...events[1]!.data, raw: "ff" } };
        const batch = [events[0]!, tampered, events[2]!];
        const answer = results(await postEvents(sim, batch), events);
        expect(answer.get(events[0]!.id)?.status).toBe("accepted");
        expect(answer.get(tampered.id)).toMatchObject({ status: "rejected", reason: expect.stringMatching(/hash/) });
        expect(answer.get(events[2]!.id)?.status).toBe("accepted");
        expect(storedIds(sim).has(tampered.id)).toBe(false);
        expect(sim.stats(GATE)).toMatchObject({ events: 2, rejected: 1 });
    });

    it("rejects events of another gate and malformed events, each with its own reason", async () => {
        const sim = await central();
        const [good, other, bad] = await makeEvents(3);
        const batch = [
            good!,
            { ...other!, gateId: "MC02" },
            { ...bad!, seq: "3" },
            { ...good!, id: undefined },
            { ...good!, id: "X1", extra: true },
        ];
        const answer = await postEvents(sim, batch);
        expect(answer.status).toBe(200);
        const list = (answer.body as { results: Array<{ id: string; status: string; reason?: string }> }).results;
        expect(list[0]?.status).toBe("accepted");
        expect(list[1]).toMatchObject({ id: other!.id, status: "rejected", reason: expect.stringMatching(/gateId/) });
        expect(list[2]).toMatchObject({ id: bad!.id, status: "rejected", reason: expect.stringMatching(/seq/) });
        expect(list[3]).toMatchObject({ id: "#3", status: "rejected", reason: expect.stringMatching(/id/) });
        expect(list[4]).toMatchObject({ id: "X1", status: "rejected", reason: expect.stringMatching(/extra/) });
        expect(sim.stats(GATE)).toMatchObject({ events: 1, rejected: 4 });
    });

    it("rejects an id already stored with a different hash instead of calling it a duplicate", async () => {
        const sim = await central();
        const [a] = await makeEvents(1);
        results(await postEvents(sim, [a!]), [a!]);
        // Other content under the same id, with a hash that is right for it: valid on its own, but central
        // holds that id for something else.
        const other = { ...a!, data: { values: { kg: 1 } } };
        const impostor = { ...other, hash: chainHash(other.prevHash, hashedPart(other)) };
        const answer = results(await postEvents(sim, [impostor]), [a!]);
        expect(answer.get(a!.id)).toMatchObject({
            status: "rejected",
            reason: expect.stringMatching(/different hash/),
        });
        expect(sim.stats(GATE)).toMatchObject({ events: 1, conflicts: 1, duplicates: 0 });
    });

    it("applies reject rules set in code and through the admin endpoint", async () => {
        const sim = await central();
        const events = await makeEvents(6, GATE, (i) => ({
            type: i < 3 ? "reading.weight" : "alert.raised",
            laneId: "L1",
            data: { i },
        }));
        sim.setRejectRules([{ types: ["alert.raised"], reason: "unknown alert kind at central" }]);
        const answer = results(await postEvents(sim, events.slice(0, 4)), events.slice(0, 4));
        expect(answer.get(events[3]!.id)).toEqual({
            id: events[3]!.id,
            status: "rejected",
            reason: "unknown alert kind at central",
        });
        expect(answer.get(events[2]!.id)?.status).toBe("accepted");
        expect(storedIds(sim).has(events[3]!.id)).toBe(false);

        const put = await call(sim.url, "/admin/reject-rules", {
            method: "PUT",
            token: null,
            body: JSON.stringify([{ ids: [events[4]!.id], reason: "held by the back office" }]),
        });
        expect(put.status).toBe(200);
        const after = results(await postEvents(sim, events.slice(3)), events.slice(3));
        expect(after.get(events[3]!.id)?.status).toBe("accepted");
        expect(after.get(events[4]!.id)).toMatchObject({ status: "rejected", reason: "held by the back office" });
        expect(after.get(events[5]!.id)?.status).toBe("accepted");

        const bad = await call(sim.url, "/admin/reject-rules", {
            method: "PUT",
            token: null,
            body: JSON.stringify([{ types: "alert.raised" }]),
        });
        expect(bad.status).toBe(400);
        expect((bad.body as { message: string }).message).toMatch(/reason.*types|types.*reason/s);
    });
});

describe("events: limits and tokens", () => {
    it("answers 413 to more than 500 events and to a body over 1 MiB, 400 to bad JSON, storing nothing", async () => {
        const sim = await central();
        const events = await makeEvents(501);
        const tooMany = await postEvents(sim, events);
        expect(tooMany.status).toBe(413);
        expect(tooMany.body).toMatchObject({ error: "payload_too_large" });

        const big = { ...events[0]!, data: { blob: "x".repeat(1024 * 1024) } };
        const tooBig = await postEvents(sim, [big]);
        expect(tooBig.status).toBe(413);

        const notJson = await call(sim.url, eventsPath(GATE), { method: "POST", body: '{"events": [' });
        expect(notJson.status).toBe(400);
        expect(notJson.body).toMatchObject({ error: "bad_request", message: expect.stringMatching(/JSON/) });
        const noList = await call(sim.url, eventsPath(GATE), { method: "POST", body: '{"event": []}' });
        expect(noList.status).toBe(400);
        expect(sim.stats(GATE).events).toBe(0);

        // Exactly 500 is fine.
        results(await postEvents(sim, events.slice(0, 500)), events.slice(0, 500));
    });

    it("answers 401 JSON without a token and with a wrong one, and stores nothing", async () => {
        const sim = await central({ tokens: [TOKEN, "second-token"] });
        const events = await makeEvents(2);
        for (const token of [null, "wrong-token", ""]) {
            const answer = await postEvents(sim, events, { token });
            expect(answer.status).toBe(401);
            expect(answer.body).toMatchObject({ error: "unauthorized", message: expect.any(String) });
            expect(answer.headers["www-authenticate"]).toMatch(/^Bearer/);
        }
        const clearance = await call(sim.url, clearancePath(GATE), { token: "wrong-token" });
        expect(clearance.status).toBe(401);
        expect(sim.stats(GATE).events).toBe(0);
        results(await postEvents(sim, events, { token: "second-token" }), events);
    });
});

describe("fault injection", () => {
    it("lostResponse: the batch is stored but the client gets a socket error; the resend is all duplicate", async () => {
        const sim = await central({ faults: [{ kind: "lostResponse", times: 1 }] });
        const events = await makeEvents(10);
        await expect(postEvents(sim, events)).rejects.toThrow(/socket hang up|ECONNRESET/);
        expect(sim.stats(GATE)).toMatchObject({ events: 10, faultsInjected: { lostResponse: 1 } });
        const resend = results(await postEvents(sim, events), events);
        expect([...resend.values()].every((r) => r.status === "duplicate")).toBe(true);
    });

    it("status: answers 503 with Retry-After and stores nothing; times=2 expires after two requests", async () => {
        const sim = await central({ faults: [{ kind: "status", code: 503, retryAfterS: 7, times: 2 }] });
        const events = await makeEvents(3);
        for (let i = 0; i < 2; i++) {
            const answer = await postEvents(sim, events);
            expect(answer.status).toBe(503);
            expect(answer.headers["retry-after"]).toBe("7");
            expect(sim.stats(GATE).events).toBe(0);
        }
        expect(sim.activeFaults()).toEqual([]);
        results(await postEvents(sim, events), events);
        expect(sim.stats(GATE).faultsInjected.status).toBe(2);
    });

    it("status without Retry-After: a bare 502", async () => {
        const sim = await central({ faults: [{ kind: "status", code: 502 }] });
        const answer = await postEvents(sim, await makeEvents(1));
        expect(answer.status).toBe(502);
        expect(answer.headers["retry-after"]).toBeUndefined();
    });

    it("rateLimit: 429 with Retry-After, nothing stored", async () => {
        const sim = await central({ faults: [{ kind: "rateLimit", retryAfterS: 2 }] });
        const events = await makeEvents(4);
        const answer = await postEvents(sim, events);
        expect(answer.status).toBe(429);
        expect(answer.headers["retry-after"]).toBe("2");
        expect(sim.stats(GATE)).toMatchObject({ events: 0, faultsInjected: { rateLimit: 1 } });
    });

    it("reset: the socket dies mid-request and nothing is stored", async () => {
        const sim = await central({ faults: [{ kind: "reset", times: 1 }] });
        // A big batch, so the body is still arriving when the connection is cut.
        const events = await makeEvents(400, GATE, (i) => ({
            type: "reading.scan",
            data: { i, pad: "p".repeat(600) },
        }));
        await expect(postEvents(sim, events)).rejects.toThrow(/socket hang up|ECONNRESET|EPIPE/);
        expect(sim.stats(GATE)).toMatchObject({ events: 0, faultsInjected: { reset: 1 } });
        results(await postEvents(sim, events), events);
    });

    it("slowDrip: the answer arrives complete, in several chunks spread over time", async () => {
        const sim = await central({ faults: [{ kind: "slowDrip", chunkBytes: 64, intervalMs: 20 }] });
        const events = await makeEvents(5);
        const began = Date.now();
        const answer = await postEvents(sim, events);
        const elapsed = Date.now() - began;
        const list = results(answer, events);
        expect([...list.values()].every((r) => r.status === "accepted")).toBe(true);
        const expectedChunks = Math.ceil(Buffer.byteLength(answer.text) / 64);
        expect(expectedChunks).toBeGreaterThan(3);
        expect(answer.chunks).toBeGreaterThanOrEqual(3);
        expect(elapsed).toBeGreaterThanOrEqual((expectedChunks - 2) * 20);
    });

    it("unauthorized: 401 even with a good token, then expires", async () => {
        const sim = await central({ faults: [{ kind: "unauthorized", times: 1 }] });
        const events = await makeEvents(2);
        const refused = await postEvents(sim, events);
        expect(refused.status).toBe(401);
        expect(sim.stats(GATE).events).toBe(0);
        results(await postEvents(sim, events), events);
    });

    it("latency: the answer comes after the delay", async () => {
        const sim = await central({ faults: [{ kind: "latency", ms: 300 }], latencyMs: 100 });
        const events = await makeEvents(2);
        const began = Date.now();
        results(await postEvents(sim, events), events);
        expect(Date.now() - began).toBeGreaterThanOrEqual(390);
        expect(sim.stats(GATE).faultsInjected.latency).toBe(1);
    });

    it("down: every open connection is dropped at once, and new ones while the outage lasts", async () => {
        const sim = await central({ faults: [{ kind: "down", forMs: 400, times: 1 }] });
        const idle: Socket = connect(sim.port, "127.0.0.1");
        await new Promise((resolve) => idle.once("connect", resolve));
        const idleClosed = new Promise((resolve) => idle.once("close", resolve));
        idle.on("error", () => undefined);
        const events = await makeEvents(2);
        await expect(postEvents(sim, events)).rejects.toThrow();
        await idleClosed;
        // Within the outage a fresh connection is dropped too, though the fault has expired.
        await expect(postEvents(sim, events)).rejects.toThrow();
        const afterOutage = await eventually(
            () => postEvents(sim, events).catch(() => undefined),
            10_000,
            "central to answer after the outage",
        );
        results(afterOutage, events);
        expect(sim.stats(GATE).faultsInjected.down).toBe(1);
    });

    it("tries faults in order, the first that matches the route and fires decides; p=0 never fires", async () => {
        const sim = await central({
            faults: [
                { kind: "status", code: 500, probability: 0 },
                { kind: "status", code: 504, on: "clearance" },
                { kind: "rateLimit", retryAfterS: 1, on: "all", times: 1 },
                { kind: "status", code: 503 },
            ],
            rng: seededRng(7),
        });
        const events = await makeEvents(1);
        expect((await postEvents(sim, events)).status).toBe(429);
        expect((await postEvents(sim, events)).status).toBe(503);
        expect((await call(sim.url, clearancePath(GATE))).status).toBe(504);
        expect(sim.stats(GATE).faultsInjected).toMatchObject({ status: 2, rateLimit: 1 });

        // Admin routes are never faulted: this is how a test gets out of an outage it made.
        const put = await call(sim.url, "/admin/faults", { method: "PUT", token: null, body: "[]" });
        expect(put.status).toBe(200);
        results(await postEvents(sim, events), events);
    });

    it("sets faults through the admin endpoint, refusing a bad list with the reason", async () => {
        const sim = await central();
        const bad = await call(sim.url, "/admin/faults", {
            method: "PUT",
            token: null,
            body: JSON.stringify([{ kind: "status", code: 404 }]),
        });
        expect(bad.status).toBe(400);
        expect((bad.body as { message: string }).message).toMatch(/\[0\]\.code/);
        const good = await call(sim.url, "/admin/faults", {
            method: "PUT",
            token: null,
            body: JSON.stringify([{ kind: "rateLimit", retryAfterS: 3, times: 1 }]),
        });
        expect(good.status).toBe(200);
        const answer = await postEvents(sim, await makeEvents(1));
        expect(answer.status).toBe(429);
        const faults = await call(sim.url, "/admin/faults", { token: null });
        expect(faults.body).toMatchObject({ faults: [], injected: { rateLimit: 1 } });
    });
});

describe("clearance feed", () => {
    const DEMO = "config/clearance-demo.yaml";
    const SCENARIO = "test/fixtures/scenario-100.yaml";

    async function page(sim: CentralSimulator, query: string) {
        const answer = await call(sim.url, `${clearancePath(GATE)}${query}`);
        expect(answer.status).toBe(200);
        return parseClearancePage(answer.body);
    }

    it("serves a clearance file and a scenario in pages with a cursor, and resumes from a cursor", async () => {
        const sim = await central({ clearance: [{ file: DEMO }, { scenario: SCENARIO }] });
        const collected: ClearanceItem[] = [];
        let cursor: string | undefined;
        let pages = 0;
        for (;;) {
            const p = await page(sim, `?limit=2${cursor === undefined ? "" : `&after=${cursor}`}`);
            pages++;
            collected.push(...p.items);
            cursor = p.next;
            if (!p.hasMore) break;
            expect(p.items).toHaveLength(2);
        }
        // Four declarations and a watch-list entry from the file; the scenario adds its lane-2 green
        // declaration (its other two are the file's, same version, not served twice).
        expect(collected).toHaveLength(6);
        expect(pages).toBe(3);
        const numbers = collected.flatMap((item) => (item.type === "declaration" ? [item.declaration.number] : []));
        expect(numbers).toEqual(["101234567820", "301234567820", "100001234540", "305551234130", "107770001140"]);
        expect(collected.find((item) => item.type === "watchList")).toMatchObject({ entry: { id: "WL-2026-0042" } });
        const scenarioDecl = collected.at(-1);
        expect(scenarioDecl).toMatchObject({
            type: "declaration",
            declaration: { channel: "GREEN", status: "CLEARED", declaredPlates: ["14C-301.72", "14R-030.17"] },
        });

        // Resuming from the last cursor: nothing new, the same cursor back.
        const resumed = await page(sim, `?after=${cursor}`);
        expect(resumed).toMatchObject({ items: [], next: cursor, hasMore: false });
        // From the start with the default limit: everything in one page, in the same order.
        const all = await page(sim, "");
        expect(all.items).toEqual(collected);
        expect(all.version).toBe("scenario-hundred-trucks");
    });

    it("serves red scenario declarations RED and not inspected", async () => {
        const sim = await central({ clearance: [{ scenario: SCENARIO }] });
        const all = await page(sim, "");
        // Each lane's green declaration, and the red one both lanes share, once.
        expect(all.items).toHaveLength(3);
        expect(all.items).toContainEqual({
            type: "declaration",
            declaration: expect.objectContaining({ number: "100001234540", channel: "RED", inspectionDone: false }),
        });
    });

    it("starts an empty feed at cursor 0 and refuses a bad cursor or limit", async () => {
        const sim = await central();
        expect(await page(sim, "")).toMatchObject({ items: [], next: "0", hasMore: false });
        for (const query of ["?after=abc", "?limit=0", "?limit=1001", "?limit=2.5"]) {
            const answer = await call(sim.url, `${clearancePath(GATE)}${query}`);
            expect(answer.status).toBe(400);
        }
    });

    it("shows items added after a cursor, and adds nothing when the same file is loaded again after a restart", async () => {
        const dbPath = freshDbPath();
        const first = await central({ dbPath, clearance: [{ file: DEMO }] });
        const initial = await page(first, "");
        expect(initial.items).toHaveLength(5);
        const cursor = initial.next;

        const amended = {
            ...(initial.items[0] as Extract<ClearanceItem, { type: "declaration" }>).declaration,
            status: "HELD" as const,
            version: 2,
        };
        const added = first.addClearance(
            [
                { type: "declaration", declaration: amended },
                { type: "watchListRemoved", id: "WL-2026-0042" },
            ],
            "demo-2026.11-2",
        );
        expect(added).toMatchObject({ added: 2, version: "demo-2026.11-2" });
        const next = await page(first, `?after=${cursor}`);
        expect(next.items).toEqual([
            { type: "declaration", declaration: amended },
            { type: "watchListRemoved", id: "WL-2026-0042" },
        ]);
        expect(next.version).toBe("demo-2026.11-2");
        await first.stop();

        const second = await central({ dbPath, clearance: [{ file: DEMO }] });
        const everything = await page(second, "");
        // The file's version 1 items are older than or removed by what the feed holds: nothing added again.
        expect(everything.items).toHaveLength(7);
        expect(everything.next).toBe(next.next);

        // The admin endpoint adds items too, validating them.
        const bad = await call(second.url, "/admin/clearance", {
            method: "POST",
            token: null,
            body: JSON.stringify({ items: [{ type: "declaration", declaration: { number: "12" } }] }),
        });
        expect(bad.status).toBe(400);
        expect((bad.body as { details: string[] }).details.join("\n")).toMatch(/items\[0\]\.declaration\.number/);
        const entry = { id: "WL-2026-0050", kind: "plate", value: "29C-123.45", reason: "tip-off", version: 1 };
        const good = await call(second.url, "/admin/clearance", {
            method: "POST",
            token: null,
            body: JSON.stringify({ items: [{ type: "watchList", entry }] }),
        });
        expect(good.status).toBe(200);
        const last = await page(second, `?after=${everything.next}`);
        expect(last.items).toEqual([{ type: "watchList", entry }]);
        expect(last.version).toBe(`feed-${last.next}`);
    });

    it("applies faults to the clearance route when told to", async () => {
        const sim = await central({
            clearance: [{ file: DEMO }],
            faults: [{ kind: "lostResponse", on: "clearance", times: 1 }],
        });
        await expect(call(sim.url, clearancePath(GATE))).rejects.toThrow(/socket hang up|ECONNRESET/);
        expect((await page(sim, "")).items).toHaveLength(5);
    });
});

describe("HTTPS", () => {
    let certs: { serverCert: Buffer; clientCert: Buffer; clientKey: Buffer; files: TestCerts } | undefined;

    beforeAll(() => {
        const files = makeTestCerts(dir.path);
        if (!files) return;
        certs = {
            files,
            serverCert: readFileSync(files.serverCert),
            clientCert: readFileSync(files.clientCert),
            clientKey: readFileSync(files.clientKey),
        };
    });

    it("serves the protocol over TLS with a self-signed certificate, and requires a client certificate for mutual TLS", async (context) => {
        if (!certs) {
            console.warn("\n!!! SKIPPING central simulator HTTPS test: openssl is not installed !!!\n");
            context.skip();
            return;
        }
        const tls = { certFile: certs.files.serverCert, keyFile: certs.files.serverKey };
        const sim = await central({ tls });
        expect(sim.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
        const events = await makeEvents(3);
        results(await postEvents(sim, events, { tls: { ca: certs.serverCert } }), events);
        // A client that does not trust the certificate refuses the connection.
        await expect(postEvents(sim, events, { tls: { ca: certs.clientCert } })).rejects.toThrow(/certificate/i);

        const mutual = await central({ tls: { ...tls, clientCaFile: certs.files.clientCert } });
        await expect(postEvents(mutual, events, { tls: { ca: certs.serverCert } })).rejects.toThrow();
        expect(mutual.stats(GATE).events).toBe(0);
        const answer = await postEvents(mutual, events, {
            tls: { ca: certs.serverCert, cert: certs.clientCert, key: certs.clientKey },
        });
        results(answer, events);
        expect(mutual.stats(GATE).events).toBe(3);
    });
});

describe("simulator lifecycle and CLI", () => {
    it("refuses a database that is not its own (a gate's)", async () => {
        const gateDb = join(dir.path, "a-gate.db");
        openDatabase(gateDb).close();
        const sim = new CentralSimulator({ port: 0, dbPath: gateDb, tokens: [TOKEN] });
        await expect(sim.start()).rejects.toMatchObject({ code: "SIMULATOR_STORE" });
    });

    it("drains 20 batches of 500 events (timing is printed, not asserted)", async () => {
        const sim = await central();
        const events = await makeEvents(10_000, GATE, (i) => ({
            type: "reading.plate",
            laneId: `L${(i % 4) + 1}`,
            deviceId: "cam-front-l1",
            data: {
                values: {
                    text: "29C-123.45",
                    normalized: "29C12345",
                    country: "VN",
                    valid: true,
                    confidence: 0.93,
                    imageRefs: [`sha256:${"ab".repeat(32)}`],
                },
                raw: "7b22706c617465223a2232394331323334227d".repeat(5),
            },
        }));
        const bodies = Array.from({ length: 20 }, (_, b) =>
            JSON.stringify({ events: events.slice(b * 500, (b + 1) * 500) }),
        );
        const began = performance.now();
        for (const body of bodies) {
            const answer = await call(sim.url, eventsPath(GATE), { method: "POST", body });
            expect(answer.status).toBe(200);
        }
        const seconds = (performance.now() - began) / 1000;
        const kb = Math.round(Buffer.byteLength(bodies[0]!) / 1024);
        console.log(
            `central simulator: 20 batches of 500 (${kb} KB each) in ${seconds.toFixed(2)} s = ` +
                `${(20 / seconds).toFixed(1)} batches/s, ${Math.round(10_000 / seconds)} events/s`,
        );
        expect(sim.stats(GATE)).toMatchObject({ events: 10_000, missingSeqs: 0, duplicates: 0, rejected: 0 });
    });

    it("runs from the CLI: prints its URL and a line per batch and per fault, stops on abort", async () => {
        const controller = new AbortController();
        const out: string[] = [];
        const run = runSimulateCommand(
            "central",
            [
                "--port",
                "0",
                "--db",
                freshDbPath(),
                "--token",
                TOKEN,
                "--clearance",
                "config/clearance-demo.yaml",
                "--fault",
                "status:503:times=1",
            ],
            {
                stdout: { write: (text: string) => out.push(text) },
                stderr: { write: () => true },
                signal: controller.signal,
            },
        );
        cleanups.push(async () => {
            controller.abort();
            await run;
        });
        const url = await eventually(() => /ready at (\S+)/.exec(out.join(""))?.[1], 10_000, "central ready");
        const events = await makeEvents(3);
        const body = JSON.stringify({ events });
        expect((await call(url, eventsPath(GATE), { method: "POST", body })).status).toBe(503);
        expect((await call(url, eventsPath(GATE), { method: "POST", body })).status).toBe(200);
        controller.abort();
        await expect(run).resolves.toBe(0);
        const text = out.join("");
        expect(text).toContain("central: clearance from config/clearance-demo.yaml: 5 item(s) added");
        expect(text).toContain(`central: fault status injected on events of ${GATE}`);
        expect(text).toContain(`central: ${GATE}: batch of 3: 3 accepted, 0 duplicate, 0 rejected`);
        expect(text).toContain("central: stopped");
    });

    it("exits 2 on bad arguments, naming the valid options", async () => {
        const err: string[] = [];
        const io = { stdout: { write: () => true }, stderr: { write: (text: string) => err.push(text) } };
        expect(await runSimulateCommand("central", ["--port", "0", "--token", "t", "--nope"], io)).toBe(2);
        expect(err.join("")).toMatch(/--token-env/);
        expect(await runSimulateCommand("central", ["--port", "0"], io)).toBe(2);
        expect(await runSimulateCommand("central", ["--port", "0", "--token", "t", "--fault", "status:404"], io)).toBe(
            2,
        );
        expect(err.join("")).toMatch(/500, 502, 503, 504/);
    });
});
