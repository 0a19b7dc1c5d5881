import { beforeAll, describe, expect, it } from "vitest";
import type { Gate } from "../../src/gate.ts";
import { type ApiSession, apiSession } from "../helpers/api.ts";
import { useFileGate } from "../helpers/fileGate.ts";

const file = useFileGate(
    `  - id: L1
    devices:
      - { id: scale-1, model: toledo-continuous, address: "tcp://127.0.0.1:9" }
  - id: L2
    devices: []
`,
    "broker: { mode: embedded, host: 127.0.0.1, port: 0 }",
);
let gate: Gate;
let base = "";
let technician: ApiSession;

beforeAll(async () => {
    gate = file.gate;
    base = gate.addresses.http;
    technician = apiSession(gate, "technician");
    for (let i = 0; i < 30; i++) await gate.log.append({ type: "reading.scan", laneId: "L2", data: { i } });
});

const get = async (path: string) => {
    const response = await fetch(`${base}${path}`, { headers: technician.headers });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
};

describe("HTTP API", () => {
    it("reports liveness, per-lane readiness and each device's status", async () => {
        const { status, body } = await get("/api/v1/health");
        expect(status).toBe(200);
        expect(body).toMatchObject({
            status: "up",
            gate: { id: "T01" },
            lanes: [
                { id: "L1", ready: false, notReady: ["scale-1"] },
                { id: "L2", ready: true, notReady: [] },
            ],
            devices: [{ id: "scale-1", laneId: "L1", status: "offline" }],
        });
    });

    it("pages through the event log with after and limit", async () => {
        const first = await get("/api/v1/events?after=0&limit=10");
        const events = first.body.events as { seq: number; hash: string; prevHash: string }[];
        expect(events.map((event) => event.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
        expect(first.body.next).toBe(10);
        expect(events[1]?.prevHash).toBe(events[0]?.hash);
        const second = await get(`/api/v1/events?after=${first.body.next}&limit=5`);
        expect((second.body.events as { seq: number }[])[0]?.seq).toBe(11);
        const end = await get("/api/v1/events?after=100000");
        expect(end.body).toEqual({ events: [], next: 100000 });
    });

    it.each([
        ["/api/v1/events?after=-1", /after/],
        ["/api/v1/events?limit=0", /limit/],
        ["/api/v1/events?limit=5000", /limit/],
        ["/api/v1/events?after=abc", /after/],
        ["/api/v1/events?sort=desc", /additional/],
    ])("answers %s with a 400 and a reason", async (path, reason) => {
        const { status, body } = await get(path);
        expect(status).toBe(400);
        expect(body.error).toBe("API_BAD_REQUEST");
        expect(String(body.message)).toMatch(reason);
        // The part of the request at fault is named once ("querystring/limit …", not "querystring querystring/limit").
        expect(String(body.message)).toMatch(/^querystring[/ ]/);
        expect(String(body.message)).not.toMatch(/^querystring querystring/);
    });

    it("answers an unknown route or device with a 404 and a reason", async () => {
        expect((await get("/api/v1/nope")).status).toBe(404);
        const unknown = await get("/api/v1/devices/ghost/frames");
        expect(unknown).toEqual({ status: 404, body: { error: "DEVICE_UNKNOWN", message: "unknown device: ghost" } });
    });

    it("lists devices with counters for technicians", async () => {
        const { body } = await get("/api/v1/devices");
        expect((body.devices as { deviceId: string; counters: object }[])[0]).toMatchObject({
            deviceId: "scale-1",
            laneId: "L1",
            kind: "weight",
            role: "weight",
            status: "offline",
            reconnects: 0,
            badFrames: 0,
            frames: 0,
            counters: { frames: 0, invalid: 0 },
        });
    });
});
