import { api, query } from "../api.js";
import { errorText, formatDateTime, h, kg, namingTheTruck, notice, replace, setNotice } from "../dom.js";
import { channelChip, decisionClass, imageUrl, verdict, verdictBanner } from "./lanes.js";

const ACTIONS = [
    { action: "confirm", label: "Confirm" },
    { action: "hold", label: "Hold" },
    { action: "release", label: "Release" },
    { action: "divert", label: "Divert to inspection" },
];

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
    return h("span", { class: ["badge-decision", decisionClass(outcome)] }, outcome ?? "—");
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
            h("option", { value: d, selected: params.get("decision") === d }, d || "any"),
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
        field("plate", "Plate", { placeholder: "15C12345", maxlength: 32, autocomplete: "off" }),
        field("declaration", "Declaration", { placeholder: "12 digits", maxlength: 12, inputmode: "numeric" }),
        field("container", "Container", { placeholder: "ABCU1234565", maxlength: 11 }),
        field("from", "From", { type: "date" }),
        field("to", "To", { type: "date" }),
        h("label", { class: "field" }, h("span", {}, "Decision"), decision),
        h("button", { type: "submit", class: "btn btn-primary" }, "Search"),
    );
    replace(
        main,
        h(
            "section",
            { class: "panel" },
            h("h1", {}, "Passages"),
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
                        ["Opened", "Lane", "Plates", "Declaration", "State", "Decision", ""].map((t) => h("th", {}, t)),
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
        if (q.from) q.from = new Date(`${q.from}T00:00:00`).toISOString();
        if (q.to) q.to = new Date(`${q.to}T23:59:59.999`).toISOString();
        q.limit = 100;
        status.hidden = false;
        setNotice(status, "info", "Searching…");
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
                        h("td", {}, p.state ?? ""),
                        h("td", {}, decisionBadge(p.decision)),
                        h(
                            "td",
                            { class: "nowrap" },
                            h("a", { href: `#/passages/${encodeURIComponent(id)}` }, "Open →"),
                        ),
                    );
                }),
            );
            if (!passages?.length) setNotice(status, "info", "No passage matches.");
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
        actions.map((a) => h("option", { value: a.action }, a.label)),
    );
    const reason = h("select", { name: "reasonCode", required: true }, h("option", { value: "" }, "Loading…"));
    // The explanation of the chosen code on its own line: "CODE — explanation" does not fit a select's width.
    const explanation = h("span", { class: "reason-explanation", dataset: { testid: "reason-explanation" } });
    const explain = () => {
        explanation.textContent = codes.find((c) => c.code === reason.value)?.label ?? "";
    };
    const note = h("textarea", { name: "note", maxlength: 500, rows: 2, placeholder: "Note (optional)" });
    const message = notice("info", "");
    message.hidden = true;
    const submit = h("button", { type: "submit", class: "btn btn-primary" }, submitLabel);
    let codes = [];
    const fill = () => {
        const wanted = [codesFor(action.value)].flat();
        const fitting = codes.filter((c) => !c.actions || c.actions.some((a) => wanted.includes(a)));
        replace(
            reason,
            h("option", { value: "" }, "— reason —"),
            fitting.map((c) => h("option", { value: c.code, title: c.label ?? "" }, c.code)),
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
            setNotice(message, "error", `Reason codes: ${errorText(err)}`);
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
                    setNotice(message, "error", "Choose a reason code.");
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
        h("label", { class: "field" }, h("span", {}, "Action"), action),
        h("label", { class: "field field-reason" }, h("span", {}, "Reason"), reason, explanation),
        h("label", { class: "field field-wide" }, h("span", {}, "Note"), note),
        submit,
        message,
    );
    return form;
}

/** What each stored image shows, as the page names it. */
const IMAGE_ROLES = { scene: "scene", plate: "plate crop" };

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

