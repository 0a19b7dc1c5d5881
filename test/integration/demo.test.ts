import { copyFileSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { startDemoCentral, startDemoSimulators } from "../../simulators/demo.ts";
import { parseConfig } from "../../src/config/load.ts";
import type { GateEvent } from "../../src/core/events.ts";
import { Gate } from "../../src/gate.ts";
import { createDemoUsers } from "../../src/usersCommand.ts";
import type { PreArrival } from "../../src/yard/types.ts";
import { eventually } from "../helpers/gate.ts";
import { tempDir, testLog } from "../helpers/tmp.ts";

const dir = tempDir();
afterAll(() => dir.cleanup());

describe("the demo gate that npm start runs", () => {
    it("brings every device online and stores weights, scans and seal reads from both lanes", async () => {
        // The shipped demo file, moved to free ports and a temp database so it can run beside anything.
        const base = 20000 + Math.floor(Math.random() * 20000);
        const text = readFileSync("config/demo.yaml", "utf8")
            .replace(/port: 8080/, "port: 0")
            .replace(/port: 18830/, "port: 0")
            .replace(/port: 18081/, "port: 0")
            .replace(/127\.0\.0\.1:18901/g, `127.0.0.1:${base + 901}`)
            .replace(/127\.0\.0\.1:48401/g, `127.0.0.1:${base + 902}`)
            .replace(/127\.0\.0\.1:18090/g, `127.0.0.1:${base + 903}`)
            .replace(/tcp:\/\/127\.0\.0\.1:140(\d\d)/g, (_m, n: string) => `tcp://127.0.0.1:${base + Number(n)}`)
            .replace("./data/demo.db", join(dir.path, "demo.db"))
            .replace(/\.\/data\/inspection/g, join(dir.path, "inspection"));
        const file = join(dir.path, "demo.yaml");
        writeFileSync(file, text);
        // The demo central serves the clearance file that sits beside the demo config.
        copyFileSync("config/clearance-demo.yaml", join(dir.path, "clearance-demo.yaml"));
        const config = parseConfig(text, { source: file });
        const central = await startDemoCentral(file, config, testLog, () => undefined);
        const gate = new Gate({ config, log: testLog });
        // As npm start does: each truck's visit is announced through the demo central's feed.
        const announce = (preArrival: PreArrival) => void central?.addClearance([{ type: "preArrival", preArrival }]);
        const simulators = await startDemoSimulators(file, config, testLog, { announce });
        const addresses = await gate.start();
        await simulators.connect(addresses);
        try {
            const has = (
                events: GateEvent[],
                type: string,
                laneId: string,
                test: (e: GateEvent) => boolean = () => true,
            ) => events.some((event) => event.type === type && event.laneId === laneId && test(event));
            const stableTruck = (event: GateEvent) => {
                const values = event.data.values as { kg: number; stable: boolean };
                return values.stable && values.kg > 10_000;
            };
            await eventually(
                () => {
                    const events = gate.log.read(0, 10_000);
                    return (
                        ["L1", "L2"].every(
                            (lane) =>
                                has(events, "reading.weight", lane, stableTruck) &&
                                has(events, "reading.scan", lane) &&
                                // Lane 2's first truck is bulk cargo with no seal; lane 1's carries one.
                                (lane === "L2" || has(events, "reading.seal", lane)) &&
                                // Lane 1's trucks pass the RPM on its approach (inspection.devices).
                                (lane === "L2" || has(events, "reading.radiation", lane)) &&
                                has(events, "reading.plate", lane) &&
                                has(
                                    events,
                                    "reading.presence",
                                    lane,
                                    (e) => (e.data.values as { occupied: boolean }).occupied,
                                ),
                        ) || undefined
                    );
                },
                // A demo truck comes every half minute or so per lane; on a loaded CI machine the first may take longer.
                50_000,
                "a truck seen by the PLC and the cameras, weighed, scanned and its seal read in both lanes",
            );
            const health = (await (await fetch(`${addresses.http}/api/v1/health`)).json()) as {
                lanes: { ready: boolean }[];
            };
            // The two lanes, the yard entry's camera and the exit point's.
            expect(health.lanes.map((lane) => lane.ready)).toEqual([true, true, true, true]);
            // As `npm start` does: demo users, and an officer logs in and sees both lanes on the board.
            const officer = createDemoUsers(gate.database).find((user) => user.role === "officer")!;
            const login = await fetch(`${addresses.http}/api/v1/auth/login`, {
                method: "POST",
                headers: { "content-type": "application/json" },
                body: JSON.stringify({ username: officer.name, password: officer.password }),
            });
            expect(login.status).toBe(200);
            const cookie = login.headers.get("set-cookie")!.split(";")[0]!;
            const board = (await (await fetch(`${addresses.http}/api/v1/lanes`, { headers: { cookie } })).json()) as {
                lanes: { id: string; devices: { status: string }[] }[];
            };
            expect(board.lanes.map((lane) => lane.id)).toEqual(["L1", "L2", "Y1", "X1"]);
            expect(board.lanes.flatMap((lane) => lane.devices.map((device) => device.status))).not.toContain("offline");
            // The demo's central serves the trucks' declarations through the clearance feed.
            expect(gate.clearance.declaration("101234567820")?.channel).toBe("GREEN");
            await eventually(
                () => gate.passages.list({ limit: 50 }).find((p) => p.decision !== null),
                20_000,
                "a passage decided",
            );
            // The yard (issue 19): lane 1's first truck, announced in the demo's clearance feed, arrives at the yard
            // and is called forward to lane 1 before it drives there.
            const visitOf = (type: string) =>
                gate.log
                    .read(0, 100_000)
                    .find((e) => e.type === type && e.data.tractorPlate === "15C12345" && e.laneId !== "L2");
            const arrived = await eventually(() => visitOf("visit.arrived"), 20_000, "the first truck at the yard");
            expect(arrived.data).toMatchObject({
                preArrivalId: "DEMO-L1-1",
                laneGroup: "import",
                goodsClass: "perishable",
            });
            expect((await eventually(() => visitOf("visit.called"), 20_000, "its call")).data).toMatchObject({
                laneId: "L1",
            });
            // And receives the gate's events.
            await eventually(
                () => (gate.sync.status().lastSuccessAt !== null ? true : undefined),
                10_000,
                "an upload to the demo central",
            );
            // A released truck reaches the exit point: its barrier (plc-x1) opens for it, naming the passage.
            const exitOpened = await eventually(
                () =>
                    gate.log
                        .read(0, 100_000)
                        .find(
                            (e) =>
                                e.type === "actuator.command" &&
                                e.deviceId === "plc-x1" &&
                                (e.data.command as { type: string }).type === "openBarrier",
                        ),
                40_000,
                "the exit barrier opened for a released truck",
            );
            expect(exitOpened.data.exit).toMatchObject({ exitId: "exit-1", because: "passage-released" });
            expect(gate.passages.list({ laneId: "X1", limit: 5 })).toEqual([]);
            const plates = gate.log.read(0, 10_000).filter((e) => e.type === "reading.plate");
            expect(plates.some((e) => (e.data.values as { trailer: boolean }).trailer)).toBe(true);
            for (const scan of gate.log.read(0, 10_000).filter((e) => e.type === "reading.scan")) {
                expect((scan.data.values as { parsed: { type: string } }).parsed.type).not.toBe("other");
            }
        } finally {
            simulators.stopTraffic();
            await gate.stop();
            await simulators.stop();
            await central?.stop();
        }
    }, 150_000);
});
