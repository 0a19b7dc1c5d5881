import { createHash } from "node:crypto";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ManualClock } from "../../src/core/clock.ts";
import type { GateEvent, GateEventDraft } from "../../src/core/events.ts";
import { REJECTED_INPUT_LIMITS, RejectedInputKeeper } from "../../src/ingest/rejectedInput.ts";
import { testLog } from "../helpers/tmp.ts";

/** An event sink that keeps what it is given; `failing` makes appends reject, as a store that failed. */
function memorySink() {
    const drafts: GateEventDraft[] = [];
    const sink = {
        failing: false,
        append(draft: GateEventDraft): Promise<GateEvent> {
            if (sink.failing) return Promise.reject(new Error("disk gone"));
            drafts.push(draft);
            // The keeper reads nothing back from the stored event.
            return Promise.resolve({} as GateEvent);
        },
    };
    return { sink, drafts };
}

function keeper() {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const { sink, drafts } = memorySink();
    const clock = new ManualClock();
    const keep = new RejectedInputKeeper({
        sink,
        clock,
        log: testLog,
        device: { id: "seal-1", laneId: "L1" },
        model: "eseal-mqtt-json",
    });
    /** Time passes for the clock and the timers alike; resolves once what a timer started is stored. */
    const pass = async (ms: number) => {
        clock.advance(ms);
        await vi.advanceTimersByTimeAsync(ms);
    };
    const summaries = () => drafts.filter((draft) => draft.data.overLimit === true);
    const kept = () => drafts.filter((draft) => draft.data.raw !== undefined);
    return { keep, sink, drafts, pass, summaries, kept };
}

describe("rejected input kept as evidence", () => {
    afterEach(() => {
        vi.useRealTimers();
    });

    it("keeps a message's reason, channel, length, SHA-256 and first 4 KiB; the hash and length are of the whole", async () => {
        const { keep, drafts } = keeper();
        const payload = Buffer.alloc(10_000, 0x41);
        expect(await keep.keep(payload, "payload of 10000 bytes is over the 4096-byte limit", "seal")).toBe("kept");
        expect(drafts).toHaveLength(1);
        expect(drafts[0]).toMatchObject({
            type: "input.rejected",
            deviceId: "seal-1",
            laneId: "L1",
            data: {
                count: 1,
                channel: "seal",
                bytes: 10_000,
                rawBytes: REJECTED_INPUT_LIMITS.rawBytesKept,
                sha256: createHash("sha256").update(payload).digest("hex"),
                model: "eseal-mqtt-json",
            },
        });
        expect(Buffer.from(String(drafts[0]?.data.raw), "base64")).toEqual(
            payload.subarray(0, REJECTED_INPUT_LIMITS.rawBytesKept),
        );
    });

    it("keeps at most keptPerWindow a window; the rest are counted and the count is stored, at most every summaryEveryMs", async () => {
        const { keep, pass, summaries, kept } = keeper();
        const outcomes: string[] = [];
        for (let i = 0; i < 500; i++) outcomes.push(await keep.keep(Buffer.from(`{"n":${i}}`), "unknown seal status"));
        expect(outcomes.filter((outcome) => outcome === "kept")).toHaveLength(REJECTED_INPUT_LIMITS.keptPerWindow);
        expect(kept()).toHaveLength(REJECTED_INPUT_LIMITS.keptPerWindow);
        // The first count is stored at once, later ones wait for the interval.
        await pass(0);
        await pass(REJECTED_INPUT_LIMITS.summaryEveryMs);
        const stored = summaries();
        expect(stored.reduce((sum, draft) => sum + Number(draft.data.count), 0)).toBe(
            500 - REJECTED_INPUT_LIMITS.keptPerWindow,
        );
        expect(stored.at(-1)?.data.reasons).toMatchObject({ "unknown seal status": expect.any(Number) });
        // A minute on, the window is new: messages are kept again.
        await pass(REJECTED_INPUT_LIMITS.windowMs);
        expect(await keep.keep(Buffer.from("{}"), "unknown seal status")).toBe("kept");
    });

    it("bounds the raw bytes kept per window as well as the number of messages", async () => {
        const { keep, kept } = keeper();
        const large = Buffer.alloc(REJECTED_INPUT_LIMITS.rawBytesKept, 0x20);
        for (let i = 0; i < REJECTED_INPUT_LIMITS.keptPerWindow; i++) await keep.keep(large, "not UTF-8 JSON");
        const keptBytes = kept().reduce((sum, draft) => sum + Number(draft.data.rawBytes), 0);
        expect(keptBytes).toBeLessThanOrEqual(REJECTED_INPUT_LIMITS.keptBytesPerWindow);
        expect(kept().length).toBe(Math.floor(REJECTED_INPUT_LIMITS.keptBytesPerWindow / large.length));
    });

    it("stores what is counted when the device goes, and a count the store refused with the next summary", async () => {
        const { keep, sink, pass, summaries } = keeper();
        for (let i = 0; i < REJECTED_INPUT_LIMITS.keptPerWindow + 3; i++) await keep.keep(Buffer.from("x"), "bad");
        sink.failing = true;
        await pass(0);
        expect(summaries()).toHaveLength(0);
        sink.failing = false;
        await keep.keep(Buffer.from("y"), "other");
        await keep.flush();
        expect(summaries()).toMatchObject([{ data: { count: 4, reasons: { bad: 3, other: 1 } } }]);
    });
});
