import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { eventually } from "./gate.ts";

/** A PTY pair made by socat: bytes written to one link come out of the other, like a null-modem cable. */
export class SocatPair {
    private child: ChildProcess | undefined;

    constructor(
        readonly deviceLink: string,
        readonly hostLink: string,
    ) {}

    async start(): Promise<void> {
        this.child = spawn(
            "socat",
            [`pty,raw,echo=0,link=${this.deviceLink}`, `pty,raw,echo=0,link=${this.hostLink}`],
            { stdio: "ignore" },
        );
        await eventually(
            () => (existsSync(this.deviceLink) && existsSync(this.hostLink)) || undefined,
            5000,
            "socat links",
        );
    }

    /** Kills socat: both ends vanish, as a USB-serial adapter pulled out. */
    async stop(): Promise<void> {
        const child = this.child;
        this.child = undefined;
        if (!child || child.exitCode !== null) return;
        const exited = new Promise((resolve) => child.once("exit", resolve));
        child.kill("SIGTERM");
        await exited;
        await eventually(
            () => (!existsSync(this.deviceLink) && !existsSync(this.hostLink)) || undefined,
            5000,
            "links gone",
        );
    }
}
