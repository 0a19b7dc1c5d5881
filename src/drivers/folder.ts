/**
 * The folder transport in the Transport contract: a device that hands over whole documents by writing them
 * into a folder (an RPM's N42.42 file per occupancy, an X-ray scanner's package per scan), polled by
 * FolderWatch (folderWatch.ts), each settled entry handed to `input()` as `{ kind: "entry" }`.
 */
import type { DeviceConfig, InspectionDeviceConfig } from "../config/types.ts";
import { FolderWatch } from "./folderWatch.ts";
import { addressOf, modelOf, READ_ONLY, type TransportContext, type TransportModule } from "./transport.ts";

/** An inspection device (`inspection.devices`) as a device of the folder transport. */
export function folderDevice(device: InspectionDeviceConfig, kind: string): DeviceConfig {
    return {
        id: device.id,
        laneId: device.laneId ?? "",
        model: device.model,
        kind,
        address: { transport: "folder", folder: device.folder, pollMs: device.pollMs, settleMs: device.settleMs },
    };
}

/** A watched folder as people read it (health, logs, doctor). */
export function folderAddress(folder: string): string {
    return `folder:${folder}`;
}

export const transport: TransportModule = {
    // An empty folder says nothing of the device: the folder being readable is what makes it online.
    framesProveLife: false,
    describeAddress: (device) => folderAddress(addressOf(device, "folder").folder),
    doctorTarget: (device) => ({ kind: "local-folder", path: addressOf(device, "folder").folder }),
    create({ device, model }, ctx) {
        const address = addressOf(device, "folder");
        const folderModel = modelOf(device, model, "folder");
        let readable = false;
        let running = false;
        const watch = new FolderWatch(
            {
                folder: address.folder,
                layout: folderModel.layout,
                maxEntryBytes: folderModel.maxEntryBytes,
                pollMs: address.pollMs,
                settleMs: address.settleMs,
            },
            {
                log: ctx.log,
                input: (entry) => ctx.input({ kind: "entry", entry }),
                setStatus: (...status: Parameters<TransportContext["setStatus"]>) => {
                    readable = status[0] !== "offline";
                    ctx.setStatus(...status);
                },
            },
        );
        return {
            capabilities: { ...READ_ONLY, hotSwappable: false },
            start: async () => {
                running = true;
                await watch.start();
            },
            stop: async () => {
                running = false;
                await watch.stop();
            },
            describe: () => ({ address: transport.describeAddress(device), connected: running && readable }),
        };
    },
    // Inspection devices are read by their own part (src/inspection/devices.ts), set up when the gate starts.
    hotSwapBlocker: () => "inspection device (read by the inspection devices part, set up at start)",
};
