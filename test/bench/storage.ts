import { mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Gate } from "../../src/gate.ts";
import { startGate, testConfig } from "../helpers/gate.ts";
import { plateDraft } from "../helpers/readings.ts";

/**
 * Bytes stored per passage against reads per passage (issue 13 §5): one lane per case, a plate opens its
 * passage (no declaration ever comes, so it stays open and takes every read), then N seal reads — N
 * distinct seals, or the same seal N times — appended to the event log as the seal reader's runtime
 * would, through the real lane engine and store. Measured on the gate's SQLite file: the passage events
 * (opened, updated, alerts of the passage), the passage record, and the readings themselves as the
 * baseline. Seconds, not minutes.
 */

const READS = [1, 10, 100, 1000];
const MODES = ["distinct", "repeated"] as const;

export interface StorageRow {
    mode: (typeof MODES)[number];
    reads: number;
    /** Bytes of the seal readings themselves (event data). */
    readingBytes: number;
    /** Bytes of the passage's own events (passage.* and alerts naming it, event data). */
    passageEventBytes: number;
    passageEvents: number;
    /** Bytes of its record in the passages table. */
    recordBytes: number;
}

export async function benchStorage(out: (line: string) => void): Promise<object> {
    const dir = join(tmpdir(), `gate-edge-bench-storage-${process.pid}`);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const lanes = MODES.flatMap((mode) =>
        READS.map((reads) => ({ mode, reads, id: `${mode[0]?.toUpperCase()}${reads}` })),
    );
    const yaml = lanes
        .map(
            ({ id }) => `  - id: ${id}
    devices:
      - { id: cam-${id}, model: dahua-itsapi-anpr, role: front, auth: { username: cam-${id}, password: camera-password } }
      - { id: seal-${id}, model: eseal-mqtt-json, auth: { username: seal-${id}, password: seal-password } }
`,
        )
        .join("");
    const gate: Gate = await startGate(
        testConfig(
            dir,
            yaml,
            "rules: { requiredReads: [plate, declaration], identifySeconds: 3600, weighSeconds: 3600 }",
        ),
    );
    const rows: StorageRow[] = [];
    try {
        for (const { mode, reads, id } of lanes) {
            await gate.log.append({ laneId: id, ...plateDraft(`cam-${id}`, "15C-123.45", "15C12345") });
            await gate.lanes.settled();
            const passageId = gate.passages.list({ laneId: id, limit: 1 })[0]?.passageId ?? "";
            const appends: Promise<unknown>[] = [];
            for (let i = 0; i < reads; i++) {
                const sealId = mode === "distinct" ? `SEAL-${String(i).padStart(6, "0")}` : "SEAL-000000";
                appends.push(
                    gate.log.append({
                        laneId: id,
                        type: "reading.seal",
                        deviceId: `seal-${id}`,
                        data: { values: { sealId, type: "ISO18185", status: "SEALED", alerts: [] } },
                    }),
                );
            }
            await Promise.all(appends);
            // The engine acts on commits: wait until it has stored what the last read led to.
            await new Promise((resolve) => setImmediate(resolve));
            await gate.lanes.settled();
            const db = gate.database;
            const readings = db
                .prepare(
                    "SELECT coalesce(sum(length(data)), 0) AS bytes FROM events WHERE type = 'reading.seal' AND device_id = ?",
                )
                .get(`seal-${id}`) as { bytes: number };
            const passage = db
                .prepare(
                    `SELECT count(*) AS count, coalesce(sum(length(data)), 0) AS bytes FROM events
                     WHERE (type LIKE 'passage.%' OR type LIKE 'alert.%') AND json_extract(data, '$.passageId') = ?`,
                )
                .get(passageId) as { count: number; bytes: number };
            const record = db
                .prepare("SELECT length(record) AS bytes FROM passages WHERE passage_id = ?")
                .get(passageId) as { bytes: number } | undefined;
            rows.push({
                mode,
                reads,
                readingBytes: readings.bytes,
                passageEventBytes: passage.bytes,
                passageEvents: passage.count,
                recordBytes: record?.bytes ?? 0,
            });
        }
    } finally {
        await gate.stop();
        rmSync(dir, { recursive: true, force: true });
    }
    out("mode      reads  reading bytes  passage events  passage event bytes  record bytes");
    for (const row of rows)
        out(
            `${row.mode.padEnd(9)} ${String(row.reads).padStart(5)}  ${String(row.readingBytes).padStart(13)}  ${String(row.passageEvents).padStart(14)}  ${String(row.passageEventBytes).padStart(19)}  ${String(row.recordBytes).padStart(12)}`,
        );
    return { rows };
}
