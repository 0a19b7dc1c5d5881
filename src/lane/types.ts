/**
 * The lane engine's contracts: clearance data from central, the facts of one passage as correlated from
 * the lane's readings, rule results and the decision. Rules are pure functions of (facts, clearance,
 * parameters, now); the correlator owns time and state.
 */
import type { PlateValues, SealValues } from "../core/events.ts";
import type { RuleFinding } from "./reasonCodes.ts";

declare module "../core/events.ts" {
    interface DeclaredEventData {
        /** A lane's decision as the lane engine stores the correlator's output (src/lane/engine.ts apply). */
        "passage.decided": { passageId: string; facts: PassageFacts; decision: DecisionRecord; outcome: Decision };
    }
}

export type Channel = "GREEN" | "YELLOW" | "RED";
export type DeclarationStatus = "CLEARED" | "PENDING" | "HELD" | "CANCELLED";

/** A customs declaration as central sends it (and the clearance cache keeps it). */
export interface Declaration {
    /** 12 digits; the first 11 identify it, the 12th counts amendments. */
    number: string;
    /** Two-digit type code: 10 import, 30 export, 51 transit … */
    type: string;
    channel: Channel;
    status: DeclarationStatus;
    /** YELLOW: the officer's document check is done. */
    documentCheckDone: boolean;
    /** RED: the physical inspection (manual or X-ray) is done and passed. */
    inspectionDone: boolean;
    /** Vehicle plates as declared (any format; rules compare normalised). Tractor and trailer both. */
    declaredPlates: string[];
    containers: { number: string; sealNumbers: string[] }[];
    declaredGrossKg?: number;
    /** ISO 8601; absent = no bound. */
    validFrom?: string;
    validUntil?: string;
    /** The border gate (its code, as `gate.id`) the goods are declared through, where central states it. */
    borderGate?: string;
    /** IN = into Vietnam, OUT = out of it, where central states it; else the type code's meaning counts. */
    direction?: "IN" | "OUT";
    version: number;
}

export interface WatchListEntry {
    id: string;
    kind: "plate" | "container" | "declaration" | "seal" | "company";
    /** Compared normalised (plates), upper-cased (containers, seals) or by the first 11 digits (declarations). */
    value: string;
    reason: string;
    version: number;
}

/** What the rules may ask of the clearance cache. */
export interface ClearanceView {
    /** By the full 12-digit number or its 11-digit base (the latest amendment wins). */
    declaration(number: string): Declaration | undefined;
    watchList(): readonly WatchListEntry[];
    /** Version of the clearance data (the sync cursor, or the import's version). */
    readonly version: string;
    /**
     * ms since the data was last refreshed from central (or imported); undefined if never. Data received in
     * this run is aged on the monotonic clock; data loaded at start by `now` (the wall clock) minus its
     * stored refresh time, which is negative after a wall-clock step back.
     */
    ageMs(now: number): number | undefined;
}

/** Everything the lane saw of one truck, as the correlator collected it. */
export interface PassageFacts {
    passageId: string;
    laneId: string;
    direction: "IN" | "OUT";
    openedAt: number;
    /** Plates by camera position; the best-confidence read of each, and every read kept for the record. */
    frontPlate?: PlateValues;
    rearPlate?: PlateValues;
    plateReads: PlateValues[];
    /** Declaration numbers scanned (validated 12-digit numbers). */
    declarations: string[];
    /** Container numbers scanned or read, with their check-digit verdict. */
    containers: { number: string; checkDigitOk: boolean }[];
    /** The latest read of each seal seen during the passage. */
    seals: SealValues[];
    /** The settled gross weight, if the truck was weighed. */
    grossKg?: number;
    /** Required reads that did not arrive in time ("plate", "declaration", "weight", "seal"). */
    timedOut: string[];
    /** Devices of the lane that were offline at some point during the passage. */
    devicesOffline: string[];
    /**
     * Reads a passage did not keep because it already holds as many distinct ones of that kind as it
     * keeps (a reader flooding ids): counted, never stored, and the passage is not released automatically.
     */
    excess?: Partial<Record<ExcessKind, number>>;
}

/** The lists of a passage that are bounded. */
export type ExcessKind = "plateReads" | "declarations" | "containers" | "seals";

export type Severity = "HOLD" | "INSPECT" | "REJECT";

export interface RuleResult {
    /** Stable rule id, e.g. "declaration-known", "channel", "plate-match". */
    rule: string;
    pass: boolean;
    /** Why, in words an officer reads on the dashboard (the findings' texts, where the rule gives findings). */
    reason: string;
    /** Why, as reason codes with parameters (reasonCodes.ts; worded in src/i18n/officer.*.json), where given. */
    findings?: RuleFinding[];
    /** What a failure leads to. */
    severity: Severity;
    /** A release of this passage needs a supervisor's second approval (RED channel, watch list). */
    fourEyes?: boolean;
}

export type Decision = "RELEASE" | "HOLD" | "INSPECT" | "REJECT";

export interface DecisionRecord {
    decision: Decision;
    results: RuleResult[];
    /** The failing rule that decided it (most severe first), absent on RELEASE. */
    decidingRule?: string;
    ruleSetVersion: string;
    clearanceVersion: string;
    /** Decided from cached clearance data older than the configured age. */
    offline: boolean;
    clearanceAgeMs?: number;
    /** A manual release needs a second person with the supervisor role. */
    fourEyes: boolean;
    /** Declaration numbers the gate should ask central for at once (an amendment newer than the cache). */
    clearanceRequests?: string[];
}

/** Rule parameters, from the config (`rules:`). */
export interface RuleParams {
    /** Gross weight may differ from declared by this fraction (0.05 = 5 %). */
    weightTolerance: number;
    /** Reads a passage must have before it can be released. */
    requiredReads: ("plate" | "declaration" | "weight" | "seal")[];
    /** Clearance data older than this is stale: decisions are marked offline. */
    clearanceMaxAgeMs: number;
    /** With stale data: "hold" holds everything; "cached" decides from the cache and holds only what it cannot vouch for. */
    offlinePolicy: "hold" | "cached";
    /** Plate reads below this confidence do not count as a match. */
    minPlateConfidence: number;
    /** This gate's code (`gate.id`): a declaration for another border gate is held. */
    gateId?: string;
    /** A manual release of a passage decided on stale clearance data needs a supervisor (rules.staleReleaseFourEyes). */
    staleReleaseFourEyes?: boolean;
    /** Set while the gate cannot process automatically (disk quota reached): every truck is held, with this reason. */
    manualProcessing?: string;
    /** Why, as numbers, when it is the disk quota: the finding words it in each reader's language. */
    manualProcessingQuota?: DiskQuotaFull;
    /** Share of trucks sent to inspection at random (0–1; `inspection.randomRate`). */
    randomInspectionRate?: number;
}

/** The store's size against its quota when it is full (src/gate/housekeeping.ts), in MiB. */
export interface DiskQuotaFull {
    usedMb: number;
    quotaMb: number;
}
