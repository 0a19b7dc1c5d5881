/**
 * multipart/form-data (RFC 7578 on RFC 2046 §5.1) parse and build, pure: the Hikvision ISAPI alarm push
 * (docs/devices.md "Plate cameras") is one XML part and JPEG parts in such a body. Nothing here does I/O and nothing
 * throws: a camera can send any bytes, and the answer is a result with a reason.
 *
 * Parsing is strict where a sloppy parser would let a truncated or forged body through (the closing
 * delimiter must be present, every part needs its header block) and tolerant where senders differ
 * without harm (a preamble, transport padding after a delimiter, header name case).
 */

/** One part of a multipart body. Header names are lower case; values as sent (latin1). */
export interface MultipartPart {
    headers: Readonly<Record<string, string>>;
    /** `name` of Content-Disposition, if any (e.g. "anpr.xml"). */
    name?: string;
    /** `filename` of Content-Disposition, if any (e.g. "detectionPicture.jpg"). */
    filename?: string;
    /** The part's Content-Type, lower-cased media type with its parameters as sent; undefined if absent. */
    contentType?: string;
    /** A view into the parsed body, not a copy. */
    body: Uint8Array;
}

export type MultipartParse = { ok: true; parts: MultipartPart[] } | { ok: false; reason: string };

export interface MultipartLimits {
    /** More parts than this → not ok. Default 32. */
    maxParts?: number;
    /** A part header block longer than this → not ok. Default 8192 bytes. */
    maxHeaderBytes?: number;
}

/** A part to build: name, optional filename, content type and bytes (or text, sent as UTF-8). */
export interface MultipartInput {
    name: string;
    filename?: string;
    contentType: string;
    body: Uint8Array | string;
}

const CRLF = Buffer.from("\r\n", "latin1");
const HEADER_END = Buffer.from("\r\n\r\n", "latin1");
/** RFC 2046 bchars: the characters a boundary may use (1–70 of them, not ending in a space). */
const BOUNDARY = /^[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]$/;

/** Media type of a Content-Type header, lower case without parameters ("" when absent). */
export function mediaTypeOf(contentType: string | undefined): string {
    return (contentType ?? "").split(";", 1)[0]?.trim().toLowerCase() ?? "";
}

/**
 * The value of parameter `name` in a header value such as `multipart/form-data; boundary="abc"` or
 * `form-data; name="anpr.xml"`, unquoted (backslash escapes resolved). Undefined when absent.
 */
