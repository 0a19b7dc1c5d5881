import type { FastifyInstance } from "fastify";
import { LANGUAGES } from "../i18n/format.ts";
import type { Db } from "../store/db.ts";
import { sessionOf } from "./auth.ts";

const OFFICER_LANGUAGES = LANGUAGES.officer;

/** Where a user's language is kept: the `meta` table beside the users, one row per user who chose. */
const metaKey = (user: string): string => `user.language.${user}`;

/**
 * Each dashboard user's language, kept on the gate with the user so it follows them to any control-room
 * screen; the gate's `ui.defaultLanguage` until they choose.
 */
export class UserLanguages {
    constructor(
        private readonly db: Db,
        readonly defaultLanguage: string,
    ) {}

    of(user: string): string {
        const row = this.db.prepare("SELECT value FROM meta WHERE key = ?").get(metaKey(user)) as
            | { value: string }
            | undefined;
        return row !== undefined && OFFICER_LANGUAGES.includes(row.value) ? row.value : this.defaultLanguage;
    }

    set(user: string, language: string): void {
        this.db
            .prepare(
                "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            )
            .run(metaKey(user), language);
    }
}

/** `GET|PUT /api/v1/me/language`: the logged-in user's own language (a write: CSRF and audit as every other). */
export function registerLanguageRoutes(app: FastifyInstance, languages: UserLanguages): void {
    app.get("/api/v1/me/language", async (request, reply) => {
        const { user } = sessionOf(request);
        return reply
            .header("cache-control", "no-store")
            .send({ language: languages.of(user.name), defaultLanguage: languages.defaultLanguage });
    });

    app.put<{ Body: { language: string } }>(
        "/api/v1/me/language",
        {
            schema: {
                body: {
                    type: "object",
                    additionalProperties: false,
                    required: ["language"],
                    properties: { language: { enum: [...OFFICER_LANGUAGES] } },
                },
            },
        },
        async (request) => {
            const { user } = sessionOf(request);
            request.auditTarget = `user:${user.name}`;
            request.auditDetail = { language: request.body.language };
            languages.set(user.name, request.body.language);
            return { language: request.body.language };
        },
    );
}
