/** The lane display for drivers (issue 17 part 2): its catalogues, what it shows for each lane state, its MQTT message. */
import { describe, expect, it } from "vitest";
import { displayModelIds, getDisplayModel, type MqttDisplayModel } from "../../devices/displays.ts";
import { loadConfig } from "../../src/config/load.ts";
import {
    DISPLAY_KEYS,
    type DisplayLine,
    DRIVER_LANGUAGES,
    displayKeys,
    displayMessage,
    fallbackMessage,
    LINE_COLUMNS,
    PLATE_COLUMNS,
    textColumns,
} from "../../src/display/message.ts";
import { kioskUrls } from "../../src/display/urls.ts";
import { catalogue, formatMessage, LANGUAGES } from "../../src/i18n/format.ts";
import type { LaneSnapshot } from "../../src/lane/correlator.ts";
import type { PassageFacts } from "../../src/lane/types.ts";
import { DECLARATION, plateValues } from "../helpers/readings.ts";

const AT = new Date("2026-12-07T08:00:00Z");
const placeholders = (text: string): string[] => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1] as string).sort();

const FACTS: PassageFacts = {
    passageId: "P1",
    laneId: "L1",
    direction: "IN",
    openedAt: AT.getTime() - 30_000,
    frontPlate: plateValues("15C-123.45", "front"),
    rearPlate: plateValues("15R-012.34", "rear"),
    plateReads: [],
    declarations: [DECLARATION.number],
    containers: [{ number: "CSQU3054383", checkDigitOk: true }],
    seals: [],
    grossKg: 28_500,
    timedOut: [],
    devicesOffline: [],
};

function snapshot(
    state: LaneSnapshot["state"],
    extra: Partial<NonNullable<LaneSnapshot["passage"]>> = {},
    facts = FACTS,
): LaneSnapshot {
    return { state, passage: { passageId: "P1", facts, openedAt: facts.openedAt, standing: {}, ...extra } };
}
const decided = (decision: "RELEASE" | "HOLD" | "INSPECT" | "REJECT") =>
    ({ decision, results: [], offline: false }) as unknown as NonNullable<LaneSnapshot["passage"]>["decision"]; // only `decision` is read
const keysOf = (lines: [DisplayLine, DisplayLine]) => lines.map((line) => line.key);

describe("driver catalogues", () => {
    it("are the three driver languages, each with exactly the keys the display uses and the same placeholders", () => {
        expect([...LANGUAGES.driver]).toEqual([...DRIVER_LANGUAGES]);
        const english = catalogue("driver", "en");
        expect(Object.keys(english).sort()).toEqual([...DISPLAY_KEYS].sort());
        for (const language of DRIVER_LANGUAGES) {
            const texts = catalogue("driver", language);
            expect(Object.keys(texts).sort(), language).toEqual([...DISPLAY_KEYS].sort());
            for (const key of DISPLAY_KEYS) {
                expect(texts[key]?.trim(), `${language} ${key}`).toBeTruthy();
                expect(placeholders(texts[key] as string), `${language} ${key}`).toEqual(
                    placeholders(english[key] as string),
                );
            }
        }
    });

    it(`fit one ${LINE_COLUMNS}-column line of a 2-line sign, CJK counted double, with a ${PLATE_COLUMNS}-column plate`, () => {
        const widest = { plate: "W".repeat(PLATE_COLUMNS), lane: "L12" };
        const tooWide: string[] = [];
        for (const language of DRIVER_LANGUAGES) {
            for (const [key, text] of Object.entries(catalogue("driver", language))) {
                const line = formatMessage(text, widest);
                if (textColumns(line) > LINE_COLUMNS || line.includes("\n"))
                    tooWide.push(`${language} ${key}: ${line} (${textColumns(line)})`);
            }
        }
        expect(tooWide).toEqual([]);
    });

    it("counts columns as a sign does: CJK and fullwidth two, Vietnamese letters one however composed", () => {
        expect(textColumns("停车")).toBe(4);
        expect(textColumns("请退回，找工作人员")).toBe(18);
        expect(textColumns("Dừng")).toBe(4);
        expect(textColumns("Du\u031Bng")).toBe(4);
        expect(textColumns("桂B1234挂")).toBe(9);
    });

    it("every display message key is used, and every key used is in DISPLAY_KEYS", () => {
        const used = new Set<string>(["display.lane"]); // the kiosk page's header (src/display/routes.ts)
        const cases: LaneSnapshot[] = [
            { state: "IDLE" },
            snapshot("IDENTIFYING", {}, { ...FACTS, declarations: [] }),
            snapshot("WEIGHING"),
            snapshot("RELEASED", { decision: decided("RELEASE") }),
            snapshot("INSPECTION", { decision: decided("INSPECT") }),
            snapshot("HELD", { decision: decided("HOLD") }),
        ];
        for (const fault of [false, true])
            for (const lane of cases)
                for (const key of keysOf(displayKeys({ snapshot: lane, fault }).keys)) used.add(key);
        for (const key of keysOf(fallbackMessage("G", "L1", AT).keys)) used.add(key);
        const called = { plate: "15C-888.10", laneId: "L1" };
        for (const key of keysOf(displayKeys({ snapshot: { state: "IDLE" }, fault: false, called }).keys))
            used.add(key);
        expect([...used].sort()).toEqual([...DISPLAY_KEYS].sort());
    });
});

