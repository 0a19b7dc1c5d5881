/**
 * A child process that plays N MQTT devices publishing QoS 1 e-seal reads as fast as a bounded window
 * allows, so the measured process (its CPU and its resident memory) does not also carry the load generator.
 * Protocol over the IPC channel: it gets the job, answers {ready}, gets "go", answers {acked, seconds}.
 */
import mqtt from "mqtt";
import { definition as eseal } from "../../devices/eseal-mqtt-json.ts";

export interface PublisherJob {
    url: string;
    devices: { username: string; password: string; topic: string }[];
    messagesPerDevice: number;
    window: number;
    /** Stop publishing after this long (ms), whatever messagesPerDevice says: a background load. */
    durationMs?: number;
}

async function connectDevice(
    job: PublisherJob,
    device: PublisherJob["devices"][number],
    index: number,
): Promise<mqtt.MqttClient> {
    const client = mqtt.connect(job.url, {
        username: device.username,
        password: device.password,
        reconnectPeriod: 0,
        clientId: `bench-${index}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`,
    });
    await new Promise<void>((resolve, reject) => {
        client.once("connect", () => resolve());
        client.once("error", reject);
    });
    return client;
}

async function runDevice(
    job: PublisherJob,
    client: mqtt.MqttClient,
    device: PublisherJob["devices"][number],
    index: number,
): Promise<number> {
    let acked = 0;
    const inFlight = new Set<Promise<void>>();
    const stopAt = job.durationMs === undefined ? Number.POSITIVE_INFINITY : Date.now() + job.durationMs;
    for (let n = 0; n < job.messagesPerDevice && Date.now() < stopAt; n++) {
        const { subtopic, payload } = eseal.encode({
            msg: "read",
            sealId: `B${index}-${n}`,
            type: "ISO18185",
            status: "SEALED",
            battery: { pct: 87, low: false },
            readerId: `reader-${index}`,
            ts: new Date().toISOString(),
        });
        const publish: Promise<void> = client
            .publishAsync(`${device.topic}/${subtopic}`, Buffer.from(payload), { qos: 1 })
            .then(() => {
                acked++;
            })
            .finally(() => inFlight.delete(publish));
        inFlight.add(publish);
        if (inFlight.size >= job.window) await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
    await client.endAsync();
    return acked;
}

function receive<T>(): Promise<T> {
    return new Promise((resolve) => process.once("message", (message) => resolve(message as T)));
}

const job = await receive<PublisherJob & { offset: number }>();
// Log in first (scrypt on the gate side is deliberately slow), then publish on "go": only publishing is timed.
const clients = await Promise.all(job.devices.map((device, index) => connectDevice(job, device, job.offset + index)));
process.send?.({ ready: true });
await receive<string>();
const started = process.hrtime.bigint();
const acked = await Promise.all(
    job.devices.map((device, index) => runDevice(job, clients[index]!, device, job.offset + index)),
);
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
process.send?.({ acked: acked.reduce((a, b) => a + b, 0), seconds }, () => process.exit(0));
