import { connect as connectTcp, type Socket } from "node:net";
import mqtt from "mqtt";
import mqttPacket from "mqtt-packet";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { definition as eseal } from "../../devices/eseal-mqtt-json.ts";
import type { GateEvent, GateEventDraft } from "../../src/core/events.ts";
import type { Gate } from "../../src/gate.ts";
import type { EventSink } from "../../src/ingest/deviceRuntime.ts";
import { apiSession } from "../helpers/api.ts";
import { eventually, startGate, testConfig } from "../helpers/gate.ts";
import { tempDir } from "../helpers/tmp.ts";

const dir = tempDir();
afterAll(() => dir.cleanup());

const lanes = `
  - id: L1
    devices:
      - { id: seal-l1, model: eseal-mqtt-json, auth: { username: seal-l1, password: seal-one-password } }
      - { id: seal-l2, model: eseal-mqtt-json, auth: { username: seal-l2, password: seal-two-password } }
`;
const brokerYaml = "broker: { mode: embedded, host: 127.0.0.1, port: 0 }";
/** Tight limits, so a test reaches them with a handful of connections. */
const limitedBrokerYaml = `broker:
  mode: embedded
  host: 127.0.0.1
  port: 0
  maxPacketBytes: 65536
  connectTimeoutMs: 500
  maxSessionsPerAccount: 2
  loginRateLimit: { maxFailures: 5, windowMinutes: 10 }`;

const sealRead = (sealId: string, status: "SEALED" | "TAMPERED" = "SEALED") =>
    eseal.encode({ msg: "read", sealId, type: "ISO18185", status, ts: new Date().toISOString(), readerId: "r1" });

let gate: Gate | undefined;
const clients: mqtt.MqttClient[] = [];
afterEach(async () => {
    for (const client of clients.splice(0)) await client.endAsync(true);
    await gate?.stop();
    gate = undefined;
});

function connect(
    url: string,
    username: string,
    password: string,
    options: mqtt.IClientOptions = {},
): Promise<mqtt.MqttClient> {
    const client = mqtt.connect(url, { username, password, reconnectPeriod: 0, connectTimeout: 5000, ...options });
    clients.push(client);
    return new Promise((resolve, reject) => {
        client.once("connect", () => resolve(client));
        client.once("error", reject);
    });
}

function storedOfType(g: Gate, type: string): GateEvent[] {
    return g.log.read(0, 10_000).filter((event) => event.type === type);
}

