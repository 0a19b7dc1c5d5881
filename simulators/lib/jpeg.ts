/**
 * A minimal baseline JPEG encoder (ITU T.81): YCbCr with 4:2:0 chroma subsampling, the standard tables of
 * Annex K (quantisation scaled to a quality, Huffman tables K.3–K.6), one scan. Enough for the simulated
 * cameras to send pictures a browser shows; no dependency for it. Pure: the same pixels give the same bytes.
 */

/** An RGB raster, 3 bytes a pixel, row by row. */
export interface RgbImage {
    width: number;
    height: number;
    pixels: Uint8Array;
}

const ZIGZAG = [
    0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21,
    28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54,
    47, 55, 62, 63,
];
const LUMA_QUANT = [
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51,
    87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92, 49, 64, 78, 87, 103, 121, 120, 101,
    72, 92, 95, 98, 112, 100, 103, 99,
];
const CHROMA_QUANT = [
    17,
    18,
    24,
    47,
    99,
    99,
    99,
    99,
    18,
    21,
    26,
    66,
    99,
    99,
    99,
    99,
    24,
    26,
    56,
    99,
    99,
    99,
    99,
    99,
    47,
    66,
    99,
    99,
    99,
    99,
    99,
    99,
    ...new Array<number>(32).fill(99),
];

/** A Huffman table as DHT carries it: code counts per length 1–16, then the symbols. */
interface HuffmanSpec {
    counts: number[];
    symbols: number[];
}
const DC_LUMA: HuffmanSpec = {
    counts: [0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0],
    symbols: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11],
};
const DC_CHROMA: HuffmanSpec = {
    counts: [0, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0],
    symbols: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11],
};
const AC_LUMA: HuffmanSpec = {
    counts: [0, 2, 1, 3, 3, 2, 4, 3, 5, 5, 4, 4, 0, 0, 1, 0x7d],
    symbols: hexBytes(
        "01020300041105122131410613516107227114328191a1082342b1c11552d1f02433627282090a161718191a25262728292a3435363738393a434445464748494a535455565758595a636465666768696a737475767778797a838485868788898a92939495969798999aa2a3a4a5a6a7a8a9aab2b3b4b5b6b7b8b9bac2c3c4c5c6c7c8c9cad2d3d4d5d6d7d8d9dae1e2e3e4e5e6e7e8e9eaf1f2f3f4f5f6f7f8f9fa",
    ),
};
const AC_CHROMA: HuffmanSpec = {
    counts: [0, 2, 1, 2, 4, 4, 3, 4, 7, 5, 4, 4, 0, 1, 2, 0x77],
    symbols: hexBytes(
        "000102031104052131061241510761711322328108144291a1b1c109233352f0156272d10a162434e125f11718191a262728292a35363738393a434445464748494a535455565758595a636465666768696a737475767778797a82838485868788898a92939495969798999aa2a3a4a5a6a7a8a9aab2b3b4b5b6b7b8b9bac2c3c4c5c6c7c8c9cad2d3d4d5d6d7d8d9dae2e3e4e5e6e7e8e9eaf2f3f4f5f6f7f8f9fa",
    ),
};

function hexBytes(hex: string): number[] {
    return Array.from({ length: hex.length / 2 }, (_, i) => Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16));
}

/** Code and length per symbol, built from the counts as Annex C does. */
function huffmanCodes(spec: HuffmanSpec): Map<number, { code: number; length: number }> {
    const codes = new Map<number, { code: number; length: number }>();
    let code = 0;
    let k = 0;
    for (let length = 1; length <= 16; length++) {
        for (let i = 0; i < spec.counts[length - 1]!; i++) codes.set(spec.symbols[k++]!, { code: code++, length });
        code <<= 1;
    }
    return codes;
}

