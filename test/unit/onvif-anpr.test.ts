/**
 * The ONVIF LPR model: decode of spec-shaped wsnt:NotificationMessage XML (domain.md §5.1), the encoder
 * the simulator uses, the XML helper, and fuzzing (decode never throws).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { descendantsNamed, NS, outerXml, parseDuration, parseXml } from "../../devices/lib/xml.ts";
import { definition, encodeNotification, hasControlCharacter } from "../../devices/onvif-anpr.ts";

const WSNT = "http://docs.oasis-open.org/wsn/b-2";
const TT = "http://www.onvif.org/ver10/schema";
const TOPICS = "http://www.onvif.org/ver10/topics";

/** A notification shaped like the Analytics spec's LPR example, with knobs for each test. */
function notification(
    o: {
        plate?: string;
        plateLikelihood?: string | null;
        likelihood?: string | null;
        country?: string;
        topic?: string;
        topicPrefix?: string;
        utc?: string | null;
        operation?: string;
        image?: string;
    } = {},
): string {
    const prefix = o.topicPrefix ?? "tns1";
    const plateAttr = o.plateLikelihood === null ? "" : ` Likelihood="${o.plateLikelihood ?? "0.9"}"`;
    const likelihood =
        o.likelihood === null ? "" : `<tt:SimpleItem Name="Likelihood" Value="${o.likelihood ?? "0.85"}"/>`;
    const utc = o.utc === null ? "" : ` UtcTime="${o.utc ?? "2025-03-01T08:15:30.250Z"}"`;
    const op = o.operation ? ` PropertyOperation="${o.operation}"` : "";
    const image = o.image === undefined ? "" : `<tt:SimpleItem Name="Image" Value="${o.image}"/>`;
    return (
        `<wsnt:NotificationMessage xmlns:wsnt="${WSNT}" xmlns:tt="${TT}" xmlns:${prefix}="${TOPICS}">` +
        `<wsnt:Topic Dialect="http://www.onvif.org/ver10/tev/topicExpression/ConcreteSet">${prefix}:${o.topic ?? "RuleEngine/Recognition/LicensePlate"}</wsnt:Topic>` +
        `<wsnt:Message><tt:Message${utc}${op}>` +
        '<tt:Source><tt:SimpleItem Name="VideoSource" Value="vs1"/><tt:SimpleItem Name="Rule" Value="LPR"/></tt:Source>' +
        `<tt:Data>${likelihood}${image}<tt:ElementItem Name="LicensePlateInfo"><tt:LicensePlateInfo>` +
        `<tt:PlateNumber${plateAttr}>${o.plate ?? "6DZG261"}</tt:PlateNumber>` +
        '<tt:PlateType Likelihood="0.8">Normal</tt:PlateType>' +
        `<tt:CountryCode Likelihood="0.7">${o.country ?? "US"}</tt:CountryCode>` +
        "</tt:LicensePlateInfo></tt:ElementItem></tt:Data></tt:Message></wsnt:Message></wsnt:NotificationMessage>"
    );
}

const decode = definition.decode;

