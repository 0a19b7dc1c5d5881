import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Command, CommanderError } from "commander";
import { modelIds } from "../devices/index.ts";
import { loadConfig } from "./config/load.ts";
import { errorMessage, type GateError, isGateError } from "./core/errors.ts";
import { quietOpcuaStartup } from "./core/opcuaLog.ts";
import { registerArchiveCommands, registerOpsCommands } from "./opsCommands.ts";
import { evidenceProblems, verifyEvidence } from "./store/audit.ts";
import { checkpointLines } from "./store/checkpoints.ts";
import { openDatabase } from "./store/db.ts";
import { type PasswordInput, registerUsersCommand } from "./usersCommand.ts";

export interface CliIo {
    stdout: NodeJS.WritableStream;
    stderr: NodeJS.WritableStream;
    /** Where `users add` and `users passwd` read a password (default: the process's stdin). */
    stdin?: PasswordInput;
}

/** Exit codes: 0 ok, 1 the check failed (bad config, broken chain), 2 usage or unreadable input. */
export async function main(
    argv: string[],
    io: CliIo = { stdout: process.stdout, stderr: process.stderr },
): Promise<number> {
    const out = (line: string): void => void io.stdout.write(`${line}\n`);
    const err = (line: string): void => void io.stderr.write(`${line}\n`);
    let exitCode = 0;
    const program = new Command()
        .name("gate-edge")
        .description("Edge controller of a smart customs border gate")
        .exitOverride()
        .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) });

    program
        .command("start")
        .description("run a gate from its configuration file")
        .requiredOption("-c, --config <file>", "gate configuration (YAML)")
        .option("--with-simulators", "also run the simulators the demo configuration points at")
        .option("--pretty", "readable log lines for a person at a terminal (the service logs JSON)")
        .action(async (options: { config: string; withSimulators?: boolean; pretty?: boolean }) => {
            exitCode = await startCommand(
                options.config,
                options.withSimulators ?? false,
                out,
                err,
                options.pretty ?? false,
            );
        });

    program
        .command("check-config")
        .description("validate a configuration file; lists every error with its key path")
        .argument("[file]", "gate configuration (YAML); or --config")
        .option("-c, --config <file>", "gate configuration (YAML), as for every other command")
        .action((positional: string | undefined, options: { config?: string }) => {
            const file = positional ?? options.config;
            if (file === undefined || (positional !== undefined && options.config !== undefined)) {
                err("check-config needs one configuration file: gate-edge check-config --config FILE (or FILE)");
                exitCode = 2;
                return;
            }
            try {
                const config = loadConfig(file);
                const devices = config.lanes.reduce((sum, lane) => sum + lane.devices.length, 0);
                out(`${file}: OK — gate ${config.gate.id}, ${config.lanes.length} lane(s), ${devices} device(s)`);
            } catch (error) {
                exitCode = reportConfigError(error, err);
            }
        });

    const audit = program.command("audit").description("check the evidence in an event store");
    audit
        .command("verify")
        .description(
            "check the database file (SQLite integrity_check), the whole hash chain of the event log and of the audit log; name what is broken",
        )
        .requiredOption("--db <file>", "gate database file")
        .option("--quick", "SQLite's quick_check instead of integrity_check (pages only, not index contents)")
        .action((options: { db: string; quick?: boolean }) => {
            let db: ReturnType<typeof openDatabase>;
            try {
                db = openDatabase(options.db, { readonly: true, key: "--db" });
            } catch (error) {
                err(`cannot open ${options.db}: ${errorMessage(error)}`);
                exitCode = 2;
                return;
            }
            try {
                const report = verifyEvidence(db, options.quick ? "quick_check" : "integrity_check");
                const { integrity, events, audit } = report;
                if (integrity.ok) out(`database file intact: SQLite ${integrity.check} ok (${integrity.ms} ms)`);
                if (events.ok) out(`hash chain intact: ${events.events} event(s), head seq ${events.headSeq}`);
                if (events.ok && events.continuity && events.continuity.checkpoints.length > 0) {
                    const { continuity } = events;
                    out(
                        `continuous across ${continuity.checkpoints.length} pruning checkpoint(s): ${continuity.pruned} event(s) pruned, every one accounted for`,
                    );
                    for (const line of checkpointLines(continuity.checkpoints)) out(`  ${line}`);
                    if (continuity.inProgress !== undefined)
                        out(
                            `  pruning under checkpoint seq ${continuity.inProgress} stopped midway; the gate finishes it at its next run`,
                        );
                }
                if (audit.ok)
                    out(`audit log hash chain intact: ${audit.checked} entr${audit.checked === 1 ? "y" : "ies"}`);
                for (const problem of evidenceProblems(report)) err(problem);
                if (!report.ok) {
                    err(
                        `${options.db}: evidence BROKEN — keep this file as it is; restore the last backup (gate-edge restore)`,
                    );
                    exitCode = 1;
                }
            } finally {
                db.close();
            }
        });

    registerUsersCommand(program, { stdin: io.stdin ?? process.stdin, out, err, prompt: io.stderr }, (code) => {
        exitCode = code;
    });

    registerOpsCommands(program, { out, err }, (code) => {
        exitCode = code;
    });
    registerArchiveCommands(program, { out, err }, (code) => {
        exitCode = code;
    });

    const clearance = program.command("clearance").description("manage the cached clearance data");
    clearance
        .command("import")
        .description("import declarations and watch list from a YAML or JSON file; all or nothing")
        .argument("<file>")
        .option("--db <file>", "gate database file")
        .option("--config <file>", "gate configuration (YAML); its storage.path is the database")
        .action(async (file: string, options: { db?: string; config?: string }) => {
            exitCode = await clearanceImportCommand(file, options, out, err);
        });

    program
        .command("prearrival")
        .description("manage pre-arrival records (expected visits)")
        .command("import")
        .description("import pre-arrival records from a YAML or JSON file ({ preArrivals: [...] }); all or nothing")
        .argument("<file>")
        .option("--db <file>", "gate database file")
        .option("--config <file>", "gate configuration (YAML); its storage.path is the database")
        .action(async (file: string, options: { db?: string; config?: string }) => {
            exitCode = await preArrivalImportCommand(file, options, out, err);
        });

    program
        .command("simulate")
        .description(
            "run a simulator: scale | scanner | eseal | onvif-camera | hik-camera | dahua-camera | lane-plc | central | gate (gate-edge simulate <kind> --help)",
        )
        .argument("<kind>")
        .argument("[args...]")
        .allowUnknownOption()
        .helpOption(false)
        .action(async (kind: string, args: string[]) => {
            const { runSimulateCommand } = await import("../simulators/cli.ts");
            const controller = new AbortController();
            const onSignal = (): void => controller.abort();
            process.once("SIGINT", onSignal);
            process.once("SIGTERM", onSignal);
            try {
                exitCode = await runSimulateCommand(kind, args, { ...io, signal: controller.signal });
            } finally {
                process.off("SIGINT", onSignal);
                process.off("SIGTERM", onSignal);
            }
        });

    // The benchmarks live in test/bench, which only a source checkout has (the release bundle ships none of
    // test/): there the command is offered, elsewhere it is hidden and says where to run it.
    const benchHere = benchmarksPresent();
    program
        .command("bench", { hidden: !benchHere })
        .description(
            "run the benchmarks (default all; --with-soak adds soak) or one: ingest | devices | lanes | sync | startup | soak",
        )
        .argument("[name]", "benchmark name or all", "all")
        .option("--with-soak", "with all: also run the soak (BENCH_SOAK_MINUTES, default 30)")
        .allowUnknownOption()
        .action(async (name: string) => {
            if (!benchHere) {
                err("bench is not part of the installed bundle; run it from a source checkout");
                exitCode = 2;
                return;
            }
            const { runBenchmark } = await import("../test/bench/index.ts");
            exitCode = await runBenchmark(name, out, err);
        });

    program
        .command("record")
        .description("run the gate and record its devices' raw traffic (gate-edge record --help)")
        .argument("[args...]")
        .allowUnknownOption()
        .helpOption(false)
        .action(async (args: string[]) => {
            const { runRecordCommand } = await import("../simulators/gate/cli.ts");
            exitCode = await runRecordCommand(args, io);
        });

    try {
        await program.parseAsync(argv, { from: "user" });
    } catch (error) {
        if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
        err(errorMessage(error));
        return 1;
    }
    return exitCode;
}

