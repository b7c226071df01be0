// The uploads page (#/uploads): choose files, each goes up through tus (tus.js) with its own
// progress bar and state, resuming after a dropped connection; then the tenant's uploads with the
// quota used, each id ready to name in a job as `{ "upload": "<id>" }`.
import { api, session } from "./api.js";
import { h, replace } from "./dom.js";
import { errorBox } from "./errors.js";
import { formatTime } from "./format.js";
import { progressText, TusUpload } from "./tus.js";

const mib = (n) => `${(n / 1024 / 1024).toFixed(1)} MiB`;

/** One file's row: name, bar, words; returns the row and the functions that move it. */
function uploadRow(file) {
  const bar = h("progress", { max: 100, value: 0, "aria-label": `Upload of ${file.name}` });
  const text = h("span", { class: "upload-text" }, "waiting");
  const state = h("span", { class: "upload-state", role: "status" }, "");
  const row = h("li", { class: "upload-row" }, h("strong", {}, file.name), " ", bar, " ", text, " ", state);
  return {
    row,
    progress(sent, total) {
      bar.value = total > 0 ? (sent / total) * 100 : 100;
      text.textContent = progressText(sent, total);
    },
    state(s, detail) {
      row.dataset.state = s;
      state.textContent = detail ?? (s === "uploading" ? "uploading" : s === "done" ? "" : s);
    },
    done(id) {
      row.dataset.state = "done";
      replace(state, "Uploaded: episode ", h("code", { class: "upload-id" }, `{ "upload": "${id}" }`));
    },
    failed(err) {
      row.dataset.state = "failed";
      replace(state, errorBox(err, { alert: true }));
    },
  };
}

/** The tenant's uploads and quota (GET /api/v1/uploads). */
async function renderList(box, signal, onAuthError) {
  try {
    const r = await api("/uploads", { signal });
    replace(
      box,
      h("p", { id: "upload-usage" }, `${mib(r.usedBytes)} of ${mib(r.quotaBytes)} used`),
      r.uploads.length
        ? h(
            "table",
            { class: "jobs" },
            h(
              "thead",
              {},
              h(
                "tr",
                {},
                ["File", "Size", "Id", "State", "Created"].map((c) => h("th", { scope: "col" }, c)),
              ),
            ),
            h(
              "tbody",
              {},
              r.uploads.map((u) =>
                h(
                  "tr",
                  {},
                  h("td", {}, u.filename ?? ""),
                  h("td", {}, mib(u.length)),
                  h("td", {}, h("code", {}, u.id)),
                  h("td", {}, u.complete ? "complete" : "incomplete"),
                  h("td", {}, formatTime(u.createdAt)),
                ),
              ),
            ),
          )
        : h("p", {}, "No uploads yet."),
    );
  } catch (e) {
    if (e?.name === "AbortError") return;
    if (e?.status === 401) return onAuthError(e);
    replace(box, errorBox(e));
  }
}

/**
 * @param {HTMLElement} main
 * @param {AbortSignal} signal aborted when the reader leaves the page
 * @param {(e: Error) => void} onAuthError
 */
export function renderUploads(main, signal, onAuthError) {
  const input = h("input", { id: "upload-files", type: "file", multiple: true, accept: "video/*,audio/*,.mkv,.ts" });
  const button = h("button", { type: "submit" }, "Upload");
  const rows = h("ul", { id: "upload-rows", class: "uploads" });
  const list = h("div", { id: "upload-list" }, "Loading uploads…");
  const form = h(
    "form",
    { class: "card" },
    h("div", { class: "field" }, h("label", { for: "upload-files" }, "Files"), input),
    h(
      "p",
      { class: "help" },
      "Uploads resume where they stopped if the connection drops, or if you choose the same file again.",
    ),
    button,
  );
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const files = [...(input.files ?? [])];
    for (const file of files) {
      const r = uploadRow(file);
      rows.append(r.row);
      const up = new TusUpload(file, { token: session.token, onProgress: r.progress, onState: r.state });
      try {
        r.done(await up.start());
      } catch (e) {
        if (e?.status === 401) return onAuthError(e);
        r.failed(e);
      }
    }
    input.value = "";
    if (!signal.aborted) await renderList(list, signal, onAuthError);
  });
  replace(main, h("h1", {}, "Uploads"), form, rows, h("h2", {}, "Your uploads"), list);
  void renderList(list, signal, onAuthError);
}
