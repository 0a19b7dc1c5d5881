import { api } from "../api.js";
import { errorText, formatDateTime, h, notice, replace, setNotice } from "../dom.js";
import { code, formatNumber, localNumbers, t } from "../i18n.js";

function age(seconds) {
    if (seconds === undefined || seconds === null) return "—";
    const s = Math.round(seconds);
    if (s < 120) return t("unit.seconds", { value: formatNumber(s) });
    if (s < 7200) return t("unit.minutes", { value: formatNumber(Math.round(s / 60)) });
    return t("unit.hours", { value: formatNumber(s / 3600, 1) });
}

const MIB = 1024 * 1024;

/** The store's life cycle (GET /api/v1/storage): what is used, how long it lasts, what central still lacks, the last pruning. */
function storageFacts(store) {
    const fact = (label, testid, ...value) => [h("dt", {}, label), h("dd", { dataset: { testid } }, ...value)];
    const checkpoint = store.lastCheckpoint;
    return [
        fact(
            t("storage.used"),
            "storage-used",
            t("storage.usedOfQuota", {
                used: formatNumber((store.usedBytes ?? 0) / MIB, 1),
                quota: formatNumber((store.quotaBytes ?? 0) / MIB, 0),
            }),
        ),
        fact(
            t("storage.headroom"),
            "storage-headroom",
            store.headroomDays === null || store.headroomDays === undefined
                ? store.rateSpanMs < 3_600_000
                    ? t("storage.tooEarly")
                    : t("storage.noGrowth")
                : t("storage.headroomDays", { days: formatNumber(Math.floor(store.headroomDays)) }),
        ),
        fact(
            t("storage.oldestUnsynced"),
            "storage-oldest-unsynced",
            store.oldestUnsynced
                ? t("storage.eventAt", {
                      seq: String(store.oldestUnsynced.seq),
                      at: formatDateTime(store.oldestUnsynced.recordedAt),
                  })
                : t("storage.allAccepted"),
        ),
        fact(
            t("storage.lastCheckpoint"),
            "storage-last-checkpoint",
            checkpoint
                ? t("storage.checkpoint", {
                      count: formatNumber(checkpoint.count),
                      first: String(checkpoint.firstSeq),
                      last: String(checkpoint.lastSeq),
                      at: formatDateTime(checkpoint.recordedAt),
                  })
                : t("storage.noCheckpoint"),
        ),
        fact(
            t("storage.retention"),
            "storage-retention",
            t("storage.retentionDays", { days: formatNumber(store.retentionDays ?? 0) }),
        ),
    ];
}

/** The sync with central: backlog per class, parked events with Retry, the link's state, the store's headroom. */
export function syncView(main, ctx) {
    const canRetry = ctx.can.retrySync(ctx.user);
    const status = notice("info", t("common.loading"));
    const summary = h("dl", { class: "facts-list", dataset: { testid: "sync-state" } });
    const storage = h("dl", { class: "facts-list", dataset: { testid: "storage" } });
    const backlog = h("tbody", {});
    const parked = h("tbody", {});
    replace(
        main,
        h("section", { class: "panel" }, h("h1", {}, t("sync.title")), status, summary),
        h("section", { class: "panel" }, h("h2", {}, t("storage.title")), storage),
        h(
            "section",
            { class: "panel" },
            h("h2", {}, t("sync.backlog")),
            h(
                "table",
                { class: "grid", dataset: { testid: "backlog" } },
                h(
                    "thead",
                    {},
                    h(
                        "tr",
                        {},
                        [t("field.class"), t("field.pending"), t("field.parked"), t("field.oldestPending")].map(
                            (text) => h("th", {}, text),
                        ),
                    ),
                ),
                backlog,
            ),
        ),
        h(
            "section",
            { class: "panel" },
            h("h2", {}, t("sync.parked")),
            h(
                "table",
                { class: "grid", dataset: { testid: "parked" } },
                h(
                    "thead",
                    {},
                    h(
                        "tr",
                        {},
                        [
                            t("field.seq"),
                            t("field.event"),
                            t("field.type"),
                            t("field.lane"),
                            t("field.reason"),
                            t("field.attempts"),
                            t("field.parked"),
                            "",
                        ].map((text) => h("th", {}, text)),
                    ),
                ),
                parked,
            ),
        ),
    );

    const load = async () => {
        try {
            const [s, store] = await Promise.all([api.get("/api/v1/sync"), api.get("/api/v1/storage")]);
            replace(storage, storageFacts(store));
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
                h("dt", {}, t("field.state")),
                h(
                    "dd",
                    {},
                    h(
                        "span",
                        {
                            class: ["chip", `chip-${stateClass[s.state] ?? "muted"}`],
                            dataset: { state: s.state ?? "" },
                        },
                        s.state ? code("syncState", s.state) : "—",
                    ),
                ),
                h("dt", {}, t("sync.lastSuccess")),
                h("dd", {}, formatDateTime(s.lastSuccessAt)),
                h("dt", {}, t("sync.lastError")),
                h(
                    "dd",
                    { class: s.lastError ? "bad" : "", dataset: { testid: "sync-last-error" } },
                    code("syncError", s.lastErrorCode, localNumbers(s.lastErrorParams ?? {}), s.lastError ?? "—"),
                ),
                h("dt", {}, t("sync.clearance")),
                h(
                    "dd",
                    {},
                    t("sync.clearanceVersion", {
                        version: s.downlink?.version ?? "—",
                        at: formatDateTime(s.downlink?.lastPollAt),
                    }),
                ),
            );
            replace(
                backlog,
                (s.backlog ?? []).map((b) =>
                    h(
                        "tr",
                        { dataset: { class: b.class } },
                        h("td", { class: "mono" }, b.class),
                        h("td", { class: "num" }, formatNumber(b.pending ?? 0)),
                        h("td", { class: ["num", b.parked > 0 && "bad"] }, formatNumber(b.parked ?? 0)),
                        h("td", {}, age(b.oldestPendingAgeS)),
                    ),
                ),
            );
            replace(
                parked,
                (s.parked ?? []).length === 0
                    ? h("tr", {}, h("td", { colspan: 8, class: "muted" }, t("sync.noParked")))
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
                                                        result.textContent = ` ${t("sync.queued")}`;
                                                        setTimeout(load, 1000);
                                                    } catch (err) {
                                                        result.textContent = ` ${errorText(err)}`;
                                                        button.disabled = false;
                                                    }
                                                },
                                            },
                                            t("sync.retry"),
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
