import { readdirSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { displayModelIds } from "../../devices/displays.ts";
import { definition as eseal } from "../../devices/eseal-mqtt-json.ts";
import {
    definitionProblems,
    getInspectionModel,
    getModel,
    inspectionModels,
    modelIds,
    modelOptionProblems,
    models,
    validateDefinition,
    validateModels,
} from "../../devices/index.ts";
import { definition as sics } from "../../devices/mettler-toledo-sics.ts";
import { definition as scanner } from "../../devices/serial-barcode-scanner.ts";
import { definition as sma } from "../../devices/sma-scale.ts";
import { definition as toledo } from "../../devices/toledo-continuous.ts";
import type { DecodeResult, DeviceModel, ScaleModel, ScaleState, SealMessage } from "../../devices/types.ts";
import { definition as a9 } from "../../devices/yaohua-xk3190-a9.ts";
import { parseConfig } from "../../src/config/load.ts";
import { isGateError } from "../../src/core/errors.ts";
import type { WeightValues } from "../../src/core/events.ts";
import { ascii, cutFrames, hex, onlyFrame, toHex } from "./devices.helpers.ts";

/** A complete WeightValues written out in the test, independent of the models' own helper. */
function w(kg: number, flags: Partial<WeightValues> = {}): WeightValues {
    const motion = flags.motion ?? false;
    return {
        kg,
        stable: !motion,
        motion,
        overload: false,
        underload: false,
        zero: kg === 0,
        net: false,
        ...flags,
    };
}

const reading = (values: WeightValues) => ({ status: "reading", values });
const text = (bytes: Uint8Array | undefined) => (bytes === undefined ? undefined : String.fromCharCode(...bytes));
const state = (kg: number, s: Partial<ScaleState> = {}): ScaleState => ({
    kg,
    motion: false,
    overload: false,
    underload: false,
    ...s,
});
const decodeEncoded = (model: ScaleModel, s: ScaleState, corrupt = false) =>
    model.decode(onlyFrame(model.framer, model.encode(s, { corrupt })));

/** Weights that fit every indicator's field: up to 6 significant digits, up to 3 decimals. */
const kgArb = fc.oneof(
    fc.integer({ min: -99_999, max: 999_999 }),
    fc
        .tuple(fc.integer({ min: -99_999, max: 999_999 }), fc.integer({ min: 1, max: 3 }))
        .map(([m, d]) => m / 10 ** d + 0),
    fc.constantFrom(0, 20, 24_560, 24_580, -20, 60_000),
);
/** Consistent indicator states: overload only above zero, underload only below. */
const stateArb: fc.Arbitrary<ScaleState> = fc
    .record({ kg: kgArb, motion: fc.boolean(), range: fc.constantFrom("in", "in", "over", "under") })
    .map(({ kg, motion, range }) => ({
        kg,
        motion,
        overload: range === "over" && kg > 0,
        underload: range === "under" && kg < 0,
    }));

describe("mettler-toledo-sics", () => {
    it.each([
        ["S S      24560 kg", reading(w(24560))],
        ["S D      24540 kg", reading(w(24540, { motion: true }))],
        ["  S   S   24560   kg  ", reading(w(24560))],
        ["S S 100.00 g", reading(w(0.1))],
        ["S S 24.56 t", reading(w(24560))],
        ["S S 100 lb", reading(w(100 * 0.45359237))],
        ["S S     -120 kg", reading(w(-120))],
        ["S S        0 kg", reading(w(0, { zero: true }))],
        ["S +", reading(w(0, { overload: true, stable: false, zero: false }))],
        ["S -", reading(w(0, { underload: true, stable: false, zero: false }))],
    ])("decodes %j", (line, expected) => {
        expect(sics.decode(ascii(line))).toEqual(expected);
    });

    it.each(["S I", "ES", "ET", "EL", "Z A", "Z I", ""])("ignores %j with a reason", (line) => {
        const result = sics.decode(ascii(line));
        expect(result.status).toBe("ignored");
        if (result.status === "ignored") expect(result.reason).not.toBe("");
    });

    it.each([
        "S S 24560",
        "S S 24560 oz",
        "S S 24,560 kg",
        "S S 1e3 kg",
        "S S 24560 kg extra",
        "S X 1 kg",
        "S S #4560 kg",
        "SI S 24560 kg",
        "garbage",
        "S S 24560 k\u00e9",
    ])("rejects %j", (line) => {
        expect(sics.decode(ascii(line)).status).toBe("invalid");
    });

    it("encodes the domain.md byte examples", () => {
        expect(text(sics.encode(state(24560)))).toBe("S S      24560 kg\r\n");
        expect(text(sics.encode(state(24540, { motion: true })))).toBe("S D      24540 kg\r\n");
        expect(text(sics.encode(state(99_000, { overload: true })))).toBe("S +\r\n");
        expect(text(sics.encode(state(-500, { underload: true })))).toBe("S -\r\n");
        expect(text(sics.encode(state(24560.5)))).toBe("S S    24560.5 kg\r\n");
    });

    it("answers host commands", () => {
        const cmd = (c: string) => ascii(c);
        expect(text(sics.respond(cmd("SI"), state(24560)))).toBe("S S      24560 kg\r\n");
        expect(text(sics.respond(cmd("SIR"), state(24560)))).toBe("S S      24560 kg\r\n");
        expect(text(sics.respond(cmd("S"), state(24560)))).toBe("S S      24560 kg\r\n");
        expect(text(sics.respond(cmd("S"), state(24540, { motion: true })))).toBe("S I\r\n");
        expect(text(sics.respond(cmd("SI"), state(24540, { motion: true })))).toBe("S D      24540 kg\r\n");
        expect(text(sics.respond(cmd("S"), state(99_000, { overload: true, motion: true })))).toBe("S +\r\n");
        expect(text(sics.respond(cmd("Z"), state(10)))).toBe("Z A\r\n");
        expect(text(sics.respond(cmd("Z"), state(10, { motion: true })))).toBe("Z I\r\n");
        expect(text(sics.respond(cmd("XYZ"), state(10)))).toBe("ES\r\n");
        expect(text(sics.respond(cmd("si"), state(10)))).toBe("ES\r\n");
    });

    it("the poll command frames to SI and its answer decodes", () => {
        const command = onlyFrame(sics.commandFramer, Uint8Array.from(sics.poll.command));
        expect(text(command)).toBe("SI");
        const answer = sics.respond(command, state(24560));
        expect(sics.decode(onlyFrame(sics.framer, answer!))).toEqual(reading(w(24560)));
    });

    it("round-trips every state; overload and underload come back as kg 0 with the flag", () => {
        fc.assert(
            fc.property(stateArb, (s) => {
                const expected = s.overload
                    ? w(0, { overload: true, stable: false, zero: false })
                    : s.underload
                      ? w(0, { underload: true, stable: false, zero: false })
                      : w(s.kg, { motion: s.motion });
                expect(decodeEncoded(sics, s)).toEqual(reading(expected));
                expect(decodeEncoded(sics, s, true).status).toBe("invalid");
            }),
            { numRuns: 300 },
        );
    });
});

/** An 18-byte Toledo frame around a 16-byte body (STX..digits), with its checksum computed here. */
function toledoFrame(swa: number, swb: number, swc: number, digits: string, checksumDelta = 0): Uint8Array {
    const bytes = [0x02, swa, swb, swc, ...ascii(digits), 0x0d];
    const sum = bytes.reduce((a, b) => a + (b & 0x7f), 0);
    return Uint8Array.from([...bytes, (128 - (sum % 128) + checksumDelta) % 128]);
}

/** Sets bit 7 so every byte has even parity: what a 7E1 line looks like when read as 8N1. */
function withEvenParity(frame: Uint8Array): Uint8Array {
    return frame.map((b) => {
        let ones = 0;
        for (let x = b & 0x7f; x; x >>= 1) ones += x & 1;
        return (b & 0x7f) | (ones % 2 ? 0x80 : 0);
    });
}

describe("toledo-continuous", () => {
    const stable = "02 2A 30 20 30 32 34 35 36 30 30 30 30 30 30 30 0D 26";
    const motion = "02 2A 38 20 30 32 34 35 38 30 30 30 30 30 30 30 0D 1C";

    it("decodes the domain.md vectors", () => {
        expect(toledo.decode(hex(stable))).toEqual(reading(w(24560)));
        expect(toledo.decode(hex(motion))).toEqual(reading(w(24580, { motion: true })));
    });

    it("encodes the domain.md vectors byte for byte", () => {
        expect(toHex(toledo.encode(state(24560)))).toBe(stable);
        expect(toHex(toledo.encode(state(24580, { motion: true })))).toBe(motion);
    });

    it("the checksum is the 7-bit two's complement of the 7-bit sum (our formula reproduces both vectors)", () => {
        for (const v of [stable, motion]) {
            const bytes = hex(v);
            expect(
                toHex(toledoFrame(bytes[1] ?? 0, bytes[2] ?? 0, bytes[3] ?? 0, text(bytes.slice(4, 16)) ?? "")),
            ).toBe(v);
        }
    });

    it("masks the parity bit of every byte (7E1 read as 8N1)", () => {
        const parity = withEvenParity(hex(stable));
        expect(parity.some((b) => b & 0x80)).toBe(true);
        expect(toledo.decode(parity)).toEqual(reading(w(24560)));
    });

    it("accepts leading spaces for non-significant zeros", () => {
        expect(toledo.decode(toledoFrame(0x2a, 0x30, 0x20, " 24560     0"))).toEqual(reading(w(24560)));
    });

    it.each([
        ["×100 (code 0)", 0x28, "000245000000", 24500],
        ["×10 (code 1)", 0x29, "002456000000", 24560],
        ["1 decimal (code 3)", 0x2b, "245605000000", 24560.5],
        ["3 decimals (code 5)", 0x2d, "024560000000", 24.56],
        ["5 decimals (code 7)", 0x2f, "100000000000", 1],
    ])("decimal position %s", (_name, swa, digits, kg) => {
        expect(toledo.decode(toledoFrame(swa, 0x30, 0x20, digits))).toEqual(reading(w(kg)));
    });

    it("reads sign, range, net/tare, unit and power-up bits of SWB and SWC", () => {
        const d = "024560001000";
        expect(toledo.decode(toledoFrame(0x2a, 0x32, 0x20, "000120000000"))).toEqual(reading(w(-120)));
        expect(toledo.decode(toledoFrame(0x2a, 0x34, 0x20, "099999000000"))).toEqual(
            reading(w(99999, { overload: true })),
        );
        expect(toledo.decode(toledoFrame(0x2a, 0x36, 0x20, "000500000000"))).toEqual(
            reading(w(-500, { underload: true })),
        );
        expect(toledo.decode(toledoFrame(0x2a, 0x31, 0x20, d))).toEqual(reading(w(24560, { net: true, tareKg: 1000 })));
        expect(toledo.decode(toledoFrame(0x2a, 0x20, 0x20, "000100000000"))).toEqual(reading(w(100 * 0.45359237)));
        expect(toledo.decode(toledoFrame(0x2a, 0x30, 0x21, "024560000000"))).toEqual(reading(w(24.56)));
        expect(toledo.decode(toledoFrame(0x2a, 0x30, 0x22, "000024000000"))).toEqual(reading(w(24000)));
        expect(toledo.decode(toledoFrame(0x2a, 0x70, 0x20, "024560000000"))).toEqual(
            reading(w(24560, { stable: false })),
        );
        expect(toledo.decode(toledoFrame(0x2a, 0x30, 0x20, "000000000000"))).toEqual(reading(w(0)));
    });

    it("does not reject frames on the 'constant' bits (Liden-style clones)", () => {
        // Liden LUW2001: SWA bit3=0, bit4=1, bit5=0, bit6=1.
        expect(toledo.decode(toledoFrame(0x52, 0x30, 0x00, "024560000000"))).toEqual(reading(w(24560)));
    });

    it.each([
        ["bad checksum", toledoFrame(0x2a, 0x30, 0x20, "024560000000", 1)],
        ["17 bytes (no checksum)", hex(stable).slice(0, 17)],
        ["19 bytes", Uint8Array.from([...hex(stable), 0x26])],
        ["letters in weight", toledoFrame(0x2a, 0x30, 0x20, "0245A0000000")],
        ["space inside weight", toledoFrame(0x2a, 0x30, 0x20, "024 60000000")],
        ["all spaces", toledoFrame(0x2a, 0x30, 0x20, "      000000")],
        ["unknown unit code", toledoFrame(0x2a, 0x30, 0x23, "024560000000")],
        ["no STX", Uint8Array.from([0x01, ...hex(stable).slice(1)])],
    ])("rejects %s", (_name, frame) => {
        expect(toledo.decode(frame).status).toBe("invalid");
    });

    it("round-trips every state, with and without tare", () => {
        fc.assert(
            fc.property(stateArb, (s) => {
                const expected = w(s.kg, { motion: s.motion, overload: s.overload, underload: s.underload });
                expect(decodeEncoded(toledo, s)).toEqual(reading(expected));
                expect(decodeEncoded(toledo, s, true).status).toBe("invalid");
            }),
            { numRuns: 300 },
        );
        fc.assert(
            fc.property(fc.integer({ min: 0, max: 99_999 }), fc.integer({ min: 1, max: 99_999 }), (kg, tareKg) => {
                expect(decodeEncoded(toledo, state(kg, { tareKg }))).toEqual(reading(w(kg, { net: true, tareKg })));
            }),
            { numRuns: 100 },
        );
    });

    it("clamps weights beyond six digits with a ×10 or ×100 decimal position", () => {
        expect(decodeEncoded(toledo, state(1_234_560))).toEqual(reading(w(1_234_560)));
        expect(decodeEncoded(toledo, state(12_345_600))).toEqual(reading(w(12_345_600)));
        expect(decodeEncoded(toledo, state(1e12))).toEqual(reading(w(99_999_900)));
    });
});

const smaFrame = (body: string) => ascii(`\n${body}\r`);
/** An SMA reply body: status, range, gross/net, motion, reserved space, 10-char weight, 3-char unit. */
const smaBody = (s: string, n: string, m: string, weight: string, unit: string, range = "1") =>
    `${s}${range}${n}${m} ${weight.padStart(10)}${unit.padEnd(3)}`;

describe("sma-scale", () => {
    const vector = "0A 20 31 47 20 20 20 20 20 20 20 32 34 35 36 30 6B 67 20 0D";

    it("decodes the domain.md vector and its motion variant", () => {
        expect(sma.decode(hex(vector))).toEqual(reading(w(24560)));
        const moving = hex(vector);
        moving[4] = 0x4d;
        expect(sma.decode(moving)).toEqual(reading(w(24560, { motion: true })));
    });

    it("encodes the domain.md vector byte for byte", () => {
        expect(toHex(sma.encode(state(24560)))).toBe(vector);
        expect(text(sma.encode(state(24560)))).toBe(`\n${smaBody(" ", "G", " ", "24560", "kg")}\r`);
        const moving = hex(vector);
        moving[4] = 0x4d;
        expect(toHex(sma.encode(state(24560, { motion: true })))).toBe(toHex(moving));
    });

    it.each([
        // The manual examples of domain.md §2.3, with the weight field at its full 10 characters.
        [smaBody(" ", "G", " ", "5.025", "lb"), w(5.025 * 0.45359237)],
        [smaBody("Z", "G", " ", "0.000", "lb"), w(0, { zero: true })],
        [smaBody(" ", "G", "M", "7.650", "kg"), w(7.65, { motion: true })],
        [smaBody(" ", "N", " ", "24560", "kg"), w(24560, { net: true })],
        [smaBody(" ", "g", " ", "24560", "kg", "2"), w(24560)],
        [smaBody("O", "G", " ", "99990", "kg"), w(99990, { overload: true })],
        [smaBody("U", "G", " ", "-500", "kg"), w(-500, { underload: true })],
        [smaBody("O", "G", " ", "-".repeat(10), "kg"), w(0, { overload: true, stable: false, zero: false })],
        [smaBody(" ", "G", " ", "24.56", "t"), w(24560)],
        [smaBody(" ", "G", " ", "24560000", "g"), w(24560)],
        [smaBody(" ", "G", " ", "24560     ", "kg"), w(24560)],
    ])("decodes %j", (body, values) => {
        expect(sma.decode(smaFrame(body))).toEqual(reading(values));
    });

    it.each([
        ["?", /not recognise/],
        ["!", /communication error/],
        ["SMA: 2/1.0", /information/],
        ["MFG: Fairbanks", /information/],
        [smaBody("E", "G", " ", "-".repeat(10), "kg"), /zero error/],
        [smaBody("T", "G", " ", "-".repeat(10), "kg"), /tare error/],
        [smaBody("I", "G", " ", "-".repeat(10), "kg"), /initialising/],
        [smaBody(" ", "G", " ", "-".repeat(10), "kg"), /dashes/],
        [smaBody(" ", "T", " ", "1000", "kg"), /tare value/],
    ])("ignores %j", (body, reason) => {
        const result = sma.decode(smaFrame(body));
        expect(result.status).toBe("ignored");
        if (result.status === "ignored") expect(result.reason).toMatch(reason);
    });

    it.each([
        ["unknown status", smaBody("X", "G", " ", "24560", "kg")],
        ["range not a digit", smaBody(" ", "G", " ", "24560", "kg", "x")],
        ["unknown gross/net", smaBody(" ", "Q", " ", "24560", "kg")],
        ["unknown motion flag", smaBody(" ", "G", "Q", "24560", "kg")],
        ["unknown unit", smaBody(" ", "G", " ", "24560", "oz")],
        ["garbage weight", smaBody(" ", "G", " ", "24#60", "kg")],
        ["plus sign", smaBody(" ", "G", " ", "+24560", "kg")],
        ["blank weight", smaBody(" ", "G", " ", "", "kg")],
        ["19 bytes (field one short)", smaBody(" ", "G", " ", "24560", "kg").slice(1)],
        ["21 bytes", `${smaBody(" ", "G", " ", "24560", "kg")} `],
    ])("rejects %s", (_name, body) => {
        expect(sma.decode(smaFrame(body)).status).toBe("invalid");
    });

    it("rejects frames without LF/CR and with control bytes", () => {
        expect(sma.decode(ascii(`${smaBody(" ", "G", " ", "24560", "kg")}\r`)).status).toBe("invalid");
        expect(sma.decode(smaFrame(smaBody(" ", "G", "\u0007", "24560", "kg"))).status).toBe("invalid");
        expect(sma.decode(new Uint8Array()).status).toBe("invalid");
    });

    it("answers host commands", () => {
        expect(toHex(sma.respond(ascii("\nW\r"), state(24560))!)).toBe(vector);
        expect(text(sma.respond(ascii("\nZ\r"), state(20)))).toBe(`\n${smaBody("Z", "G", " ", "0", "kg")}\r`);
        expect(sma.decode(sma.respond(ascii("\nZ\r"), state(20, { motion: true }))!).status).toBe("ignored");
        expect(text(sma.respond(ascii("\nX\r"), state(20)))).toBe("\n?\r");
        expect(text(sma.respond(ascii("\n\r"), state(20)))).toBe("\n?\r");
    });

    it("the poll command is one LF W CR frame and its answer decodes", () => {
        const command = onlyFrame(sma.commandFramer, Uint8Array.from(sma.poll.command));
        expect(text(command)).toBe("\nW\r");
        expect(sma.decode(onlyFrame(sma.framer, sma.respond(command, state(24560))!))).toEqual(reading(w(24560)));
    });

    it("round-trips every state", () => {
        fc.assert(
            fc.property(stateArb, (s) => {
                const zero = s.kg === 0 && !s.overload && !s.underload;
                const expected = w(s.kg, { motion: s.motion, overload: s.overload, underload: s.underload, zero });
                expect(decodeEncoded(sma, s)).toEqual(reading(expected));
                expect(decodeEncoded(sma, s, true).status).toBe("invalid");
            }),
            { numRuns: 300 },
        );
    });

    it("net when a tare is set; weights too wide for the field are clamped", () => {
        expect(decodeEncoded(sma, state(24560, { tareKg: 1000 }))).toEqual(reading(w(24560, { net: true })));
        expect(decodeEncoded(sma, state(-123_456_789.5))).toEqual(reading(w(-123_456_790)));
        expect(decodeEncoded(sma, state(1e15))).toEqual(reading(w(9_999_999_999)));
    });
});

describe("yaohua-xk3190-a9", () => {
    const vector = "02 2B 30 32 34 35 36 30 30 31 45 03";

    it("decodes and encodes the domain.md vector", () => {
        expect(a9.decode(hex(vector))).toEqual(reading(w(24560)));
        expect(toHex(a9.encode(state(24560)))).toBe(vector);
    });

    it("the checksum covers sign..decimals (0-based offsets 1..8), not offsets 2..9", () => {
        const bytes = hex(vector);
        let x18 = 0;
        let x29 = 0;
        for (let i = 1; i <= 8; i++) x18 ^= bytes[i] ?? 0;
        for (let i = 2; i <= 9; i++) x29 ^= bytes[i] ?? 0;
        expect(x18).toBe(0x1e);
        expect(x29).toBe(0x04);
        const other = hex(vector);
        other.set(ascii("04"), 9);
        expect(a9.decode(other).status).toBe("invalid");
    });

    const frame = (body: string) => {
        const bytes = ascii(body);
        const x = bytes.reduce((a, b) => a ^ b, 0);
        return Uint8Array.from([0x02, ...bytes, ...ascii(x.toString(16).toUpperCase().padStart(2, "0")), 0x03]);
    };

    it.each([
        ["-0001200", w(-120)],
        ["+0245602", w(245.6)],
        ["+1234564", w(12.3456)],
        ["+0000000", w(0)],
        ["-0000000", w(0)],
    ])("decodes %s; no motion flag exists, so readings are stable and the settle window decides", (body, values) => {
        expect(a9.decode(frame(body))).toEqual(reading({ ...values, stable: true, motion: false }));
    });

    it.each([
        ["decimals 5", frame("+0245605")],
        ["blank sign", frame(" 0245600")],
        ["space in digits", frame("+0 45600")],
        ["lower-case checksum", hex("02 2D 30 30 30 31 32 30 30 31 65 03")],
        ["flipped digit", hex("02 2B 30 32 34 35 37 30 30 31 45 03")],
        ["no ETX", hex("02 2B 30 32 34 35 36 30 30 31 45 0D")],
        ["11 bytes", hex(vector).slice(1)],
    ])("rejects %s", (_name, bytes) => {
        expect(a9.decode(bytes).status).toBe("invalid");
    });

    it("round-trips every state; motion and range flags do not exist in this frame", () => {
        fc.assert(
            fc.property(stateArb, (s) => {
                expect(decodeEncoded(a9, s)).toEqual(reading(w(s.kg, { stable: true, motion: false })));
                expect(decodeEncoded(a9, s, true).status).toBe("invalid");
            }),
            { numRuns: 300 },
        );
    });
});

describe("serial-barcode-scanner", () => {
    const declaration = {
        type: "declaration",
        number: "101234567820",
        base: "10123456782",
        typeCode: "10",
        amendment: 0,
    };

    it("decodes the domain.md vector (CR LF suffix, no AIM prefix)", () => {
        const { frames, rest } = cutFrames(scanner.framer, hex("31 30 31 32 33 34 35 36 37 38 32 30 0D 0A"));
        expect(frames.map(toHex)).toEqual(["31 30 31 32 33 34 35 36 37 38 32 30"]);
        expect(toHex(rest)).toBe("0A");
        expect(scanner.decode(frames[0] ?? new Uint8Array())).toEqual({
            status: "reading",
            values: { symbology: "unknown", payload: "101234567820", parsed: declaration },
        });
    });

    it("strips the LF left over from the previous CR LF", () => {
        const stream = Uint8Array.from([
            ...scanner.encode("101234567820"),
            ...scanner.encode("CSQU3054383", { aimPrefix: "]Q1" }),
        ]);
        const { frames } = cutFrames(scanner.framer, stream);
        expect(frames.map((f) => scanner.decode(f))).toEqual([
            { status: "reading", values: { symbology: "unknown", payload: "101234567820", parsed: declaration } },
            {
                status: "reading",
                values: {
                    symbology: "]Q1",
                    payload: "CSQU3054383",
                    parsed: { type: "container", number: "CSQU3054383", checkDigitOk: true },
                },
            },
        ]);
    });

    it.each([
        ["]C0101234567820", "]C0", "101234567820"],
        ["]A0CBHU1232443", "]A0", "CBHU1232443"],
        ["]d2ABC", "]d2", "ABC"],
        ["]Q1 Tờ khai 101234567820 ", "]Q1", "Tờ khai 101234567820"],
        ["\u0000\u0000101234567820\u0000", "unknown", "101234567820"],
        ["]", "unknown", "]"],
        ["]QX12", "unknown", "]QX12"],
    ])("reads %j as symbology %s payload %j", (raw, symbology, payload) => {
        const result = scanner.decode(new TextEncoder().encode(raw));
        expect(result).toMatchObject({ status: "reading", values: { symbology, payload } });
    });

    it.each([
        ["control byte inside", "1012\u000734567820"],
        ["escape sequence", "\u001b[2J101234567820"],
        ["DEL", "10123\u007f4567820"],
    ])("rejects a read with a %s", (_name, raw) => {
        expect(scanner.decode(ascii(raw)).status).toBe("invalid");
    });

    it("rejects bytes that are not UTF-8 and ignores empty reads", () => {
        expect(scanner.decode(hex("31 FF 32")).status).toBe("invalid");
        expect(scanner.decode(hex("0A")).status).toBe("ignored");
        expect(scanner.decode(new Uint8Array()).status).toBe("ignored");
        expect(scanner.decode(ascii("]Q1  ")).status).toBe("ignored");
    });

    it("encodes suffix and AIM prefix", () => {
        expect(toHex(scanner.encode("101234567820"))).toBe("31 30 31 32 33 34 35 36 37 38 32 30 0D 0A");
        expect(text(scanner.encode("X", { suffix: "CR" }))).toBe("X\r");
        expect(text(scanner.encode("X", { aimPrefix: "]Q1", suffix: "CRLF" }))).toBe("]Q1X\r\n");
    });

    it("round-trips printable payloads with either suffix and any AIM prefix", () => {
        const payload = fc
            .string({ unit: "grapheme", minLength: 1, maxLength: 60 })
            .filter((p) => p === p.trim() && p !== "" && !p.startsWith("]") && !/[\p{Cc}]/u.test(p));
        const aim = fc.option(fc.constantFrom("]Q1", "]C0", "]A0", "]E0", "]d2"), { nil: undefined });
        fc.assert(
            fc.property(payload, aim, fc.constantFrom("CR" as const, "CRLF" as const), (p, aimPrefix, suffix) => {
                const frame = onlyFrame(scanner.framer, scanner.encode(p, { aimPrefix, suffix }));
                const result = scanner.decode(frame);
                expect(result).toMatchObject({
                    status: "reading",
                    values: { payload: p, symbology: aimPrefix ?? "unknown" },
                });
            }),
            { numRuns: 300 },
        );
    });
});

describe("eseal-mqtt-json", () => {
    const read: SealMessage = {
        msg: "read",
        sealId: "HGT-00012345",
        type: "ISO18185",
        status: "SEALED",
        battery: { pct: 87, low: false },
        alerts: [],
        readerId: "R1",
        rssi: -61,
        ts: "2025-03-01T08:15:30.250Z",
    };
    const bytes = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));

    it("decodes a read with the device timestamp", () => {
        expect(eseal.decode("seal", bytes(read))).toEqual({
            status: "reading",
            values: {
                sealId: "HGT-00012345",
                type: "ISO18185",
                status: "SEALED",
                battery: { pct: 87, low: false },
                alerts: [],
                readerId: "R1",
                rssi: -61,
            },
            observedAt: Date.parse("2025-03-01T08:15:30.250Z"),
        });
    });

    it("a minimal read defaults alerts to [] and keeps unknown alert codes", () => {
        const minimal = { msg: "read", sealId: "S1", type: "GPS", status: "TAMPERED", ts: "2025-03-01T15:15:30+07:00" };
        expect(eseal.decode("seal", bytes(minimal))).toEqual({
            status: "reading",
            values: { sealId: "S1", type: "GPS", status: "TAMPERED", alerts: [] },
            observedAt: Date.parse("2025-03-01T08:15:30Z"),
        });
        const alerts = {
            ...minimal,
            alerts: ["DOOR_OPEN", "NEW_VENDOR_ALERT"],
            battery: { low: true },
            lat: 21.8,
            vendor: {},
        };
        expect(eseal.decode("seal/S1", bytes(alerts))).toMatchObject({
            status: "reading",
            values: { alerts: ["DOOR_OPEN", "NEW_VENDOR_ALERT"], battery: { low: true } },
        });
    });

    it("keeps the container an ISO 18185 reader reports (normalised), even a garbled one, for the pairing check", () => {
        expect(eseal.decode("seal", bytes({ ...read, container: "csqu 305438-3" }))).toMatchObject({
            status: "reading",
            values: { sealId: "HGT-00012345", containerNumber: "CSQU3054383" },
        });
        expect(eseal.decode("seal", bytes({ ...read, container: "CSQU3O5438" }))).toMatchObject({
            values: { containerNumber: "CSQU3O5438" },
        });
        expect(eseal.decode("seal", bytes({ ...read, container: 42 }))).toEqual({
            status: "invalid",
            reason: "container is not 1-32 printable characters",
        });
        const { payload } = eseal.encode({ ...read, container: "MSKU1234565" });
        expect(eseal.decode("seal", payload)).toMatchObject({ values: { containerNumber: "MSKU1234565" } });
    });

    it("a heartbeat is ignored with reason 'heartbeat' and keeps the reader's clock", () => {
        const hb: SealMessage = { msg: "heartbeat", readerId: "R1", ts: "2025-03-01T08:00:00Z" };
        const { subtopic, payload } = eseal.encode(hb);
        expect(subtopic).toBe("heartbeat");
        expect(eseal.decode(subtopic, payload)).toEqual({
            status: "ignored",
            reason: "heartbeat",
            observedAt: Date.parse("2025-03-01T08:00:00Z"),
        });
    });

    it("encode puts reads on 'seal' and round-trips", () => {
        const { subtopic, payload } = eseal.encode(read);
        expect(subtopic).toBe("seal");
        expect(eseal.decode(subtopic, payload).status).toBe("reading");
    });

    const mutate = (patch: Record<string, unknown>) => bytes({ ...read, ...patch });
    it.each([
        ["unknown subtopic", "status", bytes(read)],
        ["nested subtopic", "seal/HGT-00012345/x", bytes(read)],
        ["topic seal id differs", "seal/OTHER", bytes(read)],
        ["read on heartbeat", "heartbeat", bytes(read)],
        ["heartbeat with a sub-path", "heartbeat/x", bytes({ msg: "heartbeat", readerId: "R1", ts: read.ts })],
        ["heartbeat without readerId", "heartbeat", bytes({ msg: "heartbeat", ts: read.ts })],
        ["not JSON", "seal", new TextEncoder().encode("{msg:read")],
        ["not UTF-8", "seal", Uint8Array.from([0x7b, 0xff, 0x7d])],
        ["an array", "seal", bytes([read])],
        ["null", "seal", bytes(null)],
        ["missing sealId", "seal", mutate({ sealId: undefined })],
        ["empty sealId", "seal", mutate({ sealId: "" })],
        ["sealId of 65 chars", "seal", mutate({ sealId: "A".repeat(65) })],
        ["sealId with a control char", "seal", mutate({ sealId: "A\u0001B" })],
        ["sealId with a leading space", "seal", mutate({ sealId: " AB" })],
        ["sealId a number", "seal", mutate({ sealId: 12345 })],
        ["unknown type", "seal", mutate({ type: "RFID" })],
        ["unknown status", "seal", mutate({ status: "sealed" })],
        ["battery pct 101", "seal", mutate({ battery: { pct: 101, low: false } })],
        ["battery pct negative", "seal", mutate({ battery: { pct: -1, low: false } })],
        ["battery without low", "seal", mutate({ battery: { pct: 50 } })],
        ["battery a number", "seal", mutate({ battery: 50 })],
        ["17 alerts", "seal", mutate({ alerts: Array.from({ length: 17 }, () => "DOOR_OPEN") })],
        ["lower-case alert", "seal", mutate({ alerts: ["door_open"] })],
        ["alerts a string", "seal", mutate({ alerts: "DOOR_OPEN" })],
        ["rssi a string", "seal", mutate({ rssi: "-61" })],
        ["readerId empty", "seal", mutate({ readerId: "" })],
        ["missing ts", "seal", mutate({ ts: undefined })],
        ["ts without zone", "seal", mutate({ ts: "2025-03-01T08:15:30" })],
        ["ts 30 February", "seal", mutate({ ts: "2024-02-30T00:00:00Z" })],
        ["ts a number", "seal", mutate({ ts: 1_740_000_000_000 })],
        ["oversized payload", "seal", bytes({ ...read, pad: "x".repeat(4096) })],
    ])("rejects %s", (_name, subtopic, payload) => {
        const result = eseal.decode(subtopic, payload);
        expect(result.status).toBe("invalid");
        if (result.status === "invalid") expect(result.reason).not.toBe("");
    });

    it("round-trips generated read messages", () => {
        const id = fc.stringMatching(/^[A-Z0-9][A-Z0-9-]{0,20}[A-Z0-9]$/);
        const message = fc.record(
            {
                msg: fc.constant("read" as const),
                sealId: id,
                type: fc.constantFrom("ISO18185" as const, "GPS" as const, "OTHER" as const),
                status: fc.constantFrom("SEALED" as const, "OPENED" as const, "TAMPERED" as const, "UNKNOWN" as const),
                battery: fc.record(
                    { pct: fc.integer({ min: 0, max: 100 }), low: fc.boolean() },
                    { requiredKeys: ["low"] },
                ),
                alerts: fc.array(
                    fc.constantFrom("ROUTE_DEVIATION", "OVERSTAY", "GPS_LOST", "DOOR_OPEN", "ROPE_CUT", "X_1"),
                    { maxLength: 16 },
                ),
                readerId: id,
                rssi: fc.integer({ min: -120, max: 0 }),
                ts: fc
                    .date({
                        min: new Date("2000-01-01T00:00:00Z"),
                        max: new Date("2099-12-31T23:59:59Z"),
                        noInvalidDate: true,
                    })
                    .map((d) => d.toISOString()),
            },
            { requiredKeys: ["msg", "sealId", "type", "status", "ts"] },
        );
        fc.assert(
            fc.property(message, (m) => {
                const { subtopic, payload } = eseal.encode(m);
                const { msg: _msg, ts, ...values } = m;
                expect(eseal.decode(subtopic, payload)).toEqual({
                    status: "reading",
                    values: { ...values, alerts: m.alerts ?? [] },
                    observedAt: Date.parse(ts),
                });
            }),
            { numRuns: 200 },
        );
    });
});

