import { createHash } from "node:crypto";
import type { Logger } from "pino";
import { type Clock, monotonicOf } from "../core/clock.ts";
import type { GateEvent, GateEventDraft } from "../core/events.ts";

/** How much of a device's rejected input is kept as evidence. */
export interface RejectedInputLimits {
    /** Raw bytes kept of one message; its total length and SHA-256 are of the whole. */
    rawBytesKept: number;
    /** Messages kept with their raw bytes, per device per window. */
    keptPerWindow: number;
    /** Raw bytes kept, per device per window. */
    keptBytesPerWindow: number;
    windowMs: number;
    /** The count of messages over the limit is stored at most this often (and when the device goes). */
    summaryEveryMs: number;
}

export const REJECTED_INPUT_LIMITS: RejectedInputLimits = {
    rawBytesKept: 4096,
    keptPerWindow: 20,
    keptBytesPerWindow: 32 * 1024,
    windowMs: 60_000,
    summaryEveryMs: 5_000,
};

/** Distinct reasons a summary names; decoders have a few dozen, a device sends the same few again and again. */
const MAX_SUMMARY_REASONS = 16;
const MAX_REASON_CHARS = 200;

/** Counts of messages over the limit, not yet stored. */
interface OverLimit {
    count: number;
    bytes: number;
    reasons: Map<string, number>;
    /** Wall-clock ms of the first. */
    since: number;
}

/**
 * Input a device's transport acknowledged (an MQTT PUBACK, an ONVIF message pulled) that its model could not
 * decode. Acknowledged means the device forgets it, so the gate keeps it: an investigator must be able to see
 * what a device sent. Per device and window, the first `keptPerWindow` messages (within `keptBytesPerWindow`
 * raw bytes) are each stored as an `input.rejected` event with the reason, the channel, the total length, the
 * SHA-256 and the first `rawBytesKept` bytes as base64, and `keep` resolves only once that event is durable,
 * so the acknowledgement comes after the commit, as for readings. Beyond the limit a message is counted and
 * acknowledged at once, and the count, with its reasons, is stored as an `input.rejected` summary
 * (`overLimit: true`) at most every `summaryEveryMs`: a device sending garbage costs bounded storage.
 *
 * Error rule: `keep` rejects only when the store failed (then nothing may be acknowledged).
 */
export class RejectedInputKeeper {
    private windowStart = Number.NEGATIVE_INFINITY;
    private windowKept = 0;
    private windowBytes = 0;
    private overLimit: OverLimit | undefined;
    private lastSummaryAt = Number.NEGATIVE_INFINITY;
    private summaryTimer: NodeJS.Timeout | undefined;

    constructor(
        private readonly deps: {
            sink: { append(draft: GateEventDraft): Promise<GateEvent> };
            clock: Clock;
            log: Logger;
            device: { id: string; laneId: string };
            model: string;
            limits?: RejectedInputLimits;
        },
    ) {}

    private get limits(): RejectedInputLimits {
        return this.deps.limits ?? REJECTED_INPUT_LIMITS;
    }

    /**
     * One acknowledged message that failed decode. Resolves when it may be acknowledged: `kept` once its
     * event is durable, `counted` at once when it is over the limit.
     */
    async keep(payload: Uint8Array, reason: string, channel?: string): Promise<"kept" | "counted"> {
        const now = monotonicOf(this.deps.clock);
        if (now - this.windowStart >= this.limits.windowMs) {
            this.windowStart = now;
            this.windowKept = 0;
            this.windowBytes = 0;
        }
        const raw = payload.subarray(0, this.limits.rawBytesKept);
        const fits =
            this.windowKept < this.limits.keptPerWindow &&
            this.windowBytes + raw.length <= this.limits.keptBytesPerWindow;
        if (!fits) {
            this.count(1, payload.length, [[reason, 1]], this.deps.clock.now());
            this.scheduleSummary();
            return "counted";
        }
        this.windowKept++;
        this.windowBytes += raw.length;
        await this.deps.sink.append(
            this.draft({
                count: 1,
                reason: reason.slice(0, MAX_REASON_CHARS),
                ...(channel !== undefined && { channel }),
                bytes: payload.length,
                sha256: createHash("sha256").update(payload).digest("hex"),
                raw: Buffer.from(raw).toString("base64"),
                rawBytes: raw.length,
            }),
        );
        return "kept";
    }

    /** Stores the count of messages over the limit, if any: when its interval is up, and when the device goes. */
    async flush(): Promise<void> {
        clearTimeout(this.summaryTimer);
        this.summaryTimer = undefined;
        const pending = this.overLimit;
        if (!pending) return;
        this.overLimit = undefined;
        this.lastSummaryAt = monotonicOf(this.deps.clock);
        try {
            await this.deps.sink.append(
                this.draft({
                    count: pending.count,
                    overLimit: true,
                    bytes: pending.bytes,
                    reasons: Object.fromEntries(pending.reasons),
                    since: new Date(pending.since).toISOString(),
                }),
            );
        } catch (err) {
            // Counted again, so the next summary carries them: a count is only ever stored, never lost quietly.
            this.count(pending.count, pending.bytes, pending.reasons, pending.since);
            this.deps.log.error({ err, count: pending.count }, "count of rejected input over the limit not stored");
        }
    }

    /** Adds messages over the limit to the counts the next summary stores. */
    private count(count: number, bytes: number, reasons: Iterable<readonly [string, number]>, since: number): void {
        this.overLimit ??= { count: 0, bytes: 0, reasons: new Map(), since };
        const pending = this.overLimit;
        pending.count += count;
        pending.bytes += bytes;
        pending.since = Math.min(pending.since, since);
        for (const [reason, times] of reasons) {
            const text = reason.slice(0, MAX_REASON_CHARS);
            const key =
                pending.reasons.has(text) || pending.reasons.size < MAX_SUMMARY_REASONS ? text : "(other reasons)";
            pending.reasons.set(key, (pending.reasons.get(key) ?? 0) + times);
        }
    }

    private scheduleSummary(): void {
        if (this.summaryTimer) return;
        const wait = Math.max(0, this.lastSummaryAt + this.limits.summaryEveryMs - monotonicOf(this.deps.clock));
        this.summaryTimer = setTimeout(() => void this.flush(), wait);
        // flush() at the device's stop stores what is pending; a stopping process need not wait for the timer.
        this.summaryTimer.unref();
    }

    private draft(data: GateEventDraft["data"]): GateEventDraft {
        return {
            type: "input.rejected",
            laneId: this.deps.device.laneId,
            deviceId: this.deps.device.id,
            data: { ...data, model: this.deps.model },
        };
    }
}
