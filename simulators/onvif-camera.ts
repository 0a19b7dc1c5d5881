/**
 * An ONVIF licence-plate camera on a real HTTP port (docs/devices.md "Plate cameras"): device, media and
 * event services over SOAP 1.2, WS-UsernameToken on every call but GetSystemDateAndTime, PullPoint
 * subscriptions with a dynamic URL each, a real long poll, Renew/Unsubscribe/expiry, and a JPEG
 * snapshot behind HTTP Digest (or Basic) auth. As field clients (libonvif's onvif-util) need: WS-Discovery
 * ProbeMatch on UDP 3702 when asked, every answer with Content-Length, a UsernameToken reusable within its
 * validity, and an rtsp:// stream URI (no RTSP server behind it).
 *
 * Unlike the onvif library's own mock, requests are parsed as XML with namespaces, so any client
 * envelope works (any prefixes, SOAP 1.1 or 1.2, Action from the body element, PullPoint from the URL
 * path or the wsa:To header). Plate events are encoded by the device model's encodeNotification, so the
 * simulator and the decoder agree by construction.
 *
 * Error rules: start() rejects if the port cannot be bound; plate() throws SIMULATOR_USAGE for an empty
 * text or a likelihood outside 0–1; reboot() rejects if the port cannot be bound again. Protocol errors
 * of clients are answered with SOAP faults, never thrown.
 */
import { createHash, randomBytes as cryptoRandomBytes, randomUUID, timingSafeEqual } from "node:crypto";
import { createSocket, type RemoteInfo, type Socket as UdpSocket } from "node:dgram";
import { EventEmitter } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { networkInterfaces } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import {
    attribute,
    childNamed,
    descendantNamed,
    escapeXml,
    NS,
    parseDuration,
    parseXml,
    type XmlElement,
} from "../devices/lib/xml.ts";
import { encodeNotification } from "../devices/onvif-anpr.ts";
import { GateError } from "../src/core/errors.ts";
import { plateJpeg, sceneJpeg } from "./lib/plate-image.ts";
import type { Rng } from "./random.ts";

export interface SimulatedProfile {
    token: string;
    name: string;
    width: number;
    height: number;
}

export interface OnvifCameraSimulatorOptions {
    /** Default 127.0.0.1. */
    host?: string;
    /** 0 = a free port (see `port` after start()). */
    port: number;
    username: string;
    password: string;
    profiles?: SimulatedProfile[];
    /** Random source for subscription ids and nonces (repeatable runs). Default crypto randomness. */
    rng?: Rng;
    /** How the snapshot URI is protected. Default "digest" (what most cameras ask for). */
    snapshotAuth?: "digest" | "basic";
    /** Longest subscription a client may ask for, ms. Default 10 min. */
    maxTerminationMs?: number;
    /** Answer a PullMessages with a zero Timeout (PT0S) with a fault, as some cameras do. Default false. */
    refuseZeroTimeout?: boolean;
    /** How far the camera's clock is from the real one, ms (a camera never set, or set to local time). Default 0. */
    clockOffsetMs?: number;
    /**
     * Answer WS-Discovery Probes (UDP, multicast 239.255.255.250 joined on `host`'s interface, and unicast)
     * with a ProbeMatch carrying the device service address. `port` is 3702 unless a test needs another.
     * Default off.
     */
    discovery?: boolean | { port?: number };
    /** UsernameTokens remembered against replay (bounded memory). Default 4096. */
    replayCacheSize?: number;
    /** Send SOAP answers chunked, without Content-Length, as some cameras' web servers do. Default false. */
    chunkedReplies?: boolean;
    /** The real clock, ms epoch (tests move it to expire tokens). Default Date.now. */
    now?: () => number;
}

export type OnvifCameraSimulatorEvents = {
    /** One SOAP request answered: action (local name), HTTP status. */
    request: [action: string, status: number];
    authFailed: [action: string, why: string];
    subscribed: [id: string];
    unsubscribed: [id: string];
    expired: [id: string];
    /** A PullMessages answer with this many messages. */
    pulled: [id: string, messages: number];
    plate: [text: string, subscriptions: number];
    snapshot: [status: number];
    /** A WS-Discovery ProbeMatch sent to this address:port. */
    probed: [address: string, port: number];
    rebooting: [downMs: number];
    up: [port: number];
};

interface Subscription {
    id: string;
    terminationAt: number;
    queue: string[];
    waiter: PullWaiter | undefined;
}

interface PullWaiter {
    limit: number;
    timer: NodeJS.Timeout;
    respond(messages: string[]): void;
    fault(fault: Fault): void;
}

interface Fault {
    status: number;
    code: "s:Sender" | "s:Receiver";
    subcode: string;
    reason: string;
}

interface SoapRequest {
    action: string;
    actionNs: string | undefined;
    body: XmlElement;
    header: XmlElement | undefined;
    to: string | undefined;
}

const MAX_REQUEST_BYTES = 256 * 1024;
const CREATED_SKEW_MS = 5 * 60_000; // WS-Security Created may differ from the camera clock by 5 min
const TOKEN_VALIDITY_MS = 5 * 60_000; // a UsernameToken may be reused this long after its first use
const DEFAULT_REPLAY_CACHE = 4096;
const DISCOVERY_PORT = 3702;
const DISCOVERY_GROUP = "239.255.255.250";
const WSD = "http://schemas.xmlsoap.org/ws/2005/04/discovery";
const WSA_2004 = "http://schemas.xmlsoap.org/ws/2004/08/addressing";
const MAX_PROBE_BYTES = 16 * 1024;
/** The stream URI's port: advertised as cameras do, though this simulator runs no RTSP server. */
const RTSP_PORT = 554;
const DEFAULT_TERMINATION_MS = 60_000;
const REALM = "gate-edge-onvif-sim";

const DEFAULT_PROFILES: readonly SimulatedProfile[] = [
    { token: "Profile_1", name: "mainStream", width: 1920, height: 1080 },
    { token: "Profile_2", name: "subStream", width: 640, height: 360 },
];

