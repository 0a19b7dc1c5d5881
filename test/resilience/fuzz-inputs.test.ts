/**
 * Every external input of a running gate fuzzed with fast-check: MQTT payloads under a device's topic, camera
 * pushes, API requests with a valid session, and configuration documents. Nothing may crash the gate or
 * answer 5xx; bad input is refused (4xx), counted, or — for a config — a GateError CONFIG_INVALID naming the
 * key paths. Runs are kept modest so the suite fits its time on a 2-core machine.
 */
import { readFileSync } from "node:fs";
import fc from "fast-check";
import mqtt from "mqtt";
import { beforeAll, describe, expect, it } from "vitest";
import { parse as parseYaml, stringify as stringifyYaml } from "yaml";
import { parseConfig } from "../../src/config/load.ts";
import { GateError } from "../../src/core/errors.ts";
import type { Gate } from "../../src/gate.ts";
import { type ApiSession, apiSession } from "../helpers/api.ts";
import { useFileGate } from "../helpers/fileGate.ts";

const file = useFileGate(
    `  - id: L1
    devices:
      - { id: seal-1, model: eseal-mqtt-json, auth: { username: seal-1, password: fuzz-seal-password } }
      - { id: front-1, model: dahua-itsapi-anpr, role: front, auth: { username: front-1, password: front-1-password } }
      - { id: rear-1, model: hikvision-isapi-anpr, role: rear, auth: { username: rear-1, password: rear-1-password } }
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
