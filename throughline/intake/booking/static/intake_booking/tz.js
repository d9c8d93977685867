// Booking page: show slots in the visitor's own time zone, and switch zones from the select.
(function () {
  var script = document.currentScript;
  var given = script && script.getAttribute("data-tz-given") === "1";
  if (!given && window.Intl && window.location.search.indexOf("tz=") === -1) {
    var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (zone) {
      var url = new URL(window.location.href);
      url.searchParams.set("tz", zone);
      window.location.replace(url.toString());
      return;
    }
  }
  document.addEventListener("DOMContentLoaded", function () {
    var select = document.querySelector("select[data-auto-submit]");
    if (select) {
      select.addEventListener("change", function () { select.form.submit(); });
    }
  });
})();
