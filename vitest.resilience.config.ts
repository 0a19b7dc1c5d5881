import { defineConfig } from "vitest/config";

// The resilience suite (`npm run test:resilience`): SIGKILLs, peer restarts, quota, clock jumps, fuzzed inputs.
// Kept out of `npm test` (see vitest.config.ts) so CI runs each file once, in its own step.
export default defineConfig({
    test: {
        include: ["test/resilience/**/*.test.ts"],
        testTimeout: 60_000,
        hookTimeout: 60_000,
        maxWorkers: 2,
        minWorkers: 1,
    },
});
