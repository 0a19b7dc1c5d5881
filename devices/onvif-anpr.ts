/**
 * ONVIF licence-plate camera (docs/devices.md "Plate cameras"): Analytics Service LPR rule events on topic
 * `tns1:RuleEngine/Recognition/LicensePlate`, read over a PullPoint subscription.
 *
 * decode() gets the raw XML of one wsnt:NotificationMessage (never the onvif library's converted object,
 * which turns "003725" into 3725). Rules:
 * - not XML, no wsnt:Topic or no tt:Message → invalid;
 * - a topic other than the plate topic → ignored. The topic prefix may be any prefix bound to
 *   http://www.onvif.org/ver10/topics, not only "tns1";
 * - PropertyOperation "Initialized" → ignored: cameras replay the current state when a subscription is
 *   created, so after every resubscription (camera reboot) an old plate would come back as a new passage;
 *   "Deleted" → ignored (the object left the scene). "Changed" or absent → a read;
 * - UtcTime must be an ISO 8601 date-time with a zone; it becomes `observedAt`;
 * - the plate is tt:LicensePlateInfo/tt:PlateNumber anywhere under tt:Data (normally inside the
 *   ElementItem "LicensePlateInfo"). Its text is kept exactly as sent, only trimmed: after entity
 *   decoding it must be 1–16 characters with no control characters and no '<' '>' (markup smuggled in
 *   as &lt;script&gt; is refused, not passed on to the dashboard);
 * - confidence is PlateNumber@Likelihood, else the event's Likelihood SimpleItem, else the read is
 *   invalid (spec: Likelihood is mandatory). A number outside 0–1 is clamped, a non-number is invalid;
 * - CountryCode is kept when it is 1–8 printable ASCII characters; otherwise dropped;
 * - Image / VehicleImage SimpleItems (base64) become images; one that is not valid base64 is dropped
 *   rather than failing the read, because the plate text is what the lane needs.
 */

import {
    attribute,
    childNamed,
    childrenNamed,
    descendantNamed,
    escapeXml,
    NS,
    parseXml,
    parseZonedDateTime,
    topicMatches,
    type XmlElement,
} from "./lib/xml.ts";
import type { DecodeResult, OnvifCameraModel, PlateImage, PlateRead } from "./types.ts";

export const PLATE_TOPIC = "tns1:RuleEngine/Recognition/LicensePlate";
/** A notification with two JPEGs in base64 stays far below this; bigger is refused before parsing. */
export const MAX_NOTIFICATION_CHARS = 4 * 1024 * 1024;
const MAX_PLATE_CHARS = 16;
const TOPIC_DIALECT = "http://www.onvif.org/ver10/tev/topicExpression/ConcreteSet";
const IMAGE_ITEMS: readonly string[] = ["Image", "VehicleImage"];

type Decoded = DecodeResult<PlateRead> & { observedAt?: number };

function invalid(reason: string): Decoded {
    return { status: "invalid", reason };
}

/** A Likelihood attribute: a number clamped to 0–1, undefined when absent, "bad" when not a number. */
function likelihood(text: string | undefined): number | undefined | "bad" {
    if (text === undefined) return undefined;
    const t = text.trim();
    if (!/^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/.test(t)) return "bad";
    const value = Number(t);
    if (!Number.isFinite(value)) return "bad";
    return Math.min(1, Math.max(0, value));
}

/** C0 controls, DEL and C1 controls (a loop rather than a regex full of control characters). */
export function hasControlCharacter(text: string): boolean {
    for (let i = 0; i < text.length; i++) {
        const code = text.charCodeAt(i);
        if (code <= 0x1f || (code >= 0x7f && code <= 0x9f)) return true;
    }
    return false;
}

/** Why a plate text cannot be trusted, or undefined when it can. */
function plateProblem(text: string): string | undefined {
    if (text === "") return "empty plate";
    // Control characters (C0, DEL, C1) and markup: a camera never sends them in a plate.
    if (hasControlCharacter(text)) return "control character in plate";
    if (/[<>]/.test(text)) return "markup in plate";
    if ([...text].length > MAX_PLATE_CHARS) return `plate longer than ${MAX_PLATE_CHARS} characters`;
    return undefined;
}

function decodeImage(name: string, base64: string): PlateImage | undefined {
    const clean = base64.replace(/\s+/g, "");
    if (clean.length < 4 || clean.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(clean)) return undefined;
    const bytes = new Uint8Array(Buffer.from(clean, "base64"));
    const jpeg = bytes.length > 3 && bytes[0] === 0xff && bytes[1] === 0xd8;
    return { name, contentType: jpeg ? "image/jpeg" : "application/octet-stream", bytes };
}

function simpleItems(data: XmlElement): Map<string, string> {
    const items = new Map<string, string>();
    for (const item of childrenNamed(data, "SimpleItem")) {
        const name = attribute(item, "Name");
        const value = attribute(item, "Value");
        if (name !== undefined && value !== undefined && !items.has(name)) items.set(name, value);
    }
    return items;
}

