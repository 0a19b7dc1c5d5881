/**
 * Issue 14: a truck that fails any check of its identity or its declaration is never released. For each
 * identity a truck carries — each declared plate, each container, each seal and its pairing, the
 * declaration's amendment, its direction and its border gate — a generator of trucks that differ from their
 * declaration in that one respect, in every way the identity can differ, and the property that none is
 * released and the failing rule is the one that owns the check. The control property: the same trucks
 * without the difference are released, so a violation is never held for some unrelated reason.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { SealValues } from "../../src/core/events.ts";
import { iso6346CheckDigit, normalizePlate } from "../../src/core/identifiers.ts";
import { decide } from "../../src/lane/rules.ts";
import type { ClearanceView, Declaration, PassageFacts, RuleParams } from "../../src/lane/types.ts";
import { plateValues } from "../helpers/readings.ts";

const NOW = Date.parse("2026-11-15T10:00:00+07:00");
const GATE = "HN01";

const PARAMS: RuleParams = {
    weightTolerance: 0.05,
    requiredReads: ["plate", "declaration", "weight", "seal"],
    clearanceMaxAgeMs: 3_600_000,
    offlinePolicy: "cached",
    minPlateConfidence: 0.7,
    gateId: GATE,
};

// ---------------------------------------------------------------------------------------------------------------------
// Identities

const VN_SERIES = [..."ABCDEFGHKLMNPSTUVXYZ"];
const CN_PROVINCES = [..."京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"];
const CN_LETTERS = [..."ABCDEFGHJKLMNPQRSTUVWXYZ"];
const CN_ALNUM = [...CN_LETTERS, ..."0123456789"];
const digits = (n: number) =>
    fc.array(fc.constantFrom(..."0123456789"), { minLength: n, maxLength: n }).map((d) => d.join(""));

/** A VN plate: province, series (R = trailer), 5 digits, written as on the plate. */
const vnPlate = (trailer: boolean) =>
    fc
        .tuple(fc.integer({ min: 10, max: 99 }), trailer ? fc.constant("R") : fc.constantFrom(...VN_SERIES), digits(5))
        .map(([province, series, d]) => `${province}${series}-${d.slice(0, 3)}.${d.slice(3)}`);

/** A CN plate: regular (tractor) or 挂 (trailer), written with the dot. */
const cnPlate = (trailer: boolean) =>
    fc
        .tuple(
            fc.constantFrom(...CN_PROVINCES),
            fc.constantFrom(...CN_LETTERS),
            fc.array(fc.constantFrom(...CN_ALNUM), { minLength: trailer ? 4 : 5, maxLength: trailer ? 4 : 5 }),
        )
        .map(([p, l, rest]) => `${p}${l}·${rest.join("")}${trailer ? "挂" : ""}`);

const container = fc
    .tuple(fc.array(fc.constantFrom(..."ABCDEFGHIJKLMNOPQRSTUVWXYZ"), { minLength: 3, maxLength: 3 }), digits(6))
    .map(([owner, serial]) => {
        const first10 = `${owner.join("")}U${serial}`;
        return `${first10}${iso6346CheckDigit(first10)}`;
    });

const sealId = digits(7).map((d) => `VNC-${d}`);

interface Truck {
    declaration: Declaration;
    facts: PassageFacts;
}

function sealRead(id: string, containerNumber: string | undefined): SealValues {
    return {
        sealId: id,
        type: "ISO18185",
        status: "SEALED",
        alerts: [],
        ...(containerNumber !== undefined && { containerNumber }),
    };
}

/**
 * A declared truck and a passage that matches it in every respect: plates of one country, one or two
 * containers with one or two seals each, seals whose reader reports their container (or not), the lane's
 * direction, the declared gross within 1 %.
 */
