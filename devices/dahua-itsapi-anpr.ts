/**
 * Dahua ANPR camera pushing ITSAPI notifications over HTTP (docs/devices.md "Plate cameras"). In the camera's ITSAPI
 * platform settings, point the server at the push receiver; the paths are fixed by Dahua:
 * `/NotificationInfo/TollgateInfo` for plate reads and `/NotificationInfo/KeepAlive` for heartbeats.
 *
 * The camera resends a notification until it is answered `{"Result": true}`, so reply("stored") must only
 * be sent once the read is durable, and anything else makes it try again.
 *
 * Decode rules (the body comes from the network, so everything is checked; decode never throws):
 * - KeepAlive → ignored ("keep-alive"), whatever its body; other paths → invalid;
 * - Content-Type application/json (or +json), UTF-8 unless its charset says GBK/GB18030; a JSON object
 *   with a `Picture` object;
 * - Picture.Plate.IsExist false, or PlateNumber "unknown"/无车牌 → ignored (a vehicle without a readable
 *   plate); otherwise PlateNumber is 1–16 letters, digits, spaces, '-', '.', '·' (no control characters,
 *   no markup) and Confidence a number 0–100 → confidence / 100;
 * - SnapInfo.AccurateTime "YYYY-MM-DD HH:MM:SS[.fff]" is camera-local time; with SnapInfo.TimeZone (hours
 *   as a number, e.g. 7, or an offset string "+07:00" / "GMT+07:00" / "UTC+7") it becomes observedAt.
 *   Without a usable TimeZone observedAt is left out (the runtime stamps receipt); a malformed
 *   AccurateTime is invalid;
 * - Picture.NormalPic (the scene) and Picture.CutoutPic (the camera's crop of the plate): each one's
 *   Content, if present, must be strict base64 of a JPEG (FF D8 FF). Broken base64 or a non-JPEG refuses
 *   the whole push: unlike Hikvision, Dahua resends, and an evidence image we cannot read must show up as
 *   a refused push in the device's log, not vanish from a read that looks complete;
 * - Plate.Region / Country is kept as countryCode, SnapInfo.Direction as direction, when they are short
 *   plain tokens.
 *
 * Assumption (not verified against a Dahua manual): TimeZone is an hour offset. Some firmware may send a
 * zone index instead; an index is indistinguishable from a small offset, so check observedAt on site.
 */
import type { ImageRole } from "../src/core/events.ts";
import type { DecodeResult, HttpPushCameraModel, PlateImage, PlateRead, PushRequest } from "./types.ts";

type Decoded = DecodeResult<PlateRead> & { observedAt?: number };
type Json = { [key: string]: unknown };

const TOLLGATE_PATH = "/NotificationInfo/TollgateInfo";
const KEEPALIVE_PATH = "/NotificationInfo/KeepAlive";
/** One base64 scene JPEG (4/3 of its size) and the JSON around it. */
const MAX_BODY_BYTES = 8 * 1024 * 1024; // 8 MiB
const MAX_PLATE_LENGTH = 16;
const PLATE_TEXT = /^[\p{L}\p{N}][\p{L}\p{N} .·-]*$/u;
const NO_PLATE = new Set(["unknown", "无车牌", "無車牌", "nonplate"]);
const TOKEN = /^[A-Za-z0-9_-]{1,16}$/;
const ACCURATE_TIME = /^(\d{4})-(\d{2})-(\d{2}) ([01]\d|2[0-3]):([0-5]\d):([0-5]\d)(?:\.(\d{1,3}))?$/;
/** Base64 alphabet only; padding is checked separately (one regex over megabytes overflows V8's backtrack stack). */
const NOT_BASE64 = /[^A-Za-z0-9+/=]/;
/** Vietnam (ICT); encode() writes camera-local time in this zone. */
const ENCODE_TIMEZONE_HOURS = 7;

function invalid(reason: string): Decoded {
    return { status: "invalid", reason };
}

