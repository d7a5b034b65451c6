// Small glue for htmx: CSRF header on every request, toasts that fade. No inline scripts (CSP).
(function () {
  "use strict";
  function csrf() {
    var m = document.querySelector('meta[name="csrf-token"]');
    return m ? m.getAttribute("content") : "";
  }
  document.addEventListener("htmx:configRequest", function (evt) {
    evt.detail.headers["X-CSRF-Token"] = csrf();
  });
  document.addEventListener("htmx:afterSwap", function () {
    document.querySelectorAll("#toasts .toast:not([data-timed])").forEach(function (t) {
      t.setAttribute("data-timed", "1");
      setTimeout(function () { t.remove(); }, 6000);
    });
  });
  document.addEventListener("htmx:sendError", function () {
    var box = document.getElementById("toasts");
    if (!box) return;
    var t = document.createElement("div");
    t.className = "toast error";
    t.textContent = "网络连接失败，请检查网络后重试";
    box.appendChild(t);
    setTimeout(function () { t.remove(); }, 6000);
  });
  // Elements with data-confirm ask before submitting (htmx's hx-confirm would need eval-free config).
  document.addEventListener("submit", function (evt) {
    var f = evt.target;
    if (f && f.dataset && f.dataset.confirm && !window.confirm(f.dataset.confirm)) evt.preventDefault();
  }, true);
})();
