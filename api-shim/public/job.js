// One job: what was asked, where it stands (per episode: poster, stage, progress, quality, errors; the
// merge pod's progress), every stored file with a download link through the shim's route (a fresh
// link on each click, so the page works long after the status's presigned URL expired), and a
// player for a completed job's merged file (player.js). Kept current by live events (live.js); every
// event updates `state` and the page is drawn again from it, the player kept as it is.
import { cancelJob, getJob, getStatus, outputLink, retryJob } from "./api.js";
import { h, progressBar, replace, safeLink } from "./dom.js";
import { codesIn, errorBox, meaning } from "./errors.js";
import {
  canRetry,
  finalPhases,
  formatBytes,
  formatDuration,
  formatQuality,
  formatStage,
  formatTime,
  formatTreatment,
} from "./format.js";
import { follow } from "./live.js";
import { describeFile, livePod, outputPath, storedFiles } from "./outputs.js";
import { playerSection } from "./player.js";
import { posterCell } from "./posters.js";

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
  /** @type {{ job: any, live: Map<number, { stage: string, phase?: string, progress: number }>, merge: any, mode: string, deleted: boolean, ended?: Error }} */
  const state = { job: undefined, live: new Map(), merge: undefined, mode: "reconnecting", deleted: false };
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
  /** @type {HTMLElement | undefined} built once, when the merged file can be played */
  let player;
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
    showMode();
    replace(actions, actionButton(job, phase));
    const files = storedFiles(st);
    if (!player && phase === "Completed" && st.output && describeFile(files[0], 0, 1).state === "download")
      player = playerSection(job, files[0], signal);
    replace(
      body,
      overview(job, finalPhases.has(phase) ? undefined : state.merge),
      player,
      files.length || phase === "Completed" ? outputSection(job, files) : null,
      phase === "Failed" ? failureSection(st) : null,
      episodesSection(job, state.live),
      specSection(job),
    );
  }

  /** How the page keeps current; once the server ended the live view, that it did and why. */
  function showMode() {
    if (state.ended) replace(modeLine, "Live updates ended: ", errorBox(state.ended, { alert: true }));
    else replace(modeLine, modes[state.mode] ?? "");
  }

  function actionButton(job, phase) {
    // Deleted, or no longer this reader's to act on (the live view ended for access).
    if (state.deleted || state.ended) return null;
    if (canRetry(job.status)) return retryButton();
    return finalPhases.has(phase) || job.spec?.cancel ? null : cancelButton();
  }

  function retryButton() {
    const b = h("button", { type: "button" }, "Retry failed episodes");
    b.addEventListener("click", async () => {
      const id = state.job.id;
      if (!confirm(`Retry ${id}? A new job runs its failed episodes; finished ones are reused.`)) return;
      b.disabled = true;
      try {
        const created = await retryJob(id);
        location.hash = `#/jobs/${encodeURIComponent(created.id)}`;
      } catch (e) {
        b.disabled = false;
        actions.append(errorBox(e, { alert: true }));
      }
    });
    return b;
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
      case "progress": {
        if (typeof e.progress === "number") job.status.progress = e.progress;
        const pod = livePod(e);
        if (pod?.kind === "episode") state.live.set(pod.index, pod);
        else if (pod) state.merge = pod;
        break;
      }
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
      showMode();
    },
    // A credential that is gone means signing in again; access lost to this job ends the live view
    // here, with the reason, and the page stays as it was last seen.
    onError: (e) => {
      if (e?.status !== 403) return onAuthError(e);
      state.ended = e;
      draw();
    },
  });
  signal.addEventListener("abort", () => live.stop(), { once: true });
}

