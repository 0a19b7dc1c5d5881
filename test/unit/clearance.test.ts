import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { main } from "../../src/cli.ts";
import { ManualClock } from "../../src/core/clock.ts";
import { isGateError } from "../../src/core/errors.ts";
import type { WatchListEntry } from "../../src/lane/types.ts";
import { ClearanceCache, readClearanceFile, validateClearanceData } from "../../src/store/clearance.ts";
import { type Db, openDatabase } from "../../src/store/db.ts";
import { captureStream } from "../helpers/io.ts";
import { DECLARATION } from "../helpers/readings.ts";
import { tempDir } from "../helpers/tmp.ts";

const dir = tempDir();
afterAll(() => dir.cleanup());

const AT = Date.parse("2026-11-15T03:00:00Z");

const WATCH: WatchListEntry = { id: "WL-1", kind: "plate", value: "15C-666.66", reason: "tip", version: 1 };

function errorsOf(fn: () => unknown): string[] {
    try {
        fn();
    } catch (err) {
        if (isGateError(err, "CLEARANCE_INVALID")) return [...err.details];
        throw err;
    }
    throw new Error("input was accepted");
}

let db: Db;
let dbPath: string;
let n = 0;
beforeEach(() => {
    dbPath = join(dir.path, `gate-${++n}.db`);
    db = openDatabase(dbPath);
});
afterEach(() => db.close());

