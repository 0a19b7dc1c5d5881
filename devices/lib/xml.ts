/**
 * A tiny, strict, namespace-aware XML reader for the SOAP and ONVIF messages gate-edge handles. Pure: it
 * never does I/O and never throws; malformed input yields `{ ok: false, reason }`.
 *
 * Why not xml2js: the onvif library's conversion strips prefixes and turns "003725" into 3725, and a
 * callback parser cannot be made pure. This reader keeps text exactly as sent and records where each
 * element starts and ends in the source, so one wsnt:NotificationMessage can be cut out of a
 * PullMessagesResponse as raw XML (with the namespace declarations it inherits, see `outerXml`).
 *
 * Deliberately refused: DOCTYPE (entity expansion bombs), undeclared entities, undeclared prefixes,
 * nesting deeper than MAX_DEPTH, more than MAX_ELEMENTS elements.
 */

export interface XmlAttribute {
    /** Qualified name as written, e.g. "tt:Likelihood" or "Likelihood". */
    name: string;
    local: string;
    /** Namespace URI; attributes without a prefix have none. */
    ns: string | undefined;
    /** Value after entity decoding. */
    value: string;
}

export interface XmlElement {
    name: string;
    local: string;
    /** Resolved namespace URI (default namespace applies to unprefixed elements). */
    ns: string | undefined;
    attributes: XmlAttribute[];
    children: XmlElement[];
    /** The element's own text (not its descendants'), entity-decoded, CDATA included. */
    text: string;
    /** Prefix → namespace URI in scope at this element ("" is the default namespace). */
    scope: ReadonlyMap<string, string>;
    /** Offsets in the source: `start` at "<", `end` just after the closing ">". */
    start: number;
    end: number;
    /** Offset just after the start tag's ">" (inner XML begins here). */
    startTagEnd: number;
}

export type XmlParse = { ok: true; root: XmlElement } | { ok: false; reason: string };

export const NS = {
    soap12: "http://www.w3.org/2003/05/soap-envelope",
    soap11: "http://schemas.xmlsoap.org/soap/envelope/",
    wsnt: "http://docs.oasis-open.org/wsn/b-2",
    wsa: "http://www.w3.org/2005/08/addressing",
    tt: "http://www.onvif.org/ver10/schema",
    tds: "http://www.onvif.org/ver10/device/wsdl",
    trt: "http://www.onvif.org/ver10/media/wsdl",
    tev: "http://www.onvif.org/ver10/events/wsdl",
    tns1: "http://www.onvif.org/ver10/topics",
    ter: "http://www.onvif.org/ver10/error",
    wsse: "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd",
    wsu: "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd",
} as const;

const XML_NS = "http://www.w3.org/XML/1998/namespace";
const MAX_DEPTH = 64;
const MAX_ELEMENTS = 20_000;
const NAME =
    /^[A-Za-z_\u00c0-\uffff][\w.\-\u00b7\u00c0-\uffff]*(?::[A-Za-z_\u00c0-\uffff][\w.\-\u00b7\u00c0-\uffff]*)?$/;
const ENTITIES: Readonly<Record<string, string>> = { lt: "<", gt: ">", amp: "&", quot: '"', apos: "'" };

/** Decodes the five predefined entities and character references; undefined for anything else. */
export function decodeEntities(text: string): string | undefined {
    if (!text.includes("&")) return text;
    let failed = false;
    const out = text.replace(/&([^;&\s]{0,12});?/g, (whole, body: string) => {
        if (!whole.endsWith(";")) {
            failed = true;
            return "";
        }
        const named = ENTITIES[body];
        if (named !== undefined) return named;
        const m = /^#(?:x([0-9a-fA-F]{1,6})|([0-9]{1,7}))$/.exec(body);
        const code = m ? Number.parseInt(m[1] ?? m[2] ?? "", m[1] ? 16 : 10) : Number.NaN;
        // Char production of XML 1.0: no NUL, no surrogates, nothing above U+10FFFF.
        if (!Number.isFinite(code) || code === 0 || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) {
            failed = true;
            return "";
        }
        return String.fromCodePoint(code);
    });
    return failed ? undefined : out;
}