/** The quantisation table at a quality 1–100, as libjpeg scales it. */
function scaledQuant(base: readonly number[], quality: number): number[] {
    const scale = quality < 50 ? 5000 / quality : 200 - quality * 2;
    return base.map((q) => Math.min(255, Math.max(1, Math.floor((q * scale + 50) / 100))));
}

class BitWriter {
    readonly bytes: number[] = [];
    private buffer = 0;
    private count = 0;
    write(code: number, length: number): void {
        for (let bit = length - 1; bit >= 0; bit--) {
            this.buffer = (this.buffer << 1) | ((code >> bit) & 1);
            if (++this.count === 8) this.flushByte();
        }
    }
    /** Pads the last byte with ones (T.81 F.1.2.3). */
    finish(): void {
        while (this.count !== 0) this.write(1, 1);
    }
    private flushByte(): void {
        this.bytes.push(this.buffer);
        if (this.buffer === 0xff) this.bytes.push(0); // byte stuffing
        this.buffer = 0;
        this.count = 0;
    }
}

const COSINES = Array.from({ length: 8 }, (_, x) =>
    Array.from({ length: 8 }, (_, u) => Math.cos(((2 * x + 1) * u * Math.PI) / 16)),
);

/** Forward DCT of one level-shifted 8×8 block (rows, then columns), quantised (tables in row order), in zigzag order. */
function quantisedDct(block: Float64Array, quant: readonly number[]): Int32Array {
    const rows = new Float64Array(64);
    for (let y = 0; y < 8; y++) {
        for (let u = 0; u < 8; u++) {
            let sum = 0;
            for (let x = 0; x < 8; x++) sum += block[y * 8 + x]! * COSINES[x]![u]!;
            rows[y * 8 + u] = sum * (u === 0 ? Math.SQRT1_2 : 1);
        }
    }
    const out = new Int32Array(64);
    for (let u = 0; u < 8; u++) {
        for (let v = 0; v < 8; v++) {
            let sum = 0;
            for (let y = 0; y < 8; y++) sum += rows[y * 8 + u]! * COSINES[y]![v]!;
            out[v * 8 + u] = Math.round((0.25 * (v === 0 ? Math.SQRT1_2 : 1) * sum) / quant[v * 8 + u]!);
        }
    }
    return Int32Array.from(ZIGZAG, (index) => out[index]!);
}

/** Bits needed for a coefficient's magnitude, and its bits as T.81 F.1.2.1 writes them. */
function magnitude(value: number): { size: number; bits: number } {
    const size = value === 0 ? 0 : Math.floor(Math.log2(Math.abs(value))) + 1;
    return { size, bits: value < 0 ? value + (1 << size) - 1 : value };
}

interface Component {
    quant: number[];
    dc: Map<number, { code: number; length: number }>;
    ac: Map<number, { code: number; length: number }>;
    previousDc: number;
}

function encodeBlock(writer: BitWriter, block: Float64Array, component: Component): void {
    const coefficients = quantisedDct(block, component.quant);
    const dc = magnitude(coefficients[0]! - component.previousDc);
    component.previousDc = coefficients[0]!;
    const dcCode = component.dc.get(dc.size)!;
    writer.write(dcCode.code, dcCode.length);
    if (dc.size > 0) writer.write(dc.bits, dc.size);
    let zeros = 0;
    for (let i = 1; i < 64; i++) {
        const value = coefficients[i]!;
        if (value === 0) {
            zeros++;
            continue;
        }
        while (zeros > 15) {
            const zrl = component.ac.get(0xf0)!;
            writer.write(zrl.code, zrl.length);
            zeros -= 16;
        }
        const ac = magnitude(value);
        const code = component.ac.get((zeros << 4) | ac.size)!;
        writer.write(code.code, code.length);
        writer.write(ac.bits, ac.size);
        zeros = 0;
    }
    if (zeros > 0) {
        const eob = component.ac.get(0)!;
        writer.write(eob.code, eob.length);
    }
}

