/**
 * A lane PLC that speaks OPC UA (docs/devices.md "Lane PLC"): a node-opcua server exposing, for every lane prefix, every
 * tag of the lane PLC model under the model's own node ids, and running the logic a real lane PLC runs:
 *
 * - Barrier.CmdOpen rising edge → opening → after travelMs open (LimitOpen). Refused (the barrier does not
 *   move) under an e-stop, a fault or while fail-safe; the write itself is rejected with BadInvalidState in
 *   manual or maintenance mode, where the local key switch owns the barrier.
 * - It closes by itself: when the exit loop clears after a vehicle, or after autoCloseMs with no vehicle on
 *   any loop, or on fail-safe. It NEVER closes while Loop.Safety.Occupied is true, and a closing boom
 *   reverses to opening the moment the safety loop is occupied (the rule lives in the PLC, not in software
 *   above it).
 * - EStop.Active stops the boom where it is (stopped); fault(code) → fault, Barrier.Fault, FaultCode.
 * - PLC.Heartbeat increments every second. Watchdog: if Watchdog.Heartbeat has not changed for
 *   watchdogTimeoutMs, both lights go red, the barrier closes (unless the safety loop is occupied) and
 *   `failSafe` is emitted; the watchdog is armed from start, as on a PLC with no supervisor.
 *
 * The boom is simulated as a position 0 (closed) … 1 (open) moved by one 50 ms tick, so a reversal
 * part-way takes only the distance already travelled.
 *
 * Error rules: start() rejects with SIMULATOR_USAGE for bad options and passes on node-opcua's error when
 * the port is taken; control methods throw SIMULATOR_USAGE for an unknown lane.
 */
import { EventEmitter } from "node:events";
import { setTimeout as sleep } from "node:timers/promises";
import {
    DataType,
    DataValue,
    LogLevel,
    MessageSecurityMode,
    OPCUACertificateManager,
    OPCUAServer,
    SecurityPolicy,
    type ServerSession,
    StatusCodes,
    setErrorLogger,
    setLogLevel,
    setWarningLogger,
    type UAVariable,
    UserNameIdentityToken,
    Variant,
    type VariantLike,
} from "node-opcua";
import {
    BARRIER_STATES,
    definition as lanePlcModel,
    nodeIdFor,
    PLC_MODES,
    PLC_TAGS,
} from "../devices/lane-plc-opcua.ts";
import type { PlcModel, PlcSignal, PlcTag } from "../devices/types.ts";
import { GateError } from "../src/core/errors.ts";
import { adoptOpcuaLogging } from "../src/core/opcuaLog.ts";
import type { Rng } from "./random.ts";

// node-opcua is loaded now: its messages go to the gate's log from here on (src/core/opcuaLog.ts).
adoptOpcuaLogging({ LogLevel, setLogLevel, setWarningLogger, setErrorLogger });

type BarrierState = (typeof BARRIER_STATES)[number];
type PlcMode = Extract<PlcSignal, { tag: "PLC.Mode" }>["mode"];
export type LoopName = "entry" | "safety" | "exit";

export interface LanePlcSimulatorOptions {
    /** Address to listen on, e.g. the one in the gate's endpoint URL. Default 127.0.0.1 (never every interface unasked). */
    host?: string;
    /** TCP port; 0 picks a free one (read it back from `port` / `endpointUrl`). */
    port: number;
    /**
     * "secure": as a Siemens S7-1500 with security on, only SignAndEncrypt with Basic256Sha256 (discovery stays
     * open without security, as OPC UA requires, so a client can fetch the certificate). Default "none":
     * security None only.
     */
    security?: "none" | "secure";
    /** The one user allowed to log in; anonymous sessions are refused when given. Default: anonymous only. */
    user?: { username: string; password: string };
    /** Lane prefixes, e.g. ["L1", "L2"]; each gets the whole tag set under "ns=1;s=<prefix>.<tag>". */
    lanes: readonly string[];
    /** Folder of the server's PKI (own certificate, trusted and rejected client certificates). */
    pkiFolder: string;
    /** Time for the boom to travel fully open or closed, in ms. Default 2000 (real booms 1.5–6 s). */
    travelMs?: number;
    /** Fail-safe when gate-edge's Watchdog.Heartbeat has not changed for this long, in ms. Default 3000. */
    watchdogTimeoutMs?: number;
    /** An open barrier with no vehicle on any loop closes after this long, in ms. Default 20 000. */
    autoCloseMs?: number;
    /** Random source for the truck scenario's timings. Default Math.random. */
    rng?: Rng;
    /** Model whose node ids and types are exposed. Default lane-plc-opcua. */
    model?: PlcModel;
}

