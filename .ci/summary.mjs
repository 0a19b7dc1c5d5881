// Prints vitest's JSON reports (the main tests, then the resilience suite) as the one closing line CI reads:
// "N passed, N failed[, N skipped]", summed over every report given.
import { existsSync, readFileSync } from "node:fs";

const files = process.argv.slice(2);
let passed = 0;
let failed = 0;
let skipped = 0;
if (files.length === 0) failed++;
for (const file of files) {
    // A report that is missing means its run never got as far as writing one: one failure, not zero tests.
    if (!existsSync(file)) {
        failed++;
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
    skipped += (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
}
console.log(
    skipped > 0 ? `${passed} passed, ${failed} failed, ${skipped} skipped` : `${passed} passed, ${failed} failed`,
);