export function headerParameter(value: string, name: string): string | undefined {
    const wanted = name.toLowerCase();
    // Parameters after the first ';': token=token or token="quoted string".
    const re = /;\s*([!#$%&'*+.^_`|~0-9A-Za-z-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]*))/g;
    for (const m of value.matchAll(re)) {
        if (m[1]?.toLowerCase() === wanted) return m[2] !== undefined ? m[2].replace(/\\(.)/g, "$1") : (m[3] ?? "");
    }
    return undefined;
}

/** The boundary of a multipart Content-Type, or undefined when it is absent or not a valid RFC 2046 boundary. */
export function boundaryOf(contentType: string): string | undefined {
    if (!mediaTypeOf(contentType).startsWith("multipart/")) return undefined;
    const boundary = headerParameter(contentType, "boundary");
    return boundary !== undefined && BOUNDARY.test(boundary) ? boundary : undefined;
}

function view(bytes: Uint8Array): Buffer {
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Skips transport padding (spaces and tabs) that RFC 2046 allows after a delimiter line. */
function skipPadding(buf: Buffer, at: number): number {
    let i = at;
    while (i < buf.length && (buf[i] === 0x20 || buf[i] === 0x09)) i++;
    return i;
}

function parseHeaders(block: string): Record<string, string> | string {
    const headers: Record<string, string> = {};
    for (const line of block.split("\r\n")) {
        const colon = line.indexOf(":");
        if (colon <= 0) return "part header line has no name";
        const key = line.slice(0, colon).trim().toLowerCase();
        if (!/^[!#$%&'*+.^_`|~0-9a-z-]+$/.test(key)) return "part header name is not a token";
        headers[key] = line.slice(colon + 1).trim();
    }
    return headers;
}

/**
 * Parses a multipart body with the given boundary. Not ok (with a reason) when the first delimiter or
 * the closing delimiter is missing, a part has no header block or a malformed header, or the limits
 * are exceeded. An epilogue after the closing delimiter is ignored, as RFC 2046 says.
 */
export function parseMultipart(body: Uint8Array, boundary: string, limits: MultipartLimits = {}): MultipartParse {
    if (!BOUNDARY.test(boundary)) return { ok: false, reason: "multipart boundary is not valid" };
    const maxParts = limits.maxParts ?? 32;
    const maxHeaderBytes = limits.maxHeaderBytes ?? 8192;
    const buf = view(body);
    const dash = Buffer.from(`--${boundary}`, "latin1");
    const delimiter = Buffer.concat([CRLF, dash]);

    // The first delimiter is at the very start or after a CRLF ending the preamble.
    let at: number;
    if (buf.subarray(0, dash.length).equals(dash)) at = dash.length;
    else {
        const found = buf.indexOf(delimiter);
        if (found < 0) return { ok: false, reason: "multipart body has no boundary delimiter" };
        at = found + delimiter.length;
    }

    const parts: MultipartPart[] = [];
    for (;;) {
        if (buf[at] === 0x2d && buf[at + 1] === 0x2d) return { ok: true, parts }; // "--": closing delimiter
        at = skipPadding(buf, at);
        if (buf[at] !== 0x0d || buf[at + 1] !== 0x0a)
            return { ok: false, reason: "multipart delimiter line is malformed" };
        at += 2;
        if (parts.length >= maxParts) return { ok: false, reason: `multipart body has more than ${maxParts} parts` };

        // A part without headers starts with its blank line directly (RFC 2046 defaults it to text/plain).
        let headers: Record<string, string> = {};
        if (buf[at] === 0x0d && buf[at + 1] === 0x0a) at += 2;
        else {
            const headerEnd = buf.indexOf(HEADER_END, at);
            if (headerEnd < 0 || headerEnd - at > maxHeaderBytes)
                return { ok: false, reason: "multipart part header block is missing or too long" };
            const parsed = parseHeaders(buf.toString("latin1", at, headerEnd));
            if (typeof parsed === "string") return { ok: false, reason: parsed };
            headers = parsed;
            at = headerEnd + HEADER_END.length;
        }
        const end = buf.indexOf(delimiter, at);
        if (end < 0) return { ok: false, reason: "multipart body is truncated (no closing boundary)" };

        const part: MultipartPart = { headers, body: buf.subarray(at, end) };
        const disposition = headers["content-disposition"];
        if (disposition !== undefined) {
            const name = headerParameter(disposition, "name");
            const filename = headerParameter(disposition, "filename");
            if (name !== undefined) part.name = name;
            if (filename !== undefined) part.filename = filename;
        }
        const type = headers["content-type"];
        if (type !== undefined) part.contentType = type;
        parts.push(part);
        at = end + delimiter.length;
    }
}

function quote(value: string): string {
    return `"${value.replace(/[\\"]/g, "\\$&").replace(/[\r\n]/g, " ")}"`;
}

/**
 * Builds a multipart/form-data body. The boundary is derived from `seed` and lengthened until it occurs
 * in no part, so the same input always gives the same bytes (simulators and tests compare them).
 */
export function buildMultipart(
    parts: readonly MultipartInput[],
    seed = "gate-edge",
): { contentType: string; body: Uint8Array } {
    const bodies = parts.map((part) =>
        typeof part.body === "string" ? Buffer.from(part.body, "utf8") : view(part.body),
    );
    let boundary = `----------------------------${seed.replace(/[^0-9A-Za-z]/g, "").slice(0, 30) || "b"}`;
    while (bodies.some((b) => b.includes(`--${boundary}`, 0, "latin1"))) boundary += "x";
    const chunks: Buffer[] = [];
    parts.forEach((part, i) => {
        const filename = part.filename === undefined ? "" : `; filename=${quote(part.filename)}`;
        chunks.push(
            Buffer.from(
                `--${boundary}\r\nContent-Disposition: form-data; name=${quote(part.name)}${filename}\r\n` +
                    `Content-Type: ${part.contentType}\r\nContent-Length: ${bodies[i]?.length ?? 0}\r\n\r\n`,
                "latin1",
            ),
            bodies[i] ?? Buffer.alloc(0),
            CRLF,
        );
    });
    chunks.push(Buffer.from(`--${boundary}--\r\n`, "latin1"));
    return { contentType: `multipart/form-data; boundary=${boundary}`, body: new Uint8Array(Buffer.concat(chunks)) };
}