describe("onvif-anpr decode", () => {
    it("reads the spec example: plate, country, PlateNumber Likelihood, UtcTime", () => {
        const result = decode(notification());
        expect(result).toEqual({
            status: "reading",
            values: { text: "6DZG261", countryCode: "US", confidence: 0.9, images: [] },
            observedAt: Date.parse("2025-03-01T08:15:30.250Z"),
        });
    });

    it("keeps leading zeros and the text exactly as sent (trimmed only)", () => {
        const result = decode(notification({ plate: "  003725 " }));
        expect(result.status === "reading" && result.values.text).toBe("003725");
        const dashed = decode(notification({ plate: "29C-123.45" }));
        expect(dashed.status === "reading" && dashed.values.text).toBe("29C-123.45");
    });

    it("reads Chinese plates", () => {
        const result = decode(notification({ plate: "桂A12345", country: "CN" }));
        expect(result.status === "reading" && result.values).toMatchObject({ text: "桂A12345", countryCode: "CN" });
        const entity = decode(notification({ plate: "&#26690;A12345" }));
        expect(entity.status === "reading" && entity.values.text).toBe("桂A12345");
    });

    it("accepts any prefix bound to the ONVIF topic namespace", () => {
        const result = decode(notification({ topicPrefix: "ns2" }));
        expect(result.status).toBe("reading");
    });

    it("ignores other topics, and a known prefix bound to another namespace", () => {
        expect(decode(notification({ topic: "RuleEngine/CellMotionDetector/Motion" }))).toEqual({
            status: "ignored",
            reason: "not the licence-plate topic",
        });
        const foreign = notification().replace(
            `xmlns:tns1="${TOPICS}"`,
            'xmlns:tns1="http://www.axis.com/2009/event/topics"',
        );
        expect(decode(foreign).status).toBe("ignored");
    });

    it("falls back to the event Likelihood, clamps out-of-range values, refuses a missing one", () => {
        const fallback = decode(notification({ plateLikelihood: null, likelihood: "0.42" }));
        expect(fallback.status === "reading" && fallback.values.confidence).toBe(0.42);
        const high = decode(notification({ plateLikelihood: "1.7" }));
        expect(high.status === "reading" && high.values.confidence).toBe(1);
        const low = decode(notification({ plateLikelihood: "-0.2" }));
        expect(low.status === "reading" && low.values.confidence).toBe(0);
        expect(decode(notification({ plateLikelihood: null, likelihood: null }))).toEqual({
            status: "invalid",
            reason: "no Likelihood",
        });
        expect(decode(notification({ plateLikelihood: "high" })).status).toBe("invalid");
    });

    it("ignores Initialized (state replayed by a new subscription) and Deleted; reads Changed", () => {
        expect(decode(notification({ operation: "Initialized" })).status).toBe("ignored");
        expect(decode(notification({ operation: "Deleted" })).status).toBe("ignored");
        expect(decode(notification({ operation: "Changed" })).status).toBe("reading");
    });

    it("refuses markup, control characters, empty and over-long plates", () => {
        const cases: Array<[string, RegExp]> = [
            ["&lt;script&gt;alert(1)&lt;/script&gt;", /markup/],
            ["<script>alert(1)</script>", /markup/],
            ["AB&#x7;C", /control/],
            ["AB&#10;CD", /control/],
            ["AB\u0085CD", /control/],
            ["   ", /empty/],
            ["ABCDEFGHIJKLMNOPQ", /longer than 16/],
            ["<![CDATA[<b>]]>", /markup/],
        ];
        for (const [plate, reason] of cases) {
            const result = decode(notification({ plate }));
            expect(result.status, plate).toBe("invalid");
            expect(result.status === "invalid" && result.reason, plate).toMatch(reason);
        }
        const sixteen = decode(notification({ plate: "ABCDEFGHIJKLMNOP" }));
        expect(sixteen.status).toBe("reading");
    });

    it("refuses malformed XML, a missing plate, a missing or bad UtcTime", () => {
        expect(decode("").status).toBe("invalid");
        expect(decode("<wsnt:NotificationMessage").status).toBe("invalid");
        expect(decode(notification().slice(0, -10)).status).toBe("invalid");
        expect(decode('<!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>').status).toBe("invalid");
        expect(decode(notification().replace(/<tt:PlateNumber[\s\S]*?<\/tt:PlateNumber>/, ""))).toEqual({
            status: "invalid",
            reason: "no PlateNumber",
        });
        expect(decode(notification({ utc: null })).status).toBe("invalid");
        expect(decode(notification({ utc: "2025-02-30T08:00:00Z" })).status).toBe("invalid");
        expect(decode(notification({ utc: "2025-03-01T08:00:00" })).status).toBe("invalid");
        expect(decode(notification().replace(`xmlns:tt="${TT}"`, "")).status).toBe("invalid");
    });

    it("keeps a base64 JPEG Image item and drops one that is not base64", () => {
        const jpeg = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 0xff, 0xd9]);
        const result = decode(notification({ image: jpeg.toString("base64") }));
        expect(result.status === "reading" && result.values.images).toEqual([
            { name: "Image", contentType: "image/jpeg", bytes: new Uint8Array(jpeg) },
        ]);
        const bad = decode(notification({ image: "%%%not base64" }));
        expect(bad.status === "reading" && bad.values.images).toEqual([]);
    });
});

