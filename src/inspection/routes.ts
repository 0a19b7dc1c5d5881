/**
 * The inspection worklist and its actions: `GET /api/v1/inspections` (open or closed, by lane, plate,
 * assignee; newest first, paged with `before`), `GET /api/v1/inspections/{id}`, and
 * `POST /api/v1/inspections/{id}/actions` (assign, finding, seal, clear, detain, refuse). Roles and the
 * audit entry are in src/api/permissions.ts; CSRF is checked for every write by src/api/auth.ts. A
 * clearance of a four-eyes case (RED channel, watch list, RPM alarm) is a request until a supervisor other
 * than the requester clears it too (202, then 200), as a passage's release is.
 */
import type { FastifyInstance } from "fastify";
import { sessionOf } from "../api/auth.ts";
import { NOTE, REASON_CODE } from "../api/context.ts";
import { GateError } from "../core/errors.ts";
import { reasonProblem } from "../lane/reasonCodes.ts";
import type { CaseAction, StepKind } from "./caseModel.ts";
import type { InspectionCases } from "./cases.ts";

const CASE_ID = "^INS-[0-9A-HJKMNP-TV-Z]{26}$";
const PLATE_SEARCH = /^[A-Z0-9\u00C0-\u024F\u4E00-\u9FFF]{2,16}$/;

interface ListQuery {
    status?: "open" | "closed";
    lane?: string;
    plate?: string;
    assignee?: string;
    before?: string;
    limit: number;
}

interface ActionBody {
    action: "assign" | "finding" | "seal" | "clear" | "detain" | "refuse";
    assignee?: string;
    step?: StepKind;
    text?: string;
    images?: string[];
    seals?: string[];
    reasonCode?: string;
}

function badRequest(field: string, problem: string): GateError {
    return new GateError("API_BAD_REQUEST", `${field} ${problem}`);
}

/** The body as a case action, or a 400 saying what is missing. */
function actionOf(body: ActionBody): CaseAction {
    const need = <T>(value: T | undefined, field: string): T => {
        if (value === undefined) throw badRequest(`body/${field}`, `is required for ${body.action}`);
        return value;
    };
    switch (body.action) {
        case "assign":
            return { action: "assign", assignee: need(body.assignee, "assignee") };
        case "finding":
            return {
                action: "finding",
                text: need(body.text, "text"),
                ...(body.step !== undefined && { step: body.step }),
                ...(body.images !== undefined && { images: body.images }),
            };
        case "seal":
            return { action: "seal", seals: need(body.seals, "seals") };
        case "clear": {
            const reasonCode = need(body.reasonCode, "reasonCode");
            const problem = reasonProblem(reasonCode, ["release"]);
            if (problem) throw badRequest("body/reasonCode", problem);
            return { action: "clear", reasonCode };
        }
        case "detain":
        case "refuse": {
            const reasonCode = need(body.reasonCode, "reasonCode");
            const problem = reasonProblem(reasonCode, [body.action]);
            if (problem) throw badRequest("body/reasonCode", problem);
            return { action: body.action, reasonCode };
        }
    }
}

export function registerInspectionRoutes(app: FastifyInstance, cases: InspectionCases): void {
    app.get<{ Querystring: ListQuery }>(
        "/api/v1/inspections",
        {
            schema: {
                querystring: {
                    type: "object",
                    additionalProperties: false,
                    properties: {
                        status: { enum: ["open", "closed"] },
                        lane: { type: "string", pattern: "^[A-Za-z0-9_-]{1,32}$" },
                        plate: { type: "string", maxLength: 32 },
                        assignee: { type: "string", maxLength: 64 },
                        before: { type: "string", format: "date-time" },
                        limit: { type: "integer", minimum: 1, maximum: 500, default: 50 },
                    },
                },
            },
        },
        async (request) => {
            const q = request.query;
            const plate = q.plate?.toUpperCase().replace(/[\s.\-·_/]/g, "");
            if (plate !== undefined && !PLATE_SEARCH.test(plate))
                throw badRequest("querystring/plate", "must be 2–16 letters or digits (separators are ignored)");
            const rows = cases.list({
                limit: q.limit,
                ...(q.status !== undefined && { status: q.status }),
                ...(q.lane !== undefined && { laneId: q.lane }),
                ...(plate !== undefined && { plate }),
                ...(q.assignee !== undefined && { assignee: q.assignee }),
                ...(q.before !== undefined && { before: new Date(q.before).toISOString() }),
            });
            // The next page: cases opened before the last one here.
            const last = rows.length === q.limit ? rows.at(-1)?.openedAt : undefined;
            return { inspections: rows, ...(last !== undefined && { nextBefore: last }) };
        },
    );

    app.get<{ Params: { id: string } }>(
        "/api/v1/inspections/:id",
        {
            schema: {
                params: { type: "object", required: ["id"], properties: { id: { type: "string", pattern: CASE_ID } } },
            },
        },
        async (request) => {
            request.auditTarget = `inspection:${request.params.id}`;
            const found = cases.get(request.params.id);
            if (!found) throw new GateError("NOT_FOUND", `no inspection case ${request.params.id}`);
            return { inspection: found };
        },
    );

    app.post<{ Params: { id: string }; Body: ActionBody }>(
        "/api/v1/inspections/:id/actions",
        {
            schema: {
                params: { type: "object", required: ["id"], properties: { id: { type: "string", pattern: CASE_ID } } },
                body: {
                    type: "object",
                    additionalProperties: false,
                    required: ["action"],
                    properties: {
                        action: { enum: ["assign", "finding", "seal", "clear", "detain", "refuse"] },
                        assignee: { type: "string", minLength: 1, maxLength: 64, freeText: "line" },
                        step: { enum: ["xray", "radiation", "physical"] },
                        text: NOTE,
                        images: {
                            type: "array",
                            maxItems: 20,
                            items: { type: "string", pattern: "^sha256:[0-9a-f]{64}$" },
                        },
                        seals: {
                            type: "array",
                            minItems: 1,
                            maxItems: 20,
                            items: { type: "string", minLength: 1, maxLength: 40, freeText: "line" },
                        },
                        reasonCode: REASON_CODE,
                    },
                },
            },
        },
        async (request, reply) => {
            const { id } = request.params;
            request.auditTarget = `inspection:${id}`;
            const { user } = sessionOf(request);
            const action = actionOf(request.body);
            const after = await cases.act(id, action, { name: user.name, role: user.role });
            const awaitingApproval = action.action === "clear" && after.status === "open";
            return reply
                .status(awaitingApproval ? 202 : 200)
                .send({ status: awaitingApproval ? "awaitingApproval" : "applied", inspection: after });
        },
    );
}
