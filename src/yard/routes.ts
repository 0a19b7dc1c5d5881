/**
 * The yard's API (issue 19): `GET /api/v1/visits` (state, lane group, plate, arrival range; newest first,
 * paged with `before`), `GET /api/v1/visits/{id}`, `GET /api/v1/yard[?limit]` (the Yard page's YardView: the
 * first `limit` waiting trucks of each group, 100 unless asked, and how many wait),
 * `POST /api/v1/yard/reorder` (an officer moves a waiting truck, with a reason code; audited),
 * `POST /api/v1/visits/{id}/cancel` (an officer ends a visit still in the yard, with a reason code; audited) and
 * `POST /api/v1/prearrivals` (a supervisor imports pre-arrival records; all or nothing, a 400 lists every
 * error by key path). Roles and audit entries are in src/api/permissions.ts; CSRF is checked for every write.
 */
import type { FastifyInstance } from "fastify";
import { sessionOf } from "../api/auth.ts";
import { GateError, isGateError } from "../core/errors.ts";
import { validatePreArrivals } from "./preArrival.ts";
import type { VisitState } from "./types.ts";
import {
    CANCEL_REASONS,
    type CancelReason,
    REORDER_REASONS,
    type ReorderReason,
    YARD_VIEW_LIMIT,
    YARD_VIEW_MAX,
    type Yard,
} from "./yard.ts";

const VISIT_ID = "^V-[0-9A-HJKMNP-TV-Z]{26}$";
const PLATE_SEARCH = /^[A-Z0-9\u00C0-\u024F\u4E00-\u9FFF]{2,16}$/;
const STATES: readonly VisitState[] = ["QUEUED", "CALLED", "IN_LANE", "INSPECTION", "RELEASED", "CLOSED", "CANCELLED"];

interface ListQuery {
    state?: VisitState;
    laneGroup?: "import" | "export" | "empty";
    plate?: string;
    from?: string;
    to?: string;
    before?: string;
    limit: number;
}

function badRequest(field: string, problem: string): GateError {
    return new GateError("API_BAD_REQUEST", `${field} ${problem}`);
}

export function registerYardRoutes(app: FastifyInstance, yard: Yard): void {
    app.get<{ Querystring: ListQuery }>(
        "/api/v1/visits",
        {
            schema: {
                querystring: {
                    type: "object",
                    additionalProperties: false,
                    properties: {
                        state: { enum: STATES },
                        laneGroup: { enum: ["import", "export", "empty"] },
                        plate: { type: "string", maxLength: 32 },
                        from: { type: "string", format: "date-time" },
                        to: { type: "string", format: "date-time" },
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
            const ms = (iso: string | undefined) => (iso === undefined ? undefined : Date.parse(iso));
            const [from, to, before] = [ms(q.from), ms(q.to), ms(q.before)];
            if (from !== undefined && to !== undefined && from >= to)
                throw badRequest("querystring/to", "must be after from");
            const visits = yard.list({
                limit: q.limit,
                ...(q.state !== undefined && { state: q.state }),
                ...(q.laneGroup !== undefined && { laneGroup: q.laneGroup }),
                ...(plate !== undefined && { plate }),
                ...(from !== undefined && { from }),
                ...(to !== undefined && { to }),
                ...(before !== undefined && { before }),
            });
            // The next page: visits that arrived before the last one here.
            const last = visits.length === q.limit ? visits.at(-1)?.stages.arrived : undefined;
            return { visits, ...(last !== undefined && { nextBefore: last }) };
        },
    );

    app.get<{ Params: { id: string } }>(
        "/api/v1/visits/:id",
        {
            schema: {
                params: { type: "object", required: ["id"], properties: { id: { type: "string", pattern: VISIT_ID } } },
            },
        },
        async (request) => {
            request.auditTarget = `visit:${request.params.id}`;
            const visit = yard.get(request.params.id);
            if (!visit) throw new GateError("NOT_FOUND", `no visit ${request.params.id}`);
            return { visit };
        },
    );

    app.get<{ Querystring: { limit: number } }>(
        "/api/v1/yard",
        {
            schema: {
                querystring: {
                    type: "object",
                    additionalProperties: false,
                    properties: {
                        limit: { type: "integer", minimum: 1, maximum: YARD_VIEW_MAX, default: YARD_VIEW_LIMIT },
                    },
                },
            },
        },
        async (request) => yard.view(request.query.limit),
    );

    app.post<{ Body: { visitId: string; position: number; reasonCode: ReorderReason } }>(
        "/api/v1/yard/reorder",
        {
            schema: {
                body: {
                    type: "object",
                    additionalProperties: false,
                    required: ["visitId", "position", "reasonCode"],
                    properties: {
                        visitId: { type: "string", pattern: VISIT_ID },
                        position: { type: "integer", minimum: 1, maximum: 100_000 },
                        reasonCode: { enum: REORDER_REASONS },
                    },
                },
            },
        },
        async (request) => {
            const { visitId, position, reasonCode } = request.body;
            request.auditTarget = `visit:${visitId}`;
            const { user } = sessionOf(request);
            const visit = await yard.reorder(visitId, position, reasonCode, { name: user.name, role: user.role });
            return { visit };
        },
    );

    app.post<{ Params: { id: string }; Body: { reasonCode: CancelReason } }>(
        "/api/v1/visits/:id/cancel",
        {
            schema: {
                params: { type: "object", required: ["id"], properties: { id: { type: "string", pattern: VISIT_ID } } },
                body: {
                    type: "object",
                    additionalProperties: false,
                    required: ["reasonCode"],
                    properties: { reasonCode: { enum: CANCEL_REASONS } },
                },
            },
        },
        async (request) => {
            request.auditTarget = `visit:${request.params.id}`;
            const { user } = sessionOf(request);
            const visit = await yard.cancel(request.params.id, request.body.reasonCode, {
                name: user.name,
                role: user.role,
            });
            return { visit };
        },
    );

    app.post<{ Body: unknown }>("/api/v1/prearrivals", { bodyLimit: 4 * 1024 * 1024 }, async (request, reply) => {
        // The audit entry names the records, never the drivers' personal data the body carries.
        const body = request.body as { preArrivals?: unknown } | undefined; // checked by validatePreArrivals below
        const listed = Array.isArray(body) ? body : Array.isArray(body?.preArrivals) ? body.preArrivals : [];
        request.auditDetail = {
            preArrivalIds: listed.map((item: { preArrivalId?: unknown } | null) =>
                typeof item?.preArrivalId === "string" ? item.preArrivalId.slice(0, 64) : null,
            ),
        };
        try {
            const records = validatePreArrivals(request.body, "body");
            return yard.importPreArrivals(records);
        } catch (err) {
            if (!isGateError(err, "PREARRIVAL_INVALID")) throw err;
            return reply.status(400).send({ error: err.code, message: err.message, details: err.details });
        }
    });
}
