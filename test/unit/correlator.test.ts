import { describe, expect, it } from "vitest";
import { isGateError } from "../../src/core/errors.ts";
import type { BarrierValues, PresenceValues, Reading, SealStatus } from "../../src/core/events.ts";
import {
    LaneCorrelator,
    type LaneCorrelatorOptions,
    type LaneOutput,
    type OfficerActionRequest,
} from "../../src/lane/correlator.ts";
import type { DecisionRecord, PassageFacts } from "../../src/lane/types.ts";
import { declarationScanValues, plateValues } from "../helpers/readings.ts";

const LANE = "lane-1";
const T0 = Date.UTC(2026, 0, 1, 8);

const DEVICES = [
    { id: "cam-front", kind: "plate", role: "front" },
    { id: "cam-rear", kind: "plate", role: "rear" },
    { id: "scanner", kind: "scan" },
    { id: "seal-reader", kind: "seal" },
    { id: "scale", kind: "weight" },
    { id: "plc", kind: "plc" },
];

function plate(text: string, position: "front" | "rear", confidence = 0.95, laneId = LANE): Reading {
    return {
        deviceId: position === "front" ? "cam-front" : "cam-rear",
        laneId,
        kind: "plate",
        observedAt: T0,
        values: plateValues(text, position, confidence),
    };
}

function declaration(number: string): Reading {
    return {
        deviceId: "scanner",
        laneId: LANE,
        kind: "scan",
        observedAt: T0,
        values: declarationScanValues(number),
    };
}

function containerScan(number: string): Reading {
    return {
        deviceId: "scanner",
        laneId: LANE,
        kind: "scan",
        observedAt: T0,
        values: { symbology: "]C0", payload: number, parsed: { type: "container", number, checkDigitOk: true } },
    };
}

function seal(sealId: string, status: SealStatus = "SEALED"): Reading {
    return {
        deviceId: "seal-reader",
        laneId: LANE,
        kind: "seal",
        observedAt: T0,
        values: { sealId, type: "ISO18185", status, alerts: [] },
    };
}

function weight(kg: number, stable = true): Reading {
    return {
        deviceId: "scale",
        laneId: LANE,
        kind: "weight",
        observedAt: T0,
        values: {
            kg,
            stable,
            motion: !stable,
            overload: false,
            underload: false,
            zero: kg === 0,
            net: false,
        },
    };
}

function loop(which: PresenceValues["loop"], occupied: boolean): Reading {
    return { deviceId: "plc", laneId: LANE, kind: "presence", observedAt: T0, values: { loop: which, occupied } };
}

function barrier(state: BarrierValues["state"]): Reading {
    return { deviceId: "plc", laneId: LANE, kind: "barrier", observedAt: T0, values: { state } };
}

function record(decision: DecisionRecord["decision"], reason = "", fourEyes = false): DecisionRecord {
    const failing = decision === "RELEASE" ? [] : [{ rule: "stub", pass: false, reason, severity: decision }];
    return {
        decision,
        results: failing.map((result) => ({ ...result, severity: decision === "RELEASE" ? "HOLD" : decision })),
        ...(decision !== "RELEASE" && { decidingRule: "stub" }),
        ruleSetVersion: "test",
        clearanceVersion: "test",
        offline: false,
        fourEyes,
    };
}

/** Holds what the rules would hold: timeouts, offline devices, seals that are not SEALED. */
function stubDecide(facts: PassageFacts): DecisionRecord {
    if (facts.timedOut.length > 0) return record("HOLD", `missing reads: ${facts.timedOut.join(", ")}`);
    if (facts.devicesOffline.length > 0) return record("HOLD", "a device was offline");
    if (facts.seals.some((s) => s.status !== "SEALED")) return record("REJECT", "seal broken");
    return record("RELEASE");
}

function lane(overrides: Partial<LaneCorrelatorOptions> = {}) {
    let next = 0;
    const decided: PassageFacts[] = [];
    const decide = overrides.decide ?? stubDecide;
    const correlator = new LaneCorrelator({
        laneId: LANE,
        direction: "IN",
        devices: DEVICES,
        requiredReads: ["plate", "declaration", "weight", "seal"],
        newPassageId: () => `p${++next}`,
        ...overrides,
        decide: (facts, now) => {
            decided.push(facts);
            return decide(facts, now);
        },
    });
    return { correlator, decided };
}

