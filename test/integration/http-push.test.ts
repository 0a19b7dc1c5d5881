/**
 * The push receiver with both camera simulators over real HTTP on loopback: answers only after the
 * handler's commit, 503 and Dahua's resend, authentication, address allow lists, oversized bodies and
 * malformed pushes, and the `gate-edge simulate hik-camera|dahua-camera` commands.
 */
import pino from "pino";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { definition as dahua } from "../../devices/dahua-itsapi-anpr.ts";
import { definition as hik } from "../../devices/hikvision-isapi-anpr.ts";
import type { HttpPushCameraModel, PlateRead } from "../../devices/types.ts";
import { runSimulateCommand } from "../../simulators/cli.ts";
import { PushCameraSimulator } from "../../simulators/push-camera.ts";
import { hashPassword } from "../../src/config/passwords.ts";
import type { PushHandler } from "../../src/drivers/driver.ts";
import { HttpPushReceiver } from "../../src/drivers/httpPush.ts";

const log = pino({ level: "silent" });
const PASSWORD_HASH = hashPassword("secret");

interface Stored {
    deviceId: string;
    read: PlateRead;
    observedAt?: number;
}

/** What the lane runtime does with a push: decode with the model, refuse invalid ones, commit the rest. */
function runtimeHandler(
    deviceId: string,
    model: HttpPushCameraModel,
    commit: (s: Stored) => Promise<void>,
): PushHandler {
    return async (request) => {
        const result = model.decode(request);
        if (result.status === "invalid") return { outcome: "refused", reason: result.reason };
        if (result.status === "reading") await commit({ deviceId, read: result.values, observedAt: result.observedAt });
        return { outcome: "stored" };
    };
}

function deferred<T = void>() {
    let resolve!: (value: T) => void;
    let reject!: (err: Error) => void;
    const promise = new Promise<T>((res, rej) => {
        resolve = res;
        reject = rej;
    });
    return { promise, resolve, reject };
}

