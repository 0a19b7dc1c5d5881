/**
 * A device runtime decodes each raw input with its model only where the model's transport delivers that
 * kind of input (src/drivers/transport.ts INPUT_OF_TRANSPORT); any other input is refused with what it is
 * not, and nothing of it is stored.
 */
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { getModel } from "../../devices/index.ts";
import type { DeviceConfig } from "../../src/config/types.ts";
import { EventBus } from "../../src/core/bus.ts";
import { ManualClock } from "../../src/core/clock.ts";
import { DeviceRuntime } from "../../src/ingest/deviceRuntime.ts";
import { openDatabase } from "../../src/store/db.ts";
import { EventLog } from "../../src/store/eventLog.ts";
import { tempDir, testLog } from "../helpers/tmp.ts";

const dir = tempDir();
afterAll(() => dir.cleanup());

function runtimeOf(modelId: string, address: DeviceConfig["address"]) {
    const model = getModel(modelId);
    if (!model) throw new Error(`no model ${modelId}`);
    const clock = new ManualClock(Date.UTC(2026, 11, 7, 8, 0, 0));
    const events = new EventLog(openDatabase(join(dir.path, `${modelId}.db`)), { gateId: "HN01", clock, log: testLog });
    events.start();
    const device: DeviceConfig = { id: `${modelId}-1`, laneId: "L1", model: modelId, kind: model.kind, address };
    const runtime = new DeviceRuntime(device, model, {
        ...{ sink: events, bus: new EventBus(testLog), clock, log: testLog },
        settings: { weightSettleMs: 0, weightSettleToleranceKg: 0, duplicateWindowMs: 3000, rawFrameBuffer: 10 },
        transport: { address: "test", framesProveLife: true },
    });
    return { runtime, events };
}

describe("device runtime input", () => {
    it("refuses input its model's transport does not deliver, and stores nothing of it", async () => {
        const scale = runtimeOf("sma-scale", { transport: "tcp", host: "127.0.0.1", port: 1 });
        const seal = runtimeOf("eseal-mqtt-json", { transport: "mqtt", topic: "gate/HN01/devices/seal" });
        const payload = Buffer.from("{}");
        expect(await scale.runtime.input({ kind: "publish", subtopic: "status", payload })).toEqual({
            outcome: "refused",
            reason: "not an MQTT device",
        });
        expect(await seal.runtime.input({ kind: "frame", bytes: payload })).toEqual({
            outcome: "refused",
            reason: "not a byte-stream device",
        });
        expect(await seal.runtime.input({ kind: "tag", tag: "L1.barrier", value: true })).toEqual({
            outcome: "refused",
            reason: "not a lane PLC",
        });
        expect(await scale.runtime.input({ kind: "notification", xml: "<x/>" })).toEqual({
            outcome: "refused",
            reason: "not an ONVIF camera",
        });
        for (const { runtime, events } of [scale, seal]) {
            expect(runtime.health().counters.frames).toBe(0);
            events.flushAll();
            expect(events.read(0, 100).filter((event) => event.type !== "device.status")).toEqual([]);
        }
    });

    it("decodes input its model's transport delivers", async () => {
        const seal = runtimeOf("eseal-mqtt-json", { transport: "mqtt", topic: "gate/HN01/devices/seal" });
        const outcome = await seal.runtime.input({ kind: "publish", subtopic: "x", payload: Buffer.from("not json") });
        // Decoded by the seal model (and refused by it as bad data, not as input of another kind).
        expect(outcome.outcome).toBe("refused");
        expect(outcome.reason).not.toMatch(/^not an? /);
        expect(seal.runtime.health().counters.frames).toBe(1);
    });
});
