/**
 * The runner's progress line on stderr: on a terminal one line updated in place, otherwise (a log file,
 * CI) one line every `everyMs`, so a long run shows it is alive without flooding the output.
 */

export interface ProgressState {
    done: number;
    total: number;
    /** Counted as the report counts them (report.ts truckVerdict). */
    matched: number;
    heldUnderFault: number;
    mismatched: number;
    /** Trucks waiting at each lane (arrived, not yet in the lane). */
    queues: Record<string, number>;
    faultsInjected: number;
    faultsTotal: number;
    /** Free text at the end (phase: "draining the outbox", …). */
    note?: string;
    /** What is counted: trucks (a scenario, the default) or frames (a replay, which has no verdicts). */
    unit?: "trucks" | "frames";
}

export interface ProgressStream {
    write(text: string): unknown;
    isTTY?: boolean;
}

export class ProgressBar {
    private last = 0;
    private state: ProgressState | undefined;
    private readonly startedAt = Date.now();
    private readonly tty: boolean;
    private width = 0;
    private printed = "";

    constructor(
        private readonly stream: ProgressStream,
        private readonly everyMs = 5000,
        tty?: boolean,
    ) {
        this.tty = tty ?? stream.isTTY === true;
    }

    update(state: ProgressState, force = false): void {
        this.state = state;
        const now = Date.now();
        if (this.tty) {
            // A terminal redraws cheaply, but not on every event of a busy run.
            if (!force && now - this.last < 100) return;
            this.last = now;
            const line = this.render(state);
            this.width = Math.max(this.width, line.length);
            this.stream.write(`\r${line}\x1b[K`);
            return;
        }
        if (!force && now - this.last < this.everyMs) return;
        this.last = now;
        const line = this.render(state);
        // A forced line that says nothing new (the final state, already printed) is not repeated.
        if (line === this.printed) return;
        this.printed = line;
        this.stream.write(`${line}\n`);
    }

    /** The final state, and on a terminal the line is ended so the report starts on its own line. */
    finish(): void {
        if (this.state) this.update(this.state, true);
        if (this.tty) this.stream.write("\n");
    }

    private render(state: ProgressState): string {
        const width = 24;
        const share = state.total === 0 ? 1 : state.done / state.total;
        const filled = Math.round(share * width);
        const bar = `${"#".repeat(filled)}${"-".repeat(width - filled)}`;
        const queues = Object.entries(state.queues)
            .map(([lane, n]) => `${lane}:${n}`)
            .join(" ");
        const elapsed = Math.round((Date.now() - this.startedAt) / 1000);
        const clock = `${Math.floor(elapsed / 60)}:${String(elapsed % 60).padStart(2, "0")}`;
        if (state.unit === "frames") {
            return `[${bar}] ${state.done}/${state.total} frames · ${clock}${state.note ? ` · ${state.note}` : ""}`;
        }
        return (
            `[${bar}] ${state.done}/${state.total} trucks · ok ${state.matched} · held under a fault ${state.heldUnderFault}` +
            ` · wrong ${state.mismatched}` +
            ` · waiting ${queues || "-"} · faults ${state.faultsInjected}/${state.faultsTotal} · ${clock}` +
            (state.note ? ` · ${state.note}` : "")
        );
    }
}
