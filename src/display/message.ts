/**
 * What a lane display tells the driver at the barrier: two lines in each of the driver languages
 * (Vietnamese, Chinese, English) and a signal colour, worked out from the lane's state. Pure: the same
 * message goes to the kiosk page and, as JSON, to the LED signs on MQTT. It carries no personal data but
 * the plate the cameras read: no declaration, container or name.
 */

import { catalogue, formatMessage } from "../i18n/format.ts";
import type { LaneSnapshot } from "../lane/correlator.ts";

/** The driver languages, in the order a sign shows them (the catalogue test checks them against LANGUAGES). */
export const DRIVER_LANGUAGES = ["vi", "zh", "en"] as const;
export type DriverLanguage = (typeof DRIVER_LANGUAGES)[number];

/**
 * Columns of one line of a 2-line LED lane sign (a CJK character takes two, as on the sign's 16×16 font
 * against 8×16 for Latin): every text of the driver catalogue, with the longest plate, fits in one line.
 */
export const LINE_COLUMNS = 20;
/** The widest plate a title line must hold (VN `51LD-123.45` is 11, CN `粤Z1234港` is 9 columns). */
export const PLATE_COLUMNS = 12;

/** What the driver is told to do, and the colour the sign shows it in. */
export type DisplaySignal = "stop" | "scan" | "go" | "inspect" | "back" | "fault";

export interface DisplayLine {
    key: string;
    params?: Readonly<Record<string, string>>;
}

export interface DisplayMessage {
    /** Shape version of the MQTT payload. */
    v: 1;
    gate: string;
    lane: string;
    signal: DisplaySignal;
    /** The plate the cameras read (front, else rear), or null. */
    plate: string | null;
    /** The two lines as catalogue keys and parameters, for a sign that renders them itself. */
    keys: [DisplayLine, DisplayLine];
    /** The two lines in each driver language. */
    lines: Record<DriverLanguage, [string, string]>;
    /** When the gate worked this out (ISO 8601). */
    at: string;
}

/** What the display shows for a lane, from what the lane engine knows. */
export interface LaneView {
    snapshot: LaneSnapshot | undefined;
    /** The lane is processed by hand (disk quota) or one of its devices is not online. */
    fault: boolean;
    /** The plate of the truck the yard called forward to this lane (src/yard), while it is on its way. */
    called?: { plate: string; laneId: string };
}

/** Every key of the driver catalogue, each used by the display (the catalogue test holds them equal). */
export const DISPLAY_KEYS = [
    "display.lane",
    "display.plate",
    "display.stop",
    "display.wait",
    "display.scanQr",
    "display.proceed",
    "display.inspection",
    "display.seeOfficer",
    "display.fault",
    "display.manual",
    "display.waitOfficer",
    "display.called",
] as const;

const STOP_TITLE: DisplayLine = { key: "display.stop" };

/** The safe message: "STOP — wait for the officer". Shown whenever the gate cannot vouch for the lane. */
export const FALLBACK_KEYS: [DisplayLine, DisplayLine] = [STOP_TITLE, { key: "display.waitOfficer" }];

