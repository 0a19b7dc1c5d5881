import { createHash } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { main } from "../../src/cli.ts";
import { keyPath, loadConfig, parseConfig } from "../../src/config/load.ts";
import { verifyPassword } from "../../src/config/passwords.ts";
import { isGateError } from "../../src/core/errors.ts";
import { digestSecrets } from "../../src/drivers/httpDigest.ts";
import { captureStream } from "../helpers/io.ts";
import { tempDir } from "../helpers/tmp.ts";

const dir = tempDir();
afterAll(() => dir.cleanup());

const minimal = `
gate: { id: HN01 }
storage: { path: ./data/gate.db }
lanes:
  - id: L1
    devices:
      - { id: scale-l1, model: toledo-continuous, address: "serial:///dev/ttyUSB0?baudRate=9600&parity=even&dataBits=7" }
      - { id: seal-l1, model: eseal-mqtt-json, auth: { username: seal-l1, password: "\${SEAL_PW}" } }
`;

const PUSH_CAMERA = `      - { id: cam-1, model: dahua-itsapi-anpr, role: front, auth: { username: cam-1, password: camera-password } }`;
const SEAL = `      - { id: seal-1, model: eseal-mqtt-json, auth: { username: seal-1, password: seal-password } }`;

function errorsOf(text: string, env: NodeJS.ProcessEnv = {}): string[] {
    try {
        parseConfig(text, { env });
    } catch (err) {
        if (isGateError(err, "CONFIG_INVALID")) return [...err.details];
        throw err;
    }
    throw new Error("config was accepted");
}

