import { describe, expect, it } from "vitest";
import type { FaultRecord } from "../../simulators/gate/faults.ts";
import { ProgressBar } from "../../simulators/gate/progress.ts";
import { truckVerdict, verdictCounts } from "../../simulators/gate/report.ts";

/** The scale of lane L1 unplugged from 1 s into the run, for 20 s. */
function unplugged(ended: boolean): FaultRecord {
    return {
        kind: "scale-unplugged",
        lane: "L1",
        scheduledAtMs: 1000,
        forMs: 20_000,
        injected: true,
        detail: "scale-l1 unplugged",
        startedAtMs: 1000,
        ...(ended && { endedAtMs: 21_000, recoveredAtMs: 22_000 }),
        lanes: ["L1"],
        graceMs: 3000,
    };
}

const heldTruck = { lane: "L1", expect: "RELEASE", actual: "HOLD", startMs: 15_000, endMs: 19_000 } as const;
const releasedTruck = { lane: "L1", expect: "RELEASE", actual: "RELEASE", startMs: 2000, endMs: 6000 } as const;
const wrongTruck = { lane: "L2", expect: "RELEASE", actual: "HOLD", startMs: 15_000, endMs: 19_000 } as const;

describe("a scenario truck's verdict: the progress line and the report count alike", () => {
    it("a truck held while its lane's fault still goes on is held under a fault, not wrong, during the run", () => {
        expect(truckVerdict(heldTruck, [unplugged(false)])).toEqual({
            verdict: "held-under-fault",
            faults: ["scale-unplugged"],
        });
        // And at the end, when the report judges it with the fault ended.
        expect(truckVerdict(heldTruck, [unplugged(true)]).verdict).toBe("held-under-fault");
        // A hold in a lane the fault did not touch is wrong, during the run and at its end.
        expect(truckVerdict(wrongTruck, [unplugged(false)]).verdict).toBe("mismatch");
        expect(truckVerdict(wrongTruck, [unplugged(true)]).verdict).toBe("mismatch");
    });

    it("the progress line shows the report's three counts", () => {
        const written: string[] = [];
        const bar = new ProgressBar({ write: (text: string) => written.push(text) }, 0, false);
        const trucks = [heldTruck, releasedTruck, wrongTruck].map((truck) => truckVerdict(truck, [unplugged(false)]));
        bar.update({ done: 3, total: 3, ...verdictCounts(trucks), queues: {}, faultsInjected: 1, faultsTotal: 1 });
        expect(written.join("")).toContain("3/3 trucks · ok 1 · held under a fault 1 · wrong 1 ·");
    });
});
