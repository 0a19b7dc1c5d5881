/**
 * Device supervision: one DeviceRuntime and one Transport (from the registry) per configured device, and
 * the listeners devices share (the MQTT broker side, the push receiver). Started in configuration order,
 * stopped so that nothing is lost: every device's input is cut off, each transport committing what it
 * holds, before the runtimes write what they held back.
 */
import type { Logger } from "pino";
import { getModel } from "../../devices/index.ts";
import type { DeviceConfig, GateConfig } from "../config/types.ts";
import type { EventBus } from "../core/bus.ts";
import type { Clock } from "../core/clock.ts";
import { GateError } from "../core/errors.ts";
import { deviceLogger } from "../core/logger.ts";
import { PushHub } from "../drivers/httpPush.ts";
import { loadTransportsFor, transportOf } from "../drivers/registry.ts";
import type { Transport, TransportContext, TransportHubs } from "../drivers/transport.ts";
import { type DeviceHealth, DeviceRuntime, type EventSink } from "../ingest/deviceRuntime.ts";
import type { ImageStore } from "../store/images.ts";
import { BrokerSide } from "./brokerSide.ts";

export interface DeviceSupervisorOptions {
    log: Logger;
    bus: EventBus;
    clock: Clock;
    /** The configuration in force (a reload replaces it). */
    config: () => GateConfig;
}

/** Devices run by a part of their own (the inspection area's, src/inspection/devices.ts), supervised for their health. */
export interface SupervisedDevices {
    deviceHealth(): DeviceHealth[];
}

/** Where a device's transport and the shared listeners are. */
export interface DeviceAddresses {
    mqtt: string | undefined;
    push: string | undefined;
}

export class DeviceSupervisor {
    private readonly runtimes = new Map<string, DeviceRuntime>();
    private readonly transports = new Map<string, Transport>();
    readonly brokerSide: BrokerSide;
    private readonly push = new PushHub();
    private readonly hubs: TransportHubs;
    private readonly others = new Set<SupervisedDevices>();
    /** Where runtimes store (set by start()). */
    private stores: { sink: EventSink; images: ImageStore } | undefined;

    constructor(private readonly options: DeviceSupervisorOptions) {
        this.brokerSide = new BrokerSide(options.log);
        this.hubs = { mqtt: this.brokerSide.mqtt, push: this.push };
    }

    runtime(deviceId: string): DeviceRuntime | undefined {
        return this.runtimes.get(deviceId);
    }

    transport(deviceId: string): Transport | undefined {
        return this.transports.get(deviceId);
    }

    allRuntimes(): DeviceRuntime[] {
        return [...this.runtimes.values()];
    }

    /** Devices another part runs: their health is the gate's too (the API's device list and /health). */
    supervise(devices: SupervisedDevices): void {
        this.others.add(devices);
    }

    /** The health of every device of the gate: the lanes' runtimes, then those of supervise(). */
    health(): DeviceHealth[] {
        return [
            ...this.allRuntimes().map((runtime) => runtime.health()),
            ...[...this.others].flatMap((devices) => devices.deviceHealth()),
        ];
    }

    /** Per lane: ready when every one of its devices is online (the one place this is computed). */
    readiness(): { laneId: string; ready: boolean; notReady: string[] }[] {
        return this.options.config().lanes.map((lane) => {
            const notReady = lane.devices
                .filter((device) => this.runtimes.get(device.id)?.health().status !== "online")
                .map((device) => device.id);
            return { laneId: lane.id, ready: notReady.length === 0, notReady };
        });
    }

    /** Why a device cannot be added, removed or changed while the gate runs, or undefined if it can. */
    async hotSwapBlocker(device: DeviceConfig): Promise<string | undefined> {
        await loadTransportsFor([device]);
        return transportOf(device).hotSwapBlocker?.(this.options.config());
    }

    /** Builds every configured device and starts them, then the listeners they share. */
    async start(stores: { sink: EventSink; images: ImageStore }): Promise<DeviceAddresses> {
        this.stores = stores;
        const config = this.options.config();
        const devices = config.lanes.flatMap((lane) => lane.devices);
        // Only the transports the configuration uses are loaded (the ONVIF and OPC UA stacks are large).
        await loadTransportsFor(devices);
        for (const device of devices) this.create(device);
        // Session transports connect in the background (a camera or PLC absent at start is retried).
        for (const transport of this.transports.values()) await transport.start();
        const mqtt = await this.brokerSide.start(config);
        const push = await this.push.start(config.push, this.options.log.child({ component: "push" }));
        return { mqtt, push };
    }

    /** Builds a device's runtime and transport; a reload starts it with startDevice() once its lane is rebuilt. */
    async add(device: DeviceConfig): Promise<void> {
        await loadTransportsFor([device]);
        this.create(device);
    }

    async startDevice(deviceId: string): Promise<void> {
        await this.transports.get(deviceId)?.start();
    }

    private create(device: DeviceConfig): void {
        const { log, bus, clock } = this.options;
        if (!this.stores) throw new GateError("STORE_CLOSED", "devices are built only while the gate runs");
        const { sink, images } = this.stores;
        const config = this.options.config();
        const model = getModel(device.model, device.options);
        if (!model) throw new GateError("MODEL_UNKNOWN", device.model);
        const transport = transportOf(device);
        const deviceLog = deviceLogger(log, device);
        const runtime = new DeviceRuntime(device, model, {
            sink,
            bus,
            clock,
            log: deviceLog,
            settings: config.ingest,
            images,
            transport: { address: transport.describeAddress(device), framesProveLife: transport.framesProveLife },
        });
        const ctx: TransportContext = {
            log: deviceLog,
            input: (raw) => runtime.input(raw),
            setStatus: (status, reason, because) => void runtime.setStatus(status, reason, because),
        };
        this.runtimes.set(device.id, runtime);
        this.transports.set(device.id, transport.create({ device, model, config, hubs: this.hubs }, ctx));
    }

    /** Stops one device's transport and drops its runtime (a reload removed or changed it). */
    async remove(deviceId: string): Promise<void> {
        const runtime = this.runtimes.get(deviceId);
        const transport = this.transports.get(deviceId);
        this.transports.delete(deviceId);
        await transport?.stop();
        if (runtime) {
            await runtime.stop();
            await runtime.setStatus("offline", "taken out of service by a configuration reload", {
                code: "RELOAD_REMOVED",
            });
            this.runtimes.delete(deviceId);
        }
    }

    /**
     * Every way device input comes in stops — the push receiver, each device's transport, the broker — each
     * committing what it already holds (a device is acknowledged only after its commit, so what is cut off
     * unacknowledged is sent again after the restart); then what the runtimes hold back is written.
     */
    async stop(): Promise<void> {
        // Every device goes offline now because the gate closes it: that is no warning.
        for (const runtime of this.runtimes.values()) runtime.stopping();
        await this.push.stop();
        this.brokerSide.stopping();
        for (const transport of this.transports.values()) await transport.stop();
        this.transports.clear();
        await this.brokerSide.stop();
        // No input arrives any more: what the runtimes hold back (a bad-input log line, a count) is written now.
        for (const runtime of this.runtimes.values()) await runtime.stop();
        this.stores = undefined;
    }
}
