// jobkeeper's pages: local times, live lists and job pages, commands without a reload.
// Every value from the server is written with textContent: nothing is ever parsed as HTML.

const csrf = document.querySelector('meta[name="csrf-token"]')?.content ?? "";
const TERMINAL = new Set(["succeeded", "failed", "cancelled"]);
const PHASES = {
  running: new Set(["queued", "running", "stopping", "cancelling"]),
  finished: TERMINAL,
};

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  for (const child of children) node.append(child);
  return node;
}

// Times: local, and how long ago; the title keeps UTC.
const relative = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });
const local = new Intl.DateTimeFormat(undefined, { dateStyle: "short", timeStyle: "medium" });
function ago(date) {
  const seconds = Math.round((date - Date.now()) / 1000);
  const steps = [[60, "second"], [60, "minute"], [24, "hour"], [365, "day"], [Infinity, "year"]];
  let value = seconds;
  for (const [size, unit] of steps) {
    if (Math.abs(value) < size) return relative.format(value, unit);
    value = Math.round(value / size);
  }
  return "";
}
function showTime(node) {
  const date = new Date(node.getAttribute("datetime"));
  if (Number.isNaN(date.getTime())) return;
  node.textContent = `${local.format(date)} (${ago(date)})`;
  node.title = `${date.toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC")}`;
}
function timeNode(iso) {
  if (!iso) return el("span", { class: "none" }, "—");
  const node = el("time", { datetime: iso });
  showTime(node);
  return node;
}
function refreshTimes(root = document) {
  root.querySelectorAll("time[datetime]").forEach(showTime);
}

function percent(progress) {
  return `${Math.round((Number(progress) || 0) * 100)}%`;
}
function statusNode(status) {
  return el("span", { class: `status s-${status}` }, status);
}
function barNode(progress, label) {
  const bar = el("progress", { max: "1", value: String(progress), "aria-label": label });
  bar.textContent = percent(progress);
  return el("span", { class: "bar" }, bar, el("span", { class: "pct" }, percent(progress)));
}
function setProgress(root, progress) {
  root.querySelectorAll("progress").forEach((bar) => { bar.value = progress; bar.textContent = percent(progress); });
  root.querySelectorAll(".pct").forEach((pct) => { pct.textContent = percent(progress); });
}

function notify(text, bad = false) {
  const notice = document.getElementById("notice");
  if (!notice) return;
  notice.textContent = text;
  notice.classList.toggle("bad", bad);
  notice.hidden = false;
}

async function problem(response) {
  // An API error as a sentence, never its JSON.
  try {
    const body = await response.json();
    return `${body.title ?? "Error"}: ${body.description ?? response.statusText}`;
  } catch {
    return `The server answered ${response.status} ${response.statusText}`;
  }
}