function overview(job, merge) {
  const st = job.status ?? {};
  const total = job.spec?.episodes?.length ?? 0;
  const running = !finalPhases.has(st.phase ?? "Pending");
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
    merge
      ? h(
          "div",
          { class: "big-progress merge-progress" },
          h("span", { class: "label" }, "Merge"),
          progressBar(merge.progress, "Merge progress"),
          h("span", { class: "summary" }, merge.phase ?? formatStage(merge.stage)),
        )
      : null,
    h(
      "dl",
      { class: "facts" },
      running && st.activity ? fact("Now", st.activity) : null,
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

/** Every stored file: the merged one, or one per episode (merge.enabled false). */
function outputSection(job, files) {
  const title = files.length > 1 ? "Outputs" : "Output";
  const head = h("h2", { id: "output-title" }, title);
  if (!files.length) return h("section", { "aria-labelledby": "output-title" }, head);
  const chapters = files.length === 1 ? job.status?.output?.chapters : undefined;
  return h(
    "section",
    { class: "output", "aria-labelledby": "output-title" },
    head,
    files.map((file, n) => outputFile(job, file, n, files.length, chapters)),
  );
}

function outputFile(job, file, n, count, chapters) {
  const d = describeFile(file, n, count, job.spec?.episodes);
  const result = h("div", { class: "download-result" });
  let offer;
  if (d.state === "download") {
    const link = h("a", { href: `/api/v1${outputPath(job, n)}` }, `Download ${d.name}`);
    link.addEventListener("click", (ev) => {
      ev.preventDefault();
      void download(outputPath(job, n), result);
    });
    offer = h("p", { class: "download" }, link);
  } else if (d.state === "expired") {
    offer = h(
      "p",
      {},
      `Deleted ${formatTime(file.expiredAt)} by the output retention; run the job again to get it back.`,
    );
  } else offer = h("p", {}, "No download link: the file is on a volume, at the location below.");
  return h(
    "div",
    { class: "output-file", "data-output": n },
    d.title ? h("h3", {}, d.title) : null,
    offer,
    result,
    h(
      "dl",
      { class: "facts" },
      fact("Location", h("code", {}, file.location ?? "")),
      file.sizeBytes !== undefined ? fact("Size", formatBytes(file.sizeBytes)) : null,
      file.durationSecs !== undefined ? fact("Duration", formatDuration(file.durationSecs)) : null,
      chapters !== undefined ? fact("Chapters", String(chapters)) : null,
      file.checksum ? fact("Checksum", h("code", { class: "wrap" }, file.checksum)) : null,
    ),
  );
}

/** Asks the shim for a fresh link and follows it (an attachment: the page stays). */
async function download(path, result) {
  replace(result);
  try {
    const { url } = await outputLink(path);
    const u = new URL(String(url));
    if (u.protocol !== "https:" && u.protocol !== "http:") throw new Error(`not a download link: ${u.protocol}`);
    location.assign(u.href);
  } catch (e) {
    replace(result, errorBox(e, { alert: true }));
  }
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
  for (let i = 0; i < count; i++) rows.push(episodeRow(job, i, asked[i], seen.get(i), live.get(i)));
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
          ["#", "Poster", "Title", "Stage", "Progress", "Quality", "Details"].map((c) => h("th", { scope: "col" }, c)),
        ),
      ),
      h("tbody", {}, rows),
    ),
  );
}

function episodeRow(job, i, asked, st, live) {
  const phase = st?.phase ?? "Pending";
  const running = !finalPhases.has(phase);
  const stage = running && live ? (live.phase ?? formatStage(live.stage)) : phase;
  const progress = running && typeof live?.progress === "number" ? live.progress : (st?.progress ?? 0);
  const title = st?.title ?? asked?.title ?? `Episode ${i + 1}`;
  const details = [
    st?.reusedFrom ? `reused from ${st.reusedFrom}` : "",
    st?.attempts > 1 ? `${st.attempts} attempts` : "",
    st?.node ? `node ${st.node}` : "",
    st?.encoder ? `encoder ${st.encoder}` : "",
    st?.durationSecs !== undefined ? formatDuration(st.durationSecs) : "",
    st?.bytesOutput !== undefined ? formatBytes(st.bytesOutput) : "",
    ...formatTreatment(st),
  ].filter(Boolean);
  return h(
    "tr",
    { "data-episode": i },
    h("td", {}, String(i + 1)),
    posterCell(job, i, st),
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
