import { api, query } from "../api.js";
import { queueChart, stageChart } from "../charts.js";
import { elapsed, errorText, h, notice, replace, setNotice } from "../dom.js";
import { code, datePattern, dayBoundary, formatDateTime, formatNumber, gateTimeZone, t } from "../i18n.js";
import { GOODS_KEYS, GROUP_KEYS, yardTabs } from "./yardTabs.js";

/** The visit's stages (src/yard/types.ts VISIT_STAGES), each with its word and a short one for the chart. */
const STAGES = {
    arrived: ["timeRelease.stageArrived", "timeRelease.shortArrived"],
    called: ["timeRelease.stageCalled", "timeRelease.shortCalled"],
    laneEntered: ["timeRelease.stageLaneEntered", "timeRelease.shortLaneEntered"],
    decided: ["timeRelease.stageDecided", "timeRelease.shortDecided"],
    inspectionStarted: ["timeRelease.stageInspectionStarted", "timeRelease.shortInspectionStarted"],
    inspectionEnded: ["timeRelease.stageInspectionEnded", "timeRelease.shortInspectionEnded"],
    released: ["timeRelease.stageReleased", "timeRelease.shortReleased"],
    exited: ["timeRelease.stageExited", "timeRelease.shortExited"],
};
const STAGE_ORDER = Object.keys(STAGES);
/** The report's name of the whole visit (src/yard/report.ts WHOLE_VISIT). */
const WHOLE_VISIT = "visit";

/** "Arrived at the yard → Called" (or the short words for the chart's axis); the whole visit by its name. */
function intervalLabel(interval, short = false) {
    if (interval === WHOLE_VISIT) return t(short ? "timeRelease.shortVisit" : "timeRelease.wholeVisit");
    return interval
        .split("→")
        .map((stage) => (STAGES[stage] ? t(STAGES[stage][short ? 1 : 0]) : stage))
        .join(" → ");
}

function intervalRank(interval) {
    if (interval === WHOLE_VISIT) return STAGE_ORDER.length ** 2;
    const [from, to] = interval.split("→");
    return STAGE_ORDER.indexOf(from) * STAGE_ORDER.length + STAGE_ORDER.indexOf(to);
}

/** A channel's word; a visit not yet decided has none. */
const channelWord = (channel) => (channel ? code("channel", channel) : t("timeRelease.noChannel"));
/** "1:02:09" for a stage's time. */
const duration = (ms) => elapsed(0, ms);

/** Today in the gate's zone, as the date fields are typed ("07/12/2026"). */
function today() {
    const p = Object.fromEntries(
        new Intl.DateTimeFormat("en-GB", {
            timeZone: gateTimeZone(),
            day: "2-digit",
            month: "2-digit",
            year: "numeric",
        })
            .formatToParts(new Date())
            .map((part) => [part.type, part.value]),
    );
    return `${p.day}/${p.month}/${p.year}`;
}

/**
 * The Time release page (WCO Time Release Study, issue 19): for the days chosen, the queue length of each
 * lane group over time, each stage's time per channel as percentile bars, and the table of count, median,
 * 90th percentile and longest per channel, lane and goods class, with its CSV.
 */
