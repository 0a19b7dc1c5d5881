import { api, query } from "../api.js";
import { errorText, formatDateTime, h, notice, replace, setNotice } from "../dom.js";
import { code, t } from "../i18n.js";
import { reasonForm } from "./passages.js";

const SVG = "http://www.w3.org/2000/svg";
/** What the gate takes as a finding's photo (src/inspection/routes.ts checks the bytes too). */
const PHOTO_TYPES = ["image/jpeg", "image/png"];
/** The largest photo the gate takes: MAX_PHOTO_BYTES of src/inspection/routes.ts (larger: 413). */
const MAX_PHOTO_MB = 8;

/** A photo the page or the gate refused, with the text the inspector reads (its file named). */
class PhotoRefused extends Error {}

/** Uploads one photo for the case; its image ref, or PhotoRefused saying why not. */
async function uploadPhoto(caseId, file) {
    const name = file.name;
    if (!PHOTO_TYPES.includes(file.type)) throw new PhotoRefused(t("inspection.photoWrongType", { name }));
    if (file.size > MAX_PHOTO_MB * 1024 * 1024)
        throw new PhotoRefused(t("inspection.photoTooLarge", { name, mb: MAX_PHOTO_MB }));
    try {
        const { ref } = await api.upload(`/api/v1/inspections/${encodeURIComponent(caseId)}/photos`, file);
        return ref;
    } catch (err) {
        throw new PhotoRefused(t("inspection.photoFailed", { name, reason: errorText(err) }));
    }
}

/** The words of the case's codes: literal keys, one per value the gate writes (src/inspection/caseModel.ts). */
const STEP_KEYS = {
    xray: "inspection.stepXray",
    radiation: "inspection.stepRadiation",
    physical: "inspection.stepPhysical",
};
const STATUS_KEYS = {
    open: "inspection.statusOpen",
    cleared: "inspection.statusCleared",
    detained: "inspection.statusDetained",
    refused: "inspection.statusRefused",
};
const TRIGGER_KEYS = {
    CHANNEL_RED: "inspection.triggerRed",
    WATCH_LIST: "inspection.triggerWatchList",
    SEAL_TAMPERED: "inspection.triggerSeal",
    RPM_ALARM: "inspection.triggerRpm",
    RANDOM_SELECTION: "inspection.triggerRandom",
    OFFICER_DIVERT: "inspection.triggerOfficer",
    RULES: "inspection.triggerRules",
};
const ENTRY_KEYS = {
    xray: "inspection.entryXray",
    radiation: "inspection.entryRadiation",
    finding: "inspection.entryFinding",
    seal: "inspection.entrySeal",
    assigned: "inspection.entryAssigned",
    "release-requested": "inspection.entryReleaseRequested",
    closed: "inspection.entryClosed",
    exit: "inspection.entryExit",
};
const RESULT_KEYS = {
    clear: "inspection.resultClear",
    suspicious: "inspection.resultSuspicious",
    "not-analysed": "inspection.resultNotAnalysed",
    nuisance: "inspection.resultNuisance",
    alarm: "inspection.resultAlarm",
    refused: "inspection.resultExitRefused",
    released: "inspection.resultExitReleased",
    cleared: "inspection.statusCleared",
    detained: "inspection.statusDetained",
};
const word = (keys, value) => (keys[value] ? t(keys[value]) : (value ?? ""));

function statusChip(status) {
    const kind = status === "open" ? "chip-warn" : status === "cleared" ? "chip-good" : "chip-bad";
    return h("span", { class: `chip ${kind}`, dataset: { testid: "case-status" } }, word(STATUS_KEYS, status));
}

/**
 * The inspection area's page: the worklist of cases (open or closed, by plate) and one case with its steps,
 * the scan images with the analyst's regions drawn over them, the RPM counts as a chart, and the forms an
 * inspector works it with (assign, finding, seals re-applied, clear / detain / refuse).
 */
