/**
 * The OPC UA PLC link as real PLCs run it (Siemens S7-1500 with security on): the lane PLC simulator
 * requiring SignAndEncrypt with Basic256Sha256 and a user, and the gate's driver connecting to it with its
 * own PKI, where the PLC's certificate is trusted only when a technician trusts it. Real node-opcua server
 * and client over opc.tcp on loopback; each failure must end in a status reason that says what to do.
 */
import { existsSync } from "node:fs";
import { createConnection } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { definition as plc } from "../../devices/lane-plc-opcua.ts";
import { LanePlcSimulator } from "../../simulators/lane-plc.ts";
import type { GateConfig } from "../../src/config/types.ts";
import type { DeviceStatus } from "../../src/core/events.ts";
import { checkPlcTrust, trustPlcCertificate } from "../../src/doctor.ts";
import { OpcUaPlcDriver, type OpcUaPlcDriverOptions } from "../../src/drivers/opcua.ts";
import { plcPkiFolder, plcPkiPaths, rejectedThumbprints } from "../../src/drivers/opcuaPki.ts";
import type { TransportContext } from "../../src/drivers/transport.ts";
import { eventually, startGate, testConfig } from "../helpers/gate.ts";
import { tempDir, testLog } from "../helpers/tmp.ts";

const USER = { username: "gate-edge", password: "plc-user-password" };

interface StatusLog {
    ctx: TransportContext;
    statuses: Array<{ status: DeviceStatus; reason: string }>;
}

function statusLog(): StatusLog {
    const log: StatusLog = {
        statuses: [],
        ctx: {
            log: testLog,
            input: async () => ({ outcome: "stored" }),
            setStatus: (status, reason) => log.statuses.push({ status, reason }),
        },
    };
    return log;
}

const pki = tempDir("gate-edge-opcua-security-");
let secure: LanePlcSimulator;
const drivers: OpcUaPlcDriver[] = [];

/** A driver with its own PKI folder, so what one test trusts does not help another. */
async function startDriver(name: string, overrides: Partial<OpcUaPlcDriverOptions>) {
    const log = statusLog();
    const driver = new OpcUaPlcDriver(
        {
            endpointUrl: secure.endpointUrl,
            lanePrefix: "L1",
            model: plc,
            securityMode: "SignAndEncrypt",
            username: USER.username,
            password: USER.password,
            pkiFolder: join(pki.path, name),
            heartbeatMs: 250,
            commandTimeoutMs: 3000,
            backoff: { initialDelayMs: 100, maxDelayMs: 500 },
            ...overrides,
        },
        log.ctx,
    );
    drivers.push(driver);
    await driver.start();
    return { driver, log };
}

async function reasonMatching(log: StatusLog, pattern: RegExp): Promise<string> {
    return eventually(
        () => log.statuses.find((s) => s.status === "offline" && pattern.test(s.reason))?.reason,
        30_000,
        `a status reason matching ${pattern}`,
    );
}

/** Offline statuses after the first matching one: the driver keeps retrying, each time with the same cause. */
function laterReasons(log: StatusLog, pattern: RegExp): string[] {
    const first = log.statuses.findIndex((s) => pattern.test(s.reason));
    return log.statuses.slice(first + 1).map((s) => s.reason);
}

beforeAll(async () => {
    secure = new LanePlcSimulator({
        host: "127.0.0.1",
        port: 0,
        lanes: ["L1"],
        pkiFolder: join(pki.path, "plc"),
        security: "secure",
        user: USER,
        travelMs: 300,
        autoCloseMs: 60_000,
    });
    await secure.start();
}, 60_000);

afterAll(async () => {
    await Promise.all(drivers.map((driver) => driver.stop()));
    await secure?.stop();
    pki.cleanup();
});

