/**
 * The reason codes an officer gives for an action on a passage: one catalogue, so the dashboard offers
 * the same choices the API accepts and central receives codes it can count, not free text. Free text
 * goes in the action's note. Codes are stable identifiers: add new ones, never rename one that shipped.
 */

export type OfficerActionKind = "confirm" | "hold" | "release" | "divert";

export interface ReasonCode {
    code: string;
    label: string;
    /** The actions this reason can be given for. */
    actions: readonly OfficerActionKind[];
}

export const REASON_CODES: readonly ReasonCode[] = [
    { code: "DECISION_CORRECT", label: "Automatic decision checked and correct", actions: ["confirm"] },
    { code: "DOCS_VERIFIED", label: "Documents checked and in order", actions: ["confirm", "release"] },
    { code: "INSPECTED_OK", label: "Physical inspection done, no discrepancy", actions: ["confirm", "release"] },
    { code: "XRAY_CLEAR", label: "X-ray image reviewed, no discrepancy", actions: ["confirm", "release"] },
    { code: "PLATE_VERIFIED", label: "Plate misread; verified by sight against the declaration", actions: ["release"] },
    { code: "SEAL_VERIFIED", label: "Seal checked by hand and intact", actions: ["release"] },
    {
        code: "WEIGHT_EXPLAINED",
        label: "Weight difference explained (tare, fuel, packaging) and documented",
        actions: ["release"],
    },
    { code: "DEVICE_FAULT", label: "Lane device fault; processed by hand", actions: ["confirm", "hold", "release"] },
    { code: "DOCS_MISSING", label: "Documents missing or incomplete", actions: ["hold"] },
    {
        code: "DECLARATION_MISMATCH",
        label: "Vehicle or cargo does not match the declaration",
        actions: ["hold", "divert"],
    },
    { code: "SEAL_DAMAGED", label: "Seal broken, tampered or not the declared seal", actions: ["hold", "divert"] },
    { code: "WEIGHT_DEVIATION", label: "Weight outside the declared tolerance", actions: ["hold", "divert"] },
    { code: "RISK_TARGETED", label: "Risk profile or watch-list hit", actions: ["hold", "divert"] },
    { code: "RANDOM_SELECTION", label: "Random selection for inspection", actions: ["divert"] },
    { code: "XRAY_REQUIRED", label: "Sent to the X-ray scanner", actions: ["divert"] },
    { code: "OTHER_AGENCY", label: "Held for another agency (quarantine, border guard)", actions: ["hold"] },
];

const BY_CODE = new Map(REASON_CODES.map((reason) => [reason.code, reason]));

export function reasonCode(code: string): ReasonCode | undefined {
    return BY_CODE.get(code);
}

/** Why a reason code cannot be given for an action, or undefined when it can. */
export function reasonProblem(code: string, actions: readonly OfficerActionKind[]): string | undefined {
    const reason = BY_CODE.get(code);
    if (!reason) return `unknown reason code "${code}" (see GET /api/v1/reason-codes)`;
    if (!actions.some((action) => reason.actions.includes(action)))
        return `reason code ${code} is not a reason to ${actions.join(" or ")}`;
    return undefined;
}

// ---------------------------------------------------------------------------------------------------------------------
// The rules' reasons

/**
 * Why a rule passed or failed, as a code with parameters: central counts codes, the dashboard can word them
 * in the officer's language, and the text below is the one catalogue of their English wording. `{name}` is
 * replaced by the parameter of that name. Codes are stable identifiers: add new ones, never rename one.
 */
export const RULE_REASONS = {
    CLEARANCE_FRESH: "clearance data is {age} old (max {max})",
    CLEARANCE_NEVER_REFRESHED: "clearance data has never been refreshed (max age {max})",
    CLEARANCE_DATED_AHEAD:
        "clearance data is dated {ahead} in the future (the wall clock stepped back?) (max age {max})",
    CLEARANCE_STALE: "clearance data is {age} old (max {max})",
    OFFLINE_POLICY_HOLD: "the offline policy holds every passage",
    OFFLINE_DECIDING_FROM_CACHE: "offline: deciding from the cached clearance data",
    STALE_RELEASE_FOUR_EYES: "a release on stale clearance data needs a supervisor's approval",
    DECLARATION_KNOWN: "declaration {number} known",
    DECLARATION_UNKNOWN: "declaration {number} not in the clearance data (not synced yet?)",
    DECLARATION_NEWER_THAN_CACHE:
        "the truck shows {number} (amendment {amendment}), the gate has only {cached} (amendment {cachedAmendment}): it cannot vouch for the truck; central was asked for {number}",
    DECLARATION_SUPERSEDED:
        "the truck shows {number} (amendment {amendment}), superseded by {latest} (amendment {latestAmendment}): decided on {latest}",
    ROUTE_OK: "declaration {number}: border gate {gate}, {direction} ({directionSource})",
    DECLARATION_OTHER_GATE: "declaration {number} is for border gate {declaredGate}, this gate is {gate}",
    DECLARATION_WRONG_DIRECTION:
        "declaration {number} is {declaredDirection} ({directionSource}); lane {lane} is {laneDirection}",
    DECLARATION_DIRECTION_UNKNOWN:
        "declaration {number} of type {type} does not say which way its goods cross, and central gives no direction",
    PLATE_MATCH: "{position} plate {plate} is the declared {role} plate",
    PLATE_DECLARED_NOT_READ:
        "declared {role} plate {declared} was not read by the {position} camera (none with confidence ≥ {minConfidence})",
    PLATE_LIKELY_MISREAD:
        "{position} plate {read} differs from the declared {role} plate {declared} only in {difference}: likely misread, verify by sight",
    PLATE_OTHER: "{position} plate {read} is not the declared {role} plate {declared}: another vehicle",
    PLATE_UNDECLARED: "{position} plate {read} is not a plate of the declaration (declared: {declared})",
    PLATE_NONE_READ: "no plate read with confidence ≥ {minConfidence}",
    PLATE_CONFLICTING_READS:
        "the {position} camera also read {other} (confidence {confidence}), another plate than {read}: two vehicles or a swapped plate, verify by sight",
    SEAL_BROKEN: "seal {seal} reports {status}",
    SEAL_TAMPER_ALERT: "seal {seal} raised {alert}: the seal was interfered with",
    SEAL_TRIP_ALERT: "seal {seal} raised {alert} on its trip: an officer checks it before release",
    SEAL_NOT_READ: "declared seal {seal} not read",
    SEAL_NOT_SEALED: "seal {seal} is {status}, not SEALED",
    SEAL_UNDECLARED: "seal {seal} is not declared",
    SEAL_CONTAINER_MISMATCH:
        "seal {seal} reports container {reported}, but is declared on {declared}: seals swapped or moved, a tampering indicator",
    SEAL_PAIRED: "seal {seal} reports container {container}, as declared",
    SEAL_PAIRING_UNVERIFIED:
        "pairing of seal {seal} with container {declared} could not be verified: the reader reports no container",
} as const;

export type RuleReasonCode = keyof typeof RULE_REASONS;

/** One reason of a rule's result. */
export interface RuleFinding {
    code: RuleReasonCode;
    params: Readonly<Record<string, string | number>>;
}

/** The English text of a finding, from RULE_REASONS; a parameter that is missing stays as `{name}`. */
export function ruleReasonText(finding: RuleFinding): string {
    return RULE_REASONS[finding.code].replace(/\{(\w+)\}/g, (whole, name: string) =>
        name in finding.params ? String(finding.params[name]) : whole,
    );
}
