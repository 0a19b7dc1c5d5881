import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";

/** A temp folder removed after the test file. */
export function tempDir(prefix = "gate-edge-test-"): { path: string; cleanup(): void } {
    const path = mkdtempSync(join(tmpdir(), prefix));
    return { path, cleanup: () => rmSync(path, { recursive: true, force: true }) };
}

/** A logger that stays silent unless GATE_TEST_LOG is set. */
export const testLog = pino({ level: process.env.GATE_TEST_LOG ?? "silent" });
