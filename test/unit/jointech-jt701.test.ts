/**
 * The JT701 model against frames real locks and trackers sent, as published with Traccar's JT600
 * decoder tests (hex for binary frames, text as is), and the cut of a byte stream into frames.
 */
import { describe, expect, it } from "vitest";
import { definition as jt701, parseBinaryFrame } from "../../devices/jointech-jt701.ts";

const hex = (text: string) => Uint8Array.from(Buffer.from(text, "hex"));
const text = (frame: string) => Uint8Array.from(Buffer.from(frame, "latin1"));
const answer = (frame: Uint8Array) => {
    const bytes = jt701.acknowledge(frame);
    return bytes === undefined ? undefined : Buffer.from(bytes).toString("latin1");
};

/** JT701, protocol 0x19: status 0x20e0 = answer wanted, rope in, motor locked, back cover closed. */
const JT701_LOCKED =
    "2480413009781914003406102107544354193631006213423b00000000006c070000000020e064f91ea0671d00020f0f0f0f0f0f0f0f0f0f07f100ea0f6e";
/** JT701, protocol 0x17: status 0x20c0 = rope in, locked, no answer wanted. */
const JT701_V17 = "2475801263981711002713061813333723501622090221558f012f0000002a070000000020c055b88552191f000f0f0f07";
/** Long format, protocol 0x16 (one record, no geofence block): status 0x20c0, battery 60 %. */
const LONG_V16 = "2475604055531611002311111600311326144436028210791d016c0000001f070000000020c03c4f6d07d80ccf";
/** JT600 tracker, short format version 1: position 22.54977 N, 114.07705 W at 2011-02-16 05:59:10. */
const TRACKER_SHORT = "24311021600111001B16021105591022329862114046227B0598095080012327951435161F";

