// Sign in by pasting an API key: checked with GET /api/v1/me before it is kept.
import { ApiError, me, session } from "./api.js";
import { h, replace } from "./dom.js";
import { errorBox } from "./errors.js";

/**
 * @param {HTMLElement} main
 * @param {(who: object) => void} onSignedIn
 * @param {string} [notice] why the reader is asked to sign in (an expired or revoked key)
 */
export function renderSignIn(main, onSignedIn, notice) {
  const input = h("input", {
    id: "api-key",
    name: "api-key",
    type: "password",
    autocomplete: "off",
    spellcheck: "false",
    required: true,
    "aria-describedby": "api-key-help",
  });
  const result = h("div", { id: "sign-in-result" });
  const button = h("button", { type: "submit" }, "Sign in");
  const form = h(
    "form",
    { class: "card narrow", "aria-labelledby": "sign-in-title" },
    h("h1", { id: "sign-in-title" }, "Sign in to Reel"),
    notice ? h("p", { class: "notice", role: "status" }, notice) : null,
    h("label", { for: "api-key" }, "API key"),
    input,
    h(
      "p",
      { id: "api-key-help", class: "help" },
      "Paste a key that starts with reel_. It is kept in this browser tab only and forgotten when the tab closes.",
    ),
    button,
    result,
  );
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const key = input.value.trim();
    if (!key) {
      replace(result, errorBox({ message: "Paste your API key first." }, { alert: true }));
      input.focus();
      return;
    }
    button.disabled = true;
    replace(result, h("p", { role: "status" }, "Checking the key…"));
    try {
      const who = await me(key);
      session.token = key;
      onSignedIn(who);
    } catch (e) {
      const err = e instanceof ApiError ? e : new ApiError(0, { message: String(e) });
      replace(result, errorBox(err, { alert: true }));
      input.focus();
    } finally {
      button.disabled = false;
    }
  });
  replace(main, form);
  input.focus();
}