// The jobs list: rows follow their jobs; new jobs that match appear at the top.
function liveList(table) {
  const filters = JSON.parse(table.dataset.filters || "{}");
  const tab = table.dataset.tab;
  const body = table.tBodies[0];
  const viewer = document.querySelector(".top nav a[href^='/users/']")?.textContent ?? "";
  const statuses = filters.status ? new Set(filters.status) : PHASES[tab] ?? null;
  const matches = (job) =>
    (!statuses || statuses.has(job.status)) &&
    (!filters.owner || job.owner === filters.owner) &&
    (!filters.kind || job.kind === filters.kind) &&
    (!filters.q || job.name.toLowerCase().includes(filters.q.toLowerCase()));

  function row(job) {
    const tick = el("td", { "data-label": "Tick" });
    if (job.owner === viewer || table.dataset.admin === "yes") {
      tick.append(el("input", { type: "checkbox", name: "job", value: String(job.id), "aria-label": `Tick job ${job.id}` }));
    }
    const link = (text) => el("a", { href: `/jobs/${job.id}` }, text);
    return el("tr", { "data-id": String(job.id), class: "fresh" },
      tick,
      el("td", { "data-label": "Id" }, link(`#${job.id}`)),
      el("td", { "data-label": "Name", class: "name" }, link(job.name)),
      el("td", { "data-label": "Kind" }, job.kind),
      el("td", { "data-label": "Owner" }, el("a", { href: `/users/${encodeURIComponent(job.owner)}` }, job.owner)),
      el("td", { "data-label": "Status", class: "c-status" }, statusNode(job.status)),
      el("td", { "data-label": "Progress", class: "c-progress" }, barNode(job.progress, `progress of job ${job.id}`)),
      el("td", { "data-label": "Created", class: "c-created" }, timeNode(job.created_at)),
      el("td", { "data-label": "Started", class: "c-started" }, timeNode(job.started_at)),
      el("td", { "data-label": "Finished", class: "c-finished" }, timeNode(job.finished_at)));
  }

  function update(job) {
    const existing = body.querySelector(`tr[data-id="${job.id}"]`);
    if (existing) {
      existing.querySelector(".c-status").replaceChildren(statusNode(job.status));
      setProgress(existing.querySelector(".c-progress"), job.progress);
      existing.querySelector(".c-started").replaceChildren(timeNode(job.started_at));
      existing.querySelector(".c-finished").replaceChildren(timeNode(job.finished_at));
      return;
    }
    if (table.dataset.live !== "yes" || !matches(job)) return;
    const newest = Number(body.rows[0]?.dataset.id ?? 0);
    if (job.id < newest) return; // an older job: it belongs further down the pages
    body.prepend(row(job));
    document.getElementById("empty")?.remove();
  }

  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(filters)) {
    if (key === "status") value.forEach((s) => query.append("status", s));
    else if (key !== "cursor") query.set(key, value);
  }
  if (!filters.status && PHASES[tab]) PHASES[tab].forEach((s) => query.append("status", s));
  // The stream names every change of a job's row (statuses a job leaves included, as it is
  // asked without the tab's statuses); while it is down, the page's first rows are polled.
  const listPath = tab === "all" ? "/api/v1/jobs" : `/api/v1/jobs/${tab}`;
  const pageQuery = new URLSearchParams(query);
  if (!filters.status && PHASES[tab]) pageQuery.delete("status");
  if (filters.cursor) pageQuery.set("cursor", filters.cursor);
  pageQuery.set("limit", String(Math.min(Math.max(body.rows.length, 50), 1000)));
  let source = null;
  let polling = false;
  async function poll() {
    if (source && source.readyState !== EventSource.CLOSED) { polling = false; return; }
    try {
      const response = await fetch(`${listPath}?${pageQuery}`, { headers: { Accept: "application/json" } });
      if (response.ok) (await response.json()).items.slice().reverse().forEach(update);
    } catch { /* offline for a moment: the next poll tries again */ }
    setTimeout(poll, 2000);
  }
  function startPolling() {
    if (!polling) { polling = true; setTimeout(poll, 1000); }
  }
  if (table.dataset.stream === "yes") {
    const streamed = new URLSearchParams(query);
    streamed.delete("status");
    (filters.status ?? []).forEach((s) => streamed.append("status", s));
    source = new EventSource(`/api/v1/jobs/stream?${streamed}`);
    source.addEventListener("job", (event) => update(JSON.parse(event.data)));
    source.addEventListener("error", () => { if (source.readyState === EventSource.CLOSED) startPolling(); });
  } else {
    startPolling();
  }

  const tickAll = document.getElementById("tick-all");
  tickAll?.addEventListener("change", () => {
    body.querySelectorAll("input[name=job]").forEach((box) => { box.checked = tickAll.checked; });
  });
  document.getElementById("bulk")?.addEventListener("submit", (event) => {
    const action = document.getElementById("bulk-action").value;
    const all = document.getElementById("all-matching").checked;
    const ticked = body.querySelectorAll("input[name=job]:checked").length;
    if (!all && ticked === 0) {
      event.preventDefault();
      notify("Tick some jobs first, or choose “all that match this filter”.", true);
      return;
    }
    if (action === "cancel" && !window.confirm(all ? "Cancel every job that matches this filter?" : `Cancel ${ticked} job(s)?`)) {
      event.preventDefault();
    }
  });
}

