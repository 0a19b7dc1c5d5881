/**
 * The reason codes an officer gives for an action on a passage: one catalogue, so the dashboard offers
 * the same choices the API accepts and central receives codes it can count, not free text. Free text
 * goes in the action's note. Codes are stable identifiers: add new ones, never rename one that shipped.
 */
import { catalogue, translate } from "../i18n/format.ts";

export type OfficerActionKind = "confirm" | "hold" | "release" | "divert";
/** What a reason can be given for: a passage's actions, and an inspection case's ends (src/inspection). */
export type ReasonActionKind = OfficerActionKind | "detain" | "refuse";

export interface ReasonCode {
    code: string;
    label: string;
    /** The actions this reason can be given for. */
    actions: readonly ReasonActionKind[];
}

const REASON_ACTIONS: Readonly<Record<string, readonly ReasonActionKind[]>> = {
    DECISION_CORRECT: ["confirm"],
    DOCS_VERIFIED: ["confirm", "release"],
    INSPECTED_OK: ["confirm", "release"],
    XRAY_CLEAR: ["confirm", "release"],
    PLATE_VERIFIED: ["release"],
    SEAL_VERIFIED: ["release"],
    WEIGHT_EXPLAINED: ["release"],
    DEVICE_FAULT: ["confirm", "hold", "release"],
    DOCS_MISSING: ["hold"],
    DECLARATION_MISMATCH: ["hold", "divert"],
    SEAL_DAMAGED: ["hold", "divert"],
    WEIGHT_DEVIATION: ["hold", "divert"],
    RISK_TARGETED: ["hold", "divert"],
    RANDOM_SELECTION: ["divert"],
    XRAY_REQUIRED: ["divert"],
    OTHER_AGENCY: ["hold"],
    RPM_ALARM: ["divert"],
    CONTRABAND_FOUND: ["detain", "refuse"],
    GOODS_UNDECLARED: ["detain", "refuse"],
    RADIATION_CONFIRMED: ["detain", "refuse"],
    SEAL_BROKEN_FOUND: ["detain", "refuse"],
};

/** The English label is the officer catalogue's (`reasonCode.<CODE>`): API clients and central read it. */
export const REASON_CODES: readonly ReasonCode[] = Object.entries(REASON_ACTIONS).map(([code, actions]) => ({
    code,
    label: translate(catalogue("officer", "en"), `reasonCode.${code}`),
    actions,
}));

const BY_CODE = new Map(REASON_CODES.map((reason) => [reason.code, reason]));

export function reasonCode(code: string): ReasonCode | undefined {
    return BY_CODE.get(code);
}

/** Why a reason code cannot be given for an action, or undefined when it can. */
export function reasonProblem(code: string, actions: readonly ReasonActionKind[]): string | undefined {
    const reason = BY_CODE.get(code);
    if (!reason) return `unknown reason code "${code}" (see GET /api/v1/reason-codes)`;
    if (!actions.some((action) => reason.actions.includes(action)))
        return `reason code ${code} is not a reason to ${actions.join(" or ")}`;
    return undefined;
}

// ---------------------------------------------------------------------------------------------------------------------
// The rules' reasons

/**
 * Why a rule passed or failed, as a code with parameters: central counts codes, the dashboard words them in
 * the officer's language from the catalogues (`reason.<CODE>` in src/i18n/officer.*.json, where the English
 * wording stored in a rule's `reason` lives too). Codes are stable identifiers: add new ones, never rename one.
 */
export const RULE_REASON_CODES = [
    "CLEARANCE_FRESH",
    "CLEARANCE_NEVER_REFRESHED",
    "CLEARANCE_DATED_AHEAD",
    "CLEARANCE_STALE",
    "OFFLINE_POLICY_HOLD",
    "OFFLINE_DECIDING_FROM_CACHE",
    "STALE_RELEASE_FOUR_EYES",
    "DECLARATION_KNOWN",
    "DECLARATION_UNKNOWN",
    "DECLARATION_NEWER_THAN_CACHE",
    "DECLARATION_SUPERSEDED",
    "ROUTE_OK",
    "DECLARATION_OTHER_GATE",
    "DECLARATION_WRONG_DIRECTION",
    "DECLARATION_DIRECTION_UNKNOWN",
    "PLATE_MATCH",
    "PLATE_DECLARED_NOT_READ",
    "PLATE_LIKELY_MISREAD",
    "PLATE_OTHER",
    "PLATE_UNDECLARED",
    "PLATE_NONE_READ",
    "PLATE_CONFLICTING_READS",
    "SEAL_BROKEN",
    "SEAL_TAMPER_ALERT",
    "SEAL_TRIP_ALERT",
    "SEAL_NOT_READ",
    "SEAL_NOT_SEALED",
    "SEAL_UNDECLARED",
    "SEAL_CONTAINER_MISMATCH",
    "SEAL_PAIRED",
    "SEAL_PAIRING_UNVERIFIED",
    "READS_MISSING",
    "READS_MISSING_PLATE",
    "READS_TIMED_OUT",
    "READS_DEVICE_OFFLINE",
    "READS_BOUNDED",
    "READS_ALL_PRESENT",
    "READS_NONE_REQUIRED",
    "DECLARATION_NONE_SCANNED",
    "NOT_CHECKED_NO_DECLARATION",
    "DECLARATION_CANCELLED",
    "DECLARATION_NOT_CLEARED",
    "DECLARATION_VALIDITY_UNREADABLE",
    "DECLARATION_NOT_YET_VALID",
    "DECLARATION_EXPIRED",
    "DECLARATION_VALID",
    "CHANNEL_YELLOW_PENDING",
    "CHANNEL_RED_PENDING",
    "CHANNEL_PASSED",
    "CHANNEL_CHECKED",
    "CHANNEL_INSPECTED",
    "PLATE_NONE_DECLARED",
    "PLATE_NONE_READ_NOT_CHECKED",
    "CONTAINERS_NONE_READ",
    "CONTAINER_CHECK_DIGIT",
    "CONTAINER_UNDECLARED",
    "CONTAINERS_VALID_UNCHECKED",
    "CONTAINER_DECLARED",
    "CONTAINERS_DECLARED",
    "SEALS_INTACT_UNCHECKED",
    "SEALS_NONE_READ",
    "SEALS_NONE",
    "SEALS_DECLARED_SEALED",
    "WEIGHT_NOT_READ",
    "WEIGHT_NOT_DECLARED",
    "WEIGHT_DECLARED_UNUSABLE",
    "WEIGHT_WITHIN",
    "WEIGHT_OUTSIDE",
    "WATCH_LIST_HIT",
    "WATCH_LIST_CLEAR",
    "AUTOMATIC_PROCESSING",
    "MANUAL_PROCESSING",
    "MANUAL_PROCESSING_DISK_QUOTA",
    "RULE_FAILED",
    "RANDOM_SELECTION_OFF",
    "RANDOM_SELECTED",
    "RANDOM_NOT_SELECTED",
] as const;

export type RuleReasonCode = (typeof RULE_REASON_CODES)[number];

/** One reason of a rule's result. */
export interface RuleFinding {
    code: RuleReasonCode;
    params: Readonly<Record<string, string | number>>;
}

/**
 * The English text of a finding, the one stored in a rule's `reason` (the English catalogue's wording);
 * a parameter that is missing stays as `{name}`.
 */
export function ruleReasonText(finding: RuleFinding): string {
    return translate(catalogue("officer", "en"), `reason.${finding.code}`, finding.params);
}
