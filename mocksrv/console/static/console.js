// mocksrv console: the little script the pages use. Everything still works without it,
// except live refresh and copy buttons.
(function () {
  "use strict";

  function copyText(text, button) {
    var done = function () {
      var label = button.textContent;
      button.textContent = "Copied";
      setTimeout(function () { button.textContent = label; }, 1500);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, function () { selectAndCopy(text); done(); });
    } else {
      selectAndCopy(text);
      done();
    }
  }

  function selectAndCopy(text) {
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.className = "visually-hidden";
    document.body.appendChild(area);
    area.select();
    try { document.execCommand("copy"); } finally { document.body.removeChild(area); }
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (button) {
      copyText(document.getElementById(button.getAttribute("data-copy")).textContent, button);
      return;
    }
    // a whole row opens its detail; its first link is what keyboards and screen readers use
    var row = event.target.closest("tr[data-href]");
    if (row && !event.target.closest("a, button, input, select, label") && !window.getSelection().toString()) {
      window.location.href = row.getAttribute("data-href");
    }
  });

  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });

  // Requests: fetch the rows again while the page is visible and live refresh is on
  var rows = document.getElementById("request-rows");
  if (rows) {
    var toggle = document.querySelector("[data-live-toggle]");
    var status = document.querySelector("[data-live-status]");
    var every = parseInt(rows.getAttribute("data-refresh-ms"), 10) || 2000;
    var busy = false;
    var refresh = function () {
      if (busy || document.hidden || (toggle && !toggle.checked)) { return; }
      busy = true;
      fetch(rows.getAttribute("data-rows-url"), { credentials: "same-origin", cache: "no-store" })
        .then(function (response) {
          if (!response.ok) { throw new Error("HTTP " + response.status); }
          return response.text();
        })
        .then(function (html) {
          if (html !== rows.innerHTML) { rows.innerHTML = html; }
          if (status) { status.textContent = ""; }
        })
        .catch(function (error) {
          if (status) { status.textContent = "Refresh failed (" + error.message + "); retrying."; }
        })
        .then(function () { busy = false; });
    };
    setInterval(refresh, every);
    document.addEventListener("visibilitychange", refresh);
  }
})();
