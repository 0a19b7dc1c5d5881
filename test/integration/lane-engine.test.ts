import { join } from "node:path";
import mqtt from "mqtt";
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
let plc: LanePlcSimulator;
let gate: Gate;

const RED = "100001234540";
const GREEN = "101234567820";

/** The gate's configuration with `rules` (YAML): the same lane and database, for a reload. */
const configWith = (rules: string) =>
    testConfig(
        dir.path,
        `  - id: L1
    devices:
      - { id: cam-1, model: dahua-itsapi-anpr, role: front, auth: { username: cam-1, password: camera-password } }
      - { id: scan-1, model: serial-barcode-scanner, address: "tcp://127.0.0.1:9" }
      - { id: seal-1, model: eseal-mqtt-json, auth: { username: seal-1, password: seal-password } }
      - { id: plc-1, model: lane-plc-opcua, address: "${plc.endpointUrl}", plc: { lanePrefix: L1 } }
`,
        `storage: { path: ${JSON.stringify(join(dir.path, "lane-engine.db"))} }\n${rules}`,
    );

beforeAll(async () => {
    plc = await startLanePlc(dir.path, ["L1"]);
    gate = await startGate(configWith("rules: { requiredReads: [plate, declaration] }"));
    const declaration = (number: string, channel: "GREEN" | "RED", plate: string) => ({
        number,
        type: "10",
        channel,
        status: "CLEARED",
        declaredPlates: [plate],
        containers: [],
        version: 1,
    });
    gate.clearance.importData(
        {
            version: "t-1",
            declarations: [declaration(RED, "RED", "15C-888.10"), declaration(GREEN, "GREEN", "15C-123.45")] as never,
            watchList: [],
        },
        Date.now(),
    );
    gate.clearance.setVersion("t-1", Date.now());
    await eventually(() => gate.runtime("plc-1")!.health().status === "online" || undefined, 30_000, "PLC session");
}, 60_000);

afterAll(async () => {
    await gate?.stop();
    await plc?.stop();
    dir.cleanup();
});

/** Readings as the runtimes would store them: the engine acts on committed readings only. */
const read = (draft: Omit<GateEventDraft, "laneId">) => gate.log.append({ laneId: "L1", ...draft });
const plate = (text: string, normalized: string) => read(plateDraft("cam-1", text, normalized));
const scan = (number: string) => read(declarationScanDraft("scan-1", number));
const seal = (status: "SEALED" | "TAMPERED") =>
    read({
        type: "reading.seal",
        deviceId: "seal-1",
        data: { values: { sealId: "VNC-0100001", type: "ISO18185", status, alerts: [] } },
    });

interface Detail {
    state: string;
    outcome?: string;
    officerHold?: string;
    decision?: { outcome: string; automatic?: string };
    timeline: { type: string; summary: string }[];
}

/** A truck in front of the barrier, read by the front camera: its passage, open and not decided yet. */
async function truckWaiting(text: string, normalized: string): Promise<string> {
    if (["RELEASED", "EXITING"].includes(gate.lanes.laneState("L1") ?? "")) {
        // The released truck of an earlier test is still under the boom: it drives off first.
        plc.vehicleUnderBoom("L1", true);
        await plc.vehicleLeaves("L1", 100);
    }
    await eventually(
        () => gate.lanes.laneState("L1") === "IDLE" || undefined,
        10_000,
        () => `lane L1 idle (${laneView()})`,
    );
    // The truck stays on the loop until turnsBack: the gate must have seen it arrive to see it leave.
    await setLoopSeen(gate, plc, "L1", "entry", true);
    await plate(text, normalized);
    const row = await eventually(
        () => gate.passages.list({ laneId: "L1", limit: 1 }).find((p) => p.state !== "CLOSED" && !p.decision),
        10_000,
        "an open passage",
    );
    return row.passageId;
}

async function passageDetail(id: string): Promise<Detail> {
    const response = await apiSession(gate, "officer").fetch(`/api/v1/passages/${id}`);
    return ((await response.json()) as { passage: Detail }).passage;
}

async function act(id: string, action: "hold" | "divert", reasonCode: string): Promise<number> {
    const response = await apiSession(gate, "officer").fetch(`/api/v1/passages/${id}/actions`, {
        method: "POST",
        body: JSON.stringify({ action, reasonCode }),
    });
    return response.status;
}

