import mqtt from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LanePlcSimulator } from "../../simulators/lane-plc.ts";
import type { GateEventDraft } from "../../src/core/events.ts";
import type { Gate } from "../../src/gate.ts";
import { apiSession } from "../helpers/api.ts";
import { eventually, startGate, testConfig } from "../helpers/gate.ts";
import { startLanePlc } from "../helpers/lanes.ts";
import { declarationScanDraft, plateDraft } from "../helpers/readings.ts";
import { tempDir } from "../helpers/tmp.ts";

const dir = tempDir();
let plc: LanePlcSimulator;
let gate: Gate;

const RED = "100001234540";
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
      - { id: seal-1, model: eseal-mqtt-json, auth: { username: seal-1, password: seal-password } }
      - { id: plc-1, model: lane-plc-opcua, address: "${plc.endpointUrl}", plc: { lanePrefix: L1 } }
`,
            "rules: { requiredReads: [plate, declaration] }",
        ),
    );
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