const arbTruck: fc.Arbitrary<Truck> = fc
    .record({
        country: fc.constantFrom("VN", "CN"),
        direction: fc.constantFrom("IN" as const, "OUT" as const),
        seq: fc.integer({ min: 0, max: 99_999_999 }),
        containers: fc.uniqueArray(container, { minLength: 1, maxLength: 2 }),
        seals: fc.uniqueArray(sealId, { minLength: 4, maxLength: 4 }),
        sealsPerContainer: fc.constantFrom(1, 2),
        reportsContainer: fc.boolean(),
        grossKg: fc.integer({ min: 5_000, max: 44_000 }),
        statedGate: fc.boolean(),
        statedDirection: fc.boolean(),
    })
    .chain((t) =>
        fc
            .tuple(
                t.country === "VN" ? vnPlate(false) : cnPlate(false),
                t.country === "VN" ? vnPlate(true) : cnPlate(true),
            )
            .map(([tractor, trailer]) => {
                const type = t.direction === "IN" ? "10" : "30";
                const sequence = String(t.seq).padStart(8, "0");
                const number = `${type}${sequence}${t.seq % 7}0`;
                const declaredContainers = t.containers.map((c, i) => ({
                    number: c,
                    sealNumbers: t.seals.slice(i * 2, i * 2 + t.sealsPerContainer),
                }));
                const declaration: Declaration = {
                    number,
                    type,
                    channel: "GREEN",
                    status: "CLEARED",
                    documentCheckDone: false,
                    inspectionDone: false,
                    declaredPlates: [tractor, trailer],
                    containers: declaredContainers,
                    declaredGrossKg: t.grossKg,
                    version: 1,
                    ...(t.statedGate && { borderGate: GATE }),
                    ...(t.statedDirection && { direction: t.direction }),
                };
                const facts: PassageFacts = {
                    passageId: "P1",
                    laneId: "L1",
                    direction: t.direction,
                    openedAt: NOW - 60_000,
                    frontPlate: plateValues(tractor, "front"),
                    rearPlate: plateValues(trailer, "rear"),
                    plateReads: [plateValues(tractor, "front"), plateValues(trailer, "rear")],
                    declarations: [number],
                    containers: t.containers.map((c) => ({ number: c, checkDigitOk: true })),
                    seals: declaredContainers.flatMap((c) =>
                        c.sealNumbers.map((s) => sealRead(s, t.reportsContainer ? c.number : undefined)),
                    ),
                    grossKg: Math.round(t.grossKg * 1.01),
                    timedOut: [],
                    devicesOffline: [],
                };
                return { declaration, facts };
            }),
    );

/** The CN truck of the 挂 property: no containers or seals to check. */
const DECLARED_CN: Declaration = {
    number: "101234567820",
    type: "10",
    channel: "GREEN",
    status: "CLEARED",
    documentCheckDone: false,
    inspectionDone: false,
    declaredPlates: [],
    containers: [],
    version: 1,
};

function view(declarations: Declaration[]): ClearanceView {
    return {
        version: "prop-1",
        declaration(number) {
            const base = number.trim().slice(0, 11);
            return declarations
                .filter((d) => d.number.startsWith(base))
                .sort((a, b) => b.number.localeCompare(a.number))[0];
        },
        watchList: () => [],
        ageMs: () => 60_000,
    };
}

// ---------------------------------------------------------------------------------------------------------------------
// Violations: each maps a matching truck to one that differs in one identity, with the rule that owns it.

interface Violation {
    name: string;
    rule: string;
    truck: Truck;
    /** The cache: by default the truck's declaration. */
    cache?: Declaration[];
}

/** A plate read that is not the declared one, in every way a read can differ. */
function differentRead(declared: string, position: "front" | "rear", other: string, choice: number) {
    const normalized = normalizePlate(declared).normalized;
    const chars = [...normalized];
    const confusable: Record<string, string> = { "0": "O", O: "0", D: "0", "8": "B", B: "8", "1": "I", I: "1" };
    const at = chars.findIndex((ch) => confusable[ch] !== undefined);
    const variants: (ReturnType<typeof plateValues> | undefined)[] = [
        // another valid plate of the same country
        plateValues(other, position),
        // the declared plate below the minimum confidence
        plateValues(declared, position, 0.5),
        // not read at all
        undefined,
        // one character dropped (a partial read)
        plateValues(chars.slice(0, -1).join(""), position),
        // one character added
        plateValues(`${normalized}7`, position),
        // a confusable character swapped (O/0, 8/B, I/1), or the last digit changed when there is none
        at >= 0
            ? plateValues(
                  [...chars.slice(0, at), confusable[chars[at] as string], ...chars.slice(at + 1)].join(""),
                  position,
              )
            : plateValues(`${chars.slice(0, -1).join("")}${chars.at(-1) === "9" ? "8" : "9"}`, position),
    ];
    return variants[choice % variants.length];
}

