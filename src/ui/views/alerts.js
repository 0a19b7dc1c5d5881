import { api } from "../api.js";
import { errorText, formatDateTime, h, namingTheTruck, notice, replace, setNotice } from "../dom.js";
import { code, formatNumber, has, t } from "../i18n.js";
import { reasonForm } from "./passages.js";

const STATES = ["open", "acknowledged", "all"];

/**
 * An alert in the reader's language, from its code and parameters; the stored (English) message of an
 * alert whose code the catalogue does not know.
 */
export function alertText(alert) {
    const truck = alert.plates?.length ? alert.plates.join(" / ") : t("common.thisTruck");
    const params = { truck, device: alert.deviceId ?? "" };
    for (const [name, value] of Object.entries(alert.params ?? {}))
        params[name] = typeof value === "number" ? formatNumber(value) : value;
    const key = `alertText.${alert.code}`;
    const text = has(key) ? t(key, params) : undefined;
    // An unknown code, or an event pruned from the log (its parameters gone): the stored text.
    return text === undefined || /\{\w+\}/.test(text)
        ? namingTheTruck(alert.message, alert.passageId, alert.plates)
        : text;
}

/** The alerts queue: tampered seals, weight deviations, devices offline, sync parked, disk quota … */
export function alertsView(main, ctx) {
    let state = "open";
    const status = notice("info", t("common.loading"));
    // Outside the table: the list is rebuilt on every alert, and a form being filled in must outlive that.
    const actionPanel = h("div", { class: "alert-action", dataset: { testid: "alert-action" } });
    const rows = h("tbody", {});
    const tabs = h(
        "div",
        { class: "tabs", role: "tablist" },
        STATES.map((value) =>
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
                t(`alerts.tab.${value}`),
            ),
        ),
    );
    replace(
        main,
        h(
            "section",
            { class: "panel" },
            h("h1", {}, t("nav.alerts")),
            tabs,
            status,
            actionPanel,
            h(
                "table",
                { class: "grid alerts", dataset: { testid: "alerts" } },
                h(
                    "thead",
                    {},
                    h(
                        "tr",
                        {},
                        [
                            t("field.raised"),
                            t("field.severity"),
                            t("field.alert"),
                            t("field.message"),
                            t("field.lane"),
                            t("field.device"),
                            t("field.truck"),
                            t("field.acknowledged"),
                        ].map((text) => h("th", {}, text)),
                    ),
                ),
                rows,
            ),
        ),
    );

    /** The truck's plates, linked to its passage for those who may open passages. */
    const truckOf = (alert) => {
        if (!alert.passageId) return "";
        const plates = alert.plates?.length ? alert.plates.join(" / ") : t("alerts.passage");
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
                t("alerts.acknowledgedBy", {
                    user: alert.acknowledgedBy ?? "",
                    at: formatDateTime(alert.acknowledgedAt),
                }),
                alert.note ? h("div", { class: "muted" }, alert.note) : null,
            );
        }
        const note = h("input", {
            name: "note",
            maxlength: 500,
            placeholder: t("alerts.notePlaceholder"),
            class: "small",
        });
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
                        message.textContent = t("alerts.acknowledgedNow");
                        ctx.refreshBadges();
                        setTimeout(load, 300);
                    } catch (err) {
                        message.textContent = errorText(err);
                        button.disabled = false;
                    }
                },
            },
            t("alerts.acknowledge"),
        );
        return h("td", { class: "ack" }, note, button, message, exitOpening(alert));
    };

    /**
     * At an exit point that keeps a truck, a supervisor may open its barrier by hand, with a reason: the row's
     * button opens the form in the panel above the list.
     */
    const exitOpening = (alert) => {
        const exitId = alert.params?.exitId;
        if (typeof exitId !== "string" || !ctx.can.openExit(ctx.user)) return null;
        const plate = alert.plates?.[0] ?? String(alert.params?.truck ?? "").split(" / ")[0];
        const form = () =>
            reasonForm({
                actions: [{ action: "release", label: "exit.open" }],
                submitLabel: t("exit.open"),
                testid: "exit-open",
                onSubmit: async ({ reasonCode, note }) => {
                    const answer = await api.post(`/api/v1/exits/${encodeURIComponent(exitId)}/open`, {
                        reasonCode,
                        ...(note && { note }),
                        ...(plate && plate.length <= 16 && { plate }),
                    });
                    return answer.confirmed
                        ? t("exit.opened", { exit: exitId })
                        : t("exit.notConfirmed", { exit: exitId });
                },
            });
        return h(
            "button",
            {
                type: "button",
                class: "btn",
                dataset: { testid: "exit-open-button" },
                onclick: () =>
                    replace(actionPanel, h("h2", {}, t("exit.openFor", { exit: exitId, truck: plate || "—" })), form()),
            },
            t("exit.open"),
        );
    };

    async function load() {
        try {
            const { alerts } = await api.get(`/api/v1/alerts?state=${state}`);
            status.hidden = (alerts ?? []).length > 0;
            if (!status.hidden) setNotice(status, "info", state === "open" ? t("alerts.noneOpen") : t("alerts.none"));
            replace(
                rows,
                (alerts ?? []).map((a) =>
                    h(
                        "tr",
                        { class: `severity-${a.severity}`, dataset: { alert: a.id, code: a.code } },
                        h("td", { class: "when" }, formatDateTime(a.raisedAt)),
                        h("td", {}, h("span", { class: ["chip", `sev-${a.severity}`] }, code("severity", a.severity))),
                        h("td", { class: "strong", title: a.code ?? "" }, code("alert", a.code)),
                        h(
                            "td",
                            { dataset: { testid: "alert-message" } },
                            alertText(a),
                            a.clearedAt
                                ? h(
                                      "div",
                                      { class: "muted small" },
                                      t("alerts.cleared", { at: formatDateTime(a.clearedAt) }),
                                  )
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
