import type { Command } from "commander";
import { loadConfig } from "./config/load.ts";
import { errorMessage, isGateError } from "./core/errors.ts";
import { exportArchiveSteps, verifyArchive } from "./store/archive.ts";
import { type DatabaseCheck, databaseProblems } from "./store/backup.ts";
import { checkpointLines } from "./store/checkpoints.ts";
import { finishNow } from "./store/chunked.ts";
import { type Db, openDatabase, type StoreOrigin } from "./store/db.ts";
import { SCHEMA_VERSION } from "./store/migrations.ts";
import { firstSeqAtOrAfter } from "./store/seqTime.ts";

/** Where the install puts the configuration and the service's environment (deploy/install.sh). */
export const DEFAULT_CONFIG = "/etc/gate-edge/gate.yaml";
export const DEFAULT_ENV_FILE = "/etc/gate-edge/env";

export interface OpsIo {
    out(line: string): void;
    err(line: string): void;
}

/** The database a technician means: --db, or the configuration's storage.path. */
function databaseOf(options: { db?: string; config?: string }, io: OpsIo): string | undefined {
    if (options.db !== undefined) return options.db;
    const file = options.config ?? DEFAULT_CONFIG;
    try {
        return loadConfig(file).storage.path;
    } catch (error) {
        io.err(`cannot read the database path from ${file}: ${errorMessage(error)}`);
        if (isGateError(error)) for (const line of error.details) io.err(`  ${line}`);
        io.err("  (name the database with --db FILE instead)");
        return undefined;
    }
}

/** The option or configuration key that named the database, for errors about the file. */
const originOf = (options: { db?: string }): StoreOrigin => ({
    key: options.db !== undefined ? "--db" : "storage.path",
});

function describe(check: DatabaseCheck): string {
    const chain = check.chain?.ok
        ? `hash chain intact (${check.chain.events} events, head seq ${check.chain.headSeq})`
        : "";
    return [
        `${Math.round(check.bytes / 1024)} KiB`,
        `integrity ${check.integrity}`,
        `schema v${check.schemaVersion}`,
        chain,
        `${check.undelivered} event(s) not yet accepted by central`,
    ]
        .filter((part) => part !== "")
        .join(", ");
}

/**
 * The technician's commands: `doctor`, `backup FILE`, `restore FILE`. Exit codes: 0 fine, 1 a problem
 * found (doctor) or the backup/restore refused, 2 usage or unreadable input.
 */
export function registerOpsCommands(program: Command, io: OpsIo, setExit: (code: number) => void): void {
    program
        .command("doctor")
        .description("check, in plain words, everything that stops this gate from working; exit 1 if anything does")
        .option("-c, --config <file>", "gate configuration", DEFAULT_CONFIG)
        .option("--env-file <file>", "the service's environment file (central token)", DEFAULT_ENV_FILE)
        .option("--timeout <ms>", "per network check", "3000")
        .option(
            "--trust-plc <device>",
            "trust the certificate the PLC of this device presents now (compare its thumbprint first)",
        )
        .action(async (options: { config: string; envFile: string; timeout: string; trustPlc?: string }) => {
            const { runDoctor, formatResults, trustPlc } = await import("./doctor.ts");
            if (options.trustPlc !== undefined) {
                const result = await trustPlc({
                    configFile: options.config,
                    envFile: options.envFile,
                    timeoutMs: Number(options.timeout) || 3000,
                    deviceId: options.trustPlc,
                });
                for (const line of formatResults([result])) io.out(line);
                return setExit(result.status === "fail" ? 1 : 0);
            }
            io.out(`gate-edge doctor: ${options.config}`);
            const results = await runDoctor({
                configFile: options.config,
                envFile: options.envFile,
                timeoutMs: Number(options.timeout) || 3000,
            });
            for (const line of formatResults(results)) io.out(line);
            setExit(results.some((result) => result.status === "fail") ? 1 : 0);
        });

    program
        .command("backup")
        .description("an online backup of the gate's database to FILE (safe while the gate runs), then checked")
        .argument("<file>", "where to write the backup (must not exist)")
        .option("-c, --config <file>", `gate configuration (default ${DEFAULT_CONFIG})`)
        .option("--db <file>", "the database itself, instead of --config")
        .action(async (file: string, options: { config?: string; db?: string }) => {
            const db = databaseOf(options, io);
            if (db === undefined) return setExit(2);
            const { backupDatabase } = await import("./store/backup.ts");
            try {
                const check = await backupDatabase(db, file, originOf(options));
                const problems = databaseProblems(check);
                if (problems.length > 0) {
                    io.err(`backup written to ${file}, but it is not sound: ${problems.join("; ")}`);
                    return setExit(1);
                }
                io.out(`backup of ${db} written to ${file}: ${describe(check)}`);
                setExit(0);
            } catch (error) {
                io.err(errorMessage(error));
                setExit(isGateError(error) ? 1 : 2);
            }
        });

    program
        .command("restore")
        .description("put a backup in place of the gate's database (the gate must be stopped); the old one is kept")
        .argument("<file>", "a backup made by gate-edge backup (or the upgrade's backups/ folder)")
        .option("-c, --config <file>", `gate configuration (default ${DEFAULT_CONFIG})`)
        .option("--db <file>", "the database itself, instead of --config")
        .action(async (file: string, options: { config?: string; db?: string }) => {
            const db = databaseOf(options, io);
            if (db === undefined) return setExit(2);
            const { restoreDatabase } = await import("./store/backup.ts");
            try {
                const report = await restoreDatabase(file, db);
                io.out(`restored ${file} to ${db}: ${describe(report.restored)}`);
                if (report.replacedBy) io.out(`  the database it replaced is kept as ${report.replacedBy}`);
                io.out("  events recorded after this backup was made are not in it (they are in the replaced file)");
                if (report.restored.schemaVersion < SCHEMA_VERSION)
                    io.out(`  schema v${report.restored.schemaVersion}: upgraded (after a backup) at the next start`);
                io.out("  start the gate again: systemctl start gate-edge");
                setExit(0);
            } catch (error) {
                io.err(errorMessage(error));
                setExit(isGateError(error) ? 1 : 2);
            }
        });
}

