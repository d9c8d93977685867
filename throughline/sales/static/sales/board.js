/* Drag-and-drop for the deal board. The keyboard path is the card's own Stage menu and Move
   button (a plain form, htmx-enhanced); a drop just picks the stage in that menu and submits
   the same form, so both paths run the same server code. */
(function () {
  "use strict";
  var dragged = null;

  function column(el) { return el && el.closest ? el.closest(".board-column") : null; }

  document.addEventListener("dragstart", function (event) {
    var card = event.target.closest && event.target.closest(".deal-card[draggable=true]");
    if (!card) return;
    dragged = card;
    card.classList.add("is-dragging");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", card.dataset.deal);
  });

  document.addEventListener("dragend", function () {
    if (dragged) dragged.classList.remove("is-dragging");
    dragged = null;
    document.querySelectorAll(".board-column.is-target").forEach(function (c) {
      c.classList.remove("is-target");
    });
  });

  document.addEventListener("dragover", function (event) {
    var target = column(event.target);
    if (!dragged || !target) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "move";
    target.classList.add("is-target");
  });

  document.addEventListener("dragleave", function (event) {
    var target = column(event.target);
    if (target && !target.contains(event.relatedTarget)) target.classList.remove("is-target");
  });

  document.addEventListener("drop", function (event) {
    var target = column(event.target);
    if (!dragged || !target) return;
    event.preventDefault();
    target.classList.remove("is-target");
    if (column(dragged) === target) return;
    var form = dragged.querySelector("form.deal-move");
    var select = form && form.querySelector("select[name=stage]");
    if (!select) return;
    select.value = target.dataset.stage;
    if (form.requestSubmit) form.requestSubmit(); else form.submit();
  });
})();
