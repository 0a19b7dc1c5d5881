import {
    type ChannelStageRow,
    type QueueSample,
    type ReportVisit,
    type TimeReleaseReport,
    type TimeReleaseRow,
    VISIT_STAGES,
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
    visits: readonly ReportVisit[];
    queue: readonly QueueSample[];
}

/** A visit as the report reads it, from its summary (the stages' ISO times read once). */
export function reportVisitOf(visit: Pick<VisitSummary, "channel" | "laneId" | "goodsClass" | "stages">): ReportVisit {
    return {
        ...(visit.channel !== undefined && { channel: visit.channel }),
        ...(visit.laneId !== undefined && { laneId: visit.laneId }),
        goodsClass: visit.goodsClass,
        stageMs: VISIT_STAGES.map((stage) => {
            const text = visit.stages[stage];
            return text === undefined ? Number.NaN : isoMs(text);
        }),
    };
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
        const times = visit.stageMs;
        const channel = visit.channel ?? NOT_REACHED;
        const laneId = visit.laneId ?? NOT_REACHED;
        const id = `${channel}\u0000${laneId}\u0000${visit.goodsClass}`;
        let group = groups.get(id);
        if (!group) {
            group = { key: { channel, laneId, goodsClass: visit.goodsClass }, byInterval: [] };
            groups.set(id, group);
        }
        let overall = channels.get(channel);
        if (!overall) {
            overall = { key: { channel }, byInterval: [] };
            channels.set(channel, overall);
        }
        // Each pair of consecutive stages the visit reached, then the whole visit if it has exited. An
        // interval that runs backwards (the wall clock was stepped back between its two stages) or has an
        // unreadable time is left out rather than counted as a wait of zero or less.
        let previous = -1;
        for (let stage = 0; stage < STAGES; stage++) {
            const at = times[stage] as number;
            if (Number.isNaN(at)) continue;
            if (previous >= 0 && at >= (times[previous] as number)) {
                const interval = previous * STAGES + stage;
                const duration = at - (times[previous] as number);
                add(group, interval, duration);
                add(overall, interval, duration);
            }
            previous = stage;
        }
        const whole = (times[STAGES - 1] as number) - (times[0] as number);
        if (whole >= 0) {
            add(group, WHOLE_VISIT_INDEX, whole);
            add(overall, WHOLE_VISIT_INDEX, whole);
        }
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
    const queue = [...input.queue].sort((a, b) => isoMs(a.at) - isoMs(b.at));
    return {
        ...{ from: input.from, to: input.to, timeZone: input.timeZone },
        ...{ visits: input.visits.length, rows, byChannel, queue },
    };
}

const STAGES = VISIT_STAGES.length;
/** Intervals by number (from · STAGES + to), the whole visit after every pair: no string built per visit. */
const WHOLE_VISIT_INDEX = STAGES * STAGES;
const INTERVAL_LABELS: readonly string[] = Array.from({ length: WHOLE_VISIT_INDEX + 1 }, (_, index) =>
    index === WHOLE_VISIT_INDEX
        ? WHOLE_VISIT
        : `${VISIT_STAGES[Math.floor(index / STAGES)]}→${VISIT_STAGES[index % STAGES]}`,
);
const INTERVAL_INDEX = new Map(INTERVAL_LABELS.map((label, index) => [label, index]));
/** Where an interval comes in a visit: by its first stage, the whole visit last. */
const intervalOrder = (interval: string): number => INTERVAL_INDEX.get(interval) ?? WHOLE_VISIT_INDEX + 1;

type RowFigures = "interval" | "count" | "medianMs" | "p90Ms" | "maxMs";
interface Group<Key> {
    key: Key;
    /** Durations (ms) by interval number. */
    byInterval: (number[] | undefined)[];
}

function add<Key>(group: Group<Key>, interval: number, duration: number): void {
    const durations = group.byInterval[interval];
    if (durations) durations.push(duration);
    else group.byInterval[interval] = [duration];
}

function figuresOf<Key>(groups: Map<string, Group<Key>>): (Key & Pick<TimeReleaseRow, RowFigures>)[] {
    const out: (Key & Pick<TimeReleaseRow, RowFigures>)[] = [];
    for (const group of groups.values()) {
        for (const [interval, durations] of group.byInterval.entries()) {
            if (!durations) continue;
            // Three order statistics need no full sort: each is selected in linear time on average.
            const values = Float64Array.from(durations);
            const [median, p90] = [50, 90].map((p) => selectRank(values, rankOf(values.length, p)));
            let max = values[0] as number;
            for (const value of values) if (value > max) max = value;
            out.push({
                ...group.key,
                interval: INTERVAL_LABELS[interval] as string,
                count: values.length,
                medianMs: median as number,
                p90Ms: p90 as number,
                maxMs: max,
            });
        }
    }
    return out;
}

const digitsAt = (text: string, from: number, count: number): number => {
    let value = 0;
    for (let i = from; i < from + count; i++) {
        const digit = text.charCodeAt(i) - 48;
        if (digit < 0 || digit > 9) return Number.NaN;
        value = value * 10 + digit;
    }
    return value;
};

/**
 * Epoch ms of an ISO 8601 time as the gate writes stages ("2026-07-01T08:00:00.000+07:00" or "…Z"), read
 * by position: a year's report parses close to a million of them, several times faster than Date.parse.
 * Anything else is left to Date.parse, so the answer is Date.parse's either way (NaN for no time).
 */
