/**
 * The clearance cache: declarations and the watch list as central sends them (or a file imports them),
 * kept in SQLite (migration 3) so the gate decides offline. Declarations are looked up in SQLite (one
 * indexed row per look-up); the small watch list is mirrored in memory. Input is validated strictly and all
 * or nothing: one bad item and nothing is written, with every error listed by key path.
 */
import { readFileSync } from "node:fs";
import { parse as parseYaml } from "yaml";
import { type Clock, monotonicOf } from "../core/clock.ts";
import { GateError } from "../core/errors.ts";
import { normalizePlate, parseContainerNumber, parseDeclarationNumber } from "../core/identifiers.ts";
import type { Channel, ClearanceView, Declaration, DeclarationStatus, WatchListEntry } from "../lane/types.ts";
import { PreArrivalStore, validatePreArrivalList } from "../yard/preArrival.ts";
import type { PreArrival } from "../yard/types.ts";
import type { Db } from "./db.ts";

/** A clearance file or sync batch: `{ version, declarations, watchList, preArrivals? }`. */
export interface ClearanceData {
    version: string;
    declarations: Declaration[];
    watchList: WatchListEntry[];
    /** Expected visits (issue 19, src/yard/preArrival.ts). */
    preArrivals?: PreArrival[];
}

/** What an upsert did: written, or skipped because the stored item has a higher version. */
export interface UpsertCounts {
    written: number;
    skippedOlder: number;
}

const CHANNELS: readonly Channel[] = ["GREEN", "YELLOW", "RED"];
const STATUSES: readonly DeclarationStatus[] = ["CLEARED", "PENDING", "HELD", "CANCELLED"];
const WATCH_KINDS: readonly WatchListEntry["kind"][] = ["plate", "container", "declaration", "seal", "company"];
export const ISO_8601 = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?$/;

type Obj = Record<string, unknown>;

