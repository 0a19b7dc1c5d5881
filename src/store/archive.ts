import { createHash } from "node:crypto";
import { once } from "node:events";
import { createReadStream, createWriteStream, existsSync, renameSync, rmSync } from "node:fs";
import { createInterface } from "node:readline";
import { createGunzip, createGzip } from "node:zlib";
import { canonicalJson, chainHash } from "../core/canonical.ts";
import { errorMessage, GateError } from "../core/errors.ts";
import type { GateEvent } from "../core/events.ts";
import { wireJson } from "../sync/uplink.ts";
import { checkpointsOf } from "./audit.ts";
import { ChainWalker, type Checkpoint, checkpointOf } from "./checkpoints.ts";
import { CHAIN_CHUNK_ROWS, type Chunked } from "./chunked.ts";
import type { Db } from "./db.ts";
import { type EventRow, hashedPart } from "./eventLog.ts";

/**
 * The archive file: gzip of JSON lines, readable with zcat and any JSON parser years from now.
 *   {"archive": header}                 format, gate, the seq range, when it was written
 *   {"checkpoint": event}               every checkpoint that announces a pruned run touching the range
 *   {"event": event}                    the range's events in seq order, as central received them (with hash)
 *   {"image": {ref, contentType, base64}} each image an event of the range references, if still kept
 *   {"end": {events, images, missingImages, sha256}}  sha256 of every line before it (bytes and newlines)
 */
export const ARCHIVE_FORMAT = "gate-edge-archive";
export const ARCHIVE_VERSION = 1;

export interface ArchiveHeader {
    format: typeof ARCHIVE_FORMAT;
    version: number;
    gateId: string;
    fromSeq: number;
    toSeq: number;
    exportedAt: string;
}

export interface ArchiveSummary {
    file: string;
    fromSeq: number;
    toSeq: number;
    events: number;
    images: number;
    /** Images the events reference that had already left the store (their own retention). */
    missingImages: number;
    /** SHA-256 of the archive file's bytes, as a checkpoint names it. */
    sha256: string;
}

const IMAGE_REF = /sha256:[0-9a-f]{64}/g;

/** The stored event as central received it: the canonical envelope with its hash (src/sync/uplink.ts). */
const eventLine = (key: "event" | "checkpoint", row: EventRow): string => `{"${key}":${wireJson(row)}}`;

/** Back from the wire form to a row, to walk it with the same ChainWalker as the database. */
function rowOf(event: GateEvent): EventRow {
    return {
        seq: event.seq,
        id: event.id,
        gate_id: event.gateId,
        lane_id: event.laneId ?? null,
        type: event.type,
        occurred_at: event.occurredAt,
        recorded_at: event.recordedAt,
        device_id: event.deviceId ?? null,
        data: canonicalJson(event.data),
        prev_hash: event.prevHash,
        hash: event.hash,
    };
}

/**
 * Writes events fromSeq..toSeq (those present), their images and the checkpoints that explain any run
 * pruned inside or just before it, to `file` (written beside it first, renamed when complete). Chunked:
 * yields after each CHAIN_CHUNK_ROWS events so a running gate's lanes are served in between.
 */
export function* exportArchiveSteps(
    db: Db,
    options: { file: string; fromSeq: number; toSeq: number; gateId: string; now: Date },
): Chunked<Promise<ArchiveSummary>> {
    const { file, fromSeq, toSeq } = options;
    if (toSeq < fromSeq) throw new GateError("ARCHIVE_INVALID", `--to (${toSeq}) is before --from (${fromSeq})`);
    if (existsSync(file)) throw new GateError("ARCHIVE_INVALID", `${file} exists already; choose a new name`);
    const partial = `${file}.partial`;
    const gzip = createGzip();
    const out = createWriteStream(partial);
    const closed = once(out, "close");
    gzip.pipe(out);
    const contentHash = createHash("sha256");
    const write = (line: string): void => {
        contentHash.update(`${line}\n`);
        gzip.write(`${line}\n`);
    };
    const header: ArchiveHeader = {
        format: ARCHIVE_FORMAT,
        version: ARCHIVE_VERSION,
        gateId: options.gateId,
        fromSeq,
        toSeq,
        exportedAt: options.now.toISOString(),
    };
    write(JSON.stringify({ archive: header }));
    const eventAt = db.prepare("SELECT * FROM events WHERE seq = ?");
    for (const checkpoint of checkpointsOf(db)) {
        const touches =
            (checkpoint.seq >= fromSeq && checkpoint.seq <= toSeq) ||
            checkpoint.data.segments.some((s) => s.lastSeq >= fromSeq - 1 && s.firstSeq <= toSeq);
        if (touches) write(eventLine("checkpoint", eventAt.get(checkpoint.seq) as EventRow));
    }
    const chunk = db.prepare("SELECT * FROM events WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT ?");
    const refs = new Set<string>();
    let events = 0;
    let after = fromSeq - 1;
    for (;;) {
        const rows = chunk.all(after, toSeq, CHAIN_CHUNK_ROWS) as EventRow[];
        for (const row of rows) {
            write(eventLine("event", row));
            for (const ref of row.data.match(IMAGE_REF) ?? []) refs.add(ref);
            after = row.seq;
            events++;
        }
        if (rows.length < CHAIN_CHUNK_ROWS) break;
        yield;
    }
    const image = db.prepare("SELECT content_type, bytes FROM images WHERE sha256 = ?");
    let images = 0;
    for (const ref of refs) {
        const row = image.get(ref.slice("sha256:".length)) as { content_type: string; bytes: Buffer } | undefined;
        if (!row) continue;
        write(JSON.stringify({ image: { ref, contentType: row.content_type, base64: row.bytes.toString("base64") } }));
        images++;
    }
    const missingImages = refs.size - images;
    const end = { events, images, missingImages, sha256: contentHash.digest("hex") };
    gzip.end(`${JSON.stringify({ end })}\n`);
    return (async (): Promise<ArchiveSummary> => {
        await closed;
        renameSync(partial, file);
        const sha256 = await fileSha256(file);
        return { file, fromSeq, toSeq, events, images, missingImages, sha256 };
    })().catch((err: unknown) => {
        rmSync(partial, { force: true });
        throw new GateError("ARCHIVE_INVALID", `${file} could not be written: ${errorMessage(err)}`, { cause: err });
    });
}

