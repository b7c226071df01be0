// One job: what was asked, where it stands (per episode: stage, progress, quality, errors), the
// output link once Completed. Kept current by live events (live.js); every event updates `state`
// and the page is drawn again from it.
import { cancelJob, getJob, getStatus } from "./api.js";
import { h, progressBar, replace, safeLink } from "./dom.js";
import { codesIn, errorBox, meaning } from "./errors.js";
import { finalPhases, formatBytes, formatDuration, formatQuality, formatStage, formatTime } from "./format.js";
import { follow } from "./live.js";

const modes = {
  websocket: "Live",
  sse: "Live (event stream)",
  polling: "Updating every 3 s",
  reconnecting: "Reconnecting…",
  stopped: "Not updating",
};

/**
 * @param {HTMLElement} main
 * @param {string} id
 * @param {AbortSignal} signal aborted when the reader leaves the page: stops the live updates
 * @param {(e: Error) => void} onAuthError
 */
export async function renderJob(main, id, signal, onAuthError) {
  replace(main, h("p", { role: "status" }, "Loading job…"));
  /** @type {{ job: any, live: Map<number, { stage?: string, progress?: number }>, mode: string, deleted: boolean }} */
  const state = { job: undefined, live: new Map(), mode: "reconnecting", deleted: false };
  try {
    state.job = await getJob(id, signal);
  } catch (e) {
    if (signal.aborted) return;
    if (e?.status === 401) return onAuthError(e);
    replace(
      main,
      h("h1", {}, "Job ", h("code", {}, id)),
      errorBox(e, { alert: true }),
      h("p", {}, h("a", { href: "#/" }, "Back to jobs")),
    );
    return;
  }

  const phaseLine = h("p", { id: "job-phase", role: "status", "aria-live": "polite" });
  const body = h("div", { id: "job-body" });
  const modeLine = h("p", { class: "live-mode", id: "live-mode" });
  const actions = h("div", { class: "actions" });
  replace(
    main,
    h(
      "article",
      { "aria-labelledby": "job-title" },
      h("p", { class: "crumbs" }, h("a", { href: "#/" }, "Jobs"), " / "),
      h("div", { class: "title-row" }, h("h1", { id: "job-title" }, state.job.id), actions),
      phaseLine,
      modeLine,
      body,
    ),
  );

  let shownPhase;
  function draw() {
    const job = state.job;
    const st = job.status ?? {};
    const phase = st.phase ?? "Pending";
    if (phase !== shownPhase) {
      replace(
        phaseLine,
        "Phase: ",
        h("span", { class: `phase phase-${phase.toLowerCase()}` }, phase),
        state.deleted ? " — this job has been deleted." : "",
      );
      shownPhase = phase;
    }
    replace(modeLine, modes[state.mode] ?? "");
    replace(actions, finalPhases.has(phase) || job.spec?.cancel || state.deleted ? null : cancelButton());
    replace(
      body,
      overview(job),
      phase === "Completed" ? outputSection(st.output) : null,
      phase === "Failed" ? failureSection(st) : null,
      episodesSection(job, state.live),
      specSection(job),
    );
  }

  function cancelButton() {
    const b = h("button", { type: "button", class: "danger" }, "Cancel job");
    b.addEventListener("click", async () => {
      if (!confirm(`Cancel ${state.job.id}? Running episodes stop; this cannot be undone.`)) return;
      b.disabled = true;
      try {
        state.job = await cancelJob(state.job.id);
        draw();
      } catch (e) {
        b.disabled = false;
        actions.append(errorBox(e, { alert: true }));
      }
    });
    return b;
  }

  function apply(e) {
    const job = state.job;
    job.status ??= {};
    switch (e?.type) {
      case "status":
        if (e.status) job.status = e.status;
        state.live.clear(); // the status is the latest word on every episode
        break;
      case "phase":
        if (e.status) job.status = e.status;
        else {
          if (e.phase) job.status.phase = e.phase;
          // A phase change without the status: fetch it once, for the episodes and the output.
          getStatus(job.id, signal).then(
            (s) => apply({ type: "status", status: s }),
            () => {},
          );
        }
        if (typeof e.progress === "number") job.status.progress = e.progress;
        break;
      case "progress":
        if (typeof e.progress === "number") job.status.progress = e.progress;
        if (e.episode && typeof e.episode.index === "number")
          state.live.set(e.episode.index, { stage: e.episode.stage, progress: e.episode.progress });
        break;
      case "deleted":
        state.deleted = true;
        shownPhase = undefined;
        break;
      default:
        return;
    }
    draw();
  }

  draw();
  const live = follow(state.job.id, {
    onEvent: apply,
    onMode: (mode) => {
      state.mode = mode;
      replace(modeLine, modes[mode] ?? "");
    },
    onError: onAuthError,
  });
  signal.addEventListener("abort", () => live.stop(), { once: true });
}

