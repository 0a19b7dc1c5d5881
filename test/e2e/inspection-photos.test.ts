/**
 * Photos of a finding on the Inspection page in Chromium (issue 18: "findings, photos"): an inspector picks
 * photos in the finding form, the page uploads each and records the finding with them, and the case shows
 * them as thumbnails. What the gate cannot take is said on the page in the reader's language: a file too
 * large (refused by the page, never sent), and one whose bytes are not a JPEG (refused by the gate, 415).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { plateJpeg, sceneJpeg } from "../../simulators/lib/plate-image.ts";
import { hashPassword } from "../../src/config/passwords.ts";
import type { Gate } from "../../src/gate.ts";
import { MAX_PHOTO_BYTES } from "../../src/inspection/routes.ts";
import { UserStore } from "../../src/store/users.ts";
import { eventually } from "../helpers/gate.ts";
import { openRedCase, startInspectionGate } from "../helpers/inspection.ts";
import { tempDir } from "../helpers/tmp.ts";
import { chromiumAvailable, launchChromium, loggedIn, USERS } from "./harness.ts";

const available = chromiumAvailable();
const WAIT_MS = 30_000;

describe.skipIf(!available)("photos of a finding on the Inspection page", () => {
    const dir = tempDir();
    let gate: Gate;
    let browser: Awaited<ReturnType<typeof launchChromium>>;

    beforeAll(async () => {
        gate = await startInspectionGate(dir.path);
        new UserStore(gate.database).add(USERS.officer.name, USERS.officer.role, hashPassword(USERS.officer.password));
        browser = await launchChromium();
    }, 60_000);

    afterAll(async () => {
        await browser?.close();
        await gate?.stop();
        dir.cleanup();
    });

    it("an inspector attaches photos to a finding and sees their thumbnails; a wrong or too large file is refused on the page", async () => {
        const opened = await openRedCase(gate);
        const caseId = opened.caseId;
        const inspector = await loggedIn(browser, gate.addresses.http, USERS.officer, "#/inspection");
        const page = inspector.page;
        await page.goto(`/#/inspection/${caseId}`);
        const form = page.locator("[data-testid=finding-form]");
        await form.waitFor();
        const input = form.locator("input[type=file][name=photos]");
        expect(await input.getAttribute("accept")).toBe("image/jpeg,image/png");
        expect(await input.getAttribute("multiple")).not.toBeNull();
        expect(await input.getAttribute("capture")).toBe("environment");
        await form.locator("select[name=step]").selectOption("physical");
        await form.locator("textarea[name=text]").fill("Niêm phong bị cắt, hàng đúng khai báo");
        const error = form.locator(".notice-error");

        // Too large: the page says so (in Vietnamese) and sends nothing.
        await input.setInputFiles({
            name: "lon.jpg",
            mimeType: "image/jpeg",
            buffer: Buffer.alloc(MAX_PHOTO_BYTES + 1, 0xff),
        });
        await form.locator("button[type=submit]").click();
        await error.waitFor();
        expect(await error.textContent()).toBe("Ảnh lon.jpg lớn hơn 8 MB: chụp lại với độ phân giải thấp hơn.");

        // Named .jpg but not a JPEG: the gate refuses it by its bytes, the page names the file and why.
        await input.setInputFiles({ name: "gia.jpg", mimeType: "image/jpeg", buffer: Buffer.from("not a photo") });
        await form.locator("button[type=submit]").click();
        await form.locator(".notice-error", { hasText: "gia.jpg" }).waitFor();
        expect(await error.textContent()).toBe("gia.jpg: Tệp không phải ảnh JPEG hoặc PNG.");
        expect(gate.inspections.get(caseId)?.entries.some((entry) => entry.kind === "finding")).toBe(false);
        expect(gate.inspections.get(caseId)?.photos).toBeUndefined();

        // Two real photos: uploaded, the finding recorded with both, shown as thumbnails that load.
        await input.setInputFiles([
            { name: "niem-phong.jpg", mimeType: "image/jpeg", buffer: Buffer.from(plateJpeg("VNC-0200002")) },
            { name: "hang-hoa.jpg", mimeType: "image/jpeg", buffer: Buffer.from(sceneJpeg("15C-888.10")) },
        ]);
        await form.locator("button[type=submit]").click();
        const finding = await eventually(
            () => gate.inspections.get(caseId)?.entries.find((entry) => entry.kind === "finding"),
            WAIT_MS,
            "the finding with its photos",
        );
        expect(finding.images).toHaveLength(2);
        expect(gate.inspections.get(caseId)?.photos).toEqual(finding.images);
        const thumbnails = page.locator("[data-kind=finding] [data-testid=finding-photo]");
        await eventually(async () => ((await thumbnails.count()) === 2 ? true : undefined), WAIT_MS, "2 thumbnails");
        const sources = await thumbnails.evaluateAll((images) => images.map((img) => img.getAttribute("src")));
        expect(sources).toEqual((finding.images ?? []).map((ref) => `/api/v1/images/${encodeURIComponent(ref)}`));
        // Loaded, not a broken image: the browser decoded each photo.
        await eventually(
            async () => {
                const widths = await thumbnails.evaluateAll(
                    (images) => images.map((img) => (img as unknown as { naturalWidth: number }).naturalWidth), // in the page: an HTMLImageElement
                );
                return widths.every((width) => width > 0) ? widths : undefined;
            },
            WAIT_MS,
            "the thumbnails decoded",
        );
        expect(await thumbnails.first().getAttribute("alt")).toBe("Ảnh chụp kết quả kiểm tra");
        expect(await page.locator("[data-kind=finding]").textContent()).toContain(
            "(kiểm tra thực tế) — officer.an — “Niêm phong bị cắt, hàng đúng khai báo”",
        );

        // The 415 of the file that was not a photo is the one refusal the page met; nothing else went wrong.
        expect(inspector.errors.filter((text) => !/status of 415/.test(text))).toEqual([]);
        expect(inspector.errors.filter((text) => /status of 415/.test(text))).toHaveLength(1);
        await inspector.context.close();
    }, 120_000);
});
