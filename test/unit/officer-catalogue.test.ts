/**
 * The officer catalogues against the dashboard: every text the page asks for is in Vietnamese and in
 * English, with the same placeholders, and no catalogue keeps a text nothing asks for. What the page asks
 * for is read from its source (src/ui): literal keys, and for keys built from a code (`laneState.${state}`)
 * the codes the gate can produce, read from the gate's own source where it declares them.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { PERMISSIONS } from "../../src/api/permissions.ts";
import { catalogue, LANGUAGES } from "../../src/i18n/format.ts";
import { REASON_CODES, RULE_REASON_CODES } from "../../src/lane/reasonCodes.ts";
import { ROLES } from "../../src/store/users.ts";

const root = join(import.meta.dirname, "../..");
const read = (path: string) => readFileSync(join(root, path), "utf8");

/** The dashboard's own scripts (not the drivers' kiosk page in src/ui/display, which has its catalogue). */
function dashboardSources(): Map<string, string> {
    const files = new Map<string, string>();
    const walk = (dir: string) => {
        for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
            const path = `${dir}/${entry.name}`;
            if (entry.isDirectory()) {
                if (entry.name !== "display") walk(path);
            } else if (entry.name.endsWith(".js")) files.set(path, read(path));
        }
    };
    walk("src/ui");
    return files;
}

/** The members of a string-literal union type `name` declared in `file`. */
function unionOf(file: string, name: string): string[] {
    const match = new RegExp(`type ${name} =([^;]+);`).exec(read(file));
    if (!match) throw new Error(`no type ${name} in ${file}`);
    return [...(match[1] as string).matchAll(/"([^"]+)"/g)].map((m) => m[1] as string);
}

function allTsFiles(dir: string): string[] {
    return readdirSync(join(root, dir), { withFileTypes: true, recursive: true })
        .filter((entry) => entry.isFile() && entry.name.endsWith(".ts"))
        .map((entry) => join(entry.parentPath, entry.name));
}

