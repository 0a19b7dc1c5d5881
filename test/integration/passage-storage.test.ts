/**
 * Storage grows linearly with what happened (issue 13 §5): a flood of seal reads into one passage stores
 * passage events that carry what changed, a bounded number of distinct seals, and nothing for a read that
 * changes nothing; measured on the gate's own SQLite file.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Gate } from "../../src/gate.ts";
import { MAX_FACTS_PER_KIND } from "../../src/lane/correlator.ts";
import type { PassageFacts } from "../../src/lane/types.ts";
import { eventually, startGate, testConfig } from "../helpers/gate.ts";
import { plateDraft } from "../helpers/readings.ts";
import { tempDir } from "../helpers/tmp.ts";

const dir = tempDir();
let gate: Gate;

beforeAll(async () => {
    gate = await startGate(
        testConfig(
            dir.path,
            `  - id: L1
    devices:
      - { id: cam-1, model: dahua-itsapi-anpr, role: front, auth: { username: cam-1, password: camera-password } }
      - { id: seal-1, model: eseal-mqtt-json, auth: { username: seal-1, password: seal-password } }
`,
            // No declaration is ever scanned: the passage stays open and takes every read.
            "rules: { requiredReads: [plate, declaration], identifySeconds: 3600, weighSeconds: 3600 }",
        ),
    );
}, 30_000);

afterAll(async () => {
    await gate?.stop();
    dir.cleanup();
});

const sealRead = (sealId: string) =>
    gate.log.append({
        laneId: "L1",
        type: "reading.seal",
        deviceId: "seal-1",
        data: { values: { sealId, type: "ISO18185", status: "SEALED", alerts: [] } },
    });

/** Count and bytes of the passage's stored events of `type`. */
function stored(passageId: string, type: string): { count: number; bytes: number } {
    return gate.database
        .prepare(
            `SELECT count(*) AS count, coalesce(sum(length(data)), 0) AS bytes FROM events
             WHERE type = ? AND json_extract(data, '$.passageId') = ?`,
        )
        .get(type, passageId) as { count: number; bytes: number };
}

describe("a flood of seal reads into one passage", () => {
    it("stores bytes growing at most linearly with the distinct seals, bounded, and nothing for a repeat", async () => {
        await gate.log.append({ laneId: "L1", ...plateDraft("cam-1", "15C-123.45", "15C12345") });
        const { passageId } = await eventually(
            () => gate.passages.list({ laneId: "L1", limit: 1 })[0],
            10_000,
            "passage",
        );
        const afterPlate = stored(passageId, "passage.updated");

        const distinct = 3 * MAX_FACTS_PER_KIND;
        await Promise.all(Array.from({ length: distinct }, (_, i) => sealRead(`SEAL-${String(i).padStart(5, "0")}`)));
        await eventually(() => stored(passageId, "passage.updated").count >= MAX_FACTS_PER_KIND || undefined, 10_000);
        await gate.lanes.settled();
        const flooded = stored(passageId, "passage.updated");
        // One event per seal kept, none for those beyond the bound.
        expect(flooded.count - afterPlate.count).toBe(MAX_FACTS_PER_KIND);
        // Each carries one seal, not the passage: linear in the seals kept, a few hundred bytes each.
        const perEvent = (flooded.bytes - afterPlate.bytes) / MAX_FACTS_PER_KIND;
        expect(perEvent).toBeLessThan(400);
        const facts = gate.passages.get(passageId)?.record.facts as PassageFacts;
        expect(facts.seals).toHaveLength(MAX_FACTS_PER_KIND);
        const bounded = gate.log
            .read(0, 100_000)
            .filter((event) => event.type === "alert.raised" && event.data.code === "PASSAGE_READS_BOUNDED");
        expect(bounded).toHaveLength(1);

        // The same read again, many times: nothing new about the passage, so no passage event at all.
        const events = gate.log.headSeq;
        await Promise.all(Array.from({ length: 50 }, () => sealRead("SEAL-00000")));
        await eventually(() => gate.log.headSeq >= events + 50 || undefined, 10_000, "the repeats stored");
        await gate.lanes.settled();
        expect(stored(passageId, "passage.updated")).toEqual(flooded);
        // Reads of seals beyond the bound are counted, and the passage cannot be released automatically.
        expect(gate.lanes.snapshot("L1")?.passage?.facts.excess?.seals).toBe(2 * MAX_FACTS_PER_KIND);
    });
});
