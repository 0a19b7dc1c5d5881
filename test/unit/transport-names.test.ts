/**
 * Issue 16: what depends on a transport is the transport's business. The config loader reads every lane
 * device's address through the transport's small address module (src/drivers/<transport>.address.ts) and
 * names no transport itself, and what it loads stays free of the transports' implementations and their
 * libraries; the device runtime decodes an input with the model whose transport delivers that kind of
 * input (INPUT_OF_TRANSPORT in src/drivers/transport.ts) instead of asking for transports by name.
 */
import { existsSync } from "node:fs";
import { dirname, relative, resolve } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import { transportNames } from "../../src/drivers/registry.ts";
import { nodesWhere, sourceOf } from "../helpers/source.ts";

const root = resolve(import.meta.dirname, "../..");

/** Every `x === "<transport>"` or `x !== "<transport>"` in a file, as its source text. */
function transportComparisons(path: string): string[] {
    const names = new Set<string>(transportNames);
    return nodesWhere(path, (node) => {
        if (!ts.isBinaryExpression(node)) return false;
        const operator = node.operatorToken.kind;
        const equality =
            operator === ts.SyntaxKind.EqualsEqualsEqualsToken ||
            operator === ts.SyntaxKind.ExclamationEqualsEqualsToken;
        return equality && [node.left, node.right].some((side) => ts.isStringLiteral(side) && names.has(side.text));
    });
}

/** Every file and package reached by static (not type-only) imports from `entry`, relative to the repository. */
function staticallyLoaded(entry: string): string[] {
    const seen = new Set<string>();
    const queue = [entry];
    while (queue.length > 0) {
        const file = queue.pop() as string;
        if (seen.has(file)) continue;
        seen.add(file);
        if (!file.endsWith(".ts")) continue;
        for (const statement of sourceOf(file).statements) {
            if (!ts.isImportDeclaration(statement) || !ts.isStringLiteral(statement.moduleSpecifier)) continue;
            if (statement.importClause?.isTypeOnly) continue;
            const specifier = statement.moduleSpecifier.text;
            if (!specifier.startsWith(".")) {
                seen.add(specifier);
                continue;
            }
            const target = resolve(dirname(file), specifier);
            if (existsSync(target)) queue.push(target);
        }
    }
    return [...seen].map((path) => (path.startsWith("/") ? relative(root, path) : path));
}

describe("transport names", () => {
    it("the config loader compares no model or address with a transport's name", () => {
        // Before: 11 comparisons (model.transport === "mqtt", "http-push", "onvif", "opcua", "tcp-listen", …).
        expect(transportComparisons(resolve(root, "src/config/load.ts"))).toEqual([]);
    });

    it("the device runtime compares no model with a transport's name", () => {
        // Before: 6 (model.transport !== "serial" && … !== "tcp-listen", "mqtt", "onvif", "http-push", "opcua").
        expect(transportComparisons(resolve(root, "src/ingest/deviceRuntime.ts"))).toEqual([]);
    });

    it("the walk finds such a comparison where there is one", () => {
        expect(transportComparisons(resolve(root, "src/drivers/serial.ts")).length).toBeGreaterThan(0);
    });

    it("loading the configuration loads no transport implementation nor its libraries", () => {
        const loaded = staticallyLoaded(resolve(root, "src/config/load.ts"));
        expect(loaded).toContain("src/drivers/onvif.address.ts");
        const implementations = loaded.filter(
            (path) =>
                /^src\/drivers\/(serial|mqttDevice|mqtt|tcpListen|onvif|httpPush|opcua|folder)\.ts$/.test(path) ||
                /^(node-opcua|serialport|@serialport|aedes|mqtt)\b/.test(path),
        );
        expect(implementations).toEqual([]);
    });
});
