/**
 * The lane engine's rules: one pure function per rule, of (facts, clearance, params, now), and `decide`,
 * which runs them all and turns their results into a decision (docs/design.md "Lane engine", docs/devices.md).
 *
 * Order (RULES below), and why: the gate's own manual-processing state first (it overrides everything);
 * then freshness, because how far the cache can be trusted frames every
 * other result; then the reads, because without them nothing else can be checked; then the declaration
 * (known, valid, channel) before what is compared against it (plates, containers, seals, weight); the
 * watch list, and random selection last. The order matters only for `decidingRule`: the first failing rule of the most severe
 * severity is named.
 *
 * Error rules: no rule throws, for any facts and any clearance view. A rule that has nothing to check
 * (no declaration known, nothing read) passes with a reason that says "not checked", so that one missing
 * thing fails once, in the rule that owns it (required-reads, declaration-known). Anything the cache
 * cannot vouch for (an unknown declaration, an unknown container) HOLDs; it never RELEASEs.
 */
import { createHash } from "node:crypto";
import type { SealValues } from "../core/events.ts";
import {
    directionOfTypeCode,
    normalizePlate,
    parseContainerNumber,
    parseDeclarationNumber,
    plateRelation,
} from "../core/identifiers.ts";
import { strongestSeverity } from "./outcome.ts";
import { type RuleFinding, type RuleReasonCode, ruleReasonText } from "./reasonCodes.ts";
import type {
    ClearanceView,
    DecisionRecord,
    Declaration,
    PassageFacts,
    RuleParams,
    RuleResult,
    Severity,
} from "./types.ts";

/** Bump on every change to a rule's logic, so a recorded decision says which rules made it. */
export const RULE_SET_VERSION = "2026.12-5";

export type Rule = (facts: PassageFacts, clearance: ClearanceView, params: RuleParams, now: number) => RuleResult;

function pass(rule: string, reason: string, extra: Partial<RuleResult> = {}): RuleResult {
    return { rule, pass: true, reason, severity: "HOLD", ...extra };
}

function fail(rule: string, severity: Severity, reason: string, fourEyes?: boolean): RuleResult {
    return fourEyes ? { rule, pass: false, reason, severity, fourEyes } : { rule, pass: false, reason, severity };
}

function finding(code: RuleReasonCode, params: Record<string, string | number> = {}): RuleFinding {
    return { code, params };
}

function textOf(findings: readonly RuleFinding[]): string {
    return findings.map(ruleReasonText).join("; ");
}

function passWith(rule: string, findings: RuleFinding[], extra: Partial<RuleResult> = {}): RuleResult {
    return pass(rule, textOf(findings), { findings, ...extra });
}

function failWith(rule: string, severity: Severity, findings: RuleFinding[], fourEyes?: boolean): RuleResult {
    return { ...fail(rule, severity, textOf(findings), fourEyes), findings };
}

/**
 * An age as an officer reads it: whole seconds rounded up, so data a fraction of a second past its limit
 * never reads as within it ("67 s", "60 s"); up to 120 s in seconds, beyond in h / min / s ("30 min 1 s").
 */
export function exactAge(ms: number): string {
    const total = Math.ceil(Math.max(0, ms) / 1000);
    if (total <= 120) return `${total} s`;
    const h = Math.floor(total / 3600);
    const min = Math.floor((total % 3600) / 60);
    const sec = total % 60;
    return [h > 0 ? `${h} h` : "", min > 0 ? `${min} min` : "", sec > 0 ? `${sec} s` : ""].filter(Boolean).join(" ");
}

/** A fraction in percent, to one decimal. */
function percent(fraction: number): number {
    return Number((fraction * 100).toFixed(1));
}

/** First 11 characters of a declaration number: the part that survives amendments (docs/devices.md "Barcode and QR scanners"). */
function baseOf(number: string): string {
    return number.trim().slice(0, 11);
}

function upper(text: string): string {
    return text.trim().toUpperCase();
}

function containerKey(text: string): string {
    return text.toUpperCase().replace(/[\s\-/]/g, "");
}

/** The 12th digit of a valid declaration number: 0 at registration, +1 per amendment (docs/devices.md "Barcode and QR scanners"). */
function amendmentOf(number: string): number {
    return Number(number.trim().charAt(11));
}

/**
 * What the cache says of a scanned number: the amendment in force of its base (by the number, else by
 * its base, so a view that indexes only full numbers still finds a newer amendment), and whether the truck
 * shows an amendment newer than that one. Invalid numbers are unknown.
 */
function lookupScanned(
    clearance: ClearanceView,
    number: string,
): { declaration: Declaration | undefined; newerThanCache: boolean } {
    if (!parseDeclarationNumber(number).ok) return { declaration: undefined, newerThanCache: false };
    const declaration = clearance.declaration(number.trim()) ?? clearance.declaration(baseOf(number));
    const newerThanCache = declaration !== undefined && amendmentOf(number) > amendmentOf(declaration.number);
    return { declaration, newerThanCache };
}

