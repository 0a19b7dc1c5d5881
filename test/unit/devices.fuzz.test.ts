/**
 * Property tests: decoders take any bytes without throwing and never invent a reading. "Invent" is
 * checked against reference decoders written here from domain.md, independently of devices/: a model
 * may yield a reading only for a frame the reference also accepts, with the same values.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { definition as eseal } from "../../devices/eseal-mqtt-json.ts";
import { inspectionModels, models } from "../../devices/index.ts";
import { definition as jt701 } from "../../devices/jointech-jt701.ts";
import { definition as sics } from "../../devices/mettler-toledo-sics.ts";
import { definition as rpm } from "../../devices/n42-rpm.ts";
import { MANIFEST, definition as nii } from "../../devices/nii-scan-package.ts";
import { definition as scanner } from "../../devices/serial-barcode-scanner.ts";
import { definition as sma } from "../../devices/sma-scale.ts";
import { definition as toledo } from "../../devices/toledo-continuous.ts";
import type { DecodeResult, DeviceModel, ScaleModel, ScaleState } from "../../devices/types.ts";
import { definition as a9 } from "../../devices/yaohua-xk3190-a9.ts";
import type { SealValues, WeightValues } from "../../src/core/events.ts";
import { classifyScanPayload } from "../../src/core/identifiers.ts";

const RUNS = { numRuns: 1000 };
const chars = (bytes: ArrayLike<number>) => Array.from(bytes, (b) => String.fromCharCode(b)).join("");
const plus0 = (n: number) => n + 0;

function values(kg: number, flags: Partial<WeightValues>): WeightValues {
    const motion = flags.motion ?? false;
    return {
        kg: plus0(kg),
        stable: !motion,
        motion,
        overload: false,
        underload: false,
        zero: kg === 0,
        net: false,
        ...flags,
    };
}

/** Asserts a decode answered a well-formed result and returns it. */
function checked<V>(result: DecodeResult<V>): DecodeResult<V> {
    expect(["reading", "ignored", "invalid"]).toContain(result.status);
    if (result.status !== "reading") expect(result.reason.length).toBeGreaterThan(0);
    return result;
}

/** A reading must equal the reference's; a frame the reference refuses must not be a reading. */
function agreesWithReference<V>(result: DecodeResult<V>, reference: V | undefined): void {
    if (result.status === "reading") expect(result.values).toEqual(reference);
}

// ---------------------------------------------------------------------------------------------------------------------
// Reference decoders, written from domain.md §2 without the models' helpers.

function refToledo(f: Uint8Array): WeightValues | undefined {
    if (f.length !== 18) return undefined;
    const b = Array.from(f, (x) => x & 0x7f);
    // Checksum as "everything including the checksum sums to 0 mod 128".
    if (b[0] !== 0x02 || b[16] !== 0x0d || b.reduce((a, x) => a + x, 0) % 128 !== 0) return undefined;
    const [swa = 0, swb = 0, swc = 0] = b.slice(1, 4);
    const text = chars(b.slice(4, 16));
    const field = (s: string) => (/^ *[0-9]+$/.test(s) ? Number(s) : undefined);
    const shown = field(text.slice(0, 6));
    const tare = field(text.slice(6));
    if (shown === undefined || tare === undefined) return undefined;
    const unit = swc & 7;
    if (unit > 2) return undefined;
    const exp = 2 - (swa & 7);
    const lb = unit === 0 && !(swb & 0x10);
    const kgOf = (n: number) => (lb ? Number(`${n}e${exp}`) * 0.45359237 : Number(`${n}e${exp + [0, -3, 3][unit]!}`));
    const negative = (swb & 2) !== 0;
    const outOfRange = (swb & 4) !== 0;
    const motion = (swb & 8) !== 0;
    const kg = negative ? -kgOf(shown) : kgOf(shown);
    return values(kg, {
        motion,
        stable: !motion && !(swb & 0x40),
        overload: outOfRange && !negative,
        underload: outOfRange && negative,
        net: (swb & 1) !== 0,
        ...(tare !== 0 ? { tareKg: kgOf(tare) } : {}),
    });
}