// A job's page: status, progress and log follow the job; commands answer in place.
function liveJob(article) {
  const id = article.dataset.id;
  const log = document.getElementById("log");
  const followState = document.getElementById("follow-state");
  let following = true;
  let source = null;
  const atEnd = () => log.scrollHeight - log.scrollTop - log.clientHeight < 24;
  log.scrollTop = log.scrollHeight;
  log.addEventListener("scroll", () => {
    following = atEnd();
    followState.textContent = following ? "" : "Paused: scroll to the end to follow again.";
  });

  function showJob(job) {
    article.querySelector(".summary .status").replaceWith(statusNode(job.status));
    setProgress(article.querySelector(".summary .c-progress"), job.progress);
    document.getElementById("job-attempt").textContent = String(job.attempt);
    document.getElementById("job-started").replaceChildren(timeNode(job.started_at));
    document.getElementById("job-finished").replaceChildren(timeNode(job.finished_at));
    const result = document.getElementById("job-result");
    if (job.error) result.replaceChildren(el("p", { class: "error" }, job.error));
    else if (job.result !== null && job.result !== undefined) result.replaceChildren(el("pre", {}, JSON.stringify(job.result, null, 2)));
    else result.replaceChildren(el("p", { class: "none" }, "not yet"));
    const allowed = new Set(job.allowed_commands);
    article.querySelectorAll("form.command").forEach((form) => { form.hidden = !allowed.has(form.dataset.command); });
    article.dataset.version = String(job.version);
    if (TERMINAL.has(job.status)) stop();
    else start();
    refreshHistory();
  }

  async function refreshHistory() {
    const timeline = document.getElementById("timeline");
    if (timeline.dataset.newest !== "yes") return; // an older page stays as it is
    const known = Number(timeline.firstElementChild?.dataset.version ?? 0);
    const response = await fetch(`/api/v1/jobs/${id}/history?after=${known}&order=asc&limit=100`, { headers: { Accept: "application/json" } });
    if (!response.ok) return;
    const { items } = await response.json();
    for (const entry of items) {
      const item = el("li", { "data-version": String(entry.version), value: String(entry.version) },
        el("a", { href: `/jobs/${id}?version=${entry.version}`, class: "ev-type" }, `${entry.version}. ${entry.type}`),
        " ", el("span", { class: "ev-by" }, `by ${entry.by}`), " ", timeNode(entry.at));
      const data = Object.entries(entry.data ?? {});
      if (data.length) {
        const list = el("dl", { class: "params" });
        for (const [key, value] of data) list.append(el("dt", {}, key), el("dd", {}, typeof value === "string" ? value : JSON.stringify(value, null, 2)));
        item.append(el("details", {}, el("summary", {}, "data"), list));
      }
      timeline.querySelectorAll("li[aria-current]").forEach((li) => li.removeAttribute("aria-current"));
      item.setAttribute("aria-current", "step");
      timeline.prepend(item);
    }
  }

  function addLine(line) {
    const item = el("li", { value: String(line.line) }, timeNode(line.at), " ", el("span", {}, line.text));
    log.append(item);
    while (log.children.length > 2000) log.firstElementChild.remove();
    if (following) log.scrollTop = log.scrollHeight;
  }

  function start() {
    if (source || article.dataset.live === "never") return;
    source = new EventSource(`/api/v1/jobs/${id}/stream`);
    let first = true;
    source.addEventListener("status", (event) => {
      const job = JSON.parse(event.data);
      if (first) { first = false; if (String(job.version) === article.dataset.version) return; }
      showJob(job);
    });
    source.addEventListener("progress", (event) => setProgress(article.querySelector(".summary .c-progress"), JSON.parse(event.data).progress));
    source.addEventListener("log", (event) => {
      const line = JSON.parse(event.data);
      const last = Number(log.lastElementChild?.getAttribute("value") ?? 0);
      if (line.line > last) addLine(line);
    });
  }
  function stop() {
    source?.close();
    source = null;
  }

  // After a command the stream brings what follows (stopping → stopped, queued → running);
  // a few reads of the job make sure of it should the stream be reconnecting just then.
  const SETTLING = new Set(["stopping", "cancelling", "queued"]);
  async function settle(version, tries = 10) {
    await new Promise((done) => setTimeout(done, 1000));
    try {
      const response = await fetch(`/api/v1/jobs/${id}`, { headers: { Accept: "application/json" } });
      if (!response.ok) return;
      const job = await response.json();
      if (job.version > Number(article.dataset.version)) showJob(job);
      if (SETTLING.has(job.status) && tries > 1) settle(job.version, tries - 1);
    } catch { /* the stream still brings it */ }
  }

  article.querySelectorAll("form.command").forEach((form) => {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const command = form.dataset.command;
      if (command === "cancel" && !window.confirm(`Cancel job #${id}? Only a restart runs it again.`)) return;
      const button = form.querySelector("button");
      button.disabled = true;
      try {
        const response = await fetch(`/api/v1/jobs/${id}/${command}`, {
          method: "POST", headers: { "X-CSRF-Token": csrf, Accept: "application/json" },
        });
        if (!response.ok) { notify(await problem(response), true); return; }
        const job = await response.json();
        settle(job.version);
        notify(response.headers.get("JobKeeper-Changed") === "false" ? `Already ${job.status}.` : `${command[0].toUpperCase()}${command.slice(1)}: now ${job.status}.`);
        showJob(job);
      } catch {
        notify("The server could not be reached; try again.", true);
      } finally {
        button.disabled = false;
      }
    });
  });
  if (article.dataset.live === "yes") start();
}

refreshTimes();
setInterval(refreshTimes, 30000);
const table = document.getElementById("jobs");
if (table) liveList(table);
const article = document.getElementById("job");
if (article && !document.querySelector(".travel")) liveJob(article);
// The submit form: choosing a kind shows its fields at once (the Choose button does it without scripts).
document.getElementById("kind-choice")?.addEventListener("change", (event) => event.target.form.submit());
