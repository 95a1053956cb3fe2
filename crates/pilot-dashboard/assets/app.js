// Pilot dashboard: progressive enhancement only; every page works without it.
// Loaded as a same-origin script (the Content-Security-Policy allows no inline code).
(function () {
  "use strict";

  // Copy buttons: <button data-copy="#id"> copies the text of the element it names.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) return;
    var source = document.querySelector(button.getAttribute("data-copy"));
    if (!source || !navigator.clipboard) return;
    navigator.clipboard.writeText(source.textContent.trim()).then(function () {
      var label = button.textContent;
      button.textContent = "Copied";
      setTimeout(function () { button.textContent = label; }, 1500);
    });
  });

  // Forms with data-confirm ask before they are sent.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) event.preventDefault();
  });

  // Live regions: <section data-live="/runs/7/live"> is replaced by each server-sent
  // "update" event's HTML (rendered and escaped by the server) until "done".
  document.querySelectorAll("[data-live]").forEach(function (region) {
    if (!window.EventSource) return;
    var source = new EventSource(region.getAttribute("data-live"));
    source.addEventListener("update", function (event) {
      region.innerHTML = event.data;
    });
    source.addEventListener("done", function () {
      source.close();
      region.setAttribute("data-live-done", "true");
    });
    source.onerror = function () {
      if (region.getAttribute("data-live-done")) source.close();
    };
  });
})();