function refA9(f: Uint8Array): WeightValues | undefined {
    if (f.length !== 12 || f[0] !== 0x02 || f[11] !== 0x03) return undefined;
    const m = /^([+-])(\d{6})([0-4])$/.exec(chars(f.slice(1, 9)));
    const xor = f.slice(1, 9).reduce((a, b) => a ^ b, 0);
    if (!m || chars(f.slice(9, 11)) !== xor.toString(16).toUpperCase().padStart(2, "0")) return undefined;
    return values(Number(`${m[1]}${m[2]}e-${m[3]}`), { stable: true, motion: false });
}

const UNIT_EXP: Readonly<Record<string, number>> = { kg: 0, t: 3, g: -3 };
function unitKg(value: string, unit: string): number {
    return unit === "lb" ? Number(value) * 0.45359237 : Number(`${value}e${UNIT_EXP[unit]}`);
}

function refSics(f: Uint8Array): WeightValues | undefined {
    const text = chars(f);
    if (/[^ -~\t\r\n]/.test(text)) return undefined;
    const range = /^\s*S\s+([+-])\s*$/.exec(text);
    if (range) return values(0, { stable: false, zero: false, [range[1] === "+" ? "overload" : "underload"]: true });
    const m = /^\s*S\s+([SD])\s+([+-]?\d+(?:\.\d+)?)\s+(kg|t|g|lb)\s*$/.exec(text);
    if (!m) return undefined;
    return values(unitKg(m[2] ?? "", m[3] ?? ""), { motion: m[1] === "D" });
}

function refSma(f: Uint8Array): WeightValues | undefined {
    const m = /^\n([ ZOU])[1-9]([GgNn])([M ])[ -~]([ -~]{10})(kg |lb |t {2}|g {2})\r$/.exec(chars(f));
    if (!m) return undefined;
    const [, s, n, motion, rawField = "", unit = ""] = m;
    const field = rawField.trim();
    const flags = {
        motion: motion === "M",
        overload: s === "O",
        underload: s === "U",
        zero: s === "Z",
        net: n === "N" || n === "n",
    };
    if (/^-{2,}$/.test(field) && (s === "O" || s === "U")) return values(0, { ...flags, stable: false });
    if (!/^-?\d+(?:\.\d+)?$/.test(field)) return undefined;
    return values(unitKg(field, unit.trim()), flags);
}

// ---------------------------------------------------------------------------------------------------------------------

const stateArb: fc.Arbitrary<ScaleState> = fc
    .record({
        kg: fc.oneof(
            fc.integer({ min: -99_999, max: 999_999 }),
            fc.integer({ min: -99_999, max: 999_999 }).map((m) => m / 100),
        ),
        motion: fc.boolean(),
        range: fc.constantFrom("in", "over", "under"),
    })
    .map(({ kg, motion, range }) => ({
        kg,
        motion,
        overload: range === "over" && kg > 0,
        underload: range === "under" && kg < 0,
    }));

/** A valid frame with one byte replaced by a different value. */
const mutated = (model: ScaleModel) =>
    fc.tuple(stateArb, fc.nat(), fc.integer({ min: 1, max: 255 })).map(([s, at, delta]) => {
        const original = model.encode(s);
        const frame = original.slice();
        const i = at % frame.length;
        frame[i] = ((frame[i] ?? 0) + delta) & 0xff;
        return { original, frame, i };
    });

/** Byte-stream and MQTT models take raw bytes; camera and PLC models have fuzz tests of their own input. */
const byteModels = models.filter(
    (model): model is Extract<DeviceModel, { transport: "serial" | "mqtt" | "tcp-listen" }> =>
        model.transport === "serial" || model.transport === "mqtt" || model.transport === "tcp-listen",
);

describe("every byte-stream and MQTT model takes random bytes without throwing", () => {
    for (const model of byteModels) {
        it(model.model, () => {
            fc.assert(
                fc.property(
                    fc.uint8Array({ maxLength: 80 }),
                    fc.constantFrom("seal", "heartbeat", "seal/X", "x"),
                    (bytes, subtopic) => {
                        checked<unknown>(
                            model.transport === "mqtt" ? model.decode(subtopic, bytes) : model.decode(bytes),
                        );
                        if (model.transport !== "tcp-listen") return;
                        // A listener's cut must always make progress or wait: never a zero-length frame.
                        const cut = model.cut(bytes);
                        expect(cut.type === "more" || (cut.length >= 1 && cut.length <= bytes.length)).toBe(true);
                        // Answers take any bytes too: an answer is text in parentheses or nothing.
                        expect(Buffer.from(model.acknowledge(bytes) ?? "(none)").toString("latin1")).toMatch(
                            /^\(.*\)$/,
                        );
                    },
                ),
                RUNS,
            );
        });
    }
});

