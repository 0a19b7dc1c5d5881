/**
 * The central clearance system simulator (sync protocol v1): server, store, fault injection, clearance
 * feed sources. `gate-edge simulate central` runs it from the command line (simulators/cli.ts).
 */
export {
    type CheckedEvent,
    type CheckResult,
    checkEvent,
    matchRejectRule,
    type RejectRule,
    validateRejectRules,
} from "./events.ts";
export {
    describeFault,
    FAULT_KINDS,
    FAULT_STATUS_CODES,
    FAULT_TARGETS,
    FAULT_TEXT_HELP,
    type FaultCounts,
    type FaultKind,
    FaultPlan,
    type FaultSpec,
    type FaultStatusCode,
    type FaultTarget,
    parseFaultText,
    validateFaults,
} from "./faults.ts";
export {
    type ClearanceBatch,
    type ClearanceSourceSpec,
    clearanceFileItems,
    loadClearanceSource,
    scenarioItems,
    validateClearanceItems,
} from "./feed.ts";
export {
    type BatchSummary,
    CentralSimulator,
    type CentralSimulatorEvents,
    type CentralSimulatorOptions,
    type CentralStats,
    type CentralTlsOptions,
    type FaultRoute,
} from "./server.ts";
export { type BatchEntry, CentralStore, type FeedAppendResult, type StoreGateStats } from "./store.ts";
