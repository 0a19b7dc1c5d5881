/**
 * A plate camera that pushes its reads over HTTP, as a Hikvision ISAPI or Dahua ITSAPI camera does
 * (docs/devices.md "Plate cameras"). Requests come from the model's encode(), so gate-edge's decoder sees what
 * the real camera sends:
 * - Hikvision is fire-and-forget: one POST per read, whatever the answer;
 * - Dahua resends the same notification until it is answered {"Result": true} (or `resend.max` attempts).
 * With credentials it logs in as the cameras do: Digest by default (the first request goes without, the
 * 401's challenge is answered, and its nonce is reused with a rising nonce count until the receiver says
 * it is stale), or Basic sent with every request.
 */
import { randomBytes } from "node:crypto";
import { request as httpRequest } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import { definition as dahua, keepAliveRequest } from "../devices/dahua-itsapi-anpr.ts";
import { definition as hikvision } from "../devices/hikvision-isapi-anpr.ts";
import type { HttpPushCameraModel, PlateImage, PushRequest } from "../devices/types.ts";
import { errorMessage, GateError } from "../src/core/errors.ts";
import {
    DIGEST_ALGORITHMS,
    type DigestAlgorithm,
    digestHa1,
    digestResponse,
    parseDigestParams,
} from "../src/drivers/httpDigest.ts";
import { plateJpeg, sceneJpeg } from "./lib/plate-image.ts";

export type PushCameraModelId = "hikvision-isapi-anpr" | "dahua-itsapi-anpr";

export interface PushCameraSimulatorOptions {
    /** Model id, or a model object (tests of new models). */
    model: PushCameraModelId | HttpPushCameraModel;
    /** Base URL of the push receiver, e.g. http://127.0.0.1:8081 */
    url: string;
    /** Credentials the camera is configured with; none: the receiver must allow our address. */
    username?: string;
    password?: string;
    /** How it logs in: "digest" (default, as Dahua and Hikvision firmware do) or "basic". */
    scheme?: "digest" | "basic";
    /** Digest: the algorithm to answer with when offered; default the first one the receiver offers. */
    digestAlgorithm?: DigestAlgorithm;
    /** Dahua only: how often and how many times a notification is sent. Default every 3 s, at most 5 times. */
    resend?: { intervalMs: number; max: number };
    /**
     * Told at once when an attempt failed and the camera will send it again (Dahua): a receiver that is not
     * listening shows as "connection refused" now, not after every resend has run out.
     */
    onResend?: (failed: { attempt: number; max: number; nextInMs: number; reason: string }) => void;
    /** The camera's name in the payload (channelName / DeviceID). */
    deviceName?: string;
    /** ms a request may take before it counts as failed. Default 30 000. */
    timeoutMs?: number;
}

/** What the simulated camera reads. */
export interface SimulatedPlate {
    text: string;
    /** 0–1. */
    confidence: number;
    countryCode?: string;
    direction?: string;
    /** Send pictures, the scene and the plate crop (Hikvision: detectionPicture + licensePlatePicture; Dahua: NormalPic + CutoutPic). Default true. */
    withImages?: boolean;
    /** The plate's colour in the drawn pictures: white (default) or yellow (commercial vehicles). */
    plateColour?: "white" | "yellow";
    /** Pictures to send instead of the drawn ones (tests: the very same picture from two cameras). */
    pictures?: { scene: Uint8Array; plate: Uint8Array };
}

/** The receiver's last answer and how many requests it took. */
export interface PushAnswer {
    status: number;
    body: string;
    attempts: number;
}

/**
 * The smallest baseline JPEG: an 8×8 grey image. One quantisation table of ones, Huffman tables with a
 * single one-bit code each (DC difference 0, AC end-of-block), and one scan byte holding "0" "0" padded
 * with ones. Decoders show it; gate-edge only checks the FF D8 FF magic. Pushes send drawn pictures of the
 * plate read (lib/plate-image.ts); these stay for tests and benchmarks of the models' codecs.
 */
