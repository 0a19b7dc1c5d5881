import { createHash, randomBytes } from "node:crypto";
import { GateError } from "../core/errors.ts";
import type { Db } from "./db.ts";

export const ROLES = ["officer", "supervisor", "technician", "auditor", "admin"] as const;
export type Role = (typeof ROLES)[number];

export const MIN_PASSWORD_LENGTH = 10;
/** scrypt hashes whatever it gets; a cap keeps a megabyte "password" from costing a login's worth of CPU. */
export const MAX_PASSWORD_LENGTH = 256;
export const USER_NAME_PATTERN = /^[a-z][a-z0-9._-]{1,31}$/;

export function isRole(value: string): value is Role {
    return (ROLES as readonly string[]).includes(value);
}

/** Why a name, role or password cannot be used, or undefined when it can. */
export function userProblem(input: { name?: string; role?: string; password?: string }): string | undefined {
    if (input.name !== undefined && !USER_NAME_PATTERN.test(input.name))
        return `user name "${input.name}" must be 2–32 characters a-z 0-9 . _ -, starting with a letter`;
    if (input.role !== undefined && !isRole(input.role))
        return `unknown role "${input.role}" (roles: ${ROLES.join(", ")})`;
    if (input.password !== undefined && input.password.length < MIN_PASSWORD_LENGTH)
        return `the password is too weak: at least ${MIN_PASSWORD_LENGTH} characters`;
    if (input.password !== undefined && input.password.length > MAX_PASSWORD_LENGTH)
        return `the password is longer than ${MAX_PASSWORD_LENGTH} characters`;
    return undefined;
}

/** A user as the API shows it: never the hash. */
export interface User {
    name: string;
    role: Role;
    disabled: boolean;
    createdAt: string;
}

interface UserRaw {
    name: string;
    role: Role;
    password_hash: string;
    disabled: number;
    created_at: string;
    updated_at: string;
}

const toUser = (row: UserRaw): User => ({
    name: row.name,
    role: row.role,
    disabled: row.disabled !== 0,
    createdAt: row.created_at,
});

/** Dashboard users. Passwords arrive already hashed (src/config/passwords.ts): this store never sees one. */
export class UserStore {
    constructor(
        private readonly db: Db,
        private readonly now: () => number = Date.now,
    ) {}

    /** @throws GateError USER_INVALID for a bad name or role, USER_EXISTS for a taken name. */
    add(name: string, role: string, passwordHash: string): User {
        const problem = userProblem({ name, role });
        if (problem) throw new GateError("USER_INVALID", problem);
        const at = new Date(this.now()).toISOString();
        try {
            this.db
                .prepare(
                    "INSERT INTO users (name, role, password_hash, disabled, created_at, updated_at) VALUES (?, ?, ?, 0, ?, ?)",
                )
                .run(name, role, passwordHash, at, at);
        } catch (err) {
            if ((err as { code?: string }).code === "SQLITE_CONSTRAINT_PRIMARYKEY")
                throw new GateError("USER_EXISTS", name);
            throw err;
        }
        return { name, role: role as Role, disabled: false, createdAt: at };
    }

    get(name: string): User | undefined {
        const row = this.db.prepare("SELECT * FROM users WHERE name = ?").get(name) as UserRaw | undefined;
        return row && toUser(row);
    }

    /** The stored hash, for the password check only. */
    passwordHash(name: string): string | undefined {
        const row = this.db.prepare("SELECT password_hash FROM users WHERE name = ?").get(name) as
            | { password_hash: string }
            | undefined;
        return row?.password_hash;
    }

    list(): User[] {
        return (this.db.prepare("SELECT * FROM users ORDER BY name").all() as UserRaw[]).map(toUser);
    }

    count(): number {
        return (this.db.prepare("SELECT count(*) AS n FROM users").get() as { n: number }).n;
    }

