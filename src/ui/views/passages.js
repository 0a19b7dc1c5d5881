import { api, query } from "../api.js";
import { errorText, formatDateTime, h, kg, namingTheTruck, notice, replace, setNotice } from "../dom.js";
import { code, datePattern, dayBoundary, formatNumber, has, t } from "../i18n.js";
import { channelChip, decisionClass, imageUrl, reasonText, verdict, verdictBanner } from "./lanes.js";

const ACTIONS = ["confirm", "hold", "release", "divert"].map((action) => ({ action, label: `action.${action}` }));

// The list and the detail may carry plates as {front, rear} or as a list, a decision as a word or an
// object: these read either.
function plateTexts(plates) {
    if (!plates) return [];
    if (Array.isArray(plates)) return plates.map((p) => (typeof p === "string" ? p : (p?.text ?? ""))).filter(Boolean);
    return ["front", "rear"].map((pos) => plates[pos]?.text).filter(Boolean);
}

function outcomeOf(decision) {
    if (!decision) return undefined;
    return typeof decision === "string" ? decision : decision.outcome;
}

function declarationNumbers(passage) {
    const d = passage.declaration ?? passage.declarations;
    if (!d) return [];
    if (Array.isArray(d)) return d.map((x) => (typeof x === "string" ? x : x?.number)).filter(Boolean);
    if (typeof d === "string") return [d];
    return d.number ? [d.number] : [];
}

function containerNumbers(passage) {
    return (passage.containers ?? []).map((c) => (typeof c === "string" ? c : c?.number)).filter(Boolean);
}

function decisionBadge(decision) {
    const outcome = outcomeOf(decision);
    return h(
        "span",
        { class: ["badge-decision", decisionClass(outcome)], dataset: { outcome: outcome ?? "" } },
        outcome ? code("outcome", outcome) : "—",
    );
}

/** The passage history: search by plate, declaration, container, date and decision. */
export function passagesView(main, _ctx) {
    const params = new URLSearchParams(location.hash.split("?")[1] ?? "");
    const field = (name, label, attrs = {}) =>
        h(
            "label",
            { class: "field" },
            h("span", {}, label),
            h("input", { name, value: params.get(name) ?? "", ...attrs }),
        );
    const decision = h(
        "select",
        { name: "decision" },
        ["", "RELEASE", "HOLD", "INSPECT", "REJECT"].map((d) =>
            h("option", { value: d, selected: params.get("decision") === d }, d ? code("outcome", d) : t("search.any")),
        ),
    );
    const status = notice("info", "");
    status.hidden = true;
    const results = h("tbody", {});
    const form = h(
        "form",
        {
            class: "search",
            role: "search",
            onsubmit: (event) => {
                event.preventDefault();
                search();
            },
        },
        field("plate", t("field.plate"), { placeholder: "15C12345", maxlength: 32, autocomplete: "off" }),
        field("declaration", t("field.declaration"), {
            placeholder: t("search.declarationHint"),
            maxlength: 12,
            inputmode: "numeric",
        }),
        field("container", t("field.container"), { placeholder: "ABCU1234565", maxlength: 11 }),
        // Days in the language's order and the gate's zone: a browser's own date field shows its locale's order.
        field("from", t("search.from"), { placeholder: datePattern(), maxlength: 10, inputmode: "numeric" }),
        field("to", t("search.to"), { placeholder: datePattern(), maxlength: 10, inputmode: "numeric" }),
        h("label", { class: "field" }, h("span", {}, t("field.decision")), decision),
        h("button", { type: "submit", class: "btn btn-primary" }, t("search.submit")),
    );
    replace(
        main,
        h(
            "section",
            { class: "panel" },
            h("h1", {}, t("nav.passages")),
            form,
            status,
            h(
                "table",
                { class: "grid passages" },
                h(
                    "thead",
                    {},
                    h(
                        "tr",
                        {},
                        [
                            t("field.opened"),
                            t("field.lane"),
                            t("field.plates"),
                            t("field.declaration"),
                            t("field.state"),
                            t("field.decision"),
                            "",
                        ].map((text) => h("th", {}, text)),
                    ),
                ),
                results,
            ),
        ),
    );

    async function search() {
        const data = new FormData(form);
        const q = {};
        for (const [key, value] of data.entries()) q[key] = String(value).trim();
        // Plates are searched normalised: letters and digits only, upper case.
        if (q.plate) q.plate = q.plate.toUpperCase().replace(/[^\p{L}\p{N}]/gu, "");
        if (q.container) q.container = q.container.toUpperCase().replace(/\s/g, "");
        for (const [name, endOfDay] of [
            ["from", false],
            ["to", true],
        ]) {
            if (!q[name]) continue;
            const at = dayBoundary(q[name], endOfDay);
            if (!at) {
                status.hidden = false;
                setNotice(status, "error", t("search.badDate", { text: q[name], pattern: datePattern() }));
                return;
            }
            q[name] = at;
        }
        q.limit = 100;
        status.hidden = false;
        setNotice(status, "info", t("search.searching"));
        try {
            const { passages } = await api.get(`/api/v1/passages${query(q)}`);
            replace(
                results,
                (passages ?? []).map((p) => {
                    const id = p.id ?? p.passageId;
                    return h(
                        "tr",
                        { dataset: { passage: id } },
                        h("td", { class: "when" }, formatDateTime(p.openedAt)),
                        h("td", {}, p.laneId ?? ""),
                        h("td", { class: "mono strong" }, plateTexts(p.plates).join(" / ") || "—"),
                        h("td", { class: "mono" }, declarationNumbers(p).join(", ") || "—"),
                        h("td", {}, code("laneState", p.state)),
                        h("td", {}, decisionBadge(p.decision)),
                        h(
                            "td",
                            { class: "nowrap" },
                            h("a", { href: `#/passages/${encodeURIComponent(id)}` }, t("search.open")),
                        ),
                    );
                }),
            );
            if (!passages?.length) setNotice(status, "info", t("search.none"));
            else status.hidden = true;
        } catch (err) {
            setNotice(status, "error", errorText(err));
        }
    }
    search();
}

