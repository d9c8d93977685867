/* Throughline staff UI: small progressive enhancements. Every page works without this file. */
(function () {
  "use strict";
  var root = document.documentElement;
  root.classList.remove("no-js");
  root.classList.add("js");

  function onReady(fn) {
    if (document.readyState !== "loading") fn();
    else document.addEventListener("DOMContentLoaded", fn);
  }

  // Collapsible navigation on narrow screens.
  function setupNav() {
    var toggle = document.querySelector(".nav-toggle");
    var nav = document.getElementById("sidebar");
    if (!toggle || !nav) return;
    function setOpen(open) {
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
      nav.classList.toggle("is-open", open);
    }
    toggle.addEventListener("click", function () {
      var open = toggle.getAttribute("aria-expanded") !== "true";
      setOpen(open);
      if (open) {
        var first = nav.querySelector("a");
        if (first) first.focus();
      }
    });
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && nav.classList.contains("is-open")) {
        setOpen(false);
        toggle.focus();
      }
    });
  }

  // Flash messages can be dismissed.
  function setupFlashes(scope) {
    scope.querySelectorAll(".messages .flash").forEach(function (flash) {
      if (flash.querySelector(".flash-close")) return;
      var button = document.createElement("button");
      button.type = "button";
      button.className = "flash-close";
      button.setAttribute("aria-label", "Dismiss message");
      button.textContent = "×";
      button.addEventListener("click", function () { flash.remove(); });
      flash.classList.add("is-dismissible");
      flash.appendChild(button);
    });
  }

  // "Copy" next to secrets shown once (API tokens, generated passwords, 2FA secret).
  function setupCopy(scope) {
    if (!navigator.clipboard) return;
    scope.querySelectorAll("[data-copy]").forEach(function (el) {
      if (el.dataset.copyReady) return;
      el.dataset.copyReady = "1";
      var button = document.createElement("button");
      button.type = "button";
      button.className = "btn btn-small copy-button";
      button.textContent = "Copy";
      button.addEventListener("click", function () {
        navigator.clipboard.writeText(el.textContent.trim()).then(function () {
          button.textContent = "Copied";
          setTimeout(function () { button.textContent = "Copy"; }, 2000);
        });
      });
      el.insertAdjacentElement("afterend", button);
    });
  }

  // <form data-confirm="Really?"> asks before submitting.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form && form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);

  // An htmx request answered by the login page (session expired): go there for real.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var url = event.detail.xhr && event.detail.xhr.responseURL;
    if (url && new URL(url).pathname === "/login/") {
      event.detail.shouldSwap = false;
      window.location.href = url;
    }
  });
  document.addEventListener("htmx:afterSwap", function (event) {
    setupCopy(event.target);
  });

  onReady(function () {
    setupNav();
    setupFlashes(document);
    setupCopy(document);
  });
})();
