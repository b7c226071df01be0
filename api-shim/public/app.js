// The dashboard's entry: who is signed in, and which page the address asks for
// (#/ the job list, #/new the create form, #/jobs/ID one job, #/uploads uploads). No build step:
// plain ES modules.
import { ApiError, me, session } from "./api.js";
import { h, replace } from "./dom.js";
import { errorBox, loadRegistry } from "./errors.js";
import { renderCreate } from "./create.js";
import { renderJob } from "./job.js";
import { renderJobs } from "./jobs.js";
import { renderSignIn } from "./signin.js";
import { renderUploads } from "./upload.js";

const main = /** @type {HTMLElement} */ (document.getElementById("main"));
const nav = /** @type {HTMLElement} */ (document.getElementById("nav"));
const whoBox = /** @type {HTMLElement} */ (document.getElementById("who"));
const whoText = /** @type {HTMLElement} */ (document.getElementById("who-text"));

let who;
/** Aborted when the page changes: stops the previous page's requests and live updates. */
let leave = new AbortController();

function showWho() {
  nav.hidden = !who;
  whoBox.hidden = !who;
  if (who) {
    replace(
      whoText,
      "Signed in as ",
      h("strong", {}, who.name ?? who.id ?? ""),
      ` (${who.role ?? "unknown role"}) · tenant `,
      h("strong", {}, who.tenant ?? ""),
      who.namespace && who.namespace !== who.tenant ? ` (namespace ${who.namespace})` : "",
    );
  }
}

function signOut(notice) {
  session.token = "";
  who = undefined;
  showWho();
  leave.abort();
  renderSignIn(main, signedIn, notice);
}

function signedIn(user) {
  who = user;
  showWho();
  route();
}

/** A 401 anywhere means the key was revoked or mistyped: back to signing in, saying why. */
function onAuthError(e) {
  signOut(e instanceof ApiError && e.hint ? e.hint : "Your key is no longer accepted. Sign in again.");
}

function route() {
  leave.abort();
  leave = new AbortController();
  if (!who) return;
  const hash = location.hash.replace(/^#/, "") || "/";
  const [path, qs = ""] = hash.split("?");
  const jobMatch = /^\/jobs\/([^/]+)$/.exec(path ?? "");
  for (const a of nav.querySelectorAll("a")) {
    const current = a.getAttribute("href") === `#${path}` || (path === "/" && a.getAttribute("href") === "#/");
    if (current) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  main.focus({ preventScroll: true }); // then a page may move the focus to its first field
  if (path === "/new") {
    document.title = "New job · Reel";
    renderCreate(main, (job) => {
      location.hash = `#/jobs/${encodeURIComponent(job.id)}`;
    });
  } else if (path === "/uploads") {
    document.title = "Uploads · Reel";
    renderUploads(main, leave.signal, onAuthError);
  } else if (jobMatch) {
    const id = decodeURIComponent(jobMatch[1] ?? "");
    document.title = `${id} · Reel`;
    renderJob(main, id, leave.signal, onAuthError);
  } else {
    document.title = "Jobs · Reel";
    renderJobs(main, new URLSearchParams(qs), leave.signal, onAuthError);
  }
}

async function start() {
  document.getElementById("sign-out")?.addEventListener("click", () => signOut());
  window.addEventListener("hashchange", route);
  await loadRegistry();
  if (!session.token) return renderSignIn(main, signedIn);
  try {
    signedIn(await me());
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) return signOut(e.hint || "Your key is no longer accepted.");
    replace(main, errorBox(e, { alert: true }));
  }
}

start();
