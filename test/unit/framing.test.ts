import { describe, expect, it } from "vitest";
import type { FramerSpec } from "../../devices/types.ts";
import { StreamFramer } from "../../src/drivers/framing.ts";

const toledoSpec: FramerSpec = { type: "start-end", start: 0x02, end: 0x0d, trailer: 1, maxLength: 18 };
const toledoFrame = Buffer.from("022a302030323435363030303030300d26", "hex");
const crlfSpec: FramerSpec = { type: "delimiter", delimiter: [0x0d, 0x0a], maxLength: 64 };

function feed(framer: StreamFramer, stream: Buffer, cuts: number[]) {
    const frames: Buffer[] = [];
    const discarded: Buffer[] = [];
    let from = 0;
    for (const cut of [...cuts, stream.length]) {
        const out = framer.push(stream.subarray(from, cut));
        frames.push(...out.frames);
        discarded.push(...out.discarded);
        from = cut;
    }
    return { frames, discarded };
}

describe("StreamFramer", () => {
    it("re-frames start/end frames split at every byte", () => {
        const stream = Buffer.concat([toledoFrame, toledoFrame, toledoFrame]);
        const everyByte = Array.from({ length: stream.length - 1 }, (_, i) => i + 1);
        const { frames, discarded } = feed(new StreamFramer(toledoSpec), stream, everyByte);
        expect(frames).toEqual([toledoFrame, toledoFrame, toledoFrame]);
        expect(discarded).toEqual([]);
    });

    it("cuts merged frames out of one chunk and reports the noise between them", () => {
        const stream = Buffer.concat([Buffer.from("zz"), toledoFrame, Buffer.from([0xff]), toledoFrame]);
        const { frames, discarded } = feed(new StreamFramer(toledoSpec), stream, []);
        expect(frames).toEqual([toledoFrame, toledoFrame]);
        expect(Buffer.concat(discarded)).toEqual(Buffer.from([0x7a, 0x7a, 0xff]));
    });

    it("skips a start byte with no end within a frame's length", () => {
        const stream = Buffer.concat([Buffer.from([0x02]), Buffer.alloc(30, 0x30), toledoFrame]);
        const { frames } = feed(new StreamFramer(toledoSpec), stream, [5, 17]);
        expect(frames).toEqual([toledoFrame]);
    });

    it("re-frames delimited lines split at every byte", () => {
        const stream = Buffer.from("S S      24560 kg\r\nS D      24540 kg\r\n");
        const cuts = Array.from({ length: stream.length - 1 }, (_, i) => i + 1);
        const { frames } = feed(new StreamFramer(crlfSpec), stream, cuts);
        expect(frames.map(String)).toEqual(["S S      24560 kg", "S D      24540 kg"]);
    });

    it("drops an over-long line instead of growing without bound", () => {
        const framer = new StreamFramer(crlfSpec);
        const out = framer.push(Buffer.alloc(1000, 0x41));
        expect(out.frames).toEqual([]);
        expect(out.discarded[0]?.length).toBe(1000);
        expect(framer.pendingBytes).toBe(0);
        expect(framer.push(Buffer.from("OK\r\n")).frames.map(String)).toEqual(["OK"]);
    });

    it("hands back a half frame on reset so it is not glued to the next connection", () => {
        const framer = new StreamFramer(toledoSpec);
        framer.push(toledoFrame.subarray(0, 9));
        expect(framer.reset()).toEqual(toledoFrame.subarray(0, 9));
        expect(framer.push(toledoFrame).frames).toEqual([toledoFrame]);
    });
});

describe("StreamFramer on a 7E1 line read as 8N1", () => {
    it("finds Toledo frames whose bytes carry even parity in bit 7", async () => {
        const { definition: toledo } = await import("../../devices/toledo-continuous.ts");
        const frame = Buffer.from(toledo.encode({ kg: 24560, motion: false, overload: false, underload: false }));
        const evenParity = (byte: number) => {
            let ones = 0;
            for (let bit = 0; bit < 7; bit++) ones += (byte >> bit) & 1;
            return ones % 2 === 1 ? byte | 0x80 : byte;
        };
        const onTheWire = Buffer.from([...frame, ...frame].map(evenParity));
        expect(onTheWire.includes(0x02)).toBe(false);
        const out = new StreamFramer(toledo.framer).push(onTheWire);
        expect(out.frames).toHaveLength(2);
        expect(toledo.decode(out.frames[0]!)).toMatchObject({ status: "reading", values: { kg: 24560, stable: true } });
    });
});
