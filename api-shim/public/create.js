// The create form -> POST /api/v1/jobs. The API validates (one schema, crds/src/schema.ts); its
// `details` come back next to the fields they name, and the first such field gets the focus.
import { ApiError, createJob } from "./api.js";
import { h, replace } from "./dom.js";
import { errorBox } from "./errors.js";
import { buildCreateBody, placeDetail } from "./spec.js";

const select = (id, options, value) =>
  h(
    "select",
    { id, name: id },
    options.map(([v, label]) => h("option", { value: v, selected: v === value }, label)),
  );

/** A labelled field with its help text and the slot its error goes to (announced with it). */
function field(id, label, control, help) {
  control.setAttribute("aria-describedby", [help ? `${id}-help` : "", `${id}-error`].filter(Boolean).join(" "));
  return h(
    "div",
    { class: "field", id: `${id}-field` },
    h("label", { for: id }, label),
    control,
    help ? h("p", { class: "help", id: `${id}-help` }, help) : null,
    h("p", { class: "field-error", id: `${id}-error` }),
  );
}

function checkbox(id, label, checked, help) {
  const input = h("input", { id, name: id, type: "checkbox", checked });
  input.setAttribute("aria-describedby", [help ? `${id}-help` : "", `${id}-error`].filter(Boolean).join(" "));
  return h(
    "div",
    { class: "field check", id: `${id}-field` },
    input,
    h("label", { for: id }, label),
    help ? h("p", { class: "help", id: `${id}-help` }, help) : null,
    h("p", { class: "field-error", id: `${id}-error` }),
  );
}

/**
 * @param {HTMLElement} main
 * @param {(job: object) => void} onCreated
 */
export function renderCreate(main, onCreated) {
  const text = (id, attrs = {}) => h("input", { id, name: id, type: "text", autocomplete: "off", ...attrs });
  const episodes = h("textarea", {
    id: "episodes",
    name: "episodes",
    rows: 6,
    required: true,
    spellcheck: "false",
    placeholder: "https://example.com/ep1.mp4 | Episode 1\nhttps://example.com/ep2.mp4 | Episode 2",
  });
  const formError = h("div", { id: "form-error" });
  const submit = h("button", { type: "submit" }, "Create job");

  const form = h(
    "form",
    { class: "card", novalidate: true, "aria-labelledby": "create-title" },
    h("h1", { id: "create-title" }, "New job"),
    formError,
    field("name", "Name (optional)", text("name"), "Lowercase letters, digits and '-'; one is made up when empty."),
    field("episodes", "Episodes", episodes, "One per line: URL | title. The title names the chapter."),
    h(
      "fieldset",
      {},
      h("legend", {}, "Encoding"),
      h(
        "div",
        { class: "row" },
        field(
          "quality",
          "Quality",
          select(
            "quality",
            ["480p", "720p", "1080p", "2160p"].map((q) => [q, q]),
            "720p",
          ),
        ),
        field(
          "codec",
          "Codec",
          select(
            "codec",
            [
              ["h264", "H.264"],
              ["hevc", "HEVC (H.265)"],
              ["av1", "AV1"],
            ],
            "h264",
          ),
        ),
        field(
          "preset",
          "Preset",
          select(
            "preset",
            [
              ["fast", "Fast"],
              ["balanced", "Balanced"],
              ["small", "Small file"],
            ],
            "balanced",
          ),
        ),
        field(
          "level",
          "Level",
          h("input", { id: "level", name: "level", type: "number", min: 1, max: 9, step: 1, value: 5 }),
          "1 = best quality, 9 = smallest file.",
        ),
      ),
      h(
        "div",
        { class: "row" },
        field(
          "gpu-policy",
          "GPU",
          select(
            "gpu-policy",
            [
              ["auto", "Auto: GPU when one works, else CPU"],
              ["off", "Off: CPU only"],
              ["require", "Require: fail without a GPU"],
            ],
            "auto",
          ),
        ),
        field(
          "gpu-vendor",
          "GPU vendor",
          select(
            "gpu-vendor",
            [
              ["", "Any"],
              ["nvidia", "NVIDIA"],
              ["amd", "AMD"],
              ["intel", "Intel"],
              ["apple", "Apple"],
            ],
            "",
          ),
        ),
      ),
    ),
    h(
      "fieldset",
      {},
      h("legend", {}, "Merge"),
      checkbox("merge", "Merge the episodes into one file", true),
      checkbox("chapters", "A chapter per episode", true),
      checkbox("allow-partial", "Merge what succeeded when some episodes fail", false),
    ),
    h(
      "fieldset",
      {},
      h("legend", {}, "Output (S3)"),
      h(
        "div",
        { class: "row" },
        field("bucket", "Bucket", text("bucket", { required: true })),
        field("prefix", "Prefix", text("prefix"), "Folder in the bucket, e.g. shows/season-1/"),
      ),
      h(
        "div",
        { class: "row" },
        field(
          "credentials-secret",
          "Credentials secret",
          text("credentials-secret", { required: true }),
          "Kubernetes Secret in your namespace with accessKeyId and secretAccessKey.",
        ),
        field(
          "endpoint",
          "Endpoint (optional)",
          text("endpoint", { type: "url" }),
          "For S3-compatible storage (MinIO, SeaweedFS); AWS when empty.",
        ),
      ),
    ),
    field("tags", "Tags", text("tags"), "Separated by commas or spaces."),
    submit,
  );

  const value = (id) => /** @type {HTMLInputElement} */ (form.querySelector(`#${id}`)).value;
  const checked = (id) => /** @type {HTMLInputElement} */ (form.querySelector(`#${id}`)).checked;

  function clearErrors() {
    replace(formError);
    for (const el of form.querySelectorAll(".field-error")) replace(el);
    for (const el of form.querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
  }

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    clearErrors();
    const { body, lines } = buildCreateBody({
      name: value("name"),
      episodes: value("episodes"),
      quality: value("quality"),
      codec: value("codec"),
      preset: value("preset"),
      level: value("level"),
      gpuPolicy: value("gpu-policy"),
      gpuVendor: value("gpu-vendor"),
      merge: checked("merge"),
      chapters: checked("chapters"),
      allowPartial: checked("allow-partial"),
      bucket: value("bucket"),
      prefix: value("prefix"),
      endpoint: value("endpoint"),
      credentialsSecret: value("credentials-secret"),
      tags: value("tags"),
    });
    submit.disabled = true;
    try {
      onCreated(await createJob(body));
    } catch (e) {
      showErrors(e instanceof ApiError ? e : new ApiError(0, { message: String(e) }), lines);
    } finally {
      submit.disabled = false;
    }
  });

  function showErrors(err, lines) {
    const general = [];
    let first;
    for (const d of err.details) {
      const { field: id, message } = placeDetail(d, lines);
      const slot = id && form.querySelector(`#${id}-error`);
      if (!slot) {
        general.push(message);
        continue;
      }
      slot.append(h("span", { class: "field-error-line" }, message));
      const control = form.querySelector(`#${id}`);
      control?.setAttribute("aria-invalid", "true");
      first ??= control;
    }
    replace(
      formError,
      errorBox(
        {
          code: err.code,
          message: err.details.length ? "Some fields need fixing: see the messages below them." : err.message,
          hint: err.hint,
        },
        { alert: true },
      ),
      general.length
        ? h(
            "ul",
            { class: "error-list" },
            general.map((m) => h("li", {}, m)),
          )
        : null,
    );
    (first ?? formError).focus?.();
    if (!first) formError.scrollIntoView({ block: "nearest" });
  }

  replace(main, form);
  form.querySelector("#episodes")?.focus();
}
