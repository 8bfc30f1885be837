// Small enhancements only; every page works without JavaScript.
// A role filter submits its form as soon as a role is chosen.
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });
});
