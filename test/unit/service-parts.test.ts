/**
 * The small parts of running as a service: the systemd notification messages and watchdog timing, the
 * built-in pretty log printer, and what a configuration reload counts as changed.
 */
import { afterEach, describe, expect, it } from "vitest";
import { diffConfig } from "../../src/config/diff.ts";
import type { GateEvent } from "../../src/core/events.ts";
import { createLogger, wantsPrettyLog } from "../../src/core/logger.ts";
import { formatLogLine } from "../../src/core/prettyLog.ts";
import { SdNotify, watchdogIntervalMs } from "../../src/core/sdNotify.ts";
import { decisionLogEntry } from "../../src/service.ts";
import { testConfig } from "../helpers/gate.ts";
import { tempDir, testLog } from "../helpers/tmp.ts";

function notifier(env: NodeJS.ProcessEnv) {
    const sent: string[][] = [];
    const timers: { fn: () => void; ms: number }[] = [];
    let release: (() => void) | undefined;
    const notify = new SdNotify({
        env,
        pid: 4242,
        log: testLog,
        transport: async (assignments) => {
            sent.push([...assignments]);
            // Holds watchdog pings in flight until released, like a helper waiting on its barrier.
            if (assignments[0] === "WATCHDOG=1" && env.HOLD === "1")
                await new Promise<void>((resolve) => {
                    release = resolve;
                });
        },
        setInterval: (fn, ms) => {
            timers.push({ fn, ms });
            return timers.length;
        },
        clearInterval: () => timers.splice(0),
    });
    return { notify, sent, timers, release: () => release?.() };
}

describe("sd_notify", () => {
    it("sends nothing at all without NOTIFY_SOCKET", async () => {
        const { notify, sent, timers } = notifier({ WATCHDOG_USEC: "30000000" });
        expect(notify.enabled).toBe(false);
        await notify.ready("ready");
        await notify.stopping();
        expect(sent).toEqual([]);
        expect(timers).toEqual([]);
    });

    it("READY=1 with a status, then watchdog pings at half WATCHDOG_USEC, STOPPING=1 at the stop", async () => {
        const { notify, sent, timers } = notifier({ NOTIFY_SOCKET: "/run/systemd/notify", WATCHDOG_USEC: "30000000" });
        await notify.ready("T01: 2/2 lane(s) ready");
        expect(sent).toEqual([["READY=1", "STATUS=T01: 2/2 lane(s) ready"]]);
        expect(timers.map((timer) => timer.ms)).toEqual([15_000]);
        const tick = () => new Promise((resolve) => setImmediate(resolve));
        timers[0]?.fn();
        await tick();
        notify.status("T01: 1/2 lane(s) ready");
        timers[0]?.fn();
        await tick();
        timers[0]?.fn();
        await tick();
        expect(sent.slice(1)).toEqual([
            ["WATCHDOG=1"],
            ["WATCHDOG=1", "STATUS=T01: 1/2 lane(s) ready"],
            ["WATCHDOG=1"],
        ]);
        await notify.reloading();
        await notify.reloaded("T01: 2/2 lane(s) ready");
        await notify.stopping();
        expect(sent.slice(-3)).toEqual([
            ["RELOADING=1", "STATUS=reloading the configuration"],
            ["READY=1", "STATUS=T01: 2/2 lane(s) ready"],
            ["STOPPING=1", "STATUS=stopping"],
        ]);
        notify.close();
        expect(timers).toEqual([]);
    });

    it("does not pile up pings while systemd-notify hangs", async () => {
        const { notify, sent, timers, release } = notifier({
            NOTIFY_SOCKET: "/run/systemd/notify",
            WATCHDOG_USEC: "2000000",
            HOLD: "1",
        });
        await notify.ready("ready");
        for (let i = 0; i < 5; i++) timers[0]?.fn();
        expect(sent.filter((message) => message[0] === "WATCHDOG=1").length).toBe(2);
        release();
    });

    it("takes the watchdog interval from WATCHDOG_USEC, only for the process WATCHDOG_PID names", () => {
        expect(watchdogIntervalMs({ WATCHDOG_USEC: "30000000" }, 1)).toBe(15_000);
        expect(watchdogIntervalMs({ WATCHDOG_USEC: "30000000", WATCHDOG_PID: "7" }, 7)).toBe(15_000);
        expect(watchdogIntervalMs({ WATCHDOG_USEC: "30000000", WATCHDOG_PID: "7" }, 8)).toBeUndefined();
        expect(watchdogIntervalMs({}, 1)).toBeUndefined();
        expect(watchdogIntervalMs({ WATCHDOG_USEC: "abc" }, 1)).toBeUndefined();
    });
});