describe("embedded MQTT broker", () => {
    it("stores a device's QoS 1 publish and acknowledges it", async () => {
        gate = await startGate(testConfig(dir.path, lanes, brokerYaml));
        const client = await connect(gate.addresses.mqtt!, "seal-l1", "seal-one-password");
        const { subtopic, payload } = sealRead("VNC-000123", "TAMPERED");
        await client.publishAsync(`gate/T01/devices/seal-l1/${subtopic}`, Buffer.from(payload), { qos: 1 });
        // The PUBACK came back, so the reading and its alert are already committed: no waiting needed.
        const [reading] = storedOfType(gate, "reading.seal");
        expect(reading).toMatchObject({
            deviceId: "seal-l1",
            laneId: "L1",
            data: { values: { sealId: "VNC-000123", status: "TAMPERED" } },
        });
        expect(storedOfType(gate, "alert.raised")[0]?.data).toMatchObject({
            code: "SEAL_TAMPERED",
            sealId: "VNC-000123",
        });
    });

    it("refuses a wrong password and an unknown user", async () => {
        gate = await startGate(testConfig(dir.path, lanes, brokerYaml));
        await expect(connect(gate.addresses.mqtt!, "seal-l1", "not-the-password")).rejects.toThrow(
            /Bad username or password/i,
        );
        await expect(connect(gate.addresses.mqtt!, "intruder", "seal-one-password")).rejects.toThrow(
            /Bad username or password/i,
        );
        expect(gate.embeddedBroker?.counters.authFailures).toBe(2);
    });

    it("refuses a publish outside the device's own topic and stores nothing from it", async () => {
        gate = await startGate(testConfig(dir.path, lanes, brokerYaml));
        const client = await connect(gate.addresses.mqtt!, "seal-l1", "seal-one-password");
        const closed = new Promise<void>((resolve) => client.once("close", () => resolve()));
        const { payload } = sealRead("VNC-999999");
        // seal-l1 pretends to be seal-l2.
        client.publish("gate/T01/devices/seal-l2/seal", Buffer.from(payload), { qos: 1 });
        await closed;
        expect(gate.embeddedBroker?.counters.aclRefusals).toBe(1);
        expect(storedOfType(gate, "reading.seal")).toEqual([]);
    });

    it("refuses a subscription to another device's topic", async () => {
        gate = await startGate(testConfig(dir.path, lanes, brokerYaml));
        const client = await connect(gate.addresses.mqtt!, "seal-l1", "seal-one-password");
        // SUBACK 128 (failure); MQTT.js turns it into a rejection.
        await expect(client.subscribeAsync("gate/T01/devices/seal-l2/#", { qos: 1 })).rejects.toThrow(
            /Subscribe error/,
        );
        expect(gate.embeddedBroker?.counters.aclRefusals).toBe(1);
        const own = await client.subscribeAsync("gate/T01/lanes/L1/state", { qos: 1 });
        expect(own[0]?.qos).toBe(1);
    });

    it("counts a non-JSON or oversized payload, acknowledges it, and stores no reading", async () => {
        gate = await startGate(testConfig(dir.path, lanes, brokerYaml));
        const client = await connect(gate.addresses.mqtt!, "seal-l1", "seal-one-password");
        await client.publishAsync("gate/T01/devices/seal-l1/seal", "{not json", { qos: 1 });
        await client.publishAsync("gate/T01/devices/seal-l1/seal", Buffer.alloc(eseal.maxPayloadBytes + 1, 0x20), {
            qos: 1,
        });
        const runtime = gate.runtime("seal-l1")!;
        expect(runtime.counters.invalid).toBe(2);
        expect(runtime.recentFrames().map((frame) => frame.outcome)).toEqual(["invalid", "invalid"]);
        expect(storedOfType(gate, "reading.seal")).toEqual([]);
        // The device is still connected and its next good read is stored.
        await client.publishAsync("gate/T01/devices/seal-l1/seal", Buffer.from(sealRead("VNC-1").payload), { qos: 1 });
        expect(storedOfType(gate, "reading.seal")).toHaveLength(1);
    });

    it("sends the PUBACK only after the event is committed", async () => {
        // A sink that holds every commit until the test lets it through.
        const held: (() => void)[] = [];
        const wrapSink = (log: EventSink): EventSink => ({
            append: (draft: GateEventDraft) =>
                draft.type.startsWith("reading.")
                    ? new Promise<void>((release) => held.push(release)).then(() => log.append(draft))
                    : log.append(draft),
        });
        gate = await startGate(testConfig(dir.path, lanes, brokerYaml), { wrapSink });
        const client = await connect(gate.addresses.mqtt!, "seal-l1", "seal-one-password");
        let acked = false;
        const publish = client
            .publishAsync("gate/T01/devices/seal-l1/seal", Buffer.from(sealRead("VNC-42").payload), { qos: 1 })
            .then(() => {
                acked = true;
            });
        await eventually(() => held.length === 1 || undefined, 5000, "the commit to be requested");
        // Proves that no PUBACK comes while the commit is held: a pause on purpose, nothing to wait for.
        await new Promise((resolve) => setTimeout(resolve, 300));
        expect(acked).toBe(false);
        expect(storedOfType(gate, "reading.seal")).toEqual([]);
        held[0]!();
        await publish;
        expect(acked).toBe(true);
        expect(storedOfType(gate, "reading.seal")).toHaveLength(1);
    });

    it("reports a device online while its MQTT session is up and offline when it goes", async () => {
        gate = await startGate(testConfig(dir.path, lanes, brokerYaml));
        const g = gate;
        const runtime = g.runtime("seal-l1")!;
        expect(runtime.health().status).toBe("offline");
        const client = await connect(g.addresses.mqtt!, "seal-l1", "seal-one-password");
        await eventually(() => runtime.health().status === "online" || undefined, 5000, "online");
        await client.endAsync();
        await eventually(() => runtime.health().status === "offline" || undefined, 5000, "offline");
        const statuses = storedOfType(g, "device.status").filter((event) => event.deviceId === "seal-l1");
        expect(statuses.map((event) => event.data.status)).toEqual(["online", "offline"]);
    });

    it("refuses a login with another device's client id, and that device's session stays", async () => {
        gate = await startGate(testConfig(dir.path, lanes, brokerYaml));
        const g = gate;
        const rightful = await connect(g.addresses.mqtt!, "seal-l2", "seal-two-password", { clientId: "reader-l2" });
        const runtime = g.runtime("seal-l2")!;
        await eventually(() => runtime.health().status === "online" || undefined, 5000, "seal-l2 online");
        // seal-l1's own credentials, seal-l2's client id: once the id seal-l2 uses, once seal-l2's device id.
        for (const clientId of ["reader-l2", "seal-l2"]) {
            await expect(connect(g.addresses.mqtt!, "seal-l1", "seal-one-password", { clientId })).rejects.toThrow(
                /Not authorized/i,
            );
        }
        expect(g.embeddedBroker?.counters.clientIdRefusals).toBe(2);
        // The rightful session was never touched: still connected, still publishing, never reported offline.
        await rightful.publishAsync("gate/T01/devices/seal-l2/seal", Buffer.from(sealRead("VNC-7").payload), {
            qos: 1,
        });
        expect(rightful.connected).toBe(true);
        expect(runtime.health().status).toBe("online");
        const statuses = storedOfType(g, "device.status").filter((event) => event.deviceId === "seal-l2");
        expect(statuses.map((event) => event.data.status)).toEqual(["online"]);
        // Its own device may reconnect with the id (a takeover within one account).
        const again = await connect(g.addresses.mqtt!, "seal-l2", "seal-two-password", { clientId: "reader-l2" });
        expect(again.connected).toBe(true);
    });

    it("gives one device account at most broker.maxSessionsPerAccount sessions, even when they log in at once", async () => {
        gate = await startGate(testConfig(dir.path, lanes, limitedBrokerYaml));
        const url = gate.addresses.mqtt!;
        const outcomes = await Promise.allSettled(
            Array.from({ length: 12 }, (_, i) =>
                connect(url, "seal-l1", "seal-one-password", { clientId: `seal-l1-session-${i}` }),
            ),
        );
        expect(outcomes.filter((outcome) => outcome.status === "fulfilled")).toHaveLength(2);
        const refusals = outcomes.filter((outcome) => outcome.status === "rejected");
        expect(refusals).toHaveLength(10);
        for (const refusal of refusals) expect(String(refusal.reason)).toMatch(/Server unavailable/i);
        expect(gate.embeddedBroker?.counters.sessionLimitRefusals).toBe(10);
    });

    it("checks no more than loginRateLimit.maxFailures passwords from one address, however many arrive at once", async () => {
        gate = await startGate(testConfig(dir.path, lanes, limitedBrokerYaml));
        const url = gate.addresses.mqtt!;
        const outcomes = await Promise.allSettled(
            Array.from({ length: 60 }, (_, i) => connect(url, i % 2 ? "seal-l1" : "nobody", `guess-${i}`)),
        );
        const reasons = outcomes.map((outcome) => (outcome.status === "rejected" ? String(outcome.reason) : "ok"));
        expect(reasons.filter((reason) => /Bad username or password/i.test(reason))).toHaveLength(5);
        expect(reasons.filter((reason) => /Server unavailable/i.test(reason))).toHaveLength(55);
        expect(gate.embeddedBroker?.counters).toMatchObject({ authFailures: 5, loginsThrottled: 55 });
    });

    it("closes a socket whose first packet is not CONNECT, or that declares a packet over maxPacketBytes", async () => {
        gate = await startGate(testConfig(dir.path, lanes, limitedBrokerYaml));
        const { port } = new URL(gate.addresses.mqtt!);
        // A PUBLISH header declaring 100 MB, then its first MiB, with no CONNECT before it.
        const publishFirst = await rawSocket(Number(port));
        publishFirst.write(Buffer.concat([Buffer.from([0x30]), remainingLength(100 * 2 ** 20)]));
        publishFirst.write(Buffer.alloc(2 ** 20, 0x41));
        await closed(publishFirst);
        // A CONNECT that declares 100 MB: closed on its length bytes.
        const hugeConnect = await rawSocket(Number(port));
        hugeConnect.write(Buffer.concat([Buffer.from([0x10]), remainingLength(100 * 2 ** 20)]));
        await closed(hugeConnect);
        // A logged-in device's packet over the limit: closed as well.
        const client = await connect(gate.addresses.mqtt!, "seal-l1", "seal-one-password");
        const gone = new Promise<void>((resolve) => client.once("close", () => resolve()));
        client.publish("gate/T01/devices/seal-l1/seal", Buffer.alloc(65_537, 0x20), { qos: 1 });
        await gone;
        expect(gate.embeddedBroker?.counters.framesRefused).toBe(3);
        expect(storedOfType(gate, "reading.seal")).toEqual([]);
    });

    it("closes a socket that has not logged in within connectTimeoutMs", async () => {
        gate = await startGate(testConfig(dir.path, lanes, limitedBrokerYaml));
        const { port } = new URL(gate.addresses.mqtt!);
        const silent = await rawSocket(Number(port));
        // A CONNECT cut short: the broker is waiting for the rest, which never comes.
        const startedConnect = await rawSocket(Number(port));
        startedConnect.write(Buffer.from([0x10, 0x20, 0x00, 0x04]));
        await Promise.all([closed(silent), closed(startedConnect)]);
        expect(gate.embeddedBroker?.counters.connectTimeouts).toBe(2);
    });

    it("stores every message of a burst of 3,000 QoS 2 publishes exactly once and completes each", async () => {
        gate = await startGate(testConfig(dir.path, lanes, brokerYaml));
        const client = await connect(gate.addresses.mqtt!, "seal-l1", "seal-one-password");
        const burst = Array.from({ length: 3000 }, (_, i) => {
            const { subtopic, payload } = sealRead(`VNC-${String(i).padStart(5, "0")}`);
            return client.publishAsync(`gate/T01/devices/seal-l1/${subtopic}`, Buffer.from(payload), { qos: 2 });
        });
        // Each resolves on its PUBCOMP; a dropped connection rejects them.
        await Promise.all(burst);
        const sealIds = storedOfType(gate, "reading.seal").map((event) => JSON.stringify(event.data.values));
        expect(sealIds).toHaveLength(3000);
        expect(new Set(sealIds).size).toBe(3000);
    }, 60_000);

    it("stores a QoS 2 publish sent again before its PUBREL only once", async () => {
        gate = await startGate(testConfig(dir.path, lanes, brokerYaml));
        const { port } = new URL(gate.addresses.mqtt!);
        const { payload } = sealRead("VNC-QOS2");
        const publish = (dup: boolean) =>
            mqttPacket.generate({
                cmd: "publish",
                topic: "gate/T01/devices/seal-l1/seal",
                payload: Buffer.from(payload),
                qos: 2,
                messageId: 42,
                dup,
                retain: false,
            });
        // A persistent session (clean false) whose PUBREC is lost: the device sends the PUBLISH again after
        // reconnecting, as MQTT 3.1.1 tells it to.
        for (const dup of [false, true]) {
            const socket = await rawSocket(Number(port));
            const packets = packetReader(socket);
            socket.write(
                mqttPacket.generate({
                    cmd: "connect",
                    protocolId: "MQTT",
                    protocolVersion: 4,
                    clientId: "seal-l1-persistent",
                    clean: false,
                    keepalive: 30,
                    username: "seal-l1",
                    password: Buffer.from("seal-one-password"),
                }),
            );
            expect((await packets.next("connack")).returnCode).toBe(0);
            socket.write(publish(dup));
            expect((await packets.next("pubrec")).messageId).toBe(42);
            socket.destroy();
            await closed(socket);
        }
        // Handed to the device's decoder once (a second hand-over would be a frame counted as a duplicate read).
        expect(gate.runtime("seal-l1")?.counters.frames).toBe(1);
        expect(storedOfType(gate, "reading.seal")).toHaveLength(1);
        expect(gate.embeddedBroker?.counters.qos2Repeats).toBe(1);
    });

    it("does not retain a device's publish: only the lane state is retained", async () => {
        gate = await startGate(testConfig(dir.path, lanes, brokerYaml));
        const url = gate.addresses.mqtt!;
        const publisher = await connect(url, "seal-l1", "seal-one-password");
        await publisher.publishAsync("gate/T01/devices/seal-l1/seal", Buffer.from(sealRead("VNC-R").payload), {
            qos: 1,
            retain: true,
        });
        expect(storedOfType(gate, "reading.seal")).toHaveLength(1);
        const subscriber = await connect(url, "seal-l1", "seal-one-password");
        const received: string[] = [];
        subscriber.on("message", (topic) => received.push(topic));
        await subscriber.subscribeAsync(["gate/T01/devices/seal-l1/#", "gate/T01/lanes/L1/state"], { qos: 1 });
        // The lane state comes retained; a device's own publish must not. A live publish marks the end.
        await publisher.publishAsync("gate/T01/devices/seal-l1/heartbeat", "{}", { qos: 1 });
        await eventually(() => received.includes("gate/T01/devices/seal-l1/heartbeat") || undefined, 5000, "marker");
        expect(received).toContain("gate/T01/lanes/L1/state");
        expect(received).not.toContain("gate/T01/devices/seal-l1/seal");
        expect(gate.embeddedBroker?.counters.retainCleared).toBe(1);
    });

    it("shows MQTT client ids in /api/v1/health to a logged-in technician only", async () => {
        gate = await startGate(testConfig(dir.path, lanes, brokerYaml));
        const g = gate;
        await connect(g.addresses.mqtt!, "seal-l2", "seal-two-password", { clientId: "reader-l2-secret" });
        await eventually(() => g.runtime("seal-l2")!.health().status === "online" || undefined, 5000, "online");
        const anonymous = await (await fetch(`${g.addresses.http}/api/v1/health`)).text();
        expect(anonymous).not.toContain("reader-l2-secret");
        expect(JSON.parse(anonymous).devices).toContainEqual(
            expect.objectContaining({ id: "seal-l2", status: "online" }),
        );
        const technician = await (await apiSession(g, "technician").fetch("/api/v1/health")).text();
        expect(technician).toContain("reader-l2-secret");
    });
});

