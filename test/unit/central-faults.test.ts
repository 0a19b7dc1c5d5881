/**
 * The central simulator's pure parts: the fault text form and list validation, the order / probability /
 * times rules of the fault plan, reject-rule validation and matching, and the event check (hash and shape)
 * against events hashed the way the edge hashes them.
 */
import { describe, expect, it } from "vitest";
import { checkEvent, matchRejectRule, validateRejectRules } from "../../simulators/central/events.ts";
import { describeFault, FaultPlan, parseFaultText, validateFaults } from "../../simulators/central/faults.ts";
import { seededRng } from "../../simulators/random.ts";
import { canonicalJson, chainHash, GENESIS_HASH } from "../../src/core/canonical.ts";
import { isGateError } from "../../src/core/errors.ts";
import type { GateEvent } from "../../src/core/events.ts";
import { hashedPart } from "../../src/store/eventLog.ts";

describe("fault text form", () => {
    it("parses the forms the CLI help shows", () => {
        expect(parseFaultText("status:503:p=0.1")).toEqual({ kind: "status", code: 503, probability: 0.1 });
        expect(parseFaultText("status:503:retryAfter=2")).toEqual({ kind: "status", code: 503, retryAfterS: 2 });
        expect(parseFaultText("rateLimit:retryAfter=2")).toEqual({ kind: "rateLimit", retryAfterS: 2 });
        expect(parseFaultText("rateLimit:5")).toEqual({ kind: "rateLimit", retryAfterS: 5 });
        expect(parseFaultText("lostResponse:times=3")).toEqual({ kind: "lostResponse", times: 3 });
        expect(parseFaultText("slowDrip:chunk=64:interval=50")).toEqual({
            kind: "slowDrip",
            chunkBytes: 64,
            intervalMs: 50,
        });
        expect(parseFaultText("latency:250:on=all")).toEqual({ kind: "latency", ms: 250, on: "all" });
        expect(parseFaultText("down:for=5000")).toEqual({ kind: "down", forMs: 5000 });
        expect(parseFaultText("reset")).toEqual({ kind: "reset" });
        expect(parseFaultText("unauthorized:times=1:on=clearance")).toEqual({
            kind: "unauthorized",
            times: 1,
            on: "clearance",
        });
    });

    it("round-trips through describeFault", () => {
        for (const text of ["status:502:retryAfter=1:p=0.5:times=2", "slowDrip:chunk=8:interval=10:on=all", "down"]) {
            const spec = parseFaultText(text);
            expect(parseFaultText(describeFault(spec))).toEqual(spec);
        }
    });

    it("refuses bad forms with a usage error that says why", () => {
        const cases: Array<[string, RegExp]> = [
            ["explode", /unknown fault kind/],
            ["status:404", /500, 502, 503, 504/],
            ["status:503:p=2", /probability/],
            ["rateLimit", /retryAfterS: is required/],
            ["reset:5", /key=value/],
            ["lostResponse:times=0", /times/],
            ["slowDrip:chunk=64", /intervalMs: is required/],
            ["latency:fast", /must be a number/],
            ["latency:10:on=admin", /on: must be one of/],
            ["latency:10:colour=red", /colour: unknown/],
            ["status:503:code=502", /given twice/],
        ];
        for (const [text, why] of cases) {
            let caught: unknown;
            try {
                parseFaultText(text);
            } catch (err) {
                caught = err;
            }
            expect(isGateError(caught, "SIMULATOR_USAGE"), text).toBe(true);
            expect((caught as Error).message, text).toMatch(why);
        }
    });

    it("validates a JSON list, naming every bad field by its index", () => {
        expect(() => validateFaults({ kind: "reset" })).toThrow(/JSON array/);
        try {
            validateFaults([{ kind: "reset" }, { kind: "status", code: 418 }, { kind: "latency" }, "down"]);
            expect.unreachable();
        } catch (err) {
            expect(isGateError(err, "SIMULATOR_USAGE")).toBe(true);
            expect(isGateError(err) && err.details).toEqual([
                "[1].code: must be one of 500, 502, 503, 504",
                "[2].ms: is required",
                "[3]: must be an object with a kind",
            ]);
        }
    });
});

describe("fault plan", () => {
    it("lets the first matching spec that fires decide, by route", () => {
        const plan = new FaultPlan([
            { kind: "status", code: 504, on: "clearance" },
            { kind: "rateLimit", retryAfterS: 1, on: "all" },
            { kind: "status", code: 503 },
        ]);
        expect(plan.pick("events")?.kind).toBe("rateLimit");
        expect(plan.pick("clearance")).toMatchObject({ kind: "status", code: 504 });
        expect(plan.counts).toMatchObject({ rateLimit: 1, status: 1, reset: 0 });
    });

    it("expires a spec after `times` firings and falls through to the next", () => {
        const plan = new FaultPlan([
            { kind: "lostResponse", times: 2 },
            { kind: "latency", ms: 5, times: 1 },
        ]);
        expect(plan.list()).toEqual([
            { kind: "lostResponse", times: 2, left: 2 },
            { kind: "latency", ms: 5, times: 1, left: 1 },
        ]);
        expect([plan.pick("events"), plan.pick("events"), plan.pick("events"), plan.pick("events")]).toEqual([
            { kind: "lostResponse", times: 2 },
            { kind: "lostResponse", times: 2 },
            { kind: "latency", ms: 5, times: 1 },
            undefined,
        ]);
        expect(plan.list()).toEqual([]);
    });

    it("fires with the given probability, repeatably with a seed; times counts firings, not rolls", () => {
        const fired = (seed: number) => {
            const plan = new FaultPlan([{ kind: "reset", probability: 0.3 }], seededRng(seed));
            return Array.from({ length: 1000 }, () => plan.pick("events") !== undefined);
        };
        const run = fired(42);
        const rate = run.filter(Boolean).length / run.length;
        expect(rate).toBeGreaterThan(0.25);
        expect(rate).toBeLessThan(0.35);
        expect(fired(42)).toEqual(run);

        const limited = new FaultPlan([{ kind: "reset", probability: 0.5, times: 3 }], seededRng(1));
        let firings = 0;
        for (let i = 0; i < 200; i++) if (limited.pick("events")) firings++;
        expect(firings).toBe(3);
        expect(new FaultPlan([{ kind: "reset", probability: 0 }]).pick("events")).toBeUndefined();
    });
});

