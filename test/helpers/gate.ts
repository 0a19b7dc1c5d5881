import { join } from "node:path";
import { parseConfig } from "../../src/config/load.ts";
import type { GateConfig } from "../../src/config/types.ts";
import { Gate, type GateOptions } from "../../src/gate.ts";
import { testLog } from "./tmp.ts";

/** A gate config for tests: ephemeral ports, a temp database, the given lanes as YAML. */
export function testConfig(dir: string, lanesYaml: string, extra = "", env: NodeJS.ProcessEnv = {}): GateConfig {
    return parseConfig(
        `
gate: { id: T01, name: Test gate }
${extra.includes("storage:") ? "" : `storage: { path: ${JSON.stringify(join(dir, `gate-${Math.random().toString(36).slice(2)}.db`))} }`}
http: { host: 127.0.0.1, port: 0 }
${extra.includes("ingest:") ? "" : "ingest: { weightSettleMs: 0, duplicateWindowMs: 3000, offlineAfterMs: 1500 }"}
${extra.includes("broker:") ? "" : "broker: { mode: embedded, host: 127.0.0.1, port: 0 }"}
${extra.includes("push:") ? "" : "push: { host: 127.0.0.1, port: 0 }"}
${extra}
lanes:
${lanesYaml}
`,
        { env },
    );
}

export async function startGate(config: GateConfig, options: Partial<GateOptions> = {}): Promise<Gate> {
    const gate = new Gate({ config, log: testLog, ...options });
    await gate.start();
    return gate;
}

/**
 * Polls until `check` returns (or resolves to) a value that is neither undefined nor false, or fails after
 * `timeoutMs` (its message from `what`, called then when it is a function). The tests' one wait: a test waits on the condition it needs, never for a fixed time.
 */
export async function eventually<T>(
    check: () => T | undefined | PromiseLike<T | undefined>,
    timeoutMs = 10_000,
    what: string | (() => string) = "condition",
): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        const value = await check();
        if (value !== undefined && value !== false) return value;
        // A function describes the state at the time out: what the test saw, not what it expected.
        if (Date.now() > deadline)
            throw new Error(`timed out waiting for ${typeof what === "function" ? what() : what}`);
        await new Promise((resolve) => setTimeout(resolve, 25));
    }
}
