import { defineConfig } from "vitest/config";

// The resilience suite (`npm run test:resilience`): SIGKILLs, peer restarts, quota, clock jumps, fuzzed inputs.
// Kept out of `npm test` (see vitest.config.ts) so CI runs each file once, in its own step.
export default defineConfig({
    test: {
        include: ["test/resilience/**/*.test.ts"],
        globalSetup: ["test/resilience/build.ts"],
        testTimeout: 60_000,
        hookTimeout: 60_000,
        // One file at a time: the SIGKILL test's restart times are logged as the figure for the ≤ 2 s bar,
        // which the fuzzers on the other core would otherwise stretch.
        fileParallelism: false,
    },
});
