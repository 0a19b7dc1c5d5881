/**
 * The dashboard in a real browser (Debian's Chromium through playwright-core) against a real gate whose
 * lanes are fed by the device simulators: what officers, supervisors and technicians do on a shift.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { Browser, BrowserContext, Locator, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { catalogue, LANGUAGES, translate } from "../../src/i18n/format.ts";
import { eventually } from "../helpers/gate.ts";
import { tempDir } from "../helpers/tmp.ts";
import {
    chromiumAvailable,
    type E2eGate,
    GATE_NAME,
    launchChromium,
    loggedIn,
    login,
    startE2eGate,
    TRUCKS,
    truckArrives,
    truckLeaves,
    USERS,
    VIEWPORT,
    watchPage,
    weighTruck,
} from "./harness.ts";

const available = chromiumAvailable();

/** Markup where a plate should be: if the page ever parsed it, it would load `x` or run the script. */
const MARKUP_PLATE = `<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>`;

/** The page's DOM as the functions run in it below use it: the test's TypeScript has no DOM types. */
interface Box {
    textContent: string;
    hidden: boolean;
    getBoundingClientRect(): { top: number; right: number; height: number };
}
interface InBrowser {
    document: {
        documentElement: { scrollWidth: number };
        querySelector(selector: string): Box;
        querySelectorAll(selector: string): ArrayLike<Box>;
        createRange(): { selectNodeContents(node: unknown): void; getClientRects(): ArrayLike<{ top: number }> };
    };
}

/** True when a select's chosen option fits its closed box (measured in the select's own font). */
function shownWhole(select: Locator): Promise<boolean> {
    return select.evaluate((element) => {
        const el = element as unknown as {
            clientWidth: number;
            selectedOptions: ArrayLike<{ textContent: string }>;
        };
        const doc = (globalThis as unknown as InBrowser).document as unknown as {
            createElement(tag: string): {
                getContext(kind: string): { font: string; measureText(text: string): { width: number } };
            };
        };
        const style = (
            globalThis as unknown as {
                getComputedStyle(e: unknown): { font: string; paddingLeft: string; paddingRight: string };
            }
        ).getComputedStyle(element);
        const context = doc.createElement("canvas").getContext("2d");
        context.font = style.font;
        const padding = Number.parseFloat(style.paddingLeft) + Number.parseFloat(style.paddingRight);
        // The arrow of a closed select takes about 1.5em; leave it that much room.
        return context.measureText(el.selectedOptions[0]?.textContent ?? "").width + 24 <= el.clientWidth - padding;
    });
}

/** "dd/MM/yyyy HH:mm:ss" in the gate's zone (config default), whatever the zone of the browser or of this process. */
function inGateZone(iso: string): string {
    const parts = Object.fromEntries(
        new Intl.DateTimeFormat("en-GB", {
            timeZone: "Asia/Ho_Chi_Minh",
            day: "2-digit",
            month: "2-digit",
            year: "numeric",
            hour: "2-digit",
            minute: "2-digit",
            second: "2-digit",
            hourCycle: "h23",
        })
            .formatToParts(new Date(iso))
            .map((part) => [part.type, part.value]),
    );
    return `${parts.day}/${parts.month}/${parts.year} ${parts.hour}:${parts.minute}:${parts.second}`;
}

/** expect.poll with a patient default: the page follows a live stream on a machine that runs other tests. */
const poll = <T>(read: () => Promise<T> | T, timeout = 10_000) => expect.poll(read, { timeout, interval: 100 });

const tile = (page: Page, laneId: string) => page.locator(`article.tile[data-lane="${laneId}"]`);

/** The CSRF token of the page's session and a state-changing call with it, as the page's own code would. */
function postFromPage(page: Page, path: string, body: unknown): Promise<{ status: number; error?: string }> {
    return page.evaluate(
        async ({ path, body }) => {
            const me = (await (await fetch("/api/v1/auth/me")).json()) as { csrfToken: string };
            const answer = await fetch(path, {
                method: "POST",
                headers: { "content-type": "application/json", "x-csrf-token": me.csrfToken },
                body: JSON.stringify(body),
            });
            const data = (await answer.json().catch(() => ({}))) as { error?: string };
            return { status: answer.status, error: data.error };
        },
        { path, body },
    );
}

/**
 * The page's chosen elements (menu, headings, labels, buttons, table heads, state words, chips) hold no
 * English text of the catalogue that Vietnamese writes otherwise: what a Vietnamese page must not leak.
 */
async function englishLeaks(page: Page): Promise<string[]> {
    const en = catalogue("officer", "en");
    const vi = catalogue("officer", "vi");
    const english = Object.entries(en)
        .filter(([key, text]) => vi[key] !== text && !text.includes("{") && text.length >= 5)
        .map(([, text]) => text);
    const shown = await page
        // Not the user's name in the header: "officer.an" is a name, not a word of the page.
        .locator(
            "nav, #link-status, h1, h2, th, label, button, option, .state, .outcome, .chip, .label, .tile-empty, .awaiting, .notice, figcaption, .step",
        )
        .allInnerTexts();
    // Whole words only: a reason code (INSPECTED_OK) is a code officers know, not the English "INSPECT".
    const asWord = (word: string) =>
        new RegExp(`(?<![\\p{L}\\p{N}_])${word.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}(?![\\p{L}\\p{N}_])`, "u");
    const patterns = english.map((word) => ({ word, pattern: asWord(word) }));
    return shown.flatMap((t) =>
        patterns.filter(({ pattern }) => pattern.test(t)).map(({ word }) => `${word} in "${t}"`),
    );
}

