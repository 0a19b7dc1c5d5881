/**
 * The OPC UA client of one lane PLC (docs/devices.md "Lane PLC"). It owns the node-opcua client, the session, one
 * subscription with a monitored item per `read` tag of the model, gate-edge's watchdog heartbeat and the
 * commands gate-edge may give: open the barrier and set the lights. Values reach the device runtime raw,
 * as plain JS values, through ctx.input; the runtime decodes them with the model.
 *
 * Connection: node-opcua's connectionStrategy retries for ever with exponential backoff and jitter, so a
 * PLC that is absent at start is simply `offline` until it answers. After a connection break node-opcua
 * re-opens the channel and re-activates the session; when the PLC restarted and lost the session it
 * creates a new one and re-creates the subscription and its monitored items. This driver checks the
 * result and rebuilds session, subscription and items itself when that repair did not happen (the server
 * closed the session, the subscription terminated).
 *
 * Online means the lane's signals are live AND the PLC has accepted a watchdog heartbeat on this
 * connection: a PLC whose watchdog expired while it was unreachable stays fail-safe (refusing every open)
 * until gate-edge's heartbeat changes again, so a lane must not be ready before that heartbeat is written.
 */
import { performance } from "node:perf_hooks";
import { OPCUACertificateManager } from "node-opcua-certificate-manager";
import {
    AttributeIds,
    ClientMonitoredItem,
    type ClientSession,
    type ClientSubscription,
    DataType,
    type DataValue,
    LogLevel,
    MessageSecurityMode,
    OPCUAClient,
    SecurityPolicy,
    setErrorLogger,
    setLogLevel,
    setWarningLogger,
    TimestampsToReturn,
    type UserIdentityInfo,
    UserTokenType,
} from "node-opcua-client";
import type { PlcModel, PlcSignal, PlcTag } from "../../devices/types.ts";
import { errorMessage, GateError } from "../core/errors.ts";
import { adoptOpcuaLogging } from "../core/opcuaLog.ts";
import { Backoff } from "./backoff.ts";
import { plcPkiFolder, plcPkiPaths, rejectedThumbprints } from "./opcuaPki.ts";
import {
    type ActuatorCommand,
    type ActuatorOutcome,
    addressOf,
    modelOf,
    READ_ONLY,
    type StatusReason,
    type TransportContext,
    type TransportModule,
} from "./transport.ts";

// node-opcua is loaded now: its messages go to the gate's log from here on (src/core/opcuaLog.ts).
adoptOpcuaLogging({ LogLevel, setLogLevel, setWarningLogger, setErrorLogger });

type BarrierState = Extract<PlcSignal, { tag: "Barrier.State" }>["state"];
type LightColor = keyof PlcModel["lightCodes"];

export interface OpcUaPlcDriverOptions {
    /** e.g. "opc.tcp://10.1.2.3:4840/UA/LanePLC". */
    endpointUrl: string;
    /** Replaces `{lane}` in the model's node ids, e.g. "L1". */
    lanePrefix: string;
    model: PlcModel;
    securityMode: "None" | "Sign" | "SignAndEncrypt";
    /** OPC UA policy name, e.g. "Basic256Sha256". Default None with securityMode None, else Basic256Sha256. */
    securityPolicy?: string;
    /** User name token; anonymous when absent. */
    username?: string;
    password?: string;
    /** Folder of the client's PKI (own certificate, trusted and rejected server certificates). */
    pkiFolder: string;
    /**
     * Trust the PLC's certificate the first time it is seen. Default false: an unknown certificate is refused
     * (kept in pkiFolder/rejected) until a technician trusts it (`gate-edge doctor --trust-plc`).
     */
    trustOnFirstUse?: boolean;
    /** Period of the Watchdog.Heartbeat write, in ms. Default 1000. */
    heartbeatMs?: number;
    /** How long openBarrier waits for the PLC to report opening/open, in ms. Default 3000. */
    commandTimeoutMs?: number;
    /** Reconnect delays, in ms: first retry and ceiling. Default 250 and 10 000. */
    backoff?: { initialDelayMs?: number; maxDelayMs?: number };
}