/**
 * The declaration a scanned number is decided on: the cache's amendment in force, never an older one than
 * the truck shows (the gate cannot vouch for an amendment it has not seen). Undefined: unknown.
 */
function lookup(clearance: ClearanceView, number: string): Declaration | undefined {
    const { declaration, newerThanCache } = lookupScanned(clearance, number);
    return newerThanCache ? undefined : declaration;
}

function knownDeclarations(facts: PassageFacts, clearance: ClearanceView): Declaration[] {
    const seen = new Set<string>();
    const out: Declaration[] = [];
    for (const number of facts.declarations) {
        const declaration = lookup(clearance, number);
        if (declaration && !seen.has(declaration.number)) {
            seen.add(declaration.number);
            out.push(declaration);
        }
    }
    return out;
}

function usablePlates(facts: PassageFacts, params: RuleParams) {
    const reads = [facts.frontPlate, facts.rearPlate].filter((p) => p !== undefined);
    return reads.filter((p) => p.confidence >= params.minPlateConfidence);
}

/** Stale: never refreshed, over the maximum age, or dated after now (a wall-clock step back proves nothing). */
function isStale(age: number | undefined, params: RuleParams): boolean {
    return age === undefined || !Number.isFinite(age) || age < 0 || age > params.clearanceMaxAgeMs;
}

// ---------------------------------------------------------------------------------------------------------------------
// Rules

/**
 * "clearance-fresh": the clearance data is no older than `clearanceMaxAgeMs`. Never refreshed, or dated
 * after now, counts as stale. Stale with offlinePolicy "hold" → HOLD; stale with "cached" → pass (decide
 * marks the decision offline, and the other rules hold whatever the cache does not know). Ages are exact
 * to the second, rounded up (exactAge). With staleReleaseFourEyes, a stale result asks for four eyes: an
 * officer alone does not release a truck on data the gate cannot vouch for.
 */
export const clearanceFresh: Rule = (_facts, clearance, params, now) => {
    const id = "clearance-fresh";
    const age = clearance.ageMs(now);
    const max = exactAge(params.clearanceMaxAgeMs);
    if (!isStale(age, params)) return passWith(id, [finding("CLEARANCE_FRESH", { age: exactAge(age ?? 0), max })]);
    const stale =
        age === undefined || !Number.isFinite(age)
            ? finding("CLEARANCE_NEVER_REFRESHED", { max })
            : age < 0
              ? finding("CLEARANCE_DATED_AHEAD", { ahead: exactAge(-age), max })
              : finding("CLEARANCE_STALE", { age: exactAge(age), max });
    const fourEyes = params.staleReleaseFourEyes === true;
    const extra = fourEyes ? [finding("STALE_RELEASE_FOUR_EYES")] : [];
    if (params.offlinePolicy === "hold") {
        return failWith(id, "HOLD", [stale, finding("OFFLINE_POLICY_HOLD"), ...extra], fourEyes);
    }
    return passWith(id, [finding("OFFLINE_DECIDING_FROM_CACHE"), stale, ...extra], fourEyes ? { fourEyes: true } : {});
};

/**
 * "required-reads": every kind in `requiredReads` is present (plate: the front or rear plate read with
 * confidence ≥ minPlateConfidence; declaration: one scanned; weight: gross kg known; seal: one seal read),
 * no read timed out, no lane device was offline during the passage and the passage kept every distinct
 * read (facts.excess: a flood beyond what a passage keeps cannot be vouched for). Any failure → HOLD, with
 * every missing read, timeout, offline device and uncounted kind named.
 */
export const requiredReads: Rule = (facts, _clearance, params) => {
    const id = "required-reads";
    const present: Record<RuleParams["requiredReads"][number], boolean> = {
        plate: usablePlates(facts, params).length > 0,
        declaration: facts.declarations.length > 0,
        weight: facts.grossKg !== undefined && Number.isFinite(facts.grossKg),
        seal: facts.seals.length > 0,
    };
    const problems: RuleFinding[] = [];
    const missing = params.requiredReads.filter((kind) => !present[kind]);
    // The plate's threshold is a number of its own (each reader's language writes it), the kinds are words.
    if (missing.includes("plate")) {
        problems.push(finding("READS_MISSING_PLATE", { minConfidence: params.minPlateConfidence }));
    }
    const others = missing.filter((kind) => kind !== "plate");
    if (others.length > 0) problems.push(finding("READS_MISSING", { reads: others.join(", ") }));
    if (facts.timedOut.length > 0) problems.push(finding("READS_TIMED_OUT", { reads: facts.timedOut.join(", ") }));
    if (facts.devicesOffline.length > 0) {
        problems.push(finding("READS_DEVICE_OFFLINE", { devices: facts.devicesOffline.join(", ") }));
    }
    const excess = Object.entries(facts.excess ?? {}).filter(([, count]) => count > 0);
    if (excess.length > 0) {
        problems.push(finding("READS_BOUNDED", { counts: excess.map(([kind, n]) => `${n} ${kind}`).join(", ") }));
    }
    if (problems.length > 0) return failWith(id, "HOLD", problems);
    return passWith(id, [finding(params.requiredReads.length > 0 ? "READS_ALL_PRESENT" : "READS_NONE_REQUIRED")]);
};

