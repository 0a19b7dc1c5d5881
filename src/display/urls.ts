/**
 * The kiosk URLs of a configuration file's lane displays, for the demo to print beside the dashboard's.
 * Read from the file itself: the loaded configuration keeps only a hash of each token. A token taken from
 * the environment (`${NAME}`) is a production secret and is not printed.
 */
import { readFileSync } from "node:fs";
import { parse as parseYaml } from "yaml";

export interface KioskUrl {
    laneId: string;
    displayId: string;
    url: string;
}

export function kioskUrls(file: string, httpBase: string): KioskUrl[] {
    // The file passed loading and the schema already; only the keys read here matter.
    const document = parseYaml(readFileSync(file, "utf8")) as {
        lanes?: { id: string; displays?: { id: string; model: string; token?: string }[] }[];
    };
    return (document.lanes ?? []).flatMap((lane) =>
        (lane.displays ?? []).flatMap((display) =>
            display.model === "lane-display-kiosk" && display.token !== undefined && !display.token.includes("${")
                ? [
                      {
                          laneId: lane.id,
                          displayId: display.id,
                          url: `${httpBase}/display/${encodeURIComponent(lane.id)}?token=${encodeURIComponent(display.token)}`,
                      },
                  ]
                : [],
        ),
    );
}
