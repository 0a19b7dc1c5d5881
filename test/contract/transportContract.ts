/**
 * The contract every transport keeps, checked on the Transport itself (no gate around it) with a real
 * peer: created by the registry from a device's configuration, it says what it can do and has exactly
 * those operations, describes itself, reports the device online, hands each read to `input()` as raw
 * input, and stops, twice. The whole-gate suites (driverContract.ts) stay beside it.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getInspectionModel, getModel } from "../../devices/index.ts";
import type { DeviceConfig, GateConfig } from "../../src/config/types.ts";
import { folderDevice } from "../../src/drivers/folder.ts";
import { PushHub } from "../../src/drivers/httpPush.ts";
import { loadTransport } from "../../src/drivers/registry.ts";
import type { RawInput, Transport, TransportModule, TransportName } from "../../src/drivers/transport.ts";
import { BrokerSide } from "../../src/gate/brokerSide.ts";
import { eventually } from "../helpers/gate.ts";
import { tempDir, testLog } from "../helpers/tmp.ts";
import type { ContractHarness, GateView } from "./driverContract.ts";
import { recordingContext } from "./recordingContext.ts";

/** A peer for the transport suite: the whole-gate harness, and how a raw input shows read number n. */
export interface TransportHarness extends Omit<ContractHarness, "gateStarted"> {
    gateStarted?(gate: GateView): Promise<void>;
    isRead(raw: RawInput, n: number): boolean;
}

const TIMEOUT = 20_000;

/** The transports a suite in this process covers (the registry test checks none is left out). */
export const coveredTransports = new Set<TransportName>();

export function transportContract(
    name: TransportName,
    makeHarness: () => TransportHarness,
    options: { skip?: boolean } = {},
): void {
    coveredTransports.add(name);
    describe.skipIf(options.skip ?? false)(`transport contract: ${name}`, () => {
        const dir = tempDir(`gate-edge-transport-${name}-`);
        const harness = makeHarness();
        const { inputs, statuses, ctx } = recordingContext();
        const brokerSide = new BrokerSide(testLog);
        const push = new PushHub();
        let module: TransportModule;
        let device: DeviceConfig;
        let transport: Transport;
        let config: GateConfig;

        beforeAll(async () => {
            config = await harness.start(dir.path);
            const inspection = config.inspection?.devices.find((d) => d.id === harness.deviceId);
            const inspectionModel = inspection && getInspectionModel(inspection.model);
            const found =
                inspection && inspectionModel
                    ? folderDevice(inspection, inspectionModel.kind)
                    : config.lanes.flatMap((lane) => lane.devices).find((d) => d.id === harness.deviceId);
            if (!found) throw new Error(`the harness's configuration has no device ${harness.deviceId}`);
            device = found;
            const model = inspectionModel ?? getModel(device.model, device.options);
            if (!model) throw new Error(`unknown model ${device.model}`);
            module = await loadTransport(name);
            transport = module.create({ device, model, config, hubs: { mqtt: brokerSide.mqtt, push } }, ctx);
            await transport.start();
            // The listeners devices share start once their devices' transports have attached.
            const mqtt = await brokerSide.start(config);
            const pushAddress = await push.start(config.push, testLog);
            await harness.gateStarted?.({
                addresses: { mqtt, push: pushAddress },
                listenerPort: () => transport.describe().listeningPort,
            });
        }, 60_000);

        afterAll(async () => {
            await transport?.stop();
            await push.stop();
            await brokerSide.stop();
            await harness.stop();
            dir.cleanup();
        }, 60_000);

        it("is the registry's transport for the device's address", () => {
            expect(device.address.transport).toBe(name);
        });

        it("has exactly the operations its capabilities claim, and describes itself", () => {
            const { capabilities } = transport;
            expect(capabilities.read).toBe(true);
            expect(typeof transport.poll === "function").toBe(capabilities.poll);
            expect(typeof transport.snapshot === "function").toBe(capabilities.snapshot);
            expect(typeof transport.actuate === "function").toBe(capabilities.actuate);
            expect(capabilities.hotSwappable).toBe(module.hotSwapBlocker?.(config) === undefined);
            const description = transport.describe();
            // A listener on port 0 names the port the system gave it; everything else its configured address.
            if (description.listeningPort === undefined)
                expect(description.address).toBe(module.describeAddress(device));
            else expect(description.address).toContain(String(description.listeningPort));
        });

        it("reports the device online", async () => {
            await eventually(() => statuses.includes("online") || undefined, TIMEOUT, `${name} online`);
        });

        it("hands a read from its peer to input()", async () => {
            await harness.sendRead(1);
            await eventually(() => inputs.find((raw) => harness.isRead(raw, 1)), TIMEOUT, "read 1 handed on");
        });

        it("stops, and a second stop is harmless", async () => {
            await transport.stop();
            await transport.stop();
            expect(transport.describe().connected ?? false).toBe(false);
        });
    });
}
