import { type Logger, type LoggerOptions, pino } from "pino";
import { prettyDestination } from "./prettyLog.ts";

/**
 * Paths that may hold secrets anywhere they are logged. Config objects, HTTP headers and device
 * credentials are logged for diagnosis, their secrets never.
 */
export const REDACT_PATHS = [
    "password",
    "*.password",
    "*.*.password",
    "devices[*].auth.password",
    "devices[*].auth.passwordHash",
    "config.devices[*].auth",
    "auth.password",
    "token",
    "*.token",
    "central.token",
    "authorization",
    "headers.authorization",
    "req.headers.authorization",
    "req.headers.cookie",
    // Dashboard users and sessions: a hash, a cookie or a CSRF token in a log line would open a session.
    "passwordHash",
    "*.passwordHash",
    "password_hash",
    "*.password_hash",
    "csrfToken",
    "*.csrfToken",
    "sessionToken",
    "*.sessionToken",
    "cookie",
    "*.cookie",
    "headers.cookie",
    'req.headers["x-csrf-token"]',
    'headers["x-csrf-token"]',
    'res.headers["set-cookie"]',
    'headers["set-cookie"]',
];

export function createLogger(
    options: { level?: string; destination?: NodeJS.WritableStream; pretty?: boolean } = {},
): Logger {
    const pinoOptions: LoggerOptions = {
        level: options.level ?? process.env.GATE_LOG_LEVEL ?? "info",
        base: { service: "gate-edge" },
        redact: { paths: REDACT_PATHS, censor: "[redacted]" },
        timestamp: pino.stdTimeFunctions.isoTime,
    };
    if (options.pretty) return pino(pinoOptions, prettyDestination(options.destination ?? process.stdout));
    return options.destination ? pino(pinoOptions, options.destination as pino.DestinationStream) : pino(pinoOptions);
}

/** One child per device, so every line about a device names it. */
export function deviceLogger(root: Logger, device: { id: string; laneId: string; model: string }): Logger {
    return root.child({ deviceId: device.id, laneId: device.laneId, model: device.model });
}