/**
 * Shown texts (in `selector`) that are one of `family`'s English sentences, their parameters whatever they
 * are ("no data for 1500 ms"): what a Vietnamese page worded from codes must not show.
 */
async function englishSentences(page: Page, family: string, selector: string): Promise<string[]> {
    const en = catalogue("officer", "en");
    const vi = catalogue("officer", "vi");
    const quote = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    const sentences = Object.entries(en)
        .filter(([key, text]) => key.startsWith(`${family}.`) && vi[key] !== text)
        .map(
            ([, text]) =>
                new RegExp(
                    `^${text
                        .split(/\{\w+\}/)
                        .map(quote)
                        .join(".*")}$`,
                    "s",
                ),
        );
    const shown = await page.locator(selector).allInnerTexts();
    return shown.filter((text) => sentences.some((sentence) => sentence.test(text.trim())));
}

/** A reason's parameters as the dashboard writes them in `language`: numbers by the language's Intl.NumberFormat. */
function writtenIn(language: string, params: Record<string, string | number> = {}): Record<string, string> {
    const format = new Intl.NumberFormat(language === "vi" ? "vi-VN" : "en-GB", { maximumFractionDigits: 2 });
    return Object.fromEntries(
        Object.entries(params).map(([name, value]) => [name, typeof value === "number" ? format.format(value) : value]),
    );
}

/** Today in the gate's zone (the e2e gate's, the config default) as the date filter takes it. */
function todayAtGate(): string {
    const p = Object.fromEntries(
        new Intl.DateTimeFormat("en-GB", {
            timeZone: "Asia/Ho_Chi_Minh",
            day: "2-digit",
            month: "2-digit",
            year: "numeric",
        })
            .formatToParts(new Date())
            .map((part) => [part.type, part.value]),
    );
    return `${p.day}/${p.month}/${p.year}`;
}

/** The officer languages, typed as the config takes them (LANGUAGES is a string list; ui.defaultLanguage lists the same two). */
const DASHBOARD_LANGUAGES = LANGUAGES.officer as readonly ("vi" | "en")[];

