import type { DeviceStatus } from "../../src/core/events.ts";
import type { RawInput, TransportContext } from "../../src/drivers/transport.ts";
import { testLog } from "../helpers/tmp.ts";

/** A transport context that keeps what the transport handed on: its raw input and the statuses it set. */
export function recordingContext(): { inputs: RawInput[]; statuses: DeviceStatus[]; ctx: TransportContext } {
    const inputs: RawInput[] = [];
    const statuses: DeviceStatus[] = [];
    const ctx: TransportContext = {
        log: testLog,
        input: async (raw) => {
            inputs.push(raw);
            return { outcome: "stored" };
        },
        setStatus: (status) => statuses.push(status),
    };
    return { inputs, statuses, ctx };
}
