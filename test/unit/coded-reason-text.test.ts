/**
 * Reasons the gate stores as codes with parameters (a device's status, the sync's last error), worded by the
 * dashboard in the reader's language (src/ui/i18n.js); the stored English text for a code the catalogue
 * lacks or a record from before reasons had codes. The catalogue is the real one, served as the gate does.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";

const root = join(import.meta.dirname, "../..");

interface I18n {
    useLanguage(language: string): Promise<string>;
    code(family: string, value: unknown, params?: object, fallback?: string): string;
    localNumbers(params?: object): Record<string, unknown>;
    deviceReasonText(device: object): string;
}

describe("coded reasons in the reader's language", () => {
    let i18n: I18n;

    beforeAll(async () => {
        // The page fetches /ui/i18n/officer.<language>.json; here the same files, read from disk.
        vi.stubGlobal("fetch", async (url: string) => {
            const name = /officer\.(\w+)\.json$/.exec(url)?.[1];
            return new Response(readFileSync(join(root, `src/i18n/officer.${name}.json`)));
        });
        vi.stubGlobal("document", { documentElement: {} });
        // A browser module without types (loaded by URL so the compiler does not look for them): its shape is
        // declared above, which is why the cast.
        i18n = (await import(new URL("../../src/ui/i18n.js", import.meta.url).href)) as I18n;
    });

    afterAll(() => vi.unstubAllGlobals());

    const pushCamera = {
        status: "online",
        reason: "push receiver on port 8081",
        reasonCode: "PUSH_RECEIVER",
        reasonParams: { port: "8081" },
    };
    const silentScale = {
        status: "offline",
        reason: "no data for 2500 ms",
        reasonCode: "SILENT",
        reasonParams: { ms: 2500 },
    };

    it("words a device's status reason from its code, numbers as the language writes them", async () => {
        await i18n.useLanguage("vi");
        expect(i18n.deviceReasonText(pushCamera)).toBe("bộ nhận dữ liệu đẩy tại cổng 8081");
        expect(i18n.deviceReasonText(silentScale)).toBe("không có dữ liệu trong 2.500 ms");
        await i18n.useLanguage("en");
        expect(i18n.deviceReasonText(silentScale)).toBe("no data for 2,500 ms");
        expect(i18n.deviceReasonText(pushCamera)).toBe(pushCamera.reason);
    });

    it("falls back to the stored text for an unknown code or a reason stored without one", async () => {
        await i18n.useLanguage("vi");
        expect(i18n.deviceReasonText({ reason: "connected to /dev/ttyUSB0", reasonCode: "NEWER_CODE" })).toBe(
            "connected to /dev/ttyUSB0",
        );
        expect(i18n.deviceReasonText({ reason: "frames arriving" })).toBe("frames arriving");
        expect(i18n.deviceReasonText({ status: "online" })).toBe("");
    });

    it("words the sync's last error from its code, the stored text otherwise", async () => {
        await i18n.useLanguage("vi");
        const busy = { code: "CENTRAL_BUSY_RETRY", params: { status: "503", ms: 15000 } };
        expect(i18n.code("syncError", busy.code, i18n.localNumbers(busy.params), "central is busy")).toBe(
            "máy chủ trung tâm đang bận (HTTP 503), thử lại sau 15.000 ms",
        );
        expect(i18n.code("syncError", null, {}, "central answered HTTP 500")).toBe("central answered HTTP 500");
        expect(i18n.code("syncError", undefined, {}, "—")).toBe("—");
    });

    it("words a rule's numbers as the language writes them: the weight's deviation, the plate's threshold", async () => {
        // The lanes page's reasonText, loaded as the browser loads it (untyped module, why the cast).
        const lanes = (await import(new URL("../../src/ui/views/lanes.js", import.meta.url).href)) as {
            reasonText(findings: object[], stored?: string): string;
        };
        const weighed = { gross: 24_560, declared: 24_535, sign: "+", deviation: 0.1, tolerance: 5 };
        const findings = [
            { code: "WEIGHT_WITHIN", params: weighed },
            { code: "READS_MISSING_PLATE", params: { minConfidence: 0.7 } },
        ];
        await i18n.useLanguage("vi");
        expect(lanes.reasonText(findings)).toBe(
            "cân được 24.560 kg so với khai báo 24.535 kg: +0,1 %, trong dung sai ±5 %; " +
                "thiếu biển số (không có kết quả với độ tin cậy ≥ 0,7)",
        );
        // A finding stored before the percentages were numbers reads the same.
        const old = {
            code: "WEIGHT_WITHIN",
            params: { ...weighed, sign: undefined, deviation: "+0.1 %", tolerance: "5 %" },
        };
        expect(lanes.reasonText([JSON.parse(JSON.stringify(old))])).toBe(
            "cân được 24.560 kg so với khai báo 24.535 kg: +0,1 %, trong dung sai ±5 %",
        );
        expect(
            lanes.reasonText([{ code: "MANUAL_PROCESSING_DISK_QUOTA", params: { usedMb: 2048, quotaMb: 2048 } }]),
        ).toBe("xử lý thủ công: đã hết hạn mức lưu trữ (đã dùng 2.048 MiB trên hạn mức 2.048 MiB)");
        await i18n.useLanguage("en");
        expect(lanes.reasonText([{ code: "WEIGHT_OUTSIDE", params: { ...weighed, sign: "-", deviation: 10.5 } }])).toBe(
            "gross 24,560 kg vs declared 24,535 kg: −10.5 %, outside ±5 %",
        );
    });

    it("words a device test's result from its code, the weight as the language writes it", async () => {
        // The devices page's testResultText, loaded as the browser loads it (untyped module, why the cast).
        const devices = (await import(new URL("../../src/ui/views/devices.js", import.meta.url).href)) as {
            testResultText(answer: object): string;
        };
        const polled = {
            ok: true,
            detail: "24560 kg, stable (answer to a test poll)",
            detailCode: "WEIGHT_POLLED",
            detailParams: { kg: 24_560, steady: "stable" },
        };
        await i18n.useLanguage("vi");
        expect(devices.testResultText(polled)).toBe("24.560 kg, ổn định (trả lời lệnh đọc thử)");
        expect(devices.testResultText({ ok: false, detail: "no answer within 2000 ms" })).toBe(
            "no answer within 2000 ms",
        );
        await i18n.useLanguage("en");
        expect(devices.testResultText(polled)).toBe("24,560 kg, stable (answer to a test poll)");
    });

    it("writes a fraction with the language's decimal sign", async () => {
        await i18n.useLanguage("vi");
        expect(i18n.localNumbers({ deviation: 0.1, plate: "15C-88810" })).toEqual({
            deviation: "0,1",
            plate: "15C-88810",
        });
        await i18n.useLanguage("en");
        expect(i18n.localNumbers({ deviation: 0.1 })).toEqual({ deviation: "0.1" });
    });
});