export function inspectionView(main, ctx) {
    if (ctx.param) return caseView(main, ctx, ctx.param);
    const status = notice("info", t("common.loading"));
    const tabs = h("div", { class: "tabs" });
    const plate = h("input", { name: "plate", placeholder: t("inspection.plateFilter"), maxlength: 32 });
    const list = h("div", { dataset: { testid: "inspection-list" } });
    let which = "open";
    const load = async () => {
        try {
            const plateText = plate.value.trim();
            const { inspections } = await api.get(
                `/api/v1/inspections${query({ status: which, ...(plateText && { plate: plateText }), limit: 100 })}`,
            );
            status.hidden = inspections.length > 0;
            setNotice(status, "info", t("inspection.none"));
            replace(
                list,
                h(
                    "table",
                    { class: "table" },
                    h(
                        "thead",
                        {},
                        h(
                            "tr",
                            {},
                            h("th", {}, t("inspection.truck")),
                            h("th", {}, t("inspection.opened")),
                            h("th", {}, t("inspection.triggers")),
                            h("th", {}, t("inspection.steps")),
                            h("th", {}, t("inspection.assignee")),
                            h("th", {}, t("inspection.status")),
                        ),
                    ),
                    h(
                        "tbody",
                        {},
                        inspections.map((c) =>
                            h(
                                "tr",
                                { dataset: { case: c.caseId } },
                                h(
                                    "td",
                                    {},
                                    h(
                                        "a",
                                        { href: `#/inspection/${encodeURIComponent(c.caseId)}`, class: "plate-text" },
                                        c.plates.join(" / ") || c.containers.join(" / ") || c.caseId,
                                    ),
                                ),
                                h("td", {}, formatDateTime(c.openedAt)),
                                h("td", {}, c.triggers.map((x) => word(TRIGGER_KEYS, x)).join(", ")),
                                h("td", {}, stepsLine(c)),
                                h("td", {}, c.assignee ?? "—"),
                                h("td", {}, statusChip(c.status)),
                            ),
                        ),
                    ),
                ),
            );
        } catch (err) {
            status.hidden = false;
            setNotice(status, "error", errorText(err));
        }
    };
    const tab = (value, label) =>
        h(
            "button",
            {
                type: "button",
                class: "tab",
                "aria-selected": String(value === which),
                onclick: () => {
                    which = value;
                    for (const b of tabs.children) b.setAttribute("aria-selected", String(b.dataset.value === value));
                    load();
                },
                dataset: { value },
            },
            t(label),
        );
    replace(tabs, tab("open", "inspection.tabOpen"), tab("closed", "inspection.tabClosed"));
    plate.addEventListener("change", load);
    replace(main, h("section", { class: "panel" }, h("h1", {}, t("nav.inspection")), tabs, plate, status, list));
    load();
    const offs = [ctx.subscribe("alert", () => load()), ctx.subscribe("open", load)];
    return () => {
        for (const off of offs) off();
    };
}

/** "X-ray ✓, physical examination …": each required step and whether it is done. */
function stepsLine(c) {
    return c.required.map((step) => `${word(STEP_KEYS, step)} ${c.done.includes(step) ? "✓" : "…"}`).join(", ");
}

/** A scan image with the analyst's regions drawn over it as boxes (fractions of the image). */
function scanImage(ref, regions) {
    const svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("viewBox", "0 0 100 100");
    svg.setAttribute("preserveAspectRatio", "none");
    svg.setAttribute("class", "scan-regions");
    for (const r of regions) {
        const box = document.createElementNS(SVG, "rect");
        for (const [name, value] of Object.entries({ x: r.x, y: r.y, width: r.width, height: r.height }))
            box.setAttribute(name, String(value * 100));
        box.setAttribute("class", "scan-region");
        box.setAttribute("data-testid", "scan-region");
        const title = document.createElementNS(SVG, "title");
        title.textContent = r.label;
        box.append(title);
        svg.append(box);
    }
    return h(
        "figure",
        { class: "scan" },
        h("img", { src: `/api/v1/images/${encodeURIComponent(ref)}`, alt: t("inspection.scanImage") }),
        svg,
    );
}

/** The RPM's counts per time slice, one line per detector, with the background as a dashed line. */
function rpmChart(detectors) {
    const width = 360;
    const height = 120;
    const max = Math.max(1, ...detectors.flatMap((d) => [...d.slices, d.backgroundCps ?? 0]));
    const svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
    svg.setAttribute("class", "rpm-chart");
    svg.setAttribute("data-testid", "rpm-chart");
    const title = document.createElementNS(SVG, "title");
    title.textContent = t("inspection.rpmChart");
    svg.append(title);
    for (const [index, d] of detectors.entries()) {
        const n = Math.max(1, d.slices.length - 1);
        const points = d.slices.map((v, i) => `${(i / n) * width},${height - (v / max) * (height - 4)}`).join(" ");
        const line = document.createElementNS(SVG, "polyline");
        line.setAttribute("points", points);
        line.setAttribute("class", `rpm-line rpm-${d.category} rpm-n${index % 6}`);
        const name = document.createElementNS(SVG, "title");
        name.textContent = `${d.detector} (${d.category}): ${t("inspection.rpmPeak", { cps: d.peakCps })}`;
        line.append(name);
        svg.append(line);
        if (d.backgroundCps !== undefined) {
            const y = height - (d.backgroundCps / max) * (height - 4);
            const bg = document.createElementNS(SVG, "line");
            for (const [k, v] of Object.entries({ x1: 0, x2: width, y1: y, y2: y })) bg.setAttribute(k, String(v));
            bg.setAttribute("class", "rpm-background");
            svg.append(bg);
        }
    }
    return svg;
}

