import type { FastifyInstance, FastifyRequest } from "fastify";
import { ErrorCodes, GateError } from "../../core/errors.ts";
import type { TooLateBecause } from "../../lane/correlator.ts";
import { type OfficerActionKind, REASON_CODES, reasonProblem } from "../../lane/reasonCodes.ts";
import type { DecisionRecord, PassageFacts } from "../../lane/types.ts";
import type { Approval } from "../../store/approvals.ts";
import type { PassageRow } from "../../store/passages.ts";
import { sessionOf } from "../auth.ts";
import { type ApiContext, NOTE, REASON_CODE, ULID_PATTERN } from "../context.ts";
import { passageDetail, rowSummary } from "../views.ts";

const PLATE_SEARCH = /^[A-Z0-9\u00C0-\u024F\u4E00-\u9FFF]{2,16}$/;
const CONTAINER = /^[A-Z]{4}\d{7}$/;
const FOUR_EYES_PENDING = "FOUR_EYES_PENDING";

const passageParams = {
    type: "object",
    required: ["id"],
    properties: { id: { type: "string", pattern: ULID_PATTERN } },
} as const;

const approvalParams = {
    type: "object",
    required: ["passageId"],
    properties: { passageId: { type: "string", pattern: ULID_PATTERN } },
} as const;

const reasonBody = {
    type: "object",
    additionalProperties: false,
    required: ["reasonCode"],
    properties: { reasonCode: REASON_CODE, note: NOTE },
} as const;

interface SearchQuery {
    plate?: string;
    declaration?: string;
    container?: string;
    from?: string;
    to?: string;
    before?: string;
    decision?: string;
    lane?: string;
    limit: number;
}

/** What an officer's action answers: applied, waiting for a supervisor, or too late (409). */
type ActionAnswer =
    | { status: "applied" | "awaitingApproval" }
    | {
          error: "ACTION_TOO_LATE";
          message: string;
          applied: false;
          tooLate: true;
          because: TooLateBecause;
          /** The passage record carries the flag (a follow-up) and an alert names the truck. */
          flagged: true;
      };

function badRequest(field: string, problem: string): GateError {
    return new GateError("API_BAD_REQUEST", `${field} ${problem}`);
}

