/** An ONVIF camera's device service: http://host[:port], nothing else; gate-edge logs in to it. */
import type { DeviceAddress } from "../config/types.ts";
import { hostOf, type TransportAddress, urlOf } from "./address.ts";

export const onvifAddress: TransportAddress = {
    ownKeys: [],
    parse(device, _model, { path, errors }) {
        const url = urlOf(device.address);
        let address: DeviceAddress | undefined;
        if (url?.protocol !== "http:" || !url.hostname || (url.pathname !== "/" && url.pathname !== ""))
            errors.push(
                `${path}.address: an ONVIF camera is addressed as http://host:port, e.g. http://192.168.1.64:80`,
            );
        else
            address = {
                transport: "onvif",
                host: hostOf(url),
                port: Number(url.port || 80),
                snapshot: device.snapshot,
            };
        if (!device.auth) errors.push(`${path}.auth: an ONVIF camera needs the username and password to log in with`);
        return address;
    },
};