/** Every alert code the gate raises: `code: "X"` beside a severity, named constants, and the built ones. */
function alertCodes(): string[] {
    const codes = new Set<string>();
    // Codes named by a constant (`code: SYNC_PARKED`), and the constants' values, across the files.
    const constants = new Map<string, string>();
    const named = new Set<string>();
    for (const file of allTsFiles("src")) {
        const text = readFileSync(file, "utf8");
        for (const m of text.matchAll(/code: "([A-Z][A-Z_]+)",?\s*\n?\s*severity/g)) codes.add(m[1] as string);
        for (const m of text.matchAll(/code: "([A-Z][A-Z_]+)",\s*severity/g)) codes.add(m[1] as string);
        for (const m of text.matchAll(/const ([A-Z][A-Z_]+) = "([A-Z][A-Z_]+)"/g)) constants.set(m[1]!, m[2]!);
        for (const m of text.matchAll(/code: ([A-Z][A-Z_]+),/g)) named.add(m[1]!);
    }
    for (const name of named) if (constants.has(name)) codes.add(constants.get(name)!);
    const stops = /function alertCodeOf\([^)]*\):([^{]+)\{/.exec(read("src/lane/outcome.ts"))?.[1] ?? "";
    for (const m of stops.matchAll(/"([A-Z_]+)"/g)) codes.add(m[1] as string);
    // correlator.ts alertLateSeal: `SEAL_${status}_AFTER_DECISION` for the statuses it alerts on.
    for (const status of ["TAMPERED", "OPENED"]) codes.add(`SEAL_${status}_AFTER_DECISION`);
    return [...codes];
}

const DEVICE_KINDS = [
    ...new Set(
        readdirSync(join(root, "devices"))
            .filter((name) => name.endsWith(".ts"))
            .flatMap((name) => [...read(`devices/${name}`).matchAll(/kind: "([a-z-]+)"/g)].map((m) => m[1] as string)),
    ),
];

/**
 * The codes each family of keys is built from. `complete`: every code must have its text; otherwise the
 * page falls back to the code or the API's text for a code without one (an error code the page never
 * shows, say), and the family only bounds which keys may exist.
 */
function families(): Record<string, { codes: readonly string[]; complete: boolean }> {
    const complete = (codes: readonly string[]) => ({ codes, complete: true });
    const alerts = alertCodes();
    return {
        nav: complete([...read("src/ui/app.js").matchAll(/\{ path: "([a-z]+)"/g)].map((m) => m[1] as string)),
        role: complete(ROLES),
        language: complete(LANGUAGES.officer),
        laneState: complete(unionOf("src/lane/correlator.ts", "LaneState")),
        outcome: complete(unionOf("src/lane/types.ts", "Decision")),
        channel: complete(["GREEN", "YELLOW", "RED"]),
        declarationStatus: complete(unionOf("src/lane/types.ts", "DeclarationStatus")),
        sealStatus: complete(unionOf("src/core/events.ts", "SealStatus")),
        position: complete(["front", "rear"]),
        plateRole: complete(["tractor", "trailer"]),
        imageRole: complete(unionOf("src/core/events.ts", "ImageRole")),
        deviceKind: { codes: [...DEVICE_KINDS, "display"], complete: false },
        deviceStatus: complete(["online", "degraded", "offline", "unknown"]),
        deviceReason: complete(unionOf("src/drivers/transport.ts", "StatusReasonCode")),
        syncError: complete(unionOf("src/sync/uplink.ts", "SyncErrorCode")),
        deviceTestResult: complete(unionOf("src/gate/deviceTests.ts", "DeviceTestResultCode")),
        weightSteady: complete(["stable", "moving"]),
        deviceTest: complete(
            [...read("src/ui/views/devices.js").matchAll(/action: "([a-zA-Z]+)"/g)].map((m) => m[1] as string),
        ),
        frameDirection: complete(["in", "out"]),
        frameOutcome: complete(
            /outcome: ([^;]+);/
                .exec(read("src/ingest/deviceRuntime.ts"))![1]!
                .match(/"[a-z-]+"/g)!
                .map((s) => s.slice(1, -1)),
        ),
        action: complete(unionOf("src/lane/reasonCodes.ts", "OfficerActionKind")),
        ruleOutcome: complete(["pass", "fail"]),
        severity: complete(["info", "warning", "critical"]),
        syncState: complete([...unionOf("src/sync/uplink.ts", "UplinkState"), "disabled"]),
        command: complete(unionOf("src/lane/correlator.ts", "LaneCommand")),
        completion: complete(unionOf("src/lane/outcome.ts", "PassageCompletion")),
        auditOutcome: complete(unionOf("src/store/auditLog.ts", "AuditOutcome")),
        auditAction: complete([
            ...new Set(Object.values(PERMISSIONS).flatMap((p) => (p.audit === undefined ? [] : [p.audit]))),
            ...[...read("src/api/auth.ts").matchAll(/action: "([a-z]+\.[a-z]+)"/g)].map((m) => m[1] as string),
        ]),
        rule: complete(
            [...read("src/lane/rules.ts").matchAll(/\{ id: "([a-z-]+)", rule:/g)].map((m) => m[1] as string),
        ),
        reason: complete(RULE_REASON_CODES),
        reasonCode: complete(REASON_CODES.map((r) => r.code)),
        alert: complete(alerts),
        alertText: complete(alerts),
        error: {
            codes: [
                ...[...read("src/core/errors.ts").matchAll(/^ {4}([A-Z_]+): \{ status/gm)].map((m) => m[1] as string),
                "NETWORK",
            ],
            complete: false,
        },
        step: complete(["OPENED", "DECIDED", "COMPLETED", "OUTCOME", "COMMAND", "ALERT", "OFFICER", "FOLLOWUP"]),
        timeline: complete(["decided", "outcome"]),
        "alerts.tab": complete(["open", "acknowledged", "all"]),
        "audit.chain": complete(["events", "audit"]),
        // The words rules.ts puts in a finding's parameters (DIRECTION_WORDS, LANE_WORDS, route's gate source, kinds).
        word: complete([
            "an import (into Vietnam)",
            "an export (out of Vietnam)",
            "either direction (transit or transport)",
            "an import lane (IN)",
            "an export lane (OUT)",
            "stated by central",
            "not stated",
            // The kinds of read (required reads, watch-list entries) named in findings.
            "plate",
            "container",
            "declaration",
            "seal",
            "weight",
        ]),
    };
}

/** The keys the page names literally: every string of the form `family.name` in the dashboard's scripts. */
function literalKeys(sources: Map<string, string>): Set<string> {
    const keys = new Set<string>();
    for (const text of sources.values()) {
        for (const m of text.matchAll(/"([a-z][a-zA-Z]*\.[A-Za-z][A-Za-z0-9_.]*)"/g)) keys.add(m[1] as string);
    }
    return keys;
}

/** The families the page builds keys of: code("family", …), listOf(…, "family") and any `family.${…}` template. */
function builtFamilies(sources: Map<string, string>): Set<string> {
    const used = new Set<string>();
    for (const text of sources.values()) {
        for (const m of text.matchAll(/\bcode\(\s*"([a-zA-Z.]+)"/g)) used.add(m[1] as string);
        for (const m of text.matchAll(/\blistOf\([^,]+,\s*"([a-zA-Z.]+)"\)/g)) used.add(m[1] as string);
        for (const m of text.matchAll(/`([a-zA-Z][a-zA-Z.]*)\.\$\{/g)) used.add(m[1] as string);
    }
    return used;
}

const placeholders = (text: string) => [...new Set([...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]))].sort();

describe("officer catalogues", () => {
    const vi = catalogue("officer", "vi");
    const en = catalogue("officer", "en");
    const sources = dashboardSources();
    const known = families();

    it("hold the same keys, each with the same placeholders, and no empty text", () => {
        expect(Object.keys(vi).sort()).toEqual(Object.keys(en).sort());
        const differing = Object.keys(en).filter(
            (key) => JSON.stringify(placeholders(en[key] ?? "")) !== JSON.stringify(placeholders(vi[key] ?? "")),
        );
        expect(differing).toEqual([]);
        expect(Object.entries({ ...vi }).filter(([, text]) => text.trim() === "")).toEqual([]);
        expect(Object.entries({ ...en }).filter(([, text]) => text.trim() === "")).toEqual([]);
    });

    it("have every key the dashboard names, in every language", () => {
        const literal = [...literalKeys(sources)];
        expect(literal.length).toBeGreaterThan(150);
        for (const language of LANGUAGES.officer) {
            const texts = catalogue("officer", language);
            expect({ language, missing: literal.filter((key) => texts[key] === undefined) }).toEqual({
                language,
                missing: [],
            });
        }
    });

    it("have a text for every code the dashboard words (rule reasons, reason codes, alerts, states …)", () => {
        const built = builtFamilies(sources);
        // A family the page builds keys of must be known here, or its keys could go unchecked.
        expect([...built].filter((family) => known[family] === undefined)).toEqual([]);
        for (const language of LANGUAGES.officer) {
            const texts = catalogue("officer", language);
            const missing = [...built].flatMap((family) => {
                const { codes, complete } = known[family]!;
                return complete
                    ? codes.map((code) => `${family}.${code}`).filter((key) => texts[key] === undefined)
                    : [];
            });
            expect({ language, missing }).toEqual({ language, missing: [] });
        }
        expect(known.alert!.codes).toEqual(
            expect.arrayContaining(["DEVICE_OFFLINE", "SEAL_TAMPERED", "FOUR_EYES_PENDING"]),
        );
        expect(known.reason!.codes.length).toBe(RULE_REASON_CODES.length);
    });

    it("keep no text nothing asks for", () => {
        const literal = literalKeys(sources);
        const built = builtFamilies(sources);
        const asked = (key: string) =>
            literal.has(key) ||
            [...built].some(
                (family) => key.startsWith(`${family}.`) && known[family]!.codes.includes(key.slice(family.length + 1)),
            );
        expect(Object.keys(en).filter((key) => !asked(key))).toEqual([]);
    });

    it("keep the English of a rule's reason as the gate stores it", async () => {
        const { ruleReasonText } = await import("../../src/lane/reasonCodes.ts");
        expect(ruleReasonText({ code: "DECLARATION_KNOWN", params: { number: "101234567820" } })).toBe(
            "declaration 101234567820 known",
        );
        expect(REASON_CODES.find((r) => r.code === "DOCS_MISSING")?.label).toBe("Documents missing or incomplete");
    });
});
