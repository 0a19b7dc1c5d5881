/**
 * The README's screenshots of the dashboard, in Vietnamese (the gate's default language), taken from a real
 * gate fed by the simulators at the control-room screen size (1366×768). Run once after a change of the
 * dashboard's look:
 *
 *     npx tsx test/e2e/screenshots.ts
 *
 * Writes docs/screenshots/lanes-board.png, passage-detail.png, approvals.png, devices.png, alerts.png, yard.png
 * and time-release.png.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { ulid } from "ulid";
import { catalogue, translate } from "../../src/i18n/format.ts";
import { eventually } from "../helpers/gate.ts";
import { tempDir } from "../helpers/tmp.ts";
import { launchChromium, loggedIn, startE2eGate, TRUCKS, truckArrives, USERS } from "./harness.ts";

const out = join(import.meta.dirname, "../../docs/screenshots");
mkdirSync(out, { recursive: true });
const dir = tempDir();
// A yard whose import queue feeds both lanes: the Yard and Time release pages have trucks to show.
const e2e = await startE2eGate(dir.path, ["L1", "L2"], {
    language: "vi",
    gateYaml: "yard: { laneGroups: { L1: import, L2: import }, queuePolicy: perishablesFirst }",
});
const MIN = 60_000;

/**
 * A morning at the yard: trucks that went through (arrival, call, lane, decision, release, exit; a red one
 * through the inspection area), then trucks waiting now, perishables among them.
 */
async function yardMorning(): Promise<void> {
    const append = (draft: Parameters<typeof e2e.gate.log.append>[0]) => e2e.gate.log.append(draft);
    const now = Date.now();
    const channels = ["GREEN", "GREEN", "YELLOW", "GREEN", "RED", "GREEN", "GREEN", "RED"];
    for (const [i, channel] of channels.entries()) {
        const visitId = `V-${ulid()}`;
        const laneId = i % 2 === 0 ? "L1" : "L2";
        let at = now - (170 - i * 18) * MIN;
        const next = (minutes: number) => (at += minutes * MIN);
        const stage = (minutes: number, data: Record<string, string>) =>
            append({ type: "visit.stage", occurredAt: next(minutes), data: { visitId, ...data } });
        const goodsClass = i % 3 === 0 ? "perishable" : "general";
        await append({
            type: "visit.arrived",
            occurredAt: at,
            data: { visitId, laneGroup: "export", goodsClass, tractorPlate: `15C${20410 + i}`, declarations: [] },
        });
        await append({ type: "visit.called", occurredAt: next(12 + i * 3), data: { visitId, laneId } });
        await stage(4, { stage: "laneEntered", laneId });
        await stage(2, { stage: "decided", decision: channel === "RED" ? "INSPECT" : "RELEASE", channel });
        if (channel === "RED") {
            await stage(6, { stage: "inspectionStarted" });
            await stage(35, { stage: "inspectionEnded" });
        }
        await stage(channel === "YELLOW" ? 25 : 2, { stage: "released" });
        await stage(5, { stage: "exited" });
    }
    for (const [i, plate] of ["20C45601", "15C31207", "20C45688", "29C10333", "15C77102"].entries())
        await append({
            type: "visit.arrived",
            occurredAt: now - (40 - i * 7) * MIN,
            data: {
                ...{ visitId: `V-${ulid()}`, laneGroup: "import", tractorPlate: plate, declarations: [] },
                goodsClass: i === 2 ? "perishable" : "general",
            },
        });
}
const vi = (key: string) => translate(catalogue("officer", "vi"), key);
const browser = await launchChromium();
try {
    // Lane 1: a green truck, released. Lane 2: a red-channel truck sent to inspection, whose release an
    // officer asked for and a supervisor has still to approve.
    await truckArrives(e2e, "L1", TRUCKS.green);
    await truckArrives(e2e, "L2", TRUCKS.red);
    const red = await eventually(
        () => {
            const snapshot = e2e.gate.lanes.snapshot("L2");
            return snapshot?.state === "INSPECTION" ? snapshot.passage?.passageId : undefined;
        },
        15_000,
        "the red truck decided",
    );
    await eventually(
        () => (["RELEASED", "EXITING"].includes(e2e.gate.lanes.snapshot("L1")?.state ?? "") ? true : undefined),
        15_000,
        "the green truck released",
    );
    const officer = await loggedIn(browser, e2e.url, USERS.officer);
    await officer.page.goto(`/#/passages/${red}`);
    const form = officer.page.getByTestId("action-form");
    await form.locator("select[name=action]").selectOption("release");
    await form.locator("select[name=reasonCode] option[value=INSPECTED_OK]").waitFor({ state: "attached" });
    await form.locator("select[name=reasonCode]").selectOption("INSPECTED_OK");
    await form.locator("textarea[name=note]").fill("Đã mở container, đối chiếu với phiếu đóng gói");
    await form.getByRole("button", { name: vi("act.apply") }).click();
    await form.locator(".notice-ok").waitFor();
    await officer.page.waitForTimeout(1500);
    await officer.page.screenshot({ path: join(out, "passage-detail.png"), fullPage: true });

    await officer.page.goto("/#/lanes");
    await officer.page.locator('article.tile[data-lane="L2"] .awaiting').waitFor();
    // Let the time-in-lane counters run a little.
    await officer.page.waitForTimeout(3000);
    await officer.page.screenshot({ path: join(out, "lanes-board.png") });

    const supervisor = await loggedIn(browser, e2e.url, USERS.supervisor, "#/approvals");
    await supervisor.page.locator("article.approval").waitFor();
    await supervisor.page.screenshot({ path: join(out, "approvals.png") });

    const technician = await loggedIn(browser, e2e.url, USERS.technician, "#/devices");
    const scale = technician.page.locator('tr[data-device="scale-l1"]');
    await scale.getByRole("button", { name: vi("deviceTest.readWeight") }).click();
    await scale.locator(".test-result.good").waitFor();
    await scale.getByRole("button", { name: vi("devices.rawFrames") }).click();
    await technician.page.locator('tr[data-frames-of="scale-l1"] table').waitFor();
    await technician.page.screenshot({ path: join(out, "devices.png") });

    const alerts = await loggedIn(browser, e2e.url, USERS.supervisor, "#/alerts");
    await alerts.page.locator("[data-testid=alerts] tbody tr").first().waitFor();
    await alerts.page.screenshot({ path: join(out, "alerts.png") });

    await yardMorning();
    await officer.page.goto("/#/yard");
    await officer.page.locator('[data-testid=queue][data-group="import"] tbody tr').first().waitFor();
    await officer.page.screenshot({ path: join(out, "yard.png"), fullPage: true });
    await officer.page.goto("/#/timerelease");
    await officer.page.locator("[data-testid=stage-chart] canvas").first().waitFor();
    await officer.page.waitForTimeout(500);
    await officer.page.screenshot({ path: join(out, "time-release.png"), fullPage: true });
    console.log(`screenshots written to ${out}`);
} finally {
    await browser.close();
    await e2e.stop();
    dir.cleanup();
}
