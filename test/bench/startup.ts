import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import mqtt from "mqtt";
import { parse as parseYaml, stringify as stringifyYaml } from "yaml";
import { startSimulatorsFor } from "../../simulators/forConfig.ts";
import { loadConfig } from "../../src/config/load.ts";
import { GateError } from "../../src/core/errors.ts";
import { serviceRuntime } from "../helpers/serviceRuntime.ts";
import { latencySummary } from "./stats.ts";

/**
 * Start-up to ready on the demo gate (DESIGN.md: ≤ 2 s), measured as a technician would see it: the
 * `gate-edge start` process spawned → its API answering (the moment it tells systemd READY=1) → every lane
 * ready (all its devices online), N times in a row on the same database, as restarts are. The devices the
 * gate connects to (scales and scanners on TCP serial-server ports, the ONVIF camera, the PLC) run in this
 * process for the whole run, like powered devices in the field; the e-seal readers, which connect to the
 * gate's broker, connect as soon as the API answers. Beside it, in the same run: a bare `node -e ""`, and
 * `check-config` through tsx and through the compiled dist/ (if built), so the process and module-loading
 * share of the figure is visible; and the time a SIGTERM takes to stop the gate.
 */

const RUNS = Number(process.env.BENCH_RUNS ?? 5);

function summary(samples: number[]): { p50: number; max: number } {
    const { p50, max } = latencySummary(samples);
    return { p50: Math.round(p50), max: Math.round(max) };
}

/** A way to run gate-edge: its launcher script, the node flags before it and the environment it adds. */
interface Launcher {
    script: string;
    nodeArgs: string[];
    env: Record<string, string>;
}

function timeProcess(args: string[], env: Record<string, string> = {}): Promise<number> {
    const started = performance.now();
    return new Promise((resolvePromise, reject) => {
        const child = spawn(process.execPath, args, { stdio: "ignore", env: { ...process.env, ...env } });
        child.once("error", reject);
        child.once("exit", (code) =>
            code === 0
                ? resolvePromise(performance.now() - started)
                : reject(new Error(`${args.join(" ")} exited ${code}`)),
        );
    });
}

async function untilOk<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
        try {
            const value = await probe();
            if (value !== undefined) return value;
        } catch {
            // Not up yet.
        }
        if (performance.now() > deadline) throw new GateError("BENCH_NOT_READY", what);
        await new Promise((resolveSleep) => setTimeout(resolveSleep, 5));
    }
}

interface Health {
    lanes: { id: string; ready: boolean }[];
}

