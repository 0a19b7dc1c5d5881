import { describe, expect, it } from "vitest";
import { DeviceLoginLimiter } from "../../src/core/loginRateLimiter.ts";

describe("DeviceLoginLimiter", () => {
    const limit = { maxFailures: 3, windowMinutes: 1 };

    it("counts an attempt before its check: parallel guesses past the limit are refused unchecked", () => {
        const limiter = new DeviceLoginLimiter(limit, () => 0);
        const attempts = Array.from({ length: 10 }, () => limiter.begin("10.0.0.9", "seal-1", "seal-1"));
        expect(attempts.filter((attempt) => attempt !== undefined)).toHaveLength(3);
        expect(limiter.refused).toBe(7);
    });

    it("a stranger guessing a device's password elsewhere cannot keep the device out from its own address", () => {
        let now = 0;
        const limiter = new DeviceLoginLimiter(limit, () => now);
        limiter.begin("10.0.0.5", "seal-1", "seal-1")?.succeeded();
        for (const address of ["10.0.0.66", "10.0.0.67", "10.0.0.68"])
            limiter.begin(address, "seal-1", "seal-1")?.failed();
        // The device's account is used up for everyone else ...
        expect(limiter.begin("10.0.0.69", "seal-1", "seal-1")).toBeUndefined();
        // ... but not for the address the device last logged in from.
        expect(limiter.begin("10.0.0.5", "seal-1", "seal-1")).toBeDefined();
        // After the window the account may be tried again from anywhere.
        now += 60_001;
        expect(limiter.begin("10.0.0.69", "seal-1", "seal-1")).toBeDefined();
    });
});