/** One passage: the truck, the decision and every rule's result, images, timeline, officer actions. */
export function passageDetailView(main, ctx) {
    const id = ctx.param;
    const status = notice("info", "Loading passage…");
    const content = h("div", { class: "detail" });
    replace(main, h("p", {}, h("a", { href: "#/passages" }, "← Passages")), status, content);
    let formEl;

    const load = async () => {
        try {
            const answer = await api.get(`/api/v1/passages/${encodeURIComponent(id)}`);
            const passage = answer.passage ?? answer;
            status.hidden = true;
            render(passage);
        } catch (err) {
            status.hidden = false;
            setNotice(status, "error", err.status === 404 ? "No such passage." : errorText(err));
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
                        ? `Flagged: ${f.officerId}'s ${f.action} came too late (${f.reason}); stop the truck at ${f.action === "divert" ? "the inspection area" : "the exit"}.`
                        : `Flagged: decided ${f.was} offline; central's fresh data decides ${f.now} (${f.rule}: ${f.reason}).`,
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
                h("dt", {}, "Lane"),
                h("dd", {}, p.laneId ?? "—"),
                h("dt", {}, "State"),
                h("dd", { dataset: { testid: "passage-state" } }, p.state ?? "—"),
                h("dt", {}, "Opened"),
                h("dd", {}, formatDateTime(p.openedAt)),
                h("dt", {}, "Closed"),
                h("dd", {}, formatDateTime(p.closedAt)),
                h("dt", {}, "Declaration"),
                h(
                    "dd",
                    { class: "mono" },
                    declarationNumbers(p).join(", ") || "—",
                    " ",
                    channelChip(p.declaration?.channel),
                ),
                h("dt", {}, "Containers"),
                h("dd", { class: "mono" }, containerNumbers(p).join(", ") || "—"),
                h("dt", {}, "Seals"),
                h(
                    "dd",
                    { class: "mono" },
                    (p.seals ?? []).map((s) => `${s.id ?? s.sealId} ${s.status ?? ""}`).join(", ") || "—",
                ),
                h("dt", {}, "Weight"),
                h(
                    "dd",
                    {},
                    kg(p.weight?.kg),
                    p.weight?.declaredKg !== undefined ? ` / declared ${kg(p.weight.declaredKg)}` : "",
                    p.weight?.deviationPct !== undefined && p.weight?.deviationPct !== null
                        ? ` (${p.weight.deviationPct.toFixed(1)} %)`
                        : "",
                ),
            ),
            verdictBanner(typeof p.decision === "object" ? p.decision : undefined, p.officerHold),
            p.awaitingApproval
                ? h("div", { class: "awaiting", role: "status" }, "Release awaiting supervisor approval")
                : null,
            // Learnt after the decision: the next point (exit, inspection area) must stop this truck.
            followUpNotices(p.followUps),
        );
        const rules = h(
            "section",
            { class: "panel" },
            h("h2", {}, "Rule results"),
            h(
                "table",
                { class: "grid rules", dataset: { testid: "rules" } },
                h("thead", {}, h("tr", {}, h("th", {}, "Rule"), h("th", {}, "Result"), h("th", {}, "Reason"))),
                h(
                    "tbody",
                    {},
                    (p.rules ?? []).map((r) =>
                        h(
                            "tr",
                            { class: `rule-${r.outcome}` },
                            h("td", { class: "mono" }, r.rule),
                            h("td", {}, h("span", { class: ["chip", `outcome-${r.outcome}`] }, r.outcome)),
                            h("td", { class: "reason" }, r.reason ?? ""),
                        ),
                    ),
                ),
            ),
            (p.rules ?? []).length === 0 ? h("p", { class: "muted" }, "Not decided yet.") : null,
        );
        const images = h(
            "section",
            { class: "panel" },
            h("h2", {}, "Images"),
            (p.images ?? []).length === 0
                ? h("p", { class: "muted" }, "No images.")
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
                                          alt: `${position} ${IMAGE_ROLES[img.role ?? "scene"]}`,
                                      }),
                                      h("figcaption", {}, `${position} · ${IMAGE_ROLES[img.role ?? "scene"]}`),
                                  ),
                              ),
                          ),
                      ),
                  ),
        );
        const timeline = h(
            "section",
            { class: "panel" },
            h("h2", {}, "Timeline"),
            h(
                "ol",
                { class: "timeline", dataset: { testid: "timeline" } },
                (p.timeline ?? []).map((t) =>
                    h(
                        "li",
                        {},
                        h("time", {}, formatDateTime(t.at)),
                        h("span", { class: "mono" }, t.type ?? ""),
                        h("span", {}, namingTheTruck(t.summary, p.passageId ?? p.id, plateTexts(p.plates))),
                    ),
                ),
            ),
        );
        const actions = h(
            "section",
            { class: "panel" },
            h("h2", {}, "Officer actions"),
            (p.officerActions ?? []).length === 0
                ? h("p", { class: "muted" }, "None.")
                : h(
                      "table",
                      { class: "grid", dataset: { testid: "officer-actions" } },
                      h(
                          "thead",
                          {},
                          h(
                              "tr",
                              {},
                              ["Time", "Officer", "Role", "Action", "Reason", "Note"].map((t) => h("th", {}, t)),
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
                                  h("td", {}, a.role ?? ""),
                                  h("td", {}, a.action ?? ""),
                                  h("td", { class: "mono" }, a.reasonCode ?? ""),
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
                h("h2", {}, "Act on this truck"),
                reasonForm({
                    actions: ACTIONS,
                    submitLabel: "Apply",
                    testid: "action-form",
                    onSubmit: async (body) => {
                        const answer = await api.post(`/api/v1/passages/${encodeURIComponent(id)}/actions`, body);
                        setTimeout(load, 100);
                        return answer.status === "awaitingApproval"
                            ? "Release requested: awaiting a supervisor's approval."
                            : `${ACTIONS.find((a) => a.action === body.action)?.label ?? body.action}: applied.`;
                    },
                }),
            );
        }
        // A closed passage takes no action: the form goes, its last message with it.
        const closed = p.state === "CLOSED";
        const act = closed
            ? h("section", { class: "panel" }, h("p", { class: "muted" }, "Passage closed: no action possible."))
            : formEl;
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
