/**
 * ONVIF camera driver (docs/devices.md "Plate cameras"): connects with the `onvif` library's Cam (device
 * information, services, profiles, snapshot URI), then drives the PullPoint subscription itself.
 *
 * Why the events are not left to the library's cam.on('event') loop:
 * - its PullMessages request cannot be cancelled (it uses the global agent and has an 80 s reply
 *   timeout), so stop() would leave a 60 s long poll hanging;
 * - it hands each message as a converted object (linerase turns "003725" into 3725) plus the whole
 *   PullMessagesResponse, not the message's own XML;
 * - it retries forever on its own schedule without telling us whether the camera answers.
 * So CreatePullPointSubscription, PullMessages, Renew and Unsubscribe are sent here over node:http with
 * an AbortSignal, and each wsnt:NotificationMessage is cut out of the response as raw XML with the
 * namespaces it inherits (devices/lib/xml.ts outerXml).
 *
 * Status: "online" only once subscribed and a first (short) pull succeeded; "degraded" with the reason
 * when the camera answers but refuses (credentials, faults, a lost subscription, an invalid answer);
 * "offline" when it cannot be reached. Every failure drops the subscription and subscribes again after
 * a Backoff wait; connection failures also redo the whole Cam connection (a rebooted camera may come
 * back with other service addresses).
 */
import { createHash, randomBytes } from "node:crypto";
import { Agent, request as httpRequest, type IncomingHttpHeaders } from "node:http";
import { request as httpsRequest } from "node:https";
import { setTimeout as sleep } from "node:timers/promises";
import onvif from "onvif";
import {
    childNamed,
    childrenNamed,
    descendantNamed,
    descendantsNamed,
    escapeXml,
    NS,
    outerXml,
    parseXml,
    topicMatches,
    type XmlElement,
} from "../../devices/lib/xml.ts";
import { errorMessage, GateError, isGateError } from "../core/errors.ts";
import { Backoff } from "./backoff.ts";
import {
    addressOf,
    modelOf,
    READ_ONLY,
    type Snapshot,
    type StatusReason,
    type TransportContext,
    type TransportModule,
} from "./transport.ts";

export interface OnvifCameraDriverOptions {
    hostname: string;
    /** HTTP port of the device service. */
    port: number;
    username: string;
    password: string;
    /** Topic of plate events, e.g. "tns1:RuleEngine/Recognition/LicensePlate" (OnvifCameraModel.plateTopic). */
    plateTopic: string;
    /** Fetch a JPEG from the snapshot URI for every plate event. */
    snapshot: boolean;
    /** Subscription lifetime asked for at creation and at each renewal. Default 120 s. */
    renewSeconds?: number;
    /** Long-poll Timeout of PullMessages. Default 60 s ("cameras must support 1 minute wait times"). */
    pullTimeoutSeconds?: number;
    /** MessageLimit of PullMessages. Default 10. */
    messageLimit?: number;
    /** Timeout of every other request (connect steps, renew, snapshot URI). Default 10 000 ms. */
    requestTimeoutMs?: number;
    /** Timeout of one snapshot fetch; a plate is never held up longer than this for its image. Default 3000 ms. */
    snapshotTimeoutMs?: number;
    /** Wait between attempts after a failure. Default 500 ms doubling to 30 s, full jitter. */
    backoff?: Backoff;
}

export interface CameraInfo {
    manufacturer: string;
    model: string;
    firmwareVersion: string;
    serialNumber: string;
}

interface Session {
    eventsUrl: string;
    snapshotUri: string | undefined;
    info: CameraInfo;
}

interface Subscription {
    address: string;
    /** Reference parameters (Axis SubscriptionId) to echo in the header of every call, as raw XML. */
    referenceParameters: string[];
    /** Local ms epoch at which the camera drops the subscription. */
    terminationAt: number;
}

type Failure = { status: "offline" | "degraded"; reason: string; because: StatusReason; reconnect: boolean };

const NETWORK_CODES: ReadonlySet<string> = new Set([
    "ECONNREFUSED",
    "ECONNRESET",
    "ETIMEDOUT",
    "EHOSTUNREACH",
    "ENETUNREACH",
    "EHOSTDOWN",
    "EPIPE",
    "ENOTFOUND",
    "EAI_AGAIN",
    "ECONNABORTED",
    "UND_ERR_SOCKET",
]);
const MAX_RESPONSE_BYTES = 16 * 1024 * 1024; // a PullMessages answer with 10 plates and their base64 JPEGs
const MAX_SNAPSHOT_BYTES = 8 * 1024 * 1024;
const CLOCK_JUMP_MS = 30_000; // a camera clock that moves more than this against ours was reset (reboot, NTP step)
const PULL_GRACE_MS = 15_000; // a camera may answer a PT60S poll a little late
const DIALECT = "http://www.onvif.org/ver10/tev/topicExpression/ConcreteSet";
const PASSWORD_DIGEST =
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordDigest";
const BASE64_BINARY = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary";