describe("toledo-continuous (7-bit checksum)", () => {
    it("random bytes yield a reading only where the reference accepts the frame", () => {
        fc.assert(
            fc.property(fc.uint8Array({ minLength: 0, maxLength: 24 }), (bytes) => {
                agreesWithReference(checked(toledo.decode(bytes)), refToledo(bytes));
            }),
            RUNS,
        );
    });

    it("frame-shaped random bytes: model and reference agree on every frame, reading or not", () => {
        const digit = fc.oneof(
            { weight: 30, arbitrary: fc.integer({ min: 0x30, max: 0x39 }).map((d) => d | (d % 3 === 0 ? 0x80 : 0)) },
            { weight: 1, arbitrary: fc.constantFrom(0x20, 0x41, 0x0d) },
        );
        const status = fc.oneof(fc.integer({ min: 0x20, max: 0x7f }), fc.integer({ min: 0, max: 255 }));
        const swc = fc.oneof(fc.constantFrom(0x20, 0x21, 0x22, 0x23), fc.integer({ min: 0, max: 255 }));
        const body = fc.tuple(status, status, swc, fc.array(digit, { minLength: 12, maxLength: 12 }));
        fc.assert(
            fc.property(
                body,
                fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 255 })),
                fc.boolean(),
                ([a, b, c, digits], delta, parity) => {
                    const head = [0x02, a, b, c, ...digits, 0x0d];
                    const sum = head.reduce((s, x) => s + (x & 0x7f), 0);
                    const frame = Uint8Array.from([
                        ...head,
                        ((128 - (sum % 128) + delta) & 0x7f) | (parity ? 0x80 : 0),
                    ]);
                    const reference = refToledo(frame);
                    const result = checked(toledo.decode(frame));
                    expect(result.status === "reading").toBe(reference !== undefined);
                    agreesWithReference(result, reference);
                },
            ),
            RUNS,
        );
    });

    it("one changed byte is invalid unless only the parity bit changed, which reads the same", () => {
        fc.assert(
            fc.property(mutated(toledo), ({ original, frame, i }) => {
                const result = checked(toledo.decode(frame));
                if ((((original[i] ?? 0) ^ (frame[i] ?? 0)) & 0x7f) !== 0) expect(result.status).toBe("invalid");
                else expect(result).toEqual(toledo.decode(original));
                agreesWithReference(result, refToledo(frame));
            }),
            RUNS,
        );
    });
});

describe("yaohua-xk3190-a9 (XOR checksum)", () => {
    it("random bytes yield a reading only where the reference accepts the frame", () => {
        const frameShaped = fc
            .tuple(
                fc.constantFrom(0x2b, 0x2d, 0x20),
                fc.array(fc.integer({ min: 0x2f, max: 0x3a }), { minLength: 7, maxLength: 7 }),
                fc.uint8Array({ minLength: 2, maxLength: 2 }),
            )
            .map(([sign, body, check]) => Uint8Array.from([0x02, sign, ...body, ...check, 0x03]));
        fc.assert(
            fc.property(fc.oneof(fc.uint8Array({ maxLength: 16 }), frameShaped), (bytes) => {
                agreesWithReference(checked(a9.decode(bytes)), refA9(bytes));
            }),
            RUNS,
        );
    });

    it("one changed byte is always invalid", () => {
        fc.assert(
            fc.property(mutated(a9), ({ frame }) => {
                expect(checked(a9.decode(frame)).status).toBe("invalid");
            }),
            RUNS,
        );
    });
});

