/**
 * The exit barrier on a real gate with a real OPC UA lane PLC (issue 18, the exit check): the exit point's
 * lane has no passages of its own; its barrier opens for a truck a lane released, stays shut with the light
 * red for a truck whose inspection case is open and for one no lane released (alert EXIT_NOT_RELEASED); a
 * second read of the same truck does not move it again; and the lane engine never commands it.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LanePlcSimulator } from "../../simulators/lane-plc.ts";
import type { GateEvent } from "../../src/core/events.ts";
import type { Gate } from "../../src/gate.ts";
import { apiSession } from "../helpers/api.ts";
import { eventually, startGate, testConfig } from "../helpers/gate.ts";
import { setLoopSeen, startLanePlc } from "../helpers/lanes.ts";
import { declarationScanDraft, plateDraft } from "../helpers/readings.ts";
import { tempDir } from "../helpers/tmp.ts";

const WAIT_MS = 30_000;
const RED = "100001234540";
const GREEN = "101234567820";
const dir = tempDir();
let plc: LanePlcSimulator;
let gate: Gate;

beforeAll(async () => {
    plc = await startLanePlc(dir.path, ["L1", "X1"]);
    gate = await startGate(
        testConfig(
            dir.path,
            `  - id: L1
    devices:
      - { id: cam-1, model: dahua-itsapi-anpr, role: front, auth: { username: cam-1, password: camera-password } }
      - { id: scan-1, model: serial-barcode-scanner, address: "tcp://127.0.0.1:9" }
      - { id: plc-1, model: lane-plc-opcua, address: "${plc.endpointUrl}", plc: { lanePrefix: L1 } }
  - id: X1
    direction: OUT
    devices:
      - { id: cam-exit, model: dahua-itsapi-anpr, role: front, auth: { username: cam-exit, password: camera-password } }
      - { id: plc-x1, model: lane-plc-opcua, address: "${plc.endpointUrl}", plc: { lanePrefix: X1 } }
`,
            `rules: { requiredReads: [plate, declaration] }
inspection:
    exits:
        - { id: exit-1, camera: cam-exit, barrier: plc-x1 }`,
        ),
    );
    const declaration = (number: string, channel: string, plate: string) => ({
        ...{ number, type: "10", channel, status: "CLEARED" },
        ...{ declaredPlates: [plate], containers: [], version: 1 },
    });
    gate.clearance.importData(
        {
            version: "t-1",
            declarations: [declaration(RED, "RED", "15C-888.10"), declaration(GREEN, "GREEN", "29C-123.45")] as never, // the cache's import takes central's JSON shape; these are its fields
            watchList: [],
        },
        Date.now(),
    );
    gate.clearance.setVersion("t-1", Date.now());
    for (const id of ["plc-1", "plc-x1"])
        await eventually(() => gate.runtime(id)?.health().status === "online" || undefined, WAIT_MS, `${id} session`);
}, 60_000);

afterAll(async () => {
    await gate?.stop();
    await plc?.stop();
    dir.cleanup();
});

const events = (after = 0): GateEvent[] => gate.log.read(after, 100_000);
const exitCommands = (after = 0) =>
    events(after).filter((event) => event.type === "actuator.command" && event.deviceId === "plc-x1");

/** A truck at lane 1: its plate and its declaration read; resolves with the passage's decision. */
async function throughLane1(plate: string, normalized: string, declaration: string): Promise<string> {
    const from = gate.log.headSeq;
    plc.vehicleArrives("L1");
    await gate.log.append({ laneId: "L1", ...plateDraft("cam-1", plate, normalized) });
    await gate.log.append({ laneId: "L1", ...declarationScanDraft("scan-1", declaration) });
    const decided = await eventually(
        () => events(from).find((event) => event.type === "passage.decided"),
        WAIT_MS,
        `${plate} decided at lane 1`,
    );
    const data = decided.data as { outcome?: string; decision?: { decision?: string } };
    return data.outcome ?? data.decision?.decision ?? "";
}

/** The released truck drives on through lane 1's barrier: its passage completes as exited. */
async function leaveLane1(): Promise<void> {
    await setLoopSeen(gate, plc, "L1", "exit", true);
    await setLoopSeen(gate, plc, "L1", "entry", false);
    await setLoopSeen(gate, plc, "L1", "exit", false);
    await eventually(() => gate.lanes.laneState("L1") === "IDLE" || undefined, WAIT_MS, "lane L1 idle");
}

/** The exit camera reads a plate; resolves with the barrier's commands once `moves` of them have their result. */
async function atExit(plate: string, normalized: string, moves: number): Promise<GateEvent[]> {
    const from = gate.log.headSeq;
    await gate.log.append({ laneId: "X1", ...plateDraft("cam-exit", plate, normalized) });
    return eventually(
        () => {
            const results = events(from).filter((e) => e.type === "actuator.result" && e.deviceId === "plc-x1");
            return results.length >= moves ? exitCommands(from) : undefined;
        },
        WAIT_MS,
        `the exit barrier's ${moves} moves for ${plate}`,
    );
}

