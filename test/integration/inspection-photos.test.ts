/**
 * Photos of an inspection case's findings on a real gate (issue 18: "findings, photos, seal numbers
 * re-applied"): `POST /api/v1/inspections/{id}/photos` takes one JPEG or PNG (the bytes' magic checked, not
 * only the header), stores it in the image store (hashed) and ties it to the case (`inspection.photo`); a
 * finding names it and the case shows it. A body past 8 MiB is refused (413) before it is read, a case takes
 * at most 50 photos, a closed case none, and a finding may name only stored images.
 */
import { request as httpRequest } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Gate } from "../../src/gate.ts";
import { type InspectionCase, MAX_CASE_PHOTOS } from "../../src/inspection/caseModel.ts";
import { MAX_PHOTO_BYTES } from "../../src/inspection/routes.ts";
import { AuditLog } from "../../src/store/auditLog.ts";
import { type ApiSession, apiSession } from "../helpers/api.ts";
import { openRedCase, startInspectionGate } from "../helpers/inspection.ts";
import { tempDir } from "../helpers/tmp.ts";

const dir = tempDir();
let gate: Gate;
let officer: ApiSession;
let caseId = "";

/** A small JPEG-looking body (SOI, APP0, the marker bytes, EOI): what the gate checks is the magic. */
const jpeg = (n: number) => Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 16, n & 0xff, n >> 8, 0xff, 0xd9]);
const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52]);

beforeAll(async () => {
    gate = await startInspectionGate(dir.path);
    caseId = (await openRedCase(gate)).caseId;
    officer = apiSession(gate, "officer", "lan");
}, 60_000);

afterAll(async () => {
    await gate?.stop();
    dir.cleanup();
});

async function upload(
    body: Buffer,
    contentType: string,
    id = caseId,
    user = officer,
): Promise<{ status: number; body: { ref?: string; error?: string; message?: string } }> {
    const response = await user.fetch(`/api/v1/inspections/${id}/photos`, {
        method: "POST",
        body,
        headers: { "content-type": contentType },
    });
    return { status: response.status, body: (await response.json()) as { ref?: string; error?: string } };
}

async function act(body: object) {
    const response = await officer.fetch(`/api/v1/inspections/${caseId}/actions`, {
        method: "POST",
        body: JSON.stringify(body),
    });
    return {
        status: response.status,
        body: (await response.json()) as { error?: string; message?: string; inspection?: InspectionCase },
    };
}

/**
 * A raw upload that stops sending as soon as the gate answers: `declaredBytes` as its Content-Length (else
 * chunked), at most `maxBytes` written, each write waiting for the socket to drain. What was written when
 * the answer came shows whether the gate read the whole body first.
 */
function rawUpload(
    declaredBytes: number | undefined,
    maxBytes: number,
): Promise<{ status: number; body: { error?: string; message?: string }; written: number }> {
    const url = new URL(`/api/v1/inspections/${caseId}/photos`, gate.addresses.http);
    return new Promise((resolve, reject) => {
        let written = 0;
        let answered = false;
        const req = httpRequest(
            url,
            {
                method: "POST",
                headers: {
                    ...officer.headers,
                    "content-type": "image/jpeg",
                    ...(declaredBytes !== undefined && { "content-length": String(declaredBytes) }),
                },
            },
            (res) => {
                answered = true;
                const chunks: Buffer[] = [];
                res.on("data", (chunk: Buffer) => chunks.push(chunk));
                res.on("end", () => {
                    req.destroy();
                    resolve({
                        status: res.statusCode ?? 0,
                        body: JSON.parse(Buffer.concat(chunks).toString("utf8")) as { error?: string },
                        written,
                    });
                });
            },
        );
        // The gate may close the connection behind its answer while this side still writes.
        req.on("error", (err) => {
            if (!answered) reject(err);
        });
        const chunk = Buffer.alloc(64 * 1024, 0x20);
        jpeg(0).copy(chunk);
        const pump = (): void => {
            while (!answered && written < maxBytes) {
                written += chunk.length;
                if (!req.write(chunk)) {
                    req.once("drain", pump);
                    return;
                }
            }
            if (!answered && declaredBytes === undefined) req.end();
        };
        pump();
    });
}

