/**
 * The one error catalogue of gate-edge. Every error thrown on purpose is a GateError with a code from
 * here, so logs, API answers and tests can tell errors apart without matching message text.
 */

export const ErrorCodes = {
    CONFIG_INVALID: { status: 500, message: "configuration is invalid" },
    CONFIG_UNREADABLE: { status: 500, message: "configuration file cannot be read" },
    STORE_CLOSED: { status: 503, message: "event store is closed" },
    STORE_CORRUPT: { status: 500, message: "event store failed its integrity check" },
    STORE_QUOTA: { status: 507, message: "event store disk quota reached" },
    STORE_SCHEMA_NEWER: { status: 500, message: "the database was written by a newer gate-edge" },
    STORE_UPGRADE_PENDING: { status: 500, message: "the database needs a schema upgrade first" },
    STORE_BACKUP_FAILED: { status: 500, message: "the database backup failed" },
    STORE_IN_USE: { status: 409, message: "a running gate holds the database" },
    STORE_UNUSABLE: { status: 500, message: "the database file cannot be used" },
    ARCHIVE_INVALID: { status: 400, message: "the archive cannot be written or read" },
    RESTORE_REFUSED: { status: 400, message: "the backup cannot be restored" },
    RELOAD_FAILED: { status: 500, message: "the configuration could not be applied" },
    FRAME_INVALID: { status: 400, message: "device frame is invalid" },
    PAYLOAD_TOO_LARGE: { status: 413, message: "payload is larger than allowed" },
    DEVICE_UNKNOWN: { status: 404, message: "unknown device" },
    MODEL_UNKNOWN: { status: 400, message: "unknown device model" },
    DRIVER_UNSUPPORTED: { status: 400, message: "unsupported driver address" },
    DRIVER_CANCELED: { status: 499, message: "operation canceled because the driver stopped" },
    DRIVER_DISCONNECTED: { status: 503, message: "device is disconnected" },
    DEVICE_AUTH: { status: 502, message: "device refused the credentials" },
    DEVICE_PROTOCOL: { status: 502, message: "device answered with a fault or an invalid response" },
    DRIVER_WRITE_REJECTED: { status: 502, message: "device rejected the write" },
    BROKER_AUTH: { status: 401, message: "broker authentication failed" },
    BROKER_ACL: { status: 403, message: "publish or subscribe outside the device's topics" },
    BROKER_CLIENT_ID: { status: 403, message: "the MQTT client id belongs to another device" },
    BROKER_LIMIT: { status: 429, message: "too many MQTT logins or sessions for this device or address" },
    API_BAD_REQUEST: { status: 400, message: "bad request" },
    AUTH_REQUIRED: { status: 401, message: "log in first" },
    AUTH_FAILED: { status: 401, message: "wrong user name or password" },
    AUTH_RATE_LIMITED: { status: 429, message: "too many failed logins; try again later" },
    FORBIDDEN: { status: 403, message: "your role may not do this" },
    CSRF: { status: 403, message: "missing or wrong x-csrf-token header" },
    FOUR_EYES: { status: 409, message: "a second person must approve" },
    ACTION_TOO_LATE: { status: 409, message: "not applied, too late to stop the truck at the lane" },
    INSPECTION_CASE_CLOSED: { status: 409, message: "the inspection case is closed" },
    INSPECTION_STEPS_MISSING: { status: 409, message: "the inspection case has steps still to do" },
    INSPECTION_PHOTO_LIMIT: { status: 409, message: "the inspection case has as many photos as it may have" },
    PHOTO_TYPE: { status: 415, message: "a photo must be a JPEG or PNG image" },
    PREARRIVAL_INVALID: { status: 400, message: "pre-arrival data is invalid" },
    VISIT_NOT_QUEUED: { status: 409, message: "the visit is not waiting in the yard queue" },
    VISIT_NOT_CANCELLABLE: {
        status: 409,
        message: "the visit has reached a lane: its passage and inspection decide it, and the exit closes it",
    },
    YARD_DISABLED: { status: 404, message: "the gate has no yard configured" },
    EXIT_NO_BARRIER: { status: 409, message: "the exit point has no barrier the gate drives" },
    NOT_FOUND: { status: 404, message: "not found" },
    USER_EXISTS: { status: 409, message: "the user already exists" },
    USER_INVALID: { status: 400, message: "invalid user" },
    DEVICE_BUSY: { status: 409, message: "the device cannot be tested now" },
    DISPLAY_TOKEN: { status: 403, message: "the display token does not open this lane's display" },
    SIMULATOR_USAGE: { status: 400, message: "bad simulator arguments" },
    SYSTEM_TOOL_MISSING: { status: 500, message: "a required system tool is missing" },
    CLEARANCE_INVALID: { status: 400, message: "clearance data is invalid" },
    CLEARANCE_UNREADABLE: { status: 400, message: "clearance file cannot be read" },
    SYNC_PROTOCOL: { status: 502, message: "central answered outside sync protocol v1" },
    SYNC_HTTP: { status: 502, message: "central answered with an HTTP error" },
    SYNC_NETWORK: { status: 503, message: "central cannot be reached" },
    SYNC_NOT_PARKED: { status: 409, message: "the event is not parked" },
    SIMULATOR_STORE: { status: 500, message: "the simulator's database cannot be used" },
    SCENARIO_INVALID: { status: 400, message: "scenario file is invalid" },
    SCENARIO_UNREADABLE: { status: 400, message: "scenario file cannot be read" },
    RECORDING_INVALID: { status: 400, message: "recording file is invalid" },
    BENCH_NOT_READY: { status: 503, message: "the simulated gate did not become ready" },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ErrorCodes;

export class GateError extends Error {
    readonly code: ErrorCode;
    readonly status: number;
    /** Extra lines, such as every config error with its key path. */
    readonly details: readonly string[];

    constructor(code: ErrorCode, detail?: string, options?: { cause?: unknown; details?: readonly string[] }) {
        const base = ErrorCodes[code];
        super(detail ? `${base.message}: ${detail}` : base.message, { cause: options?.cause });
        this.name = "GateError";
        this.code = code;
        this.status = base.status;
        this.details = options?.details ?? [];
    }
}

export function isGateError(err: unknown, code?: ErrorCode): err is GateError {
    return err instanceof GateError && (code === undefined || err.code === code);
}

export function errorMessage(err: unknown): string {
    return err instanceof Error ? err.message : String(err);
}
