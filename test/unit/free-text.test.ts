import { Ajv } from "ajv";
import { describe, expect, it } from "vitest";
import { FREE_TEXT_KEYWORD, freeTextProblem } from "../../src/api/freeText.ts";

describe("freeTextProblem", () => {
    it.each([
        ["abcd\u202Eefg", "line", "contains U+202E RIGHT-TO-LEFT OVERRIDE at position 5"],
        ["seal ok\u0000", "lines", "contains U+0000 NULL at position 8"],
        ["\u2066x", "lines", "contains U+2066 LEFT-TO-RIGHT ISOLATE at position 1"],
        ["a\u202Ab", "lines", "contains U+202A LEFT-TO-RIGHT EMBEDDING at position 2"],
        ["x\u2069", "lines", "contains U+2069 POP DIRECTIONAL ISOLATE at position 2"],
        ["del\u007F", "lines", "contains U+007F DELETE at position 4"],
        ["c1\u0085", "lines", "contains U+0085 CONTROL CHARACTER at position 3"],
        ["esc\u001B[2J", "lines", "contains U+001B ESCAPE at position 4"],
        // Positions count characters, not UTF-16 units: the emoji is one.
        ["🚛\u202E", "line", "contains U+202E RIGHT-TO-LEFT OVERRIDE at position 2"],
        ["two\nlines", "line", "contains U+000A LINE FEED at position 4"],
        ["tab\there", "line", "contains U+0009 CHARACTER TABULATION at position 4"],
        ["lone\rreturn", "lines", "contains U+000D CARRIAGE RETURN at position 5"],
    ] as const)("%j as %s: %s", (text, kind, problem) => {
        expect(freeTextProblem(text, kind)).toBe(problem);
    });

    it.each([
        ["Seal checked by hand, all fine", "line"],
        ["Niêm phong đã kiểm tra — xe 15C-123.45", "line"],
        ["first line\nsecond\tcolumn\r\nthird", "lines"],
        // Direction marks have no scope and cannot reverse a run: allowed (see src/api/freeText.ts).
        ["\u200Fשלום 123\u200E", "line"],
        ["\u061Cمرحبا", "line"],
        ["", "line"],
    ] as const)("accepts %j as %s", (text, kind) => {
        expect(freeTextProblem(text, kind)).toBeUndefined();
    });

    it("is an ajv keyword whose error names the character", () => {
        const ajv = new Ajv({ allErrors: true, keywords: [FREE_TEXT_KEYWORD] });
        const validate = ajv.compile({
            type: "object",
            properties: { note: { type: "string", freeText: "lines" } },
        });
        expect(validate({ note: "fine\nnote" })).toBe(true);
        expect(validate({ note: "evil\u202Enote" })).toBe(false);
        expect(validate.errors).toEqual([
            expect.objectContaining({
                instancePath: "/note",
                message: "contains U+202E RIGHT-TO-LEFT OVERRIDE at position 5",
            }),
        ]);
        expect(validate({ note: "fine" })).toBe(true);
    });
});