/** Escapes text for element content or a double-quoted attribute. */
export function escapeXml(text: string): string {
    return text
        .replace(/&/g, "&amp;")
        .replace(/</g, "&lt;")
        .replace(/>/g, "&gt;")
        .replace(/"/g, "&quot;")
        .replace(/'/g, "&apos;");
}

interface OpenElement {
    element: XmlElement;
    rawAttributes: Array<{ name: string; value: string }>;
}

function splitName(name: string): { prefix: string; local: string } {
    const colon = name.indexOf(":");
    return colon < 0 ? { prefix: "", local: name } : { prefix: name.slice(0, colon), local: name.slice(colon + 1) };
}

/** Parses attributes of one start tag; a string is the reason it failed. */
function parseAttributes(source: string): Array<{ name: string; value: string }> | string {
    const attributes: Array<{ name: string; value: string }> = [];
    const re = /\s*([^\s=/>]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/y;
    let pos = 0;
    while (pos < source.length) {
        if (/^\s*$/.test(source.slice(pos))) break;
        re.lastIndex = pos;
        const m = re.exec(source);
        if (!m) return "malformed attribute";
        const name = m[1] ?? "";
        if (!NAME.test(name)) return `bad attribute name ${name.slice(0, 40)}`;
        const raw = m[2] ?? m[3] ?? "";
        if (raw.includes("<")) return "'<' in attribute value";
        const value = decodeEntities(raw);
        if (value === undefined) return "bad entity in attribute";
        if (attributes.some((a) => a.name === name)) return `duplicate attribute ${name}`;
        attributes.push({ name, value });
        pos = re.lastIndex;
        // Attributes must be separated by whitespace.
        if (pos < source.length && !/\s/.test(source[pos] ?? "")) return "attributes not separated by whitespace";
    }
    return attributes;
}

function openElement(
    name: string,
    attributeSource: string,
    parentScope: ReadonlyMap<string, string>,
    start: number,
    startTagEnd: number,
    lenient: boolean,
): OpenElement | string {
    if (!NAME.test(name)) return `bad element name ${name.slice(0, 40)}`;
    const raw = parseAttributes(attributeSource);
    if (typeof raw === "string") return raw;
    let scope = parentScope;
    for (const attr of raw) {
        if (attr.name === "xmlns" || attr.name.startsWith("xmlns:")) {
            if (scope === parentScope) scope = new Map(parentScope);
            const prefix = attr.name === "xmlns" ? "" : attr.name.slice(6);
            if (prefix !== "" && attr.value === "") return `empty namespace for prefix ${prefix}`;
            (scope as Map<string, string>).set(prefix, attr.value);
        }
    }
    const { prefix, local } = splitName(name);
    const ns = prefix === "xml" ? XML_NS : scope.get(prefix);
    if (prefix !== "" && ns === undefined && !lenient) return `undeclared prefix ${prefix}`;
    const attributes: XmlAttribute[] = [];
    for (const attr of raw) {
        if (attr.name === "xmlns" || attr.name.startsWith("xmlns:")) continue;
        const parts = splitName(attr.name);
        const attrNs = parts.prefix === "" ? undefined : parts.prefix === "xml" ? XML_NS : scope.get(parts.prefix);
        if (parts.prefix !== "" && attrNs === undefined && !lenient) return `undeclared prefix ${parts.prefix}`;
        attributes.push({ name: attr.name, local: parts.local, ns: attrNs, value: attr.value });
    }
    const element: XmlElement = {
        name,
        local,
        ns: ns === "" ? undefined : ns,
        attributes,
        children: [],
        text: "",
        scope,
        start,
        end: startTagEnd,
        startTagEnd,
    };
    return { element, rawAttributes: raw };
}

export interface ParseOptions {
    /**
     * Accept undeclared prefixes (their namespace stays undefined). Only for text the onvif library has
     * already mangled: its parseSOAPString deletes every xmlns declaration before handing out "raw" XML.
     */
    undeclaredPrefixes?: boolean;
}

/** Parses one XML document. Never throws. */
export function parseXml(source: string, options: ParseOptions = {}): XmlParse {
    try {
        return parseUnsafe(source, options.undeclaredPrefixes === true);
    } catch (err) {
        // Defence in depth: the parser has no known throwing path, but decode must never throw.
        return { ok: false, reason: `parser failure: ${err instanceof Error ? err.message : String(err)}` };
    }
}

function parseUnsafe(source: string, lenient: boolean): XmlParse {
    if (typeof source !== "string") return { ok: false, reason: "not a string" };
    const stack: OpenElement[] = [];
    let root: XmlElement | undefined;
    let pos = 0;
    let count = 0;
    const rootScope: ReadonlyMap<string, string> = new Map([["xml", XML_NS]]);
    const fail = (reason: string): XmlParse => ({ ok: false, reason: `${reason} at offset ${pos}` });
    if (source.charCodeAt(0) === 0xfeff) pos = 1;
    while (pos < source.length) {
        const lt = source.indexOf("<", pos);
        const textEnd = lt < 0 ? source.length : lt;
        if (textEnd > pos) {
            const raw = source.slice(pos, textEnd);
            const top = stack.at(-1);
            if (!top) {
                if (!/^\s*$/.test(raw)) return fail("text outside the root element");
            } else {
                if (raw.includes("]]>")) return fail("']]>' in text");
                const text = decodeEntities(raw);
                if (text === undefined) return fail("bad entity");
                top.element.text += text;
            }
            pos = textEnd;
            continue;
        }
        if (source.startsWith("<!--", pos)) {
            const end = source.indexOf("-->", pos + 4);
            if (end < 0) return fail("unterminated comment");
            pos = end + 3;
            continue;
        }
        if (source.startsWith("<![CDATA[", pos)) {
            const end = source.indexOf("]]>", pos + 9);
            const top = stack.at(-1);
            if (end < 0) return fail("unterminated CDATA");
            if (!top) return fail("CDATA outside the root element");
            top.element.text += source.slice(pos + 9, end);
            pos = end + 3;
            continue;
        }
        if (source.startsWith("<?", pos)) {
            const end = source.indexOf("?>", pos + 2);
            if (end < 0) return fail("unterminated processing instruction");
            pos = end + 2;
            continue;
        }
        if (source.startsWith("<!", pos)) return fail("DOCTYPE and declarations are not accepted");
        const gt = findTagEnd(source, pos + 1);
        if (gt < 0) return fail("unterminated tag");
        const body = source.slice(pos + 1, gt);
        if (body.startsWith("/")) {
            const name = body.slice(1).trim();
            const top = stack.pop();
            if (!top || top.element.name !== name) return fail(`unexpected closing tag ${name.slice(0, 40)}`);
            top.element.end = gt + 1;
            pos = gt + 1;
            continue;
        }
        const selfClosing = body.endsWith("/");
        const inner = selfClosing ? body.slice(0, -1) : body;
        const nameMatch = /^[^\s/>]+/.exec(inner);
        if (!nameMatch) return fail("missing element name");
        if (root && stack.length === 0) return fail("more than one root element");
        if (stack.length >= MAX_DEPTH) return fail("nesting too deep");
        if (++count > MAX_ELEMENTS) return fail("too many elements");
        const parent = stack.at(-1);
        const opened = openElement(
            nameMatch[0],
            inner.slice(nameMatch[0].length),
            parent?.element.scope ?? rootScope,
            pos,
            gt + 1,
            lenient,
        );
        if (typeof opened === "string") return fail(opened);
        if (parent) parent.element.children.push(opened.element);
        else root = opened.element;
        if (!selfClosing) stack.push(opened);
        pos = gt + 1;
    }
    if (stack.length > 0) return fail(`unclosed element ${stack.at(-1)?.element.name ?? ""}`);
    if (!root) return fail("no root element");
    return { ok: true, root };
}

/** Index of the ">" that ends a tag starting at `from`, skipping quoted attribute values; -1 if none. */
function findTagEnd(source: string, from: number): number {
    let quote = "";
    for (let i = from; i < source.length; i++) {
        const c = source[i];
        if (quote) {
            if (c === quote) quote = "";
        } else if (c === '"' || c === "'") {
            quote = c;
        } else if (c === ">") {
            return i;
        } else if (c === "<") {
            return -1;
        }
    }
    return -1;
}

// ---------------------------------------------------------------------------------------------------
// Queries

/** Direct children with this local name (and namespace, when given). */
export function childrenNamed(element: XmlElement, local: string, ns?: string): XmlElement[] {
    return element.children.filter((c) => c.local === local && (ns === undefined || c.ns === ns));
}

export function childNamed(element: XmlElement, local: string, ns?: string): XmlElement | undefined {
    return element.children.find((c) => c.local === local && (ns === undefined || c.ns === ns));
}

/** All descendants (depth first, document order) with this local name (and namespace, when given). */
export function descendantsNamed(element: XmlElement, local: string, ns?: string): XmlElement[] {
    const found: XmlElement[] = [];
    const walk = (el: XmlElement) => {
        for (const c of el.children) {
            if (c.local === local && (ns === undefined || c.ns === ns)) found.push(c);
            walk(c);
        }
    };
    walk(element);
    return found;
}

export function descendantNamed(element: XmlElement, local: string, ns?: string): XmlElement | undefined {
    return descendantsNamed(element, local, ns)[0];
}

/** The value of an unprefixed (or any-namespace) attribute by local name. */
export function attribute(element: XmlElement, local: string): string | undefined {
    return element.attributes.find((a) => a.local === local)?.value;
}

/** Text of the element and all its descendants, in document order of children (not interleaved). */
export function deepText(element: XmlElement): string {
    return element.text + element.children.map(deepText).join("");
}

/**
 * The element's source text, standing alone: namespace declarations it inherits from its ancestors are
 * added to its start tag, so the fragment parses by itself and its QName values (topics) still resolve.
 */
export function outerXml(source: string, element: XmlElement): string {
    const own = new Set<string>();
    const head = source.slice(element.start, element.startTagEnd);
    for (const m of head.matchAll(/\sxmlns(?::([^\s=]+))?\s*=/g)) own.add(m[1] ?? "");
    const extra: string[] = [];
    for (const [prefix, uri] of element.scope) {
        if (prefix === "xml" || own.has(prefix)) continue;
        extra.push(prefix === "" ? ` xmlns="${escapeXml(uri)}"` : ` xmlns:${prefix}="${escapeXml(uri)}"`);
    }
    const nameEnd = element.start + 1 + element.name.length;
    return source.slice(element.start, nameEnd) + extra.join("") + source.slice(nameEnd, element.end);
}

/**
 * A topic expression such as "tns1:RuleEngine/Recognition/LicensePlate" resolved against the namespaces
 * in scope at `context`: the namespace URI of its prefix and the path after it. Undefined when the prefix
 * is not declared there. `fallback` maps well-known prefixes (tns1) for expressions given in config.
 */
export function resolveTopic(
    expression: string,
    scope: ReadonlyMap<string, string>,
    fallback: Readonly<Record<string, string>> = {},
): { ns: string; path: string } | undefined {
    const text = expression.trim();
    const m = /^([A-Za-z_][\w.-]*):(.+)$/.exec(text);
    if (!m) return undefined;
    const prefix = m[1] ?? "";
    const ns = scope.get(prefix) ?? fallback[prefix];
    if (ns === undefined) return undefined;
    // "//." and a trailing "/" are ConcreteSet spellings of the same topic.
    const path = (m[2] ?? "").replace(/\/\/\.$/, "").replace(/\/+$/, "");
    return { ns, path };
}

/** True when the topic text of a wsnt:Topic element names the same topic as `expected` (e.g. "tns1:…"). */
export function topicMatches(topic: XmlElement, expected: string): boolean {
    const got = resolveTopic(topic.text, topic.scope);
    const want = resolveTopic(expected, new Map(), { tns1: NS.tns1 });
    return got !== undefined && want !== undefined && got.ns === want.ns && got.path === want.path;
}

/** xs:duration limited to what ONVIF uses (PnDTnHnMnS); milliseconds, or undefined. */
export function parseDuration(text: string): number | undefined {
    const m = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/.exec(text.trim());
    if (!m || text.trim() === "P" || text.trim().endsWith("T")) return undefined;
    const [, d = "0", h = "0", min = "0", s = "0"] = m;
    return ((Number(d) * 24 + Number(h)) * 60 + Number(min)) * 60_000 + Math.round(Number(s) * 1000);
}

const ZONED_DATE_TIME =
    /^(\d{4})-(\d{2})-(\d{2})T([01]\d|2[0-3]):([0-5]\d):([0-5]\d)(?:\.\d{1,9})?(?:Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)$/;

/**
 * xs:dateTime with a zone (Z or an offset) as ms since epoch; undefined for one without a zone (a local
 * time of unknown offset, which must not be guessed) or for anything that is not a real date.
 */
export function parseZonedDateTime(value: string | undefined): number | undefined {
    if (value === undefined) return undefined;
    const m = ZONED_DATE_TIME.exec(value.trim());
    if (!m) return undefined;
    const month = Number(m[2]);
    const day = Number(m[3]);
    const daysInMonth = new Date(Date.UTC(Number(m[1]), month, 0)).getUTCDate();
    if (month < 1 || month > 12 || day < 1 || day > daysInMonth) return undefined;
    const ms = Date.parse(value.trim());
    return Number.isFinite(ms) ? ms : undefined;
}
