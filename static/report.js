// Report pages: the 打印 button (no inline scripts: CSP script-src 'self').
(function () {
  "use strict";
  document.addEventListener("click", function (evt) {
    var target = evt.target;
    if (target && target.closest && target.closest("[data-print]")) {
      evt.preventDefault();
      window.print();
    }
  });
})();
