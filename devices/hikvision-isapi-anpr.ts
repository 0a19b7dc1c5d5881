/**
 * Hikvision ANPR camera pushing ISAPI alarms over HTTP ("alarm host" / HTTP listening mode, docs/devices.md
 * §5.2). The camera POSTs to a URL the installer sets; gate-edge's default is
 * `/ISAPI/Event/notification/alert` (set "URL" in the camera's HTTP listening settings to it, host and
 * port to the push receiver).
 *
 * A request is one of:
 * - multipart/form-data with an XML part (name "anpr.xml", or Content-Type text/xml|application/xml, or
 *   the first part whose body starts with `<?xml` / `<EventNotificationAlert`) and JPEG parts
 *   (detectionPicture.jpg, licensePlatePicture.jpg);
 * - a bare XML body (application/xml or text/xml), which some firmware sends without pictures.
 *
 * Decode rules (the body comes from the network, so everything is checked; decode never throws):
 * - the XML is UTF-8 unless its declaration (or the part's charset) says GBK / GB2312 / GB18030, which
 *   Chinese firmware uses for plates like 粤A12345; no DOCTYPE (no entity expansion), at most 32 levels;
 * - root EventNotificationAlert (any namespace: isapi.org or hikvision.com); eventType other than ANPR
 *   (heartBeat, videoloss, vmd …) → ignored with the event type as reason;
 * - ANPR/licensePlate, after entity decoding: 1–16 letters, digits, spaces, '-', '.' or '·'; empty,
 *   longer, control characters or markup → invalid. "unknown" and 无车牌 ("no plate"), which the camera
 *   sends for a vehicle it saw but could not read, → ignored: there is no plate to record;
 * - ANPR/confidenceLevel 0–100 (required) → confidence / 100;
 * - dateTime: ISO 8601 with offset → observedAt; without an offset it is a local time of unknown zone,
 *   so observedAt is left out (the runtime stamps receipt) rather than losing the read; garbage → invalid;
 * - country and direction are kept when they are short plain tokens, dropped otherwise;
 * - picture parts must start with the JPEG magic FF D8 FF. A non-JPEG picture part is dropped and named
 *   in `dropped` on the result, not fatal: Hikvision never resends, so refusing would lose the plate;
 * - each picture's role: the type ANPR/pictureInfoList gives its fileName (licensePlatePicture → the
 *   plate crop, detectionPicture → the scene), else its name (licensePlatePicture*, plate* → plate crop),
 *   else the scene.
 */

import type { ImageRole } from "../src/core/events.ts";
import { boundaryOf, buildMultipart, type MultipartPart, mediaTypeOf, parseMultipart } from "./lib/multipart.ts";
import type { DecodeResult, HttpPushCameraModel, PlateImage, PlateRead, PushRequest } from "./types.ts";

/** The decode result, plus the picture parts that were dropped and why (for the device's log). */
export type HikvisionDecoded = DecodeResult<PlateRead> & { observedAt?: number; dropped?: string[] };

const DEFAULT_PATH = "/ISAPI/Event/notification/alert";
/** Two JPEGs of a few hundred kB each and the XML; real pushes are 0.2–2 MB. */
const MAX_BODY_BYTES = 8 * 1024 * 1024; // 8 MiB
const MAX_XML_BYTES = 256 * 1024; // 256 kiB
const MAX_XML_DEPTH = 32;
const MAX_XML_ELEMENTS = 4096;
const MAX_IMAGES = 8;
const MAX_PLATE_LENGTH = 16;
/** Plate characters: letters (incl. Đ, 粤), digits, and the separators plates are printed with. */
const PLATE_TEXT = /^[\p{L}\p{N}][\p{L}\p{N} .·-]*$/u;
const NO_PLATE = new Set(["unknown", "无车牌", "無車牌", "nonplate"]);
const TOKEN = /^[A-Za-z0-9_-]{1,16}$/;
const ISO_DATE_TIME =
    /^(\d{4})-(\d{2})-(\d{2})T([01]\d|2[0-3]):([0-5]\d):([0-5]\d)(?:\.\d{1,9})?(Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)?$/;
