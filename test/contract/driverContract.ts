/**
 * The contract every device driver keeps, written once and run against each transport with a real peer
 * (MQTT.js's abstract_store style): it connects and says so, it stores what the peer reads, it counts bad
 * data without inventing a reading and reads on, it comes back by itself after the peer restarts, and it
 * stops promptly, twice.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { GateConfig } from "../../src/config/types.ts";
import type { GateEvent, GateEventType } from "../../src/core/events.ts";
import type { Gate, GateAddresses } from "../../src/gate.ts";
import { eventually, startGate } from "../helpers/gate.ts";
import { tempDir } from "../helpers/tmp.ts";

/** What a peer needs of the gate (or of the transport suite's rig) to reach it. */
export interface GateView {
    addresses: Pick<GateAddresses, "mqtt" | "push">;
    /** The port a device's listener is bound to (the system's choice for port 0). */
    listenerPort(deviceId: string): number | undefined;
}

export interface ContractHarness {
    /** The device under test, as named in `config`. */
    deviceId: string;
    readingType: GateEventType;
    /** Starts the peer (simulator, server, broker) and returns the gate configuration pointing at it. */
    start(dir: string): Promise<GateConfig>;
    /** The gate is up: some peers (cameras that push, MQTT devices) need its addresses. */
    gateStarted?(gate: Gate): Promise<void>;
    /** Makes the peer deliver read number `n`; resolves once it is on its way. */
    sendRead(n: number): Promise<void>;
    /** The read number a stored reading carries, as far as the harness can tell. */
    readNumber(event: GateEvent): number | undefined;
    /** Makes the peer send something broken (bad checksum, garbage, malformed XML or JSON, wrong type). */
    sendBadData(): Promise<void>;
    /** Stops and starts the peer again at the same address, as a reboot or power cycle would. */
    restartPeer(): Promise<void>;
    /**
     * False for peers gate-edge holds no session with (a push camera): their restart is invisible, and
     * the contract asks only that reads flow again. Default true.
     */
    statusFollowsPeer?: boolean;
    stop(): Promise<void>;
}

const TIMEOUT = 20_000;

export function driverContract(
    name: string,
    makeHarness: () => ContractHarness,
    options: { skip?: boolean } = {},
): void {
    describe.skipIf(options.skip ?? false)(`driver contract: ${name}`, () => {
        const dir = tempDir(`gate-edge-contract-${name.replace(/\W+/g, "-")}-`);
        const harness = makeHarness();
        let gate: Gate;
        const readings = () => gate.log.read(0, 100_000).filter((event) => event.type === harness.readingType);
        const runtime = () => gate.runtime(harness.deviceId)!;
        const storedRead = (n: number) =>
            eventually(
                () => readings().find((event) => harness.readNumber(event) === n),
                TIMEOUT,
                `read ${n} stored from ${harness.deviceId}`,
            );

        beforeAll(async () => {
            const config = await harness.start(dir.path);
            gate = await startGate(config);
            await harness.gateStarted?.(gate);
        }, 60_000);

        afterAll(async () => {
            await gate?.stop();
            await harness.stop();
            dir.cleanup();
        }, 60_000);

        it("connects and reports the device online", async () => {
            await eventually(() => runtime().health().status === "online" || undefined, TIMEOUT, "online");
        });

        it("stores a read from the peer as a reading of the device", async () => {
            await harness.sendRead(1);
            const event = await storedRead(1);
            expect(event).toMatchObject({ deviceId: harness.deviceId, type: harness.readingType });
        });

        it("counts bad data, invents no reading from it, and reads on", async () => {
            const before = { ...runtime().counters };
            const readingsBefore = readings().length;
            await harness.sendBadData();
            await eventually(
                () => {
                    const now = runtime().counters;
                    return now.invalid > before.invalid || now.discardedBytes > before.discardedBytes || undefined;
                },
                TIMEOUT,
                "bad data counted",
            );
            expect(readings().length).toBe(readingsBefore);
            await harness.sendRead(2);
            await storedRead(2);
        });

        it("comes back by itself after the peer restarts, and reads again", async () => {
            const restartedAt = Date.now();
            await harness.restartPeer();
            // Online again *since* the restart: the driver saw the peer go and reconnected.
            const followsPeer = harness.statusFollowsPeer ?? true;
            await eventually(
                () => {
                    const health = runtime().health();
                    const since = Date.parse(health.statusSince);
                    return (health.status === "online" && (!followsPeer || since >= restartedAt)) || undefined;
                },
                TIMEOUT,
                "offline and online again after the restart",
            );
            await harness.sendRead(3);
            await storedRead(3);
        }, 60_000);

        it("stops promptly, and a second stop is harmless", async () => {
            await gate.stop();
            await gate.stop();
            expect(() => gate.log).toThrow(/closed/);
        });
    });
}
