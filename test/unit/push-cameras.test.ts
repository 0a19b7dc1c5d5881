/**
 * Push cameras (domain.md §5.2–§5.4): the Hikvision ISAPI and Dahua ITSAPI decoders on bodies built to
 * the recorded shapes, the malformed ones, the multipart helper, and property tests that no input makes
 * a decoder throw or invent a plate.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { definition as dahua, keepAliveRequest } from "../../devices/dahua-itsapi-anpr.ts";
import { definition as hik } from "../../devices/hikvision-isapi-anpr.ts";
import { boundaryOf, buildMultipart, headerParameter, parseMultipart } from "../../devices/lib/multipart.ts";
import type { DecodeResult, PlateRead, PushRequest } from "../../devices/types.ts";
import { SAMPLE_JPEG, SAMPLE_PLATE_JPEG } from "../../simulators/push-camera.ts";

const HIK_PATH = "/ISAPI/Event/notification/alert";
const TOLLGATE = "/NotificationInfo/TollgateInfo";
const utf8 = (text: string) => new TextEncoder().encode(text);
const PNG = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0]);

/** An ISAPI alert shaped like the DS-TCG405-E sample in domain.md §5.2. */
function hikXml(
    fields: { plate?: string; confidence?: string; eventType?: string; dateTime?: string; ns?: string } = {},
): string {
    return (
        `<?xml version="1.0" encoding="UTF-8"?>\r\n` +
        `<EventNotificationAlert version="2.0" xmlns="${fields.ns ?? "http://www.isapi.org/ver20/XMLSchema"}">\r\n` +
        `<ipAddress>10.20.1.31</ipAddress><portNo>80</portNo><protocol>HTTP</protocol>` +
        `<macAddress>c0:56:e3:aa:bb:cc</macAddress><channelID>1</channelID>\r\n` +
        `<dateTime>${fields.dateTime ?? "2024-05-07T17:48:03.847+07:00"}</dateTime>` +
        `<activePostCount>80</activePostCount><eventType>${fields.eventType ?? "ANPR"}</eventType>` +
        `<eventState>active</eventState><eventDescription>ANPR</eventDescription>` +
        `<channelName>Lane 1 front</channelName><deviceID>88</deviceID>\r\n` +
        `<ANPR><country>VN</country><licensePlate>${fields.plate ?? "29C12345"}</licensePlate><line>1</line>` +
        `<direction>forward</direction><confidenceLevel>${fields.confidence ?? "98"}</confidenceLevel>` +
        `<plateType>unknown</plateType><plateColor>white</plateColor><licenseBright>0</licenseBright>` +
        `<plateCharBelieve>99,99,99,99,99,99,99,99</plateCharBelieve><vehicleType>SUVMPV</vehicleType>` +
        `<detectDir>8</detectDir><barrierGateCtrlType>1</barrierGateCtrlType>` +
        `<vehicleInfo><index>3</index><colorDepth>2</colorDepth><color>white</color></vehicleInfo>` +
        `<pictureInfoList><pictureInfo><fileName>detectionPicture.jpg</fileName><type>detectionPicture</type>` +
        `<absTime>20240507174803847</absTime><plateRect><X>430</X><Y>275</Y><width>106</width><height>65</height>` +
        `</plateRect></pictureInfo><pictureInfo><fileName>licensePlatePicture.jpg</fileName>` +
        `<type>licensePlatePicture</type></pictureInfo></pictureInfoList>` +
        `<originalLicensePlate>${fields.plate ?? "29C12345"}</originalLicensePlate></ANPR>` +
        `<UUID>2f0e6a4c-0001</UUID><picNum>2</picNum><monitoringSiteID></monitoringSiteID>` +
        `<isDataRetransmission>false</isDataRetransmission><deviceUUID>2f0e6a4c</deviceUUID>\r\n` +
        `</EventNotificationAlert>\r\n`
    );
}