describe("mettler-toledo-sics and sma-scale (no checksum: readings must follow the grammar)", () => {
    const space = fc.constantFrom(" ", "  ", "\t", " \r");
    const sicsNumber = fc.oneof(
        fc.integer({ min: -99_999, max: 999_999 }).map((n) => String(n / 100)),
        fc.constantFrom("24560", "+7", "0", "-0", "1e3", "2,5", "1.", ".5", "#", "0.001"),
    );
    const sicsToken = fc.constantFrom("S", "D", "I", "+", "-", "24560", "kg", "t", "lb", "oz", "ES", "Z", "A", "#");
    const sicsWords = fc.oneof(
        // Mostly weight lines with an occasional wrong part, so readings and near misses both occur often.
        fc.tuple(
            fc.constantFrom("S", "S", "S", "S", "SI", "s"),
            fc.constantFrom("S", "S", "D", "D", "I", "+", "-", "X"),
            sicsNumber,
            fc.constantFrom("kg", "kg", "kg", "t", "g", "lb", "oz", "KG", ""),
            fc.constantFrom("", "", "", "", "extra"),
        ),
        fc.array(sicsToken, { maxLength: 5 }),
    );
    const sicsLine = fc
        .tuple(sicsWords, fc.array(space, { minLength: 6, maxLength: 6 }), fc.boolean())
        .map(([words, spaces, lead]) => {
            const line = words
                .filter((w) => w !== "")
                .map((w, i) => w + (spaces[i] ?? " "))
                .join("");
            return Uint8Array.from(`${lead ? " " : ""}${line}`, (c) => c.charCodeAt(0));
        });

    const smaField = fc.oneof(
        fc.integer({ min: -99_999, max: 999_999 }).map((n) => String(n / 100).padStart(10)),
        fc.integer({ min: 0, max: 9_999_999_999 }).map((n) => String(n).padStart(10)),
        fc.constantFrom(
            "-".repeat(10),
            "  --------",
            "    24#560",
            "     +2456",
            "24560     ",
            " ".repeat(10),
            "    -     ",
            "   1.2.3  ",
        ),
    );
    const smaFrame = fc
        .tuple(
            // Repeated entries weight the valid choices, so each frame has few wrong parts.
            fc.constantFrom(..."    ZZOOUUETIX"),
            fc.constantFrom(..."111112x "),
            fc.constantFrom(..."GGGGgNNnTQ"),
            fc.constantFrom(..."MMM   Q"),
            fc.constantFrom(" ", " ", " ", "R", "\u0007"),
            smaField,
            fc.constantFrom("kg ", "kg ", "kg ", "lb ", "t  ", "g  ", "oz ", " kg", "KG "),
        )
        .map((parts) => Uint8Array.from(`\n${parts.join("")}\r`, (c) => c.charCodeAt(0)));

    it("structured SICS lines: a reading exactly when the reference grammar reads one, with its values", () => {
        fc.assert(
            fc.property(sicsLine, (bytes) => {
                const reference = refSics(bytes);
                const result = checked(sics.decode(bytes));
                expect(result.status === "reading").toBe(reference !== undefined);
                agreesWithReference(result, reference);
            }),
            RUNS,
        );
    });

    it("structured SMA frames: a reading exactly when the reference grammar reads one, with its values", () => {
        fc.assert(
            fc.property(smaFrame, (bytes) => {
                const reference = refSma(bytes);
                const result = checked(sma.decode(bytes));
                expect(result.status === "reading").toBe(reference !== undefined);
                agreesWithReference(result, reference);
            }),
            RUNS,
        );
    });

    it("random bytes never leave the grammar", () => {
        fc.assert(
            fc.property(fc.uint8Array({ maxLength: 24 }), (bytes) => {
                agreesWithReference(checked(sics.decode(bytes)), refSics(bytes));
                agreesWithReference(checked(sma.decode(bytes)), refSma(bytes));
            }),
            RUNS,
        );
    });

    it("a changed byte in a valid frame never throws and never leaves the grammar", () => {
        const stripCrLf = (f: Uint8Array) => f.slice(0, -2);
        fc.assert(
            fc.property(mutated(sics), ({ frame }) => {
                const line = stripCrLf(frame);
                agreesWithReference(checked(sics.decode(line)), refSics(line));
            }),
            RUNS,
        );
        fc.assert(
            fc.property(mutated(sma), ({ frame }) => {
                agreesWithReference(checked(sma.decode(frame)), refSma(frame));
            }),
            RUNS,
        );
    });
});

