/**
 * The inspection case's state machine (src/inspection/caseModel.ts): opening, device results, officers'
 * findings, four-eyes clearance, detention; and the exit check's verdict, over random interleavings too.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { GateError } from "../../src/core/errors.ts";
import {
    applyCaseEvent,
    type CaseAction,
    type CaseActor,
    type CaseEvent,
    type CaseTrigger,
    caseIdOf,
    checkAction,
    exitVerdict,
    type InspectionCase,
    MAX_CASE_PHOTOS,
    missingSteps,
} from "../../src/inspection/caseModel.ts";

const PASSAGE = "01JAAAAAAAAAAAAAAAAAAAAAAA";
const officer: CaseActor = { name: "lan", role: "officer" };
const otherOfficer: CaseActor = { name: "minh", role: "officer" };
const supervisor: CaseActor = { name: "hoa", role: "supervisor" };

/** A tiny event log: each appended event gets the next seq, folded as the case table folds it. */
class Log {
    seq = 0;
    cases = new Map<string, InspectionCase>();
    push(type: string, data: CaseEvent["data"]): InspectionCase | undefined {
        this.seq += 1;
        const event: CaseEvent = {
            id: `E${this.seq}`,
            seq: this.seq,
            type,
            occurredAt: new Date(this.seq * 1000).toISOString(),
            data,
        };
        const caseId = String(data.caseId);
        const next = applyCaseEvent(this.cases.get(caseId), event);
        if (next) this.cases.set(caseId, next);
        return next;
    }
    open(passageId: string, triggers: CaseTrigger[], plates: string[], fourEyes: boolean): InspectionCase {
        const opened = this.push("inspection.opened", {
            caseId: caseIdOf(passageId),
            passageId,
            laneId: "lane-1",
            triggers,
            plates,
            containers: [],
            declarations: [],
            fourEyes,
        });
        if (!opened) throw new Error("not opened");
        return opened;
    }
    /** The action as the API takes it: checked, then its event appended; a refused one throws. */
    act(caseId: string, action: CaseAction, actor: CaseActor): InspectionCase {
        const current = this.cases.get(caseId);
        if (!current) throw new Error(`no case ${caseId}`);
        const draft = checkAction(current, action, actor);
        return this.push(draft.type, draft.data) ?? current;
    }
    xray(caseId: string, result: "clear" | "suspicious" | "not-analysed"): InspectionCase | undefined {
        return this.push("inspection.result", { caseId, kind: "xray", result, readingEventId: `R${this.seq}` });
    }
}

function codeOf(fn: () => unknown): string | undefined {
    try {
        fn();
    } catch (err) {
        if (err instanceof GateError) return err.code;
        throw err;
    }
    return undefined;
}

