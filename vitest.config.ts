import { configDefaults, defineConfig } from "vitest/config";

export default defineConfig({
    test: {
        include: ["test/**/*.test.ts"],
        // The resilience suite has its own config and CI step (vitest.resilience.config.ts).
        exclude: [...configDefaults.exclude, "test/resilience/**"],
        testTimeout: 30_000,
        hookTimeout: 30_000,
        // System tests start brokers, PTYs and child processes; two workers fit the 2-core machines we run on.
        maxWorkers: 2,
        minWorkers: 1,
    },
});
