import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { userInfo } from "node:os";
import type { Command } from "commander";
import { loadConfig } from "./config/load.ts";
import { hashPassword } from "./config/passwords.ts";
import { errorMessage, isGateError } from "./core/errors.ts";
import { AuditLog } from "./store/auditLog.ts";
import { type Db, openDatabase } from "./store/db.ts";
import { ROLES, type Role, SessionStore, UserStore, userProblem } from "./store/users.ts";

/** What the users commands read passwords from; a TTY is prompted without echo. */
export interface PasswordInput extends NodeJS.ReadableStream {
    isTTY?: boolean;
    setRawMode?(mode: boolean): unknown;
}

export interface UsersIo {
    stdin: PasswordInput;
    out(line: string): void;
    err(line: string): void;
    /** The prompt goes here (stderr), so `users add … > file` keeps stdout clean. */
    prompt: NodeJS.WritableStream;
}

class UsageError extends Error {}

interface DbOptions {
    config?: string;
    db?: string;
}

/** The database of --db, of --config, of $GATE_CONFIG, or of config/gate.yaml, in that order. */
function databasePath(options: DbOptions): string {
    if (options.db !== undefined && options.config !== undefined)
        throw new UsageError("give --config <file> or --db <file>, not both");
    if (options.db !== undefined) return options.db;
    const file = options.config ?? process.env.GATE_CONFIG ?? "config/gate.yaml";
    if (options.config === undefined && !existsSync(file))
        throw new UsageError(`no configuration: ${file} does not exist; give --config <file> or --db <file>`);
    try {
        return loadConfig(file).storage.path;
    } catch (error) {
        throw new UsageError(`${file}: ${errorMessage(error)}`);
    }
}

/** Reads a whole stream (a password piped in). */
async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
    let text = "";
    for await (const chunk of stream) text += typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8");
    return text;
}

/** One line typed on a terminal without echo. Ctrl+C cancels. */
function promptHidden(question: string, io: UsersIo): Promise<string> {
    const input = io.stdin;
    io.prompt.write(question);
    input.setRawMode?.(true);
    input.resume();
    return new Promise((resolve, reject) => {
        let value = "";
        const finish = (error?: Error): void => {
            input.off("data", onData);
            input.setRawMode?.(false);
            input.pause();
            io.prompt.write("\n");
            if (error) reject(error);
            else resolve(value);
        };
        const onData = (chunk: Buffer | string): void => {
            for (const char of chunk.toString()) {
                if (char === "\r" || char === "\n") {
                    finish();
                    return;
                }
                if (char === "\u0003") {
                    finish(new UsageError("cancelled"));
                    return;
                }
                if (char === "\u007f" || char === "\b") value = value.slice(0, -1);
                else value += char;
            }
        };
        input.on("data", onData);
    });
}

/** A new password: the first line of stdin when it is not a terminal, else typed twice without echo. */
async function readNewPassword(io: UsersIo, name: string): Promise<string> {
    let password: string;
    if (io.stdin.isTTY) {
        password = await promptHidden(`Password for ${name}: `, io);
        const again = await promptHidden("Repeat the password: ", io);
        if (again !== password) throw new UsageError("the two passwords differ");
    } else {
        password = (await readAll(io.stdin)).split(/\r?\n/)[0] ?? "";
    }
    const problem = userProblem({ password });
    if (problem) throw new UsageError(problem);
    return password;
}

const actor = (): string => {
    try {
        return `cli:${userInfo().username}`;
    } catch {
        return "cli";
    }
};

function withDb<T>(options: DbOptions, work: (db: Db) => T): T {
    const db = openDatabase(databasePath(options));
    try {
        return work(db);
    } finally {
        db.close();
    }
}

function audit(db: Db, action: string, name: string, detail?: { [key: string]: string | boolean }): void {
    new AuditLog(db).append({
        user: actor(),
        action,
        target: `user:${name}`,
        outcome: "ok",
        ip: "local",
        ...(detail && { detail }),
    });
}

/**
 * `gate-edge users add|list|passwd|disable`: the dashboard's users, in the gate's database. Every error
 * names its problem (unknown role, weak password, duplicate user, unknown user) and exits 2.
 */
