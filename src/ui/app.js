/**
 * The gate-edge dashboard: hash routes, the session, navigation by role and one live stream shared by the
 * pages. Plain browser modules served by gate-edge itself: no framework, no build step, nothing external.
 */
import { ApiError, api, logout, me, openStream, setUnauthorizedHandler } from "./api.js";
import { h, replace, startTicking } from "./dom.js";
import { currentLanguage, LANGUAGES, setTimeZone, t, useLanguage } from "./i18n.js";
import { alertsView } from "./views/alerts.js";
import { approvalsView } from "./views/approvals.js";
import { auditView } from "./views/audit.js";
import { devicesView } from "./views/devices.js";
import { inspectionView } from "./views/inspection.js";
import { lanesView } from "./views/lanes.js";
import { loginView } from "./views/login.js";
import { passageDetailView, passagesView } from "./views/passages.js";
import { syncView } from "./views/sync.js";
import { timeReleaseView } from "./views/timeRelease.js";
import { yardView } from "./views/yard.js";

const ALL = ["officer", "supervisor", "technician", "auditor", "admin"];

/** Which role may open which page: the API enforces the same (403); this only keeps the menu honest. */
export const PAGES = [
    { path: "lanes", roles: ALL, view: lanesView },
    { path: "passages", roles: ["officer", "supervisor", "auditor", "admin"], view: passagesView },
    { path: "approvals", roles: ["supervisor"], view: approvalsView },
    { path: "inspection", roles: ["officer", "supervisor", "auditor", "admin"], view: inspectionView },
    { path: "yard", roles: ["officer", "supervisor", "auditor", "admin"], view: yardView },
    // A tab of the Yard page, not a menu entry of its own (`within`): a supervisor's menu stays one line.
    {
        path: "timerelease",
        roles: ["officer", "supervisor", "auditor", "admin"],
        view: timeReleaseView,
        within: "yard",
    },
    { path: "alerts", roles: ["officer", "supervisor", "technician", "admin"], view: alertsView },
    { path: "devices", roles: ["technician", "supervisor", "admin"], view: devicesView },
    { path: "sync", roles: ["technician", "supervisor", "admin"], view: syncView },
    { path: "audit", roles: ["auditor", "admin"], view: auditView },
];

const HOME = { officer: "lanes", supervisor: "lanes", technician: "devices", auditor: "audit", admin: "lanes" };

/** What a role may do beyond reading (the page hides the buttons; the API refuses them anyway). */
export const CAN = {
    act: (user) => ["officer", "supervisor"].includes(user?.role),
    testDevices: (user) => ["technician", "admin"].includes(user?.role),
    retrySync: (user) => ["technician", "admin"].includes(user?.role),
    approve: (user) => user?.role === "supervisor",
    openExit: (user) => user?.role === "supervisor",
};

const state = {
    user: undefined,
    gateName: "",
    defaultLanguage: LANGUAGES[0],
    cleanup: undefined,
    closeStream: undefined,
    listeners: new Map(),
    link: "offline",
};

const root = document.getElementById("app");

/** Pages subscribe to stream events (lane, alert, device, approval, open); returns the unsubscribe. */
function subscribe(name, handler) {
    if (!state.listeners.has(name)) state.listeners.set(name, new Set());
    state.listeners.get(name).add(handler);
    return () => state.listeners.get(name)?.delete(handler);
}

function emit(name, data) {
    for (const handler of state.listeners.get(name) ?? []) {
        try {
            handler(data);
        } catch (err) {
            console.error(err);
        }
    }
}

