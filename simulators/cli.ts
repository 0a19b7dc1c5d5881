/**
 * `gate-edge simulate <kind> ...`: a device simulator a technician runs to test a lane with no hardware, or
 * the central clearance system (`central`) to test the gate's sync. Prints one line per thing it does and
 * runs until SIGINT/SIGTERM (or the given AbortSignal), then stops cleanly. The main CLI hands over the kind
 * and the rest of argv; options are parsed here.
 *
 * Exit codes: 0 stopped cleanly (or --help), 1 the simulator failed at run time (socat missing, port in
 * use, broker refused the credentials), 2 bad arguments (the message lists the valid options and models).
 */
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { BARRIER_STATES, LIGHT_CODES, PLC_MODES } from "../devices/lane-plc-opcua.ts";
import type { SerialDefaults } from "../devices/types.ts";
import { errorMessage, GateError, isGateError } from "../src/core/errors.ts";
import type { SealValues } from "../src/core/events.ts";
import { describeFault, FAULT_TEXT_HELP, type FaultSpec, parseFaultText } from "./central/faults.ts";
import type { ClearanceSourceSpec } from "./central/feed.ts";
import { CentralSimulator, type CentralTlsOptions } from "./central/server.ts";
import { SealReaderSimulator } from "./eseal.ts";
import { Jt701Simulator } from "./jt701.ts";
import { modelIds, resolveModel } from "./models.ts";
import { OnvifCameraSimulator } from "./onvif-camera.ts";
import { type PushCameraModelId, PushCameraSimulator } from "./push-camera.ts";
import { type Rng, seededRng } from "./random.ts";
import { ScaleSimulator } from "./scale.ts";
import { ScannerSimulator, type ScannerSuffix } from "./scanner.ts";
import { type ByteLink, CHUNKINGS, type Chunking, type LinkEvent, PtyPair, TcpSerialServer } from "./transport.ts";

export interface SimulateIo {
    stdout: { write(text: string): unknown };
    stderr: { write(text: string): unknown };
    /** Stops the simulator when aborted. Without it, SIGINT and SIGTERM do. */
    signal?: AbortSignal;
}

export const SIMULATOR_KINDS = [
    "scale",
    "scanner",
    "eseal",
    "jt701",
    "hik-camera",
    "dahua-camera",
    "lane-plc",
    "onvif-camera",
    "central",
    "gate",
] as const;
export type SimulatorKind = (typeof SIMULATOR_KINDS)[number];

type Say = (line: string) => void;

/** What parsing produced: usage text to print, or a simulator run. */
type Parsed = { help: string } | { run: (signal: AbortSignal, say: Say) => Promise<void> };

/** Runs `gate-edge simulate <kind> ...argv`. Never throws; returns the exit code. */
export async function runSimulateCommand(kind: string, argv: string[], io: SimulateIo): Promise<number> {
    if (kind === "gate") {
        // A whole gate is not one simulator: it has its own report and exit codes (simulators/gate/cli.ts).
        const { runGateCommand } = await import("./gate/cli.ts");
        return runGateCommand(argv, io);
    }
    let parsed: Parsed;
    try {
        parsed = parseCommand(kind, argv);
    } catch (err) {
        io.stderr.write(`gate-edge simulate: ${errorMessage(err)}\n`);
        if (isGateError(err) && err.details.length > 0) io.stderr.write(`${err.details.join("\n")}\n`);
        return 2;
    }
    if ("help" in parsed) {
        io.stdout.write(parsed.help);
        return 0;
    }
    const { signal, release } = stopSignal(io.signal);
    try {
        await parsed.run(signal, (line) => io.stdout.write(`${line}\n`));
        return 0;
    } catch (err) {
        io.stderr.write(`gate-edge simulate ${kind}: ${errorMessage(err)}\n`);
        return 1;
    } finally {
        release();
    }
}

/** The usage text of one kind, or of all kinds when kind is undefined. */
export function simulateUsage(kind?: SimulatorKind): string {
    if (kind === "scale") return scaleUsage();
    if (kind === "scanner") return scannerUsage();
    if (kind === "eseal") return esealUsage();
    if (kind === "jt701") return jt701Usage();
    if (kind === "lane-plc") return lanePlcUsage();
    if (kind === "onvif-camera") return onvifCameraUsage();
    if (kind === "central") return centralUsage();
    if (kind === "gate") return gateUsageLine();
    if (kind === "hik-camera" || kind === "dahua-camera") return pushCameraUsage(kind);
    return [
        `Usage: gate-edge simulate <${SIMULATOR_KINDS.join("|")}> [options]`,
        "",
        scaleUsage(),
        scannerUsage(),
        esealUsage(),
        jt701Usage(),
        pushCameraUsage("hik-camera"),
        pushCameraUsage("dahua-camera"),
        lanePlcUsage(),
        onvifCameraUsage(),
        centralUsage(),
        gateUsageLine(),
        "Durations: 500ms, 20s, 2m, 1h (a bare number is seconds). Stop with Ctrl-C.",
        "",
    ].join("\n");
}

function parseCommand(kind: string, argv: string[]): Parsed {
    switch (kind) {
        case "scale":
            return parseScale(argv);
        case "scanner":
            return parseScanner(argv);
        case "eseal":
            return parseEseal(argv);
        case "jt701":
            return parseJt701(argv);
        case "hik-camera":
        case "dahua-camera":
            return parsePushCamera(kind, argv);
        case "lane-plc":
            return parseLanePlc(argv);
        case "onvif-camera":
            return parseOnvifCamera(argv);
        case "central":
            return parseCentral(argv);
        case "help":
        case "--help":
        case "-h":
            return { help: simulateUsage() };
        default:
            throw usage(
                `unknown simulator ${JSON.stringify(kind)}; valid: ${SIMULATOR_KINDS.join(", ")}`,
                simulateUsage(),
            );
    }
}

// ---------------------------------------------------------------------------------------------------
// scale

const LINK_OPTIONS = {
    tcp: { type: "string" },
    pty: { type: "string" },
    chunking: { type: "string" },
    seed: { type: "string" },
    help: { type: "boolean", short: "h" },
} as const;

const SCALE_OPTIONS = {
    ...LINK_OPTIONS,
    model: { type: "string" },
    truck: { type: "string" },
    every: { type: "string" },
    stay: { type: "string" },
    ramp: { type: "string" },
    rate: { type: "string" },
    division: { type: "string" },
    capacity: { type: "string" },
    "corrupt-every": { type: "string" },
} as const;

