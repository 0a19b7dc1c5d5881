import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
    classifyScanPayload,
    iso6346CheckDigit,
    likelyMisread,
    normalizePlate,
    parseContainerNumber,
    parseDeclarationNumber,
    plateMisreadKey,
} from "../../src/core/identifiers.ts";

describe("parseDeclarationNumber", () => {
    it.each([
        ["101234567820", "10", "10123456782", 0],
        ["301234567820", "30", "30123456782", 0],
        ["100001234540", "10", "10000123454", 0],
        ["101234567823", "10", "10123456782", 3],
    ])("accepts the domain.md vector %s", (text, typeCode, base, amendment) => {
        expect(parseDeclarationNumber(text)).toEqual({
            ok: true,
            number: text,
            base,
            typeCode,
            sequence: text.slice(2, 10),
            amendment,
        });
    });

    it("ignores surrounding whitespace", () => {
        expect(parseDeclarationNumber("  101234567820\r\n")).toMatchObject({ ok: true, number: "101234567820" });
    });

    it.each([
        ["101234567830", /check digit is 3, expected 2/],
        ["10123456782", /not 12 digits/],
        ["1012345678200", /not 12 digits/],
        ["10123456782O", /not 12 digits/],
        ["1012 3456 7820", /not 12 digits/],
        ["", /not 12 digits/],
        ["١٠١٢٣٤٥٦٧٨٢٠", /not 12 digits/],
    ])("rejects %j", (text, reason) => {
        const result = parseDeclarationNumber(text);
        expect(result.ok).toBe(false);
        if (!result.ok) expect(result.reason).toMatch(reason);
    });

    it("accepts every number built by the rule and rejects every other check digit", () => {
        const digits = (n: number) => fc.array(fc.integer({ min: 0, max: 9 }), { minLength: n, maxLength: n });
        fc.assert(
            fc.property(
                digits(2),
                digits(8),
                fc.integer({ min: 0, max: 9 }),
                fc.integer({ min: 0, max: 9 }),
                (type, seq, amendment, wrong) => {
                    const sequence = seq.join("");
                    const check = Number(sequence) % 7;
                    const good = `${type.join("")}${sequence}${check}${amendment}`;
                    expect(parseDeclarationNumber(good)).toMatchObject({
                        ok: true,
                        amendment,
                        base: good.slice(0, 11),
                    });
                    if (wrong !== check)
                        expect(parseDeclarationNumber(`${good.slice(0, 10)}${wrong}${amendment}`).ok).toBe(false);
                },
            ),
            { numRuns: 200 },
        );
    });
});

