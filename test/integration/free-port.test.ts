/**
 * The loopback ports the simulators' generated configs name (simulators/forConfig.ts freePort) come from
 * below the system's ephemeral range: a busy machine's client sockets are given ports from that range, and
 * one took a "free" port before its simulator listened (EADDRINUSE in a loaded `npm test`).
 */
import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import { describe, expect, it } from "vitest";
import { freePort } from "../../simulators/forConfig.ts";

describe("freePort", () => {
    it("gives distinct listenable loopback ports below the ephemeral range", async () => {
        const low = Number(readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0]);
        const ports = await Promise.all(Array.from({ length: 20 }, () => freePort()));
        for (const port of ports) {
            expect(port).toBeGreaterThanOrEqual(20_000);
            expect(port).toBeLessThan(low);
        }
        // Handed out before anyone listens on them, and still never the same port twice.
        expect(new Set(ports).size).toBe(ports.length);
        const server = createServer();
        await new Promise<void>((resolve, reject) => {
            server.once("error", reject);
            server.listen(ports[0], "127.0.0.1", resolve);
        });
        await new Promise((resolve) => server.close(resolve));
    });

    it("draws from this test worker's own slice of the range, so two files running at once never collide", async () => {
        const low = Number(readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0]);
        const pool = Number(process.env.VITEST_POOL_ID);
        expect(Number.isInteger(pool) && pool >= 1).toBe(true);
        const size = Math.floor((low - 20_000) / 8);
        const sliceLow = 20_000 + ((pool - 1) % 8) * size;
        for (const port of await Promise.all(Array.from({ length: 50 }, () => freePort()))) {
            expect(port).toBeGreaterThanOrEqual(sliceLow);
            expect(port).toBeLessThan(sliceLow + size);
        }
    });
});
