/**
 * Pictures for the simulated plate cameras: the plate crop (its text in black on a white or yellow plate
 * with a black border) and the scene (a grey road with the plate drawn small in it), as JPEG. Pure: the
 * same plate gives the same bytes, two plates different ones.
 */
import { encodeJpeg, type RgbImage } from "./jpeg.ts";

type Rgb = readonly [number, number, number];
const BLACK: Rgb = [20, 20, 20];
const WHITE: Rgb = [240, 240, 235];
const YELLOW: Rgb = [245, 200, 30];

/** 5×7 glyphs, one string of five 0/1 columns a row. Characters without one are drawn as an empty box. */
const GLYPHS: Readonly<Record<string, readonly string[]>> = {
    "0": ["01110", "10001", "10011", "10101", "11001", "10001", "01110"],
    "1": ["00100", "01100", "00100", "00100", "00100", "00100", "01110"],
    "2": ["01110", "10001", "00001", "00010", "00100", "01000", "11111"],
    "3": ["11110", "00001", "00001", "01110", "00001", "00001", "11110"],
    "4": ["00010", "00110", "01010", "10010", "11111", "00010", "00010"],
    "5": ["11111", "10000", "11110", "00001", "00001", "10001", "01110"],
    "6": ["00110", "01000", "10000", "11110", "10001", "10001", "01110"],
    "7": ["11111", "00001", "00010", "00100", "01000", "01000", "01000"],
    "8": ["01110", "10001", "10001", "01110", "10001", "10001", "01110"],
    "9": ["01110", "10001", "10001", "01111", "00001", "00010", "01100"],
    A: ["01110", "10001", "10001", "11111", "10001", "10001", "10001"],
    B: ["11110", "10001", "10001", "11110", "10001", "10001", "11110"],
    C: ["01110", "10001", "10000", "10000", "10000", "10001", "01110"],
    D: ["11100", "10010", "10001", "10001", "10001", "10010", "11100"],
    E: ["11111", "10000", "10000", "11110", "10000", "10000", "11111"],
    F: ["11111", "10000", "10000", "11110", "10000", "10000", "10000"],
    G: ["01110", "10001", "10000", "10111", "10001", "10001", "01111"],
    H: ["10001", "10001", "10001", "11111", "10001", "10001", "10001"],
    I: ["01110", "00100", "00100", "00100", "00100", "00100", "01110"],
    J: ["00111", "00010", "00010", "00010", "00010", "10010", "01100"],
    K: ["10001", "10010", "10100", "11000", "10100", "10010", "10001"],
    L: ["10000", "10000", "10000", "10000", "10000", "10000", "11111"],
    M: ["10001", "11011", "10101", "10101", "10001", "10001", "10001"],
    N: ["10001", "10001", "11001", "10101", "10011", "10001", "10001"],
    O: ["01110", "10001", "10001", "10001", "10001", "10001", "01110"],
    P: ["11110", "10001", "10001", "11110", "10000", "10000", "10000"],
    Q: ["01110", "10001", "10001", "10001", "10101", "10010", "01101"],
    R: ["11110", "10001", "10001", "11110", "10100", "10010", "10001"],
    S: ["01111", "10000", "10000", "01110", "00001", "00001", "11110"],
    T: ["11111", "00100", "00100", "00100", "00100", "00100", "00100"],
    U: ["10001", "10001", "10001", "10001", "10001", "10001", "01110"],
    V: ["10001", "10001", "10001", "10001", "10001", "01010", "00100"],
    W: ["10001", "10001", "10001", "10101", "10101", "10101", "01010"],
    X: ["10001", "10001", "01010", "00100", "01010", "10001", "10001"],
    Y: ["10001", "10001", "01010", "00100", "00100", "00100", "00100"],
    Z: ["11111", "00001", "00010", "00100", "01000", "10000", "11111"],
    "-": ["00000", "00000", "00000", "11111", "00000", "00000", "00000"],
    ".": ["00000", "00000", "00000", "00000", "00000", "01100", "01100"],
    " ": ["00000", "00000", "00000", "00000", "00000", "00000", "00000"],
};
const MISSING_GLYPH = ["11111", "10001", "10001", "10001", "10001", "10001", "11111"];

export const PLATE_SIZE = { width: 240, height: 60 } as const;
export const SCENE_SIZE = { width: 480, height: 270 } as const;

function canvas(width: number, height: number, fill: Rgb): RgbImage {
    const pixels = new Uint8Array(width * height * 3);
    for (let i = 0; i < pixels.length; i += 3) pixels.set(fill, i);
    return { width, height, pixels };
}

