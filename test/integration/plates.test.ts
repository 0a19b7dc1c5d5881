import { beforeAll, describe, expect, it } from "vitest";
import { plateJpeg, sceneJpeg } from "../../simulators/lib/plate-image.ts";
import { PushCameraSimulator, SAMPLE_JPEG, SAMPLE_PLATE_JPEG } from "../../simulators/push-camera.ts";
import type { PlateValues } from "../../src/core/events.ts";
import type { Gate } from "../../src/gate.ts";
import { apiSession } from "../helpers/api.ts";
import { useFileGate } from "../helpers/fileGate.ts";
import { startGate, testConfig } from "../helpers/gate.ts";
import { tempDir } from "../helpers/tmp.ts";

const file = useFileGate(
    `  - id: L1
    devices:
      - { id: cam-front, model: dahua-itsapi-anpr, role: front, auth: { username: cam-front, password: front-password } }
      - { id: cam-rear, model: hikvision-isapi-anpr, role: rear, allow: ["127.0.0.1"] }
`,
    "push: { host: 127.0.0.1, port: 0 }",
);
let gate: Gate;
let front: PushCameraSimulator;
let rear: PushCameraSimulator;

beforeAll(async () => {
    gate = file.gate;
    const url = gate.addresses.push!;
    front = new PushCameraSimulator({
        model: "dahua-itsapi-anpr",
        url,
        username: "cam-front",
        password: "front-password",
    });
    rear = new PushCameraSimulator({ model: "hikvision-isapi-anpr", url });
});

const plates = () =>
    gate.log
        .read(0, 10_000)
        .filter((event) => event.type === "reading.plate")
        .map((event) => ({ deviceId: event.deviceId, values: event.data.values as unknown as PlateValues }));

