import type { KioskDisplayModel } from "./display-types.ts";

/**
 * A monitor at the lane (any screen with Chromium in kiosk mode): the gate serves it a full-screen page of
 * its lane, followed live over Server-Sent Events, in Vietnamese, Chinese and English. Its 2 lines per
 * language are the LED sign's, so both say the same thing.
 */
export const definition: KioskDisplayModel = {
    model: "lane-display-kiosk",
    vendor: "gate-edge",
    description: "Lane monitor: the gate's full-screen kiosk page, Chromium in kiosk mode, per-display token",
    transport: "http-kiosk",
    lines: 2,
    columns: 20,
};
