/**
 * `gate-edge start` on a terminal (or --pretty, or GATE_LOG_FORMAT=pretty): pino's JSON lines made readable
 * for a technician watching, with no extra package (pino-pretty is a development tool, and a gate PC has no
 * internet to fetch it). The service itself logs JSON to journald; so does a start whose output is a file.
 */

const LEVELS: Readonly<Record<number, string>> = {
    10: "TRACE",
    20: "DEBUG",
    30: "INFO ",
    40: "WARN ",
    50: "ERROR",
    60: "FATAL",
};
const COLORS: Readonly<Record<number, string>> = { 40: "\x1b[33m", 50: "\x1b[31m", 60: "\x1b[41m\x1b[97m" };
const DIM = "\x1b[2m";
const RESET = "\x1b[0m";

/** Fields every line has, or that the head of the line shows already. */
const HIDDEN = new Set(["level", "time", "msg", "service", "pid", "hostname", "component", "deviceId", "laneId"]);

/** A lane decision's line carries its fields in its message already (see decisionLogEntry). */
const DECISION_FIELDS = new Set(["decision", "plates", "reason", "passageId", "declarations"]);

/**
 * Date and time in the gate's time zone (the process's, TZ or the system's): a night shift crosses midnight,
 * and the people reading the line think in local time.
 */
export function localDateTime(at: Date): string {
    const two = (n: number): string => String(n).padStart(2, "0");
    return (
        `${at.getFullYear()}-${two(at.getMonth() + 1)}-${two(at.getDate())} ` +
        `${two(at.getHours())}:${two(at.getMinutes())}:${two(at.getSeconds())}`
    );
}

function value(member: unknown): string {
    if (typeof member === "string") return /[\s"=]/.test(member) || member === "" ? JSON.stringify(member) : member;
    return JSON.stringify(member) ?? String(member);
}

/** One JSON log line → one readable line (or the line as it came, if it is not JSON). */
export function formatLogLine(line: string, options: { color?: boolean } = {}): string {
    let entry: Record<string, unknown>;
    try {
        entry = JSON.parse(line) as Record<string, unknown>;
    } catch {
        return line.replace(/\n$/, "");
    }
    if (typeof entry !== "object" || entry === null) return line.replace(/\n$/, "");
    const level = typeof entry.level === "number" ? entry.level : 30;
    const at = typeof entry.time === "string" || typeof entry.time === "number" ? new Date(entry.time) : new Date();
    const time = localDateTime(Number.isNaN(at.getTime()) ? new Date() : at);
    const where = [entry.component, entry.laneId, entry.deviceId].filter((part) => typeof part === "string").join(" ");
    const isDecision = typeof entry.decision === "string";
    const fields: string[] = [];
    for (const [key, member] of Object.entries(entry)) {
        if (HIDDEN.has(key) || member === undefined || (isDecision && DECISION_FIELDS.has(key))) continue;
        if (key === "err" && member && typeof member === "object") {
            // The message only: a retry the gate expects (a device not up yet) is one line, not a stack.
            const err = member as { message?: unknown; stack?: unknown };
            fields.push(`err=${value(err.message ?? member)}`);
            continue;
        }
        if (key === "err" && typeof member === "string" && String(entry.msg ?? "").includes(member)) continue;
        fields.push(`${key}=${value(member)}`);
    }
    const color = options.color ? (COLORS[level] ?? "") : "";
    const head = `${time} ${color}${LEVELS[level] ?? String(level).padEnd(5)}${color ? RESET : ""}`;
    const place = where ? ` [${where}]` : "";
    const rest =
        fields.length > 0 ? `  ${options.color ? DIM : ""}${fields.join(" ")}${options.color ? RESET : ""}` : "";
    return `${head}${place} ${String(entry.msg ?? "")}${rest}`;
}

/** A pino destination that writes readable lines to `out` (colours when it is a terminal). */
export function prettyDestination(out: NodeJS.WritableStream & { isTTY?: boolean }): { write(chunk: string): boolean } {
    const color = out.isTTY === true && process.env.NO_COLOR === undefined;
    return {
        write(chunk: string): boolean {
            for (const line of chunk.split("\n")) {
                if (line.trim() !== "") out.write(`${formatLogLine(line, { color })}\n`);
            }
            return true;
        },
    };
}