describe("jointech-jt701: binary frames", () => {
    it("a locked JT701 is SEALED with its id, battery, position and time, and is answered (P69,0,index)", () => {
        const result = jt701.decode(hex(JT701_LOCKED));
        expect(result).toEqual({
            status: "reading",
            values: {
                sealId: "8041300978",
                type: "GPS",
                status: "SEALED",
                alerts: [],
                battery: { pct: 100, low: false },
                position: { lat: 54.322718, lon: -6.355705 },
            },
            observedAt: Date.UTC(2021, 9, 6, 7, 54, 43),
        });
        expect(answer(hex(JT701_LOCKED))).toBe("(P69,0,110)");
    });

    it("protocol 0x17 reads the same way and wants no answer without status bit 5", () => {
        const result = jt701.decode(hex(JT701_V17));
        expect(result.status).toBe("reading");
        if (result.status !== "reading") return;
        expect(result.values).toMatchObject({ sealId: "7580126398", status: "SEALED", battery: { pct: 85 } });
        expect(answer(hex(JT701_V17))).toBeUndefined();
    });

    it("status bits become the seal's state and alerts: rope cut and back cover are tampering, an open motor is OPENED", () => {
        const withStatus = (status: number, battery = 0x50) => {
            const frame = hex(JT701_LOCKED);
            frame[36] = status >> 8;
            frame[37] = status & 0xff;
            frame[38] = battery;
            return jt701.decode(frame);
        };
        const ropeCut = withStatus(0x20e0 | (1 << 3));
        expect(ropeCut).toMatchObject({ status: "reading", values: { status: "TAMPERED", alerts: ["ROPE_CUT"] } });
        const cover = withStatus((0x20e0 & ~(1 << 13)) | (1 << 12));
        expect(cover).toMatchObject({ values: { status: "TAMPERED", alerts: ["BACK_COVER_OPEN"] } });
        expect(withStatus(0x2060)).toMatchObject({ values: { status: "OPENED" } }); // motor unlocked
        expect(withStatus(0x20a0)).toMatchObject({ values: { status: "OPENED" } }); // rope out
        const low = withStatus(0x20e0 | (1 << 11) | (1 << 4), 0xff);
        expect(low).toMatchObject({
            values: { status: "SEALED", alerts: ["VIBRATION", "LOW_BATTERY"], battery: { low: true } },
        });
        expect(low.status === "reading" && low.values.battery?.pct).toBeUndefined(); // 0xFF: charging, no level
    });

    it("a frame without a GPS fix keeps the state and drops position and time, with no alert (not a trip's GPS_LOST)", () => {
        const frame = hex(JT701_LOCKED);
        frame[24] = (frame[24] ?? 0) & 0xfe;
        const result = jt701.decode(frame);
        expect(result).toMatchObject({ status: "reading", values: { status: "SEALED", alerts: [] } });
        expect(result.status === "reading" && (result.values.position ?? result.observedAt)).toBeUndefined();
    });

    it("protocol 0x16 has no geofence block; a battery byte neither 0-100 % nor 0xFF is invalid, not a guess", () => {
        expect(jt701.decode(hex(LONG_V16))).toMatchObject({
            status: "reading",
            values: { sealId: "7560405553", status: "SEALED", battery: { pct: 60, low: false } },
            observedAt: Date.UTC(2016, 10, 11, 0, 31, 13),
        });
        const badBattery = hex(LONG_V16);
        badBattery[38] = 0x6c;
        expect(jt701.decode(badBattery)).toMatchObject({ status: "invalid", reason: /battery/ });
    });

    it("a JT600 tracker's short frame is read for its position but is no seal reading", () => {
        const parsed = parseBinaryFrame(hex(TRACKER_SHORT));
        expect(typeof parsed).toBe("object");
        if (typeof parsed === "string") return;
        expect(parsed.lockId).toBe("3110216001");
        expect(parsed.records[0]?.lat).toBeCloseTo(22.54977, 4);
        expect(parsed.records[0]?.lon).toBeCloseTo(-114.07705, 4);
        expect(parsed.records[0]?.at).toBe(Date.UTC(2011, 1, 16, 5, 59, 10));
        expect(jt701.decode(hex(TRACKER_SHORT))).toEqual({
            status: "ignored",
            reason: "tracker position without lock state",
        });
        // Six re-uploaded records in one short frame.
        const six =
            "2440811188882400A209060908045322564025113242329F0598000001003F0000002D0009060908050322564025113242329F0598000001003F0000002D0009060908051322564025113242329F0598000001003F0000002D0009060908052322564025113242329F0598000001003F0000002D0009060908053322564025113242329F0598000001003F0000002D0009060908054322564025113242329F0598000001003F0000002D001F";
        const many = parseBinaryFrame(hex(six));
        expect(typeof many === "object" && many.records.length).toBe(6);
    });

    it("a wrong length, a non-BCD id or a cut-short frame is invalid", () => {
        const frame = hex(JT701_LOCKED);
        expect(jt701.decode(frame.subarray(0, frame.length - 1)).status).toBe("invalid");
        const badId = hex(JT701_LOCKED);
        badId[1] = 0xab;
        expect(jt701.decode(badId)).toMatchObject({ status: "invalid", reason: "lock id is not BCD" });
    });

    it("encode makes the frame decode reads back", () => {
        const at = new Date(Date.UTC(2026, 11, 7, 10, 30, 5));
        const frame = jt701.encode({
            lockId: "7010000123",
            at,
            lat: 21.0285,
            lon: 105.8542,
            gpsValid: true,
            ropeInserted: true,
            locked: true,
            battery: 87,
            alarms: ["ROPE_CUT"],
            index: 7,
        });
        expect(jt701.cut(frame)).toEqual({ type: "frame", length: frame.length });
        expect(jt701.decode(frame)).toEqual({
            status: "reading",
            values: {
                sealId: "7010000123",
                type: "GPS",
                status: "TAMPERED",
                alerts: ["ROPE_CUT"],
                battery: { pct: 87, low: false },
                position: { lat: 21.0285, lon: 105.8542 },
            },
            observedAt: at.getTime(),
        });
        expect(answer(frame)).toBe("(P69,0,7)");
    });
});

