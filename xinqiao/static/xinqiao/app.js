// No inline scripts anywhere (the CSP forbids them): small behaviours are wired here by data attributes.
document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("[data-autosubmit]").forEach((el) => {
    el.addEventListener("change", () => el.form.submit());
  });
  document.querySelectorAll("[data-print]").forEach((el) => {
    el.addEventListener("click", () => window.print());
  });
  document.querySelectorAll("[data-confirm]").forEach((el) => {
    el.addEventListener("click", (event) => {
      if (!window.confirm(el.dataset.confirm)) event.preventDefault();
    });
  });
});

// htmx would inject an inline <style> for its request indicators, which the CSP refuses (a console
// error on every page); the same rules live in app.css. Deferred scripts run before htmx's own
// DOMContentLoaded setup, so switching it off here is in time.
if (window.htmx) {
  window.htmx.config.includeIndicatorStyles = false;
}
