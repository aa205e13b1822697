// crm-masker dashboard: renders the released cells that /events pushes (server-sent events).
// A suppressed cell shows as "suppressed", never as a number; no data leaves this page.
"use strict";

const charts = {};
const WINDOWS_SHOWN = 5;

function groupLabel(cell) {
  if (cell.total) return "total";
  return Object.values(cell.group || {}).map(String).join(" / ") || "(all)";
}

function element(tag, attrs, text) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

function section(name) {
  let node = document.getElementById("kpi-" + name);
  if (!node) {
    node = element("section", {id: "kpi-" + name, "data-kpi": name});
    node.append(element("h2", {}, name), element("p", {class: "meta"}),
                element("div", {class: "chart"}), element("div", {class: "cells"}));
    node.querySelector(".chart").append(element("canvas"));
    document.getElementById("kpis").append(node);
  }
  return node;
}

function measureNames(cells) {
  const skip = new Set(["kpi", "window_start", "window_end", "group", "total", "suppressed",
                        "min_group_size", "subjects", "rows", "rules_version", "rules_sha256"]);
  const names = new Set();
  for (const cell of cells) for (const key of Object.keys(cell)) if (!skip.has(key)) names.add(key);
  return [...names].sort();
}

function renderTable(node, cells) {
  const windows = [...new Set(cells.map(c => c.window_start))].sort().reverse().slice(0, WINDOWS_SHOWN);
  const shown = cells.filter(c => windows.includes(c.window_start))
    .sort((a, b) => b.window_start.localeCompare(a.window_start) || (a.total - b.total));
  const measures = measureNames(shown);
  const table = element("table");
  const head = element("tr");
  for (const title of ["window", "group", "subjects", "rows", ...measures]) head.append(element("th", {}, title));
  table.append(head);
  for (const cell of shown) {
    const row = element("tr", {"data-window": cell.window_start, "data-group": groupLabel(cell),
                               "data-suppressed": String(cell.suppressed)});
    row.append(element("td", {}, cell.window_start.replace("T", " ").replace("Z", " UTC")),
               element("td", {}, groupLabel(cell)));
    for (const key of ["subjects", "rows", ...measures]) {
      if (cell.suppressed) {
        row.append(element("td", {class: "suppressed", title: "fewer than " + cell.min_group_size + " data subjects"}, "suppressed"));
      } else {
        row.append(element("td", {class: "number"}, cell[key] === undefined || cell[key] === null ? "" : String(cell[key])));
      }
    }
    table.append(row);
  }
  node.querySelector(".cells").replaceChildren(table);
}

function renderChart(name, node, cells) {
  // the latest window with a released cell (else the latest): what can be read
  const readable = cells.filter(c => !c.total && !c.suppressed).map(c => c.window_start).sort();
  const latest = readable.pop() || cells.map(c => c.window_start).sort().pop();
  const groups = cells.filter(c => c.window_start === latest && !c.total);
  const labels = groups.map(c => groupLabel(c) + (c.suppressed ? " (suppressed)" : ""));
  const values = groups.map(c => c.suppressed ? null : c.subjects);
  if (typeof Chart === "undefined") return;  // the page works without the chart
  if (!charts[name]) {
    charts[name] = new Chart(node.querySelector("canvas"), {
      type: "bar",
      data: {labels: [], datasets: [{label: "data subjects", data: [], backgroundColor: "#3b6ea5"}]},
      options: {animation: false, responsive: true, maintainAspectRatio: false,
                plugins: {title: {display: true, text: ""}}},
    });
  }
  const chart = charts[name];
  chart.data.labels = labels;
  chart.data.datasets[0].data = values;
  chart.options.plugins.title.text = latest ? "window from " + latest : "no window released yet";
  chart.update();
}

function render(snapshot) {
  for (const [name, kpi] of Object.entries(snapshot.kpis)) {
    const node = section(name);
    const meta = node.querySelector(".meta");
    if (kpi.denied) {
      meta.className = "meta denied";
      meta.textContent = "not readable for this principal (" + kpi.denied + ")";
      node.setAttribute("data-denied", kpi.denied);
      continue;
    }
    const windows = new Set(kpi.cells.map(c => c.window_start)).size;
    meta.textContent = "topic " + kpi.topic + " · " + windows + " window(s) released";
    renderTable(node, kpi.cells);
    renderChart(name, node, kpi.cells);
  }
  document.body.setAttribute("data-version", String(snapshot.version));
}

function connect() {
  const status = document.getElementById("status");
  const source = new EventSource("/events");
  source.onopen = () => { status.textContent = "live"; };
  source.onmessage = (event) => render(JSON.parse(event.data));
  source.onerror = () => { status.textContent = "reconnecting …"; };
}

document.addEventListener("DOMContentLoaded", connect);