const arbViolation: fc.Arbitrary<Violation> = arbTruck.chain((truck) => {
    const { declaration, facts } = truck;
    const [tractor, trailer] = declaration.declaredPlates as [string, string];
    const cn = normalizePlate(tractor).country === "CN";
    const otherTractor = cn ? cnPlate(false) : vnPlate(false);
    const otherTrailer = cn ? cnPlate(true) : vnPlate(true);
    const with_ = (
        name: string,
        rule: string,
        f: Partial<PassageFacts>,
        d?: Partial<Declaration>,
        cache?: Declaration[],
    ) => {
        const changed = { ...declaration, ...d };
        const { frontPlate: _f, rearPlate: _r, ...rest } = facts;
        const merged: PassageFacts = { ...rest, ...f };
        // Keep "no read" as an absent key: plateValues() undefined means the camera read nothing.
        if (!("frontPlate" in f) && facts.frontPlate) merged.frontPlate = facts.frontPlate;
        if (!("rearPlate" in f) && facts.rearPlate) merged.rearPlate = facts.rearPlate;
        if (merged.frontPlate === undefined) delete merged.frontPlate;
        if (merged.rearPlate === undefined) delete merged.rearPlate;
        return { name, rule, truck: { declaration: changed, facts: merged }, ...(cache && { cache }) };
    };
    const firstContainer = declaration.containers[0] as Declaration["containers"][number];
    const firstSeal = firstContainer.sealNumbers[0] as string;
    const sealReads = facts.seals;
    return fc.oneof(
        fc
            .tuple(otherTractor, fc.nat())
            .filter(([other]) => normalizePlate(other).normalized !== normalizePlate(tractor).normalized)
            .map(([other, choice]) =>
                with_(`tractor read differs (${choice % 6})`, "plate-match", {
                    frontPlate: differentRead(tractor, "front", other, choice),
                }),
            ),
        fc
            .tuple(otherTrailer, fc.nat())
            .filter(([other]) => normalizePlate(other).normalized !== normalizePlate(trailer).normalized)
            .map(([other, choice]) =>
                with_(`trailer read differs (${choice % 6})`, "plate-match", {
                    rearPlate: differentRead(trailer, "rear", other, choice),
                }),
            ),
        fc.constant(
            with_("tractor and trailer plates read by the wrong cameras", "plate-match", {
                frontPlate: plateValues(trailer, "front"),
                rearPlate: plateValues(tractor, "rear"),
            }),
        ),
        // A CN trailer plate without its 挂; for VN the R series read as another series.
        fc.constant(
            with_("trailer suffix or series lost", "plate-match", {
                rearPlate: plateValues(
                    cn ? normalizePlate(trailer).normalized.slice(0, -1) : trailer.replace("R", "C"),
                    "rear",
                ),
            }),
        ),
        container
            .filter((c) => !declaration.containers.some((d) => d.number === c))
            .map((c) =>
                with_("an undeclared container read", "containers", {
                    containers: [...facts.containers, { number: c, checkDigitOk: true }],
                }),
            ),
        fc.constant(
            with_("a declared container read with a wrong check digit", "containers", {
                containers: facts.containers.map((c, i) =>
                    i === 0
                        ? {
                              number: `${c.number.slice(0, 10)}${(Number(c.number.at(10)) + 1) % 10}`,
                              checkDigitOk: false,
                          }
                        : c,
                ),
            }),
        ),
        fc.constant(
            with_("a declared seal not read", "seals", { seals: sealReads.filter((s) => s.sealId !== firstSeal) }),
        ),
        fc.constantFrom("TAMPERED" as const, "OPENED" as const, "UNKNOWN" as const).map((status) =>
            with_(`a declared seal read ${status}`, "seals", {
                seals: sealReads.map((s) => (s.sealId === firstSeal ? { ...s, status } : s)),
            }),
        ),
        sealId
            .filter((id) => !declaration.containers.some((c) => c.sealNumbers.includes(id)))
            .map((id) => with_("an undeclared seal read", "seals", { seals: [...sealReads, sealRead(id, undefined)] })),
        container
            .filter((c) => c !== firstContainer.number)
            .map((c) =>
                with_("a seal reports another container (swapped or moved)", "seals", {
                    seals: sealReads.map((s) => (s.sealId === firstSeal ? { ...s, containerNumber: c } : s)),
                }),
            ),
        fc.integer({ min: 1, max: 9 }).map((amendment) =>
            with_(`the truck shows amendment ${amendment}, the gate has 0`, "declaration-known", {
                declarations: [`${declaration.number.slice(0, 11)}${amendment}`],
            }),
        ),
        fc.constant(
            with_(
                "the lane's direction is the other one (type code)",
                "declaration-route",
                {
                    direction: facts.direction === "IN" ? "OUT" : "IN",
                },
                { direction: undefined },
            ),
        ),
        fc.constant(
            with_(
                "central states the other direction",
                "declaration-route",
                {},
                {
                    direction: facts.direction === "IN" ? "OUT" : "IN",
                },
            ),
        ),
        fc
            .stringMatching(/^[A-Z]{2}\d{2}$/)
            .filter((gate) => gate !== GATE)
            .map((gate) => with_(`declared for border gate ${gate}`, "declaration-route", {}, { borderGate: gate })),
        // A superseded amendment shown while the newest changed the truck: decided on the newest.
        fc
            .tuple(fc.integer({ min: 1, max: 9 }), otherTrailer)
            .filter(([, other]) => normalizePlate(other).normalized !== normalizePlate(trailer).normalized)
            .map(([amendment, other]) =>
                with_(
                    `amendment ${amendment} declares another trailer; the truck shows amendment 0`,
                    "plate-match",
                    {},
                    {},
                    [
                        declaration,
                        {
                            ...declaration,
                            number: `${declaration.number.slice(0, 11)}${amendment}`,
                            declaredPlates: [tractor, other],
                        },
                    ],
                ),
            ),
    );
});

