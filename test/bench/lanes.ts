import { mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { freePort, startSimulatorsFor } from "../../simulators/forConfig.ts";
import { parseConfig } from "../../src/config/load.ts";
import { Gate } from "../../src/gate.ts";
import { rawMqttLoopback, runPublishers } from "./ingest.ts";
import { latencySummary } from "./stats.ts";

const LANES = 16;
/** BENCH_LOAD=0 runs the lanes without the background MQTT load, to see the load's share of the latency. */
const LOAD_DEVICES = process.env.BENCH_LOAD === "0" ? 0 : 32;
/** The raw baseline's size: 32 publishers × 2,000 QoS 1 messages, a few seconds on a 2-core machine. */
const RAW_MESSAGES_PER_DEVICE = 2000;

/** A valid VNACCS declaration number per lane: 10 + sequence + (sequence mod 7) + 0. */
const declarationOf = (lane: number) => {
    const sequence = 40_000_000 + lane;
    return `10${sequence}${sequence % 7}0`;
};
const plateOf = (lane: number) => `${String(11 + lane).padStart(2, "0")}C-${String(100 + lane)}.${String(10 + lane)}`;

/**
 * 16 lanes with a PLC, a push camera and a scanner each, trucks back to back in every lane, while 32
 * MQTT devices publish at full rate (the ingest benchmark's load). Measures the decision latency — the
 * read that completes a passage received → the barrier command about to be written to the PLC — counts
 * mis-correlations (a passage holding another lane's or another truck's plate) and trucks per hour.
 */
export interface LanesBenchOptions {
    gateId?: string;
    dbPath?: string;
    /** More top-level YAML (e.g. a central section). */
    extraYaml?: string;
    seconds?: number;
    /**
     * The same run's baselines (default on): raw MQTT QoS 1 loopback on this machine before the gate starts,
     * and the lanes for a while without the background load before it starts.
     */
    baselines?: boolean;
}

export async function benchLanes(out: (line: string) => void, options: LanesBenchOptions = {}): Promise<object> {
    const seconds = options.seconds ?? Number(process.env.BENCH_SECONDS ?? 20);
    const baselines = options.baselines ?? true;
    // Raw baseline: how fast this machine loops MQTT QoS 1 through a bare aedes now (the ingest benchmark's).
    const raw = baselines ? await rawMqttLoopback(RAW_MESSAGES_PER_DEVICE) : undefined;
    const gateId = options.gateId ?? "BENCHLANES";
    const dir = join(tmpdir(), `gate-edge-bench-lanes-${process.pid}`);
    mkdirSync(dir, { recursive: true });
    const laneIds = Array.from({ length: LANES }, (_, i) => `L${i + 1}`);
    // One PLC per four lanes, as a gate's cabinets would be (and within an OPC UA server's session limit).
    const plcPorts: number[] = [];
    for (let first = 0; first < LANES; first += 4) plcPorts.push(await freePort());
    const plcEndpointOf = (lane: number) => `opc.tcp://127.0.0.1:${plcPorts[Math.floor(lane / 4)]}/UA/LanePLC`;
    const scannerPorts = await Promise.all(laneIds.map(() => freePort()));
    const lanesYaml = laneIds
        .map(
            (lane, i) => `  - id: ${lane}
    devices:
      - { id: cam-${i}, model: dahua-itsapi-anpr, auth: { username: cam-${i}, password: bench-camera-${i} } }
      - { id: scan-${i}, model: serial-barcode-scanner, address: "tcp://127.0.0.1:${scannerPorts[i]}" }
      - { id: plc-${i}, model: lane-plc-opcua, address: "${plcEndpointOf(i)}", plc: { lanePrefix: ${lane} } }`,
        )
        .join("\n");
    const loadYaml =
        LOAD_DEVICES === 0
            ? ""
            : `  - id: LOAD
    devices:
${Array.from({ length: LOAD_DEVICES }, (_, i) => `      - { id: load-${i}, model: eseal-mqtt-json, auth: { username: load-${i}, password: bench-load-${i} } }`).join("\n")}`;
    const config = parseConfig(`
gate: { id: ${gateId} }
storage: { path: ${JSON.stringify(options.dbPath ?? join(dir, "gate.db"))} }
${options.extraYaml ?? ""}
http: { host: 127.0.0.1, port: 0 }
push: { host: 127.0.0.1, port: 0 }
broker: { mode: embedded, host: 127.0.0.1, port: 0 }
ingest: { duplicateWindowMs: 100 }
rules: { requiredReads: [plate, declaration], identifySeconds: 10, exitSeconds: 20 }
lanes:
${lanesYaml}
${loadYaml}
`);
    // The background load's publishers are its MQTT devices: no seal reader stands behind them.
    const simulators = await startSimulatorsFor(config, {
        workDir: dir,
        include: (device) => device.address.transport !== "mqtt",
        plc: { travelMs: 300, autoCloseMs: 2000, watchdogTimeoutMs: 60_000 },
        scanner: { suffix: "CRLF" },
        chunking: "whole",
        passwords: new Map(laneIds.map((_, i) => [`cam-${i}`, `bench-camera-${i}`])),
    });
    const plcOf = (lane: number) => simulators.device(`plc-${lane}`).plc!.sim;
    const gate = new Gate({ config, log: pino({ level: "error" }) });
    const addresses = await gate.start();
    await simulators.connect(addresses);
    gate.clearance.importData(
        {
            version: "bench-1",
            declarations: laneIds.map((_, i) => ({
                number: declarationOf(i),
                type: "10",
                channel: "GREEN" as const,
                status: "CLEARED" as const,
                documentCheckDone: false,
                inspectionDone: false,
                declaredPlates: [plateOf(i)],
                containers: [],
                version: 1,
            })),
            watchList: [],
        },
        Date.now(),
    );
    gate.clearance.setVersion("bench-1", Date.now());
    const deadline = Date.now() + 60_000;
    while (!laneIds.every((_, i) => gate.runtime(`plc-${i}`)!.health().status === "online")) {
        if (Date.now() > deadline) throw new Error("bench: PLC sessions did not come up");
        await new Promise((resolve) => setTimeout(resolve, 100));
    }
    /** Where the decision latencies of the phase running now go. */
    let latencies: number[] = [];
    const quietLatencies = latencies;
    gate.bus.on("laneCommand", gate, (command) => {
        if (command.command === "open-barrier" && command.triggeredAt !== undefined)
            latencies.push(command.at - command.triggeredAt);
    });
    let trucks = 0;
    let turnedBack = 0;
    /** Trucks back to back in every lane until `stopAt`. */
    const trucksUntil = (stopAt: number) =>
        Promise.all(
            laneIds.map(async (lane, i) => {
                const scanner = simulators.device(`scan-${i}`).scanner!;
                const camera = simulators.device(`cam-${i}`).push!;
                while (Date.now() < stopAt) {
                    const passing = plcOf(i).truckPasses(lane, 10_000);
                    await camera.push({ text: plateOf(i), confidence: 0.95, withImages: false });
                    scanner.scan(declarationOf(i));
                    const result = await passing;
                    if (result === "passed") trucks++;
                    else turnedBack++;
                    await new Promise((resolve) => setTimeout(resolve, 300));
                }
            }),
        );
    const quietSeconds = baselines && LOAD_DEVICES > 0 ? Math.max(5, Math.round(seconds / 2)) : 0;
    if (quietSeconds > 0) {
        out(`lanes benchmark: ${LANES} lanes, trucks back to back for ${quietSeconds} s without the background load`);
        await trucksUntil(Date.now() + quietSeconds * 1000);
        await gate.lanes.settled();
        latencies = [];
        trucks = 0;
        turnedBack = 0;
    }

    out(
        `lanes benchmark: ${LANES} lanes, trucks back to back for ${seconds} s, ${LOAD_DEVICES} MQTT devices at full rate`,
    );
    const load =
        LOAD_DEVICES === 0
            ? Promise.resolve({ acked: 0, seconds: 1 })
            : runPublishers({
                  url: addresses.mqtt!,
                  devices: Array.from({ length: LOAD_DEVICES }, (_, i) => ({
                      username: `load-${i}`,
                      password: `bench-load-${i}`,
                      topic: `gate/${gateId}/devices/load-${i}`,
                  })),
                  messagesPerDevice: 1_000_000,
                  window: 64,
                  durationMs: seconds * 1000 + 2000,
              });
    await trucksUntil(Date.now() + seconds * 1000);
    const loadResult = await load;
    await gate.lanes.settled();
    const passages = gate.passages.list({ limit: 100_000 });
    let misCorrelated = 0;
    for (const passage of passages) {
        const lane = laneIds.indexOf(passage.laneId);
        if (lane < 0) continue;
        const foreign = passage.plates.filter((plate) => plate !== plateOf(lane).replace(/[-.]/g, ""));
        if (foreign.length > 0 || passage.declarations.some((d) => d !== declarationOf(lane))) misCorrelated++;
    }
    const released = passages.filter((p) => p.decision === "RELEASE").length;
    await gate.stop();
    await simulators.stop();

    const { p50, p99, max } = latencySummary(latencies);
    const quiet = quietSeconds > 0 ? latencySummary(quietLatencies) : undefined;
    const loadPerSecond = loadResult.acked / loadResult.seconds;
    const perHour = (trucks / seconds) * 3600;
    out("");
    out("| measurement | value |");
    out("|---|---:|");
    out(`| decision latency p50 (read received → barrier command written), ms | ${p50} |`);
    out(`| decision latency p99, ms | ${p99} |`);
    out(`| decision latency max, ms | ${max} |`);
    out(`| samples | ${latencies.length} |`);
    out(`| trucks through (all lanes) | ${trucks} (${turnedBack} turned back) |`);
    out(`| trucks per hour, 16 lanes | ${Math.round(perHour)} |`);
    out(`| passages released / recorded | ${released} / ${passages.filter((p) => p.laneId !== "LOAD").length} |`);
    out(`| mis-correlated passages | ${misCorrelated} |`);
    out(`| background MQTT load committed | ${Math.round(loadPerSecond)} events/s |`);
    if (quiet)
        out(
            `| same run without the load: decision latency p50 / p99 / max, ms (${quietLatencies.length} samples) | ${quiet.p50} / ${quiet.p99} / ${quiet.max} |`,
        );
    if (raw)
        out(
            `| raw MQTT.js QoS 1 loopback on this machine, same run | ${Math.round(raw.perSecond)} messages/s (the load is ${((loadPerSecond / raw.perSecond) * 100).toFixed(0)} % of it) |`,
        );
    out("");
    out(
        `bars: p50 ≤ 10 ms ${p50 <= 10 ? "met" : "NOT met"}, p99 ≤ 50 ms ${p99 <= 50 ? "met" : "NOT met"}, zero mis-correlations ${misCorrelated === 0 ? "met" : "NOT met"}`,
    );
    return {
        benchmark: "lanes",
        at: new Date().toISOString(),
        node: process.version,
        lanes: LANES,
        seconds,
        latencyMs: { p50, p99, max, samples: latencies.length },
        trucks,
        turnedBack,
        trucksPerHour: perHour,
        misCorrelated,
        loadEventsPerSecond: loadPerSecond,
        ...(quiet && { quietLatencyMs: { ...quiet, samples: quietLatencies.length } }),
        ...(raw && { rawMqttLoopbackPerSecond: raw.perSecond }),
    };
}