describe("jointech-jt701: text frames", () => {
    it("P45 lock events are readings of UNKNOWN state with LOCK_EVENT and the position, answered (P69,0,index)", () => {
        const event = text("(2050018634,P45,051124,204046,9.861502,N,83.950336,W,A,1,0,1,1,0012260888,0,0,0)");
        expect(jt701.decode(event)).toEqual({
            status: "reading",
            values: {
                sealId: "2050018634",
                type: "GPS",
                status: "UNKNOWN",
                alerts: ["LOCK_EVENT"],
                position: { lat: 9.861502, lon: -83.950336 },
            },
            observedAt: Date.UTC(2024, 10, 5, 20, 40, 46),
        });
        expect(answer(event)).toBe("(P69,0,0)");
        const southern = text("(8000632862,P45,290322,132412,25.28217,S,57.54683,W,A,0,0,5,0,0000000000,0,0,9,0)");
        expect(jt701.decode(southern)).toMatchObject({ values: { position: { lat: -25.28217, lon: -57.54683 } } });
        expect(answer(southern)).toBe("(P69,0,9)");
    });

    it("heartbeats, tracker reports and peripheral frames are ignored; U01-U03 get (S39), U06 (S20)", () => {
        expect(jt701.decode(text("(3460311327,@JT)"))).toEqual({ status: "ignored", reason: "heartbeat" });
        const u01 = text(
            "(3301210003,U01,040812,185302,T,22.564025,N,113.242329,E,5.21,152,9,32%,00000000000011,10133,5173,22,100,1)",
        );
        expect(jt701.decode(u01)).toEqual({ status: "ignored", reason: "U01 report carries no lock state" });
        expect(answer(u01)).toBe("(S39)");
        const u06 = text(
            "(3460311327,U06,11,220916,135643,T,9.552553,N,13.658265,W,0.61,0,9,100%,00000001000000,11012,10,30,0,0,126,0,30)",
        );
        expect(answer(u06)).toBe("(S20)");
        const w01 = text("(3110312099,W01,11404.6204,E,2232.9961,N,A,040511,063736,4,7,100,4,17,1,1,company)");
        expect(jt701.decode(w01).status).toBe("ignored");
        expect(jt701.decode(text("(6221107674,2,U09,129,2,A,280513113036,E,02711.0500,S,1721.0876)")).status).toBe(
            "ignored",
        );
        const peripheral = hex(
            "28383035343230313937332c312c3136382c574c4e45542c352c322c3d15022508595325169288057327940900003d1502250859551021220618730140644701011d4300000029",
        );
        expect(jt701.decode(peripheral)).toEqual({ status: "ignored", reason: "peripheral sensor report" });
    });

    it("malformed text frames are invalid and get no answer", () => {
        for (const bad of [
            "(abc,P45)",
            "(2050018634,P45,051124,204046,x,N,83.9,W,A,1,0,1,1,1,0,0,0)",
            "(1234567890,zz)",
        ]) {
            expect(jt701.decode(text(bad)).status).toBe("invalid");
            expect(answer(text(bad))).toBeUndefined();
        }
        expect(jt701.decode(Uint8Array.of(0x28, 0x3d, 0x42, 0x29))).toMatchObject({
            reason: "unknown escape sequence",
        });
    });
});

describe("jointech-jt701: cutting a byte stream", () => {
    it("finds binary and text frames, skips garbage before them and waits for the rest of a frame", () => {
        const binary = hex(JT701_LOCKED);
        const heartbeat = text("(3460311327,@JT)");
        expect(jt701.cut(Uint8Array.of(0x00, 0x41, 0x24))).toEqual({ type: "skip", length: 2 });
        expect(jt701.cut(binary.subarray(0, 20))).toEqual({ type: "more" });
        expect(jt701.cut(binary)).toEqual({ type: "frame", length: binary.length });
        expect(jt701.cut(Buffer.concat([heartbeat, binary]))).toEqual({ type: "frame", length: heartbeat.length });
        expect(jt701.cut(heartbeat.subarray(0, 5))).toEqual({ type: "more" });
    });

    it("a length no lock sends, or a text frame with no end within maxFrameBytes, is skipped byte by byte", () => {
        const hugeLength = Uint8Array.from([0x24, 0x80, 0x41, 0x30, 0x09, 0x78, 0x11, 0xff, 0xff, 0x00]);
        expect(jt701.cut(hugeLength)).toEqual({ type: "skip", length: 1 });
        const endless = new Uint8Array(jt701.maxFrameBytes + 10).fill(0x41);
        endless[0] = 0x28;
        expect(jt701.cut(endless)).toEqual({ type: "skip", length: 1 });
    });
});
