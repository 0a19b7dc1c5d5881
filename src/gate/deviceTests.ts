/**
 * A technician's tests of a device from the dashboard: read a scale, take a camera snapshot, pulse a lane
 * light. The API and the gate both use these types from here.
 */
import type { Clock } from "../core/clock.ts";
import { errorMessage, GateError } from "../core/errors.ts";
import type { WeightValues } from "../core/events.ts";
import type { ImageStore } from "../store/images.ts";
import type { Actuation } from "./actuation.ts";
import type { DeviceSupervisor } from "./devices.ts";

/** A technician's test of one device from the dashboard. */
export type DeviceTestAction = "readWeight" | "snapshot" | "pulseLight";

/**
 * A test's outcome as the officer catalogue's `deviceTestResult.<code>` words it (`detail` is its English
 * text, for the audit log). Codes are stable: add new ones, never rename one that shipped.
 */
export type DeviceTestResultCode =
    | "NOT_CONNECTED"
    | "NO_ANSWER"
    | "NO_WEIGHT_YET"
    | "WEIGHT_POLLED"
    | "WEIGHT_LATEST"
    | "SNAPSHOT"
    | "SNAPSHOT_FAILED"
    | "NO_IMAGE_YET"
    | "LAST_PUSH_IMAGE"
    | "LIGHT_PULSED"
    | "LIGHT_NOT_CONFIRMED";

export interface DeviceTestResult {
    ok: boolean;
    detail: string;
    detailCode: DeviceTestResultCode;
    detailParams?: Record<string, string | number>;
    weight?: WeightValues;
    at?: string;
    imageRef?: string;
    /**
     * The snapshot itself as a data: URL: technicians may not fetch plate images by reference (they are
     * personal data, /api/v1/images is for officers and auditors), but must see what their camera sees.
     */
    imageDataUrl?: string;
}

/** How long a polled scale has to answer a technician's test poll. */
const TEST_WEIGHT_TIMEOUT_MS = 2000;
/** How long a technician's light pulse stays on. */
const TEST_PULSE_MS = 1000;

export interface DeviceTestsOptions {
    devices: DeviceSupervisor;
    actuation: Actuation;
    images: ImageStore;
    clock: Clock;
    /** The state of a lane's passage (IDLE when none). */
    laneState(laneId: string): string | undefined;
}

export class DeviceTests {
    constructor(private readonly options: DeviceTestsOptions) {}

