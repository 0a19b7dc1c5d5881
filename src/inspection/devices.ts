/**
 * The inspection area's devices as one part of the gate (started and stopped with it): radiation portal
 * monitors and X-ray / NII scanners, configured under `inspection.devices`, each read from its folder
 * (src/drivers/folderWatch.ts) and decoded by its model (devices/n42-rpm.ts, devices/nii-scan-package.ts).
 *
 * - An RPM occupancy becomes a `reading.radiation` event on the RPM's lane (its approach), the N42 document
 *   itself kept as evidence in the image store by its SHA-256 (`documentRef`).
 * - A scan package becomes a `reading.xray` event; its images are stored by SHA-256 as camera images are,
 *   and the reading holds their references with the regions the analyst marked.
 * - The RPM's background reports and faults (detector failure, high background, tamper) become the
 *   device's health: a fault of severity error or fatal makes it degraded (fatal: offline), a warning
 *   keeps it online with the warning as its reason; a `device.status` event records each change.
 * - A device that reports continuously (an RPM: `silentAfterMs`, src/inspection/silence.ts) and has sent
 *   nothing for that long is offline with the reason code SILENT, until its next document.
 * A refused document is not stored as a reading; the folder transport moves it to `rejected/` with why.
 * A document delivered again (the same content hash as a reading of the device: src/inspection/dedupe.ts) is
 * counted (`counters.duplicates`) and moved to `processed/`, never stored as a second reading.
 */
import type { Logger } from "pino";
import { getInspectionModel } from "../../devices/index.ts";
import type { FolderEntry, InspectionDeviceModel, RpmFault } from "../../devices/types.ts";
import type { InspectionDeviceConfig } from "../config/types.ts";
import { type Clock, monotonicOf } from "../core/clock.ts";
import { GateError } from "../core/errors.ts";
import type { DeviceStatus, RadiationValues, XrayValues } from "../core/events.ts";
import { folderAddress } from "../drivers/folder.ts";
import { FolderWatch } from "../drivers/folderWatch.ts";
import type { StatusReason } from "../drivers/transport.ts";
import type { DeviceHealth, EventSink } from "../ingest/deviceRuntime.ts";
import type { Db } from "../store/db.ts";
import type { ImageStore } from "../store/images.ts";
import { contentHash, StoredDocuments } from "./dedupe.ts";
import { SilenceWatch } from "./silence.ts";

export interface InspectionDeviceHealth {
    deviceId: string;
    laneId: string | null;
    model: string;
    kind: InspectionDeviceModel["kind"];
    folder: string;
    status: DeviceStatus;
    reason: string;
    /** Background counts per second by detector, from the RPM's latest background report. */
    backgroundCps?: Readonly<Record<string, number>>;
    faults: RpmFault[];
    counters: { polls: number; stored: number; refused: number; failed: number; duplicates: number };
}

interface Running {
    device: InspectionDeviceConfig;
    model: InspectionDeviceModel;
    watch: FolderWatch;
    folderOk: { ok: boolean; reason: string; because?: StatusReason };
    silence: SilenceWatch | undefined;
    /** Set while the device is silent (its silence's reason). */
    silent: ReturnType<SilenceWatch["silent"]>;
    faults: RpmFault[];
    /** Documents delivered again and not stored twice. */
    duplicates: number;
    backgroundCps?: Readonly<Record<string, number>>;
    status: DeviceStatus;
    reason: string;
    /** The reason as a code with parameters, where there is one; since when the status holds (ms). */
    because?: StatusReason;
    since: number;
    /** When the device's last document arrived (ms). */
    lastEntryAt?: number;
}

/** How often silence is looked for, at most (a shorter silentAfterMs is looked at four times as often). */
const SILENCE_CHECK_MS = 5000;

export class InspectionDevices {
    private readonly running: Running[] = [];
    private silenceTimer: NodeJS.Timeout | undefined;
    private readonly documents: StoredDocuments;

