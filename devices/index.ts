/**
 * The registry of device models: an explicit list, checked once when this module loads so a broken
 * model file fails at start-up rather than when its first frame arrives. Adding a model means adding
 * one file in devices/ and one line here.
 */
import { GateError } from "../src/core/errors.ts";
import { definition as dahuaItsapiAnpr } from "./dahua-itsapi-anpr.ts";
import { definition as esealMqttJson } from "./eseal-mqtt-json.ts";
import { definition as hikvisionIsapiAnpr } from "./hikvision-isapi-anpr.ts";
import { definition as jointechJt701 } from "./jointech-jt701.ts";
import { definition as lanePlcOpcua } from "./lane-plc-opcua.ts";
import { definition as mettlerToledoSics } from "./mettler-toledo-sics.ts";
import { definition as n42Rpm } from "./n42-rpm.ts";
import { definition as niiScanPackage } from "./nii-scan-package.ts";
import { definition as onvifAnpr } from "./onvif-anpr.ts";
import { definition as serialBarcodeScanner } from "./serial-barcode-scanner.ts";
import { definition as smaScale } from "./sma-scale.ts";
import { definition as toledoContinuous } from "./toledo-continuous.ts";
import type { DeviceModel, InspectionDeviceModel, ModelOptions } from "./types.ts";
import { definition as yaohuaXk3190A9 } from "./yaohua-xk3190-a9.ts";

export type * from "./types.ts";

export const models: readonly DeviceModel[] = [
    mettlerToledoSics,
    toledoContinuous,
    smaScale,
    yaohuaXk3190A9,
    serialBarcodeScanner,
    esealMqttJson,
    jointechJt701,
    hikvisionIsapiAnpr,
    dahuaItsapiAnpr,
    onvifAnpr,
    lanePlcOpcua,
];

/**
 * Devices of the inspection area (radiation portal monitors, X-ray / NII scanners): documents dropped into
 * a watched folder, configured under `inspection.devices` and run by src/inspection/devices.ts rather
 * than by a lane's device runtime. Checked with the same rules, and their ids are unique across both lists.
 */
export const inspectionModels: readonly InspectionDeviceModel[] = [n42Rpm, niiScanPackage];

type AnyModel = DeviceModel | InspectionDeviceModel;

const TRANSPORTS_OF_KIND: Readonly<Record<AnyModel["kind"], readonly AnyModel["transport"][]>> = {
    weight: ["serial"],
    scan: ["serial"],
    seal: ["mqtt", "tcp-listen"],
    plate: ["onvif", "http-push"],
    plc: ["opcua"],
    radiation: ["folder"],
    xray: ["folder"],
};

function isRecord(value: unknown): value is Record<string, unknown> {
    return typeof value === "object" && value !== null;
}

function isByte(value: unknown): value is number {
    return Number.isInteger(value) && (value as number) >= 0 && (value as number) <= 0xff;
}

function isPositiveInteger(value: unknown): value is number {
    return Number.isInteger(value) && (value as number) > 0;
}

/** Problems with a framer spec, as messages naming `path`. */
function framerProblems(framer: unknown, path: string): string[] {
    if (!isRecord(framer)) return [`${path} is missing`];
    const problems: string[] = [];
    if (!isPositiveInteger(framer.maxLength)) problems.push(`${path}.maxLength is not a positive integer`);
    const maxLength = Number(framer.maxLength);
    if (framer.type === "delimiter") {
        const delimiter = framer.delimiter;
        if (!Array.isArray(delimiter) || delimiter.length === 0 || !delimiter.every(isByte)) {
            problems.push(`${path}.delimiter is not a non-empty list of bytes`);
        }
    } else if (framer.type === "start-end") {
        if (!isByte(framer.start) || !isByte(framer.end)) problems.push(`${path}.start/end are not bytes`);
        if (framer.start === framer.end) problems.push(`${path}.start and end are the same byte`);
        if (!Number.isInteger(framer.trailer) || Number(framer.trailer) < 0) {
            problems.push(`${path}.trailer is not a non-negative integer`);
        } else if (maxLength < 2 + Number(framer.trailer)) {
            problems.push(`${path}.maxLength cannot hold start, end and trailer`);
        }
    } else {
        problems.push(`${path}.type is not "delimiter" or "start-end"`);
    }
    return problems;
}

