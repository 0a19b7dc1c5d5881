import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
    CSV_COLUMNS,
    csvCell,
    isoMs,
    nearestRank,
    reportVisitOf,
    selectRank,
    timeReleaseCsv,
    timeReleaseReport,
    WHOLE_VISIT,
} from "../../src/yard/report.ts";
import { VISIT_STAGES, type VisitStage, type VisitSummary } from "../../src/yard/types.ts";

const T0 = Date.UTC(2026, 6, 1, 1, 0, 0); // 08:00 in Hanoi
const MIN = 60_000;
const at = (minutes: number) => new Date(T0 + minutes * MIN).toISOString();

let serial = 0;
/** A visit whose stages come `minutes` after arrival (T0 + start). */
function visit(
    start: number,
    offsets: Partial<Record<VisitStage, number>>,
    more: Partial<VisitSummary> = {},
): VisitSummary {
    serial += 1;
    const stages: Partial<Record<VisitStage, string>> = {};
    for (const [stage, minutes] of Object.entries(offsets)) stages[stage as VisitStage] = at(start + minutes);
    return {
        visitId: `V${serial}`,
        state: offsets.exited !== undefined ? "CLOSED" : "QUEUED",
        laneGroup: "import",
        goodsClass: "general",
        tractorPlate: `29C${serial}`,
        declarations: [],
        noShows: 0,
        stages,
        channel: "green",
        laneId: "L1",
        passageIds: [],
        caseIds: [],
        dwellMs: 0,
        dwell: "ok",
        ...more,
    };
}

const green = (start: number, called: number, entered: number, decided: number, released: number, exited: number) =>
    visit(start, { arrived: 0, called, laneEntered: entered, decided, released, exited });

function report(visits: VisitSummary[]) {
    return timeReleaseReport({
        ...{ from: at(0), to: at(24 * 60), timeZone: "Asia/Ho_Chi_Minh", queue: [] },
        visits: visits.map(reportVisitOf),
    });
}

describe("nearestRank", () => {
    it("takes the value at rank ceil(p/100 * n), never interpolating", () => {
        const ten = Float64Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
        expect(nearestRank(ten, 50)).toBe(5);
        expect(nearestRank(ten, 90)).toBe(9);
        expect(nearestRank(ten, 91)).toBe(10);
        expect(nearestRank(ten, 100)).toBe(10);
        expect(nearestRank([7], 50)).toBe(7);
        expect(nearestRank([3, 8], 50)).toBe(3);
        expect(() => nearestRank([], 50)).toThrow(RangeError);
    });
});

describe("selectRank", () => {
    it("finds the value a full sort puts at the rank, whatever the order and repeats", () => {
        fc.assert(
            fc.property(
                fc.array(fc.integer({ min: 0, max: 50 }), { minLength: 1, maxLength: 300 }),
                fc.nat(),
                (values, pick) => {
                    const sorted = [...values].sort((a, b) => a - b);
                    const rank = 1 + (pick % values.length);
                    const array = Float64Array.from(values);
                    expect(selectRank(array, rank)).toBe(sorted[rank - 1]);
                    // still the same values, only reordered
                    expect([...array].sort((a, b) => a - b)).toEqual(sorted);
                    // a second selection on the partitioned array is as right as the first
                    expect(selectRank(array, values.length)).toBe(sorted.at(-1));
                },
            ),
            { numRuns: 1000 },
        );
        const ascending = Float64Array.from({ length: 10_000 }, (_, i) => i);
        expect(selectRank(ascending, 9_000)).toBe(8_999);
        expect(
            selectRank(
                Float64Array.from({ length: 10_000 }, (_, i) => 10_000 - i),
                1,
            ),
        ).toBe(1);
    });
});