function parseRoute() {
    const parts = location.hash.replace(/^#\/?/, "").split("/").filter(Boolean).map(decodeURIComponent);
    return { page: parts[0] ?? "", param: parts[1] };
}

export function navigate(hash) {
    if (location.hash === hash) render();
    else location.hash = hash;
}

function startStream() {
    state.closeStream?.();
    state.closeStream = openStream(
        {
            lane: (data) => emit("lane", data),
            alert: (data) => {
                emit("alert", data);
                refreshBadges();
            },
            device: (data) => emit("device", data),
            approval: (data) => {
                emit("approval", data);
                refreshBadges();
            },
        },
        {
            onStatus: (status) => {
                state.link = status;
                const el = document.getElementById("link-status");
                if (el) {
                    el.className = `link link-${status}`;
                    el.textContent = status === "live" ? t("link.live") : t("link.reconnecting");
                }
            },
            onOpen: () => emit("open", {}),
        },
    );
}

let badgeTimer;
/** Open alerts and pending approvals counted in the menu (debounced: bursts of events fetch once). */
function refreshBadges() {
    clearTimeout(badgeTimer);
    badgeTimer = setTimeout(async () => {
        const user = state.user;
        if (!user) return;
        const counts = [];
        if (allowed("alerts", user)) {
            counts.push(
                api
                    .get("/api/v1/alerts?state=open")
                    .then((a) => setBadge("alerts", a.alerts?.length ?? 0))
                    .catch(() => {}),
            );
        }
        if (allowed("approvals", user)) {
            counts.push(
                api
                    .get("/api/v1/approvals")
                    .then((a) => setBadge("approvals", a.approvals?.length ?? 0))
                    .catch(() => {}),
            );
        }
        await Promise.all(counts);
    }, 300);
}

function setBadge(page, count) {
    const el = document.querySelector(`[data-badge="${page}"]`);
    if (!el) return;
    el.textContent = count > 0 ? String(count) : "";
    el.hidden = count === 0;
}

function allowed(page, user) {
    return PAGES.find((p) => p.path === page)?.roles.includes(user?.role) ?? false;
}

function header(user, active) {
    const within = PAGES.find((page) => page.path === active)?.within;
    const nav = h(
        "nav",
        { class: "nav", "aria-label": t("nav.label") },
        PAGES.filter((page) => page.roles.includes(user.role) && !page.within).map((page) =>
            h(
                "a",
                {
                    href: `#/${page.path}`,
                    class: page.path === active || within === page.path ? "active" : undefined,
                    "aria-current": page.path === active ? "page" : undefined,
                    dataset: { nav: page.path },
                },
                t(`nav.${page.path}`),
                h("span", { class: "badge", hidden: true, dataset: { badge: page.path } }),
            ),
        ),
    );
    return h(
        "header",
        { class: "top" },
        h(
            "div",
            { class: "brand", title: state.gateName || undefined },
            h("strong", {}, "gate-edge"),
            state.gateName ? ` · ${state.gateName}` : "",
        ),
        nav,
        h(
            "div",
            { class: "who" },
            h(
                "span",
                { id: "link-status", class: `link link-${state.link}` },
                state.link === "live" ? t("link.live") : t("link.connecting"),
            ),
            h(
                "span",
                { class: "user", dataset: { testid: "user" } },
                user.name,
                // A user named after their role ("officer") would read "officer officer".
                user.role !== user.name ? h("em", {}, ` ${t(`role.${user.role}`)}`) : null,
            ),
            languageSwitcher(async (language) => {
                await api.put("/api/v1/me/language", { language });
                await switchLanguage(language);
            }),
            h(
                "button",
                {
                    type: "button",
                    class: "btn btn-quiet",
                    onclick: async () => {
                        try {
                            await logout();
                        } catch {
                            // logged out locally either way
                        }
                        signedOut();
                    },
                },
                t("header.logout"),
            ),
        ),
    );
}

/** The header's language choice; `choose` stores it (for a user, with the user) and shows the page in it. */
function languageSwitcher(choose) {
    const select = h(
        "select",
        {
            class: "language",
            "aria-label": t("header.language"),
            dataset: { testid: "language" },
            onchange: async () => {
                select.disabled = true;
                try {
                    await choose(select.value);
                } catch (err) {
                    console.error(err);
                    select.value = currentLanguage();
                } finally {
                    select.disabled = false;
                }
            },
        },
        LANGUAGES.map((language) =>
            h("option", { value: language, selected: language === currentLanguage() }, t(`language.${language}`)),
        ),
    );
    return select;
}

/** Shows the page in `language`; the browser remembers it for its login page. */
async function switchLanguage(language) {
    await useLanguage(language);
    try {
        localStorage.setItem("gate-edge.language", currentLanguage());
    } catch {
        // a browser without storage shows the login page in the gate's language
    }
    document.title = state.gateName ? t("app.titleWithGate", { gate: state.gateName }) : t("app.title");
    render();
}

/** The user's own language, stored with the user on the gate; the gate's default until they choose. */
async function languageOfUser() {
    try {
        const answer = await api.get("/api/v1/me/language");
        return answer.language ?? state.defaultLanguage;
    } catch {
        return state.defaultLanguage;
    }
}

function browserLanguage() {
    try {
        return localStorage.getItem("gate-edge.language") ?? state.defaultLanguage;
    } catch {
        return state.defaultLanguage;
    }
}

function signedOut() {
    state.user = undefined;
    state.closeStream?.();
    state.closeStream = undefined;
    navigate("#/login");
}

async function render() {
    state.cleanup?.();
    state.cleanup = undefined;
    const route = parseRoute();
    if (!state.user || route.page === "login") {
        if (state.user && route.page === "login") {
            navigate(`#/${HOME[state.user.role] ?? "lanes"}`);
            return;
        }
        replace(
            root,
            h(
                "main",
                { class: "login-page" },
                h("div", { class: "login-language" }, languageSwitcher(switchLanguage)),
                loginView({
                    gateName: state.gateName,
                    onLogin: async (user) => {
                        state.user = user;
                        await useLanguage(await languageOfUser());
                        startStream();
                        const wanted = route.page && route.page !== "login" ? route.page : "";
                        navigate(`#/${wanted && allowed(wanted, user) ? wanted : (HOME[user.role] ?? "lanes")}`);
                        refreshBadges();
                    },
                }),
            ),
        );
        if (route.page !== "login") history.replaceState(null, "", "#/login");
        return;
    }
    const user = state.user;
    if (!route.page) {
        navigate(`#/${HOME[user.role] ?? "lanes"}`);
        return;
    }
    const page = PAGES.find((p) => p.path === route.page);
    const main = h("main", { id: "view", class: `page page-${route.page}` });
    replace(root, header(user, route.page), main);
    refreshBadges();
    if (!page) {
        replace(
            main,
            h("section", { class: "panel" }, h("h1", {}, t("page.notFound")), h("p", {}, t("page.noSuchPage"))),
        );
        return;
    }
    if (!page.roles.includes(user.role)) {
        replace(
            main,
            h(
                "section",
                { class: "panel forbidden", role: "alert", dataset: { testid: "forbidden" } },
                h("h1", {}, t("page.forbidden")),
                h("p", {}, t("page.forbiddenDetail", { page: t(`nav.${page.path}`), role: t(`role.${user.role}`) })),
            ),
        );
        return;
    }
    const view = route.page === "passages" && route.param ? passageDetailView : page.view;
    const ctx = {
        user,
        param: route.param,
        subscribe,
        navigate,
        can: CAN,
        refreshBadges,
        allowed: (name) => allowed(name, user),
    };
    try {
        state.cleanup = view(main, ctx) ?? undefined;
    } catch (err) {
        console.error(err);
        replace(main, h("p", { class: "notice notice-error" }, t("page.failed")));
    }
}

async function boot() {
    setUnauthorizedHandler(() => {
        if (state.user) signedOut();
    });
    startTicking();
    try {
        const health = await fetch("/api/v1/health", { credentials: "same-origin" });
        if (health.ok) {
            const { gate, ui } = await health.json();
            state.gateName = gate?.name ?? "";
            if (gate?.timeZone) setTimeZone(gate.timeZone);
            if (LANGUAGES.includes(ui?.defaultLanguage)) state.defaultLanguage = ui.defaultLanguage;
        }
    } catch {
        // shown once the gate answers
    }
    try {
        state.user = await me();
    } catch (err) {
        if (!(err instanceof ApiError)) console.error(err);
    }
    try {
        await useLanguage(state.user ? await languageOfUser() : browserLanguage());
    } catch (err) {
        console.error(err);
    }
    document.title = state.gateName ? t("app.titleWithGate", { gate: state.gateName }) : t("app.title");
    if (state.user) startStream();
    window.addEventListener("hashchange", render);
    render();
}

boot();
