/**
 * Transport security of central sync: HTTPS with the configured CA, mutual TLS with the gate's client
 * certificate, and the bearer token kept out of every log line, alert and status answer.
 */
import { Writable } from "node:stream";
import { pino } from "pino";
import { afterAll, describe, expect, it } from "vitest";
import { CentralSimulator } from "../../simulators/central/index.ts";
import { makeTestCerts } from "../helpers/certs.ts";
import { eventually, startGate, testConfig } from "../helpers/gate.ts";
import { tempDir } from "../helpers/tmp.ts";

const dir = tempDir();
afterAll(() => dir.cleanup());

const lanesYaml = `  - id: L1
    devices:
      - { id: seal-1, model: eseal-mqtt-json, auth: { username: seal-1, password: tls-test-password } }`;

/** Every line the gate logs, at every level, unredacted by any test-side filter. */
function capturingLog(): { log: pino.Logger; text(): string } {
    const lines: string[] = [];
    const sink = new Writable({
        write(chunk, _encoding, done) {
            lines.push(String(chunk));
            done();
        },
    });
    return { log: pino({ level: "trace" }, sink), text: () => lines.join("") };
}

const pending = (gate: Awaited<ReturnType<typeof startGate>>): number =>
    gate.sync.status().backlog.reduce((sum, row) => sum + row.pending, 0);

describe("central sync over TLS", () => {
    const certs = makeTestCerts(dir.path);

    it.skipIf(!certs)("uploads over mutual TLS with the configured CA and client certificate", async () => {
        if (!certs) return;
        const token = "tls-token-0f9e8d7c6b5a";
        process.env.TLS_CENTRAL_TOKEN = token;
        const central = new CentralSimulator({
            port: 0,
            dbPath: `${dir.path}/central-mtls.db`,
            tokens: [token],
            tls: { certFile: certs.serverCert, keyFile: certs.serverKey, clientCaFile: certs.clientCert },
        });
        const { url } = await central.start();
        expect(url).toMatch(/^https:/);
        const config = testConfig(
            dir.path,
            lanesYaml,
            `central: { url: ${JSON.stringify(url)}, tokenEnv: TLS_CENTRAL_TOKEN, ca: ${JSON.stringify(certs.serverCert)}, clientCert: ${JSON.stringify(certs.clientCert)}, clientKey: ${JSON.stringify(certs.clientKey)}, backoffBaseMs: 20, backoffMaxMs: 200 }`,
        );
        const gate = await startGate(config);
        try {
            await Promise.all(
                Array.from({ length: 50 }, (_, i) =>
                    gate.log.append({ type: "reading.weight", laneId: "L1", data: { kg: i } }),
                ),
            );
            await eventually(() => pending(gate) === 0 || undefined, 20_000, "the upload over mutual TLS");
            expect(central.stats(config.gate.id).events).toBe(gate.log.headSeq);
        } finally {
            await gate.stop();
            await central.stop();
        }
    });

    it.skipIf(!certs)("sends nothing to a central it cannot verify, or without its client certificate", async () => {
        if (!certs) return;
        process.env.TLS_CENTRAL_TOKEN = "tls-token-unused";
        const central = new CentralSimulator({
            port: 0,
            dbPath: `${dir.path}/central-refuse.db`,
            tokens: ["tls-token-unused"],
            tls: { certFile: certs.serverCert, keyFile: certs.serverKey, clientCaFile: certs.clientCert },
        });
        const { url } = await central.start();
        // Trusting the wrong CA, then trusting the right one but with no client certificate.
        for (const extra of [`ca: ${JSON.stringify(certs.clientCert)}`, `ca: ${JSON.stringify(certs.serverCert)}`]) {
            const config = testConfig(
                dir.path,
                lanesYaml,
                `central: { url: ${JSON.stringify(url)}, tokenEnv: TLS_CENTRAL_TOKEN, ${extra}, backoffBaseMs: 20, backoffMaxMs: 100 }`,
            );
            const gate = await startGate(config);
            try {
                await eventually(
                    () => (gate.sync.status().counters?.requests.network ?? 0) >= 2 || undefined,
                    10_000,
                    "failed TLS attempts",
                );
                expect(gate.sync.status().lastError).toBeTruthy();
                expect(gate.sync.status().counters?.accepted).toBe(0);
                expect(pending(gate)).toBeGreaterThan(0);
            } finally {
                await gate.stop();
            }
        }
        expect(central.stats("T01").events).toBe(0);
        await central.stop();
    });
});

describe("the central token", () => {
    it("never appears in a log line, an alert or the sync status, even when central refuses it", async () => {
        const token = "sekret-central-token-31337";
        process.env.SECRET_CENTRAL_TOKEN = token;
        const central = new CentralSimulator({
            port: 0,
            dbPath: `${dir.path}/central-token.db`,
            tokens: ["another-token"],
        });
        const { url } = await central.start();
        const config = testConfig(
            dir.path,
            lanesYaml,
            `central: { url: ${JSON.stringify(url)}, tokenEnv: SECRET_CENTRAL_TOKEN, authRetryMs: 100, backoffBaseMs: 20 }`,
        );
        const captured = capturingLog();
        const gate = await startGate(config, { log: captured.log });
        try {
            await gate.log.append({ type: "reading.weight", laneId: "L1", data: { kg: 1 } });
            await eventually(() => (gate.sync.status().counters?.requests.auth ?? 0) >= 2 || undefined, 10_000, "401s");
            const status = gate.sync.status();
            expect(status.state).toBe("auth-failed");
            expect(status.lastError).toMatch(/401/);
            const alerts = gate.log.read(0, 100).filter((e) => e.type === "alert.raised");
            expect(alerts.map((a) => a.data.code)).toEqual(["SYNC_AUTH"]);
            const everything = captured.text() + JSON.stringify(status) + JSON.stringify(gate.log.read(0, 1000));
            expect(everything).toMatch(/central refused the gate's credentials/);
            expect(everything).not.toContain(token);
        } finally {
            await gate.stop();
            await central.stop();
        }
    });
});