/** A session a client holds on the PLC, as the PLC's diagnostics show it. */
export interface PlcSessionInfo {
    securityMode: string;
    /** e.g. "Basic256Sha256". */
    securityPolicy: string;
    /** The user name it logged in with; undefined for anonymous. */
    user: string | undefined;
}

/** What one lane shows right now, tag by tag (values as written on the wire), plus PLC-internal flags. */
export interface LaneSnapshot {
    barrier: BarrierState;
    /** 0 closed … 1 open. */
    position: number;
    limitOpen: boolean;
    limitClosed: boolean;
    fault: boolean;
    faultCode: number;
    loops: Record<LoopName, boolean>;
    lights: { entry: number; exit: number };
    estop: boolean;
    mode: PlcMode;
    plcHeartbeat: number;
    watchdog: number;
    failSafe: boolean;
}

// A type alias, not an interface: EventEmitter's type parameter needs an index-compatible map.
export type LanePlcSimulatorEvents = {
    /** A tag's value changed (read tags by the PLC logic, write tags by a client). */
    change: [lane: string, tag: PlcTag, value: boolean | number];
    /** The watchdog expired: lights red, barrier closing unless the safety loop is occupied. */
    failSafe: [lane: string, reason: string];
    /** Gate-edge's heartbeat changed again after a fail-safe. */
    watchdogRestored: [lane: string];
    /** A command the PLC did not carry out (e-stop, fault, fail-safe, manual mode). */
    refused: [lane: string, command: string, reason: string];
    /** The OPC UA server went down (restart) or came back. */
    server: [state: "up" | "down", endpointUrl: string];
};

const TICK_MS = 50;
const RESOURCE_PATH = "/UA/LanePLC";
const DATA_TYPES = { Boolean: DataType.Boolean, Int32: DataType.Int32, UInt32: DataType.UInt32 } as const;

interface Lane {
    prefix: string;
    values: Record<PlcTag, boolean | number>;
    position: number;
    failSafe: boolean;
    /** A close is wanted (exit cleared, auto-close, fail-safe) and waits for the safety loop to clear. */
    closePending: boolean;
    /** ms timestamp of the last watchdog change (or of start). */
    watchdogAt: number;
    /** ms timestamp since the barrier has been open with all loops clear. */
    idleSince: number | undefined;
    variables: Map<PlcTag, UAVariable>;
}

/**
 * Error rules as in the file header. Events are listed in LanePlcSimulatorEvents.
 */
export class LanePlcSimulator extends EventEmitter<LanePlcSimulatorEvents> {
    private server: OPCUAServer | undefined;
    private certificateManager: OPCUACertificateManager | undefined;
    private readonly lanes = new Map<string, Lane>();
    private readonly activeSessions = new Map<ServerSession, PlcSessionInfo>();
    private tick: NodeJS.Timeout | undefined;
    private heartbeat: NodeJS.Timeout | undefined;
    private actualPort = 0;
    private started = false;
    private lastTickAt = 0;

    constructor(private readonly options: LanePlcSimulatorOptions) {
        super();
    }

    get model(): PlcModel {
        return this.options.model ?? lanePlcModel;
    }

    get travelMs(): number {
        return this.options.travelMs ?? 2000;
    }

    get watchdogTimeoutMs(): number {
        return this.options.watchdogTimeoutMs ?? 3000;
    }

    get autoCloseMs(): number {
        return this.options.autoCloseMs ?? 20_000;
    }

