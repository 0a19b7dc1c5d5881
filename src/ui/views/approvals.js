import { api } from "../api.js";
import { errorText, formatDateTime, h, notice, replace, setNotice } from "../dom.js";
import { code, t } from "../i18n.js";
import { channelChip } from "./lanes.js";
import { reasonForm } from "./passages.js";

function plateTexts(plates) {
    if (!plates) return [];
    if (Array.isArray(plates)) return plates.map((p) => (typeof p === "string" ? p : (p?.text ?? ""))).filter(Boolean);
    return ["front", "rear"].map((pos) => plates[pos]?.text).filter(Boolean);
}

/**
 * Releases waiting for a supervisor (RED channel, watch list): the four-eyes step. The API refuses an
 * approval by the officer who asked (409 FOUR_EYES); the message says so.
 */
export function approvalsView(main, ctx) {
    const status = notice("info", t("common.loading"));
    const list = h("div", { class: "approvals", dataset: { testid: "approvals" } });
    replace(main, h("section", { class: "panel" }, h("h1", {}, t("nav.approvals")), status, list));

    // Cards decided here stay (greyed, with their outcome) until the page is left.
    const decided = new Map();
    const load = async () => {
        try {
            const { approvals } = await api.get("/api/v1/approvals");
            const open = (approvals ?? []).filter((a) => !decided.has(a.passageId));
            if (open.length === 0) {
                status.hidden = false;
                setNotice(status, "info", t("approvals.none"));
            } else status.hidden = true;
            replace(list, open.map(card), [...decided.values()]);
        } catch (err) {
            status.hidden = false;
            setNotice(status, "error", errorText(err));
        }
    };

    const card = (a) => {
        const el = h(
            "article",
            { class: "approval", dataset: { passage: a.passageId } },
            h(
                "div",
                { class: "approval-head" },
                h("span", { class: "plate-text big" }, plateTexts(a.plates).join(" / ") || "—"),
                channelChip(a.channel),
                a.watchListed ? h("span", { class: "chip chip-bad" }, t("approvals.watchList")) : null,
                h("span", { class: "muted" }, t("approvals.lane", { lane: a.laneId ?? "?" })),
            ),
            h(
                "p",
                {},
                t("approvals.requestedBy"),
                " ",
                h("strong", {}, a.requestedBy ?? "?"),
                " ",
                t("approvals.requestedAt", { at: formatDateTime(a.requestedAt) }),
                " — ",
                h("span", { class: "mono", title: code("reasonCode", a.reasonCode) }, a.reasonCode ?? ""),
                a.note ? h("span", {}, ` — “${a.note}”`) : null,
            ),
            h("p", {}, h("a", { href: `#/passages/${encodeURIComponent(a.passageId)}` }, t("lanes.passageDetail"))),
            reasonForm({
                actions: [
                    { action: "approve", label: "approvals.approve" },
                    { action: "reject", label: "approvals.reject" },
                ],
                // Approving takes a release reason; rejecting keeps the truck, so a hold or divert reason.
                codesFor: (action) => (action === "approve" ? ["release"] : ["hold", "divert"]),
                submitLabel: t("approvals.decide"),
                testid: "approval-form",
                onSubmit: async ({ action, reasonCode, note }) => {
                    // Kept while the answer is on its way: the stream's "resolved" may arrive first and reload.
                    decided.set(a.passageId, el);
                    try {
                        await api.post(`/api/v1/approvals/${encodeURIComponent(a.passageId)}/${action}`, {
                            reasonCode,
                            ...(note && { note }),
                        });
                    } catch (err) {
                        decided.delete(a.passageId);
                        throw err;
                    }
                    el.classList.add("done");
                    for (const control of el.querySelectorAll("select, textarea, button")) control.disabled = true;
                    ctx.refreshBadges();
                    return action === "approve" ? t("approvals.approved") : t("approvals.rejected");
                },
            }),
        );
        return el;
    };

    load();
    const offs = [ctx.subscribe("approval", () => load()), ctx.subscribe("open", load)];
    return () => {
        for (const off of offs) off();
    };
}
