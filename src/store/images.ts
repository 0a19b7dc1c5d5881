import { createHash } from "node:crypto";
import type { PlateImage } from "../../devices/types.ts";
import type { PlateImageRef } from "../core/events.ts";
import type { Db } from "./db.ts";

export interface StoredImage {
    ref: string;
    contentType: string;
    bytes: Buffer;
    createdAt: string;
}

/**
 * Plate and scene images, stored once each, addressed by the SHA-256 of their bytes (`sha256:<hex>`), so
 * an event can reference an image and anyone can check the image is the one it referenced. Images are
 * personal data: `prune` drops those not seen within the retention period.
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
        const match = /^sha256:([0-9a-f]{64})$/.exec(ref);
        if (!match) return undefined;
        const row = this.db
            .prepare("SELECT content_type, bytes, created_at FROM images WHERE sha256 = ?")
            .get(match[1]) as { content_type: string; bytes: Buffer; created_at: string } | undefined;
        return row && { ref, contentType: row.content_type, bytes: row.bytes, createdAt: row.created_at };
    }

    /** Deletes images last seen before `before`; returns how many. */
    prune(before: Date): number {
        return this.db.prepare("DELETE FROM images WHERE last_seen_at < ?").run(before.toISOString()).changes;
    }

    count(): { images: number; bytes: number } {
        const row = this.db.prepare("SELECT COUNT(*) AS images, COALESCE(SUM(size), 0) AS bytes FROM images").get() as {
            images: number;
            bytes: number;
        };
        return row;
    }
}
