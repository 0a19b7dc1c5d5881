import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../src/core/clock.ts";
import { type GateEvent, isEventOf, type Reading, readingOfEvent } from "../../src/core/events.ts";
import { openDatabase } from "../../src/store/db.ts";
import { EventLog } from "../../src/store/eventLog.ts";
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
});
