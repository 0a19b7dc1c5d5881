/**
 * Every external input of a running gate fuzzed with fast-check: MQTT payloads under a device's topic, camera
 * pushes, API requests with a valid session, and configuration documents. Nothing may crash the gate or
 * answer 5xx; bad input is refused (4xx), counted, or — for a config — a GateError CONFIG_INVALID naming the
 * key paths. Runs are kept modest so the suite fits its time on a 2-core machine.
 */
import { spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import mqtt from "mqtt";
import { pino } from "pino";
import { beforeAll, describe, expect, it } from "vitest";
import { parse as parseYaml, stringify as stringifyYaml } from "yaml";
import { definition as toledo } from "../../devices/toledo-continuous.ts";
import { parseConfig } from "../../src/config/load.ts";
import { GateError } from "../../src/core/errors.ts";
import type { GateEvent } from "../../src/core/events.ts";
import { BAD_INPUT_LOG_INTERVAL_MS } from "../../src/core/logger.ts";
import type { Gate } from "../../src/gate.ts";
import { type ApiSession, apiSession } from "../helpers/api.ts";
import { useFileGate } from "../helpers/fileGate.ts";
import { eventually, startGate, testConfig } from "../helpers/gate.ts";
import { captureStream } from "../helpers/io.ts";
import { SocatPair } from "../helpers/socat.ts";
import { systemToolAvailable } from "../helpers/system.ts";
import { tempDir } from "../helpers/tmp.ts";

const file = useFileGate(
    `  - id: L1
    devices:
      - { id: seal-1, model: eseal-mqtt-json, auth: { username: seal-1, password: fuzz-seal-password } }
      - { id: front-1, model: dahua-itsapi-anpr, role: front, auth: { username: front-1, password: front-1-password } }
      - { id: rear-1, model: hikvision-isapi-anpr, role: rear, auth: { username: rear-1, password: rear-1-password } }
  - id: L2
    devices:
      - { id: seal-q1, model: eseal-mqtt-json, auth: { username: seal-q1, password: malformed-seal-password } }
`,
);
let gate: Gate;
let admin: ApiSession;

beforeAll(() => {
    gate = file.gate;
    admin = apiSession(gate, "admin");
});

/** The gate answers its health check: the process and its API survived. */
async function gateIsUp(): Promise<void> {
    const res = await fetch(`${gate.addresses.http}/api/v1/health`);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { status: string }).status).toBe("up");
}

const bytes = fc.uint8Array({ maxLength: 2048 });
/** Random JSON that looks like a device's message more often than random bytes do. */
const jsonish = fc.oneof(
    fc.json().map((text) => Buffer.from(text)),
    fc
        .record(
            {
                msg: fc.oneof(fc.constantFrom("read", "status", "tamper", "battery"), fc.string()),
                sealId: fc.oneof(fc.string(), fc.integer(), fc.constant(null)),
                type: fc.oneof(fc.constant("ISO18185"), fc.string()),
                status: fc.oneof(fc.constantFrom("SEALED", "OPENED", "TAMPERED"), fc.string()),
                ts: fc.oneof(fc.date({ noInvalidDate: false }).map(String), fc.string()),
                batteryPct: fc.oneof(fc.integer(), fc.double(), fc.string()),
            },
            { requiredKeys: [] },
        )
        .map((value) => Buffer.from(JSON.stringify(value))),
);