/** A seq (digits) or an instant (ISO 8601) as the first seq at or after it; undefined: nothing is that late. */
function seqOf(db: Db, value: string, io: OpsIo): number | undefined | "bad" {
    if (/^\d+$/.test(value)) return Number(value);
    const at = Date.parse(value);
    if (Number.isNaN(at)) {
        io.err(`${value} is neither a seq nor a date (2026-03-01 or 2026-03-01T08:00:00Z)`);
        return "bad";
    }
    return firstSeqAtOrAfter(db, new Date(at).toISOString());
}

/**
 * `archive export --from --to FILE` (a range of the event log with its images and checkpoints, to a file
 * that verifies itself) and `archive verify FILE` (on any machine, without the database).
 */
export function registerArchiveCommands(program: Command, io: OpsIo, setExit: (code: number) => void): void {
    const archive = program.command("archive").description("export a range of the evidence, verify an export");
    archive
        .command("export")
        .description("write events --from..--to (seq or date), their images and checkpoints to FILE, self-verifying")
        .argument("<file>", "the archive to write (must not exist)")
        .requiredOption("--from <seqOrDate>", "first seq, or the first instant (ISO 8601)")
        .requiredOption("--to <seqOrDate>", "last seq, or the instant before which the range ends (ISO 8601)")
        .option("-c, --config <file>", `gate configuration (default ${DEFAULT_CONFIG})`)
        .option("--db <file>", "the database itself, instead of --config")
        .action(async (file: string, options: { from: string; to: string; config?: string; db?: string }) => {
            const path = databaseOf(options, io);
            if (path === undefined) return setExit(2);
            let db: Db;
            try {
                db = openDatabase(path, { readonly: true, ...originOf(options) });
            } catch (error) {
                io.err(`cannot open ${path}: ${errorMessage(error)}`);
                return setExit(2);
            }
            try {
                const head = (db.prepare("SELECT COALESCE(MAX(seq), 0) AS seq FROM events").get() as { seq: number })
                    .seq;
                const from = seqOf(db, options.from, io);
                const toStart = /^\d+$/.test(options.to) ? undefined : seqOf(db, options.to, io);
                if (from === "bad" || toStart === "bad") return setExit(2);
                const to = /^\d+$/.test(options.to) ? Number(options.to) : toStart === undefined ? head : toStart - 1;
                if (from === undefined) {
                    io.err(`nothing was recorded at or after ${options.from}`);
                    return setExit(1);
                }
                const gateId =
                    (
                        db.prepare("SELECT gate_id FROM events ORDER BY seq DESC LIMIT 1").get() as
                            | { gate_id: string }
                            | undefined
                    )?.gate_id ?? "";
                const summary = await finishNow(
                    exportArchiveSteps(db, { file, fromSeq: from, toSeq: Math.min(to, head), gateId, now: new Date() }),
                );
                io.out(
                    `archive of seq ${summary.fromSeq}..${summary.toSeq} written to ${file}: ${summary.events} event(s), ${summary.images} image(s)` +
                        `${summary.missingImages > 0 ? ` (${summary.missingImages} referenced image(s) already past their retention)` : ""}, sha256 ${summary.sha256}`,
                );
                setExit(0);
            } catch (error) {
                io.err(errorMessage(error));
                setExit(isGateError(error) ? 1 : 2);
            } finally {
                db.close();
            }
        });
    archive
        .command("verify")
        .description("check an archive on its own: digest, every event's hash and link, checkpoints, images")
        .argument("<file>")
        .action(async (file: string) => {
            const report = await verifyArchive(file);
            if (report.ok) {
                io.out(
                    `archive intact: gate ${report.header?.gateId}, seq ${report.firstSeq}..${report.lastSeq}, ${report.events} event(s), ${report.images} image(s)` +
                        `${report.missingImages > 0 ? ` (${report.missingImages} referenced image(s) were past their retention at export)` : ""}`,
                );
                io.out(
                    `  the first event links to hash ${report.anchorHash} (the event before it, as central holds it)`,
                );
                io.out(`  the last event's hash is ${report.lastHash}`);
                for (const line of checkpointLines(report.checkpoints)) io.out(`  ${line}`);
                return setExit(0);
            }
            for (const problem of report.problems) io.err(problem);
            io.err(`${file}: archive BROKEN`);
            setExit(1);
        });
}
