import { type Logger, type LoggerOptions, pino } from "pino";
import { type Clock, monotonicOf, systemClock } from "./clock.ts";
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

/**
 * Whether a gate's log on stdout is for a person: readable lines on a terminal, pino's JSON lines for the
 * service (journald) and for a file or pipe. GATE_LOG_FORMAT=pretty or =json decides instead.
 */
export function wantsPrettyLog(
    stdout: { isTTY?: boolean } = process.stdout,
    env: NodeJS.ProcessEnv = process.env,
): boolean {
    if (env.GATE_LOG_FORMAT === "pretty") return true;
    if (env.GATE_LOG_FORMAT === "json") return false;
    return stdout.isTTY === true;
}

/** One child per device, so every line about a device names it. */
export function deviceLogger(root: Logger, device: { id: string; laneId: string; model: string }): Logger {
    return root.child({ deviceId: device.id, laneId: device.laneId, model: device.model });
}

/** How often a stream of bad input from one source may write a line: the first at once, then a summary. */
export const BAD_INPUT_LOG_INTERVAL_MS = 10_000;

/**
 * A warning that can come thousands of times a second (a babbling serial line, a device sending garbage),
 * written at most once per interval: the first at once with its detail, the ones after it added up into one
 * summary line when the interval ends. The counts in the lines add up exactly; only lines are saved, so 15 MB
 * of noise costs a few lines instead of 79 MB of log. Every driver that logs bad input goes through this.
 */
export class SummarizedWarning<Count extends string> {
    private pending: Record<Count, number> | undefined;
    /** Wall-clock ms of the first problem the pending counts hold. */
    private pendingSince = 0;
    private pendingDetail: Record<string, unknown> = {};
    /** When the last line was written, on the monotonic clock. */
    private lastLineAt = Number.NEGATIVE_INFINITY;
    private timer: NodeJS.Timeout | undefined;

    /**
     * @param counts the names of what is counted; each line carries them all as fields.
     * @param describe the line's message from the counts and when they began (ISO 8601).
     */
    constructor(
        private readonly log: Logger,
        private readonly counts: readonly Count[],
        private readonly describe: (counts: Readonly<Record<Count, number>>, since: string) => string,
        private readonly options: { intervalMs?: number; clock?: Clock } = {},
    ) {}

    /** Adds one problem: `amounts` to the counts, `detail` (the latest reason, a sample) to the next line. */
    note(amounts: Partial<Record<Count, number>>, detail: Record<string, unknown>): void {
        const clock = this.options.clock ?? systemClock;
        if (!this.pending) {
            this.pending = Object.fromEntries(this.counts.map((name) => [name, 0])) as Record<Count, number>;
            this.pendingSince = clock.now();
        }
        for (const name of this.counts) this.pending[name] += amounts[name] ?? 0;
        this.pendingDetail = detail;
        if (this.timer) return;
        const wait = this.lastLineAt + this.intervalMs - monotonicOf(clock);
        if (wait <= 0) {
            this.flush();
            return;
        }
        this.timer = setTimeout(() => this.flush(), wait);
        // A summary still to come must not keep a stopping process alive; flush() writes it when its source goes.
        this.timer.unref();
    }

    /** Writes what is pending now, if anything: the end of an interval, or its source going away. */
    flush(): void {
        clearTimeout(this.timer);
        this.timer = undefined;
        const pending = this.pending;
        if (!pending) return;
        const clock = this.options.clock ?? systemClock;
        const since = new Date(this.pendingSince).toISOString();
        this.pending = undefined;
        this.lastLineAt = monotonicOf(clock);
        const fields: Record<string, unknown> = { ...this.pendingDetail, ...pending, since };
        this.log.warn(fields, this.describe(pending, since));
    }

    private get intervalMs(): number {
        return this.options.intervalMs ?? BAD_INPUT_LOG_INTERVAL_MS;
    }
}
