// Prints vitest's JSON reports (the main tests, then the resilience suite) as the one closing line CI reads:
// "N passed, N failed[, N skipped]", summed over every report given. Above it, one line per failed test (file,
// name, the first line of its error): CI shows only the tail of its output, and a count alone names nothing.
import { existsSync, readFileSync } from "node:fs";
import { relative } from "node:path";

function firstLine(message) {
    // vitest's messages carry ANSI colours; the first line is the assertion, the rest a stack.
    const ansiEscape = String.fromCharCode(27);
    const line =
        String(message ?? "")
            .split(ansiEscape)
            .map((part, index) => (index === 0 ? part : part.replace(/^\[[0-9;]*m/, "")))
            .join("")
            .split("\n")[0] ?? "";
    return line.length > 300 ? `${line.slice(0, 300)}…` : line;
}

const files = process.argv.slice(2);
let passed = 0;
let failed = 0;
let skipped = 0;
const failures = [];
if (files.length === 0) failed++;
for (const file of files) {
    // A report that is missing means its run never got as far as writing one: one failure, not zero tests.
    if (!existsSync(file)) {
        failed++;
        failures.push(`${file}: no report written`);
        continue;
    }
    const report = JSON.parse(readFileSync(file, "utf8"));
    passed += report.numPassedTests ?? 0;
    // A test file that failed to load has no failed test of its own; count it as one failure.
    const brokenFiles = (report.testResults ?? []).filter(
        (result) =>
            result.status === "failed" && !(result.assertionResults ?? []).some((test) => test.status === "failed"),
    ).length;
    failed += (report.numFailedTests ?? 0) + brokenFiles;
    for (const result of report.testResults ?? []) {
        const where = relative(process.cwd(), result.name ?? "?");
        const failedTests = (result.assertionResults ?? []).filter((test) => test.status === "failed");
        if (result.status === "failed" && failedTests.length === 0) {
            failures.push(`${where}: did not load: ${firstLine(result.message)}`);
        }
        for (const test of failedTests) {
            failures.push(`${where} > ${test.fullName}: ${firstLine((test.failureMessages ?? [])[0])}`);
        }
    }
    skipped += (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
}
for (const failure of failures) console.log(`FAILED ${failure}`);
console.log(
    skipped > 0 ? `${passed} passed, ${failed} failed, ${skipped} skipped` : `${passed} passed, ${failed} failed`,
);
