import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { main } from "../../src/cli.ts";
import { parseConfig } from "../../src/config/load.ts";
import { isGateError } from "../../src/core/errors.ts";
import { captureStream } from "../helpers/io.ts";
import { tempDir } from "../helpers/tmp.ts";

const dir = tempDir();
afterAll(() => dir.cleanup());

/** Schema errors (a device without model) and errors found past the schema (addresses, credentials) at once. */
const MIXED = `
gate: { id: HN01 }
storage: { path: ./data/gate.db }
lanes:
  - id: L1
    devices:
      - { id: scale-l1 }
      - { id: seal-l1, model: eseal-mqtt-json }
  - id: L2
    devices:
      - { id: scanner-l2, model: serial-barcode-scanner }
      - { id: scale-l2, model: toledo-continuous, address: "tcp://nohost" }
`;

function errorsOf(text: string): string[] {
    try {
        parseConfig(text, { env: {} });
    } catch (err) {
        if (isGateError(err, "CONFIG_INVALID")) return [...err.details];
        throw err;
    }
    return [];
}

describe("a configuration's errors, all in one run", () => {
    it("names a device's missing model and address, and the errors past the schema in other devices and lanes", () => {
        expect(errorsOf(MIXED)).toEqual([
            "lanes[0].devices[0].model: is required",
            "lanes[0].devices[0].address: is required (every model but MQTT devices and push cameras needs one)",
            "lanes[0].devices[1].auth: an MQTT device needs a username and password on the embedded broker",
            "lanes[1].devices[0].address: is required for a serial device",
            "lanes[1].devices[1].address: tcp address needs a host and a port, e.g. tcp://10.0.0.5:4001",
        ]);
    });

    it("does not judge a device the schema refused beyond the schema's own words", () => {
        const errors = errorsOf(`
gate: { id: HN01 }
storage: { path: ./data/gate.db }
lanes:
  - id: L1
    devices:
      - { id: scale-l1, model: toledo-continuous, address: "tcp://h:1", pollIntervalMs: "soon" }
`);
        expect(errors).toHaveLength(1);
        expect(errors[0]).toMatch(/^lanes\[0\]\.devices\[0\]\.pollIntervalMs: /);
    });
});

describe("gate-edge check-config --config FILE", () => {
    const run = async (args: string[]) => {
        const out = captureStream();
        const err = captureStream();
        const code = await main(["check-config", ...args], { stdout: out.stream, stderr: err.stream });
        return { code, out: out.text(), err: err.text() };
    };

    it("takes the file as --config like every other command, and still as an argument", async () => {
        for (const args of [["--config", "config/demo.yaml"], ["-c", "config/demo.yaml"], ["config/demo.yaml"]]) {
            const result = await run(args);
            expect(result.code).toBe(0);
            expect(result.out).toContain("config/demo.yaml: OK — gate DEMO01");
        }
    });

    it("lists every error of a bad file given with --config", async () => {
        const file = join(dir.path, "mixed.yaml");
        writeFileSync(file, MIXED);
        const result = await run(["--config", file]);
        expect(result.code).toBe(1);
        expect(result.err).toContain("has 5 error(s)");
        expect(result.err).toContain("lanes[0].devices[0].address: is required");
        expect(result.err).toContain("lanes[1].devices[0].address: is required for a serial device");
    });

    it("refuses no file or two files with a usage error", async () => {
        expect((await run([])).code).toBe(2);
        expect((await run(["config/demo.yaml", "--config", "config/example.yaml"])).code).toBe(2);
    });
});
