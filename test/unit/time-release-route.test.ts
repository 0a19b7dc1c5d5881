import Fastify, { type FastifyError, type FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isGateError } from "../../src/core/errors.ts";
import { reportVisitOf } from "../../src/yard/report.ts";
import { registerTimeReleaseRoutes } from "../../src/yard/reportRoutes.ts";
import type { QueueSample, VisitSource, VisitSummary } from "../../src/yard/types.ts";

/**
 * The report route on its own (the role guard and the gate's wiring are tested on a real gate in
 * test/integration/api-auth.test.ts): its query checks, the day boundaries in the gate's zone, and the CSV.
 */

const ZONE = "Asia/Ho_Chi_Minh"; // UTC+7, no daylight saving

function closedVisit(id: string, arrived: string, exited: string): VisitSummary {
    return {
        visitId: id,
        state: "CLOSED",
        laneGroup: "import",
        goodsClass: "perishable",
        tractorPlate: "29C12345",
        declarations: ["305123456789"],
        noShows: 0,
        stages: { arrived, exited },
        channel: "green",
        laneId: "L1",
        passageIds: [],
        caseIds: [],
        dwellMs: Date.parse(exited) - Date.parse(arrived),
        dwell: "ok",
    };
}

const asked: [number, number][] = [];
const visits = [
    closedVisit("V1", "2026-07-01T01:00:00+07:00", "2026-07-01T03:00:00+07:00"),
    closedVisit("V2", "2026-07-01T10:00:00+07:00", "2026-07-01T11:00:00+07:00"),
];
const source: VisitSource = {
    visitsArrivedBetween(from, to) {
        asked.push([from, to]);
        return visits
            .filter((v) => {
                const at = Date.parse(v.stages.arrived ?? "");
                return at >= from && at < to;
            })
            .map(reportVisitOf);
    },
    queueSamples: (): QueueSample[] => [{ at: "2026-07-01T01:00:00+07:00", laneGroup: "import", length: 1 }],
};

let app: FastifyInstance;
let noYard: FastifyInstance;
beforeAll(async () => {
    const make = (visitSource: VisitSource | undefined) => {
        const instance = Fastify();
        // The API server's mapping of a GateError to its status (src/api/server.ts), which this route relies on.
        instance.setErrorHandler((error: FastifyError, _request, reply) =>
            isGateError(error)
                ? reply.status(error.status).send({ error: error.code, message: error.message })
                : reply.status(error.statusCode ?? 500).send({ error: "API_BAD_REQUEST", message: error.message }),
        );
        registerTimeReleaseRoutes(instance, () => visitSource, ZONE);
        return instance;
    };
    app = make(source);
    noYard = make(undefined);
    await Promise.all([app.ready(), noYard.ready()]);
});
afterAll(async () => {
    await Promise.all([app.close(), noYard.close()]);
});

const get = (url: string, on = app) => on.inject({ method: "GET", url });