function isObject(value: unknown): value is Json {
    return typeof value === "object" && value !== null && !Array.isArray(value);
}

function mediaType(contentType: string): string {
    return contentType.split(";", 1)[0]?.trim().toLowerCase() ?? "";
}

function parseBody(request: PushRequest): Json | string {
    const charset = /;\s*charset\s*=\s*"?([A-Za-z0-9_.:-]+)/i.exec(request.contentType)?.[1]?.toLowerCase() ?? "utf-8";
    const label = ["gbk", "gb2312", "cp936"].includes(charset)
        ? "gbk"
        : charset === "gb18030"
          ? "gb18030"
          : charset === "utf-8" || charset === "utf8"
            ? "utf-8"
            : undefined;
    if (label === undefined) return `charset ${charset} is not supported`;
    let value: unknown;
    try {
        const text = new TextDecoder(label, { fatal: true }).decode(request.body);
        // ICU's GBK decoder is not strictly fatal; a replacement character means unmappable bytes.
        if (text.includes("\uFFFD")) return `body is not valid ${label.toUpperCase()}`;
        value = JSON.parse(text);
    } catch {
        return `body is not ${label.toUpperCase()} JSON`;
    }
    return isObject(value) ? value : "body is not a JSON object";
}

/** Minutes east of UTC from a TimeZone field, or undefined when it is absent or not understood. */
function offsetMinutes(value: unknown): number | undefined {
    if (typeof value === "number") {
        return Number.isFinite(value) && value >= -12 && value <= 14 && Number.isInteger(value * 4)
            ? value * 60
            : undefined;
    }
    if (typeof value !== "string") return undefined;
    const m = /^(?:GMT|UTC)?\s*([+-])(\d{1,2})(?::?([0-5]\d))?$/i.exec(value.trim());
    if (!m) return undefined;
    const minutes = Number(m[2]) * 60 + Number(m[3] ?? 0);
    return minutes <= 14 * 60 ? (m[1] === "-" ? -minutes : minutes) : undefined;
}

/** ms since epoch of a camera-local AccurateTime at `offset` minutes east of UTC; "local" without offset. */
function parseAccurateTime(text: string, offset: number | undefined): number | "local" | undefined {
    const m = ACCURATE_TIME.exec(text);
    if (!m) return undefined;
    const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [
        number,
        number,
        number,
        number,
        number,
        number,
    ];
    if (month < 1 || month > 12 || day < 1 || day > new Date(Date.UTC(year, month, 0)).getUTCDate()) return undefined;
    if (offset === undefined) return "local";
    const ms = Number((m[7] ?? "0").padEnd(3, "0"));
    return Date.UTC(year, month - 1, day, hour, minute, second, ms) - offset * 60_000;
}

/** Strict RFC 4648 base64: alphabet, length a multiple of 4, '=' only as the last one or two characters. */
function isBase64(text: string): boolean {
    if (text.length % 4 !== 0 || NOT_BASE64.test(text)) return false;
    const pad = text.indexOf("=");
    return pad < 0 || (pad >= text.length - 2 && /^=+$/.test(text.slice(pad)));
}

/** The picture objects of a TollgateInfo and what each shows. */
const PICTURES = [
    ["NormalPic", "scene"],
    ["CutoutPic", "plate"],
] as const;

function decodeImage(
    pic: unknown,
    field: (typeof PICTURES)[number][0],
    role: ImageRole,
): PlateImage | string | undefined {
    if (pic === undefined || pic === null) return undefined;
    if (!isObject(pic)) return `${field} is not an object`;
    const content = pic.Content;
    if (content === undefined || content === "") return undefined;
    if (typeof content !== "string" || !isBase64(content)) return `${field}.Content is not valid base64`;
    const bytes = Buffer.from(content, "base64");
    // Strict: non-zero pad bits decode silently in Node, so the bytes must encode back to the same text.
    if (bytes.toString("base64") !== content) return `${field}.Content is not canonical base64`;
    if (bytes.length < 4 || bytes[0] !== 0xff || bytes[1] !== 0xd8 || bytes[2] !== 0xff)
        return `${field}.Content is not a JPEG (no FF D8 FF magic)`;
    const name = typeof pic.PicName === "string" && /^[\w.-]{1,64}$/.test(pic.PicName) ? pic.PicName : field;
    return { name, role, contentType: "image/jpeg", bytes: new Uint8Array(bytes) };
}