let reasonCodesCache;
async function reasonCodes() {
    reasonCodesCache ??= api.get("/api/v1/reason-codes").then((a) => a.codes ?? []);
    try {
        return await reasonCodesCache;
    } catch (err) {
        reasonCodesCache = undefined;
        throw err;
    }
}

/** An action, a reason code that fits it, an optional note: what an officer's action carries. */
export function reasonForm({ actions, submitLabel, onSubmit, testid, codesFor = (action) => action }) {
    const action = h(
        "select",
        { name: "action", required: true },
        actions.map((a) => h("option", { value: a.action }, t(a.label))),
    );
    const reason = h("select", { name: "reasonCode", required: true }, h("option", { value: "" }, t("common.loading")));
    // The explanation of the chosen code on its own line: "CODE — explanation" does not fit a select's width.
    const explanation = h("span", { class: "reason-explanation", dataset: { testid: "reason-explanation" } });
    const explain = () => {
        explanation.textContent = reason.value ? code("reasonCode", reason.value) : "";
    };
    const note = h("textarea", { name: "note", maxlength: 500, rows: 2, placeholder: t("act.notePlaceholder") });
    const message = notice("info", "");
    message.hidden = true;
    const submit = h("button", { type: "submit", class: "btn btn-primary" }, submitLabel);
    let codes = [];
    const fill = () => {
        const wanted = [codesFor(action.value)].flat();
        const fitting = codes.filter((c) => !c.actions || c.actions.some((a) => wanted.includes(a)));
        replace(
            reason,
            h("option", { value: "" }, t("act.chooseReason")),
            fitting.map((c) => h("option", { value: c.code, title: code("reasonCode", c.code) }, c.code)),
        );
        explain();
    };
    reasonCodes()
        .then((list) => {
            codes = list;
            fill();
        })
        .catch((err) => {
            message.hidden = false;
            setNotice(message, "error", t("act.reasonCodesFailed", { error: errorText(err) }));
        });
    action.addEventListener("change", fill);
    reason.addEventListener("change", explain);
    const form = h(
        "form",
        {
            class: "action-form",
            dataset: { testid },
            onsubmit: async (event) => {
                event.preventDefault();
                if (!reason.value) {
                    message.hidden = false;
                    setNotice(message, "error", t("act.reasonRequired"));
                    return;
                }
                submit.disabled = true;
                try {
                    const text = await onSubmit({
                        action: action.value,
                        reasonCode: reason.value,
                        ...(note.value.trim() && { note: note.value.trim() }),
                    });
                    message.hidden = false;
                    setNotice(message, "ok", text);
                    note.value = "";
                } catch (err) {
                    message.hidden = false;
                    setNotice(message, "error", errorText(err));
                } finally {
                    // A decided approval card stays disabled.
                    if (!form.closest(".done")) submit.disabled = false;
                }
            },
        },
        h("label", { class: "field" }, h("span", {}, t("field.action")), action),
        h("label", { class: "field field-reason" }, h("span", {}, t("field.reason")), reason, explanation),
        h("label", { class: "field field-wide" }, h("span", {}, t("field.note")), note),
        submit,
        message,
    );
    return form;
}

