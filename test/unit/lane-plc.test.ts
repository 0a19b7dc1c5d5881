/**
 * The lane PLC model: the tag map matches domain.md §6 and decode checks the JS type and range of every
 * monitored value, answering invalid (never throwing) for whatever the network delivers.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { nodeIdFor, PLC_TAGS, definition as plc } from "../../devices/lane-plc-opcua.ts";
import type { PlcTag } from "../../devices/types.ts";

/** Good values per tag and the signal each decodes to (undefined: a write tag, ignored). */
const GOOD: ReadonlyArray<[PlcTag, unknown, object | undefined]> = [
    ["Barrier.State", 0, { tag: "Barrier.State", state: "closed" }],
    ["Barrier.State", 1, { tag: "Barrier.State", state: "opening" }],
    ["Barrier.State", 2, { tag: "Barrier.State", state: "open" }],
    ["Barrier.State", 3, { tag: "Barrier.State", state: "closing" }],
    ["Barrier.State", 4, { tag: "Barrier.State", state: "stopped" }],
    ["Barrier.State", 5, { tag: "Barrier.State", state: "fault" }],
    ["Barrier.LimitOpen", true, { tag: "Barrier.LimitOpen", active: true }],
    ["Barrier.LimitClosed", false, { tag: "Barrier.LimitClosed", active: false }],
    ["Barrier.Fault", true, { tag: "Barrier.Fault", active: true }],
    ["Barrier.FaultCode", 0, { tag: "Barrier.FaultCode", value: 0 }],
    ["Barrier.FaultCode", 4_294_967_295, { tag: "Barrier.FaultCode", value: 4_294_967_295 }],
    ["Loop.Entry.Occupied", true, { tag: "Loop.Entry.Occupied", occupied: true }],
    ["Loop.Safety.Occupied", false, { tag: "Loop.Safety.Occupied", occupied: false }],
    ["Loop.Exit.Occupied", true, { tag: "Loop.Exit.Occupied", occupied: true }],
    ["EStop.Active", false, { tag: "EStop.Active", active: false }],
    ["PLC.Heartbeat", 123_456, { tag: "PLC.Heartbeat", value: 123_456 }],
    ["PLC.Mode", 0, { tag: "PLC.Mode", mode: "auto" }],
    ["PLC.Mode", 1, { tag: "PLC.Mode", mode: "manual" }],
    ["PLC.Mode", 2, { tag: "PLC.Mode", mode: "maintenance" }],
    ["Barrier.CmdOpen", true, undefined],
    ["Light.Entry", 2, undefined],
    ["Light.Exit", 4, undefined],
    ["Watchdog.Heartbeat", 17, undefined],
];

const BAD: ReadonlyArray<[PlcTag, unknown]> = [
    ["Barrier.State", 7],
    ["Barrier.State", -1],
    ["Barrier.State", 1.5],
    ["Barrier.State", "open"],
    ["Barrier.State", Number.NaN],
    ["Barrier.State", null],
    ["Barrier.State", undefined],
    ["Barrier.LimitOpen", "true"],
    ["Barrier.LimitClosed", 1],
    ["Barrier.Fault", null],
    ["Barrier.FaultCode", -1],
    ["Barrier.FaultCode", 4_294_967_296],
    ["Barrier.FaultCode", true],
    ["Loop.Entry.Occupied", "false"],
    ["Loop.Safety.Occupied", 0],
    ["Loop.Exit.Occupied", [true]],
    ["EStop.Active", {}],
    ["PLC.Heartbeat", Number.POSITIVE_INFINITY],
    ["PLC.Heartbeat", 10n],
    ["PLC.Mode", 3],
    ["PLC.Mode", "auto"],
    ["Barrier.CmdOpen", "yes"],
    ["Light.Entry", 5],
    ["Light.Exit", Number.NaN],
    ["Watchdog.Heartbeat", -5],
];