describe("registry", () => {
    const deviceFiles = readdirSync(new URL("../../devices/", import.meta.url))
        // The registries and their types: index.ts and types.ts (input devices), displays.ts and display-types.ts.
        .filter((f) => f.endsWith(".ts") && !["index.ts", "types.ts", "displays.ts", "display-types.ts"].includes(f))
        .map((f) => f.slice(0, -3))
        .sort();

    it("lists every model file exactly once, under its file name", () => {
        const ids = [...modelIds(), ...inspectionModels.map((m) => m.model), ...displayModelIds()];
        expect(ids.sort()).toEqual(deviceFiles);
        expect(new Set(ids).size).toBe(models.length + inspectionModels.length + displayModelIds().length);
    });

    it("getModel finds every model and nothing else", () => {
        for (const m of models) expect(getModel(m.model)).toBe(m);
        expect(getModel("no-such-model")).toBeUndefined();
        expect(getModel("")).toBeUndefined();
    });

    it("the registry and validateModels agree that the list is sound", () => {
        expect(() => validateModels(models)).not.toThrow();
    });

    describe.each(models.map((m) => [m.model, m] as const))("%s", (id, model) => {
        it("is the `definition` export of devices/<id>.ts", async () => {
            const mod = (await import(`../../devices/${id}.ts`)) as { definition: DeviceModel };
            expect(mod.definition).toBe(model);
        });

        it("passes validateDefinition with no problems", () => {
            expect(definitionProblems(model)).toEqual([]);
        });

        it("has kind and transport consistent and metadata filled in", () => {
            expect(model.vendor).not.toBe("");
            expect(model.description).not.toBe("");
            const transports: Record<DeviceModel["kind"], string[]> = {
                weight: ["serial"],
                scan: ["serial"],
                seal: ["mqtt", "tcp-listen"],
                plate: ["onvif", "http-push"],
                plc: ["opcua"],
            };
            expect(transports[model.kind]).toContain(model.transport);
        });

        it("answers edge-case input with a DecodeResult and a reason when nothing is read", () => {
            const inputs = [new Uint8Array(), Uint8Array.of(0), Uint8Array.of(0xff), new Uint8Array(5000).fill(0x41)];
            for (const input of inputs) {
                const text = Buffer.from(input).toString("latin1");
                const result: DecodeResult<unknown> =
                    model.transport === "mqtt"
                        ? model.decode("seal", input)
                        : model.transport === "serial" || model.transport === "tcp-listen"
                          ? model.decode(input)
                          : model.transport === "http-push"
                            ? model.decode({
                                  path: model.paths[0]!,
                                  contentType: "application/octet-stream",
                                  body: input,
                              })
                            : model.transport === "onvif"
                              ? model.decode(text)
                              : model.decode("Barrier.State", text);
                expect(["reading", "ignored", "invalid"]).toContain(result.status);
                if (result.status !== "reading") expect(result.reason).not.toBe("");
            }
        });

        if (model.kind === "weight") {
            it("encodes a frame that its own framer cuts out whole and decodes as a reading", () => {
                for (const s of [state(24560), state(-20, { motion: true }), state(0)]) {
                    expect(model.decode(onlyFrame(model.framer, model.encode(s))).status).toBe("reading");
                }
            });

            it("a corrupt frame is invalid", () => {
                expect(
                    model.decode(onlyFrame(model.framer, model.encode(state(24560), { corrupt: true }))).status,
                ).toBe("invalid");
            });

            it("request models: poll → commandFramer → respond → framer → reading; continuous models have none", () => {
                if (model.mode === "continuous") {
                    expect(model.poll).toBeUndefined();
                    expect(model.respond).toBeUndefined();
                    return;
                }
                expect(model.poll?.intervalMs).toBeGreaterThan(0);
                const command = onlyFrame(model.commandFramer!, Uint8Array.from(model.poll!.command));
                const answer = model.respond!(command, state(24560));
                expect(answer).toBeDefined();
                expect(model.decode(onlyFrame(model.framer, answer!))).toEqual(reading(w(24560)));
            });
        }
    });

    it("validateDefinition rejects broken definitions with every problem listed", () => {
        const broken = [
            [{ ...toledo, model: "Toledo Continuous" }, /kebab-case/],
            [{ ...toledo, transport: "mqtt" }, /transport/],
            [{ ...toledo, decode: undefined }, /decode/],
            [{ ...toledo, framer: { type: "start-end", start: 2, end: 2, trailer: 0, maxLength: 18 } }, /same byte/],
            [
                { ...toledo, framer: { type: "start-end", start: 2, end: 13, trailer: 20, maxLength: 18 } },
                /cannot hold/,
            ],
            [{ ...toledo, framer: { type: "delimiter", delimiter: [], maxLength: 10 } }, /delimiter/],
            [{ ...toledo, framer: { type: "delimiter", delimiter: [256], maxLength: 0 } }, /maxLength/],
            [{ ...toledo, framer: { type: "regex" } }, /framer.type/],
            [{ ...toledo, respond: sics.respond }, /continuous/],
            [{ ...sics, poll: undefined }, /poll/],
            [{ ...sics, commandFramer: undefined }, /commandFramer/],
            [{ ...sics, mode: "push" }, /mode/],
            [{ ...sics, serialDefaults: { ...sics.serialDefaults, dataBits: 9 } }, /serialDefaults/],
            [{ ...eseal, maxPayloadBytes: 0 }, /maxPayloadBytes/],
            [{ ...eseal, kind: "plate" }, /transport of a plate model/],
            [{ ...eseal, kind: "camera" }, /kind is unknown/],
            [null, /not an object/],
        ] as const;
        for (const [def, problem] of broken) {
            expect(definitionProblems(def).join("; ")).toMatch(problem);
            try {
                validateDefinition(def);
                expect.unreachable(`accepted ${JSON.stringify(def)}`);
            } catch (err) {
                expect(isGateError(err, "CONFIG_INVALID")).toBe(true);
            }
        }
    });

    describe.each(inspectionModels.map((m) => [m.model, m] as const))("inspection model %s", (id, model) => {
        it("is the `definition` export of devices/<id>.ts, found by getInspectionModel only", async () => {
            const mod = (await import(`../../devices/${id}.ts`)) as { definition: unknown };
            expect(mod.definition).toBe(model);
            expect(getInspectionModel(id)).toBe(model);
            expect(getModel(id)).toBeUndefined();
        });

        it("passes validateDefinition with no problems; a broken layout or size limit is named", () => {
            expect(definitionProblems(model)).toEqual([]);
            expect(definitionProblems({ ...model, layout: { type: "file", suffix: "n42" } }).join()).toMatch(/layout/);
            expect(definitionProblems({ ...model, layout: { type: "package", manifest: "../m.json" } }).join()).toMatch(
                /layout/,
            );
            expect(definitionProblems({ ...model, maxEntryBytes: 0 }).join()).toMatch(/maxEntryBytes/);
            expect(definitionProblems({ ...model, transport: "http-push" }).join()).toMatch(/transport of a/);
        });
    });

    it("validateModels rejects duplicate ids", () => {
        expect(() => validateModels([toledo, sics, { ...toledo }])).toThrow(/duplicate id/);
    });
});

