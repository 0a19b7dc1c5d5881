/**
 * The lane engine's rules: one pure function per rule, of (facts, clearance, params, now), and `decide`,
 * which runs them all and turns their results into a decision (DESIGN.md "Lane engine", domain.md §1).
 *
 * Order (RULES below), and why: the gate's own manual-processing state first (it overrides everything);
 * then freshness, because how far the cache can be trusted frames every
 * other result; then the reads, because without them nothing else can be checked; then the declaration
 * (known, valid, channel) before what is compared against it (plates, containers, seals, weight); the
 * watch list last. The order matters only for `decidingRule`: the first failing rule of the most severe
 * severity is named.
 *
 * Error rules: no rule throws, for any facts and any clearance view. A rule that has nothing to check
 * (no declaration known, nothing read) passes with a reason that says "not checked", so that one missing
 * thing fails once, in the rule that owns it (required-reads, declaration-known). Anything the cache
 * cannot vouch for (an unknown declaration, an unknown container) HOLDs; it never RELEASEs.
 */
import type { SealValues } from "../core/events.ts";
import { likelyMisread, normalizePlate, parseContainerNumber, parseDeclarationNumber } from "../core/identifiers.ts";
import { strongestSeverity } from "./outcome.ts";
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
export const RULE_SET_VERSION = "2026.11-3";

export type Rule = (facts: PassageFacts, clearance: ClearanceView, params: RuleParams, now: number) => RuleResult;

function pass(rule: string, reason: string, extra: Partial<RuleResult> = {}): RuleResult {
    return { rule, pass: true, reason, severity: "HOLD", ...extra };
}

function fail(rule: string, severity: Severity, reason: string, fourEyes?: boolean): RuleResult {
    return fourEyes ? { rule, pass: false, reason, severity, fourEyes } : { rule, pass: false, reason, severity };
}

function minutes(ms: number): string {
    if (ms < 60_000) return `${Math.round(ms / 1000)} s`;
    if (ms < 3_600_000) return `${Math.round(ms / 60_000)} min`;
    return `${(ms / 3_600_000).toFixed(1)} h`;
}

function percent(fraction: number): string {
    return `${Number((fraction * 100).toFixed(1))} %`;
}

/** First 11 characters of a declaration number: the part that survives amendments (domain.md §3.2). */
function baseOf(number: string): string {
    return number.trim().slice(0, 11);
}

function upper(text: string): string {
    return text.trim().toUpperCase();
}

function containerKey(text: string): string {
    return text.toUpperCase().replace(/[\s\-/]/g, "");
}

/**
 * The clearance entry of a scanned number: by the number, else by its base, so a view that indexes only
 * full numbers still finds a newer amendment. Invalid numbers are unknown.
 */
function lookup(clearance: ClearanceView, number: string): Declaration | undefined {
    if (!parseDeclarationNumber(number).ok) return undefined;
    return clearance.declaration(number.trim()) ?? clearance.declaration(baseOf(number));
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
 * marks the decision offline, and the other rules hold whatever the cache does not know).
 */
export const clearanceFresh: Rule = (_facts, clearance, params, now) => {
    const id = "clearance-fresh";
    const age = clearance.ageMs(now);
    const max = minutes(params.clearanceMaxAgeMs);
    if (!isStale(age, params)) return pass(id, `clearance data is ${minutes(Math.max(0, age ?? 0))} old`);
    const how =
        age === undefined || !Number.isFinite(age)
            ? "has never been refreshed"
            : age < 0
              ? `is dated ${minutes(-age)} in the future (the wall clock stepped back?)`
              : `is ${minutes(age)} old`;
    if (params.offlinePolicy === "hold") {
        return fail(id, "HOLD", `clearance data ${how} (max ${max}); the offline policy holds every passage`);
    }
    return pass(id, `offline: deciding from cached clearance data that ${how} (max ${max})`);
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
    const problems: string[] = [];
    const missing = params.requiredReads.filter((kind) => !present[kind]);
    if (missing.length > 0) {
        const detail = missing.map((kind) =>
            kind === "plate" ? `plate (none with confidence ≥ ${params.minPlateConfidence})` : kind,
        );
        problems.push(`missing ${detail.join(", ")}`);
    }
    if (facts.timedOut.length > 0) problems.push(`timed out: ${facts.timedOut.join(", ")}`);
    if (facts.devicesOffline.length > 0) {
        problems.push(`device offline during the passage: ${facts.devicesOffline.join(", ")}`);
    }
    const excess = Object.entries(facts.excess ?? {}).filter(([, count]) => count > 0);
    if (excess.length > 0) {
        problems.push(
            `more reads than a passage keeps, not kept: ${excess.map(([kind, n]) => `${n} ${kind}`).join(", ")}`,
        );
    }
    if (problems.length > 0) return fail(id, "HOLD", problems.join("; "));
    return pass(id, params.requiredReads.length > 0 ? `all required reads present` : "no reads required");
};