function scaleUsage(): string {
    return [
        "gate-edge simulate scale --model <id> (--tcp <host:port> | --pty <deviceLink:hostLink>) [options]",
        `  --model <id>           scale model: ${listOrNone(modelIds("weight"))}`,
        "  --tcp <host:port>      serve like a Moxa NPort TCP server (one client at a time), e.g. 127.0.0.1:4001",
        "  --pty <device:host>    make a PTY pair with socat; gate-edge opens the host link, e.g. /tmp/ttyScaleDevice:/tmp/ttyScale",
        `  --chunking <mode>      how TCP segments cut frames: ${CHUNKINGS.join(" | ")} (default whole)`,
        "  --truck <kg>           gross weight of the simulated truck (none: empty deck)",
        "  --every <duration>     a truck drives on every <duration>, stays, drives off (default: once, stays)",
        "  --stay <duration>      time a truck stays on the deck (default 8s)",
        "  --ramp <duration>      time for a truck to drive on (default 4s; real trucks 3-8s)",
        "  --rate <hz>            frames per second of continuous models (default 10)",
        "  --division <kg>        display division (default 10)",
        "  --capacity <kg>        max capacity; above Max + 9d the indicator reports overload (default 80000)",
        "  --corrupt-every <n>    every nth weight frame is corrupt (bad checksum)",
        "  --seed <n>             repeatable axle loads, bounces and chunk sizes",
        "",
    ].join("\n");
}

function parseScale(argv: string[]): Parsed {
    const values = parse(argv, SCALE_OPTIONS, scaleUsage());
    if (values.help) return { help: scaleUsage() };
    if (values.model === undefined) throw usage("--model is required", scaleUsage());
    const model = resolveModelOrUsage("weight", values.model, scaleUsage());
    const rng = seedOption(values.seed);
    const truckKg = optionalNumber("--truck", values.truck, { min: 0 });
    const everyMs = optionalDuration("--every", values.every);
    const stayMs = optionalDuration("--stay", values.stay) ?? 8000;
    const rampMs = optionalDuration("--ramp", values.ramp) ?? 4000;
    const rateHz = optionalNumber("--rate", values.rate, { min: 0.1, max: 100 }) ?? 10;
    const divisionKg = optionalNumber("--division", values.division, { min: 0.001 }) ?? 10;
    const capacityKg = optionalNumber("--capacity", values.capacity, { min: 1 }) ?? 80_000;
    const corruptEvery = optionalNumber("--corrupt-every", values["corrupt-every"], { min: 1, integer: true });
    if (everyMs !== undefined && truckKg === undefined) throw usage("--every needs --truck <kg>", scaleUsage());
    const makeLink = linkOption(values, model.serialDefaults, rng, scaleUsage());

    return {
        run: async (signal, say) => {
            const link = makeLink();
            const sim = new ScaleSimulator({ model, link, rateHz, divisionKg, capacityKg, rng, corruptEvery });
            const tell: Say = (line) => say(`scale ${model.model} on ${link.description}: ${line}`);
            sim.on("link", (event) => tell(describeLinkEvent(event)));
            await sim.start();
            tell(
                model.mode === "continuous"
                    ? `streaming ${rateHz} frames/s, division ${divisionKg} kg`
                    : "answering host commands",
            );
            if (corruptEvery !== undefined) tell(`every ${ordinal(corruptEvery)} weight frame is corrupt`);
            const trucks =
                truckKg === undefined
                    ? Promise.resolve()
                    : truckLoop(sim, { truckKg, everyMs, stayMs, rampMs }, signal, tell);
            await untilAborted(signal);
            await sim.stop();
            await trucks;
            tell(`stopped after ${sim.framesSent} frames`);
        },
    };
}

async function truckLoop(
    sim: ScaleSimulator,
    plan: { truckKg: number; everyMs: number | undefined; stayMs: number; rampMs: number },
    signal: AbortSignal,
    tell: Say,
): Promise<void> {
    try {
        for (;;) {
            const began = Date.now();
            tell(`truck driving on, ${plan.truckKg} kg`);
            const kg = await sim.driveOn(plan.truckKg, { rampMs: plan.rampMs });
            tell(`truck on, ${kg} kg stable`);
            if (plan.everyMs === undefined) return;
            await sleep(plan.stayMs, undefined, { signal });
            tell("truck driving off");
            await sim.driveOff();
            tell(`deck empty, ${sim.state.kg} kg stable`);
            // The next truck comes `every` after the previous one arrived, or at once if this one took longer.
            await sleep(Math.max(0, plan.everyMs - (Date.now() - began)), undefined, { signal });
        }
    } catch (err) {
        // Stopping cancels the pending sleep or drive; anything else is worth telling the technician.
        if (!signal.aborted) tell(`truck script failed: ${errorMessage(err)}`);
    }
}

// ---------------------------------------------------------------------------------------------------
// scanner

const SCANNER_OPTIONS = {
    ...LINK_OPTIONS,
    model: { type: "string" },
    scan: { type: "string" },
    every: { type: "string" },
    suffix: { type: "string" },
    aim: { type: "string" },
    duplicates: { type: "string" },
    "partial-every": { type: "string" },
} as const;

const DEFAULT_SCANNER_MODEL = "serial-barcode-scanner";

function scannerUsage(): string {
    return [
        "gate-edge simulate scanner (--tcp <host:port> | --pty <deviceLink:hostLink>) --scan <payload,...> [options]",
        `  --model <id>           scanner model: ${listOrNone(modelIds("scan"))} (default ${DEFAULT_SCANNER_MODEL})`,
        "  --tcp, --pty, --chunking, --seed   as for scale",
        "  --scan <list>          payloads scanned in turn, comma-separated, e.g. 101234567820,CSQU3054383",
        "  --every <duration>     time between scans (default 10s; the first scan comes after one interval)",
        "  --suffix <CRLF|CR>     postamble after each read (default CRLF)",
        "  --aim <prefix>         AIM symbology identifier before the data, e.g. ]Q1 (QR) or ]C0 (Code 128)",
        "  --duplicates <n>       each scan is read n times, 150 ms apart (default 1)",
        "  --partial-every <n>    every nth scan is first cut off, then read whole",
        "",
    ].join("\n");
}

function parseScanner(argv: string[]): Parsed {
    const values = parse(argv, SCANNER_OPTIONS, scannerUsage());
    if (values.help) return { help: scannerUsage() };
    const model = resolveModelOrUsage("scan", values.model ?? DEFAULT_SCANNER_MODEL, scannerUsage());
    const rng = seedOption(values.seed);
    if (values.scan === undefined) throw usage("--scan <payload,...> is required", scannerUsage());
    const payloads = values.scan.split(",").filter((payload) => payload !== "");
    if (payloads.length === 0) throw usage("--scan needs at least one payload", scannerUsage());
    const everyMs = optionalDuration("--every", values.every) ?? 10_000;
    const suffix = (values.suffix ?? "CRLF").toUpperCase();
    if (suffix !== "CRLF" && suffix !== "CR")
        throw usage(`--suffix must be CRLF or CR, got ${values.suffix}`, scannerUsage());
    const duplicates = optionalNumber("--duplicates", values.duplicates, { min: 1, integer: true }) ?? 1;
    const partialEvery = optionalNumber("--partial-every", values["partial-every"], { min: 1, integer: true });
    const aimPrefix = values.aim;
    const makeLink = linkOption(values, model.serialDefaults, rng, scannerUsage());

    return {
        run: async (signal, say) => {
            const link = makeLink();
            const sim = new ScannerSimulator({ model, link, suffix: suffix as ScannerSuffix, aimPrefix });
            const tell: Say = (line) => say(`scanner ${model.model} on ${link.description}: ${line}`);
            sim.on("link", (event) => tell(describeLinkEvent(event)));
            await sim.start();
            tell(`scanning ${payloads.length} payload(s) every ${formatMs(everyMs)}, suffix ${suffix}`);
            const script = (async () => {
                try {
                    for (let i = 0; ; i++) {
                        await sleep(everyMs, undefined, { signal });
                        const payload = payloads[i % payloads.length] ?? "";
                        if (partialEvery !== undefined && (i + 1) % partialEvery === 0) {
                            tell(`cut-off read of ${payload}`);
                            await sim.partial(payload);
                            tell(`scanned ${payload}`);
                        } else if (duplicates > 1) {
                            await sim.scanDuplicate(payload, duplicates);
                            tell(`scanned ${payload} x${duplicates}`);
                        } else {
                            sim.scan(payload);
                            tell(`scanned ${payload}`);
                        }
                    }
                } catch (err) {
                    if (!signal.aborted) tell(`scan script failed: ${errorMessage(err)}`);
                }
            })();
            await untilAborted(signal);
            await sim.stop();
            await script;
            tell(`stopped after ${sim.scans} scans`);
        },
    };
}

