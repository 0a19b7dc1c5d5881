/**
 * An X-ray / NII scanner's workstation (docs/devices.md "Inspection area"): per scanned vehicle a package
 * folder (manifest.json + JPEG views) exported into the gate's watched folder, written by the model's
 * encode(). The views are drawn as a transmission image reads: light where little absorbs, dark where
 * much does — the tractor's engine, the axles, the cargo in rows; a suspicious scan has a dense mass
 * where the analyst marked it, so a person looking at the picture sees what the region points at.
 */
import { definition as nii } from "../devices/nii-scan-package.ts";
import type { ScanPackage } from "../devices/types.ts";
import type { XrayRegion } from "../src/core/events.ts";
import { dropEntry } from "./lib/folder.ts";
import { encodeJpeg } from "./lib/jpeg.ts";
import { type Rng, seededRng } from "./random.ts";

export type XrayResult = ScanPackage["result"];

export interface XraySimulatorOptions {
    folder: string;
    scanner?: string;
    seed?: number;
}

export interface XrayScanRequest {
    result: XrayResult;
    plates?: string[];
    containers?: string[];
    at?: Date;
    analyst?: string;
}

const WIDTH = 640;
const HEIGHT = 240;

/** A grey transmission view (top or side) of a truck, with a dense mass in `mass` when given. */
function view(rng: Rng, side: boolean, mass: Omit<XrayRegion, "image" | "label"> | undefined): Uint8Array {
    const pixels = new Uint8Array(WIDTH * HEIGHT * 3);
    const top = side ? 40 : 60;
    const bottom = side ? 200 : 180;
    const crates = Array.from({ length: 6 }, () => 0.55 + rng() * 0.25);
    for (let y = 0; y < HEIGHT; y++) {
        for (let x = 0; x < WIDTH; x++) {
            let absorb = 0.04 + rng() * 0.03; // air and detector noise
            const inBody = y >= top && y <= bottom;
            if (inBody && x >= 20 && x < 120)
                absorb = 0.55 + (x > 40 && x < 80 && y > top + 20 && y < bottom - 20 ? 0.3 : 0); // cab, engine
            if (inBody && x >= 130 && x < 620) {
                absorb = 0.18; // container walls
                const crate = Math.floor((x - 140) / 78);
                if (x >= 140 && x < 608 && (x - 140) % 78 < 70 && y > top + 12 && y < bottom - 12)
                    absorb = crates[crate] ?? 0.6;
            }
            if (side && y > 200 && y < 222 && [60, 420, 470, 520].some((c) => Math.abs(x - c) < 18)) absorb = 0.9; // wheels
            if (!side && inBody && [60, 420, 470, 520].some((c) => Math.abs(x - c) < 4))
                absorb = Math.max(absorb, 0.85); // axles
            if (mass) {
                const cx = (mass.x + mass.width / 2) * WIDTH;
                const cy = (mass.y + mass.height / 2) * HEIGHT;
                const rx = (mass.width / 2) * WIDTH;
                const ry = (mass.height / 2) * HEIGHT;
                const d = ((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2;
                if (d < 1) absorb = Math.max(absorb, 0.97 - d * 0.1);
            }
            const v = Math.round(255 * (1 - Math.min(1, absorb)));
            const i = (y * WIDTH + x) * 3;
            pixels[i] = v;
            pixels[i + 1] = v;
            pixels[i + 2] = Math.min(255, v + 8); // the faint blue of a scanner's grey scale
        }
    }
    return encodeJpeg({ width: WIDTH, height: HEIGHT, pixels }, 85);
}

export class XraySimulator {
    private readonly rng: Rng;
    private count = 0;

    constructor(private readonly options: XraySimulatorOptions) {
        this.rng = seededRng(options.seed ?? 7);
    }

    /** The package for one scan (not written). */
    package(request: XrayScanRequest): ScanPackage & { scannedAt: string; scanner: string } {
        const scanner = this.options.scanner ?? "NII1";
        const at = request.at ?? new Date();
        this.count++;
        const scanId = `${scanner}-${at.toISOString().slice(0, 10).replace(/-/g, "")}-${String(this.count).padStart(4, "0")}-${Math.floor(this.rng() * 1e6)}`;
        const suspicious = request.result === "suspicious";
        const box = { x: 0.55 + this.rng() * 0.15, y: 0.35, width: 0.1, height: 0.3 };
        const regions: XrayRegion[] = suspicious
            ? [
                  { image: 0, ...box, label: "dense mass behind the cargo" },
                  { image: 1, ...box, y: 0.3, label: "dense mass behind the cargo" },
              ]
            : [];
        const analysed = request.result !== "not-analysed";
        return {
            scanId,
            scanner,
            scannedAt: at.toISOString(),
            result: request.result,
            plates: request.plates ?? [],
            containers: request.containers ?? [],
            images: [
                {
                    name: "top.jpg",
                    view: "top",
                    contentType: "image/jpeg",
                    bytes: view(this.rng, false, suspicious ? box : undefined),
                },
                {
                    name: "side.jpg",
                    view: "side",
                    contentType: "image/jpeg",
                    bytes: view(this.rng, true, suspicious ? { ...box, y: 0.3 } : undefined),
                },
            ],
            regions,
            ...(analysed && {
                analyst: request.analyst ?? "analyst-1",
                analysedAt: new Date(at.getTime() + 90_000).toISOString(),
            }),
            ...(suspicious && { remarks: "density does not match the declared goods" }),
        };
    }

    /** Exports one scan's package into the folder; answers the package written. */
    async scan(request: XrayScanRequest): Promise<ScanPackage & { scannedAt: string; scanner: string }> {
        const pkg = this.package(request);
        await dropEntry(this.options.folder, nii.encode(pkg), "package");
        return pkg;
    }
}
