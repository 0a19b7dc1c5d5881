import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { SealValues } from "../../src/core/events.ts";
import {
    channel,
    clearanceFresh,
    containers,
    decide,
    declarationKnown,
    declarationRoute,
    declarationValid,
    exactAge,
    plateMatch,
    RULE_SET_VERSION,
    RULES,
    type Rule,
    requiredReads,
    seals,
    watchList,
    weight,
} from "../../src/lane/rules.ts";
import type {
    ClearanceView,
    Declaration,
    PassageFacts,
    RuleParams,
    Severity,
    WatchListEntry,
} from "../../src/lane/types.ts";
import { DECLARATION, plateValues } from "../helpers/readings.ts";

/** A fixed clock: 2026-11-15 10:00 +07:00. */
const NOW = Date.parse("2026-11-15T10:00:00+07:00");
const MINUTE = 60_000;

const PARAMS: RuleParams = {
    weightTolerance: 0.05,
    requiredReads: ["plate", "declaration", "weight", "seal"],
    clearanceMaxAgeMs: 60 * MINUTE,
    offlinePolicy: "cached",
    minPlateConfidence: 0.7,
    gateId: "HN01",
};

const DECL: Declaration = {
    ...DECLARATION,
    validFrom: "2026-01-01T00:00:00+07:00",
    validUntil: "2027-12-31T23:59:59+07:00",
};

/** An in-memory ClearanceView with the contract's lookup: number or base, latest amendment wins. */
function view(
    declarations: Declaration[] = [DECL],
    watch: WatchListEntry[] = [],
    /** null: never refreshed. */
    refreshedAt: number | null = NOW - 5 * MINUTE,
): ClearanceView {
    return {
        version: "test-1",
        declaration(number) {
            const base = number.trim().slice(0, 11);
            return declarations
                .filter((d) => d.number.startsWith(base))
                .sort((a, b) => b.number.localeCompare(a.number))[0];
        },
        watchList: () => watch,
        ageMs: (now) => (refreshedAt === null ? undefined : now - refreshedAt),
    };
}

function seal(sealId: string, status: SealValues["status"] = "SEALED"): SealValues {
    return { sealId, type: "ISO18185", status, alerts: [] };
}

/** A passage that every rule passes against DECL. */
function facts(overrides: Partial<PassageFacts> = {}): PassageFacts {
    // As the correlator keeps them: every read is among plateReads, the best per position too.
    const front = "frontPlate" in overrides ? overrides.frontPlate : plateValues("15C-123.45", "front");
    const rear = "rearPlate" in overrides ? overrides.rearPlate : plateValues("15R-012.34", "rear");
    const plateReads = [front, rear].filter((plate) => plate !== undefined);
    return {
        passageId: "P1",
        laneId: "L1",
        direction: "IN",
        openedAt: NOW - MINUTE,
        frontPlate: plateValues("15C-123.45", "front"),
        rearPlate: plateValues("15R-012.34", "rear"),
        plateReads,
        declarations: ["101234567820"],
        containers: [{ number: "CSQU3054383", checkDigitOk: true }],
        seals: [seal("VNC-0100001")],
        grossKg: 28_900,
        timedOut: [],
        devicesOffline: [],
        ...overrides,
    };
}

interface Case {
    name: string;
    facts?: Partial<PassageFacts>;
    declarations?: Declaration[];
    watch?: WatchListEntry[];
    refreshedAt?: number | null;
    params?: Partial<RuleParams>;
    now?: number;
    pass: boolean;
    severity?: Severity;
    reason: RegExp;
    fourEyes?: boolean;
}

function run(rule: Rule, c: Case) {
    const clearance = view(c.declarations ?? [DECL], c.watch ?? [], c.refreshedAt);
    return rule(facts(c.facts), clearance, { ...PARAMS, ...c.params }, c.now ?? NOW);
}

function table(rule: Rule, id: string, cases: Case[]): void {
    describe(id, () => {
        it.each(cases)("$name", (c) => {
            const result = run(rule, c);
            expect(result.rule).toBe(id);
            expect(result.pass).toBe(c.pass);
            if (!c.pass) expect(result.severity).toBe(c.severity);
            expect(result.reason).toMatch(c.reason);
            expect(result.fourEyes === true).toBe(c.fourEyes === true);
        });
    });
}

const amended: Declaration = { ...DECL, number: "101234567821", status: "CANCELLED", version: 2 };

table(clearanceFresh, "clearance-fresh", [
    { name: "fresh data passes", pass: true, reason: /is 5 min old/ },
    {
        name: "stale with policy hold → HOLD",
        refreshedAt: NOW - 3 * 60 * MINUTE,
        params: { offlinePolicy: "hold" },
        pass: false,
        severity: "HOLD",
        reason: /is 3 h old \(max 1 h\); the offline policy holds every passage/,
    },
    {
        name: "stale with policy cached → pass, offline",
        refreshedAt: NOW - 3 * 60 * MINUTE,
        pass: true,
        reason: /offline: deciding from the cached clearance data; clearance data is 3 h old \(max 1 h\)/,
    },
    {
        name: "never refreshed, policy hold → HOLD",
        refreshedAt: null,
        params: { offlinePolicy: "hold" },
        pass: false,
        severity: "HOLD",
        reason: /has never been refreshed/,
    },
    {
        name: "dated in the future (the wall clock stepped back), policy hold → HOLD",
        refreshedAt: NOW + 30 * MINUTE,
        params: { offlinePolicy: "hold" },
        pass: false,
        severity: "HOLD",
        reason: /is dated 30 min in the future \(the wall clock stepped back\?\) \(max age 1 h\); the offline policy holds/,
    },
    {
        name: "dated in the future, policy cached → pass, offline",
        refreshedAt: NOW + 1,
        pass: true,
        reason: /offline: deciding from the cached clearance data; clearance data is dated 1 s in the future/,
    },
    {
        name: "67 s old with a 1-minute limit reads 67 s, not 1 min (issue 14)",
        refreshedAt: NOW - 67_000,
        params: { offlinePolicy: "hold", clearanceMaxAgeMs: MINUTE },
        pass: false,
        severity: "HOLD",
        reason: /^clearance data is 67 s old \(max 60 s\); the offline policy holds every passage$/,
    },
    {
        name: "a fraction of a second over the limit never reads as within it",
        refreshedAt: NOW - 60_400,
        params: { offlinePolicy: "hold", clearanceMaxAgeMs: MINUTE },
        pass: false,
        severity: "HOLD",
        reason: /is 61 s old \(max 60 s\)/,
    },
    {
        name: "stale, staleReleaseFourEyes: a release needs a supervisor (policy hold)",
        refreshedAt: NOW - 67_000,
        params: { offlinePolicy: "hold", clearanceMaxAgeMs: MINUTE, staleReleaseFourEyes: true },
        pass: false,
        severity: "HOLD",
        reason: /67 s old \(max 60 s\).*needs a supervisor's approval/,
        fourEyes: true,
    },
    {
        name: "stale, staleReleaseFourEyes: a release needs a supervisor (policy cached)",
        refreshedAt: NOW - 2 * 60 * MINUTE - 5_000,
        params: { staleReleaseFourEyes: true },
        pass: true,
        reason: /is 2 h 5 s old \(max 1 h\); a release on stale clearance data needs a supervisor's approval/,
        fourEyes: true,
    },
    {
        name: "fresh data with staleReleaseFourEyes: no four eyes",
        params: { staleReleaseFourEyes: true },
        pass: true,
        reason: /^clearance data is 300 s old|^clearance data is 5 min old/,
    },
]);