/** A finding's photo as a thumbnail that opens the full image. */
function photoThumb(ref) {
    const src = `/api/v1/images/${encodeURIComponent(ref)}`;
    return h(
        "a",
        { href: src, target: "_blank", rel: "noopener" },
        h("img", { src, class: "photo-thumb", alt: t("inspection.photo"), dataset: { testid: "finding-photo" } }),
    );
}

function entryView(entry) {
    const result = entry.result ? h("strong", {}, word(RESULT_KEYS, entry.result)) : null;
    const parts = [
        h("span", { class: "muted" }, formatDateTime(entry.at)),
        " ",
        h("span", {}, word(ENTRY_KEYS, entry.kind)),
        result ? " — " : "",
        result,
        entry.step ? ` (${word(STEP_KEYS, entry.step)})` : "",
        entry.by ? ` — ${entry.by}` : "",
        entry.text ? ` — “${entry.text}”` : "",
        entry.seals ? ` — ${entry.seals.join(", ")}` : "",
        entry.reasonCode
            ? h("span", { class: "mono", title: code("reasonCode", entry.reasonCode) }, ` ${entry.reasonCode}`)
            : "",
        entry.exitId ? ` — ${entry.exitId}` : "",
    ];
    const body = [];
    if (entry.kind === "xray")
        for (const [index, ref] of (entry.images ?? []).entries())
            body.push(
                scanImage(
                    ref,
                    (entry.regions ?? []).filter((r) => r.image === index),
                ),
            );
    if (entry.kind === "finding" && entry.images?.length)
        body.push(h("div", { class: "photos" }, entry.images.map(photoThumb)));
    if (entry.kind === "radiation" && entry.detectors?.length) body.push(rpmChart(entry.detectors));
    return h("li", { class: "case-entry", dataset: { kind: entry.kind } }, h("div", {}, ...parts), ...body);
}

