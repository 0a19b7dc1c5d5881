/**
 * The dashboard's words, dates and numbers in the reader's language. Texts come from the officer catalogue
 * (src/i18n/officer.<language>.json, served at /ui/i18n/): the page holds no sentence of its own. Dates
 * and times are shown in the gate's zone (gate.timeZone), whatever the browser's zone.
 */

export const LANGUAGES = ["vi", "en"];
/** The locale of each language for numbers: 24.560 in Vietnamese, 24,560 in English. */
const NUMBER_LOCALE = { vi: "vi-VN", en: "en-GB" };

let language = "vi";
let texts = {};
let timeZone;
let dateParts = makeDateParts(undefined);

/** Loads the catalogue of `wanted` (falls back to the first language for an unknown one). */
export async function useLanguage(wanted) {
    const chosen = LANGUAGES.includes(wanted) ? wanted : LANGUAGES[0];
    const response = await fetch(`/ui/i18n/officer.${chosen}.json`, { credentials: "same-origin" });
    if (!response.ok) throw new Error(`catalogue ${chosen}: HTTP ${response.status}`);
    texts = await response.json();
    language = chosen;
    document.documentElement.lang = chosen;
    return chosen;
}

export function currentLanguage() {
    return language;
}

/** `key`'s text with each `{name}` replaced by that parameter; the key itself when the catalogue lacks it. */
export function t(key, params = {}) {
    const template = texts[key];
    if (template === undefined) return key;
    return template.replace(/\{(\w+)\}/g, (whole, name) => (name in params ? String(params[name]) : whole));
}

/** Whether the catalogue has `key` (a code the page knows may be newer than the catalogue). */
export function has(key) {
    return texts[key] !== undefined;
}

/**
 * The text of a code of `family` ("laneState", "alert" …), or when it is not catalogued `fallback` (the
 * server's stored English text, for a record written before it had a code) or else the code itself.
 */
export function code(family, value, params = {}, fallback = undefined) {
    if (value === undefined || value === null || value === "") return fallback ?? "";
    const key = `${family}.${value}`;
    return has(key) ? t(key, params) : (fallback ?? String(value));
}

/**
 * Parameters the server stored as values (counts, milliseconds, percentages) in the reader's language:
 * each number written by the language's Intl.NumberFormat, up to `digits` decimals; the rest as given.
 */
export function localNumbers(params = {}, digits = 2) {
    const out = {};
    for (const [name, value] of Object.entries(params ?? {})) {
        out[name] =
            typeof value === "number"
                ? value.toLocaleString(NUMBER_LOCALE[language] ?? language, { maximumFractionDigits: digits })
                : value;
    }
    return out;
}

/** Why a device has its status, in the reader's language: its reason code, else the stored English text. */
export function deviceReasonText(device) {
    return code("deviceReason", device?.reasonCode, localNumbers(device?.reasonParams), device?.reason ?? "");
}

function makeDateParts(zone) {
    return new Intl.DateTimeFormat("en-GB", {
        timeZone: zone,
        day: "2-digit",
        month: "2-digit",
        year: "numeric",
        hour: "2-digit",
        minute: "2-digit",
        second: "2-digit",
        hourCycle: "h23",
    });
}

/** Shows every later time in `zone` (an IANA name); an unknown zone leaves the browser's. */
export function setTimeZone(zone) {
    try {
        dateParts = makeDateParts(zone);
        timeZone = zone;
    } catch (err) {
        console.warn(`time zone ${zone}: ${err}`);
    }
}

function partsOf(date) {
    return Object.fromEntries(dateParts.formatToParts(date).map((p) => [p.type, p.value]));
}

/**
 * Date and time in the gate's zone as the language writes it ("07/12/2026 11:38:24" in Vietnamese):
 * always with the date, since night shifts cross midnight; "—" for nothing.
 */
export function formatDateTime(iso) {
    if (!iso) return "—";
    const d = new Date(iso);
    if (Number.isNaN(d.getTime())) return String(iso);
    return t("format.dateTime", partsOf(d));
}

/** A number as the language writes it, with `digits` decimals at most. */
export function formatNumber(value, digits = 0) {
    return Number(value).toLocaleString(NUMBER_LOCALE[language] ?? language, {
        maximumFractionDigits: digits,
        minimumFractionDigits: digits,
    });
}

/** "dd/mm/yyyy" as the language orders a date, for a date field's placeholder. */
export function datePattern() {
    return t("format.datePattern");
}

/**
 * The instant a day typed in the language's order ("07/12/2026") starts (or, with `endOfDay`, ends) in
 * the gate's zone, as ISO; undefined for a text that is not a date.
 */
export function dayBoundary(text, endOfDay = false) {
    const match = /^\s*(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})\s*$/.exec(text ?? "");
    if (!match) return undefined;
    const [day, month, year] = [Number(match[1]), Number(match[2]), Number(match[3])];
    const wall = Date.UTC(year, month - 1, day, endOfDay ? 23 : 0, endOfDay ? 59 : 0, endOfDay ? 59 : 0);
    const check = new Date(wall);
    if (check.getUTCDate() !== day || check.getUTCMonth() !== month - 1) return undefined;
    // The zone's offset at that wall time: format the instant there and see how far it lands from the wall.
    let instant = wall;
    for (let i = 0; i < 2; i++) {
        const p = partsOf(new Date(instant));
        const shown = Date.UTC(
            Number(p.year),
            Number(p.month) - 1,
            Number(p.day),
            Number(p.hour),
            Number(p.minute),
            Number(p.second),
        );
        instant += wall - shown;
    }
    return new Date(instant + (endOfDay ? 999 : 0)).toISOString();
}

/** The gate's zone as configured, for the date filter's hint. */
export function gateTimeZone() {
    return timeZone ?? Intl.DateTimeFormat().resolvedOptions().timeZone;
}