const types = (outputs: LaneOutput[]) => outputs.map((o) => o.type);
const states = (outputs: LaneOutput[]) => outputs.flatMap((o) => (o.type === "state" ? [o.state] : []));
const commands = (outputs: LaneOutput[]) => outputs.flatMap((o) => (o.type === "command" ? [o.command] : []));
const alerts = (outputs: LaneOutput[]) => outputs.flatMap((o) => (o.type === "alert" ? [o.code] : []));

function feed(correlator: LaneCorrelator, readings: Reading[], now = T0): LaneOutput[] {
    return readings.flatMap((reading) => correlator.onReading(reading, now));
}

/** A truck that arrives and is fully read; returns the outputs. */
function arrive(correlator: LaneCorrelator, sealStatus: SealStatus = "SEALED", now = T0): LaneOutput[] {
    return feed(
        correlator,
        [
            loop("entry", true),
            plate("51C-123.45", "front"),
            plate("51R-012.34", "rear"),
            declaration("106012345670"),
            seal("SEAL1", sealStatus),
            weight(24_560),
        ],
        now,
    );
}

function officer(
    passageId: string,
    action: OfficerActionRequest["action"],
    officerId = "off-1",
    role = "officer",
): OfficerActionRequest {
    return { passageId, action, reasonCode: "DOCS_OK", officerId, role, now: T0 + 5000 };
}

function expectBadRequest(fn: () => unknown, reason: RegExp): void {
    let caught: unknown;
    try {
        fn();
    } catch (err) {
        caught = err;
    }
    expect(isGateError(caught, "API_BAD_REQUEST")).toBe(true);
    expect((caught as Error).message).toMatch(reason);
}

