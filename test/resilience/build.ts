import { execFileSync } from "node:child_process";
import { createRequire } from "node:module";

/**
 * Global setup of the resilience suite: compiles dist/ from the sources as they are, because the SIGKILL
 * test runs the gate the way the installed service does (deploy/gate-edge.js) and a stale build would
 * test old code.
 */
export default function setup(): void {
    const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
    execFileSync(process.execPath, [tsc, "-p", "tsconfig.build.json"], { stdio: "inherit" });
}
