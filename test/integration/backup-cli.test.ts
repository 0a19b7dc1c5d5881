/**
 * `gate-edge backup FILE` and `gate-edge restore FILE` as a technician uses them: an online backup of a
 * gate that keeps writing, a restore refused while a gate runs on the database or when the backup's hash
 * chain is broken, and a restore that keeps the database it replaces.
 */
import { spawn } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { main } from "../../src/cli.ts";
import { verifyChain } from "../../src/store/audit.ts";
import { pidFileOf } from "../../src/store/backup.ts";
import { startGate, testConfig } from "../helpers/gate.ts";
import { tempDir } from "../helpers/tmp.ts";

const dir = tempDir();
afterAll(() => dir.cleanup());

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    let out = "";
    let err = "";
    stdout.on("data", (chunk: Buffer) => {
        out += chunk.toString();
    });
    stderr.on("data", (chunk: Buffer) => {
        err += chunk.toString();
    });
    const code = await main(argv, { stdout, stderr });
    return { code, out, err };
}

const LANES =
    "  - id: L1\n    devices:\n      - { id: seal-1, model: eseal-mqtt-json, auth: { username: seal-1, password: backup-password } }";

describe("backup and restore", () => {
    it("backs up a running gate's database online, and the copy is checked", async () => {
        const config = testConfig(dir.path, LANES);
        const gate = await startGate(config);
        try {
            // The gate keeps committing while the backup runs.
            let writing = true;
            const writer = (async () => {
                for (let i = 0; writing; i++) {
                    await gate.log.append({ type: "reading.weight", laneId: "L1", data: { kg: i } });
                }
            })();
            const file = join(dir.path, "online.backup");
            const result = await cli("backup", file, "--db", config.storage.path);
            writing = false;
            await writer;
            expect(result.err).toBe("");
            expect(result.code).toBe(0);
            expect(result.out).toMatch(
                /backup of .* written to .*online\.backup: .*integrity ok, schema v\d+, hash chain intact/,
            );
            const copy = new Database(file, { readonly: true });
            expect(verifyChain(copy).ok).toBe(true);
            copy.close();
            // Never over an existing file.
            const again = await cli("backup", file, "--db", config.storage.path);
            expect(again.code).toBe(1);
            expect(again.err).toMatch(/exists already/);
        } finally {
            await gate.stop();
        }
    });

    it("restores a backup, keeping the database it replaces; refuses while a gate runs on it", async () => {
        const config = testConfig(dir.path, LANES);
        const gate = await startGate(config);
        const backup = join(dir.path, "before.backup");
        await gate.log.append({ type: "reading.weight", laneId: "L1", data: { kg: 1 } });
        expect((await cli("backup", backup, "--db", config.storage.path)).code).toBe(0);
        await gate.log.append({ type: "reading.weight", laneId: "L1", data: { kg: 2 } });
        const headAfterBackup = gate.log.headSeq;
        await gate.stop();

        // A gate-edge process holds the database (its pid file names a live process that is gate-edge).
        const holder = spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)", "gate-edge"], { stdio: "ignore" });
        writeFileSync(pidFileOf(config.storage.path), `${holder.pid}\n`);
        try {
            const refused = await cli("restore", backup, "--db", config.storage.path);
            expect(refused.code).toBe(1);
            expect(refused.err).toMatch(new RegExp(`gate-edge \\(pid ${holder.pid}\\) runs on .*stop it first`));
        } finally {
            holder.kill();
            await new Promise((resolve) => holder.once("exit", resolve));
        }

        const restored = await cli("restore", backup, "--db", config.storage.path);
        expect(restored.err).toBe("");
        expect(restored.code).toBe(0);
        expect(restored.out).toMatch(/restored .* hash chain intact/);
        const replaced = /kept as (\S+)/.exec(restored.out)?.[1];
        expect(replaced && existsSync(replaced)).toBe(true);
        const now = new Database(config.storage.path, { readonly: true });
        const old = new Database(replaced as string, { readonly: true });
        try {
            const head = (db: Database.Database) =>
                (db.prepare("SELECT MAX(seq) AS seq FROM events").get() as { seq: number }).seq;
            expect(head(now)).toBe(headAfterBackup - 1);
            expect(head(old)).toBe(headAfterBackup);
        } finally {
            now.close();
            old.close();
        }
    });

    it("refuses a backup whose hash chain is broken", async () => {
        const config = testConfig(dir.path, LANES);
        const gate = await startGate(config);
        await gate.log.append({ type: "reading.weight", laneId: "L1", data: { kg: 10 } });
        await gate.stop();
        const tampered = join(dir.path, "tampered.backup");
        expect((await cli("backup", tampered, "--db", config.storage.path)).code).toBe(0);
        const db = new Database(tampered);
        db.exec("DROP TRIGGER events_no_update");
        db.prepare("UPDATE events SET data = ? WHERE type = 'reading.weight'").run('{"kg":9999}');
        db.close();
        const result = await cli("restore", tampered, "--db", config.storage.path);
        expect(result.code).toBe(1);
        expect(result.err).toMatch(/cannot be restored: .*hash chain broken at seq \d+/);
    });
});
