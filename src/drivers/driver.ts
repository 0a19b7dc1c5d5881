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
