import { join, resolve } from "node:path";
import ts from "typescript";
import { afterAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../src/core/clock.ts";
import { type GateEvent, isEventOf, type Reading, readingOfEvent } from "../../src/core/events.ts";
import { openDatabase } from "../../src/store/db.ts";
import { EventLog } from "../../src/store/eventLog.ts";
import { nodesWhere } from "../helpers/source.ts";
import { tempDir, testLog } from "../helpers/tmp.ts";

const dir = tempDir();
afterAll(() => dir.cleanup());

describe("stored events typed per kind", () => {
    it("a reading event read back from the log is the reading the device runtime stored, typed by its kind", async () => {
        const db = openDatabase(join(dir.path, "typed.db"));
        const clock = new ManualClock(Date.UTC(2026, 11, 7, 8));
        const log = new EventLog(db, { gateId: "T01", clock, log: testLog });
        log.start();
        const weight = {
            kg: 28_540,
            stable: true,
            motion: false,
            overload: false,
            underload: false,
            zero: false,
            net: false,
        };
        await log.append({
            type: "reading.weight",
            laneId: "L1",
            deviceId: "scale-1",
            data: { values: weight, model: "toledo-continuous" },
        });
        await log.append({
            type: "device.status",
            laneId: "L1",
            deviceId: "scale-1",
            data: { status: "online", model: "toledo-continuous" },
        });
        await log.append({
            type: "reading.unheard-of" as GateEvent["type"],
            laneId: "L1",
            deviceId: "scale-1",
            data: { values: {} },
        });
        const [stored, status, unknown] = log.read(0, 10);
        const reading = readingOfEvent(stored!, "L1");
        expect(reading).toEqual({
            deviceId: "scale-1",
            laneId: "L1",
            kind: "weight",
            observedAt: Date.UTC(2026, 11, 7, 8),
            values: weight,
        } satisfies Reading);
        // The kind narrows the values: a weight's kg is a number to the compiler, not JSON.
        if (reading?.kind === "weight") expect(reading.values.kg + 0).toBe(28_540);
        expect(readingOfEvent(status!, "L1")).toBeUndefined();
        expect(isEventOf(status!, "device.status") && status.data.status).toBe("online");
        expect(readingOfEvent(unknown!, "L1")).toBeUndefined();
        log.close();
        db.close();
    });

    it("a lane decision read back is narrowed to its declared shape, and its producers and readers need no cast", async () => {
        const db = openDatabase(join(dir.path, "decided.db"));
        const log = new EventLog(db, { gateId: "T01", clock: new ManualClock(Date.UTC(2026, 11, 7, 8)), log: testLog });
        log.start();
        const decision = { decision: "HOLD", decidingRule: "channel", offline: false, results: [] };
        await log.append({
            type: "passage.decided",
            laneId: "L1",
            data: { passageId: "01P", facts: { declarations: ["305551234130"] }, decision, outcome: "HOLD" },
        });
        const [decided] = log.read(0, 10);
        // isEventOf gives the lane's declared data (src/lane/types.ts): decision.decision is a Decision to the compiler.
        expect(isEventOf(decided!, "passage.decided") && decided.data.decision.decision).toBe("HOLD");
        log.close();
        db.close();
        // Before: `reading.values as never` and two more in the device runtime; `event.data as unknown as {…}` in
        // the decision's log line (service.ts).
        const root = resolve(import.meta.dirname, "../..");
        const casts = ["src/ingest/deviceRuntime.ts", "src/service.ts"].flatMap((file) =>
            nodesWhere(resolve(root, file), (node) => {
                if (!ts.isAsExpression(node)) return false;
                const to = node.type.kind;
                const from = node.expression;
                return (
                    to === ts.SyntaxKind.NeverKeyword ||
                    (ts.isAsExpression(from) && from.type.kind === ts.SyntaxKind.UnknownKeyword)
                );
            }).map((text) => `${file}: ${text}`),
        );
        expect(casts).toEqual([]);
    });
});
