import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/load.ts";
import { createLogger, deviceLogger } from "../../src/core/logger.ts";

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
});
