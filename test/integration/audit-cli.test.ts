import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../src/core/clock.ts";
import { openDatabase } from "../../src/store/db.ts";
import { EventLog } from "../../src/store/eventLog.ts";
import { runCommand } from "../helpers/child.ts";
import { tempDir, testLog } from "../helpers/tmp.ts";

const dir = tempDir();
afterAll(() => dir.cleanup());

async function makeDb(name: string, events: number): Promise<string> {
    const path = join(dir.path, name);
    const db = openDatabase(path);
    const log = new EventLog(db, { gateId: "HN01", clock: new ManualClock(), log: testLog });
    log.start();
    for (let i = 0; i < events; i++)
        await log.append({ type: "reading.weight", laneId: "L1", data: { kg: 20000 + i } });
    log.close();
    db.close();
    return path;
}

const verify = (db: string) => runCommand(process.execPath, ["bin/gate-edge.js", "audit", "verify", "--db", db]);

describe("gate-edge audit verify", () => {
    it("exits 0 for an intact log", async () => {
        const result = await verify(await makeDb("intact.db", 40));
        expect(result.stdout).toContain("hash chain intact: 40 event(s), head seq 40");
        expect(result.status).toBe(0);
    });

    it("exits 1 and names the first broken event of a tampered log", async () => {
        const path = await makeDb("tampered.db", 40);
        const db = new Database(path);
        db.exec("DROP TRIGGER events_no_update");
        db.prepare("UPDATE events SET data = ? WHERE seq = 17").run(JSON.stringify({ kg: 1 }));
        const id = (db.prepare("SELECT id FROM events WHERE seq = 17").get() as { id: string }).id;
        db.close();
        const result = await verify(path);
        expect(result.status).toBe(1);
        expect(result.stderr).toContain(`BROKEN at seq 17 (event ${id})`);
    });

    it("exits 2 for a file that is not there", async () => {
        const result = await verify(join(dir.path, "missing.db"));
        expect(result.status).toBe(2);
        expect(result.stderr).toMatch(/cannot open/);
    });
});