table(requiredReads, "required-reads", [
    { name: "all present", pass: true, reason: /all required reads present/ },
    {
        name: "nothing required, nothing read",
        params: { requiredReads: [] },
        facts: { frontPlate: undefined, rearPlate: undefined, declarations: [], seals: [], grossKg: undefined },
        pass: true,
        reason: /no reads required/,
    },
    {
        name: "rear plate alone counts",
        facts: { frontPlate: undefined },
        pass: true,
        reason: /all required reads present/,
    },
    {
        name: "plate below minimum confidence does not count",
        facts: { frontPlate: plateValues("15C-123.45", "front", 0.5), rearPlate: undefined },
        pass: false,
        severity: "HOLD",
        reason: /missing plate \(none with confidence ≥ 0\.7\)/,
    },
    {
        name: "declaration, weight and seal missing",
        facts: { declarations: [], grossKg: undefined, seals: [] },
        pass: false,
        severity: "HOLD",
        reason: /^missing declaration, weight, seal$/,
    },
    {
        name: "a timed-out read",
        facts: { timedOut: ["weight"] },
        pass: false,
        severity: "HOLD",
        reason: /^timed out: weight$/,
    },
    {
        name: "a device offline during the passage",
        facts: { devicesOffline: ["scale-l1"] },
        pass: false,
        severity: "HOLD",
        reason: /device offline during the passage: scale-l1/,
    },
]);

table(declarationKnown, "declaration-known", [
    { name: "known by number", pass: true, reason: /^declaration 101234567820 known$/ },
    {
        name: "a superseded amendment shown: decided on the newest, and the reason says so",
        declarations: [DECL, { ...amended, status: "CLEARED" }],
        pass: true,
        reason: /^the truck shows 101234567820 \(amendment 0\), superseded by 101234567821 \(amendment 1\): decided on 101234567821$/,
    },
    {
        name: "an amendment newer than the cache → HOLD, central asked (issue 14: was pass, 'latest' the older one)",
        facts: { declarations: ["101234567821"] },
        pass: false,
        severity: "HOLD",
        reason: /^the truck shows 101234567821 \(amendment 1\), the gate has only 101234567820 \(amendment 0\): it cannot vouch for the truck; central was asked for 101234567821$/,
    },
    {
        name: "unknown → HOLD (central may not have synced)",
        facts: { declarations: ["301234567820"] },
        pass: false,
        severity: "HOLD",
        reason: /declaration 301234567820 not in the clearance data/,
    },
    {
        name: "an invalid number is unknown",
        facts: { declarations: ["101234567800"] },
        pass: false,
        severity: "HOLD",
        reason: /101234567800 not in the clearance data/,
    },
    {
        name: "none scanned and required → HOLD",
        facts: { declarations: [] },
        pass: false,
        severity: "HOLD",
        reason: /^no declaration scanned$/,
    },
    {
        name: "none scanned and not required → pass",
        facts: { declarations: [] },
        params: { requiredReads: ["plate"] },
        pass: true,
        reason: /^no declaration scanned$/,
    },
]);

table(declarationValid, "declaration-valid", [
    { name: "cleared, within validity", pass: true, reason: /cleared and within its validity/ },
    {
        name: "CANCELLED → REJECT (latest amendment counts)",
        declarations: [DECL, amended],
        pass: false,
        severity: "REJECT",
        reason: /declaration 101234567821 is CANCELLED/,
    },
    {
        name: "HELD → HOLD",
        declarations: [{ ...DECL, status: "HELD" }],
        pass: false,
        severity: "HOLD",
        reason: /is HELD, not CLEARED/,
    },
    {
        name: "PENDING → HOLD",
        declarations: [{ ...DECL, status: "PENDING" }],
        pass: false,
        severity: "HOLD",
        reason: /is PENDING, not CLEARED/,
    },
    {
        name: "before validFrom → HOLD",
        now: Date.parse("2025-12-31T12:00:00+07:00"),
        refreshedAt: Date.parse("2025-12-31T12:00:00+07:00"),
        pass: false,
        severity: "HOLD",
        reason: /valid only from 2026-01-01/,
    },
    {
        name: "after validUntil → HOLD",
        declarations: [{ ...DECL, validUntil: "2026-11-15T09:00:00+07:00" }],
        pass: false,
        severity: "HOLD",
        reason: /expired at 2026-11-15T09:00/,
    },
    {
        name: "unreadable date → HOLD",
        declarations: [{ ...DECL, validUntil: "soon" }],
        pass: false,
        severity: "HOLD",
        reason: /unreadable validity date/,
    },
    { name: "unknown declaration: not checked", declarations: [], pass: true, reason: /^not checked/ },
]);

