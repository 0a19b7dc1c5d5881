import { createHmac, randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Ajv, type ErrorObject } from "ajv";
import { parse as parseYaml, YAMLParseError } from "yaml";
import { getModel, type ModelOptions, modelOptionProblems } from "../../devices/index.ts";
import { GateError } from "../core/errors.ts";
import { buildDisplays, type RawDisplay } from "../display/config.ts";
import type { RawDeviceEntry } from "../drivers/address.ts";
import { transportAddresses } from "../drivers/registry.ts";
import { inspectionDevices, inspectionExits, type RawInspectionDevice } from "../inspection/config.ts";
import { type RawYard, yardConfig } from "../yard/config.ts";
import { exitBarrierLaneProblems } from "./pointLanes.ts";
import type { DeviceConfig, ExitPointConfig, GateConfig, LaneConfig } from "./types.ts";

// From src/config when run through tsx, from dist/src/config when compiled: the schema stays in config/.
const here = dirname(fileURLToPath(import.meta.url));
const schemaPath = [join(here, "../../config/gate.schema.json"), join(here, "../../../config/gate.schema.json")].find(
    (candidate) => existsSync(candidate),
) as string;

let compiledValidator: ReturnType<Ajv["compile"]> | undefined;
function validator(): ReturnType<Ajv["compile"]> {
    if (!compiledValidator) {
        // The schema is checked against JSON Schema's meta-schema by test/unit/config-schema.test.ts, not at
        // every start: compiling the meta-schema costs about 100 ms of each start-up.
        const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: false, validateSchema: false });
        compiledValidator = ajv.compile(JSON.parse(readFileSync(schemaPath, "utf8")));
    }
    return compiledValidator;
}

/** `/lanes/1/devices/0/model` → `lanes[1].devices[0].model` */
export function keyPath(pointer: string): string {
    return pointer
        .split("/")
        .slice(1)
        .map((part) => part.replace(/~1/g, "/").replace(/~0/g, "~"))
        .reduce((path, part) => (/^\d+$/.test(part) ? `${path}[${part}]` : path ? `${path}.${part}` : part), "");
}

function describeAjvError(error: ErrorObject): string {
    let path = keyPath(error.instancePath);
    let message = error.message ?? "is invalid";
    if (error.keyword === "required") {
        const missing = (error.params as { missingProperty: string }).missingProperty;
        path = path ? `${path}.${missing}` : missing;
        message = "is required";
    } else if (error.keyword === "additionalProperties") {
        const extra = (error.params as { additionalProperty: string }).additionalProperty;
        path = path ? `${path}.${extra}` : extra;
        message = "is not a known key";
    } else if (error.keyword === "enum") {
        message = `must be one of ${(error.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(", ")}`;
    }
    return `${path || "(root)"}: ${message}`;
}

/** Replaces `${NAME}` in every string with the environment variable NAME; a missing one is an error at its key path. */
function interpolateEnv(value: unknown, path: string, env: NodeJS.ProcessEnv, errors: string[]): unknown {
    if (typeof value === "string") {
        return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_match, name: string) => {
            const found = env[name];
            if (found === undefined) {
                errors.push(`${path}: environment variable ${name} is not set`);
                return "";
            }
            return found;
        });
    }
    if (Array.isArray(value)) return value.map((item, index) => interpolateEnv(item, `${path}[${index}]`, env, errors));
    if (value && typeof value === "object") {
        return Object.fromEntries(
            Object.entries(value).map(([key, member]) => [
                key,
                interpolateEnv(member, path ? `${path}.${key}` : key, env, errors),
            ]),
        );
    }
    return value;
}

/** Where the gates are: Vietnam's border gates keep Indochina Time. */
export const DEFAULT_TIME_ZONE = "Asia/Ho_Chi_Minh";

/** True for a zone Intl knows (IANA names; it throws a RangeError for anything else). */
function isTimeZone(name: string): boolean {
    try {
        new Intl.DateTimeFormat("en-GB", { timeZone: name });
        return true;
    } catch {
        return false;
    }
}

