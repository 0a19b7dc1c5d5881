/**
 * The kiosk page of a lane display and what it reads: `/display/<lane>?token=…` (the page),
 * `/display/<lane>/state` (the message now) and `/display/<lane>/stream` (Server-Sent Events). No login:
 * each opens with the token of one of that lane's kiosk displays, and shows that lane only. Outside /api/,
 * so a display token opens nothing of the dashboard's API either.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { getDisplayModel } from "../../devices/displays.ts";
import { UI_CONTENT_SECURITY_POLICY } from "../api/ui.ts";
import { verifyPassword } from "../config/passwords.ts";
import { GateError } from "../core/errors.ts";
import { catalogue, formatMessage } from "../i18n/format.ts";
import { type DisplayMessage, DRIVER_LANGUAGES } from "./message.ts";
import type { LaneDisplays } from "./part.ts";

// From src/display through tsx, from dist/src/display compiled: the page's files stay in src/ui/display.
const here = dirname(fileURLToPath(import.meta.url));
const assetRoot = [join(here, "../ui/display"), join(here, "../../../src/ui/display")].find((candidate) =>
    existsSync(join(candidate, "display.js")),
);
const ASSETS: Readonly<Record<string, string>> = {
    "display.js": "text/javascript; charset=utf-8",
    "display.css": "text/css; charset=utf-8",
};

/** A stream sends this often, so the page knows the gate is there (it falls back to STOP after 3 silent). */
const PING_MS = 5_000;
const LANGUAGE_TAGS: Readonly<Record<string, string>> = { vi: "vi", zh: "zh-Hans", en: "en" };

/** The dashboard's headers (src/api/ui.ts): its strict policy, no framing, no sniffing, no referrer with the token. */
function kioskHeaders(reply: FastifyReply): FastifyReply {
    return reply
        .header("cache-control", "no-cache, no-store")
        .header("content-security-policy", UI_CONTENT_SECURITY_POLICY)
        .header("x-content-type-options", "nosniff")
        .header("x-frame-options", "DENY")
        .header("referrer-policy", "no-referrer");
}

const HTML_ESCAPES: Readonly<Record<string, string>> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" };
const escapeHtml = (text: string): string => text.replace(/[&<>"]/g, (char) => HTML_ESCAPES[char] as string);

/**
 * The page, with the lane's STOP message already in it: a monitor that cannot reach the gate (or runs no
 * script yet) shows STOP, never a blank screen. The script keeps this first content as its fallback.
 */
function kioskPage(message: DisplayMessage): string {
    const laneTitle = DRIVER_LANGUAGES.map((language) =>
        formatMessage(catalogue("driver", language)["display.lane"] ?? "{lane}", { lane: message.lane }),
    ).join(" · ");
    const sections = DRIVER_LANGUAGES.map((language) => {
        const [title, instruction] = message.lines[language];
        return `<section class="language" lang="${LANGUAGE_TAGS[language]}" data-language="${language}"><p class="title">${escapeHtml(title)}</p><p class="instruction">${escapeHtml(instruction)}</p></section>`;
    }).join("\n");
    return `<!doctype html>
<html lang="vi">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(laneTitle)}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/display/assets/display.css">
</head>
<body data-signal="${message.signal}" data-lane="${escapeHtml(message.lane)}" data-connected="false">
<main id="display">
<header id="lane">${escapeHtml(laneTitle)}</header>
<p id="plate" hidden></p>
${sections}
</main>
<script type="module" src="/display/assets/display.js"></script>
</body>
</html>
`;
}

export function registerDisplayRoutes(app: FastifyInstance, displays: LaneDisplays): void {
    const open = new Set<() => void>();

    /** The lane, when `token` is the token of one of its kiosk displays; every candidate is checked in constant time. */
    const authorize = (request: FastifyRequest<{ Params: { lane: string }; Querystring: { token?: string } }>) => {
        const { lane } = request.params;
        const token = request.query.token ?? "";
        let granted = false;
        for (const display of displays.displaysOf(lane)) {
            if (getDisplayModel(display.model)?.transport !== "http-kiosk" || !display.tokenHash) continue;
            // No early exit: the time taken does not say which display's token came close.
            if (verifyPassword(token, display.tokenHash)) granted = true;
        }
        if (!granted || token === "") throw new GateError("DISPLAY_TOKEN", `no display of lane ${lane} has this token`);
        return lane;
    };
    const query = {
        querystring: {
            type: "object",
            properties: { token: { type: "string", maxLength: 256 } },
            additionalProperties: false,
        },
    };

    app.get<{ Params: { lane: string }; Querystring: { token?: string } }>(
        "/display/:lane",
        { schema: query },
        async (request, reply) => {
            const lane = authorize(request);
            return kioskHeaders(reply)
                .type("text/html; charset=utf-8")
                .send(kioskPage(displays.fallback(lane)));
        },
    );

    app.get<{ Params: { lane: string }; Querystring: { token?: string } }>(
        "/display/:lane/state",
        { schema: query },
        async (request, reply) => kioskHeaders(reply).send(displays.message(authorize(request))),
    );

    app.get<{ Params: { lane: string }; Querystring: { token?: string } }>(
        "/display/:lane/stream",
        { schema: query },
        async (request, reply) => {
            const lane = authorize(request);
            reply.hijack();
            const raw = reply.raw;
            raw.writeHead(200, {
                "content-type": "text/event-stream; charset=utf-8",
                "cache-control": "no-cache, no-store",
                connection: "keep-alive",
                "x-content-type-options": "nosniff",
                "x-accel-buffering": "no",
            });
            // JSON.stringify writes no raw line break: one data line is one message.
            const send = (message: DisplayMessage): void => {
                raw.write(`event: display\ndata: ${JSON.stringify(message)}\n\n`);
            };
            raw.write("retry: 2000\n\n");
            send(displays.message(lane));
            const unsubscribe = displays.subscribe(lane, send);
            const end = (): void => {
                clearInterval(ping);
                unsubscribe();
                open.delete(end);
                if (!raw.writableEnded) raw.end();
            };
            const ping = setInterval(() => raw.write("event: ping\ndata: {}\n\n"), PING_MS);
            ping.unref();
            open.add(end);
            raw.on("close", end);
        },
    );

    app.get<{ Params: { name: string } }>("/display/assets/:name", async (request, reply) => {
        const type = ASSETS[request.params.name];
        if (!type || !assetRoot) throw new GateError("NOT_FOUND", "no such display file");
        return kioskHeaders(reply)
            .type(type)
            .send(readFileSync(join(assetRoot, request.params.name)));
    });

    // Open streams would keep the server from closing; the pages fall back to STOP and reconnect.
    app.addHook("preClose", async () => {
        for (const end of [...open]) end();
    });
}
