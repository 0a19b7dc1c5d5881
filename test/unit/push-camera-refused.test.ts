import { createServer } from "node:net";
import { describe, expect, it } from "vitest";
import { runSimulateCommand } from "../../simulators/cli.ts";
import { eventually } from "../helpers/gate.ts";
import { captureStream } from "../helpers/io.ts";

/** A loopback port nothing listens on: bound by the system, then closed. */
async function closedPort(): Promise<number> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const address = server.address();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    if (address === null || typeof address === "string") throw new Error("no port");
    return address.port;
}

describe("simulate dahua-camera with nothing listening at --url", () => {
    it("says connection refused at its first attempt, not after every resend (a minute here) has run out", async () => {
        const port = await closedPort();
        const out = captureStream();
        const err = captureStream();
        const controller = new AbortController();
        const run = runSimulateCommand(
            "dahua-camera",
            ["--url", `http://127.0.0.1:${port}`, "--plate", "29C12345", "--resend-every", "60s", "--every", "1h"],
            { stdout: out.stream, stderr: err.stream, signal: controller.signal },
        );
        try {
            // The resends are a minute apart: a line before the first of them can only be the first attempt's.
            const line = await eventually(
                () =>
                    out
                        .text()
                        .split("\n")
                        .find((text) => text.includes("not delivered")),
                30_000,
                "the first attempt reported",
            );
            expect(line).toContain("ECONNREFUSED");
            expect(line).toContain("connection refused: is the gate's push receiver listening there?");
            expect(line).toContain("sending again in 60 s (attempt 1 of 5)");
        } finally {
            controller.abort();
        }
        expect(await run).toBe(0);
    }, 60_000);
});