describe("HttpPushReceiver with the push camera simulators", () => {
    let receiver: HttpPushReceiver;
    let url: string;
    const stored: Stored[] = [];
    /** Replaced by tests that hold or fail the commit. */
    let commit: (s: Stored) => Promise<void> = async (s) => void stored.push(s);

    beforeAll(async () => {
        receiver = new HttpPushReceiver({
            host: "127.0.0.1",
            port: 0,
            log,
            cameras: [
                {
                    deviceId: "cam-front-l1",
                    model: hik,
                    auth: { username: "cam-front-l1", passwordHash: PASSWORD_HASH },
                    handler: runtimeHandler("cam-front-l1", hik, (s) => commit(s)),
                },
                {
                    deviceId: "cam-rear-l1",
                    model: dahua,
                    auth: { username: "cam-rear-l1", passwordHash: PASSWORD_HASH },
                    allow: ["127.0.0.1", "::1"],
                    handler: runtimeHandler("cam-rear-l1", dahua, (s) => commit(s)),
                },
            ],
        });
        url = `http://127.0.0.1:${await receiver.start()}`;
    });

    afterAll(async () => {
        await receiver.stop();
        await receiver.stop();
    });

    afterEach(() => {
        stored.length = 0;
        commit = async (s) => void stored.push(s);
    });

    const hikCamera = (password = "secret") =>
        new PushCameraSimulator({ model: "hikvision-isapi-anpr", url, username: "cam-front-l1", password });
    const dahuaCamera = (resend = { intervalMs: 20, max: 3 }) =>
        new PushCameraSimulator({
            model: "dahua-itsapi-anpr",
            url,
            username: "cam-rear-l1",
            password: "secret",
            resend,
        });

    it("Should store a Hikvision push with both pictures and answer 200", async () => {
        const answer = await hikCamera().push({ text: "29C12345", confidence: 0.97, countryCode: "VN" });
        expect(answer).toEqual({ status: 200, body: "OK", attempts: 1 });
        expect(stored).toHaveLength(1);
        expect(stored[0]?.deviceId).toBe("cam-front-l1");
        expect(stored[0]?.read).toMatchObject({ text: "29C12345", confidence: 0.97, countryCode: "VN" });
        expect(stored[0]?.read.images.map((i) => i.name)).toEqual(["detectionPicture.jpg", "licensePlatePicture.jpg"]);
    });

    it("Should answer Dahua {Result:true} only after the handler's commit resolved", async () => {
        const held = deferred();
        const reached = deferred();
        commit = async (s) => {
            reached.resolve();
            await held.promise;
            stored.push(s);
        };
        let settled = false;
        const pushing = dahuaCamera()
            .push({ text: "15R00123", confidence: 0.88 })
            .finally(() => {
                settled = true;
            });
        await reached.promise;
        // The commit has started and is held: the camera must still be waiting for its answer.
        await new Promise((resolve) => setImmediate(resolve));
        expect(settled).toBe(false);
        expect(stored).toHaveLength(0);
        held.resolve();
        expect(await pushing).toEqual({ status: 200, body: '{"Result":true}', attempts: 1 });
        expect(stored.map((s) => s.read.text)).toEqual(["15R00123"]);
    });

    it("Should answer 503 when the commit fails, and store Dahua's resend", async () => {
        const before = receiver.cameraStats("cam-rear-l1");
        let calls = 0;
        commit = async (s) => {
            calls++;
            if (calls === 1) throw new Error("disk full");
            stored.push(s);
        };
        const answer = await dahuaCamera().push({ text: "15R00123", confidence: 0.9 });
        expect(answer).toEqual({ status: 200, body: '{"Result":true}', attempts: 2 });
        expect(stored).toHaveLength(1);
        const after = receiver.cameraStats("cam-rear-l1");
        expect(after.failed - before.failed).toBe(1);
        expect(after.stored - before.stored).toBe(1);
    });

    it("Should let Dahua give up after max attempts when every commit fails", async () => {
        commit = async () => {
            throw new Error("store closed");
        };
        const answer = await dahuaCamera({ intervalMs: 1, max: 2 }).push({ text: "15R00123", confidence: 0.9 });
        expect(answer.status).toBe(503);
        expect(answer.attempts).toBe(2);
        expect(JSON.parse(answer.body)).toMatchObject({ Result: false });
    });

    it("Should answer Dahua's keep-alive with {Result:true} and store nothing", async () => {
        expect(await dahuaCamera().keepAlive()).toEqual({ status: 200, body: '{"Result":true}', attempts: 1 });
        expect(stored).toHaveLength(0);
    });

    it("Should refuse a wrong password or an unknown username with 401 and count it", async () => {
        const before = receiver.cameraStats("cam-front-l1").unauthorized;
        const answer = await hikCamera("wrong").push({ text: "29C12345", confidence: 0.9 });
        expect(answer.status).toBe(401);
        expect(receiver.cameraStats("cam-front-l1").unauthorized).toBe(before + 1);
        const stranger = new PushCameraSimulator({
            model: "hikvision-isapi-anpr",
            url,
            username: "nobody",
            password: "x",
        });
        expect((await stranger.push({ text: "29C12345", confidence: 0.9 })).status).toBe(401);
        const anonymous = new PushCameraSimulator({ model: "hikvision-isapi-anpr", url });
        expect((await anonymous.push({ text: "29C12345", confidence: 0.9 })).status).toBe(401);
        expect(stored).toHaveLength(0);
    });

    it("Should refuse a 50 MB body with 413 and the reason, then serve the next request", async () => {
        const camera = dahuaCamera();
        const huge = new Uint8Array(50 * 1024 * 1024);
        const answer = await camera.sendRaw("/NotificationInfo/TollgateInfo", "application/json", huge);
        expect(answer.status).toBe(413);
        expect(JSON.parse(answer.body)).toEqual({ Result: false, Message: `body over ${8 * 1024 * 1024} bytes` });
        expect(receiver.counters.tooLarge).toBeGreaterThanOrEqual(1);
        expect((await camera.push({ text: "15R00123", confidence: 0.9 })).status).toBe(200);
        expect(stored).toHaveLength(1);
    });

    it.each([
        ["non-JSON", "application/json", "{Picture:", "body is not UTF-8 JSON"],
        ["a wrong content type", "text/plain", "{}", "Content-Type text/plain is not application/json"],
        ["no content type", "", "{}", "Content-Type (none) is not application/json"],
        [
            "broken base64",
            "application/json",
            JSON.stringify({
                Picture: { Plate: { PlateNumber: "15R00123", Confidence: 90 }, NormalPic: { Content: "%%%%" } },
            }),
            "NormalPic.Content is not valid base64",
        ],
    ])("Should refuse a Dahua push with %s: 400 with the reason", async (_name, contentType, body, reason) => {
        const answer = await dahuaCamera().sendRaw("/NotificationInfo/TollgateInfo", contentType, body);
        expect(answer.status).toBe(400);
        expect(JSON.parse(answer.body)).toEqual({ Result: false, Message: reason });
        expect(stored).toHaveLength(0);
    });

    it("Should refuse a Hikvision multipart push without its XML part: 400 with the reason", async () => {
        const answer = await hikCamera().sendRaw(
            "/ISAPI/Event/notification/alert",
            "multipart/form-data; boundary=abc",
            '--abc\r\nContent-Disposition: form-data; name="detectionPicture.jpg"\r\nContent-Type: image/jpeg\r\n\r\n\xff\xd8\xff\r\n--abc--\r\n',
        );
        expect(answer).toEqual({ status: 400, body: "refused: multipart body has no XML part", attempts: 1 });
    });

    it("Should answer 404 for a path no camera model uses", async () => {
        const answer = await hikCamera().sendRaw("/somewhere/else", "application/xml", "<a/>");
        expect(answer.status).toBe(404);
        expect(receiver.counters.notFound).toBeGreaterThanOrEqual(1);
    });

    it("Should print one line per push from the simulate commands", async () => {
        const out: string[] = [];
        const io = { stdout: { write: (t: string) => out.push(t) }, stderr: { write: (t: string) => out.push(t) } };
        const hikCode = await runSimulateCommand(
            "hik-camera",
            ["--url", url, "--username", "cam-front-l1", "--password", "secret", "--plate", "29C12345,15R00123"],
            io,
        );
        const dahuaCode = await runSimulateCommand(
            "dahua-camera",
            ["--url", url, "--username", "cam-rear-l1", "--password", "secret", "--plate", "15R00123", "--no-images"],
            io,
        );
        expect([hikCode, dahuaCode]).toEqual([0, 0]);
        expect(out.join("").trim().split("\n")).toEqual([
            `hik-camera hikvision-isapi-anpr → ${url}: push 29C12345 → 200 OK`,
            `hik-camera hikvision-isapi-anpr → ${url}: push 15R00123 → 200 OK`,
            `dahua-camera dahua-itsapi-anpr → ${url}: push 15R00123 → 200 {"Result":true}`,
        ]);
        expect(stored.map((s) => s.read.text)).toEqual(["29C12345", "15R00123", "15R00123"]);
        expect(await runSimulateCommand("hik-camera", ["--url", url], io)).toBe(2);
    });
});

