/**
 * The registry of transports: a transport's name (what a device's address says) → its file, loaded on
 * demand, so the ONVIF and OPC UA stacks load only for a gate that has such devices. Adding a transport
 * means one file exporting `transport` (a TransportModule, see transport.ts) and one line here, as adding
 * a device model is one file and one line in devices/index.ts. How a lane model's transport reads its
 * address from the configuration is a small module beside it (`<transport>.address.ts`), loaded eagerly:
 * the config loader checks addresses without loading any transport's libraries.
 */
import type { DeviceModel } from "../../devices/types.ts";
import type { DeviceConfig } from "../config/types.ts";
import { GateError } from "../core/errors.ts";
import type { TransportAddress } from "./address.ts";
import { httpPushAddress } from "./httpPush.address.ts";
import { mqttAddress } from "./mqttDevice.address.ts";
import { onvifAddress } from "./onvif.address.ts";
import { opcuaAddress } from "./opcua.address.ts";
import { serialAddress } from "./serial.address.ts";
import { tcpListenAddress } from "./tcpListen.address.ts";
import type { TransportModule, TransportName } from "./transport.ts";

const loaders: { readonly [name in TransportName]: () => Promise<{ transport: TransportModule }> } = {
    serial: () => import("./serial.ts"),
    tcp: () => import("./serial.ts"),
    mqtt: () => import("./mqttDevice.ts"),
    "tcp-listen": () => import("./tcpListen.ts"),
    onvif: () => import("./onvif.ts"),
    "http-push": () => import("./httpPush.ts"),
    opcua: () => import("./opcua.ts"),
    folder: () => import("./folder.ts"),
};

/** How the devices of each lane model's transport are addressed in the configuration file. */
export const transportAddresses: { readonly [transport in DeviceModel["transport"]]: TransportAddress } = {
    serial: serialAddress,
    mqtt: mqttAddress,
    "tcp-listen": tcpListenAddress,
    onvif: onvifAddress,
    "http-push": httpPushAddress,
    opcua: opcuaAddress,
};

/** Every registered transport's name. */
export const transportNames = Object.keys(loaders) as readonly TransportName[];

const loaded = new Map<TransportName, TransportModule>();

/** Loads the transport of this name (once). */
export async function loadTransport(name: TransportName): Promise<TransportModule> {
    const known = loaded.get(name);
    if (known) return known;
    const { transport } = await loaders[name]();
    loaded.set(name, transport);
    return transport;
}

/** Loads the transports these devices use; resolves with a synchronous look-up of a device's transport. */
export async function loadTransportsFor(
    devices: Iterable<DeviceConfig>,
): Promise<(device: DeviceConfig) => TransportModule> {
    for (const name of new Set([...devices].map((device) => device.address.transport))) await loadTransport(name);
    return transportOf;
}

/** The transport of a device whose transport is loaded (loadTransportsFor()). */
export function transportOf(device: DeviceConfig): TransportModule {
    const transport = loaded.get(device.address.transport);
    // loadTransportsFor() ran for this device: a miss is a bug in the caller, not a configuration problem.
    if (!transport)
        throw new GateError("DRIVER_UNSUPPORTED", `transport ${device.address.transport} used before it was loaded`);
    return transport;
}