table(declarationRoute, "declaration-route", [
    {
        name: "an import (type 10) at an import lane, gate not stated",
        pass: true,
        reason: /^declaration 101234567820: border gate not stated, an import \(into Vietnam\) \(type code 10\)$/,
    },
    {
        name: "an export (type 30) at an import lane → HOLD (issue 14: was released)",
        declarations: [{ ...DECL, number: "301234567820", type: "30" }],
        facts: { declarations: ["301234567820"] },
        pass: false,
        severity: "HOLD",
        reason: /^declaration 301234567820 is an export \(out of Vietnam\) \(type code 30\); lane L1 is an import lane \(IN\)/,
    },
    {
        name: "an import at an export lane → HOLD",
        facts: { direction: "OUT" },
        pass: false,
        severity: "HOLD",
        reason: /is an import \(into Vietnam\) \(type code 10\); lane L1 is an export lane \(OUT\)/,
    },
    {
        name: "central's stated direction outranks the type code",
        declarations: [{ ...DECL, direction: "OUT" }],
        pass: false,
        severity: "HOLD",
        reason: /is an export \(out of Vietnam\) \(stated by central\)/,
    },
    {
        name: "transit (type 51) goes either way",
        declarations: [{ ...DECL, number: "511234567820", type: "51" }],
        facts: { declarations: ["511234567820"], direction: "OUT" },
        pass: true,
        reason: /either direction/,
    },
    {
        name: "a type code that says no direction, none stated → HOLD",
        declarations: [{ ...DECL, number: "741234567820", type: "74" }],
        facts: { declarations: ["741234567820"] },
        pass: false,
        severity: "HOLD",
        reason: /^declaration 741234567820 of type 74 does not say which way its goods cross/,
    },
    {
        name: "declared for another border gate → HOLD",
        declarations: [{ ...DECL, borderGate: "LS02" }],
        pass: false,
        severity: "HOLD",
        reason: /^declaration 101234567820 is for border gate LS02, this gate is HN01/,
    },
    {
        name: "declared for this gate (case-insensitive)",
        declarations: [{ ...DECL, borderGate: "hn01" }],
        pass: true,
        reason: /^declaration 101234567820: border gate HN01, an import/,
    },
    { name: "unknown declaration: not checked", declarations: [], pass: true, reason: /^not checked/ },
]);

table(channel, "channel", [
    { name: "GREEN passes", pass: true, reason: /^channel GREEN$/ },
    {
        name: "YELLOW with document check done passes",
        declarations: [{ ...DECL, channel: "YELLOW", documentCheckDone: true }],
        pass: true,
        reason: /channel YELLOW \(checked\)/,
    },
    {
        name: "YELLOW without document check → HOLD",
        declarations: [{ ...DECL, channel: "YELLOW" }],
        pass: false,
        severity: "HOLD",
        reason: /is YELLOW: document check not done/,
    },
    {
        name: "RED inspected passes, with four eyes",
        declarations: [{ ...DECL, channel: "RED", inspectionDone: true }],
        pass: true,
        reason: /channel RED \(inspection done\)/,
        fourEyes: true,
    },
    {
        name: "RED not inspected → INSPECT with four eyes",
        declarations: [{ ...DECL, channel: "RED" }],
        pass: false,
        severity: "INSPECT",
        reason: /is RED: inspection not done/,
        fourEyes: true,
    },
]);

table(plateMatch, "plate-match", [
    {
        name: "tractor and trailer both match",
        pass: true,
        reason: /^front plate 15C12345 is the declared tractor plate; rear plate 15R01234 is the declared trailer plate$/,
    },
    {
        name: "trailer right, tractor another plate → HOLD (issue 14: was pass)",
        facts: { frontPlate: plateValues("29A-999.99", "front") },
        pass: false,
        severity: "HOLD",
        reason: /^front plate 29A99999 is not the declared tractor plate 15C12345: another vehicle; rear plate 15R01234 is the declared trailer plate$/,
    },
    {
        name: "tractor right, trailer another plate → HOLD (issue 14: was pass)",
        facts: { rearPlate: plateValues("15R-099.98", "rear") },
        pass: false,
        severity: "HOLD",
        reason: /^rear plate 15R09998 is not the declared trailer plate 15R01234: another vehicle/,
    },
    {
        name: "declared trailer not read → HOLD (issue 14: was pass)",
        facts: { rearPlate: undefined },
        pass: false,
        severity: "HOLD",
        reason: /^declared trailer plate 15R01234 was not read by the rear camera \(none with confidence ≥ 0\.7\)/,
    },
    {
        name: "declared trailer read below minimum confidence → HOLD",
        facts: { rearPlate: plateValues("15R-012.34", "rear", 0.5) },
        pass: false,
        severity: "HOLD",
        reason: /declared trailer plate 15R01234 was not read by the rear camera/,
    },
    {
        name: "likely misread → HOLD naming the characters",
        facts: { frontPlate: plateValues("15C-I23.45", "front") },
        pass: false,
        severity: "HOLD",
        reason: /^front plate 15CI2345 differs from the declared tractor plate 15C12345 only in I\/1: likely misread, verify by sight/,
    },
    {
        name: "no match → HOLD, each plate named",
        facts: { frontPlate: plateValues("29A-999.99", "front"), rearPlate: plateValues("29R-999.99", "rear") },
        pass: false,
        severity: "HOLD",
        reason: /front plate 29A99999 is not the declared tractor plate 15C12345.*; rear plate 29R99999 is not the declared trailer plate 15R01234/,
    },
    {
        name: "the trailer's plate read by the front camera: the tractor is not read",
        facts: { frontPlate: plateValues("15R-012.34", "front") },
        pass: false,
        severity: "HOLD",
        reason: /^declared tractor plate 15C12345 was not read by the front camera/,
    },
    {
        name: "an undeclared trailer behind a declared rigid truck → HOLD",
        declarations: [{ ...DECL, declaredPlates: ["15C-123.45"] }],
        pass: false,
        severity: "HOLD",
        reason: /^rear plate 15R01234 is not a plate of the declaration \(declared: 15C12345\)/,
    },
    {
        name: "a rigid truck shows its one plate front and rear",
        declarations: [{ ...DECL, declaredPlates: ["15C-123.45"] }],
        facts: { rearPlate: plateValues("15C-123.45", "rear") },
        pass: true,
        reason: /^front plate 15C12345 is the declared tractor plate$/,
    },
    {
        name: "a rigid truck seen only from behind",
        declarations: [{ ...DECL, declaredPlates: ["15C-123.45"] }],
        facts: { frontPlate: undefined, rearPlate: plateValues("15C-123.45", "rear") },
        pass: true,
        reason: /^rear plate 15C12345 is the declared tractor plate$/,
    },
    {
        name: "CN trailer read without its 挂 → HOLD as a misread (issue 14: was pass)",
        declarations: [{ ...DECL, declaredPlates: ["桂A·12345", "桂B·1234挂"] }],
        facts: { frontPlate: plateValues("桂A12345", "front"), rearPlate: plateValues("桂B1234", "rear") },
        pass: false,
        severity: "HOLD",
        reason: /^rear plate 桂B1234 differs from the declared trailer plate 桂B1234挂 only in ∅\/挂: likely misread, verify by sight/,
    },
    {
        name: "CN trailer read as a valid plate of another class (学) → HOLD as another vehicle",
        declarations: [{ ...DECL, declaredPlates: ["桂A·12345", "桂B·1234挂"] }],
        facts: { frontPlate: plateValues("桂A12345", "front"), rearPlate: plateValues("桂B1234学", "rear") },
        pass: false,
        severity: "HOLD",
        reason: /^rear plate 桂B1234学 is not the declared trailer plate 桂B1234挂: another vehicle/,
    },
    {
        name: "CN trailer read as a valid regular plate → HOLD as another vehicle",
        declarations: [{ ...DECL, declaredPlates: ["桂A·12345", "桂B·1234挂"] }],
        facts: { frontPlate: plateValues("桂A12345", "front"), rearPlate: plateValues("桂B12345", "rear") },
        pass: false,
        severity: "HOLD",
        reason: /^rear plate 桂B12345 is not the declared trailer plate 桂B1234挂: another vehicle/,
    },
    {
        name: "no read at or above minimum confidence → HOLD",
        facts: { frontPlate: plateValues("15C-123.45", "front", 0.4), rearPlate: undefined },
        pass: false,
        severity: "HOLD",
        reason: /no plate read with confidence ≥ 0\.7/,
    },
    {
        name: "no usable plate and plates not required: not checked",
        facts: { frontPlate: undefined, rearPlate: undefined },
        params: { requiredReads: ["declaration"] },
        pass: true,
        reason: /^not checked: no plate read/,
    },
    {
        name: "declaration without plates: not checked",
        declarations: [{ ...DECL, declaredPlates: [] }],
        pass: true,
        reason: /lists no vehicle plate/,
    },
]);