/** A multipart push written out by hand, as a camera's capture shows it (preamble-free, CRLF). */
function hikMultipart(xml: string | Uint8Array, pictures: { name: string; bytes: Uint8Array }[] = []): PushRequest {
    const boundary = "MIME_boundary_1a2b3c";
    const chunks: Uint8Array[] = [
        utf8(
            `--${boundary}\r\nContent-Disposition: form-data; name="anpr.xml"; filename="anpr.xml"\r\n` +
                `Content-Type: text/xml\r\n\r\n`,
        ),
        typeof xml === "string" ? utf8(xml) : xml,
        utf8("\r\n"),
    ];
    for (const picture of pictures) {
        chunks.push(
            utf8(
                `--${boundary}\r\nContent-Disposition: form-data; name="${picture.name}"; filename="${picture.name}"\r\n` +
                    `Content-Type: image/jpeg\r\nContent-Length: ${picture.bytes.length}\r\n\r\n`,
            ),
            picture.bytes,
            utf8("\r\n"),
        );
    }
    chunks.push(utf8(`--${boundary}--\r\n`));
    return { path: HIK_PATH, contentType: `multipart/form-data; boundary=${boundary}`, body: Buffer.concat(chunks) };
}

/** A TollgateInfo notification shaped like domain.md §5.3. */
function dahuaJson(overrides: { plate?: Record<string, unknown>; snap?: Record<string, unknown>; pic?: unknown } = {}) {
    return {
        Picture: {
            NormalPic: overrides.pic ?? {
                Content: Buffer.from(SAMPLE_JPEG).toString("base64"),
                PicName: "NormalPic.jpg",
            },
            Plate: {
                BoundingBox: [1220, 860, 1480, 930],
                Channel: 0,
                Confidence: 87,
                IsExist: true,
                PlateColor: "Yellow",
                PlateNumber: "15R00123",
                PlateType: "Normal",
                Region: "VN",
                UploadNum: 1,
                ...overrides.plate,
            },
            Vehicle: {
                VehicleBoundingBox: [600, 300, 2200, 1400],
                VehicleColor: "White",
                VehicleSeries: "",
                VehicleSign: "",
                VehicleType: "Truck",
            },
            SnapInfo: {
                AccurateTime: "2024-05-07 17:48:03.847",
                Direction: "Approach",
                TimeZone: 7,
                AllowUser: false,
                BlockUser: false,
                ...overrides.snap,
            },
        },
    };
}

function dahuaRequest(body: unknown, contentType = "application/json;charset=UTF-8"): PushRequest {
    return { path: TOLLGATE, contentType, body: utf8(typeof body === "string" ? body : JSON.stringify(body)) };
}

function reading(result: DecodeResult<PlateRead> & { observedAt?: number }) {
    if (result.status !== "reading") throw new Error(`expected a reading, got ${result.status}: ${result.reason}`);
    return result;
}

const EXPECTED_AT = Date.parse("2024-05-07T10:48:03.847Z");

describe("multipart helper", () => {
    it("Should read the boundary from quoted and plain parameters", () => {
        expect(boundaryOf('multipart/form-data; boundary="a b:c"')).toBe("a b:c");
        expect(boundaryOf("Multipart/Form-Data;boundary=xyz")).toBe("xyz");
        expect(boundaryOf("multipart/form-data")).toBeUndefined();
        expect(boundaryOf("application/xml; boundary=xyz")).toBeUndefined();
        expect(boundaryOf(`multipart/form-data; boundary=${"a".repeat(71)}`)).toBeUndefined();
        expect(headerParameter('form-data; name="anpr.xml"; filename="a\\"b"', "filename")).toBe('a"b');
    });

    it("Should parse what it builds, byte for byte, with a preamble and an epilogue around it", () => {
        const built = buildMultipart([
            { name: "anpr.xml", contentType: "text/xml", body: "<a/>" },
            { name: "p.jpg", filename: "p.jpg", contentType: "image/jpeg", body: SAMPLE_JPEG },
        ]);
        const boundary = boundaryOf(built.contentType) ?? "";
        const body = Buffer.concat([utf8("preamble\r\n"), built.body, utf8("epilogue")]);
        const parsed = parseMultipart(body, boundary);
        expect(parsed.ok).toBe(true);
        if (!parsed.ok) return;
        expect(parsed.parts.map((p) => [p.name, p.filename, p.contentType])).toEqual([
            ["anpr.xml", undefined, "text/xml"],
            ["p.jpg", "p.jpg", "image/jpeg"],
        ]);
        expect(Buffer.from(parsed.parts[1]?.body ?? []).equals(Buffer.from(SAMPLE_JPEG))).toBe(true);
    });

    it("Should refuse a body whose closing boundary is missing", () => {
        const built = buildMultipart([{ name: "a", contentType: "text/plain", body: "x" }]);
        const truncated = built.body.subarray(0, built.body.length - 10);
        expect(parseMultipart(truncated, boundaryOf(built.contentType) ?? "")).toEqual({
            ok: false,
            reason: "multipart body is truncated (no closing boundary)",
        });
        expect(parseMultipart(utf8("no delimiter here"), "abc").ok).toBe(false);
    });

    it("Should pick a boundary that does not occur in any part", () => {
        const first = buildMultipart([{ name: "a", contentType: "text/plain", body: "x" }], "seed");
        const boundary = boundaryOf(first.contentType) ?? "";
        const built = buildMultipart([{ name: "a", contentType: "text/plain", body: `--${boundary}` }], "seed");
        expect(boundaryOf(built.contentType)).not.toBe(boundary);
        const parsed = parseMultipart(built.body, boundaryOf(built.contentType) ?? "");
        expect(parsed.ok && Buffer.from(parsed.parts[0]?.body ?? []).toString()).toBe(`--${boundary}`);
    });
});