/**
 * "declaration-known": every scanned declaration is in the clearance cache, by number or by its 11-digit
 * base. Unknown → HOLD, not REJECT: central may not have synced it yet, and an officer can look it up. A
 * truck showing an amendment newer than the cache's → HOLD: the gate cannot vouch for what it has not
 * seen (decide asks central for it at once). A truck showing a superseded amendment passes here and is
 * decided on the amendment in force, and the reason says so. None scanned → pass ("no declaration
 * scanned") when declarations are not required, HOLD when they are.
 */
export const declarationKnown: Rule = (facts, clearance, params) => {
    const id = "declaration-known";
    if (facts.declarations.length === 0) {
        return params.requiredReads.includes("declaration")
            ? failWith(id, "HOLD", [finding("DECLARATION_NONE_SCANNED")])
            : passWith(id, [finding("DECLARATION_NONE_SCANNED")]);
    }
    const problems: RuleFinding[] = [];
    const notes: RuleFinding[] = [];
    for (const scanned of facts.declarations) {
        const number = scanned.trim();
        const { declaration, newerThanCache } = lookupScanned(clearance, number);
        if (!declaration) problems.push(finding("DECLARATION_UNKNOWN", { number }));
        else if (newerThanCache) {
            problems.push(
                finding("DECLARATION_NEWER_THAN_CACHE", {
                    number,
                    amendment: amendmentOf(number),
                    cached: declaration.number,
                    cachedAmendment: amendmentOf(declaration.number),
                }),
            );
        } else if (declaration.number !== number) {
            notes.push(
                finding("DECLARATION_SUPERSEDED", {
                    number,
                    amendment: amendmentOf(number),
                    latest: declaration.number,
                    latestAmendment: amendmentOf(declaration.number),
                }),
            );
        } else notes.push(finding("DECLARATION_KNOWN", { number }));
    }
    if (problems.length > 0) return failWith(id, "HOLD", [...problems, ...notes]);
    return passWith(id, notes);
};

/**
 * The scanned numbers to ask central for at once: those the cache does not have, and amendments newer than
 * the cache's. Invalid numbers are not asked for (central has none).
 */
export function clearanceRequests(facts: PassageFacts, clearance: ClearanceView): string[] {
    const wanted = facts.declarations
        .map((number) => number.trim())
        .filter((number) => {
            if (!parseDeclarationNumber(number).ok) return false;
            const { declaration, newerThanCache } = lookupScanned(clearance, number);
            return declaration === undefined || newerThanCache;
        });
    return [...new Set(wanted)];
}

/**
 * "declaration-valid": every known declaration is CLEARED and within validFrom/validUntil at `now`.
 * CANCELLED → REJECT; PENDING, HELD, outside its validity or an unreadable date → HOLD.
 */
export const declarationValid: Rule = (facts, clearance, _params, now) => {
    const id = "declaration-valid";
    const declarations = knownDeclarations(facts, clearance);
    if (declarations.length === 0) return passWith(id, [finding("NOT_CHECKED_NO_DECLARATION")]);
    const problems: { severity: Severity; reason: RuleFinding }[] = [];
    for (const d of declarations) {
        const number = d.number;
        if (d.status === "CANCELLED") {
            problems.push({ severity: "REJECT", reason: finding("DECLARATION_CANCELLED", { number }) });
            continue;
        }
        if (d.status !== "CLEARED") {
            problems.push({
                severity: "HOLD",
                reason: finding("DECLARATION_NOT_CLEARED", { number, declarationStatus: d.status }),
            });
            continue;
        }
        const from = d.validFrom === undefined ? undefined : Date.parse(d.validFrom);
        const until = d.validUntil === undefined ? undefined : Date.parse(d.validUntil);
        if ((from !== undefined && Number.isNaN(from)) || (until !== undefined && Number.isNaN(until))) {
            problems.push({ severity: "HOLD", reason: finding("DECLARATION_VALIDITY_UNREADABLE", { number }) });
        } else if (from !== undefined && now < from) {
            const validFrom = d.validFrom ?? "";
            problems.push({ severity: "HOLD", reason: finding("DECLARATION_NOT_YET_VALID", { number, validFrom }) });
        } else if (until !== undefined && now > until) {
            const validUntil = d.validUntil ?? "";
            problems.push({ severity: "HOLD", reason: finding("DECLARATION_EXPIRED", { number, validUntil }) });
        }
    }
    if (problems.length === 0) return passWith(id, [finding("DECLARATION_VALID")]);
    return failWith(
        id,
        strongestSeverity(problems.map((p) => p.severity)),
        problems.map((p) => p.reason),
    );
};

