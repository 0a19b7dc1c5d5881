/** Which of a device's readings go urgent (src/ingest/readingPriority.ts). */
import { describe, expect, it } from "vitest";
import { ReadingPriority } from "../../src/ingest/readingPriority.ts";

describe("a device's reading priority", () => {
    it("lets a device at a truck's pace go urgent, and sends a flood in bulk", () => {
        const priority = new ReadingPriority(10, 20);
        // A burst of 20 at once goes urgent; the 21st in the same millisecond does not.
        const burst = Array.from({ length: 21 }, () => priority.mayBeUrgent(1000));
        expect(burst.filter(Boolean)).toHaveLength(20);
        expect(burst.at(-1)).toBe(false);
        // 10 a second refill: one more every 100 ms.
        expect(priority.mayBeUrgent(1050)).toBe(false);
        expect(priority.mayBeUrgent(1150)).toBe(true);
        // A flood at 1,000 a second gets about 10 a second through as urgent.
        let urgent = 0;
        for (let ms = 2000; ms < 3000; ms++) if (priority.mayBeUrgent(ms)) urgent++;
        expect(urgent).toBeGreaterThanOrEqual(9);
        expect(urgent).toBeLessThanOrEqual(21);
    });

    it("keeps a device's order: nothing goes urgent while an earlier event of it waits in bulk", async () => {
        const priority = new ReadingPriority(10, 20);
        let commit: () => void = () => {};
        const appended: string[] = [];
        const waiting = priority.send(false, 1, async (asUrgent) => {
            appended.push(asUrgent ? "urgent" : "bulk");
            await new Promise<void>((resolve) => {
                commit = resolve;
            });
        });
        expect(priority.mayBeUrgent(0)).toBe(false);
        commit();
        await waiting;
        expect(priority.mayBeUrgent(0)).toBe(true);
        // A refused append counts as done too.
        await expect(
            priority.send(false, 2, async () => {
                throw new Error("commit failed");
            }),
        ).rejects.toThrow("commit failed");
        expect(priority.mayBeUrgent(0)).toBe(true);
        expect(appended).toEqual(["bulk"]);
    });
});
