/**
 * The folder transport on a real directory: an entry is handed over only once it stopped changing, and
 * leaves the folder once stored (src/drivers/folderWatch.ts).
 */
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { FolderEntry } from "../../devices/types.ts";
import { FolderWatch } from "../../src/drivers/folderWatch.ts";
import { eventually } from "../helpers/gate.ts";
import { tempDir, testLog } from "../helpers/tmp.ts";

describe("FolderWatch", () => {
    let dir: ReturnType<typeof tempDir>;
    let watch: FolderWatch | undefined;
    const seen: FolderEntry[] = [];
    const statuses: string[] = [];
    let failNext = false;

    beforeEach(() => {
        dir = tempDir();
        seen.length = 0;
        statuses.length = 0;
        failNext = false;
    });
    afterEach(async () => {
        await watch?.stop();
        dir.cleanup();
    });

    function start(folder: string, settleMs: number): FolderWatch {
        watch = new FolderWatch(
            { folder, layout: { type: "file", suffix: ".n42" }, maxEntryBytes: 1000, pollMs: 50, settleMs },
            {
                log: testLog,
                input: async (entry) => {
                    if (failNext) {
                        failNext = false;
                        throw new Error("store failed");
                    }
                    seen.push(entry);
                    return new TextDecoder().decode(entry.files.get(entry.name)).startsWith("bad")
                        ? { outcome: "refused", reason: "bad document" }
                        : { outcome: "stored" };
                },
                setStatus: (status, reason) => statuses.push(`${status}: ${reason}`),
            },
        );
        void watch.start();
        return watch;
    }

    it("a file still being written is read once it stopped changing, whole, then moved to processed/", async () => {
        const w = start(dir.path, 3000);
        const path = join(dir.path, "a.n42");
        writeFileSync(path, "half");
        const sightedAt = w.counters.polls;
        await eventually(() => w.counters.polls >= sightedAt + 3, 10_000, "the half file seen by polls");
        writeFileSync(path, "the whole document");
        await eventually(() => seen.length === 1, 20_000, "the file handed over");
        expect(new TextDecoder().decode(seen[0]?.files.get("a.n42"))).toBe("the whole document");
        await eventually(() => existsSync(join(dir.path, "processed", "a.n42")), 10_000, "moved to processed/");
        expect(existsSync(path)).toBe(false);
    });

    it("refused goes to rejected/ with the reason; a store failure leaves it to be tried again; others are skipped", async () => {
        const w = start(dir.path, 0);
        failNext = true;
        writeFileSync(join(dir.path, "bad.n42"), "bad content");
        writeFileSync(join(dir.path, ".tmp.n42"), "a writer's temporary file");
        writeFileSync(join(dir.path, "notes.txt"), "not the model's suffix");
        await eventually(() => existsSync(join(dir.path, "rejected", "bad.n42.reason.txt")), 10_000, "rejected");
        expect(w.counters).toMatchObject({ failed: 1, refused: 1, stored: 0 });
        expect(seen.map((e) => e.name)).toEqual(["bad.n42"]);
        expect(existsSync(join(dir.path, ".tmp.n42")) && existsSync(join(dir.path, "notes.txt"))).toBe(true);
    });

    it("an unreadable folder is offline, readable again online", async () => {
        const folder = join(dir.path, "share");
        writeFileSync(folder, "a file where the folder should be"); // as an unmounted share looks: not a folder
        const w = start(folder, 0);
        await eventually(() => statuses.at(-1)?.startsWith("offline"), 10_000, "offline");
        await w.stop();
        const { rmSync } = await import("node:fs");
        rmSync(folder);
        mkdirSync(folder);
        start(folder, 0);
        await eventually(() => statuses.at(-1)?.startsWith("online"), 10_000, "online");
    });
});