function overview(job) {
  const st = job.status ?? {};
  const total = job.spec?.episodes?.length ?? 0;
  return h(
    "section",
    { class: "overview", "aria-label": "Overview" },
    h(
      "div",
      { class: "big-progress" },
      h("span", { class: "label" }, "Progress"),
      progressBar(st.progress ?? 0, "Job progress"),
      h("span", { class: "summary" }, `${st.episodesSummary ?? `0/${total}`} episodes done`),
    ),
    h(
      "dl",
      { class: "facts" },
      fact("Created", formatTime(job.createdAt)),
      st.startedAt ? fact("Started", formatTime(st.startedAt)) : null,
      st.completedAt ? fact("Finished", formatTime(st.completedAt)) : null,
      (job.tags ?? []).length
        ? fact(
            "Tags",
            job.tags.map((t) => h("span", { class: "tag" }, t)),
          )
        : null,
      job.traceId ? fact("Trace", h("code", {}, job.traceId)) : null,
    ),
  );
}

function fact(term, ...value) {
  return h("div", {}, h("dt", {}, term), h("dd", {}, ...value));
}

function outputSection(output) {
  if (!output) return h("section", { "aria-labelledby": "output-title" }, h("h2", { id: "output-title" }, "Output"));
  return h(
    "section",
    { class: "output", "aria-labelledby": "output-title" },
    h("h2", { id: "output-title" }, "Output"),
    output.url
      ? h("p", { class: "download" }, safeLink(output.url, "Download the video"))
      : h("p", {}, "No download link: the output is stored at the location below."),
    h(
      "dl",
      { class: "facts" },
      fact("Location", h("code", {}, output.location ?? "")),
      output.sizeBytes !== undefined ? fact("Size", formatBytes(output.sizeBytes)) : null,
      output.durationSecs !== undefined ? fact("Duration", formatDuration(output.durationSecs)) : null,
      output.chapters !== undefined ? fact("Chapters", String(output.chapters)) : null,
      output.urlExpiresAt ? fact("Link expires", formatTime(output.urlExpiresAt)) : null,
      output.checksum ? fact("Checksum", h("code", { class: "wrap" }, output.checksum)) : null,
    ),
  );
}

/** Why the job failed: the Stalled condition's message, each code in it explained. */
function failureSection(st) {
  const cond =
    st.conditions?.find((c) => c.type === "Stalled" && c.status === "True") ??
    st.conditions?.find((c) => c.type === "Ready" && c.status === "False");
  const message = cond?.message ?? "";
  const codes = codesIn(message);
  return h(
    "section",
    { class: "failure", "aria-labelledby": "failure-title" },
    h("h2", { id: "failure-title" }, "Why it failed"),
    message ? h("p", {}, message) : h("p", {}, "See the episodes below."),
    codes.length
      ? h(
          "ul",
          { class: "codes" },
          codes.map((c) => h("li", {}, h("code", {}, c), meaning(c) ? ` — ${meaning(c)}` : "")),
        )
      : null,
  );
}