interface RawLane {
    id: string;
    name?: string;
    direction: "IN" | "OUT";
    devices: RawDeviceEntry[];
    displays?: RawDisplay[];
}
interface RawConfig {
    gate: { id: string; name?: string; timeZone?: string };
    storage: Omit<GateConfig["storage"], "pkiFolder"> & { pkiFolder?: string };
    http: GateConfig["http"];
    ui?: { defaultLanguage?: "vi" | "en" };
    push: GateConfig["push"];
    broker: {
        mode: "embedded" | "external";
        host: string;
        port: number;
        maxPacketBytes: number;
        connectTimeoutMs: number;
        maxSessionsPerAccount: number;
        loginRateLimit: { maxFailures: number; windowMinutes: number };
        url?: string;
        username?: string;
        password?: string;
        clientId?: string;
    };
    central: GateConfig["central"];
    ingest: GateConfig["ingest"];
    rules: GateConfig["rules"];
    lanes: RawLane[];
    inspection?: { devices?: RawInspectionDevice[]; exits?: ExitPointConfig[]; randomRate?: number };
    yard?: RawYard;
}

/**
 * Checks the schema cannot express: known models, addresses that fit the model, unique ids and topics.
 * `leftOut`: lanes and devices (by JSON pointer) the schema refused, which only the schema's errors describe.
 */