describe("configuration", () => {
    it("turns JSON pointers into key paths", () => {
        expect(keyPath("/lanes/1/devices/0/model")).toBe("lanes[1].devices[0].model");
        expect(keyPath("")).toBe("");
    });

    it("accepts a minimal file, applies defaults, reads secrets from the environment and keeps only a hash", () => {
        const config = parseConfig(minimal, { env: { SEAL_PW: "s3cret-password" }, baseDir: "/srv/gate" });
        expect(config.storage).toEqual({
            path: "/srv/gate/data/gate.db",
            quotaMb: 4096,
            quotaCheckMs: 10000,
            groupCommitMax: 500,
            imageRetentionDays: 30,
            retentionDays: 90,
            retentionCheckMs: 3_600_000,
            pkiFolder: "/srv/gate/data/pki",
        });
        const deviceLogins = { maxFailures: 10, windowMinutes: 1 };
        expect(config.push).toEqual({ host: "0.0.0.0", port: 8081, loginRateLimit: deviceLogins });
        expect(config.broker).toEqual({
            mode: "embedded",
            host: "0.0.0.0",
            port: 1883,
            maxPacketBytes: 256 * 1024,
            connectTimeoutMs: 5000,
            maxSessionsPerAccount: 2,
            loginRateLimit: deviceLogins,
        });
        expect(config.http.port).toBe(8080);
        const [scale, seal] = config.lanes[0]!.devices;
        expect(scale?.address).toEqual({
            transport: "serial",
            path: "/dev/ttyUSB0",
            baudRate: 9600,
            parity: "even",
            dataBits: 7,
        });
        expect(seal?.address).toEqual({ transport: "mqtt", topic: "gate/HN01/devices/seal-l1" });
        expect(JSON.stringify(config)).not.toContain("s3cret-password");
        expect(verifyPassword("s3cret-password", seal!.auth!.passwordHash)).toBe(true);
        expect(verifyPassword("wrong-password", seal!.auth!.passwordHash)).toBe(false);
        expect(Object.isFrozen(config.lanes[0]!.devices[0])).toBe(true);
    });

    it("lists every error with its key path", () => {
        const errors = errorsOf(`
gate: { id: "bad id!" }
storage: { path: x.db, quotaMb: 0 }
colour: blue
lanes:
  - id: L1
    devices: []
  - id: L1
    devices:
      - { id: s1, model: foo, address: "tcp://h:1" }
      - { id: s2, model: toledo-continuous, address: "ftp://x" }
      - { id: s2, model: toledo-continuous, address: "tcp://10.0.0.5" }
`);
        expect(errors).toEqual(
            expect.arrayContaining([
                'gate.id: must match pattern "^[A-Za-z0-9_-]{1,32}$"',
                "storage.quotaMb: must be >= 1",
                "colour: is not a known key",
            ]),
        );
        // The commonest typo is named even when the schema failed elsewhere.
        expect(errors).toContain('lanes[1].devices[0].model: unknown model "foo"');
    });

    it("reports unknown models, bad addresses and duplicates by key path", () => {
        const errors = errorsOf(`
gate: { id: HN01 }
storage: { path: x.db }
lanes:
  - id: L1
    devices: []
  - id: L1
    devices:
      - { id: s1, model: foo, address: "tcp://h:1" }
      - { id: s2, model: toledo-continuous, address: "ftp://x" }
      - { id: s2, model: toledo-continuous, address: "tcp://10.0.0.5" }
      - { id: s3, kind: seal, model: serial-barcode-scanner, address: "serial:///dev/ttyS0?speed=9" }
      - { id: s4, model: eseal-mqtt-json }
`);
        expect(errors).toEqual([
            'lanes[1].id: lane id "L1" is used twice',
            'lanes[1].devices[0].model: unknown model "foo"',
            'lanes[1].devices[1].address: unsupported scheme "ftp:" (serial:, tcp: or mqtt:)',
            'lanes[1].devices[2].id: device id "s2" is used twice',
            "lanes[1].devices[2].address: tcp address needs a host and a port, e.g. tcp://10.0.0.5:4001",
            'lanes[1].devices[3].kind: "seal" does not match model serial-barcode-scanner, which reads "scan"',
            'lanes[1].devices[3].address: unknown serial option "speed" (baudRate, dataBits, parity, stopBits)',
            "lanes[1].devices[4].auth: an MQTT device needs a username and password on the embedded broker",
        ]);
    });

    it("reads cameras and the PLC: push credentials hashed, ONVIF and PLC logins kept out of every dump", () => {
        const config = parseConfig(
            `
gate: { id: HN01 }
storage: { path: ./gate.db }
lanes:
  - id: L1
    devices:
      - { id: cam-front, model: onvif-anpr, role: front, address: "http://192.168.1.64:8080", auth: { username: admin, password: onvif-password } }
      - { id: cam-rear, model: dahua-itsapi-anpr, role: rear, auth: { username: cam-rear, password: push-password } }
      - { id: cam-side, model: hikvision-isapi-anpr, allow: [10.0.0.7] }
      - { id: plc-l1, model: lane-plc-opcua, address: "opc.tcp://10.0.0.9:4840/UA/GatePLC", plc: { lanePrefix: L1 }, auth: { username: edge, password: plc-password } }
`,
            { baseDir: "/srv/gate" },
        );
        const [front, rear, side, plc] = config.lanes[0]!.devices;
        expect(front).toMatchObject({
            role: "front",
            address: { transport: "onvif", host: "192.168.1.64", port: 8080, snapshot: true },
        });
        expect(front?.login).toEqual({ username: "admin", password: "onvif-password" });
        expect(front?.auth).toBeUndefined();
        expect(verifyPassword("push-password", rear!.auth!.passwordHash)).toBe(true);
        expect(side?.address).toEqual({ transport: "http-push", allow: ["10.0.0.7"] });
        expect(plc?.address).toEqual({
            transport: "opcua",
            endpointUrl: "opc.tcp://10.0.0.9:4840/UA/GatePLC",
            lanePrefix: "L1",
            securityMode: "None",
            trustOnFirstUse: false,
            commandTimeoutMs: 3000,
            heartbeatMs: 1000,
        });
        const dump = JSON.stringify(config);
        for (const secret of ["onvif-password", "push-password", "plc-password"]) expect(dump).not.toContain(secret);
    });

    it("gives push cameras Digest always (HA1 kept out of every dump) and Basic only with auth.basic", () => {
        const config = parseConfig(`
gate: { id: HN01 }
storage: { path: ./gate.db }
lanes:
  - id: L1
    devices:
      - { id: cam-front, model: dahua-itsapi-anpr, role: front, auth: { username: cam-front, password: push-password } }
      - { id: cam-rear, model: hikvision-isapi-anpr, role: rear, auth: { username: cam-rear, password: push-password, basic: true } }
`);
        const [front, rear] = config.lanes[0]!.devices;
        expect(front?.auth?.basic).toBeUndefined();
        expect(rear?.auth?.basic).toBe(true);
        expect(front?.auth?.digest).toEqual(digestSecrets("cam-front", "push-password"));
        expect(front?.auth?.digest?.MD5).toBe(
            createHash("md5").update("cam-front:gate-edge push:push-password").digest("hex"),
        );
        const dump = JSON.stringify(config);
        for (const secret of [front?.auth?.digest?.MD5, front?.auth?.digest?.["SHA-256"]])
            expect(dump).not.toContain(secret);
        expect(
            errorsOf(minimal.replace("auth: { username: seal-l1,", "auth: { basic: true, username: seal-l1,"), {
                SEAL_PW: "seal-password",
            }),
        ).toEqual(["lanes[0].devices[1].auth.basic: only push cameras choose Basic besides Digest"]);
    });

    it("names camera and PLC mistakes by key path", () => {
        const errors = errorsOf(`
gate: { id: HN01 }
storage: { path: ./gate.db }
lanes:
  - id: L1
    devices:
      - { id: c1, model: onvif-anpr, role: left, address: "rtsp://cam/stream" }
      - { id: c2, model: hikvision-isapi-anpr }
      - { id: p1, model: lane-plc-opcua, address: "opc.tcp://plc:4840" }
      - { id: s1, model: toledo-continuous, address: "tcp://h:1", allow: [1.2.3.4] }
`);
        expect(errors).toEqual([
            "lanes[0].devices[0].address: an ONVIF camera is addressed as http://host:port, e.g. http://192.168.1.64:80",
            "lanes[0].devices[0].auth: an ONVIF camera needs the username and password to log in with",
            'lanes[0].devices[0].role: a plate camera is "front" or "rear"',
            "lanes[0].devices[1].auth: a push camera needs credentials or an allow list of source addresses",
            "lanes[0].devices[2].plc: is required for a PLC (at least plc.lanePrefix)",
            "lanes[0].devices[3].allow: model toledo-continuous does not use it",
        ]);
    });

    it("reports listeners that would take the same port, by key path, with the other errors", () => {
        const file = (listeners: string, devices = PUSH_CAMERA, extra = "") => `
gate: { id: HN01 }
storage: { path: x.db${extra} }
${listeners}
lanes:
  - id: L1
    devices:
${devices}
      - { id: s2, model: toledo-continuous, address: "ftp://x" }
`;
        const badAddress = 'lanes[0].devices[1].address: unsupported scheme "ftp:" (serial:, tcp: or mqtt:)';
        expect(
            errorsOf(
                file(`http: { host: 127.0.0.1, port: 18830 }
broker: { mode: embedded, host: 127.0.0.1, port: 18830 }`),
            ),
        ).toEqual([badAddress, "http.port: 18830 is also broker.port"]);
        // 0.0.0.0 (and ::) listens on every address: it takes the port from any host.
        expect(
            errorsOf(
                file(`http: { host: 127.0.0.1, port: 8080 }
push: { host: 0.0.0.0, port: 8080 }
broker: { mode: embedded, host: "::", port: 8080 }`),
            ),
        ).toEqual([
            badAddress,
            "http.port: 8080 is also broker.port (broker.host :: listens on every address), push.port (push.host 0.0.0.0 listens on every address)",
            "broker.port: 8080 is also push.port (broker.host :: listens on every address)",
        ]);
        // Reported with schema errors elsewhere in the file too, and so is the device's bad address.
        expect(errorsOf(file(`http: { host: 127.0.0.1, port: 1883 }`, PUSH_CAMERA, ", quotaMb: 0"))).toEqual([
            "storage.quotaMb: must be >= 1",
            badAddress,
            "http.port: 1883 is also broker.port (broker.host 0.0.0.0 listens on every address)",
        ]);
        // Not a clash: two specific addresses, port 0 (any free port), a receiver with no push camera to
        // serve, an external broker.
        const accepted = (listeners: string, devices = PUSH_CAMERA) => errorsOf(file(listeners, devices));
        expect(
            accepted(`http: { host: 127.0.0.1, port: 9000 }
push: { host: 10.0.0.5, port: 9000 }
broker: { mode: embedded, host: 0.0.0.0, port: 0 }`),
        ).toEqual([badAddress]);
        expect(accepted(`http: { port: 0 }\npush: { port: 0 }\nbroker: { mode: embedded, port: 0 }`)).toEqual([
            badAddress,
        ]);
        expect(accepted(`http: { host: 0.0.0.0, port: 8081 }`, SEAL)).toEqual([badAddress]);
        expect(
            accepted(
                `http: { host: 0.0.0.0, port: 1883 }\nbroker: { mode: external, url: "mqtt://10.0.0.2:1883" }`,
                SEAL,
            ),
        ).toEqual([badAddress]);
    });

    it("names a missing environment variable at its key path", () => {
        expect(errorsOf(minimal)).toEqual([
            "lanes[0].devices[1].auth.password: environment variable SEAL_PW is not set",
        ]);
    });

    it("refuses a file that is not YAML", () => {
        expect(errorsOf("gate: [unclosed")[0]).toMatch(/^\(root\):/);
    });

    it("accepts the shipped example and demo configurations", () => {
        expect(
            loadConfig("config/example.yaml", {
                env: {
                    GATE_SEAL_L1_PASSWORD: "example-password",
                    GATE_PLC_L2_PASSWORD: "example-password",
                    GATE_CAM_REAR_L2_PASSWORD: "example-password",
                },
            }).lanes,
        ).toHaveLength(2);
        // Two lanes of six devices, the yard entry's camera and the exit point's.
        expect(loadConfig("config/demo.yaml").lanes.map((lane) => lane.devices.length)).toEqual([6, 6, 1, 2]);
    });
});

