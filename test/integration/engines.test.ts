import { copyFileSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runCommand } from "../helpers/child.ts";
import { tempDir } from "../helpers/tmp.ts";

const dir = tempDir();
afterAll(() => dir.cleanup());

describe("package.json engines is what CI runs", () => {
    it("every locked package accepts the node the tests run on (npm ci --engine-strict, no EBADENGINE)", async () => {
        // A copy, so the check cannot touch the checkout's node_modules; --dry-run installs nothing.
        copyFileSync("package.json", join(dir.path, "package.json"));
        copyFileSync("package-lock.json", join(dir.path, "package-lock.json"));
        const npm = process.platform === "win32" ? "npm.cmd" : "npm";
        const result = await runCommand(
            npm,
            ["ci", "--dry-run", "--engine-strict", "--offline", "--ignore-scripts", "--no-audit", "--no-fund"],
            { cwd: dir.path },
        );
        expect(`${result.stdout}${result.stderr}`).not.toMatch(/EBADENGINE|notsup|Not compatible/);
        expect(result.status).toBe(0);
    }, 120_000);

    it("names a minimum this node meets, and the README says which Node line to install", () => {
        const engines = (JSON.parse(readFileSync("package.json", "utf8")) as { engines: { node: string } }).engines;
        const minimum = /^>=(\d+)\.(\d+)\.(\d+)$/.exec(engines.node);
        expect(minimum, `engines.node ${engines.node} is a plain minimum`).not.toBeNull();
        const [major, minor] = process.versions.node.split(".").map(Number) as [number, number];
        const [wantMajor, wantMinor] = [Number(minimum?.[1]), Number(minimum?.[2])];
        expect(major > wantMajor || (major === wantMajor && minor >= wantMinor)).toBe(true);
        const readme = readFileSync("README.md", "utf8");
        expect(readme).toContain(`Node.js ${engines.node.slice(2)} or newer`);
    });
});