export interface OpenBarrierResult {
    /** The PLC reported opening or open within commandTimeoutMs. */
    confirmed: boolean;
    /** The last Barrier.State known when the wait ended (undefined if none was ever received). */
    state?: BarrierState;
    elapsedMs: number;
}

interface StateWaiter {
    accept(state: BarrierState): boolean;
    resolve(state: BarrierState | undefined): void;
    reject(err: Error): void;
    timer: NodeJS.Timeout;
}

const PUBLISHING_INTERVAL_MS = 100;
const PULSE_MS = 200; // CmdOpen is a pulse: true, then false so the next open is a new rising edge
const GRACEFUL_STOP_MS = 1000; // closing the session politely must not hold up a shutdown
/**
 * PLC.Heartbeat changes every second, so a live subscription delivers something at least that often. After a
 * PLC restart node-opcua usually re-creates the subscription and its items, but not always (seen in about
 * one restart in ten here): the session is back and the items are silent. 5 s without any value means the
 * data path is dead and the subscription is rebuilt.
 */
const DATA_STALL_MS = 5000;

/**
 * Error rules: start() never rejects for an absent or refusing PLC (that is `offline`, retried); it
 * rejects with CONFIG_INVALID for options that cannot work (unknown security policy, bad timings).
 * Commands reject with DRIVER_DISCONNECTED when there is no live session (or the write got no answer in
 * commandTimeoutMs), DRIVER_WRITE_REJECTED when the PLC answered the write with a Bad status (manual
 * mode, type mismatch, out of range), and DRIVER_CANCELED when stop() ran while they waited. A command
 * the PLC accepted but did not carry out is not an error: openBarrier resolves {confirmed: false} and
 * the caller raises the alert. stop() is idempotent and never rejects.
 *
 * There is deliberately no close command: gate-edge never closes a barrier. The PLC closes by itself
 * when the exit loop clears or on its auto-close timer, and only it can guarantee the boom never comes
 * down on a vehicle over the safety loop. The model's write set has no CmdClose tag for the same reason.
 */
export class OpcUaPlcDriver {
    private client: OPCUAClient | undefined;
    private certificateManager: OPCUACertificateManager | undefined;
    private session: ClientSession | undefined;
    private subscription: ClientSubscription | undefined;
    private items = new Map<PlcTag, ClientMonitoredItem>();
    private heartbeatTimer: NodeJS.Timeout | undefined;
    private heartbeatInFlight = false;
    private heartbeatCounter = 0;
    private connectionUp = false;
    private started = false;
    private stopping: Promise<void> | undefined;
    private setupRunning: Promise<void> | undefined;
    private retryTimer: NodeJS.Timeout | undefined;
    private setupBackoff: Backoff | undefined;
    private delivery: Promise<void> = Promise.resolve();
    private barrierState: BarrierState | undefined;
    private waiters = new Set<StateWaiter>();
    private pulseReset: Promise<void> | undefined;
    private lastStatus: string | undefined;
    private lastDataAt = 0;
    private rebuilding = false;
    /** Counts connection losses and dropped sessions: a heartbeat fed the watchdog only on its own connection. */
    private connectionEpoch = 0;
    private watchdogFedEpoch: number | undefined;
    /** Why the driver goes online once the first heartbeat of this connection is accepted. */
    private onlineReasonAfterFeed: string | undefined;
    /** A monitored item failed (typically re-created by node-opcua while the PLC was going down again). */
    private itemsBroken = false;
    /** Times the connection came back after a break (channel re-opened and session repaired). */
    reconnects = 0;
    /** The last Watchdog.Heartbeat value the PLC accepted, and when (ms since epoch). */
    lastHeartbeatWritten: { counter: number; at: number } | undefined;

    constructor(
        private readonly options: OpcUaPlcDriverOptions,
        private readonly ctx: TransportContext,
    ) {}

    /**
     * A session is open on a live connection, the subscription is active and the PLC accepted a heartbeat on
     * this connection: the lane's signals are live and the PLC carries out commands.
     */
    get sessionAlive(): boolean {
        return this.sessionUp && this.subscription?.isActive === true && !this.rebuilding && this.watchdogFed;
    }

