import { describe, expect, it } from "vitest";
import { TurnBudget } from "../../src/ingest/turnBudget.ts";

/** A loop whose turns the test ends by hand. */
function manualTurns() {
    let pending: (() => void)[] = [];
    return {
        schedule: (callback: () => void) => pending.push(callback),
        endTurn: async () => {
            const due = pending;
            pending = [];
            for (const callback of due) callback();
            await new Promise((resolve) => setImmediate(resolve));
        },
    };
}

describe("TurnBudget", () => {
    it("starts at most perTurn jobs a turn, the rest in later turns, in arrival order", async () => {
        const turns = manualTurns();
        const budget = new TurnBudget(2, turns.schedule);
        const started: number[] = [];
        const results = [1, 2, 3, 4, 5].map((n) =>
            budget.run(async () => {
                started.push(n);
                return n * 10;
            }),
        );
        expect(started).toEqual([1, 2]);
        expect(budget.queued).toBe(3);
        await turns.endTurn();
        expect(started).toEqual([1, 2, 3, 4]);
        await turns.endTurn();
        expect(started).toEqual([1, 2, 3, 4, 5]);
        expect(await Promise.all(results)).toEqual([10, 20, 30, 40, 50]);
        expect(budget.queued).toBe(0);
    });

    it("never lets a new job pass one that waits, and passes a job's failure to its caller", async () => {
        const turns = manualTurns();
        const budget = new TurnBudget(1, turns.schedule);
        const started: string[] = [];
        void budget.run(async () => started.push("a"));
        const failed = budget
            .run(async () => {
                started.push("b");
                throw new Error("store closed");
            })
            .catch((err: unknown) => err);
        await turns.endTurn();
        // The budget is fresh, but "c" comes after "b", which took this turn's slot.
        void budget.run(async () => started.push("c"));
        expect(started).toEqual(["a", "b"]);
        expect(String(await failed)).toBe("Error: store closed");
        await turns.endTurn();
        expect(started).toEqual(["a", "b", "c"]);
    });

    it("runs on the real event loop with setImmediate", async () => {
        const budget = new TurnBudget(3);
        const done = await Promise.all(Array.from({ length: 10 }, (_, i) => budget.run(async () => i)));
        expect(done).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    });
});
