// The job list: GET /api/v1/jobs with phase and tag filters, 50 at a time ("Show more" follows the
// cursor). The filters live in the address (#/?phase=Failed&tag=news), so a filtered list can be shared.
import { listJobs } from "./api.js";
import { h, progressBar, replace } from "./dom.js";
import { errorBox } from "./errors.js";
import { formatTime } from "./format.js";

const phases = ["Pending", "Downloading", "Processing", "Merging", "Completed", "Failed", "Cancelled"];

/**
 * @param {HTMLElement} main
 * @param {URLSearchParams} query the filters from the address
 * @param {AbortSignal} signal aborted when the reader leaves the page
 * @param {(e: Error) => void} onAuthError
 */
export function renderJobs(main, query, signal, onAuthError) {
  const phase = query.get("phase") ?? "";
  const tag = query.get("tag") ?? "";

  const phaseSelect = h(
    "select",
    { id: "filter-phase", name: "phase" },
    h("option", { value: "" }, "Any phase"),
    phases.map((p) => h("option", { value: p, selected: p === phase }, p)),
  );
  const tagInput = h("input", { id: "filter-tag", name: "tag", type: "text", value: tag, autocomplete: "off" });
  const filters = h(
    "form",
    { class: "filters", role: "search", "aria-label": "Filter jobs" },
    h("div", { class: "field" }, h("label", { for: "filter-phase" }, "Phase"), phaseSelect),
    h("div", { class: "field" }, h("label", { for: "filter-tag" }, "Tag"), tagInput),
    h("button", { type: "submit" }, "Filter"),
    phase || tag ? h("a", { href: "#/", class: "clear" }, "Clear filters") : null,
  );
  filters.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const q = new URLSearchParams();
    if (phaseSelect.value) q.set("phase", phaseSelect.value);
    if (tagInput.value.trim()) q.set("tag", tagInput.value.trim());
    const qs = q.toString();
    location.hash = qs ? `#/?${qs}` : "#/";
  });

  const tbody = h("tbody");
  const table = h(
    "table",
    { class: "jobs" },
    h("caption", { class: "visually-hidden" }, "Jobs"),
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        ["Job", "Phase", "Progress", "Episodes", "Tags", "Created"].map((c) => h("th", { scope: "col" }, c)),
      ),
    ),
    tbody,
  );
  const state = h("div", { id: "jobs-state", role: "status" }, "Loading jobs…");
  const more = h("button", { type: "button", hidden: true }, "Show more");

  replace(
    main,
    h(
      "section",
      { "aria-labelledby": "jobs-title" },
      h(
        "div",
        { class: "title-row" },
        h("h1", { id: "jobs-title" }, "Jobs"),
        h("a", { href: "#/new", class: "button" }, "New job"),
      ),
      filters,
      state,
      table,
      more,
    ),
  );

  let cursor;
  async function load() {
    more.disabled = true;
    try {
      // Summaries: a row needs no spec, and a full page of long jobs is megabytes.
      const page = await listJobs({ phase, tag, limit: 50, cursor, view: "summary" }, signal);
      const items = Array.isArray(page?.items) ? page.items : [];
      for (const job of items) tbody.append(jobRow(job));
      cursor = page?.next;
      more.hidden = !cursor;
      const count = tbody.rows.length;
      replace(
        state,
        count === 0
          ? phase || tag
            ? "No jobs match these filters."
            : h("span", {}, "No jobs yet. ", h("a", { href: "#/new" }, "Create one"), ".")
          : `${count} job${count === 1 ? "" : "s"}${cursor ? " so far" : ""}.`,
      );
    } catch (e) {
      if (signal.aborted) return;
      if (e?.status === 401) return onAuthError(e);
      replace(state, errorBox(e, { alert: true }));
    } finally {
      more.disabled = false;
    }
  }
  more.addEventListener("click", load);
  load();
}

function jobRow(job) {
  // A summary (view=summary) carries phase, progress and episodes itself; a full Job in status and spec.
  const st = job.status ?? {};
  const phase = job.phase ?? st.phase ?? "Pending";
  return h(
    "tr",
    {},
    h("th", { scope: "row" }, h("a", { href: `#/jobs/${encodeURIComponent(job.id)}` }, job.id)),
    h("td", {}, h("span", { class: `phase phase-${phase.toLowerCase()}` }, phase)),
    h("td", {}, progressBar(job.progress ?? st.progress ?? 0, `Progress of ${job.id}`)),
    h("td", {}, job.episodesSummary ?? st.episodesSummary ?? `0/${job.episodes ?? job.spec?.episodes?.length ?? 0}`),
    h(
      "td",
      {},
      (job.tags ?? job.spec?.tags ?? []).map((t) => h("span", { class: "tag" }, t)),
    ),
    h("td", {}, h("time", { datetime: job.createdAt ?? "" }, formatTime(job.createdAt))),
  );
}