    /** Writes can reach the PLC (they need no subscription). */
    private get sessionUp(): boolean {
        return this.connectionUp && this.session !== undefined && !(this.client?.isReconnecting ?? true);
    }

    private get watchdogFed(): boolean {
        return this.watchdogFedEpoch === this.connectionEpoch;
    }

    /** Starts connecting in the background and resolves at once (see the class's error rules). */
    async start(): Promise<void> {
        if (this.started) return;
        const o = this.options;
        const heartbeatMs = o.heartbeatMs ?? 1000;
        const commandTimeoutMs = o.commandTimeoutMs ?? 3000;
        if (!(heartbeatMs > 0) || !(commandTimeoutMs > 0)) {
            throw new GateError("CONFIG_INVALID", "heartbeatMs and commandTimeoutMs must be > 0");
        }
        const securityMode = MessageSecurityMode[o.securityMode];
        const policyName = o.securityPolicy ?? (o.securityMode === "None" ? "None" : "Basic256Sha256");
        const securityPolicy = (SecurityPolicy as Record<string, string>)[policyName];
        if (securityMode === undefined || securityPolicy === undefined) {
            throw new GateError("CONFIG_INVALID", `unknown OPC UA security ${o.securityMode}/${policyName}`);
        }
        if ((o.securityMode === "None") !== (policyName === "None")) {
            throw new GateError("CONFIG_INVALID", "securityMode None goes with securityPolicy None and only with it");
        }
        const initialDelay = o.backoff?.initialDelayMs ?? 250;
        const maxDelay = o.backoff?.maxDelayMs ?? 10_000;
        this.started = true;
        this.setupBackoff = new Backoff(initialDelay, maxDelay);
        this.certificateManager = new OPCUACertificateManager({
            rootFolder: o.pkiFolder,
            automaticallyAcceptUnknownCertificate: o.trustOnFirstUse === true,
        });
        const client = OPCUAClient.create({
            applicationName: "gate-edge",
            clientName: `gate-edge ${o.lanePrefix}`,
            endpointMustExist: false,
            securityMode,
            securityPolicy,
            clientCertificateManager: this.certificateManager,
            // maxRetry -1: for ever. node-opcua adds jitter (randomisationFactor) so lanes do not retry in step.
            connectionStrategy: { initialDelay, maxDelay, maxRetry: -1, randomisationFactor: 0.5 },
            keepSessionAlive: true,
            requestedSessionTimeout: 30_000, // 30 s: a PLC restart within it can re-activate the session
        });
        this.client = client;
        client.on("backoff", (count, delay) => {
            this.setStatus("offline", `PLC not reachable; retry ${count + 1} in ${Math.round(delay)} ms`, {
                code: "PLC_UNREACHABLE",
                params: { attempt: count + 1, ms: Math.round(delay) },
            });
        });
        client.on("connection_lost", () => {
            this.connectionUp = false;
            this.connectionEpoch++;
            this.setStatus("offline", "connection lost; reconnecting", { code: "CONNECTION_LOST" });
        });
        client.on("connection_reestablished", () => {
            this.connectionUp = true;
            this.lastDataAt = Date.now();
            this.reconnects++;
            this.ctx.log.info({ reconnects: this.reconnects }, "PLC connection re-established");
            // Items that failed while the PLC was going down are rebuilt before the PLC counts as online.
            this.checkStall();
            this.checkHealth("after reconnection");
        });
        client.on("reconnection_attempt_has_failed", (err) => {
            this.ctx.log.debug({ err: errorMessage(err) }, "PLC reconnection attempt failed");
        });
        this.setStatus("offline", "connecting", { code: "CONNECTING" });
        void this.setup();
        this.heartbeatTimer = setInterval(() => {
            this.checkStall();
            void this.beat();
        }, heartbeatMs);
    }

    /** Idempotent; stops the heartbeat, ends subscription and session, disconnects. Prompt while reconnecting. */
    stop(): Promise<void> {
        this.stopping ??= this.shutdown();
        return this.stopping;
    }

