import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import { benchmarksPresent } from "../../src/cli.ts";

const root = resolve(import.meta.dirname, "../..");

/** The specifiers a file names in its static imports and re-exports (`import type` too; not `import()`). */
function staticImports(file: string): string[] {
    const source = ts.createSourceFile(file, readFileSync(file, "utf8"), ts.ScriptTarget.Latest, false);
    const specifiers: string[] = [];
    for (const statement of source.statements) {
        if (
            (ts.isImportDeclaration(statement) || ts.isExportDeclaration(statement)) &&
            statement.moduleSpecifier &&
            ts.isStringLiteral(statement.moduleSpecifier)
        )
            specifiers.push(statement.moduleSpecifier.text);
    }
    return specifiers;
}

/**
 * Every static import edge reachable from `entries` that leads into test/ or simulators/, as
 * "importer -> imported" (paths relative to the repository).
 */
function importsOutsideProduction(entries: readonly string[]): string[] {
    const seen = new Set<string>();
    const found: string[] = [];
    const queue = [...entries];
    while (queue.length > 0) {
        const file = queue.pop()!;
        if (seen.has(file)) continue;
        seen.add(file);
        for (const specifier of staticImports(file)) {
            if (!specifier.startsWith(".")) continue; // a package
            const target = resolve(dirname(file), specifier);
            const path = relative(root, target);
            if (/^(test|simulators)\//.test(path)) {
                found.push(`${relative(root, file)} -> ${path}`);
                continue;
            }
            if (existsSync(target) && /\.(ts|js|mjs)$/.test(target)) queue.push(target);
        }
    }
    return found;
}

function sourceFiles(dir: string): string[] {
    return readdirSync(dir, { recursive: true, encoding: "utf8" })
        .filter((name) => /\.ts$/.test(name))
        .map((name) => join(dir, name));
}

describe("production code and the development-only trees", () => {
    it("no file of src/, nor anything it statically imports, imports test/ or simulators/", () => {
        // The CLI is the entry; every other file of src/ too, for those the CLI loads lazily (service.ts …).
        const entries = [join(root, "src/cli.ts"), ...sourceFiles(join(root, "src"))];
        expect(importsOutsideProduction(entries)).toEqual([]);
    });

    it("the walk sees a static import into simulators/, even a type-only one", () => {
        const file = join(root, "test/fixtures/import-graph/imports-simulators.ts");
        expect(importsOutsideProduction([file])).toEqual([
            "test/fixtures/import-graph/imports-simulators.ts -> simulators/demo.ts",
        ]);
    });
});

describe("gate-edge bench", () => {
    it("is offered in a source checkout, where test/bench is beside the CLI", () => {
        expect(benchmarksPresent()).toBe(true);
    });

    it("is not offered by a compiled CLI without test/bench beside it (the release bundle)", () => {
        // dist/src/cli.js of a bundle: the bundle copies dist/src, devices, simulators; never dist/test.
        expect(benchmarksPresent(`file://${join(root, "no-such-release/dist/src/cli.js")}`)).toBe(false);
    });
});