describe("serial-barcode-scanner", () => {
    it("a reading is a non-empty printable payload, classified, with a well-formed symbology", () => {
        const bytes = fc.oneof(
            fc.uint8Array({ maxLength: 40 }),
            fc.string({ unit: "grapheme", maxLength: 30 }).map((s) => new TextEncoder().encode(s)),
            fc
                .constantFrom("]Q1", "]C0", "]", "\n", "\u0000")
                .chain((p) => fc.string({ maxLength: 20 }).map((s) => new TextEncoder().encode(p + s))),
        );
        fc.assert(
            fc.property(bytes, (frame) => {
                const result = checked(scanner.decode(frame));
                if (result.status !== "reading") return;
                const { symbology, payload, parsed } = result.values;
                expect(symbology).toMatch(/^(?:\][A-Za-z][0-9]|unknown)$/);
                expect(payload.length).toBeGreaterThan(0);
                expect(payload).toBe(payload.trim());
                expect(/\p{Cc}/u.test(payload)).toBe(false);
                expect(parsed).toEqual(classifyScanPayload(payload));
            }),
            RUNS,
        );
    });
});

// ---------------------------------------------------------------------------------------------------------------------
// E-seal: a reference validator written from the model's documented rules.

function refSeal(json: unknown): { values: SealValues; observedAt: number } | undefined {
    if (typeof json !== "object" || json === null || Array.isArray(json)) return undefined;
    const o = json as Record<string, unknown>;
    const id = (v: unknown): v is string => typeof v === "string" && /^[ -~]{1,64}$/.test(v) && v.trim() === v;
    // A message on the seal topic is a read unless it says otherwise.
    if ((o.msg !== undefined && o.msg !== "read") || !id(o.sealId)) return undefined;
    if (!["ISO18185", "GPS", "OTHER"].includes(o.type as string)) return undefined;
    if (!["SEALED", "OPENED", "TAMPERED", "UNKNOWN"].includes(o.status as string)) return undefined;
    const ts = o.ts;
    if (typeof ts !== "string" || !/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?(?:Z|[+-]\d\d:\d\d)$/.test(ts))
        return undefined;
    const observedAt = Date.parse(ts);
    if (!Number.isFinite(observedAt)) return undefined;
    // The calendar date written must be the real one (Date.parse rolls 30 February over).
    const offset = ts.endsWith("Z")
        ? 0
        : (ts.at(-6) === "-" ? -1 : 1) * (Number(ts.slice(-5, -3)) * 60 + Number(ts.slice(-2)));
    if (new Date(observedAt + offset * 60_000).toISOString().slice(0, 10) !== ts.slice(0, 10)) return undefined;
    const values: SealValues = {
        sealId: o.sealId,
        type: o.type as SealValues["type"],
        status: o.status as SealValues["status"],
        alerts: [],
    };
    if (o.battery !== undefined) {
        const b = o.battery as Record<string, unknown>;
        if (typeof b !== "object" || b === null || Array.isArray(b) || typeof b.low !== "boolean") return undefined;
        if (b.pct !== undefined && (typeof b.pct !== "number" || b.pct < 0 || b.pct > 100)) return undefined;
        values.battery = b.pct === undefined ? { low: b.low } : { pct: b.pct, low: b.low };
    }
    if (o.alerts !== undefined) {
        const a = o.alerts;
        if (
            !Array.isArray(a) ||
            a.length > 16 ||
            !a.every((x) => typeof x === "string" && /^[A-Z][A-Z0-9_]{0,31}$/.test(x))
        )
            return undefined;
        values.alerts = a as string[];
    }
    if (o.readerId !== undefined) {
        if (!id(o.readerId)) return undefined;
        values.readerId = o.readerId;
    }
    if (o.rssi !== undefined) {
        if (typeof o.rssi !== "number") return undefined;
        values.rssi = o.rssi;
    }
    return { values, observedAt };
}