    /**
     * Pulses Barrier.CmdOpen and waits for Barrier.State opening or open. Resolves {confirmed: false} when
     * the PLC does not report it within commandTimeoutMs (e-stop, fault, fail-safe); rejects as in the
     * class's error rules. There is no closeBarrier(): see the class comment.
     */
    async openBarrier(): Promise<OpenBarrierResult> {
        this.requireSession();
        const started = performance.now();
        // A previous pulse must have fallen, or this write is no rising edge and the PLC ignores it.
        await this.pulseReset;
        const timeoutMs = this.options.commandTimeoutMs ?? 3000;
        const waiting = this.waitForState((s) => s === "opening" || s === "open", timeoutMs);
        try {
            await this.write("Barrier.CmdOpen", true);
        } catch (err) {
            waiting.cancel();
            throw err;
        }
        this.pulseReset = new Promise<void>((resolve) => setTimeout(resolve, PULSE_MS))
            .then(() => (this.sessionUp ? this.write("Barrier.CmdOpen", false) : undefined))
            .catch((err: unknown) => {
                this.ctx.log.warn({ err: errorMessage(err) }, "CmdOpen pulse reset failed");
            });
        // Already open before the command: no state change will come, the current state confirms it.
        const now = this.barrierState;
        if (now === "open") waiting.cancel(now);
        const state = await waiting.promise;
        const elapsedMs = Math.round(performance.now() - started);
        if (state !== undefined && (state === "opening" || state === "open"))
            return { confirmed: true, state, elapsedMs };
        const last = this.barrierState;
        return last === undefined ? { confirmed: false, elapsedMs } : { confirmed: false, state: last, elapsedMs };
    }

    /** Writes Light.Entry or Light.Exit. Rejects as in the class's error rules. */
    async setLight(which: "entry" | "exit", color: LightColor): Promise<void> {
        this.requireSession();
        const code = this.options.model.lightCodes[color];
        if (code === undefined) throw new GateError("API_BAD_REQUEST", `unknown light color ${String(color)}`);
        await this.write(which === "entry" ? "Light.Entry" : "Light.Exit", code);
    }

    // ---------------------------------------------------------------------------------------------

    private requireSession(): void {
        if (this.stopping) throw new GateError("DRIVER_CANCELED", "the PLC driver is stopped");
        if (!this.sessionAlive)
            throw new GateError("DRIVER_DISCONNECTED", `PLC ${this.options.lanePrefix}: no session`);
    }

    private nodeId(tag: PlcTag): string {
        return this.options.model.tags[tag].nodeId.replaceAll("{lane}", this.options.lanePrefix);
    }

    private setStatus(status: "online" | "offline", reason: string, because: StatusReason): void {
        const key = `${status}:${reason}`;
        if (key === this.lastStatus) return;
        this.lastStatus = key;
        this.ctx.setStatus(status, reason, because);
    }

    /** Connect (retried for ever by node-opcua), then session, subscription and items; retried on failure. */
    private setup(): Promise<void> {
        this.setupRunning ??= this.runSetup().finally(() => {
            this.setupRunning = undefined;
        });
        return this.setupRunning;
    }

    private async runSetup(): Promise<void> {
        const client = this.client;
        if (!client || this.stopping) return;
        try {
            if (!this.connectionUp) {
                await client.connect(this.options.endpointUrl);
                this.connectionUp = true;
            }
            if (this.stopping) return;
            if (!this.session) {
                const session = await client.createSession(this.identity());
                session.on("session_closed", () => {
                    if (this.stopping || this.session !== session) return;
                    this.ctx.log.warn("PLC closed the session; opening a new one");
                    this.dropSession();
                    this.retry("session closed by the PLC");
                });
                session.on("keepalive_failure", () => this.ctx.log.warn("PLC session keep-alive failed"));
                this.session = session;
            }
            if (this.stopping) return;
            if (!this.subscription?.isActive) await this.createSubscription(this.session);
            this.lastDataAt = Date.now();
            if (this.stopping) return;
            this.setupBackoff?.reset();
            this.checkHealth("connected");
        } catch (err) {
            if (this.stopping) return;
            const reason = await this.failureReason(err);
            if (this.stopping) return;
            this.retry(reason);
        }
    }

