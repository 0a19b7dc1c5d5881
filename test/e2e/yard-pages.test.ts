/**
 * The Yard and Time release pages in Chromium (issue 19), in Vietnamese and English, on a real gate with a
 * yard: visits are its own `visit.*` events in the event log (the yard part folds them and calls trucks
 * forward as it does for an entry camera's reads), so the pages show what the gate itself holds. The charts
 * are drawn by the charting library served by the gate under the dashboard's strict policy: any CSP
 * violation or console error fails the test.
 */
import type { Page } from "playwright-core";
import { ulid } from "ulid";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hashPassword } from "../../src/config/passwords.ts";
import type { Gate } from "../../src/gate.ts";
import { catalogue } from "../../src/i18n/format.ts";
import { UserStore } from "../../src/store/users.ts";
import type { TimeReleaseReport, YardView } from "../../src/yard/types.ts";
import { apiSession } from "../helpers/api.ts";
import { eventually, startGate, testConfig } from "../helpers/gate.ts";
import { tempDir } from "../helpers/tmp.ts";
import { chromiumAvailable, launchChromium, loggedIn, USERS } from "./harness.ts";

const available = chromiumAvailable();
const WAIT_MS = 30_000;
const ZONE = "Asia/Ho_Chi_Minh";
const MIN = 60_000;

/** A day as the date fields take it (dd/mm/yyyy) in the gate's zone. */
function dayText(ms: number): string {
    const p = Object.fromEntries(
        new Intl.DateTimeFormat("en-GB", { timeZone: ZONE, day: "2-digit", month: "2-digit", year: "numeric" })
            .formatToParts(new Date(ms))
            .map((part) => [part.type, part.value]),
    );
    return `${p.day}/${p.month}/${p.year}`;
}

/** Installed before the page's own scripts: every CSP violation the browser reports is kept for the test. */
async function recordViolations(page: Page): Promise<() => Promise<string[]>> {
    await page.addInitScript(() => {
        const seen: string[] = [];
        (globalThis as unknown as { cspViolations: string[] }).cspViolations = seen;
        // Runs in the page, where globalThis is its window.
        const page = globalThis as unknown as {
            addEventListener(
                type: string,
                listener: (event: { violatedDirective: string; blockedURI: string }) => void,
            ): void;
        };
        page.addEventListener("securitypolicyviolation", (e) => {
            seen.push(`${e.violatedDirective} ${e.blockedURI}`);
        });
    });
    return () => page.evaluate(() => (globalThis as unknown as { cspViolations: string[] }).cspViolations ?? []);
}

/** How many pixels of a canvas are painted: a chart that drew nothing has none. */
function paintedPixels(page: Page, selector: string): Promise<number> {
    return page
        .locator(selector)
        .first()
        .evaluate((canvas) => {
            // Runs in the page: a HTMLCanvasElement.
            const c = canvas as unknown as {
                width: number;
                height: number;
                getContext(kind: "2d"): {
                    getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray };
                };
            };
            const { data } = c.getContext("2d").getImageData(0, 0, c.width, c.height);
            let painted = 0;
            for (let i = 3; i < data.length; i += 4) if ((data[i] as number) > 0) painted++;
            return painted;
        });
}

