import { randomBytes, timingSafeEqual } from "node:crypto";
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { Logger } from "pino";
import { hashPassword, verifyPasswordAsync } from "../config/passwords.ts";
import type { GateConfig } from "../config/types.ts";
import { GateError } from "../core/errors.ts";
import type { JsonValue } from "../core/events.ts";
import { LoginRateLimiter } from "../core/loginRateLimiter.ts";
import type { AuditDraft, AuditLog } from "../store/auditLog.ts";
import { MAX_PASSWORD_LENGTH, type Session, type SessionStore, type UserStore } from "../store/users.ts";
import { shownFreeText } from "./freeText.ts";
import { permissionOf, STATE_CHANGING } from "./permissions.ts";

// The limiter moved to src/core (the broker and the push receiver use it too); its tests import it from here.
export { type LoginAttempt, LoginRateLimiter } from "../core/loginRateLimiter.ts";

export const SESSION_COOKIE = "gate_session";

declare module "fastify" {
    interface FastifyRequest {
        /** The logged-in user's session, set by the guard on every route that needs one. */
        auth: Session | null;
        /** What the audit entry of this request records, when the handler knows better than the route. */
        auditTarget: string | null;
        auditDetail: { [key: string]: JsonValue | undefined } | null;
    }
}

/** Cookie header → name/value pairs (RFC 6265: `a=b; c=d`); a malformed pair is skipped. */
export function parseCookies(header: string | undefined): Map<string, string> {
    const cookies = new Map<string, string>();
    for (const part of (header ?? "").split(";")) {
        const eq = part.indexOf("=");
        const name = eq < 0 ? "" : part.slice(0, eq).trim();
        if (name === "") continue;
        let value = part.slice(eq + 1).trim();
        if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) value = value.slice(1, -1);
        if (!cookies.has(name)) cookies.set(name, value);
    }
    return cookies;
}

function sameSecret(a: string, b: string): boolean {
    const left = Buffer.from(a);
    const right = Buffer.from(b);
    return left.length === right.length && timingSafeEqual(left, right);
}

export interface AuthDeps {
    users: UserStore;
    sessions: SessionStore;
    audit: AuditLog;
    http: GateConfig["http"];
    now: () => number;
    log: Logger;
}

/** What the API counts about logins, for /metrics. */
export interface AuthCounters {
    loginFailures: number;
}

/** Audit entry for a request: who, from where; the rest from the caller. */
export function auditOf(
    request: FastifyRequest,
    entry: Omit<AuditDraft, "user" | "ip" | "role"> & { user?: string; role?: string },
): AuditDraft {
    const user = entry.user ?? request.auth?.user.name ?? "anonymous";
    const role = entry.role ?? request.auth?.user.role;
    return { ...entry, user, ...(role !== undefined && { role }), ip: request.ip };
}

/** Removes anything password-like from a body before it is written to the audit log. */
function auditableBody(body: unknown): { [key: string]: JsonValue | undefined } | undefined {
    if (body === null || typeof body !== "object" || Array.isArray(body)) return undefined;
    const out: { [key: string]: JsonValue | undefined } = {};
    for (const [key, value] of Object.entries(body as Record<string, unknown>)) {
        if (/password|token|secret/i.test(key)) continue;
        if (typeof value === "string") out[key] = shownFreeText(value);
        else if (value === null || ["number", "boolean"].includes(typeof value)) out[key] = value as JsonValue;
    }
    return Object.keys(out).length > 0 ? out : undefined;
}

function errorCodeOf(payload: unknown): string | undefined {
    if (typeof payload !== "string") return undefined;
    try {
        const parsed = JSON.parse(payload) as { error?: unknown };
        return typeof parsed.error === "string" ? parsed.error : undefined;
    } catch {
        return undefined;
    }
}

/**
 * Logins, sessions and the role guard. Every request to a route under /api/ is checked here before its
 * handler runs: the route must be in the permission table (else nobody may use it), a session is needed
 * unless the route is open, the session's role must be listed, and a state change must carry the
 * session's CSRF token. Refusals by role or CSRF token are written to the audit log, and so is every
 * audited route's outcome (src/api/permissions.ts).
 */
