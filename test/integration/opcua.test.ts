/**
 * The OPC UA lane PLC driver against the lane PLC simulator over opc.tcp on loopback: a real node-opcua
 * server and a real client, PKIs in one temp folder (created once: the first certificates take seconds).
 */
import { createServer } from "node:net";
import { join } from "node:path";
import { DataType } from "node-opcua";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { definition as plc } from "../../devices/lane-plc-opcua.ts";
import type { PlcTag } from "../../devices/types.ts";
import { LanePlcSimulator } from "../../simulators/lane-plc.ts";
import { isGateError } from "../../src/core/errors.ts";
import type { DeviceStatus } from "../../src/core/events.ts";
import { OpcUaPlcDriver, type OpcUaPlcDriverOptions } from "../../src/drivers/opcua.ts";
import type { TransportContext } from "../../src/drivers/transport.ts";
import { eventually } from "../helpers/gate.ts";
import { tempDir, testLog } from "../helpers/tmp.ts";

const TRAVEL_MS = 600;
const WATCHDOG_MS = 2000;
const READ_TAGS = (Object.keys(plc.tags) as PlcTag[]).filter((tag) => plc.tags[tag].access === "read");

interface Recorder {
    ctx: TransportContext;
    values: Array<{ tag: string; value: unknown; at?: Date }>;
    statuses: Array<{ status: DeviceStatus; reason: string }>;
    invalid: number;
}

function recorder(): Recorder {
    const rec: Recorder = {
        values: [],
        statuses: [],
        invalid: 0,
        ctx: {
            log: testLog,
            input: async (raw) => {
                if (raw.kind !== "tag") return { outcome: "refused", reason: `not a tag: ${raw.kind}` };
                const { tag, value, sourceTimestamp: at } = raw;
                rec.values.push({ tag, value, at });
                if (plc.decode(tag as PlcTag, value).status === "invalid") rec.invalid++;
                return { outcome: "stored" };
            },
            setStatus: (status, reason) => rec.statuses.push({ status, reason }),
        },
    };
    return rec;
}

async function until(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
    await eventually(() => check() || undefined, timeoutMs, what);
}

/**
 * Lets the simulated PLC run its logic for a while, to show it did NOT do something in that time: two
 * increments of its own heartbeat (its 1 s task) span many 50 ms scans, however slow the machine is.
 */
async function plcRunsOn(lane: string): Promise<void> {
    const heartbeat = sim.state(lane).plcHeartbeat;
    await until("the PLC logic to run on", () => sim.state(lane).plcHeartbeat >= heartbeat + 2);
}

const lastValue = (rec: Recorder, tag: PlcTag) => rec.values.findLast((v) => v.tag === tag)?.value;

const pki = tempDir("gate-edge-opcua-");
let sim: LanePlcSimulator;

function driverOptions(overrides: Partial<OpcUaPlcDriverOptions> = {}): OpcUaPlcDriverOptions {
    return {
        endpointUrl: sim.endpointUrl,
        lanePrefix: "L1",
        model: plc,
        securityMode: "None",
        pkiFolder: join(pki.path, "client"),
        heartbeatMs: 250,
        commandTimeoutMs: 1500,
        backoff: { initialDelayMs: 100, maxDelayMs: 500 },
        ...overrides,
    };
}

beforeAll(async () => {
    sim = new LanePlcSimulator({
        port: 0,
        lanes: ["L1", "L2"],
        pkiFolder: join(pki.path, "server"),
        travelMs: TRAVEL_MS,
        watchdogTimeoutMs: WATCHDOG_MS,
        autoCloseMs: 60_000,
    });
    await sim.start();
}, 60_000);

afterAll(async () => {
    await sim?.stop();
    pki.cleanup();
});

