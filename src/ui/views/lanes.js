import { api } from "../api.js";
import { dot, errorText, h, kg, notice, replace, ticker } from "../dom.js";
import { code, deviceReasonText, formatNumber, localNumbers, t } from "../i18n.js";

/** The lanes board: one tile per lane, kept live by the stream (lane and device events). */
export function lanesView(main, ctx) {
    const board = h("section", { class: "board", "aria-label": t("nav.lanes"), dataset: { testid: "board" } });
    const status = notice("info", t("lanes.loading"));
    replace(main, status, board);
    const tiles = new Map();

    const put = (lane) => {
        const tile = laneTile(lane, { linkPassages: ctx.allowed("passages") });
        const old = tiles.get(lane.id);
        if (old?.isConnected) old.replaceWith(tile);
        else board.appendChild(tile);
        tiles.set(lane.id, tile);
        board.dataset.lanes = String(tiles.size);
    };

    const load = async () => {
        try {
            const { lanes } = await api.get("/api/v1/lanes");
            status.hidden = true;
            board.replaceChildren();
            tiles.clear();
            for (const lane of lanes ?? []) put(lane);
            if (!lanes?.length) {
                status.hidden = false;
                status.textContent = t("lanes.none");
            }
        } catch (err) {
            status.hidden = false;
            status.className = "notice notice-error";
            status.textContent = errorText(err);
        }
    };
    load();

    const unsubscribe = [
        ctx.subscribe("lane", (lane) => {
            if (lane?.id) put(lane);
        }),
        ctx.subscribe("device", (device) => {
            for (const el of board.querySelectorAll(`[data-device]`)) {
                if (el.dataset.device !== device.id) continue;
                const fresh = deviceDot(
                    {
                        id: device.id,
                        status: device.status,
                        reason: device.reason,
                        reasonCode: device.reasonCode,
                        reasonParams: device.reasonParams,
                    },
                    el.dataset.name ?? device.id,
                );
                el.replaceWith(fresh);
            }
        }),
        // After a reconnect: what changed while the stream was down.
        ctx.subscribe("open", load),
    ];
    return () => {
        for (const off of unsubscribe) off();
    };
}

function deviceDot(device, name) {
    const label = [device.id, device.status && t(`deviceStatus.${device.status}`), deviceReasonText(device)]
        .filter(Boolean)
        .join(" · ");
    return h(
        "span",
        {
            class: ["device", `device-${device.status ?? "unknown"}`],
            title: label,
            dataset: { device: device.id, status: device.status ?? "unknown", name },
        },
        dot(device.status, label),
        h("span", { class: "device-name" }, name),
    );
}

/** The word under a device's dot: its role on the lane (front, rear) or what it is (scale, PLC …). */
function deviceName(device) {
    if (device.role && device.role !== device.kind) return code("position", device.role);
    return code("deviceKind", device.kind) || device.id;
}

export function imageUrl(ref) {
    return `/api/v1/images/${encodeURIComponent(ref)}`;
}

function plateBlock(position, plate) {
    if (!plate) {
        return h(
            "div",
            { class: ["plate", `plate-${position}`, "plate-missing"] },
            h("span", { class: "plate-pos" }, t(`position.${position}`)),
            h("span", { class: "plate-text" }, "—"),
        );
    }
    return h(
        "div",
        { class: ["plate", `plate-${position}`] },
        plate.imageRef
            ? h("img", {
                  class: "plate-img",
                  src: imageUrl(plate.imageRef),
                  alt: t("lanes.plateImage", { position: t(`position.${position}`) }),
                  loading: "lazy",
              })
            : null,
        h("span", { class: "plate-pos" }, t(`position.${position}`)),
        h("span", { class: "plate-text", dataset: { testid: `plate-${position}` } }, plate.text ?? ""),
        plate.confidence !== undefined
            ? h(
                  "span",
                  { class: "plate-conf" },
                  t("unit.percent", { value: Math.round(Number(plate.confidence) * 100) }),
              )
            : null,
    );
}

export function channelChip(channel) {
    if (!channel) return null;
    const c = ["GREEN", "YELLOW", "RED"].includes(channel) ? channel : "UNKNOWN";
    return h(
        "span",
        { class: ["chip", `channel-${c.toLowerCase()}`], dataset: { channel: c }, title: channel },
        code("channel", channel),
    );
}

/**
 * The lane's word now, as the gate says it: the outcome in force (the rules' decision as officers raised or
 * released it; `automatic` is the rules' own when it differs), or before the decision an officer's hold.
 */
export function verdict(decision, officerHold) {
    const automatic = decision?.automatic;
    return { outcome: decision?.outcome ?? officerHold, automatic, overridden: Boolean(automatic) };
}

