// The job page's player for the merged file: an HTML5 video whose source is a fresh link from the
// download route, a chapter list that seeks it, and a seek bar that previews the picture at the
// pointer from the seek-thumbnail index (the shim's thumbnails.vtt route: sheet links and tiles),
// and a <track> per subtitle language (the shim's subtitles/:lang.vtt route) in the native menu.
// Built once per page and kept across redraws, so playback survives live updates.
import { apiText, outputLink } from "./api.js";
import { h, replace } from "./dom.js";
import { errorBox } from "./errors.js";
import { formatDuration } from "./format.js";
import { chapterList, cueAt, outputPath, parseThumbnailVtt, subtitleTracks, thumbnailsPath } from "./outputs.js";

/** An http(s) URL as it came, or undefined: nothing else becomes a video source or an image. */
export function webUrl(url) {
  try {
    const u = new URL(String(url));
    return u.protocol === "http:" || u.protocol === "https:" ? u.href : undefined;
  } catch {
    return undefined;
  }
}

/**
 * @param {any} job
 * @param {any} file the merged file (stored file 0)
 * @param {AbortSignal} signal
 */
export function playerSection(job, file, signal) {
  const video = h("video", { id: "player-video", controls: true, preload: "metadata" });
  const note = h("div", { class: "player-note", role: "status" }, "Getting a link to the video…");
  const chapters = chapterList(job);
  // Before the metadata is in, the status's duration stands in for the video's.
  const duration = () =>
    Number.isFinite(video.duration) && video.duration > 0 ? video.duration : Number(file.durationSecs) || 0;
  const bar = seekBar(video, duration);
  const list = chapterButtons(video, chapters);

  outputLink(outputPath(job, 0)).then(
    ({ url }) => {
      const src = webUrl(url);
      if (!src) throw new Error("the link to the video is not an http(s) URL");
      video.src = src;
      replace(note);
    },
    (e) => {
      if (!signal.aborted) replace(note, errorBox(e));
    },
  );
  if (file.thumbnails) {
    apiText(thumbnailsPath(job, 0), signal).then(
      (text) => bar.setCues(parseThumbnailVtt(text)),
      (e) => {
        if (!signal.aborted) note.append(errorBox(e));
      },
    );
  }
  addSubtitles(video, subtitleTracks(job, file, 0), note, signal);
  return h(
    "section",
    { class: "player", "aria-labelledby": "player-title" },
    h("h2", { id: "player-title" }, "Watch"),
    video,
    bar.el,
    note,
    chapters.length ? h("h3", {}, "Chapters") : null,
    list,
  );
}

/**
 * A <track> per language, in order, once every file is fetched. A <track src> cannot send the
 * user's bearer token, so each file is fetched with it and the track gets a blob: URL (revoked when
 * the page goes). The job's subtitles.default language is shown at once; the others wait in the
 * video's own captions menu.
 */
function addSubtitles(video, tracks, note, signal) {
  if (!tracks.length) return;
  const urls = [];
  signal.addEventListener("abort", () => {
    for (const u of urls) URL.revokeObjectURL(u);
  });
  Promise.allSettled(tracks.map((t) => apiText(t.path, signal))).then((results) => {
    if (signal.aborted) return;
    results.forEach((r, i) => {
      const t = tracks[i];
      if (r.status === "rejected") {
        note.append(errorBox(r.reason));
        return;
      }
      const src = URL.createObjectURL(new Blob([r.value], { type: "text/vtt" }));
      urls.push(src);
      const el = h("track", { kind: "subtitles", srclang: t.language, label: t.label, src, default: t.isDefault });
      // The default attribute alone shows it: a mode set by script here makes Chromium's own
      // automatic selection show the next track too (both were "showing" in the Chromium test).
      video.append(el);
    });
  });
}