describe("isoMs", () => {
    it("reads the gate's ISO times as Date.parse does", () => {
        const offset = fc.oneof(
            fc.constant("Z"),
            fc
                .tuple(fc.constantFrom("+", "-"), fc.integer({ min: 0, max: 14 }), fc.constantFrom(0, 30, 45))
                .map(([sign, h, m]) => `${sign}${String(h).padStart(2, "0")}:${String(m).padStart(2, "0")}`),
        );
        const two = (max: number, min = 0) => fc.integer({ min, max }).map((n) => String(n).padStart(2, "0"));
        const fraction = fc.oneof(fc.constant(""), fc.stringMatching(/^\.[0-9]{1,6}$/));
        const text = fc
            .tuple(
                fc.integer({ min: 1970, max: 2100 }),
                two(12, 1),
                two(31, 1),
                two(23),
                two(59),
                two(59),
                fraction,
                offset,
            )
            .map(([y, mo, d, h, mi, s, f, z]) => `${y}-${mo}-${d}T${h}:${mi}:${s}${f}${z}`);
        fc.assert(
            fc.property(text, (iso) => {
                expect(isoMs(iso)).toBe(Date.parse(iso));
            }),
            { numRuns: 2000 },
        );
        for (const odd of [
            "",
            "yesterday",
            "2026-07-01",
            "2026-07-01T08:00:00",
            "2026-07-01T24:00:00Z",
            "2026-07-01T08:00:00.Z",
            "2026-13-01T00:00:00Z",
            "2026-07-01T08:00:00+0700",
        ])
            expect(isoMs(odd)).toEqual(Date.parse(odd));
        expect(isoMs(new Date(T0).toISOString())).toBe(T0);
        expect(isoMs("2026-07-01T08:00:00.000+07:00")).toBe(T0);
    });
});

