import {
    type ChannelStageRow,
    type QueueSample,
    type TimeReleaseReport,
    type TimeReleaseRow,
    VISIT_STAGES,
    type VisitStage,
    type VisitSummary,
} from "./types.ts";

/** The interval of a whole visit, arrival to exit: the last row of each group. */
export const WHOLE_VISIT = "visit";

/** A channel or lane a visit never got to (it left the yard, or is still waiting): its rows say so by "". */
export const NOT_REACHED = "";

export interface TimeReleaseInput {
    /** The report's range as asked (ISO), and the zone the page shows it in. */
    from: string;
    to: string;
    timeZone: string;
    visits: readonly VisitSummary[];
    queue: readonly QueueSample[];
}

/**
 * The time-release figures (WCO Time Release Study) of a set of visits, per channel, lane and goods class:
 * for each interval between two consecutive stages a visit reached, and for the whole visit (arrived →
 * exited), the count, median, 90th percentile and maximum. A stage a visit skipped (no inspection on a
 * green channel) is not an interval of its own: the visit's time runs from the stage before it to the
 * next one it reached, so "decided→released" of a green truck and "inspectionEnded→released" of a red
 * one are each what that truck waited. Pure: the API, the bench and the tests call it on the same data.
 */
export function timeReleaseReport(input: TimeReleaseInput): TimeReleaseReport {
    const groups = new Map<string, Group<Omit<TimeReleaseRow, RowFigures>>>();
    const channels = new Map<string, Group<Omit<ChannelStageRow, RowFigures>>>();
    for (const visit of input.visits) {
        const channel = visit.channel ?? NOT_REACHED;
        const laneId = visit.laneId ?? NOT_REACHED;
        const intervals = intervalsOf(visit);
        collect(
            groups,
            `${channel}\u0000${laneId}\u0000${visit.goodsClass}`,
            { channel, laneId, goodsClass: visit.goodsClass },
            intervals,
        );
        collect(channels, channel, { channel }, intervals);
    }
    const rows: TimeReleaseRow[] = figuresOf(groups);
    rows.sort(
        (a, b) =>
            a.channel.localeCompare(b.channel) ||
            a.laneId.localeCompare(b.laneId) ||
            a.goodsClass.localeCompare(b.goodsClass) ||
            intervalOrder(a.interval) - intervalOrder(b.interval),
    );
    const byChannel: ChannelStageRow[] = figuresOf(channels);
    byChannel.sort(
        (a, b) => a.channel.localeCompare(b.channel) || intervalOrder(a.interval) - intervalOrder(b.interval),
    );
    const queue = [...input.queue].sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
    return {
        ...{ from: input.from, to: input.to, timeZone: input.timeZone },
        ...{ visits: input.visits.length, rows, byChannel, queue },
    };
}

type RowFigures = "interval" | "count" | "medianMs" | "p90Ms" | "maxMs";
interface Group<Key> {
    key: Key;
    byInterval: Map<string, number[]>;
}

function collect<Key>(groups: Map<string, Group<Key>>, id: string, key: Key, intervals: [string, number][]): void {
    let group = groups.get(id);
    if (!group) {
        group = { key, byInterval: new Map() };
        groups.set(id, group);
    }
    for (const [interval, ms] of intervals) {
        const durations = group.byInterval.get(interval);
        if (durations) durations.push(ms);
        else group.byInterval.set(interval, [ms]);
    }
}

function figuresOf<Key>(groups: Map<string, Group<Key>>): (Key & Pick<TimeReleaseRow, RowFigures>)[] {
    const out: (Key & Pick<TimeReleaseRow, RowFigures>)[] = [];
    for (const group of groups.values()) {
        for (const [interval, durations] of group.byInterval) {
            const sorted = Float64Array.from(durations).sort();
            out.push({
                ...group.key,
                interval,
                count: sorted.length,
                medianMs: nearestRank(sorted, 50),
                p90Ms: nearestRank(sorted, 90),
                maxMs: sorted[sorted.length - 1] as number,
            });
        }
    }
    return out;
}

/**
 * The intervals of one visit, as [label, ms]: each pair of consecutive stages it reached, then the whole
 * visit if it has exited. An interval that runs backwards (the wall clock was stepped back between the two
 * stages) or has an unreadable time is left out rather than counted as a wait of zero or less.
 */
function intervalsOf(visit: VisitSummary): [string, number][] {
    const out: [string, number][] = [];
    let previous: { stage: VisitStage; at: number } | undefined;
    for (const stage of VISIT_STAGES) {
        const text = visit.stages[stage];
        if (text === undefined) continue;
        const at = Date.parse(text);
        if (Number.isNaN(at)) continue;
        if (previous && at >= previous.at) out.push([`${previous.stage}→${stage}`, at - previous.at]);
        previous = { stage, at };
    }
    const arrived = Date.parse(visit.stages.arrived ?? "");
    const exited = Date.parse(visit.stages.exited ?? "");
    if (!Number.isNaN(arrived) && !Number.isNaN(exited) && exited >= arrived) out.push([WHOLE_VISIT, exited - arrived]);
    return out;
}

/**
 * The p-th percentile of ascending values by the nearest-rank method: the value at rank ⌈p/100 · n⌉, so
 * every figure is a time some truck really took (no interpolation between two trucks), and the median of
 * an even count is the lower middle one.
 */
export function nearestRank(sorted: ArrayLike<number>, p: number): number {
    if (sorted.length === 0) throw new RangeError("nearestRank of no values");
    const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
    return sorted[rank - 1] as number;
}

/** Where an interval comes in a visit: by its first stage, the whole visit last. */
const INTERVAL_ORDER = new Map<string, number>(VISIT_STAGES.map((stage, index) => [stage, index]));
function intervalOrder(interval: string): number {
    if (interval === WHOLE_VISIT) return VISIT_STAGES.length * VISIT_STAGES.length;
    const [from = "", to = ""] = interval.split("→");
    return (INTERVAL_ORDER.get(from) ?? 0) * VISIT_STAGES.length + (INTERVAL_ORDER.get(to) ?? 0);
}

export const CSV_COLUMNS = [
    "channel",
    "laneId",
    "goodsClass",
    "interval",
    "count",
    "medianMs",
    "p90Ms",
    "maxMs",
] as const;

/**
 * The report's rows as CSV (RFC 4180: CRLF line ends, a field with a comma, quote or line end quoted and
 * its quotes doubled). A text cell that a spreadsheet would run as a formula (starting with = + - @, or a
 * tab or carriage return that some strip first) is prefixed with ' so it shows as text: a lane id or a
 * channel comes from configuration and central, not from the person opening the file.
 */
export function timeReleaseCsv(report: TimeReleaseReport): string {
    const lines = [CSV_COLUMNS.join(",")];
    for (const row of report.rows) lines.push(CSV_COLUMNS.map((column) => csvCell(row[column])).join(","));
    return `${lines.join("\r\n")}\r\n`;
}

export function csvCell(value: string | number): string {
    if (typeof value === "number") return String(value);
    const text = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
    return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}
