import { describe, expect, it } from "vitest";
import { planYard, type YardTruckResult, YardWatch, yardGroundTruth } from "../../simulators/gate/yard.ts";
import { planScenario, readScenario } from "../../simulators/scenario.ts";
import { EventBus } from "../../src/core/bus.ts";
import type { GateEvent, JsonObject } from "../../src/core/events.ts";
import { parseContainerNumber, parseDeclarationNumber } from "../../src/core/identifiers.ts";
import { testLog } from "../helpers/tmp.ts";

/** A committed event as the yard and the lanes append them (only what the watch reads). */
function committed(seq: number, type: GateEvent["type"], data: JsonObject, extra: Partial<GateEvent> = {}): GateEvent {
    return {
        id: `E${seq}`,
        gateId: "SCN01",
        seq,
        type,
        occurredAt: new Date(Date.UTC(2026, 6, 15, 8, 0, seq)).toISOString(),
        recordedAt: new Date(Date.UTC(2026, 6, 15, 8, 0, seq)).toISOString(),
        data,
        prevHash: "",
        hash: "",
        ...extra,
    };
}

function watchOf(events: GateEvent[]): YardWatch {
    const bus = new EventBus(testLog);
    const watch = new YardWatch(bus, new Set(["cam-exit"]));
    for (const event of events) bus.emit("committed", event);
    return watch;
}

const truck = (index: number, visitId: string, outcome: string): YardTruckResult => ({
    index,
    tractor: `12C-500.0${index}`,
    group: "import",
    goodsClass: "general",
    visitId,
    lane: "L1",
    outcome,
    state: null,
    exitRead: outcome === "RELEASE",
});

const arrived = (seq: number, visitId: string, plate: string) =>
    committed(seq, "visit.arrived", { visitId, plateRead: plate, tractorPlate: plate, laneGroup: "import" });
const called = (seq: number, visitId: string, laneId: string) => committed(seq, "visit.called", { visitId, laneId });
const stage = (seq: number, visitId: string, name: string, data: JsonObject = {}) =>
    committed(seq, "visit.stage", { visitId, stage: name, ...data });

describe("yard run ground truth (simulators/gate/yard.ts)", () => {
    it("a released truck with every stage and its exit read holds; each broken rule is listed", () => {
        const watch = watchOf([
            // V1: released and out through the exit camera, as it must be.
            arrived(1, "V1", "12C50001"),
            called(2, "V1", "L1"),
            stage(3, "V1", "laneEntered", { laneId: "L1", passageId: "P1" }),
            stage(4, "V1", "decided", { decision: "RELEASE", channel: "GREEN" }),
            stage(5, "V1", "released"),
            committed(6, "reading.plate", { values: { normalized: "12C50001" } }, { deviceId: "cam-exit" }),
            stage(7, "V1", "exited", { readingEventId: "E6" }),
            // V2: called to L2 while still called to L1, never decided.
            arrived(8, "V2", "12C50002"),
            called(9, "V2", "L1"),
            called(10, "V2", "L2"),
            // V3: a no-show between two calls is fine; closed by an event no exit camera made.
            arrived(11, "V3", "12C50003"),
            called(12, "V3", "L1"),
            committed(13, "visit.no-show", { visitId: "V3", laneId: "L1" }),
            called(14, "V3", "L2"),
            stage(15, "V3", "laneEntered", { laneId: "L2" }),
            stage(16, "V3", "decided", { decision: "HOLD" }),
            stage(17, "V3", "released"),
            stage(18, "V3", "exited", { readingEventId: "E999" }),
            // L3 closed (PLC off automatic), and V4 called to it meanwhile; reopened after.
            committed(19, "alert.raised", { code: "PLC_NOT_AUTO" }, { laneId: "L3" }),
            arrived(20, "V4", "12C50004"),
            called(21, "V4", "L3"),
            committed(22, "alert.cleared", { code: "PLC_NOT_AUTO" }, { laneId: "L3" }),
        ]);
        expect(watch.visits.get("V1")?.state).toBe("CLOSED");
        expect(watch.closures).toEqual([
            { laneId: "L3", fromSeq: 19, toSeq: 22, callsWhileClosed: [expect.any(String)] },
        ]);
        const violations = yardGroundTruth(watch, [
            truck(1, "V1", "RELEASE"),
            truck(2, "V2", "RELEASE"),
            truck(3, "V3", "HOLD"),
            { ...truck(5, "V5", "RELEASE"), visitId: null },
        ]);
        expect(violations).toEqual([
            "truck 2 (12C-500.02): visit V2 (RELEASE) lacks stage(s) laneEntered, decided, released, exited",
            "truck 2 (12C-500.02): visit V2 released but CALLED, not closed at the exit",
            "truck 3 (12C-500.03): visit V3 (HOLD) closed, though not released",
            "truck 5 (12C-500.05): no visit opened at the yard entry",
            "visit V2: called to L2 (seq 10) while called to L1",
            "visit V3: closed without an exit point camera's read",
            "visit V4 called to L3 at seq 21",
        ]);
    });

    it("every truck of a yard plan has plates, a declaration and a container of its own, papers going its group's way", () => {
        const scenario = readScenario("config/scenarios/fruit-season.yaml");
        if (!scenario.yard) throw new Error("fruit-season has a yard section");
        const { trucks, feed } = planYard(scenario, scenario.yard, planScenario(scenario));
        expect(trucks.length).toBeGreaterThanOrEqual(300);
        expect(new Set(trucks.map((t) => t.truck.tractor)).size).toBe(trucks.length);
        expect(new Set(trucks.map((t) => t.truck.container)).size).toBe(trucks.length);
        for (const { truck: plan, group } of trucks) {
            const parsed = parseDeclarationNumber(plan.declaration);
            expect(parsed.ok, plan.declaration).toBe(true);
            if (parsed.ok && plan.kind !== "unknown-declaration")
                expect(["10", "11"].includes(parsed.typeCode)).toBe(group === "import");
            const container = parseContainerNumber(plan.container ?? "");
            expect(container.ok && container.checkDigitOk, plan.container).toBe(true);
        }
        // Arrivals in time order, the surge's share of perishables well above the morning's.
        const arrivals = trucks.map((t) => t.arrivalMs);
        expect(arrivals).toEqual([...arrivals].sort((a, b) => a - b));
        const share = (from: number, to: number) => {
            const slice = trucks.filter((t) => t.arrivalMs >= from && t.arrivalMs < to);
            return slice.filter((t) => t.goodsClass === "perishable").length / slice.length;
        };
        expect(share(5_400_000, 12_600_000)).toBeGreaterThan(share(0, 5_400_000) + 0.3);
        // Only import trucks come unannounced (the yard entry queues an unknown truck as import).
        const unannounced = trucks.filter((t) => !t.announced);
        expect(unannounced.length).toBeGreaterThan(0);
        expect(unannounced.every((t) => t.group === "import")).toBe(true);
        const preArrivals = feed.filter((item) => item.type === "preArrival");
        expect(preArrivals).toHaveLength(trucks.length - unannounced.length);
    });
});
