/**
 * Pre-arrival records (issue 19 part 1): the visits central (its clearance feed's `preArrival` items, or a
 * clearance file's `preArrivals`) or an import (`gate-edge prearrival import FILE`, `POST /api/v1/prearrivals`)
 * announces. Validated as the clearance data is: all or nothing, every error by key path. Stored in
 * `pre_arrivals` (migration 9), the higher version winning; the driver's name and phone sit in a column of
 * their own, never in a log line (`redacted`), and are dropped after `yard.personalDataRetentionDays`.
 * A truck at the yard entry is matched to its record by plate with the lanes' misread tolerance
 * (identifiers.ts plateRelation, indexed by plateMisreadKey).
 */
import { readFileSync } from "node:fs";
import { parse as parseYaml } from "yaml";
import { GateError } from "../core/errors.ts";
import {
    normalizePlate,
    type PlateRelation,
    parseDeclarationNumber,
    plateMisreadKey,
    plateRelation,
} from "../core/identifiers.ts";
import {
    ISO_8601,
    isObject,
    isVersion,
    nonEmptyString,
    type UpsertCounts,
    unknownKeys,
    validateList,
} from "../store/clearance.ts";
import type { Db } from "../store/db.ts";
import type { GoodsClass, LaneGroup, PreArrival } from "./types.ts";

const GOODS_CLASSES: readonly GoodsClass[] = ["perishable", "general"];
const LANE_GROUPS: readonly LaneGroup[] = ["import", "export", "empty"];
const KEYS = [
    "preArrivalId",
    "tractorPlate",
    "trailerPlate",
    "declarations",
    "goodsClass",
    "laneGroup",
    "transportPermit",
    "slot",
    "driver",
    "version",
];
const ID = /^[A-Za-z0-9_.:-]{1,64}$/;
const PHONE = /^\+?[0-9 ]{6,20}$/;

function validPlate(value: unknown, path: string, errors: string[]): string | undefined {
    if (typeof value !== "string" || normalizePlate(value).normalized === "") {
        errors.push(`${path}: must be a non-empty plate`);
        return undefined;
    }
    return value.trim();
}

function isoTime(value: unknown, path: string, errors: string[]): number | undefined {
    if (typeof value === "string" && ISO_8601.test(value) && !Number.isNaN(Date.parse(value))) return Date.parse(value);
    errors.push(`${path}: must be an ISO 8601 date or time`);
    return undefined;
}

