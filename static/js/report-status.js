// While a requested report or bundle is being built, refresh the list of requests every few seconds.
(function () {
  "use strict";
  var delay = 4000;
  function refresh() {
    var jobs = document.getElementById("jobs");
    if (!jobs || !jobs.querySelector("[data-pending]")) return;
    fetch(window.location.href, { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("jobs");
        if (fresh) jobs.innerHTML = fresh.innerHTML;
        window.setTimeout(refresh, delay);
      })
      .catch(function () { window.setTimeout(refresh, delay * 3); });
  }
  document.addEventListener("DOMContentLoaded", function () { window.setTimeout(refresh, delay); });
})();