describe("timeReleaseReport", () => {
    it("gives count, median, p90 and max per interval and for the whole visit (hand-computed)", () => {
        // Five green trucks on L1; arrival→called waits of 10, 30, 20, 50, 40 minutes.
        const visits = [
            green(0, 10, 15, 16, 17, 20),
            green(5, 30, 32, 33, 34, 40),
            green(10, 20, 26, 27, 29, 30),
            green(15, 50, 51, 52, 53, 60),
            green(20, 40, 44, 45, 46, 50),
        ];
        const r = report(visits);
        expect(r.visits).toBe(5);
        const row = (interval: string) => r.rows.find((x) => x.interval === interval);
        // sorted 10 20 30 40 50: median rank ceil(2.5)=3 → 30; p90 rank ceil(4.5)=5 → 50
        expect(row("arrived→called")).toEqual({
            channel: "green",
            laneId: "L1",
            goodsClass: "general",
            interval: "arrived→called",
            count: 5,
            medianMs: 30 * MIN,
            p90Ms: 50 * MIN,
            maxMs: 50 * MIN,
        });
        // called→laneEntered: 5, 2, 6, 1, 4 → sorted 1 2 4 5 6: median 4, p90 6
        expect(row("called→laneEntered")).toMatchObject({
            count: 5,
            medianMs: 4 * MIN,
            p90Ms: 6 * MIN,
            maxMs: 6 * MIN,
        });
        // decided→released: 1, 1, 2, 1, 1 → median 1, p90 2
        expect(row("decided→released")).toMatchObject({ medianMs: 1 * MIN, p90Ms: 2 * MIN, maxMs: 2 * MIN });
        // whole visit: 20, 40, 30, 60, 50 → sorted 20 30 40 50 60: median 40, p90 60
        expect(row(WHOLE_VISIT)).toMatchObject({ count: 5, medianMs: 40 * MIN, p90Ms: 60 * MIN, maxMs: 60 * MIN });
        // the intervals in visit order, the whole visit last
        expect(r.rows.map((x) => x.interval)).toEqual([
            "arrived→called",
            "called→laneEntered",
            "laneEntered→decided",
            "decided→released",
            "released→exited",
            WHOLE_VISIT,
        ]);
    });

    it("keeps channels, lanes and goods classes apart, and bridges a skipped stage", () => {
        const red = visit(
            0,
            {
                arrived: 0,
                called: 5,
                laneEntered: 6,
                decided: 7,
                inspectionStarted: 17,
                inspectionEnded: 77,
                released: 80,
                exited: 90,
            },
            { channel: "red", laneId: "L2", goodsClass: "perishable" },
        );
        const r = report([green(0, 10, 15, 16, 17, 20), red, green(0, 1, 2, 3, 4, 5)]);
        const redRows = r.rows.filter((x) => x.channel === "red");
        expect(redRows.map((x) => [x.interval, x.laneId, x.goodsClass, x.count, x.maxMs])).toEqual([
            ["arrived→called", "L2", "perishable", 1, 5 * MIN],
            ["called→laneEntered", "L2", "perishable", 1, 1 * MIN],
            ["laneEntered→decided", "L2", "perishable", 1, 1 * MIN],
            ["decided→inspectionStarted", "L2", "perishable", 1, 10 * MIN],
            ["inspectionStarted→inspectionEnded", "L2", "perishable", 1, 60 * MIN],
            ["inspectionEnded→released", "L2", "perishable", 1, 3 * MIN],
            ["released→exited", "L2", "perishable", 1, 10 * MIN],
            [WHOLE_VISIT, "L2", "perishable", 1, 90 * MIN],
        ]);
        // green trucks have no inspection: decided→released directly, two of them in one group
        expect(
            r.rows.filter((x) => x.channel === "green").find((x) => x.interval === "decided→released"),
        ).toMatchObject({
            count: 2,
            medianMs: 1 * MIN,
        });
        // green sorts before red
        expect(r.rows[0]?.channel).toBe("green");
    });

    it("counts each channel over all its lanes and goods classes apart (percentiles cannot be merged)", () => {
        const visits = [
            green(0, 10, 15, 16, 17, 20), // whole visit 20 min on L1
            { ...green(0, 10, 15, 16, 17, 30), laneId: "L2" }, // 30 on L2
            { ...green(0, 10, 15, 16, 17, 90), laneId: "L2", goodsClass: "perishable" as const }, // 90
        ];
        const r = report(visits);
        expect(r.rows.filter((x) => x.interval === WHOLE_VISIT).map((x) => [x.laneId, x.goodsClass, x.maxMs])).toEqual([
            ["L1", "general", 20 * MIN],
            ["L2", "general", 30 * MIN],
            ["L2", "perishable", 90 * MIN],
        ]);
        // 20 30 90: median rank 2 → 30 (no row has it as its own median over all three), p90 rank 3 → 90
        expect(r.byChannel.find((x) => x.interval === WHOLE_VISIT)).toEqual({
            channel: "green",
            interval: WHOLE_VISIT,
            count: 3,
            medianMs: 30 * MIN,
            p90Ms: 90 * MIN,
            maxMs: 90 * MIN,
        });
        expect(r.byChannel.map((x) => x.interval)).toEqual(
            r.rows.filter((x) => x.laneId === "L1").map((x) => x.interval),
        );
    });

    it("counts a waiting truck's intervals so far, with no whole-visit time until it exits", () => {
        const waiting = visit(0, { arrived: 0, called: 25 }, { channel: undefined, laneId: undefined });
        const r = report([waiting]);
        expect(r.rows).toEqual([
            {
                channel: "",
                laneId: "",
                goodsClass: "general",
                interval: "arrived→called",
                count: 1,
                medianMs: 25 * MIN,
                p90Ms: 25 * MIN,
                maxMs: 25 * MIN,
            },
        ]);
    });

    it("leaves out an interval the wall clock ran backwards in", () => {
        const stepped = visit(0, { arrived: 10, called: 5, laneEntered: 20 });
        const r = report([stepped]);
        expect(r.rows.map((x) => [x.interval, x.maxMs])).toEqual([["called→laneEntered", 15 * MIN]]);
    });

    it("orders the queue samples by time", () => {
        const r = timeReleaseReport({
            from: at(0),
            to: at(60),
            timeZone: "UTC",
            visits: [],
            queue: [
                { at: at(30), laneGroup: "import", length: 2 },
                { at: at(10), laneGroup: "export", length: 1 },
            ],
        });
        expect(r.queue.map((s) => s.length)).toEqual([1, 2]);
        expect(r.rows).toEqual([]);
    });

    it("property: every row's figures are times some truck took, in order, and counts add up", () => {
        const stageSet = fc.subarray([...VISIT_STAGES], { minLength: 1 });
        const oneVisit = fc.record({
            stages: stageSet,
            gaps: fc.array(fc.integer({ min: 0, max: 600 }), { minLength: 8, maxLength: 8 }),
            channel: fc.constantFrom("green", "yellow", "red"),
            lane: fc.constantFrom("L1", "L2"),
            perishable: fc.boolean(),
        });
        fc.assert(
            fc.property(fc.array(oneVisit, { maxLength: 40 }), (specs) => {
                const visits = specs.map((spec) => {
                    const offsets: Partial<Record<VisitStage, number>> = {};
                    let minutes = 0;
                    for (const [index, stage] of spec.stages.entries()) {
                        minutes += spec.gaps[index] as number;
                        offsets[stage] = minutes;
                    }
                    return visit(0, offsets, {
                        channel: spec.channel,
                        laneId: spec.lane,
                        goodsClass: spec.perishable ? "perishable" : "general",
                    });
                });
                const r = report(visits);
                let intervalsExpected = 0;
                for (const spec of specs) intervalsExpected += spec.stages.length - 1;
                const wholeExpected = specs.filter(
                    (s) => s.stages.includes("arrived") && s.stages.includes("exited"),
                ).length;
                let intervals = 0;
                let whole = 0;
                for (const row of r.rows) {
                    expect(row.count).toBeGreaterThan(0);
                    expect(row.medianMs).toBeLessThanOrEqual(row.p90Ms);
                    expect(row.p90Ms).toBeLessThanOrEqual(row.maxMs);
                    expect(row.medianMs % MIN).toBe(0);
                    if (row.interval === WHOLE_VISIT) whole += row.count;
                    else intervals += row.count;
                }
                expect(intervals).toBe(intervalsExpected);
                expect(whole).toBe(wholeExpected);
                const keys = r.rows.map((row) => `${row.channel}/${row.laneId}/${row.goodsClass}/${row.interval}`);
                expect(new Set(keys).size).toBe(keys.length);
            }),
            { numRuns: 200 },
        );
    });
});

