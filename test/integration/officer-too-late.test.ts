/**
 * An officer's divert that loses the race with the barrier (issue 14 §4), through a real gate and the OPC UA
 * lane PLC simulator: the divert is sent the moment the lane engine hands the open command to the PLC. It
 * must not be answered "applied" (gate-edge never commands a close, so nothing stops the truck at the lane):
 * 409 ACTION_TOO_LATE with the reason, the passage flagged for the next point, a critical alert naming the
 * plate, the follow-up in the chain and on the timeline, and no red light under an opening barrier.
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LanePlcSimulator } from "../../simulators/lane-plc.ts";
import type { GateEvent, GateEventDraft } from "../../src/core/events.ts";
import type { Gate } from "../../src/gate.ts";
import { apiSession } from "../helpers/api.ts";
import { eventually, startGate, testConfig } from "../helpers/gate.ts";
import { startLanePlc } from "../helpers/lanes.ts";
import { declarationScanDraft, plateDraft } from "../helpers/readings.ts";
import { tempDir } from "../helpers/tmp.ts";

const dir = tempDir();
let plc: LanePlcSimulator;
let gate: Gate;

const GREEN = "101234567820";

beforeAll(async () => {
    plc = await startLanePlc(dir.path, ["L1"]);
    gate = await startGate(
        testConfig(
            dir.path,
            `  - id: L1
    devices:
      - { id: cam-1, model: dahua-itsapi-anpr, role: front, auth: { username: cam-1, password: camera-password } }
      - { id: scan-1, model: serial-barcode-scanner, address: "tcp://127.0.0.1:9" }
      - { id: plc-1, model: lane-plc-opcua, address: "${plc.endpointUrl}", plc: { lanePrefix: L1 } }
`,
            `storage: { path: ${JSON.stringify(join(dir.path, "too-late.db"))} }\nrules: { requiredReads: [plate, declaration] }`,
        ),
    );
    gate.clearance.importData(
        {
            version: "t-1",
            declarations: [
                {
                    number: GREEN,
                    type: "10",
                    channel: "GREEN",
                    status: "CLEARED",
                    documentCheckDone: false,
                    inspectionDone: false,
                    declaredPlates: ["15C-123.45"],
                    containers: [],
                    version: 1,
                },
            ],
            watchList: [],
        },
        Date.now(),
    );
    await eventually(() => gate.runtime("plc-1")?.health().status === "online" || undefined, 30_000, "PLC session");
}, 60_000);

afterAll(async () => {
    await gate?.stop();
    await plc?.stop();
    dir.cleanup();
});

const read = (draft: Omit<GateEventDraft, "laneId">) => gate.log.append({ laneId: "L1", ...draft });
const events = (type: string): GateEvent[] => gate.log.read(0, 100_000).filter((event) => event.type === type);

interface Answer {
    status: number;
    body: { status?: string; error?: string; message?: string; applied?: boolean; tooLate?: boolean; because?: string };
}

async function act(passageId: string, action: "hold" | "divert", reasonCode: string): Promise<Answer> {
    const response = await apiSession(gate, "officer").fetch(`/api/v1/passages/${passageId}/actions`, {
        method: "POST",
        body: JSON.stringify({ action, reasonCode }),
    });
    return { status: response.status, body: (await response.json()) as Answer["body"] };
}

interface Detail {
    outcome?: string;
    decision?: { outcome: string };
    followUps?: { kind: string; action: string; because: string; plates: string[] }[];
    timeline: { type: string; summary: string }[];
}

async function detail(passageId: string): Promise<Detail> {
    const response = await apiSession(gate, "officer").fetch(`/api/v1/passages/${passageId}`);
    return ((await response.json()) as { passage: Detail }).passage;
}

async function alertsOf(passageId: string, code: string, count: number) {
    return eventually(
        async () => {
            const response = await apiSession(gate, "supervisor").fetch("/api/v1/alerts?state=all&limit=1000");
            const { alerts } = (await response.json()) as {
                alerts: { code: string; passageId?: string; severity: string; message: string }[];
            };
            const found = alerts.filter((alert) => alert.passageId === passageId && alert.code === code);
            return found.length >= count ? found : undefined;
        },
        10_000,
        `${count} ${code} alert(s) on the dashboard`,
    );
}

describe("an officer's action that comes after the barrier open command", () => {
    let passageId = "";

    it("a divert sent as the open command goes to the PLC is not applied: 409, flagged, alerted, no red light", async () => {
        // The divert is sent from the lane engine's own announcement that the open command is being written.
        let divert: Promise<Answer> | undefined;
        gate.bus.on("laneCommand", dir, (command) => {
            if (command.command === "open-barrier" && divert === undefined)
                divert = act(command.passageId, "divert", "RISK_TARGETED");
        });
        plc.vehicleArrives("L1");
        await read(plateDraft("cam-1", "15C-123.45", "15C12345"));
        await read(declarationScanDraft("scan-1", GREEN));
        const answer = await eventually(() => divert, 10_000, "the divert to be sent");
        const { status, body } = await answer;
        gate.bus.removeListeners(dir);
        passageId = gate.passages.list({ laneId: "L1", limit: 1 })[0]?.passageId ?? "";

        expect(status).toBe(409);
        expect(body).toMatchObject({ error: "ACTION_TOO_LATE", applied: false, tooLate: true });
        expect(["open-commanded", "barrier-open"]).toContain(body.because);
        expect(body.message).toMatch(/too late to divert/);

        // The barrier opens as commanded; the truck stays released and is flagged for the inspection area.
        await eventually(() => plc.state("L1").barrier === "open" || undefined, 10_000, "barrier open");
        const [alert] = await alertsOf(passageId, "PASSAGE_ACTION_TOO_LATE", 1);
        expect(alert?.severity).toBe("critical");
        expect(alert?.message).toMatch(/15C12345/);
        expect(alert?.message).toMatch(/inspection area/);
        const passage = await detail(passageId);
        expect(passage.decision?.outcome).toBe("RELEASE");
        expect(passage.followUps).toEqual([
            expect.objectContaining({ kind: "too-late", action: "divert", plates: ["15C12345"] }),
        ]);
        expect(passage.timeline.map((entry) => entry.type)).toContain("FOLLOWUP");
        const followUps = events("passage.followup").filter((event) => event.data.passageId === passageId);
        expect(followUps.map((event) => event.data.kind)).toEqual(["too-late"]);
        // No red light over an opening barrier: the lane was never told to stop a truck it could not stop.
        await gate.lanes.settled();
        const lights = events("actuator.command").filter((event) => event.data.passageId === passageId);
        expect(lights.map((event) => JSON.stringify(event.data.command))).not.toContain(
            JSON.stringify({ type: "setLight", which: "entry", color: "red" }),
        );
    });

    it("a hold after the truck left through the barrier is too late as well, and says so", async () => {
        plc.vehicleUnderBoom("L1", true);
        await plc.vehicleLeaves("L1", 100);
        await eventually(() => gate.passages.get(passageId)?.state === "CLOSED" || undefined, 10_000, "closed");
        const { status, body } = await act(passageId, "hold", "DOCS_MISSING");
        expect(status).toBe(409);
        expect(body).toMatchObject({ applied: false, tooLate: true, because: "left" });
        const alerts = await alertsOf(passageId, "PASSAGE_ACTION_TOO_LATE", 2);
        expect(alerts.some((alert) => /already left the lane.*exit/.test(alert.message))).toBe(true);
        expect((await detail(passageId)).followUps?.map((f) => f.because)).toEqual([
            expect.stringMatching(/open-commanded|barrier-open/),
            "left",
        ]);
    });
});