describe("reject rules", () => {
    const event = { id: "E1", seq: 1, laneId: "L1", type: "alert.raised", hash: "", json: "" };

    it("matches when every given list matches", () => {
        const rules = validateRejectRules([
            { types: ["alert.raised"], laneIds: ["L2"], reason: "lane 2 alerts" },
            { ids: ["E1"], reason: "this one" },
        ]);
        expect(matchRejectRule(rules, event)?.reason).toBe("this one");
        expect(matchRejectRule(rules, { ...event, id: "E2" })).toBeUndefined();
        expect(matchRejectRule(rules, { ...event, id: "E2", laneId: "L2" })?.reason).toBe("lane 2 alerts");
        expect(matchRejectRule([{ reason: "central refuses everything" }], event)?.reason).toBe(
            "central refuses everything",
        );
    });

    it("refuses rules without a reason, with unknown keys or with lists that are not lists of strings", () => {
        expect(() => validateRejectRules({})).toThrow(/JSON array/);
        try {
            validateRejectRules([{ types: [], reason: "x" }, { ids: ["a"] }, { reason: "y", seqs: [1] }]);
            expect.unreachable();
        } catch (err) {
            expect(isGateError(err) && err.details).toEqual([
                "[0].types: must be a non-empty list of strings",
                "[1].reason: must be a non-empty string",
                "[2].seqs: unknown property",
            ]);
        }
    });
});

describe("event check", () => {
    function hashed(partial: Omit<GateEvent, "hash">): GateEvent {
        return { ...partial, hash: chainHash(partial.prevHash, partial) };
    }
    const base = hashed({
        id: "01JX0000000000000000000000",
        gateId: "HN01",
        seq: 7,
        laneId: "L1",
        type: "reading.weight",
        occurredAt: "2026-11-22T08:00:00.000Z",
        recordedAt: "2026-11-22T08:00:00.001Z",
        data: { values: { kg: 24_560, stable: true }, note: 'é "quoted"', list: [1, { b: 2, a: 1 }] },
        prevHash: GENESIS_HASH,
    });

    it("accepts an event hashed as the edge hashes it, and stores JSON that parses back to it", () => {
        const wire = JSON.parse(JSON.stringify(base));
        const result = checkEvent(wire, 0, "HN01");
        expect(result.ok).toBe(true);
        if (!result.ok) return;
        expect(result.event).toMatchObject({
            id: base.id,
            seq: 7,
            laneId: "L1",
            type: "reading.weight",
            hash: base.hash,
        });
        expect(JSON.parse(result.event.json)).toEqual(wire);
        // The stored bytes after the hash are the canonical bytes the hash covers.
        expect(result.event.json.endsWith(canonicalJson(hashedPart(base)).slice(1))).toBe(true);
        // Without the optional members too.
        const bare = hashed({ ...hashedPart(base), laneId: undefined, deviceId: undefined });
        expect(checkEvent(JSON.parse(JSON.stringify(bare)), 0, "HN01")).toMatchObject({
            ok: true,
            event: { laneId: null },
        });
    });

    it("rejects a changed member of every kind with a reason", () => {
        const cases: Array<[Record<string, unknown>, RegExp]> = [
            [{ data: { ...base.data, note: "changed" } }, /hash mismatch/],
            [{ seq: 8 }, /hash mismatch/],
            [{ prevHash: "1".repeat(64) }, /hash mismatch/],
            [{ hash: base.hash.toUpperCase() }, /hash must be 64 lowercase/],
            [{ seq: 0 }, /seq must be a positive integer/],
            [{ seq: 1.5 }, /seq/],
            [{ gateId: "MC02" }, /does not match the gate in the path/],
            [{ occurredAt: "yesterday" }, /occurredAt/],
            [{ recordedAt: undefined }, /recordedAt/],
            [{ data: [1] }, /data must be an object/],
            [{ laneId: 3 }, /laneId/],
            [{ type: "" }, /type/],
            [{ class: 2 }, /unknown member "class"/],
        ];
        for (const [change, why] of cases) {
            const result = checkEvent({ ...base, ...change }, 4, "HN01");
            expect(result, JSON.stringify(change)).toMatchObject({
                ok: false,
                id: base.id,
                reason: expect.stringMatching(why),
            });
        }
        expect(checkEvent(null, 4, "HN01")).toEqual({ ok: false, id: "#4", reason: "events[4] is not an object" });
    });
});
