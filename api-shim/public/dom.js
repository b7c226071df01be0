// Building DOM without HTML strings: every piece of data becomes a text node or an attribute set
// through the DOM, so a job title such as `<img src=x onerror=alert(1)>` shows as those characters.

/**
 * h("a", { href: "#/" , class: "x" }, "text", child) — attributes are set with setAttribute (`on*`
 * are refused), boolean `true` sets an empty attribute, false/null/undefined leave it out; strings
 * and numbers among the children become text nodes, null/undefined/false are skipped.
 * @param {string} tag
 * @param {Record<string, unknown>} [attrs]
 * @param {...(Node | string | number | null | undefined | false | Array<Node | string>)} children
 * @returns {HTMLElement}
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (/^on/i.test(name)) throw new Error(`h(): event handler attribute ${name} refused; use addEventListener`);
    el.setAttribute(name, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

/** @param {Node} parent @param {unknown[]} children */
function append(parent, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) append(parent, c);
    else parent.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** Replaces an element's children. */
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/**
 * A link only for http(s) URLs: anything else (javascript:, data:) renders as plain text, so a
 * status or spec field can never become a script URL.
 * @param {string | undefined} url
 * @param {string} [label]
 */
export function safeLink(url, label) {
  let parsed;
  try {
    parsed = new URL(String(url));
  } catch {
    return document.createTextNode(label ?? String(url ?? ""));
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") return document.createTextNode(label ?? String(url));
  return h("a", { href: parsed.href, rel: "noopener noreferrer", target: "_blank" }, label ?? parsed.href);
}

/** A progress bar with its number as text beside it (the number is what screen readers and tests read). */
export function progressBar(percent, label) {
  const p = Math.max(0, Math.min(100, Math.round(Number(percent) || 0)));
  return h(
    "span",
    { class: "progress" },
    h("progress", { max: 100, value: p, "aria-label": label }),
    h("span", { class: "progress-text" }, `${p}%`),
  );
}