describe("inspection case", () => {
    it("a RED truck's case asks for the X-ray; a suspicious scan adds the physical examination", () => {
        const log = new Log();
        const c = log.open(PASSAGE, ["CHANNEL_RED"], ["29C12345"], true);
        expect(c).toMatchObject({ status: "open", required: ["xray"], done: [], caseId: `INS-${PASSAGE}` });
        const scanned = log.xray(c.caseId, "suspicious");
        expect(scanned?.required).toEqual(["xray", "physical"]);
        expect(scanned?.done).toEqual(["xray"]);
        expect(scanned && missingSteps(scanned)).toEqual(["physical"]);
    });

    it("an RPM alarm's case asks for X-ray and the radiation secondary check; a tampered seal for the examination", () => {
        const log = new Log();
        expect(log.open(PASSAGE, ["RPM_ALARM"], [], true).required).toEqual(["xray", "radiation"]);
        expect(log.open("01JBBBBBBBBBBBBBBBBBBBBBBB", ["SEAL_TAMPERED"], [], false).required).toEqual(["physical"]);
    });

    it("an X-ray not analysed does not do the step", () => {
        const log = new Log();
        const c = log.open(PASSAGE, ["RANDOM_SELECTION"], [], false);
        expect(log.xray(c.caseId, "not-analysed")?.done).toEqual([]);
    });

    it("cannot be cleared while a required step is not done (409 INSPECTION_STEPS_MISSING)", () => {
        const log = new Log();
        const c = log.open(PASSAGE, ["CHANNEL_RED"], [], false);
        expect(codeOf(() => log.act(c.caseId, { action: "clear", reasonCode: "INSPECTED_OK" }, officer))).toBe(
            "INSPECTION_STEPS_MISSING",
        );
        log.xray(c.caseId, "suspicious");
        expect(codeOf(() => log.act(c.caseId, { action: "clear", reasonCode: "INSPECTED_OK" }, officer))).toBe(
            "INSPECTION_STEPS_MISSING",
        );
        log.act(c.caseId, { action: "finding", step: "physical", text: "cargo as declared" }, officer);
        expect(log.act(c.caseId, { action: "clear", reasonCode: "INSPECTED_OK" }, officer).status).toBe("cleared");
    });

    it("a four-eyes clearance is a request until a supervisor other than the requester clears it", () => {
        const log = new Log();
        const c = log.open(PASSAGE, ["CHANNEL_RED"], [], true);
        log.xray(c.caseId, "clear");
        const requested = log.act(c.caseId, { action: "clear", reasonCode: "XRAY_CLEAR" }, supervisor);
        expect(requested.status).toBe("open");
        expect(requested.releaseRequest?.by).toBe("hoa");
        expect(codeOf(() => log.act(c.caseId, { action: "clear", reasonCode: "XRAY_CLEAR" }, supervisor))).toBe(
            "FOUR_EYES",
        );
        expect(codeOf(() => log.act(c.caseId, { action: "clear", reasonCode: "XRAY_CLEAR" }, otherOfficer))).toBe(
            "FOUR_EYES",
        );
        const cleared = log.act(
            c.caseId,
            { action: "clear", reasonCode: "XRAY_CLEAR" },
            { name: "tuan", role: "supervisor" },
        );
        expect(cleared.status).toBe("cleared");
        expect(cleared.closed).toMatchObject({ outcome: "cleared", by: "tuan", requestedBy: "hoa" });
    });

    it("detained with a reason code at any time; a closed case takes no more actions (409 INSPECTION_CASE_CLOSED)", () => {
        const log = new Log();
        const c = log.open(PASSAGE, ["WATCH_LIST"], [], true);
        expect(log.act(c.caseId, { action: "detain", reasonCode: "CONTRABAND_FOUND" }, officer).status).toBe(
            "detained",
        );
        expect(codeOf(() => log.act(c.caseId, { action: "assign", assignee: "lan" }, officer))).toBe(
            "INSPECTION_CASE_CLOSED",
        );
    });

    it("keeps assignee, findings and seals re-applied as entries", () => {
        const log = new Log();
        const c = log.open(PASSAGE, ["SEAL_TAMPERED"], [], false);
        log.act(c.caseId, { action: "assign", assignee: "lan" }, supervisor);
        log.act(c.caseId, { action: "finding", step: "physical", text: "seal cut; cargo as declared" }, officer);
        const after = log.act(c.caseId, { action: "seal", seals: ["VN1234567"] }, officer);
        expect(after.assignee).toBe("lan");
        expect(after.done).toEqual(["physical"]);
        expect(after.entries.map((e) => e.kind)).toEqual(["assigned", "finding", "seal"]);
        expect(after.entries[2]?.seals).toEqual(["VN1234567"]);
    });

    it("keeps each uploaded photo once, outside the entries, up to MAX_CASE_PHOTOS (409 INSPECTION_PHOTO_LIMIT)", () => {
        const log = new Log();
        const c = log.open(PASSAGE, ["SEAL_TAMPERED"], [], false);
        const ref = (n: number) => `sha256:${n.toString(16).padStart(64, "0")}`;
        const photo = (n: number) => ({ action: "photo" as const, ref: ref(n), contentType: "image/jpeg", bytes: 10 });
        log.act(c.caseId, photo(1), officer);
        const again = log.act(c.caseId, photo(1), otherOfficer);
        expect(again.photos).toEqual([ref(1)]);
        expect(again.entries).toEqual([]);
        for (let n = 2; n <= MAX_CASE_PHOTOS; n++) log.act(c.caseId, photo(n), officer);
        expect(log.cases.get(c.caseId)?.photos).toHaveLength(MAX_CASE_PHOTOS);
        expect(codeOf(() => log.act(c.caseId, photo(MAX_CASE_PHOTOS + 1), officer))).toBe("INSPECTION_PHOTO_LIMIT");
        // One it has already is no new photo.
        expect(codeOf(() => log.act(c.caseId, photo(2), officer))).toBeUndefined();
        const found = log.act(c.caseId, { action: "finding", text: "seal cut", images: [ref(1), ref(2)] }, officer);
        expect(found.entries.at(-1)?.images).toEqual([ref(1), ref(2)]);
        log.act(c.caseId, { action: "refuse", reasonCode: "GOODS_UNDECLARED" }, officer);
        expect(codeOf(() => log.act(c.caseId, photo(99), officer))).toBe("INSPECTION_CASE_CLOSED");
    });

    it("opening again adds what it newly names and keeps what was done", () => {
        const log = new Log();
        const c = log.open(PASSAGE, ["CHANNEL_RED"], ["29C12345"], false);
        log.xray(c.caseId, "clear");
        const again = log.open(PASSAGE, ["RPM_ALARM"], ["29R00001"], true);
        expect(again).toMatchObject({
            triggers: ["CHANNEL_RED", "RPM_ALARM"],
            plates: ["29C12345", "29R00001"],
            required: ["xray", "radiation"],
            done: ["xray"],
            fourEyes: true,
        });
    });

    it("the exit refuses a truck whose case is open, detained or refused, and releases one whose cases are cleared", () => {
        const log = new Log();
        const c = log.open(PASSAGE, ["RANDOM_SELECTION"], ["29C12345"], false);
        const truck = { plates: ["29C12345"], containers: [] };
        expect(exitVerdict([...log.cases.values()], truck).verdict).toBe("refused");
        expect(exitVerdict([...log.cases.values()], { plates: ["51D99999"], containers: [] }).verdict).toBe("none");
        log.xray(c.caseId, "clear");
        log.act(c.caseId, { action: "clear", reasonCode: "XRAY_CLEAR" }, officer);
        expect(exitVerdict([...log.cases.values()], truck).verdict).toBe("released");
        const second = log.open("01JCCCCCCCCCCCCCCCCCCCCCCC", ["WATCH_LIST"], ["29C12345"], true);
        log.act(second.caseId, { action: "refuse", reasonCode: "GOODS_UNDECLARED" }, officer);
        expect(exitVerdict([...log.cases.values()], truck).verdict).toBe("refused");
    });
});