const ISAPI_NS = "http://www.isapi.org/ver20/XMLSchema";
/** Vietnam (ICT). encode() writes camera-local time with this offset, as the DS-TCG405-E sample does. */
const ENCODE_OFFSET_MINUTES = 7 * 60;

// ---------------------------------------------------------------------------------------------------
// A minimal XML reader: elements and their text, enough for ISAPI alerts, never throws.

interface XmlElement {
    /** Local name (namespace prefix removed). */
    name: string;
    children: XmlElement[];
    text: string;
}

const ENTITIES: Readonly<Record<string, string>> = { lt: "<", gt: ">", amp: "&", quot: '"', apos: "'" };

function decodeEntities(raw: string): string | undefined {
    let bad = false;
    const text = raw.replace(/&([^;&\s<]{0,12});?/g, (whole, ref: string) => {
        if (!whole.endsWith(";")) {
            bad = true;
            return "";
        }
        const named = ENTITIES[ref];
        if (named !== undefined) return named;
        const m = /^#(?:x([0-9A-Fa-f]{1,6})|(\d{1,7}))$/.exec(ref);
        const code = m ? Number.parseInt(m[1] ?? m[2] ?? "", m[1] ? 16 : 10) : Number.NaN;
        // Control characters pass (the plate check names them); NUL, surrogates and beyond U+10FFFF cannot.
        if (!(code > 0 && code <= 0x10ffff) || (code >= 0xd800 && code <= 0xdfff)) {
            bad = true;
            return "";
        }
        return String.fromCodePoint(code);
    });
    return bad ? undefined : text;
}

const NAME = /[A-Za-z_\u00c0-\uffff][\w.\-:\u00b7\u00c0-\uffff]*/y;
const ATTRIBUTE = /\s+[A-Za-z_:][\w.\-:]*\s*=\s*(?:"[^"<]*"|'[^'<]*')/y;

/** True when `text` is a run of well-formed attributes; a loop, because one regex over the run backtracks badly. */
function attributesOk(text: string): boolean {
    let at = 0;
    for (;;) {
        ATTRIBUTE.lastIndex = at;
        if (!ATTRIBUTE.exec(text)) break;
        at = ATTRIBUTE.lastIndex;
    }
    return text.slice(at).trim() === "";
}

/** Parses a whole document into its root element, or answers why it is not well-formed. */
function parseXml(xml: string): XmlElement | string {
    const stack: XmlElement[] = [];
    let root: XmlElement | undefined;
    let elements = 0;
    let i = xml.charCodeAt(0) === 0xfeff ? 1 : 0;
    while (i < xml.length) {
        const lt = xml.indexOf("<", i);
        const textEnd = lt < 0 ? xml.length : lt;
        if (textEnd > i) {
            const raw = xml.slice(i, textEnd);
            const top = stack.at(-1);
            if (top) {
                const text = decodeEntities(raw);
                if (text === undefined) return "XML has a malformed entity reference";
                top.text += text;
            } else if (raw.trim() !== "") return "XML has text outside the root element";
        }
        if (lt < 0) break;
        if (xml.startsWith("<?", lt)) {
            const end = xml.indexOf("?>", lt + 2);
            if (end < 0) return "XML processing instruction is not closed";
            i = end + 2;
        } else if (xml.startsWith("<!--", lt)) {
            const end = xml.indexOf("-->", lt + 4);
            if (end < 0) return "XML comment is not closed";
            i = end + 3;
        } else if (xml.startsWith("<![CDATA[", lt)) {
            const end = xml.indexOf("]]>", lt + 9);
            const top = stack.at(-1);
            if (end < 0 || !top) return "XML CDATA section is not closed or outside the root";
            top.text += xml.slice(lt + 9, end);
            i = end + 3;
        } else if (xml.startsWith("<!", lt)) {
            // DOCTYPE would bring entity declarations (billion laughs, external entities); no camera needs it.
            return "XML DOCTYPE or declaration is not allowed";
        } else if (xml.startsWith("</", lt)) {
            NAME.lastIndex = lt + 2;
            const name = NAME.exec(xml)?.[0];
            const end = xml.indexOf(">", lt);
            const top = stack.pop();
            if (!name || end < 0 || xml.slice(lt + 2 + name.length, end).trim() !== "")
                return "XML end tag is malformed";
            if (!top || top.name !== localName(name)) return `XML end tag </${name}> does not match`;
            i = end + 1;
        } else {
            NAME.lastIndex = lt + 1;
            const name = NAME.exec(xml)?.[0];
            const end = xml.indexOf(">", lt);
            if (!name || end < 0) return "XML start tag is malformed";
            const selfClosing = xml[end - 1] === "/";
            const attributes = xml.slice(lt + 1 + name.length, selfClosing ? end - 1 : end);
            if (!attributesOk(attributes)) return `XML attributes of <${name}> are malformed`;
            if (++elements > MAX_XML_ELEMENTS) return "XML has too many elements";
            const element: XmlElement = { name: localName(name), children: [], text: "" };
            const parent = stack.at(-1);
            if (parent) parent.children.push(element);
            else if (root) return "XML has more than one root element";
            else root = element;
            if (!selfClosing) {
                stack.push(element);
                if (stack.length > MAX_XML_DEPTH) return "XML is nested too deeply";
            }
            i = end + 1;
        }
    }
    if (!root) return "XML has no root element";
    if (stack.length > 0) return `XML element <${stack.at(-1)?.name}> is not closed`;
    return root;
}

