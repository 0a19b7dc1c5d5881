/**
 * The inspection area's device models: the N42.42 radiation portal monitor read from the example documents
 * in test/fixtures/n42 exactly as stored, and the NII scan package.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { definition as rpm } from "../../devices/n42-rpm.ts";
import { MANIFEST, definition as nii } from "../../devices/nii-scan-package.ts";
import type { FolderEntry, RpmDocument, RpmReport, ScanPackage } from "../../devices/types.ts";
import { encodeJpeg } from "../../simulators/lib/jpeg.ts";
import type { RadiationValues } from "../../src/core/events.ts";

function fixture(name: string): FolderEntry {
    const bytes = readFileSync(new URL(`../fixtures/n42/${name}`, import.meta.url));
    return { name, files: new Map([[name, new Uint8Array(bytes)]]) };
}

function occupancy(entry: FolderEntry): { values: RadiationValues; observedAt: number | undefined } {
    const result = rpm.decode(entry);
    if (result.status !== "reading" || result.values.type !== "occupancy")
        throw new Error(`not an occupancy: ${JSON.stringify(result).slice(0, 200)}`);
    return { values: result.values.values, observedAt: result.observedAt };
}

function n42(xml: string): FolderEntry {
    return { name: "x.n42", files: new Map([["x.n42", new TextEncoder().encode(xml)]]) };
}

const DETECTORS = [
    { id: "Aa1", category: "gamma" },
    { id: "Ba1", category: "gamma" },
    { id: "Aa1N", category: "neutron" },
    { id: "Ba1N", category: "neutron" },
] as const;

function report(overrides: Partial<RpmReport> = {}): RpmReport {
    return {
        uuid: "0f8fad5b-d9cb-469f-a165-70867728950e",
        instrument: { manufacturer: "Sim", model: "RPM-SIM", serial: "S1" },
        detectors: DETECTORS,
        start: new Date("2026-12-07T06:00:00Z"),
        sliceMs: 200,
        backgroundCps: [1000, 1010, 2, 3],
        slices: [
            { counts: [200, 202, 0, 1], occupied: false },
            { counts: [300, 280, 1, 0], occupied: true },
            { counts: [320, 290, 0, 1], occupied: true },
            { counts: [201, 199, 0, 0], occupied: false },
        ],
        speedKmh: 7.2,
        alarms: [],
        nuclides: [],
        faults: [],
        ...overrides,
    };
}

describe("n42-rpm: the NIST-style gross-counting RPM examples (test/fixtures/n42), bytes as stored", () => {
    it("the clean occupancy: six detectors, slices summed over energy windows, 0.3 s occupied, no alarm", () => {
        const { values, observedAt } = occupancy(fixture("rpm-occupancy.n42"));
        expect(values.occupancyId).toBe("d72b7fa7-4a20-43d4-b1b2-7e41b5200b29");
        expect(values.alarm).toBe(false);
        expect(values.assessment).toBe("clear");
        expect(values.occupiedSeconds).toBe(0.3);
        expect(values.speedKmh).toBeUndefined();
        expect(values.instrument).toEqual({ manufacturer: "RPM Inc.", model: "RPM-1000", serial: "SN 7890A" });
        expect(values.detectors).toEqual([
            { detector: "Aa1", category: "gamma", peakCps: 2880, slices: [202, 201, 269, 288, 264, 201, 201] },
            { detector: "Aa2", category: "gamma", peakCps: 2530, slices: [199, 202, 239, 253, 236, 202, 200] },
            { detector: "Ba1", category: "gamma", peakCps: 2830, slices: [208, 206, 266, 283, 259, 207, 206] },
            { detector: "Ba2", category: "gamma", peakCps: 2480, slices: [203, 199, 235, 248, 231, 199, 201] },
            { detector: "Aa1N", category: "neutron", peakCps: 20, slices: [1, 0, 1, 2, 1, 0, 1] },
            { detector: "Ba1N", category: "neutron", peakCps: 10, slices: [0, 1, 1, 1, 0, 0, 0] },
        ]);
        expect(observedAt).toBe(Date.parse("2003-11-23T06:45:19.200Z"));
    });

    it("the alarmed occupancy: gamma (three detectors) and neutron (one) alarms, the categorised nuclide", () => {
        const { values } = occupancy(fixture("rpm-occupancy-alarmed.n42"));
        expect(values.alarm).toBe(true);
        expect(values.assessment).toBe("alarm");
        expect(values.alarmCategories).toEqual(["gamma", "neutron"]);
        expect(values.nuclides).toEqual([{ name: "Unknown", identified: true, category: "Special Nuclear Material" }]);
    });
});

describe("n42-rpm: what the simulator writes reads back", () => {
    it("a clean pass: counts per slice, peak over the occupied slices, background cps, speed", () => {
        const { values, observedAt } = occupancy(rpm.encode(report()));
        expect(values.assessment).toBe("clear");
        expect(values.occupiedSeconds).toBe(0.4);
        expect(values.speedKmh).toBe(7.2);
        expect(values.detectors[0]).toEqual({
            detector: "Aa1",
            category: "gamma",
            backgroundCps: 1000,
            peakCps: 1600,
            slices: [200, 300, 320, 201],
        });
        expect(observedAt).toBe(Date.parse("2026-12-07T06:00:00.200Z"));
    });

    it("a NORM alarm is a nuisance; a NORM-looking neutron alarm or an industrial source is an alarm", () => {
        const gamma = [{ category: "Gamma", detectors: ["Aa1", "Ba1"] }] as const;
        const norm = occupancy(
            rpm.encode(report({ alarms: gamma, nuclides: [{ name: "K-40", identified: true, category: "NORM" }] })),
        );
        expect(norm.values).toMatchObject({ alarm: true, assessment: "nuisance", alarmCategories: ["gamma"] });
        const withNeutron = occupancy(
            rpm.encode(
                report({
                    alarms: [...gamma, { category: "Neutron", detectors: ["Aa1N"] }],
                    nuclides: [{ name: "K-40", identified: true, category: "NORM" }],
                }),
            ),
        );
        expect(withNeutron.values.assessment).toBe("alarm");
        const cs = occupancy(
            rpm.encode(
                report({ alarms: gamma, nuclides: [{ name: "Cs-137", identified: true, category: "Industrial" }] }),
            ),
        );
        expect(cs.values.assessment).toBe("alarm");
        const unnamed = occupancy(rpm.encode(report({ alarms: gamma })));
        expect(unnamed.values.assessment).toBe("alarm");
    });

    it("a report without occupied slices is the RPM's background and faults, for device health", () => {
        const result = rpm.decode(
            rpm.encode(
                report({
                    slices: [],
                    faults: [
                        {
                            code: "HighBackground",
                            severity: "warning",
                            description: "gamma background over alarm margin",
                        },
                        { code: "DetectorFailure", severity: "error", description: "no counts", detector: "Ba1N" },
                    ],
                }),
            ),
        );
        const expected: RpmDocument = {
            type: "background",
            backgroundCps: { Aa1: 1000, Ba1: 1010, Aa1N: 2, Ba1N: 3 },
            faults: [
                { code: "HighBackground", severity: "warning", description: "gamma background over alarm margin" },
                { code: "DetectorFailure", severity: "error", description: "no counts", detector: "Ba1N" },
            ],
        };
        expect(result).toEqual({ status: "reading", values: expected });
    });
});

describe("n42-rpm refuses what cannot be trusted", () => {
    const clean = new TextDecoder().decode(fixture("rpm-occupancy.n42").files.get("rpm-occupancy.n42"));
    it.each([
        [
            "a DOCTYPE (entity expansion)",
            `<!DOCTYPE x [<!ENTITY a "b">]>${clean.slice(clean.indexOf("<RadInstrumentData"))}`,
            /DOCTYPE/,
        ],
        [
            "another namespace",
            clean.replace('xmlns="http://physics.nist.gov/N42/2011/N42"', 'xmlns="urn:other"'),
            /not N42/,
        ],
        [
            "a handheld's document",
            clean.replace(">Portal Monitor<", ">Radionuclide Identifier<"),
            /not a portal monitor/,
        ],
        ["a negative count", clean.replace("<CountData>1</CountData>", "<CountData>-1</CountData>"), /CountData/],
        [
            "counts of an undescribed detector",
            clean.replace('radDetectorInformationReference="Ba2"', 'radDetectorInformationReference="Zz9"'),
            /undescribed/,
        ],
        [
            "no duration",
            clean.replace("<RealTimeDuration>PT0.1S</RealTimeDuration>", "<RealTimeDuration>soon</RealTimeDuration>"),
            /RealTimeDuration/,
        ],
        ["truncated", clean.slice(0, clean.length / 2), /well-formed/],
    ])("%s", (_, xml, reason) => {
        const result = rpm.decode(n42(xml));
        expect(result.status).toBe("invalid");
        expect(result.status !== "reading" && result.reason).toMatch(reason);
    });

    it("a file that is not UTF-8 or over the size limit", () => {
        expect(rpm.decode(n42("")).status).toBe("invalid");
        const latin = { name: "x.n42", files: new Map([["x.n42", new Uint8Array([0x3c, 0xe9, 0xff])]]) };
        expect(rpm.decode(latin)).toEqual({ status: "invalid", reason: "document is not UTF-8" });
        const big = { name: "x.n42", files: new Map([["x.n42", new Uint8Array(rpm.maxEntryBytes + 1)]]) };
        expect(rpm.decode(big).status).toBe("invalid");
    });
});

// ---------------------------------------------------------------------------------------------------

const picture = encodeJpeg({ width: 16, height: 8, pixels: new Uint8Array(16 * 8 * 3).fill(128) });

function scan(overrides: Partial<ScanPackage> = {}): ScanPackage & { scannedAt: string; scanner: string } {
    return {
        scanId: "HN1-20261207-0042",
        scanner: "HN1",
        scannedAt: "2026-12-07T13:05:00+07:00",
        result: "suspicious",
        plates: ["15C12345"],
        containers: ["CSQU3054383"],
        images: [{ name: "top.jpg", view: "top", contentType: "image/jpeg", bytes: picture }],
        regions: [{ image: 0, x: 0.6, y: 0.3, width: 0.1, height: 0.2, label: "dense organic" }],
        analyst: "inspector-07",
        analysedAt: "2026-12-07T13:09:12+07:00",
        ...overrides,
    };
}

describe("nii-scan-package", () => {
    it("reads a package written by hand from the documented form", () => {
        const manifest = {
            format: "nii-scan/1",
            scanId: "HN1-1",
            scannedAt: "2026-12-07T13:05:00+07:00",
            vehicle: { plates: ["15C-123.45", "15r-012.34"], containers: ["CSQU 305438 3"] },
            images: [
                {
                    file: "side.jpg",
                    view: "side",
                    bytes: picture.byteLength,
                    sha256: createHash("sha256").update(picture).digest("hex"),
                },
            ],
            result: { status: "clear", analyst: "a1" },
        };
        const entry: FolderEntry = {
            name: "HN1-1",
            files: new Map([
                [MANIFEST, new TextEncoder().encode(JSON.stringify(manifest))],
                ["side.jpg", picture],
            ]),
        };
        const result = nii.decode(entry);
        expect(result).toMatchObject({
            status: "reading",
            observedAt: Date.parse("2026-12-07T06:05:00Z"),
            values: {
                scanId: "HN1-1",
                result: "clear",
                plates: ["15C12345", "15R01234"],
                containers: ["CSQU3054383"],
                regions: [],
                analyst: "a1",
            },
        });
        expect(result.status === "reading" && result.values.images[0]?.bytes).toEqual(picture);
    });

    it("what the simulator writes reads back, regions on their image", () => {
        const result = nii.decode(nii.encode(scan()));
        expect(result.status).toBe("reading");
        if (result.status !== "reading") return;
        expect(result.values.regions).toEqual(scan().regions);
        expect(result.values).toMatchObject({
            result: "suspicious",
            analyst: "inspector-07",
            scannedAt: "2026-12-07T13:05:00+07:00",
        });
    });

    it.each([
        [
            "a half-copied image",
            (e: Map<string, Uint8Array>) => e.set("top.jpg", picture.subarray(0, 100)),
            /size listed/,
        ],
        [
            "an altered image",
            (e: Map<string, Uint8Array>) =>
                e.set(
                    "top.jpg",
                    Uint8Array.from(picture, (b, i) => (i === 200 ? b ^ 1 : b)),
                ),
            /SHA-256/,
        ],
        ["a missing image", (e: Map<string, Uint8Array>) => e.delete("top.jpg"), /not in the package/],
        ["no manifest", (e: Map<string, Uint8Array>) => e.delete(MANIFEST), /no manifest/],
        [
            "a manifest that is not JSON",
            (e: Map<string, Uint8Array>) => e.set(MANIFEST, new TextEncoder().encode("{")),
            /not UTF-8 JSON/,
        ],
    ])("refuses %s", (_, change, reason) => {
        const files = new Map(nii.encode(scan()).files);
        change(files);
        const result = nii.decode({ name: "HN1", files });
        expect(result.status).toBe("invalid");
        expect(result.status !== "reading" && result.reason).toMatch(reason);
    });

    it("refuses a region outside its image, an unknown status, a path as a file name", () => {
        const outside = nii.encode(
            scan({ regions: [{ image: 0, x: 0.95, y: 0, width: 0.1, height: 0.1, label: "" }] }),
        );
        expect(nii.decode(outside)).toMatchObject({ status: "invalid", reason: expect.stringMatching(/box inside/) });
        const manifest = (entry: FolderEntry) => JSON.parse(new TextDecoder().decode(entry.files.get(MANIFEST)));
        const rewrite = (change: (m: Record<string, unknown>) => void) => {
            const entry = nii.encode(scan());
            const m = manifest(entry);
            change(m);
            const files = new Map(entry.files);
            files.set(MANIFEST, new TextEncoder().encode(JSON.stringify(m)));
            return nii.decode({ name: entry.name, files });
        };
        expect(rewrite((m) => Object.assign(m, { result: { status: "maybe" } })).status).toBe("invalid");
        expect(
            rewrite((m) => {
                m.images = [{ ...(m.images as object[])[0], file: "../top.jpg" }];
            }).status,
        ).toBe("invalid");
    });
});
