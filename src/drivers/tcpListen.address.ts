/**
 * A listener devices dial in to: tcp-listen://host:port[?maxConnections=N&idleTimeoutMs=MS]. Port 0 lets
 * the system choose (tests). An e-lock reports every few minutes, so a connection is idle after 10 by default.
 * Two devices may not listen on one port.
 */
import { hostOf, type TransportAddress, urlOf } from "./address.ts";

export const tcpListenAddress: TransportAddress = {
    ownKeys: [],
    parse(device, _model, { path: devicePath, errors, listenPorts }) {
        const path = `${devicePath}.address`;
        const url = urlOf(device.address);
        const port = Number(url?.port || "0");
        if (url?.protocol !== "tcp-listen:" || !url.hostname || !Number.isInteger(port) || port > 65_535) {
            errors.push(`${path}: a device that dials in is given a listener such as tcp-listen://0.0.0.0:5013`);
            return undefined;
        }
        const address = {
            transport: "tcp-listen" as const,
            host: hostOf(url),
            port,
            maxConnections: 256,
            idleTimeoutMs: 600_000,
        };
        for (const [key, value] of url.searchParams) {
            const n = Number(value);
            if (key !== "maxConnections" && key !== "idleTimeoutMs")
                errors.push(`${path}: unknown listener option "${key}" (maxConnections, idleTimeoutMs)`);
            else if (!Number.isInteger(n) || n < 1) errors.push(`${path}: ${key} "${value}" is not a positive integer`);
            else address[key] = n;
        }
        const other = listenPorts.get(port);
        if (port !== 0 && other !== undefined)
            errors.push(`${path}: port ${port} is also the listener of device ${other}`);
        listenPorts.set(port, device.id);
        return address;
    },
};
