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
