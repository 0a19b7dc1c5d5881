/**
 * libonvif's onvif-util (Debian onvif-tools), a client no one here wrote, against the ONVIF camera
 * simulator started from the CLI, both real child processes. onvif-util finds a camera only by WS-Discovery
 * and sends its multicast Probe with multicast loopback off, so a simulator on the same host never hears
 * it; both run in a fresh network namespace whose loopback carries multicast (as a camera and a PC on
 * one LAN). It reads every answer by Content-Length and reuses one nonce per second.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { afterEach, describe, expect, it } from "vitest";
import { runCommand } from "../helpers/child.ts";
import { eventually } from "../helpers/gate.ts";
import { networkNamespaceAvailable, systemToolAvailable } from "../helpers/system.ts";

const available = systemToolAvailable("onvif-util", "onvif-tools") && networkNamespaceAvailable();

// lo carries multicast and is the route for 224.0.0.0/4, so the probe goes out on it and comes back in.
const NAMESPACE_SETUP =
    "ip link set lo up && ip link set lo multicast on && ip route add 224.0.0.0/4 dev lo src 127.0.0.1";

interface Simulator {
    child: ChildProcess;
    output(): string;
}

let simulator: Simulator | undefined;
afterEach(async () => {
    const child = simulator?.child;
    simulator = undefined;
    if (!child || child.exitCode !== null) return;
    const closed = new Promise((resolve) => child.once("close", resolve));
    child.kill("SIGTERM");
    await closed;
});

/** `gate-edge simulate onvif-camera --discovery` in its own network namespace; resolves once it listens. */
async function startSimulator(): Promise<Simulator> {
    const command =
        `${NAMESPACE_SETUP} && exec "${process.execPath}" bin/gate-edge.js simulate onvif-camera --port 8899 ` +
        "--username admin --password secret --plate 29C12345 --every 1h --discovery";
    const child = spawn("unshare", ["--net", "sh", "-c", command], { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout?.on("data", (chunk: Buffer) => {
        output += chunk.toString();
    });
    child.stderr?.on("data", (chunk: Buffer) => {
        output += chunk.toString();
    });
    simulator = { child, output: () => output };
    await eventually(
        () => {
            if (child.exitCode !== null) throw new Error(`simulator exited ${child.exitCode}:\n${output}`);
            return output.includes("ready, device service") || undefined;
        },
        60_000,
        "simulator ready",
    );
    return simulator;
}

/** onvif-util in the simulator's network namespace; TZ=UTC as the simulator's time zone says (UTC0). */
function onvifUtil(sim: Simulator, args: string[], input?: string) {
    const pid = String(sim.child.pid);
    return runCommand("nsenter", ["-t", pid, "-n", "env", "TZ=UTC", "onvif-util", ...args], { input });
}

describe.skipIf(!available)("onvif-util (libonvif) against the ONVIF camera simulator", () => {
    it("finds the simulator by WS-Discovery (onvif-util -a)", async () => {
        const sim = await startSimulator();
        const found = await onvifUtil(sim, ["-a"]);
        expect(found.stdout).toContain("Found 1 cameras");
        expect(found.stdout).toContain("127.0.0.1 (gate-edge SIM-LPR)");
        expect(sim.output()).toMatch(/discovery: ProbeMatch sent to 127\.0\.0\.1:\d+/);
    }, 90_000);

    it("logs in and answers get profiles, get profile, get rtsp and get time in one session", async () => {
        const sim = await startSimulator();
        const session = await onvifUtil(
            sim,
            ["-u", "admin", "-p", "secret", "127.0.0.1"],
            "get profiles\nget profile\nget rtsp\nget rtsp 1\nget time\nquit\n",
        );
        const out = session.stdout;
        expect(out).toContain("found host: 127.0.0.1");
        expect(out).toContain("successfully connected to host");
        expect(out).toContain("serial: 003725");
        expect(out).toContain("Token 0: Profile_1");
        expect(out).toContain("Token 1: Profile_2");
        expect(out).toMatch(/Width:\s+1920/);
        expect(out).toMatch(/Bitrate:\s+4096/);
        expect(out).toContain("rtsp://127.0.0.1:554/onvif/media?profile=Profile_1");
        expect(out).toContain("rtsp://127.0.0.1:554/onvif/media?profile=Profile_2");
        expect(out).toContain("Time Offset: 0 seconds");
        expect(out).not.toContain("ERROR");
        // Several calls per second share one nonce; none may be refused as a replay.
        expect(sim.output()).not.toMatch(/refused (?!GetHostname)/);
    }, 90_000);
});
