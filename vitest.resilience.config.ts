import { defineConfig } from "vitest/config";

// The resilience suite (`npm run test:resilience`): SIGKILLs, peer restarts, quota, clock jumps, fuzzed inputs.
// Kept out of `npm test` (see vitest.config.ts) so CI runs each file once, in its own step.
export default defineConfig({
    test: {
        include: ["test/resilience/**/*.test.ts"],
        globalSetup: ["test/resilience/build.ts"],
        testTimeout: 60_000,
        hookTimeout: 60_000,
        // Two files at a time, as `npm test` runs: the 100-kill test alone is about half the suite, and one file at
        // a time took CI past 15 minutes. Its restart times are printed for the record, not asserted; the ≤ 2 s
        // bar is the startup benchmark's (`npm run bench -- startup`), measured on an otherwise quiet machine.
        maxWorkers: 2,
        minWorkers: 1,
    },
});
