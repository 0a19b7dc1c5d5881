import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Ajv } from "ajv";
import { describe, expect, it } from "vitest";

/** The gate compiles config/gate.schema.json without checking it against the meta-schema (start-up time). */
describe("config/gate.schema.json", () => {
    it("is a valid JSON Schema (draft-07 meta-schema)", () => {
        const schema = JSON.parse(readFileSync(join(import.meta.dirname, "../../config/gate.schema.json"), "utf8"));
        const ajv = new Ajv({ allErrors: true, strict: false });
        const valid = ajv.validateSchema(schema);
        expect(ajv.errors ?? []).toEqual([]);
        expect(valid).toBe(true);
    });

    it("is refused by that check when it is broken, so the check above can fail", () => {
        const ajv = new Ajv({ allErrors: true, strict: false });
        expect(ajv.validateSchema({ type: "object", properties: { port: { type: "integr" } } })).toBe(false);
    });
});
