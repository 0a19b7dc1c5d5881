/**
 * Every peer of a running gate restarts in turn — the TCP serial server of the scale, the ONVIF camera, the
 * lane PLC, the gate's own MQTT broker under the e-seal reader, and central — and the gate recovers each
 * without any call on it: the device is online again, new reads become events, and central ends up with
 * every event of the log (checked on central's own SQLite).
 */
import { createServer } from "node:net";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { CentralSimulator } from "../../simulators/central/index.ts";
import { SealReaderSimulator } from "../../simulators/eseal.ts";
import { LanePlcSimulator } from "../../simulators/lane-plc.ts";
import { OnvifCameraSimulator } from "../../simulators/onvif-camera.ts";
import { ScaleSimulator } from "../../simulators/scale.ts";
import { TcpSerialServer } from "../../simulators/transport.ts";
import type { GateEvent } from "../../src/core/events.ts";
import type { Gate } from "../../src/gate.ts";
import { openDatabase } from "../../src/store/db.ts";
import { auditCentral } from "../helpers/central.ts";
import { eventually, startGate, testConfig } from "../helpers/gate.ts";
import { tempDir } from "../helpers/tmp.ts";

const dir = tempDir();
const stops: (() => Promise<void>)[] = [];
afterAll(async () => {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    dir.cleanup();
});

/** A free TCP port, for peers that must come back where the gate expects them. */
function freePort(): Promise<number> {
    return new Promise((resolve) => {
        const probe = createServer().listen(0, "127.0.0.1", () => {
            const port = (probe.address() as { port: number }).port;
            probe.close(() => resolve(port));
        });
    });
}

const TOKEN = "peers-test-token";