/** The two lines and the signal for a lane's state. */
export function displayKeys(view: LaneView): {
    signal: DisplaySignal;
    plate: string | null;
    keys: [DisplayLine, DisplayLine];
} {
    const passage = view.snapshot?.passage;
    const facts = passage?.facts;
    const plate = facts?.frontPlate?.text ?? facts?.rearPlate?.text ?? null;
    if (view.fault) return { signal: "fault", plate, keys: [{ key: "display.fault" }, { key: "display.manual" }] };
    const state = view.snapshot?.state ?? "IDLE";
    if (!passage || state === "IDLE" || state === "CLOSED") {
        // The yard called a truck to this free lane: its plate and the lane, so its driver knows the call is theirs.
        if (view.called !== undefined)
            return {
                signal: "go",
                plate: view.called.plate,
                keys: [
                    { key: "display.plate", params: { plate: view.called.plate } },
                    { key: "display.called", params: { lane: view.called.laneId } },
                ],
            };
        return { signal: "stop", plate: null, keys: [STOP_TITLE, { key: "display.wait" }] };
    }
    const title = plate === null ? STOP_TITLE : { key: "display.plate", params: { plate } };
    const outcome = passage.standing?.outcome ?? passage.decision?.decision;
    const line = (signal: DisplaySignal, key: string) => ({
        signal,
        plate,
        keys: [title, { key }] as [DisplayLine, DisplayLine],
    });
    if (outcome === "RELEASE") return line("go", "display.proceed");
    if (outcome === "INSPECT") return line("inspect", "display.inspection");
    if (outcome === "HOLD" || outcome === "REJECT") return line("back", "display.seeOfficer");
    // Before the decision: an officer's hold sends the driver to the officer; else the lane waits for reads.
    if (passage.standing?.officerHold !== undefined) return line("back", "display.seeOfficer");
    if ((facts?.declarations.length ?? 0) === 0) return line("scan", "display.scanQr");
    return line("stop", "display.wait");
}

/** The line rendered in `language`; a title too wide for the sign is the bare plate. */
export function renderLine(line: DisplayLine, language: DriverLanguage): string {
    const text = formatMessage(catalogue("driver", language)[line.key] ?? line.key, line.params);
    return textColumns(text) <= LINE_COLUMNS || line.params?.plate === undefined ? text : line.params.plate;
}

export function displayMessage(
    gate: string,
    lane: string,
    shown: { signal: DisplaySignal; plate: string | null; keys: [DisplayLine, DisplayLine] },
    at: Date,
): DisplayMessage {
    const lines = Object.fromEntries(
        DRIVER_LANGUAGES.map((language) => [
            language,
            [renderLine(shown.keys[0], language), renderLine(shown.keys[1], language)],
        ]),
    ) as Record<DriverLanguage, [string, string]>; // one entry per driver language, built just above
    return {
        v: 1,
        gate,
        lane,
        signal: shown.signal,
        plate: shown.plate,
        keys: shown.keys,
        lines,
        at: at.toISOString(),
    };
}

/** The safe message for a lane: what a sign shows when the gate stops or is lost. */
export function fallbackMessage(gate: string, lane: string, at: Date): DisplayMessage {
    return displayMessage(gate, lane, { signal: "stop", plate: null, keys: FALLBACK_KEYS }, at);
}

/** Whether two messages show the same thing (the time aside): only a change is sent. */
export function sameShown(a: DisplayMessage | undefined, b: DisplayMessage): boolean {
    return (
        a !== undefined &&
        a.signal === b.signal &&
        a.plate === b.plate &&
        JSON.stringify(a.lines) === JSON.stringify(b.lines)
    );
}

/**
 * Columns a text takes on a sign: East Asian wide and fullwidth characters two, combining marks none,
 * the rest one (Vietnamese is composed first, so "ệ" is one column however it was typed).
 */
export function textColumns(text: string): number {
    let columns = 0;
    for (const char of text.normalize("NFC")) {
        const code = char.codePointAt(0) ?? 0;
        if (code >= 0x300 && code <= 0x36f) continue;
        columns += isWide(code) ? 2 : 1;
    }
    return columns;
}

function isWide(code: number): boolean {
    return (
        (code >= 0x1100 && code <= 0x115f) ||
        (code >= 0x2e80 && code <= 0xa4cf) ||
        (code >= 0xac00 && code <= 0xd7a3) ||
        (code >= 0xf900 && code <= 0xfaff) ||
        (code >= 0xfe30 && code <= 0xfe4f) ||
        (code >= 0xff00 && code <= 0xff60) ||
        (code >= 0xffe0 && code <= 0xffe6) ||
        (code >= 0x20000 && code <= 0x3fffd)
    );
}
