// The review page of `agent serve`: sessions, their live events, approvals hunk by hunk.
// Plain modern JavaScript with no build step; every text from the daemon goes in as text, never
// as HTML. Signed in by an HttpOnly cookie: the page never sees a token.

const $ = (selector) => document.querySelector(selector);

/** An element with attributes (`on*` as listeners) and children (strings become text). */
function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (name === "class") node.className = value;
    else node.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child !== undefined && child !== null) node.append(child);
  }
  return node;
}

class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

const page = {
  sessions: [],
  current: null, // the session shown
  source: null, // its EventSource
  lastId: 0, // the last event id shown
  reconnect: null, // timer of a manual reconnection
  turn: null, // the blocks of the turn being streamed
  tools: new Map(), // tool call id -> its timeline item
  totals: { turns: 0, prompt: 0, completion: 0 },
  approval: null, // the question shown
  answering: false,
  followUpId: null, // request id of the follow-up being sent (kept until it is taken)
  reachable: true,
};

async function api(method, path, body) {
  let response;
  try {
    response = await fetch(path, {
      method,
      headers: body === undefined ? {} : { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
    });
  } catch {
    setReachable(false);
    throw new ApiError(0, "the daemon cannot be reached");
  }
  setReachable(true);
  const text = await response.text();
  let data = null;
  try {
    data = JSON.parse(text);
  } catch {
    data = null;
  }
  if (response.status === 401) {
    banner("You are signed out. Open a new sign-in link: `agent serve` prints one when it starts, and `POST /v1/login` makes another.");
    throw new ApiError(401, "signed out");
  }
  if (!response.ok) throw new ApiError(response.status, (data && data.error) || text);
  return data ?? text;
}

function banner(text) {
  const node = $("#banner");
  node.textContent = text || "";
  node.hidden = !text;
}

function setReachable(reachable) {
  if (reachable === page.reachable) return;
  page.reachable = reachable;
  $("#connection").textContent = reachable ? "" : "offline";
  banner(reachable ? "" : "The daemon cannot be reached. Retrying; nothing is lost, the page catches up when it is back.");
  if (reachable && page.current && !page.source) follow(page.current);
}

function notice(text) {
  const node = $("#notice");
  node.textContent = text || "";
  node.hidden = !text;
}

// ---- sessions ------------------------------------------------------------------------------

/** The list once, now (after this page changed something); pushed changes keep it current. */
async function refreshSessions() {
  try {
    page.sessions = await api("GET", "/v1/sessions");
  } catch {
    return;
  }
  showSessions();
}

/** Follows the daemon's pushed session changes: the whole list first, then each change. */
function followSessions() {
  const source = new EventSource("/v1/events");
  source.addEventListener("sessions", (message) => {
    page.sessions = JSON.parse(message.data);
    showSessions();
  });
  source.addEventListener("session", (message) => {
    const changed = JSON.parse(message.data);
    const index = page.sessions.findIndex((session) => session.id === changed.id);
    if (index >= 0) page.sessions[index] = changed;
    else page.sessions.push(changed);
    showSessions();
  });
  source.addEventListener("forgotten", (message) => {
    const { id } = JSON.parse(message.data);
    page.sessions = page.sessions.filter((session) => session.id !== id);
    showSessions();
  });
  source.onerror = () => {
    // Reconnect by hand (the browser gives up on an error status); the list comes again whole.
    // Asking once says why it failed (a signed-out browser is told how to sign in).
    source.close();
    refreshSessions();
    setTimeout(followSessions, 1000);
  };
}

/** When something happened, in words: "just now", "5 min ago", "3 h ago", or the day. */
function ago(timestamp) {
  const then = new Date(timestamp);
  const seconds = (Date.now() - then.getTime()) / 1000;
  if (!Number.isFinite(seconds)) return "";
  if (seconds < 60) return "just now";
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)} h ago`;
  return then.toLocaleDateString();
}

/** The last part of a path (the whole path is its title). */
function lastPart(path) {
  return path.replace(/\/+$/, "").split("/").pop() || path;
}

function showSessions() {
  const list = $("#sessions");
  list.replaceChildren(
    ...page.sessions
      .slice()
      .reverse()
      .map((session) =>
        el("li", {},
          el("a", { href: `#/s/${session.id}`, class: session.id === page.current ? "current" : "", "data-session": session.id },
            el("span", { class: "task-line" }, session.task),
            el("span", { class: "session-meta" },
              el("span", { class: `state ${session.state}` }, session.state.replaceAll("_", " ")),
              el("span", { class: "workspace", title: session.workspace }, lastPart(session.workspace)),
              session.worktree ? el("span", { class: "keys" }, "isolated") : null,
              el("time", { datetime: session.updated, title: session.updated }, ago(session.updated)),
            ),
          ),
        ),
      ),
  );
  const shown = page.sessions.find((session) => session.id === page.current);
  if (shown) {
    $("#state").className = `state ${shown.state}`;
    $("#state").textContent = shown.state.replaceAll("_", " ");
  }
}

