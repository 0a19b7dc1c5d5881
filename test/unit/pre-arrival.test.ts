import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { main } from "../../src/cli.ts";
import { isGateError } from "../../src/core/errors.ts";
import { ClearanceCache, validateClearanceData } from "../../src/store/clearance.ts";
import { type Db, openDatabase } from "../../src/store/db.ts";
import { parseClearancePage } from "../../src/sync/protocol.ts";
import { PreArrivalStore, redacted, validatePreArrivals } from "../../src/yard/preArrival.ts";
import type { PreArrival } from "../../src/yard/types.ts";
import { captureStream } from "../helpers/io.ts";
import { tempDir } from "../helpers/tmp.ts";

const dir = tempDir();
afterAll(() => dir.cleanup());
const AT = Date.parse("2026-11-15T03:00:00Z");
const DAY = 86_400_000;

const LYCHEE: PreArrival = {
    preArrivalId: "PA-1",
    tractorPlate: "15C-888.10",
    trailerPlate: "15R-012.34",
    declarations: ["100001234540"],
    goodsClass: "perishable",
    laneGroup: "export",
    transportPermit: "VN-CN 0042",
    slot: { from: "2026-11-15T10:00:00+07:00", to: "2026-11-15T11:00:00+07:00" },
    driver: { name: "Nguyễn Văn An", phone: "+84 912 345 678" },
    version: 1,
};

function errorsOf(fn: () => unknown, code: "PREARRIVAL_INVALID" | "CLEARANCE_INVALID"): string[] {
    try {
        fn();
    } catch (err) {
        if (isGateError(err, code)) return [...err.details];
        throw err;
    }
    throw new Error("input was accepted");
}

describe("pre-arrival validation", () => {
    it("accepts a full record and the list form", () => {
        expect(validatePreArrivals({ preArrivals: [LYCHEE] })).toEqual([LYCHEE]);
        expect(validatePreArrivals([{ ...LYCHEE, driver: undefined }])[0]).not.toHaveProperty("driver");
    });

    it("lists every error by key path, all or nothing", () => {
        const errors = errorsOf(
            () =>
                validatePreArrivals({
                    preArrivals: [
                        LYCHEE,
                        {
                            ...LYCHEE,
                            preArrivalId: "PA 2",
                            tractorPlate: "",
                            declarations: ["12345"],
                            goodsClass: "fruit",
                            laneGroup: "transit",
                            slot: { from: "2026-11-15T11:00:00Z", to: "2026-11-15T10:00:00Z" },
                            driver: { phone: "call me", email: "x@y" },
                            version: -1,
                            colour: "red",
                        },
                        LYCHEE,
                    ],
                }),
            "PREARRIVAL_INVALID",
        );
        expect(errors).toEqual([
            "preArrivals[1].colour: unknown property",
            "preArrivals[1].preArrivalId: must be 1-64 letters, digits, _ . : or -",
            "preArrivals[1].tractorPlate: must be a non-empty plate",
            "preArrivals[1].declarations[0]: must be a valid 12-digit declaration number",
            "preArrivals[1].goodsClass: must be one of perishable, general",
            "preArrivals[1].laneGroup: must be one of import, export, empty",
            "preArrivals[1].slot.to: must be after slot.from",
            "preArrivals[1].driver.email: unknown property",
            "preArrivals[1].driver.phone: must be a phone number (digits, spaces, a leading +)",
            "preArrivals[1].version: must be an integer ≥ 0",
            "preArrivals[2].preArrivalId: PA-1 repeats preArrivals[0]",
        ]);
    });

    it("is part of a clearance document, its errors among the rest", () => {
        const data = validateClearanceData({ version: "v1", declarations: [], preArrivals: [LYCHEE] });
        expect(data.preArrivals).toEqual([LYCHEE]);
        expect(
            errorsOf(
                () => validateClearanceData({ version: "v1", preArrivals: [{ ...LYCHEE, version: "x" }] }),
                "CLEARANCE_INVALID",
            ),
        ).toEqual(["preArrivals[0].version: must be an integer ≥ 0"]);
    });

    it("is an item of central's clearance feed", () => {
        const page = parseClearancePage({
            items: [{ type: "preArrival", preArrival: LYCHEE }],
            next: "c1",
            hasMore: false,
        });
        expect(page.items).toEqual([{ type: "preArrival", preArrival: LYCHEE }]);
    });

    it("keeps the driver out of what a log line shows", () => {
        expect(JSON.stringify(redacted(LYCHEE))).not.toMatch(/Nguyễn|912/);
        expect(redacted(LYCHEE)).toMatchObject({ preArrivalId: "PA-1", driver: "[redacted]" });
    });
});

