/**
 * The push receiver with both camera simulators over real HTTP on loopback: answers only after the
 * handler's commit, 503 and Dahua's resend, authentication, address allow lists, oversized bodies and
 * malformed pushes, and the `gate-edge simulate hik-camera|dahua-camera` commands. Digest is tested with
 * curl as an outside client besides the simulators and hand-made Authorization headers.
 */
import { execFile } from "node:child_process";
import { request as httpRequest } from "node:http";
import pino from "pino";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { definition as dahua } from "../../devices/dahua-itsapi-anpr.ts";
import { definition as hik } from "../../devices/hikvision-isapi-anpr.ts";
import type { HttpPushCameraModel, PlateRead } from "../../devices/types.ts";
import { runSimulateCommand } from "../../simulators/cli.ts";
import { PushCameraSimulator } from "../../simulators/push-camera.ts";
import { hashPassword } from "../../src/config/passwords.ts";
import {
    type DigestAlgorithm,
    digestHa1,
    digestResponse,
    PUSH_REALM,
    parseDigestParams,
    pushCameraCredentials,
} from "../../src/drivers/httpDigest.ts";
import { HttpPushReceiver, type PushHandler } from "../../src/drivers/httpPush.ts";

const log = pino({ level: "silent" });
const PASSWORD_HASH = hashPassword("secret");
const TOLLGATE = "/NotificationInfo/TollgateInfo";
const DAHUA_BODY = JSON.stringify({ Picture: { Plate: { PlateNumber: "29C12345", Confidence: 93, IsExist: true } } });

interface RawAnswer {
    status: number;
    body: string;
    /** Each WWW-Authenticate header on its own. */
    challenges: string[];
}

/** One POST exactly as given, over a fresh connection. */
function post(url: string, path: string, headers: Record<string, string>, body = DAHUA_BODY): Promise<RawAnswer> {
    return new Promise((resolve, reject) => {
        const req = httpRequest(
            new URL(path, url),
            { method: "POST", headers: { "content-type": "application/json", ...headers }, agent: false },
            (res) => {
                const chunks: Buffer[] = [];
                res.on("data", (chunk: Buffer) => chunks.push(chunk));
                res.on("end", () =>
                    resolve({
                        status: res.statusCode ?? 0,
                        body: Buffer.concat(chunks).toString("utf8"),
                        challenges: res.headersDistinct["www-authenticate"] ?? [],
                    }),
                );
            },
        );
        req.on("error", reject);
        req.end(body);
    });
}

/** The Digest challenge of a 401 for `algorithm`. */
function challengeFor(answer: RawAnswer, algorithm: DigestAlgorithm): Map<string, string> {
    const found = answer.challenges
        .map((value) => parseDigestParams(value))
        .find((params) => params?.get("algorithm") === algorithm);
    if (!found) throw new Error(`no ${algorithm} challenge in ${JSON.stringify(answer.challenges)}`);
    return found;
}

/** An Authorization header answering `nonce` as a camera would. */
function digestHeader(p: {
    username: string;
    password: string;
    nonce: string;
    nc: number;
    algorithm?: DigestAlgorithm;
    uri?: string;
}): string {
    const algorithm = p.algorithm ?? "MD5";
    const uri = p.uri ?? TOLLGATE;
    const nc = p.nc.toString(16).padStart(8, "0");
    const cnonce = `c${p.nc}`;
    const ha1 = digestHa1(algorithm, p.username, PUSH_REALM, p.password);
    const response = digestResponse({ algorithm, ha1, nonce: p.nonce, nc, cnonce, qop: "auth", method: "POST", uri });
    return (
        `Digest username="${p.username}", realm="${PUSH_REALM}", nonce="${p.nonce}", uri="${uri}", ` +
        `algorithm=${algorithm}, response="${response}", qop=auth, nc=${nc}, cnonce="${cnonce}"`
    );
}