table(containers, "containers", [
    { name: "declared, valid check digit", pass: true, reason: /^container declared, check digits valid$/ },
    { name: "none read", facts: { containers: [] }, pass: true, reason: /^no container read$/ },
    {
        name: "bad check digit → HOLD (likely OCR misread)",
        facts: { containers: [{ number: "CSQU3054384", checkDigitOk: false }] },
        pass: false,
        severity: "HOLD",
        reason: /container CSQU3054384 fails the ISO 6346 check digit: likely OCR misread/,
    },
    {
        name: "the check digit is re-verified even if the reading says ok",
        facts: { containers: [{ number: "CSQU3054384", checkDigitOk: true }] },
        pass: false,
        severity: "HOLD",
        reason: /likely OCR misread/,
    },
    {
        name: "not in the declaration → HOLD",
        facts: { containers: [{ number: "MSKU1234565", checkDigitOk: true }] },
        pass: false,
        severity: "HOLD",
        reason: /container MSKU1234565 is not in the declaration/,
    },
]);

table(seals, "seals", [
    {
        name: "declared seal read SEALED, reader reports no container: the reason says the pairing is not verified",
        pass: true,
        reason: /^seals declared and SEALED; pairing of seal VNC-0100001 with container CSQU3054383 could not be verified: the reader reports no container$/,
    },
    {
        name: "the reader reports the declared container: paired",
        facts: { seals: [{ ...seal("VNC-0100001"), containerNumber: "CSQU 305438-3" }] },
        pass: true,
        reason: /^seals declared and SEALED; seal VNC-0100001 reports container CSQU3054383, as declared$/,
    },
    {
        name: "the reader reports another container → INSPECT: seals swapped (issue 14: was pass)",
        facts: { seals: [{ ...seal("VNC-0100001"), containerNumber: "MSKU1234565" }] },
        pass: false,
        severity: "INSPECT",
        reason: /^seal VNC-0100001 reports container MSKU1234565, but is declared on CSQU3054383: seals swapped or moved, a tampering indicator$/,
    },
    {
        name: "TAMPERED → INSPECT",
        facts: { seals: [seal("VNC-0100001", "TAMPERED")] },
        pass: false,
        severity: "INSPECT",
        reason: /seal VNC-0100001 reports TAMPERED/,
    },
    {
        name: "OPENED → INSPECT even without a known declaration",
        declarations: [],
        facts: { seals: [seal("X-1", "OPENED")] },
        pass: false,
        severity: "INSPECT",
        reason: /seal X-1 reports OPENED/,
    },
    {
        name: "declared seal not read → HOLD",
        facts: { seals: [] },
        pass: false,
        severity: "HOLD",
        reason: /declared seal VNC-0100001 not read/,
    },
    {
        name: "declared seal UNKNOWN → HOLD",
        facts: { seals: [seal("vnc-0100001", "UNKNOWN")] },
        pass: false,
        severity: "HOLD",
        reason: /seal VNC-0100001 is UNKNOWN, not SEALED/,
    },
    {
        name: "undeclared seal → HOLD",
        facts: { seals: [seal("VNC-0100001"), seal("VNC-9999999")] },
        pass: false,
        severity: "HOLD",
        reason: /^seal VNC-9999999 is not declared; pairing of seal VNC-0100001/,
    },
    {
        name: "no seals declared or read",
        declarations: [{ ...DECL, containers: [{ number: "CSQU3054383", sealNumbers: [] }] }],
        facts: { seals: [] },
        pass: true,
        reason: /no seal declared or read/,
    },
]);

