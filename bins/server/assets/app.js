// NatronFX dashboard: small enhancements. Every page works without this file.
(function () {
  "use strict";

  // The viewer's time zone, so the server can show times as they read them.
  try {
    var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (zone) {
      if (document.cookie.indexOf("nfx_tz=" + encodeURIComponent(zone)) === -1) {
        document.cookie = "nfx_tz=" + encodeURIComponent(zone) + "; path=/; max-age=31536000; samesite=lax";
      }
      document.querySelectorAll("input[data-browser-zone]").forEach(function (input) {
        if (!input.value) { input.value = zone; }
      });
      document.querySelectorAll("select[data-browser-zone]").forEach(function (select) {
        if (select.dataset.chosen) { return; }
        for (var i = 0; i < select.options.length; i++) {
          if (select.options[i].value === zone) { select.selectedIndex = i; break; }
        }
      });
    }
  } catch (e) { /* no Intl: the server's default zone stays */ }

  // Ask before destructive actions.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-confirm]");
    if (button && !window.confirm(button.dataset.confirm)) { event.preventDefault(); }
  });

  // Live per-platform counters under captions: characters (TikTok counts UTF-16 units) and hashtags.
  function hashtags(text) {
    var found = text.match(/(^|[^\p{L}\p{N}_])#[\p{L}\p{N}_]+/gu);
    return found ? found.length : 0;
  }
  function utf16(text) { return text.length; }
  function chars(text) { return Array.from(text).length; }
  function extraTags() {
    var input = document.querySelector("input[name=hashtags]");
    if (!input || !input.value.trim()) { return 0; }
    return input.value.split(/[\s,]+/).filter(function (t) { return t.replace(/^#/, ""); }).length;
  }
  function render(area, box) {
    var text = area.value;
    var limits = [
      ["Instagram", chars(text), Number(area.dataset.instagramChars)],
      ["Instagram #", hashtags(text) + extraTags(), Number(area.dataset.instagramTags)],
      ["TikTok", utf16(text), Number(area.dataset.tiktokChars)],
      ["Facebook", chars(text), Number(area.dataset.facebookChars)]
    ];
    box.textContent = "";
    limits.forEach(function (l) {
      if (!l[2]) { return; }
      var span = document.createElement("span");
      span.className = "counter" + (l[1] > l[2] ? " over" : "");
      span.textContent = l[0] + " " + l[1] + " / " + l[2];
      box.appendChild(span);
    });
  }
  document.querySelectorAll("textarea[data-counters]").forEach(function (area) {
    var box = document.createElement("div");
    box.className = "counters";
    box.setAttribute("aria-live", "polite");
    area.insertAdjacentElement("afterend", box);
    var update = function () { render(area, box); };
    area.addEventListener("input", update);
    var tags = document.querySelector("input[name=hashtags]");
    if (tags) { tags.addEventListener("input", update); }
    update();
  });
})();