/** The big decision banner: the word, the rule that decided and its reason, or who overrode it. */
export function verdictBanner(decision, officerHold) {
    const v = verdict(decision, officerHold);
    return h(
        "div",
        { class: ["decision", decisionClass(v.outcome)], dataset: { testid: "decision", outcome: v.outcome ?? "" } },
        h("span", { class: "outcome" }, v.outcome ? code("outcome", v.outcome) : "…"),
        decision
            ? h(
                  "span",
                  { class: "why" },
                  v.overridden
                      ? h(
                            "span",
                            { class: "override" },
                            t("decision.override", { automatic: code("outcome", v.automatic) }),
                        )
                      : null,
                  decision.rule
                      ? h("span", { class: "rule", title: decision.rule }, code("rule", decision.rule))
                      : null,
                  decision.reason || decision.findings?.length
                      ? h("span", { class: "reason" }, reasonText(decision.findings, decision.reason))
                      : null,
                  !decision.rule && !decision.reason && decision.outcome === "RELEASE"
                      ? h("span", { class: "reason" }, t("decision.allPassed"))
                      : null,
                  decision.offline
                      ? h(
                            "span",
                            { class: "chip chip-warn" },
                            typeof decision.clearanceAgeMs === "number" && decision.clearanceAgeMs >= 0
                                ? t("decision.offlineAge", {
                                      seconds: formatNumber(Math.ceil(decision.clearanceAgeMs / 1000)),
                                  })
                                : t("decision.offline"),
                        )
                      : null,
              )
            : h(
                  "span",
                  { class: "why muted" },
                  officerHold
                      ? h(
                            "span",
                            { class: "override", dataset: { testid: "officer-hold" } },
                            officerHold === "INSPECT" ? t("decision.divertedWaiting") : t("decision.heldWaiting"),
                        )
                      : t("decision.waiting"),
              ),
    );
}

/**
 * A rule's reason in the reader's language: its findings (codes with parameters) through the catalogue;
 * the stored English text for a rule that gives no findings, or a record written before they were kept.
 */
export function reasonText(findings, stored) {
    if (!findings?.length) return stored ?? "";
    return findings.map((f) => code("reason", f.code, localParams(f.params))).join("; ");
}

/**
 * A weight finding stored before its percentages were numbers ("+0.1 %", "5 %"): the same parameters as
 * a new one (sign apart, numbers), so the catalogue words both alike.
 */
function percentsAsNumbers(params) {
    const old = /^([+-]?)(\d+(?:\.\d+)?) %$/;
    const deviation = old.exec(params.deviation ?? "");
    const tolerance = old.exec(params.tolerance ?? "");
    if (!deviation || !tolerance) return params;
    return { ...params, sign: deviation[1] || "+", deviation: Number(deviation[2]), tolerance: Number(tolerance[2]) };
}

/** Parameters as the reader writes them: numbers in the language's digits, known words translated. */
function localParams(stored = {}) {
    const params = percentsAsNumbers(stored);
    const numbers = localNumbers(params);
    const out = {};
    for (const [name, value] of Object.entries(params)) {
        if (typeof value === "number") out[name] = numbers[name];
        else if (name === "sign") out[name] = value === "-" ? "−" : value;
        else if (name === "position") out[name] = code("position", value);
        else if (name === "role") out[name] = code("plateRole", value);
        else if (name === "status") out[name] = code("sealStatus", value);
        else if (name === "declarationStatus") out[name] = code("declarationStatus", value);
        else if (name === "channels") out[name] = listOf(value, "channel");
        else if (name === "directionSource" && /^type code \S+$/.test(value))
            out[name] = t("word.typeCode", { type: value.slice("type code ".length) });
        // The rules' own words in a parameter ("an import (into Vietnam)", "weight, seal"), translated where
        // catalogued, each item of a list on its own.
        else out[name] = listOf(value, "word");
    }
    return out;
}

/** "weight, seal" with each item worded from `family` where the catalogue has it. */
function listOf(value, family) {
    return String(value)
        .split(", ")
        .map((item) => code(family, item))
        .join(", ");
}

export function decisionClass(outcome) {
    return `decision-${["RELEASE", "HOLD", "INSPECT", "REJECT"].includes(outcome) ? outcome.toLowerCase() : "none"}`;
}