/**
 * Error rules: start() never rejects for a camera that is absent or refuses (that is a status, retried
 * with backoff); it rejects only when called twice without stop(). stop() is idempotent, aborts the
 * long poll at once (the socket is destroyed), and unsubscribes with a short timeout if it can.
 * snapshot() rejects with DRIVER_DISCONNECTED before the camera was connected, DEVICE_AUTH when the
 * credentials are refused, DEVICE_PROTOCOL for a non-JPEG or an HTTP error, DRIVER_CANCELED on stop.
 * ctx.input rejecting (store failure) is logged; the camera cannot be asked to resend.
 */
export class OnvifCameraDriver {
    private controller: AbortController | undefined;
    private loop: Promise<void> | undefined;
    private agent: Agent | undefined;
    private cam: onvif.Cam | undefined;
    private session: Session | undefined;
    private subscription: Subscription | undefined;
    private clockOffsetMs = 0;
    private filterRejected = false;
    private backoff: Backoff;
    /** The camera answered a PT0S first poll with a fault: its first poll uses PT1S from then on. */
    private zeroTimeoutRefused = false;
    private lastStatus = "";
    /** True while a PullPoint subscription is live and being pulled. */
    subscribed = false;
    /** Times the driver lost the camera or its subscription and started over. */
    reconnects = 0;
    /** Plate notifications handed to ctx.input. */
    notifications = 0;

    constructor(
        private readonly options: OnvifCameraDriverOptions,
        private readonly ctx: TransportContext,
    ) {
        this.backoff = options.backoff ?? new Backoff(500, 30_000);
    }

    /** What the camera said about itself at the last connection (exact strings from the raw XML). */
    get cameraInfo(): CameraInfo | undefined {
        return this.session?.info;
    }

    private get renewMs(): number {
        return (this.options.renewSeconds ?? 120) * 1000;
    }

    private get pullTimeoutMs(): number {
        // A poll must come back before the subscription needs renewing.
        return Math.min((this.options.pullTimeoutSeconds ?? 60) * 1000, Math.max(1000, this.renewMs / 2));
    }

    private get requestTimeoutMs(): number {
        return this.options.requestTimeoutMs ?? 10_000;
    }

    async start(): Promise<void> {
        if (this.controller) throw new GateError("DRIVER_UNSUPPORTED", "OnvifCameraDriver started twice");
        const controller = new AbortController();
        this.controller = controller;
        this.agent = new Agent({ keepAlive: true, maxSockets: 4 });
        this.setStatus("offline", "connecting", { code: "CONNECTING" });
        this.loop = this.run(controller.signal);
    }

    async stop(): Promise<void> {
        const controller = this.controller;
        if (!controller) return;
        this.controller = undefined;
        controller.abort();
        await this.loop?.catch(() => undefined);
        this.loop = undefined;
        const subscription = this.subscription;
        this.subscription = undefined;
        this.subscribed = false;
        if (subscription) {
            // Frees one of the camera's few pull points now rather than at expiry; best effort only.
            await this.soap(
                subscription.address,
                `${NS.wsnt}/SubscriptionManager/UnsubscribeRequest`,
                "<wsnt:Unsubscribe/>",
                {
                    signal: AbortSignal.timeout(1500),
                    timeoutMs: 1500,
                    referenceParameters: subscription.referenceParameters,
                },
            ).catch((err: unknown) => this.ctx.log.debug({ err }, "unsubscribe at stop failed"));
        }
        this.agent?.destroy();
        this.agent = undefined;
        this.cam?.removeAllListeners();
        this.cam = undefined;
        this.session = undefined;
    }

    /** A JPEG from the camera's snapshot URI (HTTP Basic or Digest as the camera asks). */
    async snapshot(): Promise<{ contentType: string; bytes: Buffer }> {
        const signal = this.controller?.signal;
        const uri = this.session?.snapshotUri;
        if (!signal || uri === undefined) throw new GateError("DRIVER_DISCONNECTED", "no snapshot URI yet");
        return this.fetchSnapshot(uri, signal);
    }

    // ----------------------------------------------------------------------------------------------
    // main loop

    private async run(signal: AbortSignal): Promise<void> {
        while (!signal.aborted) {
            try {
                if (!this.session) this.session = await this.connect(signal);
                await this.subscribe(this.session, signal);
                await this.pullLoop(signal);
            } catch (err) {
                if (signal.aborted) break;
                const failure = classify(err);
                this.subscribed = false;
                this.subscription = undefined;
                if (failure.reconnect) this.session = undefined;
                this.reconnects++;
                this.setStatus(failure.status, failure.reason, failure.because);
                this.ctx.log.warn({ err }, `onvif: ${failure.reason}; retrying`);
                await sleep(this.backoff.next(), undefined, { signal }).catch(() => undefined);
            }
        }
    }

