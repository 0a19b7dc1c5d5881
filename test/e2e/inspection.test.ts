/**
 * The Inspection page in Chromium (issue 18 part 2): an inspector works a RED truck's case from open to
 * cleared: the worklist, the suspicious scan's image with the analyst's regions drawn over it, the
 * physical examination recorded, the clearance asked for and a supervisor's clearance (four eyes).
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { XraySimulator } from "../../simulators/xray.ts";
import { hashPassword } from "../../src/config/passwords.ts";
import type { Gate } from "../../src/gate.ts";
import { UserStore } from "../../src/store/users.ts";
import { eventually, startGate, testConfig } from "../helpers/gate.ts";
import { declarationScanDraft, plateDraft } from "../helpers/readings.ts";
import { tempDir } from "../helpers/tmp.ts";
import { chromiumAvailable, launchChromium, loggedIn, USERS } from "./harness.ts";

const available = chromiumAvailable();
const RED = "100001234540";
const WAIT_MS = 30_000;

describe.skipIf(!available)("the Inspection page", () => {
    const dir = tempDir();
    const xrayFolder = join(dir.path, "xray-1");
    let gate: Gate;
    let browser: Awaited<ReturnType<typeof launchChromium>>;

    beforeAll(async () => {
        gate = await startGate(
            testConfig(
                dir.path,
                `  - id: L1
    devices:
      - { id: cam-1, model: dahua-itsapi-anpr, role: front, auth: { username: cam-1, password: camera-password } }
      - { id: scan-1, model: serial-barcode-scanner, address: "tcp://127.0.0.1:9" }
`,
                `rules: { requiredReads: [plate, declaration] }
inspection:
    devices:
        - { id: xray-1, model: nii-scan-package, folder: ${JSON.stringify(xrayFolder)}, pollMs: 100, settleMs: 150 }`,
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
                ] as never, // central's JSON shape, validated by the cache
                watchList: [],
            },
            Date.now(),
        );
        gate.clearance.setVersion("t-1", Date.now());
        const users = new UserStore(gate.database);
        for (const user of [USERS.officer, USERS.supervisor])
            users.add(user.name, user.role, hashPassword(user.password));
        browser = await launchChromium();
    }, 60_000);

    afterAll(async () => {
        await browser?.close();
        await gate?.stop();
        dir.cleanup();
    });

    it("an inspector works a case from open to cleared, with the scan's marked regions on screen", async () => {
        await gate.log.append({ laneId: "L1", ...plateDraft("cam-1", "15C-888.10", "15C88810") });
        await gate.log.append({ laneId: "L1", ...declarationScanDraft("scan-1", RED) });
        const xray = new XraySimulator({ folder: xrayFolder, seed: 7 });
        const scan = await xray.scan({ result: "suspicious", plates: ["15C-888.10"] });
        const [opened] = await eventually(
            () => {
                const open = gate.inspections.list({ status: "open", limit: 10 });
                return open[0]?.done.includes("xray") ? open : undefined;
            },
            WAIT_MS,
            "the case with its scan",
        );
        const caseId = opened?.caseId ?? "";

        const inspector = await loggedIn(browser, gate.addresses.http, USERS.officer, "#/inspection");
        const page = inspector.page;
        await page.locator(`[data-testid=inspection-list] a[href="#/inspection/${caseId}"]`).waitFor();
        // The lane tile shows where the truck went, and leads to its case.
        await page.goto("/#/lanes");
        const toInspection = page.locator("[data-testid=to-inspection]");
        expect(await toInspection.getAttribute("href")).toBe(`#/inspection/${caseId}`);
        expect(await toInspection.textContent()).toBe("→ chuyển khu vực kiểm hóa: xem hồ sơ");
        await toInspection.click();
        await page.locator("[data-testid=case-status]").waitFor();
        // Vietnamese by default: the status and the steps in customs terms.
        expect(await page.locator("[data-testid=case-status]").textContent()).toBe("đang kiểm hóa");
        expect(await page.locator("[data-testid=case-steps]").textContent()).toBe("soi chiếu ✓, kiểm tra thực tế …");
        // Each scan image is shown, each marked region drawn over its image.
        await page.locator("figure.scan img").first().waitFor();
        expect(await page.locator("figure.scan img").count()).toBe(scan.images.length);
        expect(await page.locator("[data-testid=scan-region]").count()).toBe(scan.regions.length);
        expect(scan.regions.length).toBeGreaterThan(0);
        const loaded = await page
            .locator("figure.scan img")
            .first()
            .evaluate((img) => (img as unknown as { naturalWidth: number }).naturalWidth); // runs in the page: an HTMLImageElement
        expect(loaded).toBeGreaterThan(0);

        // Clearing before the examination is refused, with the reason on screen.
        const close = page.locator("[data-testid=close-form]");
        await close.locator("select[name=action]").selectOption("clear");
        await close.locator("select[name=reasonCode]").selectOption("INSPECTED_OK");
        await close.locator("button[type=submit]").click();
        await close.locator(".notice-error").waitFor();

        const finding = page.locator("[data-testid=finding-form]");
        await finding.locator("select[name=step]").selectOption("physical");
        await finding.locator("textarea[name=text]").fill("Khối đặc là phụ tùng máy, đúng khai báo");
        await finding.locator("button[type=submit]").click();
        await eventually(
            () => gate.inspections.get(caseId)?.done.includes("physical") || undefined,
            WAIT_MS,
            "examined",
        );
        await page.locator("[data-testid=case-steps]", { hasText: "kiểm tra thực tế ✓" }).waitFor();

        const closeAgain = page.locator("[data-testid=close-form]");
        await closeAgain.locator("select[name=action]").selectOption("clear");
        await closeAgain.locator("select[name=reasonCode]").selectOption("INSPECTED_OK");
        await closeAgain.locator("button[type=submit]").click();
        await eventually(() => gate.inspections.get(caseId)?.releaseRequest, WAIT_MS, "clearance requested");
        expect(gate.inspections.get(caseId)?.status).toBe("open");

        // The supervisor clears it: the second person.
        const supervisor = await loggedIn(browser, gate.addresses.http, USERS.supervisor);
        await supervisor.page.goto(`/#/inspection/${caseId}`);
        const form = supervisor.page.locator("[data-testid=close-form]");
        await form.locator("select[name=action]").selectOption("clear");
        await form.locator("select[name=reasonCode]").selectOption("INSPECTED_OK");
        await form.locator("button[type=submit]").click();
        await supervisor.page.locator("[data-testid=case-status]", { hasText: "đã thông quan" }).waitFor();
        expect(gate.inspections.get(caseId)?.closed).toMatchObject({
            outcome: "cleared",
            by: USERS.supervisor.name,
            requestedBy: USERS.officer.name,
        });
        // The 409 of the early clearance is the refusal the page was meant to meet; nothing else went wrong.
        expect(inspector.errors.filter((error) => !/status of 409/.test(error))).toEqual([]);
        expect(inspector.errors.filter((error) => /status of 409/.test(error))).toHaveLength(1);
        expect(supervisor.errors).toEqual([]);
        await inspector.context.close();
        await supervisor.context.close();
    }, 120_000);
});
