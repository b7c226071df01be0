// Error codes in plain words: the meaning comes from the one registry (crds/src/errors.ts, served
// by the dashboard plugin as /errors.json); the API's own error bodies carry it as `hint` too.
import { h } from "./dom.js";

/** @type {Record<string, string>} */
let registry = {};

export async function loadRegistry() {
  try {
    const res = await fetch("/errors.json");
    if (res.ok) registry = await res.json();
  } catch {
    // Codes still show, only without their meaning.
  }
}

/** What a code means and what to do next; "" when the registry does not know it. */
export function meaning(code) {
  return Object.hasOwn(registry, code) ? registry[code] : "";
}

/** Every REEL_ code in a text such as a condition message, in order, without repeats. */
export function codesIn(text) {
  return [...new Set(String(text ?? "").match(/\bREEL_[A-Z0-9_]+\b/g) ?? [])];
}

/**
 * An error as a person reads it: what it means (or the message), the details, the code last.
 * @param {{ code?: string, message?: string, hint?: string }} err
 * @param {{ alert?: boolean }} [opts] role="alert" for errors that answer the reader's own action
 */
export function errorBox(err, opts = {}) {
  const code = err.code ?? "";
  const explained = err.hint || meaning(code);
  const message = err.message ?? "";
  return h(
    "div",
    { class: "error", role: opts.alert ? "alert" : null },
    h("p", { class: "error-meaning" }, explained || message || "Something went wrong."),
    explained && message && message !== explained ? h("p", { class: "error-message" }, message) : null,
    code ? h("p", { class: "error-code" }, h("code", {}, code)) : null,
  );
}
