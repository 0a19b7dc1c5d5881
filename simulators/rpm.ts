/**
 * A radiation portal monitor (docs/devices.md "Inspection area"): four gamma panels (Aa1, Aa2, Ba1, Ba2)
 * and two neutron tubes (Aa1N, Ba1N) by the DNDO naming, 200 ms time slices, one ANSI N42.42 document per
 * occupancy dropped into the gate's watched folder, written by the model's encode().
 *
 * What a pass looks like:
 * - clean: the vehicle shields the panels from the ground's background, so counts dip while it passes
 *   ("background suppression", 5-15 %);
 * - norm: a cargo of naturally occurring radioactive material (ceramic tiles, potash fertiliser, granite)
 *   raises every gamma panel broadly across the whole occupancy: a gamma alarm that the RPM's limited
 *   categorisation names NORM (K-40, Ra-226, Th-232) — the common nuisance alarm;
 * - alarm: a point source raises the panels of one pillar in a few slices (Cs-137, "Industrial"), or, with
 *   `neutron`, the neutron tubes too (special nuclear material).
 * Background drifts as a slow random walk (weather, radon washout), and `background()` writes the RPM's
 * periodic background report, with faults (detector failure, high background, tamper) when asked. A fault
 * set with `setFaults` stays in every document the RPM writes (occupancies too) until it is cleared, as a
 * failed detector stays failed until a technician replaces it.
 */
import { randomUUID } from "node:crypto";
import { definition as rpm } from "../devices/n42-rpm.ts";
import type { RpmFault, RpmReport } from "../devices/types.ts";
import { dropEntry } from "./lib/folder.ts";
import { type Rng, seededRng } from "./random.ts";

export type RpmPassKind = "clean" | "norm" | "alarm";

export interface RpmSimulatorOptions {
    /** The folder the gate watches (inspection.devices[].folder). */
    folder: string;
    seed?: number;
    serial?: string;
    sliceMs?: number;
}

const DETECTORS: RpmReport["detectors"] = [
    { id: "Aa1", category: "gamma" },
    { id: "Aa2", category: "gamma" },
    { id: "Ba1", category: "gamma" },
    { id: "Ba2", category: "gamma" },
    { id: "Aa1N", category: "neutron" },
    { id: "Ba1N", category: "neutron" },
];
const NORM_NUCLIDES = ["K-40", "Ra-226", "Th-232"];

/** Poisson-like counts: the mean with Gaussian noise of its square root (fine above a few counts). */
function counts(rng: Rng, mean: number): number {
    const gauss = Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
    return Math.max(0, Math.round(mean + gauss * Math.sqrt(Math.max(mean, 1))));
}

export class RpmSimulator {
    private readonly rng: Rng;
    /** Current background cps per detector, drifting. */
    private readonly backgroundCps: number[] = [1800, 1750, 1820, 1780, 3, 3];
    private readonly sliceMs: number;
    /** The RPM's standing faults, reported in every document. */
    private faults: readonly RpmFault[] = [];

    constructor(private readonly options: RpmSimulatorOptions) {
        this.rng = seededRng(options.seed ?? 42);
        this.sliceMs = options.sliceMs ?? 200;
    }

    /** Background now, per detector (cps). */
    get background(): readonly number[] {
        return this.backgroundCps;
    }

    /** Faults the RPM reports from now on, in every document (none: healthy again). */
    setFaults(faults: readonly RpmFault[]): void {
        this.faults = faults.map((fault) => ({ ...fault }));
    }

    /** One step of the background's random walk: ±1 % per gamma panel, kept within 1200-3000 cps. */
    drift(): void {
        for (let i = 0; i < 4; i++) {
            const step = 1 + (this.rng() - 0.5) * 0.02;
            this.backgroundCps[i] = Math.min(3000, Math.max(1200, (this.backgroundCps[i] ?? 1800) * step));
        }
    }

    /** The report for one pass (not written). */
    report(kind: RpmPassKind, options: { at?: Date; speedKmh?: number; neutron?: boolean } = {}): RpmReport {
        this.drift();
        const speedKmh = options.speedKmh ?? 8;
        // A 16 m truck at this speed, plus 1 s before and after.
        const occupiedSlices = Math.max(3, Math.round((16 / (speedKmh / 3.6)) * (1000 / this.sliceMs)));
        const margin = Math.round(1000 / this.sliceMs);
        const total = occupiedSlices + 2 * margin;
        const seconds = this.sliceMs / 1000;
        const hotStart = margin + Math.floor(occupiedSlices * 0.4);
        const slices = Array.from({ length: total }, (_, i) => {
            const occupied = i >= margin && i < margin + occupiedSlices;
            const means = this.backgroundCps.map((bg, d) => {
                const gamma = d < 4;
                let cps = bg;
                if (occupied && gamma) cps *= 0.9; // the vehicle shields the panels
                if (occupied && gamma && kind === "norm") cps *= 1.45;
                const hot = occupied && kind === "alarm" && i >= hotStart && i < hotStart + 4;
                if (hot && gamma) cps *= d < 2 ? 2.6 : 1.5; // pillar A faces the source
                if (hot && !gamma && options.neutron) cps += d === 4 ? 40 : 12;
                return cps * seconds;
            });
            return { counts: means.map((m) => counts(this.rng, m)), occupied };
        });
        const gammaAlarm = kind !== "clean";
        const alarms: RpmReport["alarms"] = [
            ...(gammaAlarm
                ? [
                      {
                          category: "Gamma" as const,
                          detectors: kind === "norm" ? ["Aa1", "Aa2", "Ba1", "Ba2"] : ["Aa1", "Aa2"],
                      },
                  ]
                : []),
            ...(kind === "alarm" && options.neutron ? [{ category: "Neutron" as const, detectors: ["Aa1N"] }] : []),
        ];
        const nuclides: RpmReport["nuclides"] =
            kind === "norm"
                ? [
                      {
                          name: NORM_NUCLIDES[Math.floor(this.rng() * NORM_NUCLIDES.length)] ?? "K-40",
                          identified: true,
                          category: "NORM",
                      },
                  ]
                : kind === "alarm"
                  ? [
                        options.neutron
                            ? { name: "Unknown", identified: true, category: "Special Nuclear Material" }
                            : { name: "Cs-137", identified: true, category: "Industrial" },
                    ]
                  : [];
        return {
            uuid: randomUUID(),
            instrument: {
                manufacturer: "gate-edge",
                model: "RPM simulator",
                serial: this.options.serial ?? "SIM-RPM-1",
            },
            detectors: DETECTORS,
            start: options.at ?? new Date(),
            sliceMs: this.sliceMs,
            backgroundCps: this.backgroundCps.map((c) => Math.round(c)),
            slices,
            speedKmh,
            alarms,
            nuclides,
            faults: this.faults,
        };
    }

    /** Writes one occupancy into the folder; answers the report written. */
    async pass(
        kind: RpmPassKind,
        options: { at?: Date; speedKmh?: number; neutron?: boolean } = {},
    ): Promise<RpmReport> {
        const report = this.report(kind, options);
        await dropEntry(this.options.folder, rpm.encode(report), "file");
        return report;
    }

    /** Writes the RPM's periodic background report, with these faults (default: its standing faults). */
    async backgroundReport(faults: readonly RpmFault[] = this.faults, at = new Date()): Promise<RpmReport> {
        this.drift();
        const report: RpmReport = { ...this.report("clean", { at }), slices: [], alarms: [], nuclides: [], faults };
        await dropEntry(this.options.folder, rpm.encode(report), "file");
        return report;
    }
}
