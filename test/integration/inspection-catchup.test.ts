/**
 * What a crash leaves between an event and its consequence: a scan reading committed while the inspection
 * part was not there to act on it (stopped here, killed in production) is put on its case when the gate
 * starts again, from the part's cursor (src/inspection/cases.ts), once.
 */
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { RpmSimulator } from "../../simulators/rpm.ts";
import type { Gate } from "../../src/gate.ts";
import { applyCaseEvent, type CaseEvent, type InspectionCase } from "../../src/inspection/caseModel.ts";
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

        // Killed between a consequence's commit and its fold: the log holds a scan's result on the case, the
        // case does not, and the cursor is before the scan. The restart folds the result in before it acts on
        // the scan: no second result, and the case is the fold of its log.
        await third.inspections.stop();
        const caseId = opened?.caseId ?? "";
        const scan = await third.log.append({
            type: "reading.xray",
            deviceId: "xray-1",
            data: {
                model: "nii-scan-package",
                values: {
                    scanId: "S-2",
                    result: "clear",
                    plates: ["15C88810"],
                    containers: [],
                    images: [],
                    regions: [],
                },
            },
        });
        await third.log.append({
            type: "inspection.result",
            laneId: "L1",
            deviceId: "xray-1",
            data: {
                ...{ caseId, passageId: opened?.passageId ?? "", kind: "xray", result: "clear" },
                ...{ readingEventId: scan.id, scanId: "S-2", images: [], regions: [] },
            },
        });
        await third.stop();
        const restarted = await startGate(config());
        gate = restarted;
        const log = restarted.log.read(0, 100_000);
        const results = log.filter((e) => e.type === "inspection.result" && e.data.readingEventId === scan.id);
        expect(results).toHaveLength(1);
        const folded = log
            .filter((e) => e.type.startsWith("inspection.") && e.data.caseId === caseId)
            .reduce<InspectionCase | undefined>((c, e) => applyCaseEvent(c, e as CaseEvent), undefined); // inspection.* events
        const plain = (value: unknown) => JSON.parse(JSON.stringify(value)) as unknown;
        expect(plain(restarted.inspections.get(caseId))).toEqual(plain(folded));

        // A database from before the cases (no cursor, no case rows): the first start does not read the
        // whole log through; it starts from the head.
        await restarted.stop();
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

describe("an RPM alarm waiting for its passage, after a restart", () => {
    const GREEN = "101234567820";
    const rpmFolder = join(dir.path, "rpm-l1");
    const rpmConfig = () =>
        testConfig(
            dir.path,
            `  - id: L1
    devices:
      - { id: cam-1, model: dahua-itsapi-anpr, role: front, auth: { username: cam-1, password: camera-password } }
      - { id: scan-1, model: serial-barcode-scanner, address: "tcp://127.0.0.1:9" }
`,
            `storage: { path: ${JSON.stringify(join(dir.path, "rpm-wait.db"))} }
rules: { requiredReads: [plate, declaration] }
inspection:
    devices:
        - { id: rpm-l1, model: n42-rpm, lane: L1, folder: ${JSON.stringify(rpmFolder)}, pollMs: 100, settleMs: 150 }`,
        );

    it("an alarm stored before the restart still sends the lane's next truck to inspection, with its reading on the case", async () => {
        await gate?.stop();
        const first = await startGate(rpmConfig());
        gate = first;
        first.clearance.importData(
            {
                version: "r-1",
                declarations: [
                    {
                        number: GREEN,
                        type: "10",
                        channel: "GREEN",
                        status: "CLEARED",
                        declaredPlates: ["29C-123.45"],
                        containers: [],
                        version: 1,
                    },
                ] as never, // central's JSON shape, validated by the cache
                watchList: [],
            },
            Date.now(),
        );
        first.clearance.setVersion("r-1", Date.now());
        // A genuine source on the approach while lane 1 is empty: the alarm waits for the lane's next truck.
        await new RpmSimulator({ folder: rpmFolder, seed: 11 }).pass("alarm");
        const alarm = await eventually(
            () => first.log.read(0, 100_000).find((event) => event.type === "reading.radiation"),
            30_000,
            "the alarm reading",
        );
        await first.inspections.settled();
        // The gate restarts before the truck reaches the lane (what waited was only in memory).
        await first.stop();
        const second = await startGate(rpmConfig());
        gate = second;
        await second.log.append({ laneId: "L1", ...plateDraft("cam-1", "29C-123.45", "29C12345") });
        // The truck's passage opens: the alarm that waited diverts it (before its papers are read and decided).
        await eventually(
            () =>
                second.log
                    .read(0, 100_000)
                    .find((e) => e.type === "officer.action" && e.data.reasonCode === "RPM_ALARM"),
            30_000,
            "the RPM divert",
        );
        await second.log.append({ laneId: "L1", ...declarationScanDraft("scan-1", GREEN) });
        const opened = await eventually(
            () => second.inspections.list({ status: "open", limit: 10 }).find((c) => c.plates.includes("29C12345")),
            30_000,
            "the green truck's case",
        );
        expect(opened.triggers).toEqual(["RPM_ALARM"]);
        expect(second.passages.get(opened.passageId)?.state).toBe("INSPECTION");
        const withReading = await eventually(
            () => second.inspections.get(opened.caseId)?.entries.find((e) => e.readingEventId === alarm.id),
            30_000,
            "the alarm reading on the case",
        );
        expect(withReading).toMatchObject({ kind: "radiation", result: "alarm" });
    }, 120_000);
});
