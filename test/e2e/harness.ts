/**
 * End-to-end harness for the dashboard: a real gate with its lane devices played by the simulators
 * (one OPC UA lane PLC, serial-over-TCP scales and scanners, e-seal readers on the gate's broker, HTTP-push
 * plate cameras), users of every role, and Debian's Chromium driven by playwright-core.
 */
import { existsSync } from "node:fs";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import type { LanePlcSimulator } from "../../simulators/lane-plc.ts";
import { hashPassword } from "../../src/config/passwords.ts";
import type { Gate } from "../../src/gate.ts";
import { UserStore } from "../../src/store/users.ts";
import { eventually, startGate, testConfig } from "../helpers/gate.ts";
import {
    type LaneSimulators,
    laneDevices,
    laneSimulators,
    startLaneDeviceSide,
    startLanePlc,
} from "../helpers/lanes.ts";

export const CHROMIUM_PATH = "/usr/bin/chromium";

/**
 * True when Debian's Chromium is installed. Missing: a loud skip, or a failure when system tests are
 * required (GATE_REQUIRE_SYSTEM_TESTS=1, as CI sets it), like the other system tests (test/helpers/system.ts).
 */
export function chromiumAvailable(): boolean {
    if (existsSync(CHROMIUM_PATH)) return true;
    const message = `\n!!! SKIPPING dashboard end-to-end tests: ${CHROMIUM_PATH} is not installed (apt-get install chromium). !!!\n`;
    if (process.env.GATE_REQUIRE_SYSTEM_TESTS === "1") {
        throw new Error(`${message}GATE_REQUIRE_SYSTEM_TESTS=1 makes this a failure.`);
    }
    console.warn(message);
    return false;
}

export function launchChromium(): Promise<Browser> {
    return chromium.launch({
        executablePath: CHROMIUM_PATH,
        headless: true,
        args: [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--disable-quic",
        ],
    });
}

/** The e2e gate's name, as long as the demo's. */
export const GATE_NAME = "Demo gate (simulated devices)";

/** The control-room screen the dashboard is made for. */
export const VIEWPORT = { width: 1366, height: 768 };

export interface TestUser {
    name: string;
    password: string;
    role: "officer" | "supervisor" | "technician" | "auditor" | "admin";
}

export const USERS = {
    officer: { name: "officer.an", password: "officer-password-1", role: "officer" },
    officer2: { name: "officer.binh", password: "officer-password-2", role: "officer" },
    supervisor: { name: "supervisor.chi", password: "supervisor-password-1", role: "supervisor" },
    technician: { name: "tech.dung", password: "technician-password-1", role: "technician" },
    auditor: { name: "auditor.em", password: "auditor-password-1", role: "auditor" },
    admin: { name: "admin.gia", password: "admin-password-1", role: "admin" },
    /** Named after the role, as demo users are. */
    officerNamedByRole: { name: "officer", password: "officer-password-3", role: "officer" },
} as const satisfies Record<string, TestUser>;

/** A truck as the lane's devices see it, and what central declared for it. */
export interface Truck {
    declaration: string;
    channel: "GREEN" | "YELLOW" | "RED";
    tractor: string;
    trailer: string;
    container: string;
    seal: string;
    grossKg: number;
}

export const TRUCKS = {
    green: {
        declaration: "101234567820",
        channel: "GREEN",
        tractor: "15C-123.45",
        trailer: "15R-012.34",
        container: "CSQU3054383",
        seal: "VNC-0100001",
        grossKg: 28_500,
    },
    red: {
        declaration: "100001234540",
        channel: "RED",
        tractor: "15C-888.10",
        trailer: "15R-088.10",
        container: "ZEPU0037255",
        seal: "VNC-0100002",
        grossKg: 31_000,
    },
} as const satisfies Record<string, Truck>;

/** The simulated devices of one lane. */
export interface LaneKit extends LaneSimulators {
    laneId: string;
}

export interface E2eGate {
    gate: Gate;
    plc: LanePlcSimulator;
    kits: Map<string, LaneKit>;
    url: string;
    stop(): Promise<void>;
}

const declarationFor = (truck: Truck) => ({
    number: truck.declaration,
    type: truck.declaration.slice(0, 2),
    channel: truck.channel,
    status: "CLEARED",
    documentCheckDone: false,
    inspectionDone: false,
    declaredPlates: [truck.tractor, truck.trailer],
    containers: [{ number: truck.container, sealNumbers: [truck.seal] }],
    declaredGrossKg: truck.grossKg,
    version: 1,
});

/**
 * Starts the gate with `laneIds` lanes, each with a scale, a scanner, an e-seal reader, a front and a rear
 * push camera and the shared lane PLC; imports the clearance data of TRUCKS; creates USERS.
 */