// ---------------------------------------------------------------------------------------------------
// eseal

const ESEAL_OPTIONS = {
    model: { type: "string" },
    broker: { type: "string" },
    username: { type: "string" },
    password: { type: "string" },
    "topic-prefix": { type: "string" },
    "reader-id": { type: "string" },
    seal: { type: "string" },
    type: { type: "string" },
    battery: { type: "string" },
    every: { type: "string" },
    heartbeat: { type: "string" },
    "tamper-after": { type: "string" },
    "low-battery-after": { type: "string" },
    "rf-loss-after": { type: "string" },
    "rf-loss-for": { type: "string" },
    seed: { type: "string" },
    help: { type: "boolean", short: "h" },
} as const;

const DEFAULT_SEAL_MODEL = "eseal-mqtt-json";
const SEAL_TYPES: readonly SealValues["type"][] = ["ISO18185", "GPS", "OTHER"];

function esealUsage(): string {
    return [
        "gate-edge simulate eseal --broker <url> --topic-prefix <topic> --seal <id,...> [options]",
        `  --model <id>               seal reader model: ${listOrNone(modelIds("seal"))} (default ${DEFAULT_SEAL_MODEL})`,
        "  --broker <url>             MQTT broker, e.g. mqtt://127.0.0.1:1883",
        "  --username <name>          --password <secret>   the reader's broker credentials",
        "  --topic-prefix <topic>     the reader's topic, e.g. gate/HN01/devices/seal-l1",
        "  --reader-id <id>           reader id in messages (default: last level of the topic prefix)",
        "  --seal <list>              seal ids heard, comma-separated, e.g. VNC-000123",
        `  --type <type>              seal type: ${SEAL_TYPES.join(" | ")} (default GPS)`,
        "  --battery <pct>            battery charge reported (default 90)",
        "  --every <duration>         every seal is read again every <duration> (default 30s)",
        "  --heartbeat <duration>     reader heartbeat period (default 30s)",
        "  --tamper-after <duration>  the first seal's rope is cut after <duration>",
        "  --low-battery-after <duration>  the first seal reports a flat battery after <duration>",
        "  --rf-loss-after <duration> the radio link drops after <duration> ...",
        "  --rf-loss-for <duration>   ... for this long (default 20s)",
        "",
    ].join("\n");
}

function parseEseal(argv: string[]): Parsed {
    const values = parse(argv, ESEAL_OPTIONS, esealUsage());
    if (values.help) return { help: esealUsage() };
    const model = resolveModelOrUsage("seal", values.model ?? DEFAULT_SEAL_MODEL, esealUsage());
    const brokerUrl = values.broker;
    if (brokerUrl === undefined) throw usage("--broker <url> is required", esealUsage());
    if (!/^(mqtts?|wss?|tcp|ssl):\/\//.test(brokerUrl)) {
        throw usage(`--broker must be a URL such as mqtt://127.0.0.1:1883, got ${brokerUrl}`, esealUsage());
    }
    const topicPrefix = values["topic-prefix"];
    if (topicPrefix === undefined) throw usage("--topic-prefix <topic> is required", esealUsage());
    const readerId = values["reader-id"] ?? topicPrefix.split("/").at(-1) ?? topicPrefix;
    if (values.seal === undefined) throw usage("--seal <id,...> is required", esealUsage());
    const sealIds = values.seal.split(",").filter((id) => id !== "");
    if (sealIds.length === 0) throw usage("--seal needs at least one seal id", esealUsage());
    const type = (values.type ?? "GPS").toUpperCase() as SealValues["type"];
    if (!SEAL_TYPES.includes(type)) throw usage(`--type must be one of ${SEAL_TYPES.join(", ")}`, esealUsage());
    const batteryPct = optionalNumber("--battery", values.battery, { min: 0, max: 100 }) ?? 90;
    const everyMs = optionalDuration("--every", values.every) ?? 30_000;
    const heartbeatMs = optionalDuration("--heartbeat", values.heartbeat) ?? 30_000;
    const tamperAfterMs = optionalDuration("--tamper-after", values["tamper-after"]);
    const lowBatteryAfterMs = optionalDuration("--low-battery-after", values["low-battery-after"]);
    const rfLossAfterMs = optionalDuration("--rf-loss-after", values["rf-loss-after"]);
    const rfLossForMs = optionalDuration("--rf-loss-for", values["rf-loss-for"]) ?? 20_000;
    const rng = seedOption(values.seed);
    const firstSeal = sealIds[0] ?? "";

    return {
        run: async (signal, say) => {
            const sim = new SealReaderSimulator({
                model,
                brokerUrl,
                username: values.username,
                password: values.password,
                topicPrefix,
                readerId,
                heartbeatMs,
                rng,
            });
            const tell: Say = (line) => say(`eseal ${model.model} on ${brokerUrl} ${topicPrefix}: ${line}`);
            let lastError = "";
            sim.on("connected", () => {
                lastError = "";
                tell("connected");
            });
            sim.on("offline", () => tell("broker offline; reconnecting"));
            sim.on("connectionError", (err) => {
                // A broker that is down fails every retry the same way; say it once, not every 2 s.
                if (err.message !== lastError) tell(`connection error: ${err.message}`);
                lastError = err.message;
            });
            sim.on("publishError", (err, message) => tell(`publish of ${message.msg} failed: ${err.message}`));
            sim.on("published", (_topic, message) => {
                if (message.msg === "heartbeat") tell("heartbeat");
            });
            sim.on("rf", (state) =>
                tell(state === "lost" ? `radio link lost for ${formatMs(rfLossForMs)}` : "radio link back"),
            );

            const stopping = untilAborted(signal).then(() => sim.stop());
            try {
                await sim.start();
            } catch (err) {
                await stopping.catch(() => undefined);
                if (signal.aborted && isGateError(err, "DRIVER_CANCELED")) {
                    tell("stopped before the broker answered");
                    return;
                }
                throw err;
            }
            const report = (what: string, done: Promise<boolean>) =>
                done.then(
                    (acked) => tell(acked ? `${what} acked` : `${what} lost (no radio link)`),
                    (err) => {
                        if (!signal.aborted) tell(`${what} failed: ${errorMessage(err)}`);
                    },
                );
            const timers: NodeJS.Timeout[] = [];
            for (const sealId of sealIds) {
                void report(`read ${sealId} SEALED`, sim.read({ sealId, type, status: "SEALED", batteryPct }));
            }
            timers.push(
                setInterval(() => {
                    for (const sealId of sealIds) void report(`read ${sealId}`, sim.reread(sealId));
                }, everyMs),
            );
            if (tamperAfterMs !== undefined) {
                timers.push(
                    setTimeout(
                        () => void report(`${firstSeal} TAMPERED (ROPE_CUT)`, sim.tamper(firstSeal)),
                        tamperAfterMs,
                    ),
                );
            }
            if (lowBatteryAfterMs !== undefined) {
                timers.push(
                    setTimeout(
                        () => void report(`${firstSeal} battery low`, sim.lowBattery(firstSeal)),
                        lowBatteryAfterMs,
                    ),
                );
            }
            if (rfLossAfterMs !== undefined) {
                timers.push(setTimeout(() => sim.rfLoss(rfLossForMs), rfLossAfterMs));
            }
            await stopping;
            for (const timer of timers) clearTimeout(timer);
            tell(`stopped after ${sim.published} acknowledged messages`);
        },
    };
}