    /** The port the server listens on (after start). */
    get port(): number {
        return this.actualPort;
    }

    get host(): string {
        return this.options.host ?? "127.0.0.1";
    }

    /** opc.tcp URL on the address the server listens on. */
    get endpointUrl(): string {
        const host = this.host.includes(":") ? `[${this.host}]` : this.host;
        return `opc.tcp://${host}:${this.actualPort}${RESOURCE_PATH}`;
    }

    /** The sessions clients hold now (activated, not yet closed). */
    sessions(): PlcSessionInfo[] {
        return [...this.activeSessions.values()];
    }

    /** The server is up (false between the two halves of restart()). */
    get serving(): boolean {
        return this.server !== undefined;
    }

    async start(): Promise<void> {
        if (this.started) return;
        const { lanes, port } = this.options;
        if (lanes.length === 0 || lanes.some((lane) => !/^[A-Za-z0-9_-]{1,32}$/.test(lane))) {
            throw new GateError("SIMULATOR_USAGE", "lanes must be 1-32 letters, digits, _ or -, at least one");
        }
        if (new Set(lanes).size !== lanes.length) throw new GateError("SIMULATOR_USAGE", "duplicate lane prefix");
        for (const [name, value] of [
            ["travelMs", this.travelMs],
            ["watchdogTimeoutMs", this.watchdogTimeoutMs],
            ["autoCloseMs", this.autoCloseMs],
        ] as const) {
            if (!Number.isFinite(value) || value <= 0) throw new GateError("SIMULATOR_USAGE", `${name} must be > 0`);
        }
        if (!Number.isInteger(port) || port < 0 || port > 65_535) {
            throw new GateError("SIMULATOR_USAGE", `port must be 0-65535, got ${port}`);
        }
        const { user } = this.options;
        if (user !== undefined && (user.username === "" || user.password === "")) {
            throw new GateError("SIMULATOR_USAGE", "user needs a username and a password");
        }
        const now = Date.now();
        for (const prefix of lanes) this.lanes.set(prefix, this.initialLane(prefix, now));
        this.started = true;
        this.certificateManager = new OPCUACertificateManager({
            rootFolder: this.options.pkiFolder,
            automaticallyAcceptUnknownCertificate: true,
        });
        try {
            await this.serve(port);
        } catch (err) {
            await this.stop();
            throw err;
        }
        this.lastTickAt = Date.now();
        this.tick = setInterval(() => this.step(), TICK_MS);
        this.heartbeat = setInterval(() => {
            for (const lane of this.lanes.values()) {
                this.set(lane, "PLC.Heartbeat", ((lane.values["PLC.Heartbeat"] as number) + 1) >>> 0);
            }
        }, 1000);
    }

    /** Idempotent; shuts the server down and stops the PLC logic. */
    async stop(): Promise<void> {
        if (!this.started) return;
        this.started = false;
        clearInterval(this.tick);
        clearInterval(this.heartbeat);
        const server = this.server;
        this.server = undefined;
        this.activeSessions.clear();
        if (server) await server.shutdown(0);
        await this.certificateManager?.dispose();
        this.certificateManager = undefined;
    }

    /**
     * The OPC UA server goes away for downMs and comes back on the same port with the same address space
     * (a PLC program download or a power cut of the communication module). The PLC logic keeps running,
     * so the watchdog can expire while the server is down.
     */
    async restart(downMs: number): Promise<void> {
        const server = this.server;
        if (!server) throw new GateError("SIMULATOR_USAGE", "restart() needs a started simulator");
        this.server = undefined;
        this.activeSessions.clear();
        await server.shutdown(0);
        this.emit("server", "down", this.endpointUrl);
        await sleep(downMs);
        if (!this.started) return;
        await this.serve(this.actualPort);
    }

    // ---------------------------------------------------------------------------------------------
    // controls for tests and scenarios

    /** A vehicle stops on the entry loop. */
    vehicleArrives(lane: string): void {
        this.setLoop(lane, "entry", true);
    }

