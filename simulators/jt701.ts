/**
 * Simulated Jointech JT701 GPS e-locks dialling in to gate-edge's listener, each on its own TCP
 * connection as real locks do over GPRS. Frames come from the model's encode, so the simulator and the
 * decoder cannot drift apart. Each lock reports its state (sealed on the truck, rope cut, battery
 * draining) as binary position frames and sends text heartbeats; the answers the gate sends back are
 * counted per lock.
 */
import { connect, type Socket } from "node:net";
import { definition as jt701 } from "../devices/jointech-jt701.ts";
import type { ElockReport } from "../devices/types.ts";
import { GateError } from "../src/core/errors.ts";

export interface Jt701SimulatorOptions {
    host: string;
    port: number;
    /** 10-digit lock ids, one connection each. */
    lockIds: readonly string[];
    /** Where the locks are (a border gate's yard), decimal degrees. */
    lat?: number;
    lon?: number;
    batteryPct?: number;
}

interface Lock {
    id: string;
    socket: Socket;
    index: number;
    state: Pick<ElockReport, "ropeInserted" | "locked" | "battery" | "alarms">;
    /** Answers received from the gate, e.g. "(P69,0,3)". */
    answers: string[];
}

export class Jt701Simulator {
    private readonly locks = new Map<string, Lock>();

    constructor(private readonly options: Jt701SimulatorOptions) {
        for (const id of options.lockIds) {
            if (!/^\d{10}$/.test(id)) throw new GateError("SIMULATOR_USAGE", `a JT701 lock id is 10 digits, got ${id}`);
        }
    }

    /** Connects every lock; rejects with the connection error (e.g. ECONNREFUSED) of the first that fails. */
    async start(): Promise<void> {
        for (const id of this.options.lockIds) {
            const socket = await new Promise<Socket>((resolve, reject) => {
                const s = connect({ host: this.options.host, port: this.options.port });
                s.once("connect", () => resolve(s));
                s.once("error", reject);
            });
            const lock: Lock = {
                id,
                socket,
                index: 0,
                state: { ropeInserted: true, locked: true, battery: this.options.batteryPct ?? 90, alarms: [] },
                answers: [],
            };
            let pending = "";
            socket.on("data", (chunk: Buffer) => {
                pending += chunk.toString("latin1");
                for (const answer of pending.match(/\([^)]*\)/g) ?? []) lock.answers.push(answer);
                pending = pending.slice(pending.lastIndexOf(")") + 1);
            });
            socket.on("error", () => undefined);
            this.locks.set(id, lock);
        }
    }

    async stop(): Promise<void> {
        for (const lock of this.locks.values()) lock.socket.destroy();
        this.locks.clear();
    }

    /** Changes a lock's state (rope cut, opened, battery) and reports it at once. */
    report(lockId: string, change: Partial<Lock["state"]> = {}): Uint8Array {
        const lock = this.lock(lockId);
        lock.state = { ...lock.state, ...change };
        lock.index = (lock.index + 1) & 0xff;
        const frame = jt701.encode({
            lockId,
            at: new Date(),
            lat: this.options.lat ?? 21.6426,
            lon: this.options.lon ?? 106.7517,
            gpsValid: true,
            index: lock.index,
            ...lock.state,
        });
        lock.socket.write(frame);
        return frame;
    }

    /** The rope is cut: the lock reports the alarm and waits for the gate's answer. */
    tamper(lockId: string): Uint8Array {
        return this.report(lockId, { ropeInserted: false, alarms: ["ROPE_CUT"] });
    }

    heartbeat(lockId: string): void {
        this.lock(lockId).socket.write(`(${lockId},@JT)`);
    }

    /** Raw bytes on a lock's connection (garbage, half frames) for fault tests. */
    writeRaw(lockId: string, bytes: Uint8Array | string): void {
        this.lock(lockId).socket.write(bytes);
    }

    answers(lockId: string): readonly string[] {
        return this.lock(lockId).answers;
    }

    private lock(lockId: string): Lock {
        const lock = this.locks.get(lockId);
        if (!lock) throw new GateError("DEVICE_UNKNOWN", `lock ${lockId} is not connected`);
        return lock;
    }
}
