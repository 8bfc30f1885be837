// Small enhancements only; every page works without JavaScript.
// A form's errors take the focus when the page comes back with them, so a screen reader reads them at once
// (they are also a role=alert region) and a keyboard user starts from the list of fields to fix.
document.addEventListener("DOMContentLoaded", function () {
  var errors = document.querySelector("[data-focus]");
  if (errors) { errors.focus(); }
});

// A diagram wider than its frame scrolls to the step that failed (an incident's) or else is waiting, so it is
// in view without searching.
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll(".diagram").forEach(function (frame) {
    var waiting = frame.querySelector("g.failed") || frame.querySelector("g.active");
    if (!waiting) { return; }
    var outer = frame.getBoundingClientRect();
    var step = waiting.getBoundingClientRect();
    frame.scrollLeft += step.left + step.width / 2 - (outer.left + outer.width / 2);
    frame.scrollTop += step.top + step.height / 2 - (outer.top + outer.height / 2);
  });
});

// The inbox's counts per role refresh every minute while the page is open.
document.addEventListener("DOMContentLoaded", function () {
  var section = document.querySelector("[data-counts]");
  if (!section || !window.fetch) { return; }
  function refresh() {
    fetch(section.getAttribute("data-counts"), { credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (counts) {
        if (!counts) { return; }
        section.querySelectorAll("[data-role]").forEach(function (element) {
          var count = counts[element.getAttribute("data-role")];
          if (count) { element.textContent = count.open + " งาน"; }
        });
        section.querySelectorAll("[data-late-role]").forEach(function (element) {
          var count = counts[element.getAttribute("data-late-role")];
          if (!count) { return; }
          element.textContent = "เกินกำหนด " + count.overdue;
          element.hidden = count.overdue === 0;
        });
      })
      .catch(function () {});
  }
  setInterval(refresh, 60000);
});

// The bell's unread count refreshes every minute while a page is open.
document.addEventListener("DOMContentLoaded", function () {
  var bell = document.querySelector("[data-unread]");
  if (!bell || !window.fetch) { return; }
  var count = bell.querySelector("[data-unread-count]");
  function refresh() {
    fetch(bell.getAttribute("data-unread"), { credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (body) {
        if (!body) { return; }
        count.textContent = body.unread;
        count.hidden = body.unread === 0;
        bell.setAttribute("aria-label", "การแจ้งเตือน ยังไม่ได้อ่าน " + body.unread + " รายการ");
      })
      .catch(function () {});
  }
  setInterval(refresh, 60000);
});

// A file dropped on an attachment form is put in its file input and the form is sent (the form works without
// this script: choose a file, then แนบไฟล์).
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("form[data-dropzone]").forEach(function (form) {
    var input = form.querySelector("input[type=file]");
    if (!input) { return; }
    ["dragenter", "dragover"].forEach(function (name) {
      form.addEventListener(name, function (event) { event.preventDefault(); form.classList.add("dragging"); });
    });
    ["dragleave", "drop"].forEach(function (name) {
      form.addEventListener(name, function () { form.classList.remove("dragging"); });
    });
    form.addEventListener("drop", function (event) {
      event.preventDefault();
      if (!event.dataTransfer || !event.dataTransfer.files.length) { return; }
      input.files = event.dataTransfer.files;
      if (form.requestSubmit) { form.requestSubmit(); } else { form.submit(); }
    });
  });
});