export async function benchStartup(out: (line: string) => void): Promise<object> {
    const dir = join(tmpdir(), `gate-edge-bench-startup-${process.pid}`);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    // The demo gate, its database here and standalone (central sync is not part of start-up).
    const document = parseYaml(readFileSync("config/demo.yaml", "utf8")) as Record<string, unknown> & {
        storage: { path: string };
        lanes: { devices: { id: string; auth?: { password?: string } }[] }[];
    };
    document.storage.path = join(dir, "startup.db");
    delete document.central;
    const configFile = join(dir, "demo.yaml");
    writeFileSync(configFile, stringifyYaml(document));
    const config = loadConfig(configFile);
    const passwords = new Map(
        document.lanes.flatMap((lane) =>
            lane.devices.map((device) => [device.id, device.auth?.password ?? ""] as const),
        ),
    );

    // The devices the gate dials; the e-seal readers connect per start below.
    const simulators = await startSimulatorsFor(config, { workDir: dir, chunking: "whole" });
    const sealDevices = config.lanes
        .flatMap((lane) => lane.devices)
        .filter((device) => device.address.transport === "mqtt" && device.auth);
    const api = `http://${config.http.host}:${config.http.port}`;

    async function oneStart(launcher: Launcher): Promise<{ apiMs: number; readyMs: number; stopMs: number }> {
        const t0 = performance.now();
        const args = [...launcher.nodeArgs, resolve(launcher.script), "start", "--config", configFile];
        const child: ChildProcess = spawn(process.execPath, args, {
            stdio: "ignore",
            env: { ...process.env, ...launcher.env, GATE_LOG_LEVEL: "warn" },
        });
        const exited = new Promise<number | null>((resolveExit) => child.once("exit", resolveExit));
        const clients: mqtt.MqttClient[] = [];
        try {
            await untilOk("the API", 20_000, async () => ((await fetch(`${api}/api/v1/health`)).ok ? true : undefined));
            const apiMs = performance.now() - t0;
            for (const device of sealDevices) {
                const client = mqtt.connect(
                    `mqtt://${config.broker.mode === "embedded" ? config.broker.host : ""}:${
                        config.broker.mode === "embedded" ? config.broker.port : 0
                    }`,
                    {
                        username: device.auth?.username ?? "",
                        password: passwords.get(device.id) ?? "",
                        reconnectPeriod: 50,
                    },
                );
                client.on("error", () => undefined);
                clients.push(client);
            }
            await untilOk("every lane ready", 20_000, async () => {
                const health = (await (await fetch(`${api}/api/v1/health`)).json()) as Health;
                return health.lanes.every((lane) => lane.ready) ? true : undefined;
            });
            const readyMs = performance.now() - t0;
            for (const client of clients) client.end(true);
            const stopAt = performance.now();
            child.kill("SIGTERM");
            const code = await exited;
            if (code !== 0) throw new Error(`the gate exited ${code} on SIGTERM`);
            return { apiMs, readyMs, stopMs: performance.now() - stopAt };
        } catch (err) {
            for (const client of clients) client.end(true);
            child.kill("SIGKILL");
            await exited;
            throw err;
        }
    }

    const results: Record<string, unknown> = { runs: RUNS };
    try {
        const bare: number[] = [];
        for (let i = 0; i < RUNS; i++) bare.push(await timeProcess(["-e", ""]));
        const launchers: [string, Launcher][] = [
            ["tsx (bin/gate-edge.js)", { script: "bin/gate-edge.js", nodeArgs: [], env: {} }],
        ];
        // The compiled code as the installed service runs it (with the unit's node settings), when
        // `npm run build` made it.
        if (existsSync("dist/src/cli.js")) {
            const runtime = serviceRuntime();
            launchers.push(["dist (deploy/gate-edge.js)", { script: "deploy/gate-edge.js", ...runtime }]);
            out(`dist runs with the node settings ${runtime.describe}`);
        }
        out(`start-up to ready: the demo gate (${config.lanes.length} lanes), ${RUNS} starts each`);
        out(`  raw baseline  node -e ""                      p50 ${summary(bare).p50} ms  max ${summary(bare).max} ms`);
        results.nodeBareMs = summary(bare);
        for (const [name, launcher] of launchers) {
            const check: number[] = [];
            for (let i = 0; i < RUNS; i++)
                check.push(
                    await timeProcess(
                        [...launcher.nodeArgs, launcher.script, "check-config", configFile],
                        launcher.env,
                    ),
                );
            await oneStart(launcher); // first start: creates the database and the PLC client certificates
            const runs: { apiMs: number; readyMs: number; stopMs: number }[] = [];
            for (let i = 0; i < RUNS; i++) runs.push(await oneStart(launcher));
            const figures = {
                checkConfigMs: summary(check),
                apiUpMs: summary(runs.map((run) => run.apiMs)),
                lanesReadyMs: summary(runs.map((run) => run.readyMs)),
                stopMs: summary(runs.map((run) => run.stopMs)),
            };
            results[name] = figures;
            const line = (label: string, value: { p50: number; max: number }) =>
                out(`  ${name.padEnd(28)} ${label.padEnd(18)} p50 ${value.p50} ms  max ${value.max} ms`);
            line("check-config", figures.checkConfigMs);
            line("spawn → API up", figures.apiUpMs);
            line("spawn → lanes ready", figures.lanesReadyMs);
            line("SIGTERM → exited", figures.stopMs);
            out(
                `  ${name.padEnd(28)} lanes ready p50 is ${(figures.lanesReadyMs.p50 / Math.max(1, summary(bare).p50)).toFixed(1)}× a bare node start (bar: ≤ 2000 ms)`,
            );
        }
    } finally {
        await simulators.stop();
        rmSync(dir, { recursive: true, force: true });
    }
    return results;
}