export async function fileSha256(file: string): Promise<string> {
    const hash = createHash("sha256");
    for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
    return hash.digest("hex");
}

export interface ArchiveReport {
    ok: boolean;
    header?: ArchiveHeader;
    events: number;
    images: number;
    missingImages: number;
    firstSeq?: number;
    lastSeq?: number;
    /** The hash the first event links to: the event before the range, as central holds it. */
    anchorHash?: string;
    lastHash?: string;
    checkpoints: Checkpoint[];
    problems: string[];
}

/**
 * Verifies an archive with nothing but the file: its lines' digest against the end line (a cut or edited
 * file fails), every event's hash and link (gaps only where an included checkpoint announced pruning),
 * every checkpoint's own hash, every image's bytes against its reference.
 */
export async function verifyArchive(file: string): Promise<ArchiveReport> {
    const report: ArchiveReport = { ok: false, events: 0, images: 0, missingImages: 0, checkpoints: [], problems: [] };
    const problem = (text: string): void => {
        if (report.problems.length < 20) report.problems.push(text);
    };
    const contentHash = createHash("sha256");
    const checkpoints: Checkpoint[] = [];
    let walker: ChainWalker | undefined;
    let end: { events: number; images: number; missingImages: number; sha256: string } | undefined;
    let chainBroken = false;
    const lines = createInterface({
        input: createReadStream(file).pipe(createGunzip()),
        crlfDelay: Number.POSITIVE_INFINITY,
    });
    try {
        for await (const line of lines) {
            if (end !== undefined) {
                problem("lines after the end line");
                break;
            }
            let parsed: Record<string, unknown>;
            try {
                parsed = JSON.parse(line) as Record<string, unknown>;
            } catch {
                problem("a line is not JSON");
                break;
            }
            if ("end" in parsed) {
                end = parsed.end as typeof end;
                continue;
            }
            contentHash.update(`${line}\n`);
            if ("archive" in parsed) {
                report.header = parsed.archive as ArchiveHeader;
                if (report.header.format !== ARCHIVE_FORMAT) problem(`not a ${ARCHIVE_FORMAT} file`);
            } else if ("checkpoint" in parsed) {
                const row = rowOf(parsed.checkpoint as GateEvent);
                if (chainHash(row.prev_hash, hashedPart(parsed.checkpoint as GateEvent)) !== row.hash)
                    problem(`checkpoint at seq ${row.seq}: hash does not match its content`);
                const checkpoint = checkpointOf(row);
                if (checkpoint) checkpoints.push(checkpoint);
            } else if ("event" in parsed) {
                walker ??= new ChainWalker(checkpoints, { startsAt: report.header?.fromSeq ?? 1 });
                const row = rowOf(parsed.event as GateEvent);
                if (report.events === 0) {
                    report.firstSeq = row.seq;
                    report.anchorHash = row.prev_hash;
                }
                const reason = chainBroken ? undefined : walker.accept(row);
                if (reason !== undefined) {
                    chainBroken = true;
                    problem(`event seq ${row.seq}: ${reason}`);
                }
                report.events++;
                report.lastSeq = row.seq;
                report.lastHash = row.hash;
            } else if ("image" in parsed) {
                const image = parsed.image as { ref: string; base64: string };
                const bytes = Buffer.from(image.base64, "base64");
                if (`sha256:${createHash("sha256").update(bytes).digest("hex")}` !== image.ref)
                    problem(`image ${image.ref}: its bytes do not match the reference`);
                report.images++;
            } else problem("a line of unknown kind");
        }
    } catch (err) {
        problem(`the file cannot be read: ${errorMessage(err)}`);
    }
    if (report.header === undefined) problem("no header line");
    if (end === undefined) problem("no end line: the archive is cut short");
    else {
        if (end.sha256 !== contentHash.digest("hex")) problem("the lines do not match the end line's digest");
        if (end.events !== report.events)
            problem(`the end line counts ${end.events} events, the file holds ${report.events}`);
        if (end.images !== report.images)
            problem(`the end line counts ${end.images} images, the file holds ${report.images}`);
        report.missingImages = end.missingImages;
    }
    if (walker && !chainBroken) {
        const finished = walker.finish();
        if ("broken" in finished) problem(finished.broken);
    }
    report.checkpoints = checkpoints;
    report.ok = report.problems.length === 0;
    return report;
}
