import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { UserLanguages } from "../../src/api/language.ts";
import { openDatabase } from "../../src/store/db.ts";
import { tempDir } from "../helpers/tmp.ts";

describe("each user's dashboard language", () => {
    it("is the gate's default until the user chooses, then theirs alone, across a restart", () => {
        const dir = tempDir();
        try {
            const path = join(dir.path, "gate.db");
            const db = openDatabase(path);
            const languages = new UserLanguages(db, "vi");
            expect(languages.of("officer.an")).toBe("vi");
            languages.set("officer.an", "en");
            expect(languages.of("officer.an")).toBe("en");
            expect(languages.of("supervisor.chi")).toBe("vi");
            db.close();
            // Kept in the gate's database: a restart, or another default, leaves the user's choice.
            const reopened = openDatabase(path);
            expect(new UserLanguages(reopened, "en").of("officer.an")).toBe("en");
            expect(new UserLanguages(reopened, "en").of("supervisor.chi")).toBe("en");
            reopened.close();
        } finally {
            dir.cleanup();
        }
    });

    it("falls back to the default when a stored language is no longer served", () => {
        const db = openDatabase(":memory:");
        new UserLanguages(db, "vi").set("officer.an", "fr");
        expect(new UserLanguages(db, "vi").of("officer.an")).toBe("vi");
        db.close();
    });
});
