import { api } from "../api.js";
import { errorText, h, notice, replace, setNotice, ticker } from "../dom.js";
import { formatDateTime, formatNumber, t } from "../i18n.js";
import { GOODS_KEYS, GROUP_KEYS, yardTabs } from "./yardTabs.js";

const POLICY_KEYS = {
    fifo: "yard.policyFifo",
    slot: "yard.policySlot",
    perishablesFirst: "yard.policyPerishablesFirst",
};
/** The reasons an officer may move a truck (src/yard/yard.ts REORDER_REASONS), each with its words. */
const REORDER_REASON_KEYS = {
    PERISHABLE_URGENT: "yard.reasonPerishableUrgent",
    LIVE_ANIMALS: "yard.reasonLiveAnimals",
    HUMANITARIAN: "yard.reasonHumanitarian",
    CARRIER_DELAY: "yard.reasonCarrierDelay",
    OFFICER_PRIORITY: "yard.reasonOfficerPriority",
    QUEUE_CORRECTION: "yard.reasonQueueCorrection",
};
const DWELL_KEYS = { ok: "yard.dwellOk", approaching: "yard.dwellApproaching", exceeded: "yard.dwellExceeded" };
/** The yard changes by the minute; the page asks again this often (the stream carries lanes, not the yard). */
const REFRESH_MS = 5_000;

const plates = (visit) => [visit.tractorPlate, visit.trailerPlate].filter(Boolean).join(" / ");

function dwellChip(visit) {
    const kind = visit.dwell === "exceeded" ? "chip-bad" : visit.dwell === "approaching" ? "chip-warn" : "chip-good";
    return h(
        "span",
        { class: `chip ${kind}`, dataset: { testid: "dwell" } },
        t(DWELL_KEYS[visit.dwell] ?? "yard.dwellOk"),
    );
}

function slotText(visit) {
    if (!visit.slot) return "—";
    return t("yard.slotRange", { from: formatDateTime(visit.slot.from), to: formatDateTime(visit.slot.to) });
}

/** A lane group's waiting trucks in call order: the first the API sent, and how many more wait behind them. */
function queueTable(group) {
    if (group.queue.length === 0) return h("p", { class: "muted" }, t("yard.queueEmpty"));
    const more = group.waiting - group.queue.length;
    const table = h(
        "table",
        { class: "table", dataset: { testid: "queue", group: group.laneGroup } },
        h(
            "thead",
            {},
            h(
                "tr",
                {},
                h("th", {}, t("yard.position")),
                h("th", {}, t("yard.truck")),
                h("th", {}, t("timeRelease.goods")),
                h("th", {}, t("yard.slot")),
                h("th", {}, t("yard.arrived")),
                h("th", {}, t("yard.waiting")),
                h("th", {}, t("yard.noShows")),
            ),
        ),
        h(
            "tbody",
            {},
            group.queue.map((visit, index) =>
                h(
                    "tr",
                    { dataset: { visit: visit.visitId } },
                    h("td", { class: "num" }, formatNumber(visit.queuePosition ?? index + 1)),
                    h("td", { class: "plate-text" }, plates(visit)),
                    h("td", {}, t(GOODS_KEYS[visit.goodsClass] ?? visit.goodsClass)),
                    h("td", {}, slotText(visit)),
                    h("td", {}, formatDateTime(visit.stages.arrived)),
                    h("td", {}, ticker(visit.stages.arrived), " ", dwellChip(visit)),
                    h("td", { class: "num" }, formatNumber(visit.noShows)),
                ),
            ),
        ),
    );
    if (more <= 0) return table;
    return [
        table,
        h(
            "p",
            { class: "muted", dataset: { testid: "more-waiting" } },
            t("yard.moreWaiting", { count: formatNumber(more) }),
        ),
    ];
}

