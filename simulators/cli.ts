/**
 * `gate-edge simulate scale|scanner|eseal ...`: a device simulator a technician runs to test a lane with no
 * hardware. Prints one line per thing it does and runs until SIGINT/SIGTERM (or the given AbortSignal),
 * then stops cleanly. The main CLI hands over the kind and the rest of argv; options are parsed here.
 *
 * Exit codes: 0 stopped cleanly (or --help), 1 the simulator failed at run time (socat missing, port in
 * use, broker refused the credentials), 2 bad arguments (the message lists the valid options and models).
 */
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import type { SerialDefaults } from "../devices/types.ts";
import { errorMessage, GateError, isGateError } from "../src/core/errors.ts";
import type { SealValues } from "../src/core/events.ts";
import { SealReaderSimulator } from "./eseal.ts";
import { modelIds, resolveModel } from "./models.ts";
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

export const SIMULATOR_KINDS = ["scale", "scanner", "eseal"] as const;
export type SimulatorKind = (typeof SIMULATOR_KINDS)[number];

type Say = (line: string) => void;

/** What parsing produced: usage text to print, or a simulator run. */
type Parsed = { help: string } | { run: (signal: AbortSignal, say: Say) => Promise<void> };

/** Runs `gate-edge simulate <kind> ...argv`. Never throws; returns the exit code. */
export async function runSimulateCommand(kind: string, argv: string[], io: SimulateIo): Promise<number> {
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
    return [
        "Usage: gate-edge simulate <scale|scanner|eseal> [options]",
        "",
        scaleUsage(),
        scannerUsage(),
        esealUsage(),
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
// helpers

type OptionSpec = Record<string, { type: "string" | "boolean"; short?: string }>;

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