/** The alert codes raised for a passage, as the alerts queue has them once `ready` says they arrived. */
async function alertCodesWhen(id: string, ready: (codes: string[]) => boolean): Promise<string[]> {
    const supervisor = apiSession(gate, "supervisor");
    const deadline = Date.now() + 10_000;
    for (;;) {
        const response = await supervisor.fetch("/api/v1/alerts?state=all&limit=1000");
        const { alerts } = (await response.json()) as { alerts: { code: string; passageId?: string }[] };
        const codes = alerts.filter((alert) => alert.passageId === id).map((alert) => alert.code);
        if (ready(codes) || Date.now() > deadline) return codes;
        await new Promise((resolve) => setTimeout(resolve, 50));
    }
}

/**
 * What the gate knew of the lane when a wait ran out: its state, the PLC's own loops and barrier, the PLC
 * driver's health and the last loop and barrier readings the gate stored (in order), against the simulator.
 */
function laneView(): string {
    const readings = gate.log
        .read(0, 100_000)
        .filter((e) => e.deviceId === "plc-1" && (e.type === "reading.presence" || e.type === "reading.barrier"))
        .slice(-12)
        .map((e) => `${e.seq}:${JSON.stringify(e.data.values)}`);
    return [
        `lane ${gate.lanes.laneState("L1")}`,
        `plc ${JSON.stringify(plc.state("L1").loops)} barrier ${plc.state("L1").barrier}`,
        `driver ${gate.runtime("plc-1")?.health().status}`,
        `readings ${readings.join(" ")}`,
    ].join("; ");
}

/** The truck reverses off the entry loop: a passage that was not released completes. */
async function turnsBack(id: string): Promise<Detail> {
    plc.setLoop("L1", "entry", false);
    await eventually(
        () => gate.passages.get(id)?.state === "CLOSED" || undefined,
        10_000,
        () => `passage closed (${laneView()})`,
    );
    return passageDetail(id);
}