/** The passage's images per camera position, each camera's scene before its plate crop, so they sit side by side. */
function imagesByCamera(images) {
    const groups = new Map();
    for (const img of images) {
        const position = img.position ?? "";
        if (!groups.has(position)) groups.set(position, []);
        groups.get(position).push(img);
    }
    for (const imgs of groups.values()) imgs.sort((a, b) => (a.role === "plate") - (b.role === "plate"));
    return [...groups.entries()];
}

function imageCaption(position, role) {
    return t("passage.imageCaption", {
        position: code("position", position),
        role: code("imageRole", role ?? "scene"),
    });
}

/**
 * A timeline entry in the reader's language, from its step and data; the stored English summary for a
 * step the catalogue does not know.
 */
function timelineText(entry, passageId, plates) {
    const data = entry.data ?? {};
    const words = (entry.step ?? "").split(" ").slice(1);
    const truck = plates.length > 0 ? plates.join(" / ") : t("common.thisTruck");
    switch (entry.type) {
        case "OPENED":
            return t("timeline.opened");
        case "DECIDED":
        case "OUTCOME":
            return words.length > 0
                ? t(`timeline.${entry.type.toLowerCase()}`, { outcome: code("outcome", words[0]) })
                : "";
        case "COMPLETED":
            return t("timeline.completed", { how: code("completion", words.join(" ")) });
        case "COMMAND":
            return t("timeline.command", { command: code("command", data.command) });
        case "ALERT":
            return has(`alert.${data.code}`)
                ? t("timeline.alert", { alert: code("alert", data.code, { truck }) })
                : namingTheTruck(entry.summary, passageId, plates);
        case "OFFICER":
            return t("timeline.officer", {
                officer: data.officerId ?? "",
                role: code("role", data.role),
                action: code("action", data.action),
                reason: data.reasonCode ?? "",
            });
        case "FOLLOWUP":
            return data.kind === "too-late"
                ? t("timeline.followUpTooLate")
                : t("timeline.followUpRecheck", { was: code("outcome", data.was), now: code("outcome", data.now) });
        default:
            return has(`laneState.${entry.type}`)
                ? t("timeline.state", { state: code("laneState", entry.type) })
                : namingTheTruck(entry.summary, passageId, plates);
    }
}