describe("hikvision-isapi-anpr decode", () => {
    const pictures = [
        { name: "detectionPicture.jpg", bytes: SAMPLE_JPEG },
        { name: "licensePlatePicture.jpg", bytes: SAMPLE_JPEG },
    ];

    it("Should read plate, confidence, country, direction, time and both pictures of a recorded-format push", () => {
        const result = reading(hik.decode(hikMultipart(hikXml(), pictures)));
        expect(result.values).toMatchObject({
            text: "29C12345",
            confidence: 0.98,
            countryCode: "VN",
            direction: "forward",
        });
        expect(result.observedAt).toBe(EXPECTED_AT);
        expect(result.values.images.map((i) => [i.name, i.contentType, i.bytes.length])).toEqual([
            ["detectionPicture.jpg", "image/jpeg", SAMPLE_JPEG.length],
            ["licensePlatePicture.jpg", "image/jpeg", SAMPLE_JPEG.length],
        ]);
    });

    it("Should tell the scene from the plate crop by pictureInfoList, whatever the order of the parts", () => {
        const parts = [
            { name: "licensePlatePicture.jpg", bytes: SAMPLE_PLATE_JPEG },
            { name: "detectionPicture.jpg", bytes: SAMPLE_JPEG },
        ];
        const result = reading(hik.decode(hikMultipart(hikXml(), parts)));
        expect(result.values.images.map((i) => [i.name, i.role, i.bytes.length])).toEqual([
            ["licensePlatePicture.jpg", "plate", SAMPLE_PLATE_JPEG.length],
            ["detectionPicture.jpg", "scene", SAMPLE_JPEG.length],
        ]);
        // Parts the list does not name: by their own name, else the scene.
        const unnamed = reading(
            hik.decode(
                hikMultipart(hikXml(), [
                    { name: "plate_1.jpg", bytes: SAMPLE_PLATE_JPEG },
                    { name: "vehicle.jpg", bytes: SAMPLE_JPEG },
                ]),
            ),
        );
        expect(unnamed.values.images.map((i) => i.role)).toEqual(["plate", "scene"]);
    });

    it("Should accept the hikvision.com namespace and a bare XML body without pictures", () => {
        const xml = hikXml({ ns: "http://www.hikvision.com/ver20/XMLSchema", plate: "51LD-123.45" });
        const result = reading(
            hik.decode({ path: HIK_PATH, contentType: "application/xml; charset=UTF-8", body: utf8(xml) }),
        );
        expect(result.values.text).toBe("51LD-123.45");
        expect(result.values.images).toEqual([]);
    });

    it("Should find the XML part by its content when it has no name or XML type", () => {
        const built = buildMultipart([
            { name: "event", contentType: "application/octet-stream", body: hikXml() },
            {
                name: "detectionPicture.jpg",
                filename: "detectionPicture.jpg",
                contentType: "image/jpeg",
                body: SAMPLE_JPEG,
            },
        ]);
        const result = reading(hik.decode({ path: HIK_PATH, ...built }));
        expect(result.values.images).toHaveLength(1);
    });

    it("Should decode a GBK-declared alert with a Chinese plate", () => {
        // 桂 is B9 F0 in GBK; Node's full-ICU TextDecoder has to know the label for this to work at all.
        expect(new TextDecoder("gbk").decode(new Uint8Array([0xb9, 0xf0]))).toBe("桂");
        const xml = hikXml({ plate: "@@A12345" }).replace('encoding="UTF-8"', 'encoding="GB2312"');
        const bytes = Buffer.from(xml, "latin1");
        const at = bytes.indexOf("@@");
        bytes[at] = 0xb9;
        bytes[at + 1] = 0xf0;
        const result = reading(hik.decode(hikMultipart(bytes, pictures)));
        expect(result.values.text).toBe("桂A12345");
    });

    it("Should ignore heartbeats and other alarms, and vehicles without a readable plate", () => {
        expect(hik.decode(hikMultipart(hikXml({ eventType: "heartBeat" })))).toEqual({
            status: "ignored",
            reason: "eventType heartBeat",
        });
        expect(hik.decode(hikMultipart(hikXml({ eventType: "videoloss" })))).toEqual({
            status: "ignored",
            reason: "eventType videoloss",
        });
        expect(hik.decode(hikMultipart(hikXml({ plate: "unknown" }))).status).toBe("ignored");
    });

    it("Should leave observedAt out for a time without zone and refuse a garbage time", () => {
        const local = reading(hik.decode(hikMultipart(hikXml({ dateTime: "2024-05-07T17:48:03" }))));
        expect(local.observedAt).toBeUndefined();
        expect(hik.decode(hikMultipart(hikXml({ dateTime: "2024-02-30T17:48:03+07:00" })))).toMatchObject({
            status: "invalid",
        });
    });

    it("Should drop a non-JPEG picture part with the reason, and keep the read", () => {
        const result = reading(
            hik.decode(hikMultipart(hikXml(), [{ name: "detectionPicture.jpg", bytes: PNG }, pictures[1]!])),
        );
        expect(result.values.images.map((i) => i.name)).toEqual(["licensePlatePicture.jpg"]);
        expect(result).toMatchObject({ dropped: ["detectionPicture.jpg: not a JPEG (no FF D8 FF magic)"] });
    });

    it.each([
        [
            "a multipart body without its XML part",
            () => {
                const built = buildMultipart([
                    { name: "detectionPicture.jpg", contentType: "image/jpeg", body: SAMPLE_JPEG },
                ]);
                return { path: HIK_PATH, ...built };
            },
            "multipart body has no XML part",
        ],
        [
            "a multipart type without boundary",
            () => ({ path: HIK_PATH, contentType: "multipart/form-data", body: utf8(hikXml()) }),
            "multipart Content-Type has no valid boundary",
        ],
        [
            "a wrong content type",
            () => ({ path: HIK_PATH, contentType: "application/json", body: utf8("{}") }),
            "Content-Type application/json is not multipart/form-data or XML",
        ],
        [
            "no content type",
            () => ({ path: HIK_PATH, contentType: "", body: utf8(hikXml()) }),
            "Content-Type (none) is not multipart/form-data or XML",
        ],
        [
            "malformed XML",
            () => hikMultipart(hikXml().replace("</ANPR>", "")),
            "XML end tag </EventNotificationAlert> does not match",
        ],
        [
            "a DOCTYPE",
            () => hikMultipart(`<!DOCTYPE x [<!ENTITY a "b">]>${hikXml().replace(/^<\?xml[^>]*>/, "")}`),
            "XML DOCTYPE or declaration is not allowed",
        ],
        [
            "another root",
            () => hikMultipart("<ResponseStatus><statusCode>1</statusCode></ResponseStatus>"),
            "XML root is <ResponseStatus>, not EventNotificationAlert",
        ],
        ["an empty plate", () => hikMultipart(hikXml({ plate: "  " })), "licensePlate is empty"],
        [
            "an over-long plate",
            () => hikMultipart(hikXml({ plate: "29C1234567890ABCDEF" })),
            "licensePlate is over 16 characters",
        ],
        [
            "a script in the plate",
            () => hikMultipart(hikXml({ plate: "&lt;script&gt;alert(1)&lt;/script&gt;" })),
            "licensePlate contains characters other than letters, digits, ' ', '-', '.', '·'",
        ],
        [
            "a control character in the plate",
            () => hikMultipart(hikXml({ plate: "29C&#x7;12345" })),
            "licensePlate contains control characters",
        ],
        [
            "an unknown entity",
            () => hikMultipart(hikXml({ plate: "29C&bogus;1" })),
            "XML has a malformed entity reference",
        ],
        ["a confidence over 100", () => hikMultipart(hikXml({ confidence: "150" })), "confidenceLevel is not 0-100"],
        [
            "bytes that are not UTF-8",
            () => hikMultipart(new Uint8Array([0x3c, 0x61, 0xff, 0xfe, 0x3e])),
            "XML is not valid UTF-8",
        ],
    ])("Should refuse %s with a reason", (_name, request, reason) => {
        expect(hik.decode(request())).toEqual({ status: "invalid", reason });
    });

    it("Should answer OK when stored and 400 with the reason when refused", () => {
        expect(hik.reply("stored")).toEqual({ status: 200, contentType: "text/plain; charset=utf-8", body: "OK" });
        expect(hik.reply("refused", "licensePlate is empty")).toMatchObject({
            status: 400,
            body: "refused: licensePlate is empty",
        });
    });
});

