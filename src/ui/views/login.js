import { ApiError, login } from "../api.js";
import { errorText, h, notice, setNotice } from "../dom.js";
import { t } from "../i18n.js";

/** The login form. Wrong name and wrong password get the same answer; too many tries say when to retry. */
export function loginView({ gateName, onLogin }) {
    const message = notice("info", "");
    message.hidden = true;
    const username = h("input", {
        id: "username",
        name: "username",
        autocomplete: "username",
        required: true,
        maxlength: 64,
        autofocus: true,
    });
    const password = h("input", {
        id: "password",
        name: "password",
        type: "password",
        autocomplete: "current-password",
        required: true,
        maxlength: 256,
    });
    const submit = h("button", { type: "submit", class: "btn btn-primary btn-big" }, t("login.submit"));
    const form = h(
        "form",
        {
            class: "login",
            onsubmit: async (event) => {
                event.preventDefault();
                submit.disabled = true;
                message.hidden = true;
                try {
                    const user = await login(username.value.trim(), password.value);
                    password.value = "";
                    await onLogin(user);
                } catch (err) {
                    message.hidden = false;
                    password.value = "";
                    if (err instanceof ApiError && err.status === 401) {
                        setNotice(message, "error", t("login.wrong"));
                    } else if (err instanceof ApiError && err.status === 429) {
                        setNotice(
                            message,
                            "error",
                            err.retryAfter
                                ? t("login.tooManyRetry", { minutes: Math.ceil(err.retryAfter / 60) })
                                : t("login.tooMany"),
                        );
                    } else {
                        setNotice(message, "error", err instanceof ApiError ? errorText(err) : t("login.failed"));
                    }
                } finally {
                    submit.disabled = false;
                }
            },
        },
        h("h1", {}, "gate-edge"),
        gateName ? h("p", { class: "muted" }, gateName) : null,
        h("label", { for: "username" }, t("login.user")),
        username,
        h("label", { for: "password" }, t("login.password")),
        password,
        submit,
        message,
    );
    return form;
}
