import { api } from "../api.js";
import { errorText, formatDateTime, h, namingTheTruck, notice, replace, setNotice } from "../dom.js";

const STATES = [
    ["open", "Open"],
    ["acknowledged", "Acknowledged"],
    ["all", "All"],
];

/** The alerts queue: tampered seals, weight deviations, devices offline, sync parked, disk quota … */
export function alertsView(main, ctx) {
    let state = "open";
    const status = notice("info", "Loading…");
    const rows = h("tbody", {});
    const tabs = h(
        "div",
        { class: "tabs", role: "tablist" },
        STATES.map(([value, label]) =>
            h(
                "button",
                {
                    type: "button",
                    role: "tab",
                    class: "tab",
                    dataset: { state: value },
                    "aria-selected": String(value === state),
                    onclick: () => {
                        state = value;
                        for (const tab of tabs.children)
                            tab.setAttribute("aria-selected", String(tab.dataset.state === state));
                        load();
                    },
                },
                label,
            ),
        ),
    );
    replace(
        main,
        h(
            "section",
            { class: "panel" },
            h("h1", {}, "Alerts"),
            tabs,
            status,
            h(
                "table",
                { class: "grid alerts", dataset: { testid: "alerts" } },
                h(
                    "thead",
                    {},
                    h(
                        "tr",
                        {},
                        ["Raised", "Severity", "Alert", "Message", "Lane", "Device", "Truck", "Acknowledged"].map((t) =>
                            h("th", {}, t),
                        ),
                    ),
                ),
                rows,
            ),
        ),
    );

    /** The truck's plates, linked to its passage for those who may open passages. */
    const truckOf = (alert) => {
        if (!alert.passageId) return "";
        const plates = alert.plates?.length ? alert.plates.join(" / ") : "passage";
        if (!ctx.allowed("passages")) return h("span", { class: "plate-inline" }, plates);
        return h(
            "a",
            {
                class: "plate-inline",
                href: `#/passages/${encodeURIComponent(alert.passageId)}`,
                title: alert.passageId,
            },
            plates,
        );
    };

    const ackCell = (alert) => {
        if (alert.acknowledgedAt) {
            return h(
                "td",
                {},
                `${alert.acknowledgedBy ?? ""} ${formatDateTime(alert.acknowledgedAt)}`,
                alert.note ? h("div", { class: "muted" }, alert.note) : null,
            );
        }
        const note = h("input", { name: "note", maxlength: 500, placeholder: "note", class: "small" });
        const message = h("span", { class: "muted" });
        const button = h(
            "button",
            {
                type: "button",
                class: "btn",
                onclick: async () => {
                    button.disabled = true;
                    try {
                        await api.post(`/api/v1/alerts/${encodeURIComponent(alert.id)}/ack`, {
                            ...(note.value.trim() && { note: note.value.trim() }),
                        });
                        message.textContent = "acknowledged";
                        ctx.refreshBadges();
                        setTimeout(load, 300);
                    } catch (err) {
                        message.textContent = errorText(err);
                        button.disabled = false;
                    }
                },
            },
            "Acknowledge",
        );
        return h("td", { class: "ack" }, note, button, message);
    };

    async function load() {
        try {
            const { alerts } = await api.get(`/api/v1/alerts?state=${state}`);
            status.hidden = (alerts ?? []).length > 0;
            if (!status.hidden) setNotice(status, "info", state === "open" ? "No open alert." : "No alert.");
            replace(
                rows,
                (alerts ?? []).map((a) =>
                    h(
                        "tr",
                        { class: `severity-${a.severity}`, dataset: { alert: a.id, code: a.code } },
                        h("td", { class: "when" }, formatDateTime(a.raisedAt)),
                        h("td", {}, h("span", { class: ["chip", `sev-${a.severity}`] }, a.severity ?? "")),
                        h("td", { class: "mono strong" }, a.code ?? ""),
                        h(
                            "td",
                            {},
                            namingTheTruck(a.message, a.passageId, a.plates),
                            a.clearedAt
                                ? h("div", { class: "muted small" }, `cleared ${formatDateTime(a.clearedAt)}`)
                                : null,
                        ),
                        h("td", {}, a.laneId ?? ""),
                        h("td", { class: "mono" }, a.deviceId ?? ""),
                        h("td", { dataset: { testid: "alert-truck" } }, truckOf(a)),
                        ackCell(a),
                    ),
                ),
            );
        } catch (err) {
            status.hidden = false;
            setNotice(status, "error", errorText(err));
        }
    }
    load();
    let timer;
    const later = () => {
        clearTimeout(timer);
        timer = setTimeout(load, 300);
    };
    const offs = [ctx.subscribe("alert", later), ctx.subscribe("open", later)];
    return () => {
        clearTimeout(timer);
        for (const off of offs) off();
    };
}
