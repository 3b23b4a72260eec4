// The demo page's script: served from its own route, because the page's
// Content-Security-Policy allows no inline script. It posts to this page's
// own server (/demo/register), never to /api/register: only the server knows
// the API key.
"use strict";

const form = document.getElementById("register-form");
const button = document.getElementById("submit");
const result = document.getElementById("result");

function clearFieldErrors() {
  for (const span of document.querySelectorAll("[data-error-for]")) {
    span.textContent = "";
  }
}

// Shows the server's own words: `message`, and each field's message next to
// the field (or in a list when the page has no such field, e.g. unknown_field).
function showAnswer(answer, retryAfterSecs) {
  result.hidden = false;
  result.className = answer.ok ? "result ok" : "result error";
  result.dataset.detail = answer.ok ? "ok" : String(answer.detail || "");
  result.textContent = String(answer.message || "");
  const unplaced = document.createElement("ul");
  for (const error of Array.isArray(answer.errors) ? answer.errors : []) {
    const span = document.querySelector(`[data-error-for="${CSS.escape(String(error.field))}"]`);
    if (span) {
      span.textContent = String(error.message);
    } else {
      const item = document.createElement("li");
      item.textContent = String(error.message);
      unplaced.appendChild(item);
    }
  }
  if (unplaced.childElementCount > 0) {
    result.appendChild(unplaced);
  }
  if (retryAfterSecs > 0) {
    const wait = document.createElement("p");
    wait.textContent = `Повторите через ${retryAfterSecs} с / Retry in ${retryAfterSecs} s`;
    result.appendChild(wait);
  }
}

// The JSON body. Telegram ids can exceed 2^53, where a JS number loses digits,
// so the id's digits go into the JSON text as typed; anything else is sent as
// a string and the server answers with its field message.
function requestBody(data) {
  const fields = {
    login: String(data.get("login") || ""),
    password: String(data.get("password") || ""),
    gender: data.get("gender") === "" ? null : Number(data.get("gender")),
  };
  const id = String(data.get("telegram_id") || "").trim();
  const idJson = /^[0-9]{1,19}$/.test(id) ? id : JSON.stringify(id);
  const text = JSON.stringify(fields);
  return `${text.slice(0, -1)},"telegram_id":${idJson}}`;
}

// One Idempotency-Key per registration attempt (docs/API.md#idempotency-key): kept
// while the same form is sent again after a network error, a 5xx or
// request_in_progress — so a retry gets the first attempt's answer instead of
// login_taken — and dropped once an answer is final. getRandomValues works on
// plain-HTTP pages too, where crypto.randomUUID does not.
let attempt = null;

function attemptKey(body) {
  if (!attempt || attempt.body !== body) {
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
    attempt = { body, key: `"${hex}"` };
  }
  return attempt.key;
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearFieldErrors();
  button.disabled = true;
  let retryAfterSecs = 0;
  try {
    const body = requestBody(new FormData(form));
    const response = await fetch("/demo/register", {
      method: "POST",
      headers: { "Content-Type": "application/json", "Idempotency-Key": attemptKey(body) },
      body,
    });
    retryAfterSecs = Number.parseInt(response.headers.get("Retry-After") || "0", 10) || 0;
    let answer;
    try {
      answer = await response.json();
    } catch {
      answer = { ok: false, detail: "", message: `HTTP ${response.status}` };
    }
    if (response.status < 500 && answer.detail !== "request_in_progress") attempt = null;
    showAnswer(answer, retryAfterSecs);
  } catch {
    showAnswer({ ok: false, detail: "", message: "Сеть недоступна / Network error" }, 0);
  } finally {
    // Honour Retry-After: the button stays off until the server will listen.
    setTimeout(() => { button.disabled = false; }, retryAfterSecs * 1000);
  }
});

async function loadStatus() {
  const list = document.getElementById("status-values");
  const rows = [];
  try {
    const response = await fetch("/api/server/status");
    const status = await response.json();
    if (!response.ok) {
      rows.push(["", String(status.message || `HTTP ${response.status}`)]);
    } else {
      rows.push(["server_status", status.server_status === 1 ? "online (1)" : String(status.server_status)]);
      if (status.game_server !== undefined) {
        rows.push(["game_server", status.game_server]);
      }
      if (status.online !== undefined) {
        rows.push(["online", status.online === null ? "—" : String(status.online)]);
      }
      for (const [name, value] of Object.entries(status.rates || {})) {
        rows.push([`rate ${name}`, `×${value}`]);
      }
      rows.push(["client_status", String(status.client_status)]);
    }
  } catch {
    rows.push(["", "Сеть недоступна / Network error"]);
  }
  list.replaceChildren();
  for (const [name, value] of rows) {
    const dt = document.createElement("dt");
    dt.textContent = name;
    const dd = document.createElement("dd");
    dd.textContent = value;
    list.append(dt, dd);
  }
}

loadStatus();