describe.skipIf(!available)("the Yard and Time release pages", () => {
    const dir = tempDir();
    let gate: Gate;
    let browser: Awaited<ReturnType<typeof launchChromium>>;
    const started = Date.now();
    const closed: { visitId: string; plate: string; channel: string; laneId: string }[] = [
        { visitId: `V-${ulid()}`, plate: "15C12301", channel: "GREEN", laneId: "L1" },
        { visitId: `V-${ulid()}`, plate: "15C12302", channel: "GREEN", laneId: "L1" },
        { visitId: `V-${ulid()}`, plate: "15C12303", channel: "RED", laneId: "L1" },
    ];
    const waiting = [
        { visitId: `V-${ulid()}`, plate: "20C45601", goodsClass: "perishable" },
        { visitId: `V-${ulid()}`, plate: "20C45602", goodsClass: "general" },
        { visitId: `V-${ulid()}`, plate: "20C45603", goodsClass: "general" },
    ];

    const append = (draft: Parameters<Gate["log"]["append"]>[0]) => gate.log.append(draft);

    beforeAll(async () => {
        gate = await startGate(
            testConfig(
                dir.path,
                `  - id: L1
    devices:
      - { id: cam-1, model: dahua-itsapi-anpr, role: front, auth: { username: cam-1, password: camera-password } }
  - id: YARD
    devices:
      - { id: cam-yard, model: dahua-itsapi-anpr, role: front, auth: { username: cam-yard, password: camera-password } }
`,
                `yard:
    entries: [{ id: Y1, camera: cam-yard }]
    laneGroups: { L1: import }
    queuePolicy: perishablesFirst`,
            ),
        );
        const users = new UserStore(gate.database);
        for (const user of [USERS.officer, USERS.supervisor])
            users.add(user.name, user.role, hashPassword(user.password));

        // Three trucks that went through today: arrival 100-90 minutes ago, each stage minutes apart; the
        // red one through the inspection area.
        for (const [index, visit] of closed.entries()) {
            let at = started - (100 - index * 5) * MIN;
            const step = (minutes: number) => {
                at += minutes * MIN;
                return at;
            };
            const { visitId, laneId, channel } = visit;
            const stage = (minutes: number, data: { stage: string; [key: string]: string }) =>
                append({ type: "visit.stage", occurredAt: step(minutes), data: { visitId, ...data } });
            await append({
                type: "visit.arrived",
                occurredAt: at,
                // The export queue has no lane here: the yard calls none of these, the test's events tell it all.
                data: {
                    visitId,
                    laneGroup: "export",
                    goodsClass: "general",
                    tractorPlate: visit.plate,
                    declarations: [],
                },
            });
            await append({ type: "visit.called", occurredAt: step(10 + index), data: { visitId, laneId } });
            await stage(3, { stage: "laneEntered", laneId });
            await stage(1, { stage: "decided", decision: channel === "RED" ? "INSPECT" : "RELEASE", channel });
            if (channel === "RED") {
                await stage(5, { stage: "inspectionStarted" });
                await stage(30, { stage: "inspectionEnded" });
            }
            await stage(2, { stage: "released" });
            await stage(4, { stage: "exited" });
        }
        // Three trucks waiting now: the gate calls the first (perishables first) to the free lane L1.
        for (const [index, visit] of waiting.entries()) {
            await append({
                type: "visit.arrived",
                occurredAt: started - (30 - index) * MIN,
                data: {
                    visitId: visit.visitId,
                    laneGroup: "import",
                    goodsClass: visit.goodsClass,
                    tractorPlate: visit.plate,
                    declarations: [],
                },
            });
        }
        const officer = apiSession(gate, "officer", "officer-api");
        await eventually(
            async () => {
                const view = (await (await officer.inject("GET", "/api/v1/yard")).json()) as YardView;
                const importGroup = view.groups.find((group) => group.laneGroup === "import");
                return importGroup && importGroup.called.length === 1 && importGroup.queue.length === 2
                    ? true
                    : undefined;
            },
            WAIT_MS,
            "one truck called to L1 and two waiting",
        );
        // The yard folds the events as they commit: the report has them all once the red truck's whole visit is in.
        await eventually(
            async () => {
                const report = (await (
                    await officer.inject(
                        "GET",
                        `/api/v1/reports/time-release?from=${new Date(started - 3 * 60 * MIN).toISOString()}&to=${new Date(started + 60 * MIN).toISOString()}`,
                    )
                ).json()) as TimeReleaseReport;
                const whole = (channel: string) =>
                    report.rows.find((row) => row.channel === channel && row.interval === "visit")?.count;
                return whole("GREEN") === 2 && whole("RED") === 1 ? true : undefined;
            },
            WAIT_MS,
            "the three visits through to their exit in the report",
        );
        browser = await launchChromium();
    }, 90_000);

    afterAll(async () => {
        await browser?.close();
        await gate?.stop();
        dir.cleanup();
    });

    for (const language of ["vi", "en"] as const) {
        const text = (key: string, params: Record<string, string> = {}) =>
            (catalogue("officer", language)[key] ?? key).replace(/\{(\w+)\}/g, (_, name: string) => params[name] ?? "");

        it(`Time release in ${language}: the table, the queue chart and the stage chart, under the strict policy`, async () => {
            const { page, context, errors } = await loggedIn(browser, gate.addresses.http, USERS.officer);
            const violations = await recordViolations(page);
            if (language === "en") {
                await page.locator("[data-testid=language]").selectOption("en");
                await page.locator("html[lang=en]").waitFor({ state: "attached" });
            }
            await page.goto("/#/timerelease");
            await page.reload();
            // One place in the menu for both pages; each shows both as tabs.
            await page.locator('nav a[data-nav="yard"].active').waitFor();
            expect(await page.locator('nav a[data-nav="yard"]').textContent()).toBe(text("nav.yard"));
            expect(await page.locator('nav a[data-nav="timerelease"]').count()).toBe(0);
            const tabs = page.getByTestId("yard-tabs");
            expect(await tabs.locator("a").allTextContents()).toEqual([text("nav.yard"), text("nav.timerelease")]);
            expect(await tabs.locator('a[aria-selected="true"]').getAttribute("href")).toBe("#/timerelease");
            const form = page.getByTestId("report-form");
            // Days in the language's order (dd/mm/yyyy), in the gate's zone: from the day the first truck arrived.
            expect(await form.locator("input[name=from]").getAttribute("placeholder")).toBe(text("format.datePattern"));
            await form.locator("input[name=from]").fill(dayText(started - 2 * 60 * MIN));
            await form.locator("input[name=to]").fill(dayText(started));
            await form.locator("button[type=submit]").click();

            const table = page.getByTestId("report-table");
            const whole = table.locator('tr[data-interval="visit"]');
            await whole.first().waitFor({ timeout: WAIT_MS });
            expect(await table.locator("th").allTextContents()).toEqual(
                ["channel", "lane", "goods", "interval", "count", "median", "p90", "max"].map((k) =>
                    text(`timeRelease.${k}`),
                ),
            );
            // Green: two whole visits of 20 and 21 minutes (10+3+1+2+4, 11+3+1+2+4): median 0:20:00 by nearest rank.
            const green = whole.filter({ hasText: text("channel.GREEN") });
            expect(await green.locator("td").allTextContents()).toEqual([
                text("channel.GREEN"),
                "L1",
                text("yard.goodsGeneral"),
                text("timeRelease.wholeVisit"),
                "2",
                "20:00",
                "21:00",
                "21:00",
            ]);
            const red = table.locator("tr", { hasText: text("channel.RED") });
            expect(await red.locator("td:nth-child(4)").allTextContents()).toContain(
                `${text("timeRelease.stageInspectionStarted")} → ${text("timeRelease.stageInspectionEnded")}`,
            );
            expect(await page.getByTestId("summary").textContent()).toContain(
                language === "vi" ? "6 lượt" : "6 visits", // the three that went through and the three waiting
            );

            // Both charts are canvases the library painted.
            for (const chart of ["queue-chart", "stage-chart"]) {
                const canvas = `[data-testid=${chart}] canvas`;
                await page.locator(canvas).first().waitFor({ timeout: WAIT_MS });
                expect(await paintedPixels(page, canvas), chart).toBeGreaterThan(500);
            }
            // The queue chart's legend names the time in the page's language, not in the chart library's English.
            const queueLegend = (await page.locator("[data-testid=queue-chart] .u-legend").textContent()) ?? "";
            expect(queueLegend).toContain(text("timeRelease.queueTime"));
            if (language === "vi") expect(queueLegend).not.toContain("Time");
            expect(await page.locator("[data-testid=stage-chart] .u-legend").textContent()).toContain(
                text("channel.RED"),
            );

            // The CSV link asks for the same report as CSV.
            const href = (await page.getByTestId("csv-link").getAttribute("href")) ?? "";
            expect(href).toContain("format=csv");
            // Decoded keeping its byte order mark, which a spreadsheet needs to read the file as UTF-8.
            const csv = await page.evaluate(
                async (url) =>
                    new TextDecoder("utf-8", { ignoreBOM: true }).decode(await (await fetch(url)).arrayBuffer()),
                href,
            );
            expect(csv.split("\r\n")[0]).toBe("\uFEFFchannel,laneId,goodsClass,interval,count,medianMs,p90Ms,maxMs");
            expect(csv).toContain("GREEN,L1,general,visit,2,1200000,1260000,1260000");
            // And the queue length over the same range.
            const queueHref = (await page.getByTestId("queue-csv-link").getAttribute("href")) ?? "";
            expect(queueHref).toContain("table=queue");
            expect(await page.getByTestId("queue-csv-link").textContent()).toBe(text("timeRelease.queueCsv"));
            const queueCsv = await (await page.request.get(queueHref)).text();
            expect(queueCsv.split("\r\n")[0]).toBe("\uFEFFat,laneGroup,length");
            expect(queueCsv.split("\r\n").some((line) => /,import,\d+$/.test(line))).toBe(true);

            // A date that is not one is refused on the page, in the language.
            await form.locator("input[name=to]").fill("31/02/2026");
            await form.locator("button[type=submit]").click();
            await page
                .locator(".notice-error", {
                    hasText: text("search.badDate", { text: "31/02/2026", pattern: text("format.datePattern") }),
                })
                .waitFor();

            expect(await violations()).toEqual([]);
            expect(errors).toEqual([]);
            await context.close();
        }, 90_000);

        it(`Yard in ${language}: the queue in call order, the called truck with its lane, and the reorder form`, async () => {
            const { page, context, errors } = await loggedIn(browser, gate.addresses.http, USERS.officer);
            const violations = await recordViolations(page);
            if (language === "en") {
                await page.locator("[data-testid=language]").selectOption("en");
                await page.locator("html[lang=en]").waitFor({ state: "attached" });
            }
            await page.goto("/#/timerelease");
            await page.reload();
            // From the Time release page to the Yard page by its tab.
            await page.getByTestId("yard-tabs").locator('a[data-tab="yard"]').click();
            const queue = page.locator('[data-testid=queue][data-group="import"]');
            await queue.waitFor({ timeout: WAIT_MS });
            // Perishables first: the perishable truck was called, the two general ones wait in arrival order.
            const called = page.getByTestId("called");
            expect(await called.count()).toBe(1);
            expect(await called.textContent()).toContain(waiting[0]!.plate);
            expect(await called.textContent()).toContain(text("yard.toLane", { lane: "L1" }));
            await expect
                .poll(() => queue.locator("tbody tr td.plate-text").allTextContents(), { timeout: WAIT_MS })
                .toEqual([waiting[1]!.plate, waiting[2]!.plate]);
            expect(await page.getByTestId("yard-policy").textContent()).toContain(text("yard.policyPerishablesFirst"));
            expect(await page.locator("[data-testid=lane][data-lane=L1]").textContent()).toBe(
                text("yard.laneBusy", { lane: "L1" }),
            );

            // The officer moves the last truck to the front, with a reason from the list.
            const form = page.getByTestId("reorder-form");
            await form.locator("select[name=visitId]").selectOption(waiting[2]!.visitId);
            await form.locator("input[name=position]").fill("1");
            await form.locator("select[name=reasonCode]").selectOption("HUMANITARIAN");
            await form.locator("button[type=submit]").click();
            await form.locator(".notice-ok").waitFor({ timeout: WAIT_MS });
            expect(await form.locator(".notice-ok").textContent()).toBe(text("yard.reordered"));
            await expect
                .poll(() => queue.locator("tbody tr td.plate-text").allTextContents(), { timeout: WAIT_MS })
                .toEqual([waiting[2]!.plate, waiting[1]!.plate]);
            // Put back for the other language's run.
            await form.locator("select[name=visitId]").selectOption(waiting[1]!.visitId);
            await form.locator("select[name=reasonCode]").selectOption("QUEUE_CORRECTION");
            await form.locator("button[type=submit]").click();
            await expect
                .poll(() => queue.locator("tbody tr td.plate-text").allTextContents(), { timeout: WAIT_MS })
                .toEqual([waiting[1]!.plate, waiting[2]!.plate]);

            expect(await violations()).toEqual([]);
            expect(errors).toEqual([]);
            await context.close();
        }, 90_000);
    }

    // After both languages' walks, which count the visits: a fourth truck arrives and the officer ends its visit.
    it("Yard in vi: an officer ends the visit of a truck that left, with the reason, and it leaves the queue", async () => {
        const text = (key: string) => catalogue("officer", "vi")[key] ?? key;
        const left = { visitId: `V-${ulid()}`, plate: "20C45604" };
        await append({
            type: "visit.arrived",
            data: {
                ...{ visitId: left.visitId, laneGroup: "import", goodsClass: "general" },
                ...{ tractorPlate: left.plate, declarations: [] },
            },
        });
        const { page, context, errors } = await loggedIn(browser, gate.addresses.http, USERS.officer);
        const violations = await recordViolations(page);
        // The officer chose English in the walk before: remembered per user, so chosen back.
        await page.locator("[data-testid=language]").selectOption("vi");
        await page.locator("html[lang=vi]").waitFor({ state: "attached" });
        await page.goto("/#/yard");
        const queue = page.locator('[data-testid=queue][data-group="import"]');
        await expect
            .poll(() => queue.locator("tbody tr td.plate-text").allTextContents(), { timeout: WAIT_MS })
            .toContain(left.plate);
        const form = page.getByTestId("cancel-form");
        expect(await form.locator("button[type=submit]").textContent()).toBe(text("yard.cancel"));
        await form.locator("select[name=visitId]").selectOption(left.visitId);
        await form.locator("select[name=reasonCode]").selectOption("DRIVER_LEFT");
        expect(await form.locator("select[name=reasonCode] option:checked").textContent()).toBe(
            text("yard.cancelDriverLeft"),
        );
        await form.locator("button[type=submit]").click();
        await form.locator(".notice-ok").waitFor({ timeout: WAIT_MS });
        expect(await form.locator(".notice-ok").textContent()).toBe(text("yard.cancelled"));
        await expect
            .poll(() => queue.locator("tbody tr td.plate-text").allTextContents(), { timeout: WAIT_MS })
            .not.toContain(left.plate);
        const ended = gate.log.read(0, 100_000).find((e) => e.type === "visit.cancelled");
        expect(ended?.data).toMatchObject({ visitId: left.visitId, reasonCode: "DRIVER_LEFT" });
        expect(await violations()).toEqual([]);
        expect(errors).toEqual([]);
        await context.close();
    }, 90_000);
});
