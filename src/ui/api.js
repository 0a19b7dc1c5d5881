/**
 * The dashboard's link to gate-edge: JSON over fetch with the session cookie (HttpOnly: the page never
 * sees it), the CSRF token on every state change, and the live stream (Server-Sent Events) with reconnect.
 * A file (a photo) is sent as it is, with its own type.
 */

let csrfToken = "";
let onUnauthorized = () => {};

export class ApiError extends Error {
    constructor(status, code, message, retryAfter) {
        super(message || code || `HTTP ${status}`);
        this.status = status;
        this.code = code;
        this.retryAfter = retryAfter;
    }
}

/** Called when the session is gone (401 on anything but login): the app shows the login page. */
export function setUnauthorizedHandler(handler) {
    onUnauthorized = handler;
}

export function setCsrfToken(token) {
    csrfToken = token ?? "";
}

async function request(method, path, body) {
    const headers = { accept: "application/json" };
    const file = body instanceof Blob;
    if (body !== undefined) headers["content-type"] = file ? body.type : "application/json";
    if (method !== "GET" && method !== "HEAD") headers["x-csrf-token"] = csrfToken;
    let response;
    try {
        response = await fetch(path, {
            method,
            headers,
            credentials: "same-origin",
            cache: "no-store",
            ...(body !== undefined && { body: file ? body : JSON.stringify(body) }),
        });
    } catch {
        throw new ApiError(0, "NETWORK", "gate-edge is not reachable");
    }
    if (response.status === 204) return {};
    const type = response.headers.get("content-type") ?? "";
    const data = type.includes("json") ? await response.json().catch(() => ({})) : {};
    if (!response.ok) {
        const error = new ApiError(
            response.status,
            data.error,
            data.message,
            Number(response.headers.get("retry-after")) || undefined,
        );
        if (response.status === 401 && path !== "/api/v1/auth/login") onUnauthorized(error);
        throw error;
    }
    // 202 (awaiting approval) and the like are successes: the caller reads the status from the body.
    return Object.assign(data, { httpStatus: response.status });
}

export const api = {
    get: (path) => request("GET", path),
    post: (path, body = {}) => request("POST", path, body),
    put: (path, body = {}) => request("PUT", path, body),
    del: (path) => request("DELETE", path),
    /** POSTs a file (a Blob) as the raw body, with its type as the Content-Type. */
    upload: (path, file) => request("POST", path, file),
};

/** Query string from an object, skipping empty values. */
export function query(params) {
    const search = new URLSearchParams();
    for (const [key, value] of Object.entries(params)) {
        if (value !== undefined && value !== null && value !== "") search.set(key, String(value));
    }
    const text = search.toString();
    return text ? `?${text}` : "";
}

export async function login(username, password) {
    const answer = await request("POST", "/api/v1/auth/login", { username, password });
    setCsrfToken(answer.csrfToken);
    return answer.user;
}

export async function logout() {
    try {
        await request("POST", "/api/v1/auth/logout");
    } finally {
        setCsrfToken("");
    }
}

/** The current session's user, or undefined when not logged in. */
export async function me() {
    try {
        const answer = await request("GET", "/api/v1/auth/me");
        setCsrfToken(answer.csrfToken);
        return answer.user;
    } catch (err) {
        if (err instanceof ApiError && err.status === 401) return undefined;
        throw err;
    }
}

/**
 * The live stream. `handlers` maps event names (lane, alert, device, approval) to callbacks taking the
 * parsed data; `onStatus("live" | "reconnecting")` reports the link; `onOpen()` runs on every (re)connect
 * so the caller can reload what it may have missed. EventSource retries network errors by itself; when the
 * server refuses the stream (the connection ends CLOSED) this retries with a growing pause, and hands a
 * lost session to the login page. Returns a function that closes the stream for good.
 */
export function openStream(handlers, { onStatus = () => {}, onOpen = () => {} } = {}) {
    let source;
    let closed = false;
    let retryMs = 1000;
    let timer;
    const connect = () => {
        if (closed) return;
        source = new EventSource("/api/v1/stream", { withCredentials: true });
        source.addEventListener("open", () => {
            retryMs = 1000;
            onStatus("live");
            onOpen();
        });
        for (const [name, handler] of Object.entries(handlers)) {
            source.addEventListener(name, (event) => {
                let data;
                try {
                    data = JSON.parse(event.data);
                } catch {
                    return;
                }
                handler(data);
            });
        }
        source.addEventListener("error", () => {
            if (closed) return;
            onStatus("reconnecting");
            if (source.readyState !== EventSource.CLOSED) return; // the browser retries by itself
            source.close();
            clearTimeout(timer);
            timer = setTimeout(async () => {
                // Refused: maybe the session ended. /auth/me answers 401 then, which shows the login page.
                try {
                    if (!(await me())) {
                        onUnauthorized(new ApiError(401, "AUTH_REQUIRED", "session ended"));
                        return;
                    }
                } catch {
                    // gate-edge unreachable: keep trying.
                }
                connect();
            }, retryMs);
            retryMs = Math.min(retryMs * 2, 15_000);
        });
    };
    connect();
    return () => {
        closed = true;
        clearTimeout(timer);
        source?.close();
    };
}
