/**
 * The truck's whole visit on a real gate (issue 19): pre-arrival records through the API (roles, CSRF,
 * every error by key path, no personal data in the audit log); the yard entry camera's read opens the visit,
 * matched to its pre-arrival despite a misread; a free lane calls it forward with a message on the real
 * embedded broker (a call receiver's subscribe-only login); the lane passage, decision, release and exit
 * point are its stages, the exit closes it; an unannounced truck that does not come is a no-show and is
 * called again; waiting trucks are reordered by an officer (audited); dwell limits raise alerts.
 */

import { join } from "node:path";
import mqtt from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LanePlcSimulator } from "../../simulators/lane-plc.ts";
import { XraySimulator } from "../../simulators/xray.ts";
import type { GateConfig } from "../../src/config/types.ts";
import type { GateEvent } from "../../src/core/events.ts";
import type { Gate } from "../../src/gate.ts";
import type { InspectionCase } from "../../src/inspection/caseModel.ts";
import { PreArrivalStore } from "../../src/yard/preArrival.ts";
import type { PreArrival, VisitSummary, YardView } from "../../src/yard/types.ts";
import { apiSession } from "../helpers/api.ts";
import { eventually, startGate, testConfig } from "../helpers/gate.ts";
import { setLoopSeen, startLanePlc } from "../helpers/lanes.ts";
import { declarationScanDraft, plateDraft } from "../helpers/readings.ts";
import { tempDir } from "../helpers/tmp.ts";

const WAIT_MS = 30_000;
const GREEN = "101234567820";
const RED = "100001234540";
const OFFSET = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}\+07:00$/;
const dir = tempDir();
const xrayFolder = join(dir.path, "xray-1");
let config: GateConfig;
let plc: LanePlcSimulator;
let gate: Gate;
let receiver: mqtt.MqttClient;
const calls: Record<string, unknown>[] = [];

const PRE_ARRIVAL: PreArrival = {
    preArrivalId: "PA-GREEN-1",
    tractorPlate: "29C-123.45",
    declarations: [GREEN],
    goodsClass: "general",
    laneGroup: "import",
    transportPermit: "VN-CN 0042",
    driver: { name: "Nguyễn Văn An", phone: "+84 912 345 678" },
    version: 1,
};

beforeAll(async () => {
    plc = await startLanePlc(dir.path, ["L1"]);
    config = testConfig(
        dir.path,
        `  - id: Y1
    devices:
      - { id: cam-yard, model: dahua-itsapi-anpr, role: front, auth: { username: cam-yard, password: camera-password } }
  - id: L1
    devices:
      - { id: cam-1, model: dahua-itsapi-anpr, role: front, auth: { username: cam-1, password: camera-password } }
      - { id: scan-1, model: serial-barcode-scanner, address: "tcp://127.0.0.1:9" }
      - { id: plc-1, model: lane-plc-opcua, address: "${plc.endpointUrl}", plc: { lanePrefix: L1 } }
  - id: X1
    direction: OUT
    devices:
      - { id: cam-exit, model: dahua-itsapi-anpr, role: front, auth: { username: cam-exit, password: camera-password } }
`,
        `rules: { requiredReads: [plate, declaration] }
inspection:
    devices:
        - { id: xray-1, model: nii-scan-package, folder: ${JSON.stringify(xrayFolder)}, pollMs: 100, settleMs: 150 }
    exits:
        - { id: exit-1, camera: cam-exit }
yard:
    entries:
        - { id: entry-1, camera: cam-yard }
    laneGroups: { L1: import }
    noShowMs: 6000
    dwell: { warnHours: 0.001, limitHours: 0.002 }
    callReceivers:
        - { id: sms-1, auth: { username: sms-gateway, password: sms-gateway-password } }`,
    );
    gate = await startGate(config);
    gate.clearance.importData(
        {
            version: "t-1",
            declarations: [
                {
                    number: GREEN,
                    type: "10",
                    channel: "GREEN",
                    status: "CLEARED",
                    declaredPlates: ["29C-123.45"],
                    containers: [],
                    version: 1,
                },
                {
                    number: RED,
                    type: "10",
                    channel: "RED",
                    status: "CLEARED",
                    declaredPlates: ["15C-888.10"],
                    containers: [],
                    version: 1,
                },
            ] as never, // the cache's import takes central's JSON shape; these are its fields
            watchList: [],
        },
        Date.now(),
    );
    gate.clearance.setVersion("t-1", Date.now());
    await eventually(() => gate.runtime("plc-1")?.health().status === "online" || undefined, WAIT_MS, "PLC session");
    receiver = mqtt.connect(gate.addresses.mqtt as string, {
        username: "sms-gateway",
        password: "sms-gateway-password",
        reconnectPeriod: 0,
    });
    await new Promise<void>((resolve, reject) => {
        receiver.once("connect", () => resolve());
        receiver.once("error", reject);
    });
    receiver.on("message", (_topic, payload) => calls.push(JSON.parse(payload.toString()) as Record<string, unknown>));
    const granted = await receiver.subscribeAsync("gate/T01/yard/calls", { qos: 1 });
    expect(granted[0]?.qos).toBe(1);
}, 60_000);