describe("dahua-itsapi-anpr decode", () => {
    it("Should read plate, confidence, region, direction, time and the scene picture of a recorded-format push", () => {
        const result = reading(dahua.decode(dahuaRequest(dahuaJson())));
        expect(result.values).toMatchObject({
            text: "15R00123",
            confidence: 0.87,
            countryCode: "VN",
            direction: "Approach",
        });
        expect(result.observedAt).toBe(EXPECTED_AT);
        expect(result.values.images).toHaveLength(1);
        expect(result.values.images[0]).toMatchObject({ name: "NormalPic.jpg", contentType: "image/jpeg" });
    });

    it("Should read the plate cutout (CutoutPic) beside the scene (NormalPic), each with its role", () => {
        const json = dahuaJson();
        Object.assign(json.Picture, {
            CutoutPic: { Content: Buffer.from(SAMPLE_PLATE_JPEG).toString("base64"), PicName: "CutoutPic.jpg" },
        });
        const result = reading(dahua.decode(dahuaRequest(json)));
        expect(result.values.images.map((i) => [i.name, i.role, Buffer.from(i.bytes).toString("hex")])).toEqual([
            ["NormalPic.jpg", "scene", Buffer.from(SAMPLE_JPEG).toString("hex")],
            ["CutoutPic.jpg", "plate", Buffer.from(SAMPLE_PLATE_JPEG).toString("hex")],
        ]);
        // A broken cutout refuses the push like a broken scene: Dahua resends.
        Object.assign(json.Picture, { CutoutPic: { Content: Buffer.from(PNG).toString("base64") } });
        expect(dahua.decode(dahuaRequest(json))).toEqual({
            status: "invalid",
            reason: "CutoutPic.Content is not a JPEG (no FF D8 FF magic)",
        });
    });

    it("Should take the time zone as an offset string too, and leave observedAt out without one", () => {
        expect(reading(dahua.decode(dahuaRequest(dahuaJson({ snap: { TimeZone: "GMT+07:00" } })))).observedAt).toBe(
            EXPECTED_AT,
        );
        expect(
            reading(dahua.decode(dahuaRequest(dahuaJson({ snap: { TimeZone: undefined } })))).observedAt,
        ).toBeUndefined();
    });

    it("Should ignore keep-alives and vehicles the camera says have no plate", () => {
        expect(dahua.decode(keepAliveRequest())).toEqual({ status: "ignored", reason: "keep-alive" });
        expect(dahua.decode(dahuaRequest(dahuaJson({ plate: { IsExist: false, PlateNumber: "" } })))).toEqual({
            status: "ignored",
            reason: "vehicle without a readable plate",
        });
    });

    it("Should read a multi-megabyte picture (no regex over the whole base64 text)", () => {
        const bytes = new Uint8Array(5 * 1024 * 1024);
        bytes.set(SAMPLE_JPEG);
        const request = dahua.encode({
            text: "15R00123",
            confidence: 0.9,
            images: [{ name: "big.jpg", contentType: "image/jpeg", bytes }],
        });
        expect(reading(dahua.decode(request)).values.images[0]?.bytes.length).toBe(bytes.length);
    });

    it("Should keep a read without a picture", () => {
        const json = dahuaJson();
        delete (json.Picture as { NormalPic?: unknown }).NormalPic;
        expect(reading(dahua.decode(dahuaRequest(json))).values.images).toEqual([]);
    });

    it.each([
        [
            "broken base64",
            dahuaRequest(dahuaJson({ pic: { Content: "/9j/4AAQ*SkZJRg==" } })),
            "NormalPic.Content is not valid base64",
        ],
        [
            "base64 with non-zero pad bits",
            dahuaRequest(dahuaJson({ pic: { Content: "/9j/4R==" } })),
            "NormalPic.Content is not canonical base64",
        ],
        [
            "a picture that is not a JPEG",
            dahuaRequest(dahuaJson({ pic: { Content: Buffer.from(PNG).toString("base64") } })),
            "NormalPic.Content is not a JPEG (no FF D8 FF magic)",
        ],
        ["non-JSON", dahuaRequest("{Picture:"), "body is not UTF-8 JSON"],
        ["a JSON array", dahuaRequest("[1,2]"), "body is not a JSON object"],
        [
            "a wrong content type",
            dahuaRequest(dahuaJson(), "text/xml"),
            "Content-Type text/xml is not application/json",
        ],
        ["no Picture", dahuaRequest({ Plate: {} }), "Picture is missing"],
        [
            "a script in the plate",
            dahuaRequest(dahuaJson({ plate: { PlateNumber: "<img src=x onerror=1>" } })),
            "Plate.PlateNumber contains characters other than letters, digits, ' ', '-', '.', '·'",
        ],
        [
            "a control character in the plate",
            dahuaRequest(dahuaJson({ plate: { PlateNumber: "15R\u000000123" } })),
            "Plate.PlateNumber contains control characters",
        ],
        ["an empty plate", dahuaRequest(dahuaJson({ plate: { PlateNumber: "" } })), "Plate.PlateNumber is empty"],
        [
            "a confidence as text",
            dahuaRequest(dahuaJson({ plate: { Confidence: "87" } })),
            "Plate.Confidence is not a number 0-100",
        ],
        [
            "a malformed time",
            dahuaRequest(dahuaJson({ snap: { AccurateTime: "07/05/2024 17:48" } })),
            "SnapInfo.AccurateTime is not YYYY-MM-DD HH:MM:SS.fff",
        ],
        [
            "an unknown path",
            { ...dahuaRequest(dahuaJson()), path: "/NotificationInfo/Other" },
            "path /NotificationInfo/Other is not /NotificationInfo/TollgateInfo",
        ],
    ])("Should refuse %s with a reason", (_name, request, reason) => {
        expect(dahua.decode(request)).toEqual({ status: "invalid", reason });
    });

    it("Should answer {Result:true} when stored and {Result:false, Message} when refused", () => {
        expect(dahua.reply("stored")).toEqual({
            status: 200,
            contentType: "application/json",
            body: '{"Result":true}',
        });
        expect(JSON.parse(dahua.reply("refused", "broken").body)).toEqual({ Result: false, Message: "broken" });
    });
});