function weightLine(weight) {
    if (!weight || weight.kg === undefined) return h("div", { class: "weight muted" }, t("lanes.noWeight"));
    const dev = weight.deviationPct;
    const devText =
        dev === undefined || dev === null
            ? ""
            : `${dev > 0 ? "+" : dev < 0 ? "−" : "±"}${t("unit.percent", { value: formatNumber(Math.abs(dev), 1) })}`;
    const far = dev !== undefined && dev !== null && Math.abs(dev) > 5;
    return h(
        "div",
        { class: ["weight", far && "weight-off"] },
        h("span", { class: "weight-kg" }, kg(weight.kg)),
        weight.declaredKg !== undefined
            ? h("span", { class: "muted" }, ` ${t("lanes.declaredWeight", { weight: kg(weight.declaredKg) })}`)
            : null,
        devText ? h("span", { class: ["weight-dev", far && "bad"] }, ` ${devText}`) : null,
    );
}

/** One lane's tile: state, truck, documents, weight, decision and its rule, device health, time in lane. */
export function laneTile(lane, { linkPassages = true } = {}) {
    const p = lane.passage;
    const state = lane.state ?? "IDLE";
    const head = h(
        "div",
        { class: "tile-head" },
        h("h2", { class: "lane-name" }, lane.name || lane.id),
        h(
            "span",
            { class: ["state", `state-${state.toLowerCase()}`], dataset: { testid: "lane-state" } },
            code("laneState", state),
        ),
        h(
            "span",
            { class: "in-lane", title: p ? t("lanes.timeInLane") : t("lanes.timeInState") },
            h("span", { class: "label" }, p ? t("lanes.inLane") : t("lanes.for")),
            " ",
            ticker(p?.openedAt ?? lane.since),
        ),
    );
    const devices = h(
        "div",
        { class: "devices", "aria-label": t("lanes.deviceHealth") },
        (lane.devices ?? []).map((d) => deviceDot(d, deviceName(d))),
    );
    if (!p) {
        return h(
            "article",
            { class: ["tile", "tile-idle"], dataset: { lane: lane.id, state } },
            head,
            h("div", { class: "tile-empty" }, state === "CLOSED" ? t("lanes.closed") : t("lanes.empty")),
            h("div", { class: "tile-foot" }, devices),
        );
    }
    const decision = p.decision;
    const plates = p.plates ?? {};
    const body = h(
        "div",
        { class: "tile-body" },
        h("div", { class: "plates" }, plateBlock("front", plates.front), plateBlock("rear", plates.rear)),
        h(
            "div",
            { class: "facts" },
            h(
                "div",
                { class: "declaration" },
                h("span", { class: "label" }, t("field.declaration")),
                " ",
                h("span", { class: "mono", dataset: { testid: "declaration" } }, p.declaration?.number ?? "—"),
                " ",
                channelChip(p.declaration?.channel),
                p.declaration?.status
                    ? h("span", { class: "muted" }, ` ${code("declarationStatus", p.declaration.status)}`)
                    : null,
            ),
            h(
                "div",
                { class: "containers" },
                h("span", { class: "label" }, t("field.containers")),
                " ",
                (p.containers ?? []).length === 0
                    ? "—"
                    : p.containers.map((c) =>
                          h(
                              "span",
                              { class: ["mono", "item", c.checkDigitOk === false && "bad"] },
                              c.number,
                              c.checkDigitOk === false ? ` ✗ ${t("lanes.checkDigit")}` : "",
                          ),
                      ),
            ),
            h(
                "div",
                { class: "seals" },
                h("span", { class: "label" }, t("field.seals")),
                " ",
                (p.seals ?? []).length === 0
                    ? "—"
                    : p.seals.map((s) =>
                          h(
                              "span",
                              { class: ["item", "seal", `seal-${String(s.status).toLowerCase()}`] },
                              h("span", { class: "mono" }, s.id),
                              ` ${code("sealStatus", s.status)}`,
                          ),
                      ),
            ),
            weightLine(p.weight),
        ),
    );
    return h(
        "article",
        {
            class: ["tile", decisionClass(verdict(decision, p.officerHold).outcome)],
            dataset: { lane: lane.id, state, passage: p.id },
        },
        head,
        body,
        verdictBanner(decision, p.officerHold),
        p.awaitingApproval ? h("div", { class: "awaiting", role: "status" }, t("passage.awaitingApproval")) : null,
        // Where the truck went: a truck sent to inspection has its case there (src/inspection: INS-<passage>).
        verdict(decision, p.officerHold).outcome === "INSPECT" && linkPassages
            ? h(
                  "a",
                  {
                      class: "to-inspection",
                      dataset: { testid: "to-inspection" },
                      href: `#/inspection/${encodeURIComponent(`INS-${p.id}`)}`,
                  },
                  t("lanes.toInspection"),
              )
            : null,
        h(
            "div",
            { class: "tile-foot" },
            devices,
            linkPassages
                ? h(
                      "a",
                      { class: "open-passage", href: `#/passages/${encodeURIComponent(p.id)}` },
                      t("lanes.passageDetail"),
                  )
                : null,
        ),
    );
}
