// Runs before the page is painted (a classic script in <head>), so a chosen
// theme never flashes the other one first. "system" follows the browser.
(function () {
  var t = null;
  try {
    t = localStorage.getItem("playground.theme");
  } catch (e) {}
  if (t === "light" || t === "dark") document.documentElement.dataset.theme = t;
})();