    private setStatus(status: "online" | "offline" | "degraded", reason: string, because: StatusReason): void {
        const key = `${status}:${reason}`;
        if (key === this.lastStatus) return;
        this.lastStatus = key;
        this.ctx.setStatus(status, reason, because);
    }

    /** GetSystemDateAndTime, then the library's connect, device information and snapshot URI. */
    private async connect(signal: AbortSignal): Promise<Session> {
        await this.readClock(signal);
        const { hostname, port, username, password } = this.options;
        this.cam?.removeAllListeners();
        const cam = new onvif.Cam({
            hostname,
            port,
            username,
            password,
            timeout: this.requestTimeoutMs,
            autoconnect: false,
            useWSSecurity: true,
            // Our agent: stop() destroys it, which cuts any library request still in flight.
            agent: this.agent,
        });
        cam.on("warning", (warning: unknown) => this.ctx.log.warn({ warning }, "onvif library warning"));
        cam.on("error", (err: unknown) => this.ctx.log.warn({ err }, "onvif library error"));
        this.cam = cam;
        await this.camCall(signal, (cb) => cam.connect(cb));
        const infoXml = await this.camCall(signal, (cb) => cam.getDeviceInformation(cb));
        const info = parseDeviceInformation(infoXml);
        const eventsUrl = cam.uri?.events?.href;
        if (!eventsUrl) throw new GateError("DEVICE_PROTOCOL", "camera has no event service");
        let snapshotUri: string | undefined;
        if (this.options.snapshot) {
            const profilesXml = await this.camCall(signal, (cb) => cam.getProfiles(cb));
            // Tokens from the raw XML: the library's objects turn a token like "001" into 1.
            const token = firstProfileToken(profilesXml);
            if (token === undefined) throw new GateError("DEVICE_PROTOCOL", "camera has no media profile");
            const uriXml = await this.camCall(signal, (cb) => cam.getSnapshotUri({ profileToken: token }, cb));
            snapshotUri = parseSnapshotUri(uriXml);
            if (snapshotUri === undefined) this.ctx.log.warn("camera gave no snapshot URI; plates will have no image");
        }
        this.ctx.log.info({ camera: info, eventsUrl, snapshotUri }, "onvif camera connected");
        return { eventsUrl, snapshotUri, info };
    }

    /**
     * One library call as a promise that settles once (the library may call back twice when a callback
     * of its own throws), rejects on abort, and resolves with the raw XML of the answer.
     */
    private camCall(
        signal: AbortSignal,
        call: (cb: (err: Error | null, data?: unknown, xml?: string) => void) => void,
    ): Promise<string> {
        return new Promise<string>((resolve, reject) => {
            let done = false;
            const finish = (err: unknown, xml?: string) => {
                if (done) return;
                done = true;
                clearTimeout(timer);
                signal.removeEventListener("abort", onAbort);
                if (err) reject(err);
                else resolve(xml ?? "");
            };
            const onAbort = () => finish(new GateError("DRIVER_CANCELED"));
            // connect() is several requests in a row; each has the library's own timeout, this bounds the lot.
            const timer = setTimeout(
                () => finish(new GateError("DRIVER_DISCONNECTED", "camera did not answer in time")),
                4 * this.requestTimeoutMs,
            );
            signal.addEventListener("abort", onAbort, { once: true });
            try {
                // The library words a fault as "ONVIF SOAP Fault: <reason>" and drops its Code and Subcode
                // (ter:NotAuthorized); the fault is read from the raw answer instead.
                call((err, _data, xml) => finish(err ? (libraryFault(xml) ?? err) : null, xml));
            } catch (err) {
                finish(err);
            }
        });
    }

    /** GetSystemDateAndTime (unauthenticated as the spec allows); returns how far the camera clock jumped. */
    private async readClock(signal: AbortSignal): Promise<number> {
        let body: XmlElement;
        try {
            body = await this.soap(this.deviceUrl, `${NS.tds}/GetSystemDateAndTime`, "<tds:GetSystemDateAndTime/>", {
                signal,
                timeoutMs: this.requestTimeoutMs,
                auth: false,
            });
        } catch (err) {
            // Some cameras (Panasonic, Digital Barriers) want a token even here.
            if (!isGateError(err, "DEVICE_AUTH")) throw err;
            body = await this.soap(this.deviceUrl, `${NS.tds}/GetSystemDateAndTime`, "<tds:GetSystemDateAndTime/>", {
                signal,
                timeoutMs: this.requestTimeoutMs,
            });
        }
        const utc = descendantNamed(body, "UTCDateTime");
        const n = (parent: XmlElement | undefined, name: string) =>
            Number(parent ? childNamed(parent, name)?.text : "");
        const date = utc ? childNamed(utc, "Date") : undefined;
        const time = utc ? childNamed(utc, "Time") : undefined;
        const cameraMs = Date.UTC(
            n(date, "Year"),
            n(date, "Month") - 1,
            n(date, "Day"),
            n(time, "Hour"),
            n(time, "Minute"),
            n(time, "Second"),
        );
        if (!Number.isFinite(cameraMs)) return 0; // cheap cameras omit it; keep our clock
        const offset = cameraMs - Date.now();
        const jump = Math.abs(offset - this.clockOffsetMs);
        this.clockOffsetMs = offset;
        return jump;
    }