// ---------------------------------------------------------------------------------------------------
// jt701: Jointech GPS e-locks dialling in to the gate's listener

const JT701_OPTIONS = {
    gate: { type: "string" },
    lock: { type: "string" },
    battery: { type: "string" },
    every: { type: "string" },
    "tamper-after": { type: "string" },
    help: { type: "boolean", short: "h" },
} as const;

function jt701Usage(): string {
    return [
        "gate-edge simulate jt701 --gate <host:port> --lock <id,...> [options]",
        "  JT701 e-locks, one TCP connection each, reporting binary position frames and (id,@JT) heartbeats",
        "  --gate <host:port>         the gate's tcp-listen address of the e-lock device, e.g. 127.0.0.1:5013",
        "  --lock <list>              10-digit lock ids, comma-separated, e.g. 7010000123",
        "  --battery <pct>            battery charge reported (default 90)",
        "  --every <duration>         every lock reports again every <duration> (default 30s)",
        "  --tamper-after <duration>  the first lock's rope is cut after <duration> (ROPE_CUT, TAMPERED)",
        "",
    ].join("\n");
}

function parseJt701(argv: string[]): Parsed {
    const values = parse(argv, JT701_OPTIONS, jt701Usage());
    if (values.help) return { help: jt701Usage() };
    if (values.gate === undefined) throw usage("--gate <host:port> is required", jt701Usage());
    const { host, port } = parseHostPort(values.gate, jt701Usage());
    const lockIds = (values.lock ?? "").split(",").filter((id) => id !== "");
    if (lockIds.length === 0) throw usage("--lock <id,...> needs at least one lock id", jt701Usage());
    const bad = lockIds.find((id) => !/^\d{10}$/.test(id));
    if (bad !== undefined) throw usage(`--lock ids are 10 digits, got ${bad}`, jt701Usage());
    const batteryPct = optionalNumber("--battery", values.battery, { min: 0, max: 100 }) ?? 90;
    const everyMs = optionalDuration("--every", values.every) ?? 30_000;
    const tamperAfterMs = optionalDuration("--tamper-after", values["tamper-after"]);
    const first = lockIds[0] ?? "";
    return {
        run: async (signal, say) => {
            const sim = new Jt701Simulator({ host, port, lockIds, batteryPct });
            const tell: Say = (line) => say(`jt701 → ${host}:${port}: ${line}`);
            await sim.start();
            tell(`${lockIds.length} lock(s) connected`);
            const reportAll = (): void => {
                for (const id of lockIds) {
                    sim.report(id);
                    sim.heartbeat(id);
                    tell(`${id} reported, ${sim.answers(id).length} answers so far`);
                }
            };
            reportAll();
            const timers: NodeJS.Timeout[] = [setInterval(reportAll, everyMs)];
            if (tamperAfterMs !== undefined) {
                timers.push(
                    setTimeout(() => {
                        sim.tamper(first);
                        tell(`${first} rope cut (ROPE_CUT)`);
                    }, tamperAfterMs),
                );
            }
            await untilAborted(signal);
            for (const timer of timers) clearTimeout(timer);
            await sim.stop();
            tell("stopped");
        },
    };
}

// ---------------------------------------------------------------------------------------------------
// hik-camera, dahua-camera: plate cameras pushing over HTTP

const PUSH_CAMERA_MODELS: Readonly<Record<"hik-camera" | "dahua-camera", PushCameraModelId>> = {
    "hik-camera": "hikvision-isapi-anpr",
    "dahua-camera": "dahua-itsapi-anpr",
};

const PUSH_CAMERA_OPTIONS = {
    url: { type: "string" },
    username: { type: "string" },
    password: { type: "string" },
    auth: { type: "string" },
    plate: { type: "string" },
    every: { type: "string" },
    confidence: { type: "string" },
    country: { type: "string" },
    "no-images": { type: "boolean" },
    "keep-alive": { type: "string" },
    "resend-every": { type: "string" },
    "resend-max": { type: "string" },
    help: { type: "boolean", short: "h" },
} as const;

function pushCameraUsage(kind: "hik-camera" | "dahua-camera"): string {
    const dahua = kind === "dahua-camera";
    return [
        `gate-edge simulate ${kind} --url <http://host:port> --plate <text,...> [options]`,
        `  pushes plate reads like a ${dahua ? 'Dahua ITSAPI camera (resends until {"Result":true})' : "Hikvision ISAPI camera (fire-and-forget)"}`,
        "  --url <url>                the gate's push receiver, e.g. http://127.0.0.1:8081",
        "  --username <name>          user configured for this camera on the gate",
        "  --password <secret>        its password",
        "  --auth digest|basic        how it logs in (default digest, answering the gate's challenge)",
        "  --plate <text,...>         plates read in turn, e.g. 29C12345,15R00123",
        "  --every <duration>         one read every <duration>, cycling the plates (default: each plate once, then exit)",
        "  --confidence <0-1>         reported confidence (default 0.95)",
        "  --country <code>           country code sent with the read, e.g. VN",
        "  --no-images                send no pictures",
        ...(dahua
            ? [
                  "  --keep-alive <duration>    KeepAlive heartbeat period while running (default 30s)",
                  "  --resend-every <duration>  resend an unanswered read after <duration> (default 3s)",
                  "  --resend-max <n>           at most <n> attempts per read (default 5)",
              ]
            : []),
        "",
    ].join("\n");
}

