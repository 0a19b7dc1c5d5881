import { afterAll, beforeAll } from "vitest";
import type { Gate } from "../../src/gate.ts";
import { startGate, testConfig } from "./gate.ts";
import { tempDir } from "./tmp.ts";

export interface FileGate {
    /** The running gate; there is none before the file's first beforeAll has run. */
    readonly gate: Gate;
    /** The file's temp folder (the gate's database is in it). */
    readonly dir: string;
}

/**
 * One gate for a whole test file: testConfig(lanesYaml, extra) started in a beforeAll, stopped and its temp
 * folder removed in an afterAll. Call it before the file's own hooks: vitest runs beforeAll hooks in the order
 * they were added and afterAll hooks in the reverse, so the file's hooks see a running gate.
 */
export function useFileGate(lanesYaml: string, extra = ""): FileGate {
    const dir = tempDir();
    let gate: Gate | undefined;
    beforeAll(async () => {
        gate = await startGate(testConfig(dir.path, lanesYaml, extra));
    });
    afterAll(async () => {
        await gate?.stop();
        dir.cleanup();
    });
    return {
        get gate() {
            if (!gate) throw new Error("the file's gate is not started yet: read it in a test or a later hook");
            return gate;
        },
        dir: dir.path,
    };
}
