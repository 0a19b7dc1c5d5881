import type { FramerSpec } from "../../devices/types.ts";

export interface FramerOutput {
    frames: Buffer[];
    /** Bytes thrown away: noise before a start byte, or an over-long run with no end. */
    discarded: Buffer[];
}

/**
 * Cuts a byte stream into frames by a model's FramerSpec. Serial lines and TCP serial servers split and
 * merge frames arbitrarily, so bytes are kept across `push` calls until a frame is complete. Never throws;
 * a run longer than `maxLength` with no end is discarded (reported), so a babbling device cannot grow it.
 */
export class StreamFramer {
    private buffer: Buffer = Buffer.alloc(0);

    constructor(private readonly spec: FramerSpec) {}

    push(chunk: Uint8Array): FramerOutput {
        const mask = this.spec.type === "start-end" ? this.spec.byteMask : undefined;
        const bytes = mask === undefined ? chunk : chunk.map((byte) => byte & mask);
        this.buffer = this.buffer.length === 0 ? Buffer.from(bytes) : Buffer.concat([this.buffer, bytes]);
        return this.spec.type === "delimiter" ? this.cutDelimited(this.spec) : this.cutStartEnd(this.spec);
    }

    /** Drops a half frame, e.g. after a reconnect, so it is not glued to the next connection's bytes. */
    reset(): Buffer {
        const dropped = this.buffer;
        this.buffer = Buffer.alloc(0);
        return dropped;
    }

    get pendingBytes(): number {
        return this.buffer.length;
    }

    private cutDelimited(spec: Extract<FramerSpec, { type: "delimiter" }>): FramerOutput {
        const out: FramerOutput = { frames: [], discarded: [] };
        const delimiter = Buffer.from(spec.delimiter);
        for (;;) {
            const at = this.buffer.indexOf(delimiter);
            if (at < 0) break;
            const frame = this.buffer.subarray(0, at);
            if (frame.length > spec.maxLength) out.discarded.push(Buffer.from(frame));
            else out.frames.push(Buffer.from(frame));
            this.buffer = this.buffer.subarray(at + delimiter.length);
        }
        if (this.buffer.length > spec.maxLength + delimiter.length) {
            out.discarded.push(this.buffer);
            this.buffer = Buffer.alloc(0);
        }
        return out;
    }

    private cutStartEnd(spec: Extract<FramerSpec, { type: "start-end" }>): FramerOutput {
        const out: FramerOutput = { frames: [], discarded: [] };
        for (;;) {
            const start = this.buffer.indexOf(spec.start);
            if (start < 0) {
                if (this.buffer.length > 0) out.discarded.push(this.buffer);
                this.buffer = Buffer.alloc(0);
                break;
            }
            if (start > 0) {
                out.discarded.push(Buffer.from(this.buffer.subarray(0, start)));
                this.buffer = this.buffer.subarray(start);
            }
            const end = this.buffer.indexOf(spec.end, 1);
            if (end < 0) {
                if (this.buffer.length > spec.maxLength) {
                    // No end within a frame's length: skip this start byte and look for the next one.
                    out.discarded.push(Buffer.from(this.buffer.subarray(0, 1)));
                    this.buffer = this.buffer.subarray(1);
                    continue;
                }
                break;
            }
            const frameLength = end + 1 + spec.trailer;
            if (frameLength > spec.maxLength) {
                out.discarded.push(Buffer.from(this.buffer.subarray(0, 1)));
                this.buffer = this.buffer.subarray(1);
                continue;
            }
            if (this.buffer.length < frameLength) break;
            out.frames.push(Buffer.from(this.buffer.subarray(0, frameLength)));
            this.buffer = this.buffer.subarray(frameLength);
        }
        return out;
    }
}