function parsePushCamera(kind: "hik-camera" | "dahua-camera", argv: string[]): Parsed {
    const usageText = pushCameraUsage(kind);
    const values = parse(argv, PUSH_CAMERA_OPTIONS, usageText);
    if (values.help) return { help: usageText };
    const dahua = kind === "dahua-camera";
    const url = values.url;
    if (url === undefined || !/^http:\/\/[^/\s]+\/?$/.test(url))
        throw usage(`--url must be http://host:port, got ${url ?? "(none)"}`, usageText);
    const plates = (values.plate ?? "").split(",").filter((p) => p.trim() !== "");
    if (plates.length === 0) throw usage("--plate <text,...> needs at least one plate", usageText);
    if ((values.username === undefined) !== (values.password === undefined))
        throw usage("give both --username and --password, or neither", usageText);
    const scheme = values.auth ?? "digest";
    if (scheme !== "digest" && scheme !== "basic") throw usage(`--auth is digest or basic, got ${scheme}`, usageText);
    if (!dahua) {
        for (const name of ["keep-alive", "resend-every", "resend-max"] as const) {
            if (values[name] !== undefined) throw usage(`--${name} applies to dahua-camera only`, usageText);
        }
    }
    const confidence = optionalNumber("--confidence", values.confidence, { min: 0, max: 1 }) ?? 0.95;
    const everyMs = optionalDuration("--every", values.every);
    const keepAliveMs = optionalDuration("--keep-alive", values["keep-alive"]) ?? 30_000;
    const resend = {
        intervalMs: optionalDuration("--resend-every", values["resend-every"]) ?? 3000,
        max: optionalNumber("--resend-max", values["resend-max"], { min: 1, integer: true }) ?? 5,
    };
    const model = PUSH_CAMERA_MODELS[kind];

    return {
        run: async (signal, say) => {
            const sim = new PushCameraSimulator({
                model,
                url,
                ...(values.username !== undefined ? { username: values.username, password: values.password } : {}),
                scheme,
                resend,
                onResend: ({ attempt, max, nextInMs, reason }) =>
                    tell(
                        `not delivered: ${reason}${/ECONNREFUSED/.test(reason) ? " (connection refused: is the gate's push receiver listening there?)" : ""}; ` +
                            `sending again in ${nextInMs / 1000} s (attempt ${attempt} of ${max})`,
                    ),
            });
            const tell: Say = (line) => say(`${kind} ${model} → ${url}: ${line}`);
            const answer = (a: { status: number; body: string; attempts: number }) =>
                `${a.status} ${a.body.replace(/\s+/g, " ").slice(0, 120)}${a.attempts > 1 ? ` (${a.attempts} attempts)` : ""}`;
            let next = 0;
            const pushOne = async () => {
                const text = plates[next % plates.length] ?? "";
                next++;
                try {
                    const result = await sim.push({
                        text,
                        confidence,
                        withImages: !values["no-images"],
                        ...(values.country !== undefined ? { countryCode: values.country } : {}),
                    });
                    tell(`push ${text} → ${answer(result)}`);
                } catch (err) {
                    if (!signal.aborted) tell(`push ${text} failed: ${errorMessage(err)}`);
                }
            };
            if (everyMs === undefined) {
                for (let i = 0; i < plates.length && !signal.aborted; i++) await pushOne();
                sim.stop();
                return;
            }
            const timers: NodeJS.Timeout[] = [setInterval(() => void pushOne(), everyMs)];
            if (dahua) {
                timers.push(
                    setInterval(() => {
                        sim.keepAlive().then(
                            (a) => tell(`keep-alive → ${answer(a)}`),
                            (err) => {
                                if (!signal.aborted) tell(`keep-alive failed: ${errorMessage(err)}`);
                            },
                        );
                    }, keepAliveMs),
                );
            }
            void pushOne();
            await untilAborted(signal);
            for (const timer of timers) clearInterval(timer);
            sim.stop();
            tell(`stopped after ${sim.sent} requests`);
        },
    };
}

// ---------------------------------------------------------------------------------------------------
// lane-plc: the lane PLC (barrier, loops, lights) as an OPC UA server

const LANE_PLC_OPTIONS = {
    host: { type: "string" },
    port: { type: "string" },
    secure: { type: "boolean" },
    user: { type: "string" },
    lanes: { type: "string" },
    travel: { type: "string" },
    watchdog: { type: "string" },
    "auto-close": { type: "string" },
    "truck-every": { type: "string" },
    pki: { type: "string" },
    seed: { type: "string" },
    help: { type: "boolean", short: "h" },
} as const;

function lanePlcUsage(): string {
    return [
        "gate-edge simulate lane-plc --port <port> --lanes <prefix,...> [options]",
        "  an OPC UA lane PLC (model lane-plc-opcua): barrier, loops, lights, e-stop, watchdog fail-safe",
        "  --host <address>           address to listen on (default 127.0.0.1; 0.0.0.0 = every interface)",
        "  --port <port>              OPC UA port (default 4840; 0 = any free port)",
        "  --secure                   require SignAndEncrypt with Basic256Sha256, as an S7-1500 with security on",
        "  --user <name:password>     require this user (anonymous sessions refused)",
        "  --lanes <list>             lane prefixes, comma-separated, e.g. L1,L2 (node ids ns=1;s=L1.Barrier.State)",
        "  --travel <duration>        boom travel time open or closed (default 2s; real booms 1.5-6s)",
        "  --watchdog <duration>      fail safe when gate-edge's heartbeat stops this long (default 3s)",
        "  --auto-close <duration>    an open barrier with no vehicle closes after this (default 20s)",
        "  --truck-every <duration>   a truck arrives at every lane every <duration> and passes once opened",
        "  --pki <dir>                the server's PKI folder (default data/pki/lane-plc-simulator)",
        "  --seed <n>                 repeatable truck timings",
        "",
    ].join("\n");
}