export const SAMPLE_JPEG: Uint8Array = new Uint8Array([
    ...[0xff, 0xd8], // SOI
    ...[0xff, 0xdb, 0x00, 0x43, 0x00, ...new Array<number>(64).fill(1)], // DQT table 0
    ...[0xff, 0xc0, 0x00, 0x0b, 0x08, 0x00, 0x08, 0x00, 0x08, 0x01, 0x01, 0x11, 0x00], // SOF0 8×8, 1 component
    ...[0xff, 0xc4, 0x00, 0x14, 0x00, 0x01, ...new Array<number>(15).fill(0), 0x00], // DHT DC 0: symbol 0
    ...[0xff, 0xc4, 0x00, 0x14, 0x10, 0x01, ...new Array<number>(15).fill(0), 0x00], // DHT AC 0: EOB
    ...[0xff, 0xda, 0x00, 0x08, 0x01, 0x01, 0x00, 0x00, 0x3f, 0x00], // SOS
    0x3f, // DC diff 0, EOB, padding
    ...[0xff, 0xd9], // EOI
]);

/**
 * The plate crop beside it: the same construction 16×8 (a plate's shape), two blocks in the scan, so its
 * bytes, and its stored image, differ from the scene's.
 */
export const SAMPLE_PLATE_JPEG: Uint8Array = new Uint8Array([
    ...[0xff, 0xd8], // SOI
    ...[0xff, 0xdb, 0x00, 0x43, 0x00, ...new Array<number>(64).fill(1)], // DQT table 0
    ...[0xff, 0xc0, 0x00, 0x0b, 0x08, 0x00, 0x08, 0x00, 0x10, 0x01, 0x01, 0x11, 0x00], // SOF0 16×8, 1 component
    ...[0xff, 0xc4, 0x00, 0x14, 0x00, 0x01, ...new Array<number>(15).fill(0), 0x00], // DHT DC 0: symbol 0
    ...[0xff, 0xc4, 0x00, 0x14, 0x10, 0x01, ...new Array<number>(15).fill(0), 0x00], // DHT AC 0: EOB
    ...[0xff, 0xda, 0x00, 0x08, 0x01, 0x01, 0x00, 0x00, 0x3f, 0x00], // SOS
    0x0f, // two blocks of DC diff 0, EOB; padding
    ...[0xff, 0xd9], // EOI
]);

const MODELS: Readonly<Record<PushCameraModelId, HttpPushCameraModel>> = {
    "hikvision-isapi-anpr": hikvision,
    "dahua-itsapi-anpr": dahua,
};

/**
 * Error rules: the constructor only assigns; push(), keepAlive() and sendRaw() reject with GateError
 * MODEL_UNKNOWN or SIMULATOR_USAGE (bad model, URL or resend settings), and with the network error when
 * no attempt reached the receiver. An HTTP error status is an answer, not a rejection. stop() cancels
 * pending resends (their push() resolves with the last answer, or rejects DRIVER_CANCELED if none).
 */
export class PushCameraSimulator {
    private readonly abort = new AbortController();
    /** Requests sent, including resends and Digest challenge round trips. */
    sent = 0;
    /** The Digest challenge being answered, and the nonce count used with it. */
    private challenge: { realm: string; nonce: string; algorithm: DigestAlgorithm; qop: string } | undefined;
    private nonceCount = 0;

    constructor(private readonly options: PushCameraSimulatorOptions) {}

    get model(): HttpPushCameraModel {
        const model = typeof this.options.model === "string" ? MODELS[this.options.model] : this.options.model;
        if (!model) {
            throw new GateError(
                "MODEL_UNKNOWN",
                `${JSON.stringify(this.options.model)} is not a push camera model; valid: ${Object.keys(MODELS).join(", ")}`,
            );
        }
        return model;
    }

    /** True for models that resend until answered (Dahua). */
    get resends(): boolean {
        return this.model.model === dahua.model;
    }

