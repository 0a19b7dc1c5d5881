/**
 * Gate.reload(), the work behind SIGHUP: a device removed (its login stops working, the evidence says
 * why it went quiet), a lane added, a rule parameter changed, a push camera that needs a restart, and a
 * lane with a truck in it left alone until it is idle.
 */
import mqtt from "mqtt";
import { afterAll, describe, expect, it } from "vitest";
import { ScannerSimulator } from "../../simulators/scanner.ts";
import { TcpSerialServer } from "../../simulators/transport.ts";
import type { GateConfig } from "../../src/config/types.ts";
import { eventually, startGate, testConfig } from "../helpers/gate.ts";
import { tempDir } from "../helpers/tmp.ts";

const dir = tempDir();
afterAll(() => dir.cleanup());

async function scanner() {
    const link = new TcpSerialServer({ port: 0 });
    const sim = new ScannerSimulator({ model: "serial-barcode-scanner", link });
    await sim.start();
    return { sim, port: link.port };
}

function mqttLogin(url: string, username: string, password: string): Promise<boolean> {
    return new Promise((resolve) => {
        const client = mqtt.connect(url, { username, password, reconnectPeriod: 0 });
        client.once("connect", () => {
            client.end(true);
            resolve(true);
        });
        client.once("error", () => {
            client.end(true);
            resolve(false);
        });
    });
}

describe("configuration reload", () => {
    it("removes and adds devices and lanes, applies rules, and says what waits or needs a restart", async () => {
        const scan2 = await scanner();
        const scan3 = await scanner();
        const seal =
            "      - { id: seal-1, model: eseal-mqtt-json, auth: { username: seal-1, password: reload-seal-pw } }";
        const l2 = `  - id: L2\n    devices:\n      - { id: scan-2, model: serial-barcode-scanner, address: "tcp://127.0.0.1:${scan2.port}" }`;
        const base = testConfig(dir.path, `  - id: L1\n    devices:\n${seal}\n${l2}`);
        const withStorage = (config: GateConfig): GateConfig => ({ ...config, storage: base.storage });
        const gate = await startGate(base);
        try {
            await eventually(() => gate.readiness().find((lane) => lane.laneId === "L2")?.ready, 10_000, "L2 ready");
            // The reader is connected (and online) when the reload takes it out of service.
            const reader = mqtt.connect(gate.addresses.mqtt as string, {
                username: "seal-1",
                password: "reload-seal-pw",
                reconnectPeriod: 0,
            });
            reader.on("error", () => undefined);
            await new Promise((resolve) => reader.once("connect", resolve));
            await eventually(() => gate.runtime("seal-1")?.health().status === "online", 10_000, "seal-1 online");

            const next = withStorage(
                testConfig(
                    dir.path,
                    [
                        "  - id: L1\n    devices:\n      - { id: scan-1b, model: serial-barcode-scanner, address: tcp://127.0.0.1:1 }",
                        `${l2}\n      - { id: cam-2, model: dahua-itsapi-anpr, role: rear, auth: { username: cam-2, password: cam-2-password } }`,
                        `  - id: L3\n    devices:\n      - { id: scan-3, model: serial-barcode-scanner, address: "tcp://127.0.0.1:${scan3.port}" }`,
                    ].join("\n"),
                    "rules: { minPlateConfidence: 0.8 }",
                ),
            );
            const report = await gate.reload(next);
            expect(report.applied).toEqual([
                "lanes[L1].devices[scan-1b] (added)",
                "lanes[L1].devices[seal-1] (removed)",
                "lanes[L3] (added)",
                "rules.minPlateConfidence",
            ]);
            expect(report.restartNeeded).toEqual(["lanes[L2].devices[cam-2] (push camera: restart needed)"]);
            expect(report.deferred).toEqual([]);
            // The configuration in force: the file's, but lane 2 as it ran (its camera waits for the restart).
            const running = gate.configuration;
            expect(running.rules.minPlateConfidence).toBe(0.8);
            expect(running.lanes.map((lane) => [lane.id, lane.devices.map((device) => device.id)])).toEqual([
                ["L1", ["scan-1b"]],
                ["L2", ["scan-2"]],
                ["L3", ["scan-3"]],
            ]);
            // The removed reader's session is closed and it cannot log in any more; its last status says why it
            // went quiet.
            await eventually(() => !reader.connected || undefined, 10_000, "seal-1's session closed");
            reader.end(true);
            expect(await mqttLogin(gate.addresses.mqtt as string, "seal-1", "reload-seal-pw")).toBe(false);
            const events = gate.log.read(0, 1000);
            const last = events.filter((event) => event.deviceId === "seal-1" && event.type === "device.status").at(-1);
            expect(last?.data).toMatchObject({
                status: "offline",
                reason: expect.stringMatching(/configuration reload/),
            });
            const applied = events.filter((event) => event.type === "config.applied").at(-1);
            expect(applied?.data).toMatchObject({ reload: true, revision: report.revision, lanes: ["L1", "L2", "L3"] });
            await eventually(() => gate.readiness().find((lane) => lane.laneId === "L3")?.ready, 10_000, "L3 ready");
            // Lane 2 kept its scanner session through all of it.
            expect(gate.runtime("scan-2")?.health().status).toBe("online");

            // A truck in lane 2 (a declaration scanned): a change to that lane waits for it to leave.
            scan2.sim.scan("101234567820");
            await eventually(() => gate.lanes.laneState("L2") !== "IDLE" || undefined, 5000, "a passage in L2");
            const busy = await gate.reload(
                withStorage(
                    testConfig(
                        dir.path,
                        [
                            "  - id: L1\n    devices:\n      - { id: scan-1b, model: serial-barcode-scanner, address: tcp://127.0.0.1:1 }",
                            `${l2}\n      - { id: scan-2b, model: serial-barcode-scanner, address: tcp://127.0.0.1:2 }`,
                            `  - id: L3\n    devices:\n      - { id: scan-3, model: serial-barcode-scanner, address: "tcp://127.0.0.1:${scan3.port}" }`,
                        ].join("\n"),
                        "rules: { minPlateConfidence: 0.8 }",
                    ),
                ),
            );
            expect(busy.applied).toEqual([]);
            expect(busy.deferred).toEqual([
                `lanes[L2].devices[scan-2b] (added) (lane busy: ${gate.lanes.laneState("L2")})`,
            ]);
            expect(gate.runtime("scan-2b")).toBeUndefined();
            expect(busy.revision).toBe(report.revision);
        } finally {
            await gate.stop();
            await scan2.sim.stop();
            await scan3.sim.stop();
        }
    });
});