const DIRECTION_WORDS: Readonly<Record<"IN" | "OUT" | "EITHER", string>> = {
    IN: "an import (into Vietnam)",
    OUT: "an export (out of Vietnam)",
    EITHER: "either direction (transit or transport)",
};
const LANE_WORDS: Readonly<Record<"IN" | "OUT", string>> = { IN: "an import lane (IN)", OUT: "an export lane (OUT)" };

/**
 * "declaration-route": every known declaration is for this border gate and this lane's direction. The
 * gate is central's `borderGate` where it states one (compared with `gate.id`, case-insensitive; where
 * central states none the declaration reached this gate's own feed, and the reason says it was not
 * stated). The direction is central's `direction` where it states one, else the type code's meaning
 * (identifiers.ts directionOfTypeCode: 10 import, 30 export, 51 transit either way …). Another gate, the
 * other direction, or a type code that says no direction with none stated → HOLD naming which.
 */
export const declarationRoute: Rule = (facts, clearance, params) => {
    const id = "declaration-route";
    const declarations = knownDeclarations(facts, clearance);
    if (declarations.length === 0) return passWith(id, [finding("NOT_CHECKED_NO_DECLARATION")]);
    const problems: RuleFinding[] = [];
    const notes: RuleFinding[] = [];
    const gate = params.gateId?.trim().toUpperCase();
    for (const d of declarations) {
        const declaredGate = d.borderGate?.trim().toUpperCase();
        if (declaredGate !== undefined && gate !== undefined && declaredGate !== gate) {
            problems.push(finding("DECLARATION_OTHER_GATE", { number: d.number, declaredGate, gate }));
        }
        const direction = d.direction ?? directionOfTypeCode(d.type);
        const directionSource = d.direction !== undefined ? "stated by central" : `type code ${d.type}`;
        if (direction === undefined) {
            problems.push(finding("DECLARATION_DIRECTION_UNKNOWN", { number: d.number, type: d.type }));
        } else if (direction !== "EITHER" && direction !== facts.direction) {
            problems.push(
                finding("DECLARATION_WRONG_DIRECTION", {
                    number: d.number,
                    declaredDirection: DIRECTION_WORDS[direction],
                    directionSource,
                    lane: facts.laneId,
                    laneDirection: LANE_WORDS[facts.direction],
                }),
            );
        } else {
            notes.push(
                finding("ROUTE_OK", {
                    number: d.number,
                    gate: declaredGate ?? "not stated",
                    direction: DIRECTION_WORDS[direction],
                    directionSource,
                }),
            );
        }
    }
    if (problems.length > 0) return failWith(id, "HOLD", [...problems, ...notes]);
    return passWith(id, notes);
};

/**
 * "channel": GREEN passes; YELLOW passes once the document check is done, else HOLD; RED passes once the
 * inspection is done, else INSPECT. RED always sets fourEyes: a manual release of a red-channel truck
 * needs a supervisor, and so does an automatic one after inspection (decide records it either way).
 */
export const channel: Rule = (facts, clearance) => {
    const id = "channel";
    const declarations = knownDeclarations(facts, clearance);
    if (declarations.length === 0) return passWith(id, [finding("NOT_CHECKED_NO_DECLARATION")]);
    const red = declarations.some((d) => d.channel === "RED");
    const problems: { severity: Severity; reason: RuleFinding }[] = [];
    for (const d of declarations) {
        if (d.channel === "YELLOW" && !d.documentCheckDone) {
            problems.push({ severity: "HOLD", reason: finding("CHANNEL_YELLOW_PENDING", { number: d.number }) });
        } else if (d.channel === "RED" && !d.inspectionDone) {
            problems.push({ severity: "INSPECT", reason: finding("CHANNEL_RED_PENDING", { number: d.number }) });
        }
    }
    if (problems.length > 0) {
        return failWith(
            id,
            strongestSeverity(problems.map((p) => p.severity)),
            problems.map((p) => p.reason),
            red,
        );
    }
    const channels = [...new Set(declarations.map((d) => d.channel))].join(", ");
    const passed = red
        ? "CHANNEL_INSPECTED"
        : declarations.some((d) => d.channel === "YELLOW")
          ? "CHANNEL_CHECKED"
          : "CHANNEL_PASSED";
    return passWith(id, [finding(passed, { channels })], red ? { fourEyes: true } : {});
};

/** The positions where two plates differ, as "B/8" pairs (read/declared); ∅ where one has no character. */
function confusedCharacters(read: string, declared: string): string {
    const a = [...read];
    const b = [...declared];
    const pairs: string[] = [];
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
        if (a[i] !== b[i]) pairs.push(`${a[i] ?? "∅"}/${b[i] ?? "∅"}`);
    }
    return pairs.join(", ");
}

