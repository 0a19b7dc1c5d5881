import type { PlateRead, PlcSignal } from "../../devices/types.ts";
import type { DeviceConfig } from "../config/types.ts";
import type { BarrierValues, Country, PlateValues, PresenceValues } from "../core/events.ts";
import { normalizePlate, plateMisreadKey } from "../core/identifiers.ts";

/**
 * What a decoded read means, as pure functions: the normalised plate reading, and the readings and alerts
 * a PLC signal stands for. Kept apart from I/O so they are tested with plain values.
 */

const COUNTRIES: readonly Country[] = ["VN", "CN", "LA", "KH"];

export function plateValues(read: PlateRead, device: Pick<DeviceConfig, "role">, imageRefs: string[]): PlateValues {
    const plate = normalizePlate(read.text);
    const cameraCountry = read.countryCode?.toUpperCase();
    const country =
        plate.country !== "UNKNOWN" ? plate.country : (COUNTRIES.find((code) => code === cameraCountry) ?? "UNKNOWN");
    return {
        text: read.text,
        normalized: plate.normalized,
        country,
        valid: plate.valid,
        trailer: plate.trailer,
        misreadKey: plateMisreadKey(read.text),
        confidence: Math.min(1, Math.max(0, read.confidence)),
        position: device.role === "rear" ? "rear" : "front",
        imageRefs,
    };
}

export type PlcMeaning =
    | { kind: "presence"; values: PresenceValues }
    | { kind: "barrier"; values: BarrierValues }
    | { kind: "alert"; raised: boolean; code: string; severity: "critical" | "warning"; message: string }
    | { kind: "none" };

const LOOPS = {
    "Loop.Entry.Occupied": "entry",
    "Loop.Safety.Occupied": "safety",
    "Loop.Exit.Occupied": "exit",
} as const;

/** The reading or alert a PLC signal stands for. Heartbeats, limits and fault codes are health, not events. */
export function plcMeaning(signal: PlcSignal, lastFaultCode: number | undefined): PlcMeaning {
    switch (signal.tag) {
        case "Loop.Entry.Occupied":
        case "Loop.Safety.Occupied":
        case "Loop.Exit.Occupied":
            return { kind: "presence", values: { loop: LOOPS[signal.tag], occupied: signal.occupied } };
        case "Barrier.State":
            return { kind: "barrier", values: { state: signal.state } };
        case "EStop.Active":
            return {
                kind: "alert",
                raised: signal.active,
                code: "ESTOP",
                severity: "critical",
                message: signal.active ? "emergency stop pressed at the lane" : "emergency stop released",
            };
        case "Barrier.Fault":
            return {
                kind: "alert",
                raised: signal.active,
                code: "BARRIER_FAULT",
                severity: "critical",
                message: signal.active
                    ? `barrier fault${lastFaultCode ? ` (code ${lastFaultCode})` : ""}`
                    : "barrier fault cleared",
            };
        case "PLC.Mode":
            return {
                kind: "alert",
                raised: signal.mode !== "auto",
                code: "PLC_NOT_AUTO",
                severity: "warning",
                message: signal.mode === "auto" ? "PLC back in automatic mode" : `PLC in ${signal.mode} mode`,
            };
        case "Barrier.LimitOpen":
        case "Barrier.LimitClosed":
        case "Barrier.FaultCode":
        case "PLC.Heartbeat":
            return { kind: "none" };
    }
}
