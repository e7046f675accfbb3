/* The run detail page of an unfinished run: ask the admin for the run's status every few
   seconds and update the status badge in place; stop once the run has finished (and say so),
   or after repeated failures. No build step, no dependency. */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || !window.fetch) {
    return;
  }
  var url = script.dataset.url;
  var interval = parseInt(script.dataset.interval, 10) || 3000;
  var failures = 0;

  function finished(message, label) {
    var form = document.querySelector("#content-main");
    if (!form || !message) {
      return;
    }
    var note = document.createElement("p");
    note.className = "trigger-run-finished";
    note.setAttribute("role", "status");
    note.textContent = message + " ";
    var reload = document.createElement("a");
    reload.href = window.location.href;
    reload.textContent = label || "\u21bb";
    note.appendChild(reload);
    form.insertBefore(note, form.firstChild);
  }

  function poll() {
    fetch(url, {headers: {"Accept": "application/json"}, credentials: "same-origin"})
      .then(function (response) {
        if (!response.ok) {
          throw new Error("HTTP " + response.status);
        }
        return response.json();
      })
      .then(function (data) {
        failures = 0;
        var badge = document.querySelector(".field-status_badge .readonly");
        if (badge && data.status_html) {
          badge.innerHTML = data.status_html;  /* built with format_html on the server */
        }
        if (data.final) {
          finished(data.message, data.reload);
        } else {
          window.setTimeout(poll, interval);
        }
      })
      .catch(function () {
        failures += 1;
        if (failures < 5) {
          window.setTimeout(poll, interval * failures);
        }
      });
  }

  window.setTimeout(poll, interval);
}());