/** Validates one pre-arrival; every problem goes to `errors` as `path.key: message`. */
export function validatePreArrival(input: unknown, path: string, errors: string[]): PreArrival | undefined {
    const before = errors.length;
    if (!isObject(input)) {
        errors.push(`${path}: must be an object`);
        return undefined;
    }
    unknownKeys(input, KEYS, path, errors);
    const { preArrivalId, goodsClass, laneGroup, transportPermit, slot, driver } = input;
    if (typeof preArrivalId !== "string" || !ID.test(preArrivalId))
        errors.push(`${path}.preArrivalId: must be 1-64 letters, digits, _ . : or -`);
    const tractorPlate = validPlate(input.tractorPlate, `${path}.tractorPlate`, errors);
    const trailerPlate =
        input.trailerPlate === undefined ? undefined : validPlate(input.trailerPlate, `${path}.trailerPlate`, errors);
    const declarations: string[] = [];
    if (!Array.isArray(input.declarations)) errors.push(`${path}.declarations: must be a list of declaration numbers`);
    else
        input.declarations.forEach((number: unknown, i) => {
            const parsed = typeof number === "string" ? parseDeclarationNumber(number) : undefined;
            if (!parsed?.ok) errors.push(`${path}.declarations[${i}]: must be a valid 12-digit declaration number`);
            else declarations.push((number as string).trim());
        });
    if (!GOODS_CLASSES.includes(goodsClass as GoodsClass))
        errors.push(`${path}.goodsClass: must be one of ${GOODS_CLASSES.join(", ")}`);
    if (!LANE_GROUPS.includes(laneGroup as LaneGroup))
        errors.push(`${path}.laneGroup: must be one of ${LANE_GROUPS.join(", ")}`);
    if (transportPermit !== undefined && !(nonEmptyString(transportPermit) && transportPermit.length <= 64))
        errors.push(`${path}.transportPermit: must be a non-empty string of at most 64 characters`);
    if (slot !== undefined) {
        if (!isObject(slot)) errors.push(`${path}.slot: must be an object with from and to`);
        else {
            unknownKeys(slot, ["from", "to"], `${path}.slot`, errors);
            const from = isoTime(slot.from, `${path}.slot.from`, errors);
            const to = isoTime(slot.to, `${path}.slot.to`, errors);
            if (from !== undefined && to !== undefined && from >= to)
                errors.push(`${path}.slot.to: must be after slot.from`);
        }
    }
    if (driver !== undefined) {
        if (!isObject(driver)) errors.push(`${path}.driver: must be an object with name and/or phone`);
        else {
            unknownKeys(driver, ["name", "phone"], `${path}.driver`, errors);
            if (driver.name !== undefined && !(nonEmptyString(driver.name) && driver.name.length <= 100))
                errors.push(`${path}.driver.name: must be a non-empty string of at most 100 characters`);
            if (driver.phone !== undefined && !(typeof driver.phone === "string" && PHONE.test(driver.phone)))
                errors.push(`${path}.driver.phone: must be a phone number (digits, spaces, a leading +)`);
        }
    }
    if (!isVersion(input.version)) errors.push(`${path}.version: must be an integer ≥ 0`);
    if (errors.length > before) return undefined;
    const record: PreArrival = {
        preArrivalId: preArrivalId as string,
        tractorPlate: tractorPlate as string,
        declarations,
        goodsClass: goodsClass as GoodsClass,
        laneGroup: laneGroup as LaneGroup,
        version: input.version as number,
    };
    if (trailerPlate !== undefined) record.trailerPlate = trailerPlate;
    if (transportPermit !== undefined) record.transportPermit = (transportPermit as string).trim();
    if (isObject(slot)) record.slot = { from: slot.from as string, to: slot.to as string };
    if (isObject(driver)) {
        record.driver = {
            ...(typeof driver.name === "string" && { name: driver.name.trim() }),
            ...(typeof driver.phone === "string" && { phone: driver.phone.trim() }),
        };
    }
    return record;
}

/** Validates a list of pre-arrivals under `path`; unique by preArrivalId. */
export function validatePreArrivalList(input: unknown, path: string, errors: string[]): PreArrival[] {
    return validateList(input, path, errors, validatePreArrival, (p) => p.preArrivalId, "preArrivalId");
}

/**
 * Validates an import document: `{ preArrivals: [...] }` or the list itself. Throws PREARRIVAL_INVALID
 * whose details list every problem by key path; nothing is valid when anything is not.
 */
export function validatePreArrivals(input: unknown, source = "(inline)"): PreArrival[] {
    const errors: string[] = [];
    let list: unknown = input;
    if (isObject(input)) {
        unknownKeys(input, ["preArrivals"], "(root)", errors);
        list = input.preArrivals;
    }
    const path = isObject(input) ? "preArrivals" : "(root)";
    const valid = validatePreArrivalList(list, path, errors);
    if (errors.length > 0)
        throw new GateError("PREARRIVAL_INVALID", `${source} has ${errors.length} error(s)`, { details: errors });
    return valid;
}

/** Reads and validates a pre-arrival file, YAML or JSON. */
export function readPreArrivalFile(file: string): PreArrival[] {
    let document: unknown;
    try {
        document = parseYaml(readFileSync(file, "utf8"));
    } catch (err) {
        throw new GateError("PREARRIVAL_INVALID", `${file} cannot be read as YAML or JSON`, {
            cause: err,
            details: [`(root): ${err instanceof Error ? (err.message.split("\n")[0] ?? "") : String(err)}`],
        });
    }
    return validatePreArrivals(document, file);
}

/** A pre-arrival as a log line may show it: the driver's personal data left out. */
export function redacted(record: PreArrival): Omit<PreArrival, "driver"> & { driver?: "[redacted]" } {
    const { driver, ...rest } = record;
    return driver === undefined ? rest : { ...rest, driver: "[redacted]" };
}

/** The misread keys a plate's record is found under: a CN trailer plate also without its 挂 (plateRelation). */
function lookupKeys(plate: string): string[] {
    const key = plateMisreadKey(plate);
    return [key, `${key}挂`];
}

