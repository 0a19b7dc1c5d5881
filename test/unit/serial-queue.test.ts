import { describe, expect, it } from "vitest";
import type { GateEvent } from "../../src/core/events.ts";
import { forEachEventAfter, SerialQueue } from "../../src/core/serialQueue.ts";

describe("SerialQueue", () => {
    it("runs jobs one after another in order, a failed one reported and the next still run", async () => {
        const errors: unknown[] = [];
        const queue = new SerialQueue((err) => errors.push(err));
        const ran: string[] = [];
        queue.enqueue(async () => {
            await new Promise((resolve) => setTimeout(resolve, 20));
            ran.push("slow");
        });
        queue.enqueue(() => {
            throw new Error("boom");
        });
        const answer = queue.run(async () => {
            ran.push("asked");
            return 42;
        });
        queue.enqueue(() => void ran.push("last"));
        expect(await answer).toBe(42);
        await queue.settled();
        expect(ran).toEqual(["slow", "asked", "last"]);
        expect(errors).toHaveLength(1);
        await expect(queue.run(() => Promise.reject(new Error("to the caller")))).rejects.toThrow("to the caller");
        await queue.settled();
        expect(errors).toHaveLength(1);
    });
});

describe("forEachEventAfter", () => {
    it("hands every event after the cursor up to the head, a chunk at a time, in order", async () => {
        const log = Array.from({ length: 23 }, (_, index) => ({ seq: index + 1 }) as GateEvent);
        const reads: number[] = [];
        const seen: number[] = [];
        await forEachEventAfter(
            {
                headSeq: () => 23,
                read: (after, limit) => {
                    reads.push(after);
                    return log.filter((event) => event.seq > after).slice(0, limit);
                },
            },
            5,
            7,
            (event) => void seen.push(event.seq),
        );
        expect(seen).toEqual(Array.from({ length: 18 }, (_, index) => index + 6));
        expect(reads).toEqual([5, 12, 19]);
    });
});
