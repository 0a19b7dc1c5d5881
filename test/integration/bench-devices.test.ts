/**
 * The devices benchmark runs through (a few samples): every measurement it reports was taken, against the
 * real simulators and a real gate. Its figures are for BENCHMARKS.md, not asserted here.
 */
import { afterEach, expect, it } from "vitest";
import { benchDevices } from "../bench/devices.ts";

const samplesBefore = process.env.BENCH_SAMPLES;
afterEach(() => {
    if (samplesBefore === undefined) delete process.env.BENCH_SAMPLES;
    else process.env.BENCH_SAMPLES = samplesBefore;
});

it("takes every measurement: the push camera is let in, the ONVIF event and the barrier command arrive", async () => {
    process.env.BENCH_SAMPLES = "5";
    const result = (await benchDevices(() => undefined)) as { rows: { name: string; samples: number }[] };
    expect(result.rows.map((row) => row.name)).toEqual([
        "push (Dahua JSON + JPEG) → committed → {Result:true}",
        expect.stringContaining("raw"),
        "ONVIF plate event queued → long poll → committed",
        "barrier open written → opening seen on the subscription",
        expect.stringContaining("raw node-opcua"),
    ]);
    for (const row of result.rows) expect(row.samples, row.name).toBeGreaterThan(0);
}, 120_000);
