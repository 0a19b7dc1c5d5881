import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runGateCommand } from "../../simulators/gate/cli.ts";
import { scenarioExitCode } from "../../simulators/gate/report.ts";
import { runGateScenario } from "../../simulators/gate/runner.ts";
import { captureIo } from "../helpers/io.ts";
import { tempDir, testLog } from "../helpers/tmp.ts";

const dir = tempDir();
afterAll(() => dir.cleanup());

describe("simulate gate --scenario", () => {
    it("drives thirteen trucks of every kind through two lanes: every decision is its ground truth, every truck sent to inspection held by its case and refused at the exit, central holds every event", async () => {
        const report = await runGateScenario({
            scenarioFile: "test/fixtures/gate-scenario-short.yaml",
            workDir: join(dir.path, "short"),
            log: testLog,
        });
        const wrong = report.trucks
            .filter((truck) => truck.verdict !== "match")
            .map((t) => `truck ${t.index} ${t.kind}: ${t.expect} → ${t.actual} ${t.reasons.join("; ")}`);
        expect(wrong).toEqual([]);
        expect(report.trucks).toHaveLength(13);
        expect(new Set(report.trucks.map((t) => t.passageId)).size).toBe(13);
        // The inspection area: six trucks had to be inspected (red, tampered seal, overweight, watch list, RPM
        // alarm, suspicious scan); each has an open case, got its scan and was refused at the exit.
        expect(report.inspection.violations).toEqual([]);
        expect(report.inspection.mustInspect).toBe(6);
        expect(report.inspection.byStatus).toEqual({ open: 6 });
        expect(report.inspection.exitRefused).toBe(6);
        const kind = (k: string) => report.trucks.find((t) => t.kind === k);
        expect(kind("radiation-norm")).toMatchObject({ actual: "RELEASE", inspection: { status: "none" } });
        expect(kind("radiation-alarm")).toMatchObject({ actual: "INSPECT", inspection: { status: "open" } });
        expect(kind("xray-suspicious")?.inspection?.required).toContain("physical");
        expect(kind("xray-suspicious")?.inspection?.xray).toContain("suspicious");
        expect(report.trucks.filter((t) => t.actual === "RELEASE").every((t) => t.barrier === "opened")).toBe(true);
        expect(report.central.holdsEveryEvent).toBe(true);
        expect(report.central.missing).toBe(0);
        expect(report.central.distinctIds).toBe(report.central.centralEvents);
        expect(report.latency.lastReadToCommand.count).toBeGreaterThan(0);
        expect(report.anomalies).toEqual([]);
        expect(scenarioExitCode(report)).toBe(0);
    }, 240_000);

    it("a central outage, an unplugged weighbridge, a full disk, a failed RPM detector and the scanner offline: all injected, no truck sent to inspection released, every event still reaches central", async () => {
        const attempt = async (n: number) => {
            const reportFile = join(dir.path, `faults-${n}.json`);
            const run = captureIo();
            const code = await runGateCommand(
                [
                    "--scenario",
                    "test/fixtures/gate-scenario-faults.yaml",
                    "--work-dir",
                    join(dir.path, `faults-${n}`),
                    "--report",
                    reportFile,
                ],
                run.io,
            );
            return { run, code, reportFile };
        };
        // A run that fails before its first truck writes no report: once seen in CI (622 ms, no reason kept),
        // most likely a port the bench probed free taken by a parallel test before the bench bound it. Such a
        // start is tried once more, and what the first one said is printed for whoever looks into it.
        let { run, code, reportFile } = await attempt(1);
        if (!existsSync(reportFile)) {
            console.warn(`gate-scenario: the first run wrote no report (exit ${code}):\n${run.err()}`);
            ({ run, code, reportFile } = await attempt(2));
        }
        expect(existsSync(reportFile), run.err()).toBe(true);
        const report = JSON.parse(readFileSync(reportFile, "utf8"));
        const faults = report.faults as {
            kind: string;
            injected: boolean;
            lane?: string;
            startedAtMs?: number;
            recoveredAtMs?: number;
            detail: string;
        }[];
        expect(faults.map((f) => [f.kind, f.injected])).toEqual([
            ["central-outage", true],
            ["scale-unplugged", true],
            ["disk-quota", true],
            ["rpm-detector-failure", true],
            ["xray-offline", true],
        ]);
        // The RPM was seen degraded and the scanner offline, and both back online after.
        for (const fault of faults.slice(3)) {
            expect(fault.detail).not.toMatch(/did not see|not back online/);
            expect(fault.recoveredAtMs).toBeGreaterThan(fault.startedAtMs ?? Number.POSITIVE_INFINITY);
        }
        // Whatever the scanner's absence did to the scans, no truck sent to inspection got out.
        expect(report.inspection.violations).toEqual([]);
        expect(report.inspection.mustInspect).toBeGreaterThanOrEqual(3);
        expect(report.inspection.exitRefused).toBe(report.inspection.mustInspect);
        expect(faults[1]?.lane).toBe("L1");
        // The gate saw its quota reached and, once the ballast went, back under it.
        expect(faults[2]?.detail).not.toMatch(/did not see|still saw/);
        expect(faults[2]?.recoveredAtMs).toBeGreaterThan(faults[2]?.startedAtMs ?? Number.POSITIVE_INFINITY);
        expect(report.central.holdsEveryEvent).toBe(true);
        expect(report.outbox.pending).toBe(0);
        // A truck may be held while its weighbridge was unplugged; none may get another decision.
        const wrong = (report.trucks as { verdict: string; index: number }[]).filter((t) => t.verdict === "mismatch");
        expect(wrong).toEqual([]);
        expect(run.out()).toContain("injected central-outage");
        expect(run.out()).toContain("injected scale-unplugged L1");
        expect(run.out()).toContain("injected disk-quota");
        expect(run.out()).toContain("injected rpm-detector-failure L2");
        expect(run.out()).toContain("injected xray-offline");
        expect(run.out()).toContain("refused at the exit");
        expect(run.out()).toContain("every event is at central");
        expect(code).toBe(0);
    }, 240_000);

    it("refuses a bad scenario file with exit 2, naming each key path", async () => {
        const file = join(dir.path, "bad.yaml");
        writeFileSync(
            file,
            [
                "name: bad",
                "seed: 1",
                "lanes: [L1]",
                "mix: { greeen: 3, clean: 1 }",
                "declarations:",
                '  L1: { green: { number: "101234567830", tractor: A, trailer: B, grossKg: 100 } }',
                "faults:",
                "  - { at: 1m, kind: scale-unplugged, lane: L9 }",
                "  - { at: soon, kind: clock-jump }",
            ].join("\n"),
        );
        const run = captureIo();
        const code = await runGateCommand(["--scenario", file], run.io);
        expect(code).toBe(2);
        const err = run.err();
        expect(err).toContain("scenario file is invalid");
        expect(err).toContain("mix.greeen: unknown truck kind");
        expect(err).toContain("declarations.L1.red: is required");
        expect(err).toContain("declarations.L1.green.number: must be a valid 12-digit declaration number");
        expect(err).toContain("faults[0].lane: must be one of the scenario's lanes (L1)");
        expect(err).toContain("faults[1].at: must be a scenario time");
        expect(err).toContain("faults[1].by: must be a non-zero signed duration");
        expect(run.out()).toBe("");
    });

    it("refuses bad arguments with exit 2", async () => {
        const run = captureIo();
        expect(await runGateCommand(["--speed", "fast", "--scenario", "x.yaml"], run.io)).toBe(2);
        expect(run.err()).toContain("--speed must be a number > 0");
        const none = captureIo();
        expect(await runGateCommand([], none.io)).toBe(2);
        expect(none.err()).toContain("give --scenario <file> or --replay <file>");
        const missing = captureIo();
        expect(await runGateCommand(["--scenario", join(dir.path, "absent.yaml")], missing.io)).toBe(2);
        expect(missing.err()).toContain("scenario file cannot be read");
    });
});
