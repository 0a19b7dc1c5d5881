/**
 * The push receiver's Digest pieces as pure logic: the RFC 7616 response, header parsing, and the signed
 * nonces with their replay window and bounded table (the receiver over real HTTP: http-push.test.ts).
 */
import { describe, expect, it } from "vitest";
import {
    DigestNonces,
    digestHa1,
    digestResponse,
    parseDigestAuthorization,
    parseDigestParams,
} from "../../src/drivers/httpDigest.ts";

describe("Digest response", () => {
    it("Should compute RFC 7616 §3.9.1's example response for MD5 and SHA-256", () => {
        const example = {
            nonce: "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
            nc: "00000001",
            cnonce: "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
            qop: "auth",
            method: "GET",
            uri: "/dir/index.html",
        };
        const ha1 = (algorithm: "MD5" | "SHA-256") =>
            digestHa1(algorithm, "Mufasa", "http-auth@example.org", "Circle of Life");
        expect(digestResponse({ ...example, algorithm: "MD5", ha1: ha1("MD5") })).toBe(
            "8ca523f5e9506fed4657c9700eebdbec",
        );
        expect(digestResponse({ ...example, algorithm: "SHA-256", ha1: ha1("SHA-256") })).toBe(
            "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1",
        );
    });
});

describe("Digest headers", () => {
    it("Should read quoted, escaped and bare parameters, and refuse malformed or repeated ones", () => {
        const params = parseDigestParams(
            'Digest username="a\\"b", realm="gate-edge push", nc=0000000a, qop=auth, algorithm=SHA-256',
        );
        expect(Object.fromEntries(params ?? [])).toEqual({
            username: 'a"b',
            realm: "gate-edge push",
            nc: "0000000a",
            qop: "auth",
            algorithm: "SHA-256",
        });
        expect(parseDigestParams('Digest username="x", username="y"')).toBeUndefined();
        expect(parseDigestParams('Digest username="unterminated')).toBeUndefined();
        expect(parseDigestParams("Basic abc")).toBeUndefined();
    });

    it("Should refuse what the receiver does not serve: no qop, another algorithm, a bad nc", () => {
        const base = 'Digest username="u", realm="r", nonce="n", uri="/", response="00", cnonce="c"';
        expect(parseDigestAuthorization(`${base}, qop=auth, nc=00000001`)).toMatchObject({ algorithm: "MD5" });
        expect(parseDigestAuthorization(`${base}, nc=00000001`)).toBe("Digest qop must be auth");
        expect(parseDigestAuthorization(`${base}, qop=auth, nc=00000001, algorithm=MD5-sess`)).toBe(
            "Digest algorithm MD5-sess is not offered",
        );
        expect(parseDigestAuthorization(`${base}, qop=auth, nc=1`)).toBe("Digest header lacks a valid nc or cnonce");
    });
});

describe("Digest nonces", () => {
    const clock = (start: number) => {
        let now = start;
        return {
            now: () => now,
            advance: (ms: number) => {
                now += ms;
            },
        };
    };

    it("Should accept its own nonce until its lifetime ends, then call it stale; a tampered one is forged", () => {
        const time = clock(1_700_000_000_000);
        const nonces = new DigestNonces(60_000, time.now);
        const nonce = nonces.issue();
        expect(nonces.use(nonce, "00000001")).toBe("fresh");
        time.advance(59_999);
        expect(nonces.use(nonce, "00000002")).toBe("fresh");
        time.advance(1);
        expect(nonces.use(nonce, "00000003")).toBe("stale");
        const other = new DigestNonces(60_000, time.now).issue();
        expect(nonces.use(other, "00000001")).toBe("forged");
        const flipped = `${nonce.slice(0, 11)}${nonce[11] === "0" ? "1" : "0"}${nonce.slice(12)}`;
        expect(nonces.use(flipped, "00000001")).toBe("forged");
        expect(nonces.use("not-a-nonce", "00000001")).toBe("forged");
    });

    it("Should refuse a repeated count and one below the 64-count window, and accept reordered ones within it", () => {
        const nonces = new DigestNonces();
        const nonce = nonces.issue();
        const use = (nc: number) => nonces.use(nonce, nc.toString(16).padStart(8, "0"));
        expect(use(0)).toBe("replayed");
        expect([use(3), use(1), use(2), use(2)]).toEqual(["fresh", "fresh", "fresh", "replayed"]);
        expect(use(100)).toBe("fresh");
        expect(use(36)).toBe("replayed"); // 100 - 64 = 36 and below are out of the window
        expect([use(37), use(37), use(99), use(100)]).toEqual(["fresh", "replayed", "fresh", "replayed"]);
    });

    it("Should keep at most 4096 nonces' counts, and never let a dropped nonce be replayed", () => {
        const time = clock(1_700_000_000_000);
        const nonces = new DigestNonces(3_600_000, time.now);
        const issued: string[] = [];
        for (let i = 0; i < 5000; i++) {
            issued.push(nonces.issue());
            time.advance(1);
            expect(nonces.use(issued[i] ?? "", "00000001")).toBe("fresh");
        }
        expect(nonces.tracked).toBeLessThanOrEqual(4096);
        // The first ones were dropped from the table: their replay is stale, not a fresh first use.
        expect(nonces.use(issued[0] ?? "", "00000001")).toBe("stale");
        expect(nonces.use(issued[0] ?? "", "00000002")).toBe("stale");
        // The newest are still tracked.
        expect(nonces.use(issued[4999] ?? "", "00000001")).toBe("replayed");
        expect(nonces.use(issued[4999] ?? "", "00000002")).toBe("fresh");
    });
});