/**
 * "plate-match": every plate the known declarations list is matched by the camera that sees it, and every
 * plate read is one of them (docs/devices.md "Plate cameras": the front camera sees the tractor, the rear camera the
 * trailer). A trailer plate (VN R series, CN 挂) is matched by the rear read; a tractor plate by the front
 * read, or by the rear read when no trailer is declared (a rigid truck shows its one plate at both ends).
 * Reads below minPlateConfidence do not count. Per declared plate, the read at its position is:
 * - the same plate → matched;
 * - a misread of it (identifiers.ts plateRelation: only confusable characters differ, or a CN trailer
 *   plate without its 挂 that is then no valid plate) → HOLD naming the characters, for an officer to
 *   verify by sight;
 * - another plate (a valid plate of another vehicle or class, or a different number) → HOLD;
 * - no usable read → HOLD (a declared trailer not read is not a match).
 * A plate read that is no declared plate (and not already named against one) → HOLD. Nothing read at
 * all: HOLD when plates are required, else not checked. No known declaration, or one that declares no
 * plate: not checked. One matching plate never releases a truck whose other plate does not match. A camera
 * that read, besides its best read, another plate with usable confidence (not a misread of it) → HOLD.
 */
export const plateMatch: Rule = (facts, clearance, params) => {
    const id = "plate-match";
    const declarations = knownDeclarations(facts, clearance);
    if (declarations.length === 0) return passWith(id, [finding("NOT_CHECKED_NO_DECLARATION")]);
    const declared = [
        ...new Map(
            declarations
                .flatMap((d) => d.declaredPlates)
                .map((text) => normalizePlate(text))
                .map((plate) => [plate.normalized, plate] as const),
        ).values(),
    ];
    if (declared.length === 0) return passWith(id, [finding("PLATE_NONE_DECLARED")]);
    const minConfidence = params.minPlateConfidence;
    const usable = (plate: PassageFacts["frontPlate"]) =>
        plate !== undefined && plate.confidence >= minConfidence ? normalizePlate(plate.text).normalized : undefined;
    const reads = { front: usable(facts.frontPlate), rear: usable(facts.rearPlate) };
    if (reads.front === undefined && reads.rear === undefined) {
        return params.requiredReads.includes("plate")
            ? failWith(id, "HOLD", [finding("PLATE_NONE_READ", { minConfidence })])
            : passWith(id, [finding("PLATE_NONE_READ_NOT_CHECKED", { minConfidence })]);
    }
    const trailerDeclared = declared.some((plate) => plate.trailer);
    const problems: RuleFinding[] = [];
    const matches: RuleFinding[] = [];
    /** Reads accounted for: matched, or named against a declared plate. */
    const named = new Set<"front" | "rear">();
    for (const plate of declared) {
        const role = plate.trailer ? "trailer" : "tractor";
        const positions: ("front" | "rear")[] = plate.trailer
            ? ["rear"]
            : trailerDeclared
              ? ["front"]
              : ["front", "rear"];
        const same = positions.find((position) => reads[position] === plate.normalized);
        if (same !== undefined) {
            named.add(same);
            matches.push(finding("PLATE_MATCH", { position: same, plate: plate.normalized, role }));
            continue;
        }
        const position = positions.find((at) => reads[at] !== undefined);
        const read = position === undefined ? undefined : reads[position];
        if (position === undefined || read === undefined) {
            problems.push(
                finding("PLATE_DECLARED_NOT_READ", {
                    declared: plate.normalized,
                    role,
                    position: positions[0] ?? "front",
                    minConfidence,
                }),
            );
            continue;
        }
        // A read that is another declared plate is that plate's match, not a wrong read of this one.
        if (declared.some((other) => other.normalized === read)) {
            problems.push(
                finding("PLATE_DECLARED_NOT_READ", { declared: plate.normalized, role, position, minConfidence }),
            );
            continue;
        }
        named.add(position);
        const relation = plateRelation(read, plate.normalized);
        problems.push(
            relation === "misread"
                ? finding("PLATE_LIKELY_MISREAD", {
                      position,
                      read,
                      declared: plate.normalized,
                      role,
                      difference: confusedCharacters(read, plate.normalized),
                  })
                : finding("PLATE_OTHER", { position, read, declared: plate.normalized, role }),
        );
    }
    // The best read of a position decides what it matched; any other usable read there must be the same
    // plate or a misread of it, or a second vehicle (or a plate swapped in view) hides behind the best read.
    const conflicting = new Set<string>();
    for (const other of facts.plateReads) {
        const read = reads[other.position];
        if (read === undefined || other.confidence < minConfidence) continue;
        const text = normalizePlate(other.text).normalized;
        if (plateRelation(text, read) !== "other" || conflicting.has(`${other.position}:${text}`)) continue;
        conflicting.add(`${other.position}:${text}`);
        problems.push(
            finding("PLATE_CONFLICTING_READS", {
                position: other.position,
                read,
                other: text,
                confidence: other.confidence,
            }),
        );
    }
    for (const position of ["front", "rear"] as const) {
        const read = reads[position];
        if (read === undefined || named.has(position) || declared.some((plate) => plate.normalized === read)) continue;
        problems.push(
            finding("PLATE_UNDECLARED", {
                position,
                read,
                declared: declared.map((plate) => plate.normalized).join(", "),
            }),
        );
    }
    if (problems.length > 0) return failWith(id, "HOLD", [...problems, ...matches]);
    return passWith(id, matches);
};

