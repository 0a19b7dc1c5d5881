/**
 * `gate-edge start --pretty`: pino's JSON lines made readable for a technician at a terminal, with no
 * extra package (pino-pretty is a development tool, and a gate PC has no internet to fetch it). The
 * service itself logs JSON to journald; this is only for a person watching.
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
    const time = typeof entry.time === "string" ? entry.time.slice(11, 23) : new Date().toISOString().slice(11, 23);
    const where = [entry.component, entry.laneId, entry.deviceId].filter((part) => typeof part === "string").join(" ");
    const fields: string[] = [];
    for (const [key, member] of Object.entries(entry)) {
        if (HIDDEN.has(key) || member === undefined) continue;
        if (key === "err" && member && typeof member === "object") {
            const err = member as { message?: unknown; stack?: unknown };
            fields.push(`err=${value(err.message ?? member)}`);
            continue;
        }
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