    /**
     * A device that does not answer is a result ({ok: false}), not an error; an action that does not fit
     * the device is API_BAD_REQUEST, and a light pulse on a lane with a truck in it is DEVICE_BUSY.
     */
    async run(deviceId: string, action: DeviceTestAction): Promise<DeviceTestResult> {
        const { devices, images, clock, actuation } = this.options;
        const runtime = devices.runtime(deviceId);
        if (!runtime) throw new GateError("DEVICE_UNKNOWN", deviceId);
        const transport = devices.transport(deviceId);
        const model = runtime.model;
        const wrongKind = (wanted: string): GateError =>
            new GateError("API_BAD_REQUEST", `${action} needs a ${wanted}; ${deviceId} is a ${model.kind} device`);
        switch (action) {
            case "readWeight": {
                if (model.kind !== "weight") throw wrongKind("scale");
                if (transport?.poll) {
                    if (!transport.describe().connected)
                        return {
                            ok: false,
                            detail: `${deviceId} is not connected`,
                            detailCode: "NOT_CONNECTED",
                            detailParams: { device: deviceId },
                        };
                    const answer = runtime.nextWeight(TEST_WEIGHT_TIMEOUT_MS);
                    await transport.poll();
                    const weight = await answer;
                    if (!weight) {
                        return {
                            ok: false,
                            detail: `no answer within ${TEST_WEIGHT_TIMEOUT_MS} ms`,
                            detailCode: "NO_ANSWER",
                            detailParams: { ms: TEST_WEIGHT_TIMEOUT_MS },
                        };
                    }
                    return weightResult(weight, "WEIGHT_POLLED");
                }
                // A streaming scale sends all the time: its latest frame is a fresh reading.
                const weight = runtime.latestWeight();
                if (!weight) return { ok: false, detail: "no weight frame received yet", detailCode: "NO_WEIGHT_YET" };
                return weightResult(weight, "WEIGHT_LATEST");
            }
            case "snapshot": {
                if (model.kind !== "plate") throw wrongKind("camera");
                if (transport?.snapshot) {
                    try {
                        const image = await transport.snapshot();
                        const imageRef = images.put(image.bytes, image.contentType, new Date(clock.now()));
                        return {
                            ok: true,
                            detail: `snapshot of ${image.bytes.length} bytes`,
                            detailCode: "SNAPSHOT",
                            detailParams: { bytes: image.bytes.length },
                            imageRef,
                            imageDataUrl: dataUrl(image.contentType, image.bytes),
                        };
                    } catch (err) {
                        const detail = errorMessage(err);
                        return { ok: false, detail, detailCode: "SNAPSHOT_FAILED", detailParams: { detail } };
                    }
                }
                // A push camera cannot be asked for a picture: show the one it pushed last.
                const imageRef = runtime.latestImageRef();
                const image = imageRef !== undefined ? images.get(imageRef) : undefined;
                if (!imageRef || !image) {
                    return { ok: false, detail: "the camera has sent no image yet", detailCode: "NO_IMAGE_YET" };
                }
                return {
                    ok: true,
                    detail: "image of the camera's last push",
                    detailCode: "LAST_PUSH_IMAGE",
                    imageRef,
                    imageDataUrl: dataUrl(image.contentType, image.bytes),
                };
            }
            case "pulseLight": {
                if (model.kind !== "plc") throw wrongKind("lane PLC");
                const laneId = runtime.device.laneId;
                const state = this.options.laneState(laneId) ?? "IDLE";
                // A light means something to a driver: a test must not tell a waiting truck to go or stop.
                if (state !== "IDLE") throw new GateError("DEVICE_BUSY", `lane ${laneId} has a passage (${state})`);
                const on = await actuation.actuate(deviceId, { type: "setLight", which: "entry", color: "yellow" });
                if (!on.confirmed) {
                    return {
                        ok: false,
                        detail: on.detail,
                        detailCode: "LIGHT_NOT_CONFIRMED",
                        detailParams: { detail: on.detail },
                    };
                }
                await new Promise((resolve) => setTimeout(resolve, TEST_PULSE_MS));
                const off = await actuation.actuate(deviceId, { type: "setLight", which: "entry", color: "red" });
                return off.confirmed
                    ? {
                          ok: true,
                          detail: `entry light yellow for ${TEST_PULSE_MS} ms, then red`,
                          detailCode: "LIGHT_PULSED",
                          detailParams: { ms: TEST_PULSE_MS },
                      }
                    : {
                          ok: false,
                          detail: off.detail,
                          detailCode: "LIGHT_NOT_CONFIRMED",
                          detailParams: { detail: off.detail },
                      };
            }
        }
    }
}

function dataUrl(contentType: string, bytes: Uint8Array): string {
    return `data:${contentType};base64,${Buffer.from(bytes).toString("base64")}`;
}

function weightResult(
    weight: { at: number; values: WeightValues },
    source: "WEIGHT_POLLED" | "WEIGHT_LATEST",
): DeviceTestResult {
    const { kg, stable, motion } = weight.values;
    const what = source === "WEIGHT_POLLED" ? "answer to a test poll" : "latest frame";
    const steady = stable && !motion ? "stable" : "moving";
    return {
        ok: true,
        detail: `${kg} kg, ${steady === "stable" ? "stable" : "in motion"} (${what})`,
        detailCode: source,
        detailParams: { kg, steady },
        weight: weight.values,
        at: new Date(weight.at).toISOString(),
    };
}