describe("plate cameras through the gate", () => {
    it("stores the tractor plate in front and the trailer plate behind, with their images by content address", async () => {
        // Both cameras send the very same pictures, to see them stored once.
        const pictures = { scene: SAMPLE_JPEG, plate: SAMPLE_PLATE_JPEG };
        expect((await front.push({ text: "15C-123.45", confidence: 0.97, pictures })).body).toContain('"Result":true');
        expect((await rear.push({ text: "15R-004.56", confidence: 0.88, pictures })).status).toBe(200);
        const [tractor, trailer] = plates();
        expect(tractor).toMatchObject({
            deviceId: "cam-front",
            values: {
                text: "15C-123.45",
                normalized: "15C12345",
                country: "VN",
                position: "front",
                trailer: false,
                confidence: 0.97,
            },
        });
        expect(trailer).toMatchObject({
            deviceId: "cam-rear",
            values: { text: "15R-004.56", normalized: "15R00456", position: "rear", trailer: true, confidence: 0.88 },
        });
        const ref = tractor!.values.imageRefs[0]!;
        expect(ref).toMatch(/^sha256:[0-9a-f]{64}$/);
        const response = await apiSession(gate, "officer").fetch(`/api/v1/images/${ref}`);
        expect(response.headers.get("content-type")).toBe("image/jpeg");
        expect(Buffer.from(await response.arrayBuffer())).toEqual(Buffer.from(SAMPLE_JPEG));
        // The same picture from the other camera is stored once.
        expect(trailer!.values.imageRefs).toContain(ref);
    });

    it("stores each camera's plate crop beside its scene, linked to the reading with its role", async () => {
        // Dahua over Digest (the simulator answers the challenge): NormalPic and CutoutPic.
        expect((await front.push({ text: "29C-555.01", confidence: 0.95 })).status).toBe(200);
        // Hikvision: detectionPicture.jpg and licensePlatePicture.jpg.
        expect((await rear.push({ text: "29R-555.02", confidence: 0.93 })).status).toBe(200);
        const read = (text: string) => plates().find((p) => p.values.text === text)?.values;
        const officer = apiSession(gate, "officer");
        for (const text of ["29C-555.01", "29R-555.02"]) {
            const values = read(text);
            expect(values?.images?.map((i) => i.role)).toEqual(["scene", "plate"]);
            const [scene, crop] = values?.images ?? [];
            expect(values?.imageRefs).toEqual([scene?.ref, crop?.ref]);
            const bytes = async (ref: string | undefined) =>
                Buffer.from(await (await officer.fetch(`/api/v1/images/${ref}`)).arrayBuffer());
            // The pictures the simulated camera drew of the plate it read.
            expect(await bytes(scene?.ref)).toEqual(Buffer.from(sceneJpeg(text)));
            expect(await bytes(crop?.ref)).toEqual(Buffer.from(plateJpeg(text)));
        }
    });

    it("answers a repeated push of the same plate with success and stores it once", async () => {
        const before = plates().length;
        await front.push({ text: "51LD-123.45", confidence: 0.9 });
        await front.push({ text: "51LD-123.45", confidence: 0.9 });
        expect(plates().length).toBe(before + 1);
        expect(gate.runtime("cam-front")!.counters.duplicates).toBeGreaterThanOrEqual(1);
    });

    it("refuses a plate of markup with a 400 and stores nothing from it", async () => {
        const before = plates().length;
        const once = new PushCameraSimulator({
            model: "dahua-itsapi-anpr",
            url: gate.addresses.push!,
            username: "cam-front",
            password: "front-password",
            resend: { intervalMs: 50, max: 1 },
        });
        const answer = await once.push({ text: "<script>alert(1)</script>", confidence: 0.9 });
        expect(answer.status).toBe(400);
        expect(answer.body).toContain('"Result":false');
        expect(plates().length).toBe(before);
        expect(gate.runtime("cam-front")!.counters.invalid).toBeGreaterThanOrEqual(1);
    });

    it("refuses a camera with the wrong password (401) and stores nothing", async () => {
        const intruder = new PushCameraSimulator({
            model: "dahua-itsapi-anpr",
            url: gate.addresses.push!,
            username: "cam-front",
            password: "guess",
            resend: { intervalMs: 50, max: 1 },
        });
        const before = plates().length;
        expect((await intruder.push({ text: "29C-999.99", confidence: 0.9 })).status).toBe(401);
        expect(plates().length).toBe(before);
    });
});

describe("image retention", () => {
    it("deletes images not seen within storage.imageRetentionDays", async () => {
        const { ManualClock } = await import("../../src/core/clock.ts");
        const clock = new ManualClock(Date.now());
        const local = tempDir();
        const g = await startGate(
            testConfig(
                local.path,
                "  - id: L1\n    devices:\n      - { id: cam, model: dahua-itsapi-anpr, auth: { username: cam, password: retention-password } }\n",
            ),
            { clock },
        );
        try {
            const camera = new PushCameraSimulator({
                model: "dahua-itsapi-anpr",
                url: g.addresses.push!,
                username: "cam",
                password: "retention-password",
            });
            await camera.push({ text: "29C-111.11", confidence: 0.9, withImages: true });
            const ref = (
                g.log.read(0, 100).find((e) => e.type === "reading.plate")!.data.values as { imageRefs: string[] }
            ).imageRefs[0]!;
            const officer = apiSession(g, "officer");
            expect((await officer.fetch(`/api/v1/images/${ref}`)).status).toBe(200);
            clock.advance(29 * 86_400_000);
            expect(g.housekeeping.pruneImages()).toBe(0);
            clock.advance(2 * 86_400_000);
            expect(g.housekeeping.pruneImages()).toBe(2); // the scene and the plate crop
            // A month on the gate's clock outlives any session: log in again.
            expect((await officer.fetch(`/api/v1/images/${ref}`)).status).toBe(401);
            const again = apiSession(g, "officer", "officer", { now: () => clock.now() });
            expect((await again.fetch(`/api/v1/images/${ref}`)).status).toBe(404);
        } finally {
            await g.stop();
            local.cleanup();
        }
    });
});
