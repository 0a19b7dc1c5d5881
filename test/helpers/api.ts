import type { LightMyRequestResponse } from "fastify";
import { hashPassword } from "../../src/config/passwords.ts";
import type { Gate } from "../../src/gate.ts";
import { type Role, SessionStore, UserStore } from "../../src/store/users.ts";

/** A password every user created by apiSession has (tests only). */
export const TEST_PASSWORD = "test-password-0123";

export interface ApiSession {
    name: string;
    role: Role;
    /** `gate_session=<token>` for a Cookie header. */
    cookie: string;
    csrfToken: string;
    /** Cookie and CSRF headers, for app.inject or fetch. */
    headers: { cookie: string; "x-csrf-token": string };
    /** app.inject as this user; a body is sent as JSON. */
    inject(
        method: "GET" | "POST" | "PATCH" | "PUT" | "DELETE",
        url: string,
        body?: unknown,
    ): Promise<LightMyRequestResponse>;
    /** fetch against the gate's HTTP address as this user. */
    fetch(path: string, init?: RequestInit): Promise<Response>;
}

let hash: string | undefined;

/**
 * A logged-in user of the gate's API without going through the login route: the user (name = role
 * unless given) is created in the store if missing, and a session is opened for it directly. A gate
 * on a fake clock needs `now` from that clock, or the session's expiry is off by the clock's offset.
 */
export function apiSession(
    gate: Gate,
    role: Role,
    name: string = role,
    options: { now?: () => number; ttlMs?: number } = {},
): ApiSession {
    const users = new UserStore(gate.database);
    hash ??= hashPassword(TEST_PASSWORD);
    if (!users.get(name)) users.add(name, role, hash);
    const { token, session } = new SessionStore(gate.database, options.now).create(
        { name, role },
        options.ttlMs ?? 3_600_000,
        "127.0.0.1",
    );
    const cookie = `gate_session=${token}`;
    const headers = { cookie, "x-csrf-token": session.csrfToken };
    return {
        name,
        role,
        cookie,
        csrfToken: session.csrfToken,
        headers,
        inject: (method, url, body) =>
            gate.httpApi.inject({
                method,
                url,
                headers: { ...headers, ...(body !== undefined && { "content-type": "application/json" }) },
                ...(body !== undefined && { payload: JSON.stringify(body) }),
            }),
        fetch: (path, init = {}) =>
            fetch(`${gate.addresses.http}${path}`, {
                ...init,
                headers: {
                    ...headers,
                    ...(init.body !== undefined && { "content-type": "application/json" }),
                    ...(init.headers as Record<string, string> | undefined),
                },
            }),
    };
}