describe("ClearanceCache", () => {
    it("upserts declarations and finds them by number or base, surviving a reopen", () => {
        const cache = ClearanceCache.open(db);
        expect(cache.upsertDeclarations([DECLARATION], AT)).toEqual({ written: 1, skippedOlder: 0 });
        expect(cache.declaration("101234567820")).toEqual(DECLARATION);
        expect(cache.declaration("10123456782")).toEqual(DECLARATION);
        expect(cache.declaration(" 101234567820 ")).toEqual(DECLARATION);
        expect(cache.declaration("301234567820")).toBeUndefined();
        expect(cache.declaration("nonsense")).toBeUndefined();
        expect(ClearanceCache.open(db).declaration("10123456782")).toEqual(DECLARATION);
    });

    it("returns the latest amendment for a base, whichever amendment is asked for", () => {
        const cache = ClearanceCache.open(db);
        const amendment = { ...DECLARATION, number: "101234567821", channel: "RED" as const, version: 2 };
        cache.upsertDeclarations([amendment, DECLARATION], AT);
        expect(cache.declaration("10123456782")?.number).toBe("101234567821");
        expect(cache.declaration("101234567820")?.number).toBe("101234567821");
        expect(ClearanceCache.open(db).declaration("101234567820")?.channel).toBe("RED");
        const rows = db.prepare("SELECT number FROM declarations WHERE base = ? ORDER BY number").all("10123456782");
        expect(rows).toEqual([{ number: "101234567820" }, { number: "101234567821" }]);
    });

    it("never lets an older version overwrite a newer one; an equal version rewrites", () => {
        const cache = ClearanceCache.open(db);
        cache.upsertDeclarations([{ ...DECLARATION, status: "HELD", version: 5 }], AT);
        expect(cache.upsertDeclarations([{ ...DECLARATION, status: "CLEARED", version: 4 }], AT)).toEqual({
            written: 0,
            skippedOlder: 1,
        });
        expect(cache.declaration(DECLARATION.number)?.status).toBe("HELD");
        expect(ClearanceCache.open(db).declaration(DECLARATION.number)?.status).toBe("HELD");
        expect(cache.upsertDeclarations([{ ...DECLARATION, status: "CANCELLED", version: 5 }], AT).written).toBe(1);
        expect(cache.declaration(DECLARATION.number)?.status).toBe("CANCELLED");
        cache.upsertWatchList([{ ...WATCH, reason: "new", version: 3 }], AT);
        expect(cache.upsertWatchList([{ ...WATCH, reason: "old", version: 2 }], AT).skippedOlder).toBe(1);
        expect(cache.view().watchList()[0]?.reason).toBe("new");
    });

    it("keeps the watch list, removes entries, and hands out watch-list snapshots later writes do not change", () => {
        const cache = ClearanceCache.open(db);
        cache.upsertWatchList([WATCH, { ...WATCH, id: "WL-2", kind: "seal", value: "VNC-1" }], AT);
        const before = cache.view();
        expect(before.watchList().map((e) => e.id)).toEqual(["WL-1", "WL-2"]);
        expect(cache.removeWatchListEntries(["WL-1", "WL-404"])).toBe(1);
        cache.upsertDeclarations([DECLARATION], AT);
        expect(
            cache
                .view()
                .watchList()
                .map((e) => e.id),
        ).toEqual(["WL-2"]);
        expect(
            ClearanceCache.open(db)
                .view()
                .watchList()
                .map((e) => e.id),
        ).toEqual(["WL-2"]);
        expect(before.watchList().map((e) => e.id)).toEqual(["WL-1", "WL-2"]);
        // Declarations are read from the store at each look-up: the next decision sees a new one.
        expect(before.declaration(DECLARATION.number)?.number).toBe(DECLARATION.number);
        expect(cache.view()).toBe(cache.view());
    });

    it("records version, refresh time and cursor; age follows the refresh time", () => {
        const cache = ClearanceCache.open(db);
        expect(cache.view().version).toBe("none");
        expect(cache.view().ageMs(AT)).toBeUndefined();
        expect(cache.cursor()).toBeUndefined();
        cache.setVersion("v7", AT);
        cache.setCursor("c-42");
        expect(cache.view().version).toBe("v7");
        expect(cache.view().ageMs(AT + 90_000)).toBe(90_000);
        const reopened = ClearanceCache.open(db);
        expect(reopened.cursor()).toBe("c-42");
        expect(reopened.view().ageMs(AT + 1000)).toBe(1000);
    });

    it("ages data received in this run on the monotonic clock, and data loaded at start on the wall clock", () => {
        const clock = new ManualClock(AT);
        const cache = ClearanceCache.open(db, clock);
        cache.setVersion("v8", clock.now());
        // The wall clock steps back two hours; ten minutes pass: the data is ten minutes old.
        clock.jump(-2 * 3_600_000);
        clock.advance(10 * 60_000);
        expect(cache.view().ageMs(clock.now())).toBe(10 * 60_000);
        // Forward by a day: still ten minutes (and one) old, not a day.
        clock.jump(24 * 3_600_000);
        clock.advance(60_000);
        expect(cache.view().ageMs(clock.now())).toBe(11 * 60_000);
        // A view taken before a refresh keeps the age of the data it saw.
        const before = cache.view();
        const importedAt = clock.now();
        cache.importData({ version: "v9", declarations: [], watchList: [] }, importedAt);
        clock.advance(1000);
        expect(before.ageMs(clock.now())).toBe(11 * 60_000 + 1000);
        expect(cache.view().ageMs(clock.now())).toBe(1000);
        // Another run has no monotonic reading of it: the stored wall time counts (negative is left to the rules).
        const reopened = ClearanceCache.open(db, new ManualClock(AT));
        expect(reopened.view().ageMs(AT)).toBe(AT - importedAt);
        expect(reopened.view().ageMs(importedAt + 5000)).toBe(5000);
    });

    it("rejects a bad batch whole, naming every bad item by index", () => {
        const cache = ClearanceCache.open(db);
        const errors = errorsOf(() =>
            cache.upsertDeclarations([DECLARATION, { ...DECLARATION, number: "301234567820", channel: "BLUE" }], AT),
        );
        expect(errors).toEqual([
            "declarations[1].type: 10 does not match the number's type code 30",
            "declarations[1].channel: must be one of GREEN, YELLOW, RED",
        ]);
        expect(cache.declaration(DECLARATION.number)).toBeUndefined();
        expect(db.prepare("SELECT count(*) AS n FROM declarations").get()).toEqual({ n: 0 });
    });
});

