import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Reading } from "../../src/core/events.ts";
import { normalizePlate } from "../../src/core/identifiers.ts";
import { LaneCorrelator, type LaneOutput } from "../../src/lane/correlator.ts";
import type { DecisionRecord, PassageFacts } from "../../src/lane/types.ts";
import { plateValues } from "../helpers/readings.ts";

/**
 * A simulated lane: 2–3 trucks, each arriving on the entry loop, read in a random order (with random
 * duplicates), and leaving through the barrier only if the correlator opened it for its passage (else
 * reversing out). Truck k+1 arrives once truck k has left the entry loop, so its reads can come while truck
 * k is still exiting. A random scheduler interleaves everything that may happen next.
 */

const LANE = "lane-1";
const T0 = Date.UTC(2026, 0, 1, 8);
const REQUIRED = ["plate", "declaration", "weight", "seal"] as const;

interface Truck {
    front: string;
    rear: string;
    declaration: string;
    sealId: string;
    tampered: boolean;
    kg: number;
    /** Indices (0–4) of reads that are sent twice. */
    duplicates: number[];
}

const base = { laneId: LANE, observedAt: T0 };

function plate(text: string, position: "front" | "rear"): Reading {
    return { ...base, deviceId: `cam-${position}`, kind: "plate", values: plateValues(text, position, 0.9) };
}

function weight(kg: number): Reading {
    return {
        ...base,
        deviceId: "scale",
        kind: "weight",
        values: { kg, stable: true, motion: false, overload: false, underload: false, zero: kg === 0, net: false },
    };
}

const loop = (which: "entry" | "exit", occupied: boolean): Reading => ({
    ...base,
    deviceId: "plc",
    kind: "presence",
    values: { loop: which, occupied },
});
const barrier = (state: "open" | "closed"): Reading => ({
    ...base,
    deviceId: "plc",
    kind: "barrier",
    values: { state },
});

function readsOf(truck: Truck): Reading[] {
    return [
        plate(truck.front, "front"),
        plate(truck.rear, "rear"),
        {
            ...base,
            deviceId: "scanner",
            kind: "scan",
            values: {
                symbology: "]Q1",
                payload: truck.declaration,
                parsed: {
                    type: "declaration",
                    number: truck.declaration,
                    base: truck.declaration.slice(0, 11),
                    typeCode: "10",
                    amendment: 0,
                },
            },
        },
        {
            ...base,
            deviceId: "seal-reader",
            kind: "seal",
            values: {
                sealId: truck.sealId,
                type: "ISO18185",
                status: truck.tampered ? "TAMPERED" : "SEALED",
                alerts: [],
            },
        },
        weight(truck.kg),
    ];
}

/** The rules as far as this property cares: a broken seal or a missing read holds. */
function decide(facts: PassageFacts): DecisionRecord {
    const fail = facts.timedOut.length > 0 || facts.seals.some((seal) => seal.status !== "SEALED");
    return {
        decision: fail ? "HOLD" : "RELEASE",
        results: [],
        ...(fail && { decidingRule: "stub" }),
        ruleSetVersion: "test",
        clearanceVersion: "test",
        offline: false,
        fourEyes: false,
    };
}

const truckArb = (index: number): fc.Arbitrary<Truck> =>
    fc.record({
        front: fc.constant(`51C-${100 + index}.${10 + index}`),
        rear: fc.constant(`51R-0${10 + index}.${20 + index}`),
        declaration: fc.constant(`10601234${5670 + index * 11}`),
        sealId: fc.constant(`SEAL${index}`),
        tampered: fc.boolean(),
        kg: fc.integer({ min: 8000, max: 40_000 }),
        duplicates: fc.subarray([0, 1, 2, 3, 4]),
    });

interface Observed {
    opened: Set<string>;
    facts: Map<string, PassageFacts>;
    decided: Map<string, number>;
    completed: Map<string, string>;
    openBarrier: Set<string>;
}

function observe(observed: Observed, outputs: LaneOutput[]): void {
    for (const output of outputs) {
        if (output.type === "passage.opened") {
            expect(observed.opened.has(output.passageId)).toBe(false);
            observed.opened.add(output.passageId);
        }
        if ("facts" in output) observed.facts.set(output.passageId, output.facts);
        if (output.type === "passage.decided") {
            observed.decided.set(output.passageId, (observed.decided.get(output.passageId) ?? 0) + 1);
        }
        if (output.type === "passage.completed") observed.completed.set(output.passageId, output.outcome);
        if (output.type === "command" && output.command === "open-barrier") observed.openBarrier.add(output.passageId);
    }
}

