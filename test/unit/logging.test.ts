import { Writable } from "node:stream";
import { afterEach, describe, expect, it, vi } from "vitest";
import { parseConfig } from "../../src/config/load.ts";
import { ManualClock } from "../../src/core/clock.ts";
import { BAD_INPUT_LOG_INTERVAL_MS, createLogger, deviceLogger, SummarizedWarning } from "../../src/core/logger.ts";

function capturingLogger() {
    const lines: string[] = [];
    const destination = new Writable({
        write(chunk, _encoding, callback) {
            lines.push(String(chunk));
            callback();
        },
    });
    return { log: createLogger({ level: "debug", destination }), lines };
}

describe("logging", () => {
    it("redacts passwords, tokens and authorization headers wherever they are logged", () => {
        const { log, lines } = capturingLogger();
        log.info({ password: "p1-secret", auth: { password: "p2-secret" }, central: { token: "t-secret" } }, "config");
        log.info({ req: { headers: { authorization: "Bearer h-secret", cookie: "sid=c-secret" } } }, "request");
        log.info({ broker: { password: "p3-secret" } }, "broker");
        const text = lines.join("");
        for (const secret of ["p1-secret", "p2-secret", "t-secret", "h-secret", "c-secret", "p3-secret"]) {
            expect(text).not.toContain(secret);
        }
        expect(text).toContain("[redacted]");
    });

    it("never has a device's plain password to log: the loaded config holds only its hash", () => {
        const { log, lines } = capturingLogger();
        const config = parseConfig(
            "gate: { id: G }\nstorage: { path: x.db }\nlanes:\n  - id: L1\n    devices:\n      - { id: s, model: eseal-mqtt-json, auth: { username: s, password: plain-text-pw } }\n",
        );
        log.info({ config }, "loaded");
        expect(lines.join("")).not.toContain("plain-text-pw");
    });

    it("binds the device id, lane and model to every line of a device's child logger", () => {
        const { log, lines } = capturingLogger();
        deviceLogger(log, { id: "scale-l1", laneId: "L1", model: "toledo-continuous" }).warn(
            { frame: "02ff" },
            "frame rejected",
        );
        expect(JSON.parse(lines[0]!)).toMatchObject({
            deviceId: "scale-l1",
            laneId: "L1",
            model: "toledo-continuous",
            frame: "02ff",
        });
    });

    describe("a flood of bad input", () => {
        afterEach(() => {
            vi.useRealTimers();
        });

        function summarized() {
            vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
            const { log, lines } = capturingLogger();
            const clock = new ManualClock();
            const warning = new SummarizedWarning(
                log,
                ["discardedBytes", "badFrames"],
                ({ discardedBytes, badFrames }, since) =>
                    `discarded ${discardedBytes} bytes, ${badFrames} bad frames since ${since}`,
                { clock },
            );
            /** Time passes for the clock and the timers alike. */
            const pass = (ms: number) => {
                clock.advance(ms);
                vi.advanceTimersByTime(ms);
            };
            const parsed = () => lines.map((line) => JSON.parse(line) as Record<string, unknown>);
            return { warning, pass, parsed };
        }

        it("writes the first problem at once and the rest as one summary per interval, with exact counts", () => {
            const { warning, pass, parsed } = summarized();
            warning.note({ badFrames: 1 }, { reason: "checksum", frame: "02ff" });
            expect(parsed()).toMatchObject([{ level: 40, badFrames: 1, discardedBytes: 0, reason: "checksum" }]);
            // 25 s of a babbling line: 100 chunks of noise and a bad frame every 250 ms.
            for (let i = 0; i < 100; i++) {
                warning.note({ discardedBytes: 64 }, { why: "bytes outside a frame" });
                warning.note({ badFrames: 1 }, { reason: "checksum" });
                pass(250);
            }
            warning.flush();
            const lines = parsed();
            // The first line, one per full interval, and what flush() wrote of the last partial one.
            expect(lines.length).toBe(1 + Math.floor(25_000 / BAD_INPUT_LOG_INTERVAL_MS) + 1);
            expect(lines.reduce((sum, line) => sum + Number(line.discardedBytes), 0)).toBe(6400);
            expect(lines.reduce((sum, line) => sum + Number(line.badFrames), 0)).toBe(101);
            expect(lines[1]?.msg).toMatch(/^discarded \d+ bytes, \d+ bad frames since \d{4}-\d\d-\d\dT/);
        });

        it("writes nothing more when nothing more came, and a lone problem after a quiet interval at once", () => {
            const { warning, pass, parsed } = summarized();
            warning.note({ discardedBytes: 3 }, { why: "half frame at disconnect" });
            pass(3 * BAD_INPUT_LOG_INTERVAL_MS);
            expect(parsed()).toHaveLength(1);
            warning.note({ discardedBytes: 5 }, { why: "half frame at disconnect" });
            expect(parsed().map((line) => line.discardedBytes)).toEqual([3, 5]);
        });
    });
});