function buildConfig(
    raw: RawConfig,
    source: string,
    baseDir: string,
    errors: string[],
    leftOut: (pointer: string) => boolean = () => false,
): GateConfig {
    const deviceIds = new Set<string>();
    const laneIds = new Set<string>();
    const topics = new Map<string, string>();
    const usernames = new Set<string>();
    const listenPorts = new Map<number, string>();
    if ((raw.central.clientCert === undefined) !== (raw.central.clientKey === undefined))
        errors.push(
            `central.${raw.central.clientCert === undefined ? "clientCert" : "clientKey"}: mutual TLS needs both clientCert and clientKey`,
        );
    if (raw.central.url?.startsWith("http:") && (raw.central.ca || raw.central.clientCert))
        errors.push("central.url: ca and clientCert need an https:// url");
    if (raw.gate.timeZone !== undefined && !isTimeZone(raw.gate.timeZone))
        errors.push(`gate.timeZone: "${raw.gate.timeZone}" is not an IANA time zone (e.g. Asia/Ho_Chi_Minh)`);
    const lanes: LaneConfig[] = raw.lanes.flatMap((lane, laneIndex) => {
        if (leftOut(`/lanes/${laneIndex}`)) return [];
        const lanePath = `lanes[${laneIndex}]`;
        if (laneIds.has(lane.id)) errors.push(`${lanePath}.id: lane id "${lane.id}" is used twice`);
        laneIds.add(lane.id);
        const devices: DeviceConfig[] = [];
        lane.devices.forEach((device, deviceIndex) => {
            if (leftOut(`/lanes/${laneIndex}/devices/${deviceIndex}`)) return;
            const path = `${lanePath}.devices[${deviceIndex}]`;
            if (deviceIds.has(device.id)) errors.push(`${path}.id: device id "${device.id}" is used twice`);
            deviceIds.add(device.id);
            const model = getModel(device.model);
            if (!model) {
                errors.push(`${path}.model: unknown model "${device.model}"`);
                return;
            }
            if (device.kind !== undefined && device.kind !== model.kind)
                errors.push(
                    `${path}.kind: "${device.kind}" does not match model ${model.model}, which reads "${model.kind}"`,
                );
            // The device's transport reads its address (src/drivers/<transport>.address.ts).
            const addressing = transportAddresses[model.transport];
            for (const key of ["topic", "allow", "plc"] as const)
                if (device[key] !== undefined && !addressing.ownKeys.includes(key))
                    errors.push(`${path}.${key}: model ${model.model} does not use it`);
            const address = addressing.parse(device, model, {
                ...{ path, errors, gateId: raw.gate.id, brokerMode: raw.broker.mode },
                ...{ topics, listenPorts },
            });
            if (
                model.kind === "plate" &&
                device.role !== undefined &&
                device.role !== "front" &&
                device.role !== "rear"
            )
                errors.push(`${path}.role: a plate camera is "front" or "rear"`);
            if (device.auth?.basic !== undefined && !addressing.basicAuth)
                errors.push(`${path}.auth.basic: only push cameras choose Basic besides Digest`);
            // Devices that log in to gate-edge share one username space (broker and push receiver).
            const sealAuth = addressing.sealAuth;
            if (device.auth && sealAuth) {
                if (usernames.has(device.auth.username))
                    errors.push(`${path}.auth.username: "${device.auth.username}" is used by another device`);
                usernames.add(device.auth.username);
            }
            if (device.pollIntervalMs !== undefined && !(model.kind === "weight" && model.mode === "request"))
                errors.push(`${path}.pollIntervalMs: model ${model.model} is not polled`);
            if (device.options !== undefined)
                errors.push(...modelOptionProblems(model, device.options, `${path}.options`));
            if (!address) return;
            const deviceConfig: DeviceConfig = {
                id: device.id,
                laneId: lane.id,
                model: model.model,
                kind: model.kind,
                address,
                ...(device.role !== undefined && { role: device.role }),
                ...(device.auth && sealAuth && { auth: sealAuth(device.auth) }),
                ...(device.pollIntervalMs !== undefined && { pollIntervalMs: device.pollIntervalMs }),
                // The values were just checked against the model's option specs, all booleans.
                ...(device.options !== undefined && { options: device.options as ModelOptions }),
            };
            if (device.auth) {
                // A reload must notice a changed password, but a salted hash differs on every load: keep a
                // keyed fingerprint instead, non-enumerable like the login so nothing that walks the config
                // (logs, JSON, the API) carries it, and keyed per process so it is no use outside it.
                Object.defineProperty(deviceConfig, "authFingerprint", {
                    value: authFingerprint(device.auth.username, device.auth.password),
                    enumerable: false,
                });
            }
            if (device.auth && !sealAuth) {
                Object.defineProperty(deviceConfig, "login", {
                    value: Object.freeze({ username: device.auth.username, password: device.auth.password }),
                    enumerable: false,
                });
            }
            devices.push(deviceConfig);
        });
        const displays = buildDisplays(
            lane.displays ?? [],
            lanePath,
            lane.id,
            raw.broker.mode,
            deviceIds,
            usernames,
            errors,
        );
        return [
            {
                id: lane.id,
                name: lane.name ?? lane.id,
                direction: lane.direction,
                devices,
                ...(displays.length > 0 && { displays }),
            },
        ];
    });

    let broker: GateConfig["broker"];
    if (raw.broker.mode === "external") {
        if (!raw.broker.url) errors.push("broker.url: is required when broker.mode is external");
        broker = {
            mode: "external",
            url: raw.broker.url ?? "",
            clientId: raw.broker.clientId ?? `gate-edge-${raw.gate.id}`,
            ...(raw.broker.username !== undefined && { username: raw.broker.username }),
            ...(raw.broker.password !== undefined && { password: raw.broker.password }),
        };
    } else {
        const { host, port, maxPacketBytes, connectTimeoutMs, maxSessionsPerAccount, loginRateLimit } = raw.broker;
        broker = {
            mode: "embedded",
            host,
            port,
            maxPacketBytes,
            connectTimeoutMs,
            maxSessionsPerAccount,
            loginRateLimit,
        };
    }
    return {
        gate: { id: raw.gate.id, name: raw.gate.name ?? raw.gate.id, timeZone: raw.gate.timeZone ?? DEFAULT_TIME_ZONE },
        storage: {
            ...raw.storage,
            path: resolve(baseDir, raw.storage.path),
            pkiFolder: resolve(baseDir, raw.storage.pkiFolder ?? join(dirname(raw.storage.path), "pki")),
            ...(raw.storage.archiveDir !== undefined && { archiveDir: resolve(baseDir, raw.storage.archiveDir) }),
        },
        http: raw.http,
        ui: { defaultLanguage: raw.ui?.defaultLanguage ?? "vi" },
        push: raw.push,
        central: {
            ...raw.central,
            ...(raw.central.ca !== undefined && { ca: resolve(baseDir, raw.central.ca) }),
            ...(raw.central.clientCert !== undefined && { clientCert: resolve(baseDir, raw.central.clientCert) }),
            ...(raw.central.clientKey !== undefined && { clientKey: resolve(baseDir, raw.central.clientKey) }),
        },
        broker,
        ingest: raw.ingest,
        rules: raw.rules,
        lanes,
        inspection: {
            devices: inspectionDevices(
                raw.inspection,
                { laneIds: new Set(lanes.map((l) => l.id)), deviceIds, baseDir },
                errors,
            ),
            exits: inspectionExits(raw.inspection?.exits, lanes, errors),
            randomRate: raw.inspection?.randomRate ?? 0,
        },
        ...(raw.yard !== undefined && {
            yard: yardConfig(raw.yard, lanes, { deviceIds, usernames, brokerMode: raw.broker.mode }, errors),
        }),
        source,
    };
}

const fingerprintKey = randomBytes(32);
function authFingerprint(username: string, password: string): string {
    return createHmac("sha256", fingerprintKey).update(username).update("\0").update(password).digest("hex");
}

