/**
 * Where the central simulator's clearance feed comes from: a clearance file (config/clearance-demo.yaml
 * format), a scenario file (test/fixtures/scenario-100.yaml format: its declared trucks become
 * declarations), or items given directly (addClearance, POST /admin/clearance). Everything is validated
 * with the same checks the gate's clearance cache applies, so the simulator never serves what a real
 * gate would refuse — unless a test builds such a page on purpose with its own server.
 */
import { readFileSync } from "node:fs";
import { parse as parseYaml } from "yaml";
import { errorMessage, GateError } from "../../src/core/errors.ts";
import { parseDeclarationNumber } from "../../src/core/identifiers.ts";
import type { Declaration } from "../../src/lane/types.ts";
import { readClearanceFile, validateDeclaration, validateWatchListEntry } from "../../src/store/clearance.ts";
import type { ClearanceItem } from "../../src/sync/protocol.ts";
import { validatePreArrival } from "../../src/yard/preArrival.ts";

/** A clearance source to load at start. Loading is idempotent: items the feed already has are not added again. */
export type ClearanceSourceSpec = { file: string } | { scenario: string };

export interface ClearanceBatch {
    items: ClearanceItem[];
    version: string;
    /** Where it came from, for log lines. */
    origin: string;
}

type Obj = Record<string, unknown>;

function isObject(value: unknown): value is Obj {
    return typeof value === "object" && value !== null && !Array.isArray(value);
}

function invalid(source: string, errors: string[]): GateError {
    return new GateError("CLEARANCE_INVALID", `${source} has ${errors.length} error(s): ${errors.join("; ")}`, {
        details: errors,
    });
}

/**
 * Validates feed items (`[{type: "declaration", declaration} | {type: "watchList", entry} |
 * {type: "watchListRemoved", id}]`). Throws CLEARANCE_INVALID listing every error by path; returns the
 * items normalised as the clearance cache would store them.
 */
export function validateClearanceItems(input: unknown, source = "items"): ClearanceItem[] {
    if (!Array.isArray(input)) throw invalid(source, [`${source}: must be a list of clearance items`]);
    const errors: string[] = [];
    const items: ClearanceItem[] = [];
    input.forEach((raw: unknown, index) => {
        const path = `${source}[${index}]`;
        if (!isObject(raw)) {
            errors.push(`${path}: must be an object with a type`);
            return;
        }
        const keys = Object.keys(raw).filter((key) => key !== "type");
        const only = (key: string) => {
            for (const k of keys) if (k !== key) errors.push(`${path}.${k}: unknown property for ${String(raw.type)}`);
        };
        if (raw.type === "declaration") {
            only("declaration");
            const declaration = validateDeclaration(raw.declaration, `${path}.declaration`, errors);
            if (declaration) items.push({ type: "declaration", declaration });
        } else if (raw.type === "watchList") {
            only("entry");
            const entry = validateWatchListEntry(raw.entry, `${path}.entry`, errors);
            if (entry) items.push({ type: "watchList", entry });
        } else if (raw.type === "watchListRemoved") {
            only("id");
            if (typeof raw.id !== "string" || raw.id.trim() === "")
                errors.push(`${path}.id: must be a non-empty string`);
            else items.push({ type: "watchListRemoved", id: raw.id.trim() });
        } else if (raw.type === "preArrival") {
            only("preArrival");
            const preArrival = validatePreArrival(raw.preArrival, `${path}.preArrival`, errors);
            if (preArrival) items.push({ type: "preArrival", preArrival });
        } else {
            errors.push(`${path}.type: must be declaration, watchList, watchListRemoved or preArrival`);
        }
    });
    if (errors.length > 0) throw invalid(source, errors);
    return items;
}

/** A clearance file as feed items: its declarations, then its watch list. */
export function clearanceFileItems(file: string): ClearanceBatch {
    const data = readClearanceFile(file);
    return {
        items: [
            ...data.declarations.map((declaration): ClearanceItem => ({ type: "declaration", declaration })),
            ...data.watchList.map((entry): ClearanceItem => ({ type: "watchList", entry })),
            ...(data.preArrivals ?? []).map((preArrival): ClearanceItem => ({ type: "preArrival", preArrival })),
        ],
        version: data.version,
        origin: file,
    };
}