/**
 * Whether the benchmarks stand beside this CLI: test/bench/index next to src/, with this file's own
 * extension (.ts run by tsx in a checkout, .js compiled into dist/).
 */
export function benchmarksPresent(cliUrl: string = import.meta.url): boolean {
    const extension = cliUrl.endsWith(".ts") ? "ts" : "js";
    return existsSync(fileURLToPath(new URL(`../test/bench/index.${extension}`, cliUrl)));
}

function reportConfigError(error: unknown, err: (line: string) => void): number {
    if (isGateError(error, "CONFIG_INVALID")) {
        err(error.message);
        for (const line of error.details) err(`  ${line}`);
        if (error.details.some((line) => line.includes("unknown model")))
            err(`  (known models: ${modelIds().join(", ")})`);
        return 1;
    }
    if (isGateError(error, "CONFIG_UNREADABLE")) {
        err(error.message);
        return 2;
    }
    throw error;
}

async function startCommand(
    file: string,
    withSimulators: boolean,
    out: (line: string) => void,
    err: (line: string) => void,
    pretty = false,
): Promise<number> {
    let config: ReturnType<typeof loadConfig>;
    try {
        config = loadConfig(file);
    } catch (error) {
        return reportConfigError(error, err);
    }
    // The service side (signals, systemd notifications, reload, the stop deadline) lives in service.ts;
    // node-opcua comes with it, and is told before it loads to keep its own notices to itself.
    quietOpcuaStartup();
    const { runGate } = await import("./service.ts");
    // The demo's simulators come only with the flag that asks for them: production code never loads them.
    const companion = withSimulators
        ? (await import("../simulators/demo.ts")).demoCompanion(file, config, out)
        : undefined;
    return runGate({ file, config, ...(companion && { companion }), pretty, out, err });
}

