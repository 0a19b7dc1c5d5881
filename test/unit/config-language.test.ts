import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/load.ts";
import { isGateError } from "../../src/core/errors.ts";
import { LANGUAGES } from "../../src/i18n/format.ts";

const withUi = (ui: string) => `
gate: { id: HN01 }
storage: { path: ./data/gate.db }
${ui}
lanes:
  - id: L1
    devices:
      - { id: scale-l1, model: toledo-continuous, address: "tcp://10.0.0.5:4001" }
`;

function errorsOf(text: string): string[] {
    try {
        parseConfig(text);
    } catch (err) {
        if (isGateError(err, "CONFIG_INVALID")) return [...err.details];
        throw err;
    }
    throw new Error("config was accepted");
}

describe("ui.defaultLanguage", () => {
    it("is Vietnamese unless the gate says otherwise, and English when it does", () => {
        expect(parseConfig(withUi("")).ui).toEqual({ defaultLanguage: "vi" });
        expect(parseConfig(withUi("ui: { defaultLanguage: en }")).ui).toEqual({ defaultLanguage: "en" });
    });

    it("takes only a language the officer catalogues are in", () => {
        const errors = errorsOf(withUi("ui: { defaultLanguage: fr }"));
        expect(errors.some((e) => e.includes("ui.defaultLanguage") || e.includes("/ui/defaultLanguage"))).toBe(true);
        const schema = JSON.parse(readFileSync(join(import.meta.dirname, "../../config/gate.schema.json"), "utf8"));
        expect(schema.properties.ui.properties.defaultLanguage.enum).toEqual([...LANGUAGES.officer]);
    });

    it("is Vietnamese in the demo", () => {
        const demo = readFileSync(join(import.meta.dirname, "../../config/demo.yaml"), "utf8");
        expect(demo).toMatch(/^ui:\n {4}defaultLanguage: vi$/m);
    });
});
