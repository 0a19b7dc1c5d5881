/**
 * Replay (`gate-edge simulate gate --replay FILE`): plays a recording (simulators/gate/record.ts) back
 * into a fresh gate on the bench, through the same transports the devices used, at the recorded pace
 * divided by the speed:
 *
 * - serial frames (field serial ports and TCP serial servers alike) are written, byte for byte, by a TCP
 *   serial server the bench gate connects to;
 * - MQTT payloads are published QoS 1 under the device's topic by a client logged in as the device;
 * - HTTP pushes are posted again with their path, Content-Type and body, with the device's credentials;
 * - ONVIF NotificationMessages are queued, as recorded, on the bench camera's PullPoint subscriptions
 *   (the gate fetches the bench camera's snapshot, not the field one);
 * - OPC UA: the lane's inputs (loops, e-stop, mode, drive faults) are set on the bench PLC, whose own
 *   logic then produces the outputs; the recorded outputs (barrier state and limits, lights, heartbeats,
 *   watchdog) are skipped — the bench PLC answers the bench gate's commands instead — and counted so.
 *
 * The bench config is generated from the recording's header (same gate id, devices, lanes, ingest and
 * rule settings) unless `--config` names one. Frames of devices the bench cannot serve are skipped and
 * counted with the reason. At speed > 1 the gate's own windows (duplicate window, settle time, timeouts)
 * are not compressed, so repeats may collapse differently than in the field.
 */
import { randomBytes } from "node:crypto";
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "pino";
import { BARRIER_STATES, PLC_MODES } from "../../devices/lane-plc-opcua.ts";
import { parseConfig } from "../../src/config/load.ts";
import type { GateConfig } from "../../src/config/types.ts";
import { errorMessage, GateError } from "../../src/core/errors.ts";
import { Gate } from "../../src/gate.ts";
import type { ClearanceSourceSpec } from "../central/feed.ts";
import { CentralSimulator } from "../central/server.ts";
import { ConfigSimulators, freePort, isLocalHost, type SimulatedDevice } from "../forConfig.ts";
import type { LoopName } from "../lane-plc.ts";
import { benchConfig, benchFromFile } from "./bench.ts";
import { GateObserver } from "./observer.ts";
import type { ProgressBar } from "./progress.ts";
import { frameBytes, type RecordedFrame, readRecording } from "./record.ts";
import { auditCentral, type CentralAudit } from "./report.ts";

export interface ReplayOptions {
    file: string;
    configFile?: string;
    /** What the bench central serves: a clearance file or a scenario file. */
    clearance?: ClearanceSourceSpec;
    centralDb?: string;
    speed?: number;
    workDir: string;
    log: Logger;
    progress?: ProgressBar;
    signal?: AbortSignal;
}

export interface ReplayReport {
    recording: {
        file: string;
        gateId: string;
        startedAt: string;
        durationMs: number;
        frames: number;
        complete: boolean;
    };
    config: string;
    speed: number;
    wallMs: number;
    workDir: string;
    /** Frames played back, by device. */
    replayed: Record<string, number>;
    /** Frames not played back, by reason. */
    skipped: Record<string, number>;
    /** Frames played back that the device side could not deliver (no ONVIF subscription, an HTTP error). */
    undelivered: Record<string, number>;
    /** Readings the recording gate made (from the recording's end line) and the bench gate made. */
    recordedReadings: Record<string, Record<string, number>> | null;
    readings: Record<string, Record<string, number>>;
    /** Devices whose readings differ from the recording's, with both counts. */
    readingDifferences: string[];
    passages: { passageId: string; lane: string; decision: string | null; reasons: string[] }[];
    central: CentralAudit | null;
}

const PLC_INPUT_LOOPS: Readonly<Record<string, LoopName>> = {
    "Loop.Entry.Occupied": "entry",
    "Loop.Safety.Occupied": "safety",
    "Loop.Exit.Occupied": "exit",
};

const TOKEN_ENV = "GATE_REPLAY_CENTRAL_TOKEN";