    constructor(
        private readonly deps: {
            devices: readonly InspectionDeviceConfig[];
            sink: EventSink;
            images: ImageStore | undefined;
            /** The gate's database: its event log is asked whether a document was stored before. */
            db: Db;
            clock: Clock;
            log: Logger;
        },
    ) {
        this.documents = new StoredDocuments(deps.db);
        for (const device of deps.devices) {
            const model = getInspectionModel(device.model);
            /* v8 ignore next -- the config loader checked every model id */
            if (!model) throw new GateError("MODEL_UNKNOWN", `inspection device ${device.id}: model ${device.model}`);
            const log = deps.log.child({ deviceId: device.id, model: model.model });
            const watch = new FolderWatch(
                {
                    folder: device.folder,
                    layout: model.layout,
                    maxEntryBytes: model.maxEntryBytes,
                    pollMs: device.pollMs,
                    settleMs: device.settleMs,
                },
                {
                    log,
                    input: (found) => this.input(entry, found),
                    setStatus: (status, reason, because) => {
                        entry.folderOk = { ok: status !== "offline", reason, ...(because && { because }) };
                        void this.updateStatus(entry);
                    },
                },
            );
            const entry: Running = {
                device,
                model,
                watch,
                folderOk: { ok: false, reason: "not started" },
                silence:
                    device.silentAfterMs > 0
                        ? new SilenceWatch(device.silentAfterMs, monotonicOf(deps.clock))
                        : undefined,
                silent: undefined,
                faults: [],
                duplicates: 0,
                status: "offline",
                reason: "not started",
                since: deps.clock.now(),
            };
            this.running.push(entry);
        }
    }

    async start(): Promise<void> {
        for (const entry of this.running) {
            entry.silence?.heard(monotonicOf(this.deps.clock));
            await entry.watch.start();
        }
        const watched = this.running.flatMap((entry) => (entry.silence ? [entry.silence.silentAfterMs] : []));
        if (watched.length > 0) {
            this.silenceTimer = setInterval(
                () => this.checkSilence(),
                Math.max(50, Math.min(SILENCE_CHECK_MS, ...watched.map((ms) => ms / 4))),
            );
            this.silenceTimer.unref();
        }
    }

    async stop(): Promise<void> {
        clearInterval(this.silenceTimer);
        this.silenceTimer = undefined;
        for (const entry of this.running) await entry.watch.stop();
    }

    private checkSilence(): void {
        const now = monotonicOf(this.deps.clock);
        for (const entry of this.running) {
            const silent = entry.silence?.silent(now);
            if (silent === undefined || entry.silent !== undefined) continue;
            entry.silent = silent;
            void this.updateStatus(entry);
        }
    }

    health(): InspectionDeviceHealth[] {
        return this.running.map((e) => ({
            deviceId: e.device.id,
            laneId: e.device.laneId ?? null,
            model: e.model.model,
            kind: e.model.kind,
            folder: e.device.folder,
            status: e.status,
            reason: e.reason,
            ...(e.backgroundCps !== undefined && { backgroundCps: e.backgroundCps }),
            faults: e.faults,
            counters: { ...e.watch.counters, duplicates: e.duplicates },
        }));
    }

    /** Each device's health as the gate's device supervision shows it (the API's device list, /health). */
    deviceHealth(): DeviceHealth[] {
        return this.running.map((e) => {
            const { stored, refused } = e.watch.counters;
            return {
                deviceId: e.device.id,
                laneId: e.device.laneId ?? null,
                model: e.model.model,
                kind: e.model.kind,
                address: folderAddress(e.device.folder),
                status: e.status,
                reason: e.reason,
                ...(e.because && { reasonCode: e.because.code }),
                ...(e.because?.params && { reasonParams: e.because.params }),
                statusSince: new Date(e.since).toISOString(),
                lastFrameAt: e.lastEntryAt === undefined ? null : new Date(e.lastEntryAt).toISOString(),
                // A document is the device's frame: stored as a reading, or refused (moved to rejected/).
                counters: {
                    ...{ frames: stored + refused, readings: stored, invalid: refused, ignored: 0 },
                    ...{
                        duplicates: e.duplicates,
                        discardedBytes: 0,
                        reconnects: 0,
                        rejectedKept: 0,
                        rejectedCounted: 0,
                    },
                },
            };
        });
    }