    /**
     * What a technician must do about a failed connect or session, in one line: the PLC's certificate to
     * trust, the login or the security settings to change. Anything else is passed on as node-opcua said it.
     */
    private async failureReason(err: unknown): Promise<string> {
        const o = this.options;
        const message = errorMessage(err);
        const paths = plcPkiPaths(o.pkiFolder);
        const policy = o.securityPolicy ?? (o.securityMode === "None" ? "None" : "Basic256Sha256");
        if (/BadCertificateUntrusted|certificate verification failed/i.test(message)) {
            const waiting = rejectedThumbprints(o.pkiFolder);
            const which = waiting.length > 0 ? ` (thumbprint ${waiting.join(", ")})` : "";
            return (
                `the PLC's certificate${which} is not trusted: compare it with the PLC's own, then run ` +
                `gate-edge doctor --trust-plc, or move it from ${paths.rejected} to ${paths.trusted}`
            );
        }
        if (/BadUserAccessDenied|BadIdentityTokenRejected|BadIdentityTokenInvalid/.test(message)) {
            const status = /Bad\w+/.exec(message)?.[0];
            return o.username === undefined
                ? `the PLC refused an anonymous session (${status}): set the PLC user in the device's auth`
                : `the PLC refused the login of user "${o.username}" (${status}): check auth.username and auth.password against the PLC's user`;
        }
        const tokenPolicy = /Cannot find (\w+) user token policy/i.exec(message)?.[1];
        if (tokenPolicy !== undefined) {
            return tokenPolicy.toUpperCase() === "ANONYMOUS"
                ? "the PLC requires a user name and password: set the device's auth"
                : `the PLC accepts no ${tokenPolicy.toLowerCase()} login on the ${o.securityMode} endpoint`;
        }
        if (/End point must exist|cannot find endpoint for securityMode/i.test(message)) {
            const offered = await this.offeredSecurity();
            return (
                `the PLC offers no session with security ${o.securityMode}/${policy}` +
                `${offered ? ` (it offers ${offered})` : ""}: set plc.securityMode and plc.securityPolicy to what it offers`
            );
        }
        if (/BadSecurityChecksFailed|BadCertificate/.test(message)) {
            return (
                `the PLC refused the secure channel (${/Bad\w+/.exec(message)?.[0]}): is the gate's certificate ` +
                `${paths.ownCertificate} trusted on the PLC?`
            );
        }
        return `setup failed: ${message}`;
    }

    /** The security modes and policies of the PLC's session endpoints, e.g. "SignAndEncrypt/Basic256Sha256". */
    private async offeredSecurity(): Promise<string | undefined> {
        try {
            const endpoints =
                (await withTimeout(this.client?.getEndpoints() ?? Promise.resolve([]), GRACEFUL_STOP_MS)) ?? [];
            const offered = endpoints
                .filter((endpoint) => endpoint.userIdentityTokens?.length)
                .map(
                    (endpoint) =>
                        `${MessageSecurityMode[endpoint.securityMode]}/${endpoint.securityPolicyUri?.split("#")[1]}`,
                );
            return offered.length > 0 ? [...new Set(offered)].join(", ") : undefined;
        } catch {
            return undefined; // the reason stands without the list
        }
    }

    private retry(reason: string): void {
        if (this.stopping || this.retryTimer) return;
        const wait = this.setupBackoff?.next() ?? 1000;
        this.setStatus("offline", `${reason}; retrying in ${wait} ms`, {
            code: "RETRYING",
            params: { detail: reason, ms: wait },
        });
        this.retryTimer = setTimeout(() => {
            this.retryTimer = undefined;
            void this.setup();
        }, wait);
    }

    private identity(): UserIdentityInfo {
        const { username, password } = this.options;
        if (username === undefined) return { type: UserTokenType.Anonymous };
        return { type: UserTokenType.UserName, userName: username, password: password ?? "" };
    }