// ---------------------------------------------------------------------------------------------------------------------

/** One turn of the event loop per generated truck: a long synchronous property starves the test worker. */
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe("issue 14: identity and declaration checks, properties", () => {
    it("releases every truck that matches its declaration in every respect (control)", async () => {
        await fc.assert(
            fc.asyncProperty(arbTruck, async ({ declaration, facts }) => {
                await turn();
                const record = decide(facts, view([declaration]), PARAMS, NOW);
                const failed = record.results.filter((r) => !r.pass).map((r) => `${r.rule}: ${r.reason}`);
                expect(failed).toEqual([]);
                expect(record.decision).toBe("RELEASE");
            }),
            { numRuns: 300 },
        );
    }, 120_000);

    it("never releases a truck that differs from its declaration in any one identity, and names the check", async () => {
        await fc.assert(
            fc.asyncProperty(arbViolation, async ({ name, rule, truck, cache }) => {
                await turn();
                const record = decide(truck.facts, view(cache ?? [truck.declaration]), PARAMS, NOW);
                expect(record.decision, name).not.toBe("RELEASE");
                const owner = record.results.find((r) => r.rule === rule);
                expect(owner?.pass, `${name}: ${rule} should fail (${owner?.reason})`).toBe(false);
                expect(owner?.reason.length).toBeGreaterThan(0);
            }),
            { numRuns: 400 },
        );
    }, 120_000);

    it("calls a CN trailer plate read without its 挂 a misread, and any other valid plate another vehicle", async () => {
        await fc.assert(
            fc.asyncProperty(arbTruck, cnPlate(true), cnPlate(false), async ({ facts }, trailer, other) => {
                await turn();
                const declaration: Declaration = {
                    ...DECLARED_CN,
                    number: facts.declarations[0] as string,
                    type: facts.declarations[0]?.slice(0, 2) ?? "10",
                    declaredPlates: ["桂A·12345", trailer],
                };
                const codeOf = (rear: string) =>
                    decide(
                        {
                            ...facts,
                            frontPlate: plateValues("桂A·12345", "front"),
                            rearPlate: plateValues(rear, "rear"),
                        },
                        view([declaration]),
                        PARAMS,
                        NOW,
                    ).results.find((r) => r.rule === "plate-match")?.findings?.[0]?.code;
                expect(codeOf(normalizePlate(trailer).normalized.slice(0, -1))).toBe("PLATE_LIKELY_MISREAD");
                expect(codeOf(other)).toBe("PLATE_OTHER");
                expect(codeOf(`${normalizePlate(trailer).normalized.slice(0, -1)}学`)).toBe("PLATE_OTHER");
            }),
            { numRuns: 300 },
        );
    }, 120_000);

    it("sends a truck whose seal reports another container to inspection, and says when a pairing is unverified", async () => {
        await fc.assert(
            fc.asyncProperty(arbTruck, container, async ({ declaration, facts }, other) => {
                await turn();
                fc.pre(!declaration.containers.some((c) => c.number === other));
                const swapped = facts.seals.map((s, i) => (i === 0 ? { ...s, containerNumber: other } : s));
                expect(decide({ ...facts, seals: swapped }, view([declaration]), PARAMS, NOW).decision).toBe("INSPECT");
                const unreported = facts.seals.map(({ containerNumber: _c, ...s }) => s);
                const record = decide({ ...facts, seals: unreported }, view([declaration]), PARAMS, NOW);
                expect(record.decision).toBe("RELEASE");
                expect(record.results.find((r) => r.rule === "seals")?.reason).toMatch(/could not be verified/);
            }),
            { numRuns: 300 },
        );
    }, 120_000);
});
