import type { FastifyInstance } from "fastify";
import { hashPasswordAsync } from "../../config/passwords.ts";
import { GateError } from "../../core/errors.ts";
import { MAX_PASSWORD_LENGTH, ROLES, USER_NAME_PATTERN, userProblem } from "../../store/users.ts";
import { sessionOf } from "../auth.ts";
import type { ApiContext } from "../context.ts";

const PASSWORD = { type: "string", minLength: 1, maxLength: MAX_PASSWORD_LENGTH } as const;

/** Admins: the dashboard's users. No password hash ever leaves the server. */
export function registerUserRoutes(app: FastifyInstance, ctx: ApiContext): void {
    const { users } = ctx;
    const problem = (input: { name?: string; role?: string; password?: string }): void => {
        const why = userProblem(input);
        if (why) throw new GateError("API_BAD_REQUEST", why);
    };

    app.get("/api/v1/users", async () => ({ users: users.list() }));

    app.post<{ Body: { name: string; role: string; password: string } }>(
        "/api/v1/users",
        {
            schema: {
                body: {
                    type: "object",
                    additionalProperties: false,
                    required: ["name", "role", "password"],
                    properties: {
                        name: { type: "string", pattern: USER_NAME_PATTERN.source },
                        role: { enum: [...ROLES] },
                        password: PASSWORD,
                    },
                },
            },
        },
        async (request, reply) => {
            const { name, role, password } = request.body;
            request.auditTarget = `user:${name}`;
            problem({ name, role, password });
            if (users.get(name)) throw new GateError("USER_EXISTS", name);
            const user = users.add(name, role, await hashPasswordAsync(password));
            return reply.status(201).send({ user });
        },
    );

    app.patch<{ Params: { name: string }; Body: { role?: string; disabled?: boolean; password?: string } }>(
        "/api/v1/users/:name",
        {
            schema: {
                params: {
                    type: "object",
                    required: ["name"],
                    properties: { name: { type: "string", pattern: USER_NAME_PATTERN.source } },
                },
                body: {
                    type: "object",
                    additionalProperties: false,
                    minProperties: 1,
                    properties: { role: { enum: [...ROLES] }, disabled: { type: "boolean" }, password: PASSWORD },
                },
            },
        },
        async (request) => {
            const { name } = request.params;
            const { role, disabled, password } = request.body;
            request.auditTarget = `user:${name}`;
            problem({ ...(password !== undefined && { password }) });
            const self = sessionOf(request).user.name === name;
            // The gate must keep someone who can manage users: an admin cannot lock themselves out.
            if (self && (disabled === true || (role !== undefined && role !== "admin")))
                throw new GateError(
                    "API_BAD_REQUEST",
                    "an admin cannot disable themselves or drop their own admin role",
                );
            const user = users.update(name, {
                ...(role !== undefined && { role }),
                ...(disabled !== undefined && { disabled }),
                ...(password !== undefined && { passwordHash: await hashPasswordAsync(password) }),
            });
            request.auditDetail = {
                ...(role !== undefined && { role }),
                ...(disabled !== undefined && { disabled }),
                ...(password !== undefined && { passwordChanged: true }),
            };
            return { user };
        },
    );
}
