/**
 * The HTTP receiver plate cameras push to (Hikvision ISAPI alarms, Dahua ITSAPI; docs/devices.md "Plate cameras").
 * It is its own Fastify server on its own port: the cameras' network is not the officers' API, and a
 * camera must never reach the API's routes, nor an officer's browser the cameras'.
 *
 * Every request is matched to one bound camera before its body is read:
 * - with `Authorization: Digest` (httpDigest.ts: MD5 or SHA-256, qop=auth, signed nonces, nonce counts
 *   against replay), by username, then the response is checked against the camera's HA1 and, if the
 *   camera also has `allow`, the source address;
 * - with `Authorization: Basic`, only for a camera configured with `auth.basic`, by username, then the
 *   password is checked against its hash (off the event loop), then `allow`;
 * - without either, by source address among the cameras that have no `auth` and list it in `allow`.
 * No match answers 401 (bad or missing credentials; a Digest challenge per algorithm, plus Basic when a
 * camera on that path accepts it; `stale=true` when only the nonce had expired) or 403 (address not
 * allowed). Both schemes count in the login limiter alike. A matched request goes to the camera's PushHandler and is answered with the camera's
 * model: stored → reply("stored"), refused → reply("refused", reason); a handler that rejects (the
 * store failed) → 503, so a Dahua camera resends. Bodies over the largest model's maxBodyBytes → 413
 * without being read, and the connection is closed so the camera stops sending.
 *
 * Digest is offered to every camera with credentials, as the cameras' firmware expects; Basic sends the
 * password in clear and is accepted only where configured. Passwords and the Authorization header are
 * never logged.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import Fastify, {
    type FastifyBaseLogger,
    type FastifyError,
    type FastifyInstance,
    type FastifyReply,
    type FastifyRequest,
} from "fastify";
import type { Logger } from "pino";
import type { HttpPushCameraModel, PushRequest } from "../../devices/types.ts";
import { verifyPasswordAsync } from "../config/passwords.ts";
import type { DeviceCredentials, GateConfig } from "../config/types.ts";
import { errorMessage, GateError } from "../core/errors.ts";
import { DeviceLoginLimiter, type LoginAttempt } from "../core/loginRateLimiter.ts";
import {
    challenges,
    DEFAULT_NONCE_LIFETIME_MS,
    DigestNonces,
    digestResponse,
    PUSH_REALM,
    parseDigestAuthorization,
    responsesEqual,
} from "./httpDigest.ts";
import {
    addressOf,
    type InputOutcome,
    modelOf,
    type PushBinding,
    READ_ONLY,
    type TransportModule,
} from "./transport.ts";

/**
 * What the receiver hands to the runtime of the camera a request came from (as `{kind: "push"}` input).
 * Resolves with the outcome once the read is durable (then the camera gets its success answer, e.g.
 * Dahua's {"Result":true}); "refused" for a request that could not be trusted (a 4xx with the reason).
 */
export type PushHandler = (request: PushRequest) => Promise<InputOutcome>;

/** One camera the receiver accepts pushes from. */
export interface PushCameraBinding {
    deviceId: string;
    model: HttpPushCameraModel;
    /**
     * The camera's credentials: `digest` (HA1 per algorithm, digestSecrets()) for Digest, `passwordHash`
     * (sealPassword() or hashPassword()) for Basic, which is accepted only with `basic: true`.
     */
    auth?: DeviceCredentials;
    /**
     * Source addresses (exact IPv4 or IPv6 text) the camera posts from. Required for a camera without
     * `auth`; with `auth`, a further restriction.
     */
    allow?: readonly string[];
    handler: PushHandler;
}

export interface HttpPushReceiverOptions {
    /** Address to listen on, e.g. "0.0.0.0" or the cameras' VLAN address. */
    host: string;
    /** Port to listen on; 0 picks a free one (tests). */
    port: number;
    log: Logger;
    cameras: readonly PushCameraBinding[];
    /**
     * Wrong logins per source address and per camera within the window; more are answered 429 without
     * their password being checked (config `push.loginRateLimit`). Absent: not limited (receiver tests).
     */
    loginRateLimit?: { maxFailures: number; windowMinutes: number };
    /** Digest nonces: lifetime (default 5 min) and clock (tests). */
    digestNonces?: { lifetimeMs?: number; now?: () => number };
}