export interface PreArrivalMatch {
    preArrival: PreArrival;
    relation: Exclude<PlateRelation, "other">;
}

interface Row {
    data: string;
    driver: string | null;
}

/** The pre_arrivals table (migration 9). */
export class PreArrivalStore {
    constructor(private readonly db: Db) {}

    /** Writes each record whose version is ≥ the stored one (in the caller's transaction, if any). */
    write(records: readonly PreArrival[], at: number): UpsertCounts {
        const upsert = this.db.prepare(
            `INSERT INTO pre_arrivals (pre_arrival_id, tractor_key, trailer_key, data, driver, version, received_at)
             VALUES (@id, @tractor, @trailer, @data, @driver, @version, @at)
             ON CONFLICT (pre_arrival_id) DO UPDATE SET tractor_key = excluded.tractor_key,
                 trailer_key = excluded.trailer_key, data = excluded.data, driver = excluded.driver,
                 version = excluded.version, received_at = excluded.received_at
             WHERE excluded.version >= pre_arrivals.version`,
        );
        const counts = { written: 0, skippedOlder: 0 };
        const when = new Date(at).toISOString();
        const run = () => {
            for (const { driver, ...record } of records) {
                const changes = upsert.run({
                    id: record.preArrivalId,
                    tractor: plateMisreadKey(record.tractorPlate),
                    trailer: record.trailerPlate === undefined ? null : plateMisreadKey(record.trailerPlate),
                    data: JSON.stringify(record),
                    driver: driver === undefined ? null : JSON.stringify(driver),
                    version: record.version,
                    at: when,
                }).changes;
                if (changes > 0) counts.written++;
                else counts.skippedOlder++;
            }
        };
        if (this.db.inTransaction) run();
        else this.db.transaction(run)();
        return counts;
    }

    get(preArrivalId: string): PreArrival | undefined {
        const row = this.db
            .prepare("SELECT data, driver FROM pre_arrivals WHERE pre_arrival_id = ?")
            .get(preArrivalId) as Row | undefined;
        return row && recordOf(row);
    }

    /**
     * The record not yet used by a visit whose tractor or trailer plate the read is, or a likely misread of
     * (the lanes' plateRelation): an exact match first, then a misread; undefined when none or when two
     * records are equally close (the truck is then unannounced rather than guessed).
     */
    match(plate: string): PreArrivalMatch | undefined {
        const keys = lookupKeys(plate);
        const rows = this.db
            .prepare(
                `SELECT data, driver FROM pre_arrivals WHERE visit_id IS NULL
                   AND (tractor_key IN (@a, @b) OR trailer_key IN (@a, @b))`,
            )
            .all({ a: keys[0], b: keys[1] }) as Row[];
        const candidates = rows.map(recordOf).flatMap((record): PreArrivalMatch[] => {
            const relations = [record.tractorPlate, record.trailerPlate]
                .filter((declared): declared is string => declared !== undefined)
                .map((declared) => plateRelation(plate, declared));
            if (relations.includes("same")) return [{ preArrival: record, relation: "same" }];
            return relations.includes("misread") ? [{ preArrival: record, relation: "misread" }] : [];
        });
        for (const relation of ["same", "misread"] as const) {
            const found = candidates.filter((c) => c.relation === relation);
            if (found.length === 1) return found[0];
            if (found.length > 1) return undefined;
        }
        return undefined;
    }

    /** The record is taken by a visit: a second truck with the same plates is not matched to it again. */
    claim(preArrivalId: string, visitId: string): void {
        this.db.prepare("UPDATE pre_arrivals SET visit_id = ? WHERE pre_arrival_id = ?").run(visitId, preArrivalId);
    }

    /** Drops the driver's personal data of records received before `before` (ms); answers how many. */
    dropPersonalData(before: number): number {
        return this.db
            .prepare("UPDATE pre_arrivals SET driver = NULL WHERE driver IS NOT NULL AND received_at < ?")
            .run(new Date(before).toISOString()).changes;
    }
}

function recordOf(row: Row): PreArrival {
    const record = JSON.parse(row.data) as PreArrival; // written by write() from a validated PreArrival
    if (row.driver !== null) record.driver = JSON.parse(row.driver) as NonNullable<PreArrival["driver"]>; // idem
    return record;
}