/**
 * A valid 8×8 mid-grey baseline JPEG: one block whose coefficients are all zero, one-code Huffman tables
 * (DC category 0, AC end-of-block), so the scan is the two bits "00" padded with ones.
 */
export const SNAPSHOT_JPEG: Uint8Array = (() => {
    const dqt = [0xff, 0xdb, 0x00, 0x43, 0x00, ...new Array<number>(64).fill(1)];
    const huffman = (tableClass: number) => [
        0xff,
        0xc4,
        0x00,
        0x14,
        tableClass,
        1,
        ...new Array<number>(15).fill(0),
        0x00,
    ];
    return Uint8Array.from([
        0xff,
        0xd8, // SOI
        0xff,
        0xe0,
        0x00,
        0x10,
        0x4a,
        0x46,
        0x49,
        0x46,
        0x00,
        0x01,
        0x01,
        0x00,
        0x00,
        0x01,
        0x00,
        0x01,
        0x00,
        0x00, // JFIF
        ...dqt,
        0xff,
        0xc0,
        0x00,
        0x0b,
        0x08,
        0x00,
        0x08,
        0x00,
        0x08,
        0x01,
        0x01,
        0x11,
        0x00, // SOF0 8×8, 1 component
        ...huffman(0x00),
        ...huffman(0x10),
        0xff,
        0xda,
        0x00,
        0x08,
        0x01,
        0x01,
        0x00,
        0x00,
        0x3f,
        0x00, // SOS
        0x3f, // scan data
        0xff,
        0xd9, // EOI
    ]);
})();

const ENVELOPE_OPEN =
    `<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="${NS.soap12}" xmlns:tt="${NS.tt}" ` +
    `xmlns:tds="${NS.tds}" xmlns:trt="${NS.trt}" xmlns:tev="${NS.tev}" xmlns:wsnt="${NS.wsnt}" ` +
    `xmlns:wsa="${NS.wsa}" xmlns:tns1="${NS.tns1}" xmlns:ter="${NS.ter}" ` +
    `xmlns:wstop="http://docs.oasis-open.org/wsn/t-1" xmlns:wsrf-rw="http://docs.oasis-open.org/wsrf/rw-2">`;

function envelope(body: string, header = ""): string {
    return `${ENVELOPE_OPEN}<s:Header>${header}</s:Header><s:Body>${body}</s:Body></s:Envelope>`;
}

function zeroTimeout(body: XmlElement): boolean {
    return parseDuration(childNamed(body, "Timeout")?.text ?? "") === 0;
}

function faultXml(fault: Fault): string {
    return envelope(
        `<s:Fault><s:Code><s:Value>${fault.code}</s:Value><s:Subcode><s:Value>${fault.subcode}</s:Value></s:Subcode></s:Code>` +
            `<s:Reason><s:Text xml:lang="en">${escapeXml(fault.reason)}</s:Text></s:Reason></s:Fault>`,
    );
}

const NOT_AUTHORIZED = (why: string): Fault => ({
    status: 400, // ONVIF Core §5.9.1: a refused WS-Security token is HTTP 400 with ter:NotAuthorized
    code: "s:Sender",
    subcode: "ter:NotAuthorized",
    reason: `Sender not authorized: ${why}`,
});
const UNKNOWN_SUBSCRIPTION: Fault = {
    status: 400,
    code: "s:Sender",
    subcode: "wsrf-rw:ResourceUnknownFault",
    reason: "Subscription not found",
};

export class OnvifCameraSimulator extends EventEmitter<OnvifCameraSimulatorEvents> {
    private server: Server | undefined;
    private readonly sockets = new Set<Socket>();
    private readonly subscriptions = new Map<string, Subscription>();
    /** Tokens seen (digest, nonce and Created together) → local ms when seen; insertion order = age. */
    private readonly seenTokens = new Map<string, number>();
    private discoverySocket: UdpSocket | undefined;
    private readonly endpointId = `urn:uuid:${randomUUID()}`;
    private readonly digestNonces = new Set<string>();
    private sweeper: NodeJS.Timeout | undefined;
    private boundPort = 0;
    private bootedAt = 0;
    private down = false;
    /** PullMessages requests received. */
    pulls = 0;
    /** Subscriptions created since start (reboots included). */
    subscriptionsCreated = 0;
    renews = 0;
    unsubscribes = 0;
    snapshots = 0;
    authFailures = 0;
    /** Plate events queued (once per plate() call, whatever the number of subscriptions). */
    platesQueued = 0;
    /** The last plate read: the snapshot shows it in its scene (before any, the plain SNAPSHOT_JPEG). */
    private lastPlate: string | undefined;

    constructor(private readonly options: OnvifCameraSimulatorOptions) {
        super();
    }

    get host(): string {
        return this.options.host ?? "127.0.0.1";
    }

    /** The bound port (valid after start()). */
    get port(): number {
        return this.boundPort;
    }

    /** Device service URL, e.g. http://127.0.0.1:8899/onvif/device_service. */
    get deviceUrl(): string {
        return `${this.baseUrl}/onvif/device_service`;
    }

    get activeSubscriptions(): number {
        return this.subscriptions.size;
    }

    /** PullMessages requests being held open right now (long polls). */
    get pendingPulls(): number {
        let n = 0;
        for (const sub of this.subscriptions.values()) if (sub.waiter) n++;
        return n;
    }

    /** Seconds since the (last) boot, as a camera reports its uptime. */
    get uptimeSeconds(): number {
        return this.bootedAt === 0 ? 0 : Math.floor((Date.now() - this.bootedAt) / 1000);
    }

    private get baseUrl(): string {
        const host = this.advertisedHost.includes(":") ? `[${this.advertisedHost}]` : this.advertisedHost;
        return `http://${host}:${this.boundPort}`;
    }

    /**
     * The address clients are told to use: the listening address, or for a wildcard one the first external
     * IPv4 address (a camera never advertises 0.0.0.0).
     */
    private get advertisedHost(): string {
        if (this.host !== "0.0.0.0" && this.host !== "::") return this.host;
        for (const addresses of Object.values(networkInterfaces())) {
            const external = addresses?.find((a) => a.family === "IPv4" && !a.internal);
            if (external) return external.address;
        }
        return "127.0.0.1";
    }