function rawSocket(port: number): Promise<Socket> {
    return new Promise((resolve, reject) => {
        const socket = connectTcp(port, "127.0.0.1", () => resolve(socket));
        socket.once("error", reject);
    });
}

/** Resolves once the broker closed the socket (writes into a closed socket may fail; that is expected). */
function closed(socket: Socket): Promise<void> {
    socket.on("error", () => undefined);
    return socket.closed ? Promise.resolve() : new Promise((resolve) => socket.once("close", () => resolve()));
}

/** An MQTT remaining length (variable byte integer). */
function remainingLength(value: number): Buffer {
    const bytes: number[] = [];
    let left = value;
    do {
        const byte = left % 128;
        left = Math.floor(left / 128);
        bytes.push(left > 0 ? byte | 0x80 : byte);
    } while (left > 0);
    return Buffer.from(bytes);
}

/** The packets a raw socket receives, awaited one command at a time. */
function packetReader(socket: Socket): { next(cmd: string): Promise<mqttPacket.Packet & Record<string, unknown>> } {
    const parser = mqttPacket.parser({ protocolVersion: 4 });
    const packets: mqttPacket.Packet[] = [];
    let wake: (() => void) | undefined;
    parser.on("packet", (packet) => {
        packets.push(packet);
        wake?.();
    });
    socket.on("data", (chunk) => parser.parse(chunk));
    return {
        async next(cmd) {
            for (;;) {
                const at = packets.findIndex((packet) => packet.cmd === cmd);
                // mqtt-packet's union has no index signature; the tests read fields by name.
                if (at >= 0) return packets.splice(at, 1)[0] as mqttPacket.Packet & Record<string, unknown>;
                await new Promise<void>((resolve) => {
                    wake = resolve;
                });
            }
        },
    };
}