/**
 * "declaration-known": every scanned declaration is in the clearance cache, by number or by its 11-digit
 * base (latest amendment). Unknown → HOLD, not REJECT: central may not have synced it yet, and an
 * officer can look it up. None scanned → pass ("no declaration scanned") when declarations are not
 * required, HOLD when they are.
 */
export const declarationKnown: Rule = (facts, clearance, params) => {
    const id = "declaration-known";
    if (facts.declarations.length === 0) {
        return params.requiredReads.includes("declaration")
            ? fail(id, "HOLD", "no declaration scanned")
            : pass(id, "no declaration scanned");
    }
    const unknown: string[] = [];
    const notes: string[] = [];
    for (const number of facts.declarations) {
        const declaration = lookup(clearance, number);
        if (!declaration) unknown.push(number);
        else if (declaration.number !== number.trim()) {
            notes.push(`${number} is amended: latest is ${declaration.number}`);
        }
    }
    if (unknown.length > 0) {
        return fail(id, "HOLD", `declaration ${unknown.join(", ")} not in the clearance data (not synced yet?)`);
    }
    return pass(id, ["declaration known", ...notes].join("; "));
};

/**
 * "declaration-valid": every known declaration is CLEARED and within validFrom/validUntil at `now`.
 * CANCELLED → REJECT; PENDING, HELD, outside its validity or an unreadable date → HOLD.
 */
export const declarationValid: Rule = (facts, clearance, _params, now) => {
    const id = "declaration-valid";
    const declarations = knownDeclarations(facts, clearance);
    if (declarations.length === 0) return pass(id, "not checked: no known declaration");
    const problems: { severity: Severity; reason: string }[] = [];
    for (const d of declarations) {
        if (d.status === "CANCELLED") {
            problems.push({ severity: "REJECT", reason: `declaration ${d.number} is CANCELLED` });
            continue;
        }
        if (d.status !== "CLEARED") {
            problems.push({ severity: "HOLD", reason: `declaration ${d.number} is ${d.status}, not CLEARED` });
            continue;
        }
        const from = d.validFrom === undefined ? undefined : Date.parse(d.validFrom);
        const until = d.validUntil === undefined ? undefined : Date.parse(d.validUntil);
        if ((from !== undefined && Number.isNaN(from)) || (until !== undefined && Number.isNaN(until))) {
            problems.push({ severity: "HOLD", reason: `declaration ${d.number} has an unreadable validity date` });
        } else if (from !== undefined && now < from) {
            problems.push({ severity: "HOLD", reason: `declaration ${d.number} is valid only from ${d.validFrom}` });
        } else if (until !== undefined && now > until) {
            problems.push({ severity: "HOLD", reason: `declaration ${d.number} expired at ${d.validUntil}` });
        }
    }
    if (problems.length === 0) return pass(id, "declaration cleared and within its validity");
    return fail(id, strongestSeverity(problems.map((p) => p.severity)), problems.map((p) => p.reason).join("; "));
};

/**
 * "channel": GREEN passes; YELLOW passes once the document check is done, else HOLD; RED passes once the
 * inspection is done, else INSPECT. RED always sets fourEyes: a manual release of a red-channel truck
 * needs a supervisor, and so does an automatic one after inspection (decide records it either way).
 */
export const channel: Rule = (facts, clearance) => {
    const id = "channel";
    const declarations = knownDeclarations(facts, clearance);
    if (declarations.length === 0) return pass(id, "not checked: no known declaration");
    const red = declarations.some((d) => d.channel === "RED");
    const problems: { severity: Severity; reason: string }[] = [];
    for (const d of declarations) {
        if (d.channel === "YELLOW" && !d.documentCheckDone) {
            problems.push({ severity: "HOLD", reason: `declaration ${d.number} is YELLOW: document check not done` });
        } else if (d.channel === "RED" && !d.inspectionDone) {
            problems.push({ severity: "INSPECT", reason: `declaration ${d.number} is RED: inspection not done` });
        }
    }
    if (problems.length > 0) {
        return fail(
            id,
            strongestSeverity(problems.map((p) => p.severity)),
            problems.map((p) => p.reason).join("; "),
            red,
        );
    }
    const channels = [...new Set(declarations.map((d) => d.channel))].join(", ");
    const done = red ? " (inspection done)" : declarations.some((d) => d.channel === "YELLOW") ? " (checked)" : "";
    return pass(id, `channel ${channels}${done}`, red ? { fourEyes: true } : {});
};

