/* The signature box: draw with mouse, touch or pen (Pointer Events); the form posts a PNG data
   URL in "drawing". Typed mode shows the name as it will be rendered. No third-party code. */
(function () {
  "use strict";
  function setUp(form) {
    var canvas = form.querySelector("[data-canvas]");
    var area = form.querySelector("[data-draw-area]");
    var field = form.querySelector("[data-drawing]");
    var nameInput = form.querySelector("#id_name");
    var preview = form.querySelector("[data-typed-preview]");
    var ctx = canvas.getContext("2d");
    var drawing = false, inked = false, last = null;

    ctx.lineWidth = 2.5; ctx.lineCap = "round"; ctx.lineJoin = "round"; ctx.strokeStyle = "#14204f";

    function point(event) {
      var box = canvas.getBoundingClientRect();
      return {
        x: (event.clientX - box.left) * (canvas.width / box.width),
        y: (event.clientY - box.top) * (canvas.height / box.height)
      };
    }
    function down(event) {
      drawing = true; last = point(event);
      if (canvas.setPointerCapture && event.pointerId !== undefined) canvas.setPointerCapture(event.pointerId);
      event.preventDefault();
    }
    function move(event) {
      if (!drawing) return;
      var p = point(event);
      ctx.beginPath(); ctx.moveTo(last.x, last.y); ctx.lineTo(p.x, p.y); ctx.stroke();
      last = p; inked = true; event.preventDefault();
    }
    function up() {
      if (!drawing) return;
      drawing = false;
      if (inked) field.value = canvas.toDataURL("image/png");
    }
    canvas.addEventListener("pointerdown", down);
    canvas.addEventListener("pointermove", move);
    canvas.addEventListener("pointerup", up);
    canvas.addEventListener("pointerleave", up);
    canvas.addEventListener("pointercancel", up);

    form.querySelector("[data-clear]").addEventListener("click", function () {
      ctx.clearRect(0, 0, canvas.width, canvas.height); inked = false; field.value = "";
    });
    function mode() {
      var checked = form.querySelector("[data-kind]:checked");
      var drawn = checked && checked.value === "drawn";
      area.hidden = !drawn;
      if (preview) preview.hidden = drawn;
    }
    form.querySelectorAll("[data-kind]").forEach(function (radio) { radio.addEventListener("change", mode); });
    if (nameInput && preview) {
      nameInput.addEventListener("input", function () { preview.textContent = nameInput.value; });
    }
    form.addEventListener("submit", function (event) {
      var checked = form.querySelector("[data-kind]:checked");
      if (checked && checked.value === "drawn" && !inked) {
        event.preventDefault();
        alert("Draw your signature in the box first.");
      }
    });
    mode();
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-signature-form]").forEach(setUp);
  });
})();