    private async input(
        entry: Running,
        found: FolderEntry,
    ): Promise<{ outcome: "stored" | "refused"; reason?: string }> {
        entry.lastEntryAt = this.deps.clock.now();
        const model = entry.model;
        entry.silence?.heard(monotonicOf(this.deps.clock));
        if (entry.silent !== undefined) {
            entry.silent = undefined;
            await this.updateStatus(entry);
        }
        const result = model.decode(found);
        if (result.status === "invalid") return { outcome: "refused", reason: result.reason };
        if (result.status === "ignored") return { outcome: "stored" };
        const now = this.deps.clock.now();
        const base = {
            deviceId: entry.device.id,
            ...(entry.device.laneId !== undefined && { laneId: entry.device.laneId }),
            occurredAt: result.observedAt ?? now,
        };
        const at = new Date(now);
        const decoded = result.values;
        const hash = contentHash(found);
        if (!("type" in decoded && decoded.type === "background")) {
            const readingType = "type" in decoded ? "reading.radiation" : "reading.xray";
            const earlier = this.documents.readingOf(readingType, entry.device.id, hash);
            if (earlier !== undefined) {
                entry.duplicates++;
                this.deps.log.info(
                    { deviceId: entry.device.id, entry: found.name, contentHash: hash, readingEventId: earlier },
                    "document delivered again: counted, not stored twice",
                );
                return { outcome: "stored" };
            }
        }
        if ("type" in decoded) {
            if (decoded.type === "background") {
                entry.backgroundCps = decoded.backgroundCps;
                entry.faults = decoded.faults;
                await this.updateStatus(entry);
                return { outcome: "stored" };
            }
            const bytes = found.files.get(found.name);
            const documentRef = bytes && this.deps.images?.put(bytes, "application/xml", at);
            const values: RadiationValues = decoded.values;
            entry.faults = values.faults.map((f) => ({ ...f }));
            await this.deps.sink.append({
                type: "reading.radiation",
                ...base,
                data: {
                    // Event data is typed as JSON values; RadiationValues is plain JSON, but an interface has no index signature.
                    values: values as never,
                    model: model.model,
                    file: found.name,
                    contentHash: hash,
                    ...(documentRef !== undefined && { documentRef }),
                },
            });
            await this.updateStatus(entry);
            return { outcome: "stored" };
        }
        const images = decoded.images.map((image) => ({
            ref: this.deps.images?.put(image.bytes, image.contentType, at) ?? "",
            view: image.view,
        }));
        const { scannedAt, images: _withBytes, ...rest } = decoded;
        const values: XrayValues = { ...rest, images };
        await this.deps.sink.append({
            type: "reading.xray",
            ...base,
            data: {
                // As above: XrayValues is plain JSON.
                values: values as never,
                model: model.model,
                package: found.name,
                contentHash: hash,
                ...(scannedAt !== undefined && { scannedAt }),
            },
        });
        return { outcome: "stored" };
    }

    private async updateStatus(entry: Running): Promise<void> {
        const worst = (severity: RpmFault["severity"]) => entry.faults.filter((f) => f.severity === severity);
        const describe = (faults: RpmFault[]) =>
            faults.map((f) => `${f.code}${f.detector ? ` (${f.detector})` : ""}: ${f.description}`).join("; ");
        const faultReason = (code: "DEVICE_FAULT" | "DEVICE_WARNING", faults: RpmFault[]): StatusReason => ({
            code,
            params: { detail: describe(faults) },
        });
        const [status, reason, because]: [DeviceStatus, string, StatusReason?] = !entry.folderOk.ok
            ? ["offline", entry.folderOk.reason, entry.folderOk.because]
            : entry.silent
              ? ["offline", entry.silent.reason, entry.silent.because]
              : worst("fatal").length > 0
                ? ["offline", describe(worst("fatal")), faultReason("DEVICE_FAULT", worst("fatal"))]
                : worst("error").length > 0
                  ? ["degraded", describe(worst("error")), faultReason("DEVICE_FAULT", worst("error"))]
                  : worst("warning").length > 0
                    ? ["online", describe(worst("warning")), faultReason("DEVICE_WARNING", worst("warning"))]
                    : ["online", entry.folderOk.reason, entry.folderOk.because];
        if (status === entry.status && reason === entry.reason) return;
        entry.status = status;
        entry.reason = reason;
        entry.because = because;
        entry.since = this.deps.clock.now();
        this.deps.log[status === "online" ? "info" : "warn"](
            { deviceId: entry.device.id, status, reason },
            "inspection device status",
        );
        await this.deps.sink
            .append({
                type: "device.status",
                deviceId: entry.device.id,
                ...(entry.device.laneId !== undefined && { laneId: entry.device.laneId }),
                data: {
                    status,
                    reason,
                    model: entry.model.model,
                    ...(because && {
                        reasonCode: because.code,
                        ...(because.params && { reasonParams: because.params }),
                    }),
                },
            })
            .catch((err: unknown) => this.deps.log.error({ err }, "device status could not be stored"));
    }
}
