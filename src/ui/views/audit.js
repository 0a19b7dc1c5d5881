import { api, query } from "../api.js";
import { errorText, formatDateTime, h, notice, replace, setNotice } from "../dom.js";
import { code, formatNumber, t } from "../i18n.js";

const PAGE = 200;

function chainLine(name, result) {
    if (!result) return h("li", {}, `${t(`audit.chain.${name}`)}: —`);
    return h(
        "li",
        { class: result.ok ? "good" : "bad", dataset: { chain: name, ok: String(Boolean(result.ok)) } },
        h("strong", {}, result.ok ? t("audit.intact") : t("audit.broken")),
        " ",
        t("audit.checked", { chain: t(`audit.chain.${name}`), count: formatNumber(result.checked ?? 0) }),
        result.ok || !result.firstBroken
            ? ""
            : t("audit.firstBroken", { seq: result.firstBroken.seq ?? "?", reason: result.firstBroken.reason ?? "" }),
    );
}

/** The audit log (who did what, allowed or denied) and the hash-chain check of events and audit. */
export function auditView(main, _ctx) {
    const verifyStatus = notice("info", t("audit.checking"));
    const chains = h("ul", { class: "chains", dataset: { testid: "chain-check" } });
    const status = notice("info", t("common.loading"));
    const rows = h("tbody", {});
    // Newest first: what happened last is what an auditor looks for on a busy gate.
    let before;
    const more = h("button", { type: "button", class: "btn", onclick: () => load() }, t("audit.older"));
    const verifyButton = h("button", { type: "button", class: "btn", onclick: () => verify() }, t("audit.again"));
    replace(
        main,
        h("section", { class: "panel" }, h("h1", {}, t("audit.chainTitle")), verifyStatus, chains, verifyButton),
        h(
            "section",
            { class: "panel" },
            h("h1", {}, t("audit.title")),
            status,
            h(
                "table",
                { class: "grid audit", dataset: { testid: "audit" } },
                h(
                    "thead",
                    {},
                    h(
                        "tr",
                        {},
                        [
                            t("field.seq"),
                            t("field.time"),
                            t("field.user"),
                            t("field.role"),
                            t("field.action"),
                            t("field.target"),
                            t("field.outcome"),
                            t("field.ip"),
                            t("field.detail"),
                        ].map((text) => h("th", {}, text)),
                    ),
                ),
                rows,
            ),
            more,
        ),
    );

    async function verify() {
        verifyButton.disabled = true;
        setNotice(verifyStatus, "info", t("audit.checking"));
        verifyStatus.hidden = false;
        try {
            const result = await api.get("/api/v1/audit/verify");
            verifyStatus.hidden = true;
            replace(chains, chainLine("events", result.events), chainLine("audit", result.audit));
        } catch (err) {
            setNotice(verifyStatus, "error", errorText(err));
        } finally {
            verifyButton.disabled = false;
        }
    }

    async function load() {
        try {
            const { entries } = await api.get(`/api/v1/audit${query({ order: "desc", before, limit: PAGE })}`);
            status.hidden = true;
            for (const e of entries ?? []) {
                rows.appendChild(
                    h(
                        "tr",
                        { class: `outcome-${e.outcome}`, dataset: { seq: String(e.seq) } },
                        h("td", { class: "num" }, String(e.seq)),
                        h("td", { class: "when" }, formatDateTime(e.at)),
                        h("td", {}, e.user ?? ""),
                        h("td", {}, code("role", e.role)),
                        h("td", { title: e.action ?? "" }, code("auditAction", e.action)),
                        h("td", { class: "mono target" }, e.target ?? ""),
                        h(
                            "td",
                            {},
                            h("span", { class: ["chip", `audit-${e.outcome}`] }, code("auditOutcome", e.outcome)),
                        ),
                        h("td", { class: "mono ip" }, e.ip ?? ""),
                        detailCell(e.detail),
                    ),
                );
                before = Math.min(before ?? Number.POSITIVE_INFINITY, Number(e.seq) || 0);
            }
            more.hidden = (entries ?? []).length < PAGE;
            if (rows.children.length === 0) {
                status.hidden = false;
                setNotice(status, "info", t("audit.empty"));
            }
        } catch (err) {
            status.hidden = false;
            setNotice(status, "error", errorText(err));
        }
    }
    verify();
    load();
}

/** A request's detail on one line, cut with an ellipsis to keep the table on the screen; whole in its tooltip. */
function detailCell(detail) {
    const text =
        detail === undefined || detail === null ? "" : typeof detail === "string" ? detail : JSON.stringify(detail);
    return h("td", { class: "small detail" }, h("span", { class: "ellipsis", title: text || undefined }, text));
}