function fillRect(image: RgbImage, x: number, y: number, w: number, h: number, colour: Rgb): void {
    const x0 = Math.max(0, Math.floor(x));
    const y0 = Math.max(0, Math.floor(y));
    const x1 = Math.min(image.width, Math.floor(x + w));
    const y1 = Math.min(image.height, Math.floor(y + h));
    for (let row = y0; row < y1; row++) {
        for (let col = x0; col < x1; col++) image.pixels.set(colour, (row * image.width + col) * 3);
    }
}

/** Draws the plate (border and centred text) into image at x, y, w × h. */
function drawPlate(image: RgbImage, x: number, y: number, w: number, h: number, text: string, background: Rgb): void {
    fillRect(image, x, y, w, h, BLACK);
    const border = Math.max(1, Math.round(h / 20));
    fillRect(image, x + border, y + border, w - 2 * border, h - 2 * border, background);
    const characters = [...text.toUpperCase()];
    // Each glyph is 5 cells wide plus one of spacing; the text fills at most 90 % of the width, 70 % of the height.
    const cell = Math.max(1, Math.min((w * 0.9) / (characters.length * 6), (h * 0.7) / 7));
    const left = x + (w - (characters.length * 6 - 1) * cell) / 2;
    const top = y + (h - 7 * cell) / 2;
    characters.forEach((character, index) => {
        const glyph = GLYPHS[character] ?? MISSING_GLYPH;
        glyph.forEach((row, gy) => {
            for (let gx = 0; gx < 5; gx++) {
                if (row[gx] === "1")
                    fillRect(
                        image,
                        left + (index * 6 + gx) * cell,
                        top + gy * cell,
                        Math.ceil(cell),
                        Math.ceil(cell),
                        BLACK,
                    );
            }
        });
    });
}

export interface PlatePictureOptions {
    /** Plate colour: white (default) or yellow (commercial plates). */
    colour?: "white" | "yellow";
}

/**
 * Pictures drawn lately, by kind, colour and text: the demo's trucks come round again, and drawing and
 * encoding a scene takes about a tenth of a second of the process the gate runs in.
 */
const drawn = new Map<string, Uint8Array>();
const DRAWN_KEPT = 64;

function remembered(key: string, draw: () => Uint8Array): Uint8Array {
    let jpeg = drawn.get(key);
    if (!jpeg) {
        jpeg = draw();
        if (drawn.size >= DRAWN_KEPT) drawn.delete(drawn.keys().next().value ?? "");
        drawn.set(key, jpeg);
    }
    // A copy: a caller may change its bytes (fault tests do) without changing the next picture.
    return jpeg.slice();
}

/** The plate crop as a JPEG, 240×60. */
export function plateJpeg(text: string, options: PlatePictureOptions = {}): Uint8Array {
    return remembered(`plate ${options.colour ?? "white"} ${text}`, () => drawPlateJpeg(text, options));
}

/** The camera's scene as a JPEG, 480×270: a grey road, lane markings, a truck's front and its plate. */
export function sceneJpeg(text: string, options: PlatePictureOptions = {}): Uint8Array {
    return remembered(`scene ${options.colour ?? "white"} ${text}`, () => drawSceneJpeg(text, options));
}

function drawPlateJpeg(text: string, options: PlatePictureOptions): Uint8Array {
    const { width, height } = PLATE_SIZE;
    const image = canvas(width, height, WHITE);
    drawPlate(image, 0, 0, width, height, text, options.colour === "yellow" ? YELLOW : WHITE);
    return encodeJpeg(image);
}

function drawSceneJpeg(text: string, options: PlatePictureOptions): Uint8Array {
    const { width, height } = SCENE_SIZE;
    const image = canvas(width, height, [110, 112, 115]);
    fillRect(image, 0, 0, width, 60, [170, 190, 210]); // sky
    for (let y = 90; y < height; y += 40) {
        fillRect(image, 40, y, 6, 20, [230, 230, 230]);
        fillRect(image, width - 46, y, 6, 20, [230, 230, 230]);
    }
    fillRect(image, 130, 50, 220, 180, [40, 70, 130]); // cab
    fillRect(image, 150, 65, 180, 60, [150, 180, 200]); // windscreen
    fillRect(image, 150, 140, 180, 30, [60, 60, 60]); // grille
    drawPlate(image, 180, 180, 120, 30, text, options.colour === "yellow" ? YELLOW : WHITE);
    return encodeJpeg(image);
}
