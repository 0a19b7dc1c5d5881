/**
 * How a lane device's address is read from the configuration file: one small module per transport
 * (`<transport>.address.ts`, free of the transport's libraries), so the config loader checks every device
 * without loading the ONVIF or OPC UA stacks. registry.ts maps a model's transport to its module.
 */
import type { DeviceModel } from "../../devices/types.ts";
import type { DeviceAddress, DeviceCredentials } from "../config/types.ts";

/** A lane device as the configuration file writes it (with the schema's defaults filled in). */
export interface RawDeviceEntry {
    id: string;
    kind?: string;
    model: string;
    address?: string;
    topic?: string;
    role?: string;
    auth?: { username: string; password: string; basic?: boolean };
    pollIntervalMs?: number;
    options?: Record<string, unknown>;
    allow?: string[];
    snapshot: boolean;
    /** A PLC's settings: what its address carries besides the endpoint. */
    plc?: Omit<Extract<DeviceAddress, { transport: "opcua" }>, "transport" | "endpointUrl">;
}

/** What reading one device's address needs of the whole configuration; problems go to `errors`. */
export interface AddressCheck {
    /** Where the device is in the file, e.g. `lanes[0].devices[1]`. */
    path: string;
    errors: string[];
    gateId: string;
    brokerMode: "embedded" | "external";
    /** What must be unique across the gate's devices (a topic, a listener port) → the device that has it. */
    topics: Map<string, string>;
    listenPorts: Map<number, string>;
}

export interface TransportAddress {
    /** The device keys beside `address` that only this transport uses; on any other device they are an error. */
    readonly ownKeys: readonly ("topic" | "allow" | "plc")[];
    /**
     * Devices that log in to gate-edge (the broker, the push receiver) share one username space and keep
     * only what the login check needs; absent for devices gate-edge logs in to.
     */
    sealAuth?(auth: NonNullable<RawDeviceEntry["auth"]>): DeviceCredentials;
    /** Whether the device may choose Basic besides Digest (`auth.basic`). */
    readonly basicAuth?: boolean;
    /** The gate's own listener the device sends to, which listens only when such a device is configured. */
    readonly gateListener?: "push";
    parse(device: RawDeviceEntry, model: DeviceModel, check: AddressCheck): DeviceAddress | undefined;
}

/** A URL, or undefined for a missing or malformed one. */
export function urlOf(raw: string | undefined): URL | undefined {
    try {
        return raw === undefined ? undefined : new URL(raw);
    } catch {
        return undefined;
    }
}

/** A URL's host as a socket takes it (an IPv6 literal without its brackets). */
export function hostOf(url: URL): string {
    return url.hostname.replace(/^\[|\]$/g, "");
}
