/**
 * The declaration, plate and scan fixtures the rule, clearance and correlator tests share, and the reading
 * drafts the gate-level tests append as a device runtime would.
 */
import type { GateEventDraft, PlateValues, ScanValues } from "../../src/core/events.ts";
import { normalizePlate, plateMisreadKey } from "../../src/core/identifiers.ts";
import type { Declaration } from "../../src/lane/types.ts";

/** A cleared GREEN declaration for a tractor and trailer with one sealed container. */
export const DECLARATION: Declaration = {
    number: "101234567820",
    type: "10",
    channel: "GREEN",
    status: "CLEARED",
    documentCheckDone: false,
    inspectionDone: false,
    declaredPlates: ["15C-123.45", "15R-012.34"],
    containers: [{ number: "CSQU3054383", sealNumbers: ["VNC-0100001"] }],
    declaredGrossKg: 28_500,
    version: 1,
};

/** A plate read as a camera driver reports it, normalised by the gate's own rules. */
export function plateValues(text: string, position: "front" | "rear", confidence = 0.95): PlateValues {
    const info = normalizePlate(text);
    return {
        text,
        normalized: info.normalized,
        country: info.country,
        valid: info.valid,
        trailer: info.trailer,
        misreadKey: plateMisreadKey(text),
        confidence,
        position,
        imageRefs: [],
    };
}

/** A declaration number scanned from its QR code (amendment = the 12th digit). */
export function declarationScanValues(number: string): ScanValues {
    return {
        symbology: "]Q1",
        payload: number,
        parsed: {
            type: "declaration",
            number,
            base: number.slice(0, 11),
            typeCode: number.slice(0, 2),
            amendment: Number(number.slice(11)),
        },
    };
}

/** A front plate read with the normalised form given, as a camera's runtime would append it. */
export function plateDraft(deviceId: string, text: string, normalized: string): Omit<GateEventDraft, "laneId"> {
    return {
        type: "reading.plate",
        deviceId,
        data: {
            values: {
                text,
                normalized,
                country: "VN",
                valid: true,
                trailer: false,
                misreadKey: normalized,
                confidence: 0.95,
                position: "front",
                imageRefs: [],
            },
        },
    };
}

/** A declaration scan, as a scanner's runtime would append it. */
export function declarationScanDraft(deviceId: string, number: string): Omit<GateEventDraft, "laneId"> {
    // Spread into a plain object: the ScanValues interface has no index signature, so it is no JsonValue.
    return { type: "reading.scan", deviceId, data: { values: { ...declarationScanValues(number) } } };
}
