/**
 * DOM helpers. Everything shown is built with createElement and textContent: data is never parsed as
 * HTML, so a plate, a reason or a user name of markup shows as text.
 */
import { formatNumber, has, t } from "./i18n.js";

export { formatDateTime, setTimeZone } from "./i18n.js";

/**
 * h("div", { class: "tile", dataset: { lane: "L1" }, onclick: fn }, "text", child, [more]) → element.
 * Strings become text nodes; null, undefined and false children are skipped.
 */
export function h(tag, attrs = {}, ...children) {
    const el = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs ?? {})) {
        if (value === undefined || value === null || value === false) continue;
        if (key === "class") el.className = Array.isArray(value) ? value.filter(Boolean).join(" ") : value;
        else if (key === "dataset") Object.assign(el.dataset, value);
        else if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
        else if (key === "value" || key === "checked" || key === "disabled" || key === "selected") el[key] = value;
        else el.setAttribute(key, value === true ? "" : String(value));
    }
    append(el, children);
    return el;
}

function append(el, children) {
    for (const child of children) {
        if (child === undefined || child === null || child === false) continue;
        if (Array.isArray(child)) append(el, child);
        else if (child instanceof Node) el.appendChild(child);
        else el.appendChild(document.createTextNode(String(child)));
    }
}

/** Replaces an element's children. */
export function replace(el, ...children) {
    el.replaceChildren();
    append(el, children);
    return el;
}

/** A message with its passage named by the truck's plates rather than a 26-letter id. */
export function namingTheTruck(message, passageId, plates) {
    const text = message ?? "";
    if (!passageId || !plates?.length) return text;
    return text.split(`passage ${passageId}`).join(`passage of ${plates.join(" / ")}`);
}

/** "4:07" / "1:02:09" since an ISO instant (or ms epoch). */
export function elapsed(since, now = Date.now()) {
    const start = typeof since === "number" ? since : Date.parse(since);
    if (!Number.isFinite(start)) return "—";
    const s = Math.max(0, Math.floor((now - start) / 1000));
    const hh = Math.floor(s / 3600);
    const mm = Math.floor((s % 3600) / 60);
    const ss = String(s % 60).padStart(2, "0");
    return hh > 0 ? `${hh}:${String(mm).padStart(2, "0")}:${ss}` : `${mm}:${ss}`;
}

/** A live "time in lane" counter: the board ticks every element made here once a second. */
export function ticker(since, attrs = {}) {
    const el = h("span", { ...attrs, class: ["ticker", attrs.class], dataset: { since: String(since ?? "") } });
    el.textContent = since ? elapsed(since) : "—";
    return el;
}

let tickTimer;
export function startTicking() {
    if (tickTimer) return;
    tickTimer = setInterval(() => {
        const now = Date.now();
        for (const el of document.querySelectorAll(".ticker[data-since]")) {
            if (el.dataset.since) el.textContent = elapsed(el.dataset.since, now);
        }
    }, 1000);
}

/** "24.560 kg" in Vietnamese, "24,560 kg" in English. */
export function kg(value) {
    if (value === undefined || value === null || !Number.isFinite(Number(value))) return "—";
    return t("unit.kg", { value: formatNumber(value) });
}

/** A status dot for a device: online, degraded, offline (colour plus the word for screen readers). */
export function dot(status, title) {
    const s = ["online", "degraded", "offline"].includes(status) ? status : "unknown";
    const word = title ?? t(`deviceStatus.${s}`);
    return h("span", { class: ["dot", `dot-${s}`], title: word, role: "img", "aria-label": word });
}

/** The message to show for a failed API call. */
/**
 * The message to show for a failed API call, in the reader's language from its error code (the API's
 * English message is for logs and scripts); a code the catalogue does not know shows the API's message.
 */
export function errorText(err) {
    if (!err) return "";
    if (err.status === 403) return t("error.FORBIDDEN");
    if (err.code && has(`error.${err.code}`)) return t(`error.${err.code}`, { status: err.status });
    if (err.status) return t("error.http", { status: err.status, code: err.code ?? "" });
    return t("error.unexpected");
}

/** A small notice line (error, ok, info) that can be updated. */
export function notice(kind = "info", text = "") {
    return h("p", { class: ["notice", `notice-${kind}`], role: kind === "error" ? "alert" : "status" }, text);
}

export function setNotice(el, kind, text) {
    el.className = `notice notice-${kind}`;
    el.textContent = text;
    el.setAttribute("role", kind === "error" ? "alert" : "status");
}