/** One step of a random interleaving: any actor tries any action on any truck's case, or a truck tries the exit. */
const step = fc.oneof(
    fc.record({
        kind: fc.constant("open" as const),
        truck: fc.nat(2),
        trigger: fc.constantFrom<CaseTrigger>(
            "CHANNEL_RED",
            "RPM_ALARM",
            "SEAL_TAMPERED",
            "RANDOM_SELECTION",
            "WATCH_LIST",
        ),
        fourEyes: fc.boolean(),
    }),
    fc.record({
        kind: fc.constant("xray" as const),
        truck: fc.nat(2),
        result: fc.constantFrom("clear" as const, "suspicious" as const, "not-analysed" as const),
    }),
    fc.record({
        kind: fc.constant("finding" as const),
        truck: fc.nat(2),
        step: fc.constantFrom("xray" as const, "radiation" as const, "physical" as const),
        actor: fc.nat(3),
    }),
    fc.record({ kind: fc.constant("clear" as const), truck: fc.nat(2), actor: fc.nat(3) }),
    fc.record({ kind: fc.constant("detain" as const), truck: fc.nat(2), actor: fc.nat(3) }),
    fc.record({ kind: fc.constant("exit" as const), truck: fc.nat(2) }),
);
const ACTORS: CaseActor[] = [officer, otherOfficer, supervisor, { name: "tuan", role: "supervisor" }];
const PLATES = ["29C11111", "29C22222", "29C33333"];

describe("inspection case (property)", () => {
    it("no truck with a case that is not cleared ever gets an exit release, whatever the interleaving", () => {
        fc.assert(
            fc.property(fc.array(step, { maxLength: 60 }), (steps) => {
                const log = new Log();
                // Each truck's passages, a new one per opening after the last case closed (a truck may come again).
                const passages = PLATES.map(() => [] as string[]);
                let n = 0;
                const caseOf = (truck: number) => {
                    const id = passages[truck]?.at(-1);
                    return id === undefined ? undefined : log.cases.get(caseIdOf(id));
                };
                for (const s of steps) {
                    const plate = PLATES[s.truck] as string;
                    const current = caseOf(s.truck);
                    if (s.kind === "open") {
                        const passageId =
                            current?.status === "open" ? current.passageId : `01J${String(n++).padStart(23, "0")}`;
                        if (current?.status !== "open") passages[s.truck]?.push(passageId);
                        log.open(passageId, [s.trigger], [plate], s.fourEyes);
                        continue;
                    }
                    if (s.kind === "exit") {
                        const all = [...log.cases.values()];
                        const { verdict } = exitVerdict(all, { plates: [plate], containers: [] });
                        const mine = all.filter((c) => c.plates.includes(plate));
                        if (verdict === "released") expect(mine.every((c) => c.status === "cleared")).toBe(true);
                        if (mine.some((c) => c.status !== "cleared")) expect(verdict).toBe("refused");
                        continue;
                    }
                    if (!current) continue;
                    if (s.kind === "xray") {
                        log.xray(current.caseId, s.result);
                        continue;
                    }
                    const actor = ACTORS[s.actor] as CaseActor;
                    const action: CaseAction =
                        s.kind === "finding"
                            ? { action: "finding", step: s.step, text: "examined" }
                            : s.kind === "clear"
                              ? { action: "clear", reasonCode: "INSPECTED_OK" }
                              : { action: "detain", reasonCode: "CONTRABAND_FOUND" };
                    const before = current;
                    const code = codeOf(() => log.act(current.caseId, action, actor));
                    const after = log.cases.get(current.caseId) as InspectionCase;
                    if (code !== undefined) expect(after).toBe(before);
                    if (after.status === "cleared" && before.status === "open") {
                        // Cleared only with every required step done, and by two people, one a supervisor, where four eyes apply.
                        expect(missingSteps(before)).toEqual([]);
                        if (before.fourEyes) {
                            expect(after.closed?.requestedBy).toBeDefined();
                            expect(after.closed?.requestedBy).not.toBe(actor.name);
                            expect(actor.role).toBe("supervisor");
                        }
                    }
                }
            }),
            { numRuns: 500, seed: 18 },
        );
    });
});