    /** The camera reads a plate and pushes it; Dahua resends until stored. Resolves with the last answer. */
    async push(read: SimulatedPlate): Promise<PushAnswer> {
        const [scene, crop] = this.resends
            ? ["NormalPic.jpg", "CutoutPic.jpg"]
            : ["detectionPicture.jpg", "licensePlatePicture.jpg"];
        const colour = { colour: read.plateColour ?? "white" } as const;
        const pictures =
            read.withImages === false
                ? undefined
                : (read.pictures ?? { scene: sceneJpeg(read.text, colour), plate: plateJpeg(read.text, colour) });
        const images: PlateImage[] = pictures
            ? [
                  { name: scene, role: "scene", contentType: "image/jpeg", bytes: pictures.scene },
                  { name: crop, role: "plate", contentType: "image/jpeg", bytes: pictures.plate },
              ]
            : [];
        const request = this.model.encode(
            {
                text: read.text,
                confidence: read.confidence,
                images,
                ...(read.countryCode !== undefined ? { countryCode: read.countryCode } : {}),
                ...(read.direction !== undefined ? { direction: read.direction } : {}),
            },
            {
                at: new Date(),
                ...(this.options.deviceName !== undefined ? { deviceName: this.options.deviceName } : {}),
            },
        );
        return this.deliver(request);
    }

    /** Dahua's heartbeat to /NotificationInfo/KeepAlive (sent once; heartbeats are not resent). */
    async keepAlive(): Promise<PushAnswer> {
        if (!this.resends) throw new GateError("SIMULATOR_USAGE", `${this.model.model} sends no keep-alive`);
        const request = keepAliveRequest(
            this.options.deviceName !== undefined ? { deviceName: this.options.deviceName } : {},
        );
        return { ...(await this.send(request)), attempts: 1 };
    }

    /** One request exactly as given (fault tests: broken bodies, wrong types, huge uploads). Never resent. */
    async sendRaw(path: string, contentType: string, body: Uint8Array | string): Promise<PushAnswer> {
        const bytes = typeof body === "string" ? new TextEncoder().encode(body) : body;
        return { ...(await this.send({ path, contentType, body: bytes })), attempts: 1 };
    }

    /** Cancels pending resends. Idempotent. */
    stop(): void {
        this.abort.abort();
    }

    private async deliver(request: PushRequest): Promise<PushAnswer> {
        const { intervalMs, max } = this.resends
            ? (this.options.resend ?? { intervalMs: 3000, max: 5 })
            : { intervalMs: 0, max: 1 };
        if (!(Number.isInteger(max) && max >= 1 && intervalMs >= 0)) {
            throw new GateError(
                "SIMULATOR_USAGE",
                `resend needs max ≥ 1 and intervalMs ≥ 0, got ${max} / ${intervalMs}`,
            );
        }
        let last: PushAnswer | undefined;
        let lastError: unknown;
        for (let attempt = 1; attempt <= max; attempt++) {
            if (attempt > 1) {
                try {
                    await sleep(intervalMs, undefined, { signal: this.abort.signal });
                } catch {
                    break; // stopped
                }
            }
            let reason: string;
            try {
                last = { ...(await this.send(request)), attempts: attempt };
                if (!this.resends || accepted(last)) return last;
                reason = `answered ${last.status} ${last.body.replace(/\s+/g, " ").slice(0, 80)}`;
            } catch (err) {
                // A camera that cannot reach its server keeps the notification and tries again, like a 5xx.
                lastError = err;
                if (!this.resends) throw err;
                reason = errorMessage(err);
            }
            if (attempt < max && !this.abort.signal.aborted)
                this.options.onResend?.({ attempt, max, nextInMs: intervalMs, reason });
        }
        if (last) return last;
        if (this.abort.signal.aborted && lastError === undefined)
            throw new GateError("DRIVER_CANCELED", "push camera simulator stopped");
        throw lastError;
    }

    /**
     * One request as the camera sends it: with Digest, answered again once when the receiver challenges a
     * request that had no Digest yet or says the nonce is stale; a plain refusal is the answer.
     */
    private async send(request: PushRequest): Promise<{ status: number; body: string }> {
        const digest = this.options.username !== undefined && (this.options.scheme ?? "digest") === "digest";
        const first = await this.sendOnce(request);
        const offered = digest && first.status === 401 ? this.pickChallenge(first.challenges) : undefined;
        const hadDigest = this.challenge !== undefined;
        if (offered) {
            this.challenge = offered.challenge;
            this.nonceCount = 0;
        }
        const { status, body } = offered && (!hadDigest || offered.stale) ? await this.sendOnce(request) : first;
        return { status, body };
    }