/**
 * "containers": every container read has a valid ISO 6346 check digit and is listed in a known
 * declaration. A bad check digit → HOLD ("likely OCR misread"); a container not declared → HOLD.
 * Declared containers that were not read pass: one declaration may cover several trucks.
 */
export const containers: Rule = (facts, clearance) => {
    const id = "containers";
    if (facts.containers.length === 0) return passWith(id, [finding("CONTAINERS_NONE_READ")]);
    const declarations = knownDeclarations(facts, clearance);
    const declared = new Set(declarations.flatMap((d) => d.containers.map((c) => containerKey(c.number))));
    const problems: RuleFinding[] = [];
    for (const c of facts.containers) {
        const parsed = parseContainerNumber(c.number);
        const container = containerKey(c.number);
        if (!c.checkDigitOk || !parsed.ok || !parsed.checkDigitOk) {
            problems.push(finding("CONTAINER_CHECK_DIGIT", { container }));
        } else if (declarations.length > 0 && !declared.has(container)) {
            problems.push(finding("CONTAINER_UNDECLARED", { container }));
        }
    }
    if (problems.length > 0) return failWith(id, "HOLD", problems);
    if (declarations.length === 0) return passWith(id, [finding("CONTAINERS_VALID_UNCHECKED")]);
    return passWith(id, [finding(facts.containers.length > 1 ? "CONTAINERS_DECLARED" : "CONTAINER_DECLARED")]);
};

/** A seal that reports it was tampered with or opened: such a truck is inspected. */
/** Seal alerts that report the seal itself was interfered with: as good as a TAMPERED status. */
const SEAL_TAMPER_ALERTS: ReadonlySet<string> = new Set(["DOOR_OPEN", "ROPE_CUT"]);
/** Alerts about the seal's own upkeep, not the goods: they do not stop a truck. */
const SEAL_UPKEEP_ALERTS: ReadonlySet<string> = new Set(["LOW_BATTERY", "BATTERY_LOW"]);

export function sealBroken(seal: Pick<SealValues, "status">): boolean {
    return seal.status === "TAMPERED" || seal.status === "OPENED";
}

/**
 * "seals": any seal read TAMPERED or OPENED, or raising a tamper alert (DOOR_OPEN, ROPE_CUT) → INSPECT,
 * whatever the declaration says; any other seal alert (ROUTE_DEVIATION, OVERSTAY, GPS_LOST, or a code not
 * known yet) → HOLD for an officer. A seal whose reader
 * reports the container it is fixed to (ISO 18185 readers do) must be on the container the declaration
 * pairs it with: another container → INSPECT, because seals swapped between containers are a tampering
 * indicator, not a misread. Then, against the known declarations: every seal declared for the containers
 * read must be read and SEALED (else HOLD), and a seal read that no declaration lists → HOLD. A seal
 * whose reader reports no container passes, and the reason says its pairing could not be verified. Seal
 * ids compare upper-cased, containers without separators.
 */
