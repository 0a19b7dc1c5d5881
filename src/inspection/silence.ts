/**
 * A device that reports continuously going quiet (issue 18): an RPM measures its background all the time and
 * writes a background report between occupancies, so minutes without any document mean the RPM, its lane
 * computer or the share between them is down — not a quiet road. A device silent for `silentAfterMs` is
 * offline with the status reason SILENT; its next document brings it back. Pure state: the caller passes the
 * time (its monotonic clock, so a wall-clock step neither silences nor revives a device).
 */
import type { StatusReason } from "../drivers/transport.ts";

export class SilenceWatch {
    private lastHeardAt: number;

    constructor(
        readonly silentAfterMs: number,
        now: number,
    ) {
        this.lastHeardAt = now;
    }

    /** A document arrived (any, read or refused: the device is talking). */
    heard(now: number): void {
        this.lastHeardAt = now;
    }

    /** Why the device counts as silent now; undefined while it is not. */
    silent(now: number): { reason: string; because: StatusReason } | undefined {
        if (now - this.lastHeardAt < this.silentAfterMs) return undefined;
        return {
            reason: `no document for ${Math.round(this.silentAfterMs / 1000)} s (inspection.devices[].silentAfterMs)`,
            because: { code: "SILENT", params: { ms: this.silentAfterMs } },
        };
    }
}