/** The database an import writes to: --db, or --config's storage.path; an exit code when neither works. */
function databasePathOf(
    command: string,
    options: { db?: string; config?: string },
    err: (line: string) => void,
): string | number {
    if ((options.db === undefined) === (options.config === undefined)) {
        err(`${command} needs exactly one of --db <file> or --config <file>`);
        return 2;
    }
    if (options.config === undefined) return options.db as string;
    try {
        return loadConfig(options.config).storage.path;
    } catch (error) {
        return reportConfigError(error, err);
    }
}

/** `prearrival import`: 0 imported, 1 the file (or config) is invalid, 2 usage or unreadable input. */
async function preArrivalImportCommand(
    file: string,
    options: { db?: string; config?: string },
    out: (line: string) => void,
    err: (line: string) => void,
): Promise<number> {
    const { PreArrivalStore, readPreArrivalFile } = await import("./yard/preArrival.ts");
    return importFile("prearrival import", file, options, err, {
        read: readPreArrivalFile,
        invalidExitCode: () => 1,
        write: (db, records) => {
            const counts = new PreArrivalStore(db).write(records, Date.now());
            out(
                `${file}: imported ${counts.written} pre-arrival record(s)` +
                    (counts.skippedOlder > 0 ? `; ${counts.skippedOlder} skipped (a newer version is stored)` : ""),
            );
        },
    });
}

/** `clearance import`: 0 imported, 1 the file (or config) is invalid, 2 usage or unreadable input. */
async function clearanceImportCommand(
    file: string,
    options: { db?: string; config?: string },
    out: (line: string) => void,
    err: (line: string) => void,
): Promise<number> {
    const { ClearanceCache, readClearanceFile } = await import("./store/clearance.ts");
    return importFile("clearance import", file, options, err, {
        read: readClearanceFile,
        // An unreadable or unparsable file is a usage problem; only content that fails validation is "invalid".
        invalidExitCode: (error) => (isGateError(error, "CLEARANCE_INVALID") ? 1 : 2),
        write: (db, data) => {
            const counts = ClearanceCache.open(db).importData(data, Date.now());
            const skipped = counts.declarations.skippedOlder + counts.watchList.skippedOlder;
            out(
                `${file}: imported clearance version ${data.version}: ${counts.declarations.written} declaration(s), ` +
                    `${counts.watchList.written} watch-list entr${counts.watchList.written === 1 ? "y" : "ies"}` +
                    (skipped > 0 ? `; ${skipped} skipped (a newer version is stored)` : ""),
            );
        },
    });
}

/**
 * An import command's steps: find the database (from --db or the config), read and validate the whole file
 * before the database is opened, then write it in one go. Exit codes as the commands document them.
 */
async function importFile<T>(
    command: string,
    file: string,
    options: { db?: string; config?: string },
    err: (line: string) => void,
    steps: {
        read: (file: string) => T;
        invalidExitCode: (error: GateError) => number;
        write: (db: ReturnType<typeof openDatabase>, data: T) => void;
    },
): Promise<number> {
    const dbPath = databasePathOf(command, options, err);
    if (typeof dbPath === "number") return dbPath;
    let data: T;
    try {
        data = steps.read(file);
    } catch (error) {
        if (!isGateError(error)) throw error;
        err(error.message);
        for (const line of error.details) err(`  ${line}`);
        return steps.invalidExitCode(error);
    }
    let db: ReturnType<typeof openDatabase>;
    try {
        db = openDatabase(dbPath);
    } catch (error) {
        err(`cannot open ${dbPath}: ${errorMessage(error)}`);
        return 2;
    }
    try {
        steps.write(db, data);
        return 0;
    } finally {
        db.close();
    }
}