    async start(): Promise<void> {
        if (this.server) return;
        await this.listen(this.options.port);
        if (this.options.discovery) await this.startDiscovery();
        this.sweeper = setInterval(() => this.sweep(), 250);
    }

    /** Closes the server, answers nothing more and drops every subscription. Idempotent. */
    async stop(): Promise<void> {
        clearInterval(this.sweeper);
        this.sweeper = undefined;
        const discovery = this.discoverySocket;
        this.discoverySocket = undefined;
        if (discovery) await new Promise<void>((resolve) => discovery.close(() => resolve()));
        await this.close();
    }

    /** The UDP port WS-Discovery probes are answered on (valid after start() with `discovery`). */
    get discoveryPort(): number {
        return this.discoverySocket?.address().port ?? 0;
    }

    /** UsernameTokens remembered against replay right now (never more than replayCacheSize). */
    get replayCacheEntries(): number {
        return this.seenTokens.size;
    }

    /**
     * Queues one LicensePlate event on every live subscription (and answers waiting long polls).
     * Returns the number of subscriptions that got it.
     */
    plate(read: { text: string; countryCode?: string; likelihood: number; image?: boolean }): number {
        if (read.text.trim() === "") throw new GateError("SIMULATOR_USAGE", "plate text is empty");
        if (!(read.likelihood >= 0 && read.likelihood <= 1)) {
            throw new GateError("SIMULATOR_USAGE", `likelihood must be 0-1, got ${read.likelihood}`);
        }
        const xml = encodeNotification(
            {
                text: read.text,
                countryCode: read.countryCode,
                confidence: read.likelihood,
                images: read.image
                    ? [{ name: "Image", contentType: "image/jpeg", bytes: plateJpeg(read.text) }]
                    : undefined,
            },
            { utcTime: new Date() },
        );
        this.platesQueued++;
        this.lastPlate = read.text;
        this.notify(xml);
        this.emit("plate", read.text, this.subscriptions.size);
        return this.subscriptions.size;
    }

    /**
     * Queues one NotificationMessage exactly as given (a recorded one, replayed) on every live subscription.
     * Returns the number of subscriptions that got it.
     */
    notify(notificationXml: string): number {
        for (const sub of this.subscriptions.values()) {
            sub.queue.push(notificationXml);
            this.flush(sub);
        }
        return this.subscriptions.size;
    }

    /**
     * A power cycle: the port closes (clients get connection refused), every subscription is lost, and
     * after downMs the camera answers again on the same port with its uptime reset.
     */
    async reboot(downMs: number): Promise<void> {
        this.emit("rebooting", downMs);
        await this.close();
        this.down = true;
        await sleep(downMs);
        this.down = false;
        if (this.sweeper === undefined) return; // stopped while down
        await this.listen(this.boundPort);
    }

    /** Destroys every open connection (like a switch port flapping); the server keeps listening. */
    breakConnections(): void {
        for (const socket of this.sockets) socket.destroy();
    }

    // ----------------------------------------------------------------------------------------------
    // server lifecycle

    private async listen(port: number): Promise<void> {
        const server = createServer((req, res) => this.handle(req, res));
        // Long polls may be held up to the client's Timeout; Node's default 5 s keep-alive and request
        // timeouts would cut them off.
        server.requestTimeout = 0;
        server.keepAliveTimeout = 30_000;
        server.on("connection", (socket) => {
            this.sockets.add(socket);
            socket.on("close", () => this.sockets.delete(socket));
        });
        await new Promise<void>((resolve, reject) => {
            server.once("error", reject);
            server.listen(port, this.host, () => {
                server.off("error", reject);
                resolve();
            });
        });
        const address = server.address();
        this.boundPort = typeof address === "object" && address ? address.port : port;
        this.server = server;
        this.bootedAt = Date.now();
        this.emit("up", this.boundPort);
    }

    private async close(): Promise<void> {
        const server = this.server;
        this.server = undefined;
        for (const sub of this.subscriptions.values()) clearTimeout(sub.waiter?.timer);
        this.subscriptions.clear();
        this.digestNonces.clear();
        this.seenTokens.clear();
        if (!server) return;
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        for (const socket of this.sockets) socket.destroy();
        await closed;
    }

    private sweep(): void {
        const now = Date.now();
        const tokenNow = this.realNow();
        for (const sub of this.subscriptions.values()) {
            if (sub.terminationAt > now) continue;
            this.subscriptions.delete(sub.id);
            clearTimeout(sub.waiter?.timer);
            sub.waiter?.fault(UNKNOWN_SUBSCRIPTION);
            this.emit("expired", sub.id);
        }
        // A token first used over validity + skew ago is refused for its Created anyway; insertion order is age.
        for (const [token, at] of this.seenTokens) {
            if (tokenNow - at <= TOKEN_VALIDITY_MS + 2 * CREATED_SKEW_MS) break;
            this.seenTokens.delete(token);
        }
    }

    // ----------------------------------------------------------------------------------------------
    // WS-Discovery

    /**
     * Binds the discovery port (shared: several cameras on one host all hear multicast probes) and joins
     * 239.255.255.250 on the interface of `host` (all interfaces for a wildcard host).
     */
    private async startDiscovery(): Promise<void> {
        const config = typeof this.options.discovery === "object" ? this.options.discovery : {};
        const socket = createSocket({ type: "udp4", reuseAddr: true });
        socket.on("message", (message, remote) => this.answerProbe(socket, message, remote));
        socket.on("error", () => undefined); // a bad datagram or a send to a vanished client: keep answering
        await new Promise<void>((resolve, reject) => {
            socket.once("error", reject);
            socket.bind(config.port ?? DISCOVERY_PORT, () => {
                socket.off("error", reject);
                resolve();
            });
        });
        const wildcard = this.host === "0.0.0.0" || this.host === "::";
        try {
            if (wildcard) socket.addMembership(DISCOVERY_GROUP);
            else socket.addMembership(DISCOVERY_GROUP, this.host);
        } catch (err) {
            socket.close();
            throw new GateError("SIMULATOR_USAGE", `cannot join ${DISCOVERY_GROUP} on ${this.host}`, { cause: err });
        }
        this.discoverySocket = socket;
    }

