/**
 * Inspection cases work without central and reach it later (issue 18 part 2): with central down, a RED
 * truck's case is opened, worked and closed at the gate; its inspection.* events wait in the outbox; once
 * central answers again the uplink delivers every one of them (read from the central simulator's own file).
 */
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { CentralSimulator } from "../../simulators/central/index.ts";
import type { Gate } from "../../src/gate.ts";
import { eventually, startGate, testConfig } from "../helpers/gate.ts";
import { declarationScanDraft, plateDraft } from "../helpers/readings.ts";
import { tempDir } from "../helpers/tmp.ts";

const dir = tempDir();
const TOKEN = "inspection-offline-token-31f";
const RED = "100001234540";
let central: CentralSimulator | undefined;
let gate: Gate | undefined;

afterAll(async () => {
    await gate?.stop();
    await central?.stop();
    dir.cleanup();
});

/** The ids of the gate's inspection events central stored, read from its database file. */
function atCentral(dbPath: string): string[] {
    const db = new Database(dbPath, { readonly: true, fileMustExist: true });
    try {
        return (
            db.prepare("SELECT id FROM events WHERE gate_id = 'T01' AND type LIKE 'inspection.%'").all() as {
                id: string;
            }[]
        ).map((row) => row.id);
    } finally {
        db.close();
    }
}

describe("inspection cases offline", () => {
    it("are worked and closed while central is down, and synced when it is back", async () => {
        process.env.INSPECTION_CENTRAL_TOKEN = TOKEN;
        const centralDb = join(dir.path, "central.db");
        central = new CentralSimulator({ port: 0, dbPath: centralDb, tokens: [TOKEN] });
        const { url } = await central.start();
        central.setFaults([{ kind: "down", on: "all" }]);
        const started = await startGate(
            testConfig(
                dir.path,
                `  - id: L1
    devices:
      - { id: cam-1, model: dahua-itsapi-anpr, role: front, auth: { username: cam-1, password: camera-password } }
      - { id: scan-1, model: serial-barcode-scanner, address: "tcp://127.0.0.1:9" }
`,
                `central: { url: ${JSON.stringify(url)}, tokenEnv: INSPECTION_CENTRAL_TOKEN, backoffBaseMs: 20, backoffMaxMs: 250, requestTimeoutMs: 3000, clearancePollMs: 200 }
rules: { requiredReads: [plate, declaration], clearanceMaxAgeMinutes: 60, offlinePolicy: cached }`,
            ),
        );
        gate = started;
        started.clearance.importData(
            {
                version: "o-1",
                declarations: [
                    {
                        number: RED,
                        type: "10",
                        channel: "RED",
                        status: "CLEARED",
                        declaredPlates: ["15C-888.10"],
                        containers: [],
                        version: 1,
                    },
                ] as never, // central's JSON shape, validated by the cache
                watchList: [],
            },
            Date.now(),
        );
        started.clearance.setVersion("o-1", Date.now());
        await started.log.append({ laneId: "L1", ...plateDraft("cam-1", "15C-888.10", "15C88810") });
        await started.log.append({ laneId: "L1", ...declarationScanDraft("scan-1", RED) });
        const [opened] = await eventually(
            () => {
                const open = started.inspections.list({ status: "open", limit: 10 });
                return open.length > 0 ? open : undefined;
            },
            30_000,
            "the case",
        );
        const caseId = opened?.caseId ?? "";
        const officer = { name: "lan", role: "officer" };
        await started.inspections.act(caseId, { action: "assign", assignee: "lan" }, officer);
        await started.inspections.act(
            caseId,
            { action: "finding", step: "physical", text: "undeclared goods" },
            officer,
        );
        const closed = await started.inspections.act(
            caseId,
            { action: "detain", reasonCode: "GOODS_UNDECLARED" },
            officer,
        );
        expect(closed.status).toBe("detained");

        const ids = started.log
            .read(0, 100_000)
            .filter((event) => event.type.startsWith("inspection."))
            .map((event) => event.id);
        expect(ids).toHaveLength(4);
        // Offline: all waiting in the outbox, none at central.
        const waiting = started.database
            .prepare(
                "SELECT COUNT(*) AS n FROM outbox WHERE state = 'pending' AND seq IN (SELECT seq FROM events WHERE type LIKE 'inspection.%')",
            )
            .get() as { n: number };
        expect(waiting.n).toBe(4);
        expect(atCentral(centralDb)).toEqual([]);

        // Central is back: the uplink delivers every step.
        central.setFaults([]);
        await eventually(
            () => (atCentral(centralDb).length === ids.length ? true : undefined),
            60_000,
            "the case's events at central",
        );
        expect(atCentral(centralDb).sort()).toEqual([...ids].sort());
    }, 120_000);
});