describe("the exit barrier", () => {
    it("opens for a truck lane 1 released, with the passage that let it through as the reason", async () => {
        expect(await throughLane1("29C-123.45", "29C12345", GREEN)).toBe("RELEASE");
        await leaveLane1();
        const commands = await atExit("29C-123.45", "29C12345", 2);
        expect(commands.map((event) => event.data.command)).toEqual([
            { type: "setLight", which: "entry", color: "green" },
            { type: "openBarrier" },
        ]);
        const because = commands[1]?.data.exit;
        expect(because).toMatchObject({ because: "passage-released", exitId: "exit-1" });
        const lanePassage = gate.passages.get(String((because as { passageId?: string }).passageId));
        expect(lanePassage).toMatchObject({ laneId: "L1", state: "CLOSED" });
        await eventually(() => ["opening", "open"].includes(plc.state("X1").barrier) || undefined, WAIT_MS, "X1 open");
    });

    it("does not move again when the camera reads the same truck again", async () => {
        const from = gate.log.headSeq;
        await gate.log.append({ laneId: "X1", ...plateDraft("cam-exit", "29C-123.45", "29C12345") });
        // A later read of another truck is acted on: once it is, the repeated read has been passed over.
        await atExit("51D-999.99", "51D99999", 1);
        const opens = exitCommands(from).filter(
            (event) => (event.data.command as { type: string }).type === "openBarrier",
        );
        expect(opens).toEqual([]);
    });

    it("stays shut, light red, with an alert, for a truck no lane released", async () => {
        const from = gate.log.headSeq;
        const commands = await atExit("30A-111.22", "30A11122", 1);
        expect(commands.map((event) => event.data.command)).toEqual([
            { type: "setLight", which: "entry", color: "red" },
        ]);
        const alert = await eventually(
            () => events(from).find((e) => e.type === "alert.raised" && e.data.code === "EXIT_NOT_RELEASED"),
            WAIT_MS,
            "EXIT_NOT_RELEASED",
        );
        expect(alert.data).toMatchObject({ exitId: "exit-1", truck: "30A11122", severity: "critical" });
    });

    it("stays shut for a truck whose inspection case is open, with the inspection area's alert only", async () => {
        expect(await throughLane1("15C-888.10", "15C88810", RED)).toBe("INSPECT");
        await eventually(
            () => gate.inspections.list({ status: "open", limit: 10 }).length > 0 || undefined,
            WAIT_MS,
            "case",
        );
        const from = gate.log.headSeq;
        const commands = await atExit("15C-888.10", "15C88810", 1);
        expect(commands.map((event) => event.data.command)).toEqual([
            { type: "setLight", which: "entry", color: "red" },
        ]);
        expect(commands[0]?.data.exit).toMatchObject({ because: "case-not-cleared" });
        const codes = events(from)
            .filter((event) => event.type === "alert.raised")
            .map((event) => event.data.code);
        expect(codes).toContain("INSPECTION_EXIT_REFUSED");
        expect(codes).not.toContain("EXIT_NOT_RELEASED");
    });

    it("opens by hand for a supervisor, with a release reason and a note; an officer may not", async () => {
        const open = (role: "officer" | "supervisor", exitId: string, body: object) =>
            apiSession(gate, role, `${role}-1`).fetch(`/api/v1/exits/${exitId}/open`, {
                method: "POST",
                body: JSON.stringify(body),
            });
        const body = { reasonCode: "PLATE_VERIFIED", note: "lane camera misread the plate", plate: "30A-111.22" };
        expect((await open("officer", "exit-1", body)).status).toBe(403);
        expect((await open("supervisor", "exit-9", body)).status).toBe(404);
        const wrongReason = await open("supervisor", "exit-1", { ...body, reasonCode: "DOCS_MISSING" });
        expect(wrongReason.status).toBe(400);
        expect((await open("supervisor", "exit-1", { note: "no reason code" })).status).toBe(400);
        const from = gate.log.headSeq;
        const response = await open("supervisor", "exit-1", body);
        expect(response.status).toBe(200);
        expect(await response.json()).toMatchObject({ exitId: "exit-1", confirmed: true });
        const commands = exitCommands(from);
        expect(commands.map((event) => event.data.command)).toEqual([
            { type: "setLight", which: "entry", color: "green" },
            { type: "openBarrier" },
        ]);
        expect(commands[1]?.data.exit).toEqual({
            exitId: "exit-1",
            because: "supervisor",
            supervisor: "supervisor-1",
            reasonCode: "PLATE_VERIFIED",
            note: "lane camera misread the plate",
            plates: ["30A-111.22"],
        });
    });

    it("has no passages of its own, and the lane engine never commands its PLC", async () => {
        expect(gate.passages.list({ laneId: "X1", limit: 10 })).toEqual([]);
        expect(gate.lanes.snapshot("X1")).toBeUndefined();
        const commands = exitCommands();
        expect(commands.length).toBeGreaterThanOrEqual(4);
        for (const command of commands) expect(command.data.exit).toBeDefined();
        // Lane 1's own PLC still takes lane 1's commands.
        expect(events().some((e) => e.type === "actuator.command" && e.deviceId === "plc-1")).toBe(true);
    });
});
