/**
 * The inspection area's devices feed a real gate through real folders: the RPM simulator drops N42.42
 * files and the X-ray simulator scan packages, the gate reads them from disk and stores readings,
 * images and device health as events (src/inspection/devices.ts, src/drivers/folderWatch.ts).
 */
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { definition as rpmModel } from "../../devices/n42-rpm.ts";
import { definition as nii } from "../../devices/nii-scan-package.ts";
import { dropEntry } from "../../simulators/lib/folder.ts";
import { RpmSimulator } from "../../simulators/rpm.ts";
import { XraySimulator } from "../../simulators/xray.ts";
import type { RadiationValues, XrayValues } from "../../src/core/events.ts";
import type { Gate } from "../../src/gate.ts";
import { ImageStore } from "../../src/store/images.ts";
import { apiSession } from "../helpers/api.ts";
import { eventually, startGate, testConfig } from "../helpers/gate.ts";
import { tempDir } from "../helpers/tmp.ts";

const WAIT_MS = 30_000;

describe("inspection devices on a real gate (real folders)", () => {
    let dir: ReturnType<typeof tempDir>;
    let gate: Gate;
    let rpmFolder: string;
    let xrayFolder: string;
    let quietFolder: string;

    beforeEach(async () => {
        dir = tempDir();
        rpmFolder = join(dir.path, "rpm-l1");
        xrayFolder = join(dir.path, "xray-1");
        quietFolder = join(dir.path, "rpm-quiet");
        const config = testConfig(
            dir.path,
            "    - id: L1\n      devices: []",
            `inspection:
    devices:
        - { id: rpm-l1, model: n42-rpm, lane: L1, folder: ${JSON.stringify(rpmFolder)}, pollMs: 100, settleMs: 150 }
        - { id: xray-1, model: nii-scan-package, folder: ${JSON.stringify(xrayFolder)}, pollMs: 100, settleMs: 150 }
        - { id: rpm-quiet, model: n42-rpm, folder: ${JSON.stringify(quietFolder)}, pollMs: 100, settleMs: 150, silentAfterMs: 1500 }`,
        );
        gate = await startGate(config);
    });

    afterEach(async () => {
        await gate.stop();
        dir.cleanup();
    });

    const events = (type: string) => gate.log.read(0, 100_000).filter((event) => event.type === type);

    it("RPM passes land as reading.radiation on the RPM's lane: clean, NORM nuisance, genuine alarm", async () => {
        const rpm = new RpmSimulator({ folder: rpmFolder, seed: 1 });
        await rpm.pass("clean");
        await rpm.pass("norm");
        const genuine = await rpm.pass("alarm", { neutron: true });
        const readings = await eventually(
            () => (events("reading.radiation").length >= 3 ? events("reading.radiation") : undefined),
            WAIT_MS,
            "three radiation readings",
        );
        // A reading event carries its kind's values (src/core/events.ts); data is typed as JSON only.
        const values = readings.map((event) => event.data.values as unknown as RadiationValues);
        expect(values.map((v) => v.assessment).sort()).toEqual(["alarm", "clear", "nuisance"]);
        expect(readings.every((event) => event.laneId === "L1" && event.deviceId === "rpm-l1")).toBe(true);
        const alarm = values.find((v) => v.assessment === "alarm");
        expect(alarm?.occupancyId).toBe(genuine.uuid);
        expect(alarm?.alarmCategories).toEqual(["gamma", "neutron"]);
        expect(alarm?.detectors.map((d) => d.detector)).toEqual(["Aa1", "Aa2", "Ba1", "Ba2", "Aa1N", "Ba1N"]);
        // The N42 document itself is kept as evidence, by its SHA-256; the folder keeps it under processed/.
        const event = readings.find((e) => (e.data.values as unknown as RadiationValues).assessment === "alarm");
        const stored = new ImageStore(gate.database).get(String(event?.data.documentRef));
        const file = join(rpmFolder, "processed", String(event?.data.file));
        await eventually(() => existsSync(file), WAIT_MS, "the document under processed/");
        expect(stored?.bytes.equals(readFileSync(file))).toBe(true);
        // Moved once its reading is durable, so just after the reading is seen.
        await eventually(
            () => readdirSync(rpmFolder).every((name) => !name.endsWith(".n42")),
            WAIT_MS,
            "the folder emptied",
        );
    });

    it("the RPM's background reports and faults become its health: a detector failure degrades it, then it recovers", async () => {
        const rpm = new RpmSimulator({ folder: rpmFolder, seed: 2 });
        const statuses = () =>
            events("device.status")
                .filter((event) => event.deviceId === "rpm-l1")
                .map((event) => ({ status: event.data.status, reason: String(event.data.reason) }));
        await eventually(() => statuses().at(-1)?.status === "online", WAIT_MS, "RPM online");
        await rpm.backgroundReport([
            { code: "DetectorFailure", severity: "error", description: "no counts from the tube", detector: "Ba1N" },
        ]);
        const degraded = await eventually(
            () => statuses().find((s) => s.status === "degraded"),
            WAIT_MS,
            "RPM degraded",
        );
        expect(degraded.reason).toMatch(/DetectorFailure \(Ba1N\)/);
        await rpm.backgroundReport([]);
        await eventually(() => statuses().at(-1)?.status === "online", WAIT_MS, "RPM online again");
        expect(events("reading.radiation")).toEqual([]);
    });

    it("an RPM that stops reporting goes offline with the reason SILENT; its next report brings it back", async () => {
        const quiet = new RpmSimulator({ folder: quietFolder, seed: 4 });
        const statuses = () =>
            events("device.status")
                .filter((event) => event.deviceId === "rpm-quiet")
                .map((event) => event.data);
        await quiet.backgroundReport();
        // Nothing more from it: offline once silentAfterMs has passed without a document.
        const silent = await eventually(
            () => statuses().find((s) => s.status === "offline" && s.reasonCode === "SILENT"),
            WAIT_MS,
            "the RPM offline for its silence",
        );
        expect(silent.reasonParams).toEqual({ ms: 1500 });
        expect(String(silent.reason)).toMatch(/no document for 2 s/);
        await quiet.backgroundReport();
        await eventually(() => statuses().at(-1)?.status === "online" || undefined, WAIT_MS, "online again");
        // The other RPM, reporting nothing either, keeps the model's five minutes: still online.
        const busy = events("device.status").filter((event) => event.deviceId === "rpm-l1");
        expect(busy.at(-1)?.data.status).toBe("online");
    });

    it("a resent document gives one reading: the same N42 file or scan package delivered twice is counted, not stored twice", async () => {
        const rpm = new RpmSimulator({ folder: rpmFolder, seed: 8 });
        const occupancy = await rpm.pass("norm");
        const xray = new XraySimulator({ folder: xrayFolder, seed: 9 });
        const scan = await xray.scan({ result: "clear", plates: ["29C-123.45"] });
        await eventually(
            () => events("reading.radiation").length + events("reading.xray").length === 2 || undefined,
            WAIT_MS,
            "the first delivery's readings",
        );
        // The lane computer and the scanner's workstation deliver the very same bytes again.
        await dropEntry(rpmFolder, rpmModel.encode(occupancy), "file");
        await dropEntry(xrayFolder, nii.encode(scan), "package");
        const processed = (folder: string) => readdirSync(join(folder, "processed"));
        await eventually(
            () => (processed(rpmFolder).length === 2 && processed(xrayFolder).length === 2) || undefined,
            WAIT_MS,
            "both resends handled",
        );
        expect(events("reading.radiation")).toHaveLength(1);
        expect(events("reading.xray")).toHaveLength(1);
        const [radiation] = events("reading.radiation");
        expect(radiation?.data.contentHash).toMatch(/^sha256:[0-9a-f]{64}$/);
        // Counted, as a technician sees it: each device's counters on GET /api/v1/devices.
        const listed = (await (await apiSession(gate, "technician").fetch("/api/v1/devices")).json()) as {
            devices: { deviceId: string; counters: { duplicates?: number } }[];
        };
        const duplicates = Object.fromEntries(
            listed.devices
                .filter((device) => ["rpm-l1", "xray-1", "rpm-quiet"].includes(device.deviceId))
                .map((device) => [device.deviceId, device.counters.duplicates]),
        );
        expect(duplicates).toEqual({ "rpm-l1": 1, "xray-1": 1, "rpm-quiet": 0 });
        // Another occupancy of the same RPM is a reading of its own.
        await rpm.pass("clean");
        await eventually(() => events("reading.radiation").length === 2 || undefined, WAIT_MS, "the next occupancy");
    });

    it("scan packages land as reading.xray with their images stored by SHA-256 and the analyst's regions", async () => {
        const xray = new XraySimulator({ folder: xrayFolder, seed: 3 });
        const suspicious = await xray.scan({
            result: "suspicious",
            plates: ["15C-123.45"],
            containers: ["CSQU3054383"],
        });
        await xray.scan({ result: "clear", plates: ["29H-555.55"] });
        const readings = await eventually(
            () => (events("reading.xray").length >= 2 ? events("reading.xray") : undefined),
            WAIT_MS,
            "two scan readings",
        );
        // As above: reading.xray carries XrayValues.
        const values = readings.map((event) => event.data.values as unknown as XrayValues);
        const found = values.find((v) => v.scanId === suspicious.scanId);
        expect(found).toMatchObject({ result: "suspicious", plates: ["15C12345"], containers: ["CSQU3054383"] });
        expect(found?.regions).toEqual(suspicious.regions);
        const images = new ImageStore(gate.database);
        for (const [index, image] of (found?.images ?? []).entries()) {
            const original = suspicious.images[index]?.bytes ?? new Uint8Array();
            expect(image.ref).toBe(`sha256:${createHash("sha256").update(original).digest("hex")}`);
            expect(images.get(image.ref)?.bytes.equals(original)).toBe(true);
        }
        expect(readings.every((event) => event.laneId === undefined && event.deviceId === "xray-1")).toBe(true);
        expect(values.find((v) => v.scanId !== suspicious.scanId)?.result).toBe("clear");
    });

    it("an altered package is refused into rejected/ with its reason, never a reading", async () => {
        const xray = new XraySimulator({ folder: xrayFolder, seed: 4 });
        const entry = nii.encode(xray.package({ result: "clear" }));
        const files = new Map(entry.files);
        const top = Uint8Array.from(files.get("top.jpg") ?? []);
        top[300] = (top[300] ?? 0) ^ 0xff;
        files.set("top.jpg", top);
        await dropEntry(xrayFolder, { name: entry.name, files }, "package");
        const reason = join(xrayFolder, "rejected", `${entry.name}.reason.txt`);
        await eventually(() => existsSync(reason), WAIT_MS, "the package rejected");
        expect(readFileSync(reason, "utf8")).toMatch(/SHA-256/);
        expect(events("reading.xray")).toEqual([]);
    });
});
