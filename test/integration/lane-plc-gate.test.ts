import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LanePlcSimulator } from "../../simulators/lane-plc.ts";
import type { GateEvent } from "../../src/core/events.ts";
import type { Gate } from "../../src/gate.ts";
import { eventually, startGate, testConfig } from "../helpers/gate.ts";
import { tempDir } from "../helpers/tmp.ts";

const dir = tempDir();
let plc: LanePlcSimulator;
let gate: Gate;

beforeAll(async () => {
    plc = new LanePlcSimulator({ port: 0, lanes: ["L1"], pkiFolder: join(dir.path, "plc-pki"), travelMs: 300 });
    await plc.start();
    gate = await startGate(
        testConfig(
            dir.path,
            `  - id: L1\n    devices:\n      - { id: plc-1, model: lane-plc-opcua, address: "${plc.endpointUrl}", plc: { lanePrefix: L1, commandTimeoutMs: 1500 } }\n`,
        ),
    );
    await eventually(() => gate.runtime("plc-1")!.health().status === "online" || undefined, 30_000, "PLC session");
}, 60_000);

afterAll(async () => {
    await gate?.stop();
    await plc?.stop();
    dir.cleanup();
});

const events = (type: string): GateEvent[] => gate.log.read(0, 100_000).filter((event) => event.type === type);

describe("the lane PLC through the gate", () => {
    it("opens the barrier on command, confirmed by the state change, with command and result in the log", async () => {
        plc.vehicleArrives("L1");
        await eventually(
            () =>
                events("reading.presence").find((e) => (e.data.values as { loop: string; occupied: boolean }).occupied),
            10_000,
            "entry loop occupied",
        );
        const outcome = await gate.actuate("plc-1", { type: "openBarrier" });
        expect(outcome.confirmed).toBe(true);
        expect(events("actuator.command").at(-1)?.data).toEqual({ command: { type: "openBarrier" } });
        expect(events("actuator.result").at(-1)?.data).toMatchObject({ confirmed: true });
        await eventually(
            () => events("reading.barrier").find((e) => (e.data.values as { state: string }).state === "open"),
            10_000,
            "barrier open",
        );
    });

    it("raises an alert when the PLC does not carry out the command (barrier fault)", async () => {
        plc.fault("L1", 17);
        await eventually(
            () => events("alert.raised").find((e) => e.data.code === "BARRIER_FAULT"),
            10_000,
            "fault alert",
        );
        const outcome = await gate.actuate("plc-1", { type: "openBarrier" });
        expect(outcome.confirmed).toBe(false);
        expect(events("alert.raised").find((e) => e.data.code === "ACTUATOR_UNCONFIRMED")?.data.message).toMatch(
            /openBarrier/,
        );
        plc.clearFault("L1");
        await eventually(
            () => events("alert.cleared").find((e) => e.data.code === "BARRIER_FAULT"),
            10_000,
            "fault cleared",
        );
    });

    it("raises and clears the E-stop alert", async () => {
        plc.estop("L1", true);
        await eventually(() => events("alert.raised").find((e) => e.data.code === "ESTOP"), 10_000, "estop alert");
        plc.estop("L1", false);
        await eventually(() => events("alert.cleared").find((e) => e.data.code === "ESTOP"), 10_000, "estop cleared");
    });

    it("sets a light, and refuses an unknown device", async () => {
        expect(await gate.actuate("plc-1", { type: "setLight", which: "entry", color: "green" })).toEqual({
            confirmed: true,
            detail: "entry light green",
        });
        await eventually(() => plc.state("L1").lights.entry === 2 || undefined, 5000, "light green at the PLC");
        await expect(gate.actuate("ghost", { type: "openBarrier" })).rejects.toThrow(/not a PLC/);
    });
});
