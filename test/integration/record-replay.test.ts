import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, describe, expect, it } from "vitest";
import { runGateCommand, runRecordCommand } from "../../simulators/gate/cli.ts";
import { readRecording } from "../../simulators/gate/record.ts";
import { replayRecording } from "../../simulators/gate/replay.ts";
import { runGateScenario } from "../../simulators/gate/runner.ts";
import { ScannerSimulator } from "../../simulators/scanner.ts";
import { TcpSerialServer } from "../../simulators/transport.ts";
import { eventually } from "../helpers/gate.ts";
import { captureIo } from "../helpers/io.ts";
import { tempDir, testLog } from "../helpers/tmp.ts";

const dir = tempDir();
afterAll(() => dir.cleanup());

const SCENARIO = "test/fixtures/gate-scenario-record.yaml";

/** Readings without the barrier's: the bench PLC makes those itself, in answer to the bench gate's commands. */
function withoutBarrier(readings: Record<string, Record<string, number>>): Record<string, Record<string, number>> {
    return Object.fromEntries(
        Object.entries(readings).map(([device, kinds]) => [
            device,
            Object.fromEntries(Object.entries(kinds).filter(([kind]) => kind !== "barrier")),
        ]),
    );
}

describe("record and replay", () => {
    it("records a whole-gate run and replays it into a fresh gate: the same readings per device and kind arrive", async () => {
        const file = join(dir.path, "short.jsonl");
        const run = await runGateScenario({
            scenarioFile: SCENARIO,
            workDir: join(dir.path, "recorded"),
            log: testLog,
            recordTo: file,
            // A recording holds the lanes' device traffic, not the inspection area's folders: left out here.
            inspectionArea: false,
        });
        const wrong = run.trucks
            .filter((t) => t.verdict !== "match")
            .map((t) => `truck ${t.index} ${t.kind}: ${t.expect} → ${t.actual} ${t.reasons.join("; ")}`);
        expect(wrong).toEqual([]);

        const recording = await readRecording(file);
        expect(recording.header.gateId).toBe("SCN01");
        expect(recording.header.devices).toHaveLength(12);
        const transports = new Set(recording.frames.map((frame) => frame.transport));
        expect([...transports].sort()).toEqual(["http-push", "mqtt", "onvif", "opcua", "serial"]);
        expect(recording.end?.frames).toBe(recording.frames.length);
        const recorded = recording.end?.readings ?? {};
        expect(recorded["scanner-l1"]?.scan).toBeGreaterThan(0);

        const replay = await replayRecording({
            file,
            clearance: { scenario: SCENARIO },
            workDir: join(dir.path, "replayed"),
            log: testLog,
        });
        // Every frame but the PLC's own outputs went back through its transport.
        for (const reason of Object.keys(replay.skipped)) expect(reason).toMatch(/PLC output/);
        expect(replay.undelivered).toEqual({});
        expect(replay.readingDifferences.filter((line) => !/ barrier: /.test(line))).toEqual([]);
        expect(withoutBarrier(replay.readings)).toEqual(withoutBarrier(recorded));
        // The same trucks, decided the same way.
        const decisions = (list: (string | null)[]) => list.map(String).sort();
        expect(decisions(replay.passages.map((p) => p.decision))).toEqual(decisions(run.trucks.map((t) => t.actual)));
        expect(replay.central?.holdsEveryEvent).toBe(true);
    }, 300_000);

    it("gate-edge record writes every raw frame of the gate it runs, with its time, until stopped", async () => {
        const link = new TcpSerialServer({ port: 0 });
        const scanner = new ScannerSimulator({ model: "serial-barcode-scanner", link, suffix: "CRLF" });
        await scanner.start();
        const config = join(dir.path, "record.yaml");
        writeFileSync(
            config,
            [
                "gate: { id: REC01, name: Record test }",
                `storage: { path: ${JSON.stringify(join(dir.path, "record.db"))} }`,
                "http: { host: 127.0.0.1, port: 0 }",
                "broker: { mode: embedded, host: 127.0.0.1, port: 0 }",
                "lanes:",
                "  - id: L1",
                "    devices:",
                `      - { id: scanner-l1, model: serial-barcode-scanner, address: "tcp://127.0.0.1:${link.port}" }`,
            ].join("\n"),
        );
        const out = join(dir.path, "record.jsonl");
        const controller = new AbortController();
        const run = captureIo();
        // The command logs its warnings to stderr ("no central.url configured"): not in the test's output.
        const level = process.env.GATE_LOG_LEVEL;
        process.env.GATE_LOG_LEVEL = "error";
        const done = runRecordCommand(["--config", config, "--out", out], { ...run.io, signal: controller.signal });
        try {
            await eventually(() => link.connected || undefined, 15_000, "the gate connecting to the scanner");
            const recorded = (text: string) =>
                (existsSync(out) && readFileSync(out, "utf8").includes(text)) || undefined;
            scanner.scan("101234567820");
            await eventually(() => recorded("101234567820"), 15_000, "the first scan recorded");
            // The time between the two scans is part of the scene the recording must keep (checked below),
            // not a wait for the gate: it starts once the first frame is in, so no load can shrink it.
            await sleep(300);
            scanner.scan("CSQU3054383");
            await eventually(() => recorded("CSQU3054383"), 15_000, "the second scan recorded");
        } finally {
            controller.abort();
        }
        expect(await done).toBe(0);
        if (level === undefined) delete process.env.GATE_LOG_LEVEL;
        else process.env.GATE_LOG_LEVEL = level;
        await scanner.stop();
        expect(run.out()).toContain("frame(s) recorded");
        const recording = await readRecording(out);
        expect(recording.header.devices.map((d) => d.id)).toEqual(["scanner-l1"]);
        // The wire bytes: the read as cut by the framer, with the CR it cut off put back.
        expect(recording.frames.map((f) => f.text)).toEqual(["101234567820\r", "\nCSQU3054383\r"]);
        expect(recording.frames[1]!.t).toBeGreaterThan(recording.frames[0]!.t + 200);
        expect(recording.end?.readings).toEqual({ "scanner-l1": { scan: 2 } });
        expect(readFileSync(out, "utf8").trim().split("\n")).toHaveLength(4);
    }, 30_000);

    it("refuses a file that is not a recording (exit 2, naming the line)", async () => {
        const file = join(dir.path, "bad.jsonl");
        writeFileSync(
            file,
            '{"type":"header","format":"gate-edge-recording","version":1,"lanes":[],"devices":[]}\n{"t":1}\n',
        );
        const run = captureIo();
        expect(await runGateCommand(["--replay", file], run.io)).toBe(2);
        expect(run.err()).toContain("line 2: a frame needs t, device and transport");
    });
});
