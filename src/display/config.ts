/** `lanes[].displays[]` of the configuration, past the schema: ids, models, a token or a login for each kind. */
import { getDisplayModel } from "../../devices/displays.ts";
import { sealPassword } from "../config/passwords.ts";
import type { DisplayConfig } from "../config/types.ts";

export interface RawDisplay {
    id: string;
    model: string;
    token?: string;
    auth?: { username: string; password: string };
}

/**
 * The lane's displays, each problem pushed to `errors` by key path. `ids` and `usernames` are the gate's
 * (devices and displays share one id space, and the broker one user name space).
 */
export function buildDisplays(
    raw: readonly RawDisplay[],
    lanePath: string,
    laneId: string,
    brokerMode: "embedded" | "external",
    ids: Set<string>,
    usernames: Set<string>,
    errors: string[],
): DisplayConfig[] {
    return raw.flatMap((display, index) => {
        const path = `${lanePath}.displays[${index}]`;
        if (ids.has(display.id)) errors.push(`${path}.id: id "${display.id}" is used twice`);
        ids.add(display.id);
        const model = getDisplayModel(display.model);
        if (!model) {
            errors.push(`${path}.model: unknown display model "${display.model}"`);
            return [];
        }
        if (model.transport === "http-kiosk") {
            if (display.auth) errors.push(`${path}.auth: a kiosk display opens with its token, not a login`);
            if (display.token === undefined) {
                errors.push(
                    `${path}.token: a kiosk display needs a token (at least 16 characters, e.g. \${GATE_DISPLAY_TOKEN})`,
                );
                return [];
            }
            return [{ id: display.id, laneId, model: model.model, tokenHash: sealPassword(display.token) }];
        }
        if (display.token !== undefined) errors.push(`${path}.token: an LED sign logs in to the broker with auth`);
        if (brokerMode === "external") {
            // The external broker's own ACLs decide who reads the topic: no login of ours to give.
            if (display.auth) errors.push(`${path}.auth: with broker.mode external, the sign logs in to that broker`);
            return [{ id: display.id, laneId, model: model.model }];
        }
        if (!display.auth) {
            errors.push(`${path}.auth: an LED sign needs a username and password on the embedded broker`);
            return [];
        }
        if (usernames.has(display.auth.username))
            errors.push(`${path}.auth.username: "${display.auth.username}" is used by another device`);
        usernames.add(display.auth.username);
        return [
            {
                id: display.id,
                laneId,
                model: model.model,
                auth: { username: display.auth.username, passwordHash: sealPassword(display.auth.password) },
            },
        ];
    });
}