function token(value: unknown): string | undefined {
    if (typeof value === "number" && Number.isInteger(value)) return String(value);
    return typeof value === "string" && TOKEN.test(value) ? value : undefined;
}

function decodeTollgate(json: Json): Decoded {
    const picture = json.Picture;
    if (!isObject(picture)) return invalid("Picture is missing");
    const plate = picture.Plate;
    if (!isObject(plate)) return invalid("Picture.Plate is missing");
    if (plate.IsExist === false) return { status: "ignored", reason: "vehicle without a readable plate" };
    if (typeof plate.PlateNumber !== "string") return invalid("Plate.PlateNumber is missing");
    const text = plate.PlateNumber.trim();
    if (text === "") return invalid("Plate.PlateNumber is empty");
    if (NO_PLATE.has(text.toLowerCase())) return { status: "ignored", reason: "vehicle without a readable plate" };
    if (/[\p{Cc}\p{Cf}]/u.test(text)) return invalid("Plate.PlateNumber contains control characters");
    if (!PLATE_TEXT.test(text))
        return invalid("Plate.PlateNumber contains characters other than letters, digits, ' ', '-', '.', '·'");
    if ([...text].length > MAX_PLATE_LENGTH) return invalid(`Plate.PlateNumber is over ${MAX_PLATE_LENGTH} characters`);
    const confidence = plate.Confidence;
    if (typeof confidence !== "number" || !Number.isFinite(confidence) || confidence < 0 || confidence > 100)
        return invalid("Plate.Confidence is not a number 0-100");

    const snap = isObject(picture.SnapInfo) ? picture.SnapInfo : {};
    let observedAt: number | undefined;
    if (snap.AccurateTime !== undefined && snap.AccurateTime !== "") {
        if (typeof snap.AccurateTime !== "string") return invalid("SnapInfo.AccurateTime is not a string");
        const parsed = parseAccurateTime(snap.AccurateTime, offsetMinutes(snap.TimeZone));
        if (parsed === undefined) return invalid("SnapInfo.AccurateTime is not YYYY-MM-DD HH:MM:SS.fff");
        if (parsed !== "local") observedAt = parsed;
    }

    const images: PlateImage[] = [];
    for (const [field, role] of PICTURES) {
        const image = decodeImage(picture[field], field, role);
        if (typeof image === "string") return invalid(image);
        if (image) images.push(image);
    }
    const values: PlateRead = { text, confidence: confidence / 100, images };
    const country = token(plate.Country) ?? token(plate.Region);
    if (country !== undefined) values.countryCode = country;
    const direction = token(snap.Direction);
    if (direction !== undefined) values.direction = direction;
    return observedAt === undefined ? { status: "reading", values } : { status: "reading", values, observedAt };
}

function decode(request: PushRequest): Decoded {
    try {
        if (request.path === KEEPALIVE_PATH) return { status: "ignored", reason: "keep-alive" };
        if (request.path !== TOLLGATE_PATH) return invalid(`path ${request.path.slice(0, 64)} is not ${TOLLGATE_PATH}`);
        if (request.body.byteLength > MAX_BODY_BYTES) return invalid(`body over ${MAX_BODY_BYTES} bytes`);
        const media = mediaType(request.contentType);
        if (media !== "application/json" && !/^application\/[\w.-]+\+json$/.test(media))
            return invalid(`Content-Type ${media || "(none)"} is not application/json`);
        const json = parseBody(request);
        if (typeof json === "string") return invalid(json);
        return decodeTollgate(json);
    } catch (err) {
        /* v8 ignore next 2 -- a bug guard: the contract says decode never throws, whatever the bytes. */
        return invalid(`decoder error: ${err instanceof Error ? err.message : String(err)}`);
    }
}

