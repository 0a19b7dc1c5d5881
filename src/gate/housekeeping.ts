/**
 * Housekeeping of the store: the disk quota (measured every storage.quotaCheckMs, acted on at a change of
 * level), the retention of plate images (personal data, kept storage.imageRetentionDays) and of events
 * (accepted events past storage.retentionDays leave the log after a checkpoint in the chain).
 */
import type { Logger } from "pino";
import type { GateConfig } from "../config/types.ts";
import type { Clock } from "../core/clock.ts";
import type { EventSink } from "../ingest/deviceRuntime.ts";
import type { DiskQuotaFull } from "../lane/types.ts";
import type { Db } from "../store/db.ts";
import type { ImageStore } from "../store/images.ts";
import { databaseBytes, type QuotaReading, quotaLevel } from "../store/quota.ts";
import { type Retention, retentionOf, type StorageStatus } from "../store/retention.ts";

/** How often images past their retention are looked for. */
const IMAGE_PRUNE_MS = 3_600_000;

export interface HousekeepingOptions {
    db: Db;
    images: ImageStore;
    sink: EventSink;
    clock: Clock;
    log: Logger;
    config: () => GateConfig;
    /** Every lane to manual processing with the reason, or back to automatic (undefined). */
    setManualProcessing(reason: string | undefined, quota?: DiskQuotaFull): void;
    /** Bytes counted against the quota on top of the database's own size (the scenario runner's full disk). */
    storageBallast?: () => number;
}

export class Housekeeping {
    private imageTimer: NodeJS.Timeout | undefined;
    private quotaTimer: NodeJS.Timeout | undefined;
    private reading: QuotaReading | undefined;
    private retention: Retention | undefined;

    constructor(private readonly options: HousekeepingOptions) {}

    /** Days of headroom, the oldest unsynced event, the last pruning checkpoint (src/store/retention.ts). */
    storageStatus(): StorageStatus | undefined {
        return this.retention?.status();
    }

    /** The last storage quota reading (size of the database against storage.quotaMb). */
    get quota(): QuotaReading | undefined {
        return this.reading;
    }

    /**
     * Starts the event retention, prunes images now and then hourly, and measures the quota now and then
     * every storage.quotaCheckMs.
     */
    async start(): Promise<void> {
        const { db, clock, log, sink } = this.options;
        const config = this.options.config();
        const retentionDeps = { db, clock, log: log.child({ component: "retention" }), append: sink.append.bind(sink) };
        this.retention = retentionOf(config.storage, config.gate.id, retentionDeps);
        this.retention.start();
        this.pruneImages();
        this.imageTimer = setInterval(() => this.pruneImages(), IMAGE_PRUNE_MS);
        this.imageTimer.unref();
        await this.checkQuota();
        this.quotaTimer = setInterval(() => void this.checkQuota(), this.options.config().storage.quotaCheckMs);
        this.quotaTimer.unref();
    }

    async stop(): Promise<void> {
        clearInterval(this.imageTimer);
        clearInterval(this.quotaTimer);
        this.imageTimer = undefined;
        this.quotaTimer = undefined;
        const retention = this.retention;
        this.retention = undefined;
        await retention?.stop();
    }

    /** Deletes images not seen within storage.imageRetentionDays. */
    pruneImages(): number {
        const { images, clock, log } = this.options;
        const days = this.options.config().storage.imageRetentionDays;
        const removed = images.prune(new Date(clock.now() - days * 86_400_000));
        if (removed > 0) log.info({ removed, retentionDays: days }, "plate images past retention deleted");
        return removed;
    }

    /**
     * Measures the database against its quota and acts on a change of level: near → a warning alert and a
     * WAL checkpoint (the WAL's pages go back into the file); full → a critical alert and every lane to
     * manual processing; back under → the alert cleared and automatic processing resumed. Nothing is ever
     * dropped or refused: events keep being stored and sent.
     */
    async checkQuota(): Promise<QuotaReading | undefined> {
        const { db, sink, log } = this.options;
        const storage = this.options.config().storage;
        const before = this.reading?.level ?? "ok";
        const used = databaseBytes(storage.path) + (this.options.storageBallast?.() ?? 0);
        const reading = quotaLevel(used, storage.quotaMb, before);
        this.reading = reading;
        if (reading.level === before) return reading;
        const usedMb = Math.round(reading.usedBytes / 2 ** 20);
        const text = `${usedMb} MiB of the ${storage.quotaMb} MiB storage quota used`;
        if (reading.level !== "ok") db.pragma("wal_checkpoint(TRUNCATE)");
        if (reading.level === "full") {
            this.options.setManualProcessing(`disk quota reached (${text})`, { usedMb, quotaMb: storage.quotaMb });
        } else this.options.setManualProcessing(undefined);
        const alert =
            reading.level === "ok"
                ? {
                      type: "alert.cleared" as const,
                      data: { code: "DISK_QUOTA", message: `storage back under its quota: ${text}` },
                  }
                : {
                      type: "alert.raised" as const,
                      data: {
                          code: "DISK_QUOTA",
                          severity: reading.level === "full" ? "critical" : "warning",
                          message:
                              reading.level === "full"
                                  ? `${text}: lanes switched to manual processing; no event is dropped — free disk space or raise storage.quotaMb`
                                  : `${text}: near the quota`,
                          usedBytes: reading.usedBytes,
                          quotaBytes: reading.quotaBytes,
                      },
                  };
        log[reading.level === "ok" ? "info" : "warn"]({ usedMb, quotaMb: storage.quotaMb }, alert.data.message);
        try {
            await sink.append(alert);
        } catch (err) {
            log.error({ err }, "could not store the disk quota alert");
        }
        return reading;
    }
}