    /** A ProbeMatch for a Probe asking for no type, a NetworkVideoTransmitter or a Device; others are ignored. */
    private answerProbe(socket: UdpSocket, message: Buffer, remote: RemoteInfo): void {
        if (this.down || !this.server || message.length > MAX_PROBE_BYTES) return;
        const parsed = parseXml(message.toString("utf8"));
        if (!parsed.ok) return;
        const probe = descendantNamed(parsed.root, "Probe", WSD);
        if (!probe) return;
        const types = childNamed(probe, "Types", WSD)?.text.trim() ?? "";
        const wanted = types === "" ? [] : types.split(/\s+/).map((t) => t.slice(t.indexOf(":") + 1));
        if (wanted.length > 0 && !wanted.some((t) => t === "NetworkVideoTransmitter" || t === "Device")) return;
        const header = childNamed(parsed.root, "Header", parsed.root.ns);
        const messageId = header ? childNamed(header, "MessageID")?.text.trim() : undefined;
        const reply = probeMatchXml({
            messageId: `urn:uuid:${randomUUID()}`,
            relatesTo: messageId,
            endpoint: this.endpointId,
            xaddrs: this.deviceUrl,
        });
        // A probe from an unbound socket on loopback arrives "from" 0.0.0.0; the answer goes to this host.
        const address = remote.address === "0.0.0.0" ? "127.0.0.1" : remote.address;
        socket.send(reply, remote.port, address, (err) => {
            if (!err) this.emit("probed", address, remote.port);
        });
    }

    // ----------------------------------------------------------------------------------------------
    // HTTP

    private handle(req: IncomingMessage, res: ServerResponse): void {
        if (this.down) {
            req.socket.destroy();
            return;
        }
        const url = new URL(req.url ?? "/", "http://camera");
        if (req.method === "GET" && url.pathname === "/onvif/snapshot") {
            this.serveSnapshot(req, res, url);
            return;
        }
        if (req.method !== "POST") {
            res.writeHead(405, { allow: "POST" }).end();
            return;
        }
        const chunks: Buffer[] = [];
        let size = 0;
        req.on("data", (chunk: Buffer) => {
            size += chunk.length;
            if (size > MAX_REQUEST_BYTES) {
                req.destroy();
                return;
            }
            chunks.push(chunk);
        });
        req.on("end", () => {
            if (size > MAX_REQUEST_BYTES) return;
            this.handleSoap(Buffer.concat(chunks).toString("utf8"), url.pathname, res);
        });
        req.on("error", () => undefined);
    }

    private send(res: ServerResponse, action: string, status: number, xml: string): void {
        if (res.writableEnded || res.destroyed) return;
        // An explicit Content-Length: without it Node sends the body chunked, and clients such as libonvif
        // read the body by Content-Length only ("No XML reply").
        const body = Buffer.from(xml, "utf8");
        if (this.options.chunkedReplies) {
            res.writeHead(status, { "Content-Type": "application/soap+xml; charset=utf-8" });
            res.write(body);
            res.end();
        } else {
            res.writeHead(status, {
                "Content-Type": "application/soap+xml; charset=utf-8",
                "Content-Length": String(body.length),
            });
            res.end(body);
        }
        this.emit("request", action, status);
    }

    private sendFault(res: ServerResponse, action: string, fault: Fault): void {
        this.send(res, action, fault.status, faultXml(fault));
    }

    private handleSoap(text: string, path: string, res: ServerResponse): void {
        const soap = parseSoap(text);
        if (typeof soap === "string") {
            this.sendFault(res, "?", { status: 400, code: "s:Sender", subcode: "ter:WellFormed", reason: soap });
            return;
        }
        const { action } = soap;
        if (action !== "GetSystemDateAndTime") {
            const why = this.checkToken(soap.header);
            if (why) {
                this.authFailures++;
                this.emit("authFailed", action, why);
                this.sendFault(res, action, NOT_AUTHORIZED(why));
                return;
            }
        }
        const pullPointId = pullPointOf(path) ?? pullPointOf(soap.to ?? "");
        switch (action) {
            case "PullMessages":
            case "Renew":
            case "Unsubscribe": {
                const sub = pullPointId === undefined ? undefined : this.subscriptions.get(pullPointId);
                if (!sub) {
                    this.sendFault(res, action, UNKNOWN_SUBSCRIPTION);
                    return;
                }
                if (action === "PullMessages" && this.options.refuseZeroTimeout && zeroTimeout(soap.body)) {
                    this.sendFault(res, action, {
                        status: 400,
                        code: "s:Sender",
                        subcode: "ter:InvalidArgVal",
                        reason: "Timeout must be at least PT1S",
                    });
                } else if (action === "PullMessages") this.pull(sub, soap.body, res);
                else if (action === "Renew") this.renew(sub, soap.body, res);
                else this.unsubscribe(sub, res);
                return;
            }
        }
        const body = this.answer(soap);
        if (body === undefined) {
            this.sendFault(res, action, {
                status: 400,
                code: "s:Sender",
                subcode: "ter:ActionNotSupported",
                reason: `Optional Action Not Implemented: ${action}`,
            });
            return;
        }
        this.send(res, action, 200, envelope(body));
    }

    /** Why the WS-UsernameToken is refused, or undefined when it is accepted. */
    private checkToken(header: XmlElement | undefined): string | undefined {
        const token = header ? descendantNamed(header, "UsernameToken") : undefined;
        if (!token) return "no UsernameToken";
        const username = childNamed(token, "Username")?.text.trim();
        const passwordEl = childNamed(token, "Password");
        if (username !== this.options.username || !passwordEl) return "unknown user";
        const given = passwordEl.text.trim();
        const type = attribute(passwordEl, "Type") ?? "";
        if (type.endsWith("#PasswordText")) {
            return safeEqual(given, this.options.password) ? undefined : "wrong password";
        }
        const nonce = childNamed(token, "Nonce")?.text.trim() ?? "";
        const created = childNamed(token, "Created")?.text.trim() ?? "";
        const createdMs = Date.parse(created);
        if (!Number.isFinite(createdMs) || Math.abs(createdMs - this.cameraNow()) > CREATED_SKEW_MS) {
            return "Created missing or outside the allowed clock skew";
        }
        const expected = createHash("sha1")
            .update(
                Buffer.concat([Buffer.from(nonce, "base64"), Buffer.from(created), Buffer.from(this.options.password)]),
            )
            .digest("base64");
        if (!safeEqual(given, expected)) return "wrong password";
        return this.checkReuse(`${given} ${nonce} ${created}`);
    }