describe("eseal-mqtt-json", () => {
    // Mostly valid fields, sometimes any JSON value, sometimes absent (JSON.stringify drops undefined).
    const maybe = <T>(valid: fc.Arbitrary<T>) =>
        fc.oneof(
            { weight: 16, arbitrary: valid as fc.Arbitrary<unknown> },
            { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 1 }) },
            { weight: 1, arbitrary: fc.constant(undefined) },
        );
    const iso = fc
        .date({ min: new Date("1990-01-01T00:00:00Z"), max: new Date("2100-01-01T00:00:00Z"), noInvalidDate: true })
        .map((d) => d.toISOString());
    const message = fc.record(
        {
            msg: maybe(fc.constant("read")),
            sealId: maybe(
                fc.oneof(
                    { weight: 6, arbitrary: fc.stringMatching(/^[A-Z0-9][A-Z0-9-]{0,10}$/) },
                    { weight: 1, arbitrary: fc.string({ maxLength: 70 }) },
                    { weight: 1, arbitrary: fc.constantFrom("", " A", "A ", "A".repeat(64), "A".repeat(65), "\u00e9") },
                ),
            ),
            type: maybe(fc.constantFrom("ISO18185", "GPS", "OTHER", "ISO18185", "GPS", "OTHER", "RFID")),
            status: maybe(fc.constantFrom("SEALED", "OPENED", "TAMPERED", "UNKNOWN", "SEALED", "OPENED", "sealed")),
            battery: maybe(
                fc.record(
                    {
                        pct: fc.oneof(fc.integer({ min: -5, max: 105 }), fc.double()),
                        low: fc.oneof(fc.boolean(), fc.constant("no")),
                    },
                    { requiredKeys: [] },
                ),
            ),
            alerts: maybe(
                fc.array(
                    fc.oneof(
                        { weight: 8, arbitrary: fc.constantFrom("DOOR_OPEN", "ROPE_CUT", "NEW_1") },
                        { weight: 1, arbitrary: fc.string({ maxLength: 6 }) },
                    ),
                    {
                        maxLength: 18,
                    },
                ),
            ),
            readerId: maybe(fc.stringMatching(/^[ -~]{0,66}$/)),
            rssi: maybe(fc.integer({ min: -120, max: 0 })),
            ts: maybe(
                fc.oneof(
                    iso,
                    iso.map((t) => t.replace("Z", "+07:00")),
                    fc.constantFrom(
                        "2024-02-30T00:00:00Z",
                        "2024-02-29T23:59:59.123456Z",
                        "2025-03-01T08:15:30",
                        "2024-01-01T24:00:00Z",
                        "2023-02-29T00:00:00-05:00",
                    ),
                ),
            ),
        },
        { requiredKeys: ["msg", "sealId", "type", "status", "ts"] },
    );

    it("a generated message is a reading exactly when the reference validator accepts it, with the same values", () => {
        fc.assert(
            fc.property(message, (m) => {
                const payload = new TextEncoder().encode(JSON.stringify(m));
                const reference = refSeal(JSON.parse(JSON.stringify(m)));
                const result = eseal.decode("seal", payload);
                checked(result);
                // A message that names itself something other than a read (a gateway's "status", a
                // heartbeat) is not a read; the model says what it is rather than calling it invalid.
                const other = typeof m.msg === "string" && /^[a-z][a-z_-]{0,31}$/.test(m.msg) && m.msg !== "read";
                if (other) expect(result.status).not.toBe("reading");
                else expect(result.status).toBe(reference ? "reading" : "invalid");
                if (reference && result.status === "reading") {
                    expect(result.values).toEqual(reference.values);
                    expect(result.observedAt).toBe(reference.observedAt);
                }
            }),
            RUNS,
        );
    });

    it("a changed byte in an encoded read never throws and only reads what the reference accepts", () => {
        const valid = fc.record(
            {
                msg: fc.constant("read"),
                sealId: fc.stringMatching(/^[A-Z0-9][A-Z0-9-]{0,10}$/),
                type: fc.constantFrom("ISO18185", "GPS", "OTHER"),
                status: fc.constantFrom("SEALED", "OPENED", "TAMPERED", "UNKNOWN"),
                battery: fc.record(
                    { pct: fc.integer({ min: 0, max: 100 }), low: fc.boolean() },
                    { requiredKeys: ["low"] },
                ),
                alerts: fc.array(fc.constantFrom("DOOR_OPEN", "ROPE_CUT", "GPS_LOST"), { maxLength: 4 }),
                readerId: fc.stringMatching(/^R[0-9]{1,3}$/),
                rssi: fc.integer({ min: -120, max: 0 }),
                ts: iso,
            },
            { requiredKeys: ["msg", "sealId", "type", "status", "ts"] },
        );
        fc.assert(
            fc.property(valid, fc.nat(), fc.integer({ min: 1, max: 255 }), (m, at, delta) => {
                expect(refSeal(m)).toBeDefined();
                const payload = new TextEncoder().encode(JSON.stringify(m));
                const i = at % payload.length;
                payload[i] = ((payload[i] ?? 0) + delta) & 0xff;
                const result = checked(eseal.decode("seal", payload));
                if (result.status !== "reading") return;
                const reference = refSeal(JSON.parse(new TextDecoder().decode(payload)));
                expect(reference?.values).toEqual(result.values);
            }),
            { numRuns: 300 },
        );
    });
});