/** Every problem with one definition, as messages; empty when it is a sound DeviceModel. */
export function definitionProblems(def: unknown): string[] {
    if (!isRecord(def)) return ["definition is not an object"];
    const problems: string[] = [];
    if (typeof def.model !== "string" || !/^[a-z0-9]+(?:-[a-z0-9]+)*$/.test(def.model)) {
        problems.push("model is not a kebab-case id");
    }
    for (const key of ["vendor", "description"]) {
        if (typeof def[key] !== "string" || def[key] === "") problems.push(`${key} is empty`);
    }
    // Devices gate-edge only reads (ONVIF cameras, PLCs) have nothing to encode: their simulators serve
    // the protocol from the model's own data (topic, tag map) instead.
    const encodes = def.transport !== "onvif" && def.transport !== "opcua";
    for (const key of encodes ? ["decode", "encode"] : ["decode"]) {
        if (typeof def[key] !== "function") problems.push(`${key} is not a function`);
    }
    const kind = def.kind;
    if (typeof kind !== "string" || !Object.hasOwn(TRANSPORTS_OF_KIND, kind)) return [...problems, "kind is unknown"];
    // Checked just above: kind is one of TRANSPORTS_OF_KIND's keys.
    const knownKind = kind as AnyModel["kind"];
    if (!TRANSPORTS_OF_KIND[knownKind].includes(def.transport as AnyModel["transport"]))
        problems.push(`transport of a ${kind} model is not ${TRANSPORTS_OF_KIND[knownKind].join(" or ")}`);
    if (def.transport === "serial") {
        const s = def.serialDefaults;
        if (
            !isRecord(s) ||
            !isPositiveInteger(s.baudRate) ||
            (s.dataBits !== 7 && s.dataBits !== 8) ||
            (s.parity !== "none" && s.parity !== "even" && s.parity !== "odd") ||
            (s.stopBits !== 1 && s.stopBits !== 2)
        ) {
            problems.push("serialDefaults are not sound");
        }
        problems.push(...framerProblems(def.framer, "framer"));
    }
    if (def.transport === "mqtt" && !isPositiveInteger(def.maxPayloadBytes)) {
        problems.push("maxPayloadBytes is not a positive integer");
    }
    if (def.transport === "tcp-listen") {
        if (!isPositiveInteger(def.maxFrameBytes)) problems.push("maxFrameBytes is not a positive integer");
        for (const key of ["cut", "acknowledge"])
            if (typeof def[key] !== "function") problems.push(`${key} is not a function`);
    }
    if (def.transport === "http-push") {
        if (
            !Array.isArray(def.paths) ||
            def.paths.length === 0 ||
            !def.paths.every((path) => typeof path === "string" && path.startsWith("/"))
        )
            problems.push("paths is not a non-empty list of absolute paths");
        if (!isPositiveInteger(def.maxBodyBytes)) problems.push("maxBodyBytes is not a positive integer");
        if (typeof def.reply !== "function") problems.push("reply is not a function");
    }
    if (def.transport === "folder") {
        if (!isPositiveInteger(def.maxEntryBytes)) problems.push("maxEntryBytes is not a positive integer");
        const layout = def.layout;
        const sound =
            isRecord(layout) &&
            ((layout.type === "file" && typeof layout.suffix === "string" && /^\.[a-z0-9]+$/i.test(layout.suffix)) ||
                (layout.type === "package" &&
                    typeof layout.manifest === "string" &&
                    /^[A-Za-z0-9._-]+$/.test(layout.manifest)));
        if (!sound) problems.push('layout is not a file suffix (".n42") or a package manifest name');
    }
    if (def.transport === "onvif" && (typeof def.plateTopic !== "string" || !def.plateTopic.includes("/")))
        problems.push("plateTopic is not an event topic");
    if (def.transport === "opcua") {
        if (!isRecord(def.tags) || !isRecord(def.lightCodes)) problems.push("tags or lightCodes are missing");
        else {
            for (const [tag, spec] of Object.entries(def.tags)) {
                if (!isRecord(spec) || typeof spec.nodeId !== "string" || !spec.nodeId.includes("{lane}"))
                    problems.push(`tags.${tag}.nodeId has no {lane} placeholder`);
            }
            const writes = Object.entries(def.tags).filter(([, spec]) => isRecord(spec) && spec.access === "write");
            // gate-edge never commands a close; a model must not even offer one.
            if (writes.some(([tag]) => /close/i.test(tag))) problems.push("a PLC model must not have a close command");
        }
    }
    if (def.options !== undefined) problems.push(...optionProblems(def));
    if (kind === "weight") {
        if (def.mode === "request") {
            const poll = def.poll;
            if (
                !isRecord(poll) ||
                !Array.isArray(poll.command) ||
                poll.command.length === 0 ||
                !poll.command.every(isByte)
            ) {
                problems.push("poll.command is not a non-empty list of bytes");
            }
            if (!isRecord(poll) || !isPositiveInteger(poll.intervalMs))
                problems.push("poll.intervalMs is not positive");
            problems.push(...framerProblems(def.commandFramer, "commandFramer"));
            if (typeof def.respond !== "function") problems.push("respond is not a function");
        } else if (def.mode === "continuous") {
            if (def.poll !== undefined || def.commandFramer !== undefined || def.respond !== undefined) {
                problems.push("a continuous model has poll, commandFramer or respond");
            }
        } else {
            problems.push('mode is not "continuous" or "request"');
        }
    }
    return problems;
}