function deepFreeze<T>(value: T): T {
    if (value && typeof value === "object") {
        for (const member of Object.values(value)) deepFreeze(member);
        Object.freeze(value);
    }
    return value;
}

/**
 * Parses and validates a configuration document. Throws GateError CONFIG_INVALID whose `details` list
 * every problem as `key.path: message`; nothing starts on a bad config. Relative storage paths resolve
 * against `baseDir` (the process's working directory by default).
 */
export function parseConfig(
    text: string,
    options: { source?: string; env?: NodeJS.ProcessEnv; baseDir?: string } = {},
): GateConfig {
    const source = options.source ?? "(inline)";
    let document: unknown;
    try {
        document = parseYaml(text, { prettyErrors: true });
    } catch (err) {
        const where = err instanceof YAMLParseError && err.linePos ? ` at line ${err.linePos[0].line}` : "";
        throw new GateError("CONFIG_INVALID", `${source} is not valid YAML${where}`, {
            cause: err,
            details: [`(root): ${err instanceof Error ? err.message.split("\n")[0] : String(err)}`],
        });
    }
    const errors: string[] = [];
    const interpolated = interpolateEnv(document ?? {}, "", options.env ?? process.env, errors);
    const validate = validator();
    if (!validate(interpolated)) {
        // A missing environment variable already has its own error at that path; say it once.
        const envPaths = new Set(errors.map((line) => line.slice(0, line.indexOf(":"))));
        for (const line of (validate.errors ?? []).map(describeAjvError)) {
            if (!envPaths.has(line.slice(0, line.indexOf(":")))) errors.push(line);
        }
        errors.push(...unknownModels(interpolated));
        errors.push(...addressesMissingWithModel(interpolated));
        errors.push(...checksPastTheSchema(interpolated, validate.errors ?? [], source, options.baseDir));
    }
    if (errors.length > 0) {
        errors.push(...listenerClashes(gateListeners(interpolated)));
        throw new GateError("CONFIG_INVALID", `${source} has ${errors.length} error(s)`, { details: dedupe(errors) });
    }
    const config = buildConfig(interpolated as RawConfig, source, options.baseDir ?? process.cwd(), errors);
    errors.push(...listenerClashes(gateListeners(config)));
    errors.push(...exitBarrierLaneProblems(config));
    if (errors.length > 0) {
        throw new GateError("CONFIG_INVALID", `${source} has ${errors.length} error(s)`, { details: dedupe(errors) });
    }
    return deepFreeze(config);
}

/**
 * The checks that come after the schema (addresses, credentials, duplicate ids and topics …), run on every
 * lane and device the schema found nothing wrong with, so one run names every error of the file rather than
 * the schema's now and the rest at the next try. What the schema refused is left out: its error names it.
 */
function checksPastTheSchema(
    document: unknown,
    schemaErrors: readonly ErrorObject[],
    source: string,
    baseDir: string | undefined,
): string[] {
    const refused = schemaErrors.map((error) => error.instancePath);
    const leftOut = (pointer: string): boolean =>
        refused.some((path) => {
            if (path === pointer) return true;
            if (!path.startsWith(`${pointer}/`)) return false;
            // A lane is left out for its own keys; a refused device leaves out only that device.
            return !/^\/lanes\/\d+$/.test(pointer) || !path.startsWith(`${pointer}/devices/`);
        });
    const errors: string[] = [];
    try {
        buildConfig(document as RawConfig, source, baseDir ?? process.cwd(), errors, leftOut);
    } catch {
        // A section the schema refused (a missing storage, say) cannot be read further; what was found before
        // it is still true, and the schema's error names the section.
    }
    return errors;
}

/**
 * A device with neither model nor address: the schema names the model, and the address is missing too
 * unless the model turns out to be one that needs none (MQTT devices and push cameras).
 */
function addressesMissingWithModel(document: unknown): string[] {
    const lanes = (document as { lanes?: unknown })?.lanes;
    if (!Array.isArray(lanes)) return [];
    return lanes.flatMap((lane: unknown, laneIndex) => {
        const devices = (lane as { devices?: unknown })?.devices;
        if (!Array.isArray(devices)) return [];
        return devices.flatMap((device: unknown, deviceIndex) => {
            const { model, address } = (device ?? {}) as { model?: unknown; address?: unknown };
            return model === undefined && address === undefined
                ? [
                      `lanes[${laneIndex}].devices[${deviceIndex}].address: is required (every model but MQTT devices and push cameras needs one)`,
                  ]
                : [];
        });
    });
}

