import type { FastifyInstance } from "fastify";
import { GateError } from "../../core/errors.ts";
import type { DeviceTestAction } from "../../gate/deviceTests.ts";
import type { ApiContext } from "../context.ts";

const MAX_EVENTS_PAGE = 1000;

const deviceParams = {
    type: "object",
    required: ["id"],
    properties: { id: { type: "string", pattern: "^[A-Za-z0-9_-]{1,64}$" } },
} as const;

/** Printable ASCII of a frame, with everything else as "."; what a technician reads beside the hex. */
function printable(hex: string): string {
    let text = "";
    for (let i = 0; i + 1 < hex.length; i += 2) {
        const byte = Number.parseInt(hex.slice(i, i + 2), 16);
        text += byte >= 0x20 && byte < 0x7f ? String.fromCharCode(byte) : ".";
    }
    return text;
}

/** Technicians' views: devices with their health and raw frames, device tests, the event log. */
export function registerDeviceRoutes(app: FastifyInstance, ctx: ApiContext): void {
    const { source } = ctx;

    app.get("/api/v1/devices", async () => {
        const roles = new Map<string, string | undefined>();
        for (const lane of source.lanes()) {
            for (const device of source.laneDevices(lane.id)) roles.set(device.id, device.role);
        }
        return {
            devices: source.devices().map((device) => ({
                deviceId: device.deviceId,
                laneId: device.laneId,
                model: device.model,
                kind: device.kind,
                role: roles.get(device.deviceId) ?? device.kind,
                address: device.address,
                status: device.status,
                ...(device.reason !== "" && { reason: device.reason }),
                ...(device.reasonCode !== undefined && { reasonCode: device.reasonCode }),
                ...(device.reasonParams !== undefined && { reasonParams: device.reasonParams }),
                statusSince: device.statusSince,
                ...(device.lastFrameAt !== null && { lastFrameAt: device.lastFrameAt }),
                reconnects: device.counters.reconnects,
                badFrames: device.counters.invalid,
                frames: device.counters.frames,
                counters: device.counters,
            })),
        };
    });

    app.get<{ Params: { id: string } }>(
        "/api/v1/devices/:id/frames",
        { schema: { params: deviceParams } },
        async (request) => {
            const frames = source.recentFrames(request.params.id);
            if (!frames) throw new GateError("DEVICE_UNKNOWN", request.params.id);
            return {
                deviceId: request.params.id,
                frames: frames.map((frame) => ({
                    at: frame.at,
                    // The ring buffer keeps what devices sent; gate-edge's own polls are not in it.
                    direction: "in",
                    hex: frame.hex,
                    text: printable(frame.hex),
                    note: frame.reason === undefined ? frame.outcome : `${frame.outcome}: ${frame.reason}`,
                    outcome: frame.outcome,
                    ...(frame.reason !== undefined && { reason: frame.reason }),
                })),
            };
        },
    );

    app.post<{ Params: { id: string }; Body: { action: DeviceTestAction } }>(
        "/api/v1/devices/:id/test",
        {
            schema: {
                params: deviceParams,
                body: {
                    type: "object",
                    additionalProperties: false,
                    required: ["action"],
                    properties: { action: { enum: ["readWeight", "snapshot", "pulseLight"] } },
                },
            },
        },
        async (request) => {
            request.auditTarget = `device:${request.params.id}`;
            const result = await source.deviceTest(request.params.id, request.body.action);
            request.auditDetail = { action: request.body.action, ok: result.ok, detail: result.detail };
            return result;
        },
    );

    app.get<{ Querystring: { after: number; limit: number } }>(
        "/api/v1/events",
        {
            schema: {
                querystring: {
                    type: "object",
                    additionalProperties: false,
                    properties: {
                        after: { type: "integer", minimum: 0, default: 0 },
                        limit: { type: "integer", minimum: 1, maximum: MAX_EVENTS_PAGE, default: 100 },
                    },
                },
            },
        },
        async (request) => {
            const events = source.events(request.query.after, request.query.limit);
            const last = events[events.length - 1];
            return { events, next: last ? last.seq : request.query.after };
        },
    );
}
