/**
 * Validators for the identifiers a border gate reads: VNACCS declaration numbers, ISO 6346 container
 * numbers and vehicle plates (docs/devices.md "Barcode and QR scanners"). All functions are pure and never throw: a
 * scanner or a camera can hand them any text, and the answer is a result, not an exception.
 */
import type { Country, ParsedScan } from "./events.ts";

// ---------------------------------------------------------------------------------------------------------------------
// VNACCS declaration number

export type DeclarationParse =
    | {
          ok: true;
          /** The 12 digits as read. */
          number: string;
          /** The first 11 digits: they identify the declaration across amendments (dispatch 5992/TCHQ-GSQL). */
          base: string;
          /** Document type, e.g. "10" import, "30" export, "51" transit (docs/devices.md "Barcode and QR scanners"). */
          typeCode: string;
          /** Digits 3–10, the system-assigned sequence. */
          sequence: string;
          /** The 12th digit: 0 at first registration, +1 per amendment. */
          amendment: number;
      }
    | { ok: false; reason: string };

const DECLARATION = /^(\d{2})(\d{8})(\d)(\d)$/;

/**
 * Parses a 12-digit VNACCS declaration number: 2-digit type, 8-digit sequence, check digit
 * (= sequence mod 7), amendment digit. Surrounding whitespace is ignored; anything else that is not
 * exactly 12 ASCII digits, or a wrong check digit, is `ok: false` with a reason. Type codes are not
 * checked against a list because new ones appear and the check digit already catches misreads.
 */
export function parseDeclarationNumber(text: string): DeclarationParse {
    const number = text.trim();
    const m = DECLARATION.exec(number);
    if (!m) return { ok: false, reason: "not 12 digits" };
    const [, typeCode = "", sequence = "", check = "", amendment = ""] = m;
    const expected = Number.parseInt(sequence, 10) % 7;
    if (Number(check) !== expected) {
        return { ok: false, reason: `check digit is ${check}, expected ${expected}` };
    }
    return { ok: true, number, base: number.slice(0, 11), typeCode, sequence, amendment: Number(amendment) };
}

// ---------------------------------------------------------------------------------------------------------------------
// ISO 6346 container number

export type ContainerParse =
    | {
          ok: true;
          /** Normalised: 11 characters, upper case, no separators. */
          number: string;
          /** 3-letter owner code. */
          owner: string;
          /** Equipment category: U freight container, J detachable equipment, Z trailer/chassis. */
          category: "U" | "J" | "Z";
          serial: string;
          /** The check digit as read. */
          checkDigit: number;
          /** The check digit computed from the first 10 characters. */
          expectedCheckDigit: number;
          /** False means a probable misread; the officer reviews it rather than the gate rejecting it. */
          checkDigitOk: boolean;
      }
    | { ok: false; reason: string };

/** Letter values of ISO 6346: A=10 upwards, skipping 11, 22 and 33 because they are multiples of 11. */
const LETTER_VALUES: Readonly<Record<string, number>> = (() => {
    const values: Record<string, number> = {};
    let value = 10;
    for (let code = 65; code <= 90; code++) {
        if (value % 11 === 0) value++;
        values[String.fromCharCode(code)] = value++;
    }
    return values;
})();

/**
 * Check digit of the first 10 characters of a container number (owner code, category, serial):
 * sum of value × 2^position, mod 11, mod 10. Case-insensitive. Returns undefined when the text is
 * not 10 characters of A–Z and 0–9, so a caller cannot mistake garbage for a checked number.
 */
export function iso6346CheckDigit(first10: string): number | undefined {
    if (!/^[A-Za-z0-9]{10}$/.test(first10)) return undefined;
    let sum = 0;
    for (let i = 0; i < 10; i++) {
        const ch = first10.charAt(i).toUpperCase();
        const value = ch >= "A" ? (LETTER_VALUES[ch] ?? 0) : Number(ch);
        sum += value * 2 ** i;
    }
    return (sum % 11) % 10;
}

const CONTAINER = /^([A-Z]{3})([UJZ])(\d{6})(\d)$/;

/**
 * Parses an ISO 6346 container number. Case, spaces, '-' and '/' are ignored because numbers are
 * painted and typed as "CSQU 305438-3". A well-formed number with a wrong check digit is `ok: true`
 * with `checkDigitOk: false`: OCR misreads are common and an officer decides. Anything else is
 * `ok: false` with a reason.
 */
