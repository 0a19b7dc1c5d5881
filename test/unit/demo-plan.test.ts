import { describe, expect, it } from "vitest";
import { DEMO_HELD_TRUCK_WAIT_MS, demoPreArrival, demoTruckPlan } from "../../simulators/demo.ts";
import { loadConfig } from "../../src/config/load.ts";
import { validatePreArrivals } from "../../src/yard/preArrival.ts";

describe("the demo's trucks", () => {
    it("wait at the closed barrier for minutes, so an officer can act on the red and yellow trucks", () => {
        // Lane 1's second truck is the red-channel one, lane 2's second the yellow (config/clearance-demo.yaml).
        const red = demoTruckPlan(0, 2);
        const yellow = demoTruckPlan(1, 2);
        expect(red.declaration).toBe("100001234540");
        expect(yellow.declaration).toBe("301234567820");
        expect(DEMO_HELD_TRUCK_WAIT_MS).toBeGreaterThanOrEqual(3 * 60_000);
        expect(red.barrierWaitMs).toBe(DEMO_HELD_TRUCK_WAIT_MS);
        expect(yellow.barrierWaitMs).toBe(DEMO_HELD_TRUCK_WAIT_MS);
    });

    it("wait as long as the demo is told to", () => {
        expect(demoTruckPlan(0, 2, { heldTruckWaitMs: 5000 }).barrierWaitMs).toBe(5000);
    });

    it("come round again, every fifth with a tampered seal", () => {
        expect(demoTruckPlan(0, 3).declaration).toBe(demoTruckPlan(0, 1).declaration);
        expect([1, 2, 3, 4, 5].map((truck) => demoTruckPlan(0, truck).tampered)).toEqual([
            false,
            false,
            false,
            false,
            true,
        ]);
    });

    it("are announced in their lane's group, each visit a new valid record", () => {
        const groups = loadConfig("config/demo.yaml").yard?.laneGroups ?? {};
        const first = ["L1", "L2"].map((laneId, index) =>
            demoPreArrival(laneId, groups[laneId] ?? "import", demoTruckPlan(index, 1), 1),
        );
        expect(first).toMatchObject([
            { preArrivalId: "DEMO-L1-1", tractorPlate: "15C-123.45", laneGroup: "import", goodsClass: "perishable" },
            {
                preArrivalId: "DEMO-L2-1",
                tractorPlate: "14C-301.72",
                laneGroup: "export",
                transportPermit: "VN-CN 2026-0042",
            },
        ]);
        const later = demoPreArrival("L1", "import", demoTruckPlan(0, 2), 2);
        expect(validatePreArrivals([...first, later])).toEqual([...first, later]);
        expect(later).toMatchObject({ preArrivalId: "DEMO-L1-2", tractorPlate: "15C-888.10", goodsClass: "general" });
    });
});
