import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/load.ts";
import { isGateError } from "../../src/core/errors.ts";

const withGate = (gate: string) => `
gate: ${gate}
storage: { path: ./data/gate.db }
lanes:
  - id: L1
    devices:
      - { id: scale-l1, model: toledo-continuous, address: "tcp://10.0.0.5:4001" }
`;

function errorsOf(text: string): string[] {
    try {
        parseConfig(text);
    } catch (err) {
        if (isGateError(err, "CONFIG_INVALID")) return [...err.details];
        throw err;
    }
    throw new Error("config was accepted");
}

describe("gate.timeZone", () => {
    it("defaults to Vietnam's zone and keeps a named one", () => {
        expect(parseConfig(withGate("{ id: HN01 }")).gate.timeZone).toBe("Asia/Ho_Chi_Minh");
        expect(parseConfig(withGate("{ id: HN01, timeZone: Europe/Paris }")).gate.timeZone).toBe("Europe/Paris");
    });

    it("refuses a name that is no IANA zone", () => {
        expect(errorsOf(withGate("{ id: HN01, timeZone: Asia/Hanoi_City }"))).toContain(
            'gate.timeZone: "Asia/Hanoi_City" is not an IANA time zone (e.g. Asia/Ho_Chi_Minh)',
        );
    });
});
