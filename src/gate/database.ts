/**
 * The gate's database as a part. Before anything opens the file it is claimed (one gate per database)
 * and an older release's schema is backed up and brought forward; then every store is opened on it
 * (src/gate/stores.ts) and the configuration the gate starts with is recorded, with the upgrade if one
 * ran. Its stop steps end the gate's stop list: the event log closes, then the database, then the claim.
 */
import type { Logger } from "pino";
import type { GateConfig } from "../config/types.ts";
import type { EventBus } from "../core/bus.ts";
import type { Clock } from "../core/clock.ts";
import type { EventSink } from "../ingest/deviceRuntime.ts";
import { claimDatabase } from "../store/backup.ts";
import { type Db, openDatabase, type UpgradeReport, upgradeDatabase } from "../store/db.ts";
import type { EventLog } from "../store/eventLog.ts";
import type { StopStep } from "./parts.ts";
import { configRevision } from "./reload.ts";
import { type GateStores, openStores } from "./stores.ts";

export interface GateDatabaseOptions {
    config: GateConfig;
    clock: Clock;
    log: Logger;
    bus: EventBus;
    /** Tests wrap the event log to hold commits back; production appends to the event log itself. */
    wrapSink?: (log: EventLog) => EventSink;
}

/** The open database, its stores and the sink every part appends through. */
export interface OpenGateDatabase {
    db: Db;
    stores: GateStores;
    sink: EventSink;
    upgrade: UpgradeReport;
}

export class GateDatabase {
    private releaseClaim: (() => void) | undefined;
    private db: Db | undefined;
    private opened: OpenGateDatabase | undefined;

    /** The open database, while the gate runs. */
    get current(): OpenGateDatabase | undefined {
        return this.opened;
    }

    async start({ config, clock, log, bus, wrapSink }: GateDatabaseOptions): Promise<OpenGateDatabase> {
        const origin = { key: "storage.path" };
        this.releaseClaim = claimDatabase(config.storage.path);
        const upgrade = await upgradeDatabase(config.storage.path, {
            log: log.child({ component: "store" }),
            ...origin,
        });
        const db = openDatabase(config.storage.path, origin);
        this.db = db;
        const stores = openStores(db, { config, clock, log, bus });
        const sink = wrapSink ? wrapSink(stores.events) : stores.events;
        this.opened = { db, stores, sink, upgrade };
        await sink.append({
            type: "config.applied",
            data: {
                source: config.source,
                revision: configRevision(config),
                lanes: config.lanes.map((l) => l.id),
                // The evidence says when the store was upgraded, and where its backup went.
                ...(upgrade.backup !== undefined && {
                    schemaUpgrade: { from: upgrade.from, to: upgrade.to, backup: upgrade.backup },
                }),
            },
        });
        return this.opened;
    }

    /** The event log commits everything in hand (devices and lanes have stopped; sync still runs). */
    flush(): void {
        this.opened?.stores.events.flushAll();
    }

    /** The last steps of the gate's stop list, each forgetting what it closes so a second stop finds nothing. */
    stopSteps(): StopStep[] {
        return [
            {
                name: "event log",
                run: () => {
                    const events = this.opened?.stores.events;
                    this.opened = undefined;
                    events?.close();
                },
            },
            {
                name: "database",
                run: () => {
                    const db = this.db;
                    this.db = undefined;
                    db?.close();
                },
            },
            {
                name: "claim",
                run: () => {
                    const release = this.releaseClaim;
                    this.releaseClaim = undefined;
                    release?.();
                },
            },
        ];
    }
}