export async function replayRecording(options: ReplayOptions): Promise<ReplayReport> {
    const { log, workDir } = options;
    const speed = options.speed ?? 1;
    if (!(speed > 0)) throw new GateError("SIMULATOR_USAGE", `speed must be > 0, got ${speed}`);
    const recording = await readRecording(options.file);
    const header = recording.header;
    const started = performance.now();

    const token = randomBytes(18).toString("base64url");
    let config: GateConfig;
    let passwords: Map<string, string>;
    let centralPort: number;
    if (options.configFile) {
        const bench = benchFromFile(options.configFile, workDir);
        config = parseConfig(bench.yaml, { source: options.configFile });
        passwords = bench.passwords;
        const url = config.central.url ? new URL(config.central.url) : undefined;
        if (url?.protocol !== "http:" || !isLocalHost(url.hostname)) {
            throw new GateError("SIMULATOR_USAGE", `${options.configFile}: central.url must be http:// on 127.0.0.1`);
        }
        centralPort = Number(url.port || 80);
        process.env[config.central.tokenEnv] ??= token;
    } else {
        centralPort = await freePort();
        const bench = await benchConfig({
            gate: { id: header.gateId, name: `Replay of ${header.gateId} ${header.startedAt}` },
            workDir,
            lanes: header.lanes.map((lane) => ({
                id: lane.id,
                name: lane.name,
                direction: lane.direction,
                devices: header.devices
                    .filter((device) => device.laneId === lane.id)
                    .map((device) => ({
                        id: device.id,
                        model: device.model,
                        ...(device.role !== undefined && { role: device.role }),
                        ...(device.topic !== undefined && { topic: device.topic }),
                        ...(device.lanePrefix !== undefined && { lanePrefix: device.lanePrefix }),
                        ...(device.pollIntervalMs !== undefined && { pollIntervalMs: device.pollIntervalMs }),
                    })),
            })),
            central: { url: `http://127.0.0.1:${centralPort}`, tokenEnv: TOKEN_ENV },
            ingest: { ...header.ingest },
            rules: { ...header.rules },
            centralExtra: { clearancePollMs: 500, backoffBaseMs: 50, backoffMaxMs: 1000 },
        });
        config = parseConfig(bench.yaml, { source: "(generated from the recording)" });
        passwords = bench.passwords;
        process.env[TOKEN_ENV] = token;
    }
    const central = new CentralSimulator({
        port: centralPort,
        dbPath: options.centralDb ?? `${workDir}/central.db`,
        tokens: [process.env[config.central.tokenEnv] ?? token],
        clearance: options.clearance ? [options.clearance] : [],
        log: log.child({ component: "central-simulator" }),
    });
    const travelMs = barrierTravelMs(recording.frames);
    const bench = new ConfigSimulators(config, {
        passwords,
        mode: "replay",
        workDir,
        log: log.child({ component: "bench" }),
        // The bench PLC makes the barrier's states itself: let its boom travel as fast as the field one did.
        ...(travelMs !== undefined && { plc: { travelMs } }),
        sealHeartbeatMs: 30_000,
        push: { resend: { intervalMs: 500, max: 6 }, timeoutMs: 10_000 },
    });
    const gate = new Gate({ config, log: log.child({ component: "gate" }) });
    const observer = new GateObserver(gate);
    const replayed: Record<string, number> = {};
    const skipped: Record<string, number> = {};
    const undelivered: Record<string, number> = {};
    const count = (table: Record<string, number>, key: string) => {
        table[key] = (table[key] ?? 0) + 1;
    };
    try {
        await central.start();
        await bench.startDeviceSide();
        await gate.start();
        await bench.connect(gate.addresses);
        await waitLinks(gate, bench, options.clearance !== undefined, options.signal);
        const player = new Player(bench, count.bind(null, undelivered), log);
        const base = recording.frames[0]?.t ?? 0;
        const t0 = performance.now();
        const lastTagPlay = new Map<string, number>();
        let done = 0;
        for (const frame of recording.frames) {
            if (options.signal?.aborted) break;
            let wait = t0 + (frame.t - base) / speed - performance.now();
            // A PLC tag's two changes played closer than the gate's OPC UA sampling would reach it as one (or,
            // a loop's short pulse, as none): a player running late keeps them apart.
            if (frame.transport === "opcua") {
                const key = `${frame.device} ${frame.channel ?? ""}`;
                wait = Math.max(
                    wait,
                    (lastTagPlay.get(key) ?? Number.NEGATIVE_INFINITY) + MIN_TAG_GAP_MS - performance.now(),
                );
                if (wait > 1) await sleep(wait);
                lastTagPlay.set(key, performance.now());
            } else if (wait > 1) await sleep(wait);
            const why = player.play(frame);
            if (why === undefined) count(replayed, frame.device);
            else count(skipped, `${frame.device}: ${why}`);
            done++;
            options.progress?.update({
                done,
                total: recording.frames.length,
                matched: 0,
                heldUnderFault: 0,
                mismatched: 0,
                queues: {},
                faultsInjected: 0,
                faultsTotal: 0,
                unit: "frames",
            });
        }
        await player.drain();
        // Let the last frames become readings and decisions (settle windows, the lanes' timeouts).
        await settleReadings(observer, recording.end?.readings ?? null, {
            minMs: Math.max(1000, config.ingest.weightSettleMs + 500),
            signal: options.signal,
        });
        await gate.lanes.settled();
        const audit = config.central.url
            ? await auditCentral(gate, central, config.gate.id, {
                  timeoutMs: 30_000 + config.central.backoffMaxMs,
                  signal: options.signal,
              })
            : null;
        const readings = observer.readingCounts();
        const recordedReadings = recording.end?.readings ?? null;
        return {
            recording: {
                file: options.file,
                gateId: header.gateId,
                startedAt: header.startedAt,
                durationMs: Math.round((recording.frames[recording.frames.length - 1]?.t ?? 0) - base),
                frames: recording.frames.length,
                complete: recording.end !== undefined,
            },
            config: options.configFile ?? "generated from the recording",
            speed,
            wallMs: Math.round(performance.now() - started),
            workDir,
            replayed,
            skipped,
            undelivered,
            recordedReadings,
            readings,
            readingDifferences: recordedReadings ? compareReadings(recordedReadings, readings) : [],
            passages: [...observer.passages.values()].map((p) => ({
                passageId: p.passageId,
                lane: p.laneId,
                decision: p.decision ?? null,
                reasons: p.reasons,
            })),
            central: audit,
        };
    } finally {
        options.progress?.finish();
        observer.detach();
        await bench.stop();
        await gate.stop();
        await central.stop();
    }
}

