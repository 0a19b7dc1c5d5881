/**
 * How a device drops an entry into a watched folder without the gate ever seeing half of it: written
 * under a dot-name (which the folder transport skips), then renamed into place in one step, as the
 * vendors' export tools do with a temporary name.
 */
import { mkdir, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { FolderEntry } from "../../devices/types.ts";

/** Writes `entry` into `folder`: a file, or a package folder with its files. Returns its path. */
export async function dropEntry(folder: string, entry: FolderEntry, layout: "file" | "package"): Promise<string> {
    await mkdir(folder, { recursive: true });
    const hidden = join(folder, `.${entry.name}.partial`);
    const target = join(folder, entry.name);
    if (layout === "file") {
        await writeFile(hidden, entry.files.get(entry.name) ?? new Uint8Array());
    } else {
        await mkdir(hidden, { recursive: true });
        for (const [name, bytes] of entry.files) await writeFile(join(hidden, name), bytes);
    }
    await rename(hidden, target);
    return target;
}