function parseLanePlc(argv: string[]): Parsed {
    const values = parse(argv, LANE_PLC_OPTIONS, lanePlcUsage());
    if (values.help) return { help: lanePlcUsage() };
    const port = optionalNumber("--port", values.port, { min: 0, max: 65_535, integer: true }) ?? 4840;
    if (values.lanes === undefined) throw usage("--lanes <prefix,...> is required", lanePlcUsage());
    const lanes = values.lanes.split(",").filter((lane) => lane !== "");
    if (lanes.length === 0 || lanes.some((lane) => !/^[A-Za-z0-9_-]{1,32}$/.test(lane))) {
        throw usage("--lanes must list 1-32 character prefixes (letters, digits, _ or -), e.g. L1,L2", lanePlcUsage());
    }
    const travelMs = optionalDuration("--travel", values.travel) ?? 2000;
    const watchdogTimeoutMs = optionalDuration("--watchdog", values.watchdog) ?? 3000;
    const autoCloseMs = optionalDuration("--auto-close", values["auto-close"]) ?? 20_000;
    const truckEveryMs = optionalDuration("--truck-every", values["truck-every"]);
    const pkiFolder = values.pki ?? "data/pki/lane-plc-simulator";
    const rng = seedOption(values.seed);
    const host = values.host ?? "127.0.0.1";
    const security = values.secure ? ("secure" as const) : ("none" as const);
    const colon = values.user?.indexOf(":") ?? -1;
    if (values.user !== undefined && (colon < 1 || colon === values.user.length - 1)) {
        throw usage("--user is name:password, e.g. gate-edge:secret-password", lanePlcUsage());
    }
    const user =
        values.user === undefined
            ? undefined
            : { username: values.user.slice(0, colon), password: values.user.slice(colon + 1) };

    return {
        run: async (signal, say) => {
            // node-opcua is large and prints its start-up notices when it loads: only the PLC needs it.
            const { LanePlcSimulator } = await import("./lane-plc.ts");
            const sim = new LanePlcSimulator({
                host,
                port,
                security,
                ...(user && { user }),
                lanes,
                pkiFolder,
                travelMs,
                watchdogTimeoutMs,
                autoCloseMs,
                rng,
            });
            const tell: Say = (line) => say(`lane-plc: ${line}`);
            sim.on("server", (state, url) => tell(state === "up" ? `serving ${url}` : "server down"));
            sim.on("change", (lane, tag, value) => {
                // The two heartbeats change every second; printing them would drown the state changes.
                if (tag === "PLC.Heartbeat" || tag === "Watchdog.Heartbeat") return;
                tell(`${lane} ${tag} = ${describePlcValue(tag, value)}`);
            });
            sim.on("failSafe", (lane, reason) =>
                tell(`${lane} FAIL-SAFE: ${reason}; lights red, barrier closed unless the safety loop is occupied`),
            );
            sim.on("watchdogRestored", (lane) => tell(`${lane} gate-edge heartbeat back`));
            sim.on("refused", (lane, command, reason) => tell(`${lane} ${command} refused: ${reason}`));
            await sim.start();
            const busy = new Set<string>();
            const timer =
                truckEveryMs === undefined
                    ? undefined
                    : setInterval(() => {
                          for (const lane of lanes) {
                              if (busy.has(lane)) continue;
                              busy.add(lane);
                              tell(`${lane} truck arrives`);
                              sim.truckPasses(lane, truckEveryMs).then(
                                  (outcome) => {
                                      busy.delete(lane);
                                      tell(`${lane} truck ${outcome}`);
                                  },
                                  (err: unknown) => {
                                      busy.delete(lane);
                                      if (!signal.aborted) tell(`${lane} truck script failed: ${errorMessage(err)}`);
                                  },
                              );
                          }
                      }, truckEveryMs);
            await untilAborted(signal);
            clearInterval(timer);
            await sim.stop();
            tell("stopped");
        },
    };
}

function describePlcValue(tag: string, value: boolean | number): string {
    if (tag === "Barrier.State") return BARRIER_STATES[value as number] ?? String(value);
    if (tag === "PLC.Mode") return PLC_MODES[value as number] ?? String(value);
    if (tag === "Light.Entry" || tag === "Light.Exit") {
        const color = Object.entries(LIGHT_CODES).find(([, code]) => code === value)?.[0];
        return color ?? String(value);
    }
    return String(value);
}

// ---------------------------------------------------------------------------------------------------
// onvif-camera

const ONVIF_CAMERA_OPTIONS = {
    host: { type: "string" },
    port: { type: "string" },
    username: { type: "string" },
    password: { type: "string" },
    plate: { type: "string" },
    country: { type: "string" },
    likelihood: { type: "string" },
    every: { type: "string" },
    "reboot-every": { type: "string" },
    "reboot-down": { type: "string" },
    "snapshot-auth": { type: "string" },
    image: { type: "boolean" },
    discovery: { type: "boolean" },
    help: { type: "boolean", short: "h" },
} as const;

function onvifCameraUsage(): string {
    return [
        "gate-edge simulate onvif-camera --port <n> --username <name> --password <secret> --plate <list> [options]",
        "  --host <addr>              address to listen on (default 127.0.0.1)",
        "  --port <n>                 HTTP port of the device service (0 = any free port), e.g. 8899",
        "  --username <name>          --password <secret>   WS-UsernameToken and snapshot credentials",
        "  --plate <list>             plates read in turn, comma-separated, e.g. 29C12345,15R00123",
        "  --country <code>           CountryCode sent with every plate (e.g. VN)",
        "  --likelihood <0-1>         Likelihood of every read (default 0.9)",
        "  --every <duration>         one plate event every <duration> (default 10s)",
        "  --reboot-every <duration>  the camera reboots every <duration>: port closed, subscriptions lost",
        "  --reboot-down <duration>   how long a reboot keeps the camera down (default 5s)",
        "  --snapshot-auth <mode>     digest | basic (default digest)",
        "  --image                    put the JPEG in the event as a base64 Image item too",
        "  --discovery                answer WS-Discovery probes on UDP 3702 (multicast joined on --host's interface)",
        "",
    ].join("\n");
}

function parseOnvifCamera(argv: string[]): Parsed {
    const values = parse(argv, ONVIF_CAMERA_OPTIONS, onvifCameraUsage());
    if (values.help) return { help: onvifCameraUsage() };
    const port = optionalNumber("--port", values.port, { min: 0, max: 65_535, integer: true });
    if (port === undefined) throw usage("--port <n> is required", onvifCameraUsage());
    if (values.username === undefined || values.password === undefined) {
        throw usage("--username and --password are required", onvifCameraUsage());
    }
    if (values.plate === undefined) throw usage("--plate <plate,...> is required", onvifCameraUsage());
    const plates = values.plate
        .split(",")
        .map((p) => p.trim())
        .filter((p) => p !== "");
    if (plates.length === 0) throw usage("--plate needs at least one plate", onvifCameraUsage());
    const likelihood = optionalNumber("--likelihood", values.likelihood, { min: 0, max: 1 }) ?? 0.9;
    const everyMs = optionalDuration("--every", values.every) ?? 10_000;
    const rebootEveryMs = optionalDuration("--reboot-every", values["reboot-every"]);
    const rebootDownMs = optionalDuration("--reboot-down", values["reboot-down"]) ?? 5000;
    const snapshotAuth = values["snapshot-auth"] ?? "digest";
    if (snapshotAuth !== "digest" && snapshotAuth !== "basic") {
        throw usage(`--snapshot-auth must be digest or basic, got ${snapshotAuth}`, onvifCameraUsage());
    }
    const { username, password } = values;

    return {
        run: async (signal, say) => {
            const sim = new OnvifCameraSimulator({
                host: values.host,
                port,
                username,
                password,
                snapshotAuth,
                discovery: values.discovery === true,
            });
            let tell: Say = (line) => say(`onvif-camera: ${line}`);
            sim.on("up", (bound) => {
                tell = (line) => say(`onvif-camera ${sim.host}:${bound}: ${line}`);
                tell(`ready, device service ${sim.deviceUrl}`);
            });
            sim.on("subscribed", (id) => tell(`pull point ${id} created`));
            sim.on("unsubscribed", (id) => tell(`pull point ${id} unsubscribed`));
            sim.on("expired", (id) => tell(`pull point ${id} expired`));
            sim.on("authFailed", (action, why) => tell(`refused ${action}: ${why}`));
            sim.on("probed", (address, probePort) => tell(`discovery: ProbeMatch sent to ${address}:${probePort}`));
            sim.on("rebooting", (downMs) => tell(`rebooting, down for ${formatMs(downMs)}`));
            await sim.start();
            let n = 0;
            const timers: NodeJS.Timeout[] = [];
            timers.push(
                setInterval(() => {
                    const text = plates[n++ % plates.length] ?? "";
                    const got = sim.plate({ text, countryCode: values.country, likelihood, image: values.image });
                    tell(`plate ${text} (likelihood ${likelihood}) queued on ${got} subscription(s)`);
                }, everyMs),
            );
            if (rebootEveryMs !== undefined) {
                timers.push(
                    setInterval(() => {
                        sim.reboot(rebootDownMs).then(
                            () => undefined,
                            (err: unknown) => tell(`reboot failed: ${errorMessage(err)}`),
                        );
                    }, rebootEveryMs),
                );
            }
            await untilAborted(signal);
            for (const timer of timers) clearInterval(timer);
            await sim.stop();
            tell(
                `stopped after ${sim.platesQueued} plates, ${sim.subscriptionsCreated} subscriptions, ${sim.pulls} pulls`,
            );
        },
    };
}

