/**
 * The drivers' lane display in a real browser (Debian's Chromium through playwright-core), as a monitor at
 * the lane shows it: each step of a truck in Vietnamese, Chinese and English; STOP when the gate is killed,
 * and the lane again once it is back; a lane's token opens that lane only.
 */
import { writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
    type DisplayLine,
    type DisplaySignal,
    DRIVER_LANGUAGES,
    FALLBACK_KEYS,
    renderLine,
} from "../../src/display/message.ts";
import { type GateChild, spawnGate } from "../helpers/child.ts";
import { eventually } from "../helpers/gate.ts";
import { tempDir } from "../helpers/tmp.ts";
import {
    chromiumAvailable,
    type E2eGate,
    launchChromium,
    startE2eGate,
    TRUCKS,
    truckLeaves,
    weighTruck,
} from "./harness.ts";

const available = chromiumAvailable();
const dir = tempDir();

const TOKENS: Readonly<Record<string, string>> = {
    L1: "e2e-display-token-lane-1-abcdef",
    L2: "e2e-display-token-lane-2-abcdef",
};
/** A monitor at the lane. */
const KIOSK_VIEWPORT = { width: 1280, height: 720 };

const kioskUrl = (base: string, lane: string, token: string) =>
    `${base}/display/${lane}?token=${encodeURIComponent(token)}`;

interface Shown {
    signal: string | null;
    connected: string | null;
    plate: string | null;
    lines: Record<string, [string, string]>;
}

async function shownOn(page: Page): Promise<Shown> {
    const body = page.locator("body");
    const lines: Record<string, [string, string]> = {};
    for (const language of DRIVER_LANGUAGES) {
        const section = page.locator(`section[data-language="${language}"]`);
        lines[language] = [
            (await section.locator(".title").textContent()) ?? "",
            (await section.locator(".instruction").textContent()) ?? "",
        ];
    }
    const plate = page.locator("#plate");
    return {
        signal: await body.getAttribute("data-signal"),
        connected: await body.getAttribute("data-connected"),
        plate: (await plate.isHidden()) ? null : await plate.textContent(),
        lines,
    };
}

/** The two lines in every driver language, as the catalogues render them. */
const expectedLines = (keys: readonly [DisplayLine, DisplayLine]) =>
    Object.fromEntries(DRIVER_LANGUAGES.map((language) => [language, keys.map((line) => renderLine(line, language))]));

/** Waits until the page shows `signal` with these lines in all three languages (and the gate connected or not). */
async function waitForShown(
    page: Page,
    signal: DisplaySignal,
    keys: readonly [DisplayLine, DisplayLine],
    connected = true,
    what = `${signal} ${keys[1].key}`,
): Promise<Shown> {
    const lines = expectedLines(keys);
    let last: Shown | undefined;
    try {
        return await eventually(
            async () => {
                last = await shownOn(page);
                const same =
                    last.signal === signal &&
                    last.connected === String(connected) &&
                    JSON.stringify(last.lines) === JSON.stringify(lines);
                return same ? last : undefined;
            },
            30_000,
            what,
        );
    } catch (err) {
        throw new Error(`${(err as Error).message}; the page shows ${JSON.stringify(last)}`);
    }
}

const plateTitle = (plate: string): DisplayLine => ({ key: "display.plate", params: { plate } });
const STOP_WAIT: [DisplayLine, DisplayLine] = [{ key: "display.stop" }, { key: "display.wait" }];

