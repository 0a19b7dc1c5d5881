import { spawn } from "node:child_process";
import type { Logger } from "pino";

/**
 * The systemd notification protocol (sd_notify(3)) for a service of Type=notify: READY=1 once the gate
 * serves, WATCHDOG=1 pings so that systemd restarts a gate whose event loop hangs, RELOADING=1 / READY=1
 * around a reload, STOPPING=1 on shutdown, STATUS= for `systemctl status`.
 *
 * Node has no AF_UNIX datagram sockets, so each message goes through systemd's own `systemd-notify`
 * (always there where systemd is). Because that helper is a child process, the unit needs
 * `NotifyAccess=all`; since systemd 246 the helper waits until PID 1 has read the message (a barrier), so
 * a message is never lost to the helper exiting first (Debian 11 has 247, Debian 12 has 252).
 *
 * Without NOTIFY_SOCKET (not started by systemd, or a unit without Type=notify) nothing is sent at all.
 */

/** Sends one message: its assignments, one per line. Resolves when the helper is done (or failed). */
export type NotifyTransport = (assignments: readonly string[]) => Promise<void>;

export interface SdNotifyOptions {
    env?: NodeJS.ProcessEnv;
    pid?: number;
    log: Logger;
    transport?: NotifyTransport;
    /** Test seams for the watchdog interval. */
    setInterval?: (fn: () => void, ms: number) => unknown;
    clearInterval?: (handle: unknown) => void;
}

/** Watchdog pings allowed in flight at once; more means the helper hangs and piling up would not help. */
const MAX_PINGS_IN_FLIGHT = 2;

/** The interval systemd wants pings at (half of WATCHDOG_USEC, as sd_watchdog_enabled(3) advises), if any. */
export function watchdogIntervalMs(env: NodeJS.ProcessEnv, pid: number): number | undefined {
    const usec = Number(env.WATCHDOG_USEC);
    if (!env.WATCHDOG_USEC || !Number.isFinite(usec) || usec <= 0) return undefined;
    // WATCHDOG_PID names the process the watchdog is meant for; a child that inherited it must not ping.
    if (env.WATCHDOG_PID !== undefined && Number(env.WATCHDOG_PID) !== pid) return undefined;
    return Math.max(1, Math.floor(usec / 2000));
}

/** Spawns `systemd-notify KEY=VALUE...` with the service's NOTIFY_SOCKET. */
export function systemdNotifyTransport(env: NodeJS.ProcessEnv, log: Logger): NotifyTransport {
    let missingReported = false;
    return (assignments) =>
        new Promise<void>((resolve) => {
            const child = spawn("systemd-notify", [...assignments], {
                env: { ...env },
                stdio: ["ignore", "ignore", "pipe"],
            });
            // Never keep the gate alive for a helper still waiting on its barrier.
            child.unref();
            let stderr = "";
            child.stderr?.on("data", (chunk: Buffer) => {
                stderr += chunk.toString();
            });
            (child.stderr as { unref?: () => void } | null)?.unref?.();
            child.once("error", (err: NodeJS.ErrnoException) => {
                if (!missingReported) {
                    missingReported = true;
                    log.error(
                        { err: err.message },
                        "systemd-notify cannot be run: systemd will not see the gate ready, nor its watchdog pings",
                    );
                }
                resolve();
            });
            child.once("exit", (code) => {
                if (code !== 0) log.warn({ code, stderr: stderr.trim(), assignments }, "systemd-notify failed");
                resolve();
            });
        });
}

export class SdNotify {
    readonly enabled: boolean;
    private readonly transport: NotifyTransport;
    private watchdog: unknown;
    private pingsInFlight = 0;
    private lastStatus: string | undefined;
    private pendingStatus: string | undefined;

    constructor(private readonly options: SdNotifyOptions) {
        const env = options.env ?? process.env;
        this.enabled = Boolean(env.NOTIFY_SOCKET);
        this.transport = options.transport ?? systemdNotifyTransport(env, options.log);
    }

    /** State messages go one after the other, so systemd sees RELOADING=1 before the READY=1 that ends it. */
    private chain: Promise<void> = Promise.resolve();

    /**
     * Queues a state message; the promise settles when it was handed over. Callers need not wait for it:
     * the gate must never stall on its service manager.
     */
    private send(assignments: string[]): Promise<void> {
        if (!this.enabled) return Promise.resolve();
        this.chain = this.chain.then(() => this.transport(assignments));
        return this.chain;
    }

    /** The gate serves: lanes started, API listening. Starts the watchdog pings if systemd asked for them. */
    ready(status: string): Promise<void> {
        this.lastStatus = status;
        // No MAINPID=: systemd started this very process, so it is the main PID already.
        const sent = this.send(["READY=1", `STATUS=${status}`]);
        this.startWatchdog();
        return sent;
    }

    /**
     * Pings from a timer on the event loop itself: if the loop hangs, the pings stop and systemd restarts
     * the gate after WatchdogSec. A status that changed rides along with the next ping.
     */
    private startWatchdog(): void {
        if (!this.enabled || this.watchdog !== undefined) return;
        const env = this.options.env ?? process.env;
        const interval = watchdogIntervalMs(env, this.options.pid ?? process.pid);
        if (interval === undefined) return;
        const every = this.options.setInterval ?? ((fn, ms) => setInterval(fn, ms).unref());
        this.watchdog = every(() => this.ping(), interval);
        this.options.log.info({ intervalMs: interval }, "systemd watchdog pings started");
    }

    private ping(): void {
        if (this.pingsInFlight >= MAX_PINGS_IN_FLIGHT) {
            this.options.log.warn("systemd-notify has not finished the last watchdog pings; skipping one");
            return;
        }
        const assignments = ["WATCHDOG=1"];
        if (this.pendingStatus !== undefined) {
            assignments.push(`STATUS=${this.pendingStatus}`);
            this.pendingStatus = undefined;
        }
        this.pingsInFlight++;
        // Not queued behind state messages: a ping is about the event loop being alive now.
        void this.transport(assignments).finally(() => {
            this.pingsInFlight--;
        });
    }

    /** What `systemctl status` shows; sent with the next watchdog ping (or now, without a watchdog). */
    status(status: string): void {
        if (status === this.lastStatus) return;
        this.lastStatus = status;
        if (this.watchdog !== undefined) this.pendingStatus = status;
        else void this.send([`STATUS=${status}`]);
    }

    reloading(): Promise<void> {
        return this.send(["RELOADING=1", "STATUS=reloading the configuration"]);
    }

    reloaded(status: string): Promise<void> {
        this.lastStatus = status;
        return this.send(["READY=1", `STATUS=${status}`]);
    }

    /** Shutdown began. The pings go on until the process exits: a stop that hangs is the deadline's to end. */
    stopping(): Promise<void> {
        // Straight out, not behind a state message still waiting on its barrier: the process ends soon.
        if (!this.enabled) return Promise.resolve();
        return this.transport(["STOPPING=1", "STATUS=stopping"]);
    }

    close(): void {
        if (this.watchdog === undefined) return;
        (this.options.clearInterval ?? ((handle) => clearInterval(handle as NodeJS.Timeout)))(this.watchdog);
        this.watchdog = undefined;
    }
}