$("#create").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  const error = $("#create-error");
  error.hidden = true;
  try {
    const created = await api("POST", "/v1/sessions", {
      workspace: form.get("workspace").trim(),
      task: form.get("task"),
      approval: form.get("approval"),
      isolate: form.get("isolate") === "on",
    });
    event.target.reset();
    $("#new-session").open = false;
    location.hash = `#/s/${created.id}`;
    refreshSessions();
  } catch (failure) {
    error.textContent = failure.message;
    error.hidden = false;
  }
});

// ---- one session ---------------------------------------------------------------------------

function route() {
  const match = location.hash.match(/^#\/s\/(.+)$/);
  const id = match ? decodeURIComponent(match[1]) : null;
  if (id === page.current) return;
  stopFollowing();
  page.current = id;
  document.body.classList.toggle("viewing", Boolean(id));
  $("#session-pane").hidden = !id;
  if (!id) return;
  page.lastId = 0;
  page.turn = null;
  page.tools = new Map();
  page.totals = { turns: 0, prompt: 0, completion: 0 };
  page.followUpId = null;
  $("#timeline").replaceChildren();
  showPlan(null);
  $("#whole-diff").hidden = true;
  $("#task").textContent = "";
  $("#totals").textContent = "";
  notice("");
  showApproval(null);
  follow(id);
  refreshApprovals();
  refreshSessions();
}

function stopFollowing() {
  if (page.source) page.source.close();
  page.source = null;
  clearTimeout(page.reconnect);
}

/** Follows the session's events from the last one shown: none is shown twice or skipped. */
function follow(id) {
  stopFollowing();
  const source = new EventSource(`/v1/sessions/${encodeURIComponent(id)}/events?after=${page.lastId}`);
  page.source = source;
  source.onmessage = (message) => {
    const eventId = Number(message.lastEventId);
    if (eventId <= page.lastId) return;
    page.lastId = eventId;
    show(eventId, JSON.parse(message.data));
  };
  source.onopen = () => setReachable(true);
  source.onerror = () => {
    // The browser's own retry would start over from its last id too, but it gives up on an
    // error status: reconnect by hand, from the last event shown.
    source.close();
    if (page.source !== source) return;
    page.source = null;
    fetch("/health").then(() => setReachable(true), () => setReachable(false));
    page.reconnect = setTimeout(() => page.current === id && follow(id), 1000);
  };
}

function append(eventId, node) {
  node.dataset.id = eventId;
  $("#timeline").append(node);
  if (window.scrollY + window.innerHeight >= document.body.scrollHeight - 80) node.scrollIntoView({ block: "end" });
  return node;
}

function system(eventId, text) {
  append(eventId, el("li", { class: "system" }, text));
}

/** The current turn's thinking and message blocks, made when first needed. */
function turnBlock(eventId, kind) {
  page.turn = page.turn || {};
  if (!page.turn[kind]) {
    const text = el("pre", {});
    const node = kind === "reasoning"
      ? el("li", { class: "reasoning" }, el("details", {}, el("summary", {}, "thinking"), text))
      : el("li", { class: "message" }, text);
    append(eventId, node);
    page.turn[kind] = text;
  }
  return page.turn[kind];
}

function show(eventId, event) {
  switch (event.type) {
    case "session_started":
      if (!event.resumed || !$("#task").textContent) $("#task").textContent = event.task;
      append(eventId, el("li", { class: "user" }, event.task));
      break;
    case "turn_started":
      page.turn = null;
      page.totals.turns += 1;
      showTotals();
      break;
    case "reasoning":
      turnBlock(eventId, "reasoning").append(event.text);
      break;
    case "content":
      turnBlock(eventId, "content").append(event.text);
      break;
    case "assistant_turn":
      // The whole turn as kept: what the deltas built, or the turn itself when none came.
      if (event.reasoning) turnBlock(eventId, "reasoning").textContent = event.reasoning;
      if (event.content) turnBlock(eventId, "content").textContent = event.content;
      page.turn = null;
      break;
    case "retrying":
      system(eventId, `retrying in ${(event.delay_ms / 1000).toFixed(1)} s (attempt ${event.attempt} failed: ${event.reason})`);
      break;
    case "tool_call_started": {
      const output = el("pre", { class: "output" });
      const item = el("li", { class: "tool" },
        el("span", { class: "name" }, event.name), " ", event.headline,
        el("span", { class: "decision" }),
        el("details", {}, el("summary", {}, "output"), output));
      page.tools.set(event.id, item);
      append(eventId, item);
      break;
    }
    case "approval_requested":
      decision(event.id, "waiting for approval", "");
      refreshApprovals();
      break;
    case "approval_decided":
      decision(event.id, event.approved ? "approved" : `denied${event.reason ? `: ${event.reason}` : ""}`, event.approved ? "approved" : "denied");
      refreshApprovals();
      break;
    case "tool_result": {
      const item = page.tools.get(event.id);
      if (item) {
        item.querySelector(".output").textContent = event.content;
        item.classList.toggle("error", event.status !== "success");
      } else {
        append(eventId, el("li", { class: "tool" }, el("span", { class: "name" }, event.name), el("pre", { class: "output" }, event.content)));
      }
      break;
    }
    case "usage":
      page.totals.prompt += event.prompt_tokens;
      page.totals.completion += event.completion_tokens;
      showTotals();
      break;
    case "finished":
      append(eventId, el("li", { class: "finished" },
        `finished: ${outcome(event.outcome)} after ${event.turns} turn(s), ${event.prompt_tokens + event.completion_tokens} tokens, ${(event.elapsed_ms / 1000).toFixed(1)} s`));
      refreshApprovals();
      refreshSessions();
      break;
    case "note":
      system(eventId, `note to the model: ${event.content}`);
      break;
    case "calls_resumed":
      system(eventId, `continuing the stopped turn: ${event.calls.length} call(s) left to run`);
      break;
    case "text_calls_recovered":
      system(eventId, `the model wrote ${event.calls.length} tool call(s) as text: running them`);
      break;
    case "compacting":
      system(eventId, `compacting the conversation (about ${event.estimated_tokens} tokens)`);
      break;
    case "compacted":
      system(eventId, event.summary ? "compacted: going on from a summary" : "compacted: older tool results cut short");
      break;
    case "output_rejected":
      system(eventId, `the answer did not fit the schema (attempt ${event.attempt}): ${event.problems}`);
      break;
    case "plan":
      showPlan(event);
      break;
    case "notice":
      system(eventId, event.message);
      break;
    default:
      break;
  }
}

const STEP_MARKS = { pending: "☐", in_progress: "▶", completed: "✔" };

/** The model's plan beside the events, as it now stands (none: hidden). */
function showPlan(event) {
  const steps = event ? event.plan : [];
  $("#plan").hidden = steps.length === 0;
  const explanation = $("#plan-explanation");
  explanation.hidden = !(event && event.explanation);
  explanation.textContent = (event && event.explanation) || "";
  $("#plan-steps").replaceChildren(...steps.map((step) =>
    el("li", { class: step.status }, `${STEP_MARKS[step.status] || ""} ${step.step}`)));
}

/** How a run ended, in words: `{kind, ...details}`. */
function outcome(value) {
  const words = String(value.kind || "ended").replaceAll("_", " ");
  const detail = value.message || value.problems || value.name || value.max_turns;
  return detail ? `${words} (${detail})` : words;
}

function showTotals() {
  const { turns, prompt, completion } = page.totals;
  $("#totals").textContent = `${turns} turn(s), ${prompt} prompt + ${completion} completion tokens`;
}

function decision(callId, text, kind) {
  const item = page.tools.get(callId);
  if (!item) return;
  const node = item.querySelector(".decision");
  node.textContent = text;
  node.className = `decision ${kind}`;
}

// ---- approvals -----------------------------------------------------------------------------

async function refreshApprovals() {
  const id = page.current;
  if (!id) return;
  let pending;
  try {
    pending = await api("GET", `/v1/sessions/${encodeURIComponent(id)}/approvals`);
  } catch {
    return;
  }
  if (id !== page.current) return;
  const first = pending[0] || null;
  if (page.approval && (!first || first.call_id !== page.approval.call_id) && !page.answering) {
    notice("That approval was answered elsewhere.");
  }
  if (!first || !page.approval || first.call_id !== page.approval.call_id) showApproval(first);
}

function showApproval(approval) {
  page.approval = approval;
  page.walk = null;
  const box = $("#approval");
  box.hidden = !approval;
  if (!approval) {
    box.replaceChildren();
    return;
  }
  notice("");
  const question = approval.question;
  const parts = [];
  if (question.kind === "edit") {
    parts.push(el("h3", {}, `Apply this edit? ${question.summary}`));
    for (const file of question.files) parts.push(fileView(file));
  } else if (question.kind === "command") {
    parts.push(el("h3", {}, "Run this command?"));
    parts.push(el("pre", { class: "command" }, question.command));
    if (question.outside_sandbox) parts.push(el("p", { class: "warning" }, "It asks to run outside the sandbox, with all your rights."));
  } else {
    parts.push(el("h3", {}, `Call ${question.tool}?`));
    parts.push(el("pre", { class: "command" }, question.arguments));
  }
  const always = question.kind === "edit" ? "Approve all edits (a)" : "Always allow (a)";
  parts.push(el("div", { class: "answer" },
    el("button", { class: "primary", type: "button", "data-answer": "approve", onclick: () => answer("approve") }, "Approve (y)"),
    el("button", { type: "button", "data-answer": "approve_always", onclick: () => answer("approve_always") }, always),
    el("input", { name: "reason", placeholder: "Reason for the model (d)", onkeydown: (event) => {
      if (event.key === "Enter") answer("deny");
    } }),
    el("button", { class: "danger", type: "button", "data-answer": "deny", onclick: () => answer("deny") }, "Deny (n)"),
  ));
  if (question.kind === "edit") parts.push(el("p", { class: "walk", "aria-live": "polite" }));
  parts.push(el("p", { class: "keys" }, question.kind === "edit"
    ? "Keys: y approve the ticked hunks, n deny, s go through the hunks one by one (y applies, n rejects each; the ticked ones are applied after the last), a approve every edit of this session, d deny with a reason."
    : "Keys: y approve, n deny, a always, d deny with a reason."));
  box.replaceChildren(...parts);
}

/** A file of an edit: its header, then each hunk with line numbers and its own toggle. */
function fileView(file) {
  const what = file.old === null ? "new file" : file.new === null ? "deleted" : "modified";
  return el("div", { class: "file", "data-path": file.path },
    el("div", { class: "file-header" }, `${file.path} (${what})`),
    file.hunks.map((hunk, index) => {
      const toggle = el("input", { type: "checkbox", checked: true, "data-hunk": index, "aria-label": `apply hunk ${index + 1} of ${file.path}` });
      const node = el("div", { class: "hunk" },
        el("label", { class: "hunk-head" }, el("span", {}, hunk.header), el("span", {}, toggle, " apply")),
        diffTable(hunk.diff));
      toggle.addEventListener("change", () => node.classList.toggle("rejected", !toggle.checked));
      return node;
    }));
}

/** A hunk's lines with their old and new line numbers, from its `@@ -a,b +c,d @@` header. */
function diffTable(diff) {
  const lines = diff.replace(/\n$/, "").split("\n");
  const header = lines.shift() || "";
  const numbers = header.match(/^@@ -(\d+)(?:,\d+)? \+(\d+)/) || [0, "1", "1"];
  let oldLine = Number(numbers[1]);
  let newLine = Number(numbers[2]);
  return el("table", { class: "diff" }, lines.map((line) => {
    const sign = line[0];
    const text = line.slice(1);
    if (sign === "+") return el("tr", { class: "add" }, el("td", { class: "number" }), el("td", { class: "number" }, String(newLine++)), el("td", {}, `+${text}`));
    if (sign === "-") return el("tr", { class: "del" }, el("td", { class: "number" }, String(oldLine++)), el("td", { class: "number" }), el("td", {}, `-${text}`));
    return el("tr", {}, el("td", { class: "number" }, String(oldLine++)), el("td", { class: "number" }, String(newLine++)), el("td", {}, ` ${text}`));
  }));
}

async function answer(decision) {
  const approval = page.approval;
  if (!approval || page.answering) return;
  const body = { decision };
  if (decision === "deny") {
    const reason = $("#approval input[name=reason]").value.trim();
    if (reason) body.reason = reason;
  }
  if (decision === "approve" && approval.question.kind === "edit") {
    const toggles = [...document.querySelectorAll("#approval input[data-hunk]")];
    if (toggles.some((toggle) => !toggle.checked)) {
      body.hunks = {};
      for (const file of document.querySelectorAll("#approval .file")) {
        const accepted = [...file.querySelectorAll("input[data-hunk]")].filter((toggle) => toggle.checked).map((toggle) => Number(toggle.dataset.hunk));
        if (accepted.length) body.hunks[file.dataset.path] = accepted;
      }
      if (!Object.keys(body.hunks).length) {
        delete body.hunks;
        body.decision = "deny";
        body.reason = body.reason || "the user rejected every hunk";
      }
    }
  }
  page.answering = true;
  try {
    await api("POST", `/v1/sessions/${encodeURIComponent(page.current)}/approvals/${encodeURIComponent(approval.call_id)}`, body);
    showApproval(null);
  } catch (failure) {
    if (failure.status === 409) {
      showApproval(null);
      notice("That approval was already answered elsewhere (or its turn ended).");
    } else {
      notice(`Not answered: ${failure.message}`);
    }
  } finally {
    page.answering = false;
    refreshApprovals();
  }
}

function hunkToggles() {
  return [...document.querySelectorAll("#approval input[data-hunk]")];
}

/** Going through the hunks (`s`), as the terminal does: hunk `index` is asked about; past the
 * last one, the ticked hunks are applied. */
function askHunk(index) {
  const toggles = hunkToggles();
  for (const node of document.querySelectorAll("#approval .hunk.asking")) node.classList.remove("asking");
  const status = $("#approval .walk");
  if (index >= toggles.length) {
    page.walk = null;
    if (status) status.textContent = "";
    answer("approve");
    return;
  }
  page.walk = { index };
  const hunk = toggles[index].closest(".hunk");
  hunk.classList.add("asking");
  hunk.scrollIntoView({ block: "nearest" });
  toggles[index].focus();
  const file = toggles[index].closest(".file").dataset.path;
  status.textContent = `Hunk ${index + 1} of ${toggles.length} (${file}): y apply it, n reject it, Esc stop.`;
}

/** Answers the hunk being asked about, and asks about the next. */
function answerHunk(apply) {
  const toggle = hunkToggles()[page.walk.index];
  toggle.checked = apply;
  toggle.dispatchEvent(new Event("change"));
  askHunk(page.walk.index + 1);
}

function stopWalk() {
  for (const node of document.querySelectorAll("#approval .hunk.asking")) node.classList.remove("asking");
  const status = $("#approval .walk");
  if (status) status.textContent = "";
  page.walk = null;
}

/** The terminal review's keys: y, n, s, a, d (and, going through hunks, y and n for each). */
document.addEventListener("keydown", (event) => {
  if (!page.approval || event.ctrlKey || event.metaKey || event.altKey) return;
  const typing = event.target.matches("input:not([type=checkbox]), textarea, select");
  if (typing) return;
  const walking = {
    y: () => answerHunk(true),
    n: () => answerHunk(false),
    Escape: stopWalk,
  };
  const actions = {
    y: () => answer("approve"),
    n: () => answer("deny"),
    a: () => answer("approve_always"),
    d: () => $("#approval input[name=reason]").focus(),
    s: () => {
      if (page.approval.question.kind === "edit" && hunkToggles().length) askHunk(0);
    },
  };
  const action = page.walk ? walking[event.key] : actions[event.key];
  if (action) {
    event.preventDefault();
    action();
  }
});

// ---- follow-ups, cancel, forget, the whole diff ----------------------------------------------------

$("#follow-up").addEventListener("submit", async (event) => {
  event.preventDefault();
  const text = new FormData(event.target).get("text");
  // A retried send keeps its request id: the daemon runs it once.
  page.followUpId = page.followUpId || crypto.randomUUID();
  try {
    await api("POST", `/v1/sessions/${encodeURIComponent(page.current)}/messages`, { text, request_id: page.followUpId });
    page.followUpId = null;
    event.target.reset();
    notice("");
    refreshSessions();
  } catch (failure) {
    if (failure.status === 409) page.followUpId = null;
    notice(failure.status === 409 ? "A turn is running: send the follow-up when it ends." : `Not sent: ${failure.message}`);
  }
});

$("#cancel").addEventListener("click", async () => {
  try {
    await api("POST", `/v1/sessions/${encodeURIComponent(page.current)}/cancel`);
  } catch (failure) {
    notice(`Not cancelled: ${failure.message}`);
  }
});

$("#forget").addEventListener("click", async () => {
  try {
    await api("DELETE", `/v1/sessions/${encodeURIComponent(page.current)}`);
    location.hash = "#/";
    notice("Forgotten: its transcript stays, for agent run --resume.");
    refreshSessions();
  } catch (failure) {
    notice(failure.status === 409 ? "A turn is running or queued: cancel it first, then forget the session." : `Not forgotten: ${failure.message}`);
  }
});

$("#show-diff").addEventListener("click", async () => {
  const box = $("#whole-diff");
  if (!box.hidden) {
    box.hidden = true;
    return;
  }
  try {
    const diff = await api("GET", `/v1/sessions/${encodeURIComponent(page.current)}/diff`);
    box.replaceChildren(diff ? wholeDiff(diff) : el("p", {}, "No changes."));
    box.hidden = false;
  } catch (failure) {
    notice(`No diff: ${failure.message}`);
  }
});

function wholeDiff(diff) {
  return el("pre", { class: "output" }, diff.split("\n").map((line) => {
    const kind = line.startsWith("+") && !line.startsWith("+++") ? "add" : line.startsWith("-") && !line.startsWith("---") ? "del" : "";
    return el("div", { class: `diff-line ${kind}` }, line);
  }));
}

// ---- start -------------------------------------------------------------------------------

window.addEventListener("hashchange", route);
setInterval(() => {
  if (!page.reachable && page.current) refreshApprovals();
}, 2000);
// "5 min ago" grows older without news.
setInterval(showSessions, 30000);
followSessions();
route();