export function registerUsersCommand(program: Command, io: UsersIo, setExit: (code: number) => void): void {
    const users = program.command("users").description("manage the dashboard's users (officers, supervisors …)");
    const dbOptions = (command: Command): Command =>
        command
            .option("--config <file>", "gate configuration (YAML); its storage.path is the database")
            .option("--db <file>", "gate database file");
    const run = async (work: () => Promise<void> | void): Promise<void> => {
        try {
            await work();
        } catch (error) {
            if (error instanceof UsageError || isGateError(error)) {
                io.err(error.message);
                setExit(2);
                return;
            }
            throw error;
        }
    };

    dbOptions(
        users
            .command("add")
            .description(
                `add a user; password from stdin, or prompted twice on a terminal (roles: ${ROLES.join(", ")})`,
            )
            .argument("<name>")
            .requiredOption("--role <role>", ROLES.join(" | ")),
    ).action((name: string, options: DbOptions & { role: string }) =>
        run(async () => {
            const problem = userProblem({ name, role: options.role });
            if (problem) throw new UsageError(problem);
            const path = databasePath(options);
            // Checked before the password is asked for: nobody should type a password to learn the name is taken.
            const exists = withDb({ db: path }, (db) => new UserStore(db).get(name) !== undefined);
            if (exists)
                throw new UsageError(
                    `user ${name} already exists (gate-edge users passwd ${name} changes the password)`,
                );
            const password = await readNewPassword(io, name);
            withDb({ db: path }, (db) => {
                new UserStore(db).add(name, options.role, hashPassword(password));
                audit(db, "user.add", name, { role: options.role });
            });
            io.out(`user ${name} added with role ${options.role}`);
        }),
    );

    dbOptions(users.command("list").description("list the users")).action((options: DbOptions) =>
        run(() =>
            withDb(options, (db) => {
                const list = new UserStore(db).list();
                if (list.length === 0) io.out("no users");
                for (const user of list)
                    io.out(
                        `${user.name}\t${user.role}\t${user.disabled ? "disabled" : "active"}\tsince ${user.createdAt}`,
                    );
            }),
        ),
    );

    dbOptions(
        users.command("passwd").description("set a user's password (ends their sessions)").argument("<name>"),
    ).action((name: string, options: DbOptions) =>
        run(async () => {
            const path = databasePath(options);
            const known = withDb({ db: path }, (db) => new UserStore(db).get(name) !== undefined);
            if (!known) throw new UsageError(`no user ${name}`);
            const password = await readNewPassword(io, name);
            withDb({ db: path }, (db) => {
                new UserStore(db).update(name, { passwordHash: hashPassword(password) });
                audit(db, "user.passwd", name);
            });
            io.out(`password of ${name} changed; their sessions are ended`);
        }),
    );

    dbOptions(users.command("disable").description("disable a user and end their sessions").argument("<name>")).action(
        (name: string, options: DbOptions) =>
            run(() =>
                withDb(options, (db) => {
                    const store = new UserStore(db);
                    if (!store.get(name)) throw new UsageError(`no user ${name}`);
                    store.update(name, { disabled: true });
                    new SessionStore(db).deleteForUser(name);
                    audit(db, "user.disable", name);
                    io.out(`user ${name} disabled`);
                }),
            ),
    );
}

/**
 * The demo gate's users, one per role, created on the first start of `npm start` (never by a production
 * start): random passwords, returned to be printed once. None when the gate already has users.
 */
export function createDemoUsers(db: Db): { name: string; role: Role; password: string }[] {
    const store = new UserStore(db);
    if (store.count() > 0) return [];
    const created = ROLES.map((role) => ({ name: role, role, password: randomBytes(9).toString("base64url") }));
    for (const user of created) {
        store.add(user.name, user.role, hashPassword(user.password));
        new AuditLog(db).append({
            user: "demo",
            action: "user.add",
            target: `user:${user.name}`,
            outcome: "ok",
            ip: "local",
            detail: { role: user.role, demo: true },
        });
    }
    return created;
}
