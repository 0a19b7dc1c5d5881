// Preloaded (`node --import`) into the gate process the soak benchmark forks, so the benchmark can read
// the gate's own heap as well as its resident memory. Plain JavaScript on purpose: loading tsx into the
// measured process only for this would add its own memory to the figure.
if (process.send) {
    process.on("message", (message) => {
        if (message === "memory?") process.send?.({ memory: process.memoryUsage() });
    });
    // The IPC channel must not keep the gate alive on its own (it stops on SIGTERM like in the field).
    process.channel?.unref();
}
