// The rnnkit playground: plain JavaScript, no build step, nothing loaded from elsewhere.
// Sampling streams JSON lines ([character, shown activation in -1..1, raw activation]) from
// POST /api/sample; every character becomes a span whose background is its activation.
"use strict";

const $ = (id) => document.getElementById(id);
let models = [];
let limits = {};
let running = null; // the AbortController of the sample in progress

// Blue (-1) through white (0) to red (+1), the colours of `rnnkit cells` (rnnkit/viz/cellviz.py).
function colour(v) {
  v = Math.max(-1, Math.min(1, v));
  const [r, g, b] = v < 0 ? [1 + v * 0.75, 1 + v * 0.55, 1] : [1, 1 - v * 0.65, 1 - v * 0.75];
  return `rgb(${Math.round(r * 255)}, ${Math.round(g * 255)}, ${Math.round(b * 255)})`;
}

function showError(message) {
  $("error").textContent = message || "";
}

async function errorMessage(response) {
  try {
    const body = await response.json();
    return body.error || `HTTP ${response.status}`;
  } catch (e) {
    return `HTTP ${response.status}`;
  }
}

function option(select, value, text) {
  const o = document.createElement("option");
  o.value = value;
  o.textContent = text;
  select.appendChild(o);
}

function charModel() {
  return models.find((m) => m.id === $("charlm-model").value);
}

function describeModel() {
  const m = charModel();
  if (!m) return;
  $("charlm-about").textContent = `${m.layers}-layer ${m.cell}, hidden size ${m.hidden}, ${m.vocab_size} characters`;
  const probe = $("probe");
  const keep = probe.value;
  probe.replaceChildren();
  for (const p of m.probes) option(probe, p.name, `${p.name}: ${p.description}`);
  if (m.probes.some((p) => p.name === keep)) probe.value = keep;
  const layer = $("layer");
  layer.replaceChildren();
  for (let l = 0; l < m.layers; l++) option(layer, l, String(l));
  layer.value = String(m.layers - 1);
  $("unit").max = m.hidden - 1;
  describeProbe();
}

function describeProbe() {
  const m = charModel();
  const p = m && m.probes.find((q) => q.name === $("probe").value);
  const gate = p && "ifozr".includes(p.name);
  $("probe-about").textContent = p ? (gate ? `${p.description}: 0 shown as -1, 1 as +1` :
    p.name === "c" ? `${p.description}: shown as tanh(c)` : p.description) : "";
}

function numberField(id, integer) {
  const text = $(id).value.trim();
  if (text === "") return undefined;
  const value = Number(text);
  return integer ? Math.trunc(value) : value;
}

async function sample(event) {
  event.preventDefault();
  if (running) return;
  showError("");
  const request = {
    model: $("charlm-model").value,
    prime: $("prime").value,
    length: numberField("length", true),
    temperature: numberField("temperature", false),
    top_k: numberField("top-k", true),
    seed: numberField("seed", true),
    probe: $("probe").value,
    layer: numberField("layer", true),
    unit: numberField("unit", true),
  };
  const output = $("output");
  output.replaceChildren();
  output.dataset.state = "running";
  running = new AbortController();
  $("sample-button").disabled = true;
  $("stop-button").disabled = false;
  const started = performance.now();
  let count = 0;
  const primeLength = [...request.prime].length;
  try {
    const response = await fetch("/api/sample", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(request),
      signal: running.signal,
    });
    if (!response.ok) throw new Error(await errorMessage(response));
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffered = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffered += decoder.decode(value, { stream: true });
      const lines = buffered.split("\n");
      buffered = lines.pop();
      const fragment = document.createDocumentFragment();
      for (const line of lines) {
        if (!line) continue;
        const [c, shown, raw] = JSON.parse(line);
        const span = document.createElement("span");
        span.textContent = c;
        span.style.backgroundColor = colour(shown);
        span.title = `${request.probe}[${request.unit}] = ${raw.toFixed(3)}`;
        if (count < primeLength) span.className = "prime";
        fragment.appendChild(span);
        count += 1;
      }
      output.appendChild(fragment);
      output.scrollTop = output.scrollHeight;
      const seconds = (performance.now() - started) / 1000;
      $("sample-status").textContent = `${count} characters, ${(count / seconds).toFixed(0)} a second`;
    }
    output.dataset.state = "done";
  } catch (e) {
    output.dataset.state = "stopped";
    if (e.name !== "AbortError") showError(e.message);
  } finally {
    running = null;
    $("sample-button").disabled = false;
    $("stop-button").disabled = true;
  }
}

async function classify(event) {
  event.preventDefault();
  showError("");
  const result = $("classify-result");
  result.textContent = "...";
  try {
    const response = await fetch("/api/classify", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ model: $("sentiment-model").value, text: $("sentence").value }),
    });
    if (!response.ok) throw new Error(await errorMessage(response));
    const body = await response.json();
    result.replaceChildren();
    for (const [label, p] of Object.entries(body.probabilities)) {
      const line = document.createElement("div");
      line.textContent = `${label}: ${(100 * p).toFixed(1)}%`;
      const bar = document.createElement("span");
      bar.className = "bar";
      bar.style.width = `${(12 * p).toFixed(2)}rem`;
      line.appendChild(bar);
      if (label === body.label) line.style.fontWeight = "600";
      result.appendChild(line);
    }
    if (body.note) {
      const note = document.createElement("div");
      note.className = "about";
      note.textContent = body.note;
      result.appendChild(note);
    }
  } catch (e) {
    result.textContent = "";
    showError(e.message);
  }
}

async function start() {
  const stops = [];
  for (let k = 0; k <= 20; k++) stops.push(colour(-1 + k / 10));
  $("legend-bar").style.background = `linear-gradient(to right, ${stops.join(", ")})`;
  try {
    const response = await fetch("/api/models");
    if (!response.ok) throw new Error(await errorMessage(response));
    const body = await response.json();
    models = body.models;
    limits = body.limits;
  } catch (e) {
    showError(`cannot list the models: ${e.message}`);
    return;
  }
  const chars = models.filter((m) => m.task === "charlm");
  const sentiment = models.filter((m) => m.task === "sentiment");
  for (const m of chars) option($("charlm-model"), m.id, m.id);
  for (const m of sentiment) option($("sentiment-model"), m.id, m.id);
  $("charlm-panel").hidden = chars.length === 0;
  $("sentiment-panel").hidden = sentiment.length === 0;
  $("prime").maxLength = limits.max_prime;
  $("length").max = limits.max_length;
  $("sentence").maxLength = limits.max_text;
  $("charlm-model").addEventListener("change", describeModel);
  $("probe").addEventListener("change", describeProbe);
  $("sample-form").addEventListener("submit", sample);
  $("stop-button").addEventListener("click", () => running && running.abort());
  $("classify-form").addEventListener("submit", classify);
  if (chars.length) describeModel();
  document.body.dataset.ready = "true";
}

document.addEventListener("DOMContentLoaded", start);
