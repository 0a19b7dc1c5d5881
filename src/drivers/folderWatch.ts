/**
 * The folder transport: devices that hand over whole documents by writing them into a folder, usually a
 * network share (an RPM's lane computer writing an N42.42 file per occupancy, an X-ray scanner's
 * workstation exporting a package per scan; docs/devices.md "Inspection area").
 *
 * The folder is polled rather than watched with inotify: inotify sees nothing of what another machine
 * writes to an SMB or NFS share, and a poll every second is nothing beside a truck every minute.
 * - An entry is a file ending in the model's suffix, or a sub-folder holding the model's manifest (other
 *   names, and names starting with "." or "~", are left alone: writers' temporary files).
 * - It is read only once it looked the same (names, sizes, modification times) on two polls at least
 *   `settleMs` apart: a writer still copying it changes it in between.
 * - It is handed to `input` with all its files; when `input` resolves "stored" (the reading is durable) it
 *   moves to `processed/`, when "refused" to `rejected/` with a `.reason.txt` beside it, so the folder
 *   holds only what is still to do and nothing is read twice. When `input` rejects (the store failed) it
 *   stays, and is tried again at the next poll.
 * - An entry over `maxEntryBytes` is refused unread. The folder unreadable (share unmounted) makes the
 *   device offline; readable again, online.
 */