// ---------------------------------------------------------------------------------------------------
// central: the central clearance system (sync protocol v1)

const CENTRAL_OPTIONS = {
    host: { type: "string" },
    port: { type: "string" },
    db: { type: "string" },
    token: { type: "string", multiple: true },
    "token-env": { type: "string" },
    clearance: { type: "string", multiple: true },
    scenario: { type: "string", multiple: true },
    "tls-cert": { type: "string" },
    "tls-key": { type: "string" },
    "client-ca": { type: "string" },
    fault: { type: "string", multiple: true },
    latency: { type: "string" },
    seed: { type: "string" },
    help: { type: "boolean", short: "h" },
} as const;

const DEFAULT_CENTRAL_DB = "data/central-sim.db";

function centralUsage(): string {
    return [
        "gate-edge simulate central --port <n> (--token <secret> | --token-env <NAME>) [options]",
        "  the central clearance system: stores events exactly once by id, serves the clearance feed, injects faults",
        "  --host <addr>              address to listen on (default 127.0.0.1)",
        "  --port <n>                 port (0 = any free port), e.g. 8780",
        `  --db <file>                the simulator's SQLite store, kept across restarts (default ${DEFAULT_CENTRAL_DB})`,
        "  --token <secret>           an accepted bearer token (repeatable)",
        "  --token-env <NAME>         read the accepted token from environment variable NAME (keeps it out of ps)",
        "  --clearance <file>         serve a clearance file (config/clearance-demo.yaml format; repeatable)",
        "  --scenario <file>          serve the declarations of a scenario file (test/fixtures/scenario-100.yaml; repeatable)",
        "  --tls-cert <pem> --tls-key <pem>   serve HTTPS",
        "  --client-ca <pem>          with TLS: require gate client certificates signed by this CA (mutual TLS)",
        "  --latency <ms>             delay every API request by <ms> (e.g. 50, or 1s)",
        "  --fault <spec>             inject a fault (repeatable; tried in order, the first that fires decides):",
        ...FAULT_TEXT_HELP.map((line) => `      ${line}`),
        "                             e.g. --fault status:503:p=0.1 --fault rateLimit:retryAfter=2 --fault lostResponse:times=3",
        "  --seed <n>                 repeatable fault dice",
        "  Admin routes (simulator only, NO token needed; keep --host on loopback): GET /admin/stats?gate=ID,",
        "  GET|PUT /admin/faults (JSON array of fault specs), GET|PUT /admin/reject-rules ([{types?, ids?, laneIds?,",
        "  reason}]), POST /admin/clearance ({items, version?}).",
        "",
    ].join("\n");
}

function parseCentral(argv: string[]): Parsed {
    const values = parse(argv, CENTRAL_OPTIONS, centralUsage());
    if (values.help) return { help: centralUsage() };
    const port = optionalNumber("--port", values.port, { min: 0, max: 65_535, integer: true });
    if (port === undefined) throw usage("--port <n> is required", centralUsage());
    const tokens = [...(values.token ?? [])];
    const tokenEnv = values["token-env"];
    if (tokenEnv !== undefined) {
        const token = process.env[tokenEnv];
        if (token === undefined || token === "") {
            throw usage(`--token-env ${tokenEnv}: the environment variable is not set or empty`, centralUsage());
        }
        tokens.push(token);
    }
    if (tokens.length === 0 || tokens.some((token) => token === "")) {
        throw usage("give --token <secret> or --token-env <NAME> (a non-empty token)", centralUsage());
    }
    const clearance: ClearanceSourceSpec[] = [
        ...(values.clearance ?? []).map((file) => ({ file })),
        ...(values.scenario ?? []).map((scenario) => ({ scenario })),
    ];
    const certFile = values["tls-cert"];
    const keyFile = values["tls-key"];
    const clientCaFile = values["client-ca"];
    if ((certFile === undefined) !== (keyFile === undefined)) {
        throw usage("--tls-cert and --tls-key go together", centralUsage());
    }
    if (clientCaFile !== undefined && certFile === undefined) {
        throw usage("--client-ca needs --tls-cert and --tls-key", centralUsage());
    }
    const tls: CentralTlsOptions | undefined =
        certFile !== undefined && keyFile !== undefined
            ? { certFile, keyFile, ...(clientCaFile !== undefined && { clientCaFile, requireClientCert: true }) }
            : undefined;
    // parseFaultText's errors are usage errors already, with the fault forms as their details.
    const faults: FaultSpec[] = (values.fault ?? []).map((text) => parseFaultText(text));
    let latencyMs: number | undefined;
    if (values.latency !== undefined) {
        // A bare number is milliseconds here (the flag is --latency MS); with a unit it is a duration.
        latencyMs = /^\d+(\.\d+)?$/.test(values.latency) ? Number(values.latency) : parseDuration(values.latency);
        if (latencyMs === undefined) {
            throw usage(
                `--latency must be milliseconds or a duration such as 200ms, got ${values.latency}`,
                centralUsage(),
            );
        }
    }
    const rng = seedOption(values.seed);
    const dbPath = values.db ?? DEFAULT_CENTRAL_DB;

    return {
        run: async (signal, say) => {
            const sim = new CentralSimulator({
                host: values.host,
                port,
                dbPath,
                tokens,
                clearance,
                faults,
                latencyMs,
                tls,
                rng,
            });
            const tell: Say = (line) => say(`central: ${line}`);
            sim.on("clearance", (change) =>
                tell(
                    `clearance from ${change.origin}: ${change.added} item(s) added, ${change.skipped} already served; version ${change.version}`,
                ),
            );
            sim.on("batch", (batch) => {
                const reasons = batch.reasons.length > 0 ? ` — ${batch.reasons.join("; ")}` : "";
                tell(
                    `${batch.gateId}: batch of ${batch.events}: ${batch.accepted} accepted, ${batch.duplicate} duplicate, ` +
                        `${batch.rejected} rejected (${batch.ms.toFixed(1)} ms)${reasons}`,
                );
            });
            sim.on("fault", (fault) => tell(`fault ${fault.kind} injected on ${fault.route} of ${fault.gateId}`));
            sim.on("refused", (refusal) => tell(`refused ${refusal.status} ${refusal.route}: ${refusal.reason}`));
            const { url } = await sim.start();
            tell(`ready at ${url} (store ${sim.dbPath})`);
            tell(`events:    POST ${url}/api/v1/gates/<gateId>/events`);
            tell(`clearance: GET  ${url}/api/v1/gates/<gateId>/clearance`);
            tell(`admin (no token): ${url}/admin/stats?gate=<gateId>`);
            for (const fault of faults) tell(`fault armed: ${describeFault(fault)}`);
            if (latencyMs !== undefined) tell(`every API request delayed ${latencyMs} ms`);
            await untilAborted(signal);
            await sim.stop();
            tell("stopped");
        },
    };
}