export function parseContainerNumber(text: string): ContainerParse {
    const number = text.toUpperCase().replace(/[\s\-/]/g, "");
    const m = CONTAINER.exec(number);
    if (!m) {
        if (/^[A-Z]{3}[A-Z]\d{7}$/.test(number)) return { ok: false, reason: "category is not U, J or Z" };
        return { ok: false, reason: "not 4 letters, 6 digits and a check digit" };
    }
    const [, owner = "", category = "U", serial = "", check = ""] = m;
    const expected = iso6346CheckDigit(number.slice(0, 10)) ?? -1;
    const checkDigit = Number(check);
    return {
        ok: true,
        number,
        owner,
        category: category as "U" | "J" | "Z",
        serial,
        checkDigit,
        expectedCheckDigit: expected,
        checkDigitOk: checkDigit === expected,
    };
}

// ---------------------------------------------------------------------------------------------------------------------
// Scan payloads

/**
 * What a scanned payload is: a declaration number (check digit valid), a container number (well
 * formed; the check digit result is carried) or other. Other payloads (Lang Son platform QR codes,
 * manifests in unknown formats) are looked up centrally, so "other" is not an error.
 */
export function classifyScanPayload(payload: string): ParsedScan {
    const declaration = parseDeclarationNumber(payload);
    if (declaration.ok) {
        const { number, base, typeCode, amendment } = declaration;
        return { type: "declaration", number, base, typeCode, amendment };
    }
    const container = parseContainerNumber(payload);
    if (container.ok) return { type: "container", number: container.number, checkDigitOk: container.checkDigitOk };
    return { type: "other" };
}

// ---------------------------------------------------------------------------------------------------------------------
// Plates

export interface PlateInfo {
    /** Upper case, without '-', '.', '·' or whitespace; the form plates are compared in. */
    normalized: string;
    country: Country;
    /** Matches the country's plate format. False for LA/KH, whose formats are not verified (see below). */
    valid: boolean;
    /** A trailer / semi-trailer plate: VN R series, CN 挂 suffix. The rear camera of a tractor-trailer sees it. */
    trailer: boolean;
}

/** VN series letters: I, J, O, Q and W are not issued; Đ is. */
const VN_SERIES = "[A-HK-NPR-VXYZĐ]";
const VN_PLATE = new RegExp(`^([1-9]\\d)(${VN_SERIES}{1,2})(\\d{4,5})$`);

/** CN province abbreviations (GA 36-2018) plus 使 for embassy plates. */
const CN_PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼使";
/** CN plates exclude I and O everywhere after the province character. */
const CN_ALNUM = "[A-HJ-NP-Z0-9]";
const CN_LETTER = "[A-HJ-NP-Z]";
const CN_REGULAR = new RegExp(`^[${CN_PROVINCES}]${CN_LETTER}${CN_ALNUM}{5}$`);
// New-energy plates carry D (electric) or F (hybrid) first (small vehicles) or last (large vehicles).
const CN_NEW_ENERGY = new RegExp(`^[${CN_PROVINCES}]${CN_LETTER}(?:[DF]${CN_ALNUM}{5}|${CN_ALNUM}{5}[DF])$`);
const CN_SUFFIXED = new RegExp(`^[${CN_PROVINCES}]${CN_LETTER}${CN_ALNUM}{4}([挂学警港澳领])$`);

// Script ranges only: the reference has no verified Lao or Cambodian plate format.
const LAO_SCRIPT = /[\u0E80-\u0EFF]/;
const KHMER_SCRIPT = /[\u1780-\u17FF]/;

/**
 * Normalises plate text and recognises its country. NFKC first, because Chinese ANPR engines may
 * report full-width letters and digits; then upper case; then '-', '.', '·' (the dot on CN plates)
 * and whitespace are removed; then NFKC again. Text that matches no known format is `valid: false` with country
 * UNKNOWN, or CN when it starts with a province character, or LA/KH when it is in Lao/Khmer script.
 */
export function normalizePlate(text: string): PlateInfo {
    // NFKC again last: upper-casing can decompose (ῢ → Ϋ̀) and stripping a space can leave a combining
    // mark to compose (᾽ is NFKC space + U+0313); two spellings of one plate must compare equal.
    const normalized = text
        .normalize("NFKC")
        .toUpperCase()
        .replace(/[\s\-.·]/g, "")
        .normalize("NFKC");
    const vn = VN_PLATE.exec(normalized);
    if (vn) return { normalized, country: "VN", valid: true, trailer: (vn[2] ?? "").startsWith("R") };
    if (CN_REGULAR.test(normalized) || CN_NEW_ENERGY.test(normalized)) {
        return { normalized, country: "CN", valid: true, trailer: false };
    }
    const suffixed = CN_SUFFIXED.exec(normalized);
    if (suffixed) return { normalized, country: "CN", valid: true, trailer: suffixed[1] === "挂" };
    const first = normalized.charAt(0);
    if (first !== "" && CN_PROVINCES.includes(first))
        return { normalized, country: "CN", valid: false, trailer: false };
    if (LAO_SCRIPT.test(normalized)) return { normalized, country: "LA", valid: false, trailer: false };
    if (KHMER_SCRIPT.test(normalized)) return { normalized, country: "KH", valid: false, trailer: false };
    return { normalized, country: "UNKNOWN", valid: false, trailer: false };
}