    private get deviceUrl(): string {
        const host = this.options.hostname.includes(":") ? `[${this.options.hostname}]` : this.options.hostname;
        return `http://${host}:${this.options.port}/onvif/device_service`;
    }

    // ----------------------------------------------------------------------------------------------
    // PullPoint

    private async subscribe(session: Session, signal: AbortSignal): Promise<void> {
        const filter = this.filterRejected
            ? ""
            : `<tev:Filter><wsnt:TopicExpression Dialect="${DIALECT}" xmlns:tns1="${NS.tns1}">${escapeXml(this.options.plateTopic)}</wsnt:TopicExpression></tev:Filter>`;
        const body = (withFilter: string) =>
            `<tev:CreatePullPointSubscription>${withFilter}<tev:InitialTerminationTime>PT${Math.round(this.renewMs / 1000)}S</tev:InitialTerminationTime></tev:CreatePullPointSubscription>`;
        const action = `${NS.tev}/EventPortType/CreatePullPointSubscriptionRequest`;
        const options = { signal, timeoutMs: this.requestTimeoutMs };
        let response: XmlElement & { source?: string };
        try {
            response = await this.soap(session.eventsUrl, action, body(filter), options);
        } catch (err) {
            if (filter === "" || !isGateError(err, "DEVICE_PROTOCOL")) throw err;
            // Cameras that refuse topic filters (InvalidFilterFault) get an unfiltered subscription;
            // messages are filtered here anyway.
            this.ctx.log.warn({ err }, "camera refused the topic filter; subscribing to all events");
            this.filterRejected = true;
            response = await this.soap(session.eventsUrl, action, body(""), options);
        }
        const reference = descendantNamed(response, "SubscriptionReference");
        const address = reference ? childNamed(reference, "Address")?.text.trim() : undefined;
        if (!reference || !address || !/^https?:\/\//i.test(address)) {
            throw new GateError("DEVICE_PROTOCOL", "CreatePullPointSubscription answer has no address");
        }
        const params = childNamed(reference, "ReferenceParameters");
        const source = response.source;
        this.subscription = {
            address,
            referenceParameters: params && source ? params.children.map((c) => outerXml(source, c)) : [],
            terminationAt: terminationFrom(response, this.renewMs),
        };
        this.ctx.log.info({ address }, "onvif pull point created");
    }

    private async pullLoop(signal: AbortSignal): Promise<void> {
        let first = true;
        while (!signal.aborted) {
            const sub = this.subscription;
            if (!sub) throw new GateError("DEVICE_PROTOCOL", "subscription lost");
            const renewAhead = this.pullTimeoutMs + Math.min(10_000, this.renewMs / 4);
            if (sub.terminationAt - Date.now() < renewAhead) await this.renew(sub, signal);
            // The first poll asks for an answer at once (PT0S): "online" must mean the pull point answers, not
            // merely that it exists, and a lane should not wait a poll's length to be ready. A camera that
            // refuses a zero timeout with a fault is asked with PT1S instead, then and after every reconnect.
            const timeoutMs = first ? (this.zeroTimeoutRefused ? 1000 : 0) : this.pullTimeoutMs;
            let messages: string[];
            try {
                messages = await this.pull(sub, timeoutMs, signal);
            } catch (err) {
                if (first && timeoutMs === 0 && !signal.aborted && isGateError(err, "DEVICE_PROTOCOL")) {
                    this.zeroTimeoutRefused = true;
                    this.ctx.log.info({ err: errorMessage(err) }, "camera refused a PT0S poll; first polls use PT1S");
                    continue;
                }
                throw err;
            }
            if (first) {
                first = false;
                this.subscribed = true;
                this.backoff.reset();
                this.setStatus("online", "subscribed to plate events", { code: "SUBSCRIBED" });
            }
            for (const xml of messages) await this.deliver(xml, signal);
        }
    }

    private async renew(sub: Subscription, signal: AbortSignal): Promise<void> {
        const response = await this.soap(
            sub.address,
            `${NS.wsnt}/SubscriptionManager/RenewRequest`,
            `<wsnt:Renew><wsnt:TerminationTime>PT${Math.round(this.renewMs / 1000)}S</wsnt:TerminationTime></wsnt:Renew>`,
            { signal, timeoutMs: this.requestTimeoutMs, referenceParameters: sub.referenceParameters },
        );
        sub.terminationAt = terminationFrom(response, this.renewMs);
        // A camera that rebooted between two pulls may accept a same-named subscription (fixed Axis-style
        // URL) yet have lost its state; a reset clock gives it away.
        const jump = await this.readClock(signal);
        if (jump > CLOCK_JUMP_MS) {
            throw new GateError("DEVICE_PROTOCOL", `camera clock jumped by ${Math.round(jump / 1000)} s (reboot?)`);
        }
    }

