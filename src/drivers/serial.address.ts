/** A serial device's address: serial:///dev/ttyUSB0?baudRate=9600 (a local port) or tcp://host:port (a serial server). */
import type { DeviceAddress } from "../config/types.ts";
import { hostOf, type TransportAddress, urlOf } from "./address.ts";

export const serialAddress: TransportAddress = {
    ownKeys: [],
    parse(device, _model, { path: devicePath, errors }) {
        const path = `${devicePath}.address`;
        const raw = device.address;
        if (raw === undefined) {
            errors.push(`${path}: is required for a serial device`);
            return undefined;
        }
        const url = urlOf(raw);
        if (!url) {
            errors.push(
                `${path}: "${raw}" is not a URL such as serial:///dev/ttyUSB0?baudRate=9600 or tcp://10.0.0.5:4001`,
            );
            return undefined;
        }
        if (url.protocol === "serial:") return serialPort(url, path, errors);
        if (url.protocol === "tcp:") {
            const port = Number(url.port);
            if (!url.hostname || !Number.isInteger(port) || port <= 0) {
                errors.push(`${path}: tcp address needs a host and a port, e.g. tcp://10.0.0.5:4001`);
                return undefined;
            }
            return { transport: "tcp", host: hostOf(url), port };
        }
        errors.push(`${path}: unsupported scheme "${url.protocol}" (serial:, tcp: or mqtt:)`);
        return undefined;
    },
};

function serialPort(url: URL, path: string, errors: string[]): DeviceAddress {
    const address: DeviceAddress = { transport: "serial", path: decodeURIComponent(url.pathname) };
    if (!url.pathname || url.pathname === "/") errors.push(`${path}: serial address has no device path`);
    for (const [key, value] of url.searchParams) {
        if (key === "baudRate") {
            const baud = Number(value);
            if (!Number.isInteger(baud) || baud < 50 || baud > 4_000_000)
                errors.push(`${path}: baudRate "${value}" is not a baud rate`);
            else address.baudRate = baud;
        } else if (key === "dataBits") {
            if (value !== "7" && value !== "8") errors.push(`${path}: dataBits must be 7 or 8`);
            else address.dataBits = value === "7" ? 7 : 8;
        } else if (key === "parity") {
            if (value !== "none" && value !== "even" && value !== "odd")
                errors.push(`${path}: parity must be none, even or odd`);
            else address.parity = value;
        } else if (key === "stopBits") {
            if (value !== "1" && value !== "2") errors.push(`${path}: stopBits must be 1 or 2`);
            else address.stopBits = value === "1" ? 1 : 2;
        } else {
            errors.push(`${path}: unknown serial option "${key}" (baudRate, dataBits, parity, stopBits)`);
        }
    }
    return address;
}
