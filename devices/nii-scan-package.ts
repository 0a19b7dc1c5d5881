/**
 * X-ray / NII (non-intrusive inspection) scanner: one package per scanned vehicle, exported by the
 * scanner's workstation to a folder gate-edge watches (docs/devices.md "Inspection area").
 *
 * The WCO Unified File Format (UFF) is the industry's exchange format, but its schema is not public; this
 * model reads one documented vendor-neutral form carrying the fields UFF and vendors' exports are known to
 * carry. A package is a folder named after the scan, holding JPEG images and `manifest.json`, written last:
 *
 *   { "format": "nii-scan/1", "scanId": "HN1-20261207-0042", "scanner": "HN1",
 *     "scannedAt": "2026-12-07T13:05:00+07:00",
 *     "vehicle": { "plates": ["15C-123.45"], "containers": ["CSQU3054383"] },
 *     "images": [ { "file": "top.jpg", "view": "top", "bytes": 48213, "sha256": "<hex>" } ],
 *     "result": { "status": "suspicious", "analyst": "inspector-07",
 *                 "analysedAt": "2026-12-07T13:09:12+07:00", "remarks": "dense mass behind the cargo",
 *                 "regions": [ { "image": "top.jpg", "x": 0.62, "y": 0.30, "width": 0.12, "height": 0.25,
 *                                "label": "dense organic" } ] } }
 *
 * Decode rules (never throws):
 * - manifest at most 256 KiB of UTF-8 JSON; `format` "nii-scan/1"; `scanId` 1–64 of [A-Za-z0-9._-];
 * - 1–8 images, each a file of the package (a plain name, no path) that starts with the JPEG magic and
 *   whose size and SHA-256 are the ones listed: a package copied half-way, or altered, is not evidence;
 * - `result.status` clear | suspicious | not-analysed; regions only on a listed image, as fractions of
 *   its width and height with the box inside the image; at most 32 regions; labels ≤ 64 characters;
 * - plates and container numbers are kept normalised (upper case, no separators, ≤ 16 characters);
 * - `scannedAt` with a zone becomes observedAt; analyst, analysedAt, remarks are kept when plain text.
 */
import { createHash } from "node:crypto";
import type { XrayRegion } from "../src/core/events.ts";
import type { DecodeResult, FolderEntry, ScanImage, ScanPackage, ScanPackageModel } from "./types.ts";

export const MANIFEST = "manifest.json";
const FORMAT = "nii-scan/1";
const MAX_MANIFEST_BYTES = 256 * 1024;
/** Eight views of a few MB each (a dual-energy top view of a 40' container is the largest). */
const MAX_PACKAGE_BYTES = 64 * 1024 * 1024;
const MAX_IMAGES = 8;
const MAX_REGIONS = 32;
const ID = /^[A-Za-z0-9._-]{1,64}$/;
const FILE = /^[A-Za-z0-9._-]{1,64}\.jpe?g$/i;
const STATUSES = new Set(["clear", "suspicious", "not-analysed"]);
const ZONED = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})$/;

type Decoded = DecodeResult<ScanPackage> & { observedAt?: number };

function invalid(reason: string): Decoded {
    return { status: "invalid", reason };
}