/** The positions where two plates of equal length differ, as "B/8" pairs (read/declared). */
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
 * "plate-match": the front (tractor) plate or the rear (trailer) plate, read with confidence ≥
 * minPlateConfidence, equals a plate of a known declaration after normalisation (domain.md §5.4: the
 * cameras see different plates of one truck). A read that differs from a declared plate only by
 * confusable characters (O/0, 8/B, …) → HOLD naming the characters; no match → HOLD. No usable read:
 * HOLD when plates are required, else not checked; no known declaration, or one that declares no plate:
 * not checked.
 */
export const plateMatch: Rule = (facts, clearance, params) => {
    const id = "plate-match";
    const declarations = knownDeclarations(facts, clearance);
    if (declarations.length === 0) return pass(id, "not checked: no known declaration");
    const declared = [
        ...new Set(declarations.flatMap((d) => d.declaredPlates.map((p) => normalizePlate(p).normalized))),
    ];
    if (declared.length === 0) return pass(id, "not checked: the declaration lists no vehicle plate");
    const reads = usablePlates(facts, params).map((p) => ({
        position: p.position === "rear" ? "rear" : "front",
        plate: normalizePlate(p.text).normalized,
    }));
    if (reads.length === 0) {
        const reason = `no plate read with confidence ≥ ${params.minPlateConfidence}`;
        return params.requiredReads.includes("plate") ? fail(id, "HOLD", reason) : pass(id, `not checked: ${reason}`);
    }
    const matched = reads.find((r) => declared.includes(r.plate));
    if (matched) {
        const others = reads.filter((r) => r !== matched && !declared.includes(r.plate));
        const note = others.map((r) => ` (${r.position} plate ${r.plate} does not match)`).join("");
        return pass(id, `${matched.position} plate ${matched.plate} matches the declaration${note}`);
    }
    for (const r of reads) {
        const near = declared.find((d) => likelyMisread(r.plate, d));
        if (near !== undefined) {
            return fail(
                id,
                "HOLD",
                `${r.position} plate ${r.plate} differs from declared ${near} only in ${confusedCharacters(r.plate, near)}: likely misread`,
            );
        }
    }
    const seen = reads.map((r) => `${r.position} ${r.plate}`).join(", ");
    return fail(id, "HOLD", `plates read (${seen}) do not match the declared ${declared.join(", ")}`);
};

/**
 * "containers": every container read has a valid ISO 6346 check digit and is listed in a known
 * declaration. A bad check digit → HOLD ("likely OCR misread"); a container not declared → HOLD.
 * Declared containers that were not read pass: one declaration may cover several trucks.
 */
export const containers: Rule = (facts, clearance) => {
    const id = "containers";
    if (facts.containers.length === 0) return pass(id, "no container read");
    const declarations = knownDeclarations(facts, clearance);
    const declared = new Set(declarations.flatMap((d) => d.containers.map((c) => containerKey(c.number))));
    const problems: string[] = [];
    for (const c of facts.containers) {
        const parsed = parseContainerNumber(c.number);
        const number = containerKey(c.number);
        if (!c.checkDigitOk || !parsed.ok || !parsed.checkDigitOk) {
            problems.push(`container ${number} fails the ISO 6346 check digit: likely OCR misread`);
        } else if (declarations.length > 0 && !declared.has(number)) {
            problems.push(`container ${number} is not in the declaration`);
        }
    }
    if (problems.length > 0) return fail(id, "HOLD", problems.join("; "));
    if (declarations.length === 0) return pass(id, "check digits valid; not checked against a declaration");
    return pass(id, `container${facts.containers.length > 1 ? "s" : ""} declared, check digits valid`);
};

/** A seal that reports it was tampered with or opened: such a truck is inspected. */
export function sealBroken(seal: Pick<SealValues, "status">): boolean {
    return seal.status === "TAMPERED" || seal.status === "OPENED";
}

/**
 * "seals": any seal read TAMPERED or OPENED → INSPECT, whatever the declaration says. Then, against the
 * known declarations: every seal declared for the containers read must be read and SEALED (else HOLD),
 * and a seal read that no declaration lists → HOLD. Seal ids compare upper-cased.
 */