/** Per-camera counters. */
export interface PushCameraCounters {
    /** Requests identified as this camera (including ones whose password then failed). */
    requests: number;
    stored: number;
    refused: number;
    /** Wrong password, or right password from an address outside `allow`. */
    unauthorized: number;
    /** The handler rejected (store failure); answered 503. */
    failed: number;
}

/** What a login's check found; "stale": right credentials on a nonce that is not current. */
type LoginVerdict = "ok" | "wrong" | "stale" | "replayed";

/** Requests no camera could be matched to, and ones refused before matching. */
export interface PushReceiverCounters {
    /** Unknown username, or credentials that are malformed or of no scheme on offer: 401. */
    unauthorized: number;
    /**
     * Requests without credentials where credentials are needed: answered 401 with the challenge. The first
     * step of every Digest login, so not logged: a camera may send each push this way first.
     */
    challenged: number;
    /** No credentials and an address no camera allows: 403. */
    forbidden: number;
    /** Body over the limit: 413. */
    tooLarge: number;
    /** Logins refused unchecked: too many wrong ones from the address or for the camera: 429. */
    throttled: number;
    /** A path or method no bound model uses: 404. */
    notFound: number;
}

const TEXT = "text/plain; charset=utf-8";

/** IPv4-mapped IPv6 ("::ffff:10.0.0.5") and plain IPv4 compare as the same address. */
function normaliseAddress(address: string | undefined): string {
    const a = (address ?? "").trim().toLowerCase();
    return a.startsWith("::ffff:") && a.includes(".") ? a.slice(7) : a;
}