describe.skipIf(!available).each(DASHBOARD_LANGUAGES)("the dashboard in Chromium, in %s", (language) => {
    const dir = tempDir();
    let e2e: E2eGate;
    let browser: Browser;
    const contexts: BrowserContext[] = [];
    /** Page errors of every page, checked after each test: a scenario that "passes" with a broken page does not. */
    const pageErrors: string[][] = [];
    /** A text of the page in this run's language, as the dashboard renders it. */
    const text = (key: string, params: Record<string, string | number> = {}) =>
        translate(catalogue("officer", language), key, params);

    async function open(user: (typeof USERS)[keyof typeof USERS], hash = "") {
        const session = await loggedIn(browser, e2e.url, user, hash);
        contexts.push(session.context);
        pageErrors.push(session.errors);
        return session.page;
    }

    beforeAll(async () => {
        e2e = await startE2eGate(dir.path, ["L1", "L2"], { language });
        browser = await launchChromium();
    }, 60_000);

    afterAll(async () => {
        for (const context of contexts) await context.close().catch(() => {});
        await browser?.close();
        await e2e?.stop();
        dir.cleanup();
    }, 30_000);

    it("an officer logs in, sees a truck appear in its lane and holds it", async () => {
        const context = await browser.newContext({ viewport: VIEWPORT, baseURL: e2e.url });
        contexts.push(context);
        const page = await context.newPage();
        const errors = watchPage(page);
        pageErrors.push(errors);
        const response = await page.goto("/");
        // Served by the gate with the dashboard's policy: its own scripts only, never framed.
        const headers = response!.headers();
        expect(headers["content-security-policy"]).toContain("default-src 'self'");
        expect(headers["content-security-policy"]).not.toContain("unsafe-inline");
        expect(headers["x-frame-options"]).toBe("DENY");
        expect(headers["x-content-type-options"]).toBe("nosniff");
        // A wrong password: the same plain answer as an unknown name.
        await page.locator("#username").fill(USERS.officer.name);
        await page.locator("#password").fill("not-the-password");
        // The login page is in the gate's language before anyone logs in.
        await poll(() => page.locator("html").getAttribute("lang")).toBe(language);
        await page.getByRole("button", { name: text("login.submit") }).click();
        await poll(() => page.locator("[role=alert]").textContent()).toBe(text("login.wrong"));
        await login(page, USERS.officer);
        expect(page.url()).toMatch(/#\/lanes$/);
        expect(await page.locator("nav a").allTextContents()).toEqual([
            text("nav.lanes"),
            text("nav.passages"),
            text("nav.inspection"),
            text("nav.yard"),
            text("nav.alerts"),
        ]);
        // The session cookie is out of the page's reach.
        expect(await page.evaluate("document.cookie")).not.toContain("gate_session");
        const cookie = (await context.cookies()).find((c) => c.name === "gate_session");
        expect(cookie).toMatchObject({ httpOnly: true, sameSite: "Strict" });

        const l1 = tile(page, "L1");
        await poll(() => l1.locator(".tile-empty").textContent()).toBe(text("lanes.empty"));
        await poll(() => page.locator("#link-status").textContent()).toBe(text("link.live"));

        // The truck drives up: the tile fills in live, with no reload.
        await truckArrives(e2e, "L1", TRUCKS.green, false);
        await poll(() => l1.getByTestId("plate-front").textContent(), 10_000).toBe("15C-123.45");
        await poll(() => l1.getByTestId("plate-rear").textContent()).toBe("15R-012.34");
        await poll(() => l1.getByTestId("declaration").textContent()).toBe("101234567820");
        expect(await l1.locator("[data-channel]").getAttribute("data-channel")).toBe("GREEN");
        await poll(() => l1.locator(".containers").textContent()).toContain("CSQU3054383");
        await poll(() => l1.locator(".seals").textContent()).toContain(`VNC-0100001 ${text("sealStatus.SEALED")}`);
        // The plate image is served by the gate and decodes.
        await poll(() =>
            l1
                .locator("img.plate-img")
                .first()
                .evaluate((img) => {
                    const image = img as unknown as { complete: boolean; naturalWidth: number };
                    return image.complete ? image.naturalWidth : 0;
                }),
        ).toBeGreaterThan(0);
        expect(await l1.locator(".device").count()).toBe(6);
        expect(await l1.locator('.device[data-status="online"]').count()).toBe(6);
        // Time in lane ticks.
        const first = await l1.locator(".ticker").textContent();
        await poll(() => l1.locator(".ticker").textContent(), 3000).not.toBe(first);

        // Before the weighbridge has spoken, the officer holds the truck.
        await l1.getByRole("link", { name: text("lanes.passageDetail") }).click();
        await page.getByTestId("passage-state").waitFor();
        expect(await page.getByTestId("plate").allTextContents()).toEqual(["15C-123.45", "15R-012.34"]);
        // Each camera's scene and its plate crop side by side (Dahua NormalPic + CutoutPic in front,
        // Hikvision detectionPicture + licensePlatePicture behind), each served by the gate and decoded.
        for (const position of ["front", "rear"]) {
            const figures = page.getByTestId(`images-${position}`).locator("figure");
            expect(
                await figures.evaluateAll((all) =>
                    // DOM elements in the browser; the test's TypeScript has no DOM types.
                    all.map((f) => (f as unknown as { dataset: { role: string } }).dataset.role),
                ),
            ).toEqual(["scene", "plate"]);
            expect(await figures.locator("figcaption").allTextContents()).toEqual(
                ["scene", "plate"].map((role) =>
                    text("passage.imageCaption", {
                        position: text(`position.${position}`),
                        role: text(`imageRole.${role}`),
                    }),
                ),
            );
            await poll(() =>
                figures.locator("img").evaluateAll((imgs) =>
                    imgs.map((img) => {
                        // A DOM element in the browser; the test's TypeScript has no DOM types.
                        const image = img as unknown as { complete: boolean; naturalWidth: number };
                        return image.complete && image.naturalWidth > 0;
                    }),
                ),
            ).toEqual([true, true]);
        }
        const form = page.getByTestId("action-form");
        await form.locator("select[name=action]").selectOption("hold");
        await poll(() => form.locator("select[name=reasonCode] option").count()).toBeGreaterThan(1);
        // Only the reasons that fit a hold are offered.
        const offered = await form
            .locator("select[name=reasonCode] option")
            .evaluateAll((options) => options.map((o) => (o as unknown as { value: string }).value).filter(Boolean));
        expect(offered).toContain("DOCS_MISSING");
        expect(offered).not.toContain("DECISION_CORRECT");
        await form.locator("select[name=reasonCode]").selectOption("DOCS_MISSING");
        // The closed select shows its whole choice; the code's explanation has its own line.
        expect(await shownWhole(form.locator("select[name=reasonCode]"))).toBe(true);
        expect(await form.getByTestId("reason-explanation").textContent()).toBe(text("reasonCode.DOCS_MISSING"));
        await form.locator("textarea[name=note]").fill("Invoice missing from the file");
        // A second officer watches the lanes board: the hold reaches its tile live, before any decision.
        const board = await open(USERS.officer);
        await tile(board, "L1").getByTestId("decision").waitFor();
        expect(await tile(board, "L1").getByTestId("officer-hold").count()).toBe(0);
        await form.getByRole("button", { name: text("act.apply") }).click();
        await poll(() => form.locator(".notice").textContent()).toBe(
            text("act.applied", { action: text("action.hold") }),
        );
        await poll(() => tile(board, "L1").getByTestId("decision").getAttribute("data-outcome")).toBe("HOLD");
        expect(await tile(board, "L1").getByTestId("officer-hold").textContent()).toBe(text("decision.heldWaiting"));

        // The truck is weighed and decided: the officer's hold stands.
        await weighTruck(e2e, "L1", TRUCKS.green);
        await poll(() => page.getByTestId("rules").locator("tbody tr").count(), 10_000).toBeGreaterThan(0);
        // Soft: a wrong state here is a failure, but the scenario goes on so the lane is left clear.
        await page.waitForTimeout(500);
        expect.soft(await page.getByTestId("passage-state").getAttribute("data-state")).toBe("HELD");
        expect.soft(await page.getByTestId("passage-state").textContent()).toBe(text("laneState.HELD"));
        expect.soft(await page.getByTestId("decision").getAttribute("data-outcome")).toBe("HOLD");
        await poll(() => page.getByTestId("officer-actions").textContent()).toContain("DOCS_MISSING");
        expect(await page.getByTestId("officer-actions").textContent()).toContain(USERS.officer.name);
        // Every time with its date (dd/MM/yyyy), the weight as the language writes it, no English left.
        const times = await page.getByTestId("timeline").locator("time").allTextContents();
        expect(times.length).toBeGreaterThan(0);
        for (const time of times) expect(time).toMatch(/^\d{2}\/\d{2}\/\d{4} \d{2}:\d{2}:\d{2}$/);
        const weighed = await page.locator(".facts-list dd").allTextContents();
        expect(weighed.join(" ")).toMatch(language === "vi" ? /\b\d{1,2}\.\d{3} kg/ : /\b\d{1,2},\d{3} kg/);
        if (language === "vi") {
            expect(await page.getByRole("heading", { name: "Kết quả kiểm tra theo quy tắc" }).count()).toBe(1);
            // Every rule's reason worded from its codes: no English sentence of the rules is left.
            const reasons = await page.getByTestId("rules").locator("td.reason").allTextContents();
            expect(reasons.length).toBeGreaterThan(10);
            expect(
                reasons.filter((reason) => /\b(the|is|not|and|of|no|declared|checked|within)\b/i.test(reason)),
            ).toEqual([]);
            expect(await englishLeaks(page)).toEqual([]);
        }

        await page.getByRole("link", { name: text("nav.lanes") }).click();
        await poll(() => tile(page, "L1").getAttribute("data-state")).toBe("HELD");
        expect(await tile(page, "L1").getByTestId("decision").getAttribute("data-outcome")).toBe("HOLD");
        expect(e2e.plc.state("L1").barrier).not.toBe("open");

        // Documents arrive: the officer releases the green truck and it drives off.
        if (language === "vi") {
            expect(await tile(page, "L1").locator(".state").textContent()).toBe("Tạm dừng");
            expect(await englishLeaks(page)).toEqual([]);
        }
        await tile(page, "L1")
            .getByRole("link", { name: text("lanes.passageDetail") })
            .click();
        await form.locator("select[name=action]").selectOption("release");
        await poll(() => form.locator("select[name=reasonCode] option[value=DOCS_VERIFIED]").count()).toBe(1);
        await form.locator("select[name=reasonCode]").selectOption("DOCS_VERIFIED");
        await form.getByRole("button", { name: text("act.apply") }).click();
        await poll(() => form.locator(".notice").textContent()).toBe(
            text("act.applied", { action: text("action.release") }),
        );
        await truckLeaves(e2e, "L1");
        expect(errors).toEqual([]);
    }, 60_000);

    it("a supervisor approves a red-channel release on their own screen", async () => {
        const officer = await open(USERS.officer);
        await truckArrives(e2e, "L2", TRUCKS.red);
        const l2 = tile(officer, "L2");
        await poll(() => l2.getByTestId("decision").getAttribute("data-outcome"), 10_000).toBe("INSPECT");
        expect(await l2.locator("[data-channel]").getAttribute("data-channel")).toBe("RED");
        expect(await l2.getByTestId("plate-front").textContent()).toBe("15C-888.10");

        // The officer releases after the inspection: the release waits for a supervisor.
        const passageId = (await l2.getAttribute("data-passage"))!;
        expect(passageId).toMatch(/^[0-9A-Z]{26}$/);
        await l2.getByRole("link", { name: text("lanes.passageDetail") }).click();
        const form = officer.getByTestId("action-form");
        await form.locator("select[name=action]").selectOption("release");
        await poll(() => form.locator("select[name=reasonCode] option[value=INSPECTED_OK]").count()).toBe(1);
        await form.locator("select[name=reasonCode]").selectOption("INSPECTED_OK");
        // "INSPECTED_OK — Physical inspect…" was all a closed select showed of it.
        expect(await shownWhole(form.locator("select[name=reasonCode]"))).toBe(true);
        expect(await form.getByTestId("reason-explanation").textContent()).toBe(text("reasonCode.INSPECTED_OK"));
        await form.getByRole("button", { name: text("act.apply") }).click();
        await poll(() => form.locator(".notice").textContent()).toBe(text("act.awaitingApproval"));
        await poll(() => officer.locator(".awaiting").count()).toBe(1);
        expect(e2e.plc.state("L2").barrier).not.toBe("open");
        // The timeline's alert is worded from its code, never naming the passage's 26-letter id.
        await poll(async () => (await officer.getByTestId("timeline").textContent()) ?? "").toContain(
            text("alert.PASSAGE_INSPECT"),
        );
        expect(await officer.getByTestId("timeline").textContent()).not.toContain(passageId);
        // An officer has no approvals page, and the API agrees.
        expect(await officer.locator('nav a[data-nav="approvals"]').count()).toBe(0);
        expect(
            await postFromPage(officer, `/api/v1/approvals/${passageId}/approve`, { reasonCode: "INSPECTED_OK" }),
        ).toMatchObject({ status: 403 });

        // The supervisor sees the request on their own screen and approves it.
        const supervisor = await open(USERS.supervisor);
        await poll(() => supervisor.locator('[data-badge="approvals"]').textContent()).toBe("1");
        await supervisor.locator('nav a[data-nav="approvals"]').click();
        const card = supervisor.locator(`article.approval[data-passage="${passageId}"]`);
        await card.waitFor();
        expect(await card.locator(".plate-text").textContent()).toContain("15C-888.10");
        expect(await card.textContent()).toContain(USERS.officer.name);
        expect(await card.locator("[data-channel]").getAttribute("data-channel")).toBe("RED");
        const approval = card.getByTestId("approval-form");
        await approval.locator("select[name=action]").selectOption("approve");
        await poll(() => approval.locator("select[name=reasonCode] option[value=INSPECTED_OK]").count()).toBe(1);
        await approval.locator("select[name=reasonCode]").selectOption("INSPECTED_OK");
        if (language === "vi") expect(await englishLeaks(supervisor)).toEqual([]);
        await approval.getByRole("button", { name: text("approvals.decide") }).click();
        await poll(() => approval.locator(".notice").textContent()).toBe(text("approvals.approved"));

        // The barrier opens; the officer's board shows the release.
        await eventually(
            () => (["opening", "open"].includes(e2e.plc.state("L2").barrier) ? true : undefined),
            10_000,
            "barrier of L2 opening",
        );
        await officer.getByRole("link", { name: text("nav.lanes") }).click();
        await poll(() => tile(officer, "L2").getByTestId("decision").getAttribute("data-outcome"), 10_000).toBe(
            "RELEASE",
        );
        await truckLeaves(e2e, "L2");
        await poll(() => tile(officer, "L2").locator(".tile-empty").count(), 10_000).toBe(1);

        // The passage history finds it by plate (as typed, separators and all) and by container.
        await officer.locator('nav a[data-nav="passages"]').click();
        const search = officer.getByRole("search");
        await search.locator("input[name=plate]").fill("15c-888.10");
        await search.getByRole("button", { name: text("search.submit") }).click();
        const rows = officer.locator("table.passages tbody tr");
        await poll(() => rows.count()).toBe(1);
        expect(await rows.first().getAttribute("data-passage")).toBe(passageId);
        await search.locator("input[name=plate]").fill("");
        await search.locator("input[name=container]").fill("ZEPU0037255");
        await search.locator("select[name=decision]").selectOption("INSPECT");
        await search.getByRole("button", { name: text("search.submit") }).click();
        await poll(() => rows.first().getAttribute("data-passage")).toBe(passageId);
        expect(await rows.count()).toBe(1);
        // The date filter takes days in the language's order (dd/mm/yyyy), counted in the gate's zone.
        expect(await search.locator("input[name=from]").getAttribute("placeholder")).toBe(text("format.datePattern"));
        await search.locator("input[name=from]").fill(todayAtGate());
        await search.locator("input[name=to]").fill(todayAtGate());
        await search.getByRole("button", { name: text("search.submit") }).click();
        await poll(() => rows.first().getAttribute("data-passage")).toBe(passageId);
        expect(await rows.first().locator("td.when").textContent()).toMatch(new RegExp(`^${todayAtGate()} `));
        await search.locator("input[name=to]").fill("01/01/2020");
        await search.getByRole("button", { name: text("search.submit") }).click();
        await poll(() => rows.count()).toBe(0);
        await search.locator("input[name=from]").fill("");
        await search.locator("input[name=to]").fill("");
        await search.getByRole("button", { name: text("search.submit") }).click();
        await poll(() => rows.count()).toBe(1);
        await rows
            .first()
            .getByRole("link", { name: text("search.open") })
            .click();
        await poll(() => officer.getByTestId("officer-actions").textContent()).toContain(USERS.supervisor.name);
    }, 60_000);

    it("a technician sees a device go offline when its simulator stops", async () => {
        const technician = await open(USERS.technician);
        expect(technician.url()).toMatch(/#\/devices$/);
        const row = technician.locator('tr[data-device="scale-l2"]');
        await poll(() => row.getByTestId("device-status").textContent()).toBe(text("deviceStatus.online"));
        // The technician's test reads the weighbridge.
        const l1Scale = technician.locator('tr[data-device="scale-l1"]');
        await l1Scale.getByRole("button", { name: text("deviceTest.readWeight") }).click();
        await poll(() => l1Scale.locator(".test-result.good").count(), 5000).toBe(1);
        expect(await l1Scale.locator(".test-result").textContent()).toContain(text("devices.testOk", { detail: "" }));
        // The result worded from its code: the kind of reading in the page's language.
        expect(await l1Scale.locator(".test-result").textContent()).toMatch(
            new RegExp(`${text("weightSteady.stable")}|${text("weightSteady.moving")}`),
        );
        if (language === "vi")
            expect(await l1Scale.locator(".test-result").textContent()).not.toMatch(/latest frame|stable/);
        // Raw frames of the scale, as the wire carried them.
        await row.getByRole("button", { name: text("devices.rawFrames") }).click();
        await poll(() => technician.locator('tr[data-frames-of="scale-l2"] table tbody tr').count()).toBeGreaterThan(0);

        await e2e.kits.get("L2")!.scale.stop();
        await poll(() => row.getByTestId("device-status").getAttribute("data-status"), 10_000).toBe("offline");
        expect(await row.getByTestId("device-status").textContent()).toBe(text("deviceStatus.offline"));
        // Why it is offline, worded from the reason code the gate stored beside its English text.
        await poll(async () => {
            const stored = await technician.evaluate(async () => {
                // The API's answer, as GET /api/v1/devices documents it (json() is untyped).
                const { devices } = (await (await fetch("/api/v1/devices")).json()) as {
                    devices: {
                        deviceId: string;
                        reason?: string;
                        reasonCode?: string;
                        reasonParams?: Record<string, string | number>;
                    }[];
                };
                return devices.find((d) => d.deviceId === "scale-l2");
            });
            const shown = await row.getByTestId("device-reason").textContent();
            if (!stored?.reasonCode) return `no reason code stored: ${JSON.stringify(stored)}`;
            return shown === text(`deviceReason.${stored.reasonCode}`, writtenIn(language, stored.reasonParams))
                ? "worded from the code"
                : `shown "${shown}" for ${JSON.stringify(stored)}`;
        }, 10_000).toBe("worded from the code");
        if (language === "vi") {
            expect(await englishLeaks(technician)).toEqual([]);
            expect(await englishSentences(technician, "deviceReason", "[data-testid=device-reason]")).toEqual([]);
            expect(await technician.getByTestId("device-reason").count()).toBeGreaterThan(1);
        }
        expect(await row.locator(".dot-offline").count()).toBe(1);
        // The lanes board shows the red dot too.
        await technician.locator('nav a[data-nav="lanes"]').click();
        await poll(() =>
            tile(technician, "L2").locator('.device[data-device="scale-l2"]').getAttribute("data-status"),
        ).toBe("offline");
        // The alerts queue has it; the technician acknowledges it with a note.
        await technician.locator('nav a[data-nav="alerts"]').click();
        const alert = technician.locator('tr[data-code="DEVICE_OFFLINE"]', { hasText: "scale-l2" });
        await poll(() => alert.count(), 10_000).toBe(1);
        await alert.locator("input[name=note]").fill("Weighbridge indicator cable being replaced");
        expect(await alert.getByTestId("alert-message").textContent()).toBe(
            text("alertText.DEVICE_OFFLINE", { device: "scale-l2" }),
        );
        await alert.getByRole("button", { name: text("alerts.acknowledge") }).click();
        await poll(() => alert.count()).toBe(0);
        await technician.getByRole("tab", { name: text("alerts.tab.acknowledged") }).click();
        await poll(() =>
            technician.locator('tr[data-code="DEVICE_OFFLINE"]', { hasText: "scale-l2" }).textContent(),
        ).toContain(USERS.technician.name);
    }, 60_000);

    it("an officer cannot open the technician's device test", async () => {
        const officer = await open(USERS.officer);
        expect(await officer.locator('nav a[data-nav="devices"]').count()).toBe(0);
        await officer.goto("/#/devices");
        await officer.getByTestId("forbidden").waitFor();
        expect(await officer.getByTestId("forbidden").textContent()).toContain(text("page.forbidden"));
        expect(await officer.locator("button", { hasText: text("deviceTest.readWeight") }).count()).toBe(0);
        // The API refuses too: the page is not the only guard.
        expect(await postFromPage(officer, "/api/v1/devices/scale-l1/test", { action: "readWeight" })).toEqual({
            status: 403,
            error: "FORBIDDEN",
        });
        const list = await officer.evaluate(async () => (await fetch("/api/v1/devices")).status);
        expect(list).toBe(403);
        for (const hash of ["#/sync", "#/audit"]) {
            await officer.goto(`/${hash}`);
            await officer.getByTestId("forbidden").waitFor();
        }
        // Logging out ends the session for the API too.
        await officer.getByRole("button", { name: text("header.logout") }).click();
        await officer.locator("#username").waitFor();
        expect(await officer.evaluate(async () => (await fetch("/api/v1/lanes")).status)).toBe(401);
        await officer.goto("/#/lanes");
        await officer.locator("#username").waitFor();
    }, 30_000);

    it("an auditor sees the audit log, the refused attempts in it, and the hash-chain check", async () => {
        const auditor = await open(USERS.auditor);
        expect(auditor.url()).toMatch(/#\/audit$/);
        expect(await auditor.locator("nav a").allTextContents()).toEqual([
            text("nav.lanes"),
            text("nav.passages"),
            text("nav.inspection"),
            text("nav.yard"),
            text("nav.audit"),
        ]);
        const chains = auditor.getByTestId("chain-check");
        await poll(() => chains.locator('[data-ok="true"]').count()).toBe(2);
        const log = auditor.getByTestId("audit");
        await poll(() => log.locator("tbody tr").count()).toBeGreaterThan(0);
        const denied = log.locator("tbody tr.outcome-denied", { hasText: USERS.officer.name });
        await poll(() => denied.count()).toBeGreaterThan(0);
        expect(await log.textContent()).toContain("/api/v1/devices/:id/test");
        expect(await denied.first().locator(".chip").textContent()).toBe(text("auditOutcome.denied"));
        for (const time of await log.locator("td.when").allTextContents())
            expect(time).toMatch(/^\d{2}\/\d{2}\/\d{4} \d{2}:\d{2}:\d{2}$/);
        if (language === "vi") expect(await englishLeaks(auditor)).toEqual([]);
    }, 30_000);

    it("fits the control-room screen at 1366×768: one-line header, whole tables, dated times, plates in alerts", async () => {
        // The header: every page of a supervisor with both badges lit, and the gate's long name, on one line.
        const supervisor = await open(USERS.supervisor);
        await poll(() => supervisor.locator('[data-badge="alerts"]').isVisible()).toBe(true);
        await supervisor.evaluate(() => {
            // A pending approval as well.
            const badge = (globalThis as unknown as InBrowser).document.querySelector('[data-badge="approvals"]');
            badge.hidden = false;
            badge.textContent = "12";
        });
        const header = await supervisor.evaluate(() => {
            const doc = (globalThis as unknown as InBrowser).document;
            const links = Array.from(doc.querySelectorAll("header nav a"));
            return {
                navHeight: doc.querySelector("header nav").getBoundingClientRect().height,
                linkHeight: links.at(0)?.getBoundingClientRect().height,
                // How far apart the tops of the menu's text boxes are: a word or badge wrapped is a line (≈ 20 px) lower.
                textSpread: (() => {
                    const range = doc.createRange();
                    const tops = links.flatMap((a) => {
                        range.selectNodeContents(a);
                        return Array.from(range.getClientRects()).map((r) => r.top);
                    });
                    return Math.max(...tops) - Math.min(...tops);
                })(),
                headerHeight: doc.querySelector("header").getBoundingClientRect().height,
                rightmost: Math.max(
                    ...Array.from(doc.querySelectorAll("header *")).map((e) => e.getBoundingClientRect().right),
                ),
            };
        });
        expect(header.textSpread).toBeLessThan(10);
        expect(header.navHeight).toBe(header.linkHeight);
        expect(header.headerHeight).toBeLessThanOrEqual(52);
        expect(header.rightmost).toBeLessThanOrEqual(VIEWPORT.width);
        expect(await supervisor.locator("header .brand").getAttribute("title")).toBe(GATE_NAME);

        // Alerts name the truck by its plates, linked to its passage, never by a 26-letter id.
        await supervisor.locator('nav a[data-nav="alerts"]').click();
        await supervisor.getByRole("tab", { name: text("alerts.tab.all") }).click();
        const inspect = supervisor.locator('tr[data-code="PASSAGE_INSPECT"]').first();
        await poll(() => inspect.getByTestId("alert-truck").textContent(), 10_000).toBe(
            `${TRUCKS.red.tractor} / ${TRUCKS.red.trailer}`,
        );
        expect(await inspect.getByTestId("alert-truck").locator("a").getAttribute("href")).toMatch(
            /^#\/passages\/[0-9A-Z]{26}$/,
        );
        expect(await inspect.textContent()).not.toMatch(/[0-9A-HJKMNP-TV-Z]{26}/);

        // Device ids and models are never cut at their hyphens: each is one line.
        await supervisor.locator('nav a[data-nav="devices"]').click();
        const cells = supervisor.locator("tr[data-device] td.mono");
        await poll(() => cells.count()).toBeGreaterThan(0);
        const lines = await cells.evaluateAll((all) =>
            all.map((cell) => {
                const doc = (globalThis as unknown as InBrowser).document;
                const range = doc.createRange();
                range.selectNodeContents(cell);
                const rows = new Set(Array.from(range.getClientRects()).map((r) => Math.round(r.top)));
                return `${(cell as unknown as Box).textContent}: ${rows.size}`;
            }),
        );
        expect(lines.filter((line) => !line.endsWith(": 1"))).toEqual([]);

        // The audit log: every column on the screen, every time with its date in the gate's zone.
        const auditor = await open(USERS.auditor);
        const log = auditor.getByTestId("audit");
        await poll(() => log.locator("tbody tr").count()).toBeGreaterThan(0);
        const table = await auditor.evaluate(() => {
            const doc = (globalThis as unknown as InBrowser).document;
            const heads = Array.from(doc.querySelectorAll("[data-testid=audit] thead th"));
            return {
                lastRight: heads.at(-1)?.getBoundingClientRect().right ?? Number.POSITIVE_INFINITY,
                pageWidth: doc.documentElement.scrollWidth,
            };
        });
        expect(table.lastRight).toBeLessThanOrEqual(VIEWPORT.width);
        expect(table.pageWidth).toBeLessThanOrEqual(VIEWPORT.width);
        const first = log.locator("tbody tr").first();
        const seq = Number(await first.getAttribute("data-seq"));
        const entry = await auditor.evaluate(
            async (seq) =>
                (
                    (await (await fetch(`/api/v1/audit?order=desc&limit=50`)).json()) as {
                        entries: { seq: number; at: string }[];
                    }
                ).entries.find((e) => e.seq === seq),
            seq,
        );
        const shown = await first.locator("td.when").textContent();
        expect(shown).toMatch(/^\d{2}\/\d{2}\/\d{4} \d{2}:\d{2}:\d{2}$/);
        expect(shown).toBe(inGateZone(entry!.at));

        // A user named after their role reads once in the header.
        const named = await open(USERS.officerNamedByRole);
        expect(await named.getByTestId("user").textContent()).toBe("officer");
        expect(await supervisor.getByTestId("user").textContent()).toBe(`supervisor.chi ${text("role.supervisor")}`);
    }, 60_000);

    it("a plate of markup renders as text, wherever it is shown", async () => {
        const officer = await open(USERS.officer);
        await officer.goto("/#/lanes");
        // A camera driver that let markup through (the receiver refuses it; this checks the page anyway).
        e2e.plc.vehicleArrives("L1");
        await e2e.gate.log.append({
            laneId: "L1",
            type: "reading.plate",
            deviceId: "front-l1",
            data: {
                values: {
                    text: MARKUP_PLATE,
                    normalized: "IMGSRCX",
                    country: "VN",
                    valid: true,
                    trailer: false,
                    misreadKey: "IMGSRCX",
                    confidence: 0.95,
                    position: "front",
                    imageRefs: [],
                },
            },
        });
        e2e.kits.get("L1")!.scanner.scan(TRUCKS.green.declaration);
        const l1 = tile(officer, "L1");
        await poll(() => l1.getByTestId("plate-front").textContent(), 10_000).toBe(MARKUP_PLATE);
        expect(await officer.locator("img[src=x], script:not([src])").count()).toBe(0);
        expect(await officer.evaluate("typeof window.__xss")).toBe("undefined");

        // The passage detail: the plate, and an officer's note of markup.
        await l1.getByRole("link", { name: text("lanes.passageDetail") }).click();
        await poll(() => officer.getByTestId("plate").first().textContent()).toBe(MARKUP_PLATE);
        const form = officer.getByTestId("action-form");
        await form.locator("select[name=action]").selectOption("hold");
        await poll(() => form.locator("select[name=reasonCode] option[value=OTHER_AGENCY]").count()).toBe(1);
        await form.locator("select[name=reasonCode]").selectOption("OTHER_AGENCY");
        await form.locator("textarea[name=note]").fill(MARKUP_PLATE);
        await form.getByRole("button", { name: text("act.apply") }).click();
        await poll(() => form.locator(".notice").textContent()).toBe(
            text("act.applied", { action: text("action.hold") }),
        );
        await poll(() => officer.getByTestId("officer-actions").textContent()).toContain(MARKUP_PLATE);
        // The history search finds it, and lists it as text.
        await officer.goto("/#/passages");
        await poll(() => officer.locator("table.passages tbody").textContent(), 5000).toContain(MARKUP_PLATE);
        expect(await officer.locator("img[src=x], script:not([src])").count()).toBe(0);
        expect(await officer.evaluate("typeof window.__xss")).toBe("undefined");
    }, 30_000);

    it("keeps each user's language with the user, switched in the header", async () => {
        const other = language === "vi" ? "en" : "vi";
        const inOther = (key: string) => translate(catalogue("officer", other), key);
        const officer = await open(USERS.officer);
        await officer.getByTestId("language").selectOption(other);
        await poll(() => officer.locator("nav a").first().textContent()).toBe(inOther("nav.lanes"));
        expect(await officer.locator("html").getAttribute("lang")).toBe(other);
        // Another screen, a new session: the officer's choice, while the supervisor keeps the gate's default.
        const again = await open(USERS.officer);
        await poll(() => again.locator("nav a").first().textContent()).toBe(inOther("nav.lanes"));
        const supervisor = await open(USERS.supervisor);
        expect(await supervisor.locator("nav a").first().textContent()).toBe(text("nav.lanes"));
        // The catalogue comes from the gate, cacheable and revalidated.
        const etag = await again.evaluate(async (lang) => {
            const first = await fetch(`/ui/i18n/officer.${lang}.json`);
            return { status: first.status, etag: first.headers.get("etag"), type: first.headers.get("content-type") };
        }, other);
        expect(etag).toMatchObject({ status: 200, type: "application/json; charset=utf-8" });
        expect(etag.etag).toMatch(/^"[\w-]+"$/);
        // Back to the gate's language, for the runs after this one.
        await again.getByTestId("language").selectOption(language);
        await poll(() => again.locator("nav a").first().textContent()).toBe(text("nav.lanes"));
    }, 30_000);

    it("left no page error, failed script or CSP violation behind", () => {
        expect(pageErrors.flat()).toEqual([]);
    });
});

describe.skipIf(!available)("the sync page in Vietnamese, central answering busy", () => {
    const dir = tempDir();
    let e2e: E2eGate;
    let browser: Browser;
    let context: BrowserContext | undefined;
    // A real central that is busy: 503 with Retry-After, for uploads and clearance polls alike.
    const central = createServer((_request, response) => {
        response.writeHead(503, { "retry-after": "30", "content-type": "application/json" });
        response.end(JSON.stringify({ message: "maintenance" }));
    });

    beforeAll(async () => {
        await new Promise<void>((resolve) => central.listen(0, "127.0.0.1", resolve));
        const { port } = central.address() as AddressInfo; // listening on TCP: address() is an AddressInfo
        e2e = await startE2eGate(dir.path, ["L1"], { language: "vi", centralUrl: `http://127.0.0.1:${port}` });
        browser = await launchChromium();
    }, 60_000);

    afterAll(async () => {
        await context?.close().catch(() => {});
        await browser?.close();
        await e2e?.stop();
        await new Promise((resolve) => central.close(resolve));
        dir.cleanup();
    }, 30_000);

    it("shows the last upload error in Vietnamese, its numbers as Vietnamese writes them", async () => {
        const session = await loggedIn(browser, e2e.url, USERS.technician, "#/sync");
        context = session.context;
        const vi = catalogue("officer", "vi");
        const lastError = session.page.getByTestId("sync-last-error");
        const expected = translate(vi, "syncError.CENTRAL_BUSY_RETRY", { status: "503", ms: "30.000" });
        // The page refreshes itself; the gate's first upload fails within its first backoff.
        await poll(async () => {
            await session.page.goto("/#/sync");
            return lastError.textContent();
        }, 30_000).toBe(expected);
        expect(await englishSentences(session.page, "syncError", "[data-testid=sync-last-error]")).toEqual([]);
        // The store's life cycle beside it: central is busy, so it has accepted nothing and nothing was pruned.
        const fact = (testid: string) => session.page.getByTestId(testid).textContent();
        expect(await fact("storage-retention")).toBe(translate(vi, "storage.retentionDays", { days: "90" }));
        expect(await fact("storage-last-checkpoint")).toBe(translate(vi, "storage.noCheckpoint"));
        expect(await fact("storage-oldest-unsynced")).toMatch(
            /^sự kiện 1, ghi lúc \d{2}\/\d{2}\/\d{4} \d{2}:\d{2}:\d{2}$/,
        );
        expect(await fact("storage-used")).toMatch(/^\d+(,\d)? \/ \d+(\.\d{3})* MiB$/);
        expect(await fact("storage-headroom")).not.toBe("");
        expect(await englishLeaks(session.page)).toEqual([]);
        expect(session.errors).toEqual([]);
    }, 60_000);
});
