(function () {
  "use strict";
  var all = function () { return document.querySelectorAll("details"); };
  var set = function (open) { all().forEach(function (d) { d.open = open; }); };
  var bind = function (id, open) {
    var button = document.getElementById(id);
    if (button) { button.addEventListener("click", function () { set(open); }); }
  };
  bind("expand-all", true);
  bind("collapse-all", false);
  // Paper has no disclosure triangles: print every finding, then restore what the reader had open.
  var closed = [];
  window.addEventListener("beforeprint", function () {
    closed = Array.prototype.filter.call(all(), function (d) { return !d.open; });
    closed.forEach(function (d) { d.open = true; });
  });
  window.addEventListener("afterprint", function () {
    closed.forEach(function (d) { d.open = false; });
    closed = [];
  });
  document.documentElement.className = "js";
}());