function parseBasic(header: string | undefined): { username: string; password: string } | "absent" | "malformed" {
    if (header === undefined) return "absent";
    const m = /^Basic\s+([A-Za-z0-9+/]+=*)\s*$/i.exec(header);
    if (!m?.[1]) return "malformed";
    const decoded = Buffer.from(m[1], "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    if (colon < 0) return "malformed";
    return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

function sha256(text: string): Buffer {
    return createHash("sha256").update(text, "utf8").digest();
}

/**
 * Error rules: start() rejects with GateError CONFIG_INVALID when the bindings are unsound (no camera, a
 * camera with neither auth nor allow, a duplicate deviceId or username, two cameras without auth on the
 * same address and path) and with the listen error when the port cannot be bound. Requests never make
 * it throw: each one is answered (2xx/4xx/503) and counted. stop() is idempotent and never rejects.
 */
export class HttpPushReceiver {
    private app: FastifyInstance | undefined;
    private boundPort = 0;
    private readonly cameraCounters = new Map<string, PushCameraCounters>();
    private readonly matched = new WeakMap<FastifyRequest, PushCameraBinding>();
    /** Requests that came without a Content-Type: the model must see "", not the placeholder. */
    private readonly untyped = new WeakSet<FastifyRequest>();
    /** username → sha256 of the password that last verified, so a camera pushing every second costs one scrypt. */
    private readonly verified = new Map<string, Buffer>();
    readonly counters: PushReceiverCounters = {
        unauthorized: 0,
        challenged: 0,
        forbidden: 0,
        tooLarge: 0,
        notFound: 0,
        throttled: 0,
    };
    private readonly logins: DeviceLoginLimiter | undefined;
    private readonly nonces: DigestNonces;

    constructor(private readonly options: HttpPushReceiverOptions) {
        if (options.loginRateLimit) this.logins = new DeviceLoginLimiter(options.loginRateLimit);
        this.nonces = new DigestNonces(
            options.digestNonces?.lifetimeMs ?? DEFAULT_NONCE_LIFETIME_MS,
            options.digestNonces?.now ?? Date.now,
        );
    }

    /** The port listened on (after start()). */
    get port(): number {
        return this.boundPort;
    }

    /** Counters of one camera (zeros for an unknown id). */
    cameraStats(deviceId: string): PushCameraCounters {
        return {
            ...(this.cameraCounters.get(deviceId) ?? {
                requests: 0,
                stored: 0,
                refused: 0,
                unauthorized: 0,
                failed: 0,
            }),
        };
    }

    /** Listens and resolves with the bound port. A second call while started resolves with the same port. */
    async start(): Promise<number> {
        if (this.app) return this.boundPort;
        const { cameras, log } = this.options;
        this.validate();
        for (const camera of cameras) {
            this.cameraCounters.set(camera.deviceId, {
                requests: 0,
                stored: 0,
                refused: 0,
                unauthorized: 0,
                failed: 0,
            });
        }
        const bodyLimit = Math.max(...cameras.map((c) => c.model.maxBodyBytes));
        const app = Fastify({
            // pino's Logger is a FastifyBaseLogger; warn level: one line per request would flood a gate's log.
            loggerInstance: log.child({ component: "push-receiver" }, { level: "warn" }) as FastifyBaseLogger,
            bodyLimit,
            // A camera on a slow link uploading two JPEGs; a stalled upload is dropped after this.
            requestTimeout: 60_000, // 60 s
        });
        // Bodies are the model's to decode, byte for byte: no JSON or text parsing, for any content type.
        app.removeAllContentTypeParsers();
        app.addContentTypeParser("*", { parseAs: "buffer" }, (_request, body, done) => done(null, body));

        app.addHook("onRequest", async (request, reply) => {
            // Fastify answers 415 itself for a body without Content-Type; the model is to judge that (400 + reason).
            if (!request.headers["content-type"]) {
                request.headers["content-type"] = "application/octet-stream";
                this.untyped.add(request);
            }
            const outcome = await this.authenticate(request, reply);
            // Returning the reply tells Fastify it was answered here, so neither body nor handler follow.
            if (outcome === "answered") return reply;
            if (outcome) this.matched.set(request, outcome);
        });
        app.setErrorHandler((error: FastifyError, request, reply) => this.onError(error, request, reply));
        app.setNotFoundHandler((request, reply) => {
            this.counters.notFound++;
            log.warn(
                { path: request.url.split("?")[0], method: request.method, source: normaliseAddress(request.ip) },
                "camera push to an unknown path",
            );
            return reply
                .status(404)
                .type(TEXT)
                .send(`no push path ${request.method} ${request.url.split("?")[0]}`);
        });

        const paths = [...new Set(cameras.flatMap((c) => c.model.paths))];
        for (const path of paths) app.post(path, (request, reply) => this.onPush(path, request, reply));

        try {
            await app.listen({ host: this.options.host, port: this.options.port });
        } catch (err) {
            await app.close().catch(() => undefined);
            throw err;
        }
        const address = app.server.address();
        this.boundPort = typeof address === "object" && address ? address.port : this.options.port;
        this.app = app;
        log.info(
            { host: this.options.host, port: this.boundPort, paths, cameras: cameras.length },
            "push receiver listening",
        );
        return this.boundPort;
    }

    /** Stops listening; requests in flight are answered first. Idempotent; never rejects. */
    async stop(): Promise<void> {
        const app = this.app;
        this.app = undefined;
        if (!app) return;
        await app.close().catch((err) => this.options.log.warn({ err }, "push receiver close failed"));
    }

    private validate(): void {
        const problems: string[] = [];
        const { cameras } = this.options;
        if (cameras.length === 0) problems.push("no camera is bound");
        const ids = new Set<string>();
        const usernames = new Set<string>();
        const open = new Map<string, string>(); // `${address} ${path}` → deviceId, for cameras without auth
        for (const camera of cameras) {
            if (ids.has(camera.deviceId)) problems.push(`${camera.deviceId}: duplicate device id`);
            ids.add(camera.deviceId);
            if (camera.auth) {
                if (camera.auth.username === "" || camera.auth.username.includes(":"))
                    problems.push(`${camera.deviceId}: username is empty or contains ':'`);
                if (!camera.auth.digest && camera.auth.basic !== true)
                    problems.push(`${camera.deviceId}: credentials allow neither Digest nor Basic`);
                if (usernames.has(camera.auth.username))
                    problems.push(`${camera.deviceId}: username ${camera.auth.username} is used by another camera`);
                usernames.add(camera.auth.username);
            } else if (!camera.allow || camera.allow.length === 0) {
                problems.push(`${camera.deviceId}: needs auth or a non-empty allow list`);
            } else {
                for (const address of camera.allow) {
                    for (const path of camera.model.paths) {
                        const key = `${normaliseAddress(address)} ${path}`;
                        const other = open.get(key);
                        if (other !== undefined)
                            problems.push(
                                `${camera.deviceId}: ${address} ${path} is also ${other}'s (add auth to tell them apart)`,
                            );
                        open.set(key, camera.deviceId);
                    }
                }
            }
        }
        if (problems.length > 0) {
            throw new GateError("CONFIG_INVALID", `push receiver: ${problems.join("; ")}`, { details: problems });
        }
    }

    /** The camera this request comes from; "answered" after a 401/403; undefined for a path no model uses. */
    private async authenticate(
        request: FastifyRequest,
        reply: FastifyReply,
    ): Promise<PushCameraBinding | "answered" | undefined> {
        const path = request.url.split("?")[0] ?? "";
        const source = normaliseAddress(request.ip);
        const candidates = this.options.cameras.filter((c) => c.model.paths.includes(path));
        // Unknown paths go on to the not-found handler.
        if (candidates.length === 0) return undefined;
        const basicOffered = candidates.some((c) => c.auth?.basic === true);
        const header = request.headers.authorization;
        if (header !== undefined && /^Digest\s/i.test(header)) {
            const credentials = parseDigestAuthorization(header);
            if (typeof credentials === "object") {
                return this.login(reply, { path, source, candidates }, credentials.username, (auth) => {
                    const ha1 = auth.digest?.[credentials.algorithm];
                    if (!ha1 || credentials.realm !== PUSH_REALM || credentials.uri !== request.url) return "wrong";
                    const expected = digestResponse({ ...credentials, ha1, method: request.method });
                    if (!responsesEqual(expected, credentials.response)) return "wrong";
                    // The response proves the password, so a nonce that is not (or no longer) ours is stale,
                    // e.g. one from before a gate restart: the camera retries with the new one.
                    const nonce = this.nonces.use(credentials.nonce, credentials.nc);
                    return nonce === "fresh" ? "ok" : nonce === "replayed" ? "replayed" : "stale";
                });
            }
            this.counters.unauthorized++;
            this.options.log.warn(
                { path, source, reason: credentials },
                "camera push with unusable Digest credentials",
            );
            this.refuse(reply, candidates[0], 401, credentials, { basic: basicOffered });
            return "answered";
        }
        const credentials = parseBasic(header);
        if (typeof credentials === "object") {
            return this.login(reply, { path, source, candidates }, credentials.username, async (auth) => {
                // A camera left on Digest never has its password checked in clear.
                if (auth.basic !== true) return "wrong";
                return (await this.passwordOk(auth, credentials.password)) ? "ok" : "wrong";
            });
        }
        const camera = candidates.find((c) => !c.auth && c.allow?.some((a) => normaliseAddress(a) === source));
        if (camera) {
            const counters = this.cameraCounters.get(camera.deviceId);
            if (counters) counters.requests++;
            return camera;
        }
        if (header === undefined && candidates.some((c) => c.auth)) {
            this.counters.challenged++;
            this.refuse(reply, candidates[0], 401, "credentials required", { basic: basicOffered });
        } else if (header !== undefined) {
            this.counters.unauthorized++;
            this.options.log.warn({ path, source }, "camera push without valid credentials");
            this.refuse(reply, candidates[0], 401, "credentials required", { basic: basicOffered });
        } else {
            this.counters.forbidden++;
            this.options.log.warn({ path, source }, "camera push from an address no camera allows");
            this.refuse(reply, candidates[0], 403, `address ${source} is not allowed`);
        }
        return "answered";
    }

    /**
     * A login as `username` by either scheme: counted in the limiter before `verify` runs (so parallel
     * guesses check no more than the limit), then the camera's `allow` list. `verify` says "stale" when
     * the credentials were right but the Digest nonce is not current: the place is given back, and the
     * camera is told to retry with a new nonce.
     */
    private async login(
        reply: FastifyReply,
        where: { path: string; source: string; candidates: readonly PushCameraBinding[] },
        username: string,
        verify: (auth: DeviceCredentials) => Promise<LoginVerdict> | LoginVerdict,
    ): Promise<PushCameraBinding | "answered"> {
        const { path, source, candidates } = where;
        const camera = candidates.find((c) => c.auth?.username === username);
        const counters = camera && this.cameraCounters.get(camera.deviceId);
        const attempt: LoginAttempt | undefined = this.logins?.begin(
            source,
            camera?.auth ? camera.deviceId : undefined,
            username,
        );
        if (this.logins && !attempt) {
            this.counters.throttled++;
            this.options.log.warn({ path, source, deviceId: camera?.deviceId }, "camera push login throttled");
            this.refuse(reply, camera ?? candidates[0], 429, "too many failed logins; try again later");
            return "answered";
        }
        const basic = candidates.some((c) => c.auth?.basic === true);
        if (!camera?.auth || !counters) {
            attempt?.failed();
            this.counters.unauthorized++;
            this.options.log.warn(
                { path, source, username: username.slice(0, 64) },
                "camera push with an unknown username",
            );
            this.refuse(reply, candidates[0], 401, "unknown username or wrong password", { basic });
            return "answered";
        }
        counters.requests++;
        const verdict = await verify(camera.auth);
        if (verdict === "stale") {
            // The right password on an old nonce (expired, or from before a restart): the next try gets in.
            attempt?.succeeded();
            this.refuse(reply, camera, 401, "nonce expired, retry with the new one", { basic, stale: true });
            return "answered";
        }
        if (verdict !== "ok") {
            attempt?.failed();
            counters.unauthorized++;
            this.options.log.warn(
                { deviceId: camera.deviceId, path, source },
                verdict === "replayed"
                    ? "camera push replayed (nonce count seen before)"
                    : "camera push with a wrong password",
            );
            // A replay gets a new nonce like a stale one: a client that reordered its own requests recovers.
            this.refuse(reply, camera, 401, "unknown username or wrong password", {
                basic,
                stale: verdict === "replayed",
            });
            return "answered";
        }
        if (camera.allow && camera.allow.length > 0 && !camera.allow.some((a) => normaliseAddress(a) === source)) {
            attempt?.failed();
            counters.unauthorized++;
            this.options.log.warn(
                { deviceId: camera.deviceId, path, source },
                "camera push from an address not allowed",
            );
            this.refuse(reply, camera, 403, `address ${source} is not allowed`);
            return "answered";
        }
        attempt?.succeeded();
        return camera;
    }

    private async passwordOk(auth: { username: string; passwordHash: string }, password: string): Promise<boolean> {
        const digest = sha256(`${auth.passwordHash}\n${password}`);
        const cached = this.verified.get(auth.username);
        if (cached && timingSafeEqual(cached, digest)) return true;
        const ok = await verifyPasswordAsync(password, auth.passwordHash);
        if (ok) this.verified.set(auth.username, digest);
        return ok;
    }

    private async onPush(path: string, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
        const camera = this.matched.get(request);
        const counters = camera && this.cameraCounters.get(camera.deviceId);
        /* v8 ignore next -- onRequest answered every request it did not match, so this is a bug guard. */
        if (!camera || !counters) return this.refuse(reply, undefined, 500, "request was not matched to a camera");
        const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
        const contentType = this.untyped.has(request) ? "" : (request.headers["content-type"] ?? "");
        let result: Awaited<ReturnType<PushHandler>>;
        try {
            result = await camera.handler({ path, contentType, body });
        } catch (err) {
            counters.failed++;
            this.options.log.error(
                { deviceId: camera.deviceId, path, err: errorMessage(err) },
                "camera push not stored",
            );
            return this.refuse(reply, camera, 503, "not stored, send again");
        }
        if (result.outcome === "stored") {
            counters.stored++;
            const answer = camera.model.reply("stored");
            return reply.status(answer.status).type(answer.contentType).send(answer.body);
        }
        counters.refused++;
        const reason = result.reason ?? "invalid request";
        // Not logged here: the camera's runtime logs its bad input, one summary line per interval, as every
        // device's. A refused push is not acknowledged (4xx), so the camera keeps it and nothing is lost.
        const answer = camera.model.reply("refused", reason);
        return reply.status(answer.status).type(answer.contentType).send(answer.body);
    }

    /** Answers in the model's format (Dahua reads JSON) with another status; plain text without a model. */
    private refuse(
        reply: FastifyReply,
        camera: PushCameraBinding | undefined,
        status: number,
        reason: string,
        challenge: { basic: boolean; stale?: boolean } = { basic: false },
    ): FastifyReply {
        const answer = camera?.model.reply("refused", reason) ?? { contentType: TEXT, body: reason };
        if (status === 401)
            reply.header(
                "www-authenticate",
                challenges(this.nonces.issue(), challenge.stale === true, challenge.basic),
            );
        if (status === 429 && this.options.loginRateLimit)
            reply.header("retry-after", String(Math.ceil(this.options.loginRateLimit.windowMinutes * 60)));
        // A refused request's body may still be on its way (an upload of megabytes); closing is cheaper than reading it.
        if (status !== 503) reply.header("connection", "close");
        return reply.status(status).type(answer.contentType).send(answer.body);
    }

    private onError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
        const path = request.url.split("?")[0] ?? "";
        const camera = this.matched.get(request) ?? this.options.cameras.find((c) => c.model.paths.includes(path));
        const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
        const fields = { deviceId: camera?.deviceId, path, source: normaliseAddress(request.ip), code: error.code };
        if (error.code === "FST_ERR_CTP_BODY_TOO_LARGE") {
            this.counters.tooLarge++;
            const limit = Math.max(...this.options.cameras.map((c) => c.model.maxBodyBytes));
            this.options.log.warn(fields, "camera push body too large");
            return this.refuse(reply, camera, 413, `body over ${limit} bytes`);
        }
        if (status >= 500) this.options.log.error({ ...fields, err: error.message }, "camera push failed");
        else this.options.log.warn({ ...fields, err: error.message }, "camera push rejected");
        return this.refuse(reply, camera, status, status >= 500 ? "internal error" : error.message);
    }
}

/**
 * The gate's one push receiver, shared by its push cameras: each camera's transport attaches its binding,
 * and the receiver listens once every camera is attached (it binds its routes when it starts).
 */
export class PushHub {
    private readonly bindings = new Map<string, PushBinding>();
    private receiver: HttpPushReceiver | undefined;

    attach(binding: PushBinding): void {
        this.bindings.set(binding.device.id, binding);
    }

    detach(deviceId: string): void {
        this.bindings.delete(deviceId);
    }

    /** Listens when any camera is attached; resolves with the address cameras post to, or undefined. */
    async start(settings: GateConfig["push"], log: Logger): Promise<string | undefined> {
        if (this.bindings.size === 0 || this.receiver) return undefined;
        const cameras = [...this.bindings.values()];
        this.receiver = new HttpPushReceiver({
            host: settings.host,
            port: settings.port,
            loginRateLimit: settings.loginRateLimit,
            log,
            cameras: cameras.map(({ device, model, ctx }) => ({
                deviceId: device.id,
                model,
                ...(device.auth && { auth: device.auth }),
                ...(device.address.transport === "http-push" &&
                    device.address.allow.length > 0 && { allow: device.address.allow }),
                handler: (request) => ctx.input({ kind: "push", request }),
            })),
        });
        const port = await this.receiver.start();
        // A push camera has no session to watch: it is reachable while the receiver listens.
        for (const { ctx } of cameras)
            ctx.setStatus("online", `push receiver on port ${port}`, { code: "PUSH_RECEIVER", params: { port } });
        return `http://${settings.host === "0.0.0.0" ? "127.0.0.1" : settings.host}:${port}`;
    }

    async stop(): Promise<void> {
        const receiver = this.receiver;
        this.receiver = undefined;
        this.bindings.clear();
        await receiver?.stop();
    }
}

/** The push transport: a camera that posts its reads to the gate's push receiver. */
export const transport: TransportModule = {
    framesProveLife: false,
    describeAddress(device) {
        addressOf(device, "http-push");
        return "http-push:";
    },
    doctorTarget: () => ({ kind: "dials-in" }),
    create({ device, model, hubs }, ctx) {
        addressOf(device, "http-push");
        const binding: PushBinding = { device, model: modelOf(device, model, "http-push"), ctx };
        return {
            capabilities: { ...READ_ONLY, hotSwappable: false },
            start: async () => hubs.push.attach(binding),
            stop: async () => hubs.push.detach(device.id),
            describe: () => ({ address: "http-push:" }),
        };
    },
    // The push receiver binds its cameras and their routes when it starts.
    hotSwapBlocker: () => "push camera: restart needed",
};
