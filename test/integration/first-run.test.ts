import { type ChildProcess, spawn } from "node:child_process";
import { copyFileSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runCommand } from "../helpers/child.ts";
import { eventually } from "../helpers/gate.ts";
import { tempDir } from "../helpers/tmp.ts";

const dir = tempDir();
afterAll(() => dir.cleanup());

/** The shipped demo file, moved to free ports and a temp database so it can run beside anything. */
function demoConfig(): string {
    const base = 20000 + Math.floor(Math.random() * 20000);
    const text = readFileSync("config/demo.yaml", "utf8")
        .replace(/port: 8080/, `port: ${base + 80}`)
        .replace(/port: 18830/, `port: ${base + 83}`)
        .replace(/port: 18081/, `port: ${base + 81}`)
        .replace(/127\.0\.0\.1:18901/g, `127.0.0.1:${base + 901}`)
        .replace(/127\.0\.0\.1:48401/g, `127.0.0.1:${base + 902}`)
        .replace(/127\.0\.0\.1:18090/g, `127.0.0.1:${base + 903}`)
        .replace(/tcp:\/\/127\.0\.0\.1:140(\d\d)/g, (_m, n: string) => `tcp://127.0.0.1:${base + Number(n)}`)
        .replace("./data/demo.db", join(dir.path, "data", "demo.db"));
    const file = join(dir.path, "demo.yaml");
    writeFileSync(file, text);
    copyFileSync("config/clearance-demo.yaml", join(dir.path, "clearance-demo.yaml"));
    return file;
}

/** The environment of a new user's shell: no central token set (the demo makes its own up). */
function userEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
    delete env.GATE_CENTRAL_TOKEN;
    delete env.GATE_LOG_LEVEL;
    delete env.NODEOPCUA_LOG_LEVEL;
    return env;
}

/** A decision line: local date and time, the lane, the outcome, the plates and the deciding reason. */
const DECISION_LINE =
    /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d INFO {2}\[lane L[12]\] (RELEASE|HOLD|INSPECT|REJECT) \S+ \/ \S+ — \S.*$/m;

describe("the first run: npm start on a terminal, then gate-edge doctor on the demo", () => {
    it("prints one readable line per decision, no stack, no JSON and no node-opcua notice; doctor accepts the demo's token", async () => {
        const config = demoConfig();
        // GATE_LOG_FORMAT=pretty is what a terminal gets (stdout.isTTY); here stdout is a pipe.
        const child: ChildProcess = spawn(
            process.execPath,
            ["bin/gate-edge.js", "start", "--config", config, "--with-simulators"],
            { stdio: ["ignore", "pipe", "pipe"], env: userEnv({ GATE_LOG_FORMAT: "pretty" }) },
        );
        let output = "";
        child.stdout?.on("data", (chunk: Buffer) => {
            output += chunk.toString();
        });
        child.stderr?.on("data", (chunk: Buffer) => {
            output += chunk.toString();
        });
        const exited = new Promise<number | null>((resolve) => child.once("close", (code) => resolve(code)));
        try {
            await eventually(() => output.includes("is running\n  API:"), 90_000, "the demo gate up");
            // A demo truck comes about every half minute per lane; on a loaded machine the first may take longer.
            await eventually(() => DECISION_LINE.test(output), 120_000, `a decision line in:\n${output}`);

            const doctor = await runCommand(process.execPath, ["bin/gate-edge.js", "doctor", "--config", config], {
                env: userEnv(),
            });
            expect(doctor.stdout).toMatch(/^✓ central http:\/\/127\.0\.0\.1:\d+\/ answered and accepted the token/m);
            expect(doctor.stdout).not.toMatch(/^✗ central/m);
        } finally {
            child.kill("SIGINT");
        }
        expect(await exited).toBe(0);

        const lines = output.split("\n");
        const running = lines.findIndex((line) => line.startsWith("gate-edge DEMO01 is running"));
        const stopping = lines.indexOf("stopping…");
        expect(running).toBeGreaterThan(0);
        expect(stopping).toBeGreaterThan(running);
        // Up to the banner and from the stop on: nothing but info (no expected retry as a warning).
        const problems = (from: number, to: number) =>
            lines.slice(from, to).filter((line) => / (WARN |ERROR|FATAL) /.test(line));
        expect(problems(0, running)).toEqual([]);
        expect(problems(stopping, lines.length)).toEqual([]);
        // No stack trace, no JSON line, no node-opcua notice anywhere.
        expect(lines.filter((line) => /^\s+at \S/.test(line))).toEqual([]);
        expect(lines.filter((line) => line.startsWith('{"level"'))).toEqual([]);
        expect(output).not.toMatch(/NODE-OPCUA-W|CVE-2023-46809|Creating default certificate/);
        expect(output).toContain("INFO  stopped");
    }, 300_000);
});