describe("GET /api/v1/reports/time-release", () => {
    it("reads the visits of [from, to), a day meaning its midnight in the gate's zone", async () => {
        asked.length = 0;
        const response = await get("/api/v1/reports/time-release?from=2026-07-01&to=2026-07-02");
        expect(response.statusCode, response.body).toBe(200);
        expect(asked).toEqual([[Date.parse("2026-06-30T17:00:00Z"), Date.parse("2026-07-01T17:00:00Z")]]);
        const report = response.json();
        expect(report).toMatchObject({
            from: "2026-06-30T17:00:00.000Z",
            to: "2026-07-01T17:00:00.000Z",
            timeZone: ZONE,
            visits: 2,
            queue: [{ laneGroup: "import", length: 1 }],
        });
        // whole visits of 2 h and 1 h: nearest-rank median of two is the lower, 1 h
        expect(report.rows).toEqual([
            {
                channel: "green",
                laneId: "L1",
                goodsClass: "perishable",
                interval: "arrived→exited",
                count: 2,
                medianMs: 3_600_000,
                p90Ms: 7_200_000,
                maxMs: 7_200_000,
            },
            {
                channel: "green",
                laneId: "L1",
                goodsClass: "perishable",
                interval: "visit",
                count: 2,
                medianMs: 3_600_000,
                p90Ms: 7_200_000,
                maxMs: 7_200_000,
            },
        ]);
    });

    it("takes ISO instants with their offset", async () => {
        asked.length = 0;
        const response = await get(
            `/api/v1/reports/time-release?from=${encodeURIComponent("2026-07-01T05:00:00+07:00")}&to=2026-07-01T12:00:00Z`,
        );
        expect(response.statusCode, response.body).toBe(200);
        expect(asked).toEqual([[Date.parse("2026-06-30T22:00:00Z"), Date.parse("2026-07-01T12:00:00Z")]]);
        expect(response.json().visits).toBe(1);
    });

    it("answers 400 naming the parameter that is not a date", async () => {
        for (const [query, name] of [
            ["from=yesterday&to=2026-07-02", "from"],
            ["from=2026-07-01&to=2026-02-30", "to"],
            ["from=2026-07-01T00:00:00&to=2026-07-02", "from"], // no offset: whose midnight?
            ["from=2026-07-01&to=2026-13-01", "to"],
            ["from=2026-07-01&to=2026-02-30T00:00:00Z", "to"],
        ] as const) {
            const response = await get(`/api/v1/reports/time-release?${query}`);
            expect(response.statusCode, query).toBe(400);
            expect(response.json().error).toBe("API_BAD_REQUEST");
            expect(response.json().message, query).toContain(`querystring/${name} `);
        }
        const missing = await get("/api/v1/reports/time-release?from=2026-07-01");
        expect(missing.statusCode).toBe(400);
        expect(missing.json().message).toContain("to");
    });

    it("refuses a range that ends before it starts or spans more than 366 days", async () => {
        const backwards = await get("/api/v1/reports/time-release?from=2026-07-02&to=2026-07-01");
        expect(backwards.statusCode).toBe(400);
        expect(backwards.json().message).toContain("to must be after from");
        const tooLong = await get("/api/v1/reports/time-release?from=2026-01-01&to=2027-01-03");
        expect(tooLong.statusCode).toBe(400);
        expect(tooLong.json().message).toContain("366 days");
        const leapYear = await get("/api/v1/reports/time-release?from=2028-01-01&to=2029-01-01");
        expect(leapYear.statusCode, leapYear.body).toBe(200);
    });

    it("exports the same rows as CSV", async () => {
        const response = await get("/api/v1/reports/time-release?from=2026-07-01&to=2026-07-02&format=csv");
        expect(response.statusCode).toBe(200);
        expect(response.headers["content-type"]).toBe("text/csv; charset=utf-8");
        expect(response.headers["content-disposition"]).toBe(
            'attachment; filename="time-release-2026-07-01-2026-07-02.csv"',
        );
        expect(response.body.split("\r\n")).toEqual([
            "\uFEFFchannel,laneId,goodsClass,interval,count,medianMs,p90Ms,maxMs",
            "green,L1,perishable,arrived→exited,2,3600000,7200000,7200000",
            "green,L1,perishable,visit,2,3600000,7200000,7200000",
            "",
        ]);
    });

    it("exports the queue length over the range as CSV with table=queue, and refuses another table", async () => {
        const response = await get("/api/v1/reports/time-release?from=2026-07-01&to=2026-07-02&format=csv&table=queue");
        expect(response.statusCode).toBe(200);
        expect(response.headers["content-disposition"]).toBe(
            'attachment; filename="time-release-queue-2026-07-01-2026-07-02.csv"',
        );
        expect(response.body.split("\r\n")).toEqual([
            "\uFEFFat,laneGroup,length",
            "2026-07-01T01:00:00+07:00,import,1",
            "",
        ]);
        const other = await get("/api/v1/reports/time-release?from=2026-07-01&to=2026-07-02&format=csv&table=x");
        expect(other.statusCode).toBe(400);
    });

    it("answers 404 YARD_DISABLED on a gate without a yard", async () => {
        const response = await get("/api/v1/reports/time-release?from=2026-07-01&to=2026-07-02", noYard);
        expect(response.statusCode).toBe(404);
        expect(response.json().error).toBe("YARD_DISABLED");
    });
});