/**
 * Characters ANPR engines confuse, as classes of equivalent glyphs. D sits with O and 0 because
 * cameras confuse all three; Đ sits with D because cameras without Vietnamese glyphs read it as D.
 */
export const PLATE_CONFUSION_CLASSES: readonly string[] = ["0ODĐ", "8B", "1I"];

const CONFUSION_KEY: ReadonlyMap<string, string> = new Map(
    PLATE_CONFUSION_CLASSES.flatMap((cls) => [...cls].map((ch) => [ch, cls.charAt(0)] as const)),
);

/**
 * A key under which plates that differ only by confusable characters collide: normalises the text,
 * then maps every character of a confusion class to the class's first character. Lets the lane engine
 * index plates by key and find candidate misreads in O(1).
 */
export function plateMisreadKey(text: string): string {
    let key = "";
    for (const ch of normalizePlate(text).normalized) key += CONFUSION_KEY.get(ch) ?? ch;
    return key;
}

/**
 * True when two plates differ, after normalisation, only by confusable characters (O/0, D/0, 8/B,
 * I/1, see PLATE_CONFUSION_CLASSES). Identical plates are not a misread and answer false.
 */
export function likelyMisread(a: string, b: string): boolean {
    const na = normalizePlate(a).normalized;
    const nb = normalizePlate(b).normalized;
    return na !== nb && plateMisreadKey(na) === plateMisreadKey(nb);
}

/**
 * How a plate read relates to a declared plate, per the country formats above:
 * - "same": equal after normalisation;
 * - "misread": the read cannot be told from the declared plate by a camera's usual errors — it differs only
 *   in confusable characters (O/0, 8/B, I/1, D/Đ), or it is a CN trailer plate read without its 挂 suffix
 *   and what is left is no valid plate of any kind (桂B1234 for 桂B1234挂: the red 挂 beside the number is
 *   the character engines most often drop);
 * - "other": anything else, among them a read that is itself a valid plate of another vehicle or vehicle
 *   class (桂B12345 or 桂B1234学 for 桂B1234挂, 29C-111.11 for 29R-111.11: C and R are different series,
 *   tractor and trailer), or a different number.
 * Neither a misread nor another plate is a match: the lane engine holds both, a misread for an officer to
 * verify by sight, another plate as a vehicle that is not the declared one.
 */
export type PlateRelation = "same" | "misread" | "other";

export function plateRelation(read: string, declared: string): PlateRelation {
    const r = normalizePlate(read);
    const d = normalizePlate(declared);
    if (r.normalized === d.normalized) return "same";
    if (likelyMisread(r.normalized, d.normalized)) return "misread";
    const droppedSuffix = d.country === "CN" && d.trailer && d.normalized.slice(0, -1) === r.normalized;
    if (droppedSuffix && !r.valid) return "misread";
    return "other";
}

/** Which way goods cross under a declaration: into Vietnam, out of it, or either (transit, transport). */
export type DeclarationDirection = "IN" | "OUT" | "EITHER";

/**
 * The direction a VNACCS document type code means (docs/devices.md "Barcode and QR scanners"): 10/11/12 import declarations and
 * manifests, 60/62 arrival notices and declarations, 70 import e-invoice → IN; 30/31/32 export, 61/63
 * departure, 71 export e-invoice → OUT; 50 means of transport, 51 transit goods, 52 container list →
 * EITHER. Undefined for codes that are no goods movement (72 attachment, 73 amendment, 74 certificate of
 * origin) or not known: such a document does not say which way its truck may go.
 */
export function directionOfTypeCode(typeCode: string): DeclarationDirection | undefined {
    return TYPE_DIRECTIONS.get(typeCode.trim());
}

const TYPE_DIRECTIONS: ReadonlyMap<string, DeclarationDirection> = new Map([
    ...(["10", "11", "12", "60", "62", "70"] as const).map((code) => [code, "IN" as const] as const),
    ...(["30", "31", "32", "61", "63", "71"] as const).map((code) => [code, "OUT" as const] as const),
    ...(["50", "51", "52"] as const).map((code) => [code, "EITHER" as const] as const),
]);