function pad(n: number, width = 2): string {
    return String(n).padStart(width, "0");
}

/** `at` as Dahua's camera-local "YYYY-MM-DD HH:MM:SS.fff" in the encode time zone. */
function accurateTime(at: Date): string {
    const d = new Date(at.getTime() + ENCODE_TIMEZONE_HOURS * 3_600_000);
    return (
        `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ` +
        `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}.${pad(d.getUTCMilliseconds(), 3)}`
    );
}

function encode(read: PlateRead, options: { at?: Date; deviceName?: string } = {}): PushRequest {
    const at = options.at ?? new Date();
    const time = accurateTime(at);
    const picture = (role: ImageRole) => {
        const image = read.images.find((i) => (i.role ?? "scene") === role);
        return image && { Content: Buffer.from(image.bytes).toString("base64"), PicName: image.name };
    };
    const scene = picture("scene");
    const cutout = picture("plate");
    const payload = {
        Picture: {
            ...(scene && { NormalPic: scene }),
            ...(cutout && { CutoutPic: cutout }),
            Plate: {
                BoundingBox: [1220, 860, 1480, 930],
                Channel: 0,
                Confidence: Math.round(Math.min(1, Math.max(0, read.confidence)) * 100),
                IsExist: true,
                PlateColor: "White",
                PlateNumber: read.text,
                PlateType: "Normal",
                Region: read.countryCode ?? "",
                UploadNum: 1,
            },
            Vehicle: {
                VehicleBoundingBox: [600, 300, 2200, 1400],
                VehicleColor: "White",
                VehicleSeries: "",
                VehicleSign: "",
                VehicleType: "Truck",
            },
            SnapInfo: {
                AccurateTime: time,
                Direction: read.direction ?? "Approach",
                TimeZone: ENCODE_TIMEZONE_HOURS,
                AllowUser: false,
                BlockUser: false,
                DeviceID: options.deviceName ?? "ITC-01",
                SnapTime: time.slice(0, 19),
            },
        },
    };
    return {
        path: TOLLGATE_PATH,
        contentType: "application/json; charset=UTF-8",
        body: new TextEncoder().encode(JSON.stringify(payload)),
    };
}

export const definition = {
    model: "dahua-itsapi-anpr",
    vendor: "Dahua",
    description:
        "Dahua ANPR camera pushing ITSAPI TollgateInfo JSON (base64 JPEG scene and plate cutout) and KeepAlive over HTTP",
    kind: "plate",
    transport: "http-push",
    paths: [TOLLGATE_PATH, KEEPALIVE_PATH],
    maxBodyBytes: MAX_BODY_BYTES,
    decode,
    /** {"Result":true} stops the camera resending; anything else (including a 4xx) makes it try again. */
    reply(outcome: "stored" | "refused", reason?: string) {
        return outcome === "stored"
            ? { status: 200, contentType: "application/json", body: JSON.stringify({ Result: true }) }
            : {
                  status: 400,
                  contentType: "application/json",
                  body: JSON.stringify({ Result: false, Message: reason ?? "invalid request" }),
              };
    },
    encode,
} satisfies HttpPushCameraModel;

/** The KeepAlive heartbeat a Dahua camera sends (simulators). */
export function keepAliveRequest(options: { at?: Date; deviceName?: string } = {}): PushRequest {
    const at = options.at ?? new Date();
    return {
        path: KEEPALIVE_PATH,
        contentType: "application/json; charset=UTF-8",
        body: new TextEncoder().encode(
            JSON.stringify({ DeviceID: options.deviceName ?? "ITC-01", Time: accurateTime(at) }),
        ),
    };
}
