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
        // 10 a second refill the bucket: a read 50 ms later is still over the pace, one 300 ms after that is not.
        expect(priority.mayBeUrgent(1050)).toBe(false);
        expect(priority.mayBeUrgent(1350)).toBe(true);
        // A flood at 1,000 a second: after its burst, nothing of it goes urgent.
        let urgent = 0;
        for (let ms = 10_000; ms < 12_000; ms++) if (priority.mayBeUrgent(ms)) urgent++;
        expect(urgent).toBe(20);
        for (let ms = 12_000; ms < 13_000; ms++) expect(priority.mayBeUrgent(ms)).toBe(false);
        // Back at a truck's pace (one read a second), it is trusted again within a few seconds.
        const calm = Array.from({ length: 8 }, (_, s) => priority.mayBeUrgent(14_000 + s * 1000));
        expect(calm.slice(-4)).toEqual([true, true, true, true]);
    });

    it("by default lets a truck's few reads through at once (6), and 2 a second after", () => {
        const priority = new ReadingPriority();
        expect(Array.from({ length: 8 }, () => priority.mayBeUrgent(0)).filter(Boolean)).toHaveLength(6);
        // A scale's ramp, ten readings a second, goes in bulk.
        const ramp = Array.from({ length: 30 }, (_, i) => priority.mayBeUrgent(1000 + i * 100));
        expect(ramp.filter(Boolean).length).toBeLessThanOrEqual(1);
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
