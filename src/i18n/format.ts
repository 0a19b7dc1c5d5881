/**
 * The message catalogues: what a person reads, kept apart from the code that decides. A catalogue is a flat
 * JSON object in this folder, `<audience>.<language>.json` (officer: vi, en; driver: vi, zh, en), mapping a
 * stable key to a text where `{name}` is replaced by the parameter of that name. Stored evidence and the
 * central upload carry keys and parameters, never a rendering, so nothing recorded depends on a language.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export type Audience = "officer" | "driver";
export type Catalogue = Readonly<Record<string, string>>;

/** The languages each audience is served in, the first being the gate's usual default. */
export const LANGUAGES: Readonly<Record<Audience, readonly string[]>> = {
    officer: ["vi", "en"],
    driver: ["vi", "zh", "en"],
};

const loaded = new Map<string, Catalogue>();

// From src/i18n through tsx, from dist/src/i18n compiled (tsc copies no JSON): the catalogues stay in src/i18n,
// the way the dashboard's files stay in src/ui (the release bundle carries both).
const here = dirname(fileURLToPath(import.meta.url));
const folder =
    [here, join(here, "../../../src/i18n")].find((candidate) => existsSync(join(candidate, "driver.en.json"))) ?? here;

/** The catalogue of one audience and language, read once from this folder. */
export function catalogue(audience: Audience, language: string): Catalogue {
    if (!LANGUAGES[audience].includes(language)) throw new RangeError(`no ${audience} catalogue in "${language}"`);
    const name = `${audience}.${language}`;
    let found = loaded.get(name);
    if (!found) {
        // Parsed JSON of a file this project ships; its shape is checked by the catalogue test.
        found = JSON.parse(readFileSync(join(folder, `${name}.json`), "utf8")) as Catalogue;
        loaded.set(name, found);
    }
    return found;
}

/** `template` with each `{name}` replaced by that parameter; a parameter that is missing stays as `{name}`. */
export function formatMessage(template: string, params: Readonly<Record<string, string | number>> = {}): string {
    return template.replace(/\{(\w+)\}/g, (whole, name: string) => (name in params ? String(params[name]) : whole));
}

/** The text of `key` in `catalogue`, or the key itself when the catalogue lacks it (the catalogue test fails then). */
export function translate(
    from: Catalogue,
    key: string,
    params: Readonly<Record<string, string | number>> = {},
): string {
    const template = from[key];
    return template === undefined ? key : formatMessage(template, params);
}