export function timeReleaseView(main) {
    const status = notice("info", t("common.loading"));
    const from = h("input", {
        name: "from",
        value: today(),
        placeholder: datePattern(),
        maxlength: 10,
        inputmode: "numeric",
    });
    const to = h("input", {
        name: "to",
        value: today(),
        placeholder: datePattern(),
        maxlength: 10,
        inputmode: "numeric",
    });
    const csv = h("a", { class: "btn", dataset: { testid: "csv-link" }, download: "" }, t("timeRelease.csv"));
    csv.hidden = true;
    const queueCsv = h(
        "a",
        { class: "btn", dataset: { testid: "queue-csv-link" }, download: "" },
        t("timeRelease.queueCsv"),
    );
    queueCsv.hidden = true;
    const summary = h("p", { class: "muted", dataset: { testid: "summary" } });
    const queueBox = h("div", { class: "chart", dataset: { testid: "queue-chart" } });
    const stageBox = h("div", { class: "chart", dataset: { testid: "stage-chart" } });
    const table = h("div", { dataset: { testid: "report-table" } });
    let charts = [];
    const dropCharts = () => {
        for (const chart of charts) chart.destroy();
        charts = [];
    };
    const label = (text, input) => h("label", { class: "field" }, h("span", {}, text), input);
    const form = h(
        "form",
        {
            class: "search",
            dataset: { testid: "report-form" },
            onsubmit: (event) => {
                event.preventDefault();
                load();
            },
        },
        label(t("search.from"), from),
        label(t("search.to"), to),
        h("button", { type: "submit", class: "btn btn-primary" }, t("timeRelease.show")),
        csv,
        queueCsv,
    );
    replace(
        main,
        h(
            "section",
            { class: "panel" },
            yardTabs("timerelease"),
            h("h1", {}, t("nav.timerelease")),
            h("p", { class: "muted" }, t("timeRelease.intro", { zone: gateTimeZone() })),
            form,
            status,
            summary,
            h("h2", {}, t("timeRelease.queueTitle")),
            queueBox,
            h("h2", {}, t("timeRelease.stageTitle")),
            h("p", { class: "muted" }, t("timeRelease.stageLegend")),
            stageBox,
            h("h2", {}, t("timeRelease.tableTitle")),
            table,
        ),
    );

    async function load() {
        const range = {};
        for (const [name, input, endOfDay] of [
            ["from", from, false],
            ["to", to, true],
        ]) {
            const at = dayBoundary(input.value, endOfDay);
            if (!at) {
                status.hidden = false;
                setNotice(status, "error", t("search.badDate", { text: input.value, pattern: datePattern() }));
                return;
            }
            // The report's `to` is exclusive: the end of the last day chosen is the next one's first instant.
            range[name] = endOfDay ? new Date(Date.parse(at) + 1).toISOString() : at;
        }
        status.hidden = false;
        setNotice(status, "info", t("common.loading"));
        try {
            const report = await api.get(`/api/v1/reports/time-release${query(range)}`);
            csv.href = `/api/v1/reports/time-release${query({ ...range, format: "csv" })}`;
            csv.hidden = false;
            queueCsv.href = `/api/v1/reports/time-release${query({ ...range, format: "csv", table: "queue" })}`;
            queueCsv.hidden = false;
            status.hidden = report.visits > 0;
            setNotice(status, "info", t("timeRelease.none"));
            summary.textContent = t("timeRelease.summary", {
                count: formatNumber(report.visits),
                from: formatDateTime(report.from),
                to: formatDateTime(report.to),
            });
            show(report);
        } catch (err) {
            status.hidden = false;
            setNotice(status, "error", errorText(err));
        }
    }

    function show(report) {
        dropCharts();
        replace(queueBox);
        replace(stageBox);
        if (report.queue.length > 0) {
            charts.push(
                queueChart(queueBox, report.queue, {
                    title: t("timeRelease.queueAxis"),
                    groupLabel: (group) => t(GROUP_KEYS[group] ?? group),
                    timeLabel: t("timeRelease.queueTime"),
                    from: report.from,
                    to: report.to,
                }),
            );
        } else queueBox.append(h("p", { class: "muted" }, t("timeRelease.noQueue")));
        const intervals = [...new Set(report.byChannel.map((r) => r.interval))].sort(
            (a, b) => intervalRank(a) - intervalRank(b),
        );
        if (intervals.length > 0) {
            charts.push(
                stageChart(stageBox, report.byChannel, {
                    intervals,
                    title: t("timeRelease.stageAxis"),
                    intervalLabel: (interval) => intervalLabel(interval, true),
                    channelLabel: channelWord,
                    valueLabel: t("timeRelease.minutes"),
                }),
            );
        }
        replace(table, reportTable(report.rows));
    }

    load();
    return dropCharts;
}

function reportTable(rows) {
    if (rows.length === 0) return null;
    return h(
        "table",
        { class: "table" },
        h(
            "thead",
            {},
            h(
                "tr",
                {},
                ...[
                    "timeRelease.channel",
                    "timeRelease.lane",
                    "timeRelease.goods",
                    "timeRelease.interval",
                    "timeRelease.count",
                    "timeRelease.median",
                    "timeRelease.p90",
                    "timeRelease.max",
                ].map((key) => h("th", {}, t(key))),
            ),
        ),
        h(
            "tbody",
            {},
            rows.map((row) =>
                h(
                    "tr",
                    { dataset: { interval: row.interval }, class: row.interval === WHOLE_VISIT ? "total" : undefined },
                    h("td", {}, channelWord(row.channel)),
                    h("td", {}, row.laneId || "—"),
                    h("td", {}, t(GOODS_KEYS[row.goodsClass] ?? row.goodsClass)),
                    h("td", {}, intervalLabel(row.interval)),
                    h("td", { class: "num" }, formatNumber(row.count)),
                    h("td", { class: "num" }, duration(row.medianMs)),
                    h("td", { class: "num" }, duration(row.p90Ms)),
                    h("td", { class: "num" }, duration(row.maxMs)),
                ),
            ),
        ),
    );
}
