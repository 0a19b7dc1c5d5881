/**
 * The inspection case on a real gate (issue 18 part 2): a RED truck's INSPECT decision opens a case; the
 * X-ray simulator's suspicious package (real folder) lands on it and adds the physical examination; the
 * exit camera's read of the truck is refused while the case is open (event and alert); the case cannot be
 * cleared before the examination, is cleared with four eyes through the API (roles, CSRF), and the exit
 * then releases the truck. Every step is an inspection.* event in the hash chain, queued for central.
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LanePlcSimulator } from "../../simulators/lane-plc.ts";
import { RpmSimulator } from "../../simulators/rpm.ts";
import { XraySimulator } from "../../simulators/xray.ts";
import type { GateEvent } from "../../src/core/events.ts";
import type { Gate } from "../../src/gate.ts";
import type { InspectionCase } from "../../src/inspection/caseModel.ts";
import { apiSession } from "../helpers/api.ts";
import { eventually, startGate, testConfig } from "../helpers/gate.ts";
import { startLanePlc } from "../helpers/lanes.ts";
import { declarationScanDraft, plateDraft } from "../helpers/readings.ts";
import { tempDir } from "../helpers/tmp.ts";

const WAIT_MS = 30_000;
const RED = "100001234540";
const GREEN = "101234567820";
const dir = tempDir();
const xrayFolder = join(dir.path, "xray-1");
const rpmFolder = join(dir.path, "rpm-l1");
let plc: LanePlcSimulator;
let gate: Gate;

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
  - id: X1
    direction: OUT
    devices:
      - { id: cam-exit, model: dahua-itsapi-anpr, role: front, auth: { username: cam-exit, password: camera-password } }
`,
            `rules: { requiredReads: [plate, declaration] }
inspection:
    devices:
        - { id: xray-1, model: nii-scan-package, folder: ${JSON.stringify(xrayFolder)}, pollMs: 100, settleMs: 150 }
        - { id: rpm-l1, model: n42-rpm, lane: L1, folder: ${JSON.stringify(rpmFolder)}, pollMs: 100, settleMs: 150 }
    exits:
        - { id: exit-1, camera: cam-exit }`,
        ),
    );
    gate.clearance.importData(
        {
            version: "t-1",
            declarations: [
                {
                    number: RED,
                    type: "10",
                    channel: "RED",
                    status: "CLEARED",
                    declaredPlates: ["15C-888.10"],
                    containers: [],
                    version: 1,
                },
                {
                    number: GREEN,
                    type: "10",
                    channel: "GREEN",
                    status: "CLEARED",
                    declaredPlates: ["29C-123.45"],
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
}, 60_000);

afterAll(async () => {
    await gate?.stop();
    await plc?.stop();
    dir.cleanup();
});

const inspectionEvents = (): GateEvent[] =>
    gate.log.read(0, 100_000).filter((event) => event.type.startsWith("inspection."));

/** The case as the API gives it; undefined for a 404. */
async function findCase(id: string): Promise<InspectionCase | undefined> {
    const response = await apiSession(gate, "officer", "lan").fetch(`/api/v1/inspections/${id}`);
    if (response.status === 404) return undefined;
    expect(response.status).toBe(200);
    return ((await response.json()) as { inspection: InspectionCase }).inspection;
}

async function caseNow(id: string): Promise<InspectionCase> {
    const found = await findCase(id);
    if (!found) throw new Error(`no case ${id}`);
    return found;
}

async function act(user: { role: "officer" | "supervisor"; name: string }, id: string, body: object) {
    const response = await apiSession(gate, user.role, user.name).fetch(`/api/v1/inspections/${id}/actions`, {
        method: "POST",
        body: JSON.stringify(body),
    });
    return {
        status: response.status,
        body: (await response.json()) as { error?: string; status?: string; inspection?: InspectionCase },
    };
}

/** The exit camera reads the truck's plate. */
const atExit = () => gate.log.append({ laneId: "X1", ...plateDraft("cam-exit", "15C-888.10", "15C88810") });