describe("--pretty log lines", () => {
    const zone = process.env.TZ;
    afterEach(() => {
        if (zone === undefined) delete process.env.TZ;
        else process.env.TZ = zone;
    });

    it("shows date and time in the gate's time zone, level, where and message, then the other fields", () => {
        process.env.TZ = "Asia/Ho_Chi_Minh";
        const line = JSON.stringify({
            level: 40,
            time: "2026-01-02T03:04:05.678Z",
            service: "gate-edge",
            component: "reload",
            laneId: "L2",
            deviceId: "scale-l2",
            msg: "restart needed for: http.port",
            restartNeeded: ["http.port"],
            err: { message: "boom", stack: "Error: boom\n at x" },
            note: "two words",
        });
        expect(formatLogLine(line)).toBe(
            '2026-01-02 10:04:05 WARN  [reload L2 scale-l2] restart needed for: http.port  restartNeeded=["http.port"] err=boom note="two words"',
        );
        expect(formatLogLine("not json")).toBe("not json");
    });

    it("prints a lane decision as one line: date, lane, outcome, plates, the deciding reason", () => {
        process.env.TZ = "Asia/Ho_Chi_Minh";
        const decided = {
            seq: 7,
            type: "passage.decided",
            laneId: "L2",
            occurredAt: Date.parse("2026-01-02T17:30:00Z"),
            data: {
                passageId: "01PASSAGE",
                facts: { frontPlate: { text: "14C-301.72" }, rearPlate: { text: "14R-030.17" } },
                decision: {
                    decision: "HOLD",
                    decidingRule: "channel",
                    offline: false,
                    results: [
                        { rule: "plate-match", pass: true, reason: "front plate 14C30172 is the declared plate" },
                        {
                            rule: "channel",
                            pass: false,
                            reason: "declaration 305551234130 is YELLOW: documents to check",
                        },
                    ],
                },
                outcome: "HOLD",
            },
        } as unknown as GateEvent; // only the fields decisionLogEntry reads
        const entry = decisionLogEntry(decided);
        const lines: string[] = [];
        const log = createLogger({
            level: "info",
            pretty: true,
            destination: { write: (text: string) => lines.push(text) } as unknown as NodeJS.WritableStream, // a sink
        });
        log.child({ component: "lane" }).info(entry?.fields, entry?.message);
        expect(lines.join("")).toMatch(
            /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d INFO {2}\[lane L2\] HOLD 14C-301.72 \/ 14R-030.17 — declaration 305551234130 is YELLOW: documents to check\n$/,
        );
        expect(decisionLogEntry({ ...decided, type: "passage.updated" })).toBeUndefined();
    });

    it("is the console's format on a terminal or with GATE_LOG_FORMAT=pretty; JSON for the service, a file or a pipe", () => {
        expect(wantsPrettyLog({ isTTY: true }, {})).toBe(true);
        expect(wantsPrettyLog({ isTTY: false }, {})).toBe(false);
        expect(wantsPrettyLog({}, { GATE_LOG_FORMAT: "pretty" })).toBe(true);
        expect(wantsPrettyLog({ isTTY: true }, { GATE_LOG_FORMAT: "json" })).toBe(false);
    });
});

describe("configuration reload diff", () => {
    const dir = tempDir();
    const lane = (devices: string) => `  - id: L1\n    devices:\n${devices}`;
    const seal = (password: string) =>
        `      - { id: seal-1, model: eseal-mqtt-json, auth: { username: seal-1, password: ${password} } }\n`;
    const scanner = "      - { id: scan-1, model: serial-barcode-scanner, address: tcp://127.0.0.1:4002 }\n";

    it("sees added devices, changed passwords and rules, and names what needs a restart", () => {
        const before = testConfig(dir.path, lane(seal("one-password")));
        const same = { ...testConfig(dir.path, lane(seal("one-password"))), storage: before.storage };
        expect(diffConfig(before, same)).toEqual({ restartNeeded: [], rules: [], lanes: [] });

        const next = {
            ...testConfig(dir.path, lane(seal("other-password") + scanner), "rules: { weightTolerancePct: 7 }"),
            storage: before.storage,
            http: { ...before.http, port: 8099 },
        };
        const diff = diffConfig(before, next);
        expect(diff.restartNeeded).toEqual(["http.port"]);
        expect(diff.rules).toEqual(["rules.weightTolerancePct"]);
        expect(diff.lanes).toEqual([
            {
                laneId: "L1",
                kind: "changed",
                devicesAdded: ["scan-1"],
                devicesRemoved: [],
                devicesChanged: ["seal-1"],
                fields: [],
            },
        ]);
        dir.cleanup();
    });
});