describe("findings' numbers stay numbers, for each reader's language to write", () => {
    it("weight: the deviation and tolerance in percent as numbers, the sign apart", () => {
        const result = run(weight, { name: "over", facts: { grossKg: 31_350 }, pass: false, reason: /./ });
        expect(result.findings).toEqual([
            {
                code: "WEIGHT_OUTSIDE",
                params: { gross: 31_350, declared: 28_500, sign: "+", deviation: 10, tolerance: 5 },
            },
        ]);
        const under = run(weight, { name: "under", facts: { grossKg: 28_471 }, pass: true, reason: /./ });
        expect(under.findings?.[0]?.params).toMatchObject({ sign: "-", deviation: 0.1 });
    });

    it("manual processing for the disk quota: the sizes as numbers, the stored English as before", () => {
        const quota = { usedMb: 3, quotaMb: 3 };
        const manual = RULES.find((r) => r.id === "manual-processing")!.rule;
        const result = run(manual, {
            name: "quota full",
            params: {
                manualProcessing: "disk quota reached (3 MiB of the 3 MiB storage quota used)",
                manualProcessingQuota: quota,
            },
            pass: false,
            reason: /./,
        });
        expect(result.findings).toEqual([{ code: "MANUAL_PROCESSING_DISK_QUOTA", params: quota }]);
        expect(result.reason).toBe("manual processing: disk quota reached (3 MiB of the 3 MiB storage quota used)");
    });

    it("required reads: the plate's confidence threshold a number, apart from the missing kinds' words", () => {
        const result = run(requiredReads, {
            name: "plate and weight missing",
            facts: { frontPlate: plateValues("15C-123.45", "front", 0.5), rearPlate: undefined, grossKg: undefined },
            pass: false,
            reason: /./,
        });
        expect(result.findings).toEqual([
            { code: "READS_MISSING_PLATE", params: { minConfidence: 0.7 } },
            { code: "READS_MISSING", params: { reads: "weight" } },
        ]);
    });
});

table(weight, "weight", [
    { name: "within tolerance", pass: true, reason: /gross 28900 kg vs declared 28500 kg: \+1\.4 %, within ±5 %/ },
    {
        name: "over tolerance → INSPECT with %",
        facts: { grossKg: 31_350 },
        pass: false,
        severity: "INSPECT",
        reason: /gross 31350 kg vs declared 28500 kg: \+10 %, outside ±5 %/,
    },
    {
        name: "under tolerance → INSPECT",
        facts: { grossKg: 20_000 },
        pass: false,
        severity: "INSPECT",
        reason: /: -29\.8 %, outside/,
    },
    {
        name: "exactly on the tolerance passes",
        facts: { grossKg: 29_925 },
        pass: true,
        reason: /\+5 %, within/,
    },
    { name: "no gross: not checked", facts: { grossKg: undefined }, pass: true, reason: /^not checked: no gross/ },
    {
        name: "no declared gross: not checked",
        declarations: [{ ...DECL, declaredGrossKg: undefined }],
        pass: true,
        reason: /^not checked: no declared gross/,
    },
]);

const entry = (kind: WatchListEntry["kind"], value: string): WatchListEntry => ({
    id: `WL-${kind}`,
    kind,
    value,
    reason: `${kind} tip`,
    version: 1,
});

table(watchList, "watch-list", [
    { name: "nothing listed", watch: [entry("plate", "29A-999.99")], pass: true, reason: /nothing on the watch list/ },
    {
        name: "plate, normalised",
        watch: [entry("plate", "15r 01234")],
        pass: false,
        severity: "INSPECT",
        reason: /plate 15r 01234 on the watch list \(WL-plate\): plate tip/,
        fourEyes: true,
    },
    {
        name: "container, upper-cased",
        watch: [entry("container", "csqu 305438-3")],
        pass: false,
        severity: "INSPECT",
        reason: /container csqu 305438-3 on the watch list/,
        fourEyes: true,
    },
    {
        name: "declaration by 11-digit base",
        watch: [entry("declaration", "10123456782")],
        pass: false,
        severity: "INSPECT",
        reason: /declaration 10123456782 on the watch list \(WL-declaration\): declaration tip/,
        fourEyes: true,
    },
    {
        name: "seal",
        watch: [entry("seal", "vnc-0100001")],
        pass: false,
        severity: "INSPECT",
        reason: /seal vnc-0100001 on the watch list/,
        fourEyes: true,
    },
    {
        name: "company entries are not matched",
        watch: [entry("company", "0101234567")],
        pass: true,
        reason: /nothing on the watch list/,
    },
]);