/**
 * How long the recorded barrier took from "opening" to "open" (the median over the recording), so the
 * bench PLC's boom moves like the field one; undefined when the recording never saw one open.
 */
export function barrierTravelMs(frames: readonly RecordedFrame[]): number | undefined {
    const opening = new Map<string, number>();
    const travels: number[] = [];
    for (const frame of frames) {
        if (frame.transport !== "opcua" || frame.channel !== "Barrier.State" || frame.text === undefined) continue;
        const state = BARRIER_STATES[Number(frame.text.slice(frame.text.indexOf("=") + 1))];
        if (state === "opening") opening.set(frame.device, frame.t);
        else if (state === "open" && opening.has(frame.device)) {
            travels.push(frame.t - (opening.get(frame.device) ?? frame.t));
            opening.delete(frame.device);
        }
    }
    travels.sort((a, b) => a - b);
    const median = travels[Math.floor(travels.length / 2)];
    return median === undefined ? undefined : Math.max(50, Math.round(median));
}

/** "device kind: recorded N, replayed M" for every count that differs. */
/** Three of the gate's OPC UA sampling intervals (src/drivers/opcua.ts, 100 ms). */
const MIN_TAG_GAP_MS = 300;
/** How long the readings may stand still before the replay takes them as final, and the most it waits. */
const READINGS_QUIET_MS = 3_000;
const READINGS_MAX_WAIT_MS = 30_000;

/**
 * Waits, after the last frame was played, for the bench gate to turn it into readings: at least `minMs`
 * (the settle windows), then until the readings are the recording's (its PLC's barrier aside: the bench PLC
 * makes its own), or nothing new came for READINGS_QUIET_MS. A loaded machine delivers a PLC's last loop
 * change over OPC UA later than a fixed pause allowed, and the replay then reported a difference that was
 * only late.
 */
async function settleReadings(
    observer: GateObserver,
    recorded: Record<string, Record<string, number>> | null,
    options: { minMs: number; signal?: AbortSignal | undefined },
): Promise<void> {
    const start = performance.now();
    let last = JSON.stringify(observer.readingCounts());
    let changedAt = start;
    while (!options.signal?.aborted) {
        await sleep(100);
        const now = performance.now();
        const counts = observer.readingCounts();
        const text = JSON.stringify(counts);
        if (text !== last) {
            last = text;
            changedAt = now;
        }
        if (now - start < options.minMs) continue;
        const same = recorded !== null && compareReadings(recorded, counts).every((line) => / barrier: /.test(line));
        if (same || now - changedAt >= READINGS_QUIET_MS || now - start >= READINGS_MAX_WAIT_MS) return;
    }
}

export function compareReadings(
    recorded: Record<string, Record<string, number>>,
    replayed: Record<string, Record<string, number>>,
): string[] {
    const out: string[] = [];
    for (const device of [...new Set([...Object.keys(recorded), ...Object.keys(replayed)])].sort()) {
        const a = recorded[device] ?? {};
        const b = replayed[device] ?? {};
        for (const kind of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
            if ((a[kind] ?? 0) !== (b[kind] ?? 0)) {
                out.push(`${device} ${kind}: recorded ${a[kind] ?? 0}, replayed ${b[kind] ?? 0}`);
            }
        }
    }
    return out;
}

