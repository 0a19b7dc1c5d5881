/**
 * `POST /api/v1/exits/{id}/open`: a supervisor opens an exit point's barrier by hand, with a release reason
 * code and a note (src/inspection/exitBarrier.ts openExitByHand). Role and audit entry are in
 * src/api/permissions.ts; CSRF is checked for every write by src/api/auth.ts.
 */
import type { FastifyInstance } from "fastify";
import { sessionOf } from "../api/auth.ts";
import { NOTE, REASON_CODE } from "../api/context.ts";
import type { ExitPointConfig } from "../config/types.ts";
import { GateError } from "../core/errors.ts";
import { reasonProblem } from "../lane/reasonCodes.ts";
import { type ExitBarrierDeps, openExitByHand } from "./exitBarrier.ts";

interface OpenBody {
    reasonCode: string;
    note?: string;
    plate?: string;
}

export function registerExitRoutes(
    app: FastifyInstance,
    exits: () => readonly ExitPointConfig[],
    actuate: ExitBarrierDeps["actuate"],
): void {
    app.post<{ Params: { id: string }; Body: OpenBody }>(
        "/api/v1/exits/:id/open",
        {
            schema: {
                params: {
                    type: "object",
                    required: ["id"],
                    properties: { id: { type: "string", pattern: "^[A-Za-z0-9_-]{1,64}$" } },
                },
                body: {
                    type: "object",
                    additionalProperties: false,
                    required: ["reasonCode"],
                    properties: {
                        reasonCode: REASON_CODE,
                        note: NOTE,
                        plate: { type: "string", minLength: 1, maxLength: 16, freeText: "line" },
                    },
                },
            },
        },
        async (request) => {
            const { id } = request.params;
            const { reasonCode, note, plate } = request.body;
            request.auditTarget = `exit:${id}`;
            const problem = reasonProblem(reasonCode, ["release"]);
            if (problem) throw new GateError("API_BAD_REQUEST", `body/reasonCode ${problem}`);
            const { user } = sessionOf(request);
            const outcome = await openExitByHand(
                {
                    ...{ exitId: id, supervisor: user.name, reasonCode },
                    ...(note !== undefined && { note }),
                    ...(plate !== undefined && { plate }),
                },
                exits(),
                actuate,
            );
            return { exitId: id, ...outcome };
        },
    );
}
