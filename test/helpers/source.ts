/** Reading the product's own source as TypeScript syntax: for tests of what a file may and may not say. */
import { readFileSync } from "node:fs";
import ts from "typescript";

export function sourceOf(path: string): ts.SourceFile {
    return ts.createSourceFile(path, readFileSync(path, "utf8"), ts.ScriptTarget.Latest, true);
}

/** The text of every node of the file that `matches`, in source order. */
export function nodesWhere(path: string, matches: (node: ts.Node) => boolean): string[] {
    const source = sourceOf(path);
    const found: string[] = [];
    const visit = (node: ts.Node): void => {
        if (matches(node)) found.push(node.getText(source));
        ts.forEachChild(node, visit);
    };
    visit(source);
    return found;
}
