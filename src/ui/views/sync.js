import { api } from "../api.js";
import { errorText, formatDateTime, h, notice, replace, setNotice } from "../dom.js";

function age(seconds) {
    if (seconds === undefined || seconds === null) return "—";
    const s = Math.round(seconds);
    if (s < 120) return `${s} s`;
    if (s < 7200) return `${Math.round(s / 60)} min`;
    return `${(s / 3600).toFixed(1)} h`;
}

/** The sync with central: backlog per class, parked events with Retry, the link's state. */
export function syncView(main, ctx) {
    const canRetry = ctx.can.retrySync(ctx.user);
    const status = notice("info", "Loading…");
    const summary = h("dl", { class: "facts-list", dataset: { testid: "sync-state" } });
    const backlog = h("tbody", {});
    const parked = h("tbody", {});
    replace(
        main,
        h("section", { class: "panel" }, h("h1", {}, "Sync with central"), status, summary),
        h(
            "section",
            { class: "panel" },
            h("h2", {}, "Backlog"),
            h(
                "table",
                { class: "grid", dataset: { testid: "backlog" } },
                h(
                    "thead",
                    {},
                    h(
                        "tr",
                        {},
                        ["Class", "Pending", "Parked", "Oldest pending"].map((t) => h("th", {}, t)),
                    ),
                ),
                backlog,
            ),
        ),
        h(
            "section",
            { class: "panel" },
            h("h2", {}, "Parked events"),
            h(
                "table",
                { class: "grid", dataset: { testid: "parked" } },
                h(
                    "thead",
                    {},
                    h(
                        "tr",
                        {},
                        ["Seq", "Event", "Type", "Lane", "Reason", "Attempts", "Parked", ""].map((t) => h("th", {}, t)),
                    ),
                ),
                parked,
            ),
        ),
    );

    const load = async () => {
        try {
            const s = await api.get("/api/v1/sync");
            status.hidden = true;
            const stateClass = {
                idle: "good",
                sending: "good",
                backoff: "warn",
                "auth-failed": "bad",
                disabled: "muted",
            };
            replace(
                summary,
                h("dt", {}, "State"),
                h("dd", {}, h("span", { class: ["chip", `chip-${stateClass[s.state] ?? "muted"}`] }, s.state ?? "—")),
                h("dt", {}, "Last success"),
                h("dd", {}, formatDateTime(s.lastSuccessAt)),
                h("dt", {}, "Last error"),
                h("dd", { class: s.lastError ? "bad" : "" }, s.lastError ?? "—"),
                h("dt", {}, "Clearance data"),
                h(
                    "dd",
                    {},
                    `version ${s.downlink?.version ?? "—"}, last poll ${formatDateTime(s.downlink?.lastPollAt)}`,
                ),
            );
            replace(
                backlog,
                (s.backlog ?? []).map((b) =>
                    h(
                        "tr",
                        { dataset: { class: b.class } },
                        h("td", { class: "mono" }, b.class),
                        h("td", { class: "num" }, String(b.pending ?? 0)),
                        h("td", { class: ["num", b.parked > 0 && "bad"] }, String(b.parked ?? 0)),
                        h("td", {}, age(b.oldestPendingAgeS)),
                    ),
                ),
            );
            replace(
                parked,
                (s.parked ?? []).length === 0
                    ? h("tr", {}, h("td", { colspan: 8, class: "muted" }, "No parked event."))
                    : s.parked.map((p) => {
                          const result = h("span", { class: "muted" });
                          return h(
                              "tr",
                              { dataset: { seq: String(p.seq) } },
                              h("td", { class: "num" }, String(p.seq)),
                              h("td", { class: "mono" }, p.id ?? ""),
                              h("td", { class: "mono" }, p.type ?? ""),
                              h("td", {}, p.laneId ?? ""),
                              h("td", {}, p.reason ?? ""),
                              h("td", { class: "num" }, String(p.attempts ?? 0)),
                              h("td", { class: "when" }, formatDateTime(p.parkedAt)),
                              h(
                                  "td",
                                  {},
                                  canRetry
                                      ? h(
                                            "button",
                                            {
                                                type: "button",
                                                class: "btn",
                                                onclick: async (event) => {
                                                    const button = event.currentTarget;
                                                    button.disabled = true;
                                                    try {
                                                        await api.post(
                                                            `/api/v1/sync/parked/${encodeURIComponent(p.seq)}/retry`,
                                                        );
                                                        result.textContent = " queued again";
                                                        setTimeout(load, 1000);
                                                    } catch (err) {
                                                        result.textContent = ` ${errorText(err)}`;
                                                        button.disabled = false;
                                                    }
                                                },
                                            },
                                            "Retry",
                                        )
                                      : null,
                                  result,
                              ),
                          );
                      }),
            );
        } catch (err) {
            status.hidden = false;
            setNotice(status, "error", errorText(err));
        }
    };
    load();
    const timer = setInterval(load, 5000);
    const off = ctx.subscribe("alert", (alert) => {
        if (String(alert?.code ?? "").startsWith("SYNC")) load();
    });
    return () => {
        clearInterval(timer);
        off();
    };
}
