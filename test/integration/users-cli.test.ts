import { join } from "node:path";
import { PassThrough, Readable, Writable } from "node:stream";
import { afterAll, describe, expect, it } from "vitest";
import { main } from "../../src/cli.ts";
import { verifyPassword } from "../../src/config/passwords.ts";
import { AuditLog } from "../../src/store/auditLog.ts";
import { openDatabase } from "../../src/store/db.ts";
import { SessionStore, UserStore } from "../../src/store/users.ts";
import { createDemoUsers } from "../../src/usersCommand.ts";
import { runCommand } from "../helpers/child.ts";
import { captureStream } from "../helpers/io.ts";
import { tempDir } from "../helpers/tmp.ts";

const dir = tempDir();
afterAll(() => dir.cleanup());
const db = join(dir.path, "users.db");

/** Runs the CLI in-process with `input` as a piped (non-TTY) stdin. */
async function run(args: string[], input = "") {
    const stdout = captureStream();
    const stderr = captureStream();
    const code = await main(args, { stdout: stdout.stream, stderr: stderr.stream, stdin: Readable.from([input]) });
    return { code, stdout: stdout.text(), stderr: stderr.text() };
}

const withDb = <T>(work: (store: UserStore) => T): T => {
    const handle = openDatabase(db);
    try {
        return work(new UserStore(handle));
    } finally {
        handle.close();
    }
};

describe("gate-edge users", () => {
    it("adds a user with the password from stdin, hashed with scrypt, and audits it", async () => {
        const result = await run(["users", "add", "alice", "--role", "officer", "--db", db], "correct-horse-1\n");
        expect(result).toMatchObject({ code: 0, stdout: "user alice added with role officer\n" });
        withDb((store) => {
            expect(store.get("alice")).toMatchObject({ name: "alice", role: "officer", disabled: false });
            const hash = store.passwordHash("alice")!;
            expect(hash).toMatch(/^scrypt\$/);
            expect(verifyPassword("correct-horse-1", hash)).toBe(true);
        });
        const handle = openDatabase(db);
        expect(new AuditLog(handle).list(0, 10)).toContainEqual(
            expect.objectContaining({ action: "user.add", target: "user:alice", detail: { role: "officer" } }),
        );
        handle.close();
    });

    it.each([
        [["users", "add", "bob", "--role", "king"], "long-enough-pw", /unknown role "king"/],
        [["users", "add", "bob", "--role", "officer"], "short", /too weak: at least 10 characters/],
        [["users", "add", "bob", "--role", "officer"], "", /too weak/],
        [["users", "add", "alice", "--role", "officer"], "another-password", /user alice already exists/],
        [["users", "add", "Bob Smith", "--role", "officer"], "long-enough-pw", /user name "Bob Smith" must be/],
        [["users", "passwd", "nobody"], "long-enough-pw", /no user nobody/],
        [["users", "disable", "nobody"], "", /no user nobody/],
    ])("%j exits 2 naming the problem", async (args, input, message) => {
        const result = await run([...args, "--db", db], `${input}\n`);
        expect(result.code).toBe(2);
        expect(result.stderr).toMatch(message);
    });

    it("lists, changes a password (ending sessions) and disables users", async () => {
        const handle = openDatabase(db);
        new SessionStore(handle).create({ name: "alice", role: "officer" }, 60_000, "127.0.0.1");
        handle.close();
        expect((await run(["users", "passwd", "alice", "--db", db], "a-new-password\n")).code).toBe(0);
        withDb((store) => expect(verifyPassword("a-new-password", store.passwordHash("alice")!)).toBe(true));
        const check = openDatabase(db);
        expect(new SessionStore(check).active()).toBe(0);
        check.close();
        expect((await run(["users", "disable", "alice", "--db", db])).stdout).toBe("user alice disabled\n");
        const list = await run(["users", "list", "--db", db]);
        expect(list.stdout).toMatch(/^alice\tofficer\tdisabled\tsince /);
        expect(list.stdout).not.toMatch(/scrypt/);
    });

    it("prompts twice without echo on a terminal and refuses two different passwords", async () => {
        const tty = (typed: string[]) => {
            const input = Object.assign(new PassThrough(), { isTTY: true, setRawMode: () => undefined });
            // Each prompt reads one line; the typing arrives after the prompt is shown.
            let next = 0;
            const prompt = new Writable({
                write(chunk, _encoding, callback) {
                    if (String(chunk).includes("assword") && next < typed.length) {
                        const line = typed[next++]!;
                        setImmediate(() => input.write(line));
                    }
                    callback();
                },
            });
            return { input, prompt };
        };
        const same = tty(["tty-password-1\r", "tty-password-1\r"]);
        const stdout = captureStream();
        const code = await main(["users", "add", "carol", "--role", "supervisor", "--db", db], {
            stdout: stdout.stream,
            stderr: same.prompt,
            stdin: same.input,
        });
        expect(code).toBe(0);
        // Nothing typed is echoed anywhere.
        expect(stdout.text()).not.toContain("tty-password-1");
        withDb((store) => expect(verifyPassword("tty-password-1", store.passwordHash("carol")!)).toBe(true));
        const differ = tty(["tty-password-1\r", "tty-password-2\r"]);
        const err: string[] = [];
        const errSink = new Writable({
            write(chunk, encoding, callback) {
                err.push(String(chunk));
                differ.prompt.write(chunk, encoding as BufferEncoding, callback);
            },
        });
        const refused = await main(["users", "add", "dave", "--role", "officer", "--db", db], {
            stdout: captureStream().stream,
            stderr: errSink,
            stdin: differ.input,
        });
        expect(refused).toBe(2);
        expect(err.join("")).toContain("the two passwords differ");
    });

    it("needs a configuration or a database, and runs as the installed binary", async () => {
        const missing = await run(["users", "list", "--config", join(dir.path, "nope.yaml")]);
        expect(missing.code).toBe(2);
        expect(missing.stderr).toMatch(/nope\.yaml/);
        const result = await runCommand(
            process.execPath,
            ["bin/gate-edge.js", "users", "add", "erin", "--role", "auditor", "--db", db],
            { input: "binary-password-1\n" },
        );
        expect(result.stderr).toBe("");
        expect(result.status).toBe(0);
        withDb((store) => expect(store.get("erin")?.role).toBe("auditor"));
    });

    it("creates the demo users once, one per role, with random passwords", () => {
        const handle = openDatabase(join(dir.path, "demo.db"));
        const users = createDemoUsers(handle);
        expect(users.map((user) => user.name)).toEqual(["officer", "supervisor", "technician", "auditor", "admin"]);
        for (const user of users) {
            expect(user.password.length).toBeGreaterThanOrEqual(10);
            expect(verifyPassword(user.password, new UserStore(handle).passwordHash(user.name)!)).toBe(true);
        }
        expect(new Set(users.map((user) => user.password)).size).toBe(5);
        expect(createDemoUsers(handle)).toEqual([]);
        handle.close();
    });
});