function episodesSection(job, live) {
  const asked = job.spec?.episodes ?? [];
  const seen = new Map((job.status?.episodes ?? []).map((e) => [e.index, e]));
  const count = Math.max(asked.length, ...[...seen.keys()].map((i) => i + 1));
  const rows = [];
  for (let i = 0; i < count; i++) rows.push(episodeRow(i, asked[i], seen.get(i), live.get(i)));
  return h(
    "section",
    { "aria-labelledby": "episodes-title" },
    h("h2", { id: "episodes-title" }, "Episodes"),
    h(
      "table",
      { class: "episodes" },
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          ["#", "Title", "Stage", "Progress", "Quality", "Details"].map((c) => h("th", { scope: "col" }, c)),
        ),
      ),
      h("tbody", {}, rows),
    ),
  );
}

function episodeRow(i, asked, st, live) {
  const phase = st?.phase ?? "Pending";
  const running = !finalPhases.has(phase);
  const stage = running && live?.stage ? formatStage(live.stage) : phase;
  const progress = running && typeof live?.progress === "number" ? live.progress : (st?.progress ?? 0);
  const title = st?.title ?? asked?.title ?? `Episode ${i + 1}`;
  const details = [
    st?.attempts > 1 ? `${st.attempts} attempts` : "",
    st?.node ? `node ${st.node}` : "",
    st?.encoder ? `encoder ${st.encoder}` : "",
    st?.durationSecs !== undefined ? formatDuration(st.durationSecs) : "",
    st?.bytesOutput !== undefined ? formatBytes(st.bytesOutput) : "",
  ].filter(Boolean);
  return h(
    "tr",
    { "data-episode": i },
    h("td", {}, String(i + 1)),
    h("th", { scope: "row", class: "episode-title" }, title),
    h("td", { class: "stage" }, h("span", { class: `phase phase-${phase.toLowerCase()}` }, stage)),
    h("td", {}, progressBar(phase === "Completed" ? 100 : progress, `Progress of episode ${i + 1}`)),
    h("td", { class: "quality" }, quality(st?.quality)),
    h("td", {}, details.join(" · "), st?.error ? errorBox(st.error) : null),
  );
}

function quality(q) {
  const text = formatQuality(q);
  if (!text) return "";
  const how =
    q.method === "comparison" ? "compared with the source" : q.method === "encoder" ? "measured by the encoder" : "";
  return h("span", { title: how || null }, text);
}

function specSection(job) {
  const s = job.spec ?? {};
  const s3 = s.output?.s3;
  const where = s3
    ? `s3://${s3.bucket}/${s3.prefix ?? ""}`
    : s.output?.volume
      ? `pvc://${s.output.volume.claimName}${s.output.volume.path ?? "/"}`
      : "";
  return h(
    "section",
    { "aria-labelledby": "spec-title" },
    h("h2", { id: "spec-title" }, "Asked for"),
    h(
      "dl",
      { class: "facts" },
      fact("Quality", `${s.quality ?? ""} ${s.codec ?? ""}`.trim()),
      s.compression ? fact("Compression", `${s.compression.preset ?? ""}, level ${s.compression.level ?? ""}`) : null,
      s.gpu ? fact("GPU", `${s.gpu.policy ?? ""}${s.gpu.vendor ? ` (${s.gpu.vendor})` : ""}`) : null,
      s.merge
        ? fact(
            "Merge",
            s.merge.enabled === false
              ? "off"
              : `on${s.merge.chapters === false ? ", no chapters" : ", chapters"}${s.merge.allowPartial ? ", partial allowed" : ""}`,
          )
        : null,
      where ? fact("Output", h("code", {}, where)) : null,
      s3?.credentialsSecret ? fact("Credentials", h("code", {}, s3.credentialsSecret)) : null,
      (s.episodes ?? []).length
        ? fact(
            "Sources",
            h(
              "ol",
              { class: "sources" },
              s.episodes.map((e) => h("li", {}, safeLink(e.url))),
            ),
          )
        : null,
    ),
  );
}
