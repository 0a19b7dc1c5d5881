/**
 * A wall-clock step (NTP after a long outage, a technician's mistake) through a real gate: repeat reads
 * are judged on the monotonic clock, so a step back of an hour does not turn an hour of new reads into
 * "duplicates"; events keep their gap-free seq order whatever the timestamps say. Clearance data received
 * in the run is aged on the monotonic clock too, so a step back neither keeps it fresh past
 * rules.clearanceMaxAgeMinutes nor makes data just received look stale.
 */
import mqtt from "mqtt";
import { afterAll, describe, expect, it } from "vitest";
import { definition as eseal } from "../../devices/eseal-mqtt-json.ts";
import { ManualClock } from "../../src/core/clock.ts";
import type { Gate } from "../../src/gate.ts";
import type { DecisionRecord } from "../../src/lane/types.ts";
import { eventually, startGate, testConfig } from "../helpers/gate.ts";
import { declarationScanDraft, plateDraft } from "../helpers/readings.ts";
import { tempDir } from "../helpers/tmp.ts";

const dir = tempDir();
const GREEN = "101234567820";
afterAll(() => dir.cleanup());

describe("a wall-clock jump", () => {
    it("neither drops repeat reads as duplicates after a step back of an hour, nor reorders events", async () => {
        const clock = new ManualClock(Date.UTC(2026, 10, 22, 9, 0, 0));
        const config = testConfig(
            dir.path,
            `  - id: L1
    devices:
      - { id: seal-1, model: eseal-mqtt-json, auth: { username: seal-1, password: clock-jump-password } }`,
        );
        const gate = await startGate(config, { clock });
        const client = await mqtt.connectAsync(gate.addresses.mqtt as string, {
            username: "seal-1",
            password: "clock-jump-password",
            reconnectPeriod: 0,
        });
        try {
            const read = async (): Promise<void> => {
                const { subtopic, payload } = eseal.encode({
                    msg: "read",
                    sealId: "VNC-0100001",
                    type: "ISO18185",
                    status: "SEALED",
                    ts: new Date(clock.now()).toISOString(),
                });
                await client.publishAsync(`gate/T01/devices/seal-1/${subtopic}`, Buffer.from(payload), { qos: 1 });
            };
            const seals = () => gate.log.read(0, 1000).filter((event) => event.type === "reading.seal");
            await read();
            await eventually(() => seals().length === 1 || undefined, 5000, "the first read");
            // Within the duplicate window (3 s here): the repeat is a duplicate, as it should be.
            clock.advance(1000);
            await read();
            // The wall clock steps back an hour; then 3 s really pass.
            clock.jump(-3_600_000);
            clock.advance(3_000);
            await read();
            await eventually(() => seals().length === 2 || undefined, 5000, "the read after the window");
            // And forward two hours: no read is lost either way.
            clock.jump(7_200_000);
            clock.advance(3_000);
            await read();
            await eventually(() => seals().length === 3 || undefined, 5000, "the read after the forward step");
            const events = gate.log.read(0, 1000);
            expect(events.map((event) => event.seq)).toEqual(events.map((_, index) => index + 1));
            const times = seals().map((event) => Date.parse(event.recordedAt));
            // Recorded times follow the wall clock, steps and all; order is seq's.
            expect(times[1]).toBeLessThan(times[0] as number);
            expect(times[2]).toBeGreaterThan(times[1] as number);
        } finally {
            await client.endAsync();
            await gate.stop();
        }
    });

    it("ages clearance data on the monotonic clock: a step back does not keep it fresh past its maximum age", async () => {
        const clock = new ManualClock(Date.UTC(2026, 10, 22, 9, 0, 0));
        const lanes = ["L1", "L2"]
            .map(
                (lane) => `  - id: ${lane}
    devices:
      - { id: cam-${lane}, model: dahua-itsapi-anpr, role: front, auth: { username: cam-${lane}, password: camera-${lane}-password } }
      - { id: scan-${lane}, model: serial-barcode-scanner, address: "tcp://127.0.0.1:9" }
`,
            )
            .join("");
        const gate = await startGate(
            testConfig(
                dir.path,
                lanes,
                "rules: { requiredReads: [plate, declaration], clearanceMaxAgeMinutes: 60, offlinePolicy: hold }",
            ),
            { clock },
        );
        /** A green truck through `lane`: its decision once made. */
        const truck = async (laneGate: Gate, lane: string): Promise<DecisionRecord> => {
            await laneGate.log.append({ laneId: lane, ...plateDraft(`cam-${lane}`, "15C-123.45", "15C12345") });
            await laneGate.log.append({ laneId: lane, ...declarationScanDraft(`scan-${lane}`, GREEN) });
            const passage = await eventually(
                () => laneGate.passages.list({ laneId: lane, limit: 5 }).find((p) => p.decision !== null),
                10_000,
                `the truck on ${lane} decided`,
            );
            return passage.record.decision as DecisionRecord;
        };
        try {
            gate.clearance.importData(
                {
                    version: "clock-1",
                    declarations: [
                        {
                            number: GREEN,
                            type: "10",
                            channel: "GREEN",
                            status: "CLEARED",
                            documentCheckDone: false,
                            inspectionDone: false,
                            declaredPlates: ["15C-123.45"],
                            containers: [],
                            version: 1,
                        },
                    ],
                    watchList: [],
                },
                clock.now(),
            );
            // The wall clock steps back two hours just after the data came; ten minutes pass.
            clock.jump(-2 * 3_600_000);
            clock.advance(10 * 60_000);
            const fresh = await truck(gate, "L1");
            expect(fresh).toMatchObject({ decision: "RELEASE", offline: false, clearanceAgeMs: 10 * 60_000 });
            // Another 51 minutes: the data is 61 minutes old, though the wall clock says it is dated in the future.
            clock.advance(51 * 60_000);
            const stale = await truck(gate, "L2");
            expect(stale).toMatchObject({
                decision: "HOLD",
                decidingRule: "clearance-fresh",
                offline: true,
                clearanceAgeMs: 61 * 60_000,
            });
        } finally {
            await gate.stop();
        }
    });
});