/** The chapter list: a button per chapter that seeks the video to its start; the playing one marked. */
function chapterButtons(video, chapters) {
  if (!chapters.length) return null;
  const items = chapters.map((c, i) => {
    // A chapter whose start the status cannot give is listed, not seekable.
    const known = c.start !== undefined;
    const b = h(
      "button",
      { type: "button", class: "chapter", "data-start": c.start, disabled: !known },
      known ? h("span", { class: "chapter-time" }, formatDuration(c.start)) : null,
      known ? " " : null,
      h("span", { class: "chapter-title" }, `${i + 1}. ${c.title}`),
    );
    b.addEventListener("click", () => {
      if (known) video.currentTime = c.start;
    });
    return h("li", {}, b);
  });
  video.addEventListener("timeupdate", () => {
    const t = video.currentTime;
    chapters.forEach((c, i) => {
      const next = chapters[i + 1]?.start;
      const playing = c.start !== undefined && t >= c.start && (i + 1 >= chapters.length || t < (next ?? 0));
      items[i]?.querySelector("button")?.toggleAttribute("aria-current", playing);
    });
  });
  return h("ol", { class: "chapters" }, items);
}

/**
 * A seek bar under the video: hover or drag shows the thumbnail tile and the time at the pointer,
 * a click or a drag seeks, arrow keys step 5 s.
 */
function seekBar(video, duration) {
  const fill = h("div", { class: "seek-fill" });
  const tile = h("div", { class: "seek-tile" });
  const time = h("span", { class: "seek-time" });
  const preview = h("div", { class: "seek-preview", hidden: true }, tile, time);
  const el = h(
    "div",
    { class: "seekbar", id: "seekbar", role: "slider", tabindex: 0, "aria-label": "Seek", "aria-valuemin": 0 },
    fill,
    preview,
  );
  /** @type {{ start: number, end: number, url: string, x: number, y: number, w: number, h: number }[]} */
  let cues = [];
  let dragging = false;
  const at = (ev) => {
    const r = el.getBoundingClientRect();
    const frac = Math.max(0, Math.min(1, (ev.clientX - r.left) / (r.width || 1)));
    return { frac, secs: frac * duration(), px: frac * r.width };
  };
  const show = (ev) => {
    const p = at(ev);
    const cue = cueAt(cues, p.secs);
    tile.hidden = !cue;
    if (cue) {
      tile.style.width = `${cue.w}px`;
      tile.style.height = `${cue.h}px`;
      // JSON's quoting is a valid CSS string: the URL stays one token whatever it holds.
      tile.style.backgroundImage = `url(${JSON.stringify(cue.url)})`;
      tile.style.backgroundPosition = `-${cue.x}px -${cue.y}px`;
    }
    replace(time, formatDuration(p.secs));
    const half = (cue?.w ?? 60) / 2;
    preview.style.left = `${Math.max(0, Math.min(el.clientWidth - 2 * half, p.px - half))}px`;
    preview.hidden = false;
    return p;
  };
  const seek = (ev) => {
    const p = show(ev);
    if (duration() > 0) video.currentTime = p.secs;
  };
  el.addEventListener("pointermove", (ev) => (dragging ? seek(ev) : show(ev)));
  el.addEventListener("pointerdown", (ev) => {
    dragging = true;
    el.setPointerCapture?.(ev.pointerId);
    seek(ev);
  });
  el.addEventListener("pointerup", () => {
    dragging = false;
  });
  el.addEventListener("pointerleave", () => {
    if (!dragging) preview.hidden = true;
  });
  el.addEventListener("keydown", (ev) => {
    const step = ev.key === "ArrowRight" ? 5 : ev.key === "ArrowLeft" ? -5 : 0;
    if (!step) return;
    ev.preventDefault();
    video.currentTime = Math.max(0, Math.min(duration(), video.currentTime + step));
  });
  video.addEventListener("timeupdate", () => {
    const d = duration();
    fill.style.width = `${d > 0 ? Math.min(100, (video.currentTime / d) * 100) : 0}%`;
    el.setAttribute("aria-valuemax", String(Math.round(d)));
    el.setAttribute("aria-valuenow", String(Math.round(video.currentTime)));
  });
  return {
    el,
    setCues(c) {
      cues = c;
    },
  };
}
