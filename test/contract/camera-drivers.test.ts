import { OnvifCameraSimulator } from "../../simulators/onvif-camera.ts";
import { PushCameraSimulator } from "../../simulators/push-camera.ts";
import type { GateEvent } from "../../src/core/events.ts";
import type { Gate } from "../../src/gate.ts";
import { testConfig } from "../helpers/gate.ts";
import { type ContractHarness, driverContract } from "./driverContract.ts";

/** Plate text for read number n: a valid VN plate, 29C-000.0n. */
const plate = (n: number) => `29C-000.${String(n).padStart(2, "0")}`;
const plateNumber = (event: GateEvent) => {
    const match = /^29C-000\.(\d\d)$/.exec((event.data.values as { text?: string }).text ?? "");
    return match ? Number(match[1]) : undefined;
};

function pushHarness(model: "dahua-itsapi-anpr" | "hikvision-isapi-anpr"): ContractHarness {
    let camera: PushCameraSimulator;
    let url = "";
    const makeCamera = () =>
        new PushCameraSimulator({
            model,
            url,
            username: "cam-1",
            password: "camera-password",
            resend: { intervalMs: 100, max: 3 },
        });
    return {
        deviceId: "cam-1",
        readingType: "reading.plate",
        statusFollowsPeer: false,
        async start(dir) {
            return testConfig(
                dir,
                `  - id: L1\n    devices:\n      - { id: cam-1, model: ${model}, role: front, auth: { username: cam-1, password: camera-password } }\n`,
                "push: { host: 127.0.0.1, port: 0 }",
            );
        },
        async gateStarted(gate: Gate) {
            url = gate.addresses.push!;
            camera = makeCamera();
        },
        async sendRead(n) {
            const answer = await camera.push({ text: plate(n), confidence: 0.9, withImages: true });
            if (answer.status !== 200) throw new Error(`push answered ${answer.status}: ${answer.body}`);
        },
        readNumber: plateNumber,
        async sendBadData() {
            const path =
                model === "dahua-itsapi-anpr" ? "/NotificationInfo/TollgateInfo" : "/ISAPI/Event/notification/alert";
            await camera.sendRaw(path, "application/json", "{ broken");
        },
        async restartPeer() {
            await camera.stop();
            camera = makeCamera();
        },
        async stop() {
            await camera?.stop();
        },
    };
}

driverContract("HTTP push camera (Dahua ITSAPI)", () => pushHarness("dahua-itsapi-anpr"));
driverContract("HTTP push camera (Hikvision ISAPI)", () => pushHarness("hikvision-isapi-anpr"));

driverContract("ONVIF camera (PullPoint)", () => {
    let camera: OnvifCameraSimulator;
    return {
        deviceId: "cam-onvif",
        readingType: "reading.plate",
        async start(dir) {
            camera = new OnvifCameraSimulator({ port: 0, username: "admin", password: "onvif-secret" });
            await camera.start();
            return testConfig(
                dir,
                `  - id: L1\n    devices:\n      - { id: cam-onvif, model: onvif-anpr, role: front, address: "http://127.0.0.1:${camera.port}", auth: { username: admin, password: onvif-secret } }\n`,
            );
        },
        async sendRead(n) {
            camera.plate({ text: plate(n), likelihood: 0.92 });
        },
        readNumber: plateNumber,
        async sendBadData() {
            // A "plate" of markup: a camera firmware bug or an injection attempt, never a reading.
            camera.plate({ text: "<script>alert(1)</script>", likelihood: 0.9 });
        },
        async restartPeer() {
            await camera.reboot(300);
        },
        async stop() {
            await camera.stop();
        },
    };
});