function localName(name: string): string {
    return name.slice(name.lastIndexOf(":") + 1);
}

function child(element: XmlElement | undefined, name: string): XmlElement | undefined {
    return element?.children.find((c) => c.name === name);
}

function childText(element: XmlElement | undefined, name: string): string | undefined {
    return child(element, name)?.text.trim();
}

// ---------------------------------------------------------------------------------------------------
// decode

function invalid(reason: string): HikvisionDecoded {
    return { status: "invalid", reason };
}

/** The charset an XML document declares, or its part header gives; lower case. */
function declaredCharset(bytes: Uint8Array, headerCharset: string | undefined): string {
    const head = Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.byteLength, 200)).toString("latin1");
    const declared = /^(?:\uFEFF|\xEF\xBB\xBF)?\s*<\?xml[^>]*?\bencoding\s*=\s*["']([A-Za-z0-9_.:-]+)["']/.exec(
        head,
    )?.[1];
    return (declared ?? headerCharset ?? "utf-8").toLowerCase();
}

/** The XML text in its declared encoding, or why it cannot be read. */
function xmlText(bytes: Uint8Array, headerCharset: string | undefined): string | { error: string } {
    if (bytes.byteLength > MAX_XML_BYTES) return { error: `XML over ${MAX_XML_BYTES} bytes` };
    const charset = declaredCharset(bytes, headerCharset);
    let label: string;
    if (charset === "utf-8" || charset === "utf8") label = "utf-8";
    else if (charset === "gbk" || charset === "gb2312" || charset === "cp936") label = "gbk";
    else if (charset === "gb18030") label = "gb18030";
    else return { error: `XML encoding ${charset} is not supported` };
    let text: string;
    try {
        text = new TextDecoder(label, { fatal: true }).decode(bytes);
    } catch {
        return { error: `XML is not valid ${label.toUpperCase()}` };
    }
    // ICU's GBK decoder is not strictly fatal on every invalid pair; a replacement character means a
    // byte sequence it could not map, and the plate must not be guessed from it.
    if (text.includes("\uFFFD")) return { error: `XML is not valid ${label.toUpperCase()}` };
    return text;
}

function looksLikeXml(bytes: Uint8Array): boolean {
    const head = Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.byteLength, 64))
        .toString("latin1")
        .replace(/^(?:\xEF\xBB\xBF)?\s*/, "");
    return head.startsWith("<?xml") || /^<(?:[\w.-]+:)?EventNotificationAlert\b/.test(head);
}

function isXmlType(contentType: string | undefined): boolean {
    const media = mediaTypeOf(contentType);
    return media === "text/xml" || media === "application/xml";
}

function isJpeg(bytes: Uint8Array): boolean {
    return bytes.byteLength >= 4 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff;
}