    /**
     * Token reuse as cameras handle it: the same token (digest, nonce and Created together) may be used again
     * within its validity, TOKEN_VALIDITY_MS from its first use. libonvif sends one nonce per second and
     * byte-identical tokens for calls in the same millisecond, and cameras accept that. Refused: a token
     * whose Created is off the camera clock by more than CREATED_SKEW_MS (checked before), and the same
     * token again after its validity, which the skew window alone would allow for up to twice as long
     * (a Created 5 min ahead of the camera stays inside the window for 10 min).
     * Memory is bounded: at replayCacheSize the oldest token is forgotten; used again, it starts a new
     * validity, still only while its Created is inside the skew window.
     */
    private checkReuse(key: string): string | undefined {
        const now = this.realNow();
        const firstUse = this.seenTokens.get(key);
        if (firstUse !== undefined) {
            return now - firstUse > TOKEN_VALIDITY_MS ? "token replayed after its validity" : undefined;
        }
        const max = this.options.replayCacheSize ?? DEFAULT_REPLAY_CACHE;
        while (this.seenTokens.size >= max) {
            const oldest = this.seenTokens.keys().next().value;
            if (oldest === undefined) break;
            this.seenTokens.delete(oldest);
        }
        this.seenTokens.set(key, now);
        return undefined;
    }

    private answer(soap: SoapRequest): string | undefined {
        const ns = soap.actionNs;
        switch (soap.action) {
            case "GetSystemDateAndTime":
                return this.systemDateAndTime();
            case "GetCapabilities":
                return this.capabilities();
            case "GetServices":
                return this.services();
            case "GetDeviceInformation":
                return (
                    "<tds:GetDeviceInformationResponse><tds:Manufacturer>gate-edge</tds:Manufacturer>" +
                    "<tds:Model>ONVIF LPR simulator</tds:Model><tds:FirmwareVersion>1.0.0</tds:FirmwareVersion>" +
                    "<tds:SerialNumber>003725</tds:SerialNumber><tds:HardwareId>SIM-LPR</tds:HardwareId>" +
                    "</tds:GetDeviceInformationResponse>"
                );
            case "GetProfiles":
                return `<trt:GetProfilesResponse>${this.profiles()
                    .map((p) => profileXml(p))
                    .join("")}</trt:GetProfilesResponse>`;
            case "GetProfile": {
                const token = descendantNamed(soap.body, "ProfileToken")?.text.trim() ?? "";
                const profile = this.profiles().find((p) => p.token === token);
                return profile && `<trt:GetProfileResponse>${profileXml(profile, "Profile")}</trt:GetProfileResponse>`;
            }
            case "GetVideoSources":
                return (
                    '<trt:GetVideoSourcesResponse><trt:VideoSources token="VideoSource_1"><tt:Framerate>25</tt:Framerate>' +
                    "<tt:Resolution><tt:Width>1920</tt:Width><tt:Height>1080</tt:Height></tt:Resolution>" +
                    "</trt:VideoSources></trt:GetVideoSourcesResponse>"
                );
            case "GetSnapshotUri": {
                const token = descendantNamed(soap.body, "ProfileToken")?.text.trim() ?? "";
                if (!this.profiles().some((p) => p.token === token)) return undefined;
                return (
                    `<trt:GetSnapshotUriResponse><trt:MediaUri><tt:Uri>${this.baseUrl}/onvif/snapshot?profile=${encodeURIComponent(token)}</tt:Uri>` +
                    "<tt:InvalidAfterConnect>false</tt:InvalidAfterConnect><tt:InvalidAfterReboot>false</tt:InvalidAfterReboot>" +
                    "<tt:Timeout>PT0S</tt:Timeout></trt:MediaUri></trt:GetSnapshotUriResponse>"
                );
            }
            case "GetStreamUri": {
                const token = descendantNamed(soap.body, "ProfileToken")?.text.trim() ?? "";
                if (!this.profiles().some((p) => p.token === token)) return undefined;
                return (
                    `<trt:GetStreamUriResponse><trt:MediaUri><tt:Uri>${this.rtspUri(token)}</tt:Uri>` +
                    "<tt:InvalidAfterConnect>false</tt:InvalidAfterConnect><tt:InvalidAfterReboot>false</tt:InvalidAfterReboot>" +
                    "<tt:Timeout>PT0S</tt:Timeout></trt:MediaUri></trt:GetStreamUriResponse>"
                );
            }
            case "GetHostname":
                return (
                    "<tds:GetHostnameResponse><tds:HostnameInformation><tt:FromDHCP>false</tt:FromDHCP>" +
                    "<tt:Name>gate-edge-onvif-sim</tt:Name></tds:HostnameInformation></tds:GetHostnameResponse>"
                );
            case "GetEventProperties":
                return (
                    "<tev:GetEventPropertiesResponse>" +
                    "<tev:TopicNamespaceLocation>http://www.onvif.org/onvif/ver10/topics/topicns.xml</tev:TopicNamespaceLocation>" +
                    '<wsnt:FixedTopicSet>true</wsnt:FixedTopicSet><wstop:TopicSet><tns1:RuleEngine><Recognition><LicensePlate wstop:topic="true">' +
                    '<tt:MessageDescription IsProperty="false"><tt:Source><tt:SimpleItemDescription Name="VideoSource" Type="tt:ReferenceToken"/>' +
                    '<tt:SimpleItemDescription Name="Rule" Type="xs:string"/></tt:Source><tt:Data>' +
                    '<tt:SimpleItemDescription Name="Likelihood" Type="xs:float"/>' +
                    '<tt:ElementItemDescription Name="LicensePlateInfo" Type="tt:LicensePlateInfo"/></tt:Data>' +
                    "</tt:MessageDescription></LicensePlate></Recognition></tns1:RuleEngine></wstop:TopicSet>" +
                    "<tev:TopicExpressionDialect>http://www.onvif.org/ver10/tev/topicExpression/ConcreteSet</tev:TopicExpressionDialect>" +
                    "<tev:MessageContentFilterDialect>http://www.onvif.org/ver10/tev/messageContentFilter/ItemFilter</tev:MessageContentFilterDialect>" +
                    "</tev:GetEventPropertiesResponse>"
                );
            case "GetServiceCapabilities":
                if (ns === NS.tev) {
                    return (
                        '<tev:GetServiceCapabilitiesResponse><tev:Capabilities WSSubscriptionPolicySupport="false" ' +
                        'WSPullPointSupport="true" WSPausableSubscriptionManagerInterfaceSupport="false" ' +
                        'MaxNotificationProducers="0" MaxPullPoints="8" PersistentNotificationStorage="false"/>' +
                        "</tev:GetServiceCapabilitiesResponse>"
                    );
                }
                return undefined;
            case "CreatePullPointSubscription":
                return this.createSubscription(soap.body);
            default:
                return undefined;
        }
    }

