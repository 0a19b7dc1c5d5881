/**
 * Gate.stop() takes the parts down as an ordered list where each step stands alone: a step that fails is
 * logged and the rest still run, so the database is always closed and its claim released.
 */

import { existsSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { pidFileOf } from "../../src/store/backup.ts";
import { startGate, testConfig } from "../helpers/gate.ts";
import { tempDir } from "../helpers/tmp.ts";

describe("Gate.stop with a failing step", () => {
    it("still closes the database and releases the claim when the lane engine fails to stop", async () => {
        const dir = tempDir("gate-edge-stop-");
        try {
            // A scanner behind a serial server nobody runs: offline and retried, which is all this needs.
            const config = testConfig(
                dir.path,
                `  - id: L1\n    devices:\n      - { id: scanner-1, model: serial-barcode-scanner, address: "tcp://127.0.0.1:1" }\n`,
            );
            const gate = await startGate(config);
            const db = gate.database;
            // The claim is the pid file beside the database.
            expect(existsSync(pidFileOf(config.storage.path))).toBe(true);
            // The fault: the lane engine throws when asked to stop (a bug in a part, a hung dependency).
            gate.lanes.stop = () => {
                throw new Error("lane engine failed to stop");
            };
            await gate.stop();
            expect(db.open).toBe(false);
            expect(existsSync(pidFileOf(config.storage.path))).toBe(false);
            expect(() => gate.log).toThrow(/closed/);
        } finally {
            dir.cleanup();
        }
    }, 60_000);
});
