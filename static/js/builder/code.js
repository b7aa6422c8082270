// The generated Keras and PyTorch modules, from the API's codegen endpoint, highlighted by
// highlight.js (vendored), with copy and download.

import { postJSON } from "../pages/api.js";
import { debounce } from "./debounce.js";

const FRAMEWORKS = ["keras", "torch"];
const FILENAMES = { keras: "model_keras.py", torch: "model_torch.py" };

export class CodePanel {
  constructor() {
    this.sources = { keras: "", torch: "" };
    this.active = "keras";
    this.sideBySide = false;
    this.seq = 0;
    const loadSoon = debounce((spec) => this.load(spec), 150);
    // Say at once that new code is coming (the page is not idle while the debounce waits).
    this.refresh = (spec) => {
      this.status("Generating…");
      loadSoon(spec);
    };
    for (const framework of FRAMEWORKS) {
      const tab = document.getElementById(`tab-${framework}`);
      tab.addEventListener("click", () => this.show(framework));
      tab.addEventListener("keydown", (event) => {
        if (event.key === "ArrowRight" || event.key === "ArrowLeft") {
          const other = framework === "keras" ? "torch" : "keras";
          this.show(other);
          document.getElementById(`tab-${other}`).focus();
          event.preventDefault();
        }
      });
    }
    document.getElementById("code-side-by-side").addEventListener("click", () => this.toggleSideBySide());
    document.getElementById("copy-code").addEventListener("click", () => this.copy());
    document.getElementById("download-code").addEventListener("click", () => this.download());
  }

  show(framework) {
    this.active = framework;
    for (const name of FRAMEWORKS) {
      const selected = name === framework;
      const tab = document.getElementById(`tab-${name}`);
      tab.setAttribute("aria-selected", selected ? "true" : "false");
      tab.tabIndex = selected ? 0 : -1;
      // Side by side shows both modules; the selected tab still says which one Copy and Download take.
      document.getElementById(`code-${name}`).hidden = !selected && !this.sideBySide;
    }
  }

  toggleSideBySide() {
    this.sideBySide = !this.sideBySide;
    document.getElementById("code-panel").classList.toggle("side-by-side", this.sideBySide);
    document.getElementById("code-side-by-side").setAttribute("aria-pressed", String(this.sideBySide));
    this.show(this.active);
  }

  status(text) {
    document.getElementById("code-status").textContent = text;
  }

  stale(message) {
    document.getElementById("code-panel").classList.add("stale");
    this.status(message);
  }

  async load(spec) {
    const seq = ++this.seq;
    this.status("Generating…");
    let results;
    try {
      results = await Promise.all(FRAMEWORKS.map((framework) => postJSON("/api/architectures/codegen/", { spec, framework })));
    } catch (err) {
      if (seq === this.seq) this.stale(`The code could not be generated: ${err.message}`);
      return;
    }
    if (seq !== this.seq) return;
    FRAMEWORKS.forEach((framework, i) => {
      this.sources[framework] = results[i].source;
      const block = document.querySelector(`#code-${framework} code`);
      block.textContent = results[i].source;
      block.removeAttribute("data-highlighted");
      if (typeof hljs !== "undefined") hljs.highlightElement(block);
    });
    document.getElementById("code-panel").classList.remove("stale");
    this.status("Up to date");
  }

  async copy() {
    try {
      await navigator.clipboard.writeText(this.sources[this.active]);
      this.status("Copied to the clipboard");
    } catch (err) {
      this.status("The browser refused the clipboard; select the code and copy it instead.");
    }
  }

  download() {
    const blob = new Blob([this.sources[this.active]], { type: "text/x-python" });
    const link = document.createElement("a");
    link.href = URL.createObjectURL(blob);
    link.download = FILENAMES[this.active];
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 1000);
  }
}
