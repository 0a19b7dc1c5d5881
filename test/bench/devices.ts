import { mkdirSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
    AttributeIds,
    ClientMonitoredItem,
    DataType,
    MessageSecurityMode,
    OPCUACertificateManager,
    OPCUAClient,
    SecurityPolicy,
    TimestampsToReturn,
} from "node-opcua";
import { pino } from "pino";
import { definition as dahua } from "../../devices/dahua-itsapi-anpr.ts";
import { LanePlcSimulator } from "../../simulators/lane-plc.ts";
import { OnvifCameraSimulator } from "../../simulators/onvif-camera.ts";
import { SAMPLE_JPEG } from "../../simulators/push-camera.ts";
import { parseConfig } from "../../src/config/load.ts";
import { Gate } from "../../src/gate.ts";
import { latencySummary } from "./stats.ts";

interface Latencies {
    name: string;
    samples: number;
    p50: number;
    p99: number;
    max: number;
}

function summarise(name: string, ms: number[]): Latencies {
    return { name, samples: ms.length, ...latencySummary(ms) };
}

const now = () => Number(process.hrtime.bigint()) / 1e6;

/** POSTs one body and resolves with the answer's status when the whole answer is in. */
function post(url: string, path: string, contentType: string, body: Uint8Array, auth?: string): Promise<number> {
    return new Promise((resolve, reject) => {
        const req = request(
            `${url}${path}`,
            {
                method: "POST",
                headers: {
                    "content-type": contentType,
                    "content-length": body.length,
                    ...(auth && { authorization: `Basic ${Buffer.from(auth).toString("base64")}` }),
                },
                agent: false,
            },
            (res) => {
                res.resume();
                res.on("end", () => resolve(res.statusCode ?? 0));
            },
        );
        req.on("error", reject);
        req.end(body);
    });
}