function decodeMessage(root: XmlElement): Decoded {
    if (root.local !== "NotificationMessage") return invalid("root is not a NotificationMessage");
    const topic = childNamed(root, "Topic");
    if (!topic) return invalid("no Topic");
    if (!topicMatches(topic, PLATE_TOPIC)) return { status: "ignored", reason: "not the licence-plate topic" };
    const message = descendantNamed(childNamed(root, "Message") ?? root, "Message", NS.tt);
    if (!message) return invalid("no tt:Message");
    const operation = attribute(message, "PropertyOperation");
    if (operation === "Initialized")
        return { status: "ignored", reason: "initial state replayed by a new subscription" };
    if (operation === "Deleted") return { status: "ignored", reason: "plate object deleted" };
    const observedAt = parseZonedDateTime(attribute(message, "UtcTime"));
    if (observedAt === undefined) return invalid("UtcTime missing or not an ISO 8601 date-time with zone");
    const data = childNamed(message, "Data");
    if (!data) return invalid("no Data");
    const info = descendantNamed(data, "LicensePlateInfo");
    const plate = info ? childNamed(info, "PlateNumber") : undefined;
    if (!plate) return invalid("no PlateNumber");
    if (plate.children.length > 0) return invalid("markup in plate");
    const text = plate.text.trim();
    const problem = plateProblem(text);
    if (problem) return invalid(problem);

    const items = simpleItems(data);
    const own = likelihood(attribute(plate, "Likelihood"));
    const event = likelihood(items.get("Likelihood"));
    if (own === "bad") return invalid("PlateNumber Likelihood is not a number");
    if (own === undefined && event === "bad") return invalid("Likelihood is not a number");
    const confidence = own ?? event;
    if (confidence === undefined || confidence === "bad") return invalid("no Likelihood");

    const read: PlateRead = { text, confidence, images: [] };
    const country = info ? childNamed(info, "CountryCode")?.text.trim() : undefined;
    if (country !== undefined && /^[\x21-\x7e]{1,8}$/.test(country)) read.countryCode = country;
    for (const name of IMAGE_ITEMS) {
        const value = items.get(name);
        const image = value === undefined ? undefined : decodeImage(name, value);
        if (image) read.images.push(image);
    }
    return { status: "reading", values: read, observedAt };
}

function decode(notificationXml: string): Decoded {
    if (typeof notificationXml !== "string") return invalid("not a string");
    if (notificationXml.length > MAX_NOTIFICATION_CHARS) return invalid(`over ${MAX_NOTIFICATION_CHARS} characters`);
    const parsed = parseXml(notificationXml);
    if (!parsed.ok) return invalid(`not XML: ${parsed.reason}`);
    return decodeMessage(parsed.root);
}

export interface EncodeNotificationOptions {
    utcTime: Date;
    /** Omitted: no PropertyOperation attribute (LPR events are not properties on most cameras). */
    operation?: "Initialized" | "Changed" | "Deleted";
    /** tt:Source SimpleItems; default VideoSource "VideoSource_1" and Rule "LPR_1". */
    videoSource?: string;
    rule?: string;
}

/** What a camera reports for a read: the plate and its Likelihood, with an optional JPEG crop. */
export interface EncodableRead {
    text: string;
    countryCode?: string;
    /** Likelihood 0–1, written with up to 3 decimals. */
    confidence: number;
    images?: readonly PlateImage[];
}

/**
 * One self-contained wsnt:NotificationMessage (its namespaces declared on itself) as an ONVIF camera
 * sends it for a plate read. Pure; the text is escaped, so any string round-trips through decode.
 */
export function encodeNotification(read: EncodableRead, options: EncodeNotificationOptions): string {
    const likelihoodText = String(Math.round(read.confidence * 1000) / 1000);
    const op = options.operation ? ` PropertyOperation="${options.operation}"` : "";
    const images = (read.images ?? [])
        .filter((image) => IMAGE_ITEMS.includes(image.name))
        .map(
            (image) =>
                `<tt:SimpleItem Name="${escapeXml(image.name)}" Value="${Buffer.from(image.bytes).toString("base64")}"/>`,
        )
        .join("");
    const country =
        read.countryCode === undefined
            ? ""
            : `<tt:CountryCode Likelihood="${likelihoodText}">${escapeXml(read.countryCode)}</tt:CountryCode>`;
    return (
        `<wsnt:NotificationMessage xmlns:wsnt="${NS.wsnt}" xmlns:tt="${NS.tt}" xmlns:tns1="${NS.tns1}">` +
        `<wsnt:Topic Dialect="${TOPIC_DIALECT}">${PLATE_TOPIC}</wsnt:Topic>` +
        `<wsnt:Message><tt:Message UtcTime="${options.utcTime.toISOString()}"${op}>` +
        "<tt:Source>" +
        `<tt:SimpleItem Name="VideoSource" Value="${escapeXml(options.videoSource ?? "VideoSource_1")}"/>` +
        `<tt:SimpleItem Name="Rule" Value="${escapeXml(options.rule ?? "LPR_1")}"/>` +
        "</tt:Source>" +
        "<tt:Data>" +
        `<tt:SimpleItem Name="Likelihood" Value="${likelihoodText}"/>` +
        images +
        '<tt:ElementItem Name="LicensePlateInfo"><tt:LicensePlateInfo>' +
        `<tt:PlateNumber Likelihood="${likelihoodText}">${escapeXml(read.text)}</tt:PlateNumber>` +
        country +
        "</tt:LicensePlateInfo></tt:ElementItem>" +
        "</tt:Data></tt:Message></wsnt:Message></wsnt:NotificationMessage>"
    );
}

export const definition = {
    model: "onvif-anpr",
    vendor: "ONVIF (generic)",
    description: "ONVIF camera with the Analytics LPR rule, licence-plate events read over a PullPoint subscription",
    kind: "plate",
    transport: "onvif",
    plateTopic: PLATE_TOPIC,
    decode,
} satisfies OnvifCameraModel;