describe("issue 15: every frame and command of the manuals", () => {
    const toledo17 = "02 2A 30 20 30 32 34 35 36 30 30 30 30 30 30 30 0D";
    const scaleOf = (model: DeviceModel | undefined): ScaleModel => {
        if (model?.kind !== "weight") throw new Error("not a scale model");
        return model;
    };
    const noChecksum = scaleOf(getModel("toledo-continuous", { checksum: false }));

    it("toledo-continuous with checksum: false reads the manual's 17-byte frame, streamed back to back", () => {
        const stream = hex(`${toledo17} ${toledo17} ${toledo17}`);
        const { frames } = cutFrames(noChecksum.framer, stream);
        expect(frames.map(toHex)).toEqual([toledo17, toledo17, toledo17]);
        expect(frames.map((frame) => noChecksum.decode(frame))).toEqual([1, 2, 3].map(() => reading(w(24560))));
        expect(toHex(noChecksum.encode(state(24560)))).toBe(toledo17);
        expect(noChecksum.decode(noChecksum.encode(state(24560), { corrupt: true })).status).toBe("invalid");
    });

    it("toledo-continuous keeps the checksum by default: 17-byte frames and bad checksums are refused", () => {
        const { frames } = cutFrames(toledo.framer, hex(`${toledo17} ${toledo17} ${toledo17}`));
        expect(frames.length).toBeGreaterThan(0);
        for (const frame of frames)
            expect(toledo.decode(frame)).toEqual({ status: "invalid", reason: "checksum mismatch" });
        expect(toledo.decode(hex(`${toledo17} 27`))).toEqual({ status: "invalid", reason: "checksum mismatch" });
        expect(toledo.decode(hex(toledo17))).toMatchObject({ status: "invalid" });
        expect(scaleOf(getModel("toledo-continuous", { checksum: true })).decode(hex(`${toledo17} 26`))).toEqual(
            reading(w(24560)),
        );
    });

    it("a device config's options reach the model: checksum: false is accepted for toledo-continuous only", () => {
        const configWith = (model: string, options: string) => `
gate: { id: HN01 }
storage: { path: ./data/gate.db }
lanes:
  - id: L1
    devices:
      - { id: scale-l1, model: ${model}, address: "tcp://10.0.0.5:4001", options: ${options} }
`;
        const config = parseConfig(configWith("toledo-continuous", "{ checksum: false }"), { env: {} });
        const device = config.lanes[0]?.devices[0];
        expect(device?.options).toEqual({ checksum: false });
        const model = scaleOf(getModel(device?.model ?? "", device?.options));
        expect(model.decode(onlyFrame(model.framer, hex(toledo17)))).toEqual(reading(w(24560)));
        const refused = (text: string): string[] => {
            try {
                parseConfig(text, { env: {} });
            } catch (err) {
                if (isGateError(err, "CONFIG_INVALID")) return [...err.details];
                throw err;
            }
            return [];
        };
        expect(refused(configWith("mettler-toledo-sics", "{ checksum: false }"))).toContain(
            "lanes[0].devices[0].options.checksum: model mettler-toledo-sics has no options",
        );
        expect(refused(configWith("toledo-continuous", "{ checksum: 0 }")).length).toBeGreaterThan(0);
    });

    it("only declared options are accepted, with booleans", () => {
        expect(modelOptionProblems(toledo, { checksum: false }, "options")).toEqual([]);
        expect(modelOptionProblems(toledo, { crc: false }, "options")).toEqual([
            "options.crc: model toledo-continuous has no such option (it has checksum)",
        ]);
        expect(modelOptionProblems(toledo, { checksum: "no" }, "options")).toEqual([
            "options.checksum: must be a boolean",
        ]);
        expect(modelOptionProblems(sics, { checksum: false }, "options")).toEqual([
            "options.checksum: model mettler-toledo-sics has no options",
        ]);
        expect(definitionProblems({ ...toledo, withOptions: undefined })).toContain(
            "options without a withOptions function",
        );
    });

    const sicsEffect = (command: string, s: ScaleState) => sics.effect?.(ascii(`${command}\r\n`), s);
    const indicator = { serialNumber: "B123456789", aboutLine: 0 };

    it("MT-SICS Z outside the zero range answers Z + / Z -, in motion Z I, and does not zero", () => {
        const cmd = ascii("Z\r\n");
        expect(text(sics.respond(cmd, state(24560, { zeroRange: "above" })))).toBe("Z +\r\n");
        expect(text(sics.respond(cmd, state(-2000, { zeroRange: "below" })))).toBe("Z -\r\n");
        expect(text(sics.respond(cmd, state(24560, { zeroRange: "above", motion: true })))).toBe("Z I\r\n");
        expect(text(sics.respond(cmd, state(10, { zeroRange: "within" })))).toBe("Z A\r\n");
        expect(sicsEffect("Z", state(24560, { zeroRange: "above" }))).toBeUndefined();
        expect(sicsEffect("Z", state(10, { motion: true }))).toBeUndefined();
        expect(sicsEffect("Z", state(10, { zeroRange: "within" }))).toBe("zero");
    });

    it("MT-SICS @ resets and answers I4 A with the serial number", () => {
        expect(text(sics.respond(ascii("@\r\n"), state(24560), indicator))).toBe('I4 A "B123456789"\r\n');
        expect(sicsEffect("@", state(24560))).toBe("reset");
        expect(sicsEffect("SIR", state(24560))).toBe("repeat");
    });

    it.each([
        ["Z A", "zero done"],
        ["Z I", "zero not executed (busy or in motion)"],
        ["Z +", "zero refused: upper limit exceeded"],
        ["Z -", "zero refused: lower limit exceeded"],
        ['I4 A "B123456789"', "serial number"],
        ['I4 A "SN 0042"', "serial number"],
        ["ES", "indicator reports a syntax error"],
    ])("the gate's MT-SICS model ignores (not rejects) %j", (line, reason) => {
        const bytes = ascii(`${line}\r\n`);
        expect(sics.decode(onlyFrame(sics.framer, bytes))).toEqual({ status: "ignored", reason });
    });

    it("the gate's MT-SICS model still rejects a broken serial answer (I4 A \"unterminated)", () => {
        expect(sics.decode(onlyFrame(sics.framer, ascii('I4 A "B12\r\n'))).status).toBe("invalid");
    });

    const smaCmd = (c: string) => ascii(`\n${c}\r`);
    it("SMA Z with a load outside the zero range answers the zero error (E, dashes), and has no effect", () => {
        const loaded = state(24560, { zeroRange: "above" });
        expect(text(sma.respond(smaCmd("Z"), loaded))).toBe(`\nE1G  ${"-".repeat(10)}kg \r`);
        expect(toHex(sma.respond(smaCmd("Z"), loaded) ?? new Uint8Array())).toBe(
            "0A 45 31 47 20 20 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 6B 67 20 0D",
        );
        expect(sma.effect?.(smaCmd("Z"), loaded)).toBeUndefined();
        expect(sma.effect?.(smaCmd("Z"), state(20, { zeroRange: "within" }))).toBe("zero");
        expect(text(sma.respond(smaCmd("Z"), state(20)))).toBe(`\n${smaBody("Z", "G", " ", "0", "kg")}\r`);
    });

    it("SMA H, S, Q answer high resolution; Q in motion times out with dashes; R and S repeat", () => {
        expect(text(sma.respond(smaCmd("H"), state(24560)))).toBe(`\n${smaBody(" ", "g", " ", "24560", "kg")}\r`);
        expect(text(sma.respond(smaCmd("S"), state(24560)))).toBe(`\n${smaBody(" ", "g", " ", "24560", "kg")}\r`);
        expect(text(sma.respond(smaCmd("Q"), state(24560)))).toBe(`\n${smaBody(" ", "g", " ", "24560", "kg")}\r`);
        expect(text(sma.respond(smaCmd("Q"), state(24560, { motion: true })))).toBe(
            `\n${smaBody(" ", "g", "M", "-".repeat(10), "kg")}\r`,
        );
        expect(text(sma.respond(smaCmd("R"), state(7025)))).toBe(`\n${smaBody(" ", "G", " ", "7025", "kg")}\r`);
        expect(sma.effect?.(smaCmd("R"), state(1))).toBe("repeat");
        expect(sma.effect?.(smaCmd("S"), state(1))).toBe("repeat");
        expect(sma.effect?.(smaCmd("W"), state(1))).toBeUndefined();
    });

    it("SMA T tares (net 0) or answers the tare error; M answers the tare (n = T)", () => {
        expect(text(sma.respond(smaCmd("T"), state(14000)))).toBe(`\n${smaBody("Z", "N", " ", "0", "kg")}\r`);
        expect(sma.effect?.(smaCmd("T"), state(14000))).toBe("tare");
        expect(text(sma.respond(smaCmd("T"), state(14000, { motion: true })))).toBe(
            `\n${smaBody("T", "G", "M", "-".repeat(10), "kg")}\r`,
        );
        expect(sma.effect?.(smaCmd("T"), state(14000, { motion: true }))).toBeUndefined();
        expect(text(sma.respond(smaCmd("M"), state(10560, { tareKg: 14000 })))).toBe(
            `\n${smaBody(" ", "T", " ", "14000", "kg")}\r`,
        );
    });

    it("SMA D answers the diagnostics line, A the SMA level, B the about lines in turn", () => {
        expect(toHex(sma.respond(smaCmd("D"), state(0)) ?? new Uint8Array())).toBe("0A 20 20 20 20 0D");
        expect(text(sma.respond(smaCmd("A"), state(0)))).toBe("\nSMA:2/1.0\r");
        const lines = [0, 1, 2, 3, 9].map((aboutLine) =>
            text(sma.respond(smaCmd("B"), state(0), { serialNumber: "x", aboutLine })),
        );
        expect(lines).toEqual([
            "\nMFG:gate-edge simulator\r",
            "\nMOD:sma-scale\r",
            "\nREV:1.0\r",
            "\nEND:\r",
            "\nEND:\r",
        ]);
        expect(sma.effect?.(smaCmd("A"), state(0))).toBe("about-restart");
        expect(sma.effect?.(smaCmd("B"), state(0))).toBe("about-next");
        expect(text(sma.respond(smaCmd("X"), state(0)))).toBe("\n?\r");
    });

    it.each([
        ["zero error", `\nE1G  ${"-".repeat(10)}kg \r`, "zero error"],
        ["tare error", `\nT1G  ${"-".repeat(10)}kg \r`, "tare error"],
        ["Q time-out", `\n 1gM ${"-".repeat(10)}kg \r`, "no weight (dashes)"],
        ["tare value", `\n 1T  ${"14000".padStart(10)}kg \r`, "tare value"],
        ["unknown command", "\n?\r", "indicator did not recognise the command"],
        ["communication error", "\n!\r", "indicator reports a communication error"],
        ["diagnostics ok", "\n    \r", "diagnostics: ok"],
        ["diagnostics faults", "\nRE  \r", "diagnostics: RAM/ROM, EEPROM error"],
        ["about", "\nSMA:2/1.0\r", "information line"],
        ["about end", "\nEND:\r", "information line"],
    ])("the gate's SMA model ignores (not rejects) the %s reply", (_name, reply, reason) => {
        expect(sma.decode(onlyFrame(sma.framer, ascii(reply)))).toEqual({ status: "ignored", reason });
    });

    const sealMessage = {
        sealId: "HGT-00012345",
        type: "GPS",
        status: "SEALED",
        battery: { pct: 87, low: false },
        sealedAt: "2025-03-01T06:00:00Z",
        openedAt: null,
        rssi: -61,
        readerId: "R1",
        lat: 21.8475,
        lon: 106.7612,
        alerts: ["ROUTE_DEVIATION"],
        ts: "2025-03-01T08:15:30Z",
    };
    const json = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));

    it("the e-seal model reads the reference's normalised seal message, which has no msg", () => {
        const expected = {
            status: "reading",
            values: {
                sealId: "HGT-00012345",
                type: "GPS",
                status: "SEALED",
                battery: { pct: 87, low: false },
                alerts: ["ROUTE_DEVIATION"],
                readerId: "R1",
                rssi: -61,
            },
            observedAt: Date.parse("2025-03-01T08:15:30Z"),
        };
        expect(eseal.decode("seal", json(sealMessage))).toEqual(expected);
        expect(eseal.decode("seal/HGT-00012345", json(sealMessage))).toEqual(expected);
        expect(eseal.decode("seal", json({ ...sealMessage, msg: "read" }))).toEqual(expected);
    });

    it("a message on the seal topic that says what else it is, is that", () => {
        expect(eseal.decode("seal", json({ msg: "heartbeat", readerId: "R1", ts: sealMessage.ts }))).toEqual({
            status: "ignored",
            reason: "heartbeat",
            observedAt: Date.parse(sealMessage.ts),
        });
        expect(eseal.decode("seal", json({ ...sealMessage, msg: "status" }))).toEqual({
            status: "ignored",
            reason: "status message",
        });
        expect(eseal.decode("seal", json({ ...sealMessage, msg: 7 })).status).toBe("invalid");
        expect(eseal.decode("heartbeat", json(sealMessage)).status).toBe("invalid");
    });
});