    private profiles(): readonly SimulatedProfile[] {
        return this.options.profiles ?? DEFAULT_PROFILES;
    }

    /** The camera's clock, ms epoch: the real one moved by clockOffsetMs. */
    private cameraNow(): number {
        return this.realNow() + (this.options.clockOffsetMs ?? 0);
    }

    private realNow(): number {
        return this.options.now?.() ?? Date.now();
    }

    /**
     * Where the camera says its video is. The simulator runs no RTSP server (nothing listens on 554); the
     * URI is what a client needs to see, and what cameras answer.
     */
    private rtspUri(profileToken: string): string {
        const host = this.advertisedHost.includes(":") ? `[${this.advertisedHost}]` : this.advertisedHost;
        return `rtsp://${host}:${RTSP_PORT}/onvif/media?profile=${encodeURIComponent(profileToken)}`;
    }

    private systemDateAndTime(): string {
        const now = new Date(this.cameraNow());
        return (
            "<tds:GetSystemDateAndTimeResponse><tds:SystemDateAndTime><tt:DateTimeType>NTP</tt:DateTimeType>" +
            "<tt:DaylightSavings>false</tt:DaylightSavings><tt:TimeZone><tt:TZ>UTC0</tt:TZ></tt:TimeZone>" +
            `<tt:UTCDateTime><tt:Time><tt:Hour>${now.getUTCHours()}</tt:Hour><tt:Minute>${now.getUTCMinutes()}</tt:Minute>` +
            `<tt:Second>${now.getUTCSeconds()}</tt:Second></tt:Time><tt:Date><tt:Year>${now.getUTCFullYear()}</tt:Year>` +
            `<tt:Month>${now.getUTCMonth() + 1}</tt:Month><tt:Day>${now.getUTCDate()}</tt:Day></tt:Date></tt:UTCDateTime>` +
            "</tds:SystemDateAndTime></tds:GetSystemDateAndTimeResponse>"
        );
    }

    /** A local ms epoch as the camera's clock shows it. */
    private cameraIso(localMs: number): string {
        return new Date(localMs + (this.options.clockOffsetMs ?? 0)).toISOString();
    }

    private capabilities(): string {
        const base = this.baseUrl;
        return (
            "<tds:GetCapabilitiesResponse><tds:Capabilities>" +
            `<tt:Device><tt:XAddr>${base}/onvif/device_service</tt:XAddr></tt:Device>` +
            `<tt:Events><tt:XAddr>${base}/onvif/events_service</tt:XAddr><tt:WSSubscriptionPolicySupport>false</tt:WSSubscriptionPolicySupport>` +
            "<tt:WSPullPointSupport>true</tt:WSPullPointSupport><tt:WSPausableSubscriptionManagerInterfaceSupport>false</tt:WSPausableSubscriptionManagerInterfaceSupport></tt:Events>" +
            `<tt:Media><tt:XAddr>${base}/onvif/media_service</tt:XAddr><tt:StreamingCapabilities><tt:RTPMulticast>false</tt:RTPMulticast>` +
            "<tt:RTP_TCP>true</tt:RTP_TCP><tt:RTP_RTSP_TCP>true</tt:RTP_RTSP_TCP></tt:StreamingCapabilities></tt:Media>" +
            "</tds:Capabilities></tds:GetCapabilitiesResponse>"
        );
    }

    private services(): string {
        const base = this.baseUrl;
        const service = (ns: string, path: string) =>
            `<tds:Service><tds:Namespace>${ns}</tds:Namespace><tds:XAddr>${base}${path}</tds:XAddr>` +
            "<tds:Version><tt:Major>2</tt:Major><tt:Minor>60</tt:Minor></tds:Version></tds:Service>";
        return (
            "<tds:GetServicesResponse>" +
            service(NS.tds, "/onvif/device_service") +
            service(NS.trt, "/onvif/media_service") +
            service(NS.tev, "/onvif/events_service") +
            "</tds:GetServicesResponse>"
        );
    }

    // ----------------------------------------------------------------------------------------------
    // events

    /** A relative duration or an absolute dateTime, as ms from now; `fallback` when absent or bad. */
    private terminationMs(text: string | undefined, fallback: number): number {
        const max = this.options.maxTerminationMs ?? 10 * 60_000;
        if (text === undefined) return fallback;
        const relative = parseDuration(text);
        const absolute = Date.parse(text.trim());
        const ms = relative ?? (Number.isFinite(absolute) ? absolute - this.cameraNow() : fallback);
        return Math.min(max, Math.max(1000, ms));
    }

