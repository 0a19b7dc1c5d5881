/**
 * System tests need real tools (socat for PTY pairs, mosquitto for interop). When a tool is missing the
 * test is skipped with a loud message, unless GATE_REQUIRE_SYSTEM_TESTS=1 (set by CI), which turns the
 * skip into a failure so a missing install step cannot hide behind a green run.
 */
import { spawnSync } from "node:child_process";
import { connect } from "node:net";

export function hasTool(tool: string): boolean {
    return spawnSync("sh", ["-c", `command -v ${tool}`], { stdio: "ignore" }).status === 0;
}

/**
 * True when the tool is there. Throws when it is absent and system tests are required. `aptPackage` names
 * the Debian package when it differs from the tool (onvif-util comes in onvif-tools).
 */
export function systemToolAvailable(tool: string, aptPackage = tool): boolean {
    if (hasTool(tool)) return true;
    return skipLoudly(`'${tool}' is not installed (apt-get install ${aptPackage})`);
}

/**
 * True when this process may make a network namespace (root, or user namespaces allowed): a client that
 * turns multicast loopback off (libonvif's discovery) reaches a simulator on this host only inside one.
 * Skips loudly, or throws when system tests are required.
 */
export function networkNamespaceAvailable(): boolean {
    const ok = spawnSync("unshare", ["--net", "true"], { stdio: "ignore" }).status === 0;
    return ok || skipLoudly("no network namespace can be made here (`unshare --net` needs root)");
}

function skipLoudly(why: string): false {
    const message = `\n!!! SKIPPING system tests: ${why}. !!!\n`;
    if (process.env.GATE_REQUIRE_SYSTEM_TESTS === "1") {
        throw new Error(`${message}GATE_REQUIRE_SYSTEM_TESTS=1 makes this a failure.`);
    }
    process.stderr.write(message);
    return false;
}

/** One probe: something accepts a TCP connection on host:port (a spawned server is up). Never rejects. */
export function acceptsConnections(port: number, host = "127.0.0.1"): Promise<boolean> {
    return new Promise((resolve) => {
        const socket = connect(port, host);
        socket.once("connect", () => {
            socket.destroy();
            resolve(true);
        });
        socket.once("error", () => resolve(false));
    });
}