    private async createSubscription(session: ClientSession): Promise<void> {
        const old = this.subscription;
        this.subscription = undefined;
        this.items.clear();
        if (old) await withTimeout(old.terminate(), GRACEFUL_STOP_MS).catch(() => undefined);
        const subscription = await session.createSubscription2({
            requestedPublishingInterval: PUBLISHING_INTERVAL_MS,
            requestedLifetimeCount: 600, // 60 s at 100 ms without a publish before the PLC drops it
            requestedMaxKeepAliveCount: 20, // keep-alive every 2 s when nothing changes
            maxNotificationsPerPublish: 100,
            publishingEnabled: true,
            priority: 10,
        });
        subscription.on("terminated", () => {
            if (this.stopping || this.subscription !== subscription) return;
            this.ctx.log.warn("PLC subscription terminated; re-creating it");
            this.subscription = undefined;
            this.retry("subscription terminated");
        });
        this.subscription = subscription;
        this.itemsBroken = false;
        const { model } = this.options;
        for (const tag of Object.keys(model.tags) as PlcTag[]) {
            if (model.tags[tag].access !== "read") continue;
            const item = ClientMonitoredItem.create(
                subscription,
                { nodeId: this.nodeId(tag), attributeId: AttributeIds.Value },
                { samplingInterval: PUBLISHING_INTERVAL_MS, discardOldest: true, queueSize: 10 },
                TimestampsToReturn.Both,
            );
            item.on("changed", (dataValue: DataValue) => this.onChanged(tag, dataValue));
            item.on("err", (message: string) => {
                if (this.subscription === subscription) this.itemsBroken = true;
                this.ctx.log.warn({ tag, err: message }, "monitored item failed");
            });
            this.items.set(tag, item);
        }
    }

    /**
     * Goes online when everything is live; feeds the watchdog first when this connection has not yet;
     * otherwise retries what is missing. A subscription being rebuilt calls again when it is done.
     */
    private checkHealth(context: string): void {
        if (this.stopping || this.rebuilding) return;
        if (this.sessionAlive) {
            this.onlineReasonAfterFeed = undefined;
            this.setStatus("online", context, { code: "SESSION_READY" });
            return;
        }
        if (this.sessionUp && !this.subscription?.isActive) {
            this.retry(`${context}: subscription not active`);
            return;
        }
        if (this.sessionUp && !this.watchdogFed) {
            this.onlineReasonAfterFeed = context;
            void this.beat();
        }
    }

    /** Rebuilds the subscription when an item failed or a live session has delivered nothing for DATA_STALL_MS. */
    private checkStall(): void {
        const session = this.session;
        if (this.rebuilding || !this.sessionUp || !this.subscription?.isActive || !session) return;
        if (!this.itemsBroken && Date.now() - this.lastDataAt < DATA_STALL_MS) return;
        const why = this.itemsBroken ? "a monitored item failed" : `no data from the PLC for ${DATA_STALL_MS} ms`;
        this.ctx.log.warn({ silentMs: Date.now() - this.lastDataAt }, `${why}; re-creating the subscription`);
        this.setStatus("offline", `${why}; re-creating the subscription`, {
            code: "RESUBSCRIBING",
            params: { detail: why },
        });
        void this.rebuildSubscription(session);
    }

    private async rebuildSubscription(session: ClientSession): Promise<void> {
        this.rebuilding = true;
        try {
            await this.createSubscription(session);
            this.lastDataAt = Date.now();
        } catch (err) {
            this.rebuilding = false;
            this.retry(`re-creating the subscription failed: ${errorMessage(err)}`);
            return;
        }
        this.rebuilding = false;
        this.checkHealth("subscription re-created");
    }

    private dropSession(): void {
        this.connectionEpoch++;
        this.session = undefined;
        this.subscription = undefined;
        this.items.clear();
    }