function findXmlPart(parts: readonly MultipartPart[]): MultipartPart | undefined {
    return (
        parts.find((p) => p.name?.toLowerCase().endsWith(".xml") || p.filename?.toLowerCase().endsWith(".xml")) ??
        parts.find((p) => isXmlType(p.contentType)) ??
        parts.find((p) => looksLikeXml(p.body))
    );
}

function imageName(part: MultipartPart, index: number): string {
    const name = part.filename ?? part.name ?? "";
    return /^[\w.-]{1,64}$/.test(name) ? name : `picture-${index + 1}.jpg`;
}

/** Picture types (pictureInfo/type) and part names of the plate crop. */
const PLATE_PICTURE = /^(?:licensePlatePicture|plate)/i;

/** What each picture shows, by the type pictureInfoList gives its file name, else by its own name. */
function withRoles(images: readonly PlateImage[], anpr: XmlElement): PlateImage[] {
    const types = new Map<string, string>();
    for (const info of child(anpr, "pictureInfoList")?.children ?? []) {
        const fileName = childText(info, "fileName");
        const type = childText(info, "type");
        if (fileName !== undefined && type !== undefined) types.set(fileName, type);
    }
    return images.map((image) => {
        const role: ImageRole = PLATE_PICTURE.test(types.get(image.name) ?? image.name) ? "plate" : "scene";
        return { ...image, role };
    });
}

/** ms since epoch of an ISO 8601 date-time with offset, "local" for one without, undefined for garbage. */
function parseDateTime(text: string): number | "local" | undefined {
    const m = ISO_DATE_TIME.exec(text);
    if (!m) return undefined;
    const year = Number(m[1]);
    const month = Number(m[2]);
    const day = Number(m[3]);
    if (month < 1 || month > 12 || day < 1 || day > new Date(Date.UTC(year, month, 0)).getUTCDate()) return undefined;
    if (m[7] === undefined) return "local";
    const ms = Date.parse(text);
    return Number.isFinite(ms) ? ms : undefined;
}

function decodeAlert(xml: string, images: PlateImage[], dropped: string[]): HikvisionDecoded {
    const root = parseXml(xml);
    if (typeof root === "string") return invalid(root);
    if (root.name !== "EventNotificationAlert")
        return invalid(`XML root is <${root.name}>, not EventNotificationAlert`);
    const eventType = childText(root, "eventType");
    if (!eventType) return invalid("eventType is missing");
    if (eventType.toUpperCase() !== "ANPR") {
        return { status: "ignored", reason: `eventType ${eventType.slice(0, 32).replace(/[^\x20-\x7e]/g, "?")}` };
    }
    const anpr = child(root, "ANPR");
    if (!anpr) return invalid("ANPR element is missing");

    const plate = child(anpr, "licensePlate")?.text;
    if (plate === undefined) return invalid("licensePlate is missing");
    const text = plate.trim();
    if (text === "") return invalid("licensePlate is empty");
    if (NO_PLATE.has(text.toLowerCase())) return { status: "ignored", reason: "vehicle without a readable plate" };
    if (/[\p{Cc}\p{Cf}]/u.test(text)) return invalid("licensePlate contains control characters");
    if (!PLATE_TEXT.test(text))
        return invalid("licensePlate contains characters other than letters, digits, ' ', '-', '.', '·'");
    if ([...text].length > MAX_PLATE_LENGTH) return invalid(`licensePlate is over ${MAX_PLATE_LENGTH} characters`);

    const level = childText(anpr, "confidenceLevel");
    if (level === undefined || !/^\d{1,3}(?:\.\d{1,6})?$/.test(level) || Number(level) > 100)
        return invalid("confidenceLevel is not 0-100");

    let observedAt: number | undefined;
    const dateTime = childText(root, "dateTime");
    if (dateTime !== undefined && dateTime !== "") {
        const parsed = parseDateTime(dateTime);
        if (parsed === undefined) return invalid("dateTime is not an ISO 8601 date-time");
        if (parsed !== "local") observedAt = parsed;
    }

    const values: PlateRead = { text, confidence: Number(level) / 100, images: withRoles(images, anpr) };
    const country = childText(anpr, "country");
    if (country !== undefined && TOKEN.test(country)) values.countryCode = country;
    const direction = childText(anpr, "direction");
    if (direction !== undefined && TOKEN.test(direction)) values.direction = direction;
    const result: HikvisionDecoded = { status: "reading", values };
    if (observedAt !== undefined) result.observedAt = observedAt;
    if (dropped.length > 0) result.dropped = dropped;
    return result;
}