function segment(marker: number, payload: readonly number[]): number[] {
    const length = payload.length + 2;
    return [0xff, marker, length >> 8, length & 0xff, ...payload];
}

/** Encodes an RGB raster as a baseline JPEG (4:2:0). quality 1–100, default 80. */
export function encodeJpeg(image: RgbImage, quality = 80): Uint8Array {
    const { width, height, pixels } = image;
    const lumaQuant = scaledQuant(LUMA_QUANT, quality);
    const chromaQuant = scaledQuant(CHROMA_QUANT, quality);
    const luma: Component = { quant: lumaQuant, dc: huffmanCodes(DC_LUMA), ac: huffmanCodes(AC_LUMA), previousDc: 0 };
    const chroma = (): Component => ({
        quant: chromaQuant,
        dc: huffmanCodes(DC_CHROMA),
        ac: huffmanCodes(AC_CHROMA),
        previousDc: 0,
    });
    const cb = chroma();
    const cr = chroma();
    /** Y, Cb or Cr at a pixel, edges repeated, level-shifted by 128. */
    const sample = (x: number, y: number, channel: 0 | 1 | 2): number => {
        const offset = (Math.min(y, height - 1) * width + Math.min(x, width - 1)) * 3;
        const r = pixels[offset]!;
        const g = pixels[offset + 1]!;
        const b = pixels[offset + 2]!;
        if (channel === 0) return 0.299 * r + 0.587 * g + 0.114 * b - 128;
        if (channel === 1) return -0.168736 * r - 0.331264 * g + 0.5 * b;
        return 0.5 * r - 0.418688 * g - 0.081312 * b;
    };
    const writer = new BitWriter();
    const block = new Float64Array(64);
    for (let my = 0; my < height; my += 16) {
        for (let mx = 0; mx < width; mx += 16) {
            for (const [bx, by] of [
                [0, 0],
                [8, 0],
                [0, 8],
                [8, 8],
            ] as const) {
                for (let i = 0; i < 64; i++) block[i] = sample(mx + bx + (i % 8), my + by + (i >> 3), 0);
                encodeBlock(writer, block, luma);
            }
            for (const [channel, component] of [
                [1, cb],
                [2, cr],
            ] as const) {
                for (let i = 0; i < 64; i++) {
                    const x = mx + (i % 8) * 2;
                    const y = my + (i >> 3) * 2;
                    block[i] =
                        (sample(x, y, channel) +
                            sample(x + 1, y, channel) +
                            sample(x, y + 1, channel) +
                            sample(x + 1, y + 1, channel)) /
                        4;
                }
                encodeBlock(writer, block, component);
            }
        }
    }
    writer.finish();
    const dht = (tableClass: number, id: number, spec: HuffmanSpec) => [
        (tableClass << 4) | id,
        ...spec.counts,
        ...spec.symbols,
    ];
    return Uint8Array.from([
        0xff,
        0xd8,
        ...segment(0xe0, [0x4a, 0x46, 0x49, 0x46, 0, 1, 1, 0, 0, 1, 0, 1, 0, 0]), // JFIF APP0
        ...segment(0xdb, [0, ...ZIGZAG.map((i) => lumaQuant[i]!), 1, ...ZIGZAG.map((i) => chromaQuant[i]!)]),
        ...segment(0xc0, [
            8,
            height >> 8,
            height & 0xff,
            width >> 8,
            width & 0xff,
            3,
            1,
            0x22,
            0,
            2,
            0x11,
            1,
            3,
            0x11,
            1,
        ]),
        ...segment(0xc4, [
            ...dht(0, 0, DC_LUMA),
            ...dht(1, 0, AC_LUMA),
            ...dht(0, 1, DC_CHROMA),
            ...dht(1, 1, AC_CHROMA),
        ]),
        ...segment(0xda, [3, 1, 0x00, 2, 0x11, 3, 0x11, 0, 63, 0]),
        ...writer.bytes,
        0xff,
        0xd9,
    ]);
}
