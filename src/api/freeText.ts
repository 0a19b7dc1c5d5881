/**
 * The one check of the free text people type into the gate (notes, reasons, user names): it refuses what
 * would make the text show something else than what was stored. Control characters (C0, DEL, C1) can
 * hide or reorder text in a log or a terminal, and the bidi embeddings, overrides and isolates
 * (U+202A–U+202E, U+2066–U+2069, the "Trojan Source" set) visibly reverse a note on the dashboard.
 *
 * Allowed on purpose: the direction marks U+200E LEFT-TO-RIGHT MARK, U+200F RIGHT-TO-LEFT MARK and
 * U+061C ARABIC LETTER MARK. They are invisible strong characters with no scope: they only settle the
 * direction of the neutral characters beside them, cannot reverse a run of letters or digits, and text
 * in a right-to-left script pasted from an ordinary editor carries them.
 *
 * A field that may span lines (a note typed in a textarea) keeps tab, line feed, and carriage return
 * when a line feed follows it (CRLF); a lone carriage return can overwrite a line in a terminal.
 */
import type { SchemaValidateFunction } from "ajv";

/** "line": one line, no control character at all; "lines": tab and line breaks allowed. */
export type FreeTextKind = "line" | "lines";

const C0_NAMES = [
    "NULL",
    "START OF HEADING",
    "START OF TEXT",
    "END OF TEXT",
    "END OF TRANSMISSION",
    "ENQUIRY",
    "ACKNOWLEDGE",
    "BELL",
    "BACKSPACE",
    "CHARACTER TABULATION",
    "LINE FEED",
    "LINE TABULATION",
    "FORM FEED",
    "CARRIAGE RETURN",
    "SHIFT OUT",
    "SHIFT IN",
    "DATA LINK ESCAPE",
    "DEVICE CONTROL ONE",
    "DEVICE CONTROL TWO",
    "DEVICE CONTROL THREE",
    "DEVICE CONTROL FOUR",
    "NEGATIVE ACKNOWLEDGE",
    "SYNCHRONOUS IDLE",
    "END OF TRANSMISSION BLOCK",
    "CANCEL",
    "END OF MEDIUM",
    "SUBSTITUTE",
    "ESCAPE",
    "INFORMATION SEPARATOR FOUR",
    "INFORMATION SEPARATOR THREE",
    "INFORMATION SEPARATOR TWO",
    "INFORMATION SEPARATOR ONE",
];

const BIDI_NAMES = new Map<number, string>([
    [0x202a, "LEFT-TO-RIGHT EMBEDDING"],
    [0x202b, "RIGHT-TO-LEFT EMBEDDING"],
    [0x202c, "POP DIRECTIONAL FORMATTING"],
    [0x202d, "LEFT-TO-RIGHT OVERRIDE"],
    [0x202e, "RIGHT-TO-LEFT OVERRIDE"],
    [0x2066, "LEFT-TO-RIGHT ISOLATE"],
    [0x2067, "RIGHT-TO-LEFT ISOLATE"],
    [0x2068, "FIRST STRONG ISOLATE"],
    [0x2069, "POP DIRECTIONAL ISOLATE"],
]);

const TAB = 0x09;
const LF = 0x0a;
const CR = 0x0d;

/** The name of a refused code point, or undefined when it is allowed. */
function refusedName(code: number): string | undefined {
    if (code < 0x20) return C0_NAMES[code];
    if (code === 0x7f) return "DELETE";
    if (code >= 0x80 && code <= 0x9f) return "CONTROL CHARACTER";
    return BIDI_NAMES.get(code);
}

/** The refused characters of `text`: each with its place (from 0, in characters) and code point. */
function* refusedChars(text: string, kind: FreeTextKind): Generator<{ index: number; code: number; name: string }> {
    const chars = Array.from(text);
    for (const [index, char] of chars.entries()) {
        const code = char.codePointAt(0) as number;
        if (kind === "lines" && (code === TAB || code === LF || (code === CR && chars[index + 1] === "\n"))) continue;
        const name = refusedName(code);
        if (name !== undefined) yield { index, code, name };
    }
}

const notation = (code: number): string => `U+${code.toString(16).toUpperCase().padStart(4, "0")}`;

/**
 * What is wrong with `text` as free text, e.g. "contains U+202E RIGHT-TO-LEFT OVERRIDE at position 5"
 * (position: the character's place counted from 1), or undefined when it may be stored.
 */
export function freeTextProblem(text: string, kind: FreeTextKind): string | undefined {
    for (const { index, code, name } of refusedChars(text, kind)) {
        return `contains ${notation(code)} ${name} at position ${index + 1}`;
    }
    return undefined;
}

/**
 * `text` with every refused character written out as `[U+202E]`: how a refused request's text is kept
 * (the audit log), readable and unable to reorder the page it is shown on.
 */
export function shownFreeText(text: string): string {
    const refused = [...refusedChars(text, "lines")];
    if (refused.length === 0) return text;
    const chars = Array.from(text);
    for (const { index, code } of refused) chars[index] = `[${notation(code)}]`;
    return chars.join("");
}

/**
 * The schema keyword `freeText: "line" | "lines"` for the API's request schemas, so every field declared
 * free text is checked before its handler runs and a refusal is a 400 naming the field and the character.
 */
const validateFreeText: SchemaValidateFunction = (kind: FreeTextKind, data: unknown) => {
    const problem = typeof data === "string" ? freeTextProblem(data, kind) : undefined;
    validateFreeText.errors = problem === undefined ? [] : [{ keyword: "freeText", message: problem, params: {} }];
    return problem === undefined;
};

export const FREE_TEXT_KEYWORD = {
    keyword: "freeText",
    type: "string",
    schemaType: "string",
    errors: true,
    validate: validateFreeText,
} as const;