/** Passages: search, detail, images, reason codes, officer actions and four-eyes approvals. */
export function registerPassageRoutes(app: FastifyInstance, ctx: ApiContext): void {
    const { source, approvals } = ctx;
    const awaiting = (passageId: string): boolean => approvals.pending(passageId) !== undefined;

    app.get<{ Querystring: SearchQuery }>(
        "/api/v1/passages",
        {
            schema: {
                querystring: {
                    type: "object",
                    additionalProperties: false,
                    properties: {
                        plate: { type: "string", maxLength: 32 },
                        declaration: { type: "string", pattern: "^\\d{12}$" },
                        container: { type: "string", maxLength: 20 },
                        from: { type: "string", format: "date-time" },
                        to: { type: "string", format: "date-time" },
                        before: { type: "string", format: "date-time" },
                        decision: { enum: ["RELEASE", "HOLD", "INSPECT", "REJECT"] },
                        lane: { type: "string", pattern: "^[A-Za-z0-9_-]{1,32}$" },
                        limit: { type: "integer", minimum: 1, maximum: 500, default: 50 },
                    },
                },
            },
        },
        async (request) => {
            const q = request.query;
            // Officers type plates as they see them: "15c-123.45" finds the stored "15C12345".
            const plate = q.plate?.toUpperCase().replace(/[\s.\-·_/]/g, "");
            if (plate !== undefined && !PLATE_SEARCH.test(plate))
                throw badRequest("querystring/plate", "must be 2–16 letters or digits (separators are ignored)");
            const container = q.container?.toUpperCase().replace(/\s/g, "");
            if (container !== undefined && !CONTAINER.test(container))
                throw badRequest("querystring/container", "must be an ISO 6346 number: 4 letters and 7 digits");
            const to = q.to ?? q.before;
            const clearance = source.clearance();
            const rows = source.passages({
                limit: q.limit,
                ...(q.lane !== undefined && { laneId: q.lane }),
                ...(plate !== undefined && { plate }),
                ...(q.declaration !== undefined && { declaration: q.declaration }),
                ...(container !== undefined && { container }),
                ...(q.decision !== undefined && { decision: q.decision }),
                ...(q.from !== undefined && { from: new Date(q.from).toISOString() }),
                ...(to !== undefined && { before: new Date(to).toISOString() }),
            });
            return { passages: rows.map((row) => rowSummary(row, clearance, awaiting(row.passageId))) };
        },
    );

    app.get<{ Params: { id: string } }>(
        "/api/v1/passages/:id",
        { schema: { params: passageParams } },
        async (request) => {
            request.auditTarget = `passage:${request.params.id}`;
            const row = source.passage(request.params.id);
            if (!row) throw new GateError("NOT_FOUND", `no passage ${request.params.id}`);
            return { passage: passageDetail(row, source.clearance(), awaiting(row.passageId)) };
        },
    );

    app.get<{ Params: { ref: string } }>(
        "/api/v1/images/:ref",
        {
            schema: {
                params: {
                    type: "object",
                    required: ["ref"],
                    properties: { ref: { type: "string", pattern: "^sha256:[0-9a-f]{64}$" } },
                },
            },
        },
        async (request, reply) => {
            request.auditTarget = `image:${request.params.ref}`;
            const image = source.image(request.params.ref);
            if (!image) throw new GateError("NOT_FOUND", `no image ${request.params.ref}`);
            // Content-addressed: the bytes behind a reference never change. Private: plates are personal data.
            return reply
                .header("content-type", image.contentType)
                .header("cache-control", "private, max-age=31536000, immutable")
                .header("x-content-type-options", "nosniff")
                .send(image.bytes);
        },
    );

    app.get("/api/v1/reason-codes", async () => ({ codes: REASON_CODES }));

    /** The facts of the passage needed for a request: plates, channel, watch list. */
    const approvalOf = (row: PassageRow, officer: string, reasonCode: string, note?: string): Approval => {
        const record = row.record as { facts?: PassageFacts; decision?: DecisionRecord };
        const facts = record.facts;
        const plates = [
            ...new Set([facts?.frontPlate?.text, facts?.rearPlate?.text].filter((t) => t !== undefined)),
        ] as string[];
        const declaration = facts?.declarations[0];
        const channel = declaration !== undefined ? source.clearance()?.declaration(declaration)?.channel : undefined;
        return {
            passageId: row.passageId,
            laneId: row.laneId,
            requestedBy: officer,
            requestedAt: new Date(source.now()).toISOString(),
            reasonCode,
            ...(note !== undefined && { note }),
            plates: plates.length > 0 ? plates : row.plates,
            ...(channel !== undefined && { channel }),
            watchListed: (record.decision?.results ?? []).some((r) => r.rule === "watch-list" && !r.pass),
        };
    };

    /** Ends an open request: table, alert (an alert.cleared event, so central sees it end) and screens. */
    const closeRequest = async (
        approval: Approval,
        resolution: "approved" | "rejected" | "withdrawn" | "expired",
        by: string,
    ): Promise<void> => {
        if (!approvals.resolve(approval.passageId, resolution, by)) return;
        ctx.hub.publish({ event: "approval", data: { passageId: approval.passageId, resolved: true } });
        ctx.board.touch(approval.laneId);
        // The answer may already be on its way: a failed store is logged (and alarms), not thrown into it.
        await source
            .appendEvent({
                type: "alert.cleared",
                laneId: approval.laneId,
                data: {
                    code: FOUR_EYES_PENDING,
                    passageId: approval.passageId,
                    message: `release request of passage ${approval.passageId} ${resolution} by ${by}`,
                },
            })
            .catch((err: unknown) =>
                ctx.log.error({ err, passageId: approval.passageId }, "four-eyes alert not cleared"),
            );
    };

    /**
     * Runs an action through the lane engine; a four-eyes release becomes an open request (202). A hold or
     * divert that came after the barrier open was commanded is not applied (409 ACTION_TOO_LATE, with the
     * reason): the truck is flagged on its record and an alert names it for the next point that can stop it.
     */
    const act = async (
        request: FastifyRequest,
        passageId: string,
        action: OfficerActionKind,
        reasonCode: string,
        note: string | undefined,
    ): Promise<{ code: 200 | 202 | 409; body: ActionAnswer }> => {
        const { user } = sessionOf(request);
        const row = source.passage(passageId);
        if (!row) throw new GateError("NOT_FOUND", `no passage ${passageId}`);
        const result = await source.officerAction({
            passageId,
            action,
            reasonCode,
            ...(note !== undefined && { note }),
            officerId: user.name,
            role: user.role === "supervisor" ? "supervisor" : "officer",
        });
        if (result.tooLate) {
            ctx.board.touch(row.laneId);
            const { status, message } = ErrorCodes.ACTION_TOO_LATE;
            return {
                code: status,
                body: {
                    error: "ACTION_TOO_LATE",
                    message: `${message}: ${result.tooLate.reason}`,
                    applied: false,
                    tooLate: true,
                    because: result.tooLate.because,
                    flagged: true,
                },
            };
        }
        if (result.awaitingApproval) {
            const approval = approvalOf(row, user.name, reasonCode, note);
            approvals.request(approval);
            ctx.hub.publish({ event: "approval", data: approval });
            ctx.board.touch(row.laneId);
            return { code: 202, body: { status: "awaitingApproval" } };
        }
        ctx.board.touch(row.laneId);
        return { code: 200, body: { status: "applied" } };
    };

    const checkFourEyes = (pending: Approval, name: string, verb: string): void => {
        if (pending.requestedBy === name)
            throw new GateError("FOUR_EYES", `${name} requested this release and may not ${verb} it`);
    };

    app.post<{
        Params: { id: string };
        Body: { action: OfficerActionKind; reasonCode: string; note?: string };
    }>(
        "/api/v1/passages/:id/actions",
        {
            schema: {
                params: passageParams,
                body: {
                    type: "object",
                    additionalProperties: false,
                    required: ["action", "reasonCode"],
                    properties: {
                        action: { enum: ["confirm", "hold", "release", "divert"] },
                        reasonCode: REASON_CODE,
                        note: NOTE,
                    },
                },
            },
        },
        async (request, reply) => {
            const { id } = request.params;
            const { action, reasonCode, note } = request.body;
            request.auditTarget = `passage:${id}`;
            const problem = reasonProblem(reasonCode, [action]);
            if (problem) throw badRequest("body/reasonCode", problem);
            const { user } = sessionOf(request);
            const pending = approvals.pending(id);
            if (action === "release" && pending) {
                checkFourEyes(pending, user.name, "approve");
                if (user.role !== "supervisor")
                    throw new GateError("FOUR_EYES", `the release of passage ${id} waits for a supervisor's approval`);
                const answer = await act(request, id, "release", reasonCode, note);
                if (answer.code === 200) await closeRequest(pending, "approved", user.name);
                return reply.status(answer.code).send(answer.body);
            }
            const answer = await act(request, id, action, reasonCode, note);
            // A hold or divert while a release waits withdraws the request (the lane engine forgets it too).
            if (pending && (action === "hold" || action === "divert"))
                await closeRequest(pending, "withdrawn", user.name);
            return reply.status(answer.code).send(answer.body);
        },
    );

    app.get("/api/v1/approvals", async () => {
        const open: Approval[] = [];
        for (const approval of approvals.listPending()) {
            const current = source.laneSnapshot(approval.laneId)?.passage?.passageId;
            // The truck left (or the gate restarted and the lane forgot it): nothing is waiting any more.
            if (current !== approval.passageId) await closeRequest(approval, "expired", "gate");
            else open.push(approval);
        }
        return { approvals: open };
    });

    type ApprovalRequest = FastifyRequest<{
        Params: { passageId: string };
        Body: { reasonCode: string; note?: string };
    }>;

    /**
     * What approve and reject share: the pending request (NOT_FOUND without one), the four-eyes check,
     * and the reason code, which must fit one of `actions`.
     */
    const decideOn = (request: ApprovalRequest, verb: "approve" | "reject", actions: OfficerActionKind[]) => {
        const { passageId } = request.params;
        const { reasonCode, note } = request.body;
        request.auditTarget = `passage:${passageId}`;
        const { user } = sessionOf(request);
        const pending = approvals.pending(passageId);
        if (!pending) throw new GateError("NOT_FOUND", `no release of passage ${passageId} waits for approval`);
        checkFourEyes(pending, user.name, verb);
        const problem = reasonProblem(reasonCode, actions);
        if (problem) throw badRequest("body/reasonCode", problem);
        return { passageId, reasonCode, note, user, pending };
    };

    app.post<{ Params: { passageId: string }; Body: { reasonCode: string; note?: string } }>(
        "/api/v1/approvals/:passageId/approve",
        { schema: { params: approvalParams, body: reasonBody } },
        async (request, reply) => {
            const { passageId, reasonCode, note, user, pending } = decideOn(request, "approve", ["release"]);
            const answer = await act(request, passageId, "release", reasonCode, note);
            if (answer.code === 200) await closeRequest(pending, "approved", user.name);
            return reply.status(answer.code).send(answer.body);
        },
    );

    app.post<{ Params: { passageId: string }; Body: { reasonCode: string; note?: string } }>(
        "/api/v1/approvals/:passageId/reject",
        { schema: { params: approvalParams, body: reasonBody } },
        async (request, reply) => {
            const { passageId, reasonCode, note, user, pending } = decideOn(request, "reject", ["hold", "divert"]);
            // The passage stays where it is: a held truck stays held, one in inspection stays there.
            const state = source.laneSnapshot(pending.laneId)?.state;
            const answer = await act(request, passageId, state === "INSPECTION" ? "divert" : "hold", reasonCode, note);
            await closeRequest(pending, "rejected", user.name);
            return reply.status(answer.code).send(answer.body);
        },
    );
}