describe("decide", () => {
    it("releases a clean passage and records versions", () => {
        const record = decide(facts(), view(), PARAMS, NOW);
        expect(record).toMatchObject({
            decision: "RELEASE",
            ruleSetVersion: RULE_SET_VERSION,
            clearanceVersion: "test-1",
            offline: false,
            clearanceAgeMs: 5 * MINUTE,
            fourEyes: false,
        });
        expect(record.decidingRule).toBeUndefined();
        expect(record.results.map((r) => r.rule)).toEqual(RULES.map((r) => r.id));
        expect(record.results.every((r) => r.pass)).toBe(true);
    });

    it.each<{ name: string; f?: Partial<PassageFacts>; d?: Declaration[]; w?: WatchListEntry[]; expected: object }>([
        {
            name: "HOLD decided by the first failing HOLD rule",
            f: { timedOut: ["seal"], containers: [{ number: "MSKU1234565", checkDigitOk: true }] },
            expected: { decision: "HOLD", decidingRule: "required-reads", fourEyes: false },
        },
        {
            name: "INSPECT outranks HOLD",
            f: { timedOut: ["seal"], grossKg: 40_000 },
            expected: { decision: "INSPECT", decidingRule: "weight" },
        },
        {
            name: "REJECT outranks INSPECT",
            d: [{ ...DECL, status: "CANCELLED" }],
            f: { grossKg: 40_000 },
            expected: { decision: "REJECT", decidingRule: "declaration-valid" },
        },
        {
            name: "RED inspected releases, but with four eyes",
            d: [{ ...DECL, channel: "RED", inspectionDone: true }],
            expected: { decision: "RELEASE", fourEyes: true },
        },
        {
            name: "watch list → INSPECT with four eyes",
            w: [entry("plate", "15C12345")],
            expected: { decision: "INSPECT", decidingRule: "watch-list", fourEyes: true },
        },
        {
            name: "unknown declaration holds",
            d: [],
            expected: { decision: "HOLD", decidingRule: "declaration-known" },
        },
    ])("$name", ({ f, d, w, expected }) => {
        expect(decide(facts(f), view(d ?? [DECL], w ?? []), PARAMS, NOW)).toMatchObject(expected);
    });

    it("marks stale data offline: policy cached still releases, policy hold holds", () => {
        const stale = view([DECL], [], NOW - 2 * 60 * MINUTE);
        expect(decide(facts(), stale, PARAMS, NOW)).toMatchObject({
            decision: "RELEASE",
            offline: true,
            clearanceAgeMs: 2 * 60 * MINUTE,
        });
        expect(decide(facts(), stale, { ...PARAMS, offlinePolicy: "hold" }, NOW)).toMatchObject({
            decision: "HOLD",
            decidingRule: "clearance-fresh",
            offline: true,
        });
        // A negative age is no proof of freshness: data dated after now counts as stale.
        const future = decide(facts(), view([DECL], [], NOW + MINUTE), { ...PARAMS, offlinePolicy: "hold" }, NOW);
        expect(future).toMatchObject({ decision: "HOLD", decidingRule: "clearance-fresh", offline: true });
        const never = decide(facts(), view([DECL], [], null), PARAMS, NOW);
        expect(never.offline).toBe(true);
        expect(never.clearanceAgeMs).toBeUndefined();
    });

    it("offline with policy cached still holds what the cache does not know", () => {
        const record = decide(facts(), view([], [], NOW - 5 * 60 * MINUTE), PARAMS, NOW);
        expect(record).toMatchObject({ decision: "HOLD", decidingRule: "declaration-known", offline: true });
    });

    it("turns a throwing clearance view into HOLD results, never an exception", () => {
        const broken: ClearanceView = {
            version: "x",
            declaration: () => {
                throw new Error("disk on fire");
            },
            watchList: () => [],
            ageMs: () => 0,
        };
        const record = decide(facts(), broken, PARAMS, NOW);
        expect(record.decision).toBe("HOLD");
        expect(record.results.find((r) => r.rule === "declaration-known")?.reason).toMatch(
            /rule could not be evaluated: disk on fire/,
        );
    });
});

// ---------------------------------------------------------------------------------------------------------------------
// Properties

const PLATES = ["15C-123.45", "15R-012.34", "15C-I23.45", "14C-234.56", "29A-999.99", "", "粤A12345"];
const NUMBERS = ["101234567820", "101234567821", "301234567820", "100001234540", "105551234100", "x", ""];
const CONTAINERS = ["CSQU3054383", "MSKU1234565", "ZEPU0037255", "CSQU3054384", "garbage"];
const SEALS = ["VNC-0100001", "VNC-0200001", "X-1"];

const arbPlate = fc.record({
    text: fc.oneof(fc.constantFrom(...PLATES), fc.string()),
    confidence: fc.oneof(fc.double({ min: 0, max: 1, noNaN: true }), fc.constant(Number.NaN)),
    position: fc.constantFrom("front" as const, "rear" as const),
});
const toPlate = (p: { text: string; confidence: number; position: "front" | "rear" }) =>
    plateValues(p.text, p.position, p.confidence);
const arbSeal = fc.record({
    sealId: fc.oneof(fc.constantFrom(...SEALS), fc.string()),
    status: fc.constantFrom("SEALED" as const, "OPENED" as const, "TAMPERED" as const, "UNKNOWN" as const),
});
const READ_KINDS = ["plate", "declaration", "weight", "seal"] as const;

const arbFacts: fc.Arbitrary<PassageFacts> = fc.record({
    passageId: fc.string(),
    laneId: fc.string(),
    direction: fc.constantFrom("IN" as const, "OUT" as const),
    openedAt: fc.integer(),
    frontPlate: fc.option(arbPlate.map(toPlate), { nil: undefined }),
    rearPlate: fc.option(arbPlate.map(toPlate), { nil: undefined }),
    plateReads: fc.array(arbPlate.map(toPlate), { maxLength: 3 }),
    declarations: fc.array(fc.oneof(fc.constantFrom(...NUMBERS), fc.string()), { maxLength: 3 }),
    containers: fc.array(
        fc.record({ number: fc.oneof(fc.constantFrom(...CONTAINERS), fc.string()), checkDigitOk: fc.boolean() }),
        { maxLength: 3 },
    ),
    seals: fc.array(
        arbSeal.map((s) => seal(s.sealId, s.status)),
        { maxLength: 3 },
    ),
    grossKg: fc.option(fc.oneof(fc.double(), fc.integer({ min: 0, max: 60_000 })), { nil: undefined }),
    timedOut: fc.subarray([...READ_KINDS]),
    devicesOffline: fc.array(fc.string(), { maxLength: 2 }),
});

const arbDeclaration: fc.Arbitrary<Declaration> = fc.record({
    number: fc.constantFrom(...NUMBERS),
    type: fc.constantFrom("10", "30"),
    channel: fc.constantFrom("GREEN" as const, "YELLOW" as const, "RED" as const),
    status: fc.constantFrom("CLEARED" as const, "PENDING" as const, "HELD" as const, "CANCELLED" as const),
    documentCheckDone: fc.boolean(),
    inspectionDone: fc.boolean(),
    declaredPlates: fc.array(fc.oneof(fc.constantFrom(...PLATES), fc.string()), { maxLength: 3 }),
    containers: fc.array(
        fc.record({
            number: fc.constantFrom(...CONTAINERS),
            sealNumbers: fc.array(fc.constantFrom(...SEALS), { maxLength: 2 }),
        }),
        { maxLength: 2 },
    ),
    declaredGrossKg: fc.option(fc.oneof(fc.double(), fc.integer({ min: 1, max: 60_000 })), { nil: undefined }),
    validFrom: fc.option(fc.constantFrom("2026-01-01", "2027-01-01", "nonsense"), { nil: undefined }),
    validUntil: fc.option(fc.constantFrom("2026-12-31", "2025-01-01", "nonsense"), { nil: undefined }),
    version: fc.nat(),
});

const arbWatch: fc.Arbitrary<WatchListEntry> = fc.record({
    id: fc.string(),
    kind: fc.constantFrom("plate" as const, "container" as const, "declaration" as const, "seal" as const),
    value: fc.oneof(fc.constantFrom(...PLATES, ...NUMBERS, ...CONTAINERS, ...SEALS), fc.string()),
    reason: fc.string(),
    version: fc.nat(),
});