describe("clearance data validation", () => {
    it("keeps a declaration's border gate and direction where central states them, and refuses bad ones", () => {
        const cache = ClearanceCache.open(db);
        cache.upsertDeclarations([{ ...DECLARATION, borderGate: "hn01", direction: "IN" }], AT);
        expect(cache.declaration(DECLARATION.number)).toMatchObject({ borderGate: "HN01", direction: "IN" });
        expect(
            errorsOf(() =>
                cache.upsertDeclarations([{ ...DECLARATION, borderGate: "HN 01", direction: "import" }], AT),
            ),
        ).toEqual([
            "declarations[0].borderGate: must be a border gate code (1-32 letters, digits, _ or -)",
            "declarations[0].direction: must be IN (into Vietnam) or OUT",
        ]);
    });

    it("lists every error with its key path", () => {
        const errors = errorsOf(() =>
            validateClearanceData({
                colour: "blue",
                declarations: [
                    DECLARATION,
                    {
                        number: "101234567800",
                        type: "1",
                        channel: "green",
                        status: "DONE",
                        documentCheckDone: "yes",
                        declaredPlates: "15C-123.45",
                        containers: [{ number: "CSQU3054384", sealNumbers: [""] }, { number: "nope" }, 7],
                        declaredGrossKg: -1,
                        validFrom: "2027-01-01",
                        validUntil: "2026-01-01",
                        version: 1.5,
                        extra: true,
                    },
                    DECLARATION,
                ],
                watchList: [WATCH, { id: "", kind: "person", value: "x", reason: "", version: -1 }, { ...WATCH }],
            }),
        );
        expect(errors).toEqual([
            "(root).colour: unknown property",
            "version: must be a non-empty string or a number",
            "declarations[1].extra: unknown property",
            "declarations[1].number: 101234567800 is not a valid declaration number (check digit is 0, expected 2)",
            "declarations[1].type: must be a 2-digit type code",
            "declarations[1].channel: must be one of GREEN, YELLOW, RED",
            "declarations[1].status: must be one of CLEARED, PENDING, HELD, CANCELLED",
            "declarations[1].documentCheckDone: must be true or false",
            "declarations[1].declaredPlates: must be a list of plates",
            "declarations[1].containers[0].number: CSQU3054384 check digit is 4, expected 3",
            "declarations[1].containers[0].sealNumbers[0]: must be a non-empty string",
            "declarations[1].containers[1].number: not an ISO 6346 container number (not 4 letters, 6 digits and a check digit)",
            "declarations[1].containers[2]: must be an object",
            "declarations[1].declaredGrossKg: must be a positive number of kg",
            "declarations[1].validUntil: is before validFrom",
            "declarations[1].version: must be an integer ≥ 0",
            "declarations[2].number: 101234567820 repeats declarations[0]",
            "watchList[1].id: must be a non-empty string",
            "watchList[1].kind: must be one of plate, container, declaration, seal, company",
            "watchList[1].reason: must be a non-empty string",
            "watchList[1].version: must be an integer ≥ 0",
            "watchList[2].id: WL-1 repeats watchList[0]",
        ]);
    });

    it("normalises what it accepts and defaults the check flags to false", () => {
        const data = validateClearanceData({
            version: 12,
            declarations: [
                {
                    number: " 301234567820 ",
                    type: "30",
                    channel: "YELLOW",
                    status: "CLEARED",
                    declaredPlates: ["14C-234.56"],
                    containers: [{ number: "msku 123456-5" }],
                    version: 0,
                },
            ],
        });
        expect(data).toEqual({
            version: "12",
            watchList: [],
            declarations: [
                {
                    number: "301234567820",
                    type: "30",
                    channel: "YELLOW",
                    status: "CLEARED",
                    documentCheckDone: false,
                    inspectionDone: false,
                    declaredPlates: ["14C-234.56"],
                    containers: [{ number: "MSKU1234565", sealNumbers: [] }],
                    version: 0,
                },
            ],
        });
    });

    it("reads the demo fixture", () => {
        const data = readClearanceFile("config/clearance-demo.yaml");
        expect(data.declarations.map((d) => [d.number, d.channel])).toEqual([
            ["101234567820", "GREEN"],
            ["301234567820", "YELLOW"],
            ["100001234540", "RED"],
            ["305551234130", "GREEN"],
        ]);
        expect(data.watchList).toHaveLength(1);
    });
});

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
    const out = captureStream();
    const err = captureStream();
    const code = await main(args, { stdout: out.stream, stderr: err.stream });
    return { code, out: out.text(), err: err.text() };
}

