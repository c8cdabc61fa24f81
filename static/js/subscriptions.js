// Small enhancements for the subscriber pages; every page works without them.
(function () {
  "use strict";

  // Guess the time zone on the signup form, unless the person already chose one.
  var zone = document.querySelector("input[data-guess-time-zone]");
  if (zone && (zone.value === "" || zone.value === "UTC") && window.Intl && Intl.DateTimeFormat) {
    var guessed = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (guessed) { zone.value = guessed; }
  }

  // Show the weekday only for weekly digests (without JS it is always visible and labelled so).
  var frequency = document.querySelector("select[name=frequency]");
  var weekday = document.querySelector("[data-weekday-field]");
  if (frequency && weekday) {
    var sync = function () { weekday.hidden = frequency.value !== "weekly"; };
    frequency.addEventListener("change", sync);
    sync();
  }
})();
