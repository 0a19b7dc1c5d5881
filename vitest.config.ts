import { defineConfig } from "vitest/config";

export default defineConfig({
    test: {
        include: ["test/**/*.test.ts"],
        testTimeout: 30_000,
        hookTimeout: 30_000,
        // System tests start brokers, PTYs and child processes; two workers fit the 2-core machines we run on.
        maxWorkers: 2,
        minWorkers: 1,
    },
});
