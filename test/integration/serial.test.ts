import { closeSync, openSync, writeSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { definition as sics } from "../../devices/mettler-toledo-sics.ts";
import { definition as scanner } from "../../devices/serial-barcode-scanner.ts";
import { definition as toledo } from "../../devices/toledo-continuous.ts";
import type { GateEvent } from "../../src/core/events.ts";
import type { Gate } from "../../src/gate.ts";
import { eventually, startGate, testConfig } from "../helpers/gate.ts";
import { SocatPair } from "../helpers/socat.ts";
import { systemToolAvailable } from "../helpers/system.ts";
import { tempDir } from "../helpers/tmp.ts";

const dir = tempDir();
afterAll(() => dir.cleanup());

let gate: Gate | undefined;
const servers: Server[] = [];
afterEach(async () => {
    await gate?.stop();
    gate = undefined;
    for (const server of servers.splice(0)) await new Promise((resolve) => server.close(resolve));
});

/** A TCP serial server lookalike: one connection at a time; hands the test each connected socket. */
async function tcpSerialServer(onConnection: (socket: Socket) => void): Promise<number> {
    let active: Socket | undefined;
    const server = createServer((socket) => {
        if (active && !active.destroyed) {
            socket.destroy();
            return;
        }
        active = socket;
        socket.setNoDelay(true);
        socket.on("error", () => undefined);
        onConnection(socket);
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return (server.address() as { port: number }).port;
}

/** Writes every byte in its own TCP segment, as a serial server with a 1-byte "force transmit" would. */
async function writeBytewise(socket: Socket, bytes: Uint8Array): Promise<void> {
    for (const byte of bytes) {
        await new Promise<void>((resolve) => socket.write(Buffer.from([byte]), () => resolve()));
        await new Promise((resolve) => setImmediate(resolve));
    }
}

const readings = (g: Gate, type: string): GateEvent[] => g.log.read(0, 10_000).filter((event) => event.type === type);

describe("TCP serial server devices", () => {
    it("reads Toledo frames split at every byte, with garbage and a corrupt frame in between", async () => {
        const port = await tcpSerialServer(async (socket) => {
            const stream = Buffer.concat([
                Buffer.from(toledo.encode({ kg: 0, motion: false, overload: false, underload: false })),
                Buffer.from([0x55, 0xaa, 0x00]),
                Buffer.from(
                    toledo.encode({ kg: 24560, motion: false, overload: false, underload: false }, { corrupt: true }),
                ),
                Buffer.from(toledo.encode({ kg: 24560, motion: false, overload: false, underload: false })),
            ]);
            await writeBytewise(socket, stream);
        });
        gate = await startGate(
            testConfig(
                dir.path,
                `  - id: L1\n    devices:\n      - { id: scale-1, model: toledo-continuous, address: "tcp://127.0.0.1:${port}" }\n`,
            ),
        );
        const g = gate;
        const weights = await eventually(
            () => {
                const found = readings(g, "reading.weight");
                return found.length >= 2 ? found : undefined;
            },
            10_000,
            "two weight readings",
        );
        expect(weights.map((event) => (event.data.values as { kg: number }).kg)).toEqual([0, 24560]);
        const runtime = g.runtime("scale-1")!;
        expect(runtime.counters.invalid).toBe(1);
        expect(runtime.counters.discardedBytes).toBe(3);
        expect(runtime.health().status).toBe("online");
    });

    it("polls a request/response scale and reads its answer", async () => {
        const port = await tcpSerialServer((socket) => {
            let buffered = "";
            socket.on("data", (chunk) => {
                buffered += chunk.toString("latin1");
                while (buffered.includes("\r\n")) {
                    const command = buffered.slice(0, buffered.indexOf("\r\n") + 2);
                    buffered = buffered.slice(command.length);
                    const answer = sics.respond!(Buffer.from(command, "latin1"), {
                        kg: 18240,
                        motion: false,
                        overload: false,
                        underload: false,
                    });
                    if (answer) socket.write(Buffer.from(answer));
                }
            });
        });
        gate = await startGate(
            testConfig(
                dir.path,
                `  - id: L1\n    devices:\n      - { id: scale-2, model: mettler-toledo-sics, address: "tcp://127.0.0.1:${port}", pollIntervalMs: 50 }\n`,
            ),
        );
        const g = gate;
        const [weight] = await eventually(
            () => {
                const found = readings(g, "reading.weight");
                return found.length > 0 ? found : undefined;
            },
            10_000,
            "a polled weight",
        );
        expect(weight?.data.values).toMatchObject({ kg: 18240, stable: true });
    });

    it("drops a half frame at disconnect and reads again after the server comes back", async () => {
        let connections = 0;
        let port = 0;
        port = await tcpSerialServer((socket) => {
            connections++;
            const frame = Buffer.from(
                scanner.encode(connections === 1 ? "101234567820" : "CSQU3054383", { suffix: "CRLF" }),
            );
            if (connections === 1) {
                // A full read, then half of a second one, then the link drops.
                socket.write(Buffer.concat([frame, Buffer.from("30123")]), () => socket.destroy());
            } else {
                socket.write(frame);
            }
        });
        gate = await startGate(
            testConfig(
                dir.path,
                `  - id: L1\n    devices:\n      - { id: scan-1, model: serial-barcode-scanner, address: "tcp://127.0.0.1:${port}" }\n`,
            ),
        );
        const g = gate;
        const scans = await eventually(
            () => {
                const found = readings(g, "reading.scan");
                return found.length >= 2 ? found : undefined;
            },
            15_000,
            "a scan from each connection",
        );
        expect(scans.map((event) => (event.data.values as { payload: string }).payload)).toEqual([
            "101234567820",
            "CSQU3054383",
        ]);
        const runtime = g.runtime("scan-1")!;
        // The scanner's frames end at CR, so the half frame is the LF of the CR LF before it plus "30123".
        expect(runtime.counters.discardedBytes).toBe(6);
        expect(runtime.counters.reconnects).toBeGreaterThanOrEqual(1);
        const statuses = readings(g, "device.status").map((event) => event.data.status);
        expect(statuses).toEqual(expect.arrayContaining(["online", "offline"]));
    });
});

describe.skipIf(!systemToolAvailable("socat"))("serial ports (PTY pairs made by socat)", () => {
    it("reads a scanner on a serial port, notices the port vanish, and reads again when it returns", async () => {
        const pair = new SocatPair(join(dir.path, "ttyScannerDevice"), join(dir.path, "ttyScanner"));
        await pair.start();
        try {
            gate = await startGate(
                testConfig(
                    dir.path,
                    `  - id: L1\n    devices:\n      - { id: scan-pty, model: serial-barcode-scanner, address: "serial://${pair.hostLink}?baudRate=115200" }\n`,
                ),
            );
            const g = gate;
            const runtime = g.runtime("scan-pty")!;
            await eventually(() => runtime.health().status === "online" || undefined, 10_000, "port open");
            const send = (payload: string) => {
                const fd = openSync(pair.deviceLink, "w");
                writeSync(fd, Buffer.from(scanner.encode(payload, { suffix: "CR", aimPrefix: "]Q1" })));
                closeSync(fd);
            };
            send("101234567820");
            await eventually(() => readings(g, "reading.scan").length === 1 || undefined, 10_000, "first scan");

            await pair.stop();
            await eventually(() => runtime.health().status === "offline" || undefined, 10_000, "port vanished");

            await pair.start();
            await eventually(() => runtime.health().status === "online" || undefined, 15_000, "port back");
            send("CSQU3054383");
            const scans = await eventually(
                () => {
                    const found = readings(g, "reading.scan");
                    return found.length === 2 ? found : undefined;
                },
                10_000,
                "scan after return",
            );
            expect(scans.map((event) => event.data.values)).toMatchObject([
                { payload: "101234567820", symbology: "]Q1", parsed: { type: "declaration" } },
                { payload: "CSQU3054383", parsed: { type: "container", checkDigitOk: true } },
            ]);
            expect(runtime.counters.reconnects).toBeGreaterThanOrEqual(1);
        } finally {
            await gate?.stop();
            gate = undefined;
            await pair.stop();
        }
    });
});