    /** The Digest challenge to answer among a 401's WWW-Authenticate values. */
    private pickChallenge(
        values: readonly string[],
    ): { challenge: NonNullable<PushCameraSimulator["challenge"]>; stale: boolean } | undefined {
        for (const value of values) {
            const params = parseDigestParams(value);
            const algorithmText = params?.get("algorithm") ?? "MD5";
            const algorithm = DIGEST_ALGORITHMS.find((a) => a.toLowerCase() === algorithmText.toLowerCase());
            const realm = params?.get("realm");
            const nonce = params?.get("nonce");
            const qops = (params?.get("qop") ?? "").split(",").map((q) => q.trim());
            if (!algorithm || realm === undefined || nonce === undefined || !qops.includes("auth")) continue;
            if (this.options.digestAlgorithm !== undefined && algorithm !== this.options.digestAlgorithm) continue;
            return {
                challenge: { realm, nonce, algorithm, qop: "auth" },
                stale: params?.get("stale")?.toLowerCase() === "true",
            };
        }
        return undefined;
    }

    private authorization(method: string, uri: string): string | undefined {
        const { username, password = "" } = this.options;
        if (username === undefined) return undefined;
        if ((this.options.scheme ?? "digest") === "basic")
            return `Basic ${Buffer.from(`${username}:${password}`, "utf8").toString("base64")}`;
        const challenge = this.challenge;
        if (!challenge) return undefined;
        this.nonceCount++;
        const nc = this.nonceCount.toString(16).padStart(8, "0");
        const cnonce = randomBytes(8).toString("hex");
        const ha1 = digestHa1(challenge.algorithm, username, challenge.realm, password);
        const response = digestResponse({ ...challenge, ha1, nc, cnonce, method, uri });
        const quoted = (text: string) => `"${text.replace(/["\\]/g, "\\$&")}"`;
        return (
            `Digest username=${quoted(username)}, realm=${quoted(challenge.realm)}, nonce=${quoted(challenge.nonce)}, ` +
            `uri=${quoted(uri)}, algorithm=${challenge.algorithm}, response="${response}", qop=auth, nc=${nc}, ` +
            `cnonce="${cnonce}"`
        );
    }

    private sendOnce(request: PushRequest): Promise<{ status: number; body: string; challenges: string[] }> {
        let url: URL;
        try {
            url = new URL(request.path, this.options.url);
        } catch (err) {
            return Promise.reject(new GateError("SIMULATOR_USAGE", `url ${this.options.url}: ${errorMessage(err)}`));
        }
        if (url.protocol !== "http:") {
            return Promise.reject(
                new GateError("SIMULATOR_USAGE", `url must be http://host:port, got ${this.options.url}`),
            );
        }
        const headers: Record<string, string | number> = {
            "content-type": request.contentType,
            "content-length": request.body.byteLength,
        };
        const authorization = this.authorization("POST", `${url.pathname}${url.search}`);
        if (authorization !== undefined) headers.authorization = authorization;
        this.sent++;
        return new Promise((resolve, reject) => {
            let answered = false;
            const req = httpRequest(
                url,
                { method: "POST", headers, timeout: this.options.timeoutMs ?? 30_000 },
                (res) => {
                    answered = true;
                    const chunks: Buffer[] = [];
                    res.on("data", (chunk: Buffer) => chunks.push(chunk));
                    res.on("end", () =>
                        resolve({
                            status: res.statusCode ?? 0,
                            body: Buffer.concat(chunks).toString("utf8"),
                            // Distinct: one challenge per header, where the joined form would run them together.
                            challenges: res.headersDistinct["www-authenticate"] ?? [],
                        }),
                    );
                    res.on("error", reject);
                },
            );
            req.on("timeout", () => req.destroy(new Error(`no answer within ${this.options.timeoutMs ?? 30_000} ms`)));
            // A receiver may answer (413, 401) and close before the whole body is written; the answer counts.
            req.on("error", (err) => {
                if (!answered) reject(err);
            });
            req.end(Buffer.from(request.body.buffer, request.body.byteOffset, request.body.byteLength));
        });
    }
}

/** Dahua's notion of success: HTTP 200 with {"Result": true}. */
function accepted(answer: PushAnswer): boolean {
    if (answer.status !== 200) return false;
    try {
        const json: unknown = JSON.parse(answer.body);
        return typeof json === "object" && json !== null && (json as { Result?: unknown }).Result === true;
    } catch {
        return false;
    }
}