/** Trucks called and on their way, each with its lane, and the group's lanes free or busy. */
function calledList(group) {
    const items = group.called.map((visit) =>
        h(
            "li",
            { dataset: { testid: "called", visit: visit.visitId } },
            h("span", { class: "plate-text" }, plates(visit)),
            " → ",
            h("strong", {}, t("yard.toLane", { lane: visit.laneId ?? "—" })),
            " ",
            h("span", { class: "muted" }, t("yard.calledAt", { at: formatDateTime(visit.stages.called) })),
        ),
    );
    const lanes = group.lanes.map((lane) =>
        h(
            "span",
            { class: `chip ${lane.free ? "chip-good" : ""}`, dataset: { testid: "lane", lane: lane.laneId } },
            t(lane.free ? "yard.laneFree" : "yard.laneBusy", { lane: lane.laneId }),
        ),
    );
    return [
        h("h3", {}, t("yard.called")),
        items.length > 0 ? h("ul", { class: "called" }, items) : h("p", { class: "muted" }, t("yard.noneCalled")),
        h("p", { class: "lane-chips" }, lanes),
    ];
}

function dwellList(warnings, total) {
    if (warnings.length === 0) return h("p", { class: "muted" }, t("yard.noDwellWarnings"));
    const more = total - warnings.length;
    const list = h(
        "ul",
        { class: "dwell-warnings" },
        warnings.map((visit) =>
            h(
                "li",
                { dataset: { testid: "dwell-warning", visit: visit.visitId } },
                dwellChip(visit),
                " ",
                h("span", { class: "plate-text" }, plates(visit)),
                " — ",
                t("yard.inYardFor"),
                " ",
                ticker(visit.stages.arrived),
                " ",
                h("span", { class: "muted" }, t(GROUP_KEYS[visit.laneGroup] ?? visit.laneGroup)),
            ),
        ),
    );
    if (more <= 0) return list;
    return [list, h("p", { class: "muted" }, t("yard.moreDwellWarnings", { count: formatNumber(more) }))];
}

/** Why an officer ends a visit still in the yard (src/yard/yard.ts CANCEL_REASONS), each with its words. */
const CANCEL_REASON_KEYS = {
    DRIVER_LEFT: "yard.cancelDriverLeft",
    DUPLICATE_VISIT: "yard.cancelDuplicateVisit",
    WRONG_GATE: "yard.cancelWrongGate",
    NOT_A_TRUCK: "yard.cancelNotATruck",
    OFFICER_DECISION: "yard.cancelOfficerDecision",
};

/**
 * An officer's action on a truck in the yard, with its reason (the API audits it): the truck (from the last
 * refresh's `trucks(view)`; the one chosen stays chosen while it is there), the action's own fields, the
 * reason, and a button. `send(visitId, reasonCode, fields)` posts it.
 */
function visitActionForm({ testid, reasons, fields = [], submitKey, doneKey, trucks, send, onDone }) {
    const visit = h("select", { name: "visitId", required: true });
    const update = (view) => {
        const chosen = visit.value;
        replace(
            visit,
            h("option", { value: "" }, t("yard.chooseTruck")),
            trucks(view).map((v) =>
                h(
                    "option",
                    { value: v.visitId, selected: v.visitId === chosen },
                    t("yard.queuedTruck", {
                        truck: plates(v),
                        group: t(GROUP_KEYS[v.laneGroup] ?? v.laneGroup),
                        position: v.queuePosition ?? "—",
                    }),
                ),
            ),
        );
    };
    const reason = h(
        "select",
        { name: "reasonCode", required: true },
        h("option", { value: "" }, t("yard.chooseReason")),
        Object.entries(reasons).map(([code, key]) => h("option", { value: code }, t(key))),
    );
    const message = notice("info", "");
    message.hidden = true;
    const submit = h("button", { type: "submit", class: "btn btn-primary" }, t(submitKey));
    const form = h(
        "form",
        {
            class: "action-form",
            dataset: { testid },
            onsubmit: async (event) => {
                event.preventDefault();
                submit.disabled = true;
                try {
                    await send(visit.value, reason.value);
                    message.hidden = false;
                    setNotice(message, "ok", t(doneKey));
                    onDone();
                } catch (err) {
                    message.hidden = false;
                    setNotice(message, "error", errorText(err));
                } finally {
                    submit.disabled = false;
                }
            },
        },
        h("label", { class: "field" }, h("span", {}, t("yard.truck")), visit),
        fields,
        h("label", { class: "field" }, h("span", {}, t("yard.reason")), reason),
        submit,
        message,
    );
    return { form, update };
}