    /**
     * Changes a user; a new role, password or disabling ends every session of the user, so the change
     * takes effect at once. @throws GateError NOT_FOUND, USER_INVALID.
     */
    update(name: string, change: { role?: string; passwordHash?: string; disabled?: boolean }): User {
        if (change.role !== undefined) {
            const problem = userProblem({ role: change.role });
            if (problem) throw new GateError("USER_INVALID", problem);
        }
        const at = new Date(this.now()).toISOString();
        const user = this.db.transaction(() => {
            const existing = this.get(name);
            if (!existing) throw new GateError("NOT_FOUND", `no user ${name}`);
            this.db
                .prepare(
                    `UPDATE users SET role = coalesce(@role, role), password_hash = coalesce(@hash, password_hash),
                     disabled = coalesce(@disabled, disabled), updated_at = @at WHERE name = @name`,
                )
                .run({
                    name,
                    at,
                    role: change.role ?? null,
                    hash: change.passwordHash ?? null,
                    disabled: change.disabled === undefined ? null : change.disabled ? 1 : 0,
                });
            this.db.prepare("DELETE FROM sessions WHERE user_name = ?").run(name);
            return this.get(name) as User;
        })();
        return user;
    }
}

/** A live session of a user, as the API sees it. */
export interface Session {
    user: Pick<User, "name" | "role">;
    csrfToken: string;
    createdAt: string;
    expiresAt: string;
}

/** SHA-256 of the cookie token: what the database keeps, so a copy of it cannot be used to log in. */
export function tokenHash(token: string): string {
    return createHash("sha256").update(token).digest("hex");
}

/** Sessions of dashboard users; the cookie carries a random token, the table only its hash. */
export class SessionStore {
    constructor(
        private readonly db: Db,
        private readonly now: () => number = Date.now,
    ) {}

    /** A new session: returns the token for the cookie (shown nowhere else) and the session. */
    create(user: Pick<User, "name" | "role">, ttlMs: number, ip: string): { token: string; session: Session } {
        const token = randomBytes(32).toString("base64url");
        const csrfToken = randomBytes(32).toString("base64url");
        const created = this.now();
        const session: Session = {
            user: { name: user.name, role: user.role },
            csrfToken,
            createdAt: new Date(created).toISOString(),
            expiresAt: new Date(created + ttlMs).toISOString(),
        };
        this.db
            .prepare(
                "INSERT INTO sessions (token_hash, user_name, csrf_token, created_at, expires_at, ip) VALUES (?, ?, ?, ?, ?, ?)",
            )
            .run(tokenHash(token), user.name, csrfToken, session.createdAt, session.expiresAt, ip);
        return { token, session };
    }

    /**
     * The session of a cookie token: undefined when unknown, expired or its user is disabled. The role
     * is read from the user, so a role change applies to a session at once.
     */
    get(token: string): { session?: Session; expired: boolean } {
        const row = this.db
            .prepare(
                `SELECT s.csrf_token, s.created_at, s.expires_at, u.name, u.role, u.disabled
                 FROM sessions s JOIN users u ON u.name = s.user_name WHERE s.token_hash = ?`,
            )
            .get(tokenHash(token)) as
            | {
                  csrf_token: string;
                  created_at: string;
                  expires_at: string;
                  name: string;
                  role: Role;
                  disabled: number;
              }
            | undefined;
        if (row?.disabled !== 0) return { expired: false };
        if (Date.parse(row.expires_at) <= this.now()) return { expired: true };
        return {
            expired: false,
            session: {
                user: { name: row.name, role: row.role },
                csrfToken: row.csrf_token,
                createdAt: row.created_at,
                expiresAt: row.expires_at,
            },
        };
    }

    delete(token: string): void {
        this.db.prepare("DELETE FROM sessions WHERE token_hash = ?").run(tokenHash(token));
    }

    deleteForUser(name: string): void {
        this.db.prepare("DELETE FROM sessions WHERE user_name = ?").run(name);
    }

    /** Removes expired sessions; returns how many. */
    prune(): number {
        return this.db.prepare("DELETE FROM sessions WHERE expires_at <= ?").run(new Date(this.now()).toISOString())
            .changes;
    }

    active(): number {
        return (
            this.db
                .prepare("SELECT count(*) AS n FROM sessions WHERE expires_at > ?")
                .get(new Date(this.now()).toISOString()) as { n: number }
        ).n;
    }
}