const arbParams: fc.Arbitrary<RuleParams> = fc.record({
    weightTolerance: fc.double({ min: 0, max: 0.5, noNaN: true }),
    requiredReads: fc.subarray([...READ_KINDS]),
    clearanceMaxAgeMs: fc.integer({ min: 0, max: 24 * 60 * MINUTE }),
    offlinePolicy: fc.constantFrom("hold" as const, "cached" as const),
    minPlateConfidence: fc.double({ min: 0, max: 1, noNaN: true }),
});

const arbCase = fc.record({
    facts: arbFacts,
    declarations: fc.array(arbDeclaration, { maxLength: 4 }),
    watch: fc.array(arbWatch, { maxLength: 3 }),
    refreshedAt: fc.option(fc.integer({ min: NOW - 48 * 60 * MINUTE, max: NOW + MINUTE }), { nil: null }),
    params: arbParams,
});

describe("decide, issue 14: no release on half a match", () => {
    /** The issue's truck: declaration 103000000460 (amendment 0), tractor 29C-111.11, trailer 29R-011.11. */
    const ISSUE: Declaration = {
        ...DECL,
        number: "103000000460",
        declaredPlates: ["29C-111.11", "29R-011.11"],
    };
    const truck = (overrides: Partial<PassageFacts> = {}) =>
        facts({
            declarations: ["103000000460"],
            frontPlate: plateValues("29C-111.11", "front"),
            rearPlate: plateValues("29R-011.11", "rear"),
            ...overrides,
        });

    it("releases the truck that matches in every respect (control)", () => {
        expect(decide(truck(), view([ISSUE]), PARAMS, NOW).decision).toBe("RELEASE");
    });

    it("releases a seal whose only alert is its own low battery (upkeep, not the goods)", () => {
        const seals = [{ ...seal("VNC-0100001"), alerts: ["LOW_BATTERY"] }];
        expect(decide(truck({ seals }), view([ISSUE]), PARAMS, NOW).decision).toBe("RELEASE");
    });

    it("releases when a camera's other reads are misreads of its best read or below the confidence floor", () => {
        const plateReads = [
            plateValues("29C-111.11", "front"),
            plateValues("29C-1I1.11", "front", 0.9),
            plateValues("29C-999.99", "front", 0.1),
            plateValues("29R-011.11", "rear"),
        ];
        expect(decide(truck({ plateReads }), view([ISSUE]), PARAMS, NOW).decision).toBe("RELEASE");
    });

    it.each<{
        name: string;
        f: Partial<PassageFacts>;
        d?: Declaration[];
        decision: string;
        rule: string;
        reason: RegExp;
    }>([
        {
            name: "rear plate read 29R-099.98 (was RELEASE)",
            f: { rearPlate: plateValues("29R-099.98", "rear") },
            decision: "HOLD",
            rule: "plate-match",
            reason: /rear plate 29R09998 is not the declared trailer plate 29R01111: another vehicle/,
        },
        {
            name: "tractor wrong, trailer right (was RELEASE)",
            f: { frontPlate: plateValues("29C-111.18", "front") },
            decision: "HOLD",
            rule: "plate-match",
            reason: /front plate 29C11118 is not the declared tractor plate 29C11111/,
        },
        {
            name: "CN trailer without 挂 (was RELEASE)",
            d: [{ ...ISSUE, declaredPlates: ["桂A12345", "桂B1234挂"] }],
            f: { frontPlate: plateValues("桂A12345", "front"), rearPlate: plateValues("桂B1234", "rear") },
            decision: "HOLD",
            rule: "plate-match",
            reason: /likely misread/,
        },
        {
            name: "amendment 1 shown, the gate has amendment 0 (was RELEASE on amendment 0)",
            f: { declarations: ["103000000461"] },
            decision: "HOLD",
            rule: "declaration-known",
            reason: /the gate has only 103000000460 \(amendment 0\)/,
        },
        {
            name: "an export declaration at the import lane (was RELEASE)",
            d: [{ ...ISSUE, number: "303000000460", type: "30" }],
            f: { declarations: ["303000000460"] },
            decision: "HOLD",
            rule: "declaration-route",
            reason: /lane L1 is an import lane/,
        },
        {
            name: "a declaration for another gate (was RELEASE)",
            d: [{ ...ISSUE, borderGate: "MC01" }],
            f: {},
            decision: "HOLD",
            rule: "declaration-route",
            reason: /is for border gate MC01, this gate is HN01/,
        },
        {
            name: "the front camera also read another tractor with usable confidence (was RELEASE on the best read)",
            f: {
                plateReads: [
                    plateValues("29C-111.11", "front"),
                    plateValues("29C-555.66", "front", 0.9),
                    plateValues("29R-011.11", "rear"),
                ],
            },
            decision: "HOLD",
            rule: "plate-match",
            reason: /the front camera also read 29C55566 \(confidence 0.9\), another plate than 29C11111/,
        },
        {
            name: "a SEALED seal that raised ROPE_CUT (was RELEASE)",
            f: { seals: [{ ...seal("VNC-0100001"), alerts: ["ROPE_CUT"] }] },
            decision: "INSPECT",
            rule: "seals",
            reason: /seal VNC-0100001 raised ROPE_CUT: the seal was interfered with/,
        },
        {
            name: "a seal that raised ROUTE_DEVIATION on its trip (was RELEASE)",
            f: { seals: [{ ...seal("VNC-0100001"), alerts: ["ROUTE_DEVIATION"] }] },
            decision: "HOLD",
            rule: "seals",
            reason: /seal VNC-0100001 raised ROUTE_DEVIATION on its trip/,
        },
        {
            name: "seals swapped between two containers (was RELEASE)",
            d: [
                {
                    ...ISSUE,
                    containers: [
                        { number: "CSQU3054383", sealNumbers: ["VNC-0100001"] },
                        { number: "MSKU1234565", sealNumbers: ["VNC-0100002"] },
                    ],
                },
            ],
            f: {
                containers: [
                    { number: "CSQU3054383", checkDigitOk: true },
                    { number: "MSKU1234565", checkDigitOk: true },
                ],
                seals: [
                    { ...seal("VNC-0100001"), containerNumber: "MSKU1234565" },
                    { ...seal("VNC-0100002"), containerNumber: "CSQU3054383" },
                ],
            },
            decision: "INSPECT",
            rule: "seals",
            reason: /seal VNC-0100001 reports container MSKU1234565, but is declared on CSQU3054383/,
        },
    ])("$name → $decision", ({ f, d, decision, rule, reason }) => {
        const record = decide(truck(f), view(d ?? [ISSUE]), PARAMS, NOW);
        expect(record.decision).toBe(decision);
        expect(record.decidingRule).toBe(rule);
        expect(record.results.find((r) => r.rule === rule)?.reason).toMatch(reason);
    });

    it("asks central at once for an amendment newer than the cache, and for an unknown declaration", () => {
        expect(decide(truck({ declarations: ["103000000461"] }), view([ISSUE]), PARAMS, NOW).clearanceRequests).toEqual(
            ["103000000461"],
        );
        expect(decide(truck({ declarations: ["105551234130"] }), view([ISSUE]), PARAMS, NOW).clearanceRequests).toEqual(
            ["105551234130"],
        );
        expect(decide(truck(), view([ISSUE]), PARAMS, NOW).clearanceRequests).toBeUndefined();
    });

    it("decides a superseded amendment on the newest: a cancelled amendment 1 rejects amendment 0's truck", () => {
        const record = decide(
            truck(),
            view([ISSUE, { ...ISSUE, number: "103000000461", status: "CANCELLED", version: 2 }]),
            PARAMS,
            NOW,
        );
        expect(record.decision).toBe("REJECT");
        expect(record.results.find((r) => r.rule === "declaration-known")?.reason).toMatch(
            /superseded by 103000000461 \(amendment 1\): decided on 103000000461/,
        );
    });

    it("makes a manual release of a truck held on stale data four-eyes when configured", () => {
        const stale = view([ISSUE], [], NOW - 67_000);
        const params = { ...PARAMS, clearanceMaxAgeMs: MINUTE, offlinePolicy: "hold" as const };
        expect(decide(truck(), stale, params, NOW)).toMatchObject({ decision: "HOLD", offline: true, fourEyes: false });
        expect(decide(truck(), stale, { ...params, staleReleaseFourEyes: true }, NOW)).toMatchObject({
            decision: "HOLD",
            offline: true,
            fourEyes: true,
            clearanceAgeMs: 67_000,
        });
    });

    it("prints ages exactly enough that a stale age never reads as within its limit", () => {
        expect(exactAge(67_000)).toBe("67 s");
        expect(exactAge(60_001)).toBe("61 s");
        expect(exactAge(60_000)).toBe("60 s");
        expect(exactAge(30 * MINUTE + 1_000)).toBe("30 min 1 s");
        expect(exactAge(2 * 60 * MINUTE)).toBe("2 h");
        fc.assert(
            fc.property(
                fc.integer({ min: 1, max: 24 * 60 }),
                fc.integer({ min: 1, max: 10 * 60 * MINUTE }),
                (maxS, over) => {
                    const max = maxS * 1000;
                    const seconds = (text: string) =>
                        [...text.matchAll(/(\d+) (h|min|s)/g)].reduce(
                            (sum, m) => sum + Number(m[1]) * (m[2] === "h" ? 3600 : m[2] === "min" ? 60 : 1),
                            0,
                        );
                    expect(seconds(exactAge(max + over))).toBeGreaterThan(seconds(exactAge(max)));
                },
            ),
        );
    });
});