describe.skipIf(!available)("lane display: a truck through lane 1, and the tokens", () => {
    let e2e: E2eGate;
    let browser: Browser;

    beforeAll(async () => {
        e2e = await startE2eGate(dir.path, ["L1", "L2"], {
            laneYaml: (lane) =>
                `    displays:\n      - { id: kiosk-${lane.toLowerCase()}, model: lane-display-kiosk, token: ${TOKENS[lane]} }\n`,
        });
        browser = await launchChromium();
    }, 120_000);

    afterAll(async () => {
        await browser?.close();
        await e2e?.stop();
    });

    it("shows each step of the truck in Vietnamese, Chinese and English", async () => {
        const context = await browser.newContext({ viewport: KIOSK_VIEWPORT });
        const page = await context.newPage();
        const errors: string[] = [];
        page.on("pageerror", (err) => errors.push(err.message));
        page.on("console", (message) => message.type() === "error" && errors.push(message.text()));
        const response = await page.goto(kioskUrl(e2e.url, "L1", TOKENS.L1 as string));
        expect(response?.status()).toBe(200);
        expect(response?.headers()["content-security-policy"]).toContain("script-src 'self'");

        const green = TRUCKS.green;
        const kit = e2e.kits.get("L1")!;
        // The lane is idle, every device online.
        await waitForShown(page, "stop", STOP_WAIT, true, "idle lane");

        // The truck is on the entry loop and the cameras read it: the driver is asked for the declaration's QR.
        e2e.plc.vehicleArrives("L1");
        await kit.front.push({ text: green.tractor, confidence: 0.96, countryCode: "VN", withImages: true });
        await kit.rear.push({ text: green.trailer, confidence: 0.91, countryCode: "VN", withImages: true });
        const asked = await waitForShown(page, "scan", [plateTitle(green.tractor), { key: "display.scanQr" }]);
        expect(asked.plate).toBe(green.tractor);
        expect(asked.lines.zh).toEqual([`车牌 ${green.tractor}`, "请扫报关单二维码"]);

        // Scanned and sealed: wait to be weighed.
        await kit.seal.read({ sealId: green.seal, type: "ISO18185", status: "SEALED", batteryPct: 80 });
        kit.scanner.scan(green.declaration);
        kit.scanner.scan(green.container);
        await waitForShown(page, "stop", [plateTitle(green.tractor), { key: "display.wait" }]);

        // Weighed and released: proceed.
        await weighTruck(e2e, "L1", green);
        const released = await waitForShown(page, "go", [plateTitle(green.tractor), { key: "display.proceed" }]);
        expect(released.lines).toEqual({
            vi: [`Biển số ${green.tractor}`, "Mời xe đi"],
            zh: [`车牌 ${green.tractor}`, "请通行"],
            en: [`Plate ${green.tractor}`, "Proceed"],
        });
        const shot = process.env.LANE_DISPLAY_SCREENSHOT ?? join(dir.path, "lane-display.png");
        await page.screenshot({ path: shot });

        // Through the barrier: the lane is idle again, and nothing of the truck stays on the screen.
        await truckLeaves(e2e, "L1");
        const idle = await waitForShown(page, "stop", STOP_WAIT, true, "idle after the truck");
        expect(idle.plate).toBeNull();

        // A red-channel truck: to the inspection area.
        const red = TRUCKS.red;
        e2e.plc.vehicleArrives("L1");
        await kit.front.push({ text: red.tractor, confidence: 0.96, countryCode: "VN", withImages: true });
        await kit.rear.push({ text: red.trailer, confidence: 0.91, countryCode: "VN", withImages: true });
        await kit.seal.read({ sealId: red.seal, type: "ISO18185", status: "SEALED", batteryPct: 80 });
        kit.scanner.scan(red.declaration);
        kit.scanner.scan(red.container);
        await weighTruck(e2e, "L1", red);
        const inspection = await waitForShown(page, "inspect", [
            plateTitle(red.tractor),
            { key: "display.inspection" },
        ]);
        expect(inspection.lines.vi?.[1]).toBe("Vào khu kiểm hóa");
        // The page shows the plate and nothing else of the truck.
        const text = (await page.locator("body").textContent()) ?? "";
        for (const secret of [red.declaration, red.container, red.seal, red.trailer])
            expect(text).not.toContain(secret);
        expect(errors, errors.join("\n")).toEqual([]);
        await context.close();
    }, 180_000);

    it("a display token for lane 1 reads neither lane 2's page, state nor stream", async () => {
        const context = await browser.newContext({ viewport: KIOSK_VIEWPORT });
        const page = await context.newPage();
        const refused = await page.goto(kioskUrl(e2e.url, "L2", TOKENS.L1 as string));
        expect(refused?.status()).toBe(403);
        expect(await refused?.json()).toMatchObject({ error: "DISPLAY_TOKEN" });

        await page.goto(kioskUrl(e2e.url, "L1", TOKENS.L1 as string));
        // Lane 1 holds the red truck of the test before: whatever it shows, it shows it from the gate.
        await eventually(
            async () => (await shownOn(page)).connected === "true" || undefined,
            30_000,
            "lane 1's display",
        );
        // From the lane 1 kiosk itself: lane 2's state and stream with lane 1's token.
        const probe = await page.evaluate(async (token) => {
            // The page's globals: the test's TypeScript has no DOM types.
            const { fetch: pageFetch, EventSource: Source } = globalThis as unknown as {
                fetch: (url: string) => Promise<{ status: number }>;
                EventSource: new (
                    url: string,
                ) => { readyState: number; close(): void; addEventListener(type: string, fn: () => void): void };
            };
            const state = (await pageFetch(`/display/L2/state?token=${encodeURIComponent(token)}`)).status;
            const stream = await new Promise<{ error: boolean; messages: number; readyState: number }>((resolve) => {
                const source = new Source(`/display/L2/stream?token=${encodeURIComponent(token)}`);
                let messages = 0;
                source.addEventListener("display", () => messages++);
                source.addEventListener("error", () => {
                    const readyState = source.readyState;
                    source.close();
                    resolve({ error: true, messages, readyState });
                });
            });
            return { state, stream };
        }, TOKENS.L1 as string);
        expect(probe.state).toBe(403);
        // A refused stream is not retried by the browser (readyState CLOSED = 2) and carried no message.
        expect(probe.stream).toEqual({ error: true, messages: 0, readyState: 2 });
        await context.close();
    }, 60_000);
});