afterAll(async () => {
    await receiver?.endAsync();
    await gate?.stop();
    await plc?.stop();
    dir.cleanup();
});

const officer = () => apiSession(gate, "officer", "lan");
const visitEvents = (): GateEvent[] => gate.log.read(0, 100_000).filter((event) => event.type.startsWith("visit."));

async function visits(query = ""): Promise<VisitSummary[]> {
    const response = await officer().fetch(`/api/v1/visits${query}`);
    expect(response.status).toBe(200);
    return ((await response.json()) as { visits: VisitSummary[] }).visits;
}

async function visitOf(plate: string): Promise<VisitSummary | undefined> {
    return (await visits(`?plate=${encodeURIComponent(plate)}`))[0];
}

async function yardView(query = ""): Promise<YardView> {
    const response = await officer().fetch(`/api/v1/yard${query}`);
    expect(response.status).toBe(200);
    return (await response.json()) as YardView;
}

const atYard = (text: string, normalized: string) =>
    gate.log.append({ laneId: "Y1", ...plateDraft("cam-yard", text, normalized) });

describe("the truck's visit on a real gate", () => {
    it("pre-arrivals come in through the API: supervisors only, all or nothing with every error, no personal data audited", async () => {
        const supervisor = apiSession(gate, "supervisor", "sup");
        const refused = await officer().fetch("/api/v1/prearrivals", {
            method: "POST",
            body: JSON.stringify({ preArrivals: [PRE_ARRIVAL] }),
        });
        expect(refused.status).toBe(403);
        const invalid = await supervisor.fetch("/api/v1/prearrivals", {
            method: "POST",
            body: JSON.stringify({
                preArrivals: [PRE_ARRIVAL, { ...PRE_ARRIVAL, preArrivalId: "PA-2", goodsClass: "fruit" }],
            }),
        });
        expect(invalid.status).toBe(400);
        expect(await invalid.json()).toMatchObject({
            error: "PREARRIVAL_INVALID",
            details: ["preArrivals[1].goodsClass: must be one of perishable, general"],
        });
        const accepted = await supervisor.fetch("/api/v1/prearrivals", {
            method: "POST",
            body: JSON.stringify({ preArrivals: [PRE_ARRIVAL] }),
        });
        expect(accepted.status).toBe(200);
        expect(await accepted.json()).toEqual({ written: 1, skippedOlder: 0 });
        const audit = gate.database
            .prepare("SELECT outcome, detail FROM audit_log WHERE action = 'prearrival.import' ORDER BY seq")
            .all() as { outcome: string; detail: string }[];
        expect(audit.map((entry) => entry.outcome)).toEqual(["failed", "ok"]);
        expect(JSON.stringify(audit)).toContain("PA-GREEN-1");
        expect(JSON.stringify(audit)).not.toMatch(/Nguyễn|912/);
    });

    it("arrival (matched despite a misread) → called to the free lane on MQTT → lane → decided → released → exit closes it", async () => {
        // The yard camera reads 29C-I23.45: I for 1, a misread of the announced 29C-123.45.
        await atYard("29C-I23.45", "29CI2345");
        const called = await eventually(
            async () => {
                const visit = await visitOf("29C12345");
                return visit?.state === "CALLED" ? visit : undefined;
            },
            WAIT_MS,
            "the announced truck called",
        );
        expect(called).toMatchObject({
            preArrivalId: "PA-GREEN-1",
            laneGroup: "import",
            declarations: [GREEN],
            laneId: "L1",
            noShows: 0,
        });
        const arrived = visitEvents().find((event) => event.type === "visit.arrived");
        expect(arrived?.data).toMatchObject({ match: "misread", plateRead: "29CI2345", entryId: "entry-1" });
        expect(arrived?.data.atMono).toEqual(expect.any(Number));
        expect(JSON.stringify(arrived?.data)).not.toMatch(/Nguyễn|912/);
        const message = await eventually(
            () => calls.find((call) => call.visitId === called.visitId),
            WAIT_MS,
            "the call",
        );
        expect(message).toMatchObject({ v: 1, gate: "T01", laneId: "L1", tractorPlate: "29C12345", noShows: 0 });
        // A second read of the same truck in the yard opens nothing.
        await atYard("29C-123.45", "29C12345");

        // The truck comes to lane 1: its passage is the visit's lane entry; GREEN and cleared → released.
        await setLoopSeen(gate, plc, "L1", "entry", true);
        await gate.log.append({ laneId: "L1", ...plateDraft("cam-1", "29C-123.45", "29C12345") });
        await gate.log.append({ laneId: "L1", ...declarationScanDraft("scan-1", GREEN) });
        const released = await eventually(
            async () => {
                const visit = await visitOf("29C12345");
                return visit?.state === "RELEASED" ? visit : undefined;
            },
            WAIT_MS,
            "the visit released",
        );
        expect(released).toMatchObject({ decision: "RELEASE", channel: "GREEN", laneId: "L1" });
        expect(released.passageIds).toHaveLength(1);
        plc.vehicleUnderBoom("L1", true);
        await plc.vehicleLeaves("L1", 300);

        // The exit point's camera reads it: the visit is closed, every stage timed with the gate's offset.
        await gate.log.append({ laneId: "X1", ...plateDraft("cam-exit", "29C-123.45", "29C12345") });
        const closed = await eventually(
            async () => {
                const visit = await visitOf("29C12345");
                return visit?.state === "CLOSED" ? visit : undefined;
            },
            WAIT_MS,
            "the visit closed by the exit",
        );
        expect(Object.keys(closed.stages)).toEqual([
            "arrived",
            "called",
            "laneEntered",
            "decided",
            "released",
            "exited",
        ]);
        for (const at of Object.values(closed.stages)) expect(at).toMatch(OFFSET);
        const byId = await officer().fetch(`/api/v1/visits/${closed.visitId}`);
        expect(((await byId.json()) as { visit: VisitSummary }).visit).toEqual({
            ...closed,
            dwellMs: expect.any(Number),
        });
        // Called (again, should a loaded machine have made it a no-show on its way) only ever to lane 1.
        const calledTo = visitEvents().filter((e) => e.data.visitId === closed.visitId && e.type === "visit.called");
        expect(new Set(calledTo.map((e) => e.data.laneId))).toEqual(new Set(["L1"]));
    });

    it("an unannounced truck that does not come is a no-show, back in the queue, and called again", async () => {
        await eventually(() => gate.lanes.snapshot("L1")?.state === "IDLE" || undefined, WAIT_MS, "lane 1 idle");
        await atYard("51C-999.99", "51C99999");
        const again = await eventually(
            async () => {
                const visit = await visitOf("51C99999");
                return visit?.state === "CALLED" && visit.noShows === 1 ? visit : undefined;
            },
            WAIT_MS,
            "the no-show called again",
        );
        expect(again).toMatchObject({ laneGroup: "import", laneId: "L1" });
        expect(again).not.toHaveProperty("preArrivalId");
        const types = visitEvents()
            .filter((e) => e.data.visitId === again.visitId && e.type !== "visit.dwell")
            .map((e) => e.type);
        expect(types.slice(0, 4)).toEqual(["visit.arrived", "visit.called", "visit.no-show", "visit.called"]);
        await eventually(
            () => calls.find((call) => call.visitId === again.visitId && call.noShows === 1),
            WAIT_MS,
            "the second call on MQTT",
        );
    });

    it("waiting trucks keep their order; an officer moves one with a reason (audited); dwell limits raise alerts", async () => {
        const supervisor = apiSession(gate, "supervisor", "sup");
        // The empty-container group has no lane here: its trucks wait.
        const empty = (id: string, plate: string) => ({
            preArrivalId: id,
            tractorPlate: plate,
            declarations: [],
            goodsClass: "general",
            laneGroup: "empty",
            version: 1,
        });
        const posted = await supervisor.fetch("/api/v1/prearrivals", {
            method: "POST",
            body: JSON.stringify({ preArrivals: [empty("PA-E1", "15C-111.11"), empty("PA-E2", "15C-222.22")] }),
        });
        expect(posted.status).toBe(200);
        await atYard("15C-111.11", "15C11111");
        await eventually(async () => (await visitOf("15C11111"))?.queuePosition === 1, WAIT_MS, "first waiting");
        await atYard("15C-222.22", "15C22222");
        const second = await eventually(async () => visitOf("15C22222"), WAIT_MS, "second waiting");
        expect(second.queuePosition).toBe(2);

        const move = (as: ReturnType<typeof apiSession>, body: object) =>
            as.fetch("/api/v1/yard/reorder", { method: "POST", body: JSON.stringify(body) });
        const technician = apiSession(gate, "technician", "tech");
        expect(
            (await move(technician, { visitId: second.visitId, position: 1, reasonCode: "LIVE_ANIMALS" })).status,
        ).toBe(403);
        expect((await move(officer(), { visitId: second.visitId, position: 1, reasonCode: "NO_REASON" })).status).toBe(
            400,
        );
        const moved = await move(officer(), { visitId: second.visitId, position: 1, reasonCode: "LIVE_ANIMALS" });
        expect(moved.status).toBe(200);
        expect(((await moved.json()) as { visit: VisitSummary }).visit).toMatchObject({ queuePosition: 1 });
        const view = await yardView();
        const group = view.groups.find((g) => g.laneGroup === "empty");
        expect(group?.queue.map((v) => v.tractorPlate)).toEqual(["15C22222", "15C11111"]);
        expect(group?.waiting).toBe(2);
        // The page asks for the head of each queue and is told how many wait behind it.
        const head = (await yardView("?limit=1")).groups.find((g) => g.laneGroup === "empty");
        expect(head?.queue.map((v) => [v.tractorPlate, v.queuePosition])).toEqual([["15C22222", 1]]);
        expect(head?.waiting).toBe(2);
        for (const bad of ["?limit=0", "?limit=1001", "?limit=x", "?other=1"])
            expect((await officer().fetch(`/api/v1/yard${bad}`)).status, bad).toBe(400);
        expect(view.groups.find((g) => g.laneGroup === "import")?.lanes.map((l) => l.laneId)).toEqual(["L1"]);
        const closedOne = (await visitOf("29C12345")) as VisitSummary;
        const notQueued = await move(officer(), {
            visitId: closedOne.visitId,
            position: 1,
            reasonCode: "LIVE_ANIMALS",
        });
        expect(notQueued.status).toBe(409);
        expect(((await notQueued.json()) as { error: string }).error).toBe("VISIT_NOT_QUEUED");
        const reordered = visitEvents().find((e) => e.type === "visit.reordered");
        expect(reordered?.data).toMatchObject({ visitId: second.visitId, reasonCode: "LIVE_ANIMALS", by: "lan" });
        const audit = gate.database
            .prepare("SELECT outcome, target FROM audit_log WHERE action = 'yard.reorder' ORDER BY seq")
            .all();
        expect(audit).toContainEqual({ outcome: "ok", target: `visit:${second.visitId}` });

        // Dwell: 3.6 s to the warning and 7.2 s to the limit here (yard.dwell in hours).
        const alerts = await eventually(
            () => {
                const raised = gate.log
                    .read(0, 100_000)
                    .filter((e) => e.type === "alert.raised" && e.data.visitId === second.visitId)
                    .map((e) => e.data.code);
                return raised.length >= 2 ? raised : undefined;
            },
            WAIT_MS,
            "both dwell alerts",
        );
        expect(alerts).toEqual(["YARD_DWELL_APPROACHING", "YARD_DWELL_EXCEEDED"]);
        const warned = await yardView();
        expect(warned.dwellWarnings.map((v) => v.visitId)).toContain(second.visitId);
        expect(warned.dwellWarnings.every((v) => v.dwell === "exceeded" || v.dwell === "approaching")).toBe(true);
    });

    it("visits are filtered by state, group and arrival time; the time-release source reads them", async () => {
        expect((await visits("?state=CLOSED")).map((v) => v.tractorPlate)).toEqual(["29C12345"]);
        expect((await visits("?laneGroup=empty")).map((v) => v.tractorPlate).sort()).toEqual(["15C11111", "15C22222"]);
        const future = new Date(Date.now() + 3_600_000).toISOString();
        expect(await visits(`?from=${encodeURIComponent(future)}`)).toEqual([]);
        expect((await officer().fetch("/api/v1/visits?plate=%21%21")).status).toBe(400);
        // The time-release report reads the yard as its VisitSource: the visits and each queue change.
        const from = encodeURIComponent(new Date(Date.now() - 3_600_000).toISOString());
        const to = encodeURIComponent(new Date(Date.now() + 60_000).toISOString());
        const response = await officer().fetch(`/api/v1/reports/time-release?from=${from}&to=${to}`);
        expect(response.status).toBe(200);
        const report = (await response.json()) as { visits: number; queue: { laneGroup: string; length: number }[] };
        expect(report.visits).toBe((await visits("?limit=500")).length);
        const empty = report.queue.filter((sample) => sample.laneGroup === "empty").map((sample) => sample.length);
        expect(empty).toEqual([1, 2]);
        expect(report.queue.some((sample) => sample.laneGroup === "import" && sample.length === 0)).toBe(true);
    });

    it("a RED truck's inspection case is its stages: the exit refuses it while open, closes the visit once cleared", async () => {
        await atYard("15C-888.10", "15C88810");
        await eventually(async () => visitOf("15C88810"), WAIT_MS, "the RED truck's visit");
        // It drives to lane 1 (called or not): its passage is decided INSPECT and the case opens.
        await eventually(() => gate.lanes.snapshot("L1")?.state === "IDLE" || undefined, WAIT_MS, "lane 1 idle");
        await setLoopSeen(gate, plc, "L1", "entry", true);
        await gate.log.append({ laneId: "L1", ...plateDraft("cam-1", "15C-888.10", "15C88810") });
        await gate.log.append({ laneId: "L1", ...declarationScanDraft("scan-1", RED) });
        const inspected = await eventually(
            async () => {
                const visit = await visitOf("15C88810");
                return visit?.state === "INSPECTION" ? visit : undefined;
            },
            WAIT_MS,
            "the visit in inspection",
        );
        expect(inspected).toMatchObject({ decision: "INSPECT", channel: "RED", laneId: "L1" });
        const caseId = inspected.caseIds[0] as string;
        expect(caseId).toMatch(/^INS-/);
        plc.setLoop("L1", "entry", false);

        // At the exit with the case open: the inspection part refuses it; the visit stays open.
        const exitRead = () => gate.log.append({ laneId: "X1", ...plateDraft("cam-exit", "15C-888.10", "15C88810") });
        await exitRead();
        await eventually(
            () =>
                gate.log
                    .read(0, 100_000)
                    .some(
                        (e) => e.type === "inspection.exit" && e.data.caseId === caseId && e.data.result === "refused",
                    ) || undefined,
            WAIT_MS,
            "the exit refused",
        );
        expect((await visitOf("15C88810"))?.state).toBe("INSPECTION");

        // The X-ray is clear; the case is cleared with four eyes: the visit is released, then closed by the exit.
        await new XraySimulator({ folder: xrayFolder, seed: 19 }).scan({ result: "clear", plates: ["15C-888.10"] });
        await eventually(
            async () => {
                const response = await officer().fetch(`/api/v1/inspections/${caseId}`);
                const { inspection } = (await response.json()) as { inspection: InspectionCase };
                return inspection.done.includes("xray") || undefined;
            },
            WAIT_MS,
            "the scan on the case",
        );
        const clear = (as: ReturnType<typeof apiSession>) =>
            as.fetch(`/api/v1/inspections/${caseId}/actions`, {
                method: "POST",
                body: JSON.stringify({ action: "clear", reasonCode: "INSPECTED_OK" }),
            });
        expect((await clear(officer())).status).toBe(202);
        expect((await clear(apiSession(gate, "supervisor", "sup"))).status).toBe(200);
        const released = await eventually(
            async () => {
                const visit = await visitOf("15C88810");
                return visit?.state === "RELEASED" ? visit : undefined;
            },
            WAIT_MS,
            "the visit released by the cleared case",
        );
        expect(released.caseIds).toEqual([caseId]);
        await exitRead();
        const closed = await eventually(
            async () => {
                const visit = await visitOf("15C88810");
                return visit?.state === "CLOSED" ? visit : undefined;
            },
            WAIT_MS,
            "the visit closed by the exit",
        );
        for (const stage of ["laneEntered", "decided", "inspectionStarted", "inspectionEnded", "released", "exited"])
            expect(closed.stages, stage).toHaveProperty(stage);
        const order = [
            "arrived",
            "laneEntered",
            "decided",
            "inspectionStarted",
            "inspectionEnded",
            "released",
            "exited",
        ];
        const times = order.map((stage) => Date.parse(closed.stages[stage as keyof typeof closed.stages] ?? ""));
        expect([...times].sort((a, b) => a - b)).toEqual(times);
    });

    it("a restart resumes from the cursor: the visits are kept, nothing is folded or opened twice", async () => {
        const before = visitEvents().length;
        const kept = await visits("?limit=500");
        // A record received 40 days ago still holds its driver's name: the restarted yard drops it (30 days).
        new PreArrivalStore(gate.database).write(
            [{ ...PRE_ARRIVAL, preArrivalId: "PA-OLD" }],
            Date.now() - 40 * 86_400_000,
        );
        expect(new PreArrivalStore(gate.database).get("PA-OLD")?.driver).toBeDefined();
        await receiver.endAsync();
        await gate.stop();
        gate = await startGate(config);
        await eventually(
            () => new PreArrivalStore(gate.database).get("PA-OLD")?.driver === undefined || undefined,
            WAIT_MS,
            "the old driver data dropped",
        );
        expect(new PreArrivalStore(gate.database).get("PA-OLD")).toMatchObject({
            preArrivalId: "PA-OLD",
            tractorPlate: "29C-123.45",
        });
        const after = await visits("?limit=500");
        // The waiting and called trucks go on being called (no-shows) while this runs; the closed ones stand still.
        const closed = (list: VisitSummary[]) => list.filter((v) => v.state === "CLOSED");
        expect(after.map((v) => v.visitId)).toEqual(kept.map((v) => v.visitId));
        expect(closed(after)).toEqual(closed(kept).map((v) => ({ ...v, dwellMs: expect.any(Number) })));
        expect(closed(after)).toHaveLength(2);
        expect(visitEvents().filter((e) => e.type === "visit.arrived")).toHaveLength(kept.length);
        expect(visitEvents().length).toBeGreaterThanOrEqual(before);
        // The yard goes on: a new truck is taken in.
        await atYard("29C-555.55", "29C55555");
        await eventually(async () => visitOf("29C55555"), WAIT_MS, "a visit after the restart");
    });

    it("an officer ends a visit still in the yard with a reason (audited); one that reached a lane is not theirs to end", async () => {
        const waiting = await eventually(
            async () => {
                const visit = await visitOf("29C55555");
                return visit?.state === "QUEUED" || visit?.state === "CALLED" ? visit : undefined;
            },
            WAIT_MS,
            "the new truck in the yard",
        );
        const cancel = (as: ReturnType<typeof apiSession>, visitId: string, body: object) =>
            as.fetch(`/api/v1/visits/${visitId}/cancel`, { method: "POST", body: JSON.stringify(body) });
        const technician = apiSession(gate, "technician", "tech");
        expect((await cancel(technician, waiting.visitId, { reasonCode: "DRIVER_LEFT" })).status).toBe(403);
        expect((await cancel(officer(), waiting.visitId, { reasonCode: "BORED" })).status).toBe(400);
        expect((await cancel(officer(), waiting.visitId, {})).status).toBe(400);
        const closedOne = (await visits("?state=CLOSED"))[0] as VisitSummary;
        const refused = await cancel(officer(), closedOne.visitId, { reasonCode: "DRIVER_LEFT" });
        expect(refused.status).toBe(409);
        expect(((await refused.json()) as { error: string }).error).toBe("VISIT_NOT_CANCELLABLE");

        const ended = await cancel(officer(), waiting.visitId, { reasonCode: "DRIVER_LEFT" });
        expect(ended.status).toBe(200);
        expect(((await ended.json()) as { visit: VisitSummary }).visit.state).toBe("CANCELLED");
        expect((await visitOf("29C55555"))?.state).toBe("CANCELLED");
        const event = visitEvents().find((e) => e.type === "visit.cancelled" && e.data.visitId === waiting.visitId);
        expect(event?.data).toMatchObject({ reasonCode: "DRIVER_LEFT", by: "lan", role: "officer" });
        const audit = gate.database
            .prepare("SELECT outcome FROM audit_log WHERE action = 'visit.cancel' AND target = ? ORDER BY seq")
            .all(`visit:${waiting.visitId}`);
        expect(audit).toContainEqual({ outcome: "ok" });
        // Gone from the yard, and not cancelled twice.
        const view = await yardView();
        const shown = view.groups.flatMap((g) => [...g.queue, ...g.called]).map((v) => v.visitId);
        expect(shown).not.toContain(waiting.visitId);
        expect((await cancel(officer(), waiting.visitId, { reasonCode: "DRIVER_LEFT" })).status).toBe(409);
    });
});
