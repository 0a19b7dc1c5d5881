import { describe, expect, it } from "vitest";
import type { WeightValues } from "../../src/core/events.ts";
import { DuplicateReducer, WeightReducer } from "../../src/ingest/reducers.ts";

const frame = (kg: number, stable: boolean, extra: Partial<WeightValues> = {}): WeightValues => ({
    kg,
    stable,
    motion: !stable,
    overload: false,
    underload: false,
    zero: kg === 0,
    net: false,
    ...extra,
});

describe("WeightReducer", () => {
    it("turns a truck driving on and off at 10 frames/s into four readings", () => {
        const reducer = new WeightReducer(1000, 20);
        const emitted: WeightValues[] = [];
        let now = 0;
        const push = (values: WeightValues) => {
            const outcome = reducer.reduce(values, now);
            if (outcome.emit) emitted.push(outcome.values);
            now += 100;
        };
        for (let i = 0; i < 20; i++) push(frame(0, true));
        for (let kg = 2000; kg <= 24000; kg += 2000) push(frame(kg, false));
        for (let i = 0; i < 20; i++) push(frame(24560, true));
        for (let kg = 22000; kg > 0; kg -= 4000) push(frame(kg, false));
        for (let i = 0; i < 20; i++) push(frame(0, true));
        expect(emitted.map((v) => [v.kg, v.stable, v.motion])).toEqual([
            [0, true, false],
            [2000, false, true],
            [24560, true, false],
            [22000, false, true],
            [0, true, false],
        ]);
    });

    it("does not call a weight stable before the settle window passed", () => {
        const reducer = new WeightReducer(1000, 20);
        expect(reducer.reduce(frame(24560, true), 0)).toEqual({ emit: false, why: "settling" });
        expect(reducer.reduce(frame(24560, true), 999)).toEqual({ emit: false, why: "settling" });
        expect(reducer.reduce(frame(24560, true), 1000).emit).toBe(true);
    });

    it("restarts the settle window when a 'stable' frame jumps beyond the tolerance", () => {
        const reducer = new WeightReducer(500, 20);
        reducer.reduce(frame(10000, true), 0);
        reducer.reduce(frame(10010, true), 300);
        expect(reducer.reduce(frame(12000, true), 600)).toEqual({ emit: false, why: "settling" });
        expect(reducer.reduce(frame(12000, true), 1100)).toMatchObject({
            emit: true,
            values: { kg: 12000, stable: true },
        });
    });

    it("reports overload once, then the recovery", () => {
        const reducer = new WeightReducer(0, 20);
        expect(reducer.reduce(frame(0, true), 0).emit).toBe(true);
        expect(reducer.reduce(frame(0, false, { overload: true, motion: false }), 100)).toMatchObject({
            emit: true,
            values: { overload: true, stable: false },
        });
        expect(reducer.reduce(frame(0, false, { overload: true, motion: false }), 200).emit).toBe(false);
        expect(reducer.reduce(frame(30000, true), 300)).toMatchObject({
            emit: true,
            values: { overload: false, kg: 30000 },
        });
    });
});

describe("DuplicateReducer", () => {
    it("stores the first read and counts repeats within the window", () => {
        const reducer = new DuplicateReducer<string>(3000, (value) => value);
        expect(reducer.reduce("101234567820", 0).emit).toBe(true);
        expect(reducer.reduce("101234567820", 500)).toEqual({ emit: false, why: "duplicate" });
        expect(reducer.reduce("CSQU3054383", 600).emit).toBe(true);
        expect(reducer.reduce("101234567820", 3100).emit).toBe(true);
    });
});
