/**
 * The installation on a gate PC: the systemd unit passes `systemd-analyze verify`; the release bundle
 * (`npm run bundle`) installs with deploy/install.sh (here under --root, so nothing on this machine
 * changes), and the installed release — compiled JavaScript and production dependencies only, no tsx —
 * validates the configuration it was given and runs a gate that stops cleanly on SIGTERM.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runCommand } from "../helpers/child.ts";
import { eventually } from "../helpers/gate.ts";
import { serviceRuntime } from "../helpers/serviceRuntime.ts";
import { systemToolAvailable } from "../helpers/system.ts";
import { tempDir } from "../helpers/tmp.ts";

const dir = tempDir();
afterAll(() => dir.cleanup());

const unitFile = "deploy/gate-edge.service";

describe("systemd unit", () => {
    it.skipIf(!systemToolAvailable("systemd-analyze"))("passes systemd-analyze verify", () => {
        // As install.sh writes it: with the path of the node that runs here.
        const unit = join(dir.path, "gate-edge.service");
        writeFileSync(
            unit,
            readFileSync(unitFile, "utf8").replace(/^ExecStart=\/usr\/bin\/node /m, `ExecStart=${process.execPath} `),
        );
        const result = spawnSync("systemd-analyze", ["verify", unit], { encoding: "utf8" });
        const complaints = `${result.stdout}${result.stderr}`
            .split("\n")
            .filter((line) => line.includes("gate-edge.service"));
        expect(complaints).toEqual([]);
        expect(result.status).toBe(0);
    });

    it("is a Type=notify service with the watchdog, restarts always, and runs compiled code as gate-edge", () => {
        const unit = readFileSync(unitFile, "utf8");
        for (const line of [
            "Type=notify",
            "NotifyAccess=all",
            "Restart=always",
            "User=gate-edge",
            "SupplementaryGroups=dialout",
            "ExecReload=/bin/kill -HUP $MAINPID",
            "EnvironmentFile=-/etc/gate-edge/env",
            "WorkingDirectory=/var/lib/gate-edge",
        ]) {
            expect(unit).toContain(`\n${line}\n`);
        }
        expect(unit).toMatch(/\nWatchdogSec=\d+\n/);
        expect(unit).toMatch(
            /\nExecStart=\/usr\/bin\/node (--[a-z-]+=\d+ )*\/opt\/gate-edge\/current\/bin\/gate-edge\.js start --config \/etc\/gate-edge\/gate\.yaml\n/,
        );
        // The memory settings the soak benchmark measures: a heap cap and a bounded malloc.
        const runtime = serviceRuntime();
        expect(runtime.nodeArgs.some((arg) => /^--max-old-space-size=\d+$/.test(arg))).toBe(true);
        expect(runtime.env.MALLOC_ARENA_MAX).toMatch(/^\d+$/);
        // Above gate-edge's own 10 s stop deadline, so systemd's SIGKILL is the last resort.
        expect(Number(/\nTimeoutStopSec=(\d+)\n/.exec(unit)?.[1])).toBeGreaterThan(10);
    });
});

describe("release bundle and install", () => {
    it("bundles, installs under a root, and the installed release runs a gate", async () => {
        expect(spawnSync("bash", ["-n", "deploy/install.sh"]).status).toBe(0);
        const out = join(dir.path, "bundles");
        // Asynchronously: the bundle compiles the whole project, a minute on a loaded machine.
        const bundle = await runCommand(process.execPath, ["deploy/bundle.mjs", "--out", out]);
        expect(bundle.status, bundle.stderr + bundle.stdout).toBe(0);
        const tarball = join(
            out,
            `gate-edge-${JSON.parse(readFileSync("package.json", "utf8")).version}-linux-${process.arch}.tar.gz`,
        );
        expect(existsSync(tarball)).toBe(true);

        const root = join(dir.path, "root");
        const install = await runCommand("bash", ["deploy/install.sh", "--root", root, tarball]);
        expect(install.status, install.stderr + install.stdout).toBe(0);
        const release = join(root, "opt/gate-edge/current");
        const manifest = JSON.parse(readFileSync(join(release, "BUNDLE.json"), "utf8"));
        expect(manifest).toMatchObject({ arch: process.arch, nodeAbi: process.versions.modules });
        // Production only: no tsx, no test runner, no compiler; compiled code, no TypeScript sources.
        for (const absent of ["tsx", "vitest", "typescript", "esbuild", "@biomejs/biome"])
            expect(existsSync(join(release, "node_modules", absent)), absent).toBe(false);
        expect(existsSync(join(release, "dist/src/cli.js"))).toBe(true);
        expect(existsSync(join(release, "src/gate.ts"))).toBe(false);
        expect(readFileSync(join(root, "etc/gate-edge/gate.yaml"), "utf8")).toMatch(
            /path: \/var\/lib\/gate-edge\/gate\.db/,
        );
        expect(readFileSync(join(root, "etc/systemd/system/gate-edge.service"), "utf8")).toContain(
            `ExecStart=${[spawnSync("sh", ["-c", "command -v node"], { encoding: "utf8" }).stdout.trim(), ...serviceRuntime().nodeArgs].join(" ")} /opt/gate-edge/current/bin/gate-edge.js`,
        );

        const bin = join(release, "bin/gate-edge.js");
        const check = await runCommand(process.execPath, [bin, "check-config", join(root, "etc/gate-edge/gate.yaml")], {
            env: {
                ...process.env,
                GATE_CENTRAL_TOKEN: "x",
                GATE_SEAL_L1_PASSWORD: "a-seal-password",
                GATE_CAM_REAR_L2_PASSWORD: "a-camera-password",
                GATE_PLC_L2_PASSWORD: "a-plc-password",
            },
        });
        expect(check.stdout + check.stderr).toMatch(/OK — gate HN01/);
        // The benchmarks stay in the source checkout: the installed CLI says so instead of failing on a missing module.
        const bench = await runCommand(process.execPath, [bin, "bench", "ingest"]);
        expect(bench.stderr).toContain("bench is not part of the installed bundle; run it from a source checkout");
        expect(bench.status).toBe(2);
        expect((await runCommand(process.execPath, [bin, "--help"])).stdout).not.toMatch(/^\s+bench\b/m);

        const config = join(dir.path, "installed.yaml");
        writeFileSync(
            config,
            `
gate: { id: IN01 }
storage: { path: ${JSON.stringify(join(dir.path, "installed.db"))} }
http: { host: 127.0.0.1, port: 0 }
broker: { mode: embedded, host: 127.0.0.1, port: 0 }
lanes:
  - id: L1
    devices:
      - { id: seal-1, model: eseal-mqtt-json, auth: { username: seal-1, password: installed-password } }
`,
        );
        // With the unit's memory settings: the installed gate runs under its heap cap.
        const runtime = serviceRuntime();
        const child = spawn(process.execPath, [...runtime.nodeArgs, bin, "start", "--config", config], {
            stdio: ["ignore", "pipe", "pipe"],
            cwd: dir.path,
            env: { ...process.env, ...runtime.env },
        });
        let output = "";
        child.stdout.on("data", (chunk: Buffer) => {
            output += chunk.toString();
        });
        child.stderr.on("data", (chunk: Buffer) => {
            output += chunk.toString();
        });
        const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
        const api = await eventually(
            () => /API:\s+(http:\/\/\S+)\/api\/v1\/health/.exec(output)?.[1],
            20_000,
            "the API",
        );
        const health = (await (await fetch(`${api}/api/v1/health`)).json()) as { status: string };
        expect(health.status).toBe("up");
        // The dashboard's files come with the bundle.
        expect((await fetch(`${api}/`)).status).toBe(200);
        child.kill("SIGTERM");
        expect(await exited, output).toBe(0);
    }, 300_000);
});
