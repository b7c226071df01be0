// Each episode's poster on the job page: an image whose source is a fresh link from the shim's
// poster route (GET /jobs/:id/episodes/:n/poster, answered as JSON), asked only when its row comes
// into view and kept per episode, so the redraw on every live event reuses it instead of asking
// again. Where there is no poster, or it does not load, the cell says so in words.
import { outputLink } from "./api.js";
import { h, replace } from "./dom.js";
import { webUrl } from "./player.js";

/** The poster route of episode `index` (0-based) of `job`, below /api/v1. */
export function posterPath(job, index) {
  return `/jobs/${encodeURIComponent(job.uid ?? job.id)}/episodes/${index}/poster`;
}

/** Links asked so far on this page, by route path: a promise of an http(s) URL. */
const links = new Map();

/** One link per poster per page; a failed ask is forgotten so a later redraw may try again. */
function posterLink(path) {
  let p = links.get(path);
  if (!p) {
    p = outputLink(path).then(({ url }) => {
      const src = webUrl(url);
      if (!src) throw new Error("the link to the poster is not an http(s) URL");
      return src;
    });
    p.catch(() => links.delete(path));
    links.set(path, p);
  }
  return p;
}

/** Asks once the element is near the viewport (a 500-episode job asks for the posters in view). */
function whenVisible(el, fn) {
  if (typeof IntersectionObserver !== "function") return fn();
  const seen = new IntersectionObserver(
    (entries) => {
      if (!entries.some((e) => e.isIntersecting)) return;
      seen.disconnect();
      fn();
    },
    { rootMargin: "200px" },
  );
  seen.observe(el);
}

/**
 * The poster cell of an episode's row.
 * @param {any} job
 * @param {number} index
 * @param {any} st the episode's status
 */
export function posterCell(job, index, st) {
  const cell = h("td", { class: "poster" });
  const words = (text) => replace(cell, h("span", { class: "poster-none" }, text));
  if (!st?.poster) return words(st?.phase === "Completed" ? "no poster" : "");
  const img = h("img", { alt: `Poster of episode ${index + 1}`, loading: "lazy", decoding: "async", width: 96 });
  img.addEventListener("error", () => words("poster not available"));
  cell.append(img);
  const path = posterPath(job, index);
  // Drawn again after a live event: the link is known, so no observer waits for the row.
  (links.has(path) ? (fn) => fn() : (fn) => whenVisible(cell, fn))(() =>
    posterLink(path).then(
      (src) => {
        img.src = src;
      },
      (e) => words(`poster not available${e?.code ? ` (${e.code})` : ""}`),
    ),
  );
  return cell;
}
