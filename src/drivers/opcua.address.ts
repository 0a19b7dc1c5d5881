/** A lane PLC: opc.tcp://host:port/path and its `plc` settings (at least plc.lanePrefix). */
import type { TransportAddress } from "./address.ts";

export const opcuaAddress: TransportAddress = {
    ownKeys: ["plc"],
    parse(device, _model, { path, errors }) {
        const raw = device.address;
        const plc = device.plc;
        if (raw === undefined || !/^opc\.tcp:\/\/[^/:\s]+(:\d{1,5})?(\/\S*)?$/.test(raw)) {
            errors.push(
                `${path}.address: a PLC is addressed as opc.tcp://host:port/path, e.g. opc.tcp://10.0.0.9:4840/UA/GatePLC`,
            );
            return undefined;
        }
        if (!plc) {
            errors.push(`${path}.plc: is required for a PLC (at least plc.lanePrefix)`);
            return undefined;
        }
        return {
            transport: "opcua",
            endpointUrl: raw,
            lanePrefix: plc.lanePrefix,
            securityMode: plc.securityMode,
            ...(plc.securityPolicy !== undefined && { securityPolicy: plc.securityPolicy }),
            trustOnFirstUse: plc.trustOnFirstUse,
            commandTimeoutMs: plc.commandTimeoutMs,
            heartbeatMs: plc.heartbeatMs,
        };
    },
};