describe("jointech-jt701", () => {
    const report = fc.record({
        lockId: fc.stringMatching(/^\d{10}$/),
        at: fc.date({
            min: new Date("2001-01-02T00:00:00Z"),
            max: new Date("2098-12-31T23:59:59Z"),
            noInvalidDate: true,
        }),
        lat: fc.double({ min: -89.9, max: 89.9, noNaN: true }),
        lon: fc.double({ min: -179.9, max: 179.9, noNaN: true }),
        gpsValid: fc.boolean(),
        ropeInserted: fc.boolean(),
        locked: fc.boolean(),
        battery: fc.oneof(fc.integer({ min: 0, max: 100 }), fc.constant("charging" as const)),
        alarms: fc.subarray(["ROPE_CUT", "VIBRATION", "LOW_BATTERY", "BACK_COVER_OPEN", "MOTOR_FAULT"]),
        index: fc.integer({ min: 0, max: 255 }),
    });

    it("an encoded report reads back: id, state from rope/motor/alarms, battery, position to 1e-5 degrees", () => {
        fc.assert(
            fc.property(report, (r) => {
                const frame = jt701.encode(r);
                expect(jt701.cut(frame)).toEqual({ type: "frame", length: frame.length });
                const result = jt701.decode(frame);
                expect(result.status).toBe("reading");
                if (result.status !== "reading") return;
                const tampered = r.alarms.includes("ROPE_CUT") || r.alarms.includes("BACK_COVER_OPEN");
                const expected = tampered ? "TAMPERED" : r.ropeInserted && r.locked ? "SEALED" : "OPENED";
                expect(result.values.sealId).toBe(r.lockId);
                expect(result.values.status).toBe(expected);
                expect(result.values.battery?.low).toBe(r.alarms.includes("LOW_BATTERY"));
                expect(result.values.battery?.pct).toBe(r.battery === "charging" ? undefined : r.battery);
                // No fix: no position, and no GPS_LOST either (that is the monitoring centre's trip alert).
                expect(result.values.alerts.includes("GPS_LOST")).toBe(false);
                if (r.gpsValid) {
                    expect(Math.abs((result.values.position?.lat ?? 999) - r.lat)).toBeLessThan(1e-5);
                    expect(Math.abs((result.values.position?.lon ?? 999) - r.lon)).toBeLessThan(1e-5);
                    expect(result.observedAt).toBe(Math.floor(r.at.getTime() / 1000) * 1000);
                } else expect(result.values.position).toBeUndefined();
            }),
            RUNS,
        );
    });

    it("one changed byte in an encoded frame never throws and, outside the id, never reads another lock", () => {
        fc.assert(
            fc.property(report, fc.nat(), fc.integer({ min: 1, max: 255 }), (r, at, delta) => {
                const frame = jt701.encode(r);
                const i = at % frame.length;
                frame[i] = ((frame[i] ?? 0) + delta) & 0xff;
                const result = checked(jt701.decode(frame));
                // The id lives in bytes 1-5: any other change keeps the lock's identity.
                if (result.status === "reading" && (i < 1 || i > 5)) expect(result.values.sealId).toBe(r.lockId);
            }),
            RUNS,
        );
    });
});

// ---------------------------------------------------------------------------------------------------------------------
// Inspection-area models (devices/n42-rpm.ts, devices/nii-scan-package.ts): documents from a shared folder.