describe("decide, properties", () => {
    it("never throws; the decision is one of four; RELEASE ⇒ every result passed; tampered or unknown never RELEASE", () => {
        fc.assert(
            fc.property(arbCase, (c) => {
                const clearance = view(c.declarations, c.watch, c.refreshedAt);
                const record = decide(c.facts, clearance, c.params, NOW);
                expect(["RELEASE", "HOLD", "INSPECT", "REJECT"]).toContain(record.decision);
                expect(record.results).toHaveLength(RULES.length);
                if (record.decision === "RELEASE") {
                    expect(record.results.every((r) => r.pass)).toBe(true);
                    expect(record.decidingRule).toBeUndefined();
                } else {
                    expect(record.results.find((r) => r.rule === record.decidingRule)?.severity).toBe(record.decision);
                }
                if (c.facts.seals.some((s) => s.status === "TAMPERED")) expect(record.decision).not.toBe("RELEASE");
                if (c.facts.declarations.some((n) => clearance.declaration(n) === undefined)) {
                    expect(record.decision).not.toBe("RELEASE");
                }
            }),
            { numRuns: 2000 },
        );
    });

    it("a declaration the cache does not hold is never RELEASE, whatever else the passage shows", () => {
        fc.assert(
            fc.property(arbCase, (c) => {
                const f = { ...c.facts, declarations: [...c.facts.declarations, "100001234540"] };
                const record = decide(
                    f,
                    view(c.declarations.filter((d) => !d.number.startsWith("1000012345"))),
                    c.params,
                    NOW,
                );
                expect(record.decision).not.toBe("RELEASE");
            }),
        );
    });
});

describe("rule parameters from the configuration", () => {
    it("carries the gate's code and rules.staleReleaseFourEyes (off by default, on in the demo)", async () => {
        const { ruleParams } = await import("../../src/lane/engine.ts");
        const { loadConfig } = await import("../../src/config/load.ts");
        const lanes =
            "    - { id: L1, devices: [{ id: s1, model: serial-barcode-scanner, address: 'tcp://127.0.0.1:1' }] }";
        const { testConfig } = await import("../helpers/gate.ts");
        const { tempDir } = await import("../helpers/tmp.ts");
        const dir = tempDir();
        try {
            expect(ruleParams(testConfig(dir.path, lanes))).toMatchObject({
                gateId: "T01",
                staleReleaseFourEyes: false,
            });
            expect(
                ruleParams(testConfig(dir.path, lanes, "rules: { staleReleaseFourEyes: true }")).staleReleaseFourEyes,
            ).toBe(true);
            expect(ruleParams(loadConfig("config/demo.yaml")).staleReleaseFourEyes).toBe(true);
        } finally {
            dir.cleanup();
        }
    });
});
