import mqtt from "mqtt";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { definition as eseal } from "../../devices/eseal-mqtt-json.ts";
import type { GateEvent, GateEventDraft } from "../../src/core/events.ts";
import type { Gate } from "../../src/gate.ts";
import type { EventSink } from "../../src/ingest/deviceRuntime.ts";
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

const sealRead = (sealId: string, status: "SEALED" | "TAMPERED" = "SEALED") =>
    eseal.encode({ msg: "read", sealId, type: "ISO18185", status, ts: new Date().toISOString(), readerId: "r1" });

let gate: Gate | undefined;
const clients: mqtt.MqttClient[] = [];
afterEach(async () => {
    for (const client of clients.splice(0)) await client.endAsync(true);
    await gate?.stop();
    gate = undefined;
});

function connect(url: string, username: string, password: string): Promise<mqtt.MqttClient> {
    const client = mqtt.connect(url, { username, password, reconnectPeriod: 0, connectTimeout: 5000 });
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
});