function isRecord(value: unknown): value is Record<string, unknown> {
    return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Plain text of at most `max` characters, or undefined (absent, not a string, control characters, markup). */
function plain(value: unknown, max: number): string | undefined {
    if (typeof value !== "string") return undefined;
    const text = value.trim();
    // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
    if (text === "" || [...text].length > max || /[\u0000-\u001f\u007f-\u009f<>]/.test(text)) return undefined;
    return text;
}

function normalisedIds(value: unknown, what: string): string[] | string {
    if (value === undefined) return [];
    if (!Array.isArray(value) || value.length > 8) return `vehicle.${what} is not a list of at most 8`;
    const ids: string[] = [];
    for (const item of value) {
        const text = plain(item, 24)
            ?.toUpperCase()
            .replace(/[\s.·-]/g, "");
        if (!text || [...text].length > 16 || !/^[\p{L}\p{N}]+$/u.test(text))
            return `vehicle.${what} has an unusable id`;
        ids.push(text);
    }
    return ids;
}

function fraction(value: unknown): number | undefined {
    return typeof value === "number" && Number.isFinite(value) && value >= 0 && value <= 1 ? value : undefined;
}

function isJpeg(bytes: Uint8Array): boolean {
    return bytes.byteLength >= 4 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff;
}

function decode(entry: FolderEntry): Decoded {
    const manifestBytes = entry.files.get(MANIFEST);
    if (!manifestBytes) return invalid(`package has no ${MANIFEST}`);
    if (manifestBytes.byteLength > MAX_MANIFEST_BYTES) return invalid(`${MANIFEST} over ${MAX_MANIFEST_BYTES} bytes`);
    let manifest: unknown;
    try {
        manifest = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(manifestBytes));
    } catch {
        return invalid(`${MANIFEST} is not UTF-8 JSON`);
    }
    if (!isRecord(manifest)) return invalid(`${MANIFEST} is not an object`);
    if (manifest.format !== FORMAT) return invalid(`format is not ${FORMAT}`);
    const scanId = typeof manifest.scanId === "string" && ID.test(manifest.scanId) ? manifest.scanId : undefined;
    if (!scanId) return invalid("scanId is missing or not 1-64 of A-Z a-z 0-9 . _ -");

    const vehicle = isRecord(manifest.vehicle) ? manifest.vehicle : {};
    const plates = normalisedIds(vehicle.plates, "plates");
    if (typeof plates === "string") return invalid(plates);
    const containers = normalisedIds(vehicle.containers, "containers");
    if (typeof containers === "string") return invalid(containers);

    const listed = manifest.images;
    if (!Array.isArray(listed) || listed.length === 0 || listed.length > MAX_IMAGES)
        return invalid(`images is not a list of 1-${MAX_IMAGES}`);
    const images: ScanImage[] = [];
    for (const item of listed) {
        if (!isRecord(item) || typeof item.file !== "string" || !FILE.test(item.file))
            return invalid("an image's file is not a plain .jpg name");
        const name = item.file;
        if (images.some((i) => i.name === name)) return invalid(`image ${name} is listed twice`);
        const bytes = entry.files.get(name);
        if (!bytes) return invalid(`image ${name} is not in the package`);
        if (bytes.byteLength !== item.bytes) return invalid(`image ${name} is not the size listed (copied half-way?)`);
        if (!isJpeg(bytes)) return invalid(`image ${name} is not a JPEG`);
        const sha = createHash("sha256").update(bytes).digest("hex");
        if (typeof item.sha256 !== "string" || item.sha256.toLowerCase() !== sha)
            return invalid(`image ${name} does not match its SHA-256`);
        images.push({ name, view: plain(item.view, 32) ?? "image", contentType: "image/jpeg", bytes });
    }

    const result = isRecord(manifest.result) ? manifest.result : undefined;
    const status = result?.status;
    if (typeof status !== "string" || !STATUSES.has(status))
        return invalid("result.status is not clear, suspicious or not-analysed");
    const rawRegions = result?.regions ?? [];
    if (!Array.isArray(rawRegions) || rawRegions.length > MAX_REGIONS)
        return invalid(`result.regions is not a list of at most ${MAX_REGIONS}`);
    const regions: XrayRegion[] = [];
    for (const r of rawRegions) {
        if (!isRecord(r)) return invalid("a region is not an object");
        const image = images.findIndex((i) => i.name === r.image);
        const [x, y, width, height] = [fraction(r.x), fraction(r.y), fraction(r.width), fraction(r.height)];
        if (image < 0) return invalid("a region names an image the package does not list");
        if (
            x === undefined ||
            y === undefined ||
            width === undefined ||
            height === undefined ||
            x + width > 1 ||
            y + height > 1
        )
            return invalid("a region is not a box inside its image (fractions 0-1)");
        regions.push({ image, x, y, width, height, label: plain(r.label, 64) ?? "" });
    }

    const scannedAt =
        typeof manifest.scannedAt === "string" && ZONED.test(manifest.scannedAt) ? manifest.scannedAt : undefined;
    const observedAt = scannedAt !== undefined ? Date.parse(scannedAt) : Number.NaN;
    const analysedAt =
        typeof result?.analysedAt === "string" && ZONED.test(result.analysedAt) ? result.analysedAt : undefined;
    const analyst = plain(result?.analyst, 64);
    const remarks = plain(result?.remarks, 500);
    const values: ScanPackage = {
        scanId,
        result: status as ScanPackage["result"], // one of STATUSES, checked above
        plates,
        containers,
        images,
        regions,
        ...(analyst !== undefined && { analyst }),
        ...(analysedAt !== undefined && { analysedAt }),
        ...(remarks !== undefined && { remarks }),
        ...(scannedAt !== undefined && { scannedAt }),
    };
    return { status: "reading", values, ...(Number.isFinite(observedAt) && { observedAt }) };
}

function encode(scan: ScanPackage & { scannedAt: string; scanner: string }): FolderEntry {
    const manifest = {
        format: FORMAT,
        scanId: scan.scanId,
        scanner: scan.scanner,
        scannedAt: scan.scannedAt,
        vehicle: { plates: scan.plates, containers: scan.containers },
        images: scan.images.map((image) => ({
            file: image.name,
            view: image.view,
            bytes: image.bytes.byteLength,
            sha256: createHash("sha256").update(image.bytes).digest("hex"),
        })),
        result: {
            status: scan.result,
            ...(scan.analyst !== undefined && { analyst: scan.analyst }),
            ...(scan.analysedAt !== undefined && { analysedAt: scan.analysedAt }),
            ...(scan.remarks !== undefined && { remarks: scan.remarks }),
            regions: scan.regions.map(({ image, ...box }) => ({ image: scan.images[image]?.name, ...box })),
        },
    };
    const files = new Map<string, Uint8Array>(scan.images.map((image) => [image.name, image.bytes]));
    files.set(MANIFEST, new TextEncoder().encode(`${JSON.stringify(manifest, null, 2)}\n`));
    return { name: scan.scanId, files };
}

export const definition: ScanPackageModel = {
    model: "nii-scan-package",
    vendor: "vendor-neutral (WCO UFF fields)",
    description:
        "X-ray / NII scanner: a folder per scanned vehicle, JPEG images and manifest.json with the analyst's result",
    kind: "xray",
    transport: "folder",
    layout: { type: "package", manifest: MANIFEST },
    maxEntryBytes: MAX_PACKAGE_BYTES,
    decode,
    encode,
};