describe("OpcUaPlcDriver against the lane PLC simulator", () => {
    let rec: Recorder;
    let driver: OpcUaPlcDriver;

    beforeAll(async () => {
        rec = recorder();
        driver = new OpcUaPlcDriver(driverOptions(), rec.ctx);
        await driver.start();
        await until("online", () => driver.sessionAlive, 30_000);
    }, 60_000);

    afterAll(async () => {
        await driver?.stop();
    });

    it("Should deliver the initial value of every read tag and write its watchdog heartbeat", async () => {
        await until("every read tag", () => READ_TAGS.every((tag) => rec.values.some((v) => v.tag === tag)));
        expect(rec.statuses.at(-1)?.status).toBe("online");
        expect(lastValue(rec, "Barrier.State")).toBe(0);
        expect(lastValue(rec, "Barrier.LimitClosed")).toBe(true);
        expect(rec.values.find((v) => v.tag === "Barrier.State")?.at).toBeInstanceOf(Date);
        expect(rec.values.some((v) => (plc.tags[v.tag as PlcTag]?.access ?? "write") === "write")).toBe(false);
        expect(rec.invalid).toBe(0);
        await until("heartbeat", () => (driver.lastHeartbeatWritten?.counter ?? 0) >= 2);
        expect(sim.state("L1").watchdog).toBeGreaterThan(0);
        expect(sim.state("L1").failSafe).toBe(false);
    });

    it("Should set the lights", async () => {
        await driver.setLight("entry", "green");
        await driver.setLight("exit", "flashing");
        expect(sim.state("L1").lights).toEqual({ entry: plc.lightCodes.green, exit: plc.lightCodes.flashing });
        await driver.setLight("exit", "red");
    });

    it("Should confirm an open, and the PLC closes by itself once the truck left over the exit loop", async () => {
        sim.vehicleArrives("L1");
        const result = await driver.openBarrier();
        expect(result.confirmed).toBe(true);
        expect(["opening", "open"]).toContain(result.state);
        await until("open", () => lastValue(rec, "Barrier.State") === 2);
        expect(lastValue(rec, "Barrier.LimitOpen")).toBe(true);
        // Opening an open barrier is confirmed by its current state.
        expect((await driver.openBarrier()).confirmed).toBe(true);
        sim.vehicleUnderBoom("L1", true);
        await sim.vehicleLeaves("L1", 100);
        await until("closed", () => lastValue(rec, "Barrier.State") === 0);
        expect(rec.values.some((v) => v.tag === "Barrier.State" && v.value === 3)).toBe(true);
        expect(sim.state("L1").limitClosed).toBe(true);
    });

    it("Should never close while the safety loop is occupied, and reverse a closing boom", async () => {
        expect((await driver.openBarrier()).confirmed).toBe(true);
        await until("open", () => sim.state("L1").barrier === "open");
        // The exit loop clears (a close is due) while a second vehicle is under the boom.
        sim.vehicleUnderBoom("L1", true);
        sim.setLoop("L1", "exit", true);
        sim.setLoop("L1", "exit", false);
        await plcRunsOn("L1");
        expect(sim.state("L1").barrier).toBe("open");
        sim.vehicleUnderBoom("L1", false);
        await until("closing", () => sim.state("L1").barrier === "closing");
        sim.setLoop("L1", "safety", true);
        expect(sim.state("L1").barrier).toBe("opening");
        await until("open again", () => sim.state("L1").barrier === "open");
        await plcRunsOn("L1");
        expect(sim.state("L1").barrier).toBe("open");
        await sim.vehicleLeaves("L1", 50);
        await until("closed", () => sim.state("L1").barrier === "closed");
    });

    it("Should not confirm an open when the barrier is in fault, and report the fault", async () => {
        sim.fault("L1", 42);
        await until("fault seen", () => lastValue(rec, "Barrier.Fault") === true);
        const result = await driver.openBarrier();
        expect(result).toMatchObject({ confirmed: false, state: "fault" });
        expect(result.elapsedMs).toBeGreaterThanOrEqual(1000);
        expect(lastValue(rec, "Barrier.FaultCode")).toBe(42);
        sim.clearFault("L1");
        await until("fault cleared", () => lastValue(rec, "Barrier.State") === 0);
    });

    it("Should not confirm an open under an e-stop", async () => {
        sim.estop("L1", true);
        const result = await driver.openBarrier();
        expect(result.confirmed).toBe(false);
        expect(sim.state("L1").barrier).toBe("stopped");
        sim.estop("L1", false);
        sim.clearFault("L1");
    });

    it("Should reject with DRIVER_WRITE_REJECTED when the PLC refuses the write (manual mode)", async () => {
        sim.setMode("L1", "manual");
        await until("manual seen", () => lastValue(rec, "PLC.Mode") === 1);
        const err = await driver.openBarrier().catch((e: unknown) => e);
        expect(isGateError(err, "DRIVER_WRITE_REJECTED")).toBe(true);
        expect(String((err as Error).message)).toContain("BadInvalidState");
        sim.setMode("L1", "auto");
        expect(sim.state("L1").barrier).toBe("closed");
    });

    it("Should count a value of the wrong type as invalid without crashing", async () => {
        const before = rec.invalid;
        sim.publishRaw("L1", "Barrier.State", { dataType: DataType.String, value: "open" });
        await until("string value", () => lastValue(rec, "Barrier.State") === "open");
        expect(rec.invalid).toBe(before + 1);
        sim.fault("L1", 7);
        await until("good value again", () => lastValue(rec, "Barrier.State") === 5);
        sim.clearFault("L1");
        await until("closed", () => lastValue(rec, "Barrier.State") === 0);
        expect(driver.sessionAlive).toBe(true);
    });

    it("Should go offline when the PLC restarts and come back with its monitored items, by itself", async () => {
        const statusesBefore = rec.statuses.length;
        const reconnects = driver.reconnects;
        await sim.restart(800);
        await until("online again", () => driver.sessionAlive, 30_000);
        const after = rec.statuses.slice(statusesBefore).map((s) => s.status);
        expect(after).toContain("offline");
        expect(after.at(-1)).toBe("online");
        expect(driver.reconnects).toBe(reconnects + 1);
        sim.vehicleArrives("L1");
        await until("entry loop after restart", () => lastValue(rec, "Loop.Entry.Occupied") === true);
        expect((await driver.openBarrier()).confirmed).toBe(true);
        sim.setLoop("L1", "entry", false);
        await sim.vehicleLeaves("L1", 50);
        await until("closed", () => sim.state("L1").barrier === "closed");
    }, 45_000);

    it("Should carry out an open given the moment it reports online after a PLC restart that outlasted the watchdog", async () => {
        let failSafeDuringRestart = false;
        const onFailSafe = (lane: string) => {
            if (lane === "L1") failSafeDuringRestart = true;
        };
        sim.on("failSafe", onFailSafe);
        // The lane engine may open the barrier as soon as the PLC is online: the open is given from inside
        // the status change itself, before any later heartbeat could feed the PLC's expired watchdog.
        let firstOpen: Promise<unknown> | undefined;
        const setStatus = rec.ctx.setStatus;
        rec.ctx.setStatus = (status, reason) => {
            setStatus(status, reason);
            if (status === "online" && firstOpen === undefined) firstOpen = driver.openBarrier().catch((e) => e);
        };
        try {
            await sim.restart(WATCHDOG_MS + 1000);
            expect(failSafeDuringRestart).toBe(true);
            await until("online again", () => firstOpen !== undefined, 30_000);
            expect(await firstOpen).toMatchObject({ confirmed: true });
            await until("open", () => sim.state("L1").barrier === "open");
            await sim.vehicleLeaves("L1", 50);
            await until("closed", () => sim.state("L1").barrier === "closed");
        } finally {
            rec.ctx.setStatus = setStatus;
            sim.off("failSafe", onFailSafe);
        }
    }, 45_000);
});