function simulate(trucks: Truck[], choices: number[], steps: number[]): Observed {
    const observed: Observed = {
        opened: new Set(),
        facts: new Map(),
        decided: new Map(),
        completed: new Map(),
        openBarrier: new Set(),
    };
    let next = 0;
    const correlator = new LaneCorrelator({
        laneId: LANE,
        direction: "IN",
        devices: [
            { id: "cam-front", kind: "plate", role: "front" },
            { id: "cam-rear", kind: "plate", role: "rear" },
            { id: "scanner", kind: "scan" },
            { id: "seal-reader", kind: "seal" },
            { id: "scale", kind: "weight" },
            { id: "plc", kind: "plc" },
        ],
        requiredReads: [...REQUIRED],
        decide,
        newPassageId: () => `p${++next}`,
    });
    const plates = trucks.map((truck) => [truck.front, truck.rear].map((text) => normalizePlate(text).normalized));
    const passageOf = (k: number): string | undefined =>
        [...observed.facts].find(([, facts]) =>
            facts.plateReads.some((read) => plates[k]?.includes(read.normalized)),
        )?.[0];

    const state = trucks.map((truck) => ({
        arrived: false,
        leftEntry: false,
        pool: [] as Reading[],
        reads: readsOf(truck),
        departure: undefined as Reading[] | undefined,
        done: false,
    }));
    let now = T0;
    let step = 0;
    let stalls = 0;
    const send = (reading: Reading) => {
        now += steps[step % steps.length] ?? 0;
        step++;
        observe(observed, correlator.onReading(reading, now));
        observe(observed, correlator.tick(now));
    };

    while (state.some((truck) => !truck.done)) {
        const enabled: (() => void)[] = [];
        state.forEach((truck, k) => {
            const previous = state[k - 1];
            if (!truck.arrived) {
                if (!previous || previous.leftEntry) {
                    enabled.push(() => {
                        truck.arrived = true;
                        truck.pool = [...truck.reads];
                        send(loop("entry", true));
                    });
                }
                return;
            }
            truck.pool.forEach((reading, index) => {
                enabled.push(() => {
                    truck.pool.splice(index, 1);
                    const original = truck.reads.indexOf(reading);
                    if (original >= 0 && trucks[k]?.duplicates.includes(original)) truck.pool.push({ ...reading });
                    send(reading);
                });
            });
            if (truck.pool.length > 0 || truck.done) return;
            if (truck.departure === undefined) {
                const passageId = passageOf(k);
                if (!passageId || !observed.decided.has(passageId) || (previous && !previous.done)) return;
                truck.departure = observed.openBarrier.has(passageId)
                    ? [
                          barrier("open"),
                          loop("exit", true),
                          weight(0),
                          loop("entry", false),
                          loop("exit", false),
                          barrier("closed"),
                      ]
                    : [weight(0), loop("entry", false)];
            }
            const departure = truck.departure;
            enabled.push(() => {
                const reading = departure.shift();
                if (reading) send(reading);
                if (reading?.kind === "presence" && reading.values.loop === "entry") truck.leftEntry = true;
                if (departure.length === 0) truck.done = true;
            });
        });
        if (enabled.length === 0) {
            // Waiting for a decision: let the timeouts run.
            stalls++;
            expect(stalls).toBeLessThan(5);
            now += 31_000;
            observe(observed, correlator.tick(now));
            continue;
        }
        stalls = 0;
        const choice = choices[step % choices.length] ?? 0;
        enabled[choice % enabled.length]?.();
    }
    observe(observed, correlator.tick(now + 1_000_000));
    expect(correlator.state).toBe("IDLE");
    return observed;
}

describe("LaneCorrelator with interleaved trucks", () => {
    it("Should never merge trucks, decide every passage once and never open for a failing truck", () => {
        const scenario = fc.integer({ min: 2, max: 3 }).chain((count) =>
            fc.record({
                trucks: fc.tuple(...Array.from({ length: count }, (_, index) => truckArb(index))),
                choices: fc.array(fc.nat(), { minLength: 1, maxLength: 60 }),
                // Mostly quick reads; now and then a slow one that lets a timeout decide with reads still to come.
                steps: fc.array(
                    fc.oneof(
                        { weight: 9, arbitrary: fc.integer({ min: 0, max: 1500 }) },
                        { weight: 1, arbitrary: fc.integer({ min: 5000, max: 25_000 }) },
                    ),
                    { minLength: 1, maxLength: 20 },
                ),
            }),
        );
        fc.assert(
            fc.property(scenario, ({ trucks, choices, steps }) => {
                const observed = simulate(trucks, choices, steps);
                const plates = trucks.map((truck) =>
                    [truck.front, truck.rear].map((text) => normalizePlate(text).normalized),
                );
                const trucksSeen = new Set<number>();
                for (const passageId of observed.opened) {
                    const facts = observed.facts.get(passageId)!;
                    const owners = new Set(
                        facts.plateReads.map((read) => plates.findIndex((pair) => pair.includes(read.normalized))),
                    );
                    // Never merged: every plate of a passage is one truck's; every seal and declaration too.
                    expect(owners.size).toBeLessThanOrEqual(1);
                    const [owner] = [...owners];
                    if (owner !== undefined) {
                        const truck = trucks[owner]!;
                        expect(trucksSeen.has(owner)).toBe(false);
                        trucksSeen.add(owner);
                        expect(facts.seals.every((seal) => seal.sealId === truck.sealId)).toBe(true);
                        expect(facts.declarations.every((number) => number === truck.declaration)).toBe(true);
                        if (truck.tampered) expect(observed.openBarrier.has(passageId)).toBe(false);
                    }
                    const decisions = observed.decided.get(passageId) ?? 0;
                    if (decisions === 0) {
                        const hadRequired =
                            facts.plateReads.length + facts.declarations.length + facts.seals.length > 0 ||
                            facts.grossKg !== undefined;
                        expect(hadRequired).toBe(false);
                        expect(observed.completed.get(passageId)).toBe("turned-back");
                    } else {
                        expect(decisions).toBe(1);
                    }
                    expect(observed.completed.has(passageId)).toBe(true);
                }
                expect(trucksSeen.size).toBe(trucks.length);
            }),
            { numRuns: 300 },
        );
    });
});