    /** The vehicle moves under the boom (safety loop) — or, with on=false, off it without reaching the exit loop. */
    vehicleUnderBoom(lane: string, on: boolean): void {
        if (on) this.setLoop(lane, "entry", false);
        this.setLoop(lane, "safety", on);
    }

    /** The vehicle drives on over the exit loop and clears it after clearMs (default 500 ms). */
    async vehicleLeaves(lane: string, clearMs = 500): Promise<void> {
        this.setLoop(lane, "entry", false);
        this.setLoop(lane, "safety", false);
        this.setLoop(lane, "exit", true);
        await sleep(clearMs);
        if (this.started) this.setLoop(lane, "exit", false);
    }

    setLoop(laneId: string, loop: LoopName, occupied: boolean): void {
        const lane = this.lane(laneId);
        const tag = LOOP_TAGS[loop];
        const was = lane.values[tag];
        this.set(lane, tag, occupied);
        // The passage is over when the exit loop clears after the vehicle: the PLC closes behind it.
        if (loop === "exit" && was === true && !occupied && lane.position > 0) lane.closePending = true;
        if (loop === "safety" && occupied && this.barrier(lane) === "closing") this.reverse(lane);
    }

    estop(laneId: string, on: boolean): void {
        const lane = this.lane(laneId);
        this.set(lane, "EStop.Active", on);
        if (on && this.barrier(lane) !== "fault") this.setBarrier(lane, "stopped");
    }

    /** The drive reports a fault (code ≠ 0): the boom stops where it is and refuses commands. */
    fault(laneId: string, code: number): void {
        const lane = this.lane(laneId);
        if (!Number.isInteger(code) || code <= 0 || code > 0xffff_ffff) {
            throw new GateError("SIMULATOR_USAGE", `fault code must be 1-4294967295, got ${code}`);
        }
        this.set(lane, "Barrier.FaultCode", code);
        this.set(lane, "Barrier.Fault", true);
        this.setBarrier(lane, "fault");
    }

    /** The maintainer reset the fault: the state follows the boom's position. */
    clearFault(laneId: string): void {
        const lane = this.lane(laneId);
        this.set(lane, "Barrier.FaultCode", 0);
        this.set(lane, "Barrier.Fault", false);
        this.setBarrier(lane, lane.position >= 1 ? "open" : lane.position <= 0 ? "closed" : "stopped");
    }

    /** The local key switch: in manual or maintenance mode remote opens are rejected. */
    setMode(laneId: string, mode: PlcMode): void {
        const code = PLC_MODES.indexOf(mode);
        if (code < 0) throw new GateError("SIMULATOR_USAGE", `mode must be one of ${PLC_MODES.join(", ")}`);
        this.set(this.lane(laneId), "PLC.Mode", code);
    }

    /**
     * Test hook: publishes a raw value on a tag, bypassing the type check of the address space, as a PLC
     * whose program was changed under gate-edge would (e.g. a String where Barrier.State is Int32).
     * The next change by the PLC logic overwrites it.
     */
    publishRaw(laneId: string, tag: PlcTag, value: VariantLike): void {
        const variable = this.lane(laneId).variables.get(tag);
        if (!variable) throw new GateError("SIMULATOR_USAGE", "the server is down");
        const dataValue = new DataValue({
            value: new Variant(value),
            statusCode: StatusCodes.Good,
            sourceTimestamp: new Date(),
            serverTimestamp: new Date(),
        });
        // setValueFromSource refuses a variant of the wrong type (rightly); the internal replace, below its type
        // check, is the only
        // way to reproduce a misconfigured PLC on the wire (node-opcua 2.182 internals; test hook only).
        (
            variable as unknown as { _inner_replace_dataValue(dv: DataValue, range: null): void }
        )._inner_replace_dataValue(dataValue, null);
    }