describe("gate-edge clearance import", () => {
    it("exits 0 and prints the counts; a re-import of an older file skips", async () => {
        db.close();
        const result = await cli(["clearance", "import", "config/clearance-demo.yaml", "--db", dbPath]);
        expect(result).toMatchObject({ code: 0, err: "" });
        expect(result.out).toMatch(
            /imported clearance version demo-2026\.11-1: 4 declaration\(s\), 1 watch-list entry/,
        );
        const older = join(dir.path, "older.json");
        writeFileSync(older, JSON.stringify({ version: "old", declarations: [{ ...DECLARATION, version: 0 }] }));
        const again = await cli(["clearance", "import", older, "--db", dbPath]);
        expect(again.code).toBe(0);
        expect(again.out).toMatch(/0 declaration\(s\), 0 watch-list entries; 1 skipped \(a newer version is stored\)/);
        db = openDatabase(dbPath);
        const cache = ClearanceCache.open(db);
        expect(cache.declaration("10000123454")?.channel).toBe("RED");
        expect(cache.declaration("101234567820")?.version).toBe(1);
        expect(cache.view().version).toBe("old");
    });

    it("exits 1 listing every error and imports nothing", async () => {
        const bad = join(dir.path, "bad.yaml");
        writeFileSync(
            bad,
            `version: 1
declarations:
  - { number: "101234567820", type: "10", channel: GREEN, status: CLEARED, declaredPlates: [], containers: [], version: 1 }
  - { number: "101234567800", type: "10", channel: GREEN, status: CLEARED, declaredPlates: [], containers: [], version: 1 }
watchList:
  - { id: W1, kind: container, value: "not a container", reason: tip, version: 1 }
`,
        );
        const result = await cli(["clearance", "import", bad, "--db", dbPath]);
        expect(result.code).toBe(1);
        expect(result.err).toContain("clearance data is invalid");
        expect(result.err).toContain("declarations[1].number: 101234567800 is not a valid declaration number");
        expect(result.err).toContain("watchList[0].value: not a container is not an ISO 6346 container number");
        expect(db.prepare("SELECT count(*) AS n FROM declarations").get()).toEqual({ n: 0 });
        expect(db.prepare("SELECT count(*) AS n FROM clearance_meta").get()).toEqual({ n: 0 });
    });

    it("exits 1 for a file that is not YAML", async () => {
        const bad = join(dir.path, "broken.yaml");
        writeFileSync(bad, "version: [1\n");
        const result = await cli(["clearance", "import", bad, "--db", dbPath]);
        expect(result.code).toBe(1);
        expect(result.err).toContain("is not valid YAML or JSON");
    });

    it("exits 2 for an unreadable file or a usage error", async () => {
        const missing = await cli(["clearance", "import", join(dir.path, "missing.yaml"), "--db", dbPath]);
        expect(missing.code).toBe(2);
        expect(missing.err).toContain("ENOENT");
        const neither = await cli(["clearance", "import", "config/clearance-demo.yaml"]);
        expect(neither.code).toBe(2);
        expect(neither.err).toContain("exactly one of --db");
        expect((await cli(["clearance", "import"])).code).toBe(2);
    });

    it("takes the database path from --config", async () => {
        const config = join(dir.path, "gate.yaml");
        writeFileSync(
            config,
            `gate: { id: HN01 }
storage: { path: ${join(dir.path, "from-config.db")} }
lanes:
  - id: L1
    devices:
      - { id: scale-l1, model: toledo-continuous, address: "tcp://127.0.0.1:4001" }
`,
        );
        const result = await cli(["clearance", "import", "config/clearance-demo.yaml", "--config", config]);
        expect(result.err).toBe("");
        expect(result.code).toBe(0);
        expect(result.out).toContain("4 declaration(s)");
    });
});
