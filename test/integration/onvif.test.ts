/**
 * The ONVIF driver against the ONVIF camera simulator over real HTTP on loopback (no mocks of the onvif
 * library): connect, subscribe, plate events with exact text and a snapshot, wrong credentials, a camera
 * reboot mid-stream, stop() during a long poll, and a broken server.
 */
import { createServer, type Server } from "node:http";
import onvif from "onvif";
import { afterEach, describe, expect, it } from "vitest";
import { definition } from "../../devices/onvif-anpr.ts";
import { runSimulateCommand } from "../../simulators/cli.ts";
import { OnvifCameraSimulator, SNAPSHOT_JPEG } from "../../simulators/onvif-camera.ts";
import { Backoff } from "../../src/drivers/backoff.ts";
import type { OnvifDriverContext } from "../../src/drivers/driver.ts";
import { OnvifCameraDriver, type OnvifCameraDriverOptions } from "../../src/drivers/onvif.ts";
import { eventually } from "../helpers/gate.ts";
import { testLog } from "../helpers/tmp.ts";

interface Recorded {
    ctx: OnvifDriverContext;
    notifications: Array<{ xml: string; snapshot?: { contentType: string; bytes: Buffer } }>;
    statuses: Array<{ status: string; reason: string }>;
    lastStatus(): string | undefined;
}