import { mkdir, readdir, readFile, rename, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "pino";
import type { FolderEntry, FolderLayout } from "../../devices/types.ts";
import { errorMessage } from "../core/errors.ts";
import type { DeviceStatus } from "../core/events.ts";
import type { StatusReason } from "./transport.ts";

export const PROCESSED = "processed";
export const REJECTED = "rejected";
/** Files of one package at most; a folder with more is no scan package. */
const MAX_PACKAGE_FILES = 64;

export interface FolderWatchOptions {
    folder: string;
    layout: FolderLayout;
    maxEntryBytes: number;
    pollMs: number;
    settleMs: number;
}

export interface FolderWatchContext {
    log: Logger;
    /** Resolves once what the entry produced is durable; rejects only when the store failed. */
    input(entry: FolderEntry): Promise<{ outcome: "stored" | "refused"; reason?: string }>;
    setStatus(status: DeviceStatus, reason: string, because?: StatusReason): void;
}

interface Seen {
    signature: string;
    since: number;
}

export class FolderWatch {
    private timer: NodeJS.Timeout | undefined;
    private running = false;
    private polling: Promise<void> | undefined;
    private readonly seen = new Map<string, Seen>();
    private readable: boolean | undefined;
    readonly counters = { polls: 0, stored: 0, refused: 0, failed: 0 };

    constructor(
        private readonly options: FolderWatchOptions,
        private readonly ctx: FolderWatchContext,
    ) {}

    /** Starts polling; resolves at once, so a share that hangs cannot hold up the gate's start. */
    async start(): Promise<void> {
        if (this.running) return;
        this.running = true;
        this.polling = this.poll();
    }

    /** Idempotent: no poll after it resolves; an entry being handed in is finished first. */
    async stop(): Promise<void> {
        this.running = false;
        if (this.timer) clearTimeout(this.timer);
        this.timer = undefined;
        await this.polling;
    }

    private schedule(): void {
        if (!this.running) return;
        this.timer = setTimeout(() => {
            this.polling = this.poll();
        }, this.options.pollMs);
    }

    private async poll(): Promise<void> {
        try {
            await this.scan();
        } catch (err) {
            this.ctx.log.error({ err: errorMessage(err) }, "folder poll failed");
        }
        this.schedule();
    }

    private async scan(): Promise<void> {
        const { folder, layout } = this.options;
        let names: { name: string; dir: boolean }[];
        try {
            await mkdir(join(folder, PROCESSED), { recursive: true });
            await mkdir(join(folder, REJECTED), { recursive: true });
            names = (await readdir(folder, { withFileTypes: true })).map((d) => ({
                name: d.name,
                dir: d.isDirectory(),
            }));
        } catch (err) {
            this.readableNow(false, `folder ${folder} not readable: ${errorMessage(err)}`, {
                code: "FOLDER_UNREADABLE",
                params: { folder, detail: errorMessage(err) },
            });
            return;
        }
        this.readableNow(true, `watching ${folder}`, { code: "FOLDER_WATCHING", params: { folder } });
        this.counters.polls++;
        const now = Date.now();
        const present = new Set<string>();
        for (const { name, dir } of names) {
            if (!this.running) return;
            if (name.startsWith(".") || name.startsWith("~") || name === PROCESSED || name === REJECTED) continue;
            const wanted =
                layout.type === "file" ? !dir && name.toLowerCase().endsWith(layout.suffix.toLowerCase()) : dir;
            if (!wanted) continue;
            present.add(name);
            const files = await this.listing(name, dir).catch(() => undefined);
            if (!files) continue;
            const signature = files.map((f) => `${f.name}:${f.size}:${f.mtimeMs}`).join("|");
            const before = this.seen.get(name);
            if (!before || before.signature !== signature) {
                this.seen.set(name, { signature, since: now });
                continue;
            }
            if (now - before.since < this.options.settleMs) continue;
            await this.handOver(name, dir, files);
        }
        for (const name of this.seen.keys()) if (!present.has(name)) this.seen.delete(name);
    }

    /** The entry's files with size and mtime; undefined for a package without its manifest yet. */
    private async listing(
        name: string,
        dir: boolean,
    ): Promise<{ name: string; path: string; size: number; mtimeMs: number }[] | undefined> {
        const path = join(this.options.folder, name);
        if (!dir) {
            const s = await stat(path);
            return [{ name, path, size: s.size, mtimeMs: s.mtimeMs }];
        }
        const layout = this.options.layout;
        const inner = await readdir(path, { withFileTypes: true });
        if (layout.type !== "package" || !inner.some((d) => d.isFile() && d.name === layout.manifest)) return undefined;
        const files = inner.filter((d) => d.isFile()).slice(0, MAX_PACKAGE_FILES + 1);
        return Promise.all(
            files.map(async (d) => {
                const s = await stat(join(path, d.name));
                return { name: d.name, path: join(path, d.name), size: s.size, mtimeMs: s.mtimeMs };
            }),
        );
    }

    private async handOver(
        name: string,
        dir: boolean,
        files: { name: string; path: string; size: number }[],
    ): Promise<void> {
        const total = files.reduce((t, f) => t + f.size, 0);
        let outcome: { outcome: "stored" | "refused"; reason?: string };
        if (total > this.options.maxEntryBytes) {
            outcome = { outcome: "refused", reason: `${total} bytes, over the ${this.options.maxEntryBytes} allowed` };
        } else if (files.length > MAX_PACKAGE_FILES) {
            outcome = { outcome: "refused", reason: `more than ${MAX_PACKAGE_FILES} files` };
        } else {
            const contents = new Map<string, Uint8Array>();
            for (const f of files) contents.set(f.name, new Uint8Array(await readFile(f.path)));
            try {
                outcome = await this.ctx.input({ name, files: contents });
            } catch (err) {
                // Not stored: left where it is for the next poll, like a push the gate answered 503.
                this.counters.failed++;
                this.ctx.log.error({ entry: name, err: errorMessage(err) }, "folder entry not stored, tried again");
                return;
            }
        }
        this.seen.delete(name);
        const to = outcome.outcome === "stored" ? PROCESSED : REJECTED;
        this.counters[outcome.outcome === "stored" ? "stored" : "refused"]++;
        const target = await this.freeName(join(this.options.folder, to), name);
        await rename(join(this.options.folder, name), target);
        if (outcome.outcome === "refused") {
            // Written whole under another name, then renamed: whoever watches rejected/ (a technician's script,
            // the vendor's software) never reads a reason file still being written, empty or half.
            const reasonFile = `${target}.reason.txt`;
            await writeFile(`${reasonFile}.partial`, `${outcome.reason ?? "refused"}\n`);
            await rename(`${reasonFile}.partial`, reasonFile);
            this.ctx.log.warn({ entry: name, reason: outcome.reason, dir }, "folder entry refused");
        }
    }

    /** `name` in `folder`, or with a numeric suffix when a resent entry of that name was handled before. */
    private async freeName(folder: string, name: string): Promise<string> {
        for (let n = 0; ; n++) {
            const candidate = join(folder, n === 0 ? name : `${name}.${n}`);
            try {
                await stat(candidate);
            } catch {
                return candidate;
            }
        }
    }

    private readableNow(readable: boolean, reason: string, because: StatusReason): void {
        if (this.readable === readable) return;
        this.readable = readable;
        this.ctx.setStatus(readable ? "online" : "offline", reason, because);
    }
}