export async function startE2eGate(
    dir: string,
    laneIds: readonly string[] = ["L1", "L2"],
    /** The dashboard's default language (config ui.defaultLanguage): what each user sees until they choose. */
    {
        language = "vi",
        laneYaml = () => "",
        centralUrl,
        gateYaml = "",
    }: {
        language?: "vi" | "en";
        /** More top-level keys of the gate's configuration, as YAML (its yard, say). */
        gateYaml?: string;
        /** Central's address (config central.url); unset, the gate is standalone. */
        centralUrl?: string;
        /** More keys of each lane, as YAML lines indented by 4 (its displays, say). */
        laneYaml?: (laneId: string) => string;
    } = {},
): Promise<E2eGate> {
    const stops: (() => Promise<void>)[] = [];
    const stopAll = async () => {
        for (const stop of stops.reverse()) await stop().catch(() => {});
    };
    try {
        const plc = await startLanePlc(dir, laneIds, { travelMs: 200, watchdogTimeoutMs: 20_000 });
        stops.push(() => plc.stop());
        const { yaml: lanesYaml } = await laneDevices(
            laneIds,
            plc.endpointUrl,
            // Import lanes: the TRUCKS carry import declarations (type 10), which an export lane holds.
            (lane, index) => `    name: Lane ${index + 1} — import
    direction: IN
${laneYaml(lane)}`,
        );
        const config = testConfig(
            dir,
            lanesYaml,
            // Generous timeouts: the browser, not the clock, decides when a test moves on.
            "rules: { requiredReads: [plate, declaration, weight], identifySeconds: 120, weighSeconds: 120, exitSeconds: 120 }" +
                (centralUrl === undefined ? "" : `\ncentral: { url: ${JSON.stringify(centralUrl)} }`) +
                (gateYaml === "" ? "" : `\n${gateYaml}`),
        );
        const simulators = await startLaneDeviceSide(config, dir, stops, {
            scaleRateHz: 10,
            cameraResend: { intervalMs: 200, max: 1 },
        });
        // A gate name as long as the demo's: the header must still hold on one line.
        const gate = await startGate({
            ...config,
            gate: { ...config.gate, name: GATE_NAME },
            ui: { defaultLanguage: language },
        });
        stops.push(() => gate.stop());
        gate.clearance.importData(
            {
                version: "e2e-1",
                declarations: Object.values(TRUCKS).map(declarationFor) as never,
                watchList: [],
            },
            Date.now(),
        );
        gate.clearance.setVersion("e2e-1", Date.now());
        const users = new UserStore(gate.database);
        for (const user of Object.values(USERS)) users.add(user.name, user.role, hashPassword(user.password));

        await simulators.connect(gate.addresses);
        const kits = new Map<string, LaneKit>();
        for (const lane of laneIds) kits.set(lane, { laneId: lane, ...laneSimulators(simulators, lane) });
        await eventually(
            () =>
                laneIds.every((lane) => gate.runtime(`plc-${lane.toLowerCase()}`)!.health().status === "online") ||
                undefined,
            30_000,
            "PLC sessions",
        );
        return { gate, plc, kits, url: gate.addresses.http, stop: stopAll };
    } catch (err) {
        await stopAll();
        throw err;
    }
}

/**
 * A truck drives up to the barrier: the entry loop, both plate cameras (with images), the seal, the
 * declaration and container scans. It is weighed only when `weigh` is set (else call weigh() later).
 */
export async function truckArrives(e2e: E2eGate, laneId: string, truck: Truck, weigh = true): Promise<void> {
    const kit = e2e.kits.get(laneId)!;
    e2e.plc.vehicleArrives(laneId);
    await kit.front.push({ text: truck.tractor, confidence: 0.96, countryCode: "VN", withImages: true });
    await kit.rear.push({ text: truck.trailer, confidence: 0.91, countryCode: "VN", withImages: true });
    await kit.seal.read({ sealId: truck.seal, type: "ISO18185", status: "SEALED", batteryPct: 80 });
    kit.scanner.scan(truck.declaration);
    kit.scanner.scan(truck.container);
    if (weigh) await weighTruck(e2e, laneId, truck);
}

export async function weighTruck(e2e: E2eGate, laneId: string, truck: Truck): Promise<void> {
    await e2e.kits.get(laneId)!.scale.driveOn(truck.grossKg + 40, { rampMs: 300, settleMs: 200 });
}

/** Once the barrier is open the truck drives through and off the weighbridge; resolves when the lane is idle. */
export async function truckLeaves(e2e: E2eGate, laneId: string): Promise<void> {
    await eventually(
        () => (["opening", "open"].includes(e2e.plc.state(laneId).barrier) ? true : undefined),
        15_000,
        `barrier of ${laneId} open`,
    );
    await eventually(() => (e2e.plc.state(laneId).barrier === "open" ? true : undefined), 15_000, "barrier open");
    e2e.plc.vehicleUnderBoom(laneId, true);
    await e2e.kits.get(laneId)!.scale.driveOff({ rampMs: 200, settleMs: 100 });
    await e2e.plc.vehicleLeaves(laneId, 200);
    await eventually(
        () => (e2e.gate.lanes.snapshot(laneId)?.state === "IDLE" ? true : undefined),
        15_000,
        `${laneId} idle again`,
    );
}

/** A fresh browser context (its own cookies) at the control-room screen size, logged in as `user`. */
export async function loggedIn(
    browser: Browser,
    url: string,
    user: TestUser,
    hash = "",
): Promise<{ context: BrowserContext; page: Page; errors: string[] }> {
    const context = await browser.newContext({ viewport: VIEWPORT, baseURL: url });
    const page = await context.newPage();
    const errors = watchPage(page);
    await page.goto(`/${hash}`);
    await login(page, user);
    return { context, page, errors };
}

/** Fills the login form and waits for the menu. */
export async function login(page: Page, user: TestUser): Promise<void> {
    await page.locator("#username").fill(user.name);
    await page.locator("#password").fill(user.password);
    // The login form's one button, in whatever language the page is in.
    await page.locator("form.login button[type=submit]").click();
    await page.locator("header .user").waitFor({ timeout: 10_000 });
}

/**
 * Page errors, CSP violations and failed scripts, collected for an assertion at the end of a test. A 401 or
 * 403 the page was meant to meet (no session yet, a role refused) is not an error of the page.
 */
export function watchPage(page: Page): string[] {
    const errors: string[] = [];
    page.on("pageerror", (err) => errors.push(`pageerror: ${err.message}`));
    page.on("console", (message) => {
        if (message.type() !== "error") return;
        const text = message.text();
        if (/status of 40[13]/.test(text)) return;
        errors.push(`console: ${text}`);
    });
    return errors;
}