function caseView(main, ctx, caseId) {
    const status = notice("info", t("common.loading"));
    const body = h("div", { dataset: { testid: "case" } });
    replace(
        main,
        h(
            "section",
            { class: "panel" },
            h("p", {}, h("a", { href: "#/inspection" }, t("inspection.back"))),
            h("h1", {}, t("inspection.case")),
            status,
            body,
        ),
    );
    const act = async (payload) => {
        const answer = await api.post(`/api/v1/inspections/${encodeURIComponent(caseId)}/actions`, payload);
        setTimeout(load, 0);
        return answer.status === "awaitingApproval" ? t("inspection.awaitingApproval") : t("inspection.saved");
    };
    /** A small form: its fields, a submit button, and the answer or the API's reason below it. */
    const smallForm = (testid, label, fields, toPayload) => {
        const message = notice("info", "");
        message.hidden = true;
        const submit = h("button", { type: "submit", class: "btn" }, t(label));
        return h(
            "form",
            {
                class: "action-form",
                dataset: { testid },
                onsubmit: async (event) => {
                    event.preventDefault();
                    submit.disabled = true;
                    try {
                        const text = await act(await toPayload());
                        message.hidden = false;
                        setNotice(message, "ok", text);
                    } catch (err) {
                        message.hidden = false;
                        setNotice(message, "error", err instanceof PhotoRefused ? err.message : errorText(err));
                    } finally {
                        submit.disabled = false;
                    }
                },
            },
            ...fields,
            submit,
            message,
        );
    };
    const load = async () => {
        try {
            const { inspection: c } = await api.get(`/api/v1/inspections/${encodeURIComponent(caseId)}`);
            status.hidden = true;
            const canAct = c.status === "open" && ["officer", "supervisor"].includes(ctx.user?.role);
            const forms = [];
            if (canAct) {
                const assignee = h("input", {
                    name: "assignee",
                    value: ctx.user?.name ?? "",
                    maxlength: 64,
                    required: true,
                });
                forms.push(
                    smallForm("assign-form", "inspection.assign", [assignee], () => ({
                        action: "assign",
                        assignee: assignee.value.trim(),
                    })),
                );
                const step = h(
                    "select",
                    { name: "step" },
                    h("option", { value: "" }, t("inspection.noStep")),
                    Object.keys(STEP_KEYS).map((s) => h("option", { value: s }, word(STEP_KEYS, s))),
                );
                const text = h("textarea", {
                    name: "text",
                    rows: 2,
                    maxlength: 500,
                    required: true,
                    placeholder: t("inspection.findingPlaceholder"),
                });
                const photos = h("input", {
                    type: "file",
                    name: "photos",
                    accept: PHOTO_TYPES.join(","),
                    // A tablet opens its rear camera; a desktop browser ignores it and opens the file chooser.
                    capture: "environment",
                    multiple: true,
                });
                const photosField = h("label", { class: "photo-input" }, t("inspection.photos"), " ", photos);
                forms.push(
                    smallForm("finding-form", "inspection.recordFinding", [step, text, photosField], async () => {
                        // Each photo first: the finding names only photos the gate has stored.
                        const images = [];
                        for (const file of photos.files) images.push(await uploadPhoto(caseId, file));
                        return {
                            action: "finding",
                            text: text.value.trim(),
                            ...(step.value && { step: step.value }),
                            ...(images.length > 0 && { images }),
                        };
                    }),
                );
                const seals = h("input", {
                    name: "seals",
                    maxlength: 200,
                    required: true,
                    placeholder: t("inspection.sealsPlaceholder"),
                });
                forms.push(
                    smallForm("seal-form", "inspection.recordSeals", [seals], () => ({
                        action: "seal",
                        seals: seals.value
                            .split(/[,\s]+/)
                            .map((s) => s.trim())
                            .filter(Boolean),
                    })),
                );
                forms.push(
                    reasonForm({
                        actions: [
                            { action: "clear", label: "inspection.clear" },
                            { action: "detain", label: "inspection.detain" },
                            { action: "refuse", label: "inspection.refuse" },
                        ],
                        codesFor: (action) => (action === "clear" ? ["release"] : [action]),
                        submitLabel: t("inspection.close"),
                        testid: "close-form",
                        onSubmit: ({ action, reasonCode }) => act({ action, reasonCode }),
                    }),
                );
            }
            replace(
                body,
                h(
                    "div",
                    { class: "case-head" },
                    h("span", { class: "plate-text big" }, c.plates.join(" / ") || c.containers.join(" / ") || "—"),
                    statusChip(c.status),
                    c.fourEyes ? h("span", { class: "chip" }, t("inspection.fourEyes")) : null,
                ),
                h(
                    "dl",
                    { class: "facts" },
                    h("dt", {}, t("inspection.triggers")),
                    h("dd", {}, c.triggers.map((x) => word(TRIGGER_KEYS, x)).join(", ")),
                    h("dt", {}, t("inspection.steps")),
                    h("dd", { dataset: { testid: "case-steps" } }, stepsLine(c)),
                    h("dt", {}, t("inspection.assignee")),
                    h("dd", {}, c.assignee ?? "—"),
                    h("dt", {}, t("inspection.declarations")),
                    h("dd", {}, c.declarations.join(", ") || "—"),
                    h("dt", {}, t("inspection.opened")),
                    h(
                        "dd",
                        {},
                        formatDateTime(c.openedAt),
                        " — ",
                        h("a", { href: `#/passages/${encodeURIComponent(c.passageId)}` }, t("lanes.passageDetail")),
                    ),
                    c.releaseRequest
                        ? [
                              h("dt", {}, t("inspection.releaseRequested")),
                              h("dd", {}, `${c.releaseRequest.by} — ${c.releaseRequest.reasonCode}`),
                          ]
                        : null,
                ),
                h("h2", {}, t("inspection.results")),
                h("ol", { class: "case-entries" }, c.entries.map(entryView)),
                forms.length > 0 ? h("h2", {}, t("inspection.work")) : null,
                ...forms,
            );
        } catch (err) {
            status.hidden = false;
            setNotice(status, "error", errorText(err));
        }
    };
    load();
    const offs = [ctx.subscribe("alert", () => load())];
    return () => {
        for (const off of offs) off();
    };
}