describe("timeReleaseCsv", () => {
    it("writes RFC 4180 CSV with CRLF, quoting and doubled quotes", () => {
        const base = green(0, 10, 15, 16, 17, 20);
        const r = report([{ ...base, laneId: 'L1, "north"', channel: "green" }]);
        const csv = timeReleaseCsv(r);
        const lines = csv.split("\r\n");
        expect(lines[0]).toBe(CSV_COLUMNS.join(","));
        expect(lines[1]).toBe(`green,"L1, ""north""",general,arrived→called,1,${10 * MIN},${10 * MIN},${10 * MIN}`);
        expect(lines.at(-1)).toBe("");
        expect(lines).toHaveLength(r.rows.length + 2);
        expect(csv).not.toMatch(/[^\r]\n/);
    });

    it("neutralises cells a spreadsheet would run as a formula", () => {
        expect(csvCell('=HYPERLINK("http://x")')).toBe(`"'=HYPERLINK(""http://x"")"`);
        expect(csvCell("+1")).toBe("'+1");
        expect(csvCell("-2+3")).toBe("'-2+3");
        expect(csvCell("@SUM(A1)")).toBe("'@SUM(A1)");
        expect(csvCell("\tx")).toBe("'\tx");
        expect(csvCell("L-1")).toBe("L-1");
        expect(csvCell(1500)).toBe("1500");
        const r = report([{ ...green(0, 10, 15, 16, 17, 20), channel: "=cmd|' /C calc'!A0" }]);
        for (const line of timeReleaseCsv(r).split("\r\n").slice(1, -1)) expect(line.startsWith("'=")).toBe(true);
    });
});