/**
 * Problems with a definition's `options`: each spec sound, `withOptions` present, and the model it gives
 * for every setting other than the default is itself sound and has no options of its own.
 */
function optionProblems(def: Record<string, unknown>): string[] {
    const specs = def.options;
    if (!isRecord(specs)) return ["options is not an object"];
    if (typeof def.withOptions !== "function") return ["options without a withOptions function"];
    const problems: string[] = [];
    for (const [name, spec] of Object.entries(specs)) {
        if (!isRecord(spec) || spec.type !== "boolean" || typeof spec.default !== "boolean") {
            problems.push(`options.${name} is not a boolean option with a default`);
            continue;
        }
        const setting = { [name]: !spec.default };
        // Called on a definition being checked: a throwing withOptions is a problem to report, not a crash.
        let variant: unknown;
        try {
            variant = def.withOptions(setting);
        } catch (err) {
            problems.push(`withOptions(${name}: ${!spec.default}) throws: ${String(err)}`);
            continue;
        }
        if (isRecord(variant) && (variant.options !== undefined || variant.withOptions !== undefined))
            problems.push(`withOptions(${name}: ${!spec.default}) has options of its own`);
        else problems.push(...definitionProblems(variant).map((p) => `withOptions(${name}: ${!spec.default}): ${p}`));
    }
    return problems;
}

/**
 * Asserts that `def` is a sound DeviceModel: kebab-case id, metadata, decode/encode functions, kind and
 * transport consistent, framers sane, request-mode scales complete. Throws GateError CONFIG_INVALID
 * listing every problem; a model is part of what the gate is configured with.
 */
export function validateDefinition(def: unknown): asserts def is DeviceModel {
    const problems = definitionProblems(def);
    if (problems.length > 0) {
        const id = isRecord(def) && typeof def.model === "string" ? def.model : "(no id)";
        throw new GateError("CONFIG_INVALID", `device model ${id}: ${problems.join("; ")}`, { details: problems });
    }
}

/** Validates every definition and that model ids are unique. Throws like validateDefinition. */
export function validateModels(list: readonly unknown[]): asserts list is readonly DeviceModel[] {
    const seen = new Set<string>();
    for (const def of list) {
        validateDefinition(def);
        if (seen.has(def.model)) throw new GateError("CONFIG_INVALID", `device model ${def.model}: duplicate id`);
        seen.add(def.model);
    }
}

validateModels([...models, ...inspectionModels]);

const inspectionById: ReadonlyMap<string, InspectionDeviceModel> = new Map(inspectionModels.map((m) => [m.model, m]));

/** The inspection-area model with this id, or undefined. */
export function getInspectionModel(id: string): InspectionDeviceModel | undefined {
    return inspectionById.get(id);
}

const byId: ReadonlyMap<string, DeviceModel> = new Map(models.map((m) => [m.model, m]));

/**
 * The model with this id as it reads a device with these settings (checked first with
 * modelOptionProblems), or undefined (the config validator turns that into MODEL_UNKNOWN).
 */
export function getModel(id: string, options?: ModelOptions): DeviceModel | undefined {
    const model = byId.get(id);
    if (!model?.withOptions || options === undefined || Object.keys(options).length === 0) return model;
    return model.withOptions(options);
}

/** What is wrong with a device's `options` for this model, as messages naming `path`; empty when sound. */
export function modelOptionProblems(
    model: DeviceModel,
    options: Readonly<Record<string, unknown>>,
    path: string,
): string[] {
    const specs = model.options ?? {};
    return Object.entries(options).flatMap(([name, value]) => {
        const spec = specs[name];
        if (spec === undefined) {
            const known = Object.keys(specs);
            return [
                `${path}.${name}: model ${model.model} has ${known.length === 0 ? "no options" : `no such option (it has ${known.join(", ")})`}`,
            ];
        }
        return typeof value === spec.type ? [] : [`${path}.${name}: must be a ${spec.type}`];
    });
}

/** Every model id, in registry order. */
export function modelIds(): readonly string[] {
    return models.map((m) => m.model);
}
