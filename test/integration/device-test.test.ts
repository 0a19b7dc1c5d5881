import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LanePlcSimulator } from "../../simulators/lane-plc.ts";
import { ScaleSimulator } from "../../simulators/scale.ts";
import { TcpSerialServer } from "../../simulators/transport.ts";
import type { Gate } from "../../src/gate.ts";
import { AuditLog } from "../../src/store/auditLog.ts";
import { type ApiSession, apiSession } from "../helpers/api.ts";
import { eventually, startGate, testConfig } from "../helpers/gate.ts";
import { startLanePlc } from "../helpers/lanes.ts";
import { tempDir } from "../helpers/tmp.ts";

/** The technician's test button on real simulated devices: a polled scale, a streaming scale, a lane PLC. */
const dir = tempDir();
let gate: Gate;
let plc: LanePlcSimulator;
const scales: ScaleSimulator[] = [];
let technician: ApiSession;

beforeAll(async () => {
    plc = await startLanePlc(dir.path, ["L1"]);
    const links = [new TcpSerialServer({ port: 0 }), new TcpSerialServer({ port: 0 })];
    scales.push(
        new ScaleSimulator({ model: "mettler-toledo-sics", link: links[0]!, rateHz: 20 }),
        new ScaleSimulator({ model: "toledo-continuous", link: links[1]!, rateHz: 20 }),
    );
    for (const scale of scales) await scale.start();
    scales[0]!.setWeight(18_240);
    scales[1]!.setWeight(31_500);
    gate = await startGate(
        testConfig(
            dir.path,
            `  - id: L1
    devices:
      - { id: sics-1, model: mettler-toledo-sics, address: "tcp://127.0.0.1:${links[0]!.port}" }
      - { id: plc-1, model: lane-plc-opcua, address: "${plc.endpointUrl}", plc: { lanePrefix: L1 } }
  - id: L2
    devices:
      - { id: toledo-2, model: toledo-continuous, address: "tcp://127.0.0.1:${links[1]!.port}" }
      - { id: scan-2, model: serial-barcode-scanner, address: "tcp://127.0.0.1:9" }
`,
        ),
    );
    technician = apiSession(gate, "technician");
    await eventually(
        () =>
            ["plc-1", "sics-1", "toledo-2"].every((id) => gate.runtime(id)!.health().status === "online") || undefined,
        30_000,
        "devices online",
    );
}, 60_000);

afterAll(async () => {
    await gate?.stop();
    for (const scale of scales) await scale.stop();
    await plc?.stop();
    dir.cleanup();
});

const test = (deviceId: string, action: string) =>
    technician.inject("POST", `/api/v1/devices/${deviceId}/test`, { action });

describe("device tests", () => {
    it("reads a polled scale now and a streaming scale's latest frame", async () => {
        const polled = await test("sics-1", "readWeight");
        expect(polled.statusCode).toBe(200);
        expect(polled.json()).toMatchObject({
            ok: true,
            detail: "18240 kg, stable (answer to a test poll)",
            weight: { kg: 18_240, stable: true },
        });
        const streaming = await test("toledo-2", "readWeight");
        expect(streaming.json()).toMatchObject({ ok: true, weight: { kg: 31_500 }, detail: /latest frame/ });
    });

    it("pulses the entry light of an idle lane and refuses while a truck is in it", async () => {
        const codes = plc.model.lightCodes;
        const seen = new Set<number>();
        const watch = setInterval(() => seen.add(plc.state("L1").lights.entry), 20);
        const pulse = await test("plc-1", "pulseLight");
        clearInterval(watch);
        expect(pulse.json()).toEqual({
            ok: true,
            detail: "entry light yellow for 1000 ms, then red",
            detailCode: "LIGHT_PULSED",
            detailParams: { ms: 1000 },
        });
        expect(seen).toContain(codes.yellow);
        expect(plc.state("L1").lights.entry).toBe(codes.red);
        // Both commands are evidence in the event log, and the test is in the audit log.
        const commands = gate.log
            .read(0, 10_000)
            .filter((e) => e.type === "actuator.command" && e.deviceId === "plc-1");
        expect(commands.map((e) => (e.data.command as { color: string }).color)).toEqual(["yellow", "red"]);
        expect(new AuditLog(gate.database).list(0, 1000)).toContainEqual(
            expect.objectContaining({
                action: "device.test",
                target: "device:plc-1",
                detail: { action: "pulseLight", ok: true, detail: "entry light yellow for 1000 ms, then red" },
            }),
        );
        plc.vehicleArrives("L1");
        await eventually(() => (gate.lanes.snapshot("L1")?.state !== "IDLE" ? true : undefined), 10_000, "passage");
        const busy = await test("plc-1", "pulseLight");
        expect(busy.statusCode).toBe(409);
        expect(busy.json()).toMatchObject({ error: "DEVICE_BUSY" });
    });

    it("answers an action that does not fit the device with a 400 naming both", async () => {
        const response = await test("toledo-2", "pulseLight");
        expect(response.statusCode).toBe(400);
        expect(response.json().message).toBe("bad request: pulseLight needs a lane PLC; toledo-2 is a weight device");
        expect((await test("scan-2", "snapshot")).statusCode).toBe(400);
    });

    it("shows the raw frames of a scale with their printable text", async () => {
        const frames = (await technician.inject("GET", "/api/v1/devices/sics-1/frames")).json() as {
            frames: { direction: string; text: string; note: string }[];
        };
        expect(frames.frames.at(-1)).toMatchObject({ direction: "in", text: expect.stringContaining("18240") });
    });
});
