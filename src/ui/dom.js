/**
 * DOM helpers. Everything shown is built with createElement and textContent: data is never parsed as
 * HTML, so a plate, a reason or a user name of markup shows as text.
 */

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

/** The gate's zone (config gate.timeZone, from /api/v1/health): the browser's own may be another. */
let dateTimeFormat = makeDateTimeFormat(undefined);

function makeDateTimeFormat(timeZone) {
    return new Intl.DateTimeFormat("en-GB", {
        timeZone,
        day: "2-digit",
        month: "2-digit",
        year: "numeric",
        hour: "2-digit",
        minute: "2-digit",
        second: "2-digit",
        hourCycle: "h23",
    });
}

/** Shows every later time in `timeZone` (an IANA name); an unknown zone leaves the browser's. */
export function setTimeZone(timeZone) {
    try {
        dateTimeFormat = makeDateTimeFormat(timeZone);
    } catch (err) {
        console.warn(`time zone ${timeZone}: ${err}`);
    }
}

/** A message with its passage named by the truck's plates rather than a 26-letter id. */
export function namingTheTruck(message, passageId, plates) {
    const text = message ?? "";
    if (!passageId || !plates?.length) return text;
    return text.split(`passage ${passageId}`).join(`passage of ${plates.join(" / ")}`);
}

/**
 * "07/12/2026 11:38:24" (dd/MM/yyyy HH:mm:ss in the gate's zone): always with the date, since night
 * shifts cross midnight; "—" for nothing.
 */
export function formatDateTime(iso) {
    if (!iso) return "—";
    const d = new Date(iso);
    if (Number.isNaN(d.getTime())) return String(iso);
    const part = Object.fromEntries(dateTimeFormat.formatToParts(d).map((p) => [p.type, p.value]));
    return `${part.day}/${part.month}/${part.year} ${part.hour}:${part.minute}:${part.second}`;
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

export function kg(value) {
    if (value === undefined || value === null || !Number.isFinite(Number(value))) return "—";
    return `${Number(value).toLocaleString("en-US")} kg`;
}

/** A status dot for a device: online, degraded, offline (colour plus the word for screen readers). */
export function dot(status, title) {
    const s = ["online", "degraded", "offline"].includes(status) ? status : "unknown";
    return h("span", { class: ["dot", `dot-${s}`], title: title ?? s, role: "img", "aria-label": title ?? s });
}

/** The message to show for a failed API call. */
export function errorText(err) {
    if (!err) return "";
    if (err.status === 403) return "Not allowed for your role.";
    return err.message || String(err);
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