    private onChanged(tag: PlcTag, dataValue: DataValue): void {
        this.lastDataAt = Date.now();
        // A Bad-quality value has no value to trust; the model decodes null as invalid.
        const value = dataValue.statusCode.isGood() ? plain(dataValue.value.value) : null;
        const sourceTimestamp = dataValue.sourceTimestamp ?? undefined;
        if (tag === "Barrier.State") {
            const decoded = this.options.model.decode(tag, value);
            if (decoded.status === "reading" && decoded.values.tag === "Barrier.State") {
                this.barrierState = decoded.values.state;
                for (const waiter of this.waiters) {
                    if (waiter.accept(decoded.values.state)) waiter.resolve(decoded.values.state);
                }
            }
        }
        // One after the other, so the runtime stores changes in the order the PLC reported them.
        this.delivery = this.delivery
            .then(async () => {
                await this.ctx.input({ kind: "tag", tag, value, ...(sourceTimestamp && { sourceTimestamp }) });
            })
            .catch((err: unknown) => this.ctx.log.error({ err, tag }, "PLC tag value not stored"));
    }

    private waitForState(accept: (state: BarrierState) => boolean, timeoutMs: number) {
        let waiter!: StateWaiter;
        const promise = new Promise<BarrierState | undefined>((resolve, reject) => {
            const done = () => {
                clearTimeout(waiter.timer);
                this.waiters.delete(waiter);
            };
            waiter = {
                accept,
                resolve: (state) => {
                    done();
                    resolve(state);
                },
                reject: (err) => {
                    done();
                    reject(err);
                },
                timer: setTimeout(() => waiter.resolve(undefined), timeoutMs),
            };
            this.waiters.add(waiter);
        });
        return { promise, cancel: (state?: BarrierState) => waiter.resolve(state) };
    }

    /** One value write; rejects per the class's error rules. */
    private async write(tag: PlcTag, value: boolean | number): Promise<void> {
        const session = this.session;
        if (!session || !this.sessionUp) throw new GateError("DRIVER_DISCONNECTED", `cannot write ${tag}: no session`);
        const dataType = DataType[this.options.model.tags[tag].dataType];
        const timeoutMs = this.options.commandTimeoutMs ?? 3000;
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<never>((_, reject) => {
            timer = setTimeout(
                () => reject(new GateError("DRIVER_DISCONNECTED", `write of ${tag} got no answer in ${timeoutMs} ms`)),
                timeoutMs,
            );
        });
        try {
            const status = await Promise.race([
                session.write({
                    nodeId: this.nodeId(tag),
                    attributeId: AttributeIds.Value,
                    value: { value: { dataType, value } },
                }),
                timeout,
            ]);
            if (!status.isGood()) {
                throw new GateError(
                    "DRIVER_WRITE_REJECTED",
                    `PLC ${this.options.lanePrefix} refused ${tag}=${value}: ${status.name}`,
                );
            }
        } catch (err) {
            if (err instanceof GateError) throw err;
            throw new GateError("DRIVER_DISCONNECTED", `write of ${tag} failed: ${errorMessage(err)}`, { cause: err });
        } finally {
            clearTimeout(timer);
        }
    }

    private async beat(): Promise<void> {
        if (this.heartbeatInFlight || !this.sessionUp || this.stopping) return;
        this.heartbeatInFlight = true;
        const counter = (this.heartbeatCounter + 1) >>> 0;
        const epoch = this.connectionEpoch;
        try {
            await this.write("Watchdog.Heartbeat", counter);
            this.heartbeatCounter = counter;
            this.lastHeartbeatWritten = { counter, at: Date.now() };
            if (epoch === this.connectionEpoch && !this.watchdogFed) {
                this.watchdogFedEpoch = epoch;
                this.checkHealth(this.onlineReasonAfterFeed ?? "watchdog heartbeat accepted");
            }
        } catch (err) {
            this.ctx.log.warn({ err: errorMessage(err) }, "watchdog heartbeat not written");
            if (this.sessionUp && !this.watchdogFed) {
                this.setStatus("offline", `watchdog heartbeat not accepted: ${errorMessage(err)}`, {
                    code: "WATCHDOG_REFUSED",
                    params: { detail: errorMessage(err) },
                });
            }
        } finally {
            this.heartbeatInFlight = false;
        }
    }