    /** A truck drives through: arrives, waits up to waitMs for the barrier to open, passes, leaves. */
    async truckPasses(laneId: string, waitMs = 30_000): Promise<"passed" | "turned-back"> {
        const rng = this.options.rng ?? Math.random;
        this.vehicleArrives(laneId);
        const deadline = Date.now() + waitMs;
        while (this.started && this.state(laneId).barrier !== "open") {
            if (Date.now() > deadline) {
                this.setLoop(laneId, "entry", false);
                return "turned-back";
            }
            await sleep(100);
        }
        if (!this.started) return "turned-back";
        await sleep(500 + rng() * 1000);
        if (!this.started) return "turned-back";
        this.vehicleUnderBoom(laneId, true);
        await sleep(1000 + rng() * 2000);
        if (!this.started) return "turned-back";
        await this.vehicleLeaves(laneId, 400 + rng() * 800);
        return "passed";
    }

    state(laneId: string): LaneSnapshot {
        const lane = this.lane(laneId);
        const v = lane.values;
        return {
            barrier: this.barrier(lane),
            position: lane.position,
            limitOpen: v["Barrier.LimitOpen"] as boolean,
            limitClosed: v["Barrier.LimitClosed"] as boolean,
            fault: v["Barrier.Fault"] as boolean,
            faultCode: v["Barrier.FaultCode"] as number,
            loops: {
                entry: v["Loop.Entry.Occupied"] as boolean,
                safety: v["Loop.Safety.Occupied"] as boolean,
                exit: v["Loop.Exit.Occupied"] as boolean,
            },
            lights: { entry: v["Light.Entry"] as number, exit: v["Light.Exit"] as number },
            estop: v["EStop.Active"] as boolean,
            mode: PLC_MODES[v["PLC.Mode"] as number] ?? "unknown",
            plcHeartbeat: v["PLC.Heartbeat"] as number,
            watchdog: v["Watchdog.Heartbeat"] as number,
            failSafe: lane.failSafe,
        };
    }

    // ---------------------------------------------------------------------------------------------
    // PLC logic

    private initialLane(prefix: string, now: number): Lane {
        const red = this.model.lightCodes.red;
        const values: Record<PlcTag, boolean | number> = {
            "Barrier.CmdOpen": false,
            "Barrier.State": 0,
            "Barrier.LimitOpen": false,
            "Barrier.LimitClosed": true,
            "Barrier.Fault": false,
            "Barrier.FaultCode": 0,
            "Loop.Entry.Occupied": false,
            "Loop.Safety.Occupied": false,
            "Loop.Exit.Occupied": false,
            "Light.Entry": red,
            "Light.Exit": red,
            "EStop.Active": false,
            "PLC.Heartbeat": 0,
            "PLC.Mode": 0,
            "Watchdog.Heartbeat": 0,
        };
        return {
            prefix,
            values,
            position: 0,
            failSafe: false,
            closePending: false,
            watchdogAt: now,
            idleSince: undefined,
            variables: new Map(),
        };
    }

    private lane(laneId: string): Lane {
        const lane = this.lanes.get(laneId);
        if (!lane) throw new GateError("SIMULATOR_USAGE", `unknown lane ${JSON.stringify(laneId)}`);
        return lane;
    }

    private barrier(lane: Lane): BarrierState {
        return BARRIER_STATES[lane.values["Barrier.State"] as number] ?? "fault";
    }

    private setBarrier(lane: Lane, state: BarrierState): void {
        this.set(lane, "Barrier.State", BARRIER_STATES.indexOf(state));
        this.set(lane, "Barrier.LimitOpen", lane.position >= 1);
        this.set(lane, "Barrier.LimitClosed", lane.position <= 0);
    }

    private reverse(lane: Lane): void {
        this.emit("refused", lane.prefix, "close", "safety loop occupied: reversing");
        this.setBarrier(lane, "opening");
    }

    /** Sets a tag, pushes it to the address space and emits `change` when the value differs. */
    private set(lane: Lane, tag: PlcTag, value: boolean | number): void {
        if (lane.values[tag] === value) return;
        lane.values[tag] = value;
        this.publish(lane, tag);
        this.emit("change", lane.prefix, tag, value);
    }