function decodeMultipart(request: PushRequest, boundary: string): HikvisionDecoded {
    const parsed = parseMultipart(request.body, boundary);
    if (!parsed.ok) return invalid(parsed.reason);
    const xmlPart = findXmlPart(parsed.parts);
    if (!xmlPart) return invalid("multipart body has no XML part");
    const images: PlateImage[] = [];
    const dropped: string[] = [];
    parsed.parts.forEach((part, index) => {
        if (part === xmlPart) return;
        const name = imageName(part, index);
        if (!isJpeg(part.body)) dropped.push(`${name}: not a JPEG (no FF D8 FF magic)`);
        else if (images.length >= MAX_IMAGES) dropped.push(`${name}: more than ${MAX_IMAGES} pictures`);
        // A copy: the request buffer is the receiver's and may be reused once the request is answered.
        else images.push({ name, contentType: "image/jpeg", bytes: new Uint8Array(part.body) });
    });
    const charset = xmlPart.contentType === undefined ? undefined : charsetOf(xmlPart.contentType);
    const xml = xmlText(xmlPart.body, charset);
    if (typeof xml !== "string") return invalid(xml.error);
    return decodeAlert(xml, images, dropped);
}

function charsetOf(contentType: string): string | undefined {
    return /;\s*charset\s*=\s*"?([A-Za-z0-9_.:-]+)/i.exec(contentType)?.[1];
}

function decode(request: PushRequest): HikvisionDecoded {
    try {
        if (request.body.byteLength > MAX_BODY_BYTES) return invalid(`body over ${MAX_BODY_BYTES} bytes`);
        const media = mediaTypeOf(request.contentType);
        if (media === "multipart/form-data" || media === "multipart/mixed") {
            const boundary = boundaryOf(request.contentType);
            if (boundary === undefined) return invalid("multipart Content-Type has no valid boundary");
            return decodeMultipart(request, boundary);
        }
        if (isXmlType(request.contentType)) {
            const xml = xmlText(request.body, charsetOf(request.contentType));
            if (typeof xml !== "string") return invalid(xml.error);
            return decodeAlert(xml, [], []);
        }
        return invalid(`Content-Type ${media || "(none)"} is not multipart/form-data or XML`);
    } catch (err) {
        /* v8 ignore next 2 -- a bug guard: the contract says decode never throws, whatever the bytes. */
        return invalid(`decoder error: ${err instanceof Error ? err.message : String(err)}`);
    }
}

// ---------------------------------------------------------------------------------------------------
// encode

