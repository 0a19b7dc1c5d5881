/**
 * The inspection worklist and its actions: `GET /api/v1/inspections` (open or closed, by lane, plate,
 * assignee; newest first, paged with `before`), `GET /api/v1/inspections/{id}`, and
 * `POST /api/v1/inspections/{id}/actions` (assign, finding, seal, clear, detain, refuse), and
 * `POST /api/v1/inspections/{id}/photos` (one photo, the raw JPEG or PNG as the body, for a finding to name).
 * Roles and the audit entry are in src/api/permissions.ts; CSRF is checked for every write by
 * src/api/auth.ts. A clearance of a four-eyes case (RED channel, watch list, RPM alarm) is a request until a
 * supervisor other than the requester clears it too (202, then 200), as a passage's release is.
 */
import type { FastifyInstance, FastifyRequest } from "fastify";
import { sessionOf } from "../api/auth.ts";
import { NOTE, REASON_CODE } from "../api/context.ts";
import type { Clock } from "../core/clock.ts";
import { GateError } from "../core/errors.ts";
import { reasonProblem } from "../lane/reasonCodes.ts";
import type { ImageStore } from "../store/images.ts";
import { type CaseAction, type CaseActor, checkAction, type InspectionCase, type StepKind } from "./caseModel.ts";
import type { InspectionCases } from "./cases.ts";

const CASE_ID = "^INS-[0-9A-HJKMNP-TV-Z]{26}$";
const CASE_PARAMS = {
    type: "object",
    required: ["id"],
    properties: { id: { type: "string", pattern: CASE_ID } },
} as const;
/**
 * The largest photo: a tablet's camera JPEG is 2–5 MiB. Fastify refuses a body past it (413) from its
 * Content-Length, or while reading it, so an upload costs the gate at most this much memory.
 */
export const MAX_PHOTO_BYTES = 8 * 1024 * 1024;
/** What a photo may be, by its first bytes: the Content-Type alone is the sender's word. */
const PHOTO_MAGIC: ReadonlyMap<string, readonly number[]> = new Map([
    ["image/jpeg", [0xff, 0xd8, 0xff]],
    ["image/png", [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]],
]);
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

/** The media type a request declares, lower case and without its parameters. */
function declaredType(request: FastifyRequest): string {
    return (request.headers["content-type"] ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
}

/** The case as it stands, if a photo may be added to it: 404 unknown, 409 closed or full. */
function caseTakingPhotos(cases: InspectionCases, caseId: string, actor: CaseActor): InspectionCase {
    const found = cases.get(caseId);
    if (!found) throw new GateError("NOT_FOUND", `no inspection case ${caseId}`);
    // The checks the photo's own event will pass in cases.act, made before the bytes are read.
    checkAction(found, { action: "photo", ref: "", contentType: "", bytes: 0 }, actor);
    return found;
}

function actorOf(request: FastifyRequest): CaseActor {
    const { user } = sessionOf(request);
    return { name: user.name, role: user.role };
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

/** What the routes need beside the cases: the image store photos go to, and the gate's clock. */
export interface InspectionRouteDeps {
    images: ImageStore;
    clock: Clock;
}

export function registerInspectionRoutes(
    app: FastifyInstance,
    cases: InspectionCases,
    deps: InspectionRouteDeps,
): void {
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
                params: CASE_PARAMS,
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
                params: CASE_PARAMS,
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
            const action = actionOf(request.body);
            if (action.action === "finding")
                for (const [index, ref] of (action.images ?? []).entries())
                    if (!deps.images.has(ref))
                        throw badRequest(
                            `body/images/${index}`,
                            `${ref} is not a stored image (upload the photo first)`,
                        );
            const after = await cases.act(id, action, actorOf(request));
            const awaitingApproval = action.action === "clear" && after.status === "open";
            return reply
                .status(awaitingApproval ? 202 : 200)
                .send({ status: awaitingApproval ? "awaitingApproval" : "applied", inspection: after });
        },
    );

    registerPhotoRoute(app, cases, deps);
}

/**
 * `POST /api/v1/inspections/{id}/photos`: one photo for a case's finding, the raw image as the body. Its own
 * scope reads any body as bytes (the API's JSON parser stays with the other routes). The case and the
 * declared type are checked before the body is read, the bytes' magic after; the photo is stored as camera
 * images are (hashed) and its `inspection.photo` event ties it to the case. 201 {ref}; 200 {ref} when the
 * case has this photo already.
 */
function registerPhotoRoute(app: FastifyInstance, cases: InspectionCases, deps: InspectionRouteDeps): void {
    void app.register(async (scope) => {
        scope.removeAllContentTypeParsers();
        scope.addContentTypeParser("*", { parseAs: "buffer" }, (_request, body, done) => done(null, body));
        scope.post<{ Params: { id: string }; Body: Buffer | undefined }>(
            "/api/v1/inspections/:id/photos",
            {
                bodyLimit: MAX_PHOTO_BYTES,
                schema: { params: CASE_PARAMS },
                // The audit entry names the upload, never its bytes (the guard would list a Buffer's).
                onRequest: async (request) => {
                    request.auditTarget = `inspection:${request.params.id}`;
                    request.auditDetail = {
                        contentType: declaredType(request),
                        contentLength: Number(request.headers["content-length"] ?? Number.NaN) || null,
                    };
                },
                preParsing: async (request, _reply, payload) => {
                    caseTakingPhotos(cases, request.params.id, actorOf(request));
                    const declared = declaredType(request);
                    if (!PHOTO_MAGIC.has(declared))
                        throw new GateError("PHOTO_TYPE", `Content-Type is ${declared || "missing"}`);
                    return payload;
                },
            },
            async (request, reply) => {
                const { id } = request.params;
                const declared = declaredType(request);
                const bytes = request.body ?? Buffer.alloc(0);
                const magic = PHOTO_MAGIC.get(declared) ?? [];
                if (bytes.length <= magic.length || magic.some((byte, index) => bytes[index] !== byte))
                    throw new GateError(
                        "PHOTO_TYPE",
                        `the bytes are not ${declared === "image/png" ? "a PNG" : "a JPEG"}`,
                    );
                const actor = actorOf(request);
                const current = caseTakingPhotos(cases, id, actor);
                const ref = deps.images.put(bytes, declared, new Date(deps.clock.now()));
                request.auditDetail = { ref, contentType: declared, bytes: bytes.length };
                if (current.photos?.includes(ref)) return reply.status(200).send({ ref });
                await cases.act(id, { action: "photo", ref, contentType: declared, bytes: bytes.length }, actor);
                return reply.status(201).send({ ref });
            },
        );
    });
}
