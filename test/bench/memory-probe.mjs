// Preloaded (`node --import`) into the gate process the soak benchmark forks, so the benchmark can read
// the gate's own heap, CPU and garbage-collection time as well as its resident memory. Plain JavaScript on
// purpose: loading tsx into the measured process only for this would add its own memory to the figure.
import { constants, PerformanceObserver } from "node:perf_hooks";

const gc = { minorMs: 0, minorCount: 0, majorMs: 0, majorCount: 0 };
new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
        const major = entry.detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR;
        if (major) {
            gc.majorMs += entry.duration;
            gc.majorCount++;
        } else {
            gc.minorMs += entry.duration;
            gc.minorCount++;
        }
    }
}).observe({ entryTypes: ["gc"] });

if (process.send) {
    process.on("message", (message) => {
        if (message === "memory?")
            process.send?.({ memory: process.memoryUsage(), cpu: process.cpuUsage(), gc: { ...gc } });
    });
    // The IPC channel must not keep the gate alive on its own (it stops on SIGTERM like in the field).
    process.channel?.unref();
}
