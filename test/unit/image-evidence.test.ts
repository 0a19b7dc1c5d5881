/**
 * Image retention and an inspection case's evidence (issue 18: photos of findings, scan images). Pruning
 * past storage.imageRetentionDays keeps every image a case names while the case is open or its last event is
 * still in the local log (not yet accepted by central and past storage.retentionDays); after that, and for
 * images no case names, the retention of plate images applies.
 */
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../src/core/clock.ts";
import type { JsonObject } from "../../src/core/events.ts";
import type { CaseEvent } from "../../src/inspection/caseModel.ts";
import { CaseStore } from "../../src/inspection/caseStore.ts";
import { openDatabase } from "../../src/store/db.ts";
import { EventLog } from "../../src/store/eventLog.ts";
import { ImageStore } from "../../src/store/images.ts";
import { tempDir, testLog } from "../helpers/tmp.ts";

const dir = tempDir();
afterAll(() => dir.cleanup());

const DAY_MS = 86_400_000;
const T0 = new Date("2026-01-01T00:00:00Z");
/** Seqs no event of the log has: the case's events were pruned (accepted by central, past retention). */
const PRUNED_SEQ = 1_000_000;

/** A distinct JPEG's bytes (the store hashes whatever it is given). */
const jpeg = (n: number) => Buffer.from([0xff, 0xd8, 0xff, 0xe0, n, n >> 8, 0xff, 0xd9]);

describe("image pruning and inspection evidence", () => {
    it("keeps a case's photos and scan images while it is open or its events are in the log, then prunes them", async () => {
        const db = openDatabase(join(dir.path, "evidence.db"));
        const clock = new ManualClock(T0.getTime());
        const log = new EventLog(db, { gateId: "HN01", clock, log: testLog });
        log.start();
        const images = new ImageStore(db);
        const cases = new CaseStore(db);
        const [openPhoto, openScan, keptPhoto, gonePhoto, plate] = [1, 2, 3, 4, 5].map((n) =>
            images.put(jpeg(n), "image/jpeg", T0),
        ) as [string, string, string, string, string];
        let seq = PRUNED_SEQ;
        const fold = (caseId: string, type: string, data: JsonObject, at = seq++): void => {
            const event: CaseEvent = { id: `e${at}`, seq: at, type, occurredAt: T0.toISOString(), data };
            cases.apply({ ...event, data: { caseId, passageId: caseId.slice(4), ...data } });
        };
        const opened = { laneId: "L1", triggers: ["CHANNEL_RED"], plates: ["15C88810"], containers: [] };
        // An open case: a photo uploaded, a finding naming it, the X-ray's image; its events long pruned.
        fold("INS-A", "inspection.opened", opened);
        fold("INS-A", "inspection.photo", { ref: openPhoto });
        fold("INS-A", "inspection.result", { kind: "xray", result: "clear", images: [openScan] });
        fold("INS-A", "inspection.finding", { text: "ok", images: [openPhoto] });
        // A closed case whose events are still in the log (central has not accepted them yet).
        const inLog = async () => (await log.append({ type: "gate.started", data: {} })).seq;
        fold("INS-B", "inspection.opened", opened, await inLog());
        fold("INS-B", "inspection.finding", { text: "ok", images: [keptPhoto] }, await inLog());
        const last = await inLog();
        fold("INS-B", "inspection.closed", { outcome: "cleared", reasonCode: "INSPECTED_OK" }, last);
        // A closed case whose events have left the log.
        fold("INS-C", "inspection.opened", opened);
        fold("INS-C", "inspection.photo", { ref: gonePhoto });
        fold("INS-C", "inspection.closed", { outcome: "cleared", reasonCode: "INSPECTED_OK" });
        expect(cases.get("INS-B")?.status).toBe("cleared");
        expect(cases.get("INS-C")?.status).toBe("cleared");

        // 31 days on (retention 30): the plate image no case names and the photo of case C go.
        expect(images.prune(new Date(T0.getTime() + DAY_MS))).toBe(2);
        expect(images.has(plate)).toBe(false);
        expect(images.has(gonePhoto)).toBe(false);
        for (const held of [openPhoto, openScan, keptPhoto]) expect(images.has(held), held).toBe(true);

        // Case A closes and its closing event is pruned too: its evidence follows the retention again.
        fold("INS-A", "inspection.closed", { outcome: "detained", reasonCode: "GOODS_UNDECLARED" });
        expect(images.prune(new Date(T0.getTime() + DAY_MS))).toBe(2);
        expect(images.has(openPhoto)).toBe(false);
        expect(images.has(keptPhoto)).toBe(true);
        log.close();
        db.close();
    });
});