describe("inspection models take any file without throwing", () => {
    for (const model of inspectionModels) {
        it(`${model.model}: random bytes as the file or the manifest`, () => {
            fc.assert(
                fc.property(fc.uint8Array({ maxLength: 200 }), fc.string({ maxLength: 200 }), (bytes, text) => {
                    const name = model.layout.type === "file" ? "x.n42" : MANIFEST;
                    for (const content of [bytes, new TextEncoder().encode(text)]) {
                        const entry = {
                            name: model.layout.type === "file" ? name : "pkg",
                            files: new Map([[name, content]]),
                        };
                        expect(checked<unknown>(model.decode(entry)).status).not.toBe("reading");
                    }
                }),
                RUNS,
            );
        });
    }

    const rpmReport = {
        uuid: "0f8fad5b-d9cb-469f-a165-70867728950e",
        instrument: { manufacturer: "Sim", model: "RPM-SIM", serial: "S1" },
        detectors: [
            { id: "Aa1", category: "gamma" },
            { id: "Aa1N", category: "neutron" },
        ],
        start: new Date("2026-12-07T06:00:00Z"),
        sliceMs: 200,
        backgroundCps: [1000, 2],
        slices: [
            { counts: [200, 0], occupied: false },
            { counts: [400, 1], occupied: true },
        ],
        speedKmh: 7.2,
        alarms: [{ category: "Gamma", detectors: ["Aa1"] }],
        nuclides: [{ name: "K-40", identified: true, category: "NORM" }],
        faults: [],
    } as const;

    it("n42-rpm: a changed byte never throws, and a reading it still yields is self-consistent", () => {
        const entry = rpm.encode(rpmReport);
        const bytes = entry.files.get(entry.name) ?? new Uint8Array();
        fc.assert(
            fc.property(fc.nat({ max: bytes.length - 1 }), fc.integer({ min: 0, max: 255 }), (at, value) => {
                const changed = Uint8Array.from(bytes);
                changed[at] = value;
                const result = checked(rpm.decode({ name: entry.name, files: new Map([[entry.name, changed]]) }));
                if (result.status !== "reading" || result.values.type !== "occupancy") return;
                const v = result.values.values;
                expect(v.alarm).toBe(v.alarmCategories.length > 0);
                expect(v.assessment === "clear").toBe(!v.alarm);
                for (const d of v.detectors) {
                    expect(Number.isFinite(d.peakCps) && d.peakCps >= 0).toBe(true);
                    for (const n of d.slices) expect(Number.isFinite(n) && n >= 0).toBe(true);
                }
            }),
            RUNS,
        );
    });

    it("nii-scan-package: a changed image byte is never a reading; a changed manifest byte never invents an image", () => {
        const picture = new Uint8Array([
            0xff,
            0xd8,
            0xff,
            0xe0,
            ...Array.from({ length: 60 }, (_, i) => i),
            0xff,
            0xd9,
        ]);
        const entry = nii.encode({
            scanId: "S1",
            scanner: "HN1",
            scannedAt: "2026-12-07T13:05:00+07:00",
            result: "suspicious",
            plates: ["15C12345"],
            containers: [],
            images: [{ name: "top.jpg", view: "top", contentType: "image/jpeg", bytes: picture }],
            regions: [{ image: 0, x: 0.1, y: 0.1, width: 0.2, height: 0.2, label: "mass" }],
        });
        const manifest = entry.files.get(MANIFEST) ?? new Uint8Array();
        fc.assert(
            fc.property(fc.nat({ max: picture.length - 1 }), fc.integer({ min: 1, max: 255 }), (at, flip) => {
                const files = new Map(entry.files);
                const changed = Uint8Array.from(picture);
                changed[at] = (changed[at] ?? 0) ^ flip;
                files.set("top.jpg", changed);
                expect(checked(nii.decode({ name: entry.name, files })).status).toBe("invalid");
            }),
            RUNS,
        );
        fc.assert(
            fc.property(fc.nat({ max: manifest.length - 1 }), fc.integer({ min: 0, max: 255 }), (at, value) => {
                const files = new Map(entry.files);
                const changed = Uint8Array.from(manifest);
                changed[at] = value;
                files.set(MANIFEST, changed);
                const result = checked(nii.decode({ name: entry.name, files }));
                if (result.status === "reading")
                    for (const image of result.values.images) expect(image.bytes).toEqual(picture);
            }),
            RUNS,
        );
    });
});
