import { type ChildProcess, spawn } from "node:child_process";

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
 * Starts `gate-edge start --config FILE` as a child process and resolves once it prints its MQTT and API
 * addresses (it is listening); rejects with its output if it exits first. `env` is added to this process's
 * environment (GATE_LOG_LEVEL defaults to error, so the pipes stay small).
 */
export function spawnGate(configPath: string, env: NodeJS.ProcessEnv = {}): Promise<GateChild> {
    const child = spawn(process.execPath, ["bin/gate-edge.js", "start", "--config", configPath], {
        stdio: ["ignore", "pipe", "pipe"],
        env: { ...process.env, GATE_LOG_LEVEL: "error", ...env },
    });
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