describe("the pre-arrival store", () => {
    let db: Db;
    let store: PreArrivalStore;
    beforeEach(() => {
        db = openDatabase(join(dir.path, `pa-${Math.random().toString(36).slice(2)}.db`));
        store = new PreArrivalStore(db);
    });
    afterEach(() => db.close());

    it("keeps the higher version, an equal one overwrites (re-import is idempotent)", () => {
        expect(store.write([LYCHEE], AT)).toEqual({ written: 1, skippedOlder: 0 });
        expect(store.write([{ ...LYCHEE, goodsClass: "general", version: 0 }], AT)).toEqual({
            written: 0,
            skippedOlder: 1,
        });
        expect(store.write([LYCHEE], AT)).toEqual({ written: 1, skippedOlder: 0 });
        expect(store.get("PA-1")).toEqual(LYCHEE);
    });

    it("matches a plate read as the lanes do: exact, trailer, likely misread; never another vehicle", () => {
        store.write(
            [LYCHEE, { ...LYCHEE, preArrivalId: "PA-CN", tractorPlate: "桂B1234挂", trailerPlate: "桂B5678挂" }],
            AT,
        );
        expect(store.match("15C88810")).toMatchObject({ relation: "same", preArrival: { preArrivalId: "PA-1" } });
        expect(store.match("15R01234")).toMatchObject({ relation: "same", preArrival: { preArrivalId: "PA-1" } });
        // 8/B and 0/O confused by the camera: held at a lane for an officer, matched here to the announced truck.
        expect(store.match("15C-BB8.1O")).toMatchObject({ relation: "misread", preArrival: { preArrivalId: "PA-1" } });
        expect(store.match("桂B1234")).toMatchObject({ relation: "misread", preArrival: { preArrivalId: "PA-CN" } });
        expect(store.match("15C88811")).toBeUndefined();
        expect(store.match("桂B12345")).toBeUndefined();
    });

    it("does not match a record a visit has claimed, nor guess between two", () => {
        store.write([LYCHEE], AT);
        store.claim("PA-1", "V-1");
        expect(store.match("15C88810")).toBeUndefined();
        store.write(
            [
                { ...LYCHEE, preArrivalId: "PA-A", tractorPlate: "29C-111.11", trailerPlate: undefined },
                { ...LYCHEE, preArrivalId: "PA-B", tractorPlate: "29C-III.11", trailerPlate: undefined },
            ].map(({ trailerPlate: _none, ...rest }) => rest),
            AT,
        );
        // 29C11111 is PA-A exactly; a read of 29C1I111 is a misread of both: unannounced rather than a guess.
        expect(store.match("29C11111")).toMatchObject({ preArrival: { preArrivalId: "PA-A" } });
        expect(store.match("29C1I111")).toBeUndefined();
    });

    it("drops the driver's personal data after the retention, keeps the record", () => {
        store.write([LYCHEE], AT);
        store.write([{ ...LYCHEE, preArrivalId: "PA-2" }], AT + 20 * DAY);
        expect(store.dropPersonalData(AT + 10 * DAY)).toBe(1);
        expect(store.get("PA-1")).toEqual({ ...LYCHEE, driver: undefined });
        expect(store.get("PA-1")).not.toHaveProperty("driver");
        expect(store.get("PA-2")?.driver).toEqual(LYCHEE.driver);
        const raw = db.prepare("SELECT data, driver FROM pre_arrivals WHERE pre_arrival_id = 'PA-1'").get();
        expect(JSON.stringify(raw)).not.toMatch(/Nguyễn|912/);
    });

    it("is written by a clearance import and by central's feed through the clearance cache", () => {
        const cache = ClearanceCache.open(db);
        cache.importData({ version: "v1", declarations: [], watchList: [], preArrivals: [LYCHEE] }, AT);
        expect(store.get("PA-1")).toEqual(LYCHEE);
        expect(cache.upsertPreArrivals([{ ...LYCHEE, preArrivalId: "PA-3" }], AT)).toEqual({
            written: 1,
            skippedOlder: 0,
        });
        expect(() => cache.upsertPreArrivals([{ ...LYCHEE, preArrivalId: "PA-4" }, { bad: 1 }], AT)).toThrow(
            /preArrivals has/,
        );
        expect(store.get("PA-4")).toBeUndefined();
    });
});

describe("gate-edge prearrival import", () => {
    async function run(args: string[]) {
        const out = captureStream();
        const err = captureStream();
        const code = await main(args, { stdout: out.stream, stderr: err.stream });
        return { code, out: out.text(), err: err.text() };
    }

    it("imports a file, and refuses a file with any error, writing nothing", async () => {
        const dbPath = join(dir.path, "cli.db");
        openDatabase(dbPath).close();
        const good = join(dir.path, "good.yaml");
        writeFileSync(good, JSON.stringify({ preArrivals: [LYCHEE] }));
        const bad = join(dir.path, "bad.yaml");
        writeFileSync(
            bad,
            JSON.stringify({ preArrivals: [{ ...LYCHEE, preArrivalId: "PA-9" }, { preArrivalId: "x" }] }),
        );
        const refused = await run(["prearrival", "import", bad, "--db", dbPath]);
        expect(refused.code).toBe(1);
        expect(refused.err).toContain("preArrivals[1].tractorPlate: must be a non-empty plate");
        const done = await run(["prearrival", "import", good, "--db", dbPath]);
        expect(done).toMatchObject({ code: 0 });
        expect(done.out).toContain("imported 1 pre-arrival record(s)");
        const db = openDatabase(dbPath);
        try {
            expect(new PreArrivalStore(db).get("PA-1")).toEqual(LYCHEE);
            expect(new PreArrivalStore(db).get("PA-9")).toBeUndefined();
        } finally {
            db.close();
        }
        expect((await run(["prearrival", "import", good])).code).toBe(2);
    });
});