describe("fuzzed external inputs", () => {
    it("MQTT payloads under a device topic: the gate stays up and bad messages are counted", async () => {
        const client = await mqtt.connectAsync(gate.addresses.mqtt!, {
            username: "seal-1",
            password: "fuzz-seal-password",
            reconnectPeriod: 0,
        });
        const before = gate.runtime("seal-1")!.health().counters;
        try {
            await fc.assert(
                fc.asyncProperty(
                    fc.constantFrom("seal", "status", "event", "read", "x/y/z"),
                    fc.oneof(
                        bytes.map((b) => Buffer.from(b)),
                        jsonish,
                    ),
                    async (subtopic, payload) => {
                        // QoS 1: the PUBACK comes after the gate dealt with the message, whatever it was.
                        await client.publishAsync(`gate/T01/devices/seal-1/${subtopic}`, payload, { qos: 1 });
                    },
                ),
                { numRuns: 300 },
            );
        } finally {
            await client.endAsync();
        }
        const after = gate.runtime("seal-1")!.health().counters;
        expect(after.invalid + after.ignored).toBeGreaterThan(before.invalid + before.ignored);
        await gateIsUp();
    });

    it("camera pushes with random bodies and headers: a 4xx or a stored read, never a 5xx or a crash", async () => {
        const cameras = [
            {
                path: "/NotificationInfo/TollgateInfo",
                auth: `Basic ${Buffer.from("front-1:front-1-password").toString("base64")}`,
            },
            {
                path: "/ISAPI/Event/notification/alert",
                auth: `Basic ${Buffer.from("rear-1:rear-1-password").toString("base64")}`,
            },
        ];
        const statuses = new Map<number, number>();
        await fc.assert(
            fc.asyncProperty(
                fc.constantFrom(...cameras),
                fc.oneof(
                    fc.constantFrom(
                        "application/json",
                        "multipart/form-data; boundary=MIME_boundary",
                        "multipart/form-data",
                        "text/xml",
                        "application/octet-stream",
                    ),
                    fc.string({ maxLength: 60 }),
                ),
                fc.oneof(
                    bytes.map((b) => Buffer.from(b)),
                    jsonish,
                    fc
                        .string({ maxLength: 400 })
                        .map((s) =>
                            Buffer.from(
                                `--MIME_boundary\r\nContent-Type: text/xml\r\n\r\n${s}\r\n--MIME_boundary--\r\n`,
                            ),
                        ),
                ),
                fc.boolean(),
                async (camera, contentType, body, authorised) => {
                    const headers: Record<string, string> = {};
                    // Header values fetch refuses (control characters) are not what a camera could send.
                    if (/^[\x20-\x7e]*$/.test(contentType)) headers["content-type"] = contentType;
                    if (authorised) headers.authorization = camera.auth;
                    const res = await fetch(`${gate.addresses.push}${camera.path}`, { method: "POST", headers, body });
                    await res.arrayBuffer();
                    statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
                    expect(res.status, `push answered ${res.status}`).toBeLessThan(500);
                },
            ),
            { numRuns: 200 },
        );
        expect([...statuses.keys()].some((status) => status >= 400)).toBe(true);
        await gateIsUp();
    });

    it("API requests with random query strings and bodies on every route: never a 5xx", async () => {
        const routes = apiRoutes(gate.httpApi.printRoutes({ commonPrefix: false }));
        // Streams never end on their own; their parameters are checked by the same validators as the rest.
        const fuzzable = routes.filter((route) => !route.path.endsWith("/stream"));
        expect(fuzzable.length).toBeGreaterThan(10);
        const segment = fc.oneof(
            fc.constantFrom(
                "L1",
                "seal-1",
                "0",
                "-1",
                "999999999999",
                "%00",
                "..",
                "admin",
                "01ARZ3NDEKTSV4RRFFQ69G5FAV",
            ),
            fc.string({ maxLength: 30 }).map(encodeURIComponent),
        );
        const query = fc.dictionary(
            fc.constantFrom(
                "limit",
                "after",
                "before",
                "from",
                "to",
                "lane",
                "laneId",
                "type",
                "q",
                "cursor",
                "status",
            ),
            fc.oneof(fc.string({ maxLength: 20 }), fc.integer().map(String), fc.constant("")),
            { maxKeys: 4 },
        );
        const body = fc.oneof(fc.constant(undefined), fc.jsonValue({ maxDepth: 3 }));
        await fc.assert(
            fc.asyncProperty(fc.constantFrom(...fuzzable), segment, query, body, async (route, param, q, payload) => {
                const path = route.path.replace(/:[^/]+/g, param).replace("*", param);
                const search = new URLSearchParams(q).toString();
                const res = await admin.inject(route.method, `${path}${search ? `?${search}` : ""}`, payload);
                expect(
                    res.statusCode,
                    `${route.method} ${path}?${search} answered ${res.statusCode}: ${res.body}`,
                ).toBeLessThan(500);
            }),
            { numRuns: 400 },
        );
        await gateIsUp();
    });

    it("configuration documents: a config, or CONFIG_INVALID with key paths, never another exception", () => {
        const example = parseYaml(readFileSync("config/example.yaml", "utf8")) as unknown;
        const env = { GATE_SEAL_L1_PASSWORD: "example-password" };
        const check = (text: string) => {
            try {
                parseConfig(text, { env, baseDir: file.dir });
            } catch (err) {
                if (!(err instanceof GateError) || err.code !== "CONFIG_INVALID") throw err;
                expect(err.details.length).toBeGreaterThan(0);
                // Each detail names where: "key.path: message" (the document root for a YAML syntax error).
                for (const line of err.details) expect(line).toMatch(/^[^:\s]*(\[\d+\])?[^:]*:/);
            }
        };
        const value = fc.oneof(
            fc.jsonValue({ maxDepth: 2 }),
            fc.constantFrom(
                // biome-ignore lint/suspicious/noTemplateCurlyInString: the config's own ${NAME} syntax, not a template
                "${MISSING_VAR}",
                "",
                "unknown-model",
                -1,
                0,
                1e12,
                "tcp://",
                "serial:///dev/null?baudRate=x",
            ),
        );
        fc.assert(
            fc.property(fc.array(fc.tuple(fc.nat(), value, fc.boolean()), { minLength: 1, maxLength: 4 }), (edits) => {
                const document = structuredClone(example);
                for (const [pick, replacement, remove] of edits) mutate(document, pick, replacement, remove);
                check(stringifyYaml(document));
            }),
            { numRuns: 300 },
        );
        fc.assert(
            fc.property(fc.string({ maxLength: 400 }), (text) => check(text)),
            { numRuns: 200 },
        );
    });
});