describe("what the display shows", () => {
    const shown = (lane: LaneSnapshot | undefined, fault = false) => displayKeys({ snapshot: lane, fault });

    it("an idle lane: STOP, wait; no plate", () => {
        expect(shown({ state: "IDLE" })).toEqual({
            signal: "stop",
            plate: null,
            keys: [{ key: "display.stop" }, { key: "display.wait" }],
        });
        expect(shown(undefined).signal).toBe("stop");
    });

    it("an idle lane the yard called a truck to: its plate and the lane, green, in every driver language within the sign", () => {
        const called = displayKeys({
            snapshot: { state: "IDLE" },
            fault: false,
            called: { plate: "桂B1234挂", laneId: "L12" },
        });
        expect(called).toEqual({
            signal: "go",
            plate: "桂B1234挂",
            keys: [
                { key: "display.plate", params: { plate: "桂B1234挂" } },
                { key: "display.called", params: { lane: "L12" } },
            ],
        });
        const message = displayMessage("G", "L12", called, AT);
        expect(message.lines.en[1]).toBe("Come to lane L12");
        expect(message.lines.vi[1]).toBe("Mời vào làn L12");
        expect(message.lines.zh[1]).toBe("请到L12号车道");
        for (const lines of Object.values(message.lines))
            for (const line of lines) expect(textColumns(line)).toBeLessThanOrEqual(LINE_COLUMNS);
        // A lane with a truck in it shows that truck, not the call.
        expect(
            displayKeys({ snapshot: snapshot("WEIGHING"), fault: false, called: { plate: "X", laneId: "L1" } }).plate,
        ).toBe("15C-123.45");
    });

    it("a truck without its declaration scanned is asked for the QR; with it, to wait; its plate on the first line", () => {
        const scan = shown(snapshot("IDENTIFYING", {}, { ...FACTS, declarations: [] }));
        expect(scan.signal).toBe("scan");
        expect(scan.keys).toEqual([
            { key: "display.plate", params: { plate: "15C-123.45" } },
            { key: "display.scanQr" },
        ]);
        expect(shown(snapshot("WEIGHING")).keys[1]).toEqual({ key: "display.wait" });
    });

    it("the outcome in force decides: released → proceed, inspection → inspection area, held or rejected → see the officer", () => {
        expect(shown(snapshot("RELEASED", { decision: decided("RELEASE") })).signal).toBe("go");
        expect(shown(snapshot("EXITING", { decision: decided("RELEASE") })).keys[1].key).toBe("display.proceed");
        expect(shown(snapshot("INSPECTION", { decision: decided("INSPECT") })).keys[1].key).toBe("display.inspection");
        expect(shown(snapshot("HELD", { decision: decided("HOLD") })).keys[1].key).toBe("display.seeOfficer");
        expect(shown(snapshot("HELD", { decision: decided("REJECT") })).signal).toBe("back");
        // An officer diverted a truck the rules released: the officer's outcome is what the driver is told.
        expect(
            shown(snapshot("INSPECTION", { decision: decided("RELEASE"), standing: { outcome: "INSPECT" } })).signal,
        ).toBe("inspect");
        // An officer's hold before the decision.
        expect(shown(snapshot("WEIGHING", { standing: { officerHold: "HOLD" } })).signal).toBe("back");
    });

    it("a lane in manual processing or with a device down shows the device fault, whatever the state", () => {
        expect(shown(snapshot("RELEASED", { decision: decided("RELEASE") }), true)).toMatchObject({
            signal: "fault",
            keys: [{ key: "display.fault" }, { key: "display.manual" }],
        });
    });

    it("a plate without the front camera is the rear one; a title too wide for the sign is the bare plate", () => {
        const rearOnly = { ...FACTS } as PassageFacts;
        delete rearOnly.frontPlate;
        expect(shown(snapshot("WEIGHING", {}, rearOnly)).plate).toBe("15R-012.34");
        const wide = displayMessage(
            "G",
            "L1",
            shown(snapshot("WEIGHING", {}, { ...FACTS, frontPlate: plateValues("ABCDEFGHIJKLMNOP", "front") })),
            AT,
        );
        expect(wide.lines.vi[0]).toBe("ABCDEFGHIJKLMNOP");
    });
});