export function isoMs(text: string): number {
    const length = text.length;
    if (
        length >= 20 &&
        text.charCodeAt(4) === 45 &&
        text.charCodeAt(7) === 45 &&
        text.charCodeAt(10) === 84 &&
        text.charCodeAt(13) === 58 &&
        text.charCodeAt(16) === 58
    ) {
        let i = 19;
        let millis = 0;
        if (text.charCodeAt(i) === 46) {
            i++;
            const first = i;
            while (i < length && text.charCodeAt(i) >= 48 && text.charCodeAt(i) <= 57) i++;
            // Date.parse keeps milliseconds and drops finer digits.
            const digits = Math.min(3, i - first);
            millis = digits === 0 ? Number.NaN : digitsAt(text, first, digits) * 10 ** (3 - digits);
        }
        let offsetMinutes = Number.NaN;
        const sign = text.charCodeAt(i);
        if (sign === 90 && i === length - 1) offsetMinutes = 0;
        else if ((sign === 43 || sign === 45) && i === length - 6 && text.charCodeAt(i + 3) === 58) {
            const minutes = digitsAt(text, i + 1, 2) * 60 + digitsAt(text, i + 4, 2);
            offsetMinutes = sign === 43 ? minutes : -minutes;
        }
        const [year, month, day] = [digitsAt(text, 0, 4), digitsAt(text, 5, 2), digitsAt(text, 8, 2)];
        const [hour, minute, second] = [digitsAt(text, 11, 2), digitsAt(text, 14, 2), digitsAt(text, 17, 2)];
        if (
            month >= 1 &&
            month <= 12 &&
            day >= 1 &&
            day <= 31 &&
            hour <= 23 &&
            minute <= 59 &&
            second <= 59 &&
            !Number.isNaN(millis + offsetMinutes + year)
        )
            return (
                ((daysFromCivil(year, month, day) * 24 + hour) * 60 + minute - offsetMinutes) * MINUTE_MS +
                second * 1000 +
                millis
            );
    }
    return Date.parse(text);
}
const MINUTE_MS = 60_000;

/**
 * Days from 1970-01-01 to a proleptic Gregorian date (H. Hinnant's days_from_civil), in arithmetic only; a
 * day past its month's end runs into the next month, as in Date.UTC and Date.parse.
 */
function daysFromCivil(year: number, month: number, day: number): number {
    const y = month <= 2 ? year - 1 : year;
    const era = Math.floor(y / 400);
    const yearOfEra = y - era * 400;
    const dayOfYear = Math.floor((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5) + day - 1;
    const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
    return era * 146_097 + dayOfEra - 719_468;
}

/**
 * The p-th percentile of ascending values by the nearest-rank method: the value at rank ⌈p/100 · n⌉, so
 * every figure is a time some truck really took (no interpolation between two trucks), and the median of
 * an even count is the lower middle one.
 */
export function nearestRank(sorted: ArrayLike<number>, p: number): number {
    if (sorted.length === 0) throw new RangeError("nearestRank of no values");
    return sorted[rankOf(sorted.length, p) - 1] as number;
}

/** The nearest rank (1-based) of the p-th percentile of n values. */
const rankOf = (n: number, p: number): number => Math.max(1, Math.ceil((p / 100) * n));

/**
 * The value of 1-based `rank` in ascending order (what `nearestRank` reads from a sorted array), found by
 * quickselect: reorders `values` in place, leaving it partitioned around that rank.
 */
export function selectRank(values: Float64Array, rank: number): number {
    const k = rank - 1;
    let left = 0;
    let right = values.length - 1;
    while (right > left) {
        // The median of three as the pivot: sorted or reversed input stays linear.
        const middle = (left + right) >> 1;
        const [a, b, c] = [values[left] as number, values[middle] as number, values[right] as number];
        const pivot = Math.max(Math.min(a, b), Math.min(Math.max(a, b), c));
        let i = left;
        let j = right;
        while (i <= j) {
            while ((values[i] as number) < pivot) i++;
            while ((values[j] as number) > pivot) j--;
            if (i <= j) {
                const swap = values[i] as number;
                values[i] = values[j] as number;
                values[j] = swap;
                i++;
                j--;
            }
        }
        if (k <= j) right = j;
        else if (k >= i) left = i;
        else return values[k] as number;
    }
    return values[k] as number;
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
    return csvOf(CSV_COLUMNS, report.rows);
}

export const QUEUE_CSV_COLUMNS = ["at", "laneGroup", "length"] as const;

/** The queue length over the report's range as CSV (as timeReleaseCsv): each group's length at each change. */
export function queueCsv(report: TimeReleaseReport): string {
    return csvOf(QUEUE_CSV_COLUMNS, report.queue);
}

function csvOf<Column extends string>(
    columns: readonly Column[],
    records: readonly Readonly<Record<Column, string | number>>[],
): string {
    const lines = [columns.join(",")];
    for (const record of records) lines.push(columns.map((column) => csvCell(record[column])).join(","));
    return `${lines.join("\r\n")}\r\n`;
}

export function csvCell(value: string | number): string {
    if (typeof value === "number") return String(value);
    const text = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
    return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}