    /** One PullMessages; the raw XML of each NotificationMessage on the plate topic. */
    private async pull(sub: Subscription, timeoutMs: number, signal: AbortSignal): Promise<string[]> {
        const limit = this.options.messageLimit ?? 10;
        const response = await this.soap(
            sub.address,
            `${NS.tev}/PullPointSubscription/PullMessagesRequest`,
            `<tev:PullMessages><tev:Timeout>PT${timeoutMs === 0 ? 0 : Math.max(1, Math.round(timeoutMs / 1000))}S</tev:Timeout><tev:MessageLimit>${limit}</tev:MessageLimit></tev:PullMessages>`,
            { signal, timeoutMs: timeoutMs + PULL_GRACE_MS, referenceParameters: sub.referenceParameters },
        );
        if (response.local !== "PullMessagesResponse") {
            throw new GateError("DEVICE_PROTOCOL", `PullMessages answered with ${response.local}`);
        }
        const source = response.source ?? "";
        const plates: string[] = [];
        for (const message of descendantsNamed(response, "NotificationMessage", NS.wsnt)) {
            const topic = childNamed(message, "Topic");
            if (topic && topicMatches(topic, this.options.plateTopic)) plates.push(outerXml(source, message));
            else this.ctx.log.debug({ topic: topic?.text }, "onvif event on another topic ignored");
        }
        return plates;
    }

    private async deliver(xml: string, signal: AbortSignal): Promise<void> {
        let snapshot: Snapshot | undefined;
        const uri = this.session?.snapshotUri;
        if (this.options.snapshot && uri !== undefined) {
            try {
                snapshot = await this.fetchSnapshot(uri, signal);
            } catch (err) {
                if (signal.aborted) return;
                this.ctx.log.warn({ err }, "snapshot for a plate event failed; delivering it without an image");
            }
        }
        this.notifications++;
        try {
            await this.ctx.input({ kind: "notification", xml, ...(snapshot && { snapshot }) });
        } catch (err) {
            this.ctx.log.error({ err }, "plate notification could not be stored");
        }
    }

    // ----------------------------------------------------------------------------------------------
    // SOAP and HTTP

    private security(): string {
        const nonce = randomBytes(16);
        const created = new Date(Date.now() + this.clockOffsetMs).toISOString();
        const digest = createHash("sha1")
            .update(Buffer.concat([nonce, Buffer.from(created), Buffer.from(this.options.password)]))
            .digest("base64");
        return (
            `<wsse:Security s:mustUnderstand="1" xmlns:wsse="${NS.wsse}" xmlns:wsu="${NS.wsu}"><wsse:UsernameToken>` +
            `<wsse:Username>${escapeXml(this.options.username)}</wsse:Username>` +
            `<wsse:Password Type="${PASSWORD_DIGEST}">${digest}</wsse:Password>` +
            `<wsse:Nonce EncodingType="${BASE64_BINARY}">${nonce.toString("base64")}</wsse:Nonce>` +
            `<wsu:Created>${created}</wsu:Created></wsse:UsernameToken></wsse:Security>`
        );
    }

    /**
     * One SOAP 1.2 call; resolves with the first element of the answer's Body (with `source` set to the
     * answer text). Rejects with DRIVER_DISCONNECTED for network errors, DEVICE_AUTH for a refused token,
     * DEVICE_PROTOCOL for faults and anything that is not a SOAP answer, DRIVER_CANCELED on abort.
     */
    private async soap(
        url: string,
        action: string,
        body: string,
        options: { signal: AbortSignal; timeoutMs: number; auth?: boolean; referenceParameters?: string[] },
    ): Promise<XmlElement & { source?: string }> {
        const header =
            (options.auth === false ? "" : this.security()) +
            `<wsa:Action>${escapeXml(action)}</wsa:Action><wsa:To>${escapeXml(url)}</wsa:To>` +
            (options.referenceParameters ?? []).join("");
        const envelope =
            `<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="${NS.soap12}" xmlns:wsa="${NS.wsa}" ` +
            `xmlns:wsnt="${NS.wsnt}" xmlns:tev="${NS.tev}" xmlns:tds="${NS.tds}" xmlns:tt="${NS.tt}">` +
            `<s:Header>${header}</s:Header><s:Body>${body}</s:Body></s:Envelope>`;
        const res = await this.http(url, {
            method: "POST",
            headers: { "content-type": `application/soap+xml; charset=utf-8; action="${action}"` },
            body: envelope,
            signal: options.signal,
            timeoutMs: options.timeoutMs,
            maxBytes: MAX_RESPONSE_BYTES,
        });
        const text = res.body.toString("utf8");
        const parsed = parseXml(text);
        const root = parsed.ok ? parsed.root : undefined;
        const soapBody = root && root.local === "Envelope" ? childNamed(root, "Body") : undefined;
        if (!soapBody) {
            if (res.status === 401) throw new GateError("DEVICE_AUTH", "HTTP 401");
            throw new GateError(
                "DEVICE_PROTOCOL",
                `HTTP ${res.status}, not a SOAP answer${parsed.ok ? "" : `: ${parsed.reason}`}`,
            );
        }
        const fault = childNamed(soapBody, "Fault");
        if (fault) throw faultError(parseSoapFault(fault), res.status);
        if (res.status === 401) throw new GateError("DEVICE_AUTH", "HTTP 401");
        if (res.status < 200 || res.status >= 300) throw new GateError("DEVICE_PROTOCOL", `HTTP ${res.status}`);
        const first = soapBody.children[0];
        if (!first) throw new GateError("DEVICE_PROTOCOL", "empty SOAP Body");
        return Object.assign(first, { source: text });
    }