export const seals: Rule = (facts, clearance) => {
    const id = "seals";
    const tamperAlerts = facts.seals.flatMap((s) =>
        s.alerts
            .filter((alert) => SEAL_TAMPER_ALERTS.has(alert))
            .map((alert) => finding("SEAL_TAMPER_ALERT", { seal: s.sealId, alert })),
    );
    const broken = facts.seals.filter(sealBroken);
    if (broken.length > 0 || tamperAlerts.length > 0) {
        return failWith(id, "INSPECT", [
            ...broken.map((s) => finding("SEAL_BROKEN", { seal: s.sealId, status: s.status })),
            ...tamperAlerts,
        ]);
    }
    // Any other alert a seal raised (its trip's route, stops, fix, or a code gate-edge does not know yet)
    // is for an officer to weigh: never released past unread.
    const tripAlerts = facts.seals.flatMap((s) =>
        s.alerts
            .filter((alert) => !SEAL_UPKEEP_ALERTS.has(alert))
            .map((alert) => finding("SEAL_TRIP_ALERT", { seal: s.sealId, alert })),
    );
    const declarations = knownDeclarations(facts, clearance);
    if (declarations.length === 0) {
        if (tripAlerts.length > 0) return failWith(id, "HOLD", tripAlerts);
        return passWith(id, [finding(facts.seals.length > 0 ? "SEALS_INTACT_UNCHECKED" : "SEALS_NONE_READ")]);
    }
    const read = new Map(facts.seals.map((s) => [upper(s.sealId), s] as const));
    const readContainers = new Set(facts.containers.map((c) => containerKey(c.number)));
    /** Every declared seal and the containers it is declared on. */
    const pairing = new Map<string, Set<string>>();
    const expected = new Set<string>();
    for (const d of declarations) {
        for (const c of d.containers) {
            const container = containerKey(c.number);
            for (const seal of c.sealNumbers) {
                const key = upper(seal);
                pairing.set(key, (pairing.get(key) ?? new Set()).add(container));
                if (readContainers.has(container)) expected.add(key);
            }
        }
    }
    const swapped: RuleFinding[] = [];
    const problems: RuleFinding[] = [...tripAlerts];
    const notes: RuleFinding[] = [];
    for (const s of facts.seals) {
        const declaredOn = pairing.get(upper(s.sealId));
        if (declaredOn === undefined) {
            problems.push(finding("SEAL_UNDECLARED", { seal: s.sealId }));
            continue;
        }
        const declaredText = [...declaredOn].join(", ");
        if (s.containerNumber === undefined) {
            notes.push(finding("SEAL_PAIRING_UNVERIFIED", { seal: s.sealId, declared: declaredText }));
        } else if (declaredOn.has(containerKey(s.containerNumber))) {
            notes.push(finding("SEAL_PAIRED", { seal: s.sealId, container: containerKey(s.containerNumber) }));
        } else {
            swapped.push(
                finding("SEAL_CONTAINER_MISMATCH", {
                    seal: s.sealId,
                    reported: containerKey(s.containerNumber),
                    declared: declaredText,
                }),
            );
        }
    }
    for (const seal of expected) {
        const reading = read.get(seal);
        if (!reading) problems.push(finding("SEAL_NOT_READ", { seal }));
        else if (reading.status !== "SEALED") {
            problems.push(finding("SEAL_NOT_SEALED", { seal, status: reading.status }));
        }
    }
    if (swapped.length > 0) return failWith(id, "INSPECT", [...swapped, ...problems, ...notes]);
    if (problems.length > 0) return failWith(id, "HOLD", [...problems, ...notes]);
    if (expected.size === 0 && facts.seals.length === 0) return passWith(id, [finding("SEALS_NONE")]);
    return passWith(id, [finding("SEALS_DECLARED_SEALED"), ...notes]);
};

/**
 * "weight": |gross − declared| ≤ weightTolerance × declared, else INSPECT with the deviation in %. The
 * declared gross of several declarations on one truck is their sum. Unknown gross or declared gross
 * (or a declared gross ≤ 0) → pass, not checked: required-reads owns presence.
 */
export const weight: Rule = (facts, clearance, params) => {
    const id = "weight";
    const declarations = knownDeclarations(facts, clearance);
    const gross = facts.grossKg;
    if (gross === undefined || !Number.isFinite(gross)) return passWith(id, [finding("WEIGHT_NOT_READ")]);
    if (declarations.length === 0 || declarations.some((d) => d.declaredGrossKg === undefined)) {
        return passWith(id, [finding("WEIGHT_NOT_DECLARED")]);
    }
    const declared = declarations.reduce((sum, d) => sum + (d.declaredGrossKg ?? 0), 0);
    if (!Number.isFinite(declared) || declared <= 0) return passWith(id, [finding("WEIGHT_DECLARED_UNUSABLE")]);
    const deviation = (gross - declared) / declared;
    // Percentages as numbers (each reader's language writes its decimals), the sign apart.
    const weighed = {
        gross: Math.round(gross),
        declared: Math.round(declared),
        sign: deviation >= 0 ? "+" : "-",
        deviation: percent(Math.abs(deviation)),
        tolerance: percent(params.weightTolerance),
    };
    if (Math.abs(gross - declared) <= params.weightTolerance * declared) {
        return passWith(id, [finding("WEIGHT_WITHIN", weighed)]);
    }
    return failWith(id, "INSPECT", [finding("WEIGHT_OUTSIDE", weighed)]);
};

/**
 * "watch-list": a plate read (normalised, any confidence), a container read (upper-cased), a scanned
 * declaration (by 11-digit base) or a seal read (upper-cased) on the watch list → INSPECT with
 * fourEyes and each entry's reason. "company" entries are not matched: the passage carries no company.
 */
export const watchList: Rule = (facts, clearance) => {
    const id = "watch-list";
    const plates = new Set(
        [facts.frontPlate, facts.rearPlate, ...facts.plateReads]
            .filter((p) => p !== undefined)
            .map((p) => normalizePlate(p.text).normalized),
    );
    const containerSet = new Set(facts.containers.map((c) => containerKey(c.number)));
    const bases = new Set(facts.declarations.map(baseOf));
    const sealSet = new Set(facts.seals.map((s) => upper(s.sealId)));
    const hits: RuleFinding[] = [];
    for (const entry of clearance.watchList()) {
        let hit = false;
        if (entry.kind === "plate") hit = plates.has(normalizePlate(entry.value).normalized);
        else if (entry.kind === "container") hit = containerSet.has(containerKey(entry.value));
        else if (entry.kind === "declaration") hit = bases.has(baseOf(entry.value));
        else if (entry.kind === "seal") hit = sealSet.has(upper(entry.value));
        if (hit) {
            const { kind, value, reason } = entry;
            hits.push(finding("WATCH_LIST_HIT", { kind, value, entry: entry.id, reason }));
        }
    }
    if (hits.length > 0) return failWith(id, "INSPECT", hits, true);
    return passWith(id, [finding("WATCH_LIST_CLEAR")]);
};