async function freePort(): Promise<number> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as { port: number };
    await new Promise((resolve) => server.close(resolve));
    return port;
}

describe.skipIf(!available)("lane display: the gate killed", () => {
    let browser: Browser;
    let child: GateChild | undefined;
    afterAll(async () => {
        await browser?.close();
        child?.child.kill("SIGKILL");
        await child?.exited;
        dir.cleanup();
    });

    it("shows STOP when the gate process is SIGKILLed, and the lane again once it is restarted", async () => {
        const httpPort = await freePort();
        const token = "kill-test-display-token-0123";
        const file = join(dir.path, "kill.yaml");
        // One lane whose e-seal reader never connects: the lane's own message is the device fault, so each of
        // the three screens (the lane, STOP without the gate, the lane again) is told apart.
        writeFileSync(
            file,
            `gate: { id: K01, name: Kill test }
storage: { path: ${JSON.stringify(join(dir.path, "kill.db"))} }
http: { host: 127.0.0.1, port: ${httpPort} }
broker: { mode: embedded, host: 127.0.0.1, port: 0 }
lanes:
  - id: L1
    devices:
      - { id: seal-l1, model: eseal-mqtt-json, auth: { username: seal-l1, password: seal-l1-password } }
    displays:
      - { id: kiosk-l1, model: lane-display-kiosk, token: ${token} }
`,
        );
        browser = await launchChromium();
        child = await spawnGate(file);
        const page = await (await browser.newContext({ viewport: KIOSK_VIEWPORT })).newPage();
        await page.goto(kioskUrl(child.httpUrl, "L1", token));
        const fault: [DisplayLine, DisplayLine] = [{ key: "display.fault" }, { key: "display.manual" }];
        await waitForShown(page, "fault", fault, true, "the lane from the running gate");

        child.child.kill("SIGKILL");
        expect(await child.exited).toBeNull();
        const stop = await waitForShown(page, "stop", FALLBACK_KEYS, false, "STOP after the kill");
        expect(stop.lines.en).toEqual(["STOP", "Wait for the officer"]);
        expect(stop.lines.vi).toEqual(["DỪNG LẠI", "Chờ cán bộ hải quan"]);
        expect(stop.lines.zh).toEqual(["停车", "请等待工作人员"]);

        child = await spawnGate(file);
        await waitForShown(page, "fault", fault, true, "the lane again after the restart");
    }, 180_000);
});
