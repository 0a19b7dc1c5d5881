import { api } from "../api.js";
import { dot, errorText, formatDateTime, h, notice, replace, setNotice } from "../dom.js";
import { code, deviceReasonText, formatNumber, localNumbers, t } from "../i18n.js";

/** The test a technician can run on a device of each kind (its button's text is `deviceTest.<action>`). */
const TESTS = {
    weight: { action: "readWeight" },
    plate: { action: "snapshot" },
    camera: { action: "snapshot" },
    plc: { action: "pulseLight" },
};

const num = (...values) => values.find((v) => v !== undefined && v !== null);

/** Printable ASCII of a hex frame, dots for the rest (what a serial monitor shows). */
function ascii(hex) {
    let out = "";
    for (let i = 0; i + 1 < hex.length; i += 2) {
        const code = Number.parseInt(hex.slice(i, i + 2), 16);
        out += code >= 0x20 && code < 0x7f ? String.fromCharCode(code) : "·";
    }
    return out;
}

/** A test's outcome in the reader's language from its code; the gate's English text for an unknown one. */
export function testResultText(answer) {
    const stored = typeof answer.detail === "string" ? answer.detail : JSON.stringify(answer.detail ?? "");
    const params = localNumbers(answer.detailParams ?? {});
    if (typeof params.steady === "string") params.steady = code("weightSteady", params.steady);
    return code("deviceTestResult", answer.detailCode, params, stored);
}