describe("HttpPushReceiver address allow lists", () => {
    it("Should refuse an unauthenticated push from an address no camera allows with 403", async () => {
        const stored: string[] = [];
        const receiver = new HttpPushReceiver({
            host: "127.0.0.1",
            port: 0,
            log,
            cameras: [
                {
                    deviceId: "cam-yard",
                    model: hik,
                    allow: ["10.9.9.9"],
                    handler: async (r) => {
                        stored.push(r.path);
                        return { outcome: "stored" };
                    },
                },
            ],
        });
        const port = await receiver.start();
        try {
            const camera = new PushCameraSimulator({ model: "hikvision-isapi-anpr", url: `http://127.0.0.1:${port}` });
            const answer = await camera.push({ text: "29C12345", confidence: 0.9 });
            expect(answer.status).toBe(403);
            expect(answer.body).toContain("127.0.0.1 is not allowed");
            expect(receiver.counters.forbidden).toBe(1);
            expect(stored).toEqual([]);
        } finally {
            await receiver.stop();
        }
    });

    it("Should accept an unauthenticated push from an allowed address", async () => {
        const receiver = new HttpPushReceiver({
            host: "127.0.0.1",
            port: 0,
            log,
            cameras: [
                {
                    deviceId: "cam-yard",
                    model: hik,
                    allow: ["127.0.0.1"],
                    handler: async () => ({ outcome: "stored" }),
                },
            ],
        });
        const port = await receiver.start();
        try {
            const camera = new PushCameraSimulator({ model: "hikvision-isapi-anpr", url: `http://127.0.0.1:${port}` });
            expect((await camera.push({ text: "29C12345", confidence: 0.9 })).status).toBe(200);
            expect(receiver.cameraStats("cam-yard")).toMatchObject({ requests: 1, stored: 1 });
        } finally {
            await receiver.stop();
        }
    });

    it("Should refuse to start with a camera that has neither auth nor allow", async () => {
        const receiver = new HttpPushReceiver({
            host: "127.0.0.1",
            port: 0,
            log,
            cameras: [{ deviceId: "cam-open", model: dahua, handler: async () => ({ outcome: "stored" }) }],
        });
        await expect(receiver.start()).rejects.toMatchObject({ code: "CONFIG_INVALID" });
        await receiver.stop();
    });
});