describe("the lane engine through the gate", () => {
    it("releases a green truck: passage decided RELEASE, barrier opened by the PLC, passage in the API", async () => {
        plc.vehicleArrives("L1");
        await plate("15C-123.45", "15C12345");
        await scan(GREEN);
        await eventually(() => (plc.state("L1").barrier === "open" ? true : undefined), 10_000, "barrier open");
        const [passage] = gate.passages.list({ laneId: "L1", limit: 10 });
        expect(passage).toMatchObject({ decision: "RELEASE", plates: ["15C12345"], declarations: [GREEN] });
        const officer = apiSession(gate, "officer");
        const api = (await (await officer.fetch(`/api/v1/passages/${passage!.passageId}`)).json()) as {
            passage: { decision: { outcome: string } };
        };
        expect(api.passage.decision.outcome).toBe("RELEASE");
        const search = (await (await officer.fetch("/api/v1/passages?plate=15C12345")).json()) as {
            passages: unknown[];
        };
        expect(search.passages).toHaveLength(1);
        expect((await officer.fetch("/api/v1/passages?plate=%3Cscript%3E")).status).toBe(400);
        // The truck drives through and the passage closes.
        plc.vehicleUnderBoom("L1", true);
        await plc.vehicleLeaves("L1", 100);
        await eventually(
            () => (gate.passages.get(passage!.passageId)?.state === "CLOSED" ? true : undefined),
            10_000,
            "closed",
        );
    });

    it("sends a red-channel truck to inspection and releases it only with a supervisor's second approval", async () => {
        plc.vehicleArrives("L1");
        await plate("15C-888.10", "15C88810");
        await scan(RED);
        const passage = await eventually(
            () =>
                gate.passages.list({ laneId: "L1", limit: 10 }).find((p) => p.declarations.includes(RED) && p.decision),
            10_000,
            "red passage decided",
        );
        expect(passage.decision).toBe("INSPECT");
        expect(plc.state("L1").barrier).not.toBe("open");
        const release = { passageId: passage.passageId, action: "release" as const, reasonCode: "INSPECTED_OK" };
        await gate.officerAction({ ...release, officerId: "officer-1", role: "officer" });
        await gate.lanes.settled();
        expect(plc.state("L1").barrier).not.toBe("open");
        const alerts = gate.log
            .read(0, 10_000)
            .filter((e) => e.type === "alert.raised")
            .map((e) => e.data.code);
        expect(alerts).toContain("FOUR_EYES_PENDING");
        // The same officer cannot approve their own request.
        await expect(gate.officerAction({ ...release, officerId: "officer-1", role: "supervisor" })).rejects.toThrow();
        await gate.officerAction({ ...release, officerId: "supervisor-7", role: "supervisor" });
        await eventually(
            () => (plc.state("L1").barrier === "open" ? true : undefined),
            10_000,
            "barrier open after four eyes",
        );
        const timeline = (
            gate.passages.get(passage.passageId)!.record.timeline as { step: string; officerId?: string }[]
        ).map((entry) => entry.step);
        expect(timeline).toEqual(expect.arrayContaining(["OPENED", "DECIDED INSPECT", "OFFICER", "COMMAND"]));
        const actions = gate.log.read(0, 10_000).filter((e) => e.type === "officer.action");
        expect(actions.map((e) => e.data.officerId)).toEqual(expect.arrayContaining(["officer-1", "supervisor-7"]));
    });

    it("ends a truck an officer held before its seal reported TAMPERED in inspection, and every record says so", async () => {
        const id = await truckWaiting("15C-123.45", "15C12345");
        expect(await act(id, "hold", "DOCS_MISSING")).toBe(200);
        // The lane tile shows the hold as soon as it is made, before any decision.
        const lanes = (await (await apiSession(gate, "officer").fetch("/api/v1/lanes")).json()) as {
            lanes: { id: string; passage?: { id: string; officerHold?: string; decision?: object } }[];
        };
        expect(lanes.lanes.find((lane) => lane.id === "L1")?.passage).toMatchObject({ id, officerHold: "HOLD" });
        await seal("TAMPERED");
        await scan(GREEN);
        await eventually(() => gate.passages.get(id)?.state === "INSPECTION" || undefined, 10_000, "inspection");
        expect(gate.passages.get(id)?.decision).toBe("INSPECT");
        const closed = await turnsBack(id);
        expect(closed).toMatchObject({ outcome: "diverted", decision: { outcome: "INSPECT" } });
        expect(closed.decision?.automatic).toBeUndefined();
        const summaries = closed.timeline.map((entry) => entry.summary);
        expect(summaries).toContain("decided INSPECT");
        expect(summaries).toContain("completed: diverted");
        expect(summaries).not.toContain("completed: turned-back");
        const alerts = await alertCodesWhen(id, (list) => list.includes("PASSAGE_INSPECT"));
        expect(alerts).not.toContain("PASSAGE_HELD");
        expect(plc.state("L1").barrier).not.toBe("open");
    });

    it("keeps an officer's hold through a reload, and a later hold leaves a tampered truck in inspection", async () => {
        const id = await truckWaiting("15C-123.45", "15C12345");
        expect(await act(id, "hold", "DOCS_MISSING")).toBe(200);
        const reloaded = await gate.reload(
            configWith("rules: { requiredReads: [plate, declaration], weightTolerancePct: 7 }"),
        );
        expect(reloaded.applied).toEqual(expect.arrayContaining([expect.stringMatching(/^rules/)]));
        await seal("TAMPERED");
        await scan(GREEN);
        await eventually(() => gate.passages.get(id)?.state === "INSPECTION" || undefined, 10_000, "inspection");
        await gate.reload(configWith("rules: { requiredReads: [plate, declaration] }"));
        // Late: a hold of a truck in inspection leaves it there (applied, recorded, not weakened).
        expect(await act(id, "hold", "DOCS_MISSING")).toBe(200);
        await gate.lanes.settled();
        expect(gate.passages.get(id)?.state).toBe("INSPECTION");
        const closed = await turnsBack(id);
        expect(closed).toMatchObject({ outcome: "diverted", decision: { outcome: "INSPECT" } });
        expect(closed.timeline.filter((entry) => entry.type === "OFFICER")).toHaveLength(2);
        const alerts = await alertCodesWhen(id, (list) => list.includes("PASSAGE_INSPECT"));
        expect(alerts).not.toContain("PASSAGE_HELD");
    });

    it("publishes the lane state retained for the display boards", async () => {
        const client = mqtt.connect(gate.addresses.mqtt!, {
            username: "seal-1",
            password: "seal-password",
            reconnectPeriod: 0,
        });
        await new Promise<void>((resolve, reject) => {
            client.once("connect", () => resolve());
            client.once("error", reject);
        });
        const state = new Promise<{ laneId: string; state: string }>((resolve) =>
            client.on("message", (_topic, payload) => resolve(JSON.parse(String(payload)))),
        );
        await client.subscribeAsync("gate/T01/lanes/L1/state", { qos: 1 });
        expect(await state).toMatchObject({ laneId: "L1", state: expect.any(String) });
        await client.endAsync();
    });
});
