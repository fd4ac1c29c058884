/* The only script of the pages: turn a checkout screen "paid" the moment the payment arrives
   (long-polling the payments API, never more than once a second), and the poster's print button.
   Every page works without it: the checkout screen has a "refresh status" link. */
(function () {
  "use strict";
  var MIN_GAP_MS = 1000;
  var RETRY_MS = 5000;

  var print = document.getElementById("print");
  if (print) {
    print.hidden = false;
    print.addEventListener("click", function () { window.print(); });
  }

  var box = document.getElementById("payment");
  if (!box || !window.fetch) { return; }
  var id = box.getAttribute("data-payment");
  var status = box.getAttribute("data-status");
  var labels = JSON.parse(box.getAttribute("data-labels") || "{}");
  var heading = document.getElementById("pay-status");

  function show(next) {
    box.className = box.className.replace(/\bpay-[a-z_]+\b/g, "").trim() + " pay-" + next;
    box.setAttribute("data-status", next);
    heading.textContent = labels[next] || next;
    document.title = heading.textContent + " · " + document.title.split(" · ").pop();
  }

  function again(started, extra) {
    if (status !== "pending") { return; }
    var gap = Math.max(0, MIN_GAP_MS - (Date.now() - started)) + extra;
    window.setTimeout(poll, gap);
  }

  function poll() {
    var started = Date.now();
    var url = "/api/v1/payments/" + encodeURIComponent(id) + "?status=" + status + "&wait=25";
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json();
      })
      .then(function (payment) {
        if (payment.status !== status) { status = payment.status; show(status); }
        again(started, 0);
      })
      .catch(function () { again(started, RETRY_MS); });
  }

  if (status === "pending") { poll(); }
}());
