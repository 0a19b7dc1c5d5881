/**
 * A serial barcode / QR scanner on a ByteLink (docs/devices.md "Barcode and QR scanners"): each read is the model's encode()
 * of the payload with the configured suffix and optional AIM prefix. Also reproduces what real scanners
 * do at a gate: the same code read several times in a row, and reads cut off mid-line.
 */
import { EventEmitter } from "node:events";
import { setTimeout as sleep } from "node:timers/promises";
import type { ScannerModel } from "../devices/types.ts";
import { GateError } from "../src/core/errors.ts";
import { resolveModel } from "./models.ts";
import { forgivingPromise } from "./promises.ts";
import type { ByteLink, LinkEvent } from "./transport.ts";

export type ScannerSuffix = "CRLF" | "CR";

export interface ScannerScript {
    /** Payloads scanned in turn, round-robin. */
    payloads: string[];
    /** ms between two scans. */
    intervalMs: number;
}

export interface ScannerSimulatorOptions {
    /** Model id from devices/ (e.g. "serial-barcode-scanner") or a ScannerModel object. */
    model: string | ScannerModel;
    /** The scanner's serial line. The simulator owns it: start() starts it, stop() stops it. */
    link: ByteLink;
    /** Postamble after each read. Default "CRLF" (the Intermec/Honeywell default). */
    suffix?: ScannerSuffix;
    /** AIM symbology identifier sent before the data, e.g. "]Q1" for QR, "]C0" for Code 128. */
    aimPrefix?: string;
    /** Optional periodic scans, started by start(). */
    script?: ScannerScript;
}

// A type alias, not an interface: EventEmitter's type parameter needs an index-compatible map.
export type ScannerSimulatorEvents = {
    /** A complete read was sent. */
    scan: [payload: string, bytes: Uint8Array];
    /** A cut-off read (no suffix) was sent. */
    partial: [payload: string, bytes: Uint8Array];
    link: [event: LinkEvent];
};

/**
 * Error rules: start() rejects with GateError MODEL_UNKNOWN for an unknown or non-scanner model,
 * SIMULATOR_USAGE for a bad script, and passes on the link's start() error. scan() and friends never
 * throw on the link (bytes nobody receives are lost, as on a real line); the async ones reject with
 * DRIVER_CANCELED when the simulator stops mid-way (a dropped promise does not become an unhandled rejection).
 */
export class ScannerSimulator extends EventEmitter<ScannerSimulatorEvents> {
    private model: ScannerModel | undefined;
    private scriptTimer: NodeJS.Timeout | undefined;
    private scriptIndex = 0;
    private unsubscribe: Array<() => void> = [];
    private abort: AbortController | undefined;
    /** Complete reads sent. */
    scans = 0;

    constructor(private readonly options: ScannerSimulatorOptions) {
        super();
    }

    get link(): ByteLink {
        return this.options.link;
    }

    async start(): Promise<void> {
        if (this.abort) return;
        const model = resolveModel("scan", this.options.model);
        const script = this.options.script;
        if (script && (script.payloads.length === 0 || !(script.intervalMs > 0))) {
            throw new GateError("SIMULATOR_USAGE", "a scan script needs at least one payload and intervalMs > 0");
        }
        this.model = model;
        this.abort = new AbortController();
        this.unsubscribe.push(this.options.link.onEvent((event) => this.emit("link", event)));
        try {
            await this.options.link.start();
        } catch (err) {
            this.detach();
            this.abort = undefined;
            throw err;
        }
        if (script) {
            this.scriptTimer = setInterval(() => {
                const payload = script.payloads[this.scriptIndex % script.payloads.length];
                this.scriptIndex++;
                if (payload !== undefined) this.scan(payload);
            }, script.intervalMs);
        }
    }

    /** Stops the script and any pending duplicate/partial sequence, then stops the link. Idempotent. */
    async stop(): Promise<void> {
        clearInterval(this.scriptTimer);
        this.scriptTimer = undefined;
        this.abort?.abort(new GateError("DRIVER_CANCELED", "scanner simulator stopped"));
        this.abort = undefined;
        this.detach();
        await this.options.link.stop();
    }

    /** One good read. Returns the bytes sent. Error rule: throws SIMULATOR_USAGE before start(). */
    scan(payload: string): Uint8Array {
        const bytes = this.encode(payload);
        this.options.link.write(bytes);
        this.scans++;
        this.emit("scan", payload, bytes);
        return bytes;
    }

    /**
     * The same code read `times` times, `gapMs` apart (scanners re-read a code held in the beam before
     * their same-code delay expires). gapMs 0 sends them back to back in one write burst.
     */
    scanDuplicate(payload: string, times: number, gapMs = 150): Promise<void> {
        const signal = this.running();
        return forgivingPromise(
            (async () => {
                for (let i = 0; i < times; i++) {
                    if (i > 0 && gapMs > 0) await sleep(gapMs, undefined, { signal });
                    this.scan(payload);
                }
            })(),
        );
    }

    /**
     * A read cut off before its end (no suffix), as when the line drops or the scanner is re-triggered,
     * followed `completeAfterMs` later by the full read. The host sees the fragment glued in front of the
     * good read and must not accept the glued line.
     */
    partial(payload: string, completeAfterMs = 300): Promise<void> {
        const signal = this.running();
        const full = this.encode(payload);
        // Half of the bytes: always inside the data, so the fragment carries no suffix.
        const cut = full.subarray(0, Math.max(1, Math.floor(full.length / 2)));
        this.options.link.write(cut);
        this.emit("partial", payload, cut);
        return forgivingPromise(sleep(completeAfterMs, undefined, { signal }).then(() => void this.scan(payload)));
    }

    private running(): AbortSignal {
        if (!this.abort) throw new GateError("SIMULATOR_USAGE", "scanner simulator is not started");
        return this.abort.signal;
    }

    private encode(payload: string): Uint8Array {
        const model = this.model;
        if (!model) throw new GateError("SIMULATOR_USAGE", "scanner simulator is not started");
        const suffix = this.options.suffix ?? "CRLF";
        const aimPrefix = this.options.aimPrefix;
        return model.encode(payload, aimPrefix === undefined ? { suffix } : { suffix, aimPrefix });
    }

    private detach(): void {
        for (const remove of this.unsubscribe) remove();
        this.unsubscribe = [];
    }
}