    private publish(lane: Lane, tag: PlcTag): void {
        const spec = this.model.tags[tag];
        if (spec.access === "write") return; // bound to lane.values through get/set
        lane.variables
            .get(tag)
            ?.setValueFromSource({ dataType: DATA_TYPES[spec.dataType], value: lane.values[tag] }, StatusCodes.Good);
    }

    /** A client wrote a command tag. Returns the status the write gets. */
    private onWrite(lane: Lane, tag: PlcTag, value: unknown) {
        const spec = this.model.tags[tag];
        if (spec.dataType === "Boolean" ? typeof value !== "boolean" : typeof value !== "number") {
            return StatusCodes.BadTypeMismatch;
        }
        if (tag === "Light.Entry" || tag === "Light.Exit") {
            if (!Object.values(this.model.lightCodes).includes(value as number)) return StatusCodes.BadOutOfRange;
        }
        if (tag === "Barrier.CmdOpen") {
            const mode = PLC_MODES[lane.values["PLC.Mode"] as number] ?? "unknown";
            if (value === true && mode !== "auto") {
                this.emit("refused", lane.prefix, "open", `PLC in ${mode} mode`);
                return StatusCodes.BadInvalidState;
            }
            const risingEdge = value === true && lane.values[tag] === false;
            this.set(lane, tag, value as boolean);
            if (risingEdge) this.open(lane);
            return StatusCodes.Good;
        }
        if (tag === "Watchdog.Heartbeat") {
            if (value !== lane.values[tag]) {
                lane.watchdogAt = Date.now();
                if (lane.failSafe) {
                    lane.failSafe = false;
                    this.emit("watchdogRestored", lane.prefix);
                }
            }
        }
        this.set(lane, tag, value as number);
        return StatusCodes.Good;
    }

    private open(lane: Lane): void {
        const refusal = lane.values["EStop.Active"]
            ? "e-stop active"
            : this.barrier(lane) === "fault"
              ? `fault ${lane.values["Barrier.FaultCode"]}`
              : lane.failSafe
                ? "fail-safe: watchdog expired"
                : undefined;
        if (refusal !== undefined) {
            this.emit("refused", lane.prefix, "open", refusal);
            return;
        }
        lane.closePending = false;
        lane.idleSince = undefined;
        if (lane.position >= 1) this.setBarrier(lane, "open");
        else this.setBarrier(lane, "opening");
    }

    private step(): void {
        const now = Date.now();
        const dt = now - this.lastTickAt;
        this.lastTickAt = now;
        for (const lane of this.lanes.values()) this.stepLane(lane, now, dt);
    }

    private stepLane(lane: Lane, now: number, dt: number): void {
        const v = lane.values;
        if (!lane.failSafe && now - lane.watchdogAt > this.watchdogTimeoutMs) {
            lane.failSafe = true;
            const red = this.model.lightCodes.red;
            this.set(lane, "Light.Entry", red);
            this.set(lane, "Light.Exit", red);
            if (lane.position > 0) lane.closePending = true;
            this.emit("failSafe", lane.prefix, `watchdog unchanged for ${this.watchdogTimeoutMs} ms`);
        }
        const state = this.barrier(lane);
        const safety = v["Loop.Safety.Occupied"] === true;
        const anyLoop = safety || v["Loop.Entry.Occupied"] === true || v["Loop.Exit.Occupied"] === true;
        const step = dt / this.travelMs;
        if (state === "opening") {
            lane.position = Math.min(1, lane.position + step);
            if (lane.position >= 1) this.setBarrier(lane, "open");
            else this.set(lane, "Barrier.LimitClosed", false);
        } else if (state === "closing") {
            if (safety) {
                this.reverse(lane); // also done at once in setLoop; kept here for a tick that races it
                return;
            }
            lane.position = Math.max(0, lane.position - step);
            if (lane.position <= 0) this.setBarrier(lane, "closed");
            else this.set(lane, "Barrier.LimitOpen", false);
        } else if (state === "open") {
            if (anyLoop) lane.idleSince = undefined;
            else lane.idleSince ??= now;
            if (lane.idleSince !== undefined && now - lane.idleSince >= this.autoCloseMs) lane.closePending = true;
        }
        const canClose =
            (state === "open" || (state === "stopped" && lane.failSafe)) &&
            lane.closePending &&
            !safety &&
            v["EStop.Active"] !== true;
        if (canClose) {
            lane.closePending = false;
            lane.idleSince = undefined;
            this.setBarrier(lane, "closing");
        }
    }

