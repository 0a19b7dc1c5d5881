/**
 * The officer login limit under parallel requests, over real HTTP: an attempt takes its place in the limit
 * before its password is checked, so however many guesses arrive at once, at most the limit are checked.
 * Each test logs in from its own loopback address (127.0.0.x), so the per-address limit of one test does
 * not spill into the next.
 */
import { request } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Gate } from "../../src/gate.ts";
import { AuditLog } from "../../src/store/auditLog.ts";
import { apiSession, TEST_PASSWORD } from "../helpers/api.ts";
import { startGate, testConfig } from "../helpers/gate.ts";
import { tempDir } from "../helpers/tmp.ts";

const dir = tempDir();
let gate: Gate;
/** http.loginRateLimit.maxFailures of the test config (the default). */
const LIMIT = 5;

beforeAll(async () => {
    gate = await startGate(
        testConfig(
            dir.path,
            `  - id: L1
    devices:
      - { id: scan-1, model: serial-barcode-scanner, address: "tcp://127.0.0.1:9" }
`,
        ),
    );
}, 60_000);

afterAll(async () => {
    await gate?.stop();
    dir.cleanup();
});

interface Answer {
    status: number;
    retryAfter?: string;
}

/** POST /api/v1/auth/login on the gate's real socket, from `from` (a 127.0.0.0/8 address). */
function login(username: string, password: string, from: string): Promise<Answer> {
    const url = new URL("/api/v1/auth/login", gate.addresses.http);
    const body = JSON.stringify({ username, password });
    return new Promise((resolve, reject) => {
        const req = request(
            url,
            {
                method: "POST",
                localAddress: from,
                agent: false,
                headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) },
            },
            (res) => {
                res.resume();
                res.on("end", () => {
                    const retryAfter = res.headers["retry-after"];
                    resolve({ status: res.statusCode ?? 0, ...(retryAfter !== undefined && { retryAfter }) });
                });
            },
        );
        req.on("error", reject);
        req.end(body);
    });
}

/**
 * Starts `count` wrong logins at once and waits until one of them is refused with 429 (or all are answered,
 * which only happens when none is refused): a 429 proves the limit is full at that moment.
 */
async function guessesUntilRefused(
    count: number,
    guess: (index: number) => Promise<Answer>,
): Promise<Promise<Answer[]>> {
    let refused!: () => void;
    const firstRefusal = new Promise<void>((resolve) => {
        refused = resolve;
    });
    const answers = Array.from({ length: count }, (_, index) =>
        guess(index).then((answer) => {
            if (answer.status === 429) refused();
            return answer;
        }),
    );
    const all = Promise.all(answers);
    await Promise.race([firstRefusal, all]);
    return all;
}

const statusCounts = (answers: Answer[]) => ({
    checked: answers.filter((a) => a.status === 200 || a.status === 401).length,
    refused: answers.filter((a) => a.status === 429).length,
    other: answers.filter((a) => ![200, 401, 429].includes(a.status)).length,
});

describe("the login limit under parallel requests", () => {
    it("checks at most the limit of 40 parallel guesses at one name, and refuses the right password among them", async () => {
        apiSession(gate, "officer", "parallel");
        const from = "127.0.0.2";
        const wrong = await guessesUntilRefused(39, (i) => login("parallel", `wrong-password-${i}`, from));
        // The right password, sent while the other guesses are still in flight, once the limit is full.
        const right = await login("parallel", TEST_PASSWORD, from);
        const answers = [...(await wrong), right];
        const counts = statusCounts(answers);
        expect(counts.checked).toBeLessThanOrEqual(LIMIT);
        expect(counts.refused).toBeGreaterThanOrEqual(40 - LIMIT);
        expect(counts.other).toBe(0);
        expect(right.status).toBe(429);
        expect(Number(right.retryAfter)).toBeGreaterThan(0);
        // The audit log agrees: no more checked logins than the limit, every other one refused.
        const entries = new AuditLog(gate.database)
            .list(0, 100_000)
            .filter((e) => e.action === "auth.login" && e.user === "parallel");
        expect(entries.filter((e) => e.outcome !== "denied").length).toBeLessThanOrEqual(LIMIT);
        expect(entries.some((e) => e.outcome === "ok")).toBe(false);
        expect(entries).toHaveLength(40);
    });

    it("checks at most the limit of 40 parallel logins from one address under 40 different names", async () => {
        apiSession(gate, "officer", "spray-right");
        const from = "127.0.0.3";
        const wrong = await guessesUntilRefused(39, (i) => login(`spray-${i}`, "wrong-password", from));
        const right = await login("spray-right", TEST_PASSWORD, from);
        const counts = statusCounts([...(await wrong), right]);
        expect(counts.checked).toBeLessThanOrEqual(LIMIT);
        expect(counts.refused).toBeGreaterThanOrEqual(40 - LIMIT);
        expect(right.status).toBe(429);
    });

    it("lets the right password through below the limit, and a success clears the name's failures", async () => {
        apiSession(gate, "officer", "typo");
        const from = "127.0.0.4";
        for (let i = 0; i < LIMIT - 1; i++) expect((await login("typo", "wrong-password", from)).status).toBe(401);
        expect((await login("typo", TEST_PASSWORD, from)).status).toBe(200);
        // The name starts again from zero: from another address, LIMIT more failures are checked.
        for (let i = 0; i < LIMIT; i++) expect((await login("typo", "wrong-password", "127.0.0.5")).status).toBe(401);
        expect((await login("typo", TEST_PASSWORD, "127.0.0.6")).status).toBe(429);
    });
});
