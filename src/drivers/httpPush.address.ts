/**
 * A camera that pushes to gate-edge's receiver: "http-push:" or no address; it logs in (Digest, or Basic
 * where `auth.basic` allows it) or is known by its source address (`allow`).
 */
import type { TransportAddress } from "./address.ts";
import { pushCameraCredentials } from "./httpDigest.ts";

export const httpPushAddress: TransportAddress = {
    ownKeys: ["allow"],
    basicAuth: true,
    gateListener: "push",
    sealAuth: (auth) => pushCameraCredentials(auth.username, auth.password, auth.basic),
    parse(device, model, { path, errors }) {
        if (device.address !== undefined && device.address !== "http-push:")
            errors.push(`${path}.address: model ${model.model} pushes to gate-edge; use "http-push:" or leave it out`);
        if (!device.auth && (device.allow ?? []).length === 0)
            errors.push(`${path}.auth: a push camera needs credentials or an allow list of source addresses`);
        return { transport: "http-push", allow: device.allow ?? [] };
    },
};
