import type { FastifyInstance } from "fastify";
import { auditOf, sessionOf, stillValid } from "../auth.ts";
import type { ApiContext } from "../context.ts";
import { LIVE_ROLES, type LiveMessage } from "../live.ts";

const PING_MS = 15_000;

/** The lanes board and the live stream that keeps it current. */
export function registerLaneRoutes(app: FastifyInstance, ctx: ApiContext): void {
    const { source, board, hub } = ctx;
    const open = new Set<() => void>();

    app.get("/api/v1/lanes", async () => ({
        lanes: source
            .lanes()
            .map((lane) => board.tile(lane.id))
            .filter((tile) => tile !== undefined),
    }));

    app.get("/api/v1/stream", async (request, reply) => {
        const session = sessionOf(request);
        ctx.audit.append(auditOf(request, { action: "stream.open", target: "/api/v1/stream", outcome: "ok" }));
        // Fastify hands the socket over: the stream is written by hand and never ends on its own.
        reply.hijack();
        const raw = reply.raw;
        raw.writeHead(200, {
            "content-type": "text/event-stream; charset=utf-8",
            "cache-control": "no-cache, no-store",
            connection: "keep-alive",
            "x-content-type-options": "nosniff",
            // A reverse proxy must not hold the stream back in a buffer.
            "x-accel-buffering": "no",
        });
        // JSON.stringify never writes a raw line break, so one data line always holds one message.
        const send = (message: LiveMessage): void => {
            if (!LIVE_ROLES[message.event].includes(session.user.role)) return;
            raw.write(`event: ${message.event}\ndata: ${JSON.stringify(message.data)}\n\n`);
        };
        raw.write("retry: 3000\n\n");
        for (const lane of source.lanes()) {
            const tile = board.tile(lane.id);
            if (tile) send({ event: "lane", data: tile });
        }
        const unsubscribe = hub.subscribe(send);
        const end = (): void => {
            clearInterval(ping);
            unsubscribe();
            open.delete(end);
            if (!raw.writableEnded) raw.end();
        };
        const ping = setInterval(() => {
            // A logged-out, disabled or expired session loses its stream at the next ping.
            if (!stillValid(ctx.sessions, request)) end();
            else raw.write(": ping\n\n");
        }, PING_MS);
        ping.unref();
        open.add(end);
        raw.on("close", end);
    });

    // Open streams would keep the server from closing.
    app.addHook("preClose", async () => {
        for (const end of [...open]) end();
    });
}
