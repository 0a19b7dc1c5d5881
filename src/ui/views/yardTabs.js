import { h } from "../dom.js";
import { t } from "../i18n.js";

/** The words of the yard's codes (src/yard/types.ts LaneGroup, GoodsClass), shared by its two pages. */
export const GROUP_KEYS = { import: "yard.groupImport", export: "yard.groupExport", empty: "yard.groupEmpty" };
export const GOODS_KEYS = { perishable: "yard.goodsPerishable", general: "yard.goodsGeneral" };

/**
 * The Yard and Time release pages share one place in the menu (a supervisor's menu must stay one line at
 * 1366 px), and each shows both as tabs.
 */
export function yardTabs(active) {
    return h(
        "nav",
        { class: "tabs", "aria-label": t("nav.yard"), dataset: { testid: "yard-tabs" } },
        ["yard", "timerelease"].map((path) =>
            h(
                "a",
                {
                    href: `#/${path}`,
                    class: "tab",
                    "aria-selected": String(path === active),
                    "aria-current": path === active ? "page" : undefined,
                    dataset: { tab: path },
                },
                t(`nav.${path}`),
            ),
        ),
    );
}
