import { describe, expect, it } from "vitest";
import { encodeJpeg } from "../../simulators/lib/jpeg.ts";
import { PLATE_SIZE, plateJpeg, SCENE_SIZE, sceneJpeg } from "../../simulators/lib/plate-image.ts";

/** Width and height from the SOF0 segment, walking the segments from SOI as a decoder does. */
function frameSize(jpeg: Uint8Array): { width: number; height: number; components: number } {
    let offset = 2;
    while (offset < jpeg.length) {
        expect(jpeg[offset]).toBe(0xff);
        const marker = jpeg[offset + 1]!;
        const length = (jpeg[offset + 2]! << 8) | jpeg[offset + 3]!;
        if (marker === 0xc0) {
            return {
                height: (jpeg[offset + 5]! << 8) | jpeg[offset + 6]!,
                width: (jpeg[offset + 7]! << 8) | jpeg[offset + 8]!,
                components: jpeg[offset + 9]!,
            };
        }
        offset += 2 + length;
    }
    throw new Error("no SOF0");
}

describe("the simulated cameras' pictures", () => {
    it("are baseline JPEGs, SOI to EOI, of the plate's and the scene's size", () => {
        for (const [jpeg, size] of [
            [plateJpeg("15C-123.45"), PLATE_SIZE],
            [sceneJpeg("15C-123.45"), SCENE_SIZE],
        ] as const) {
            expect([...jpeg.subarray(0, 2)]).toEqual([0xff, 0xd8]);
            expect([...jpeg.subarray(-2)]).toEqual([0xff, 0xd9]);
            expect(frameSize(jpeg)).toEqual({ ...size, components: 3 });
            // Light enough for every ingest path (the push models take 8 MiB bodies).
            expect(jpeg.length).toBeLessThan(64 * 1024);
        }
    });

    it("differ between two plates, and are the same for the same plate", () => {
        expect(Buffer.from(plateJpeg("15C-123.45")).equals(Buffer.from(plateJpeg("15C-123.46")))).toBe(false);
        expect(Buffer.from(sceneJpeg("15C-123.45")).equals(Buffer.from(sceneJpeg("14C-301.72")))).toBe(false);
        expect(Buffer.from(plateJpeg("15C-123.45")).equals(Buffer.from(plateJpeg("15C-123.45")))).toBe(true);
        // A yellow plate is another picture of the same text.
        expect(
            Buffer.from(plateJpeg("15C-123.45", { colour: "yellow" })).equals(Buffer.from(plateJpeg("15C-123.45"))),
        ).toBe(false);
    });

    it("draws characters without a glyph as a box rather than leaving a gap", () => {
        expect(Buffer.from(plateJpeg("桂A12345")).equals(Buffer.from(plateJpeg(" A12345")))).toBe(false);
    });

    it("encodes any size, edges padded to whole blocks, with no stray marker in the scan", () => {
        const width = 13;
        const height = 7;
        const pixels = new Uint8Array(width * height * 3).map((_, i) => (i * 37) % 256);
        const jpeg = encodeJpeg({ width, height, pixels });
        expect(frameSize(jpeg)).toEqual({ width, height, components: 3 });
        const scanStart = jpeg.findIndex((byte, i) => byte === 0xff && jpeg[i + 1] === 0xda);
        const scan = jpeg.subarray(scanStart + 2 + ((jpeg[scanStart + 2]! << 8) | jpeg[scanStart + 3]!), -2);
        // Every 0xFF in entropy-coded data is stuffed with a 0x00.
        scan.forEach((byte, i) => {
            if (byte === 0xff) expect(scan[i + 1]).toBe(0);
        });
    });
});