describe("encodeNotification", () => {
    it("round-trips through decode, including awkward text", () => {
        for (const text of ["003725", "29C-123.45", "桂A12345", "A&B\"C'D"]) {
            const xml = encodeNotification(
                { text, countryCode: "VN", confidence: 0.876 },
                { utcTime: new Date("2025-03-01T08:00:00Z"), operation: "Changed" },
            );
            const result = decode(xml);
            expect(result).toEqual({
                status: "reading",
                values: { text, countryCode: "VN", confidence: 0.876, images: [] },
                observedAt: Date.parse("2025-03-01T08:00:00Z"),
            });
        }
    });

    it("encodes markup so that decode refuses it rather than passing it on", () => {
        const xml = encodeNotification({ text: "<script>", confidence: 1 }, { utcTime: new Date() });
        expect(xml).not.toContain("<script>");
        expect(decode(xml)).toEqual({ status: "invalid", reason: "markup in plate" });
    });
});

describe("xml helper", () => {
    it("cuts a NotificationMessage out of a PullMessagesResponse with the namespaces it inherits", () => {
        const message = notification({ plate: "003725" }).replace(
            ` xmlns:wsnt="${WSNT}" xmlns:tt="${TT}" xmlns:tns1="${TOPICS}"`,
            "",
        );
        const response =
            `<s:Envelope xmlns:s="${NS.soap12}" xmlns:wsnt="${WSNT}" xmlns:tt="${TT}" xmlns:tns1="${TOPICS}">` +
            `<s:Body><tev:PullMessagesResponse xmlns:tev="${NS.tev}">${message}${message}</tev:PullMessagesResponse></s:Body></s:Envelope>`;
        const parsed = parseXml(response);
        expect(parsed.ok).toBe(true);
        if (!parsed.ok) return;
        const messages = descendantsNamed(parsed.root, "NotificationMessage", WSNT).map((m) => outerXml(response, m));
        expect(messages).toHaveLength(2);
        const result = decode(messages[0] ?? "");
        expect(result.status === "reading" && result.values.text).toBe("003725");
    });

    it("parses ONVIF durations", () => {
        expect(parseDuration("PT1M")).toBe(60_000);
        expect(parseDuration("PT2M30S")).toBe(150_000);
        expect(parseDuration("PT0.5S")).toBe(500);
        expect(parseDuration("P1DT1H")).toBe(90_000_000);
        expect(parseDuration("PT")).toBeUndefined();
        expect(parseDuration("60")).toBeUndefined();
    });
});

describe("decode never throws (fuzz)", () => {
    it("random strings", () => {
        fc.assert(
            fc.property(fc.string({ unit: "binary", maxLength: 400 }), (text) => {
                const result = decode(text);
                expect(["reading", "ignored", "invalid"]).toContain(result.status);
            }),
            { numRuns: 2000 },
        );
    });

    it("mutated valid notifications: never throws; a reading always has a clean plate", () => {
        const base = notification({ plate: "29C12345", image: Buffer.from([0xff, 0xd8, 1, 2]).toString("base64") });
        fc.assert(
            fc.property(
                fc.array(
                    fc.record({
                        at: fc.nat({ max: base.length }),
                        remove: fc.nat({ max: 8 }),
                        insert: fc.oneof(
                            fc.string({ maxLength: 6 }),
                            fc.constantFrom("<", ">", "&", "&lt;", "&#0;", '"', "<x>", "</tt:Data>", "\u0000", "]]>"),
                        ),
                    }),
                    { minLength: 1, maxLength: 4 },
                ),
                (edits) => {
                    let xml = base;
                    for (const e of edits) xml = xml.slice(0, e.at) + e.insert + xml.slice(e.at + e.remove);
                    const result = decode(xml);
                    if (result.status === "reading") {
                        const text = result.values.text;
                        expect(text.length).toBeGreaterThan(0);
                        expect(/[<>]/.test(text) || hasControlCharacter(text)).toBe(false);
                        expect([...text].length).toBeLessThanOrEqual(16);
                        expect(result.values.confidence).toBeGreaterThanOrEqual(0);
                        expect(result.values.confidence).toBeLessThanOrEqual(1);
                    }
                },
            ),
            { numRuns: 3000 },
        );
    });
});
