/* Live first-response clocks: every element with data-sla-due counts down (then up, overdue).
   The server renders the same text, so without JavaScript the page is right as of loading;
   htmx replaces the rows every few seconds and this keeps ticking over whatever is there. */
(function () {
  "use strict";

  function span(ms) {
    var total = Math.floor(Math.abs(ms) / 1000);
    var days = Math.floor(total / 86400);
    var hours = Math.floor((total % 86400) / 3600);
    var minutes = Math.floor((total % 3600) / 60);
    var seconds = total % 60;
    if (days) return days + " d " + hours + " h";
    if (hours) return hours + " h " + minutes + " min";
    return minutes + ":" + (seconds < 10 ? "0" : "") + seconds;
  }

  function tick() {
    var now = Date.now();
    var clocks = document.querySelectorAll("[data-sla-due]");
    for (var i = 0; i < clocks.length; i++) {
      var clock = clocks[i];
      var due = Date.parse(clock.getAttribute("data-sla-due"));
      if (isNaN(due)) continue;
      var left = due - now;
      var label = clock.querySelector(".sla-label") || clock;
      label.textContent = left > 0 ? "due in " + span(left) : span(left) + " overdue";
      clock.classList.toggle("sla-waiting", left > 0);
      clock.classList.toggle("sla-breached", left <= 0);
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    tick();
    window.setInterval(tick, 1000);
  });
})();
