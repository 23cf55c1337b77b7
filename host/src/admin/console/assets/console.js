// Weir's console: the pages work without this file; it makes their live parts update
// in place and marks a form's button busy while it is sent. No framework, no build.
"use strict";

(function () {
  var EVERY_MS = 2000;

  // Each element with data-live="/live/..." is replaced by that fragment, every few
  // seconds, while the page is visible.
  function poll(element) {
    var url = element.getAttribute("data-live");
    function tick() {
      if (document.hidden) {
        setTimeout(tick, EVERY_MS);
        return;
      }
      fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } })
        .then(function (response) {
          if (response.status === 401 || response.redirected) {
            // Signed out meanwhile: show the sign-in page.
            window.location.reload();
            return null;
          }
          return response.ok ? response.text() : null;
        })
        .then(function (html) {
          if (html !== null && html !== undefined) {
            element.innerHTML = html;
            element.setAttribute("data-updated", String(Date.now()));
          }
        })
        .catch(function () {})
        .then(function () {
          setTimeout(tick, EVERY_MS);
        });
    }
    setTimeout(tick, EVERY_MS);
  }

  function busy(form) {
    form.addEventListener("submit", function () {
      var button = form.querySelector("button[type=submit]");
      if (button) {
        button.disabled = true;
        button.setAttribute("aria-busy", "true");
        button.textContent = button.textContent + "…";
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.documentElement.classList.add("js");
    Array.prototype.forEach.call(document.querySelectorAll("[data-live]"), poll);
    Array.prototype.forEach.call(document.querySelectorAll("form[method=post]"), busy);
    // With JavaScript, the live parts update themselves: the no-script reload is moot.
  });
})();
