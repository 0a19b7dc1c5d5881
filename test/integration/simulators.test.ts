/**
 * The simulators against real parts: TCP sockets on 127.0.0.1, socat PTYs opened with serialport, an
 * in-process aedes broker. Bytes are always checked with the device models' own framers and decoders,
 * so a simulator that drifts from the model fails here.
 */
import { existsSync, lstatSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server, type Socket, connect as tcpConnect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Aedes, type AuthenticateError } from "aedes";
import { SerialPort } from "serialport";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { getModel, models } from "../../devices/index.ts";
import type { DecodeResult, ScaleModel, ScannerModel, SealReaderModel } from "../../devices/types.ts";
import {
    PtyPair,
    runSimulateCommand,
    ScaleSimulator,
    ScannerSimulator,
    SealReaderSimulator,
    seededRng,
    TcpSerialServer,
} from "../../simulators/index.ts";
import { isGateError } from "../../src/core/errors.ts";
import type { ScanValues, SealValues, WeightValues } from "../../src/core/events.ts";
import { StreamFramer } from "../../src/drivers/framing.ts";
import { systemToolAvailable } from "../helpers/system.ts";

const dir = mkdtempSync(join(tmpdir(), "gate-edge-sim-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Everything a test started, stopped after it whatever happened. */
const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function eventually<T>(check: () => T | undefined | null | false, what: string, timeoutMs = 10_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        const value = check();
        if (value !== undefined && value !== null && value !== false) return value;
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await new Promise((resolve) => setTimeout(resolve, 10));
    }
}

function scaleModel(id: string): ScaleModel {
    const model = getModel(id);
    if (model?.kind !== "weight") throw new Error(`${id} is not a scale model`);
    return model;
}

/** A raw TCP client that records every chunk it receives, as gate-edge's driver would see them. */
interface RawClient {
    socket: Socket;
    chunks: Buffer[];
    closed: boolean;
    bytes(): Buffer;
}

async function rawClient(port: number): Promise<RawClient> {
    const socket = tcpConnect(port, "127.0.0.1");
    const client: RawClient = {
        socket,
        chunks: [],
        closed: false,
        bytes: () => Buffer.concat(client.chunks),
    };
    socket.on("data", (chunk: Buffer) => client.chunks.push(chunk));
    socket.on("close", () => {
        client.closed = true;
    });
    socket.on("error", () => undefined);
    await new Promise<void>((resolve, reject) => {
        socket.once("connect", () => resolve());
        socket.once("error", reject);
    });
    cleanups.push(() => socket.destroy());
    return client;
}

async function startTcp(options: ConstructorParameters<typeof TcpSerialServer>[0] = { port: 0 }) {
    const server = new TcpSerialServer(options);
    await server.start();
    cleanups.push(() => server.stop());
    return server;
}

/** Cuts bytes with the model's framer and decodes every frame with the model's decoder. */
function decodeAll<V>(
    model: { framer: ScaleModel["framer"]; decode(frame: Uint8Array): DecodeResult<V> },
    bytes: Uint8Array,
) {
    const framer = new StreamFramer(model.framer);
    return framer.push(bytes).frames.map((frame) => model.decode(frame));
}

function readingsOf<V>(results: DecodeResult<V>[]): V[] {
    return results.flatMap((result) => (result.status === "reading" ? [result.values] : []));
}

// ---------------------------------------------------------------------------------------------------

describe("TcpSerialServer (Moxa NPort TCP server lookalike)", () => {
    it("serves one client at a time, closes a second one at once, and accepts again once the first leaves", async () => {
        const server = await startTcp();
        const events: string[] = [];
        server.onEvent((event) => events.push(event.type));
        const first = await rawClient(server.port);
        await eventually(() => server.connected, "first client accepted");

        const second = await rawClient(server.port);
        await eventually(() => second.closed, "second client closed by the server");
        expect(server.rejected).toBe(1);
        expect(events).toContain("rejected");

        server.write(Buffer.from("to the first"));
        await eventually(() => first.bytes().toString() === "to the first", "bytes at the first client");
        expect(second.bytes().length).toBe(0);

        first.socket.destroy();
        await eventually(() => !server.connected, "first client gone");
        const third = await rawClient(server.port);
        await eventually(() => server.connected, "third client accepted");
        server.write(Buffer.from("hello"));
        await eventually(() => third.bytes().toString() === "hello", "bytes at the third client");
        expect(third.closed).toBe(false);
    });

    it("bytewise chunking really splits a frame across TCP chunks", async () => {
        const server = await startTcp({ port: 0, chunking: "bytewise" });
        const client = await rawClient(server.port);
        await eventually(() => server.connected, "client accepted");
        const frame = scaleModel("toledo-continuous").encode({
            kg: 24560,
            motion: false,
            overload: false,
            underload: false,
        });
        server.write(frame);
        await eventually(() => client.bytes().length === frame.length, "whole frame received");
        expect(client.bytes()).toEqual(Buffer.from(frame));
        expect(client.chunks.length).toBeGreaterThan(1);
        expect(Math.max(...client.chunks.map((chunk) => chunk.length))).toBeLessThan(frame.length);
    });

    it("random chunking keeps every byte in order but not on frame boundaries", async () => {
        const server = await startTcp({ port: 0, chunking: "random", rng: seededRng(7) });
        const client = await rawClient(server.port);
        await eventually(() => server.connected, "client accepted");
        const frames = Array.from({ length: 12 }, (_, i) => Buffer.from(`frame-${String(i).padStart(2, "0")}|`));
        for (const frame of frames) server.write(frame);
        const expected = Buffer.concat(frames);
        await eventually(() => client.bytes().length === expected.length, "all frames received", 15_000);
        expect(client.bytes()).toEqual(expected);
        // Chunk boundaries that are not frame boundaries prove frames were split.
        let offset = 0;
        const misaligned = client.chunks.filter((chunk) => {
            offset += chunk.length;
            return offset % frames[0]!.length !== 0;
        });
        expect(misaligned.length).toBeGreaterThan(0);
    });

    it("passes client bytes up, drops bytes nobody receives, and unplug/plug closes and reopens the same port", async () => {
        const server = await startTcp();
        server.write(Buffer.from("lost"));
        expect(server.dropped).toBe(4);

        const received: Buffer[] = [];
        server.onData((bytes) => received.push(Buffer.from(bytes)));
        const client = await rawClient(server.port);
        client.socket.write("SI\r\n");
        await eventually(() => Buffer.concat(received).toString() === "SI\r\n", "command at the device");
        const port = server.port;

        await server.unplug();
        await eventually(() => client.closed, "client dropped by unplug");
        await expect(rawClient(port)).rejects.toMatchObject({ code: "ECONNREFUSED" });

        await server.plug();
        expect(server.port).toBe(port);
        const again = await rawClient(port);
        await eventually(() => server.connected, "client accepted after plug");
        server.write(Buffer.from("back"));
        await eventually(() => again.bytes().toString() === "back", "bytes after plug");
    });

    it("refuses a port that is already taken with SIMULATOR_USAGE", async () => {
        const taken = await startTcp();
        const clash = new TcpSerialServer({ port: taken.port });
        await expect(clash.start()).rejects.toSatisfy((err: unknown) => isGateError(err, "SIMULATOR_USAGE"));
    });
});

// ---------------------------------------------------------------------------------------------------

describe("ScaleSimulator", () => {
    async function scaleOnTcp(model: string, options: Partial<ConstructorParameters<typeof ScaleSimulator>[0]> = {}) {
        const link = new TcpSerialServer({ port: 0, chunking: "random", rng: seededRng(3) });
        const sim = new ScaleSimulator({ model, link, rateHz: 50, rng: seededRng(11), ...options });
        await sim.start();
        cleanups.push(() => sim.stop());
        const client = await rawClient(link.port);
        await eventually(() => link.connected, "client accepted");
        return { sim, link, client };
    }

    it("toledo-continuous: a truck ramps on in motion, then the decoded frames settle on the driven weight", async () => {
        const model = scaleModel("toledo-continuous");
        const { sim, client } = await scaleOnTcp(model.model);
        const motionAt: number[] = [];
        sim.on("motion", (kg) => motionAt.push(kg));

        const stable = await sim.driveOn(24_563, { rampMs: 600, settleMs: 300 });
        expect(stable).toBe(24_560);
        const framesAtStable = sim.framesSent;
        await eventually(() => sim.framesSent >= framesAtStable + 3, "frames after settling");
        await eventually(() => {
            const readings = readingsOf(decodeAll(model, client.bytes()));
            const last = readings.at(-1);
            return last?.kg === 24_560 && last.stable ? true : undefined;
        }, "a stable 24560 kg frame at the client");

        const results = decodeAll(model, client.bytes());
        expect(results.every((result) => result.status === "reading")).toBe(true);
        const readings = readingsOf<WeightValues>(results);
        const during = readings.filter((reading) => reading.motion);
        expect(motionAt).toEqual([0]);
        expect(during.length).toBeGreaterThan(3);
        // The ramp passes through axle steps between the empty deck and the load, on the division.
        expect(during.some((reading) => reading.kg > 1000 && reading.kg < 23_000)).toBe(true);
        expect(readings.every((reading) => reading.kg % 10 === 0)).toBe(true);
        expect(readings.at(-1)).toMatchObject({ kg: 24_560, motion: false, stable: true, overload: false });

        await sim.driveOff({ rampMs: 300, settleMs: 100 });
        expect(sim.state).toMatchObject({ kg: 0, motion: false });
    });

    it.each(models.filter((model): model is ScaleModel => model.kind === "weight" && model.mode === "continuous"))(
        "$model: the stream decodes to the weight set on the simulator",
        async (model) => {
            const { sim, client } = await scaleOnTcp(model.model);
            sim.setWeight(38_420);
            const from = client.bytes().length;
            await eventually(
                () => readingsOf(decodeAll(model, client.bytes().subarray(from))).some((r) => r.kg === 38_420),
                `${model.model} frame with 38420 kg`,
            );
        },
    );

    it("toledo-continuous without checksum: the 17-byte stream is read by that model and refused by the default one", async () => {
        const noChecksum = getModel("toledo-continuous", { checksum: false });
        if (noChecksum?.kind !== "weight") throw new Error("toledo-continuous is a scale model");
        const { sim, client } = await scaleOnTcp("toledo-continuous", { model: noChecksum });
        sim.setWeight(24_560);
        await eventually(() => decodeAll(noChecksum, client.bytes()).length >= 5, "five frames");
        const stream = client.bytes();
        const frame17 = "02 2A 30 20 30 32 34 35 36 30 30 30 30 30 30 30 0D";
        expect(stream.subarray(stream.indexOf(0x02), stream.indexOf(0x02) + 18).toString("hex")).toBe(
            `${frame17.replaceAll(" ", "").toLowerCase()}02`,
        );
        const results = decodeAll(noChecksum, stream);
        expect(results.every((r) => r.status === "reading" && (r.values as WeightValues).kg === 24_560)).toBe(true);
        const withChecksum = scaleModel("toledo-continuous");
        expect(decodeAll(withChecksum, stream).every((r) => r.status === "invalid")).toBe(true);
    });

    it("corruptNext, garbage and a cut-off frame are rejected by the decoder while good frames keep coming", async () => {
        const model = scaleModel("toledo-continuous");
        const { sim, client } = await scaleOnTcp(model.model);
        sim.setWeight(12_340);
        await eventually(() => client.bytes().length > 0, "first frames");
        const from = client.bytes().length;
        sim.garbage(Buffer.from([0x55, 0xaa, 0x00, 0x13]));
        sim.partialNext();
        sim.corruptNext(2);
        const sentBefore = sim.framesSent;
        await eventually(() => sim.framesSent >= sentBefore + 6, "frames after the faults");
        await eventually(() => client.bytes().length >= from + 4 * 18, "bytes at the client");

        const results = decodeAll(model, client.bytes().subarray(from));
        // Garbage and the cut-off frame never form a frame (the framer discards them); the two corrupt
        // frames do, and fail their checksum.
        const invalid = results.filter((result) => result.status === "invalid");
        expect(invalid).toEqual([
            { status: "invalid", reason: "checksum mismatch" },
            { status: "invalid", reason: "checksum mismatch" },
        ]);
        expect(readingsOf(results).at(-1)).toMatchObject({ kg: 12_340, stable: true });
    });

    it("silence(true) stops all output while the port stays connected; silence(false) resumes", async () => {
        const { sim, link, client } = await scaleOnTcp("toledo-continuous");
        await eventually(() => client.bytes().length > 0, "frames");
        sim.silence(true);
        const sent = sim.framesSent;
        const received = client.bytes().length;
        // Proves that nothing is sent for a while (the scale emits every few ms when it talks): a fixed pause
        // on purpose, since there is no event for "did not send".
        await new Promise((resolve) => setTimeout(resolve, 200));
        expect(sim.framesSent).toBe(sent);
        expect(link.connected).toBe(true);
        // Bytes already queued before silence may still drain; nothing new is produced after it.
        expect(client.bytes().length - received).toBeLessThanOrEqual(2 * 18);
        sim.silence(false);
        await eventually(() => sim.framesSent > sent, "frames again");
    });

    it("overload and underload are flagged in the frames", async () => {
        const model = scaleModel("toledo-continuous");
        const { sim, client } = await scaleOnTcp(model.model, { capacityKg: 60_000 });
        sim.overload();
        expect(sim.state.overload).toBe(true);
        let from = client.bytes().length;
        await eventually(
            () => readingsOf(decodeAll(model, client.bytes().subarray(from))).some((r) => r.overload),
            "overload frame",
        );
        sim.underload();
        from = client.bytes().length;
        await eventually(
            () => readingsOf(decodeAll(model, client.bytes().subarray(from))).some((r) => r.underload && r.kg < 0),
            "underload frame",
        );
    });

    it("mettler-toledo-sics answers SI\\r\\n (even split across chunks), SIR repeats, Z zeroes, unknown → ES", async () => {
        const model = scaleModel("mettler-toledo-sics");
        const { sim, client } = await scaleOnTcp(model.model);
        sim.setWeight(24_560);

        client.socket.write("S");
        client.socket.write("I\r\n");
        await eventually(() => client.bytes().toString().includes("\r\n"), "answer to SI");
        expect(client.bytes().toString()).toBe("S S      24560 kg\r\n");
        expect(readingsOf(decodeAll(model, client.bytes()))).toEqual([
            expect.objectContaining({ kg: 24_560, stable: true, motion: false }),
        ]);

        client.chunks.length = 0;
        client.socket.write("SIR\r\n");
        await eventually(() => readingsOf(decodeAll(model, client.bytes())).length >= 4, "repeated answers to SIR");
        client.socket.write("XX\r\n");
        await eventually(() => client.bytes().toString().endsWith("ES\r\n"), "ES for an unknown command");
        const afterStop = client.bytes().length;
        // Proves that the SIR repetition stopped: nothing more arrives for a while (a pause on purpose).
        await new Promise((resolve) => setTimeout(resolve, 150));
        expect(client.bytes().length).toBe(afterStop);

        // A truck on the deck is outside the zero range: a real indicator refuses with Z + and keeps the weight.
        client.chunks.length = 0;
        client.socket.write("Z\r\nSI\r\n");
        await eventually(() => client.bytes().toString().split("\r\n").length >= 3, "answers to Z and SI");
        expect(client.bytes().toString()).toBe("Z +\r\nS S      24560 kg\r\n");

        // Within the zero range (≤ 2 % of 80 t) the zero is done.
        sim.setWeight(40);
        client.chunks.length = 0;
        client.socket.write("Z\r\nSI\r\n");
        await eventually(() => client.bytes().toString().split("\r\n").length >= 3, "answers to Z and SI");
        expect(client.bytes().toString()).toBe(`Z A\r\nS S ${"0".padStart(10)} kg\r\n`);
        expect(sim.commandsReceived).toBe(7);
    });

    it("mettler-toledo-sics: Z with a truck on, below zero and in motion is refused; @ resets and answers I4 A", async () => {
        const model = scaleModel("mettler-toledo-sics");
        const { sim, client } = await scaleOnTcp(model.model, { serialNumber: "B123456789" });
        sim.setWeight(24_560);
        client.socket.write("SIR\r\n");
        await eventually(() => readingsOf(decodeAll(model, client.bytes())).length >= 2, "SIR repeating");
        client.chunks.length = 0;
        client.socket.write("@\r\n");
        await eventually(() => client.bytes().toString().includes('I4 A "B123456789"\r\n'), "the answer to @");
        // The reset ended SIR: after its answer only the answer to the next SI arrives, no repeats.
        const afterReset = client.bytes().toString().split('I4 A "B123456789"\r\n')[0]?.length ?? 0;
        sim.setWeight(10_000);
        client.socket.write("SI\r\n");
        await eventually(() => client.bytes().toString().endsWith("10000 kg\r\n"), "the answer to SI after @");
        const sinceReset = decodeAll(model, client.bytes().subarray(afterReset));
        expect(sinceReset).toEqual([
            { status: "ignored", reason: "serial number" },
            expect.objectContaining({ status: "reading", values: expect.objectContaining({ kg: 10_000 }) }),
        ]);

        sim.setWeight(-2_000);
        client.chunks.length = 0;
        client.socket.write("Z\r\n");
        await eventually(() => client.bytes().toString().endsWith("\r\n"), "the answer to Z below zero");
        expect(client.bytes().toString()).toBe("Z -\r\n");
        expect(sim.state.kg).toBe(-2_000);
        expect(sim.zero()).toBe(false);

        void sim.driveOn(30_000, { rampMs: 60_000 });
        client.chunks.length = 0;
        client.socket.write("Z\r\n");
        await eventually(() => client.bytes().toString().endsWith("\r\n"), "the answer to Z in motion");
        expect(client.bytes().toString()).toBe("Z I\r\n");
        expect(decodeAll(model, Buffer.from("Z +\r\nZ -\r\nZ I\r\n")).map((r) => r.status)).toEqual([
            "ignored",
            "ignored",
            "ignored",
        ]);
    });

    it("sma-scale: Z with a truck on is the zero error; T tares, M reads the tare, Q, D, A, B answer", async () => {
        const model = scaleModel("sma-scale");
        const { sim, client } = await scaleOnTcp(model.model);
        sim.setWeight(24_560);
        const ask = async (command: string, replies = 1): Promise<string> => {
            client.chunks.length = 0;
            client.socket.write(`\n${command}\r`);
            await eventually(() => client.bytes().toString().split("\r").length > replies, `the answer to ${command}`);
            return client.bytes().toString();
        };
        expect(await ask("Z")).toBe(`\nE1G  ${"-".repeat(10)}kg \r`);
        expect(sim.state.kg).toBe(24_560);
        expect(await ask("Q")).toBe(`\n 1g  ${"24560".padStart(10)}kg \r`);
        expect(await ask("T")).toBe(`\nZ1N  ${"0".padStart(10)}kg \r`);
        expect(sim.state).toMatchObject({ kg: 0, tareKg: 24_560 });
        expect(await ask("M")).toBe(`\n 1T  ${"24560".padStart(10)}kg \r`);
        expect(await ask("D")).toBe("\n    \r");
        expect(await ask("A")).toBe("\nSMA:2/1.0\r");
        expect(await ask("B")).toBe("\nMFG:gate-edge simulator\r");
        expect(await ask("B")).toBe("\nMOD:sma-scale\r");
        expect(await ask("K")).toBe("\n?\r");
        const results = decodeAll(model, Buffer.from(`\nE1G  ${"-".repeat(10)}kg \r\n    \r\nSMA:2/1.0\r`));
        expect(results.map((r) => r.status)).toEqual(["ignored", "ignored", "ignored"]);

        sim.setWeight(20);
        expect(await ask("Z")).toBe(`\nZ1N  ${"0".padStart(10)}kg \r`);
    });

    it("mettler-toledo-sics: a corrupt weight answer is rejected by the decoder", async () => {
        const model = scaleModel("mettler-toledo-sics");
        const { sim, client } = await scaleOnTcp(model.model);
        sim.setWeight(8_000);
        sim.corruptNext(1);
        client.socket.write("SI\r\nSI\r\n");
        await eventually(() => decodeAll(model, client.bytes()).length === 2, "two answers");
        const [first, second] = decodeAll(model, client.bytes());
        expect(first?.status).toBe("invalid");
        expect(second).toMatchObject({ status: "reading", values: { kg: 8_000 } });
    });

    it("stop() cancels pending waits: an awaited one rejects with DRIVER_CANCELED, a dropped one stays quiet", async () => {
        const { sim } = await scaleOnTcp("toledo-continuous");
        void sim.driveOn(30_000, { rampMs: 5000 }); // dropped: vitest fails the run on an unhandled rejection
        const waiting = sim.whenStable(30_000);
        await sim.stop();
        await expect(waiting).rejects.toSatisfy((err: unknown) => isGateError(err, "DRIVER_CANCELED"));
    });

    it("rejects an unknown model with MODEL_UNKNOWN naming the valid ids", async () => {
        const sim = new ScaleSimulator({ model: "no-such-scale", link: new TcpSerialServer({ port: 0 }) });
        const error = await sim.start().catch((err: unknown) => err);
        expect(isGateError(error, "MODEL_UNKNOWN")).toBe(true);
        expect(String(error)).toContain("toledo-continuous");
    });
});

// ---------------------------------------------------------------------------------------------------

describe("ScannerSimulator", () => {
    it("partial read then full read, and duplicate reads, reach the host as the model encodes them", async () => {
        const link = new TcpSerialServer({ port: 0, chunking: "bytewise" });
        const sim = new ScannerSimulator({ model: "serial-barcode-scanner", link, suffix: "CRLF", aimPrefix: "]Q1" });
        await sim.start();
        cleanups.push(() => sim.stop());
        const client = await rawClient(link.port);
        await eventually(() => link.connected, "client accepted");

        await sim.partial("101234567820", 50);
        const full = "]Q1101234567820\r\n";
        const cut = full.slice(0, Math.floor(full.length / 2));
        await eventually(() => client.bytes().length === cut.length + full.length, "fragment and full read");
        expect(client.bytes().toString()).toBe(cut + full);

        client.chunks.length = 0;
        await sim.scanDuplicate("CSQU3054383", 3, 20);
        await eventually(() => client.bytes().length === 3 * "CSQU3054383\r\n".length + 9, "three reads");
        const model = getModel("serial-barcode-scanner") as ScannerModel;
        const scans = readingsOf<ScanValues>(decodeAll(model, client.bytes()));
        expect(scans.map((scan) => scan.payload)).toEqual(["CSQU3054383", "CSQU3054383", "CSQU3054383"]);
        expect(scans[0]?.symbology).toBe("]Q1");
        expect(sim.scans).toBe(4);
    });

    it("a periodic script scans its payloads in turn", async () => {
        const link = new TcpSerialServer({ port: 0 });
        const sim = new ScannerSimulator({
            model: "serial-barcode-scanner",
            link,
            suffix: "CR",
            script: { payloads: ["101234567820", "CSQU3054383"], intervalMs: 30 },
        });
        await sim.start();
        cleanups.push(() => sim.stop());
        const client = await rawClient(link.port);
        await eventually(() => client.bytes().toString().split("\r").length > 4, "several scripted scans");
        const lines = client.bytes().toString().split("\r").slice(0, -1);
        // The first scans may have been sent before the client connected (and were lost, as on a wire).
        const i = lines.indexOf("101234567820");
        expect(lines[i + 1]).toBe("CSQU3054383");
        expect(lines[i + 2]).toBe("101234567820");
    });
});

// ---------------------------------------------------------------------------------------------------

describe("PtyPair errors", () => {
    it("reports a missing socat as SYSTEM_TOOL_MISSING", async () => {
        const pty = new PtyPair({
            deviceLink: join(dir, "nosocat-dev"),
            hostLink: join(dir, "nosocat-host"),
            socatPath: join(dir, "no-such-socat"),
        });
        const error = await pty.start().catch((err: unknown) => err);
        expect(isGateError(error, "SYSTEM_TOOL_MISSING")).toBe(true);
        expect(String(error)).toContain("apt-get install socat");
    });

    it("refuses to replace a regular file at a link path", async () => {
        const file = join(dir, "precious-file");
        writeFileSync(file, "keep me");
        const pty = new PtyPair({ deviceLink: join(dir, "refuse-dev"), hostLink: file });
        await expect(pty.start()).rejects.toSatisfy((err: unknown) => isGateError(err, "SIMULATOR_USAGE"));
        expect(lstatSync(file).isFile()).toBe(true);
    });
});

describe.skipIf(!systemToolAvailable("socat"))("PtyPair with socat", () => {
    async function openHost(path: string): Promise<{ port: SerialPort; received: Buffer[] }> {
        const port = new SerialPort({ path, baudRate: 9600, autoOpen: false });
        await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
        const received: Buffer[] = [];
        port.on("data", (chunk: Buffer) => received.push(chunk));
        port.on("error", () => undefined);
        const close = () => new Promise<void>((resolve) => (port.isOpen ? port.close(() => resolve()) : resolve()));
        cleanups.push(close);
        return { port, received };
    }

    it("a SerialPort on the host link receives scanner bytes; unplug removes the link and plug brings it back", async () => {
        const model = getModel("serial-barcode-scanner") as ScannerModel;
        const pty = new PtyPair({
            deviceLink: join(dir, "ttyScannerDevice"),
            hostLink: join(dir, "ttyScanner"),
            serial: model.serialDefaults,
        });
        const sim = new ScannerSimulator({ model: model.model, link: pty, suffix: "CR", aimPrefix: "]Q1" });
        await sim.start();
        cleanups.push(() => sim.stop());
        expect(lstatSync(pty.hostPath).isSymbolicLink()).toBe(true);

        const host = await openHost(pty.hostPath);
        sim.scan("101234567820");
        await eventually(() => Buffer.concat(host.received).toString() === "]Q1101234567820\r", "scan at the host");
        const [scan] = readingsOf<ScanValues>(decodeAll(model, Buffer.concat(host.received)));
        expect(scan).toMatchObject({ payload: "101234567820", symbology: "]Q1" });

        await pty.unplug();
        expect(existsSync(pty.hostPath)).toBe(false);
        expect(pty.isPlugged).toBe(false);
        sim.scan("lost while unplugged");
        expect(pty.dropped).toBeGreaterThan(0);
        await new Promise<void>((resolve) => (host.port.isOpen ? host.port.close(() => resolve()) : resolve()));

        await pty.plug();
        expect(existsSync(pty.hostPath)).toBe(true);
        const again = await openHost(pty.hostPath);
        sim.scan("CSQU3054383");
        await eventually(() => Buffer.concat(again.received).toString() === "]Q1CSQU3054383\r", "scan after plug");
    });

    it("a request-mode scale answers the host through the PTY", async () => {
        const model = scaleModel("sma-scale");
        const pty = new PtyPair({
            deviceLink: join(dir, "ttyScaleDevice"),
            hostLink: join(dir, "ttyScale"),
            serial: model.serialDefaults,
        });
        const sim = new ScaleSimulator({ model: model.model, link: pty });
        await sim.start();
        cleanups.push(() => sim.stop());
        sim.setWeight(24_560);
        const host = await openHost(pty.hostPath);
        host.port.write(Buffer.from(model.poll?.command ?? []));
        await eventually(() => readingsOf(decodeAll(model, Buffer.concat(host.received))).length > 0, "SMA reply");
        expect(readingsOf(decodeAll(model, Buffer.concat(host.received)))[0]).toMatchObject({
            kg: 24_560,
            stable: true,
        });
    });
});

// ---------------------------------------------------------------------------------------------------

interface Captured {
    topic: string;
    payload: Buffer;
}

describe("SealReaderSimulator with an in-process aedes broker", () => {
    let broker: Aedes;
    let server: Server;
    let brokerUrl: string;
    const sockets = new Set<Socket>();
    const captured: Captured[] = [];
    /** While set, QoS 1 publishes are held before the broker accepts them (so no PUBACK yet). */
    let hold: Promise<void> | undefined;
    /** Publishes that reached the broker while `hold` was set. */
    let heldPublishes = 0;
    const prefix = "gate/HN01/devices/seal-l1";
    const model = getModel("eseal-mqtt-json") as SealReaderModel;

    beforeAll(async () => {
        broker = await Aedes.createBroker({
            authenticate: (_client, username, password, callback) => {
                if (username === "seal-l1" && password?.toString() === "secret") return callback(null, true);
                const error = new Error("bad credentials") as AuthenticateError;
                error.returnCode = 4;
                callback(error, false);
            },
            // Captured here, just before the broker accepts the publish: aedes writes the PUBACK before it
            // emits "publish", so capturing on that event would race a read() that already resolved.
            authorizePublish: (client, packet, callback) => {
                const accept = () => {
                    if (client && packet.topic.startsWith(prefix)) {
                        captured.push({ topic: packet.topic, payload: Buffer.from(packet.payload) });
                    }
                    callback(null);
                };
                const held = hold;
                if (held) {
                    heldPublishes++;
                    held.then(accept);
                } else accept();
            },
        });
        server = createServer((socket) => {
            sockets.add(socket);
            socket.on("close", () => sockets.delete(socket));
            broker.handle(socket);
        });
        await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
        brokerUrl = `mqtt://127.0.0.1:${(server.address() as { port: number }).port}`;
    });

    afterAll(async () => {
        for (const socket of sockets) socket.destroy();
        await new Promise((resolve) => server.close(resolve));
        await new Promise<void>((resolve) => broker.close(() => resolve()));
    });

    function decoded(): Array<DecodeResult<SealValues>> {
        return captured.map(({ topic, payload }) => model.decode(topic.slice(prefix.length + 1), payload));
    }

    async function startReader(options: Partial<ConstructorParameters<typeof SealReaderSimulator>[0]> = {}) {
        const sim = new SealReaderSimulator({
            model: model.model,
            brokerUrl,
            username: "seal-l1",
            password: "secret",
            topicPrefix: prefix,
            readerId: "seal-l1",
            heartbeatMs: 60_000,
            reconnectMs: 100,
            ...options,
        });
        cleanups.push(() => sim.stop());
        await sim.start();
        return sim;
    }

    it("publishes a heartbeat, reads, tamper and low battery that the model decodes; read() resolves on PUBACK", async () => {
        captured.length = 0;
        const sim = await startReader();
        await eventually(() => captured.some((c) => c.topic === `${prefix}/heartbeat`), "heartbeat on connect");
        expect(decoded()[0]).toMatchObject({ status: "ignored", reason: "heartbeat" });

        await expect(sim.read({ sealId: "VNC-000123", type: "GPS", status: "SEALED", batteryPct: 90 })).resolves.toBe(
            true,
        );
        await expect(sim.tamper("VNC-000123")).resolves.toBe(true);
        await expect(sim.lowBattery("VNC-000123")).resolves.toBe(true);
        await eventually(() => captured.length === 4, "four messages at the broker");

        const reads = readingsOf(decoded());
        expect(reads).toEqual([
            expect.objectContaining({
                sealId: "VNC-000123",
                type: "GPS",
                status: "SEALED",
                battery: { pct: 90, low: false },
            }),
            expect.objectContaining({ status: "TAMPERED", alerts: ["ROPE_CUT"] }),
            // A tampered seal stays tampered; now its battery is flat too.
            expect.objectContaining({ status: "TAMPERED", battery: { pct: 8, low: true } }),
        ]);
        expect(reads.every((read) => read.readerId === "seal-l1")).toBe(true);
        expect(sim.published).toBe(4);
    });

    it("read() stays pending until the broker acknowledges", async () => {
        captured.length = 0;
        const sim = await startReader();
        await eventually(() => captured.length === 1, "heartbeat");
        let release: () => void = () => undefined;
        hold = new Promise<void>((resolve) => {
            release = resolve;
        });
        let acked = false;
        const heldBefore = heldPublishes;
        const read = sim.read({ sealId: "VNC-000200", type: "ISO18185", status: "SEALED" }).then((ok) => {
            acked = ok;
        });
        await eventually(() => heldPublishes > heldBefore, "the read held at the broker");
        expect(acked).toBe(false);
        expect(sim.published).toBe(1);
        hold = undefined;
        release();
        await read;
        expect(acked).toBe(true);
        expect(sim.published).toBe(2);
    });

    it("rfLoss stops publishing: reads are lost, then reads flow again", async () => {
        captured.length = 0;
        const sim = await startReader();
        await eventually(() => captured.length === 1, "heartbeat");
        const states: string[] = [];
        sim.on("rf", (state) => states.push(state));
        sim.rfLoss(150);
        await expect(sim.read({ sealId: "VNC-000300", type: "GPS", status: "SEALED" })).resolves.toBe(false);
        expect(sim.lost).toBe(1);
        await eventually(() => states.includes("restored"), "radio back");
        await expect(sim.reread("VNC-000300")).resolves.toBe(true);
        const reads = readingsOf(decoded());
        expect(reads.map((read) => read.sealId)).toEqual(["VNC-000300"]);
    });

    it("reconnects by itself after the broker drops the connection", async () => {
        const sim = await startReader();
        let connects = 0;
        let offline = 0;
        sim.on("connected", () => connects++);
        sim.on("offline", () => offline++);
        for (const socket of sockets) socket.destroy();
        await eventually(() => connects >= 1, "reconnected");
        expect(offline).toBeGreaterThanOrEqual(1);
        captured.length = 0;
        await expect(sim.read({ sealId: "VNC-000400", type: "GPS", status: "OPENED" })).resolves.toBe(true);
        expect(readingsOf(decoded())[0]).toMatchObject({ sealId: "VNC-000400", status: "OPENED" });
    });

    it("wrong credentials fail start() with BROKER_AUTH", async () => {
        const sim = new SealReaderSimulator({
            model: model.model,
            brokerUrl,
            username: "seal-l1",
            password: "wrong",
            topicPrefix: prefix,
            readerId: "seal-l1",
        });
        cleanups.push(() => sim.stop());
        await expect(sim.start()).rejects.toSatisfy((err: unknown) => isGateError(err, "BROKER_AUTH"));
        expect(sim.connected).toBe(false);
    });

    it("keeps retrying an unreachable broker, reporting the error, until stop() cancels start()", async () => {
        const closed = createServer();
        await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
        const port = (closed.address() as { port: number }).port;
        await new Promise((resolve) => closed.close(resolve));
        const sim = new SealReaderSimulator({
            model: model.model,
            brokerUrl: `mqtt://127.0.0.1:${port}`,
            topicPrefix: prefix,
            readerId: "seal-l1",
            reconnectMs: 50,
        });
        const errors: Error[] = [];
        sim.on("connectionError", (err) => errors.push(err));
        const starting = sim.start();
        await eventually(() => errors.length >= 2, "two failed attempts");
        expect(errors[0]?.message).toContain("ECONNREFUSED");
        await sim.stop();
        await expect(starting).rejects.toSatisfy((err: unknown) => isGateError(err, "DRIVER_CANCELED"));
    });

    it("CLI: eseal connects, reads, tampers after the delay and stops on abort", async () => {
        captured.length = 0;
        const out: string[] = [];
        const controller = new AbortController();
        const run = runSimulateCommand(
            "eseal",
            [
                "--broker",
                brokerUrl,
                "--username",
                "seal-l1",
                "--password",
                "secret",
                "--topic-prefix",
                prefix,
                "--seal",
                "VNC-000123",
                "--tamper-after",
                "100ms",
            ],
            {
                stdout: { write: (text: string) => out.push(text) },
                stderr: { write: () => true },
                signal: controller.signal,
            },
        );
        await eventually(() => out.some((line) => line.includes("TAMPERED (ROPE_CUT) acked")), "tamper line");
        controller.abort();
        await expect(run).resolves.toBe(0);
        expect(out.join("")).toContain(`eseal eseal-mqtt-json on ${brokerUrl} ${prefix}: connected`);
        expect(out.at(-1)).toContain("stopped after");
        expect(readingsOf(decoded()).map((read) => read.status)).toEqual(["SEALED", "TAMPERED"]);
    });
});

// ---------------------------------------------------------------------------------------------------

describe("runSimulateCommand", () => {
    function io(signal?: AbortSignal) {
        const out: string[] = [];
        const err: string[] = [];
        return {
            out,
            err,
            io: {
                stdout: { write: (text: string) => out.push(text) },
                stderr: { write: (text: string) => err.push(text) },
                signal,
            },
        };
    }

    it("bad arguments exit 2 and list the valid options, models and kinds", async () => {
        const unknownModel = io();
        expect(await runSimulateCommand("scale", ["--model", "nope", "--tcp", "127.0.0.1:0"], unknownModel.io)).toBe(2);
        expect(unknownModel.err.join("")).toContain(
            "mettler-toledo-sics, sma-scale, toledo-continuous, yaohua-xk3190-a9",
        );

        const unknownOption = io();
        expect(await runSimulateCommand("scale", ["--model", "toledo-continuous", "--bogus"], unknownOption.io)).toBe(
            2,
        );
        expect(unknownOption.err.join("")).toContain("--corrupt-every");

        const noLink = io();
        expect(await runSimulateCommand("scanner", ["--scan", "X"], noLink.io)).toBe(2);
        expect(noLink.err.join("")).toContain("--tcp");

        const badDuration = io();
        expect(
            await runSimulateCommand(
                "scanner",
                ["--tcp", "127.0.0.1:0", "--scan", "X", "--every", "soon"],
                badDuration.io,
            ),
        ).toBe(2);
        expect(badDuration.err.join("")).toContain("--every must be a duration");

        const unknownKind = io();
        expect(await runSimulateCommand("barrier", [], unknownKind.io)).toBe(2);
        expect(unknownKind.err.join("")).toContain("scale, scanner, eseal");
    });

    it("--help prints the usage and exits 0", async () => {
        const help = io();
        expect(await runSimulateCommand("scale", ["--help"], help.io)).toBe(0);
        expect(help.out.join("")).toContain("--truck <kg>");
    });

    it("scale over TCP: prints what it does, streams the truck weight, stops cleanly on abort", async () => {
        const controller = new AbortController();
        const { out, io: cliIo } = io(controller.signal);
        const model = scaleModel("toledo-continuous");
        const run = runSimulateCommand(
            "scale",
            ["--model", model.model, "--tcp", "127.0.0.1:0", "--truck", "24560", "--ramp", "300ms", "--rate", "50"],
            cliIo,
        );
        const ready = await eventually(() => out.join("").match(/on tcp:\/\/127\.0\.0\.1:(\d+): ready/), "ready line");
        const client = await rawClient(Number(ready[1]));
        await eventually(() => out.some((line) => line.endsWith("truck on, 24560 kg stable\n")), "stable line");
        await eventually(
            () => readingsOf(decodeAll(model, client.bytes())).some((r) => r.kg === 24_560 && r.stable),
            "stable frame",
        );
        controller.abort();
        await expect(run).resolves.toBe(0);
        expect(out.join("")).toContain(
            `scale toledo-continuous on tcp://127.0.0.1:${ready[1]}: truck driving on, 24560 kg`,
        );
        expect(out.at(-1)).toMatch(/stopped after \d+ frames/);
        await eventually(() => client.closed, "client closed at stop");
    });

    it("a port already in use is a run-time failure: exit 1", async () => {
        const taken = await startTcp();
        const { err, io: cliIo } = io(AbortSignal.abort());
        expect(await runSimulateCommand("scanner", ["--tcp", `127.0.0.1:${taken.port}`, "--scan", "X"], cliIo)).toBe(1);
        expect(err.join("")).toContain("EADDRINUSE");
    });
});
