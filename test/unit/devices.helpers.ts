/**
 * Test helpers for the device models: hex conversion, and a reference framer that cuts a byte stream
 * by a FramerSpec as devices/types.ts documents it. The driver has its own framer; this one lets the
 * model tests check that encoder output and framer specs agree without importing driver code.
 */
import type { FramerSpec } from "../../devices/types.ts";

export function hex(text: string): Uint8Array {
    return Uint8Array.from(text.trim().split(/\s+/), (h) => Number.parseInt(h, 16));
}

export function toHex(bytes: Uint8Array): string {
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0").toUpperCase()).join(" ");
}

export function ascii(text: string): Uint8Array {
    return Uint8Array.from(text, (c) => c.charCodeAt(0));
}

/** Frames cut from `bytes`, plus the bytes left over that do not (yet) form a frame. */
export function cutFrames(spec: FramerSpec, bytes: Uint8Array): { frames: Uint8Array[]; rest: Uint8Array } {
    const frames: Uint8Array[] = [];
    if (spec.type === "delimiter") {
        const d = spec.delimiter;
        let start = 0;
        for (let i = 0; i + d.length <= bytes.length; i++) {
            if (d.every((b, k) => bytes[i + k] === b)) {
                const frame = bytes.slice(start, i);
                if (frame.length <= spec.maxLength) frames.push(frame);
                i += d.length - 1;
                start = i + 1;
            }
        }
        return { frames, rest: bytes.slice(start) };
    }
    let i = 0;
    while (i < bytes.length) {
        const start = bytes.indexOf(spec.start, i);
        if (start < 0) return { frames, rest: new Uint8Array() };
        const end = bytes.indexOf(spec.end, start + 1);
        if (end < 0 || end + spec.trailer >= bytes.length) return { frames, rest: bytes.slice(start) };
        const stop = end + 1 + spec.trailer;
        if (stop - start > spec.maxLength) {
            // Too long: a lost end byte. Resynchronise on the next start byte.
            i = start + 1;
            continue;
        }
        frames.push(bytes.slice(start, stop));
        i = stop;
    }
    return { frames, rest: new Uint8Array() };
}

/** The one frame in `bytes`; fails the test when the framer cuts none or several. */
export function onlyFrame(spec: FramerSpec, bytes: Uint8Array): Uint8Array {
    const { frames } = cutFrames(spec, bytes);
    if (frames.length !== 1) throw new Error(`expected exactly one frame, got ${frames.length} from ${toHex(bytes)}`);
    return frames[0] as Uint8Array;
}
