/**
 * What a lane display model file exports. A display is an output device of the lane: the gate tells it what
 * the driver must do; it reads nothing. Plain data plus pure functions, like the input models in types.ts.
 */
import type { DisplayMessage } from "../src/display/message.ts";

interface DisplayModelBase {
    /** Unique model id used in the config (`lanes[].displays[].model`). */
    model: string;
    vendor: string;
    description: string;
    /** Lines and columns per line the model shows (a CJK character takes two columns). */
    lines: number;
    columns: number;
}

/** A monitor at the lane showing the gate's kiosk page (/display/<lane>?token=…); it logs in with its token. */
export interface KioskDisplayModel extends DisplayModelBase {
    transport: "http-kiosk";
}

/** An LED sign controller that subscribes, on the gate's broker, to its lane's retained display topic. */
export interface MqttDisplayModel extends DisplayModelBase {
    transport: "mqtt-subscribe";
    /** The retained payload for one lane's message. */
    encode(message: DisplayMessage): string;
    /** A payload back to the message (a sign's simulator, the tests); undefined when it is not one. */
    decode(payload: string | Uint8Array): DisplayMessage | undefined;
}

export type DisplayModel = KioskDisplayModel | MqttDisplayModel;