/** Raw baseline: the same POST against a bare node:http server that answers at once. */
async function rawHttp(samples: number, body: Uint8Array): Promise<Latencies> {
    const { createServer } = await import("node:http");
    const server = createServer((req, res) => {
        req.resume();
        req.on("end", () => res.end('{"Result":true}'));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    const ms: number[] = [];
    for (let i = 0; i < samples; i++) {
        const t0 = now();
        await post(url, "/NotificationInfo/TollgateInfo", "application/json", body);
        ms.push(now() - t0);
    }
    await new Promise((resolve) => server.close(resolve));
    return summarise("raw HTTP POST round trip (same body, bare server)", ms);
}

/** Raw baseline: a node-opcua client writes a variable and waits for its own monitored-item notification. */
async function rawOpcUa(endpointUrl: string, pki: string, samples: number): Promise<Latencies> {
    const certificateManager = new OPCUACertificateManager({
        rootFolder: pki,
        automaticallyAcceptUnknownCertificate: true,
    });
    const client = OPCUAClient.create({
        endpointMustExist: false,
        securityMode: MessageSecurityMode.None,
        securityPolicy: SecurityPolicy.None,
        clientCertificateManager: certificateManager,
    });
    await client.connect(endpointUrl);
    const session = await client.createSession();
    const subscription = await session.createSubscription2({
        requestedPublishingInterval: 100,
        requestedLifetimeCount: 600,
        requestedMaxKeepAliveCount: 20,
        maxNotificationsPerPublish: 100,
        publishingEnabled: true,
        priority: 10,
    });
    const nodeId = "ns=1;s=L2.Light.Exit";
    const item = ClientMonitoredItem.create(
        subscription,
        { nodeId, attributeId: AttributeIds.Value },
        { samplingInterval: 100, discardOldest: true, queueSize: 10 },
        TimestampsToReturn.Both,
    );
    let waiting: { value: number; resolve: () => void } | undefined;
    let current: number | undefined;
    item.on("changed", (dataValue) => {
        current = Number(dataValue.value.value);
        if (waiting && dataValue.value.value === waiting.value) waiting.resolve();
    });
    const deadline = Date.now() + 10_000;
    while (current === undefined && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    const ms: number[] = [];
    for (let i = 0; i < samples; i++) {
        // Always a different value than the one shown, or no notification would come.
        const value = ((current ?? 0) % 4) + 1;
        const seen = new Promise<void>((resolve) => {
            waiting = { value, resolve };
        });
        const t0 = now();
        await session.write({
            nodeId,
            attributeId: AttributeIds.Value,
            value: { value: { dataType: DataType.Int32, value } },
        });
        await seen;
        ms.push(now() - t0);
    }
    await subscription.terminate();
    await session.close();
    await client.disconnect();
    return summarise("raw node-opcua write → own notification (100 ms publishing)", ms);
}

export async function benchDevices(out: (line: string) => void): Promise<object> {
    const samples = Number(process.env.BENCH_SAMPLES ?? 200);
    const dir = join(tmpdir(), `gate-edge-bench-devices-${process.pid}`);
    mkdirSync(dir, { recursive: true });
    const onvifCamera = new OnvifCameraSimulator({ port: 0, username: "admin", password: "bench-onvif" });
    await onvifCamera.start();
    const plc = new LanePlcSimulator({
        port: 0,
        lanes: ["L1", "L2"],
        pkiFolder: join(dir, "plc-pki"),
        travelMs: 100,
        autoCloseMs: 200,
        watchdogTimeoutMs: 60_000,
    });
    await plc.start();
    const config = parseConfig(`
gate: { id: BENCHDEV }
storage: { path: ${JSON.stringify(join(dir, "gate.db"))} }
http: { host: 127.0.0.1, port: 0 }
push: { host: 127.0.0.1, port: 0 }
broker: { mode: embedded, host: 127.0.0.1, port: 0 }
ingest: { duplicateWindowMs: 1 }
lanes:
  - id: L1
    devices:
      # Basic: one request a push, as the raw baseline posts (Digest's first push would add a challenge).
      - { id: cam-push, model: dahua-itsapi-anpr, auth: { username: cam-push, password: bench-push-password, basic: true } }
      - { id: cam-onvif, model: onvif-anpr, address: "http://127.0.0.1:${onvifCamera.port}", auth: { username: admin, password: bench-onvif }, snapshot: false }
      - { id: plc-1, model: lane-plc-opcua, address: "${plc.endpointUrl}", plc: { lanePrefix: L1, commandTimeoutMs: 3000 } }
`);
    const gate = new Gate({ config, log: pino({ level: "warn" }) });
    const addresses = await gate.start();
    const waitFor = async (check: () => boolean, what: string) => {
        const deadline = Date.now() + 30_000;
        while (!check()) {
            if (Date.now() > deadline) throw new Error(`bench: timed out waiting for ${what}`);
            await new Promise((resolve) => setTimeout(resolve, 20));
        }
    };
    await waitFor(() => gate.runtime("cam-onvif")!.health().status === "online", "ONVIF subscription");
    await waitFor(() => gate.runtime("plc-1")!.health().status === "online", "PLC session");

    out("measuring push → commit…");
    // Push: the Dahua answer {"Result":true} comes only after commit, so the round trip is push → committed.
    const plate = (i: number) => `29C-${String(100 + (i % 900)).padStart(3, "0")}.${String(i % 100).padStart(2, "0")}`;
    const pushBody = (i: number) =>
        dahua.encode({
            text: plate(i),
            confidence: 0.95,
            images: [{ name: "NormalPic", contentType: "image/jpeg", bytes: SAMPLE_JPEG }],
        }).body;
    const pushMs: number[] = [];
    for (let i = 0; i < samples; i++) {
        const body = pushBody(i);
        const t0 = now();
        const status = await post(
            addresses.push!,
            "/NotificationInfo/TollgateInfo",
            "application/json",
            body,
            "cam-push:bench-push-password",
        );
        pushMs.push(now() - t0);
        if (status !== 200) throw new Error(`push answered ${status}`);
    }

    out("measuring ONVIF event → commit…");
    // ONVIF: from the camera queueing the event to the reading committed (the long poll is already waiting).
    const onvifMs: number[] = [];
    for (let i = 0; i < samples; i++) {
        const text = plate(10_000 + i);
        const committed = new Promise<void>((resolve) => {
            const owner = {};
            gate.bus.on("committed", owner, (event) => {
                if (event.type === "reading.plate" && (event.data.values as { text?: string }).text === text) {
                    gate.bus.removeListeners(owner);
                    resolve();
                }
            });
        });
        const t0 = now();
        onvifCamera.plate({ text, likelihood: 0.9 });
        await committed;
        onvifMs.push(now() - t0);
    }

    out("measuring barrier command → state change…");
    // Barrier: command written → opening seen on the subscription (the driver's own measure), then let it close.
    const barrierMs: number[] = [];
    const barrierSamples = Math.min(samples, 40);
    for (let i = 0; i < barrierSamples; i++) {
        await waitFor(() => plc.state("L1").barrier === "closed", "barrier closed");
        const outcome = await gate.actuate("plc-1", { type: "openBarrier" });
        const match = /after (\d+) ms/.exec(outcome.detail);
        if (!outcome.confirmed || !match) throw new Error(`open not confirmed: ${outcome.detail}`);
        barrierMs.push(Number(match[1]));
    }

    await gate.stop();
    out("gate-edge figures taken; measuring the raw baselines…");
    const rawPush = await rawHttp(samples, pushBody(0));
    const rawPlc = await rawOpcUa(plc.endpointUrl, join(dir, "raw-pki"), barrierSamples);
    await onvifCamera.stop();
    await plc.stop();

    const rows = [
        summarise("push (Dahua JSON + JPEG) → committed → {Result:true}", pushMs),
        rawPush,
        summarise("ONVIF plate event queued → long poll → committed", onvifMs),
        summarise("barrier open written → opening seen on the subscription", barrierMs),
        rawPlc,
    ];
    out(`devices benchmark: ${samples} pushes, ${samples} ONVIF events, ${barrierSamples} barrier commands`);
    out("");
    out("| measurement | samples | p50 ms | p99 ms | max ms |");
    out("|---|---:|---:|---:|---:|");
    for (const row of rows)
        out(`| ${row.name} | ${row.samples} | ${row.p50.toFixed(2)} | ${row.p99.toFixed(2)} | ${row.max.toFixed(2)} |`);
    out("");
    out(`push / raw HTTP p50:           ${(rows[0]!.p50 / rawPush.p50).toFixed(1)} ×`);
    out(`barrier / raw OPC UA p50:      ${(rows[3]!.p50 / rawPlc.p50).toFixed(2)} ×`);
    return { benchmark: "devices", at: new Date().toISOString(), node: process.version, rows };
}
