/**
 * A resent document gives one reading (issue 18): an RPM's lane computer that retries after a network
 * glitch, or a scanner workstation exporting a package again, delivers the same bytes twice. Each reading
 * carries the SHA-256 of its document's content (`contentHash`: every file of the entry, by name); a document
 * whose hash a reading of the same device already carries is counted as a duplicate and not stored again.
 *
 * The check asks the event log itself, so it holds across restarts and needs no table of its own. The log has
 * no index by type (it would cost ingest throughput), so only its last DUPLICATE_WINDOW events are looked at:
 * resends come within minutes or hours, and a truck's document is a few events among thousands.
 */
import { createHash } from "node:crypto";
import type { Statement } from "better-sqlite3";
import type { FolderEntry } from "../../devices/types.ts";
import type { Db } from "../store/db.ts";

/** How many of the log's latest events are searched for an earlier reading of the same document. */
export const DUPLICATE_WINDOW = 200_000;

/** SHA-256 over the entry's files in name order (name, length and bytes of each), as `sha256:<hex>`. */
export function contentHash(entry: FolderEntry): string {
    const hash = createHash("sha256");
    for (const name of [...entry.files.keys()].sort()) {
        const bytes = entry.files.get(name) ?? new Uint8Array();
        hash.update(`${name}\0${bytes.byteLength}\0`);
        hash.update(bytes);
    }
    return `sha256:${hash.digest("hex")}`;
}

interface LookupParams {
    type: string;
    deviceId: string;
    hash: string;
    window: number;
}

export class StoredDocuments {
    private readonly lookup: Statement<LookupParams, { id: string }>;

    constructor(
        db: Db,
        private readonly window = DUPLICATE_WINDOW,
    ) {
        // The seq range is the primary key's: the scan reads only the window's rows.
        this.lookup = db.prepare<LookupParams, { id: string }>(
            `SELECT id FROM events
              WHERE seq > (SELECT COALESCE(MAX(seq), 0) FROM events) - @window
                AND type = @type AND device_id = @deviceId AND json_extract(data, '$.contentHash') = @hash
              LIMIT 1`,
        );
    }

    /** The id of the reading of `deviceId` that already carries this content hash, if one does. */
    readingOf(type: "reading.radiation" | "reading.xray", deviceId: string, hash: string): string | undefined {
        return this.lookup.get({ type, deviceId, hash, window: this.window })?.id;
    }
}