describe("A PLC that requires SignAndEncrypt and a user", () => {
    it("Should refuse the PLC's unknown certificate with a reason naming its thumbprint and how to trust it, then connect once doctor trusted it", async () => {
        // Named as the gate names a device's PKI folder, so the doctor below looks at the same one.
        const folder = plcPkiFolder(pki.path, "plc-l1");
        const { driver, log } = await startDriver("plc-l1", {});
        const reason = await reasonMatching(log, /not trusted/);
        const [thumbprint] = rejectedThumbprints(folder);
        expect(thumbprint).toMatch(/^[0-9a-f]{40}$/);
        expect(reason).toContain(`thumbprint ${thumbprint}`);
        expect(reason).toContain("gate-edge doctor --trust-plc");
        expect(reason).toContain(plcPkiPaths(folder).trusted);
        expect(driver.sessionAlive).toBe(false);

        // What the technician does: doctor shows the thumbprint, --trust-plc trusts it.
        const config = plcConfig();
        const before = await checkPlcTrust(config, 60_000);
        const plcCheck = before.find((check) => check.message.includes("certificate of PLC plc-l1"));
        expect(plcCheck?.status).toBe("fail");
        expect(plcCheck?.message).toContain(thumbprint);
        expect(plcCheck?.message).toContain("gate-edge doctor --trust-plc plc-l1");
        const trusted = await trustPlcCertificate(config, "plc-l1", 60_000);
        expect(trusted.status).toBe("ok");
        expect(trusted.message).toContain(thumbprint);
        const after = await checkPlcTrust(config, 60_000);
        expect(after.find((check) => check.message.includes("certificate of PLC plc-l1"))?.status).toBe("ok");

        // The driver retries by itself and now gets a session as the PLC's user, over SignAndEncrypt.
        await eventually(() => driver.sessionAlive, 60_000, "online once trusted");
        await eventually(() => secure.state("L1").watchdog > 0, 10_000, "the heartbeat written");
        const opened = await driver.openBarrier();
        expect(opened.confirmed).toBe(true);
        expect(secure.sessions()).toEqual([
            expect.objectContaining({
                securityMode: "SignAndEncrypt",
                securityPolicy: "Basic256Sha256",
                user: USER.username,
            }),
        ]);
    }, 300_000);

    it("Should trust the PLC's certificate on first use when configured so", async () => {
        const { driver } = await startDriver("tofu", { trustOnFirstUse: true });
        await eventually(() => driver.sessionAlive, 60_000, "online");
        const trustedFolder = plcPkiPaths(join(pki.path, "tofu")).trusted;
        expect(existsSync(trustedFolder)).toBe(true);
    }, 90_000);

    it("Should say the PLC refused the login, and keep retrying without another cause, with a wrong password", async () => {
        const { driver, log } = await startDriver("wrong-password", {
            trustOnFirstUse: true,
            password: "not-the-password",
        });
        const pattern = /refused the login of user "gate-edge" \(BadUserAccessDenied\)/;
        const reason = await reasonMatching(log, pattern);
        expect(reason).toContain("auth.password");
        await eventually(() => laterReasons(log, pattern).length >= 2 || undefined, 30_000, "two more retries");
        expect(laterReasons(log, pattern).every((later) => pattern.test(later))).toBe(true);
        expect(driver.sessionAlive).toBe(false);
        expect(JSON.stringify(log.statuses)).not.toContain("not-the-password");
    }, 90_000);

    it("Should say a user name is required when the gate has none", async () => {
        const { log } = await startDriver("anonymous", {
            trustOnFirstUse: true,
            username: undefined,
            password: undefined,
        });
        const reason = await reasonMatching(log, /requires a user name/);
        expect(reason).toContain("auth");
    }, 90_000);

    it("Should say which security the PLC offers when the gate asks for None", async () => {
        const { log } = await startDriver("none", { securityMode: "None" });
        const reason = await reasonMatching(log, /offers no session with security None\/None/);
        expect(reason).toContain("it offers SignAndEncrypt/Basic256Sha256");
        expect(reason).toContain("plc.securityMode");
    }, 90_000);
});

describe("A gate configured for a secure PLC", () => {
    it("Should connect with SignAndEncrypt as the configured user once doctor trusted the PLC in the gate's own PKI folder", async () => {
        const config = plcConfig("gate-pki");
        const sessionsBefore = secure.sessions().length; // the drivers of the tests above still hold theirs
        const gate = await startGate(config);
        try {
            const health = () => gate.runtime("plc-l1")?.health();
            await eventually(() => /not trusted/.test(health()?.reason ?? "") || undefined, 30_000, "refused");
            expect(health()?.status).toBe("offline");
            expect((await trustPlcCertificate(config, "plc-l1", 60_000)).status).toBe("ok");
            await eventually(() => health()?.status === "online" || undefined, 60_000, "online once trusted");
            expect(secure.sessions()).toHaveLength(sessionsBefore + 1);
            expect(secure.sessions().at(-1)).toEqual({
                securityMode: "SignAndEncrypt",
                securityPolicy: "Basic256Sha256",
                user: USER.username,
            });
        } finally {
            await gate.stop();
        }
    }, 300_000);
});

describe("The lane PLC simulator's listener", () => {
    it("Should listen on its configured host only", async () => {
        const port = secure.port;
        expect(secure.endpointUrl).toBe(`opc.tcp://127.0.0.1:${port}/UA/LanePLC`);
        expect(await tcpConnects("127.0.0.1", port)).toBe(true);
        // Another loopback address of this machine: a listener on every interface would accept it.
        expect(await tcpConnects("127.0.0.2", port)).toBe(false);
    });
});

function tcpConnects(host: string, port: number): Promise<boolean> {
    return new Promise((resolve) => {
        const socket = createConnection({ host, port });
        socket.once("connect", () => {
            socket.destroy();
            resolve(true);
        });
        socket.once("error", () => resolve(false));
    });
}

/** A gate config whose one PLC, plc-l1, is the secure simulator; its PKI folders are under pki.path/<folder>. */
function plcConfig(folder = "."): GateConfig {
    return testConfig(
        pki.path,
        `
  - id: L1
    direction: IN
    devices:
      - id: plc-l1
        model: lane-plc-opcua
        address: ${secure.endpointUrl}
        plc: { lanePrefix: L1, securityMode: SignAndEncrypt }
        auth: { username: ${USER.username}, password: "\${PLC_PASSWORD}" }
`,
        `storage: { path: ${JSON.stringify(join(pki.path, folder, "gate.db"))}, pkiFolder: ${JSON.stringify(join(pki.path, folder))} }`,
        { PLC_PASSWORD: USER.password },
    );
}
