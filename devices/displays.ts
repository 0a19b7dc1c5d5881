/**
 * The registry of lane display models (output devices: they show, they read nothing). Adding a model means
 * adding one file in devices/ and one line here.
 */
import type { DisplayModel } from "./display-types.ts";
import { definition as laneDisplayKiosk } from "./lane-display-kiosk.ts";
import { definition as laneDisplayMqtt } from "./lane-display-mqtt.ts";

export type * from "./display-types.ts";

export const displayModels: readonly DisplayModel[] = [laneDisplayKiosk, laneDisplayMqtt];

const byId: ReadonlyMap<string, DisplayModel> = new Map(displayModels.map((model) => [model.model, model]));

export function getDisplayModel(id: string): DisplayModel | undefined {
    return byId.get(id);
}

export function displayModelIds(): readonly string[] {
    return displayModels.map((model) => model.model);
}
