import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { plateValues, plcMeaning } from "../../src/ingest/meaning.ts";
import { openDatabase } from "../../src/store/db.ts";
import { ImageStore } from "../../src/store/images.ts";
import { tempDir } from "../helpers/tmp.ts";

const dir = tempDir();
afterAll(() => dir.cleanup());

describe("plateValues", () => {
    it("keeps the raw text, normalises it, and places it by the camera's role", () => {
        const values = plateValues(
            { text: "29C-123.45", confidence: 0.93, countryCode: "VN", images: [] },
            { role: "front" },
            ["sha256:ab"],
        );
        expect(values).toEqual({
            text: "29C-123.45",
            normalized: "29C12345",
            country: "VN",
            valid: true,
            trailer: false,
            misreadKey: expect.any(String),
            confidence: 0.93,
            position: "front",
            imageRefs: ["sha256:ab"],
        });
    });

    it("marks a VN R-series plate seen by the rear camera as a trailer", () => {
        expect(plateValues({ text: "15R-001.23", confidence: 0.8, images: [] }, { role: "rear" }, [])).toMatchObject({
            position: "rear",
            trailer: true,
            text: "15R-001.23",
        });
    });

    it("gives plates that differ only by O/0 or 8/B the same misread key", () => {
        const a = plateValues({ text: "29C-1O3.45", confidence: 0.5, images: [] }, {}, []);
        const b = plateValues({ text: "29C-103.45", confidence: 0.9, images: [] }, {}, []);
        expect(a.misreadKey).toBe(b.misreadKey);
        expect(a.normalized).not.toBe(b.normalized);
    });

    it("clamps confidence into 0–1 and falls back to the camera's country when the pattern says nothing", () => {
        const values = plateValues({ text: "ABC123", confidence: 7, countryCode: "la", images: [] }, {}, []);
        expect(values.confidence).toBe(1);
        expect(values.country).toBe("LA");
    });
});

describe("plcMeaning", () => {
    it("turns loops into presence readings and the barrier state into a barrier reading", () => {
        expect(plcMeaning({ tag: "Loop.Safety.Occupied", occupied: true }, undefined)).toEqual({
            kind: "presence",
            values: { loop: "safety", occupied: true },
        });
        expect(plcMeaning({ tag: "Barrier.State", state: "opening" }, undefined)).toEqual({
            kind: "barrier",
            values: { state: "opening" },
        });
    });

    it("raises and clears alerts for E-stop, barrier faults (with the last fault code) and manual mode", () => {
        expect(plcMeaning({ tag: "EStop.Active", active: true }, undefined)).toMatchObject({
            kind: "alert",
            raised: true,
            code: "ESTOP",
        });
        expect(plcMeaning({ tag: "Barrier.Fault", active: true }, 42)).toMatchObject({
            raised: true,
            message: "barrier fault (code 42)",
        });
        expect(plcMeaning({ tag: "Barrier.Fault", active: false }, 42)).toMatchObject({
            raised: false,
            code: "BARRIER_FAULT",
        });
        expect(plcMeaning({ tag: "PLC.Mode", mode: "manual" }, undefined)).toMatchObject({
            raised: true,
            code: "PLC_NOT_AUTO",
        });
    });

    it("keeps heartbeats and limit switches out of the event log", () => {
        expect(plcMeaning({ tag: "PLC.Heartbeat", value: 12 }, undefined)).toEqual({ kind: "none" });
        expect(plcMeaning({ tag: "Barrier.LimitOpen", active: true }, undefined)).toEqual({ kind: "none" });
    });
});

describe("ImageStore", () => {
    it("stores an image once under the SHA-256 of its bytes, and prunes by retention", async () => {
        const store = new ImageStore(openDatabase(join(dir.path, "images.db")));
        const jpeg = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 0xff, 0xd9]);
        const ref = store.put(jpeg, "image/jpeg", new Date("2026-01-01T00:00:00Z"));
        const { createHash } = await import("node:crypto");
        expect(ref).toBe(`sha256:${createHash("sha256").update(jpeg).digest("hex")}`);
        expect(store.put(jpeg, "image/jpeg", new Date("2026-01-10T00:00:00Z"))).toBe(ref);
        expect(store.count()).toEqual({ images: 1, bytes: jpeg.length });
        expect(store.get(ref)?.bytes).toEqual(jpeg);
        expect(store.get("sha256:nothex")).toBeUndefined();
        expect(store.prune(new Date("2026-01-05T00:00:00Z"))).toBe(0);
        expect(store.prune(new Date("2026-01-11T00:00:00Z"))).toBe(1);
        expect(store.get(ref)).toBeUndefined();
    });
});