function recorder(): Recorded {
    const notifications: Recorded["notifications"] = [];
    const statuses: Recorded["statuses"] = [];
    return {
        notifications,
        statuses,
        lastStatus: () => statuses.at(-1)?.status,
        ctx: {
            log: testLog,
            onNotification: async (xml, snapshot) => {
                notifications.push({ xml, snapshot });
            },
            setStatus: (status, reason) => {
                statuses.push({ status, reason });
            },
        },
    };
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function camera(options: Partial<ConstructorParameters<typeof OnvifCameraSimulator>[0]> = {}) {
    const sim = new OnvifCameraSimulator({ port: 0, username: "admin", password: "secret", ...options });
    await sim.start();
    cleanups.push(() => sim.stop());
    return sim;
}

function driver(port: number, rec: Recorded, options: Partial<OnvifCameraDriverOptions> = {}) {
    const d = new OnvifCameraDriver(
        {
            hostname: "127.0.0.1",
            port,
            username: "admin",
            password: "secret",
            plateTopic: definition.plateTopic,
            snapshot: true,
            renewSeconds: 30,
            pullTimeoutSeconds: 5,
            requestTimeoutMs: 3000,
            backoff: new Backoff(50, 300),
            ...options,
        },
        rec.ctx,
    );
    cleanups.push(() => d.stop());
    return d;
}

describe("OnvifCameraDriver with the simulator", () => {
    it("subscribes, goes online, and delivers a plate with its exact text and a snapshot JPEG", async () => {
        const sim = await camera();
        const rec = recorder();
        const d = driver(sim.port, rec);
        await d.start();
        await eventually(() => rec.lastStatus() === "online", 10_000, "online");
        expect(d.subscribed).toBe(true);
        expect(sim.activeSubscriptions).toBe(1);
        expect(d.cameraInfo?.serialNumber).toBe("003725");

        sim.plate({ text: "003725", countryCode: "VN", likelihood: 0.93 });
        sim.plate({ text: "桂A12345", countryCode: "CN", likelihood: 0.8 });
        await eventually(() => rec.notifications.length >= 2, 10_000, "two notifications");
        const [first, second] = rec.notifications;
        const decoded = definition.decode(first?.xml ?? "");
        expect(decoded.status).toBe("reading");
        if (decoded.status === "reading") {
            expect(decoded.values.text).toBe("003725");
            expect(decoded.values.countryCode).toBe("VN");
            expect(decoded.values.confidence).toBeCloseTo(0.93);
        }
        const chinese = definition.decode(second?.xml ?? "");
        expect(chinese.status === "reading" && chinese.values.text).toBe("桂A12345");
        expect(first?.snapshot?.contentType).toBe("image/jpeg");
        expect(Buffer.compare(first?.snapshot?.bytes ?? Buffer.alloc(0), Buffer.from(SNAPSHOT_JPEG))).toBe(0);

        const snap = await d.snapshot();
        expect(snap.bytes[0]).toBe(0xff);
        expect(snap.bytes[1]).toBe(0xd8);
    });

    it("goes online on a first poll answered at once (PT0S), and with PT1S on a camera that refuses PT0S", async () => {
        const quick = await camera();
        const rec = recorder();
        await driver(quick.port, rec).start();
        await eventually(() => rec.lastStatus() === "online", 10_000, "online");

        const strict = await camera({ refuseZeroTimeout: true });
        const faults: number[] = [];
        strict.on("request", (action, status) => {
            if (action === "PullMessages") faults.push(status);
        });
        const strictRec = recorder();
        await driver(strict.port, strictRec).start();
        await eventually(() => strictRec.lastStatus() === "online", 10_000, "online despite the refused PT0S");
        // One refused zero-timeout poll, then polls the camera accepts.
        expect(faults[0]).toBe(400);
        expect(faults.slice(1).every((status) => status === 200)).toBe(true);
        // The refusal is not an outage: the same status story as the camera that took PT0S.
        expect(strictRec.statuses.map((s) => s.status)).toEqual(rec.statuses.map((s) => s.status));
        strict.plate({ text: "29C12345", countryCode: "VN", likelihood: 0.9 });
        await eventually(() => strictRec.notifications.length >= 1, 10_000, "a plate after the fallback");
    });

    it("fetches snapshots from a Basic-protected URI too", async () => {
        const sim = await camera({ snapshotAuth: "basic" });
        const rec = recorder();
        const d = driver(sim.port, rec);
        await d.start();
        await eventually(() => rec.lastStatus() === "online", 10_000, "online");
        const snap = await d.snapshot();
        expect(snap.contentType).toBe("image/jpeg");
        expect(snap.bytes.length).toBe(SNAPSHOT_JPEG.length);
    });

    it("honours MessageLimit: a burst arrives over several pulls, none lost", async () => {
        const sim = await camera();
        const rec = recorder();
        const d = driver(sim.port, rec, { messageLimit: 2, snapshot: false });
        await d.start();
        await eventually(() => rec.lastStatus() === "online", 10_000, "online");
        const pullsBefore = sim.pulls;
        for (let i = 0; i < 5; i++) sim.plate({ text: `29C1234${i}`, likelihood: 0.9 });
        await eventually(() => rec.notifications.length >= 5, 10_000, "five notifications");
        expect(
            rec.notifications.map((n) => definition.decode(n.xml)).map((r) => r.status === "reading" && r.values.text),
        ).toEqual(["29C12340", "29C12341", "29C12342", "29C12343", "29C12344"]);
        expect(sim.pulls - pullsBefore).toBeGreaterThanOrEqual(3);
        expect(rec.notifications.every((n) => n.snapshot === undefined)).toBe(true);
    });

    it("reports a wrong password as degraded with a reason and never goes online", async () => {
        const sim = await camera();
        const rec = recorder();
        const d = driver(sim.port, rec, { password: "wrong" });
        await d.start();
        const refused = await eventually(
            () => rec.statuses.find((s) => s.status === "degraded" && /credentials/.test(s.reason)),
            10_000,
            "degraded for credentials",
        );
        expect(refused.reason).toMatch(/not authorized/i);
        expect(d.subscribed).toBe(false);
        expect(sim.authFailures).toBeGreaterThan(0);
        expect(rec.statuses.some((s) => s.status === "online")).toBe(false);
    });

    it("reports offline when nothing listens", async () => {
        const sim = await camera();
        const port = sim.port;
        await sim.stop();
        const rec = recorder();
        const d = driver(port, rec);
        await d.start();
        await eventually(
            () => rec.statuses.find((s) => s.status === "offline" && /unreachable/.test(s.reason)),
            10_000,
            "offline",
        );
        expect(d.reconnects).toBeGreaterThan(0);
    });

    it("resubscribes by itself after a camera reboot mid-stream, and later plates still arrive", async () => {
        const sim = await camera();
        const rec = recorder();
        const d = driver(sim.port, rec);
        await d.start();
        await eventually(() => rec.lastStatus() === "online", 10_000, "online");
        sim.plate({ text: "15C11111", likelihood: 0.9 });
        await eventually(() => rec.notifications.length === 1, 10_000, "plate before reboot");
        const created = sim.subscriptionsCreated;

        await sim.reboot(300);
        await eventually(() => sim.activeSubscriptions === 1 && d.subscribed, 15_000, "resubscribed");
        expect(sim.subscriptionsCreated).toBe(created + 1);
        expect(d.reconnects).toBeGreaterThan(0);
        expect(rec.statuses.some((s) => s.status === "offline")).toBe(true);
        expect(rec.lastStatus()).toBe("online");

        sim.plate({ text: "15R00123", likelihood: 0.88 });
        await eventually(() => rec.notifications.length === 2, 10_000, "plate after reboot");
        const after = definition.decode(rec.notifications[1]?.xml ?? "");
        expect(after.status === "reading" && after.values.text).toBe("15R00123");
    });

    it("recovers from dropped connections (connection breaker)", async () => {
        const sim = await camera();
        const rec = recorder();
        const d = driver(sim.port, rec, { snapshot: false });
        await d.start();
        await eventually(() => rec.lastStatus() === "online", 10_000, "online");
        sim.breakConnections();
        await eventually(() => d.reconnects > 0 && rec.lastStatus() === "online", 10_000, "back online");
        sim.plate({ text: "51LD12345", likelihood: 0.7 });
        await eventually(() => rec.notifications.length === 1, 10_000, "plate after break");
    });

    it("stop() returns during a long poll without waiting for it, unsubscribes, and is idempotent", async () => {
        const sim = await camera();
        const rec = recorder();
        // A 60 s long poll: if stop() waited for it, this test would hit its timeout.
        const d = driver(sim.port, rec, { pullTimeoutSeconds: 60, renewSeconds: 120 });
        await d.start();
        await eventually(() => rec.lastStatus() === "online", 10_000, "online");
        await eventually(() => sim.pendingPulls === 1, 5000, "long poll under way");
        await d.stop();
        await d.stop();
        expect(d.subscribed).toBe(false);
        await eventually(() => sim.activeSubscriptions === 0, 5000, "unsubscribed");
        expect(sim.unsubscribes).toBe(1);
    }, 20_000);

    it("stop() before the camera ever answered is prompt and clean", async () => {
        const rec = recorder();
        const d = driver(9, rec); // discard port: nothing answers
        await d.start();
        await d.stop();
        expect(d.subscribed).toBe(false);
    });
});

describe("OnvifCameraSimulator", () => {
    it("serves the onvif library's own client and its cam.on('event') PullPoint loop", async () => {
        const sim = await camera();
        const cam = new onvif.Cam({
            hostname: "127.0.0.1",
            port: sim.port,
            username: "admin",
            password: "secret",
            autoconnect: false,
        });
        await new Promise<void>((resolve, reject) => cam.connect((err) => (err ? reject(err) : resolve())));
        expect(cam.activeSource?.profileToken).toBe("Profile_1");
        const xmls: string[] = [];
        const listener = (_message: unknown, xml: string) => xmls.push(xml);
        cam.on("event", listener);
        await eventually(() => sim.pendingPulls === 1, 5000, "library long poll");
        sim.plate({ text: "003725", likelihood: 0.5 });
        await eventually(() => xmls.length > 0, 5000, "library event");
        // The library's "raw" XML has its xmlns declarations deleted, hence the driver's own PullPoint code.
        expect(xmls[0]).toContain(">003725<");
        cam.removeListener("event", listener);
    });

    it("refuses a bad WS-UsernameToken with ter:NotAuthorized but answers GetSystemDateAndTime", async () => {
        const sim = await camera();
        const cam = new onvif.Cam({
            hostname: "127.0.0.1",
            port: sim.port,
            username: "admin",
            password: "nope",
            autoconnect: false,
        });
        const err = await new Promise<Error | null>((resolve) => cam.connect((e) => resolve(e)));
        expect(err?.message).toMatch(/not authorized/i);
        expect(sim.authFailures).toBeGreaterThan(0);
    });

    it("runs from the CLI and prints one line per action", async () => {
        const lines: string[] = [];
        const controller = new AbortController();
        const done = runSimulateCommand(
            "onvif-camera",
            [
                "--port",
                "0",
                "--username",
                "admin",
                "--password",
                "secret",
                "--plate",
                "29C12345,15R00123",
                "--every",
                "100ms",
            ],
            {
                stdout: { write: (t: string) => lines.push(t) },
                stderr: { write: (t: string) => lines.push(t) },
                signal: controller.signal,
            },
        );
        await eventually(() => lines.filter((l) => l.includes("plate 15R00123")).length > 0, 5000, "two plates");
        controller.abort();
        expect(await done).toBe(0);
        expect(lines.join("")).toMatch(/ready, device service http:\/\/127\.0\.0\.1:\d+\/onvif\/device_service/);
        expect(lines.at(-1)).toMatch(/stopped after \d+ plates/);
        expect(
            await runSimulateCommand("onvif-camera", ["--port", "1"], {
                stdout: { write: () => 0 },
                stderr: { write: () => 0 },
            }),
        ).toBe(2);
    });
});

describe("OnvifCameraDriver against a broken server", () => {
    let server: Server | undefined;
    afterEach(async () => {
        await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
        server = undefined;
    });

    const answers = [
        "not xml at all <<<",
        '<?xml version="1.0"?><s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body/></s:Envelope>',
        '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body><Weird>1</Weird></s:Body></s:Envelope>',
        "<html><body>Gateway error</body></html>",
        '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body><tds:GetSystemDateAndTimeResponse xmlns:tds="http://www.onvif.org/ver10/device/wsdl"/></s:Body></s:Envelope>',
        "",
    ];

    it.each(answers.map((a, i) => [i, a] as const))("answer %i: degraded, not a crash", async (_i, answer) => {
        let requests = 0;
        server = createServer((req, res) => {
            req.resume();
            req.on("end", () => {
                requests++;
                res.writeHead(200, { "content-type": "application/soap+xml" }).end(answer);
            });
        });
        await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
        const address = server.address();
        const port = typeof address === "object" && address ? address.port : 0;
        const rec = recorder();
        const d = driver(port, rec);
        await d.start();
        await eventually(() => rec.statuses.find((s) => s.status === "degraded") ?? undefined, 10_000, "degraded");
        await eventually(() => requests >= 3 || undefined, 10_000, "retries");
        expect(rec.statuses.some((s) => s.status === "online")).toBe(false);
        await d.stop();
    });
});