/** curl as an outside client: status code and body of one push. */
function curl(args: string[]): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
        execFile("curl", ["-sS", "-w", "\n%{http_code}", ...args], { timeout: 60_000 }, (err, stdout) => {
            if (err) return reject(err);
            const lines = stdout.trimEnd().split("\n");
            resolve({ status: Number(lines.pop()), body: lines.join("\n") });
        });
    });
}

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
                    auth: pushCameraCredentials("cam-front-l1", "secret"),
                    handler: runtimeHandler("cam-front-l1", hik, (s) => commit(s)),
                },
                {
                    deviceId: "cam-rear-l1",
                    model: dahua,
                    auth: pushCameraCredentials("cam-rear-l1", "secret"),
                    allow: ["127.0.0.1", "::1"],
                    handler: runtimeHandler("cam-rear-l1", dahua, (s) => commit(s)),
                },
                {
                    // Configured for Basic too (auth.basic), with a scrypt hash: a camera that cannot do Digest.
                    deviceId: "cam-old",
                    model: hik,
                    auth: { username: "cam-old", passwordHash: PASSWORD_HASH, basic: true },
                    handler: runtimeHandler("cam-old", hik, (s) => commit(s)),
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

    it("Should store a push from curl --digest (MD5, qop=auth), an outside client", async () => {
        const answer = await curl([
            "--digest",
            "-u",
            "cam-rear-l1:secret",
            "-H",
            "Content-Type: application/json",
            "--data",
            DAHUA_BODY,
            `${url}${TOLLGATE}`,
        ]);
        expect(answer).toEqual({ status: 200, body: '{"Result":true}' });
        expect(stored.map((s) => [s.deviceId, s.read.text])).toEqual([["cam-rear-l1", "29C12345"]]);
        const wrong = await curl(["--digest", "-u", "cam-rear-l1:wrong", "--data", DAHUA_BODY, `${url}${TOLLGATE}`]);
        expect(wrong.status).toBe(401);
        expect(stored).toHaveLength(1);
    });

    it("Should challenge with Digest MD5 and SHA-256, and Basic only where a camera on the path accepts it", async () => {
        const dahuaPath = await post(url, TOLLGATE, {});
        expect(dahuaPath.status).toBe(401);
        expect(dahuaPath.challenges.map((c) => parseDigestParams(c)?.get("algorithm") ?? c.split(" ")[0])).toEqual([
            "MD5",
            "SHA-256",
        ]);
        expect(challengeFor(dahuaPath, "MD5").get("qop")).toBe("auth");
        expect(challengeFor(dahuaPath, "MD5").get("realm")).toBe(PUSH_REALM);
        // cam-old (auth.basic) pushes to the Hikvision path: Basic is offered there, after Digest.
        const hikPath = await post(url, "/ISAPI/Event/notification/alert", {});
        expect(hikPath.challenges.at(-1)).toBe(`Basic realm="${PUSH_REALM}", charset="UTF-8"`);
        expect(hikPath.challenges).toHaveLength(3);
    });

    it("Should push with Digest from the simulators, answering the challenge once and reusing the nonce", async () => {
        const camera = dahuaCamera();
        const before = { ...receiver.counters, camera: receiver.cameraStats("cam-rear-l1").unauthorized };
        expect((await camera.push({ text: "15R00123", confidence: 0.9 })).status).toBe(200);
        expect(camera.sent).toBe(2); // the challenge, then the push
        // The challenge is the first step of a login, not a failed one.
        expect(receiver.counters.challenged - before.challenged).toBe(1);
        expect(receiver.counters.unauthorized - before.unauthorized).toBe(0);
        expect(receiver.cameraStats("cam-rear-l1").unauthorized - before.camera).toBe(0);
        expect((await camera.push({ text: "15R00124", confidence: 0.9 })).status).toBe(200);
        expect(camera.sent).toBe(3); // nonce reused with nc 2: no new challenge
        const sha = new PushCameraSimulator({
            model: "hikvision-isapi-anpr",
            url,
            username: "cam-front-l1",
            password: "secret",
            digestAlgorithm: "SHA-256",
        });
        expect((await sha.push({ text: "29C12345", confidence: 0.9 })).status).toBe(200);
        expect(stored.map((s) => s.read.text)).toEqual(["15R00123", "15R00124", "29C12345"]);
    });

    it("Should refuse Basic for a camera on Digest only, and accept it where auth.basic is set", async () => {
        const basicToDigestOnly = new PushCameraSimulator({
            model: "hikvision-isapi-anpr",
            url,
            username: "cam-front-l1",
            password: "secret",
            scheme: "basic",
        });
        const refused = await basicToDigestOnly.push({ text: "29C12345", confidence: 0.9 });
        expect(refused.status).toBe(401);
        const old = new PushCameraSimulator({
            model: "hikvision-isapi-anpr",
            url,
            username: "cam-old",
            password: "secret",
            scheme: "basic",
        });
        expect((await old.push({ text: "29C99999", confidence: 0.9 })).status).toBe(200);
        expect(stored.map((s) => s.deviceId)).toEqual(["cam-old"]);
    });

    it("Should refuse a replayed Digest request (same nonce count) and one for another uri", async () => {
        const nonce = challengeFor(await post(url, TOLLGATE, {}), "MD5").get("nonce") ?? "";
        const header = digestHeader({ username: "cam-rear-l1", password: "secret", nonce, nc: 1 });
        expect((await post(url, TOLLGATE, { authorization: header })).status).toBe(200);
        const replay = await post(url, TOLLGATE, { authorization: header });
        expect(replay.status).toBe(401);
        expect(stored).toHaveLength(1);
        // The next count on the same nonce is fine; a request signed for KeepAlive is not a TollgateInfo.
        const next = digestHeader({ username: "cam-rear-l1", password: "secret", nonce, nc: 2 });
        expect((await post(url, TOLLGATE, { authorization: next })).status).toBe(200);
        const other = digestHeader({
            username: "cam-rear-l1",
            password: "secret",
            nonce,
            nc: 3,
            uri: "/NotificationInfo/KeepAlive",
        });
        expect((await post(url, TOLLGATE, { authorization: other })).status).toBe(401);
        expect(stored).toHaveLength(2);
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

describe("HttpPushReceiver Digest nonces and the login limit", () => {
    let now = Date.parse("2026-03-01T08:00:00Z");
    const stored: string[] = [];
    let receiver: HttpPushReceiver;
    let url: string;

    beforeAll(async () => {
        receiver = new HttpPushReceiver({
            host: "127.0.0.1",
            port: 0,
            log,
            loginRateLimit: { maxFailures: 3, windowMinutes: 10 },
            digestNonces: { lifetimeMs: 60_000, now: () => now },
            cameras: [
                {
                    deviceId: "cam-rear-l1",
                    model: dahua,
                    auth: pushCameraCredentials("cam-rear-l1", "secret"),
                    handler: runtimeHandler("cam-rear-l1", dahua, async (s) => void stored.push(s.read.text)),
                },
            ],
        });
        url = `http://127.0.0.1:${await receiver.start()}`;
    });

    afterAll(async () => {
        await receiver.stop();
    });

    it("Should answer stale=true to an expired nonce with a right response, and the simulator goes on", async () => {
        const camera = new PushCameraSimulator({
            model: "dahua-itsapi-anpr",
            url,
            username: "cam-rear-l1",
            password: "secret",
            resend: { intervalMs: 1, max: 1 },
        });
        expect((await camera.push({ text: "15R00123", confidence: 0.9 })).status).toBe(200);
        const nonce = challengeFor(await post(url, TOLLGATE, {}), "SHA-256").get("nonce") ?? "";
        now += 61_000; // the nonces above are past their 60 s lifetime
        const expired = await post(url, TOLLGATE, {
            authorization: digestHeader({
                username: "cam-rear-l1",
                password: "secret",
                nonce,
                nc: 1,
                algorithm: "SHA-256",
            }),
        });
        expect(expired.status).toBe(401);
        expect(challengeFor(expired, "MD5").get("stale")).toBe("true");
        const wrongOnExpired = await post(url, TOLLGATE, {
            authorization: digestHeader({ username: "cam-rear-l1", password: "guess", nonce, nc: 2 }),
        });
        expect(wrongOnExpired.status).toBe(401);
        expect(challengeFor(wrongOnExpired, "MD5").has("stale")).toBe(false);
        // The simulator's nonce expired too: it takes the stale challenge's nonce and is stored.
        const sentBefore = camera.sent;
        const unauthorizedBefore = receiver.cameraStats("cam-rear-l1").unauthorized;
        expect((await camera.push({ text: "15R00124", confidence: 0.9 })).status).toBe(200);
        expect(camera.sent - sentBefore).toBe(2);
        expect(receiver.cameraStats("cam-rear-l1").unauthorized).toBe(unauthorizedBefore); // stale is no failure
        expect(stored).toEqual(["15R00123", "15R00124"]);
    });

    it("Should count wrong Digest logins in the limit: after 3 from an address, 429 without checking", async () => {
        const before = receiver.counters.throttled;
        const nonce = challengeFor(await post(url, TOLLGATE, {}), "MD5").get("nonce") ?? "";
        const statuses: number[] = [];
        for (let nc = 1; nc <= 5; nc++) {
            const authorization = digestHeader({ username: "cam-rear-l1", password: `guess-${nc}`, nonce, nc });
            statuses.push((await post(url, TOLLGATE, { authorization })).status);
        }
        // The wrong password on an expired nonce in the test above was this address's first failure.
        expect(statuses).toEqual([401, 401, 429, 429, 429]);
        expect(receiver.counters.throttled - before).toBe(3);
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