    private http(
        url: string,
        options: {
            method: "GET" | "POST";
            headers: Record<string, string>;
            body?: string;
            signal: AbortSignal;
            timeoutMs: number;
            maxBytes: number;
        },
    ): Promise<{ status: number; headers: IncomingHttpHeaders; body: Buffer }> {
        return new Promise((resolve, reject) => {
            if (options.signal.aborted) {
                reject(new GateError("DRIVER_CANCELED"));
                return;
            }
            let target: URL;
            try {
                target = new URL(url);
            } catch {
                reject(new GateError("DEVICE_PROTOCOL", `bad URL from the camera: ${url.slice(0, 100)}`));
                return;
            }
            const secure = target.protocol === "https:";
            const headers: Record<string, string | number> = { ...options.headers };
            if (options.body !== undefined) headers["content-length"] = Buffer.byteLength(options.body);
            const req = (secure ? httpsRequest : httpRequest)(target, {
                method: options.method,
                headers,
                agent: secure ? undefined : this.agent,
                // Destroys the socket on abort: stop() must not wait for a 60 s long poll.
                signal: options.signal,
            });
            const timer = setTimeout(
                () => req.destroy(Object.assign(new Error("request timed out"), { code: "ETIMEDOUT" })),
                options.timeoutMs,
            );
            const fail = (err: unknown) => {
                clearTimeout(timer);
                reject(options.signal.aborted ? new GateError("DRIVER_CANCELED", undefined, { cause: err }) : err);
            };
            req.on("error", fail);
            req.on("response", (res) => {
                const chunks: Buffer[] = [];
                let size = 0;
                res.on("data", (chunk: Buffer) => {
                    size += chunk.length;
                    if (size > options.maxBytes) {
                        req.destroy(new GateError("DEVICE_PROTOCOL", `answer over ${options.maxBytes} bytes`));
                        return;
                    }
                    chunks.push(chunk);
                });
                res.on("error", fail);
                res.on("end", () => {
                    clearTimeout(timer);
                    resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) });
                });
            });
            req.end(options.body);
        });
    }

    private async fetchSnapshot(uri: string, outer: AbortSignal): Promise<{ contentType: string; bytes: Buffer }> {
        const timeoutMs = this.options.snapshotTimeoutMs ?? 3000;
        const signal = AbortSignal.any([outer, AbortSignal.timeout(timeoutMs)]);
        const get = (authorization?: string) =>
            this.http(uri, {
                method: "GET",
                headers: authorization ? { accept: "image/jpeg", authorization } : { accept: "image/jpeg" },
                signal,
                timeoutMs,
                maxBytes: MAX_SNAPSHOT_BYTES,
            }).catch((err: unknown) => {
                if (outer.aborted) throw new GateError("DRIVER_CANCELED");
                throw signal.aborted ? new GateError("DEVICE_PROTOCOL", `snapshot took over ${timeoutMs} ms`) : err;
            });
        let res = await get();
        if (res.status === 401) {
            const authorization = authorize(res.headers["www-authenticate"], {
                username: this.options.username,
                password: this.options.password,
                method: "GET",
                uri,
            });
            if (!authorization) throw new GateError("DEVICE_AUTH", "snapshot asks for an unsupported authentication");
            res = await get(authorization);
            if (res.status === 401) throw new GateError("DEVICE_AUTH", "snapshot credentials refused");
        }
        if (res.status !== 200) throw new GateError("DEVICE_PROTOCOL", `snapshot HTTP ${res.status}`);
        if (res.body.length < 4 || res.body[0] !== 0xff || res.body[1] !== 0xd8) {
            throw new GateError("DEVICE_PROTOCOL", "snapshot is not a JPEG");
        }
        return { contentType: "image/jpeg", bytes: res.body };
    }
}

// ---------------------------------------------------------------------------------------------------
// helpers (pure)