function escapeXml(text: string): string {
    return text.replace(/[<>&"']/g, (c) => `&${{ "<": "lt", ">": "gt", "&": "amp", '"': "quot", "'": "apos" }[c]};`);
}

/** `at` as camera-local ISO 8601 with milliseconds and the +07:00 offset. */
function localIso(at: Date): string {
    const local = new Date(at.getTime() + ENCODE_OFFSET_MINUTES * 60_000).toISOString().slice(0, 23);
    const sign = ENCODE_OFFSET_MINUTES >= 0 ? "+" : "-";
    const abs = Math.abs(ENCODE_OFFSET_MINUTES);
    return `${local}${sign}${String(Math.floor(abs / 60)).padStart(2, "0")}:${String(abs % 60).padStart(2, "0")}`;
}

function encode(read: PlateRead, options: { at?: Date; deviceName?: string } = {}): PushRequest {
    const at = options.at ?? new Date();
    const local = localIso(at);
    const level = Math.round(Math.min(1, Math.max(0, read.confidence)) * 100);
    const charBelieve = Array.from(read.text.replace(/[\s.·-]/g, ""), () => String(Math.min(99, level + 1))).join(",");
    const absTime = local.slice(0, 23).replace(/\D/g, "");
    const pictures = read.images
        .map(
            (image) =>
                `<pictureInfo><fileName>${escapeXml(image.name)}</fileName><type>${image.role === "plate" ? "licensePlatePicture" : "detectionPicture"}</type>` +
                `<absTime>${absTime}</absTime><plateRect><X>430</X><Y>275</Y><width>106</width><height>65</height></plateRect></pictureInfo>`,
        )
        .join("");
    const xml =
        `<?xml version="1.0" encoding="UTF-8"?>\n` +
        `<EventNotificationAlert version="2.0" xmlns="${ISAPI_NS}">` +
        `<ipAddress>192.168.1.64</ipAddress><portNo>80</portNo><protocol>HTTP</protocol>` +
        `<macAddress>44:19:b6:00:00:01</macAddress><channelID>1</channelID>` +
        `<dateTime>${local}</dateTime><activePostCount>1</activePostCount><eventType>ANPR</eventType>` +
        `<eventState>active</eventState><eventDescription>ANPR</eventDescription>` +
        `<channelName>${escapeXml(options.deviceName ?? "Camera 01")}</channelName><deviceID>88</deviceID>` +
        `<ANPR><country>${escapeXml(read.countryCode ?? "")}</country>` +
        `<licensePlate>${escapeXml(read.text)}</licensePlate><line>1</line>` +
        `<direction>${escapeXml(read.direction ?? "forward")}</direction><confidenceLevel>${level}</confidenceLevel>` +
        `<plateType>unknown</plateType><plateColor>white</plateColor><licenseBright>0</licenseBright>` +
        `<plateCharBelieve>${charBelieve}</plateCharBelieve><vehicleType>truck</vehicleType><detectDir>8</detectDir>` +
        `<barrierGateCtrlType>1</barrierGateCtrlType>` +
        `<vehicleInfo><index>1</index><colorDepth>2</colorDepth><color>white</color><length>0</length>` +
        `<vehicleLogoRecog>0</vehicleLogoRecog></vehicleInfo>` +
        `<pictureInfoList>${pictures}</pictureInfoList>` +
        `<originalLicensePlate>${escapeXml(read.text)}</originalLicensePlate></ANPR>` +
        `<UUID>${at.getTime().toString(16)}</UUID><picNum>${read.images.length}</picNum>` +
        `<monitoringSiteID></monitoringSiteID><isDataRetransmission>false</isDataRetransmission>` +
        `<deviceUUID>00000000-0000-0000-0000-44${at.getTime().toString(16).padStart(10, "0").slice(-10)}</deviceUUID>` +
        `</EventNotificationAlert>\n`;
    const { contentType, body } = buildMultipart(
        [
            { name: "anpr.xml", filename: "anpr.xml", contentType: "application/xml; charset=UTF-8", body: xml },
            ...read.images.map((image) => ({
                name: image.name,
                filename: image.name,
                contentType: image.contentType,
                body: image.bytes,
            })),
        ],
        `hik${at.getTime().toString(16)}`,
    );
    return { path: DEFAULT_PATH, contentType, body };
}

// ---------------------------------------------------------------------------------------------------

export const definition = {
    model: "hikvision-isapi-anpr",
    vendor: "Hikvision",
    description: "Hikvision ANPR camera pushing ISAPI EventNotificationAlert (multipart XML + JPEG) over HTTP",
    kind: "plate",
    transport: "http-push",
    paths: [DEFAULT_PATH],
    maxBodyBytes: MAX_BODY_BYTES,
    decode,
    /**
     * Hikvision only looks at the status (it never resends), so the body is for people reading a
     * capture: "OK", or the reason a push was refused.
     */
    reply(outcome: "stored" | "refused", reason?: string) {
        return outcome === "stored"
            ? { status: 200, contentType: "text/plain; charset=utf-8", body: "OK" }
            : {
                  status: 400,
                  contentType: "text/plain; charset=utf-8",
                  body: `refused: ${reason ?? "invalid request"}`,
              };
    },
    encode,
} satisfies HttpPushCameraModel;
