import type { Logger } from "pino";
import type { DeviceStatus } from "../core/events.ts";

/** What a transport driver is given by the device runtime that owns it. */
export interface DriverContext {
    /** pino child bound to the device. */
    readonly log: Logger;
    /**
     * One complete frame arrived. Resolves once anything it produced is durable in the event log; a
     * driver that can acknowledge its peer does so only then. Never rejects for a bad frame (that is
     * counted); rejects only when the store failed, and then nothing must be acknowledged.
     */
    onFrame(frame: Buffer): Promise<void>;
    /** Bytes thrown away by the framer (noise, a half frame at reconnect). Counted and logged. */
    onDiscarded(bytes: Buffer, why: string): void;
    setStatus(status: DeviceStatus, reason: string): void;
}

/**
 * A byte-stream transport for one device (serial port or TCP serial server).
 *
 * Error rules: `start()` resolves once the first connection attempt is under way; it never rejects for a
 * device that is absent (that is `offline` and retried with backoff). `stop()` is idempotent, cancels
 * the retries and closes the port; `write()` while disconnected rejects with DRIVER_DISCONNECTED.
 */
export interface StreamDriver {
    start(): Promise<void>;
    stop(): Promise<void>;
    write(bytes: Uint8Array): Promise<void>;
    readonly connected: boolean;
    readonly reconnects: number;
}

/**
 * What an ONVIF camera driver is given. The driver owns the camera session, the PullPoint subscription
 * and its renewal; the runtime decodes with the device model.
 */
export interface OnvifDriverContext {
    readonly log: Logger;
    /**
     * One wsnt:NotificationMessage on the plate topic, as raw XML, with the JPEG snapshot the driver
     * fetched for it (if it could). Resolves once what it carried is durable; never rejects for bad XML.
     */
    onNotification(xml: string, snapshot?: { contentType: string; bytes: Buffer }): Promise<void>;
    setStatus(status: DeviceStatus, reason: string): void;
}

/**
 * What the HTTP push receiver hands to the runtime of the camera a request came from. Resolves with the
 * outcome once the read is durable (then the camera gets its success answer, e.g. Dahua's
 * {"Result":true}); "refused" for a request that could not be trusted (it gets a 4xx with the reason).
 */
export type PushHandler = (request: {
    path: string;
    contentType: string;
    body: Buffer;
}) => Promise<{ outcome: "stored" | "refused"; reason?: string }>;

/**
 * What the OPC UA lane PLC driver is given. The driver owns the client, session, subscription and the
 * monitored items, and writes commands and its watchdog heartbeat.
 */
export interface PlcDriverContext {
    readonly log: Logger;
    /** A monitored tag changed (raw OPC UA value). Resolves once what it meant is durable. */
    onTagValue(tag: string, value: unknown, sourceTimestamp?: Date): Promise<void>;
    setStatus(status: DeviceStatus, reason: string): void;
}