describe("peer restarts", () => {
    it("recovers the scale link, camera, PLC, broker and central without a human", async () => {
        process.env.PEERS_CENTRAL_TOKEN = TOKEN;
        const centralDb = join(dir.path, "central.db");
        let central = new CentralSimulator({ port: 0, dbPath: centralDb, tokens: [TOKEN] });
        const { url: centralUrl } = await central.start();
        const centralPort = central.port;
        stops.push(() => central.stop());

        const scaleLink = new TcpSerialServer({ port: 0 });
        await scaleLink.start();
        stops.push(() => scaleLink.stop());
        const scale = new ScaleSimulator({ model: "toledo-continuous", link: scaleLink, rateHz: 10 });
        await scale.start();
        stops.push(() => scale.stop());

        let camera = new OnvifCameraSimulator({ port: 0, username: "admin", password: "onvif-secret" });
        await camera.start();
        const cameraPort = camera.port;
        stops.push(() => camera.stop());

        const plc = new LanePlcSimulator({
            port: 0,
            lanes: ["L1"],
            pkiFolder: join(dir.path, "plc-pki"),
            travelMs: 200,
            autoCloseMs: 60_000,
            watchdogTimeoutMs: 20_000,
        });
        await plc.start();
        stops.push(() => plc.stop());

        // A fixed broker port: after its restart the seal reader reconnects to the address it knows.
        const brokerPort = await freePort();
        const config = testConfig(
            dir.path,
            `  - id: L1
    devices:
      - { id: scale-l1, model: toledo-continuous, address: "tcp://127.0.0.1:${scaleLink.port}" }
      - { id: seal-l1, model: eseal-mqtt-json, auth: { username: seal-l1, password: seal-l1-password } }
      - { id: cam-l1, model: onvif-anpr, role: front, address: "http://127.0.0.1:${cameraPort}", auth: { username: admin, password: onvif-secret } }
      - { id: plc-l1, model: lane-plc-opcua, address: "${plc.endpointUrl}", plc: { lanePrefix: L1 } }
`,
            `broker: { mode: embedded, host: 127.0.0.1, port: ${brokerPort} }
central: { url: ${JSON.stringify(centralUrl)}, tokenEnv: PEERS_CENTRAL_TOKEN, backoffBaseMs: 100, backoffMaxMs: 1000 }`,
        );
        const gate: Gate = await startGate(config);
        stops.push(() => gate.stop());

        const seal = new SealReaderSimulator({
            model: "eseal-mqtt-json",
            brokerUrl: gate.addresses.mqtt!,
            username: "seal-l1",
            password: "seal-l1-password",
            topicPrefix: "gate/T01/devices/seal-l1",
            readerId: "reader-l1",
            reconnectMs: 200,
        });
        await seal.start();
        stops.push(() => seal.stop());

        const status = (deviceId: string) => gate.runtime(deviceId)!.health().status;
        const online = (deviceId: string, what: string) =>
            eventually(() => status(deviceId) === "online" || undefined, 30_000, `${deviceId} online ${what}`);
        const eventsOf = (deviceId: string): GateEvent[] =>
            gate.log
                .read(0, 1_000_000)
                .filter((event) => event.deviceId === deviceId && event.type.startsWith("reading."));
        /** Sends reads with `send` until one more reading of the device is committed (a reconnect may eat some). */
        const flows = async (deviceId: string, send: (n: number) => Promise<void> | void) => {
            const before = eventsOf(deviceId).length;
            let n = 0;
            await eventually(
                () => {
                    if (eventsOf(deviceId).length > before) return true;
                    void Promise.resolve(send(n++)).catch(() => undefined);
                    return undefined;
                },
                30_000,
                `a new reading of ${deviceId}`,
            );
        };
        let weight = 10_000;
        const weigh = () => {
            // A new settled weight each time: the reducer reports changes, not repeats.
            weight += 1_000;
            scale.setWeight(weight);
        };
        let plateNo = 0;
        const plate = () => {
            plateNo++;
            camera.plate({ text: `15C-${String(100 + plateNo).padStart(3, "0")}.45`, likelihood: 0.93 });
        };
        let sealNo = 0;
        const sealRead = () =>
            seal.read({ sealId: `VNC-01${String(sealNo++).padStart(5, "0")}`, type: "ISO18185", status: "SEALED" });
        let loop = false;
        const presence = () => {
            loop = !loop;
            plc.setLoop("L1", "entry", loop);
        };

        for (const device of ["scale-l1", "seal-l1", "cam-l1", "plc-l1"]) await online(device, "at start");
        // Slow senders: `eventually` polls every 25 ms, so only every 20th poll sends a read.
        const every =
            (k: number, send: () => unknown) =>
            (n: number): void => {
                if (n % k === 0) void Promise.resolve(send()).catch(() => undefined);
            };
        await flows("scale-l1", every(20, weigh));
        await flows("seal-l1", every(20, sealRead));
        await flows("cam-l1", every(20, plate));
        await flows("plc-l1", every(20, presence));

        // 1. The TCP serial server goes away and comes back on the same port.
        await scaleLink.unplug();
        await eventually(() => status("scale-l1") !== "online" || undefined, 15_000, "scale offline");
        await scaleLink.plug();
        await online("scale-l1", "after the serial server restart");
        await flows("scale-l1", every(20, weigh));

        // 2. The ONVIF camera stops; a new one listens on the same port (a reboot loses every subscription).
        await camera.stop();
        await eventually(() => status("cam-l1") !== "online" || undefined, 30_000, "camera offline");
        camera = new OnvifCameraSimulator({ port: cameraPort, username: "admin", password: "onvif-secret" });
        await camera.start();
        await online("cam-l1", "after the camera restart");
        await flows("cam-l1", every(20, plate));

        // 3. The PLC's OPC UA server restarts.
        await plc.restart(500);
        await eventually(() => status("plc-l1") !== "online" || undefined, 15_000, "PLC offline").catch(
            // A restart shorter than the session's keep-alive may be absorbed without a status change.
            () => undefined,
        );
        await online("plc-l1", "after the PLC restart");
        await flows("plc-l1", every(20, presence));

        // 4. The MQTT broker the e-seal reader talks to restarts on its port.
        const broker = gate.embeddedBroker!;
        await broker.stop();
        await eventually(() => status("seal-l1") !== "online" || undefined, 15_000, "seal offline");
        await broker.start();
        await online("seal-l1", "after the broker restart");
        await flows("seal-l1", every(20, sealRead));

        // 5. Central goes away while reads keep coming, and comes back on its port with its store.
        await central.stop();
        await flows("seal-l1", every(20, sealRead));
        await flows("scale-l1", every(20, weigh));
        central = new CentralSimulator({ port: centralPort, dbPath: centralDb, tokens: [TOKEN] });
        await central.start();

        // Every device still online, and central holds every event of the log.
        for (const device of ["scale-l1", "seal-l1", "cam-l1", "plc-l1"]) await online(device, "at the end");
        await eventually(
            () => gate.sync.status().backlog.every((row) => row.pending === 0) || undefined,
            30_000,
            "the upload of everything",
        );
        await seal.stop();
        // The seal reader's goodbye is an event too; let it reach central before the gate stops.
        await eventually(
            () => gate.sync.status().backlog.every((row) => row.pending === 0) || undefined,
            30_000,
            "the upload of the last events",
        );
        const uploaded = gate.log.headSeq;
        await gate.stop();
        const audit = auditCentral(centralDb, config.storage.path, config.gate.id);
        const db = openDatabase(config.storage.path, { readonly: true });
        // Events the stop itself logs (each device "stopped") wait in the outbox for the next start.
        const missing = audit.missing.flatMap((id) => {
            const row = db.prepare("SELECT seq, type, data FROM events WHERE id = ?").get(id) as
                | { seq: number; type: string; data: string }
                | undefined;
            if (row && row.seq > uploaded) return [];
            return [`${row?.seq} ${row?.type} ${row?.data.slice(0, 120)} (head at drain ${uploaded})`];
        });
        db.close();
        expect(missing).toEqual([]);
        expect(audit.extra).toEqual([]);
        expect(audit.stored).toBeGreaterThanOrEqual(uploaded);
        expect(audit.distinctIds).toBe(audit.stored);
    }, 180_000);

    it("carries out the first open given when the PLC is online again after a restart longer than its watchdog", async () => {
        const watchdogTimeoutMs = 2000;
        const plc = new LanePlcSimulator({
            port: 0,
            lanes: ["L1"],
            pkiFolder: join(dir.path, "plc-watchdog-pki"),
            travelMs: 200,
            autoCloseMs: 60_000,
            watchdogTimeoutMs,
        });
        await plc.start();
        stops.push(() => plc.stop());
        const gate = await startGate(
            testConfig(
                dir.path,
                `  - id: L1
    devices:
      - { id: plc-l1, model: lane-plc-opcua, address: "${plc.endpointUrl}", plc: { lanePrefix: L1 } }
`,
            ),
        );
        stops.push(() => gate.stop());
        const online = () => gate.runtime("plc-l1")!.health().status === "online";
        await eventually(() => online() || undefined, 30_000, "PLC online at start");
        let failSafe = false;
        plc.on("failSafe", () => {
            failSafe = true;
        });
        // The lane engine may open as soon as the lane is ready: the open is given in the status change itself.
        let firstOpen: Promise<unknown> | undefined;
        const owner = {};
        gate.bus.on("deviceStatus", owner, (change) => {
            if (change.deviceId === "plc-l1" && change.status === "online" && firstOpen === undefined) {
                firstOpen = gate.actuate("plc-l1", { type: "openBarrier" }).catch((err: unknown) => err);
            }
        });
        try {
            await plc.restart(watchdogTimeoutMs + 1000);
            expect(failSafe).toBe(true);
            await eventually(() => firstOpen, 30_000, "PLC online after the restart");
            expect(await firstOpen).toMatchObject({ confirmed: true });
            await eventually(() => plc.state("L1").barrier === "open" || undefined, 10_000, "barrier open");
        } finally {
            gate.bus.removeListeners(owner);
        }
    }, 60_000);
});