describe("ISO 6346 container numbers", () => {
    it.each([
        ["CSQU305438", 3],
        ["ZEPU003725", 5],
        ["MSKU123456", 5],
        ["CBHU123244", 5],
        ["csqu305438", 3],
    ])("check digit of %s is %i", (first10, digit) => {
        expect(iso6346CheckDigit(first10)).toBe(digit);
    });

    it.each(["", "CSQU30543", "CSQU3054383", "CSQU-30543", "ÇSQU305438"])(
        "check digit of malformed %j is undefined",
        (text) => {
            expect(iso6346CheckDigit(text)).toBeUndefined();
        },
    );

    it.each(["CSQU3054383", "ZEPU0037255", "MSKU1234565"])("%s is valid", (text) => {
        expect(parseContainerNumber(text)).toMatchObject({ ok: true, number: text, checkDigitOk: true });
    });

    it("CBHU1232443 is well formed with a wrong check digit (correct is 5), for the officer to review", () => {
        expect(parseContainerNumber("CBHU1232443")).toEqual({
            ok: true,
            number: "CBHU1232443",
            owner: "CBH",
            category: "U",
            serial: "123244",
            checkDigit: 3,
            expectedCheckDigit: 5,
            checkDigitOk: false,
        });
    });

    it("normalises case, spaces, '-' and '/' as painted or typed", () => {
        expect(parseContainerNumber(" csqu 305438-3 ")).toMatchObject({
            ok: true,
            number: "CSQU3054383",
            checkDigitOk: true,
        });
        expect(parseContainerNumber("CSQU/305438/3")).toMatchObject({ ok: true, number: "CSQU3054383" });
    });

    it("accepts the J and Z categories", () => {
        const j = `ABCJ123456${iso6346CheckDigit("ABCJ123456")}`;
        const z = `ABCZ123456${iso6346CheckDigit("ABCZ123456")}`;
        expect(parseContainerNumber(j)).toMatchObject({ ok: true, category: "J", checkDigitOk: true });
        expect(parseContainerNumber(z)).toMatchObject({ ok: true, category: "Z", checkDigitOk: true });
    });

    it.each([
        ["CSQX3054383", /category/],
        ["CSQU305438", /not 4 letters/],
        ["CSQU30543833", /not 4 letters/],
        ["CSQ03054383", /not 4 letters/],
        ["", /not 4 letters/],
    ])("rejects malformed %j", (text, reason) => {
        const result = parseContainerNumber(text);
        expect(result.ok).toBe(false);
        if (!result.ok) expect(result.reason).toMatch(reason);
    });

    it("a computed check digit always validates; letters never map to multiples of 11", () => {
        const letter = fc.constantFrom(..."ABCDEFGHIJKLMNOPQRSTUVWXYZ");
        fc.assert(
            fc.property(
                fc.array(letter, { minLength: 3, maxLength: 3 }),
                fc.constantFrom("U", "J", "Z"),
                fc.integer({ min: 0, max: 999_999 }),
                (owner, cat, serial) => {
                    const first10 = `${owner.join("")}${cat}${String(serial).padStart(6, "0")}`;
                    const digit = iso6346CheckDigit(first10);
                    expect(digit).toBeGreaterThanOrEqual(0);
                    expect(digit).toBeLessThanOrEqual(9);
                    expect(parseContainerNumber(`${first10}${digit}`)).toMatchObject({ ok: true, checkDigitOk: true });
                    expect(parseContainerNumber(`${first10}${((digit ?? 0) + 1) % 10}`)).toMatchObject({
                        ok: true,
                        checkDigitOk: false,
                    });
                },
            ),
            { numRuns: 200 },
        );
    });
});

describe("classifyScanPayload", () => {
    it.each([
        [
            "101234567820",
            { type: "declaration", number: "101234567820", base: "10123456782", typeCode: "10", amendment: 0 },
        ],
        [
            "511234567821",
            { type: "declaration", number: "511234567821", base: "51123456782", typeCode: "51", amendment: 1 },
        ],
        ["CSQU3054383", { type: "container", number: "CSQU3054383", checkDigitOk: true }],
        ["CBHU1232443", { type: "container", number: "CBHU1232443", checkDigitOk: false }],
        ["101234567830", { type: "other" }],
        ["https://cuakhauso.langson.gov.vn/qr/abc", { type: "other" }],
        ["", { type: "other" }],
    ])("%j", (payload, parsed) => {
        expect(classifyScanPayload(payload)).toEqual(parsed);
    });
});

