import { request } from "node:http";
import type { AddressInfo } from "node:net";
import Fastify, { type FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { registerUi, UI_CONTENT_SECURITY_POLICY } from "../../src/api/ui.ts";

let app: FastifyInstance;
let port: number;

/** A raw GET: the path goes on the wire exactly as written (fetch would normalise `..`). */
function get(
    path: string,
    headers: Record<string, string> = {},
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
    return new Promise((resolve, reject) => {
        const req = request({ host: "127.0.0.1", port, path, method: "GET", headers }, (res) => {
            const chunks: Buffer[] = [];
            res.on("data", (chunk: Buffer) => chunks.push(chunk));
            res.on("end", () =>
                resolve({
                    status: res.statusCode ?? 0,
                    headers: res.headers,
                    body: Buffer.concat(chunks).toString("utf8"),
                }),
            );
        });
        req.on("error", reject);
        req.end();
    });
}

beforeAll(async () => {
    app = Fastify();
    app.setNotFoundHandler((_request, reply) => reply.status(404).send({ error: "NOT_FOUND", message: "no route" }));
    registerUi(app);
    await app.listen({ host: "127.0.0.1", port: 0 });
    port = (app.server.address() as AddressInfo).port;
});
afterAll(async () => {
    await app.close();
});

describe("the dashboard's static files", () => {
    it("serves the page at / and /ui/ with a strict policy and no caching", async () => {
        for (const path of ["/", "/ui/", "/ui/index.html"]) {
            const answer = await get(path);
            expect(answer.status, path).toBe(200);
            expect(answer.headers["content-type"]).toBe("text/html; charset=utf-8");
            expect(answer.headers["cache-control"]).toBe("no-cache");
            expect(answer.headers["content-security-policy"]).toBe(UI_CONTENT_SECURITY_POLICY);
            expect(answer.headers["x-content-type-options"]).toBe("nosniff");
            expect(answer.headers["x-frame-options"]).toBe("DENY");
            expect(answer.body).toContain('<script type="module" src="/ui/app.js"></script>');
        }
        expect(UI_CONTENT_SECURITY_POLICY).toContain("default-src 'self'");
        expect(UI_CONTENT_SECURITY_POLICY).toContain("img-src 'self' data: blob:");
        expect(UI_CONTENT_SECURITY_POLICY).not.toContain("unsafe-inline");
        expect(UI_CONTENT_SECURITY_POLICY).not.toContain("unsafe-eval");
    });

    it("serves the officer catalogues for the page's t(), cacheable by ETag, under the same policy", async () => {
        for (const language of ["vi", "en"]) {
            const answer = await get(`/ui/i18n/officer.${language}.json`);
            expect(answer.status).toBe(200);
            expect(answer.headers["content-type"]).toBe("application/json; charset=utf-8");
            expect(answer.headers["content-security-policy"]).toBe(UI_CONTENT_SECURITY_POLICY);
            expect(answer.headers["cache-control"]).toBe("no-cache");
            const texts = JSON.parse(answer.body) as Record<string, string>;
            expect(texts["nav.lanes"]).toBe(language === "vi" ? "Làn xe" : "Lanes");
            const etag = answer.headers.etag as string;
            expect(etag).toMatch(/^"[\w-]+"$/);
            const again = await get(`/ui/i18n/officer.${language}.json`, { "if-none-match": etag });
            expect(again.status).toBe(304);
            expect(again.body).toBe("");
        }
        expect((await get("/ui/i18n/officer.fr.json")).status).toBe(404);
        expect((await get("/ui/i18n/driver.vi.json")).status).toBe(404);
        expect((await get("/ui/i18n/..%2Fformat.ts")).status).toBe(404);
    });

    it("serves scripts, views and styles with their content types", async () => {
        const js = await get("/ui/app.js");
        expect(js.status).toBe(200);
        expect(js.headers["content-type"]).toBe("text/javascript; charset=utf-8");
        expect((await get("/ui/views/lanes.js")).headers["content-type"]).toBe("text/javascript; charset=utf-8");
        const css = await get("/ui/styles.css");
        expect(css.status).toBe(200);
        expect(css.headers["content-type"]).toBe("text/css; charset=utf-8");
    });

    it("serves the charting library from its installed package under the same policy, never from elsewhere", async () => {
        const library = await get("/ui/vendor/uPlot.esm.js");
        expect(library.status).toBe(200);
        expect(library.headers["content-type"]).toBe("text/javascript; charset=utf-8");
        expect(library.headers["content-security-policy"]).toBe(UI_CONTENT_SECURITY_POLICY);
        expect(library.body).toContain("export { uPlot as default }");
        // Nothing a strict policy refuses: no eval, no HTML parsed from strings.
        expect(library.body).not.toMatch(/\beval\(|new Function\(|innerHTML|insertAdjacentHTML|document\.write/);
        const sheet = await get("/ui/vendor/uPlot.min.css");
        expect(sheet.status).toBe(200);
        expect(sheet.headers["content-type"]).toBe("text/css; charset=utf-8");
        expect(sheet.body).toContain(".uplot");
        expect((await get("/")).body).toContain('<link rel="stylesheet" href="/ui/vendor/uPlot.min.css" />');
        // Only the files named: not the rest of the package, nor another package beside it.
        for (const path of [
            "/ui/vendor/uPlot.cjs.js",
            "/ui/vendor/../vendor/uPlot.d.ts",
            "/ui/vendor/fastify/package.json",
        ])
            expect([400, 404], path).toContain((await get(path)).status);
    });

    it("has no inline script, no external asset and no innerHTML in the dashboard", async () => {
        const page = (await get("/")).body;
        expect(page).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
        expect(page).not.toMatch(/\son[a-z]+=/i);
        for (const file of [
            "app.js",
            "api.js",
            "dom.js",
            "views/lanes.js",
            "views/passages.js",
            "views/approvals.js",
            "views/alerts.js",
            "views/devices.js",
            "views/sync.js",
            "views/audit.js",
            "views/login.js",
            "views/yard.js",
            "views/timeRelease.js",
            "views/yardTabs.js",
            "charts.js",
        ]) {
            const body = (await get(`/ui/${file}`)).body;
            expect(body.length, file).toBeGreaterThan(0);
            expect(body, file).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(/);
            expect(body, file).not.toMatch(/https?:\/\/(?!127\.0\.0\.1)/);
        }
        expect((await get("/ui/styles.css")).body).not.toMatch(/@import|url\(\s*["']?https?:/);
    });

    it("answers 404 for an unknown file and never leaves the dashboard's folder", async () => {
        const outside = [
            "/ui/nope.js",
            "/ui/../package.json",
            "/ui/%2e%2e/package.json",
            "/ui/%2E%2E%2Fpackage.json",
            "/ui/..%2f..%2fpackage.json",
            "/ui/..%5c..%5cpackage.json",
            "/ui/views/../../api/ui.ts",
            "/ui/views/%2e%2e/%2e%2e/api/ui.ts",
            "/ui//etc/passwd",
            "/ui/%2fetc%2fpasswd",
            "/ui/....//....//package.json",
            "/ui/app.js%00.html",
            "/ui/app.js/",
            "/ui/.gitignore",
            "/ui/views",
            "/ui/views/",
            "/package.json",
            "/src/ui/app.js",
        ];
        for (const path of outside) {
            const answer = await get(path);
            expect([400, 404], path).toContain(answer.status);
            expect(answer.body, path).not.toContain('"name": "gate-edge"');
            expect(answer.body, path).not.toContain("root:");
            expect(answer.body, path).not.toContain("registerUi");
        }
    });
});
