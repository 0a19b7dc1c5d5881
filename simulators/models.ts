/**
 * Looks up device models for the simulators. Simulators never format bytes themselves: they call the
 * model's encode/respond, so gate-edge's decoders and the simulators cannot drift apart.
 */
import { getModel, models } from "../devices/index.ts";
import type {
    DeviceModel,
    DeviceModelKind,
    HttpPushCameraModel,
    OnvifCameraModel,
    PlcModel,
    ScaleModel,
    ScannerModel,
    SealReaderModel,
} from "../devices/types.ts";
import { GateError } from "../src/core/errors.ts";

type ModelOfKind = {
    weight: ScaleModel;
    scan: ScannerModel;
    seal: SealReaderModel;
    plate: OnvifCameraModel | HttpPushCameraModel;
    plc: PlcModel;
};

/** Model ids of one kind, sorted, for usage and error messages. */
export function modelIds(kind: DeviceModelKind): string[] {
    return allModels()
        .filter((model) => model.kind === kind)
        .map((model) => model.model)
        .sort();
}

/**
 * The model with this id, which must be of `kind`. A model object is passed through after the same check,
 * so tests and new models can be simulated before they are registered.
 *
 * Error rule: throws GateError MODEL_UNKNOWN naming the valid ids when the id is unknown or of another kind.
 */
export function resolveModel<K extends DeviceModelKind>(kind: K, model: string | ModelOfKind[K]): ModelOfKind[K] {
    const found: DeviceModel | undefined = typeof model === "string" ? getModel(model) : model;
    const id = typeof model === "string" ? model : model.model;
    if (!found || found.kind !== kind) {
        const valid = modelIds(kind);
        throw new GateError(
            "MODEL_UNKNOWN",
            `${JSON.stringify(id)} is not a ${kind} model; valid: ${valid.length > 0 ? valid.join(", ") : "(none registered)"}`,
        );
    }
    return found as ModelOfKind[K];
}

function allModels(): DeviceModel[] {
    // Object.values accepts both shapes devices/index.ts may export: a list or an id → model record.
    return Object.values(models);
}