export const seals: Rule = (facts, clearance) => {
    const id = "seals";
    const broken = facts.seals.filter(sealBroken);
    if (broken.length > 0) {
        return fail(id, "INSPECT", broken.map((s) => `seal ${s.sealId} reports ${s.status}`).join("; "));
    }
    const declarations = knownDeclarations(facts, clearance);
    if (declarations.length === 0) {
        return pass(id, facts.seals.length > 0 ? "seals intact; not checked against a declaration" : "no seal read");
    }
    const read = new Map(facts.seals.map((s) => [upper(s.sealId), s] as const));
    const readContainers = new Set(facts.containers.map((c) => containerKey(c.number)));
    const allDeclared = new Set<string>();
    const expected = new Set<string>();
    for (const d of declarations) {
        for (const c of d.containers) {
            for (const seal of c.sealNumbers) {
                allDeclared.add(upper(seal));
                if (readContainers.has(containerKey(c.number))) expected.add(upper(seal));
            }
        }
    }
    const problems: string[] = [];
    for (const seal of expected) {
        const reading = read.get(seal);
        if (!reading) problems.push(`declared seal ${seal} not read`);
        else if (reading.status !== "SEALED") problems.push(`seal ${seal} is ${reading.status}, not SEALED`);
    }
    for (const s of facts.seals) {
        if (!allDeclared.has(upper(s.sealId))) problems.push(`seal ${s.sealId} is not declared`);
    }
    if (problems.length > 0) return fail(id, "HOLD", problems.join("; "));
    if (expected.size === 0 && facts.seals.length === 0) return pass(id, "no seal declared or read");
    return pass(id, "seals declared and SEALED");
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
    if (gross === undefined || !Number.isFinite(gross)) return pass(id, "not checked: no gross weight");
    if (declarations.length === 0 || declarations.some((d) => d.declaredGrossKg === undefined)) {
        return pass(id, "not checked: no declared gross weight");
    }
    const declared = declarations.reduce((sum, d) => sum + (d.declaredGrossKg ?? 0), 0);
    if (!Number.isFinite(declared) || declared <= 0) return pass(id, "not checked: declared gross weight unusable");
    const deviation = (gross - declared) / declared;
    const text = `gross ${Math.round(gross)} kg vs declared ${Math.round(declared)} kg: ${deviation >= 0 ? "+" : ""}${percent(deviation)}`;
    if (Math.abs(gross - declared) <= params.weightTolerance * declared) {
        return pass(id, `${text}, within ±${percent(params.weightTolerance)}`);
    }
    return fail(id, "INSPECT", `${text}, outside ±${percent(params.weightTolerance)}`);
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
    const hits: string[] = [];
    for (const entry of clearance.watchList()) {
        let hit = false;
        if (entry.kind === "plate") hit = plates.has(normalizePlate(entry.value).normalized);
        else if (entry.kind === "container") hit = containerSet.has(containerKey(entry.value));
        else if (entry.kind === "declaration") hit = bases.has(baseOf(entry.value));
        else if (entry.kind === "seal") hit = sealSet.has(upper(entry.value));
        if (hit) hits.push(`${entry.kind} ${entry.value} on the watch list (${entry.id}): ${entry.reason}`);
    }
    if (hits.length > 0) return fail(id, "INSPECT", hits.join("; "), true);
    return pass(id, "nothing on the watch list");
};

/** Every rule, in evaluation order (see the file comment for why this order). */
/** The gate itself is in manual processing (its disk quota is reached): an officer handles every truck. */
export const manualProcessing: Rule = (_facts, _clearance, params) =>
    params.manualProcessing === undefined
        ? pass("manual-processing", "automatic processing")
        : fail("manual-processing", "HOLD", `manual processing: ${params.manualProcessing}`);

export const RULES: readonly { id: string; rule: Rule }[] = [
    { id: "manual-processing", rule: manualProcessing },
    { id: "clearance-fresh", rule: clearanceFresh },
    { id: "required-reads", rule: requiredReads },
    { id: "declaration-known", rule: declarationKnown },
    { id: "declaration-valid", rule: declarationValid },
    { id: "channel", rule: channel },
    { id: "plate-match", rule: plateMatch },
    { id: "containers", rule: containers },
    { id: "seals", rule: seals },
    { id: "weight", rule: weight },
    { id: "watch-list", rule: watchList },
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
            return fail(id, "HOLD", `rule could not be evaluated: ${err instanceof Error ? err.message : String(err)}`);
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
    return record;
}
