/**
 * The inspection area's devices are under the gate's device supervision (issue 16): their health, with
 * its status-reason code, is in the API's device list and in /api/v1/health beside the lanes' devices —
 * on a real gate reading real folders, with the RPM simulator writing its reports.
 */
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { RpmSimulator } from "../../simulators/rpm.ts";
import type { Gate } from "../../src/gate.ts";
import { catalogue, LANGUAGES } from "../../src/i18n/format.ts";
import { type ApiSession, apiSession } from "../helpers/api.ts";
import { eventually, startGate, testConfig } from "../helpers/gate.ts";
import { tempDir } from "../helpers/tmp.ts";

const WAIT_MS = 30_000;

interface ListedDevice {
    deviceId: string;
    laneId: string | null;
    kind: string;
    address: string;
    status: string;
    reasonCode?: string;
    reasonParams?: Record<string, string | number>;
}

interface HealthDevice {
    id: string;
    laneId: string | null;
    status: string;
}

describe("inspection devices under the gate's device supervision", () => {
    let dir: ReturnType<typeof tempDir>;
    let gate: Gate;
    let technician: ApiSession;
    let rpmFolder: string;
    let xrayFolder: string;

    beforeEach(async () => {
        dir = tempDir();
        rpmFolder = join(dir.path, "rpm-l1");
        xrayFolder = join(dir.path, "xray-1");
        const config = testConfig(
            dir.path,
            "    - id: L1\n      devices: []",
            `inspection:
    devices:
        - { id: rpm-l1, model: n42-rpm, lane: L1, folder: ${JSON.stringify(rpmFolder)}, pollMs: 100, settleMs: 150 }
        - { id: xray-1, model: nii-scan-package, folder: ${JSON.stringify(xrayFolder)}, pollMs: 100, settleMs: 150 }`,
        );
        gate = await startGate(config);
        technician = apiSession(gate, "technician");
    });

    afterEach(async () => {
        await gate.stop();
        dir.cleanup();
    });

    const listed = async (id: string): Promise<ListedDevice | undefined> => {
        const response = await technician.inject("GET", "/api/v1/devices");
        expect(response.statusCode).toBe(200);
        return (response.json() as { devices: ListedDevice[] }).devices.find((device) => device.deviceId === id);
    };
    const inHealth = async (id: string): Promise<HealthDevice | undefined> => {
        const response = await gate.httpApi.inject({ method: "GET", url: "/api/v1/health" });
        return (response.json() as { devices: HealthDevice[] }).devices.find((device) => device.id === id);
    };
    const until = async (id: string, wanted: (device: ListedDevice) => boolean, what: string) =>
        eventually(
            async () => {
                const device = await listed(id);
                return device && wanted(device) ? device : undefined;
            },
            WAIT_MS,
            what,
        );

    it("lists them online with the folder they watch, then with the code of what their device reports", async () => {
        // Before: /api/v1/devices listed only the lanes' devices; neither of these was in it nor in /health.
        const xray = await until("xray-1", (d) => d.status === "online", "the X-ray scanner online");
        expect(xray).toMatchObject({
            laneId: null,
            kind: "xray",
            address: `folder:${xrayFolder}`,
            reasonCode: "FOLDER_WATCHING",
            reasonParams: { folder: xrayFolder },
        });
        const rpm = await until("rpm-l1", (d) => d.status === "online", "the RPM online");
        expect(rpm).toMatchObject({ laneId: "L1", kind: "radiation", reasonCode: "FOLDER_WATCHING" });
        expect(await inHealth("rpm-l1")).toMatchObject({ laneId: "L1", status: "online" });
        expect(await inHealth("xray-1")).toMatchObject({ laneId: null, status: "online" });
        // The devices page words each row's kind from the officer catalogue, in every language.
        for (const language of LANGUAGES.officer) {
            const texts = catalogue("officer", language);
            expect([rpm, xray].filter((device) => texts[`deviceKind.${device.kind}`] === undefined)).toEqual([]);
        }

        // The RPM reports a failed detector: degraded, the code saying it is the device's own fault.
        await new RpmSimulator({ folder: rpmFolder, seed: 2 }).backgroundReport([
            { code: "DetectorFailure", severity: "error", description: "no counts from the tube", detector: "Ba1N" },
        ]);
        const degraded = await until("rpm-l1", (d) => d.status === "degraded", "the RPM degraded");
        expect(degraded.reasonCode).toBe("DEVICE_FAULT");
        expect(String(degraded.reasonParams?.detail)).toMatch(/^DetectorFailure \(Ba1N\): no counts from the tube$/);
        expect(await inHealth("rpm-l1")).toMatchObject({ status: "degraded" });
    }, 90_000);

    it("shows a scanner whose folder cannot be read offline, with FOLDER_UNREADABLE", async () => {
        await until("xray-1", (d) => d.status === "online", "the X-ray scanner online");
        // A file where the folder was: the watch can neither read nor recreate it (even as root).
        rmSync(xrayFolder, { recursive: true, force: true });
        writeFileSync(xrayFolder, "not a folder");
        const offline = await until("xray-1", (d) => d.status === "offline", "the X-ray scanner offline");
        expect(offline.reasonCode).toBe("FOLDER_UNREADABLE");
        expect(offline.reasonParams?.folder).toBe(xrayFolder);
        expect(await inHealth("xray-1")).toMatchObject({ status: "offline" });
    }, 90_000);
});
