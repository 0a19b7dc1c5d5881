import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, extname, join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import type { FastifyInstance, FastifyReply } from "fastify";
import { catalogue, LANGUAGES } from "../i18n/format.ts";

// From src/api when run through tsx, from dist/src/api when compiled: the dashboard's files stay in src/ui
// (plain browser modules, no build step), the way the config schema stays in config/.
const here = dirname(fileURLToPath(import.meta.url));
const uiRoot = [join(here, "../ui"), join(here, "../../../src/ui")].find((candidate) =>
    existsSync(join(candidate, "index.html")),
);

const CONTENT_TYPES: Readonly<Record<string, string>> = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".json": "application/json; charset=utf-8",
    ".woff2": "font/woff2",
};

/**
 * The dashboard's policy: its own scripts, styles and images only (plate images come from the API, same
 * origin), no inline script, no framing, no plugins. A border gate may have no internet: nothing external.
 */
export const UI_CONTENT_SECURITY_POLICY = [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data: blob:",
    "connect-src 'self'",
    "font-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
].join("; ");

/**
 * Libraries the dashboard loads, served from the installed package (package.json dependencies) under
 * /ui/vendor/: never from a CDN, a gate may have no internet. uPlot draws the Time release page's charts
 * (src/ui/charts.js): an ES module with no dependencies, no eval and styles set through the CSSOM only.
 */
const require = createRequire(import.meta.url);
export const VENDOR_FILES: Readonly<Record<string, string>> = {
    "vendor/uPlot.esm.js": require.resolve("uplot/dist/uPlot.esm.js"),
    "vendor/uPlot.min.css": require.resolve("uplot/dist/uPlot.min.css"),
};

/** Every servable file under the root, by its URL path relative to the root ("views/lanes.js"). */
function listAssets(root: string): Map<string, string> {
    const assets = new Map<string, string>();
    const walk = (dir: string): void => {
        for (const name of readdirSync(dir)) {
            if (name.startsWith(".")) continue;
            const path = join(dir, name);
            if (statSync(path).isDirectory()) walk(path);
            else if (CONTENT_TYPES[extname(name).toLowerCase()])
                assets.set(relative(root, path).split(sep).join("/"), path);
        }
    };
    walk(root);
    return assets;
}

function securityHeaders(reply: FastifyReply): FastifyReply {
    return reply
        .header("cache-control", "no-cache")
        .header("content-security-policy", UI_CONTENT_SECURITY_POLICY)
        .header("x-content-type-options", "nosniff")
        .header("x-frame-options", "DENY")
        .header("referrer-policy", "no-referrer");
}

/**
 * Serves the dashboard (src/ui) at `/` and `/ui/...`. Only files that exist under the root when the server
 * starts can be served: a request path is looked up in that list, never joined onto the file system, so
 * `..`, encoded slashes and absolute paths cannot reach anything else. Files are read per request (with
 * `Cache-Control: no-cache`) so a browser always revalidates after an update of gate-edge.
 */
export function registerUi(app: FastifyInstance, root: string | undefined = uiRoot): void {
    const assets = root ? listAssets(root) : new Map<string, string>();
    for (const [name, file] of Object.entries(VENDOR_FILES)) assets.set(name, file);
    const send = (reply: FastifyReply, name: string) => {
        const file = assets.get(name);
        if (!file) {
            return securityHeaders(reply).status(404).send({ error: "NOT_FOUND", message: "no such dashboard file" });
        }
        let bytes: Buffer;
        try {
            bytes = readFileSync(file);
        } catch {
            return securityHeaders(reply).status(404).send({ error: "NOT_FOUND", message: "no such dashboard file" });
        }
        return securityHeaders(reply)
            .header("content-type", CONTENT_TYPES[extname(file).toLowerCase()] as string)
            .send(bytes);
    };
    registerCatalogues(app);
    app.get("/", (_request, reply) => send(reply, "index.html"));
    app.get("/ui", (_request, reply) => reply.redirect("/ui/", 301));
    app.get("/ui/", (_request, reply) => send(reply, "index.html"));
    app.get<{ Params: { "*": string } }>("/ui/*", (request, reply) => send(reply, request.params["*"]));
}

/**
 * The officer catalogues for the dashboard's `t()`, at `/ui/i18n/officer.<language>.json`: same origin (the
 * policy's connect-src 'self'), JSON only. Cached by the browser and revalidated by ETag, so a switch of
 * language costs a 304 once a catalogue is known, and an update of gate-edge is seen at the next load.
 */
function registerCatalogues(app: FastifyInstance): void {
    const served = new Map<string, { body: string; etag: string }>();
    for (const language of LANGUAGES.officer) {
        const body = JSON.stringify(catalogue("officer", language));
        const etag = `"${createHash("sha256").update(body).digest("base64url").slice(0, 27)}"`;
        served.set(`officer.${language}.json`, { body, etag });
    }
    app.get<{ Params: { file: string } }>("/ui/i18n/:file", (request, reply) => {
        const found = served.get(request.params.file);
        securityHeaders(reply);
        if (!found) return reply.status(404).send({ error: "NOT_FOUND", message: "no such catalogue" });
        reply.header("etag", found.etag);
        if (request.headers["if-none-match"] === found.etag) return reply.status(304).send();
        return reply.header("content-type", "application/json; charset=utf-8").send(found.body);
    });
}
