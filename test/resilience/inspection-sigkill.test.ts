/**
 * The gate SIGKILLed mid-case loses nothing of it (issue 18 part 2): a child `gate-edge start` handles a
 * RED truck's inspection case (a TCP declaration scanner, an RPM dropping N42.42 files on the lane's
 * approach); an officer records findings through the API and the RPM reports more occupancies, and the
 * gate is killed at a random moment after each. After every restart the case as the API gives it is
 * exactly the fold of the inspection.* events in the log, every finding the API acknowledged is on it, and
 * every radiation reading in the log is on the case exactly once (a reading committed just before the kill
 * is acted on by the catch-up from the part's cursor).
 */

import { writeFileSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { join } from "node:path";
import { isDeepStrictEqual } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { RpmSimulator } from "../../simulators/rpm.ts";
import { hashPassword } from "../../src/config/passwords.ts";
import type { GateEvent } from "../../src/core/events.ts";
import { applyCaseEvent, type CaseEvent, type InspectionCase } from "../../src/inspection/caseModel.ts";
import { ClearanceCache } from "../../src/store/clearance.ts";
import { openDatabase } from "../../src/store/db.ts";
import { migrate } from "../../src/store/migrations.ts";
import { SessionStore, UserStore } from "../../src/store/users.ts";
import { type GateChild, spawnGate } from "../helpers/child.ts";
import { eventually } from "../helpers/gate.ts";
import { tempDir } from "../helpers/tmp.ts";

const RED = "100001234540";
const KILLS = 4;
const WAIT_MS = 60_000;

describe("an inspection case across SIGKILLs", () => {
    const dir = tempDir();
    const dbPath = join(dir.path, "case.db");
    const rpmFolder = join(dir.path, "rpm-l1");
    const sockets = new Set<Socket>();
    let scanner: Server;
    let child: GateChild | undefined;

    afterAll(async () => {
        child?.child.kill("SIGKILL");
        await child?.exited;
        for (const socket of sockets) socket.destroy();
        await new Promise((resolve) => scanner?.close(resolve));
        dir.cleanup();
    });

    it(`keeps every step of the case through ${KILLS} kills`, async () => {
        // The declaration scanner the gate dials: it scans the RED declaration once, on the first connection.
        let scanned = false;
        scanner = createServer((socket) => {
            sockets.add(socket);
            socket.on("error", () => {});
            if (!scanned) {
                scanned = true;
                socket.write(`${RED}\r`);
            }
        });
        await new Promise<void>((resolve) => scanner.listen(0, "127.0.0.1", resolve));
        const port = (scanner.address() as { port: number }).port; // a TCP server's address is an AddressInfo
        const configPath = join(dir.path, "gate.yaml");
        writeFileSync(
            configPath,
            `
gate: { id: K02 }
storage: { path: ${JSON.stringify(dbPath)} }
http: { host: 127.0.0.1, port: 0 }
broker: { mode: embedded, host: 127.0.0.1, port: 0 }
rules: { requiredReads: [declaration] }
lanes:
  - id: L1
    devices:
      - { id: scan-1, model: serial-barcode-scanner, address: "tcp://127.0.0.1:${port}" }
inspection:
    devices:
        - { id: rpm-l1, model: n42-rpm, lane: L1, folder: ${JSON.stringify(rpmFolder)}, pollMs: 100, settleMs: 100 }
`,
        );
        // The database as the gate will find it: central's RED declaration, an officer and an auditor with sessions.
        const db = openDatabase(dbPath);
        migrate(db);
        const cache = ClearanceCache.open(db);
        cache.importData(
            {
                version: "k-1",
                declarations: [
                    {
                        number: RED,
                        type: "10",
                        channel: "RED",
                        status: "CLEARED",
                        declaredPlates: [],
                        containers: [],
                        version: 1,
                    },
                ] as never, // central's JSON shape, validated by the cache
                watchList: [],
            },
            Date.now(),
        );
        cache.setVersion("k-1", Date.now());
        const users = new UserStore(db);
        const sessions = new SessionStore(db);
        const hash = hashPassword("kill-test-password-1");
        const sessionOf = (name: string, role: "officer" | "auditor") => {
            users.add(name, role, hash);
            const { token, session } = sessions.create({ name, role }, 3_600_000, "127.0.0.1");
            return { cookie: `gate_session=${token}`, "x-csrf-token": session.csrfToken };
        };
        const officer = sessionOf("lan", "officer");
        const auditor = sessionOf("em", "auditor");
        db.close();

        const get = async <T>(path: string, headers: Record<string, string>): Promise<T> => {
            const response = await fetch(`${child?.httpUrl}${path}`, { headers });
            expect(response.status).toBe(200);
            return (await response.json()) as T;
        };
        const allEvents = async (): Promise<GateEvent[]> => {
            const events: GateEvent[] = [];
            for (let after = 0; ; ) {
                const page = await get<{ events: GateEvent[]; next: number }>(
                    `/api/v1/events?after=${after}&limit=500`,
                    auditor,
                );
                events.push(...page.events);
                if (page.events.length === 0) return events;
                after = page.next;
            }
        };
        const openCase = async () =>
            (await get<{ inspections: InspectionCase[] }>("/api/v1/inspections?status=open", officer)).inspections[0];

        const rpm = new RpmSimulator({ folder: rpmFolder, seed: 11 });
        child = await spawnGate(configPath);
        const opened = await eventually(openCase, WAIT_MS, "the RED truck's case");
        const acknowledged: string[] = [];

        for (let round = 0; round < KILLS; round++) {
            // An officer's finding (acknowledged: durable) and an RPM occupancy, then a kill at a random moment.
            const text = `finding ${round}`;
            const response = await fetch(`${child.httpUrl}/api/v1/inspections/${opened.caseId}/actions`, {
                method: "POST",
                headers: { ...officer, "content-type": "application/json" },
                body: JSON.stringify({ action: "finding", step: "physical", text }),
            });
            expect(response.status).toBe(200);
            acknowledged.push(text);
            await rpm.pass(round % 2 === 0 ? "norm" : "clean");
            await new Promise((resolve) => setTimeout(resolve, Math.floor(Math.random() * 400))); // the kill's random moment
            child.child.kill("SIGKILL");
            await child.exited;
            child = await spawnGate(configPath);

            // The case the API serves converges on the fold of the log: the restarted gate may still be acting on
            // an RPM file dropped before the kill, and the in-memory case follows a commit by a moment, so the
            // log is read before and after the case, and the comparison is retried until neither moves.
            const caseEvents = async () =>
                (await allEvents()).filter((event) => event.type.startsWith("inspection.")) as CaseEvent[]; // the inspection.* events are the case events
            let last: { folded: InspectionCase | undefined; served: InspectionCase } | undefined;
            try {
                await eventually(
                    async () => {
                        const before = await caseEvents();
                        const served = (
                            await get<{ inspection: InspectionCase }>(`/api/v1/inspections/${opened.caseId}`, officer)
                        ).inspection;
                        const after = await caseEvents();
                        const folded = after.reduce<InspectionCase | undefined>(applyCaseEvent, undefined);
                        last = { folded: JSON.parse(JSON.stringify(folded ?? null)), served }; // as JSON carries it: no undefined fields
                        return before.length === after.length && isDeepStrictEqual(last.folded, served)
                            ? true
                            : undefined;
                    },
                    WAIT_MS,
                    `round ${round}: the case served equals the fold of its log`,
                );
            } finally {
                expect(last?.served).toEqual(last?.folded);
            }
            const now = { inspection: last?.served as InspectionCase }; // set by the wait above, or it threw
            const findings = now.inspection.entries
                .filter((entry) => entry.kind === "finding")
                .map((entry) => entry.text);
            expect(findings).toEqual(acknowledged);
            // Every radiation reading stored (before or after the kill) ends up on the case exactly once.
            await eventually(
                async () => {
                    const log = await allEvents();
                    const readings = log.filter((event) => event.type === "reading.radiation").map((event) => event.id);
                    const onCase = log
                        .filter((event) => event.type === "inspection.result" && event.data.kind === "radiation")
                        .map((event) => String(event.data.readingEventId));
                    return readings.length > 0 && JSON.stringify(onCase.sort()) === JSON.stringify(readings.sort())
                        ? true
                        : undefined;
                },
                WAIT_MS,
                `round ${round}: every radiation reading on the case once`,
            );
        }
    }, 600_000);
});
