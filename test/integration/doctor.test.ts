/**
 * `gate-edge doctor` against a deliberately broken gate: a serial port that is not there, a store at its
 * quota, a token central refuses, the broker's port taken, a serial server that does not answer. Each is
 * named on its own line, in plain words, and the exit code is 1. With the right token, central's line is ✓.
 */
import { writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CentralSimulator } from "../../simulators/central/index.ts";
import { main } from "../../src/cli.ts";
import { openDatabase } from "../../src/store/db.ts";
import { tempDir } from "../helpers/tmp.ts";

const dir = tempDir();
let central: CentralSimulator;
let taken: Server;
let takenPort = 0;
let closedPort = 0;
const dbPath = join(dir.path, "data", "gate.db");
const configFile = join(dir.path, "gate.yaml");

function listen(server: Server): Promise<number> {
    return new Promise((resolve) =>
        server.listen(0, "127.0.0.1", () => resolve((server.address() as { port: number }).port)),
    );
}

beforeAll(async () => {
    central = new CentralSimulator({ port: 0, dbPath: join(dir.path, "central.db"), tokens: ["the-right-token"] });
    await central.start();
    // Another program on the broker's port.
    taken = createServer();
    takenPort = await listen(taken);
    // A port nothing listens on: the serial server that is switched off.
    const probe = createServer();
    closedPort = await listen(probe);
    await new Promise((resolve) => probe.close(resolve));

    writeFileSync(
        configFile,
        `
gate: { id: DR01 }
storage: { path: ${JSON.stringify(dbPath)}, quotaMb: 16 }
http: { host: 127.0.0.1, port: 0 }
broker: { mode: embedded, host: 127.0.0.1, port: ${takenPort} }
central: { url: "${central.url}", tokenEnv: DOCTOR_TEST_TOKEN }
lanes:
  - id: L1
    devices:
      - { id: scale-l1, model: toledo-continuous, address: "serial:///dev/ttyGATEDOCTOR9?baudRate=9600" }
      - { id: scan-l1, model: serial-barcode-scanner, address: "tcp://127.0.0.1:${closedPort}" }
`,
    );
    // A store at its quota: 17 MiB of plate images in a 16 MiB quota.
    const db = openDatabase(dbPath);
    db.prepare(
        "INSERT INTO images (sha256, content_type, bytes, size, created_at, last_seen_at) VALUES (?, ?, ?, ?, ?, ?)",
    ).run(
        "0".repeat(64),
        "image/jpeg",
        Buffer.alloc(17 * 1024 * 1024, 7),
        17 * 1024 * 1024,
        "2026-01-01",
        "2026-01-01",
    );
    db.close();
});

afterAll(async () => {
    await central.stop();
    await new Promise((resolve) => taken.close(resolve));
    dir.cleanup();
});

async function doctor(token: string): Promise<{ code: number; lines: string[] }> {
    const envFile = join(dir.path, `env-${token}`);
    writeFileSync(envFile, `# the service's environment\nDOCTOR_TEST_TOKEN="${token}"\n`);
    const stdout = new PassThrough();
    let out = "";
    stdout.on("data", (chunk: Buffer) => {
        out += chunk.toString();
    });
    const code = await main(["doctor", "--config", configFile, "--env-file", envFile, "--timeout", "1500"], {
        stdout,
        stderr: stdout,
    });
    return { code, lines: out.split("\n") };
}

describe("gate-edge doctor", () => {
    it("names each problem of a broken gate in plain words and exits 1", async () => {
        const { code, lines } = await doctor("a-wrong-token");
        const has = (pattern: RegExp) =>
            expect(
                lines.some((line) => pattern.test(line)),
                `${pattern}\n${lines.join("\n")}`,
            ).toBe(true);
        expect(code).toBe(1);
        has(/^✓ configuration .*gate\.yaml is valid: gate DR01, 1 lane\(s\), 2 device\(s\)$/);
        has(/^✗ serial port \/dev\/ttyGATEDOCTOR9 \(device scale-l1, lane L1\) does not exist — is the cable in/);
        has(/^✗ the store is full: it uses 17 MiB of its 16 MiB quota \(storage\.quotaMb\)/);
        has(/^✗ central http:\/\/127\.0\.0\.1:\d+\/ refused the token \(HTTP 401\) — DOCTOR_TEST_TOKEN is wrong/);
        has(
            new RegExp(
                `^✗ port ${takenPort} on 127\\.0\\.0\\.1 \\(broker\\.port, the MQTT broker\\) is taken by another program`,
            ),
        );
        has(
            new RegExp(
                `^✗ device scan-l1 \\(lane L1, serial-barcode-scanner\\) does not answer at tcp://127\\.0\\.0\\.1:${closedPort} \\(ECONNREFUSED\\)`,
            ),
        );
        has(/^✓ database .* passes SQLite's integrity check \(schema v\d+\)$/);
        has(/synchronised|cannot tell whether the clock/);
        has(/^5 problem\(s\), \d+ warning\(s\): the gate cannot work as it should until the ✗ lines are fixed\.$/);
    });

    it("says central answered and accepted the token when it did", async () => {
        const { code, lines } = await doctor("the-right-token");
        expect(code).toBe(1);
        expect(lines).toContain(`✓ central ${central.url}/ answered and accepted the token`);
        expect(lines.some((line) => /^4 problem\(s\)/.test(line))).toBe(true);
    });

    it("explains an invalid configuration with its key paths, and a missing file", async () => {
        const bad = join(dir.path, "bad.yaml");
        writeFileSync(
            bad,
            "gate: { id: DR02 }\nstorage: { path: ./x.db }\nlanes:\n  - id: L1\n    devices:\n      - { id: d, model: nope }\n",
        );
        const stdout = new PassThrough();
        let out = "";
        stdout.on("data", (chunk: Buffer) => {
            out += chunk.toString();
        });
        expect(await main(["doctor", "--config", bad], { stdout, stderr: stdout })).toBe(1);
        expect(out).toMatch(
            /✗ configuration .*bad\.yaml is invalid — nothing starts until these are fixed:\n {4}lanes\[0\]\.devices\[0\]\.model: unknown model "nope"/,
        );
        out = "";
        expect(await main(["doctor", "--config", join(dir.path, "missing.yaml")], { stdout, stderr: stdout })).toBe(1);
        expect(out).toMatch(/✗ configuration .*missing\.yaml cannot be read \(ENOENT\)/);
    });
});