export function registerAuth(app: FastifyInstance, deps: AuthDeps): AuthCounters {
    const { users, sessions, audit, http } = deps;
    const counters: AuthCounters = { loginFailures: 0 };
    const ttlMs = http.sessionHours * 3_600_000;
    const limiter = new LoginRateLimiter(
        http.loginRateLimit.maxFailures,
        http.loginRateLimit.windowMinutes * 60_000,
        deps.now,
    );
    // An unknown name is checked against this, so a wrong name costs the same time as a wrong password.
    let dummyHash: string | undefined;

    app.decorateRequest("auth", null);
    app.decorateRequest("auditTarget", null);
    app.decorateRequest("auditDetail", null);

    const sessionOf = (request: FastifyRequest): { session?: Session; expired: boolean; token?: string } => {
        const token = parseCookies(request.headers.cookie).get(SESSION_COOKIE);
        if (!token) return { expired: false };
        return { ...sessions.get(token), token };
    };

    const denied = (request: FastifyRequest, reason: "role" | "csrf" | "unlisted", url: string): void => {
        audit.append(
            auditOf(request, {
                action: "access.denied",
                target: `${request.method} ${url}`,
                outcome: "denied",
                detail: { reason, path: request.url.split("?")[0] },
            }),
        );
    };

    app.addHook("onRequest", async (request) => {
        const url = request.routeOptions.url;
        // No route matched (the 404 handler), or the dashboard's files and /metrics: open.
        if (url === undefined || !url.startsWith("/api/")) return;
        const permission = permissionOf(request.method, url);
        if (!permission) {
            deps.log.error({ method: request.method, url }, "route missing from the permission table: refused");
            denied(request, "unlisted", url);
            throw new GateError("FORBIDDEN", "this route is not open to any role");
        }
        if (permission.roles === "open") return;
        const { session, expired } = sessionOf(request);
        if (!session) throw new GateError("AUTH_REQUIRED", expired ? "the session expired" : undefined);
        request.auth = session;
        if (!permission.roles.includes(session.user.role)) {
            denied(request, "role", url);
            throw new GateError("FORBIDDEN", `${session.user.role} may not ${request.method} ${url}`);
        }
        if (STATE_CHANGING.has(request.method)) {
            const header = request.headers["x-csrf-token"];
            if (typeof header !== "string" || !sameSecret(header, session.csrfToken)) {
                denied(request, "csrf", url);
                throw new GateError("CSRF");
            }
        }
    });

    // Written before the answer leaves, so nothing is answered that is not in the audit log.
    app.addHook("onSend", async (request, reply, payload) => {
        const url = request.routeOptions.url;
        if (url === undefined) return payload;
        if (url.startsWith("/api/")) {
            // Answers carry plates and names: no cache keeps them, and no browser guesses them to be HTML.
            if (!reply.hasHeader("cache-control")) reply.header("cache-control", "no-store");
            reply.header("x-content-type-options", "nosniff");
        }
        const action = permissionOf(request.method, url)?.audit;
        const status = reply.statusCode;
        // 401s are not anyone's action; 403s were written by the guard.
        if (!action || status === 401 || status === 403) return payload;
        const detail =
            request.auditDetail ??
            (request.method === "GET"
                ? auditableBody(request.query)
                : auditableBody(request.body as Record<string, unknown> | undefined));
        const error = status >= 400 ? errorCodeOf(payload) : undefined;
        audit.append(
            auditOf(request, {
                action,
                target: request.auditTarget ?? request.url.split("?")[0],
                outcome: status >= 400 ? "failed" : "ok",
                ...((detail !== undefined || error !== undefined) && {
                    detail: { ...detail, ...(error !== undefined && { error, status }) },
                }),
            }),
        );
        return payload;
    });

    const cookie = (token: string, maxAgeS: number): string =>
        `${SESSION_COOKIE}=${token}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${maxAgeS}${http.secureCookie ? "; Secure" : ""}`;

    app.post<{ Body: { username: string; password: string } }>(
        "/api/v1/auth/login",
        {
            schema: {
                body: {
                    type: "object",
                    additionalProperties: false,
                    required: ["username", "password"],
                    properties: {
                        username: { type: "string", minLength: 1, maxLength: 64, freeText: "line" },
                        password: { type: "string", minLength: 1, maxLength: MAX_PASSWORD_LENGTH },
                    },
                },
            },
        },
        async (request, reply) => {
            const { username, password } = request.body;
            const entry = (outcome: AuditDraft["outcome"], detail?: { [key: string]: JsonValue }): void =>
                void audit.append(
                    auditOf(request, {
                        user: username,
                        action: "auth.login",
                        outcome,
                        ...(detail && { detail }),
                    }),
                );
            // The place is taken before the first await, so parallel requests cannot all pass this check.
            const reserved = limiter.reserve(username, request.ip);
            if ("retryAfterS" in reserved) {
                const { retryAfterS } = reserved;
                entry("denied", { reason: "rate limited" });
                return reply
                    .status(429)
                    .header("retry-after", String(retryAfterS))
                    .send({
                        error: "AUTH_RATE_LIMITED",
                        message: `too many failed logins; try again in ${retryAfterS} s`,
                    });
            }
            const { attempt } = reserved;
            const stored = users.passwordHash(username);
            dummyHash ??= hashPassword(randomBytes(16).toString("hex"));
            // Should the check throw, the place stays taken until it leaves the window: never handed back.
            const passwordOk = await verifyPasswordAsync(password, stored ?? dummyHash);
            const user = users.get(username);
            if (!passwordOk || !user || user.disabled || stored === undefined) {
                attempt.failed();
                counters.loginFailures++;
                entry("failed", { reason: !user ? "unknown user" : user.disabled ? "disabled" : "wrong password" });
                throw new GateError("AUTH_FAILED");
            }
            attempt.succeeded();
            sessions.prune();
            const { token, session } = sessions.create(user, ttlMs, request.ip);
            audit.append(auditOf(request, { user: user.name, role: user.role, action: "auth.login", outcome: "ok" }));
            return reply
                .header("set-cookie", cookie(token, Math.floor(ttlMs / 1000)))
                .header("cache-control", "no-store")
                .send({ user: session.user, csrfToken: session.csrfToken });
        },
    );

    app.post("/api/v1/auth/logout", async (request, reply) => {
        const { token } = sessionOf(request);
        if (token) sessions.delete(token);
        audit.append(auditOf(request, { action: "auth.logout", outcome: "ok" }));
        return reply.status(204).header("set-cookie", cookie("", 0)).send();
    });

    app.get("/api/v1/auth/me", async (request, reply) => {
        const session = request.auth as Session;
        return reply.header("cache-control", "no-store").send({ user: session.user, csrfToken: session.csrfToken });
    });

    return counters;
}

/** The session of a request the guard let through (routes that need one). */
export function sessionOf(request: FastifyRequest): Session {
    if (!request.auth) throw new GateError("AUTH_REQUIRED");
    return request.auth;
}

/** Re-checks a long-lived request's session (the live stream): false once it expired or was ended. */
export function stillValid(sessions: SessionStore, request: FastifyRequest): boolean {
    const token = parseCookies(request.headers.cookie).get(SESSION_COOKIE);
    return token !== undefined && sessions.get(token).session !== undefined;
}