/** Unknown models are worth naming even when the schema failed elsewhere: it is the commonest typo. */
function unknownModels(document: unknown): string[] {
    const lanes = (document as { lanes?: unknown })?.lanes;
    if (!Array.isArray(lanes)) return [];
    return lanes.flatMap((lane: unknown, laneIndex) => {
        const devices = (lane as { devices?: unknown })?.devices;
        if (!Array.isArray(devices)) return [];
        return devices.flatMap((device: unknown, deviceIndex) => {
            const model = (device as { model?: unknown })?.model;
            return typeof model === "string" && !getModel(model)
                ? [`lanes[${laneIndex}].devices[${deviceIndex}].model: unknown model "${model}"`]
                : [];
        });
    });
}

/** A socket the gate listens on: the key of its port, its address, and what it serves. */
export interface GateListener {
    key: string;
    host: string;
    port: number;
    what: string;
}

/**
 * The sockets a configuration makes the gate listen on: the API always, the embedded broker, and the
 * camera push receiver when a push camera is configured. Reads a GateConfig or a parsed document alike
 * (`unknown`: the document may have failed the schema elsewhere), skipping what it cannot read.
 */
export function gateListeners(config: unknown): GateListener[] {
    const { http, broker, push, lanes } = (config ?? {}) as Record<"http" | "broker" | "push" | "lanes", unknown>;
    const listeners: GateListener[] = [];
    const add = (section: "http" | "broker" | "push", value: unknown, what: string): void => {
        const { host, port } = (value ?? {}) as { host?: unknown; port?: unknown };
        if (typeof host === "string" && typeof port === "number" && Number.isInteger(port)) {
            listeners.push({ key: `${section}.port`, host, port, what });
        }
    };
    add("http", http, "the API and dashboard");
    if ((broker as { mode?: unknown } | undefined)?.mode !== "external") add("broker", broker, "the MQTT broker");
    const devices: unknown[] = Array.isArray(lanes)
        ? lanes.flatMap((lane: unknown) => {
              const list = (lane as { devices?: unknown } | undefined)?.devices;
              return Array.isArray(list) ? list : [];
          })
        : [];
    const pushCamera = devices.some((device) => {
        const model = (device as { model?: unknown } | undefined)?.model;
        const transport = typeof model === "string" ? getModel(model)?.transport : undefined;
        return transport !== undefined && transportAddresses[transport].gateListener === "push";
    });
    if (pushCamera) add("push", push, "the camera push receiver");
    return listeners;
}

/** Hosts that listen on every address: they take their port from every other host. */
const EVERY_ADDRESS = new Set(["0.0.0.0", "::", ""]);

function addressesOf(host: string): string[] {
    const name = host.toLowerCase().replace(/^\[|\]$/g, "");
    return name === "localhost" ? ["127.0.0.1", "::1"] : [name];
}

function everyAddress(listener: GateListener): boolean {
    return addressesOf(listener.host).some((address) => EVERY_ADDRESS.has(address));
}

/**
 * Listeners that would take the same port, each pair once: `http.port: 18830 is also broker.port`, with
 * the host that listens on every address named when the hosts differ. Port 0 (any free port) never clashes.
 */
export function listenerClashes(listeners: readonly GateListener[]): string[] {
    const lines: string[] = [];
    for (const [index, first] of listeners.entries()) {
        if (first.port === 0) continue;
        const clashes = listeners.slice(index + 1).filter((other) => {
            if (other.port !== first.port) return false;
            if (everyAddress(first) || everyAddress(other)) return true;
            const mine = addressesOf(first.host);
            return addressesOf(other.host).some((address) => mine.includes(address));
        });
        if (clashes.length === 0) continue;
        const named = clashes.map((other) => {
            if (other.host === first.host) return other.key;
            const wide = everyAddress(first) ? first : everyAddress(other) ? other : undefined;
            return wide
                ? `${other.key} (${wide.key.replace(/port$/, "host")} ${wide.host} listens on every address)`
                : other.key;
        });
        lines.push(`${first.key}: ${first.port} is also ${named.join(", ")}`);
    }
    return lines;
}

function dedupe(lines: string[]): string[] {
    return [...new Set(lines)];
}

export function loadConfig(file: string, options: { env?: NodeJS.ProcessEnv } = {}): GateConfig {
    let text: string;
    try {
        text = readFileSync(file, "utf8");
    } catch (err) {
        throw new GateError("CONFIG_UNREADABLE", `${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, {
            cause: err,
        });
    }
    return parseConfig(text, { source: file, ...options });
}
