/**
 * What a crash leaves between an event and its consequence: a scan reading committed while the inspection
 * part was not there to act on it (stopped here, killed in production) is put on its case when the gate
 * starts again, from the part's cursor (src/inspection/cases.ts), once.
 */
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { Gate } from "../../src/gate.ts";
import { openDatabase } from "../../src/store/db.ts";
import { eventually, startGate, testConfig } from "../helpers/gate.ts";
import { declarationScanDraft, plateDraft } from "../helpers/readings.ts";
import { tempDir } from "../helpers/tmp.ts";

const RED = "100001234540";
const dir = tempDir();
const config = () =>
    testConfig(
        dir.path,
        `  - id: L1
    devices:
      - { id: cam-1, model: dahua-itsapi-anpr, role: front, auth: { username: cam-1, password: camera-password } }
      - { id: scan-1, model: serial-barcode-scanner, address: "tcp://127.0.0.1:9" }
`,
        `storage: { path: ${JSON.stringify(join(dir.path, "catchup.db"))} }
rules: { requiredReads: [plate, declaration] }`,
    );
let gate: Gate | undefined;

afterAll(async () => {
    await gate?.stop();
    dir.cleanup();
});

describe("inspection cases after a restart", () => {
    it("act on a reading committed while the part was not running, exactly once", async () => {
        const first = await startGate(config());
        gate = first;
        first.clearance.importData(
            {
                version: "c-1",
                declarations: [
                    {
                        number: RED,
                        type: "10",
                        channel: "RED",
                        status: "CLEARED",
                        declaredPlates: ["15C-888.10"],
                        containers: [],
                        version: 1,
                    },
                ] as never, // central's JSON shape, validated by the cache
                watchList: [],
            },
            Date.now(),
        );
        first.clearance.setVersion("c-1", Date.now());
        await first.log.append({ laneId: "L1", ...plateDraft("cam-1", "15C-888.10", "15C88810") });
        await first.log.append({ laneId: "L1", ...declarationScanDraft("scan-1", RED) });
        const [opened] = await eventually(
            () => {
                const open = first.inspections.list({ status: "open", limit: 10 });
                return open.length > 0 ? open : undefined;
            },
            30_000,
            "the case",
        );
        // The part is gone (as in a crash) when the scanner's reading is committed.
        await first.inspections.stop();
        const reading = await first.log.append({
            type: "reading.xray",
            deviceId: "xray-1",
            data: {
                model: "nii-scan-package",
                values: {
                    scanId: "S-1",
                    result: "clear",
                    plates: ["15C88810"],
                    containers: [],
                    images: [],
                    regions: [],
                },
            },
        });
        expect(first.inspections.get(opened?.caseId ?? "")?.done).toEqual([]);
        await first.stop();

        const second = await startGate(config());
        gate = second;
        const after = second.inspections.get(opened?.caseId ?? "");
        expect(after?.done).toEqual(["xray"]);
        expect(after?.entries.filter((entry) => entry.readingEventId === reading.id)).toHaveLength(1);
        // A second restart does not act on it again.
        await second.stop();
        const third = await startGate(config());
        gate = third;
        expect(third.inspections.get(opened?.caseId ?? "")?.entries).toHaveLength(1);

        // A database from before the cases (no cursor, no case rows): the first start does not read the
        // whole log through; it starts from the head.
        await third.stop();
        const db = openDatabase(join(dir.path, "catchup.db"));
        db.exec("DELETE FROM inspection_cursor; DELETE FROM inspection_cases;");
        const head = (db.prepare("SELECT MAX(seq) AS seq FROM events").get() as { seq: number }).seq;
        db.close();
        const fourth = await startGate(config());
        gate = fourth;
        expect(fourth.inspections.get(opened?.caseId ?? "")).toBeUndefined();
        const cursor = fourth.database.prepare("SELECT seq FROM inspection_cursor").get() as { seq: number };
        expect(cursor.seq).toBeGreaterThan(head);
    }, 120_000);
});