describe("acknowledged input that fails decode", () => {
    it("malformed QoS 1 e-seal messages: each one PUBACKed is on disk, kept with its raw bytes or counted in a stored summary", async () => {
        const runtime = gate.runtime("seal-q1")!;
        const topic = "gate/T01/devices/seal-q1/seal";
        // A reader whose firmware leaves `status` out: well-formed JSON, and every message invalid.
        const malformed = (n: number) =>
            Buffer.from(
                JSON.stringify({
                    msg: "read",
                    sealId: `NOSTATUS-${n}`,
                    type: "ISO18185",
                    ts: new Date().toISOString(),
                }),
            );
        const rejected = (): GateEvent[] =>
            gate.log
                .read(0, 1_000_000)
                .filter((event) => event.type === "input.rejected" && event.deviceId === "seal-q1");
        const total = 400;
        const client = await mqtt.connectAsync(gate.addresses.mqtt!, {
            username: "seal-q1",
            password: "malformed-seal-password",
            reconnectPeriod: 0,
        });
        try {
            const first = malformed(0);
            await client.publishAsync(topic, first, { qos: 1 });
            // The PUBACK came after the commit: the message is stored already, with its bytes and the reason.
            const [kept] = rejected();
            expect(kept?.data).toMatchObject({
                count: 1,
                bytes: first.length,
                sha256: createHash("sha256").update(first).digest("hex"),
                reason: "unknown seal status",
                channel: "seal",
            });
            expect(Buffer.from(String(kept?.data.raw), "base64").equals(first)).toBe(true);
            await Promise.all(
                Array.from({ length: total - 1 }, (_, i) => client.publishAsync(topic, malformed(i + 1), { qos: 1 })),
            );
        } finally {
            await client.endAsync();
        }
        const countOf = (events: GateEvent[]) => events.reduce((sum, event) => sum + Number(event.data.count), 0);
        // Over the device's limit a message is acknowledged and counted; the count is stored soon after.
        const events = await eventually(
            () => {
                const found = rejected();
                return countOf(found) >= total ? found : undefined;
            },
            30_000,
            "every malformed message on disk",
        );
        expect(countOf(events)).toBe(total);
        const withRaw = events.filter((event) => event.data.raw !== undefined);
        const counters = runtime.health().counters;
        expect(counters.invalid).toBe(total);
        expect(counters.rejectedKept).toBe(withRaw.length);
        expect(counters.rejectedKept + counters.rejectedCounted).toBe(total);
        // Bounded: a flood of garbage keeps a sample of raw messages, not all of them.
        expect(withRaw.length).toBeGreaterThan(0);
        expect(withRaw.length).toBeLessThan(total);
        await gateIsUp();
    });
});

/** `bytes` of random noise that holds no frame start (STX, read through the model's 7-bit mask), with `frames` corrupt Toledo frames spread in it. */
function babble(bytes: number, frames: number): { stream: Buffer; noiseBytes: number } {
    const noise = randomBytes(bytes);
    for (let i = 0; i < noise.length; i++) if ((noise[i]! & 0x7f) === 0x02) noise[i] = 0x55;
    const corrupt = Buffer.from(
        toledo.encode({ kg: 24_560, motion: false, overload: false, underload: false }, { corrupt: true }),
    );
    const parts: Buffer[] = [];
    const step = Math.floor(bytes / frames);
    for (let i = 0; i < frames; i++) parts.push(noise.subarray(i * step, (i + 1) * step), corrupt);
    parts.push(noise.subarray(frames * step));
    return { stream: Buffer.concat(parts), noiseBytes: bytes };
}

/** Resolves when the command exits 0. */
function run(command: string, args: string[]): Promise<void> {
    return new Promise((resolve, reject) => {
        const child = spawn(command, args, { stdio: ["ignore", "ignore", "pipe"] });
        let stderr = "";
        child.stderr.on("data", (chunk) => {
            stderr += String(chunk);
        });
        child.once("error", reject);
        child.once("exit", (code) =>
            code === 0 ? resolve() : reject(new Error(`${command} exited ${code}: ${stderr}`)),
        );
    });
}

