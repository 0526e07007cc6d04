// Counter desk behaviour (no inline scripts: the CSP allows only 'self').
(function () {
  "use strict";
  var box = document.getElementById("scan");
  if (box) {
    // USB scanners type into whatever has focus and press Enter: keep the focus on the
    // scan box unless the cashier is working in another field.
    var refocus = function () {
      var a = document.activeElement;
      if (!a || a === document.body || a === document.documentElement) { box.focus(); }
    };
    box.addEventListener("blur", function () { setTimeout(refocus, 150); });
    document.addEventListener("click", function () { setTimeout(refocus, 150); });
    if (!document.getElementById("collect-form")) { box.focus(); }
  }
  var photo = document.getElementById("photo");
  if (photo) {
    photo.addEventListener("change", function () {
      if (photo.files.length) { document.getElementById("photo-form").submit(); }
    });
  }
  // One click, one submit: the server is idempotent anyway (the form's key).
  ["collect-form", "cancel-form", "close-form"].forEach(function (id) {
    var form = document.getElementById(id);
    if (!form) { return; }
    form.addEventListener("submit", function () {
      var buttons = form.querySelectorAll("button[type=submit]");
      setTimeout(function () { buttons.forEach(function (b) { b.disabled = true; }); }, 0);
    });
  });
  var print = document.getElementById("print");
  if (print) { print.addEventListener("click", function () { window.print(); }); }
})();