describe("photos of an inspection case", () => {
    it("uploads a photo (201 {ref}), stores it hashed, and a finding naming it shows on the case", async () => {
        const photo = jpeg(1);
        const uploaded = await upload(photo, "image/jpeg");
        expect(uploaded.status).toBe(201);
        const { createHash } = await import("node:crypto");
        expect(uploaded.body.ref).toBe(`sha256:${createHash("sha256").update(photo).digest("hex")}`);
        const ref = uploaded.body.ref ?? "";
        const image = await officer.fetch(`/api/v1/images/${ref}`);
        expect(image.status).toBe(200);
        expect(image.headers.get("content-type")).toBe("image/jpeg");
        expect(Buffer.from(await image.arrayBuffer())).toEqual(photo);
        // The same photo again: the case has it already.
        expect(await upload(photo, "image/jpeg; charset=binary")).toEqual({ status: 200, body: { ref } });
        // A PNG is a photo too.
        expect((await upload(png, "image/png")).status).toBe(201);

        const found = await act({
            action: "finding",
            step: "physical",
            text: "seal cut, cargo as declared",
            images: [ref],
        });
        expect(found.status).toBe(200);
        const response = await officer.fetch(`/api/v1/inspections/${caseId}`);
        const { inspection } = (await response.json()) as { inspection: InspectionCase };
        expect(inspection.entries.find((entry) => entry.kind === "finding")).toMatchObject({
            images: [ref],
            by: "lan",
        });
        expect(inspection.photos).toHaveLength(2);
        expect(inspection.photos?.[0]).toBe(ref);
        // Each upload is an event of the chain (the second upload of the same photo is not), and audited.
        const events = gate.log.read(0, 100_000).filter((event) => event.type === "inspection.photo");
        expect(events.map((event) => event.data)).toEqual([
            expect.objectContaining({ caseId, ref, contentType: "image/jpeg", bytes: photo.length, by: "lan" }),
            expect.objectContaining({ caseId, contentType: "image/png", bytes: png.length }),
        ]);
        const audit = new AuditLog(gate.database).list(0, 100_000).filter((e) => e.action === "inspection.photo");
        expect(audit.map((entry) => entry.outcome)).toEqual(["ok", "ok", "ok"]);
        expect(audit[0]).toMatchObject({ user: "lan", target: `inspection:${caseId}`, detail: { ref } });
    });

    it("refuses what is not a JPEG or PNG by its bytes or its type (415 PHOTO_TYPE)", async () => {
        const text = Buffer.from("this is not a photo at all");
        const refused = [
            await upload(text, "image/jpeg"),
            await upload(png, "image/jpeg"),
            await upload(jpeg(2), "image/png"),
            await upload(jpeg(2), "image/gif"),
            await upload(jpeg(2), "application/octet-stream"),
            // A name every object has is no photo type either.
            await upload(jpeg(2), "constructor"),
        ];
        for (const answer of refused) expect(answer).toMatchObject({ status: 415, body: { error: "PHOTO_TYPE" } });
        expect(refused[0]?.body.message).toMatch(/not a JPEG/);
        expect(refused[3]?.body.message).toMatch(/image\/gif/);
        expect(gate.inspections.get(caseId)?.photos).toHaveLength(2);
    });

    it("refuses a body over 8 MiB with 413 PAYLOAD_TOO_LARGE before reading it", async () => {
        const photosBefore = gate.inspections.get(caseId)?.photos;
        // Declared too large: answered after the first 64 KiB, the rest never sent.
        const declared = await rawUpload(MAX_PHOTO_BYTES + 1, 64 * 1024);
        expect(declared.status).toBe(413);
        expect(declared.body).toMatchObject({ error: "PAYLOAD_TOO_LARGE" });
        expect(declared.written).toBe(64 * 1024);
        // Chunked, no length said: answered once the limit is passed, long before 64 MiB are written.
        const chunked = await rawUpload(undefined, 64 * 1024 * 1024);
        expect(chunked.status).toBe(413);
        expect(chunked.body).toMatchObject({ error: "PAYLOAD_TOO_LARGE" });
        expect(chunked.written).toBeGreaterThan(MAX_PHOTO_BYTES);
        expect(chunked.written).toBeLessThan(4 * MAX_PHOTO_BYTES);
        expect(gate.inspections.get(caseId)?.photos).toEqual(photosBefore);
    }, 60_000);

    it("refuses a finding naming an image the gate does not have (400 naming it)", async () => {
        const unknown = `sha256:${"ab".repeat(32)}`;
        const { ref } = (await upload(jpeg(3), "image/jpeg")).body;
        const answer = await act({ action: "finding", text: "two photos", images: [ref, unknown] });
        expect(answer.status).toBe(400);
        expect(answer.body.error).toBe("API_BAD_REQUEST");
        expect(answer.body.message).toContain(`body/images/1 ${unknown} is not a stored image`);
        expect(gate.inspections.get(caseId)?.entries.filter((entry) => entry.kind === "finding")).toHaveLength(1);
    });

    it("is for officers and supervisors, with the CSRF token; an unknown case is 404", async () => {
        const auditor = apiSession(gate, "auditor");
        expect((await upload(jpeg(4), "image/jpeg", caseId, auditor)).status).toBe(403);
        const noCsrf = await fetch(`${gate.addresses.http}/api/v1/inspections/${caseId}/photos`, {
            method: "POST",
            headers: { cookie: officer.cookie, "content-type": "image/jpeg" },
            body: jpeg(4),
        });
        expect(noCsrf.status).toBe(403);
        expect(((await noCsrf.json()) as { error: string }).error).toBe("CSRF");
        const supervisor = apiSession(gate, "supervisor", "hoa");
        expect((await upload(jpeg(4), "image/jpeg", caseId, supervisor)).status).toBe(201);
        const unknown = await upload(jpeg(5), "image/jpeg", `INS-${"0".repeat(26)}`);
        expect(unknown).toMatchObject({ status: 404, body: { error: "NOT_FOUND" } });
    });

    it(`takes at most ${MAX_CASE_PHOTOS} photos per case (409 INSPECTION_PHOTO_LIMIT), none once it is closed (409)`, async () => {
        const have = gate.inspections.get(caseId)?.photos?.length ?? 0;
        for (let n = have; n < MAX_CASE_PHOTOS; n++)
            expect((await upload(jpeg(100 + n), "image/jpeg")).status).toBe(201);
        expect(gate.inspections.get(caseId)?.photos).toHaveLength(MAX_CASE_PHOTOS);
        const over = await upload(jpeg(999), "image/jpeg");
        expect(over).toMatchObject({ status: 409, body: { error: "INSPECTION_PHOTO_LIMIT" } });
        expect(gate.inspections.get(caseId)?.photos).toHaveLength(MAX_CASE_PHOTOS);

        expect((await act({ action: "detain", reasonCode: "GOODS_UNDECLARED" })).status).toBe(200);
        const closed = await upload(jpeg(1), "image/jpeg");
        expect(closed).toMatchObject({ status: 409, body: { error: "INSPECTION_CASE_CLOSED" } });
    }, 60_000);
});