describe("lane-plc-opcua model", () => {
    it("Should map every tag of domain.md §6 to a lane-prefixed string node id in one namespace", () => {
        expect(PLC_TAGS).toHaveLength(15);
        for (const tag of PLC_TAGS) {
            expect(plc.tags[tag].nodeId).toBe(`ns=1;s={lane}.${tag}`);
            expect(nodeIdFor(plc, tag, "L2")).toBe(`ns=1;s=L2.${tag}`);
        }
        const writes = PLC_TAGS.filter((tag) => plc.tags[tag].access === "write").sort();
        expect(writes).toEqual(["Barrier.CmdOpen", "Light.Entry", "Light.Exit", "Watchdog.Heartbeat"]);
        expect(plc.tags["Barrier.State"].dataType).toBe("Int32");
        expect(plc.tags["PLC.Heartbeat"].dataType).toBe("UInt32");
        expect(plc.tags["Watchdog.Heartbeat"].dataType).toBe("UInt32");
        expect(plc.tags["Loop.Safety.Occupied"].dataType).toBe("Boolean");
        expect(plc.lightCodes).toEqual({ off: 0, red: 1, green: 2, yellow: 3, flashing: 4 });
    });

    it("Should have no close command in its write set", () => {
        expect(Object.keys(plc.tags).some((tag) => tag.includes("Close") && !tag.includes("Limit"))).toBe(false);
    });

    it.each(GOOD)("Should decode %s = %s", (tag, value, signal) => {
        const result = plc.decode(tag, value);
        if (signal === undefined) expect(result.status).toBe("ignored");
        else expect(result).toEqual({ status: "reading", values: signal });
    });

    it.each(BAD)("Should answer invalid for %s = %s", (tag, value) => {
        const result = plc.decode(tag, value);
        expect(result.status).toBe("invalid");
        if (result.status === "invalid") expect(result.reason).toContain(tag);
    });

    it("Should answer invalid for a tag the model does not have", () => {
        expect(plc.decode("Barrier.CmdClose" as PlcTag, true).status).toBe("invalid");
        expect(plc.decode("__proto__" as PlcTag, true).status).toBe("invalid");
    });

    it("Should never throw and only accept values of the tag's type and range, for any tag and value", () => {
        fc.assert(
            fc.property(
                fc.constantFrom(...PLC_TAGS),
                fc.anything({ withBigInt: true, withTypedArray: true }),
                (tag, value) => {
                    const result = plc.decode(tag, value);
                    expect(["reading", "ignored", "invalid"]).toContain(result.status);
                    if (result.status === "invalid") {
                        expect(result.reason.length).toBeGreaterThan(0);
                        return;
                    }
                    const { dataType } = plc.tags[tag];
                    if (dataType === "Boolean") expect(typeof value).toBe("boolean");
                    else {
                        expect(Number.isInteger(value)).toBe(true);
                        // Every Int32 tag of this model is an enum or code starting at 0.
                        expect(value as number).toBeGreaterThanOrEqual(0);
                    }
                },
            ),
            { numRuns: 2000 },
        );
    });

    it("Should accept exactly the enum codes and the full UInt32 range", () => {
        fc.assert(
            fc.property(fc.integer({ min: -(2 ** 33), max: 2 ** 33 }), (n) => {
                expect(plc.decode("Barrier.State", n).status).toBe(n >= 0 && n <= 5 ? "reading" : "invalid");
                expect(plc.decode("PLC.Mode", n).status).toBe(n >= 0 && n <= 2 ? "reading" : "invalid");
                expect(plc.decode("PLC.Heartbeat", n).status).toBe(n >= 0 && n <= 0xffff_ffff ? "reading" : "invalid");
                expect(plc.decode("Light.Exit", n).status).toBe(n >= 0 && n <= 4 ? "ignored" : "invalid");
            }),
            { numRuns: 2000 },
        );
    });
});
