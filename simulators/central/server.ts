/**
 * The central clearance system simulator: the far side of central sync protocol v1 (docs/design.md "Central
 * sync", src/sync/protocol.ts). It stores every event exactly once by id in its own SQLite, answers each
 * event accepted / duplicate / rejected, serves a clearance feed with a cursor, and injects the faults a
 * real link to central has (FaultSpec), so the edge's sync can be tested, benchmarked and demonstrated.
 *
 *   POST /api/v1/gates/{gateId}/events       Bearer token; {"events": GateEvent[]} → {"results": [...]}
 *   GET  /api/v1/gates/{gateId}/clearance    Bearer token; ?after=<cursor>&limit=<1-1000>
 *   GET  /admin/stats[?gate=ID]   GET|PUT /admin/faults   GET|PUT /admin/reject-rules   POST /admin/clearance
 *
 * The admin routes take no token: they exist for technicians and out-of-process tests on a simulator,
 * which is why the simulator listens on 127.0.0.1 unless told otherwise. A real central has no such door.
 */
import { EventEmitter } from "node:events";
import { readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { Socket } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "pino";
import { errorMessage, GateError, isGateError } from "../../src/core/errors.ts";
import {
    CLEARANCE_PAGE_LIMIT,
    type ClearanceItem,
    type EventResult,
    MAX_BATCH_BYTES,
    MAX_BATCH_EVENTS,
} from "../../src/sync/protocol.ts";
import type { Rng } from "../random.ts";
import { checkEvent, matchRejectRule, type RejectRule, validateRejectRules } from "./events.ts";
import { type FaultCounts, type FaultKind, FaultPlan, type FaultSpec } from "./faults.ts";
import { type ClearanceSourceSpec, loadClearanceSource, validateClearanceItems } from "./feed.ts";
import { type BatchEntry, CentralStore, type FeedAppendResult, type StoreGateStats } from "./store.ts";

export interface CentralTlsOptions {
    /** PEM files of the server's certificate (chain) and key. */
    certFile: string;
    keyFile: string;
    /** PEM file of the CA(s) that sign gate client certificates. */
    clientCaFile?: string;
    /** Refuse a TLS client without a certificate signed by clientCaFile (mutual TLS). Default: true with clientCaFile. */
    requireClientCert?: boolean;
}

export interface CentralSimulatorOptions {
    /** Address to listen on. Default 127.0.0.1 (the admin routes take no token). */
    host?: string;
    /** 0 = any free port. */
    port: number;
    /** The simulator's SQLite file; created if absent. Reuse it across restarts to keep what was stored. */
    dbPath: string;
    /** Accepted bearer tokens; at least one. */
    tokens: readonly string[];
    /** Clearance sources loaded into the feed at start (idempotently). */
    clearance?: readonly ClearanceSourceSpec[];
    faults?: readonly FaultSpec[];
    rejectRules?: readonly RejectRule[];
    /** Extra delay before handling every API request (not admin), on top of any latency fault. */
    latencyMs?: number;
    /** Serve HTTPS (optionally mutual TLS) instead of HTTP. */
    tls?: CentralTlsOptions;
    log?: Logger;
    /** Random source for fault probabilities; seed it to repeat a run. Default Math.random. */
    rng?: Rng;
}

export interface CentralStats extends StoreGateStats {
    /** Faults injected since this simulator started, by kind (all routes, all gates). */
    faultsInjected: FaultCounts;
}

export interface BatchSummary {
    gateId: string;
    events: number;
    accepted: number;
    duplicate: number;
    rejected: number;
    /** Up to three distinct rejection reasons, for the log line. */
    reasons: string[];
    /** Time spent checking and storing the batch (not reading it). */
    ms: number;
}

export type FaultRoute = "events" | "clearance";

// A type alias, not an interface: EventEmitter's type parameter needs an index-compatible map.
export type CentralSimulatorEvents = {
    /** A batch was stored and answered (or, with lostResponse, stored and not answered). */
    batch: [summary: BatchSummary];
    /** A fault was injected into a request. */
    fault: [fault: { kind: FaultKind; route: FaultRoute; gateId: string; spec: FaultSpec }];
    /** A request was refused as a whole (401, 400, 413 …), before any event was looked at. */
    refused: [refusal: { status: number; route: string; reason: string }];
    /** Clearance items were added to the feed. */
    clearance: [change: FeedAppendResult & { origin: string }];
};

/** The request was cut off (client gone, or the simulator stopping): nothing more to do for it. */
class RequestGone extends Error {}

/** Bodies over the limit are read and thrown away up to this size, so the client reads our 413; beyond, we hang up. */
const DISCARD_LIMIT = 16 * MAX_BATCH_BYTES;
const ADMIN_BODY_LIMIT = 8 * MAX_BATCH_BYTES;
const EVENTS_PATH = /^\/api\/v1\/gates\/([^/]+)\/(events|clearance)$/;
const CURSOR = /^\d{1,15}$/;

type Body = { ok: true; bytes: Buffer } | { ok: false; size: number };

export class CentralSimulator extends EventEmitter<CentralSimulatorEvents> {
    private server: Server | undefined;
    private store: CentralStore | undefined;
    private readonly sockets = new Set<Socket>();
    private readonly inflight = new Set<Promise<void>>();
    private readonly tokens: ReadonlySet<string>;
    private readonly faults: FaultPlan;
    private rejectRules: RejectRule[];
    private stopping: AbortController | undefined;
    private downUntil = 0;
    private boundPort = 0;

    constructor(private readonly options: CentralSimulatorOptions) {
        super();
        const tokens = options.tokens.filter((token) => token !== "");
        if (tokens.length === 0) throw new GateError("SIMULATOR_USAGE", "central simulator needs at least one token");
        if (options.latencyMs !== undefined && !(options.latencyMs >= 0)) {
            throw new GateError("SIMULATOR_USAGE", `latencyMs must be ≥ 0, got ${options.latencyMs}`);
        }
        this.tokens = new Set(tokens);
        this.faults = new FaultPlan(options.faults ?? [], options.rng);
        this.rejectRules = validateRejectRules(options.rejectRules ?? []);
    }

    get host(): string {
        return this.options.host ?? "127.0.0.1";
    }

    /** The bound port (valid after start()). */
    get port(): number {
        return this.boundPort;
    }

    /** e.g. http://127.0.0.1:8443 — the central URL to give the gate. */
    get url(): string {
        const scheme = this.options.tls ? "https" : "http";
        // A wildcard address is where to listen, not where to connect: name loopback instead.
        const host = this.host === "0.0.0.0" ? "127.0.0.1" : this.host === "::" ? "::1" : this.host;
        return `${scheme}://${host.includes(":") ? `[${host}]` : host}:${this.boundPort}`;
    }

    /** The SQLite file, for an independent checker to open read-only. */
    get dbPath(): string {
        return this.options.dbPath;
    }

    /**
     * Opens the store, loads the clearance sources, and listens. Throws SIMULATOR_STORE when the database
     * is not the simulator's, CLEARANCE_* for a bad source, SIMULATOR_USAGE for unreadable TLS files, and
     * the listen error (EADDRINUSE …) as it is.
     */
    async start(): Promise<{ url: string }> {
        if (this.server) return { url: this.url };
        const store = new CentralStore(this.options.dbPath);
        try {
            for (const spec of this.options.clearance ?? []) {
                const batch = loadClearanceSource(spec);
                const result = store.appendFeed(batch.items, { onlyNewer: true, version: batch.version });
                this.options.log?.info({ ...result, origin: batch.origin }, "clearance source loaded");
                this.emit("clearance", { ...result, origin: batch.origin });
            }
            this.stopping = new AbortController();
            this.store = store;
            await this.listen();
        } catch (err) {
            this.store = undefined;
            store.close();
            throw err;
        }
        this.options.log?.info({ url: this.url, db: this.dbPath }, "central simulator listening");
        return { url: this.url };
    }

    /** Closes the server and every connection, waits for requests in flight to wind up, closes the store. */
    async stop(): Promise<void> {
        const server = this.server;
        this.server = undefined;
        this.stopping?.abort();
        if (server) {
            const closed = new Promise<void>((resolve) => server.close(() => resolve()));
            for (const socket of this.sockets) socket.destroy();
            await closed;
        }
        await Promise.allSettled([...this.inflight]);
        this.store?.close();
        this.store = undefined;
    }

    /** Replaces the fault list (validated; SIMULATOR_USAGE otherwise). Counts of injected faults are kept. */
    setFaults(faults: readonly FaultSpec[]): void {
        this.faults.set(faults);
        this.options.log?.info({ faults: this.faults.list() }, "faults set");
    }

    /** The faults still active, with the firings each has left. */
    activeFaults(): Array<FaultSpec & { left?: number }> {
        return this.faults.list();
    }

    setRejectRules(rules: readonly RejectRule[]): void {
        this.rejectRules = validateRejectRules(rules);
        this.options.log?.info({ rules: this.rejectRules }, "reject rules set");
    }

    /**
     * Appends clearance items to the feed as given (a new declaration version, a watchListRemoved …) and
     * sets the feed version (default `feed-<last position>`). Throws CLEARANCE_INVALID for a bad item.
     */
    addClearance(items: readonly ClearanceItem[], version?: string): FeedAppendResult {
        const valid = validateClearanceItems(items);
        const result = this.openStore().appendFeed(valid, {
            onlyNewer: false,
            ...(version !== undefined && { version }),
        });
        this.options.log?.info(result, "clearance items added");
        this.emit("clearance", { ...result, origin: "addClearance" });
        return result;
    }

    stats(gateId: string): CentralStats {
        return { ...this.openStore().stats(gateId), faultsInjected: { ...this.faults.counts } };
    }

    /** Every gate that has sent anything. */
    gateIds(): string[] {
        return this.openStore().gateIds();
    }

    // ----------------------------------------------------------------------------------------------
    // server lifecycle

    private async listen(): Promise<void> {
        const tls = this.options.tls;
        const handler = (req: IncomingMessage, res: ServerResponse) => this.track(this.handle(req, res));
        let server: Server;
        if (tls) {
            const read = (what: string, file: string) => {
                try {
                    return readFileSync(file);
                } catch (err) {
                    throw new GateError("SIMULATOR_USAGE", `${what} ${file}: ${errorMessage(err)}`, { cause: err });
                }
            };
            const requireClientCert = tls.requireClientCert ?? tls.clientCaFile !== undefined;
            if (requireClientCert && tls.clientCaFile === undefined) {
                throw new GateError("SIMULATOR_USAGE", "requiring client certificates needs a client CA file");
            }
            server = createHttpsServer(
                {
                    cert: read("TLS certificate", tls.certFile),
                    key: read("TLS key", tls.keyFile),
                    ...(tls.clientCaFile !== undefined && { ca: read("client CA", tls.clientCaFile) }),
                    requestCert: requireClientCert,
                    rejectUnauthorized: requireClientCert,
                },
                handler,
            );
        } else {
            server = createServer(handler);
        }
        server.on("connection", (socket: Socket) => {
            // An outage with a duration: connections that arrive during it are dropped at once.
            if (Date.now() < this.downUntil) {
                socket.destroy();
                return;
            }
            this.sockets.add(socket);
            socket.on("close", () => this.sockets.delete(socket));
        });
        await new Promise<void>((resolve, reject) => {
            server.once("error", reject);
            server.listen(this.options.port, this.host, () => {
                server.off("error", reject);
                resolve();
            });
        });
        server.on("error", (err) => this.options.log?.error({ err }, "central simulator server error"));
        const address = server.address();
        this.boundPort = typeof address === "object" && address ? address.port : this.options.port;
        this.server = server;
    }

    private track(work: Promise<void>): void {
        this.inflight.add(work);
        work.finally(() => this.inflight.delete(work)).catch(() => undefined);
    }

    private openStore(): CentralStore {
        if (!this.store?.isOpen) throw new GateError("STORE_CLOSED", "central simulator is not running");
        return this.store;
    }

    // ----------------------------------------------------------------------------------------------
    // requests

    private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
        try {
            const url = new URL(req.url ?? "/", "http://central.invalid");
            if (url.pathname.startsWith("/admin/")) return await this.handleAdmin(req, res, url);
            const match = EVENTS_PATH.exec(url.pathname);
            if (!match) return await this.refuse(req, res, 404, "not_found", `no route ${url.pathname}`);
            let gateId: string;
            try {
                gateId = decodeURIComponent(match[1] as string);
            } catch {
                return await this.refuse(req, res, 400, "bad_request", "the gate id in the path is not valid UTF-8");
            }
            const route = match[2] as FaultRoute;
            const method = route === "events" ? "POST" : "GET";
            if (req.method !== method) {
                res.setHeader("allow", method);
                return await this.refuse(req, res, 405, "method_not_allowed", `${route} takes ${method}`);
            }
            const fault = this.faults.pick(route);
            if (fault) {
                this.options.log?.info({ fault, route, gateId }, "fault injected");
                this.emit("fault", { kind: fault.kind, route, gateId, spec: fault });
            }
            await this.delay(this.options.latencyMs ?? 0);
            if (fault && (await this.applyFault(fault, req, res))) return;
            if (!this.authorized(req)) {
                res.setHeader("www-authenticate", 'Bearer realm="central"');
                return await this.refuse(
                    req,
                    res,
                    401,
                    "unauthorized",
                    "a valid Authorization: Bearer token is required",
                );
            }
            const drip = fault?.kind === "slowDrip" ? fault : undefined;
            const dropAnswer = fault?.kind === "lostResponse";
            if (route === "events") await this.postEvents(req, res, gateId, dropAnswer, drip);
            else this.getClearance(res, url, dropAnswer, drip);
        } catch (err) {
            if (err instanceof RequestGone || this.stopping?.signal.aborted) return;
            this.options.log?.error({ err }, "central simulator request failed");
            if (!res.headersSent && !res.destroyed) {
                this.send(res, 500, { error: "internal", message: errorMessage(err) });
            }
        }
    }

    /**
     * Does what a fault says before normal handling. Returns true when the fault has answered (or broken)
     * the request, false when handling goes on (latency, and slowDrip / lostResponse which act on the answer).
     */
    private async applyFault(fault: FaultSpec, req: IncomingMessage, res: ServerResponse): Promise<boolean> {
        switch (fault.kind) {
            case "latency":
                await this.delay(fault.ms);
                return false;
            case "slowDrip":
            case "lostResponse":
                return false;
            case "status": {
                await this.readBody(req, 0);
                if (fault.retryAfterS !== undefined) res.setHeader("retry-after", String(fault.retryAfterS));
                this.send(res, fault.code, { error: "unavailable", message: `injected fault: status ${fault.code}` });
                return true;
            }
            case "rateLimit":
                await this.readBody(req, 0);
                res.setHeader("retry-after", String(fault.retryAfterS));
                this.send(res, 429, { error: "rate_limited", message: "injected fault: too many requests" });
                return true;
            case "unauthorized":
                await this.readBody(req, 0);
                res.setHeader("www-authenticate", 'Bearer realm="central", error="invalid_token"');
                this.send(res, 401, { error: "unauthorized", message: "injected fault: token refused" });
                return true;
            case "reset":
                // Part of the body has arrived (or all of a GET): the connection dies before anything is stored.
                await new Promise<void>((resolve) => {
                    req.once("data", () => resolve());
                    req.once("end", () => resolve());
                    req.once("close", () => resolve());
                });
                req.socket.destroy();
                return true;
            case "down":
                if (fault.forMs !== undefined) this.downUntil = Date.now() + fault.forMs;
                for (const socket of this.sockets) socket.destroy();
                req.socket.destroy();
                return true;
        }
    }

    private authorized(req: IncomingMessage): boolean {
        const header = req.headers.authorization;
        if (header === undefined) return false;
        const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
        // A simulator: a plain set lookup. A real central compares in constant time.
        return match !== null && this.tokens.has(match[1] as string);
    }

    private async postEvents(
        req: IncomingMessage,
        res: ServerResponse,
        gateId: string,
        dropAnswer: boolean,
        drip: Extract<FaultSpec, { kind: "slowDrip" }> | undefined,
    ): Promise<void> {
        const body = await this.readBody(req, MAX_BATCH_BYTES);
        if (!body.ok) {
            return this.refuseRead(
                res,
                413,
                "payload_too_large",
                `body of ${body.size} bytes is over ${MAX_BATCH_BYTES}`,
            );
        }
        let parsed: unknown;
        try {
            parsed = JSON.parse(body.bytes.toString("utf8"));
        } catch (err) {
            return this.refuseRead(res, 400, "bad_request", `body is not JSON: ${errorMessage(err)}`);
        }
        const events =
            typeof parsed === "object" && parsed !== null ? (parsed as { events?: unknown }).events : undefined;
        if (!Array.isArray(events)) {
            return this.refuseRead(res, 400, "bad_request", 'body must be {"events": [GateEvent...]}');
        }
        if (events.length > MAX_BATCH_EVENTS) {
            return this.refuseRead(
                res,
                413,
                "payload_too_large",
                `${events.length} events is over ${MAX_BATCH_EVENTS} per batch`,
            );
        }
        const store = this.openStore();
        const began = performance.now();
        const entries: BatchEntry[] = new Array(events.length);
        for (let i = 0; i < events.length; i++) {
            const checked = checkEvent(events[i], i, gateId);
            if (!checked.ok) {
                entries[i] = { id: checked.id, reason: checked.reason };
                continue;
            }
            const rule = this.rejectRules.length > 0 ? matchRejectRule(this.rejectRules, checked.event) : undefined;
            entries[i] = rule ? { id: checked.event.id, reason: rule.reason } : { event: checked.event };
        }
        const results = store.storeBatch(gateId, entries, new Date().toISOString());
        const summary = summarize(gateId, results, performance.now() - began);
        this.options.log?.debug(summary, "batch stored");
        this.emit("batch", summary);
        if (dropAnswer) {
            // Committed above; the answer is lost on the way, so the edge must resend and hear "duplicate".
            req.socket.destroy();
            return;
        }
        this.send(res, 200, `{"results":${JSON.stringify(results)}}`, drip);
    }

    private getClearance(
        res: ServerResponse,
        url: URL,
        dropAnswer: boolean,
        drip: Extract<FaultSpec, { kind: "slowDrip" }> | undefined,
    ): void {
        const afterText = url.searchParams.get("after");
        const limitText = url.searchParams.get("limit");
        if (afterText !== null && afterText !== "" && !CURSOR.test(afterText)) {
            this.refuseRead(
                res,
                400,
                "bad_request",
                `after must be a cursor this feed gave, got ${JSON.stringify(afterText)}`,
            );
            return;
        }
        const limit = limitText === null ? CLEARANCE_PAGE_LIMIT : Number(limitText);
        if (!/^\d+$/.test(limitText ?? "0") || limit < 1 || limit > CLEARANCE_PAGE_LIMIT) {
            this.refuseRead(res, 400, "bad_request", `limit must be an integer from 1 to ${CLEARANCE_PAGE_LIMIT}`);
            return;
        }
        const store = this.openStore();
        const after = afterText ? Number(afterText) : 0;
        const { rows, hasMore } = store.feedAfter(after, limit);
        if (rows.length === 0 && after > store.lastPosition()) {
            // The edge holds a cursor this feed never gave (the simulator's database was replaced): it will
            // see nothing new until the feed grows past it. Worth a line for the technician.
            this.options.log?.warn(
                { after, last: store.lastPosition() },
                "clearance cursor is past the end of the feed",
            );
        }
        const next = rows.length > 0 ? String((rows[rows.length - 1] as { position: number }).position) : String(after);
        // Items are served as stored (JSON): no parse and stringify per item.
        const body =
            `{"items":[${rows.map((row) => row.item).join(",")}],"next":${JSON.stringify(next)},` +
            `"hasMore":${hasMore},"version":${JSON.stringify(store.feedVersion())}}`;
        if (dropAnswer) {
            res.socket?.destroy();
            return;
        }
        this.send(res, 200, body, drip);
    }

    // ----------------------------------------------------------------------------------------------
    // admin (no token: simulator only)

    private async handleAdmin(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
        const route = `${req.method} ${url.pathname}`;
        const badRequest = (err: unknown) => {
            const message = errorMessage(err);
            const details = isGateError(err) ? err.details : [];
            this.send(res, 400, { error: "bad_request", message, ...(details.length > 0 && { details }) });
        };
        switch (route) {
            case "GET /admin/stats": {
                const gate = url.searchParams.get("gate");
                if (gate !== null && gate !== "") return this.send(res, 200, this.stats(gate));
                return this.send(res, 200, {
                    gates: this.gateIds().map((id) => this.openStore().stats(id)),
                    faultsInjected: this.faults.counts,
                });
            }
            case "GET /admin/faults":
                return this.send(res, 200, { faults: this.faults.list(), injected: this.faults.counts });
            case "GET /admin/reject-rules":
                return this.send(res, 200, { rules: this.rejectRules });
            case "PUT /admin/faults":
            case "PUT /admin/reject-rules":
            case "POST /admin/clearance": {
                const body = await this.readBody(req, ADMIN_BODY_LIMIT);
                if (!body.ok) {
                    return this.refuseRead(
                        res,
                        413,
                        "payload_too_large",
                        `admin body is over ${ADMIN_BODY_LIMIT} bytes`,
                    );
                }
                let parsed: unknown;
                try {
                    parsed = JSON.parse(body.bytes.toString("utf8"));
                } catch (err) {
                    return badRequest(new GateError("API_BAD_REQUEST", `body is not JSON: ${errorMessage(err)}`));
                }
                try {
                    if (route === "PUT /admin/faults") {
                        this.setFaults(parsed as FaultSpec[]);
                        return this.send(res, 200, { faults: this.faults.list() });
                    }
                    if (route === "PUT /admin/reject-rules") {
                        this.setRejectRules(parsed as RejectRule[]);
                        return this.send(res, 200, { rules: this.rejectRules });
                    }
                    const { items, version } = (parsed ?? {}) as { items?: unknown; version?: unknown };
                    if (version !== undefined && (typeof version !== "string" || version === "")) {
                        throw new GateError("API_BAD_REQUEST", "version must be a non-empty string");
                    }
                    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
                        throw new GateError("API_BAD_REQUEST", 'body must be {"items": [...], "version"?: string}');
                    }
                    // validateClearanceItems inside addClearance checks the items' shape; the cast only names it.
                    return this.send(res, 200, this.addClearance(items as ClearanceItem[], version));
                } catch (err) {
                    if (isGateError(err)) return badRequest(err);
                    throw err;
                }
            }
            default:
                return this.refuse(req, res, 404, "not_found", `no admin route ${route}`);
        }
    }

    // ----------------------------------------------------------------------------------------------
    // helpers

    /** Sleeps, unless the simulator stops meanwhile (then RequestGone). */
    private async delay(ms: number): Promise<void> {
        if (ms <= 0) return;
        try {
            await sleep(ms, undefined, { signal: this.stopping?.signal });
        } catch {
            throw new RequestGone();
        }
    }

    /**
     * Reads the body. Over `limit` bytes the rest is read and thrown away (so the client, still sending,
     * reads our answer instead of a reset) up to DISCARD_LIMIT, beyond which the connection is cut.
     * Rejects with RequestGone when the client goes away first.
     */
    private readBody(req: IncomingMessage, limit: number): Promise<Body> {
        return new Promise<Body>((resolve, reject) => {
            const chunks: Buffer[] = [];
            let size = 0;
            const declared = Number(req.headers["content-length"]);
            if (declared > DISCARD_LIMIT) {
                req.socket.destroy();
                reject(new RequestGone());
                return;
            }
            req.on("data", (chunk: Buffer) => {
                size += chunk.length;
                if (size <= limit) chunks.push(chunk);
                else if (size > DISCARD_LIMIT) req.socket.destroy();
            });
            req.once("end", () =>
                resolve(size <= limit ? { ok: true, bytes: Buffer.concat(chunks, size) } : { ok: false, size }),
            );
            req.once("close", () => {
                if (!req.complete) reject(new RequestGone());
            });
            req.once("error", () => reject(new RequestGone()));
        });
    }

    /** Refuses a request as a whole after reading (and discarding) its body. */
    private async refuse(
        req: IncomingMessage,
        res: ServerResponse,
        status: number,
        error: string,
        message: string,
    ): Promise<void> {
        await this.readBody(req, 0);
        this.refuseRead(res, status, error, message);
    }

    /** Refuses a request whose body has been read. */
    private refuseRead(res: ServerResponse, status: number, error: string, message: string): void {
        this.emit("refused", { status, route: res.req.url ?? "", reason: message });
        this.options.log?.warn({ status, url: res.req.url, reason: message }, "request refused");
        this.send(res, status, { error, message });
    }

    /** Sends a JSON answer, whole or (slowDrip) in small chunks spaced in time. */
    private send(
        res: ServerResponse,
        status: number,
        body: unknown,
        drip?: Extract<FaultSpec, { kind: "slowDrip" }>,
    ): void {
        if (res.destroyed || res.headersSent) return;
        const bytes = Buffer.from(typeof body === "string" ? body : JSON.stringify(body), "utf8");
        res.writeHead(status, { "content-type": "application/json", "content-length": bytes.length });
        if (!drip) {
            res.end(bytes);
            return;
        }
        let offset = 0;
        const step = () => {
            if (res.destroyed) return;
            const chunk = bytes.subarray(offset, offset + drip.chunkBytes);
            offset += chunk.length;
            if (offset >= bytes.length) res.end(chunk);
            else res.write(chunk, () => undefined);
        };
        step();
        if (offset >= bytes.length) return;
        const timer = setInterval(() => {
            step();
            if (offset >= bytes.length) clearInterval(timer);
        }, drip.intervalMs);
        res.once("close", () => clearInterval(timer));
    }
}

function summarize(gateId: string, results: readonly EventResult[], ms: number): BatchSummary {
    const summary: BatchSummary = {
        gateId,
        events: results.length,
        accepted: 0,
        duplicate: 0,
        rejected: 0,
        reasons: [],
        ms,
    };
    for (const result of results) {
        summary[result.status]++;
        if (result.reason !== undefined && summary.reasons.length < 3 && !summary.reasons.includes(result.reason)) {
            summary.reasons.push(result.reason);
        }
    }
    return summary;
}