export function isObject(value: unknown): value is Obj {
    return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function nonEmptyString(value: unknown): value is string {
    return typeof value === "string" && value.trim() !== "";
}

export function isVersion(value: unknown): value is number {
    return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

export function unknownKeys(item: Obj, allowed: readonly string[], path: string, errors: string[]): void {
    for (const key of Object.keys(item)) if (!allowed.includes(key)) errors.push(`${path}.${key}: unknown property`);
}

const DECLARATION_KEYS = [
    "number",
    "type",
    "channel",
    "status",
    "documentCheckDone",
    "inspectionDone",
    "declaredPlates",
    "containers",
    "declaredGrossKg",
    "validFrom",
    "validUntil",
    "borderGate",
    "direction",
    "version",
];
const DIRECTIONS: readonly NonNullable<Declaration["direction"]>[] = ["IN", "OUT"];

/**
 * Validates one declaration; pushes every problem as `path.key: message` and returns the normalised
 * declaration (trimmed number, container numbers upper-cased without separators, seal ids trimmed), or
 * undefined when it has errors. documentCheckDone and inspectionDone default to false, the cautious value.
 */
export function validateDeclaration(input: unknown, path: string, errors: string[]): Declaration | undefined {
    const before = errors.length;
    if (!isObject(input)) {
        errors.push(`${path}: must be an object`);
        return undefined;
    }
    unknownKeys(input, DECLARATION_KEYS, path, errors);
    const { number, type, channel, status, documentCheckDone, inspectionDone, declaredPlates } = input;
    let typeCode: string | undefined;
    if (typeof number !== "string") errors.push(`${path}.number: must be a 12-digit string`);
    else {
        const parsed = parseDeclarationNumber(number);
        if (!parsed.ok) errors.push(`${path}.number: ${number} is not a valid declaration number (${parsed.reason})`);
        else typeCode = parsed.typeCode;
    }
    if (typeof type !== "string" || !/^\d{2}$/.test(type)) errors.push(`${path}.type: must be a 2-digit type code`);
    else if (typeCode !== undefined && type !== typeCode) {
        errors.push(`${path}.type: ${type} does not match the number's type code ${typeCode}`);
    }
    if (!CHANNELS.includes(channel as Channel)) errors.push(`${path}.channel: must be one of ${CHANNELS.join(", ")}`);
    if (!STATUSES.includes(status as DeclarationStatus)) {
        errors.push(`${path}.status: must be one of ${STATUSES.join(", ")}`);
    }
    for (const [key, value] of [
        ["documentCheckDone", documentCheckDone],
        ["inspectionDone", inspectionDone],
    ] as const) {
        if (value !== undefined && typeof value !== "boolean") errors.push(`${path}.${key}: must be true or false`);
    }
    const plates: string[] = [];
    if (!Array.isArray(declaredPlates)) errors.push(`${path}.declaredPlates: must be a list of plates`);
    else {
        declaredPlates.forEach((plate: unknown, i) => {
            if (typeof plate !== "string" || normalizePlate(plate).normalized === "") {
                errors.push(`${path}.declaredPlates[${i}]: must be a non-empty plate`);
            } else plates.push(plate.trim());
        });
    }
    const containers: Declaration["containers"] = [];
    if (!Array.isArray(input.containers)) errors.push(`${path}.containers: must be a list`);
    else {
        const seen = new Set<string>();
        input.containers.forEach((c: unknown, i) => {
            const at = `${path}.containers[${i}]`;
            if (!isObject(c)) {
                errors.push(`${at}: must be an object`);
                return;
            }
            unknownKeys(c, ["number", "sealNumbers"], at, errors);
            const parsed = typeof c.number === "string" ? parseContainerNumber(c.number) : undefined;
            if (!parsed?.ok) {
                errors.push(`${at}.number: not an ISO 6346 container number${parsed ? ` (${parsed.reason})` : ""}`);
            } else if (!parsed.checkDigitOk) {
                errors.push(
                    `${at}.number: ${parsed.number} check digit is ${parsed.checkDigit}, expected ${parsed.expectedCheckDigit}`,
                );
            } else if (seen.has(parsed.number)) errors.push(`${at}.number: ${parsed.number} is listed twice`);
            else seen.add(parsed.number);
            const sealNumbers: string[] = [];
            if (c.sealNumbers !== undefined && !Array.isArray(c.sealNumbers)) {
                errors.push(`${at}.sealNumbers: must be a list`);
            } else {
                (c.sealNumbers ?? []).forEach((seal: unknown, j: number) => {
                    if (!nonEmptyString(seal)) errors.push(`${at}.sealNumbers[${j}]: must be a non-empty string`);
                    else sealNumbers.push(seal.trim());
                });
            }
            if (parsed?.ok) containers.push({ number: parsed.number, sealNumbers });
        });
    }
    const gross = input.declaredGrossKg;
    if (gross !== undefined && (typeof gross !== "number" || !Number.isFinite(gross) || gross <= 0)) {
        errors.push(`${path}.declaredGrossKg: must be a positive number of kg`);
    }
    const bounds: number[] = [];
    for (const key of ["validFrom", "validUntil"] as const) {
        const value = input[key];
        if (value === undefined) continue;
        if (typeof value !== "string" || !ISO_8601.test(value) || Number.isNaN(Date.parse(value))) {
            errors.push(`${path}.${key}: must be an ISO 8601 date or time`);
        } else bounds.push(Date.parse(value));
    }
    if (bounds.length === 2 && (bounds[0] ?? 0) > (bounds[1] ?? 0)) {
        errors.push(`${path}.validUntil: is before validFrom`);
    }
    const { borderGate, direction } = input;
    if (borderGate !== undefined && !(typeof borderGate === "string" && /^[A-Za-z0-9_-]{1,32}$/.test(borderGate))) {
        errors.push(`${path}.borderGate: must be a border gate code (1-32 letters, digits, _ or -)`);
    }
    if (direction !== undefined && !DIRECTIONS.includes(direction as "IN")) {
        errors.push(`${path}.direction: must be IN (into Vietnam) or OUT`);
    }
    if (!isVersion(input.version)) errors.push(`${path}.version: must be an integer ≥ 0`);
    if (errors.length > before) return undefined;
    const declaration: Declaration = {
        number: (number as string).trim(),
        type: type as string,
        channel: channel as Channel,
        status: status as DeclarationStatus,
        documentCheckDone: documentCheckDone === true,
        inspectionDone: inspectionDone === true,
        declaredPlates: plates,
        containers,
        version: input.version as number,
    };
    if (gross !== undefined) declaration.declaredGrossKg = gross as number;
    if (input.validFrom !== undefined) declaration.validFrom = input.validFrom as string;
    if (input.validUntil !== undefined) declaration.validUntil = input.validUntil as string;
    if (borderGate !== undefined) declaration.borderGate = (borderGate as string).toUpperCase();
    if (direction !== undefined) declaration.direction = direction as "IN" | "OUT";
    return declaration;
}

/**
 * Validates one watch-list entry, like validateDeclaration. A declaration value is 11 digits or a valid
 * 12-digit number; a container value is an ISO 6346 number (check digit not required: the list may name
 * a number as it is misread); other values are non-empty.
 */
export function validateWatchListEntry(input: unknown, path: string, errors: string[]): WatchListEntry | undefined {
    const before = errors.length;
    if (!isObject(input)) {
        errors.push(`${path}: must be an object`);
        return undefined;
    }
    unknownKeys(input, ["id", "kind", "value", "reason", "version"], path, errors);
    const { id, kind, value, reason, version } = input;
    if (!nonEmptyString(id)) errors.push(`${path}.id: must be a non-empty string`);
    if (!WATCH_KINDS.includes(kind as WatchListEntry["kind"])) {
        errors.push(`${path}.kind: must be one of ${WATCH_KINDS.join(", ")}`);
    }
    if (!nonEmptyString(value)) errors.push(`${path}.value: must be a non-empty string`);
    else if (kind === "declaration" && !/^\d{11}$/.test(value.trim()) && !parseDeclarationNumber(value).ok) {
        errors.push(`${path}.value: ${value} is neither an 11-digit base nor a valid declaration number`);
    } else if (kind === "container" && !parseContainerNumber(value).ok) {
        errors.push(`${path}.value: ${value} is not an ISO 6346 container number`);
    }
    if (!nonEmptyString(reason)) errors.push(`${path}.reason: must be a non-empty string`);
    if (!isVersion(version)) errors.push(`${path}.version: must be an integer ≥ 0`);
    if (errors.length > before) return undefined;
    return {
        id: (id as string).trim(),
        kind: kind as WatchListEntry["kind"],
        value: (value as string).trim(),
        reason: reason as string,
        version: version as number,
    };
}

/** Validates a list item by item (every error kept), refusing an item whose key repeats an earlier one. */
export function validateList<T>(
    input: unknown,
    path: string,
    errors: string[],
    one: (item: unknown, path: string, errors: string[]) => T | undefined,
    key: (item: T) => string,
    keyName: string,
): T[] {
    if (!Array.isArray(input)) {
        errors.push(`${path}: must be a list`);
        return [];
    }
    const out: T[] = [];
    const seen = new Map<string, number>();
    input.forEach((item: unknown, i) => {
        const valid = one(item, `${path}[${i}]`, errors);
        if (!valid) return;
        const k = key(valid);
        const first = seen.get(k);
        if (first !== undefined) errors.push(`${path}[${i}].${keyName}: ${k} repeats ${path}[${first}]`);
        else seen.set(k, i);
        out.push(valid);
    });
    return out;
}

/** Throws CLEARANCE_INVALID listing every error, or returns the valid items. */
function orThrow<T>(value: T, errors: string[], source: string): T {
    if (errors.length > 0) {
        throw new GateError("CLEARANCE_INVALID", `${source} has ${errors.length} error(s)`, { details: errors });
    }
    return value;
}

/**
 * Validates a parsed clearance document `{ version, declarations?, watchList? }`. Throws GateError
 * CLEARANCE_INVALID whose details list every problem as `key.path: message`; unknown keys and repeated
 * declaration numbers or watch-list ids are errors. A numeric version is taken as its string.
 */
export function validateClearanceData(input: unknown, source = "(inline)"): ClearanceData {
    const errors: string[] = [];
    if (!isObject(input)) return orThrow({} as ClearanceData, ["(root): must be an object"], source);
    unknownKeys(input, ["version", "declarations", "watchList", "preArrivals"], "(root)", errors);
    const version = input.version;
    if (!(nonEmptyString(version) || (typeof version === "number" && Number.isFinite(version)))) {
        errors.push("version: must be a non-empty string or a number");
    }
    const declarations = validateList(
        input.declarations ?? [],
        "declarations",
        errors,
        validateDeclaration,
        (d) => d.number,
        "number",
    );
    const watchList = validateList(
        input.watchList ?? [],
        "watchList",
        errors,
        validateWatchListEntry,
        (e) => e.id,
        "id",
    );
    const preArrivals =
        input.preArrivals === undefined ? undefined : validatePreArrivalList(input.preArrivals, "preArrivals", errors);
    return orThrow(
        { version: String(version).trim(), declarations, watchList, ...(preArrivals && { preArrivals }) },
        errors,
        source,
    );
}

/**
 * Reads and validates a clearance file, YAML or JSON (JSON is YAML). Throws CLEARANCE_UNREADABLE when
 * the file cannot be read, CLEARANCE_INVALID when it does not parse or does not validate.
 */
export function readClearanceFile(file: string): ClearanceData {
    let text: string;
    try {
        text = readFileSync(file, "utf8");
    } catch (err) {
        throw new GateError("CLEARANCE_UNREADABLE", `${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, {
            cause: err,
        });
    }
    let document: unknown;
    try {
        document = parseYaml(text);
    } catch (err) {
        const line = err instanceof Error ? (err.message.split("\n")[0] ?? "") : String(err);
        throw new GateError("CLEARANCE_INVALID", `${file} is not valid YAML or JSON`, {
            cause: err,
            details: [`(root): ${line}`],
        });
    }
    return validateClearanceData(document, file);
}

type Change =
    | { kind: "watch"; entry: WatchListEntry }
    | { kind: "unwatch"; id: string }
    | { kind: "meta"; key: string; value: string };

/** Looks up the amendment in force of a declaration base (its 11 first digits). */
type LatestByBase = (base: string) => Declaration | undefined;

/**
 * What the rules see. Declarations are read from SQLite at each look-up (one indexed row), so the heap
 * does not grow with central's data: a busy gate's cache holds tens of thousands of declarations (some
 * 650 bytes of heap each as objects), which the service's heap cap could not carry. A decision runs
 * synchronously, so within one decision the data cannot change under it. The watch list, version and
 * refresh time are a snapshot: later writes do not change a view taken earlier.
 */
class View implements ClearanceView {
    constructor(
        private readonly latestByBase: LatestByBase,
        private readonly entries: readonly WatchListEntry[],
        readonly version: string,
        private readonly refreshedAt: number | undefined,
        private readonly received: Received | undefined,
    ) {}

    declaration(number: string): Declaration | undefined {
        const text = number.trim();
        if (!/^\d{11,12}$/.test(text)) return undefined;
        return this.latestByBase(text.slice(0, 11));
    }

    watchList(): readonly WatchListEntry[] {
        return this.entries;
    }

    ageMs(now: number): number | undefined {
        if (this.received) return monotonicOf(this.received.clock) - this.received.at;
        return this.refreshedAt === undefined ? undefined : now - this.refreshedAt;
    }
}

/** When the data in force was received in this run, on the monotonic clock of `clock`. */
interface Received {
    clock: Clock;
    at: number;
}

/**
 * The clearance cache over the gate database. Declarations live in SQLite only (see View); the watch list
 * and the metadata are small and mirrored in memory, replaced copy-on-write after each committed
 * transaction so a view taken earlier keeps its content. Per item, the higher `version` wins: an older
 * version never overwrites a newer one (an equal version does, so re-importing a file is idempotent).
 */
export class ClearanceCache {
    private watch = new Map<string, WatchListEntry>();
    private meta = new Map<string, string>();
    private currentView: View | undefined;
    /** Writes of the running transaction, applied to the maps once it commits. */
    private pending: Change[] = [];
    private readonly selectLatest: LatestByBase;
    /** Set by a refresh in this run: a wall-clock step cannot change the age of what it received. */
    private received: Received | undefined;

    private constructor(
        private readonly db: Db,
        private readonly clock: Clock | undefined,
    ) {
        // The 12th digit counts amendments: the highest number of a base is the one in force.
        const statement = db.prepare<[string], { data: string }>(
            "SELECT data FROM declarations WHERE base = ? ORDER BY number DESC LIMIT 1",
        );
        this.selectLatest = (base) => {
            const row = statement.get(base);
            return row === undefined ? undefined : (JSON.parse(row.data) as Declaration);
        };
    }

    /**
     * Loads the cache from a database that has run migration 3 (openDatabase does that). With `clock`, data
     * refreshed in this run is aged on its monotonic clock; without, every age is by the stored wall time.
     */
    static open(db: Db, clock?: Clock): ClearanceCache {
        const cache = new ClearanceCache(db, clock);
        cache.load();
        return cache;
    }

    private load(): void {
        const watch = this.db.prepare("SELECT data FROM watch_list ORDER BY id").all() as { data: string }[];
        this.watch = new Map(
            watch.map(({ data }) => {
                const e = JSON.parse(data) as WatchListEntry;
                return [e.id, e] as const;
            }),
        );
        const meta = this.db.prepare("SELECT key, value FROM clearance_meta").all() as { key: string; value: string }[];
        this.meta = new Map(meta.map(({ key, value }) => [key, value] as const));
        this.currentView = undefined;
    }

    /**
     * Validates every item (CLEARANCE_INVALID listing every error; nothing written on any error) and
     * writes those whose version is ≥ the stored one. `at` (ms since epoch) is recorded as updated_at.
     */
    upsertDeclarations(items: readonly unknown[], at: number): UpsertCounts {
        const errors: string[] = [];
        const valid = validateList([...items], "declarations", errors, validateDeclaration, (d) => d.number, "number");
        orThrow(valid, errors, "declarations");
        return this.transaction(() => this.writeDeclarations(valid, at));
    }

    /** Like upsertDeclarations, for watch-list entries (keyed by id). */
    upsertWatchList(items: readonly unknown[], at: number): UpsertCounts {
        const errors: string[] = [];
        const valid = validateList([...items], "watchList", errors, validateWatchListEntry, (e) => e.id, "id");
        orThrow(valid, errors, "watchList");
        return this.transaction(() => this.writeWatchList(valid, at));
    }

    /** Like upsertDeclarations, for pre-arrival records (keyed by preArrivalId; src/yard/preArrival.ts). */
    upsertPreArrivals(items: readonly unknown[], at: number): UpsertCounts {
        const errors: string[] = [];
        const valid = validatePreArrivalList([...items], "preArrivals", errors);
        orThrow(valid, errors, "preArrivals");
        return this.transaction(() => new PreArrivalStore(this.db).write(valid, at));
    }

    /** Removes watch-list entries by id; unknown ids are ignored. Returns how many were removed. */
    removeWatchListEntries(ids: readonly string[]): number {
        return this.transaction(() => {
            const remove = this.db.prepare("DELETE FROM watch_list WHERE id = ?");
            let removed = 0;
            for (const id of ids) {
                const changes = remove.run(id).changes;
                if (changes > 0) this.pending.push({ kind: "unwatch", id });
                removed += changes;
            }
            return removed;
        });
    }

    /** Records the clearance data's version and when it was refreshed from central (ms since epoch). */
    setVersion(version: string, refreshedAt: number): void {
        this.transaction(() => {
            this.writeMeta("version", version);
            this.writeMeta("refreshedAt", String(refreshedAt));
        });
        this.markReceived();
    }

    /** The sync cursor central gave last, or undefined before the first sync. */
    cursor(): string | undefined {
        return this.meta.get("cursor");
    }

    setCursor(cursor: string): void {
        this.transaction(() => this.writeMeta("cursor", cursor));
    }

    /**
     * Imports a validated file in one transaction: declarations, watch list, then the version with
     * `at` as its refresh time. Returns what was written and skipped.
     */
    importData(
        data: ClearanceData,
        at: number,
    ): { declarations: UpsertCounts; watchList: UpsertCounts; preArrivals: UpsertCounts } {
        const counts = this.transaction(() => {
            const declarations = this.writeDeclarations(data.declarations, at);
            const watchList = this.writeWatchList(data.watchList, at);
            const preArrivals = new PreArrivalStore(this.db).write(data.preArrivals ?? [], at);
            this.writeMeta("version", data.version);
            this.writeMeta("refreshedAt", String(at));
            return { declarations, watchList, preArrivals };
        });
        this.markReceived();
        return counts;
    }

    /** After a committed refresh: its monotonic time, for the views taken from now on. */
    private markReceived(): void {
        if (!this.clock) return;
        this.received = { clock: this.clock, at: monotonicOf(this.clock) };
        this.currentView = undefined;
    }

    /** The latest amendment of a declaration, by its 12-digit number or 11-digit base. */
    declaration(numberOrBase: string): Declaration | undefined {
        return this.view().declaration(numberOrBase);
    }

    /** What the rules read: declarations from the store, the watch list and version as of now. */
    view(): ClearanceView {
        if (!this.currentView) {
            const refreshed = this.meta.get("refreshedAt");
            this.currentView = new View(
                this.selectLatest,
                Object.freeze([...this.watch.values()]),
                this.meta.get("version") ?? "none",
                refreshed === undefined ? undefined : Number(refreshed),
                this.received,
            );
        }
        return this.currentView;
    }

    /**
     * Runs `fn` in a transaction, then applies what it wrote to the in-memory maps (copies, so earlier
     * views keep their content). On a rollback the maps are reloaded from SQLite instead.
     */
    private transaction<T>(fn: () => T): T {
        this.pending = [];
        let result: T;
        try {
            result = this.db.transaction(fn)();
        } catch (err) {
            this.pending = [];
            this.load();
            throw err;
        }
        const changes = this.pending;
        this.pending = [];
        if (changes.length === 0) return result;
        for (const change of changes) {
            if (change.kind === "watch") this.watch.set(change.entry.id, change.entry);
            else if (change.kind === "unwatch") this.watch.delete(change.id);
            else this.meta.set(change.key, change.value);
        }
        this.currentView = undefined;
        return result;
    }

    private writeDeclarations(items: readonly Declaration[], at: number): UpsertCounts {
        const upsert = this.db.prepare(
            `INSERT INTO declarations (number, base, data, version, updated_at) VALUES (?, ?, ?, ?, ?)
             ON CONFLICT (number) DO UPDATE SET data = excluded.data, version = excluded.version,
                 updated_at = excluded.updated_at
             WHERE excluded.version >= declarations.version`,
        );
        const counts = { written: 0, skippedOlder: 0 };
        const when = new Date(at).toISOString();
        for (const d of items) {
            const changes = upsert.run(d.number, d.number.slice(0, 11), JSON.stringify(d), d.version, when).changes;
            if (changes > 0) counts.written++;
            else counts.skippedOlder++;
        }
        return counts;
    }

    private writeWatchList(items: readonly WatchListEntry[], _at: number): UpsertCounts {
        const upsert = this.db.prepare(
            `INSERT INTO watch_list (id, kind, value, data, version) VALUES (?, ?, ?, ?, ?)
             ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, value = excluded.value, data = excluded.data,
                 version = excluded.version
             WHERE excluded.version >= watch_list.version`,
        );
        const counts = { written: 0, skippedOlder: 0 };
        for (const e of items) {
            if (upsert.run(e.id, e.kind, e.value, JSON.stringify(e), e.version).changes > 0) {
                counts.written++;
                this.pending.push({ kind: "watch", entry: e });
            } else counts.skippedOlder++;
        }
        return counts;
    }

    private writeMeta(key: string, value: string): void {
        this.db
            .prepare(
                "INSERT INTO clearance_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            )
            .run(key, value);
        this.pending.push({ kind: "meta", key, value });
    }
}
