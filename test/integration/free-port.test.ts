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
        expect(new Set(ports).size).toBeGreaterThan(15);
        const server = createServer();
        await new Promise<void>((resolve, reject) => {
            server.once("error", reject);
            server.listen(ports[0], "127.0.0.1", resolve);
        });
        await new Promise((resolve) => server.close(resolve));
    });
});