/**
 * A scenario file's declared trucks as declarations: each lane's green truck GREEN/CLEARED, its red one
 * RED/CLEARED and not inspected (so red-channel trucks go to inspection, as the scenario expects), its yellow
 * one (if any) YELLOW/CLEARED with the document check not done, its watched one (if any) GREEN/CLEARED with
 * its tractor plate on the watch list; plates tractor + trailer, the container with its seal, the declared
 * gross. A number declared in several lanes becomes one declaration; the scenario's unknownDeclaration is
 * left out on purpose. A `watchList` list in the file, if any, is served too.
 */
export function scenarioItems(file: string): ClearanceBatch {
    let document: unknown;
    try {
        document = parseYaml(readFileSync(file, "utf8"));
    } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== undefined) throw new GateError("CLEARANCE_UNREADABLE", `${file}: ${code}`, { cause: err });
        throw new GateError("CLEARANCE_INVALID", `${file} is not valid YAML`, {
            cause: err,
            details: [`(root): ${errorMessage(err).split("\n")[0] ?? ""}`],
        });
    }
    const errors: string[] = [];
    if (!isObject(document) || !isObject(document.declarations)) {
        throw invalid(file, ["declarations: must map each lane to its green and red trucks"]);
    }
    const byNumber = new Map<string, { declaration: Declaration; path: string }>();
    const watched: ClearanceItem[] = [];
    for (const [lane, pair] of Object.entries(document.declarations)) {
        for (const color of ["green", "red", "yellow", "watched"] as const) {
            const path = `declarations.${lane}.${color}`;
            const truck = isObject(pair) ? pair[color] : undefined;
            if ((color === "yellow" || color === "watched") && truck === undefined) continue;
            if (!isObject(truck)) {
                errors.push(`${path}: must be a declared truck`);
                continue;
            }
            const number = typeof truck.number === "string" ? truck.number.trim() : "";
            const parsed = parseDeclarationNumber(number);
            const declaration = validateDeclaration(
                {
                    number,
                    type: parsed.ok ? parsed.typeCode : number.slice(0, 2),
                    channel: color === "red" ? "RED" : color === "yellow" ? "YELLOW" : "GREEN",
                    status: "CLEARED",
                    documentCheckDone: false,
                    inspectionDone: false,
                    declaredPlates: [truck.tractor, truck.trailer].filter((plate) => plate !== undefined),
                    containers:
                        typeof truck.container === "string"
                            ? [
                                  {
                                      number: truck.container,
                                      sealNumbers: typeof truck.seal === "string" ? [truck.seal] : [],
                                  },
                              ]
                            : [],
                    declaredGrossKg: truck.grossKg,
                    version: 1,
                },
                path,
                errors,
            );
            if (!declaration) continue;
            if (color === "watched") {
                const entry = validateWatchListEntry(
                    {
                        id: `scenario-watched-${lane}`,
                        kind: "plate",
                        value: truck.tractor,
                        reason: "watch-listed truck of the scenario",
                        version: 1,
                    },
                    `${path}.tractor`,
                    errors,
                );
                if (entry) watched.push({ type: "watchList", entry });
            }
            const first = byNumber.get(declaration.number);
            if (!first) byNumber.set(declaration.number, { declaration, path });
            else if (JSON.stringify(first.declaration) !== JSON.stringify(declaration)) {
                errors.push(`${path}: declares ${declaration.number} differently from ${first.path}`);
            }
        }
    }
    const items: ClearanceItem[] = [
        ...[...byNumber.values()].map(({ declaration }): ClearanceItem => ({ type: "declaration", declaration })),
        ...watched,
    ];
    if (document.watchList !== undefined) {
        if (!Array.isArray(document.watchList)) errors.push("watchList: must be a list");
        else {
            document.watchList.forEach((raw: unknown, index) => {
                const entry = validateWatchListEntry(raw, `watchList[${index}]`, errors);
                if (entry) items.push({ type: "watchList", entry });
            });
        }
    }
    if (errors.length > 0) throw invalid(file, errors);
    const name = typeof document.name === "string" && document.name !== "" ? document.name : "unnamed";
    return { items, version: `scenario-${name}`, origin: file };
}

export function loadClearanceSource(spec: ClearanceSourceSpec): ClearanceBatch {
    return "file" in spec ? clearanceFileItems(spec.file) : scenarioItems(spec.scenario);
}
