/**
 * JT701 e-locks through a real gate: the simulator's locks dial in over real TCP to the device's
 * tcp-listen address, their frames are stored as seal readings, and each lock gets its answer only once
 * the reading is durable. Bad bytes are counted and never stop the listener.
 */
import { connect } from "node:net";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { definition as jt701 } from "../../devices/jointech-jt701.ts";
import { Jt701Simulator } from "../../simulators/jt701.ts";
import type { GateEvent, SealValues } from "../../src/core/events.ts";
import type { Gate } from "../../src/gate.ts";
import { eventually, startGate, testConfig } from "../helpers/gate.ts";
import { tempDir } from "../helpers/tmp.ts";

const dir = tempDir();
let gate: Gate | undefined;
let sim: Jt701Simulator | undefined;
afterEach(async () => {
    await sim?.stop();
    await gate?.stop();
    sim = undefined;
    gate = undefined;
});
afterAll(() => dir.cleanup());

const lanes = (query = "") => `
  - id: L1
    devices:
      - { id: elock-l1, model: jointech-jt701, address: "tcp-listen://127.0.0.1:0${query}" }
`;

function sealReadings(g: Gate): SealValues[] {
    return g.log
        .read(0, 10_000)
        .filter((event: GateEvent) => event.type === "reading.seal")
        .map((event) => event.data.values as unknown as SealValues);
}

async function startWithLocks(lockIds: string[], query = ""): Promise<{ gate: Gate; sim: Jt701Simulator }> {
    gate = await startGate(testConfig(dir.path, lanes(query)));
    const port = await eventually(() => gate?.listenerPort("elock-l1"), 10_000, "the e-lock listener");
    sim = new Jt701Simulator({ host: "127.0.0.1", port, lockIds, lat: 21.6426, lon: 106.7517 });
    await sim.start();
    return { gate, sim };
}

describe("jointech-jt701 over a TCP listener", () => {
    it("two locks on one listener: each stored as its own seal, tampering included, each answered after commit", async () => {
        const { gate, sim } = await startWithLocks(["7010000001", "7010000002"]);
        expect(gate.runtime("elock-l1")?.health().status).toBe("online");
        sim.report("7010000001");
        sim.report("7010000002", { battery: 12, alarms: ["LOW_BATTERY"] });
        sim.tamper("7010000001");
        const readings = await eventually(
            () => (sealReadings(gate).length >= 3 ? sealReadings(gate) : undefined),
            15_000,
            "three seal readings",
        );
        expect(readings).toEqual(
            expect.arrayContaining([
                expect.objectContaining({ sealId: "7010000001", type: "GPS", status: "SEALED", alerts: [] }),
                expect.objectContaining({
                    sealId: "7010000002",
                    status: "SEALED",
                    alerts: ["LOW_BATTERY"],
                    battery: { pct: 12, low: true },
                }),
                expect.objectContaining({ sealId: "7010000001", status: "TAMPERED", alerts: ["ROPE_CUT"] }),
            ]),
        );
        expect(readings[0]?.position).toEqual({ lat: 21.6426, lon: 106.7517 });
        // Frames with alarms wait for the server's answer (status bit 5); the routine report does not.
        await eventually(() => sim.answers("7010000001").length === 1, 15_000, "answer to the tamper frame");
        await eventually(() => sim.answers("7010000002").length === 1, 15_000, "answer to the low-battery frame");
        expect(sim.answers("7010000001")).toEqual(["(P69,0,2)"]);
        const alerts = gate.log.read(0, 10_000).filter((event) => event.type === "alert.raised");
        expect(alerts.map((event) => event.data.code)).toEqual(
            expect.arrayContaining(["SEAL_TAMPERED", "SEAL_BATTERY_LOW"]),
        );
    });

    it("garbage, a frame split across writes and a bad text frame: counted, the good frames still stored", async () => {
        const { gate, sim } = await startWithLocks(["7010000003"]);
        const runtime = gate.runtime("elock-l1")!;
        sim.writeRaw("7010000003", Uint8Array.of(0x00, 0xff, 0x41));
        sim.writeRaw("7010000003", "(7010000003,P45,xx)");
        const frame = jt701.encode({
            lockId: "7010000003",
            at: new Date(),
            lat: 21.6,
            lon: 106.7,
            gpsValid: true,
            ropeInserted: true,
            locked: false,
            battery: 50,
            alarms: [],
            index: 9,
        });
        sim.writeRaw("7010000003", frame.subarray(0, 7));
        await eventually(() => runtime.counters.invalid === 1, 15_000, "the bad text frame counted");
        sim.writeRaw("7010000003", frame.subarray(7));
        sim.heartbeat("7010000003");
        await eventually(() => runtime.counters.ignored === 1, 15_000, "the heartbeat");
        expect(runtime.counters.discardedBytes).toBe(3);
        expect(sealReadings(gate)).toEqual([expect.objectContaining({ sealId: "7010000003", status: "OPENED" })]);
        expect(runtime.health().status).toBe("online");
    });

    it("connections over maxConnections are closed at once; the listener keeps serving the others", async () => {
        const { gate, sim } = await startWithLocks(["7010000004"], "?maxConnections=1");
        const port = gate.listenerPort("elock-l1")!;
        const refused = connect({ host: "127.0.0.1", port });
        refused.on("error", () => undefined);
        await new Promise<void>((resolve) => refused.once("close", () => resolve()));
        sim.report("7010000004");
        await eventually(() => sealReadings(gate).length === 1, 15_000, "the connected lock's reading");
    });
});
