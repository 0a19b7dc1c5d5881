import { describe, expect, it } from "vitest";
import { hashPassword, sealPassword, verifyPassword, verifyPasswordAsync } from "../../src/config/passwords.ts";

describe("device passwords sealed for the life of the process", () => {
    it("verify the right password only, in both checks, and never carry the password", async () => {
        const stored = sealPassword("seal-password-1");
        expect(stored).toMatch(/^hmac\$[0-9a-f]{64}$/);
        expect(stored).not.toContain("seal-password-1");
        expect(verifyPassword("seal-password-1", stored)).toBe(true);
        expect(verifyPassword(Buffer.from("seal-password-1"), stored)).toBe(true);
        expect(verifyPassword("seal-password-2", stored)).toBe(false);
        expect(await verifyPasswordAsync(Buffer.from("seal-password-1"), stored)).toBe(true);
        expect(await verifyPasswordAsync("", stored)).toBe(false);
    });

    it("refuse malformed stored forms instead of throwing", async () => {
        for (const stored of ["hmac$", "hmac$zz", `hmac$${"0".repeat(64)}$extra`, "hmac", "md5$00", ""]) {
            expect(verifyPassword("x", stored), stored).toBe(false);
            expect(await verifyPasswordAsync("x", stored), stored).toBe(false);
        }
    });

    it("still verify scrypt hashes, the form officers' stored passwords take", async () => {
        const stored = hashPassword("officer-password");
        expect(verifyPassword("officer-password", stored)).toBe(true);
        expect(await verifyPasswordAsync("officer-password", stored)).toBe(true);
        expect(await verifyPasswordAsync("other", stored)).toBe(false);
    });
});
