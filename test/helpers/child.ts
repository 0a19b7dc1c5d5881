import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { serviceRuntime } from "./serviceRuntime.ts";

export interface GateChild {
    child: ChildProcess;
    mqttUrl: string;
    /** The API's base URL (http://host:port). */
    httpUrl: string;
    /** Everything the child printed so far, stdout and stderr. */
    output(): string;
    /** Resolves with the exit code once the child is gone and its pipes are drained ("close"). */
    exited: Promise<number | null>;
}

/**
 * How the child runs: "sources" through tsx (bin/gate-edge.js, what `npx gate-edge` runs in a checkout), or
 * "service" as the installed service does: the compiled dist/ (deploy/gate-edge.js) with the node flags and
 * environment of deploy/gate-edge.service. "service" needs `npm run build` first (the resilience suite's
 * global setup runs it, so the build is never older than the sources).
 */
export type GateLauncher = "sources" | "service";

/** Every gate child spawned by this worker and not yet exited (killSpawnedGates). */
const liveGates = new Set<ChildProcess>();
let exitHookInstalled = false;

/**
 * SIGKILLs every gate child of this worker still running. A test that times out is abandoned by vitest while
 * its child runs on; the test file's afterAll calls this so no gate outlives its test (and the worker's exit
 * does too, as a backstop).
 */
export function killSpawnedGates(): void {
    for (const child of liveGates) child.kill("SIGKILL");
    liveGates.clear();
}

/**
 * Starts `gate-edge start --config FILE` as a child process and resolves once it prints its MQTT and API
 * addresses (it is listening); rejects with its output if it exits first. `env` is added to this process's
 * environment (GATE_LOG_LEVEL defaults to error, so the pipes stay small).
 */
export function spawnGate(
    configPath: string,
    env: NodeJS.ProcessEnv = {},
    launcher: GateLauncher = "sources",
): Promise<GateChild> {
    const start = ["start", "--config", configPath];
    let args = ["bin/gate-edge.js", ...start];
    let serviceEnv: Record<string, string> = {};
    if (launcher === "service") {
        if (!existsSync("dist/src/cli.js"))
            throw new Error("the service launcher runs dist/: run `npm run build` first");
        const runtime = serviceRuntime();
        args = [...runtime.nodeArgs, "deploy/gate-edge.js", ...start];
        serviceEnv = runtime.env;
    }
    const child = spawn(process.execPath, args, {
        stdio: ["ignore", "pipe", "pipe"],
        env: { ...process.env, ...serviceEnv, GATE_LOG_LEVEL: "error", ...env },
    });
    liveGates.add(child);
    child.once("exit", () => liveGates.delete(child));
    if (!exitHookInstalled) {
        exitHookInstalled = true;
        process.once("exit", killSpawnedGates);
    }
    let output = "";
    const exited = new Promise<number | null>((resolve) => child.once("close", (code) => resolve(code)));
    return new Promise((resolve, reject) => {
        const onData = (chunk: Buffer): void => {
            output += chunk.toString();
            const mqttUrl = /MQTT:\s+(mqtt:\/\/\S+)/.exec(output)?.[1];
            const httpUrl = /API:\s+(http:\/\/\S+?)\/api\/v1\/health/.exec(output)?.[1];
            if (mqttUrl && httpUrl) resolve({ child, mqttUrl, httpUrl, output: () => output, exited });
        };
        child.stdout?.on("data", onData);
        child.stderr?.on("data", onData);
        void exited.then((code) => reject(new Error(`gate-edge exited with ${code} before listening:\n${output}`)));
    });
}

export interface CommandResult {
    status: number | null;
    stdout: string;
    stderr: string;
}

/**
 * Runs a command to its end without blocking this test worker: a spawnSync of a long command (a compile, a
 * CLI through tsx) stops the worker's event loop, and on a loaded machine vitest's own RPC to the worker
 * times out behind it ("Timeout calling onTaskUpdate") and fails the whole run.
 */
export function runCommand(
    command: string,
    args: readonly string[],
    options: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string } = {},
): Promise<CommandResult> {
    return new Promise((resolve, reject) => {
        const child = spawn(command, args, {
            cwd: options.cwd,
            env: options.env ?? process.env,
            stdio: [options.input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
        });
        let stdout = "";
        let stderr = "";
        child.stdout?.on("data", (chunk: Buffer) => {
            stdout += chunk.toString();
        });
        child.stderr?.on("data", (chunk: Buffer) => {
            stderr += chunk.toString();
        });
        child.once("error", reject);
        child.once("close", (status) => resolve({ status, stdout, stderr }));
        if (options.input !== undefined) child.stdin?.end(options.input);
    });
}