describe("gate-edge check-config", () => {
    it("exits 0 for a good file", async () => {
        const out = captureStream();
        const err = captureStream();
        expect(await main(["check-config", "config/demo.yaml"], { stdout: out.stream, stderr: err.stream })).toBe(0);
        expect(out.text()).toMatch(/OK — gate DEMO01, 4 lane\(s\), 15 device\(s\)/);
    });

    it("exits 1 and lists every error of a bad file", async () => {
        const file = join(dir.path, "bad.yaml");
        writeFileSync(
            file,
            "gate: { id: HN01 }\nstorage: { path: x.db }\nlanes:\n  - id: L1\n  - id: L2\n    devices:\n      - { id: a, model: foo, address: 'tcp://h:1' }\n",
        );
        const out = captureStream();
        const err = captureStream();
        expect(await main(["check-config", file], { stdout: out.stream, stderr: err.stream })).toBe(1);
        expect(err.text()).toContain("lanes[0].devices: is required");
        expect(err.text()).toContain("known models:");
    });

    it("exits 1 for an HTTP port that is also the MQTT port, naming both keys", async () => {
        const file = join(dir.path, "clash.yaml");
        writeFileSync(
            file,
            `gate: { id: HN01 }\nstorage: { path: x.db }\nhttp: { port: 18830 }\nbroker: { port: 18830 }\nlanes:\n  - id: L1\n    devices:\n${SEAL}\n`,
        );
        const err = captureStream();
        expect(await main(["check-config", file], { stdout: captureStream().stream, stderr: err.stream })).toBe(1);
        expect(err.text()).toContain(
            "http.port: 18830 is also broker.port (broker.host 0.0.0.0 listens on every address)",
        );
    });

    it("exits 2 for a file that cannot be read", async () => {
        const err = captureStream();
        expect(
            await main(["check-config", join(dir.path, "missing.yaml")], {
                stdout: captureStream().stream,
                stderr: err.stream,
            }),
        ).toBe(2);
        expect(err.text()).toContain("ENOENT");
    });
});
