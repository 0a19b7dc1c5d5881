import { createHash } from "node:crypto";
import type { PlateImage } from "../../devices/types.ts";
import type { PlateImageRef } from "../core/events.ts";
import type { Db } from "./db.ts";

/**
 * The images an inspection case names (its photos, its findings' and scans' images: the case record of
 * src/inspection/caseStore.ts) while the case is open or its last event is still in the local log, that is
 * until central has accepted the case's events and storage.retentionDays have passed. Until then the
 * events are the evidence and their images must stay with them (an archive of a pruned range takes the
 * images still kept); a case lasting longer than storage.imageRetentionDays must not lose its photos.
 */
const HELD_CASE = "(c.status = 'open' OR EXISTS (SELECT 1 FROM events WHERE seq = c.last_seq))";
// Text refs only: one NULL in a NOT IN list would make it hold every image.
const EVIDENCE_HELD = `
    SELECT substr(ref.value, 8) FROM inspection_cases AS c, json_each(c.record, '$.photos') AS ref
     WHERE ${HELD_CASE} AND ref.type = 'text'
    UNION
    SELECT substr(ref.value, 8) FROM inspection_cases AS c, json_each(c.record, '$.entries') AS entry,
           json_each(entry.value, '$.images') AS ref
     WHERE ${HELD_CASE} AND ref.type = 'text'`;

export interface StoredImage {
    ref: string;
    contentType: string;
    bytes: Buffer;
    createdAt: string;
}

/**
 * Plate and scene images, stored once each, addressed by the SHA-256 of their bytes (`sha256:<hex>`), so
 * an event can reference an image and anyone can check the image is the one it referenced. Images are
 * personal data: `prune` drops those not seen within the retention period, except an inspection case's
 * evidence (EVIDENCE_HELD).
 */
export class ImageStore {
    constructor(private readonly db: Db) {}

    /** Stores the image (durably) unless it is there already; returns its reference. */
    put(bytes: Uint8Array, contentType: string, at: Date): string {
        const hash = createHash("sha256").update(bytes).digest("hex");
        this.db
            .prepare(
                `INSERT INTO images (sha256, content_type, bytes, size, created_at, last_seen_at) VALUES (?, ?, ?, ?, ?, ?)
                 ON CONFLICT (sha256) DO UPDATE SET last_seen_at = excluded.last_seen_at`,
            )
            .run(hash, contentType, Buffer.from(bytes), bytes.length, at.toISOString(), at.toISOString());
        return `sha256:${hash}`;
    }

    /**
     * Stores a plate read's images and links each with its role (absent: scene), scene pictures first.
     * The same bytes in two roles (a camera sending one picture as both) are stored once and linked twice.
     */
    putPlateImages(images: readonly PlateImage[], at: Date): PlateImageRef[] {
        const linked: PlateImageRef[] = [];
        for (const image of images) {
            const link: PlateImageRef = {
                ref: this.put(image.bytes, image.contentType, at),
                role: image.role ?? "scene",
            };
            if (!linked.some((l) => l.ref === link.ref && l.role === link.role)) linked.push(link);
        }
        // Stable: the camera's order within each role.
        return [...linked.filter((l) => l.role === "scene"), ...linked.filter((l) => l.role !== "scene")];
    }

    get(ref: string): StoredImage | undefined {
        const hash = hashOf(ref);
        if (hash === undefined) return undefined;
        const row = this.db.prepare("SELECT content_type, bytes, created_at FROM images WHERE sha256 = ?").get(hash) as
            | { content_type: string; bytes: Buffer; created_at: string }
            | undefined;
        return row && { ref, contentType: row.content_type, bytes: row.bytes, createdAt: row.created_at };
    }

    /** Whether the image is stored, without reading its bytes. */
    has(ref: string): boolean {
        const hash = hashOf(ref);
        return hash !== undefined && this.db.prepare("SELECT 1 FROM images WHERE sha256 = ?").get(hash) !== undefined;
    }

    /** Deletes images last seen before `before`, an inspection case's evidence excepted; returns how many. */
    prune(before: Date): number {
        return this.db
            .prepare(`DELETE FROM images WHERE last_seen_at < ? AND sha256 NOT IN (${EVIDENCE_HELD})`)
            .run(before.toISOString()).changes;
    }

    count(): { images: number; bytes: number } {
        const row = this.db.prepare("SELECT COUNT(*) AS images, COALESCE(SUM(size), 0) AS bytes FROM images").get() as {
            images: number;
            bytes: number;
        };
        return row;
    }
}

/** The hex digest of an image reference (`sha256:<hex>`), undefined for anything else. */
function hashOf(ref: string): string | undefined {
    return /^sha256:([0-9a-f]{64})$/.exec(ref)?.[1];
}
