/** The simulated cameras' drawn pictures decode in a real browser, at their drawn size. */
import { afterAll, describe, expect, it } from "vitest";
import { plateJpeg, sceneJpeg } from "../../simulators/lib/plate-image.ts";
import { chromiumAvailable, launchChromium } from "./harness.ts";

const available = chromiumAvailable();

describe.skipIf(!available)("plate pictures in Chromium", () => {
    const closers: (() => Promise<void>)[] = [];
    afterAll(async () => {
        for (const close of closers) await close();
    });

    it("decodes the plate crop and the scene, white and yellow plates, and a plate with Chinese characters", async () => {
        const browser = await launchChromium();
        closers.push(() => browser.close());
        const page = await browser.newPage();
        const pictures = [
            plateJpeg("15C-123.45"),
            plateJpeg("14C-301.72", { colour: "yellow" }),
            plateJpeg("桂A12345"),
            sceneJpeg("15C-123.45"),
        ];
        const sizes = await page.evaluate(
            async (sources: string[]) => {
                // Runs in the browser; the test's TypeScript has no DOM types, so the Image is reached through globalThis.
                const ImageElement = (
                    globalThis as unknown as {
                        Image: new () => {
                            src: string;
                            naturalWidth: number;
                            naturalHeight: number;
                            decode(): Promise<void>;
                        };
                    }
                ).Image;
                return Promise.all(
                    sources.map(async (src) => {
                        const image = new ImageElement();
                        image.src = src;
                        await image.decode();
                        return [image.naturalWidth, image.naturalHeight];
                    }),
                );
            },
            pictures.map((jpeg) => `data:image/jpeg;base64,${Buffer.from(jpeg).toString("base64")}`),
        );
        expect(sizes).toEqual([
            [240, 60],
            [240, 60],
            [240, 60],
            [480, 270],
        ]);
    }, 60_000);
});