    private async shutdown(): Promise<void> {
        if (!this.started) return;
        clearInterval(this.heartbeatTimer);
        clearTimeout(this.retryTimer);
        for (const waiter of this.waiters) waiter.reject(new GateError("DRIVER_CANCELED", "the PLC driver stopped"));
        const client = this.client;
        const session = this.session;
        const live = this.sessionAlive;
        this.dropSession();
        this.connectionUp = false;
        if (session && live) {
            // Deletes the subscription with the session; skipped while reconnecting, where it would wait.
            await withTimeout(session.close(true), GRACEFUL_STOP_MS).catch((err: unknown) =>
                this.ctx.log.debug({ err: errorMessage(err) }, "PLC session close failed"),
            );
        }
        if (client) {
            await withTimeout(client.disconnect(), GRACEFUL_STOP_MS).catch((err: unknown) =>
                this.ctx.log.debug({ err: errorMessage(err) }, "PLC disconnect failed"),
            );
        }
        await withTimeout(this.setupRunning ?? Promise.resolve(), GRACEFUL_STOP_MS).catch(() => undefined);
        await this.certificateManager?.dispose();
        await this.delivery;
        this.setStatus("offline", "stopped", { code: "STOPPED" });
    }
}

/** Typed arrays (OPC UA arrays) become plain arrays; everything else is passed as node-opcua gives it. */
function plain(value: unknown): unknown {
    if (ArrayBuffer.isView(value) && !(value instanceof DataView) && !Buffer.isBuffer(value)) {
        // isView leaves an ArrayBufferView; without DataView what remains is a typed array, indexable by number.
        return Array.from(value as unknown as ArrayLike<number>);
    }
    return value;
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
    let timer: NodeJS.Timeout | undefined;
    return Promise.race([
        promise,
        new Promise<undefined>((resolve) => {
            timer = setTimeout(() => resolve(undefined), ms);
        }),
    ]).finally(() => clearTimeout(timer));
}

/** The OPC UA transport of a lane PLC: its session, subscription, watchdog heartbeat and commands. */
export const transport: TransportModule = {
    framesProveLife: false,
    describeAddress(device) {
        const address = addressOf(device, "opcua");
        return `${address.endpointUrl} (${address.lanePrefix})`;
    },
    doctorTarget(device) {
        const { endpointUrl } = addressOf(device, "opcua");
        const url = new URL(endpointUrl.replace(/^opc\.tcp:/, "http:"));
        return {
            kind: "network",
            host: url.hostname.replace(/^\[|\]$/g, ""),
            port: Number(url.port || 4840),
            url: endpointUrl,
        };
    },
    create({ device, model, config }, ctx) {
        const address = addressOf(device, "opcua");
        const plc = new OpcUaPlcDriver(
            {
                endpointUrl: address.endpointUrl,
                lanePrefix: address.lanePrefix,
                model: modelOf(device, model, "opcua"),
                securityMode: address.securityMode,
                ...(address.securityPolicy !== undefined && { securityPolicy: address.securityPolicy }),
                trustOnFirstUse: address.trustOnFirstUse,
                ...(device.login && { username: device.login.username, password: device.login.password }),
                pkiFolder: plcPkiFolder(config.storage.pkiFolder, device.id),
                heartbeatMs: address.heartbeatMs,
                commandTimeoutMs: address.commandTimeoutMs,
            },
            ctx,
        );
        return {
            capabilities: { ...READ_ONLY, actuate: true },
            start: () => plc.start(),
            stop: () => plc.stop(),
            describe: () => ({
                address: `${address.endpointUrl} (${address.lanePrefix})`,
                connected: plc.sessionAlive,
            }),
            actuate: (command) => actuatePlc(plc, command),
        };
    },
};

/** Carries out one command; a barrier open is confirmed only by the state change it causes. */
async function actuatePlc(plc: OpcUaPlcDriver, command: ActuatorCommand): Promise<ActuatorOutcome> {
    if (command.type === "openBarrier") {
        const result = await plc.openBarrier();
        return {
            confirmed: result.confirmed,
            detail: result.confirmed
                ? `barrier ${result.state} after ${result.elapsedMs} ms`
                : `no opening seen within ${result.elapsedMs} ms (barrier ${result.state ?? "unknown"})`,
        };
    }
    await plc.setLight(command.which, command.color);
    return { confirmed: true, detail: `${command.which} light ${command.color}` };
}