function classify(err: unknown): Failure {
    if (isGateError(err, "DEVICE_AUTH")) {
        return refusedCredentials(err.message);
    }
    if (isGateError(err, "DEVICE_PROTOCOL")) {
        return { status: "degraded", reason: err.message, because: answered(err.message), reconnect: false };
    }
    if (isGateError(err, "DRIVER_DISCONNECTED")) {
        return {
            status: "offline",
            reason: err.message,
            because: { code: "CAMERA_UNREACHABLE", params: { detail: err.message } },
            reconnect: true,
        };
    }
    const code = (err as { code?: unknown } | undefined)?.code;
    const message = errorMessage(err);
    if ((typeof code === "string" && NETWORK_CODES.has(code)) || /timeout|socket hang up/i.test(message)) {
        return {
            status: "offline",
            reason: `camera unreachable: ${message}`,
            because: { code: "CAMERA_UNREACHABLE", params: { detail: message } },
            reconnect: true,
        };
    }
    // Errors from the onvif library arrive as plain Errors with the SOAP fault in the message.
    if (/not ?authori[sz]ed|authentication failed|\b401\b/i.test(message)) {
        return refusedCredentials(message);
    }
    const detail = message.slice(0, 200);
    return {
        status: "degraded",
        reason: `camera answered wrongly: ${detail}`,
        because: answered(detail),
        reconnect: true,
    };
}

function refusedCredentials(detail: string): Failure {
    return {
        status: "degraded",
        reason: `camera refused the credentials (${detail})`,
        because: { code: "CAMERA_CREDENTIALS", params: { detail } },
        reconnect: true,
    };
}

function answered(detail: string): StatusReason {
    return { code: "CAMERA_ANSWER", params: { detail } };
}

export interface SoapFault {
    /** s:Sender, s:Receiver (SOAP 1.2 Code/Value) or the SOAP 1.1 faultcode. */
    code: string;
    /** SOAP 1.2 Subcode/Value chain, outermost first (e.g. ter:NotAuthorized). */
    subcodes: string[];
    /** The first Reason/Text (SOAP 1.2) or faultstring (SOAP 1.1). */
    reason: string;
}

/** Code, Subcode chain and Reason of a SOAP 1.2 Fault (SOAP 1.1 faultcode/faultstring too). */
export function parseSoapFault(fault: XmlElement): SoapFault {
    const code = childNamed(fault, "Code");
    const subcodes: string[] = [];
    for (let sub = code ? childNamed(code, "Subcode") : undefined; sub; sub = childNamed(sub, "Subcode")) {
        const value = childNamed(sub, "Value")?.text.trim();
        if (value) subcodes.push(value);
    }
    const reasonEl = childNamed(fault, "Reason");
    const reason = reasonEl ? childNamed(reasonEl, "Text")?.text : childNamed(fault, "faultstring")?.text;
    return {
        code: (code ? childNamed(code, "Value")?.text : childNamed(fault, "faultcode")?.text)?.trim() ?? "",
        subcodes,
        reason: reason?.trim() ?? "",
    };
}

/** The GateError for a fault: DEVICE_AUTH when the subcode (or HTTP 401) says the token was refused. */
function faultError(fault: SoapFault, httpStatus: number): GateError {
    const codes = [fault.code, ...fault.subcodes].filter((c) => c !== "");
    const detail = `SOAP fault ${codes.join("/")}${fault.reason ? `: ${fault.reason}` : ""}`.slice(0, 300);
    const auth = httpStatus === 401 || codes.some((c) => /NotAuthorized|FailedAuthentication/i.test(c));
    return new GateError(auth ? "DEVICE_AUTH" : "DEVICE_PROTOCOL", detail);
}

/** The fault in a raw answer the onvif library reported as an error, if it is one. */
function libraryFault(xml: string | undefined): GateError | undefined {
    const fault = xml ? bodyOf(xml)?.children.find((c) => c.local === "Fault") : undefined;
    // The library keeps no HTTP status with the XML; the subcode decides.
    return fault ? faultError(parseSoapFault(fault), 0) : undefined;
}

/** Local ms epoch of a TerminationTime, measured against the answer's CurrentTime when it has one. */
function terminationFrom(response: XmlElement, fallbackMs: number): number {
    const termination = Date.parse(descendantNamed(response, "TerminationTime")?.text.trim() ?? "");
    const current = Date.parse(descendantNamed(response, "CurrentTime")?.text.trim() ?? "");
    const remaining = Number.isFinite(termination) && Number.isFinite(current) ? termination - current : fallbackMs;
    return Date.now() + Math.max(1000, Math.min(remaining, fallbackMs * 4));
}

/** The Body of an answer as the onvif library hands it over (namespace declarations already deleted). */
function bodyOf(xml: string): XmlElement | undefined {
    const parsed = parseXml(xml, { undeclaredPrefixes: true });
    if (!parsed.ok) return undefined;
    return childNamed(parsed.root, "Body");
}