// ---------------------------------------------------------------------------------------------------
// Property tests

const RUNS = { numRuns: 400 };
const PLATE = /^[\p{L}\p{N}][\p{L}\p{N} .·-]*$/u;
const models = [hik, dahua] as const;
const contentTypes = fc.oneof(
    fc.constantFrom(
        "",
        "application/json",
        "application/json; charset=GBK",
        "application/xml",
        "text/xml; charset=gb2312",
        "multipart/form-data; boundary=MIME_boundary_1a2b3c",
        "multipart/form-data; boundary=",
        'multipart/form-data; boundary="x"',
    ),
    fc.string({ maxLength: 60 }),
);

function wellFormed(result: DecodeResult<PlateRead> & { observedAt?: number }): void {
    expect(["reading", "ignored", "invalid"]).toContain(result.status);
    if (result.status !== "reading") {
        expect(result.reason.length).toBeGreaterThan(0);
        return;
    }
    expect(result.values.text).toMatch(PLATE);
    expect(result.values.confidence).toBeGreaterThanOrEqual(0);
    expect(result.values.confidence).toBeLessThanOrEqual(1);
    for (const image of result.values.images) expect([...image.bytes.subarray(0, 3)]).toEqual([0xff, 0xd8, 0xff]);
    if (result.observedAt !== undefined) expect(Number.isFinite(result.observedAt)).toBe(true);
}