describe("LaneCorrelator", () => {
    it("Should take a clean truck from the entry loop through release to closed", () => {
        const { correlator, decided } = lane();
        const opened = correlator.onReading(loop("entry", true), T0);
        expect(types(opened)).toEqual(["passage.opened", "state"]);
        expect(states(opened)).toEqual(["VEHICLE_PRESENT"]);

        const front = correlator.onReading(plate("51C-123.45", "front"), T0 + 1000);
        expect(states(front)).toEqual(["IDENTIFYING"]);
        expect(front.at(-1)).toMatchObject({ type: "passage.updated", state: "IDENTIFYING" });
        const reads = feed(
            correlator,
            [plate("51R-012.34", "rear"), declaration("106012345670"), seal("SEAL1")],
            T0 + 2000,
        );
        expect(states(reads)).toEqual(["WEIGHING"]);
        expect(correlator.state).toBe("WEIGHING");

        const weighed = correlator.onReading(weight(24_560), T0 + 3000);
        expect(states(weighed)).toEqual(["DECIDING", "RELEASED"]);
        expect(commands(weighed)).toEqual(["light-green", "open-barrier"]);
        expect(alerts(weighed)).toEqual([]);
        const decision = weighed.find((o) => o.type === "passage.decided");
        expect(decision).toMatchObject({ passageId: "p1", decision: { decision: "RELEASE" } });
        expect(decided).toHaveLength(1);
        const facts = decided[0]!;
        // A rear R-series plate is the trailer: kept as the rear plate, not treated as another truck.
        expect(facts.frontPlate?.normalized).toBe("51C12345");
        expect(facts.rearPlate).toMatchObject({ normalized: "51R01234", trailer: true });
        expect(facts).toMatchObject({
            declarations: ["106012345670"],
            grossKg: 24_560,
            timedOut: [],
            devicesOffline: [],
            openedAt: T0,
        });

        expect(states(correlator.onReading(barrier("open"), T0 + 5000))).toEqual(["EXITING"]);
        expect(correlator.onReading(loop("entry", false), T0 + 6000)).toEqual([]);
        expect(correlator.onReading(loop("exit", true), T0 + 7000)).toEqual([]);
        const closed = correlator.onReading(loop("exit", false), T0 + 9000);
        expect(closed).toEqual([
            { type: "passage.completed", passageId: "p1", outcome: "exited" },
            { type: "state", state: "CLOSED", passageId: "p1" },
            { type: "state", state: "IDLE" },
        ]);
        expect(correlator.snapshot()).toEqual({ state: "IDLE" });
        expect(correlator.onReading(barrier("closed"), T0 + 12_000)).toEqual([]);
    });

    it("Should close the passage when the barrier closes behind the truck", () => {
        const { correlator } = lane();
        arrive(correlator);
        correlator.onReading(barrier("open"), T0);
        correlator.onReading(barrier("closing"), T0 + 1000);
        expect(types(correlator.onReading(barrier("closed"), T0 + 2000))).toContain("passage.completed");
    });

    it("Should ignore duplicate reads and keep the best plate per position", () => {
        const { correlator } = lane();
        feed(correlator, [loop("entry", true), plate("51C-123.45", "front", 0.7)]);
        const repeats = feed(correlator, [
            loop("entry", true),
            plate("51C-123.45", "front", 0.7),
            plate("51C 12345", "front", 0.6),
        ]);
        expect(repeats).toEqual([]);

        // The same text read better, and an O/0 misread: both kept, the best confidence wins.
        feed(correlator, [plate("51C-123.45", "front", 0.9), plate("51C-I23.45", "front", 0.5)]);
        feed(correlator, [declaration("106012345670"), seal("SEAL1"), containerScan("MSCU1234566")]);
        expect(
            feed(correlator, [
                declaration("106012345670"),
                seal("SEAL1"),
                containerScan("MSCU1234566"),
                weight(0),
                weight(12_000, false),
            ]),
        ).toEqual([]);
        const snapshot = correlator.snapshot();
        expect(snapshot.passage?.facts.plateReads.map((p) => [p.normalized, p.confidence])).toEqual([
            ["51C12345", 0.7],
            ["51C12345", 0.9],
            ["51CI2345", 0.5],
        ]);
        expect(snapshot.passage?.facts.frontPlate?.confidence).toBe(0.9);
        expect(snapshot.passage?.facts.containers).toEqual([{ number: "MSCU1234566", checkDigitOk: true }]);
        // The rear camera has not read yet: still identifying.
        expect(snapshot.state).toBe("IDENTIFYING");
    });

    it("Should record a late read without deciding again, and alert on a seal tampered after the decision", () => {
        const { correlator, decided } = lane();
        arrive(correlator);
        expect(correlator.state).toBe("RELEASED");

        const late = correlator.onReading(declaration("106012345681"), T0 + 100);
        expect(types(late)).toEqual(["passage.updated"]);
        expect(late[0]).toMatchObject({ state: "RELEASED", facts: { declarations: ["106012345670", "106012345681"] } });

        expect(correlator.onReading(weight(30_000), T0 + 200)).toEqual([]);
        expect(correlator.snapshot().passage?.facts.grossKg).toBe(24_560);

        const tampered = correlator.onReading(seal("SEAL1", "TAMPERED"), T0 + 300);
        expect(alerts(tampered)).toEqual(["SEAL_TAMPERED_AFTER_DECISION"]);
        expect(types(tampered)).not.toContain("passage.decided");
        expect(commands(tampered)).toEqual([]);
        expect(alerts(correlator.onEStop(true, T0 + 400))).toEqual(["ESTOP_DURING_PASSAGE"]);
        expect(correlator.onEStop(false, T0 + 500)).toEqual([]);
        expect(decided).toHaveLength(1);
        expect(correlator.snapshot().passage?.decision?.decision).toBe("RELEASE");
    });

    it("Should decide at the identify timeout with the missing reads timed out", () => {
        const { correlator } = lane();
        feed(correlator, [loop("entry", true), plate("51C-123.45", "front"), plate("51R-012.34", "rear")]);
        expect(correlator.tick(T0 + 19_999)).toEqual([]);
        const out = correlator.tick(T0 + 20_000);
        const decided = out.find((o) => o.type === "passage.decided");
        expect(decided?.facts.timedOut).toEqual(["declaration", "weight", "seal"]);
        expect(states(out)).toEqual(["DECIDING", "HELD"]);
        expect(commands(out)).toEqual(["light-red"]);
        expect(alerts(out)).toEqual(["PASSAGE_HELD"]);
        expect(out.find((o) => o.type === "alert")).toMatchObject({
            message: "passage p1: missing reads: declaration, weight, seal",
        });
        expect(correlator.tick(T0 + 40_000)).toEqual([]);
    });

    it("Should measure timeouts on the monotonic clock, so a wall-clock step of an hour changes nothing", () => {
        let elapsed = 0;
        const { correlator } = lane({ monotonic: () => elapsed });
        feed(correlator, [loop("entry", true), plate("51C-123.45", "front"), plate("51R-012.34", "rear")]);
        // The wall clock is stepped forward an hour, then back two: no time has passed for the lane.
        expect(correlator.tick(T0 + 3_600_000)).toEqual([]);
        expect(correlator.tick(T0 - 3_600_000)).toEqual([]);
        elapsed = 19_999;
        expect(correlator.tick(T0 - 3_580_001)).toEqual([]);
        elapsed = 20_000;
        const out = correlator.tick(T0 - 3_580_000);
        expect(out.find((o) => o.type === "passage.decided")?.facts.timedOut).toEqual([
            "declaration",
            "weight",
            "seal",
        ]);
    });

    it("Should wait for the weight until the weigh timeout", () => {
        const { correlator } = lane();
        feed(correlator, [
            loop("entry", true),
            plate("51C-123.45", "front"),
            plate("51R-012.34", "rear"),
            declaration("106012345670"),
            seal("SEAL1"),
        ]);
        expect(correlator.tick(T0 + 20_000)).toEqual([]);
        expect(correlator.state).toBe("WEIGHING");
        const out = correlator.tick(T0 + 30_000);
        expect(out.find((o) => o.type === "passage.decided")?.facts.timedOut).toEqual(["weight"]);
        expect(correlator.state).toBe("HELD");
    });

    it("Should stop waiting for a rear plate at the identify timeout when the front camera has read", () => {
        const { correlator } = lane();
        feed(correlator, [
            loop("entry", true),
            plate("51C-123.45", "front"),
            declaration("106012345670"),
            seal("SEAL1"),
            weight(24_560),
        ]);
        expect(correlator.state).toBe("IDENTIFYING");
        const out = correlator.tick(T0 + 20_000);
        expect(out.find((o) => o.type === "passage.decided")?.facts.timedOut).toEqual([]);
        expect(correlator.state).toBe("RELEASED");
    });

    it("Should move to WEIGHING when the rear plate wait ends without a weight", () => {
        const { correlator } = lane();
        feed(correlator, [loop("entry", true), plate("51C-123.45", "front"), declaration("106012345670")]);
        feed(correlator, [seal("SEAL1")]);
        expect(states(correlator.tick(T0 + 20_000))).toEqual(["WEIGHING"]);
    });

    it("Should raise EXIT_TIMEOUT once when a released truck does not leave", () => {
        const { correlator } = lane();
        arrive(correlator, "SEALED", T0);
        expect(correlator.tick(T0 + 59_999)).toEqual([]);
        expect(alerts(correlator.tick(T0 + 60_000))).toEqual(["EXIT_TIMEOUT"]);
        correlator.onReading(barrier("open"), T0 + 61_000);
        expect(correlator.tick(T0 + 70_000)).toEqual([]);
        expect(correlator.state).toBe("EXITING");
    });

    it("Should record a device going offline mid-passage and alert", () => {
        const { correlator } = lane();
        feed(correlator, [loop("entry", true), plate("51C-123.45", "front")]);
        expect(correlator.onDeviceStatus("unknown-device", "offline", T0)).toEqual([]);
        expect(correlator.onDeviceStatus("scale", "degraded", T0)).toEqual([]);
        const out = correlator.onDeviceStatus("scale", "offline", T0 + 1000);
        expect(alerts(out)).toEqual(["DEVICE_OFFLINE_MID_PASSAGE"]);
        expect(out.at(-1)).toMatchObject({ type: "passage.updated", facts: { devicesOffline: ["scale"] } });
        expect(correlator.onDeviceStatus("scale", "offline", T0 + 2000)).toEqual([]);
        const decided = feed(correlator, [
            plate("51R-012.34", "rear"),
            declaration("106012345670"),
            seal("SEAL1"),
            weight(24_000),
        ]);
        expect(decided.find((o) => o.type === "passage.decided")?.decision.decision).toBe("HOLD");
        expect(commands(decided)).not.toContain("open-barrier");
    });

    it("Should list a device already offline when the passage opens, without a mid-passage alert", () => {
        const { correlator } = lane();
        expect(
            correlator.onReading(
                { deviceId: "cam-rear", laneId: LANE, kind: "device", observedAt: T0, values: { status: "offline" } },
                T0,
            ),
        ).toEqual([]);
        const out = correlator.onReading(loop("entry", true), T0);
        expect(out[0]).toMatchObject({ type: "passage.opened", facts: { devicesOffline: ["cam-rear"] } });
        expect(alerts(out)).toEqual([]);
    });

    it("Should release a held truck on an officer's release", () => {
        const { correlator } = lane({ decide: () => record("HOLD", "declaration not cleared") });
        arrive(correlator);
        expect(correlator.state).toBe("HELD");
        const out = correlator.officerAction(officer("p1", "release"));
        expect(commands(out)).toEqual(["light-green", "open-barrier"]);
        expect(states(out)).toEqual(["RELEASED"]);
        correlator.onReading(barrier("open"), T0 + 6000);
        correlator.onReading(loop("exit", true), T0 + 7000);
        expect(correlator.onReading(loop("exit", false), T0 + 8000)[0]).toEqual({
            type: "passage.completed",
            passageId: "p1",
            outcome: "exited",
        });
    });

    it("Should need a supervisor other than the requester for a four-eyes release", () => {
        const { correlator } = lane({ decide: () => record("INSPECT", "RED channel", true) });
        const decided = arrive(correlator);
        expect(alerts(decided)).toEqual(["PASSAGE_INSPECT"]);
        expect(correlator.state).toBe("INSPECTION");

        expect(correlator.officerAction(officer("p1", "release", "off-1"))).toEqual([
            { type: "approval.required", passageId: "p1", requestedBy: "off-1" },
        ]);
        expectBadRequest(() => correlator.officerAction(officer("p1", "release", "off-1")), /may not approve/);
        expectBadRequest(() => correlator.officerAction(officer("p1", "release", "off-2")), /supervisor/);
        expect(correlator.state).toBe("INSPECTION");
        const out = correlator.officerAction(officer("p1", "release", "sup-1", "supervisor"));
        expect(commands(out)).toEqual(["light-green", "open-barrier"]);
        expect(correlator.state).toBe("RELEASED");
    });

    it("Should refuse a supervisor approving their own four-eyes request", () => {
        const { correlator } = lane({ decide: () => record("HOLD", "watch list", true) });
        arrive(correlator);
        correlator.officerAction(officer("p1", "release", "sup-1", "supervisor"));
        expectBadRequest(
            () => correlator.officerAction(officer("p1", "release", "sup-1", "supervisor")),
            /may not approve/,
        );
        expect(commands(correlator.officerAction(officer("p1", "release", "sup-2", "supervisor")))).toContain(
            "open-barrier",
        );
    });

    it("Should divert a held truck and complete it as diverted once it has left", () => {
        const { correlator } = lane({ decide: () => record("HOLD", "plate mismatch") });
        arrive(correlator);
        const out = correlator.officerAction(officer("p1", "divert"));
        expect(commands(out)).toEqual(["light-red"]);
        expect(alerts(out)).toEqual(["PASSAGE_INSPECT"]);
        expect(correlator.state).toBe("INSPECTION");
        expect(correlator.officerAction(officer("p1", "divert"))).toEqual([]);
        expect(correlator.officerAction(officer("p1", "confirm"))).toEqual([]);
        // Still on the scale: not gone yet.
        expect(correlator.onReading(loop("entry", false), T0 + 6000)).toEqual([]);
        expect(correlator.onReading(weight(0), T0 + 9000)[0]).toEqual({
            type: "passage.completed",
            passageId: "p1",
            outcome: "diverted",
        });
    });

    it("Should complete a rejected truck as turned back when it reverses off the lane", () => {
        const { correlator } = lane();
        const out = arrive(correlator, "TAMPERED");
        expect(alerts(out)).toEqual(["PASSAGE_REJECTED"]);
        expect(commands(out)).toEqual(["light-red"]);
        correlator.onReading(weight(0), T0 + 1000);
        expect(correlator.onReading(loop("entry", false), T0 + 2000)[0]).toMatchObject({ outcome: "turned-back" });
    });

    it("Should hold a truck an officer held before it was decided, and answer a hold after the release as too late", () => {
        const { correlator } = lane();
        feed(correlator, [loop("entry", true), plate("51C-123.45", "front")]);
        expect(correlator.officerAction(officer("p1", "hold"))).toEqual([]);
        const out = feed(correlator, [
            plate("51R-012.34", "rear"),
            declaration("106012345670"),
            seal("S1"),
            weight(9000),
        ]);
        expect(out.find((o) => o.type === "passage.decided")?.decision.decision).toBe("RELEASE");
        expect(commands(out)).toEqual(["light-red"]);
        expect(correlator.state).toBe("HELD");

        const second = lane();
        feed(second.correlator, [loop("entry", true), plate("51C-123.45", "front")]);
        second.correlator.officerAction(officer("p1", "divert"));
        arrive(second.correlator);
        expect(second.correlator.state).toBe("INSPECTION");

        // Released: the barrier open is commanded and gate-edge never commands a close, so a hold cannot
        // stop the truck here: no red light, the passage stays released, the truck is flagged and alerted.
        const third = lane();
        arrive(third.correlator);
        const held = third.correlator.officerAction(officer("p1", "hold"));
        expect(commands(held)).toEqual([]);
        expect(types(held)).toEqual(["action.too-late", "alert"]);
        expect(held[0]).toMatchObject({ late: { action: "hold", asked: "HOLD", because: "open-commanded" } });
        expect(alerts(held)).toEqual(["PASSAGE_ACTION_TOO_LATE"]);
        expect(third.correlator.state).toBe("RELEASED");
    });

    it("Should refuse invalid officer actions with a reason", () => {
        const { correlator } = lane();
        expectBadRequest(() => correlator.officerAction(officer("p9", "release")), /unknown passage p9/);
        feed(correlator, [loop("entry", true), plate("51C-123.45", "front")]);
        expectBadRequest(() => correlator.officerAction(officer("p1", "release")), /not decided/);
        expectBadRequest(() => correlator.officerAction(officer("p1", "confirm")), /not decided/);
        expectBadRequest(
            () => correlator.officerAction({ ...officer("p1", "hold"), reasonCode: " " }),
            /reason code is required/,
        );
        feed(correlator, [plate("51R-012.34", "rear"), declaration("106012345670"), seal("S1"), weight(9000)]);
        expectBadRequest(() => correlator.officerAction(officer("p1", "release")), /already released/);
        correlator.onReading(barrier("open"), T0);
        const leaving = correlator.officerAction(officer("p1", "hold"));
        expect(leaving[0]).toMatchObject({ type: "action.too-late", late: { because: "barrier-open" } });
        correlator.onReading(barrier("closed"), T0);
        expectBadRequest(() => correlator.officerAction(officer("p1", "release")), /passage p1 is closed/);
        const left = correlator.officerAction(officer("p1", "divert"));
        expect(left[0]).toMatchObject({ type: "action.too-late", late: { because: "left", asked: "INSPECT" } });
    });

    it("Should alert on tailgating and keep the follower's reads for its own passage", () => {
        const { correlator, decided } = lane();
        arrive(correlator);
        correlator.onReading(barrier("open"), T0 + 1000);
        correlator.onReading(loop("entry", false), T0 + 2000);
        const follower = correlator.onReading(loop("entry", true), T0 + 3000);
        expect(alerts(follower)).toEqual(["TAILGATING"]);
        const plateB = feed(
            correlator,
            [plate("29C-555.55", "front"), declaration("106099999990"), seal("SEAL9"), weight(18_000)],
            T0 + 4000,
        );
        // One alert per follower; nothing of truck B lands in truck A's passage.
        expect(plateB).toEqual([]);
        // A late read of truck A's own plate while it exits is still its own.
        expect(types(correlator.onReading(plate("51R-012.34", "rear", 0.99), T0 + 4500))).toEqual(["passage.updated"]);
        expect(correlator.snapshot().passage?.facts.plateReads.map((p) => p.normalized)).toEqual([
            "51C12345",
            "51R01234",
            "51R01234",
        ]);

        correlator.onReading(loop("exit", true), T0 + 5000);
        const closed = correlator.onReading(loop("exit", false), T0 + 6000);
        expect(types(closed).slice(0, 5)).toEqual(["passage.completed", "state", "state", "passage.opened", "state"]);
        expect(closed.find((o) => o.type === "passage.opened")).toMatchObject({
            passageId: "p2",
            facts: { openedAt: T0 + 4000 },
        });
        const facts = correlator.snapshot().passage?.facts;
        expect(facts?.plateReads.map((p) => p.normalized)).toEqual(["29C55555"]);
        expect(facts?.seals.map((s) => s.sealId)).toEqual(["SEAL9"]);
        expect(facts?.grossKg).toBe(18_000);
        expect(correlator.state).toBe("IDENTIFYING");
        expect(decided).toHaveLength(1);
    });

    it("Should treat a plate of another truck after the decision as the next vehicle's", () => {
        const { correlator } = lane({ decide: () => record("HOLD", "x") });
        arrive(correlator);
        expect(correlator.onReading(plate("29C-555.55", "front"), T0 + 1000)).toEqual([]);
        expect(alerts(correlator.onReading(barrier("open"), T0 + 1500))).toEqual([]);
        correlator.onReading(weight(0), T0 + 2000);
        correlator.onReading(barrier("closed"), T0 + 2500);
        const out = correlator.onReading(loop("entry", false), T0 + 3000);
        expect(types(out)).toContain("passage.completed");
        expect(out.find((o) => o.type === "passage.opened")).toBeDefined();
        expect(correlator.snapshot().passage?.facts.frontPlate?.normalized).toBe("29C55555");
    });

    it("Should open a passage from a plate with no loop, and close a false trigger without a decision", () => {
        const { correlator, decided } = lane();
        expect(types(correlator.onReading(plate("51C-123.45", "front"), T0))).toEqual([
            "passage.opened",
            "state",
            "state",
            "passage.updated",
        ]);

        const other = lane();
        other.correlator.onReading(loop("entry", true), T0);
        expect(other.correlator.onReading(loop("entry", false), T0 + 500)).toEqual([
            { type: "passage.completed", passageId: "p1", outcome: "turned-back" },
            { type: "state", state: "CLOSED", passageId: "p1" },
            { type: "state", state: "IDLE" },
        ]);
        expect(decided).toHaveLength(0);
        expect(other.decided).toHaveLength(0);
    });

    it("Should hold a passage whose rules throw", () => {
        const { correlator } = lane({
            decide: () => {
                throw new Error("clearance cache broken");
            },
        });
        const out = arrive(correlator);
        expect(alerts(out)).toEqual(["DECIDE_FAILED", "PASSAGE_HELD"]);
        expect(commands(out)).toEqual(["light-red"]);
        expect(out.find((o) => o.type === "passage.decided")?.decision).toMatchObject({
            decision: "HOLD",
            decidingRule: "rules-evaluated",
        });
    });

    it("Should ignore other lanes' readings and a seal or weight with no truck in the lane", () => {
        const { correlator } = lane();
        expect(correlator.onReading(plate("51C-123.45", "front", 0.9, "lane-2"), T0)).toEqual([]);
        expect(feed(correlator, [seal("S1"), weight(20_000), barrier("open"), loop("exit", true)])).toEqual([]);
        expect(correlator.tick(T0 + 100_000)).toEqual([]);
        expect(correlator.onEStop(true, T0)).toEqual([]);
        expect(correlator.state).toBe("IDLE");
    });

    it("Should decide at once when no reads are required and apply timeout defaults", () => {
        const { correlator } = lane({ requiredReads: [], timeouts: { exitMs: 1000 } });
        const out = correlator.onReading(loop("entry", true), T0);
        expect(commands(out)).toEqual(["light-green", "open-barrier"]);
        expect(alerts(correlator.tick(T0 + 1000))).toEqual(["EXIT_TIMEOUT"]);
    });
});