describe("normalizePlate", () => {
    it.each([
        ["29C-123.45", "29C12345", "VN", true, false],
        ["51LD-123.45", "51LD12345", "VN", true, false],
        ["29A-1234", "29A1234", "VN", true, false],
        ["15R-123.45", "15R12345", "VN", true, true],
        ["15c 123 45", "15C12345", "VN", true, false],
        ["12Đ-123.45", "12Đ12345", "VN", true, false],
        ["12đ-123.45", "12Đ12345", "VN", true, false],
        ["29I-123.45", "29I12345", "UNKNOWN", false, false],
        ["29O-123.45", "29O12345", "UNKNOWN", false, false],
        ["29W-123.45", "29W12345", "UNKNOWN", false, false],
        ["29C-123", "29C123", "UNKNOWN", false, false],
        ["29ABC-123.45", "29ABC12345", "UNKNOWN", false, false],
        ["桂A12345", "桂A12345", "CN", true, false],
        ["桂A·12345", "桂A12345", "CN", true, false],
        ["云A-D1234", "云AD1234", "CN", true, false],
        ["粤AD12345", "粤AD12345", "CN", true, false],
        ["粤A12345F", "粤A12345F", "CN", true, false],
        ["桂A1234挂", "桂A1234挂", "CN", true, true],
        ["粤Z1234港", "粤Z1234港", "CN", true, false],
        ["桂Ａ１２３４５", "桂A12345", "CN", true, false],
        ["桂I12345", "桂I12345", "CN", false, false],
        ["桂A1234O", "桂A1234O", "CN", false, false],
        ["桂A123456", "桂A123456", "CN", false, false],
        ["ກຂ 1234", "ກຂ1234", "LA", false, false],
        ["ភ្នំពេញ 2A-1234", "ភ្នំពេញ2A1234", "KH", false, false],
        ["", "", "UNKNOWN", false, false],
    ])("%j → %j %s valid=%s trailer=%s", (text, normalized, country, valid, trailer) => {
        expect(normalizePlate(text)).toEqual({ normalized, country, valid, trailer });
    });

    it("is idempotent and never throws", () => {
        fc.assert(
            fc.property(fc.string({ unit: "grapheme", maxLength: 16 }), (text) => {
                const once = normalizePlate(text);
                expect(normalizePlate(once.normalized)).toEqual(once);
            }),
            // Found by this property: upper-casing decomposes ῢ; stripping the NFKC space of ᾽ leaves a mark to compose.
            { numRuns: 300, examples: [["ῢ"], ["𝛀᾽"]] },
        );
    });
});

describe("plate misreads", () => {
    it.each([
        ["29C-123.45", "29C-l23.45", false],
        ["51B-123.45", "518-123.45", true],
        ["29C-100.45", "29C-1OO.45", true],
        ["29D-123.45", "290-123.45", true],
        ["12Đ-123.45", "12D-123.45", true],
        ["29C-111.45", "29C-1I1.45", true],
        ["29C-123.45", "29C-123.45", false],
        ["29C-123.45", "29C 123 45", false],
        ["29C-123.45", "29C-123.46", false],
        ["29C-123.45", "29C-123.4", false],
        ["29C-123.45", "29C-1234S", false],
    ])("likelyMisread(%j, %j) = %s", (a, b, expected) => {
        expect(likelyMisread(a, b)).toBe(expected);
        expect(likelyMisread(b, a)).toBe(expected);
    });

    it("plates that are misreads of each other share a key", () => {
        expect(plateMisreadKey("51B-1O0.45")).toBe(plateMisreadKey("518-100.45"));
        expect(plateMisreadKey("51B-100.45")).not.toBe(plateMisreadKey("51C-100.45"));
    });

    it("likelyMisread is symmetric and agrees with the key", () => {
        const plate = fc.string({ unit: fc.constantFrom(..."0O8BD1IACĐ5S"), maxLength: 8 });
        fc.assert(
            fc.property(plate, plate, (a, b) => {
                expect(likelyMisread(a, b)).toBe(likelyMisread(b, a));
                expect(likelyMisread(a, b)).toBe(a !== b && plateMisreadKey(a) === plateMisreadKey(b));
            }),
            { numRuns: 300 },
        );
    });
});

describe("robustness", () => {
    it("every function answers any text without throwing, and ok results satisfy their rule", () => {
        const text = fc.oneof(
            fc.string({ unit: "binary", maxLength: 20 }),
            fc.stringMatching(/^[0-9 ]{10,14}$/),
            fc.stringMatching(/^[A-Za-z]{4}[0-9 -]{6,9}$/),
        );
        fc.assert(
            fc.property(text, text, (a, b) => {
                const declaration = parseDeclarationNumber(a);
                if (declaration.ok) expect(Number(declaration.sequence) % 7).toBe(Number(declaration.number[10]));
                const container = parseContainerNumber(a);
                if (container.ok) {
                    expect(container.number).toMatch(/^[A-Z]{3}[UJZ]\d{7}$/);
                    expect(container.checkDigitOk).toBe(
                        iso6346CheckDigit(container.number.slice(0, 10)) === container.checkDigit,
                    );
                }
                expect(["declaration", "container", "other"]).toContain(classifyScanPayload(a).type);
                normalizePlate(a);
                likelyMisread(a, b);
                plateMisreadKey(a);
                iso6346CheckDigit(a);
            }),
            { numRuns: 300 },
        );
    });
});
