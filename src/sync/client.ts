import { readFileSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import { GateError } from "../core/errors.ts";

export interface CentralClientOptions {
    /** Base URL; paths of the protocol are appended to its path. */
    url: string;
    /** Bearer token; undefined sends no Authorization header (central will answer 401). */
    token: string | undefined;
    /** PEM file of the CA that signed central's certificate. */
    ca?: string;
    clientCert?: string;
    clientKey?: string;
    /** The whole exchange, headers and body both ways, must finish within this. */
    timeoutMs: number;
}

export interface CentralResponse {
    status: number;
    headers: http.IncomingHttpHeaders;
    /** Parsed JSON body, or undefined when the body was empty or not JSON. */
    body: unknown;
}

/** A body larger than this from central is cut off as a protocol error (a page of 1000 items is ~1 MiB). */
const MAX_RESPONSE_BYTES = 16 * 1024 * 1024;

/**
 * The HTTP(S) side of the central sync protocol: keep-alive connections, the configured CA and client
 * certificate, the bearer token (held here, never logged: errors carry the URL path and status only).
 *
 * Error rules: `request` resolves with any HTTP status (the caller decides what 4xx/5xx mean); it rejects
 * with GateError SYNC_NETWORK when no complete answer arrived (refused, reset, TLS failure, timeout,
 * cancelled through `signal`), which means the request may or may not have been processed by central.
 */
export class CentralClient {
    private readonly base: URL;
    private readonly agent: http.Agent;
    private readonly authorization: string | undefined;

    constructor(private readonly options: CentralClientOptions) {
        this.base = new URL(options.url.endsWith("/") ? options.url : `${options.url}/`);
        const tls = this.base.protocol === "https:";
        this.agent = tls
            ? new https.Agent({
                  keepAlive: true,
                  maxSockets: 2,
                  ...(options.ca && { ca: readFileSync(options.ca) }),
                  ...(options.clientCert && { cert: readFileSync(options.clientCert) }),
                  ...(options.clientKey && { key: readFileSync(options.clientKey) }),
              })
            : new http.Agent({ keepAlive: true, maxSockets: 2 });
        this.authorization = options.token ? `Bearer ${options.token}` : undefined;
    }

    /** The origin and path prefix, safe to log. */
    get target(): string {
        return this.base.href;
    }

    request(method: "GET" | "POST", path: string, body?: string, signal?: AbortSignal): Promise<CentralResponse> {
        const url = new URL(path.replace(/^\//, ""), this.base);
        const transport = url.protocol === "https:" ? https : http;
        return new Promise<CentralResponse>((resolve, reject) => {
            const fail = (why: string, cause?: unknown): void => {
                reject(new GateError("SYNC_NETWORK", `${method} ${url.pathname}: ${why}`, { cause }));
            };
            const headers: http.OutgoingHttpHeaders = { accept: "application/json" };
            if (this.authorization) headers.authorization = this.authorization;
            const payload = body === undefined ? undefined : Buffer.from(body, "utf8");
            if (payload) {
                headers["content-type"] = "application/json";
                headers["content-length"] = payload.length;
            }
            const request = transport.request(url, { method, headers, agent: this.agent });
            const timer = setTimeout(
                () => request.destroy(new Error(`no complete answer in ${this.options.timeoutMs} ms`)),
                this.options.timeoutMs,
            );
            const onAbort = (): void => {
                request.destroy(new Error("cancelled"));
            };
            signal?.addEventListener("abort", onAbort, { once: true });
            const done = (): void => {
                clearTimeout(timer);
                signal?.removeEventListener("abort", onAbort);
            };
            request.on("error", (err) => {
                done();
                fail(err.message, err);
            });
            request.on("response", (response) => {
                const chunks: Buffer[] = [];
                let size = 0;
                response.on("data", (chunk: Buffer) => {
                    size += chunk.length;
                    if (size > MAX_RESPONSE_BYTES) {
                        request.destroy(new Error(`answer larger than ${MAX_RESPONSE_BYTES} bytes`));
                        return;
                    }
                    chunks.push(chunk);
                });
                response.on("aborted", () => request.destroy(new Error("answer cut off")));
                response.on("error", () => {
                    // The request's own error handler reports it.
                });
                response.on("end", () => {
                    if (!response.complete) return;
                    done();
                    const text = Buffer.concat(chunks).toString("utf8");
                    let parsed: unknown;
                    if (text.trim() !== "") {
                        try {
                            parsed = JSON.parse(text);
                        } catch {
                            parsed = undefined;
                        }
                    }
                    resolve({ status: response.statusCode ?? 0, headers: response.headers, body: parsed });
                });
            });
            if (signal?.aborted) onAbort();
            request.end(payload);
        });
    }

    close(): void {
        this.agent.destroy();
    }
}