describe.skipIf(!systemToolAvailable("socat"))("a babbling serial line (socat PTY)", () => {
    it("megabytes of random bytes: exact counters, and one log line per device per interval, not one per chunk", async () => {
        const dir = tempDir();
        const pair = new SocatPair(join(dir.path, "ttyNoiseDevice"), join(dir.path, "ttyNoise"));
        const captured = captureStream();
        await pair.start();
        let noisy: Gate | undefined;
        try {
            noisy = await startGate(
                testConfig(
                    dir.path,
                    `  - id: L1\n    devices:\n      - { id: scale-noise, model: toledo-continuous, address: "serial://${pair.hostLink}?baudRate=115200" }\n`,
                ),
                { log: pino({ level: "warn" }, captured.stream) },
            );
            const runtime = noisy.runtime("scale-noise")!;
            await eventually(() => runtime.health().status === "online" || undefined, 10_000, "port open");
            const badFrames = 40;
            const { stream, noiseBytes } = babble(4 * 1024 * 1024, badFrames);
            const file = join(dir.path, "noise.bin");
            writeFileSync(file, stream);
            const started = performance.now();
            await run("socat", ["-u", `OPEN:${file}`, `OPEN:${pair.deviceLink},wronly`]);
            const counted = await eventually(
                () => {
                    const counters = runtime.health().counters;
                    return counters.discardedBytes >= noiseBytes && counters.invalid >= badFrames
                        ? counters
                        : undefined;
                },
                60_000,
                "every byte counted",
            );
            const elapsedMs = performance.now() - started;
            expect(counted.discardedBytes).toBe(noiseBytes);
            expect(counted.invalid).toBe(badFrames);
            expect(counted.frames).toBe(badFrames);
            const inputLines = () =>
                captured
                    .text()
                    .split("\n")
                    .filter((line) => line !== "")
                    .map((line) => JSON.parse(line) as Record<string, unknown>)
                    .filter((line) => line.deviceId === "scale-noise" && line.msg !== "device status changed");
            // One line at the first bad input, then at most one summary per interval: never one per chunk.
            expect(inputLines().length).toBeLessThanOrEqual(2 + Math.ceil(elapsedMs / BAD_INPUT_LOG_INTERVAL_MS));
            // The summaries add up to exactly what the counters say.
            const sumOf = (key: string) => inputLines().reduce((sum, line) => sum + Number(line[key] ?? 0), 0);
            await eventually(
                () => (sumOf("discardedBytes") >= noiseBytes && sumOf("badFrames") >= badFrames) || undefined,
                3 * BAD_INPUT_LOG_INTERVAL_MS,
                "the last summary line",
            );
            expect(sumOf("discardedBytes")).toBe(noiseBytes);
            expect(sumOf("badFrames")).toBe(badFrames);
            expect(captured.text().length).toBeLessThan(64 * 1024);
        } finally {
            await noisy?.stop();
            await pair.stop();
            dir.cleanup();
        }
    });
});

/** The routes Fastify knows, from printRoutes({ commonPrefix: false }) ("├── /path (GET, HEAD)"). */
function apiRoutes(printed: string): { method: "GET" | "POST" | "PATCH" | "PUT" | "DELETE"; path: string }[] {
    const routes: { method: "GET" | "POST" | "PATCH" | "PUT" | "DELETE"; path: string }[] = [];
    for (const line of printed.split("\n")) {
        const match = /(\/\S*) \(([A-Z, ]+)\)/.exec(line);
        if (!match) continue;
        for (const method of match[2]!.split(", ")) {
            if (method === "GET" || method === "POST" || method === "PATCH" || method === "PUT" || method === "DELETE")
                routes.push({ method, path: match[1]! });
        }
    }
    return routes;
}

/** Replaces or deletes one node of the document, chosen by `pick` over a depth-first walk. */
function mutate(document: unknown, pick: number, replacement: unknown, remove: boolean): void {
    const slots: { parent: Record<string, unknown> | unknown[]; key: string | number }[] = [];
    const walk = (node: unknown) => {
        if (Array.isArray(node)) {
            node.forEach((child, index) => {
                slots.push({ parent: node, key: index });
                walk(child);
            });
        } else if (node && typeof node === "object") {
            for (const [key, child] of Object.entries(node)) {
                slots.push({ parent: node as Record<string, unknown>, key });
                walk(child);
            }
        }
    };
    walk(document);
    const slot = slots[pick % Math.max(slots.length, 1)];
    if (!slot) return;
    if (Array.isArray(slot.parent)) {
        if (remove) slot.parent.splice(slot.key as number, 1);
        else slot.parent[slot.key as number] = replacement;
    } else if (remove) delete slot.parent[slot.key as string];
    else slot.parent[slot.key as string] = replacement;
}
