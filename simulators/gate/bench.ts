/**
 * The bench a whole-gate run stands on: a gate configuration whose devices are all simulators on this
 * machine, and the simulators behind each of its devices. Used by the scenario runner (every device a
 * behaving simulator: scale, scanner, e-seal reader, cameras, lane PLC) and by replay (raw links that play
 * recorded bytes back through the same transports).
 *
 * A configuration comes either from `benchConfig` (generated: free loopback ports, generated device
 * passwords) or from a technician's file (`--config`, device addresses on 127.0.0.1 as in config/demo.yaml;
 * the simulators then listen where the file says and log in with the file's plain passwords).
 *
 * The simulators behind the configuration's devices are started by `startSimulatorsFor` (../forConfig.ts).
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse as parseYaml, stringify as stringifyYaml } from "yaml";
import { getModel } from "../../devices/index.ts";
import { errorMessage, GateError } from "../../src/core/errors.ts";
import { freePort } from "../forConfig.ts";

/** One device of a generated bench gate. */
export interface BenchDeviceSpec {
    id: string;
    model: string;
    role?: string;
    /** MQTT devices: the topic prefix (default gate/<gate>/devices/<id>). */
    topic?: string;
    /** Lane PLC devices: the lane's tag prefix (default the lane id). */
    lanePrefix?: string;
    pollIntervalMs?: number;
}

export interface BenchLaneSpec {
    id: string;
    name?: string;
    direction?: "IN" | "OUT";
    devices: BenchDeviceSpec[];
}

export interface BenchConfigOptions {
    gate: { id: string; name: string };
    /** The gate's database, PKI and the simulators' files go here. */
    workDir: string;
    lanes: BenchLaneSpec[];
    central: { url: string; tokenEnv: string };
    /** Sections copied into the config as they are (ingest, rules, central timings …). */
    ingest?: Record<string, unknown>;
    rules?: Record<string, unknown>;
    centralExtra?: Record<string, unknown>;
    /** The inspection area (RPMs, X-ray scanners, exit points), copied as it is. */
    inspection?: Record<string, unknown>;
    /** The yard (entries, lane groups, queue policy, no-show time), copied as it is. */
    yard?: Record<string, unknown>;
}

export interface GeneratedBench {
    yaml: string;
    /** Plain passwords of the devices that log in to gate-edge or that gate-edge logs in to, by device id. */
    passwords: Map<string, string>;
}

/**
 * A gate configuration for the bench: every device on a free loopback port (one lane PLC server for all
 * lanes), embedded broker on a fixed free port (so a broker restart comes back where the readers look),
 * HTTP API and push receiver on any free port, generated device passwords.
 */
export async function benchConfig(options: BenchConfigOptions): Promise<GeneratedBench> {
    const passwords = new Map<string, string>();
    const secret = (deviceId: string): string => {
        const password = `bench-${randomBytes(9).toString("base64url")}`;
        passwords.set(deviceId, password);
        return password;
    };
    const plcPort = await freePort();
    const lanes = [];
    for (const lane of options.lanes) {
        const devices = [];
        for (const spec of lane.devices) {
            const model = getModel(spec.model);
            if (!model) throw new GateError("MODEL_UNKNOWN", spec.model);
            const device: Record<string, unknown> = { id: spec.id, model: spec.model };
            if (spec.role !== undefined) device.role = spec.role;
            if (spec.pollIntervalMs !== undefined) device.pollIntervalMs = spec.pollIntervalMs;
            switch (model.transport) {
                case "serial":
                    device.address = `tcp://127.0.0.1:${await freePort()}`;
                    break;
                case "mqtt":
                    device.address = "mqtt:";
                    if (spec.topic !== undefined) device.topic = spec.topic;
                    device.auth = { username: spec.id, password: secret(spec.id) };
                    break;
                case "http-push":
                    device.auth = { username: spec.id, password: secret(spec.id) };
                    break;
                case "onvif":
                    device.address = `http://127.0.0.1:${await freePort()}`;
                    device.auth = { username: "admin", password: secret(spec.id) };
                    break;
                case "opcua":
                    device.address = `opc.tcp://127.0.0.1:${plcPort}/UA/LanePLC`;
                    device.plc = { lanePrefix: spec.lanePrefix ?? lane.id };
                    break;
            }
            devices.push(device);
        }
        lanes.push({
            id: lane.id,
            ...(lane.name !== undefined && { name: lane.name }),
            ...(lane.direction !== undefined && { direction: lane.direction }),
            devices,
        });
    }
    const document = {
        gate: options.gate,
        storage: { path: join(options.workDir, "gate.db"), pkiFolder: join(options.workDir, "pki") },
        http: { host: "127.0.0.1", port: 0 },
        broker: { mode: "embedded", host: "127.0.0.1", port: await freePort() },
        push: { host: "127.0.0.1", port: 0 },
        central: { url: options.central.url, tokenEnv: options.central.tokenEnv, ...options.centralExtra },
        ...(options.ingest && { ingest: options.ingest }),
        ...(options.rules && { rules: options.rules }),
        ...(options.inspection && { inspection: options.inspection }),
        ...(options.yard && { yard: options.yard }),
        lanes,
    };
    return { yaml: stringifyYaml(document), passwords };
}

/**
 * A technician's config file prepared for a bench run: its own storage is left alone (the run's database
 * and PKI go to `workDir`), everything else is as written. Returns the YAML to parse and the file's plain
 * device passwords (`${VAR}` references resolved from the environment).
 */
export function benchFromFile(file: string, workDir: string): GeneratedBench {
    let document: unknown;
    try {
        document = parseYaml(readFileSync(file, "utf8"));
    } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        throw new GateError(code ? "CONFIG_UNREADABLE" : "CONFIG_INVALID", `${file}: ${code ?? errorMessage(err)}`, {
            cause: err,
        });
    }
    if (typeof document !== "object" || document === null) {
        throw new GateError("CONFIG_INVALID", `${file}: not a mapping`, { details: ["(root): must be a mapping"] });
    }
    const raw = document as { storage?: Record<string, unknown>; lanes?: unknown };
    raw.storage = { ...raw.storage, path: join(workDir, "gate.db"), pkiFolder: join(workDir, "pki") };
    const passwords = new Map<string, string>();
    for (const lane of Array.isArray(raw.lanes) ? raw.lanes : []) {
        const devices = (lane as { devices?: unknown }).devices;
        for (const device of Array.isArray(devices) ? devices : []) {
            const { id, auth } = device as { id?: unknown; auth?: { password?: unknown } };
            const password = auth?.password;
            if (typeof id !== "string" || typeof password !== "string") continue;
            const resolved = password.replace(
                /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g,
                (_m, name: string) => process.env[name] ?? "",
            );
            passwords.set(id, resolved);
        }
    }
    return { yaml: stringifyYaml(raw), passwords };
}