/** Every device the bench serves connected (as the gate sees it), and the clearance feed read once if served. */
async function waitLinks(gate: Gate, bench: ConfigSimulators, clearance: boolean, signal?: AbortSignal): Promise<void> {
    const deadline = performance.now() + 45_000;
    for (;;) {
        // A serial device is there once the gate holds the connection: with nothing played yet, a scale's
        // silence would make the gate call it offline, so its status says nothing before the first frame.
        const waiting = [...bench.devices.values()]
            .filter((entry) =>
                entry.skipped
                    ? false
                    : entry.link
                      ? !entry.link.connected
                      : gate.runtime(entry.device.id)?.health().status !== "online",
            )
            .map((entry) => entry.device.id);
        if (clearance && !gate.sync.status().downlink?.lastSuccessAt) waiting.push("the clearance feed");
        if (waiting.length === 0) return;
        if (signal?.aborted || performance.now() > deadline) {
            throw new GateError("BENCH_NOT_READY", `still waiting for ${waiting.join(", ")}`);
        }
        await sleep(100);
    }
}

/** Plays single frames into the bench; sends that take time (MQTT, HTTP) keep their order per device. */
class Player {
    private readonly chains = new Map<string, Promise<void>>();
    private readonly faultCodes = new Map<string, number>();

    constructor(
        private readonly bench: ConfigSimulators,
        private readonly undelivered: (key: string) => void,
        private readonly log: Logger,
    ) {}

    /** Plays the frame; returns why it was skipped, or undefined. */
    play(frame: RecordedFrame): string | undefined {
        const entry = this.bench.devices.get(frame.device);
        if (!entry) return "device not in the bench config";
        if (entry.skipped) return entry.skipped;
        const bytes = frameBytes(frame);
        const address = entry.device.address;
        switch (frame.transport) {
            case "serial": {
                if (!entry.link) return "no TCP serial server for it";
                entry.link.write(bytes);
                return undefined;
            }
            case "mqtt": {
                const client = entry.mqtt;
                if (!client || address.transport !== "mqtt") return "no MQTT client for it";
                const topic = frame.channel ? `${address.topic}/${frame.channel}` : address.topic;
                this.chain(frame.device, async () => {
                    await client.publishAsync(topic, bytes, { qos: 1 });
                });
                return undefined;
            }
            case "http-push": {
                const push = entry.push;
                if (!push || frame.channel === undefined) return "no push camera for it";
                const { channel: path, contentType = "application/octet-stream" } = frame;
                this.chain(frame.device, async () => {
                    const answer = await push.sendRaw(path, contentType, bytes);
                    if (answer.status !== 200) this.undelivered(`${frame.device}: HTTP ${answer.status}`);
                });
                return undefined;
            }
            case "onvif": {
                if (!entry.onvif) return "no ONVIF camera for it";
                if (entry.onvif.notify(bytes.toString("utf8")) === 0)
                    this.undelivered(`${frame.device}: no PullPoint subscription`);
                return undefined;
            }
            case "opcua":
                return this.plc(entry, frame.channel ?? "", bytes.toString("utf8"));
            default:
                return `transport ${frame.transport} cannot be replayed`;
        }
    }

    async drain(): Promise<void> {
        await Promise.allSettled([...this.chains.values()]);
    }

    private chain(deviceId: string, send: () => Promise<void>): void {
        const previous = this.chains.get(deviceId) ?? Promise.resolve();
        const next = previous.then(send).catch((err: unknown) => {
            this.undelivered(`${deviceId}: ${errorMessage(err)}`);
            this.log.warn({ deviceId, err: errorMessage(err) }, "replayed frame not delivered");
        });
        this.chains.set(deviceId, next);
    }

    private plc(entry: SimulatedDevice, tag: string, text: string): string | undefined {
        const plc = entry.plc;
        if (!plc) return "no lane PLC for it";
        let value: unknown;
        try {
            value = JSON.parse(text.slice(text.indexOf("=") + 1));
        } catch {
            return "OPC UA value is not JSON";
        }
        const loop = PLC_INPUT_LOOPS[tag];
        if (loop) {
            plc.sim.setLoop(plc.lane, loop, value === true);
            return undefined;
        }
        switch (tag) {
            case "EStop.Active":
                plc.sim.estop(plc.lane, value === true);
                return undefined;
            case "PLC.Mode": {
                const mode = PLC_MODES[Number(value)];
                if (!mode) return `PLC.Mode ${String(value)} is not a mode`;
                plc.sim.setMode(plc.lane, mode);
                return undefined;
            }
            case "Barrier.FaultCode":
                this.faultCodes.set(entry.device.id, Number(value));
                return undefined;
            case "Barrier.Fault":
                if (value === true) plc.sim.fault(plc.lane, this.faultCodes.get(entry.device.id) || 1);
                else plc.sim.clearFault(plc.lane);
                return undefined;
            default:
                return "PLC output (barrier, limits, lights, heartbeats): the bench PLC makes its own";
        }
    }
}