/** One passage: the truck, the decision and every rule's result, images, timeline, officer actions. */
export function passageDetailView(main, ctx) {
    const id = ctx.param;
    const status = notice("info", t("passage.loading"));
    const content = h("div", { class: "detail" });
    replace(main, h("p", {}, h("a", { href: "#/passages" }, t("passage.back"))), status, content);
    let formEl;

    const load = async () => {
        try {
            const answer = await api.get(`/api/v1/passages/${encodeURIComponent(id)}`);
            const passage = answer.passage ?? answer;
            status.hidden = true;
            render(passage);
        } catch (err) {
            status.hidden = false;
            setNotice(status, "error", err.status === 404 ? t("passage.notFound") : errorText(err));
        }
    };

    /** Follow-ups that ask the next point to stop the truck: a hold or divert too late, a stricter re-check. */
    const followUpNotices = (followUps = []) =>
        followUps
            .filter((f) => f.kind === "too-late" || f.stronger === true)
            .map((f) =>
                h(
                    "div",
                    { class: "awaiting", role: "alert", dataset: { testid: "follow-up" } },
                    f.kind === "too-late"
                        ? t(f.action === "divert" ? "followUp.tooLateInspection" : "followUp.tooLateExit", {
                              officer: f.officerId,
                              action: code("action", f.action),
                          })
                        : t("followUp.stronger", {
                              was: code("outcome", f.was),
                              now: code("outcome", f.now),
                              rule: code("rule", f.rule),
                          }),
                ),
            );

    const render = (p) => {
        const outcome = verdict(typeof p.decision === "object" ? p.decision : undefined, p.officerHold).outcome;
        const head = h(
            "section",
            { class: ["panel", "passage-head", decisionClass(outcome)] },
            h(
                "div",
                { class: "passage-plates" },
                plateTexts(p.plates).map((t) =>
                    h("span", { class: "plate-text big", dataset: { testid: "plate" } }, t),
                ),
                plateTexts(p.plates).length === 0 ? h("span", { class: "plate-text big" }, "—") : null,
            ),
            h(
                "dl",
                { class: "facts-list" },
                h("dt", {}, t("field.lane")),
                h("dd", {}, p.laneId ?? "—"),
                h("dt", {}, t("field.state")),
                h(
                    "dd",
                    { dataset: { testid: "passage-state", state: p.state ?? "" } },
                    code("laneState", p.state) || "—",
                ),
                h("dt", {}, t("field.opened")),
                h("dd", {}, formatDateTime(p.openedAt)),
                h("dt", {}, t("field.closed")),
                h("dd", {}, formatDateTime(p.closedAt)),
                h("dt", {}, t("field.declaration")),
                h(
                    "dd",
                    { class: "mono" },
                    declarationNumbers(p).join(", ") || "—",
                    " ",
                    channelChip(p.declaration?.channel),
                ),
                h("dt", {}, t("field.containers")),
                h("dd", { class: "mono" }, containerNumbers(p).join(", ") || "—"),
                h("dt", {}, t("field.seals")),
                h(
                    "dd",
                    { class: "mono" },
                    (p.seals ?? []).map((s) => `${s.id ?? s.sealId} ${code("sealStatus", s.status)}`).join(", ") || "—",
                ),
                h("dt", {}, t("field.weight")),
                h(
                    "dd",
                    {},
                    kg(p.weight?.kg),
                    p.weight?.declaredKg !== undefined
                        ? ` ${t("lanes.declaredWeight", { weight: kg(p.weight.declaredKg) })}`
                        : "",
                    p.weight?.deviationPct !== undefined && p.weight?.deviationPct !== null
                        ? ` (${t("unit.percent", { value: formatNumber(p.weight.deviationPct, 1) })})`
                        : "",
                ),
            ),
            verdictBanner(typeof p.decision === "object" ? p.decision : undefined, p.officerHold),
            p.awaitingApproval ? h("div", { class: "awaiting", role: "status" }, t("passage.awaitingApproval")) : null,
            // Learnt after the decision: the next point (exit, inspection area) must stop this truck.
            followUpNotices(p.followUps),
        );
        const rules = h(
            "section",
            { class: "panel" },
            h("h2", {}, t("passage.rules")),
            h(
                "table",
                { class: "grid rules", dataset: { testid: "rules" } },
                h(
                    "thead",
                    {},
                    h(
                        "tr",
                        {},
                        h("th", {}, t("field.rule")),
                        h("th", {}, t("field.result")),
                        h("th", {}, t("field.reason")),
                    ),
                ),
                h(
                    "tbody",
                    {},
                    (p.rules ?? []).map((r) =>
                        h(
                            "tr",
                            { class: `rule-${r.outcome}` },
                            h("td", { title: r.rule, dataset: { rule: r.rule } }, code("rule", r.rule)),
                            h(
                                "td",
                                {},
                                h("span", { class: ["chip", `outcome-${r.outcome}`] }, code("ruleOutcome", r.outcome)),
                            ),
                            h("td", { class: "reason" }, reasonText(r.findings, r.reason)),
                        ),
                    ),
                ),
            ),
            (p.rules ?? []).length === 0 ? h("p", { class: "muted" }, t("passage.notDecided")) : null,
        );
        const images = h(
            "section",
            { class: "panel" },
            h("h2", {}, t("passage.images")),
            (p.images ?? []).length === 0
                ? h("p", { class: "muted" }, t("passage.noImages"))
                : h(
                      "div",
                      { class: "images" },
                      imagesByCamera(p.images).map(([position, imgs]) =>
                          h(
                              "div",
                              { class: "camera-images", dataset: { testid: `images-${position}` } },
                              imgs.map((img) =>
                                  h(
                                      "figure",
                                      { dataset: { role: img.role ?? "scene" } },
                                      h("img", {
                                          src: imageUrl(img.ref),
                                          alt: imageCaption(position, img.role),
                                      }),
                                      h("figcaption", {}, imageCaption(position, img.role)),
                                  ),
                              ),
                          ),
                      ),
                  ),
        );
        const timeline = h(
            "section",
            { class: "panel" },
            h("h2", {}, t("passage.timeline")),
            h(
                "ol",
                { class: "timeline", dataset: { testid: "timeline" } },
                (p.timeline ?? []).map((entry) =>
                    h(
                        "li",
                        {},
                        h("time", {}, formatDateTime(entry.at)),
                        h(
                            "span",
                            { class: "step", dataset: { step: entry.type ?? "" } },
                            has(`step.${entry.type}`) ? t(`step.${entry.type}`) : code("laneState", entry.type),
                        ),
                        h("span", {}, timelineText(entry, p.passageId ?? p.id, plateTexts(p.plates))),
                    ),
                ),
            ),
        );
        const actions = h(
            "section",
            { class: "panel" },
            h("h2", {}, t("passage.officerActions")),
            (p.officerActions ?? []).length === 0
                ? h("p", { class: "muted" }, t("common.none"))
                : h(
                      "table",
                      { class: "grid", dataset: { testid: "officer-actions" } },
                      h(
                          "thead",
                          {},
                          h(
                              "tr",
                              {},
                              [
                                  t("field.time"),
                                  t("field.officer"),
                                  t("field.role"),
                                  t("field.action"),
                                  t("field.reason"),
                                  t("field.note"),
                              ].map((text) => h("th", {}, text)),
                          ),
                      ),
                      h(
                          "tbody",
                          {},
                          p.officerActions.map((a) =>
                              h(
                                  "tr",
                                  {},
                                  h("td", { class: "when" }, formatDateTime(a.at)),
                                  h("td", {}, a.officerId ?? ""),
                                  h("td", {}, code("role", a.role)),
                                  h("td", {}, code("action", a.action)),
                                  h(
                                      "td",
                                      { class: "mono", title: code("reasonCode", a.reasonCode) },
                                      a.reasonCode ?? "",
                                  ),
                                  h("td", {}, a.note ?? ""),
                              ),
                          ),
                      ),
                  ),
        );
        if (ctx.can.act(ctx.user) && !formEl) {
            formEl = h(
                "section",
                { class: "panel act" },
                h("h2", {}, t("act.title")),
                reasonForm({
                    actions: ACTIONS,
                    submitLabel: t("act.apply"),
                    testid: "action-form",
                    onSubmit: async (body) => {
                        const answer = await api.post(`/api/v1/passages/${encodeURIComponent(id)}/actions`, body);
                        setTimeout(load, 100);
                        return answer.status === "awaitingApproval"
                            ? t("act.awaitingApproval")
                            : t("act.applied", { action: code("action", body.action) });
                    },
                }),
            );
        }
        // A closed passage takes no action: the form goes, its last message with it.
        const closed = p.state === "CLOSED";
        const act = closed ? h("section", { class: "panel" }, h("p", { class: "muted" }, t("act.closed"))) : formEl;
        // The action form keeps its message across reloads of the passage.
        replace(
            content,
            head,
            h(
                "div",
                { class: "columns" },
                h("div", {}, rules, actions),
                h("div", {}, ctx.can.act(ctx.user) ? act : null, images),
            ),
            timeline,
        );
    };
    load();
    let timer;
    const off = ctx.subscribe("lane", (lane) => {
        if (lane?.passage?.id !== id) return;
        clearTimeout(timer);
        timer = setTimeout(load, 250);
    });
    return () => {
        clearTimeout(timer);
        off();
    };
}
