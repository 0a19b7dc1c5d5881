import { join } from "node:path";
import { DataType } from "node-opcua";
import { LanePlcSimulator } from "../../simulators/lane-plc.ts";
import type { GateEvent } from "../../src/core/events.ts";
import type { Gate } from "../../src/gate.ts";
import { eventually, testConfig } from "../helpers/gate.ts";
import { type ContractHarness, driverContract } from "./driverContract.ts";

driverContract("OPC UA lane PLC", (): ContractHarness => {
    let plc: LanePlcSimulator;
    // Read n is told apart by which loop it occupies, in turn; a read is a loop becoming occupied.
    const loops = ["entry", "safety", "exit"] as const;
    const loopOf = (n: number) => loops[(n - 1) % loops.length]!;
    return {
        deviceId: "plc-1",
        readingType: "reading.presence",
        async start(dir) {
            plc = new LanePlcSimulator({
                port: 0,
                lanes: ["L1"],
                pkiFolder: join(dir, "plc-pki"),
                watchdogTimeoutMs: 10_000,
            });
            await plc.start();
            return testConfig(
                dir,
                `  - id: L1\n    devices:\n      - { id: plc-1, model: lane-plc-opcua, address: "${plc.endpointUrl}", plc: { lanePrefix: L1 } }\n`,
            );
        },
        async gateStarted(gate: Gate) {
            // The PLC's current loop states arrive as the subscription's first values, possibly after the
            // driver is online: the reads (and the count of readings before bad data) start once they are in.
            await eventually(
                () => {
                    const known = gate.log
                        .read(0, 10_000)
                        .filter((event) => event.type === "reading.presence" && event.deviceId === "plc-1")
                        .map((event) => (event.data.values as { loop: string }).loop);
                    return loops.every((loop) => known.includes(loop)) || undefined;
                },
                20_000,
                "the initial state of every loop stored",
            );
        },
        async sendRead(n) {
            for (const loop of loops) plc.setLoop("L1", loop, false);
            plc.setLoop("L1", loopOf(n), true);
        },
        readNumber(event: GateEvent) {
            const values = event.data.values as { loop: string; occupied: boolean };
            if (!values.occupied) return undefined;
            const index = loops.indexOf(values.loop as (typeof loops)[number]);
            // The harness reads 1, 2, 3 in order, so the loop names the read.
            return index >= 0 ? index + 1 : undefined;
        },
        async sendBadData() {
            // A value of the wrong type on the wire: a string where the PLC should report a boolean.
            plc.publishRaw("L1", "Loop.Exit.Occupied", { dataType: DataType.String, value: "maybe" });
        },
        async restartPeer() {
            await plc.restart(500);
        },
        async stop() {
            await plc.stop();
        },
    };
});