    private createSubscription(body: XmlElement): string {
        const id = this.newId();
        const ms = this.terminationMs(childNamed(body, "InitialTerminationTime")?.text, DEFAULT_TERMINATION_MS);
        const sub: Subscription = { id, terminationAt: Date.now() + ms, queue: [], waiter: undefined };
        this.subscriptions.set(id, sub);
        this.subscriptionsCreated++;
        this.emit("subscribed", id);
        return (
            "<tev:CreatePullPointSubscriptionResponse><tev:SubscriptionReference>" +
            `<wsa:Address>${this.baseUrl}/onvif/pullpoint/${id}</wsa:Address></tev:SubscriptionReference>` +
            `<wsnt:CurrentTime>${this.cameraIso(Date.now())}</wsnt:CurrentTime>` +
            `<wsnt:TerminationTime>${this.cameraIso(sub.terminationAt)}</wsnt:TerminationTime>` +
            "</tev:CreatePullPointSubscriptionResponse>"
        );
    }

    private pull(sub: Subscription, body: XmlElement, res: ServerResponse): void {
        this.pulls++;
        const timeoutMs = Math.min(10 * 60_000, parseDuration(childNamed(body, "Timeout")?.text ?? "") ?? 60_000);
        const limitText = childNamed(body, "MessageLimit")?.text.trim() ?? "";
        const limit = /^\d{1,6}$/.test(limitText) ? Math.max(1, Number(limitText)) : 100;
        // A newer pull replaces an older one still waiting (a client that gave up and asked again).
        const previous = sub.waiter;
        if (previous) {
            clearTimeout(previous.timer);
            sub.waiter = undefined;
            previous.respond([]);
        }
        const respond = (messages: string[]) => {
            clearTimeout(waiter.timer);
            if (sub.waiter === waiter) sub.waiter = undefined;
            this.send(
                res,
                "PullMessages",
                200,
                envelope(
                    "<tev:PullMessagesResponse>" +
                        `<tev:CurrentTime>${this.cameraIso(Date.now())}</tev:CurrentTime>` +
                        `<tev:TerminationTime>${this.cameraIso(sub.terminationAt)}</tev:TerminationTime>` +
                        messages.join("") +
                        "</tev:PullMessagesResponse>",
                    `<wsa:Action>${NS.tev}/PullPointSubscription/PullMessagesResponse</wsa:Action>`,
                ),
            );
            this.emit("pulled", sub.id, messages.length);
        };
        const waiter: PullWaiter = {
            limit,
            timer: setTimeout(() => respond([]), timeoutMs),
            respond,
            fault: (fault) => {
                clearTimeout(waiter.timer);
                this.sendFault(res, "PullMessages", fault);
            },
        };
        sub.waiter = waiter;
        // A client that hangs up mid-poll must not take messages with it: they stay queued.
        res.on("close", () => {
            if (sub.waiter === waiter && !res.writableFinished) {
                clearTimeout(waiter.timer);
                sub.waiter = undefined;
            }
        });
        this.flush(sub);
    }

    private flush(sub: Subscription): void {
        const waiter = sub.waiter;
        if (!waiter || sub.queue.length === 0) return;
        waiter.respond(sub.queue.splice(0, waiter.limit));
    }

    private renew(sub: Subscription, body: XmlElement, res: ServerResponse): void {
        this.renews++;
        const ms = this.terminationMs(childNamed(body, "TerminationTime")?.text, DEFAULT_TERMINATION_MS);
        sub.terminationAt = Date.now() + ms;
        this.send(
            res,
            "Renew",
            200,
            envelope(
                `<wsnt:RenewResponse><wsnt:TerminationTime>${this.cameraIso(sub.terminationAt)}</wsnt:TerminationTime>` +
                    `<wsnt:CurrentTime>${this.cameraIso(Date.now())}</wsnt:CurrentTime></wsnt:RenewResponse>`,
            ),
        );
    }

    private unsubscribe(sub: Subscription, res: ServerResponse): void {
        this.unsubscribes++;
        this.subscriptions.delete(sub.id);
        clearTimeout(sub.waiter?.timer);
        sub.waiter?.fault(UNKNOWN_SUBSCRIPTION);
        this.emit("unsubscribed", sub.id);
        this.send(res, "Unsubscribe", 200, envelope("<wsnt:UnsubscribeResponse/>"));
    }

    private newId(): string {
        const rng = this.options.rng;
        if (!rng) return cryptoRandomBytes(8).toString("hex");
        let id = "";
        for (let i = 0; i < 16; i++) id += Math.floor(rng() * 16).toString(16);
        return id;
    }

    // ----------------------------------------------------------------------------------------------
    // snapshot

    private serveSnapshot(req: IncomingMessage, res: ServerResponse, url: URL): void {
        const profile = url.searchParams.get("profile");
        if (profile !== null && !this.profiles().some((p) => p.token === profile)) {
            this.snapshotAnswer(res, 404, { "content-type": "text/plain" }, "unknown profile");
            return;
        }
        const auth = req.headers.authorization ?? "";
        const mode = this.options.snapshotAuth ?? "digest";
        const ok = mode === "basic" ? this.checkBasic(auth) : this.checkDigest(auth, req.method ?? "GET");
        if (!ok) {
            const challenge =
                mode === "basic"
                    ? `Basic realm="${REALM}"`
                    : `Digest realm="${REALM}", qop="auth", nonce="${this.digestNonce()}", algorithm=MD5`;
            this.snapshotAnswer(res, 401, { "www-authenticate": challenge, "content-type": "text/plain" }, "401");
            return;
        }
        this.snapshots++;
        const view = this.lastPlate === undefined ? SNAPSHOT_JPEG : sceneJpeg(this.lastPlate);
        this.snapshotAnswer(res, 200, { "content-type": "image/jpeg" }, view);
    }

    private snapshotAnswer(
        res: ServerResponse,
        status: number,
        headers: Record<string, string>,
        body: string | Uint8Array,
    ): void {
        res.writeHead(status, { ...headers, "content-length": String(Buffer.byteLength(body)) }).end(body);
        this.emit("snapshot", status);
    }

    private digestNonce(): string {
        const nonce = cryptoRandomBytes(16).toString("hex");
        // Bounded: a client that never answers its challenges must not grow this forever.
        if (this.digestNonces.size > 1000) this.digestNonces.clear();
        this.digestNonces.add(nonce);
        return nonce;
    }

