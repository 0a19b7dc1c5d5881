/**
 * The exit barrier's decision (src/inspection/exitBarrier.ts), which lanes are only entry or exit points
 * (src/config/pointLanes.ts), and the configuration's check of `inspection.exits[].barrier`.
 */
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/load.ts";
import { exitBarrierIds, pointLaneIds } from "../../src/config/pointLanes.ts";
import { isGateError } from "../../src/core/errors.ts";
import { exitBarrierDecision, openExitByHand } from "../../src/inspection/exitBarrier.ts";
import { testConfig } from "../helpers/gate.ts";

/** The key-path errors a configuration text is refused with; none when it is accepted. */
function configErrors(text: string): string[] {
    try {
        parseConfig(text);
    } catch (err) {
        if (isGateError(err, "CONFIG_INVALID")) return [...err.details];
        throw err;
    }
    return [];
}

const released = { passageId: "P-1", laneId: "L1", wentThrough: true };
const turnedBack = { passageId: "P-2", laneId: "L1", wentThrough: false };

describe("the exit barrier's decision", () => {
    it("opens for cleared cases, or for a last passage that let the truck through", () => {
        expect(exitBarrierDecision("released", ["15C88810"], turnedBack)).toEqual({
            open: true,
            because: "cases-cleared",
        });
        expect(exitBarrierDecision("none", ["29C12345"], released)).toEqual({
            open: true,
            because: "passage-released",
            passageId: "P-1",
        });
    });

    it("stays shut for a case not cleared, whatever the passage said, and for a truck never released", () => {
        expect(exitBarrierDecision("refused", ["15C88810"], released)).toEqual({
            open: false,
            because: "case-not-cleared",
        });
        expect(exitBarrierDecision("none", ["29C12345"], turnedBack)).toEqual({
            open: false,
            because: "not-released",
            passageId: "P-2",
        });
        expect(exitBarrierDecision("none", ["51D99999"], undefined)).toEqual({ open: false, because: "not-released" });
    });

    it("decides nothing on a container code alone (no tractor to look up)", () => {
        expect(exitBarrierDecision("none", [], undefined)).toBeUndefined();
    });
});

const lanes = `  - id: L1
    devices:
      - { id: cam-1, model: dahua-itsapi-anpr, role: front, auth: { username: cam-1, password: camera-password } }
      - { id: plc-1, model: lane-plc-opcua, address: "opc.tcp://127.0.0.1:4840", plc: { lanePrefix: L1 } }
  - id: Y1
    devices:
      - { id: cam-yard, model: dahua-itsapi-anpr, role: front, auth: { username: cam-yard, password: camera-password } }
  - id: X1
    direction: OUT
    devices:
      - { id: cam-exit, model: dahua-itsapi-anpr, role: front, auth: { username: cam-exit, password: camera-password } }
      - { id: plc-x1, model: lane-plc-opcua, address: "opc.tcp://127.0.0.1:4840", plc: { lanePrefix: X1 } }
`;

describe("point lanes", () => {
    it("are the lanes with only yard entry cameras, exit cameras and exit barriers", () => {
        const config = testConfig(
            "/tmp",
            lanes,
            `inspection:
    exits: [{ id: exit-1, camera: cam-exit, barrier: plc-x1 }]
yard:
    entries: [{ id: entry-1, camera: cam-yard }]
    laneGroups: { L1: import }`,
        );
        expect([...pointLaneIds(config)].sort()).toEqual(["X1", "Y1"]);
        expect([...exitBarrierIds(config)]).toEqual(["plc-x1"]);
    });

    it("keep their passages when a device of theirs is neither (an exit camera on a lane with a PLC of its own)", () => {
        const config = testConfig("/tmp", lanes, "inspection:\n    exits: [{ id: exit-1, camera: cam-exit }]");
        expect([...pointLaneIds(config)]).toEqual([]);
    });
});

describe("inspection.exits[].barrier in the configuration", () => {
    it("names every wrong barrier at once: not a PLC, a PLC of another lane, one PLC for two exits", () => {
        const text = `
gate: { id: T01, name: Test gate }
storage: { path: /tmp/never-opened.db }
http: { host: 127.0.0.1, port: 0 }
broker: { mode: embedded, host: 127.0.0.1, port: 0 }
lanes:
${lanes}
inspection:
    exits:
        - { id: exit-1, camera: cam-exit, barrier: cam-1 }
        - { id: exit-2, camera: cam-exit, barrier: plc-1 }
        - { id: exit-3, camera: cam-exit, barrier: plc-x1 }
        - { id: exit-4, camera: cam-exit, barrier: plc-x1 }
`;
        expect(configErrors(text)).toEqual([
            'inspection.exits[0].barrier: no lane PLC "cam-1"',
            'inspection.exits[1].barrier: PLC "plc-1" is on lane L1, the camera on X1',
            'inspection.exits[3].barrier: PLC "plc-x1" is the barrier of another exit too',
        ]);
    });
});

describe("an exit barrier's lane", () => {
    it("holds only point devices: a barrier beside a lane's passage devices is refused, naming them", () => {
        const text = `
gate: { id: T01, name: Test gate }
storage: { path: /tmp/never-opened.db }
http: { host: 127.0.0.1, port: 0 }
broker: { mode: embedded, host: 127.0.0.1, port: 0 }
lanes:
  - id: X1
    direction: OUT
    devices:
      - { id: cam-exit, model: dahua-itsapi-anpr, role: front, auth: { username: cam-exit, password: camera-password } }
      - { id: scan-x1, model: serial-barcode-scanner, address: "tcp://127.0.0.1:9" }
      - { id: plc-x1, model: lane-plc-opcua, address: "opc.tcp://127.0.0.1:4840", plc: { lanePrefix: X1 } }
inspection:
    exits: [{ id: exit-1, camera: cam-exit, barrier: plc-x1 }]
`;
        expect(configErrors(text)).toEqual([
            "inspection.exits[0].barrier: lane X1 has passage devices too (scan-x1); an exit barrier's lane holds only exit and yard entry cameras and exit barriers",
        ]);
        // Without the scanner the same lane is a point lane, and the file is accepted.
        expect(() => parseConfig(text.replace(/ {6}- \{ id: scan-x1.*\n/, ""))).not.toThrow();
    });
});

describe("an exit barrier opened by hand", () => {
    const exits = [
        { id: "exit-1", camera: "cam-exit", barrier: "plc-x1" },
        { id: "exit-2", camera: "cam-2" },
    ];
    const opening = { supervisor: "sup-1", reasonCode: "PLATE_VERIFIED", note: "misread" };

    it("is refused for an unknown exit and for an exit without a barrier, and moves nothing", async () => {
        const moved: string[] = [];
        const actuate = async (deviceId: string) => {
            moved.push(deviceId);
            return { confirmed: true, detail: "" };
        };
        await expect(openExitByHand({ ...opening, exitId: "exit-9" }, exits, actuate)).rejects.toMatchObject({
            code: "NOT_FOUND",
        });
        await expect(openExitByHand({ ...opening, exitId: "exit-2" }, exits, actuate)).rejects.toMatchObject({
            code: "EXIT_NO_BARRIER",
        });
        expect(moved).toEqual([]);
        await openExitByHand({ ...opening, exitId: "exit-1" }, exits, actuate);
        expect(moved).toEqual(["plc-x1", "plc-x1"]);
    });
});
