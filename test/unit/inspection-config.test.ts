/** `inspection.devices` in the configuration (src/inspection/config.ts through parseConfig). */
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/load.ts";
import { isGateError } from "../../src/core/errors.ts";

const base = `
gate: { id: T01 }
storage: { path: /tmp/unused.db }
lanes:
    - id: L1
      devices:
          - { id: scanner-l1, model: serial-barcode-scanner, address: "tcp://127.0.0.1:4001" }
`;

function problems(inspection: string): string[] {
    try {
        parseConfig(`${base}${inspection}`, { baseDir: "/srv/gate" });
        return [];
    } catch (err) {
        if (!isGateError(err, "CONFIG_INVALID")) throw err;
        return (err.details as string[]) ?? [];
    }
}

describe("inspection.devices", () => {
    it("an RPM on a lane and a scanner of the area: defaults filled in (the RPM's silence from its model), relative folders resolved", () => {
        const config = parseConfig(
            `${base}inspection:\n    devices:\n        - { id: rpm-l1, model: n42-rpm, lane: L1, folder: rpm }\n        - { id: xray-1, model: nii-scan-package, folder: /mnt/nii, settleMs: 5000 }\n`,
            { baseDir: "/srv/gate" },
        );
        expect(config.inspection?.devices).toEqual([
            {
                id: "rpm-l1",
                model: "n42-rpm",
                laneId: "L1",
                folder: "/srv/gate/rpm",
                pollMs: 1000,
                settleMs: 2000,
                silentAfterMs: 300_000,
            },
            // A scanner is silent between scans: never offline for it.
            {
                id: "xray-1",
                model: "nii-scan-package",
                folder: "/mnt/nii",
                pollMs: 1000,
                settleMs: 5000,
                silentAfterMs: 0,
            },
        ]);
        const quieter = parseConfig(
            `${base}inspection:\n    devices:\n        - { id: rpm-l1, model: n42-rpm, folder: /rpm, silentAfterMs: 60000 }\n`,
        );
        expect(quieter.inspection?.devices[0]?.silentAfterMs).toBe(60_000);
    });

    it("names a lane device model, an unknown lane, a reused id or folder, an unknown key", () => {
        expect(
            problems(`inspection:
    devices:
        - { id: rpm-l1, model: toledo-continuous, lane: L9, folder: /a }
        - { id: scanner-l1, model: n42-rpm, folder: /a }
        - { id: x, model: nii-scan-package, folder: /b, colour: red }
`).join("\n"),
        ).toMatch(
            /inspection\.devices\[0\]\.model: "toledo-continuous" is not an inspection device model[\s\S]*inspection\.devices\[0\]\.lane: no lane "L9"[\s\S]*inspection\.devices\[1\]\.id: device id "scanner-l1" is used twice[\s\S]*/,
        );
        expect(
            problems(
                "inspection:\n    devices:\n        - { id: a, model: n42-rpm, folder: /a }\n        - { id: b, model: n42-rpm, folder: /a }\n",
            ),
        ).toEqual(["inspection.devices[1].folder: /a is also the folder of a"]);
        expect(
            problems(
                "inspection:\n    devices:\n        - { id: x, model: nii-scan-package, folder: /b, colour: red }\n",
            ).join(),
        ).toMatch(/colour/);
    });
});