/** An officer moves a waiting truck to another place in its queue. */
function reorderForm(onDone) {
    const position = h("input", { name: "position", type: "number", min: 1, required: true, value: "1" });
    return visitActionForm({
        testid: "reorder-form",
        reasons: REORDER_REASON_KEYS,
        fields: [h("label", { class: "field" }, h("span", {}, t("yard.newPosition")), position)],
        submitKey: "yard.reorder",
        doneKey: "yard.reordered",
        trucks: (view) => view.groups.flatMap((group) => group.queue),
        send: (visitId, reasonCode) =>
            api.post("/api/v1/yard/reorder", { visitId, position: Number(position.value), reasonCode }),
        onDone,
    });
}

/** An officer ends the visit of a truck still in the yard (waiting, or called and not come). */
function cancelForm(onDone) {
    return visitActionForm({
        testid: "cancel-form",
        reasons: CANCEL_REASON_KEYS,
        submitKey: "yard.cancel",
        doneKey: "yard.cancelled",
        trucks: (view) => view.groups.flatMap((group) => [...group.called, ...group.queue]),
        send: (visitId, reasonCode) => api.post(`/api/v1/visits/${encodeURIComponent(visitId)}/cancel`, { reasonCode }),
        onDone,
    });
}

/**
 * The Yard page (issue 19): each lane group's queue in call order, the trucks called and their lanes, the
 * trucks near or over their dwell limit, and for an officer the form that reorders a queue.
 */
export function yardView(main, ctx) {
    const status = notice("info", t("common.loading"));
    const head = h("p", { class: "muted", dataset: { testid: "yard-policy" } });
    const groups = h("div", { dataset: { testid: "yard-groups" } });
    const dwell = h("div", { dataset: { testid: "dwell-warnings" } });
    const actions = h("div");
    replace(
        main,
        h(
            "section",
            { class: "panel" },
            yardTabs("yard"),
            h("h1", {}, t("nav.yard")),
            status,
            head,
            groups,
            h("h2", {}, t("yard.dwellTitle")),
            dwell,
            actions,
        ),
    );
    // Built once, so a refresh does not wipe what the officer is typing.
    const forms = ctx.can.act(ctx.user) ? [reorderForm(() => load()), cancelForm(() => load())] : [];
    if (forms.length > 0)
        replace(
            actions,
            h("h2", {}, t("yard.reorderTitle")),
            forms[0].form,
            h("h2", {}, t("yard.cancelTitle")),
            forms[1].form,
        );
    const load = async () => {
        try {
            const view = await api.get("/api/v1/yard");
            status.hidden = true;
            head.textContent = t("yard.policy", {
                policy: t(POLICY_KEYS[view.policy] ?? "yard.policyFifo"),
                at: formatDateTime(view.gateTime),
            });
            replace(
                groups,
                view.groups.map((group) =>
                    h(
                        "section",
                        { class: "yard-group", dataset: { group: group.laneGroup } },
                        h(
                            "h2",
                            {},
                            t("yard.groupTitle", {
                                group: t(GROUP_KEYS[group.laneGroup] ?? group.laneGroup),
                                count: formatNumber(group.waiting),
                            }),
                        ),
                        queueTable(group),
                        ...calledList(group),
                    ),
                ),
            );
            replace(dwell, dwellList(view.dwellWarnings, view.dwellWarningCount));
            for (const form of forms) form.update(view);
        } catch (err) {
            status.hidden = false;
            setNotice(status, "error", errorText(err));
        }
    };
    load();
    const timer = setInterval(load, REFRESH_MS);
    return () => clearInterval(timer);
}