// ---------------------------------------------------------------------------------------------------
// gate (simulators/gate/cli.ts has the options)

function gateUsageLine(): string {
    return [
        "gate-edge simulate gate (--scenario <file> | --replay <file>) [options]",
        "  a whole gate in one process: central simulator, the gate itself, a simulator behind every device;",
        "  trucks and faults from a scenario (config/scenarios/), or a recording played back; a report at the end",
        "  (gate-edge simulate gate --help lists the options)",
        "",
    ].join("\n");
}

// ---------------------------------------------------------------------------------------------------
// helpers

type OptionSpec = Record<string, { type: "string" | "boolean"; short?: string; multiple?: boolean }>;

/** parseArgs, strict, with its errors turned into usage errors that list the valid options. */
function parse<T extends OptionSpec>(argv: string[], options: T, usageText: string) {
    try {
        return parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values;
    } catch (err) {
        const valid = Object.keys(options)
            .map((name) => `--${name}`)
            .join(" ");
        throw usage(`${errorMessage(err)}; valid options: ${valid}`, usageText);
    }
}

function usage(message: string, usageText: string): GateError {
    return new GateError("SIMULATOR_USAGE", message, { details: [usageText] });
}

function resolveModelOrUsage<K extends "weight" | "scan" | "seal">(kind: K, id: string, usageText: string) {
    try {
        return resolveModel(kind, id);
    } catch (err) {
        throw usage(errorMessage(err), usageText);
    }
}

function linkOption(
    values: { tcp?: string; pty?: string; chunking?: string },
    serial: SerialDefaults,
    rng: Rng | undefined,
    usageText: string,
): () => ByteLink {
    if ((values.tcp === undefined) === (values.pty === undefined)) {
        throw usage("give exactly one of --tcp <host:port> or --pty <deviceLink:hostLink>", usageText);
    }
    const chunking = (values.chunking ?? "whole") as Chunking;
    if (!CHUNKINGS.includes(chunking)) {
        throw usage(`--chunking must be one of ${CHUNKINGS.join(", ")}, got ${values.chunking}`, usageText);
    }
    if (values.tcp !== undefined) {
        const { host, port } = parseHostPort(values.tcp, usageText);
        return () => new TcpSerialServer({ host, port, chunking, rng });
    }
    if (values.chunking !== undefined) throw usage("--chunking applies to --tcp only", usageText);
    const parts = (values.pty ?? "").split(":");
    const [deviceLink, hostLink] = parts;
    if (parts.length !== 2 || !deviceLink || !hostLink) {
        throw usage(`--pty must be <deviceLink>:<hostLink>, e.g. /tmp/ttyScaleDevice:/tmp/ttyScale`, usageText);
    }
    return () => new PtyPair({ deviceLink, hostLink, serial });
}

function parseHostPort(text: string, usageText: string): { host: string; port: number } {
    const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(text);
    const port = Number(match?.[3]);
    if (!match || port > 65_535)
        throw usage(`--tcp must be <host>:<port>, e.g. 127.0.0.1:4001, got ${text}`, usageText);
    return { host: match[1] ?? (match[2] || "127.0.0.1"), port };
}

function seedOption(seed: string | undefined): Rng | undefined {
    if (seed === undefined) return undefined;
    const value = optionalNumber("--seed", seed, { integer: true });
    return value === undefined ? undefined : seededRng(value);
}

function optionalNumber(
    name: string,
    text: string | undefined,
    limits: { min?: number; max?: number; integer?: boolean } = {},
): number | undefined {
    if (text === undefined) return undefined;
    const value = Number(text);
    const ok =
        text.trim() !== "" &&
        Number.isFinite(value) &&
        (limits.min === undefined || value >= limits.min) &&
        (limits.max === undefined || value <= limits.max) &&
        (!limits.integer || Number.isInteger(value));
    if (!ok) {
        const range = [
            limits.integer ? "an integer" : "a number",
            limits.min !== undefined ? `≥ ${limits.min}` : "",
            limits.max !== undefined ? `≤ ${limits.max}` : "",
        ]
            .filter(Boolean)
            .join(" ");
        throw new GateError("SIMULATOR_USAGE", `${name} must be ${range}, got ${JSON.stringify(text)}`);
    }
    return value;
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** "500ms", "20s", "2m", "1h"; a bare number is seconds. */
export function parseDuration(text: string): number | undefined {
    const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
    if (!match) return undefined;
    const ms = Number(match[1]) * (DURATION_UNITS[match[2] ?? "s"] ?? 1000);
    return ms > 0 ? ms : undefined;
}

function optionalDuration(name: string, text: string | undefined): number | undefined {
    if (text === undefined) return undefined;
    const ms = parseDuration(text);
    if (ms === undefined) {
        throw new GateError("SIMULATOR_USAGE", `${name} must be a duration such as 500ms, 20s or 2m, got ${text}`);
    }
    return ms;
}

function formatMs(ms: number): string {
    return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

function ordinal(n: number): string {
    const suffix = n % 100 >= 11 && n % 100 <= 13 ? "th" : ({ 1: "st", 2: "nd", 3: "rd" }[n % 10] ?? "th");
    return `${n}${suffix}`;
}

function listOrNone(ids: string[]): string {
    return ids.length > 0 ? ids.join(", ") : "(no models registered)";
}

function describeLinkEvent(event: LinkEvent): string {
    switch (event.type) {
        case "listening":
            return `ready (${event.detail})`;
        case "connected":
            return `host ${event.detail} connected`;
        case "disconnected":
            return `host ${event.detail} disconnected`;
        case "rejected":
            return `refused a second host ${event.detail}`;
        case "unplugged":
            return `unplugged: ${event.detail}`;
        case "plugged":
            return `plugged in: ${event.detail}`;
        case "error":
            return `link error: ${event.detail}`;
    }
}

/** The caller's signal, or one fired by SIGINT/SIGTERM; release() removes the process handlers. */
function stopSignal(external: AbortSignal | undefined): { signal: AbortSignal; release(): void } {
    if (external) return { signal: external, release: () => undefined };
    const controller = new AbortController();
    const onSignal = () => controller.abort();
    process.once("SIGINT", onSignal);
    process.once("SIGTERM", onSignal);
    return {
        signal: controller.signal,
        release: () => {
            process.off("SIGINT", onSignal);
            process.off("SIGTERM", onSignal);
        },
    };
}

function untilAborted(signal: AbortSignal): Promise<void> {
    if (signal.aborted) return Promise.resolve();
    return new Promise((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
}