describe("an inspection case on a real gate", () => {
    it("RED truck → case → suspicious X-ray → examination required → exit refused → cleared with four eyes → exit released", async () => {
        // The RED truck at lane 1: decided INSPECT, the case opens with the X-ray to do.
        plc.vehicleArrives("L1");
        await gate.log.append({ laneId: "L1", ...plateDraft("cam-1", "15C-888.10", "15C88810") });
        await gate.log.append({ laneId: "L1", ...declarationScanDraft("scan-1", RED) });
        const officer = apiSession(gate, "officer", "lan");
        const opened = await eventually(
            async () => {
                const response = await officer.fetch("/api/v1/inspections?status=open");
                const { inspections } = (await response.json()) as { inspections: InspectionCase[] };
                return inspections[0];
            },
            WAIT_MS,
            "the case opened",
        );
        expect(opened).toMatchObject({
            status: "open",
            triggers: ["CHANNEL_RED"],
            plates: ["15C88810"],
            declarations: [RED],
            required: ["xray"],
            fourEyes: true,
        });
        expect(gate.passages.get(opened.passageId)?.decision).toBe("INSPECT");

        // The scanner's analyst marks the scan suspicious: the physical examination becomes required.
        const xray = new XraySimulator({ folder: xrayFolder, seed: 18 });
        const scan = await xray.scan({ result: "suspicious", plates: ["15C-888.10"] });
        const scanned = await eventually(
            async () => {
                const c = await caseNow(opened.caseId);
                return c.done.includes("xray") ? c : undefined;
            },
            WAIT_MS,
            "the scan on the case",
        );
        expect(scanned.required).toEqual(["xray", "physical"]);
        const result = scanned.entries.find((entry) => entry.kind === "xray");
        expect(result).toMatchObject({ result: "suspicious" });
        expect(result?.images).toHaveLength(scan.images.length);

        // At the exit while the case is open: refused, recorded, alerted.
        await atExit();
        const refused = await eventually(
            () =>
                inspectionEvents().find((event) => event.type === "inspection.exit" && event.data.result === "refused"),
            WAIT_MS,
            "the exit refused",
        );
        expect(refused.data).toMatchObject({ caseId: opened.caseId, exitId: "exit-1", status: "open" });
        const alert = await eventually(
            () =>
                gate.log
                    .read(0, 100_000)
                    .find((event) => event.type === "alert.raised" && event.data.code === "INSPECTION_EXIT_REFUSED"),
            WAIT_MS,
            "the exit alert",
        );
        expect(alert.data).toMatchObject({ severity: "critical", caseId: opened.caseId, passageId: opened.passageId });

        // Not cleared before the examination; the API answers with the reason.
        const early = await act({ role: "officer", name: "lan" }, opened.caseId, {
            action: "clear",
            reasonCode: "INSPECTED_OK",
        });
        expect(early).toMatchObject({ status: 409, body: { error: "INSPECTION_STEPS_MISSING" } });
        // A write without the CSRF token is refused.
        const noCsrf = await fetch(`${gate.addresses.http}/api/v1/inspections/${opened.caseId}/actions`, {
            method: "POST",
            headers: { cookie: officer.cookie, "content-type": "application/json" },
            body: JSON.stringify({ action: "assign", assignee: "lan" }),
        });
        expect(noCsrf.status).toBe(403);
        // An auditor may read, not act.
        const auditor = apiSession(gate, "auditor");
        expect((await auditor.fetch(`/api/v1/inspections/${opened.caseId}`)).status).toBe(200);
        expect(
            (
                await auditor.fetch(`/api/v1/inspections/${opened.caseId}/actions`, {
                    method: "POST",
                    body: JSON.stringify({ action: "assign", assignee: "x" }),
                })
            ).status,
        ).toBe(403);

        expect(
            (await act({ role: "supervisor", name: "hoa" }, opened.caseId, { action: "assign", assignee: "lan" }))
                .status,
        ).toBe(200);
        const examined = await act({ role: "officer", name: "lan" }, opened.caseId, {
            action: "finding",
            step: "physical",
            text: "dense mass is machine parts, as declared",
        });
        expect(examined.status).toBe(200);
        expect(
            (await act({ role: "officer", name: "lan" }, opened.caseId, { action: "seal", seals: ["VNC-0200002"] }))
                .status,
        ).toBe(200);
        expect(
            (
                await act({ role: "officer", name: "lan" }, opened.caseId, {
                    action: "clear",
                    reasonCode: "CONTRABAND_FOUND",
                })
            ).status,
        ).toBe(400);

        // Four eyes: the officer's clearance waits; the same person cannot approve it; a supervisor does.
        const requested = await act({ role: "officer", name: "lan" }, opened.caseId, {
            action: "clear",
            reasonCode: "INSPECTED_OK",
        });
        expect(requested).toMatchObject({ status: 202, body: { status: "awaitingApproval" } });
        const self = await act({ role: "officer", name: "lan" }, opened.caseId, {
            action: "clear",
            reasonCode: "INSPECTED_OK",
        });
        expect(self).toMatchObject({ status: 409, body: { error: "FOUR_EYES" } });
        const approved = await act({ role: "supervisor", name: "hoa" }, opened.caseId, {
            action: "clear",
            reasonCode: "INSPECTED_OK",
        });
        expect(approved).toMatchObject({ status: 200, body: { status: "applied", inspection: { status: "cleared" } } });
        expect(approved.body.inspection?.closed).toMatchObject({ by: "hoa", requestedBy: "lan", outcome: "cleared" });

        // Back at the exit: released.
        await atExit();
        const released = await eventually(
            () =>
                inspectionEvents().find(
                    (event) => event.type === "inspection.exit" && event.data.result === "released",
                ),
            WAIT_MS,
            "the exit release",
        );
        expect(released.data).toMatchObject({ caseId: opened.caseId, status: "cleared" });

        // Every step an event of the chain, each queued for central.
        const types = inspectionEvents().map((event) => event.type);
        expect(types).toEqual([
            "inspection.opened",
            "inspection.result",
            "inspection.exit",
            "inspection.assigned",
            "inspection.finding",
            "inspection.sealed",
            "inspection.release-requested",
            "inspection.closed",
            "inspection.exit",
        ]);
        const queued = gate.database
            .prepare("SELECT seq FROM outbox WHERE seq IN (SELECT seq FROM events WHERE type LIKE 'inspection.%')")
            .all();
        expect(queued).toHaveLength(types.length);
        const closed = await officer.fetch("/api/v1/inspections?status=closed");
        expect(((await closed.json()) as { inspections: InspectionCase[] }).inspections.map((c) => c.caseId)).toEqual([
            opened.caseId,
        ]);
    }, 120_000);

    it("a genuine RPM alarm sends a GREEN truck to inspection (outcome order), a NORM nuisance does not", async () => {
        // The red truck of the test before leaves the lane (turns back to the inspection area).
        plc.setLoop("L1", "entry", false);
        await eventually(() => gate.lanes.laneState("L1") === "IDLE" || undefined, WAIT_MS, "lane L1 idle");
        const rpm = new RpmSimulator({ folder: rpmFolder, seed: 5 });
        // A NORM nuisance on the approach: recorded, the truck is not diverted.
        plc.vehicleArrives("L1");
        await gate.log.append({ laneId: "L1", ...plateDraft("cam-1", "29C-123.45", "29C12345") });
        await rpm.pass("norm");
        await eventually(
            () => gate.log.read(0, 100_000).find((event) => event.type === "reading.radiation"),
            WAIT_MS,
            "the nuisance reading",
        );
        await gate.log.append({ laneId: "L1", ...declarationScanDraft("scan-1", GREEN) });
        const green = await eventually(
            () =>
                gate.passages.list({ laneId: "L1", limit: 1 }).find((p) => p.plates.includes("29C12345") && p.decision),
            WAIT_MS,
            "the green truck decided",
        );
        expect(green.decision).toBe("RELEASE");
        await eventually(() => (plc.state("L1").barrier === "open" ? true : undefined), WAIT_MS, "barrier open");
        plc.vehicleUnderBoom("L1", true);
        await plc.vehicleLeaves("L1", 100);
        await eventually(() => gate.lanes.laneState("L1") === "IDLE" || undefined, WAIT_MS, "lane L1 idle again");

        // A genuine alarm while the next green truck is identified: INSPECT whatever its channel, a case opens.
        plc.vehicleArrives("L1");
        await gate.log.append({ laneId: "L1", ...plateDraft("cam-1", "29C-123.45", "29C12345") });
        await eventually(() => gate.lanes.snapshot("L1")?.passage, WAIT_MS, "the second passage");
        await rpm.pass("alarm", { neutron: true });
        await eventually(
            () =>
                gate.log.read(0, 100_000).find((e) => e.type === "officer.action" && e.data.reasonCode === "RPM_ALARM"),
            WAIT_MS,
            "the RPM divert",
        );
        await gate.log.append({ laneId: "L1", ...declarationScanDraft("scan-1", GREEN) });
        const diverted = await eventually(
            () =>
                gate.passages
                    .list({ laneId: "L1", limit: 1 })
                    .find((p) => p.passageId !== green.passageId && p.decision !== null),
            WAIT_MS,
            "the second green truck decided",
        );
        expect(diverted.decision).toBe("RELEASE");
        expect(gate.passages.get(diverted.passageId)?.state).toBe("INSPECTION");
        expect(plc.state("L1").barrier).not.toBe("open");
        const c = await eventually(
            async () => {
                const found = await findCase(`INS-${diverted.passageId}`);
                return found?.entries.some((entry) => entry.kind === "radiation") ? found : undefined;
            },
            WAIT_MS,
            "the RPM case with its reading",
        );
        expect(c).toMatchObject({ triggers: ["RPM_ALARM"], required: ["xray", "radiation"], fourEyes: true });
        expect(c.entries.filter((entry) => entry.kind === "radiation").map((entry) => entry.result)).toEqual(["alarm"]);
        // The nuisance of the first truck opened no case.
        expect(await findCase(`INS-${green.passageId}`)).toBeUndefined();
    }, 120_000);

    it("a truck refused at the exit and sent to inspection again is refused for its new case too, within the minute", async () => {
        const exitResults = (caseId: string) =>
            inspectionEvents()
                .filter((event) => event.type === "inspection.exit" && event.data.caseId === caseId)
                .map((event) => event.data.result);
        const atExitGreen = () =>
            gate.log.append({ laneId: "X1", ...plateDraft("cam-exit", "29C-123.45", "29C12345") });
        // The RPM truck of the test before turns back to the inspection area, then tries the exit: refused.
        plc.setLoop("L1", "entry", false);
        await eventually(() => gate.lanes.laneState("L1") === "IDLE" || undefined, WAIT_MS, "lane L1 idle");
        const firstCase = await eventually(
            () => gate.inspections.list({ status: "open", limit: 50 }).find((c) => c.plates.includes("29C12345")),
            WAIT_MS,
            "the RPM truck's case",
        );
        await atExitGreen();
        await eventually(() => exitResults(firstCase.caseId).includes("refused") || undefined, WAIT_MS, "refused");

        // It comes through lane 1 again and the RPM alarms again: a second case for the same truck.
        const rpm = new RpmSimulator({ folder: rpmFolder, seed: 6 });
        plc.vehicleArrives("L1");
        await gate.log.append({ laneId: "L1", ...plateDraft("cam-1", "29C-123.45", "29C12345") });
        const passage = await eventually(() => gate.lanes.snapshot("L1")?.passage, WAIT_MS, "the third passage");
        await rpm.pass("alarm");
        await gate.log.append({ laneId: "L1", ...declarationScanDraft("scan-1", GREEN) });
        const secondCase = await eventually(
            async () => findCase(`INS-${passage.passageId}`),
            WAIT_MS,
            "the second case of the truck",
        );
        expect(secondCase.caseId).not.toBe(firstCase.caseId);

        // Back at the exit seconds after its first refusal: refused for the new case as well, and alerted.
        await atExitGreen();
        await eventually(
            () => exitResults(secondCase.caseId).includes("refused") || undefined,
            WAIT_MS,
            "refused for the second case",
        );
        plc.setLoop("L1", "entry", false);
    }, 120_000);
});
