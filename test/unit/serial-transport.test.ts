/**
 * The serial transport over serialport's mock binding (its own design for tests): the port binding is
 * injected, so framing, polling, status and stop are checked without a PTY. Real socat PTYs stay in
 * test/integration/serial.test.ts.
 */
import { SerialPortMock } from "serialport";
import { afterEach, describe, expect, it } from "vitest";
import { definition as sics } from "../../devices/mettler-toledo-sics.ts";
import type { DeviceConfig } from "../../src/config/types.ts";
import { serialTransport } from "../../src/drivers/serial.ts";
import { recordingContext } from "../contract/recordingContext.ts";
import { eventually } from "../helpers/gate.ts";

const PATH = "/dev/MOCK-SCALE";

afterEach(() => SerialPortMock.binding.reset());

describe("serial transport with serialport's mock binding", () => {
    it("frames what the port sends, polls, reports status, and stops twice", async () => {
        SerialPortMock.binding.createPort(PATH, { record: true });
        const opened: SerialPortMock[] = [];
        class RecordedPort extends SerialPortMock {
            constructor(options: ConstructorParameters<typeof SerialPortMock>[0]) {
                super(options);
                opened.push(this);
            }
        }
        const device: DeviceConfig = {
            id: "scale-1",
            laneId: "L1",
            model: sics.model,
            kind: "weight",
            address: { transport: "serial", path: PATH },
        };
        const rec = recordingContext();
        const transport = serialTransport(
            { device, model: sics, config: { ingest: { offlineAfterMs: 60_000 } } },
            rec.ctx,
            {
                portClass: async () => RecordedPort,
            },
        );
        expect(transport.capabilities).toMatchObject({ read: true, poll: true, snapshot: false, actuate: false });
        await transport.start();
        await eventually(() => rec.statuses.includes("online") || undefined, 10_000, "online");
        const port = opened[0]?.port;
        // The poll command went out on its own (MT-SICS answers only when asked).
        await eventually(() => port?.recording.includes(Buffer.from("SI\r\n")) || undefined, 10_000, "polled");
        port?.emitData(Buffer.from("noise S S      1234 kg\r\n"));
        const frame = await eventually(
            () => rec.inputs.find((raw) => raw.kind === "frame"),
            10_000,
            "a frame handed on",
        );
        // The framer cuts at CR LF and hands the line on without it.
        expect(frame).toEqual({ kind: "frame", bytes: Buffer.from("noise S S      1234 kg") });
        expect(transport.describe()).toEqual({ address: `serial://${PATH}`, connected: true });
        await transport.stop();
        await transport.stop();
        expect(transport.describe().connected).toBe(false);
        await expect(transport.poll?.()).rejects.toThrow(/disconnected/);
    });
});