describe("the MQTT message", () => {
    const model = getDisplayModel("lane-display-mqtt") as MqttDisplayModel;

    it("carries the gate, lane, signal, plate and each language's two lines: nothing of the declaration or containers", () => {
        const message = displayMessage(
            "DEMO01",
            "L1",
            displayKeys({ snapshot: snapshot("RELEASED", { decision: decided("RELEASE") }), fault: false }),
            AT,
        );
        const payload = model.encode(message);
        const parsed = JSON.parse(payload);
        expect(Object.keys(parsed).sort()).toEqual(["at", "gate", "keys", "lane", "lines", "plate", "signal", "v"]);
        expect(parsed).toMatchObject({
            v: 1,
            gate: "DEMO01",
            lane: "L1",
            signal: "go",
            plate: "15C-123.45",
            at: AT.toISOString(),
            lines: {
                vi: ["Biển số 15C-123.45", "Mời xe đi"],
                zh: ["车牌 15C-123.45", "请通行"],
                en: ["Plate 15C-123.45", "Proceed"],
            },
        });
        expect(payload).not.toContain(DECLARATION.number);
        expect(payload).not.toContain("CSQU3054383");
        expect(payload).not.toContain("15R-012.34");
        expect(model.decode(Buffer.from(payload))).toEqual(message);
    });

    it("the fallback is STOP — wait for the officer, in the three languages", () => {
        expect(fallbackMessage("DEMO01", "L2", AT)).toMatchObject({
            signal: "stop",
            plate: null,
            lines: {
                vi: ["DỪNG LẠI", "Chờ cán bộ hải quan"],
                zh: ["停车", "请等待工作人员"],
                en: ["STOP", "Wait for the officer"],
            },
        });
    });

    it("decode refuses what is not a display message", () => {
        expect(model.decode("not json")).toBeUndefined();
        expect(
            model.decode(
                JSON.stringify({ v: 1, gate: "G", lane: "L1", signal: "go", plate: null, lines: { vi: ["a"] } }),
            ),
        ).toBeUndefined();
    });

    it("both display models are registered", () => {
        expect(displayModelIds()).toEqual(["lane-display-kiosk", "lane-display-mqtt"]);
    });
});

describe("the demo", () => {
    it("runs a kiosk display and an LED sign per lane trucks are called to, and prints each kiosk's URL", () => {
        const config = loadConfig("config/demo.yaml");
        // The yard entry's and the exit point's camera lanes have no barrier to stand at: no display.
        const lanes = config.lanes.filter((lane) => config.yard?.laneGroups[lane.id] !== undefined);
        expect(lanes.map((lane) => lane.id)).toEqual(["L1", "L2"]);
        for (const lane of lanes) {
            expect(lane.displays?.map((display) => display.model).sort(), lane.id).toEqual([
                "lane-display-kiosk",
                "lane-display-mqtt",
            ]);
        }
        expect(JSON.stringify(config)).not.toContain("demo-display-l1-token");
        expect(kioskUrls("config/demo.yaml", "http://127.0.0.1:8080")).toEqual([
            {
                laneId: "L1",
                displayId: "kiosk-l1",
                url: "http://127.0.0.1:8080/display/L1?token=demo-display-l1-token",
            },
            {
                laneId: "L2",
                displayId: "kiosk-l2",
                url: "http://127.0.0.1:8080/display/L2?token=demo-display-l2-token",
            },
        ]);
    });
});
