import type { FastifyInstance } from "fastify";
import type { SyncService } from "../sync/service.ts";
import type { ApiSource } from "./server.ts";

/**
 * The technicians' sync routes: the backlog per class with the age of its oldest event, parked events with
 * their reasons, and the retry of a parked event. The role guard in front of them is the API's (auth).
 */
export function registerSyncRoutes(app: FastifyInstance, sync: SyncService): void {
    app.get("/api/v1/sync", async () => sync.status());

    app.post<{ Params: { seq: number } }>(
        "/api/v1/sync/parked/:seq/retry",
        {
            schema: {
                params: { type: "object", properties: { seq: { type: "integer", minimum: 1 } }, required: ["seq"] },
            },
        },
        async (request) => {
            sync.retryParked(request.params.seq);
            return { retried: true, seq: request.params.seq };
        },
    );
}

type Sample = [labels: Record<string, string>, value: number];

/** Prometheus text exposition (version 0.0.4), written by hand: a handful of gauges needs no library. */
function family(name: string, type: "gauge" | "counter", help: string, samples: Sample[]): string {
    const lines = [`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`];
    for (const [labels, value] of samples) {
        const text = Object.entries(labels)
            .map(([key, val]) => `${key}="${val.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`)
            .join(",");
        lines.push(`${name}${text ? `{${text}}` : ""} ${Number.isFinite(value) ? value : 0}`);
    }
    return lines.join("\n");
}

/** GET /metrics: sync backlog and health, event store, devices. Open like /health: no personal data in it. */
export function registerMetrics(app: FastifyInstance, source: ApiSource): void {
    app.get("/metrics", async (_request, reply) => {
        const parts: string[] = [];
        const store = source.storeStats();
        parts.push(
            family("gate_events_head_seq", "gauge", "Seq of the newest stored event.", [[{}, source.headSeq()]]),
        );
        parts.push(
            family("gate_event_commits_total", "counter", "Event store commits since start.", [[{}, store.commits]]),
        );
        parts.push(
            family("gate_events_committed_total", "counter", "Events committed since start.", [[{}, store.events]]),
        );
        const quota = source.storageQuota?.();
        if (quota) {
            parts.push(
                family("gate_storage_used_bytes", "gauge", "Bytes the database takes on disk (file, WAL, shm).", [
                    [{}, quota.usedBytes],
                ]),
            );
            parts.push(
                family("gate_storage_quota_bytes", "gauge", "The configured storage quota.", [[{}, quota.quotaBytes]]),
            );
            parts.push(
                family(
                    "gate_manual_processing",
                    "gauge",
                    "1 while the disk quota is reached and every lane is in manual processing.",
                    [[{}, quota.level === "full" ? 1 : 0]],
                ),
            );
        }
        const devices = source.devices();
        parts.push(
            family(
                "gate_device_up",
                "gauge",
                "1 when the device is online, 0.5 degraded, 0 offline.",
                devices.map((device) => [
                    // A device of the inspection area has no lane: an empty label, as Prometheus reads an absent one.
                    { device: device.deviceId, lane: device.laneId ?? "" },
                    device.status === "online" ? 1 : device.status === "degraded" ? 0.5 : 0,
                ]),
            ),
        );
        const sync = source.sync?.status();
        if (sync) {
            parts.push(
                family(
                    "gate_sync_backlog_events",
                    "gauge",
                    "Events waiting for central, by priority class.",
                    sync.backlog.map((row) => [{ class: row.class }, row.pending]),
                ),
            );
            parts.push(
                family(
                    "gate_sync_oldest_pending_age_seconds",
                    "gauge",
                    "Age of the oldest event waiting for central, by class (0 when none waits).",
                    sync.backlog.map((row) => [{ class: row.class }, row.oldestPendingAgeS ?? 0]),
                ),
            );
            parts.push(
                family(
                    "gate_sync_parked_events",
                    "gauge",
                    "Events central rejected, parked until a technician retries them.",
                    sync.backlog.map((row) => [{ class: row.class }, row.parked]),
                ),
            );
            parts.push(
                family(
                    "gate_sync_last_success_timestamp_seconds",
                    "gauge",
                    "When central last answered an upload (0 = never since start).",
                    [[{}, sync.lastSuccessAt ? Date.parse(sync.lastSuccessAt) / 1000 : 0]],
                ),
            );
            parts.push(
                family(
                    "gate_sync_state",
                    "gauge",
                    "1 for the uplink's current state.",
                    ["idle", "sending", "backoff", "auth-failed", "disabled"].map((state) => [
                        { state },
                        sync.state === state ? 1 : 0,
                    ]),
                ),
            );
            const counters = sync.counters;
            if (counters) {
                parts.push(
                    family("gate_sync_events_total", "counter", "Events central answered since start, by result.", [
                        [{ result: "accepted" }, counters.accepted],
                        [{ result: "duplicate" }, counters.duplicates],
                        [{ result: "rejected" }, counters.rejected],
                    ]),
                );
                parts.push(
                    family(
                        "gate_sync_requests_total",
                        "counter",
                        "Upload requests since start, by outcome.",
                        Object.entries(counters.requests).map(([outcome, count]) => [{ outcome }, count]),
                    ),
                );
            }
            if (sync.downlink) {
                parts.push(
                    family(
                        "gate_clearance_last_refresh_timestamp_seconds",
                        "gauge",
                        "When the clearance feed was last read from central (0 = never since start).",
                        [[{}, sync.downlink.lastSuccessAt ? Date.parse(sync.downlink.lastSuccessAt) / 1000 : 0]],
                    ),
                );
            }
        }
        reply.type("text/plain; version=0.0.4; charset=utf-8");
        return `${parts.join("\n")}\n`;
    });
}
