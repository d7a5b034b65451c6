// Criteria-set pages: print button, unsaved-changes marker on editor sections. No inline scripts (CSP).
(function () {
  "use strict";
  document.addEventListener("click", function (evt) {
    var btn = evt.target.closest ? evt.target.closest("[data-print]") : null;
    if (btn) { evt.preventDefault(); window.print(); }
  });
  function markDirty(evt) {
    var section = evt.target.closest ? evt.target.closest(".editor-section") : null;
    if (section) section.classList.add("dirty");
  }
  document.addEventListener("input", markDirty);
  document.addEventListener("change", markDirty);
  window.addEventListener("beforeunload", function (evt) {
    if (document.querySelector(".editor-section.dirty")) { evt.preventDefault(); evt.returnValue = ""; }
  });
  document.addEventListener("submit", function (evt) {
    // A plain (non-htmx) submit leaves the page on purpose: don't warn about that section.
    var section = evt.target.closest ? evt.target.closest(".editor-section") : null;
    if (section) section.classList.remove("dirty");
  });
  document.addEventListener("htmx:afterSwap", function (evt) {
    var el = evt.detail && evt.detail.elt;
    if (el && el.classList && el.classList.contains("editor-section")) {
      var err = el.querySelector(".error-box, [aria-invalid='true']");
      if (err) err.scrollIntoView({ block: "center" });
    }
  });
})();