    private checkBasic(header: string): boolean {
        const m = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(header.trim());
        if (!m) return false;
        return safeEqual(
            Buffer.from(m[1] ?? "", "base64").toString("utf8"),
            `${this.options.username}:${this.options.password}`,
        );
    }

    private checkDigest(header: string, method: string): boolean {
        if (!/^Digest\s/i.test(header)) return false;
        const p = parseAuthParams(header.replace(/^Digest\s+/i, ""));
        const { username, realm, nonce, uri, response, qop, nc, cnonce } = p;
        if (username !== this.options.username || realm !== REALM || !nonce || !uri || !response) return false;
        if (!this.digestNonces.has(nonce)) return false;
        const md5 = (s: string) => createHash("md5").update(s).digest("hex");
        const ha1 = md5(`${username}:${REALM}:${this.options.password}`);
        const ha2 = md5(`${method}:${uri}`);
        const expected =
            qop === "auth"
                ? md5(`${ha1}:${nonce}:${nc ?? ""}:${cnonce ?? ""}:auth:${ha2}`)
                : md5(`${ha1}:${nonce}:${ha2}`);
        return safeEqual(response, expected);
    }
}

/** key=value / key="value" pairs of an HTTP auth header. */
export function parseAuthParams(text: string): Record<string, string> {
    const params: Record<string, string> = {};
    for (const m of text.matchAll(/([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))/g)) {
        const key = (m[1] ?? "").toLowerCase();
        params[key] = m[2] !== undefined ? m[2].replace(/\\(.)/g, "$1") : (m[3] ?? "");
    }
    return params;
}

function safeEqual(a: string, b: string): boolean {
    const x = Buffer.from(a);
    const y = Buffer.from(b);
    return x.length === y.length && timingSafeEqual(x, y);
}

function pullPointOf(pathOrUrl: string): string | undefined {
    const m = /\/onvif\/pullpoint\/([0-9a-f]{1,64})(?:[?#].*)?$/.exec(pathOrUrl.trim());
    return m?.[1];
}

/** The action and parts of a SOAP 1.1 or 1.2 request, whatever its prefixes; a string says why not. */
function parseSoap(text: string): SoapRequest | string {
    const parsed = parseXml(text);
    if (!parsed.ok) return `not XML: ${parsed.reason}`;
    const root = parsed.root;
    if (root.local !== "Envelope" || (root.ns !== NS.soap12 && root.ns !== NS.soap11)) return "not a SOAP Envelope";
    const body = childNamed(root, "Body", root.ns);
    const first = body?.children[0];
    if (!body || !first) return "empty SOAP Body";
    const header = childNamed(root, "Header", root.ns);
    const to = header ? childNamed(header, "To")?.text.trim() : undefined;
    return { action: first.local, actionNs: first.ns, body: first, header, to };
}

function probeMatchXml(match: { messageId: string; relatesTo?: string; endpoint: string; xaddrs: string }): string {
    const scopes = [
        "onvif://www.onvif.org/type/video_encoder",
        "onvif://www.onvif.org/Profile/Streaming",
        "onvif://www.onvif.org/name/gate-edge",
        "onvif://www.onvif.org/hardware/SIM-LPR",
        "onvif://www.onvif.org/location/gate",
    ].join(" ");
    return (
        `<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="${NS.soap12}" xmlns:a="${WSA_2004}" ` +
        `xmlns:d="${WSD}" xmlns:dn="http://www.onvif.org/ver10/network/wsdl" xmlns:tds="${NS.tds}"><s:Header>` +
        `<a:MessageID>${match.messageId}</a:MessageID>` +
        (match.relatesTo ? `<a:RelatesTo>${escapeXml(match.relatesTo)}</a:RelatesTo>` : "") +
        `<a:To>${WSA_2004}/role/anonymous</a:To><a:Action>${WSD}/ProbeMatches</a:Action></s:Header>` +
        `<s:Body><d:ProbeMatches><d:ProbeMatch><a:EndpointReference><a:Address>${match.endpoint}</a:Address></a:EndpointReference>` +
        `<d:Types>dn:NetworkVideoTransmitter tds:Device</d:Types><d:Scopes>${scopes}</d:Scopes>` +
        `<d:XAddrs>${escapeXml(match.xaddrs)}</d:XAddrs><d:MetadataVersion>1</d:MetadataVersion>` +
        "</d:ProbeMatch></d:ProbeMatches></s:Body></s:Envelope>"
    );
}

/** A media profile as GetProfiles lists it (trt:Profiles) or GetProfile answers it (trt:Profile). */
function profileXml(p: SimulatedProfile, element: "Profiles" | "Profile" = "Profiles"): string {
    return (
        `<trt:${element} token="${escapeXml(p.token)}" fixed="true"><tt:Name>${escapeXml(p.name)}</tt:Name>` +
        '<tt:VideoSourceConfiguration token="VideoSourceConfig_1"><tt:Name>VideoSourceConfig</tt:Name><tt:UseCount>2</tt:UseCount>' +
        '<tt:SourceToken>VideoSource_1</tt:SourceToken><tt:Bounds x="0" y="0" width="1920" height="1080"/></tt:VideoSourceConfiguration>' +
        `<tt:VideoEncoderConfiguration token="VideoEncoder_${escapeXml(p.token)}"><tt:Name>VideoEncoder</tt:Name><tt:UseCount>1</tt:UseCount>` +
        `<tt:Encoding>H264</tt:Encoding><tt:Resolution><tt:Width>${p.width}</tt:Width><tt:Height>${p.height}</tt:Height></tt:Resolution>` +
        "<tt:Quality>5</tt:Quality><tt:RateControl><tt:FrameRateLimit>25</tt:FrameRateLimit><tt:EncodingInterval>1</tt:EncodingInterval>" +
        "<tt:BitrateLimit>4096</tt:BitrateLimit></tt:RateControl><tt:H264><tt:GovLength>50</tt:GovLength>" +
        `<tt:H264Profile>Main</tt:H264Profile></tt:H264></tt:VideoEncoderConfiguration></trt:${element}>`
    );
}
