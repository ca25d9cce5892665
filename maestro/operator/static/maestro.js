// Live pages: listen to /events, and on a change swap in this page's fresh <main>
// (?partial=1, rendered and escaped by the server). Buttons with data-action POST there.
"use strict";
(() => {
  const live = document.getElementById("live");
  const flash = document.getElementById("flash");
  const lane = document.body.dataset.lane;
  let pending = null;

  async function reload() {
    const url = new URL(location.href);
    url.searchParams.set("partial", "1");
    const response = await fetch(url, {cache: "no-store"});
    if (response.ok) {
      document.querySelector("main").innerHTML = await response.text();
      document.body.dataset.updates = String(Number(document.body.dataset.updates || 0) + 1);
    }
  }

  function connect() {
    const source = new EventSource("/events" + (lane ? "?lane=" + encodeURIComponent(lane) : ""));
    source.addEventListener("hello", () => { live.textContent = "live"; live.className = "on"; });
    source.addEventListener("change", (event) => {
      document.body.dataset.version = JSON.parse(event.data).version;
      if (pending === null) pending = reload().finally(() => { pending = null; });
    });
    source.onerror = () => { live.textContent = "reconnecting…"; live.className = "off"; };
  }

  document.addEventListener("click", async (event) => {
    const button = event.target.closest("button[data-action]");
    if (!button) return;
    button.disabled = true;
    try {
      const response = await fetch(button.dataset.action, {method: "POST"});
      const body = await response.json();
      flash.textContent = body.message || (body.error && body.error.message) ||
        (body.queued ? "tick queued" : "");
      flash.className = response.ok ? "ok" : "bad";
    } catch (err) {
      flash.textContent = "cannot reach maestro: " + err;
      flash.className = "bad";
    } finally {
      button.disabled = false;
    }
  });
  connect();
})();