describe("Watchdog", () => {
    it("Should make the PLC fail safe (red, closed) when gate-edge's heartbeat stops", async () => {
        const rec = recorder();
        const driver = new OpcUaPlcDriver(driverOptions({ lanePrefix: "L2" }), rec.ctx);
        try {
            await driver.start();
            await until("online", () => driver.sessionAlive, 30_000);
            // L2's watchdog expired long before this driver connected: online means its heartbeat got through.
            expect(sim.state("L2").failSafe).toBe(false);
            expect((await driver.openBarrier()).confirmed).toBe(true);
            await driver.setLight("entry", "green");
            await until("open", () => sim.state("L2").barrier === "open");
        } finally {
            await driver.stop();
        }
        const failSafe = new Promise<string>((resolve) =>
            sim.on("failSafe", (lane, reason) => lane === "L2" && resolve(reason)),
        );
        expect(await failSafe).toContain("watchdog");
        expect(sim.state("L2").lights).toEqual({ entry: plc.lightCodes.red, exit: plc.lightCodes.red });
        await until("closed", () => sim.state("L2").barrier === "closed");
    }, 45_000);
});

describe("An absent PLC", () => {
    async function freePort(): Promise<number> {
        const server = createServer();
        await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
        const address = server.address();
        await new Promise<void>((resolve) => server.close(() => resolve()));
        return typeof address === "object" && address ? address.port : 0;
    }

    it("Should stay offline and retry, come online when the PLC appears, and stop promptly while it is gone", async () => {
        const port = await freePort();
        const rec = recorder();
        const driver = new OpcUaPlcDriver(
            driverOptions({ endpointUrl: `opc.tcp://127.0.0.1:${port}/UA/LanePLC`, lanePrefix: "L9" }),
            rec.ctx,
        );
        const late = new LanePlcSimulator({ port, lanes: ["L9"], pkiFolder: join(pki.path, "server"), travelMs: 200 });
        try {
            await driver.start();
            await until("a retry", () => rec.statuses.some((s) => s.reason.includes("retry")));
            expect(driver.sessionAlive).toBe(false);
            expect(rec.statuses.every((s) => s.status === "offline")).toBe(true);
            const err = await driver.openBarrier().catch((e: unknown) => e);
            expect(isGateError(err, "DRIVER_DISCONNECTED")).toBe(true);
            await late.start();
            await until("online", () => driver.sessionAlive, 30_000);
            await until("initial state", () => lastValue(rec, "Barrier.State") === 0);
            await late.stop();
            await until("offline", () => rec.statuses.at(-1)?.status === "offline");
            const started = Date.now();
            await driver.stop();
            await driver.stop();
            expect(Date.now() - started).toBeLessThan(5000);
            expect(rec.statuses.at(-1)).toEqual({ status: "offline", reason: "stopped" });
        } finally {
            await driver.stop();
            await late.stop();
        }
    }, 45_000);
});