/**
 * Random selection for inspection, as ASYCUDA's selectivity does: a share `randomInspectionRate` of the
 * trucks, chosen by the SHA-256 of the passage id (its first 32 bits as a fraction of 2^32), so a passage is
 * chosen the same way at every re-decision (the offline re-check, a restart) and a test knows which are.
 */
export const randomSelection: Rule = (facts, _clearance, params) => {
    const id = "random-selection";
    const rate = params.randomInspectionRate ?? 0;
    if (rate <= 0) return passWith(id, [finding("RANDOM_SELECTION_OFF")]);
    const draw = createHash("sha256").update(facts.passageId).digest().readUInt32BE(0) / 2 ** 32;
    const percent = Math.round(rate * 1000) / 10;
    return draw < rate
        ? failWith(id, "INSPECT", [finding("RANDOM_SELECTED", { percent })])
        : passWith(id, [finding("RANDOM_NOT_SELECTED", { percent })]);
};

/** Every rule, in evaluation order (see the file comment for why this order). */
/** The gate itself is in manual processing (its disk quota is reached): an officer handles every truck. */
export const manualProcessing: Rule = (_facts, _clearance, params) =>
    params.manualProcessing === undefined
        ? passWith("manual-processing", [finding("AUTOMATIC_PROCESSING")])
        : failWith("manual-processing", "HOLD", [
              params.manualProcessingQuota
                  ? finding("MANUAL_PROCESSING_DISK_QUOTA", { ...params.manualProcessingQuota })
                  : finding("MANUAL_PROCESSING", { reason: params.manualProcessing }),
          ]);

export const RULES: readonly { id: string; rule: Rule }[] = [
    { id: "manual-processing", rule: manualProcessing },
    { id: "clearance-fresh", rule: clearanceFresh },
    { id: "required-reads", rule: requiredReads },
    { id: "declaration-known", rule: declarationKnown },
    { id: "declaration-valid", rule: declarationValid },
    { id: "declaration-route", rule: declarationRoute },
    { id: "channel", rule: channel },
    { id: "plate-match", rule: plateMatch },
    { id: "containers", rule: containers },
    { id: "seals", rule: seals },
    { id: "weight", rule: weight },
    { id: "watch-list", rule: watchList },
    { id: "random-selection", rule: randomSelection },
];

// ---------------------------------------------------------------------------------------------------------------------
// Decision

/**
 * Runs every rule (results in RULES order) and decides: RELEASE when all pass, else the most severe
 * failing severity (REJECT > INSPECT > HOLD), named by the first failing rule of that severity. fourEyes
 * when any result asks for it or a known declaration is RED. offline and clearanceAgeMs come from the
 * freshness check. Never throws: a rule that throws (a broken clearance view, malformed facts) becomes a
 * failing HOLD result with the error in its reason, because the gate must not open on an exception.
 */
export function decide(facts: PassageFacts, clearance: ClearanceView, params: RuleParams, now: number): DecisionRecord {
    const results = RULES.map(({ id, rule }) => {
        try {
            return rule(facts, clearance, params, now);
        } catch (err) {
            const error = err instanceof Error ? err.message : String(err);
            return failWith(id, "HOLD", [finding("RULE_FAILED", { error })]);
        }
    });
    const failed = results.filter((r) => !r.pass);
    const severity = failed.length > 0 ? strongestSeverity(failed.map((r) => r.severity)) : undefined;
    const deciding = severity === undefined ? undefined : failed.find((r) => r.severity === severity);

    let age: number | undefined;
    let red = false;
    let clearanceVersion = "unknown";
    try {
        age = clearance.ageMs(now);
        red = knownDeclarations(facts, clearance).some((d) => d.channel === "RED");
        clearanceVersion = String(clearance.version);
    } catch {
        // Already recorded as a failing rule above; the record still gets written.
    }
    const record: DecisionRecord = {
        decision: severity ?? "RELEASE",
        results,
        ruleSetVersion: RULE_SET_VERSION,
        clearanceVersion,
        offline: isStale(age, params),
        fourEyes: red || results.some((r) => r.fourEyes === true),
    };
    if (deciding) record.decidingRule = deciding.rule;
    if (age !== undefined) record.clearanceAgeMs = age;
    try {
        const requests = clearanceRequests(facts, clearance);
        if (requests.length > 0) record.clearanceRequests = requests;
    } catch {
        // As above: the failing rule is recorded; asking central is an extra, not part of the decision.
    }
    return record;
}