function parseDeviceInformation(xml: string): CameraInfo {
    const response = bodyOf(xml)?.children[0];
    const field = (name: string) => (response ? (childNamed(response, name)?.text.trim() ?? "") : "");
    return {
        manufacturer: field("Manufacturer"),
        model: field("Model"),
        firmwareVersion: field("FirmwareVersion"),
        serialNumber: field("SerialNumber"),
    };
}

function firstProfileToken(xml: string): string | undefined {
    const response = bodyOf(xml)?.children[0];
    const profile = response ? childrenNamed(response, "Profiles")[0] : undefined;
    return profile?.attributes.find((a) => a.local === "token")?.value;
}

function parseSnapshotUri(xml: string): string | undefined {
    const body = bodyOf(xml);
    const uri = body ? descendantNamed(body, "Uri")?.text.trim() : undefined;
    return uri && /^https?:\/\//i.test(uri) ? uri : undefined;
}

/** The Authorization header answering a WWW-Authenticate challenge (Digest MD5/SHA-256, or Basic). */
export function authorize(
    challenge: string | undefined,
    request: { username: string; password: string; method: string; uri: string },
): string | undefined {
    if (!challenge) return undefined;
    const { username, password, method } = request;
    const digestAt = challenge.search(/Digest\s/i);
    if (digestAt >= 0) {
        const params = authParams(challenge.slice(digestAt + 7));
        const realm = params.realm ?? "";
        const nonce = params.nonce ?? "";
        const algorithm = (params.algorithm ?? "MD5").toUpperCase();
        const hashName = algorithm.startsWith("SHA-256") ? "sha256" : algorithm.startsWith("MD5") ? "md5" : undefined;
        if (!hashName || !nonce) return undefined;
        const h = (s: string) => createHash(hashName).update(s).digest("hex");
        const target = new URL(request.uri);
        const path = `${target.pathname}${target.search}`;
        const cnonce = randomBytes(8).toString("hex");
        const nc = "00000001";
        let ha1 = h(`${username}:${realm}:${password}`);
        if (algorithm.endsWith("-SESS")) ha1 = h(`${ha1}:${nonce}:${cnonce}`);
        const ha2 = h(`${method}:${path}`);
        const qops = (params.qop ?? "").split(",").map((q) => q.trim());
        const qop = qops.includes("auth") ? "auth" : undefined;
        const response = qop ? h(`${ha1}:${nonce}:${nc}:${cnonce}:${qop}:${ha2}`) : h(`${ha1}:${nonce}:${ha2}`);
        const quote = (s: string) => `"${s.replace(/(["\\])/g, "\\$1")}"`;
        const parts = [
            `username=${quote(username)}`,
            `realm=${quote(realm)}`,
            `nonce=${quote(nonce)}`,
            `uri=${quote(path)}`,
            `algorithm=${params.algorithm ?? "MD5"}`,
            `response=${quote(response)}`,
        ];
        if (qop) parts.push(`qop=${qop}`, `nc=${nc}`, `cnonce=${quote(cnonce)}`);
        if (params.opaque !== undefined) parts.push(`opaque=${quote(params.opaque)}`);
        return `Digest ${parts.join(", ")}`;
    }
    if (/Basic/i.test(challenge)) return `Basic ${Buffer.from(`${username}:${password}`).toString("base64")}`;
    return undefined;
}

function authParams(text: string): Record<string, string> {
    const params: Record<string, string> = {};
    for (const m of text.matchAll(/([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))/g)) {
        const key = (m[1] ?? "").toLowerCase();
        if (!(key in params)) params[key] = m[2] !== undefined ? m[2].replace(/\\(.)/g, "$1") : (m[3] ?? "");
    }
    return params;
}

/** The ONVIF transport: one camera session with its PullPoint subscription, and snapshots on demand. */
export const transport: TransportModule = {
    framesProveLife: false,
    describeAddress(device) {
        const address = addressOf(device, "onvif");
        return `onvif://${address.host}:${address.port}`;
    },
    doctorTarget(device) {
        const { host, port } = addressOf(device, "onvif");
        return { kind: "network", host, port, url: `http://${host}:${port}` };
    },
    create({ device, model }, ctx) {
        const address = addressOf(device, "onvif");
        const camera = new OnvifCameraDriver(
            {
                hostname: address.host,
                port: address.port,
                username: device.login?.username ?? "",
                password: device.login?.password ?? "",
                plateTopic: modelOf(device, model, "onvif").plateTopic,
                snapshot: address.snapshot,
            },
            ctx,
        );
        return {
            capabilities: { ...READ_ONLY, snapshot: true },
            start: () => camera.start(),
            stop: () => camera.stop(),
            describe: () => ({ address: `onvif://${address.host}:${address.port}` }),
            snapshot: () => camera.snapshot(),
        };
    },
};
