/**
 * The gate restarts while a truck is in the lane and an officer's action on it is pending (issue 13 §2):
 * the lane carries on with the passage from its record, so an officer's hold before the decision still
 * counts and a four-eyes release request still waits for its supervisor, on a real gate, PLC and database.
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LanePlcSimulator } from "../../simulators/lane-plc.ts";
import type { GateEventDraft } from "../../src/core/events.ts";
import type { Gate } from "../../src/gate.ts";
import { apiSession } from "../helpers/api.ts";
import { eventually, startGate, testConfig } from "../helpers/gate.ts";
import { setLoopSeen, startLanePlc } from "../helpers/lanes.ts";
import { declarationScanDraft, plateDraft } from "../helpers/readings.ts";
import { tempDir } from "../helpers/tmp.ts";

const dir = tempDir();
const GREEN = "101234567820";
let plc: LanePlcSimulator;
let gate: Gate | undefined;

const config = () =>
    testConfig(
        dir.path,
        `  - id: L1
    devices:
      - { id: cam-1, model: dahua-itsapi-anpr, role: front, auth: { username: cam-1, password: camera-password } }
      - { id: scan-1, model: serial-barcode-scanner, address: "tcp://127.0.0.1:9" }
      - { id: seal-1, model: eseal-mqtt-json, auth: { username: seal-1, password: seal-password } }
      - { id: plc-1, model: lane-plc-opcua, address: "${plc.endpointUrl}", plc: { lanePrefix: L1 } }
`,
        `storage: { path: ${JSON.stringify(join(dir.path, "officer-actions.db"))} }
rules: { requiredReads: [plate, declaration] }`,
    );

async function start(): Promise<Gate> {
    const started = await startGate(config());
    gate = started;
    await eventually(() => started.runtime("plc-1")?.health().status === "online" || undefined, 30_000, "PLC");
    return started;
}

async function restart(running: Gate): Promise<Gate> {
    await running.lanes.settled();
    await running.stop();
    gate = undefined;
    return start();
}

beforeAll(async () => {
    plc = await startLanePlc(dir.path, ["L1"]);
    const first = await start();
    first.clearance.importData(
        {
            version: "t-1",
            declarations: [
                {
                    number: GREEN,
                    type: "10",
                    channel: "GREEN",
                    status: "CLEARED",
                    declaredPlates: ["15C-123.45"],
                    containers: [],
                    version: 1,
                },
            ] as never, // the import's JSON shape; the cache validates it
            watchList: [],
        },
        Date.now(),
    );
    first.clearance.setVersion("t-1", Date.now());
}, 60_000);

afterAll(async () => {
    await gate?.stop();
    await plc?.stop();
    dir.cleanup();
});

const read = (on: Gate, draft: Omit<GateEventDraft, "laneId">) => on.log.append({ laneId: "L1", ...draft });
const tamperedSeal: Omit<GateEventDraft, "laneId"> = {
    type: "reading.seal",
    deviceId: "seal-1",
    data: { values: { sealId: "VNC-0100001", type: "ISO18185", status: "TAMPERED", alerts: [] } },
};

/** A truck on the entry loop, read by the camera: its open passage's id. */
async function truckWaiting(on: Gate): Promise<string> {
    await eventually(() => on.lanes.laneState("L1") === "IDLE" || undefined, 10_000, "lane idle");
    // The truck stays on the loop until turnsBack: the gate must have seen it arrive to see it leave.
    await setLoopSeen(on, plc, "L1", "entry", true);
    await read(on, plateDraft("cam-1", "15C-123.45", "15C12345"));
    const row = await eventually(
        () => on.passages.list({ laneId: "L1", limit: 1 }).find((p) => p.state !== "CLOSED" && !p.decision),
        10_000,
        "an open passage",
    );
    return row.passageId;
}

async function turnsBack(on: Gate, id: string): Promise<void> {
    plc.setLoop("L1", "entry", false);
    await eventually(() => on.passages.get(id)?.state === "CLOSED" || undefined, 10_000, "passage closed");
}

describe("a gate restart with an officer's action pending", () => {
    it("keeps an officer's hold made before the decision: the tampered truck still ends in inspection", async () => {
        let current = gate as Gate;
        const id = await truckWaiting(current);
        await current.officerAction({
            passageId: id,
            action: "hold",
            reasonCode: "DOCS_MISSING",
            officerId: "officer-1",
            role: "officer",
        });
        current = await restart(current);
        // The lane carries on with the same passage, the hold in place and on the tile at once.
        expect(current.lanes.snapshot("L1")?.passage).toMatchObject({
            passageId: id,
            standing: { officerHold: "HOLD" },
        });
        const lanes = (await (await apiSession(current, "officer").fetch("/api/v1/lanes")).json()) as {
            lanes: { id: string; passage?: { id: string; officerHold?: string } }[];
        };
        expect(lanes.lanes.find((lane) => lane.id === "L1")?.passage).toMatchObject({ id, officerHold: "HOLD" });
        await read(current, tamperedSeal);
        await read(current, declarationScanDraft("scan-1", GREEN));
        await eventually(() => current.passages.get(id)?.state === "INSPECTION" || undefined, 10_000, "inspection");
        expect(current.passages.list({ laneId: "L1", limit: 10 }).filter((p) => p.state !== "CLOSED")).toHaveLength(1);
        await turnsBack(current, id);
        expect(current.passages.get(id)).toMatchObject({ decision: "INSPECT", record: { outcome: "diverted" } });
        expect(plc.state("L1").barrier).not.toBe("open");
    });

    it("keeps a four-eyes release request: after the restart only a supervisor's approval releases the truck", async () => {
        let current = gate as Gate;
        const id = await truckWaiting(current);
        await read(current, tamperedSeal);
        await read(current, declarationScanDraft("scan-1", GREEN));
        await eventually(() => current.passages.get(id)?.state === "INSPECTION" || undefined, 10_000, "inspection");
        const officer = apiSession(current, "officer", "officer-1");
        const requested = await officer.fetch(`/api/v1/passages/${id}/actions`, {
            method: "POST",
            body: JSON.stringify({ action: "release", reasonCode: "INSPECTED_OK" }),
        });
        expect(requested.status).toBe(202);
        current = await restart(current);
        const supervisor = apiSession(current, "supervisor", "supervisor-7");
        const waiting = (await (await supervisor.fetch("/api/v1/approvals")).json()) as {
            approvals: { passageId: string; requestedBy: string }[];
        };
        expect(waiting.approvals).toEqual([expect.objectContaining({ passageId: id, requestedBy: "officer-1" })]);
        // Another officer's release is still not the second pair of eyes.
        const other = await apiSession(current, "officer", "officer-2").fetch(`/api/v1/passages/${id}/actions`, {
            method: "POST",
            body: JSON.stringify({ action: "release", reasonCode: "INSPECTED_OK" }),
        });
        expect(other.status).toBe(409);
        expect(current.passages.get(id)?.state).toBe("INSPECTION");
        const approved = await supervisor.fetch(`/api/v1/approvals/${id}/approve`, {
            method: "POST",
            body: JSON.stringify({ reasonCode: "INSPECTED_OK" }),
        });
        expect(approved.status).toBe(200);
        await eventually(() => plc.state("L1").barrier === "open" || undefined, 10_000, "barrier open");
        expect(current.passages.get(id)?.state).toMatch(/RELEASED|EXITING/);
    });
});
