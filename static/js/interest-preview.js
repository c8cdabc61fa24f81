// Live interest preview: as a person types, show how many recent papers the current line matches.
// The form works without this; it only adds the hint under the interests box.
(function () {
  "use strict";
  var box = document.getElementById("id_interests");
  var output = document.getElementById("interest-preview");
  if (!box || !output || !window.fetch) { return; }
  var endpoint = output.getAttribute("data-endpoint") || "/interests/preview/";
  var timer = null;
  var lastAsked = "";

  function currentLine() {
    var text = box.value;
    var start = text.lastIndexOf("\n", box.selectionStart - 1) + 1;
    var end = text.indexOf("\n", box.selectionStart);
    return text.slice(start, end === -1 ? text.length : end).trim();
  }

  function show(line, data) {
    output.textContent = "";
    var summary = document.createElement("p");
    if (data.error) {
      summary.textContent = "\u201c" + line + "\u201d: " + data.error;
      summary.className = "preview-error";
    } else {
      summary.textContent = "\u201c" + line + "\u201d would have matched " + data.matches + " of " +
        data.papers + " papers from the last " + data.days + " days.";
    }
    output.appendChild(summary);
    if (data.examples && data.examples.length) {
      var list = document.createElement("ul");
      data.examples.forEach(function (title) {
        var item = document.createElement("li");
        item.textContent = title;
        list.appendChild(item);
      });
      output.appendChild(list);
    }
  }

  function ask() {
    var line = currentLine();
    if (!line || line === lastAsked) { return; }
    lastAsked = line;
    fetch(endpoint + "?q=" + encodeURIComponent(line), { headers: { "Accept": "application/json" } })
      .then(function (response) { return response.json(); })
      .then(function (data) { if (line === currentLine()) { show(line, data); } })
      .catch(function () { output.textContent = ""; });
  }

  function schedule() {
    window.clearTimeout(timer);
    timer = window.setTimeout(ask, 350);
  }

  box.addEventListener("input", schedule);
  box.addEventListener("click", schedule);
  box.addEventListener("keyup", schedule);
})();
