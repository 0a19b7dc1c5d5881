import type { FastifyInstance } from "fastify";
import { GateError } from "../core/errors.ts";
import { queueCsv, timeReleaseCsv, timeReleaseReport } from "./report.ts";
import type { VisitSource } from "./types.ts";

/** A report reads every visit of its range: a year (and a leap day) is the longest a Time Release Study takes. */
export const MAX_REPORT_DAYS = 366;
const DAY_MS = 86_400_000;

interface ReportQuery {
    from: string;
    to: string;
    format: "json" | "csv";
    /** Which table the CSV holds: the figures' rows, or the queue length of each group at each change. */
    table: "rows" | "queue";
}

/**
 * `GET /api/v1/reports/time-release?from&to[&format=csv[&table=queue]]`: the time-release figures of the
 * visits that arrived in [from, to) and the queue length over that time (src/yard/report.ts); as CSV, the
 * figures' rows, or with `table=queue` the queue length of each lane group at each change. `from` and `to` are ISO
 * 8601 instants with their offset ("2026-07-01T00:00:00+07:00") or days ("2026-07-01"), a day meaning its
 * midnight in the gate's zone, so `from=2026-07-01&to=2026-07-02` is that one day at the gate. A gate
 * without a yard has no visits to report: 404 YARD_DISABLED.
 */
export function registerTimeReleaseRoutes(
    app: FastifyInstance,
    visits: () => VisitSource | undefined,
    timeZone: string,
): void {
    app.get<{ Querystring: ReportQuery }>(
        "/api/v1/reports/time-release",
        {
            schema: {
                querystring: {
                    type: "object",
                    additionalProperties: false,
                    required: ["from", "to"],
                    properties: {
                        from: { type: "string", minLength: 1, maxLength: 40 },
                        to: { type: "string", minLength: 1, maxLength: 40 },
                        format: { type: "string", enum: ["json", "csv"], default: "json" },
                        table: { type: "string", enum: ["rows", "queue"], default: "rows" },
                    },
                },
            },
        },
        async (request, reply) => {
            const source = visits();
            if (!source) throw new GateError("YARD_DISABLED");
            const from = instantOf("from", request.query.from, timeZone);
            const to = instantOf("to", request.query.to, timeZone);
            if (to <= from) throw new GateError("API_BAD_REQUEST", "to must be after from");
            if (to - from > MAX_REPORT_DAYS * DAY_MS)
                throw new GateError("API_BAD_REQUEST", `from–to spans more than ${MAX_REPORT_DAYS} days`);
            const report = timeReleaseReport({
                from: new Date(from).toISOString(),
                to: new Date(to).toISOString(),
                timeZone,
                visits: source.visitsArrivedBetween(from, to),
                queue: source.queueSamples(from, to),
            });
            if (request.query.format !== "csv") return report;
            const queue = request.query.table === "queue";
            const name = `time-release${queue ? "-queue" : ""}-${request.query.from}-${request.query.to}`.replace(
                /[^\w.-]+/g,
                "_",
            );
            return (
                reply
                    .header("content-type", "text/csv; charset=utf-8")
                    .header("content-disposition", `attachment; filename="${name}.csv"`)
                    // The byte order mark makes a spreadsheet read the file as UTF-8 (the intervals' arrows).
                    .send(`\uFEFF${queue ? queueCsv(report) : timeReleaseCsv(report)}`)
            );
        },
    );
}

const DAY = /^(\d{4})-(\d{2})-(\d{2})$/;
/** Date and time with seconds and an offset or Z: a time without its zone could be anyone's. */
const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;

/** The epoch ms of a query's `from` or `to`; a 400 naming the parameter when it is not a date. */
export function instantOf(name: string, text: string, timeZone: string): number {
    const day = DAY.exec(text);
    if (day) {
        const [year, month, date] = [Number(day[1]), Number(day[2]), Number(day[3])];
        const wall = Date.UTC(year, month - 1, date);
        const check = new Date(wall);
        if (check.getUTCMonth() === month - 1 && check.getUTCDate() === date) return midnightIn(timeZone, wall);
    } else if (INSTANT.test(text)) {
        const at = Date.parse(text);
        if (!Number.isNaN(at)) {
            // Date.parse rolls 2026-02-30 over to March: the day written must be the day read.
            const [y, m, d] = text.slice(0, 10).split("-").map(Number) as [number, number, number];
            const check = new Date(Date.UTC(y, m - 1, d));
            if (check.getUTCMonth() === m - 1 && check.getUTCDate() === d) return at;
        }
    }
    throw new GateError(
        "API_BAD_REQUEST",
        `querystring/${name} "${text}" is not a date (2026-07-01) or an ISO 8601 time with its offset`,
    );
}

/** The instant a day (`wallMs`: its midnight as if in UTC) starts in `timeZone`. */
function midnightIn(timeZone: string, wallMs: number): number {
    const parts = new Intl.DateTimeFormat("en-GB", {
        timeZone,
        ...{ year: "numeric", month: "2-digit", day: "2-digit" },
        ...{ hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" },
    } as const);
    // Shift by the zone's offset at that time; twice, for a day on which the offset changes.
    let instant = wallMs;
    for (let i = 0; i < 2; i++) {
        const p = Object.fromEntries(parts.formatToParts(new Date(instant)).map((part) => [part.type, part.value]));
        const shown = Date.UTC(
            Number(p.year),
            Number(p.month) - 1,
            Number(p.day),
            Number(p.hour),
            Number(p.minute),
            Number(p.second),
        );
        instant += wallMs - shown;
    }
    return instant;
}
