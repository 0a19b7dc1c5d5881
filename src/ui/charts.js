/**
 * The dashboard's charts, drawn by uPlot (served by gate-edge at /ui/vendor/, never from a CDN): a canvas
 * with its sizes set through the CSSOM, so the page's policy (no inline style, no eval) holds. Every word on
 * a chart comes from the caller (the officer catalogue); times are shown in the gate's zone.
 */

import { formatDateTime, gateTimeZone } from "./i18n.js";
import uPlot from "./vendor/uPlot.esm.js";

/** A colour per series, readable on the dark panel; a channel has its own colour where it is known. */
const PALETTE = ["#58a6ff", "#e3b341", "#f0883e", "#2ea043", "#f85149", "#a371f7"];
const CHANNEL_COLOURS = { GREEN: "#2ea043", YELLOW: "#e3b341", RED: "#f85149" };
const AXIS = { stroke: "#9aa7b4", grid: { stroke: "#30363d", width: 1 }, ticks: { stroke: "#30363d", width: 1 } };

function widthOf(container) {
    return Math.max(320, Math.floor(container.getBoundingClientRect().width) || 900);
}

/** "07:30" in the gate's zone, with the day ("01/07 07:30") when the chart spans more than one. */
function timeLabels(multiDay) {
    const format = new Intl.DateTimeFormat("en-GB", {
        timeZone: gateTimeZone(),
        hour: "2-digit",
        minute: "2-digit",
        hourCycle: "h23",
        ...(multiDay && { day: "2-digit", month: "2-digit" }),
    });
    return (_u, splits) => splits.map((seconds) => format.format(new Date(seconds * 1000)).replace(",", ""));
}

/**
 * The queue length of each lane group over time, as steps (a queue changes at an instant and stays):
 * `samples` [{at, laneGroup, length}], `groupLabel(group)` its name, `timeLabel` the legend's word for the
 * time. Returns the chart (destroy() on leave).
 */
export function queueChart(container, samples, { groupLabel, timeLabel, title, from, to }) {
    const groups = [...new Set(samples.map((s) => s.laneGroup))];
    const times = [...new Set(samples.map((s) => Math.floor(Date.parse(s.at) / 1000)))].sort((a, b) => a - b);
    const index = new Map(times.map((time, i) => [time, i]));
    const columns = groups.map(() => new Array(times.length).fill(null));
    for (const sample of samples) {
        columns[groups.indexOf(sample.laneGroup)][index.get(Math.floor(Date.parse(sample.at) / 1000))] = sample.length;
    }
    // Carry each group's length forward to the times another group changed.
    for (const column of columns) {
        let last = null;
        for (let i = 0; i < column.length; i++) {
            if (column[i] === null) column[i] = last;
            else last = column[i];
        }
    }
    const start = Date.parse(from) / 1000;
    const end = Date.parse(to) / 1000;
    return new uPlot(
        {
            title,
            width: widthOf(container),
            height: 260,
            tzDate: (seconds) => uPlot.tzDate(new Date(seconds * 1000), gateTimeZone()),
            scales: {
                x: { time: true, range: () => [start, end] },
                y: { range: (_u, _min, max) => [0, Math.max(1, max)] },
            },
            axes: [{ ...AXIS, values: timeLabels(end - start > 86_400) }, { ...AXIS }],
            series: [
                // The legend's name of the time (uPlot's own would be English).
                { label: timeLabel, value: (_u, seconds) => (seconds === null ? "—" : formatDateTime(seconds * 1000)) },
                ...groups.map((group, i) => ({
                    label: groupLabel(group),
                    stroke: PALETTE[i % PALETTE.length],
                    width: 2,
                    paths: uPlot.paths.stepped({ align: 1 }),
                    points: { show: false },
                })),
            ],
        },
        [times, ...columns],
        container,
    );
}

/**
 * Stage times per channel as percentile bars: for each interval (x) and channel (a bar side by side), a
 * solid bar up to the median, a lighter box from the median to the 90th percentile and a whisker to the
 * longest. `rows` [{channel, interval, medianMs, p90Ms, maxMs}]; values in minutes on the axis.
 */
export function stageChart(container, rows, { intervals, intervalLabel, channelLabel, title, valueLabel }) {
    const channels = [...new Set(rows.map((r) => r.channel))];
    const minutes = (ms) => ms / 60_000;
    const at = new Map(rows.map((r) => [`${r.channel}\u0000${r.interval}`, r]));
    const xs = intervals.map((_interval, i) => i);
    const tops = channels.map((channel) =>
        intervals.map((interval) => minutes(at.get(`${channel}\u0000${interval}`)?.maxMs ?? 0)),
    );
    const colour = (channel, i) => CHANNEL_COLOURS[channel] ?? PALETTE[i % PALETTE.length];
    const drawBars = (u) => {
        const { ctx } = u;
        const slot = Math.abs(u.valToPos(1, "x", true) - u.valToPos(0, "x", true)) || u.bbox.width;
        const barWidth = Math.max(3, (slot * 0.7) / Math.max(1, channels.length));
        const y = (value) => u.valToPos(value, "y", true);
        ctx.save();
        for (const [c, channel] of channels.entries()) {
            ctx.fillStyle = colour(channel, c);
            ctx.strokeStyle = colour(channel, c);
            ctx.lineWidth = Math.max(1, devicePixelRatio);
            for (const [i, interval] of intervals.entries()) {
                const row = at.get(`${channel}\u0000${interval}`);
                if (!row) continue;
                const left = u.valToPos(i, "x", true) - (barWidth * channels.length) / 2 + c * barWidth;
                const [median, p90, max] = [row.medianMs, row.p90Ms, row.maxMs].map((ms) => y(minutes(ms)));
                ctx.globalAlpha = 0.9;
                ctx.fillRect(left, median, barWidth - 2, y(0) - median);
                ctx.globalAlpha = 0.35;
                ctx.fillRect(left, p90, barWidth - 2, median - p90);
                ctx.globalAlpha = 1;
                const middle = left + (barWidth - 2) / 2;
                ctx.beginPath();
                ctx.moveTo(middle, p90);
                ctx.lineTo(middle, max);
                ctx.moveTo(middle - barWidth / 4, max);
                ctx.lineTo(middle + barWidth / 4, max);
                ctx.stroke();
            }
        }
        ctx.restore();
    };
    return new uPlot(
        {
            title,
            width: widthOf(container),
            height: 300,
            scales: {
                x: { time: false, range: () => [-0.5, intervals.length - 0.5] },
                y: { range: (_u, _min, max) => [0, Math.max(1, max) * 1.05] },
            },
            axes: [
                {
                    ...AXIS,
                    size: 70,
                    splits: () => xs,
                    values: (_u, splits) => splits.map((i) => (Number.isInteger(i) ? intervalLabel(intervals[i]) : "")),
                },
                { ...AXIS, label: valueLabel, size: 60 },
            ],
            cursor: { show: false },
            legend: { live: false },
            series: [
                {},
                ...channels.map((channel, c) => ({
                    label: channelLabel(channel),
                    stroke: colour(channel, c),
                    fill: colour(channel, c),
                    paths: () => null,
                    points: { show: false },
                })),
            ],
            hooks: { draw: [drawBars] },
        },
        [xs, ...tops],
        container,
    );
}