const plateText = fc.stringMatching(/^[0-9A-HK-NPR-Z]{2,3}[-. ]?[0-9]{3,5}$/);

describe("push camera decoders, property tests", () => {
    it("Should answer a well-formed result for random bytes and content types, never throwing", () => {
        fc.assert(
            fc.property(
                fc.constantFrom(...models),
                fc.uint8Array({ maxLength: 512 }),
                contentTypes,
                fc.constantFrom(HIK_PATH, TOLLGATE, "/NotificationInfo/KeepAlive", "/"),
                (model, body, contentType, path) => {
                    wellFormed(model.decode({ path, contentType, body }));
                },
            ),
            RUNS,
        );
    });

    it("Should answer a well-formed result for mutated valid bodies", () => {
        const samples = [
            hikMultipart(hikXml(), [{ name: "detectionPicture.jpg", bytes: SAMPLE_JPEG }]),
            dahuaRequest(dahuaJson()),
        ];
        fc.assert(
            fc.property(
                fc.constantFrom(0, 1),
                fc.array(
                    fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom("set", "delete", "insert")),
                    { minLength: 1, maxLength: 8 },
                ),
                (which, edits) => {
                    const sample = samples[which]!;
                    const bytes = [...sample.body];
                    for (const [at, byte, op] of edits) {
                        const i = at % (bytes.length + 1);
                        if (op === "set") bytes[i] = byte;
                        else if (op === "delete") bytes.splice(i, 1);
                        else bytes.splice(i, 0, byte);
                    }
                    wellFormed(models[which].decode({ ...sample, body: new Uint8Array(bytes) }));
                },
            ),
            RUNS,
        );
    });

    it("Should decode what encode made, for any plate, confidence and time", () => {
        fc.assert(
            fc.property(
                fc.constantFrom(...models),
                plateText,
                fc.integer({ min: 0, max: 100 }),
                fc.date({
                    min: new Date("2000-01-01T00:00:00Z"),
                    max: new Date("2099-12-31T00:00:00Z"),
                    noInvalidDate: true,
                }),
                fc.boolean(),
                (model, text, percent, at, withImage) => {
                    const images = withImage
                        ? [
                              {
                                  name: "detection.jpg",
                                  role: "scene" as const,
                                  contentType: "image/jpeg",
                                  bytes: SAMPLE_JPEG,
                              },
                              {
                                  name: "crop.jpg",
                                  role: "plate" as const,
                                  contentType: "image/jpeg",
                                  bytes: SAMPLE_PLATE_JPEG,
                              },
                          ]
                        : [];
                    const result = reading(
                        model.decode(
                            model.encode({ text, confidence: percent / 100, countryCode: "VN", images }, { at }),
                        ),
                    );
                    expect(result.values.text).toBe(text);
                    expect(result.values.confidence).toBe(percent / 100);
                    expect(result.values.countryCode).toBe("VN");
                    expect(result.values.images.map((i) => [i.role, i.bytes.length])).toEqual(
                        images.map((i) => [i.role, i.bytes.length]),
                    );
                    expect(result.observedAt).toBe(at.getTime());
                },
            ),
            RUNS,
        );
    });
});