/** Devices with their status, counters and last raw frames, and a test per device (technicians). */
export function devicesView(main, ctx) {
    const canTest = ctx.can.testDevices(ctx.user);
    const status = notice("info", t("devices.loading"));
    const rows = h("tbody", {});
    const columns = [
        "",
        t("field.device"),
        t("field.lane"),
        t("field.kind"),
        t("field.model"),
        t("field.status"),
        t("field.since"),
        t("field.lastFrame"),
        t("field.frames"),
        t("field.reconnects"),
        t("field.badFrames"),
        "",
    ];
    replace(
        main,
        h(
            "section",
            { class: "panel" },
            h("h1", {}, t("nav.devices")),
            status,
            h(
                "div",
                { class: "scroll" },
                h(
                    "table",
                    { class: "grid device-table", dataset: { testid: "devices" } },
                    h(
                        "thead",
                        {},
                        h(
                            "tr",
                            {},
                            columns.map((t) => h("th", {}, t)),
                        ),
                    ),
                    rows,
                ),
            ),
        ),
    );
    const entries = new Map();

    const framesRow = (id) => {
        const body = h("td", { colspan: columns.length, class: "frames" }, t("devices.loadingFrames"));
        const row = h("tr", { class: "frames-row", dataset: { framesOf: id } }, body);
        api.get(`/api/v1/devices/${encodeURIComponent(id)}/frames`)
            .then(({ frames }) => {
                const list = (frames ?? []).slice(-20).reverse();
                if (list.length === 0) {
                    replace(body, h("span", { class: "muted" }, t("devices.noFrames")));
                    return;
                }
                const head = h(
                    "tr",
                    {},
                    [t("field.time"), t("field.direction"), t("field.hex"), t("field.text"), t("field.note")].map(
                        (text) => h("th", {}, text),
                    ),
                );
                const lines = list.map((f) =>
                    h(
                        "tr",
                        {},
                        h("td", { class: "when" }, formatDateTime(f.at)),
                        h("td", {}, code("frameDirection", f.direction ?? "in")),
                        h("td", { class: "mono hex" }, f.hex ?? ""),
                        h("td", { class: "mono" }, f.text ?? ascii(f.hex ?? "")),
                        // The outcome worded in the reader's language; the device's own reason as it gave it.
                        h(
                            "td",
                            {},
                            f.outcome
                                ? [code("frameOutcome", f.outcome), f.reason].filter(Boolean).join(": ")
                                : (f.note ?? ""),
                        ),
                    ),
                );
                replace(body, h("table", { class: "grid raw" }, h("thead", {}, head), h("tbody", {}, lines)));
            })
            .catch((err) => replace(body, h("span", { class: "notice-error" }, errorText(err))));
        return row;
    };

    const deviceRow = (d) => {
        const id = d.deviceId ?? d.id;
        const test = TESTS[d.kind];
        const result = h("span", { class: "test-result", dataset: { testResult: id } });
        const entry = entries.get(id);
        const framesOpen = Boolean(entry?.frames?.isConnected);
        const actions = h(
            "td",
            { class: "actions" },
            h(
                "button",
                {
                    type: "button",
                    class: "btn btn-quiet",
                    "aria-expanded": String(framesOpen),
                    onclick: () => {
                        const current = entries.get(id);
                        if (current.frames?.isConnected) {
                            current.frames.remove();
                            current.frames = undefined;
                        } else {
                            current.frames = framesRow(id);
                            current.row.after(current.frames);
                        }
                    },
                },
                t("devices.rawFrames"),
            ),
            canTest && test
                ? h(
                      "button",
                      {
                          type: "button",
                          class: "btn",
                          dataset: { test: test.action },
                          onclick: async (event) => {
                              const button = event.currentTarget;
                              button.disabled = true;
                              result.textContent = "…";
                              try {
                                  const answer = await api.post(`/api/v1/devices/${encodeURIComponent(id)}/test`, {
                                      action: test.action,
                                  });
                                  const detail = testResultText(answer);
                                  result.className = `test-result ${answer.ok ? "good" : "bad"}`;
                                  replace(
                                      result,
                                      t(answer.ok ? "devices.testOk" : "devices.testFailed", { detail }),
                                      // The snapshot comes inline: technicians may not open stored plate images.
                                      typeof answer.imageDataUrl === "string" &&
                                          answer.imageDataUrl.startsWith("data:image/")
                                          ? h("img", {
                                                class: "test-snapshot",
                                                src: answer.imageDataUrl,
                                                alt: t("devices.snapshot"),
                                            })
                                          : null,
                                  );
                              } catch (err) {
                                  result.className = "test-result bad";
                                  result.textContent = errorText(err);
                              } finally {
                                  button.disabled = false;
                              }
                          },
                      },
                      t(`deviceTest.${test.action}`),
                  )
                : null,
            result,
        );
        const c = d.counters ?? {};
        return h(
            "tr",
            { class: `device-${d.status}`, dataset: { device: id, status: d.status } },
            h("td", {}, dot(d.status)),
            h("td", { class: "mono strong" }, id),
            h("td", {}, d.laneId ?? ""),
            h(
                "td",
                {},
                [code("deviceKind", d.kind), d.role !== d.kind && code("position", d.role)].filter(Boolean).join(" · "),
            ),
            h("td", { class: "mono" }, d.model ?? ""),
            h(
                "td",
                {},
                h(
                    "span",
                    { class: ["status", `status-${d.status}`], dataset: { testid: "device-status", status: d.status } },
                    code("deviceStatus", d.status),
                ),
                d.reason || d.reasonCode
                    ? h("div", { class: "muted small", dataset: { testid: "device-reason" } }, deviceReasonText(d))
                    : null,
            ),
            h("td", { class: "when" }, formatDateTime(d.statusSince)),
            h("td", { class: "when" }, formatDateTime(d.lastFrameAt)),
            h("td", { class: "num" }, formatNumber(num(d.frames, c.frames, 0))),
            h("td", { class: "num" }, formatNumber(num(d.reconnects, c.reconnects, 0))),
            h("td", { class: "num" }, formatNumber(num(d.badFrames, (c.invalid ?? 0) + (c.discardedBytes ? 1 : 0), 0))),
            actions,
        );
    };

    const put = (d) => {
        const id = d.deviceId ?? d.id;
        const row = deviceRow(d);
        const entry = entries.get(id);
        if (entry?.row.isConnected) entry.row.replaceWith(row);
        else rows.appendChild(row);
        entries.set(id, { row, frames: entry?.frames, data: d });
    };

    const load = async () => {
        try {
            const { devices } = await api.get("/api/v1/devices");
            status.hidden = true;
            for (const d of devices ?? []) put(d);
        } catch (err) {
            status.hidden = false;
            setNotice(status, "error", errorText(err));
        }
    };
    load();
    // Counters move all the time: refresh them; status changes arrive at once on the stream.
    const timer = setInterval(load, 5000);
    const offs = [
        ctx.subscribe("device", (event) => {
            const entry = entries.get(event.id);
            if (!entry) return;
            put({
                ...entry.data,
                status: event.status,
                // A new reason replaces the old one whole: a code must not outlive the text it came with.
                ...(event.reason !== undefined && {
                    reason: event.reason,
                    reasonCode: event.reasonCode,
                    reasonParams: event.reasonParams,
                }),
                statusSince: event.at ?? new Date().toISOString(),
            });
        }),
        ctx.subscribe("open", load),
    ];
    return () => {
        clearInterval(timer);
        for (const off of offs) off();
    };
}