    // ---------------------------------------------------------------------------------------------
    // OPC UA server

    private async serve(port: number): Promise<void> {
        const secure = this.options.security === "secure";
        const { user } = this.options;
        const server = new OPCUAServer({
            host: this.host,
            // Advertised in the endpoints: without it node-opcua names the machine, which a client may not resolve.
            ...(!isAnyAddress(this.host) && { hostname: this.host }),
            port,
            resourcePath: RESOURCE_PATH,
            securityModes: [secure ? MessageSecurityMode.SignAndEncrypt : MessageSecurityMode.None],
            securityPolicies: [secure ? SecurityPolicy.Basic256Sha256 : SecurityPolicy.None],
            allowAnonymous: user === undefined,
            ...(user !== undefined && {
                userManager: {
                    isValidUser: (username: string, password: string) =>
                        username === user.username && password === user.password,
                },
            }),
            serverCertificateManager: this.certificateManager,
            buildInfo: { productName: "gate-edge lane PLC simulator", buildNumber: "1", buildDate: new Date() },
            // A PLC answers a handful of clients; a stuck test client must not be able to exhaust it.
            maxConnectionsPerEndpoint: 10,
        });
        await server.initialize();
        const addressSpace = server.engine.addressSpace;
        if (!addressSpace) throw new GateError("SIMULATOR_USAGE", "node-opcua server has no address space");
        const ns = addressSpace.getOwnNamespace();
        for (const lane of this.lanes.values()) {
            lane.variables.clear();
            const folder = ns.addObject({ organizedBy: addressSpace.rootFolder.objects, browseName: lane.prefix });
            for (const tag of PLC_TAGS) {
                const spec = this.model.tags[tag];
                const dataType = DATA_TYPES[spec.dataType];
                const nodeId = nodeIdFor(this.model, tag, lane.prefix);
                const access = spec.access === "write" ? "CurrentRead | CurrentWrite" : "CurrentRead";
                const variable = ns.addVariable({
                    componentOf: folder,
                    browseName: tag,
                    nodeId,
                    dataType: DataType[dataType],
                    accessLevel: access,
                    userAccessLevel: access,
                    minimumSamplingInterval: TICK_MS,
                });
                if (spec.access === "write") {
                    variable.bindVariable(
                        {
                            get: () => new Variant({ dataType, value: lane.values[tag] }),
                            set: (variant: Variant) => this.onWrite(lane, tag, variant.value),
                        },
                        true,
                    );
                } else {
                    variable.setValueFromSource({ dataType, value: lane.values[tag] }, StatusCodes.Good);
                }
                lane.variables.set(tag, variable);
            }
        }
        server.on("session_activated", (session, token) => {
            const channel = session.channel;
            this.activeSessions.set(session, {
                securityMode: channel ? MessageSecurityMode[channel.securityMode] : "unknown",
                securityPolicy: channel?.securityPolicy.split("#")[1] ?? "unknown",
                user: token instanceof UserNameIdentityToken ? (token.userName ?? undefined) : undefined,
            });
        });
        server.on("session_closed", (session) => this.activeSessions.delete(session));
        await server.start();
        this.actualPort = server.endpoints[0]?.port ?? port;
        this.server = server;
        this.emit("server", "up", this.endpointUrl);
    }
}

function isAnyAddress(host: string): boolean {
    return host === "0.0.0.0" || host === "::";
}

const LOOP_TAGS: Record<LoopName, PlcTag> = {
    entry: "Loop.Entry.Occupied",
    safety: "Loop.Safety.Occupied",
    exit: "Loop.Exit.Occupied",
};
