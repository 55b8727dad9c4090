// The Sluice dashboard: polls the JSON API once a second and draws uPlot charts.
// Routes: "#/" lists the queries, "#/query/<id>" shows one query.
"use strict";

(function () {
  const POLL_MS = 1000;
  const MAX_POINTS = 600;  // ten minutes of one-second epochs
  const PHASES = [
    ["triggerExecution", "total", "#2f6fde"],
    ["addBatch", "addBatch", "#1f9d55"],
    ["commit", "commit", "#d64545"],
    ["walCommit", "walCommit", "#9446ed"],
    ["latestOffset", "latestOffset", "#f0b429"],
  ];

  const $ = (id) => document.getElementById(id);
  const integer = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });
  const decimal = new Intl.NumberFormat("en-US", { maximumFractionDigits: 1 });

  function formatNumber(value) {
    if (value == null || !isFinite(value)) return "–";
    return Math.abs(value) >= 100 || Number.isInteger(value) ? integer.format(value) : decimal.format(value);
  }
  // Labels an axis tick with as many decimals as the spacing of ticks needs.
  function formatTick(value, increment) {
    if (value == null) return "";
    const abs = Math.abs(value);
    if (abs >= 1e9) return decimal.format(value / 1e9) + "G";
    if (abs >= 1e6) return decimal.format(value / 1e6) + "M";
    if (abs >= 1e4) return decimal.format(value / 1e3) + "k";
    const decimals = Math.min(6, Math.max(0, -Math.floor(Math.log10(increment || 1))));
    return value.toLocaleString("en-US", { minimumFractionDigits: decimals, maximumFractionDigits: decimals });
  }
  function formatSeconds(seconds) {
    if (seconds == null || !isFinite(seconds)) return "–";
    if (Math.abs(seconds) < 1) return integer.format(seconds * 1000) + " ms";
    if (Math.abs(seconds) < 120) return decimal.format(seconds) + " s";
    if (Math.abs(seconds) < 7200) return decimal.format(seconds / 60) + " min";
    if (Math.abs(seconds) < 172800) return decimal.format(seconds / 3600) + " h";
    return integer.format(seconds / 86400) + " d";
  }
  function setText(id, text, raw) {
    const element = $(id);
    element.textContent = text;
    if (raw !== undefined) element.dataset.value = String(raw);
  }

  // Derives the charted values of one progress report.
  function point(progress) {
    const time = Date.parse(progress.timestamp) / 1000;
    const watermark = progress.eventTime && progress.eventTime.watermark;
    const lag = watermark ? time - Date.parse(watermark) / 1000 : null;
    let stateRows = null;
    for (const op of progress.stateOperators || []) stateRows = (stateRows || 0) + op.numRowsTotal;
    const durations = progress.durationMs || {};
    // Source lag: records available but not read, per partition (latestOffset - endOffset),
    // for every source whose offsets are arrays of one number per partition.
    let lagTotal = null;
    let lagMax = null;
    for (const source of progress.sources || []) {
      const end = source.endOffset;
      const latest = source.latestOffset;
      if (!Array.isArray(end) || !Array.isArray(latest) || end.length !== latest.length) continue;
      for (let p = 0; p < end.length; ++p) {
        const lag = Math.max(latest[p] - end[p], 0);
        lagTotal = (lagTotal || 0) + lag;
        lagMax = Math.max(lagMax || 0, lag);
      }
    }
    return {
      time,
      batchId: progress.batchId,
      inputRate: progress.inputRowsPerSecond,
      processedRate: progress.processedRowsPerSecond,
      durations: PHASES.map(([phase]) => (phase in durations ? durations[phase] : null)),
      lag,
      stateRows,
      lagTotal,
      lagMax,
    };
  }

  async function getJson(url) {
    const response = await fetch(url, { cache: "no-store" });
    if (!response.ok) throw new Error(url + ": HTTP " + response.status);
    return response.json();
  }

  function statusOf(query) {
    const state = query.state || (query.active ? "active" : query.exception ? "failed" : "stopped");
    return [state, state];
  }
  function displayName(query) { return query.name || query.id; }

  // ---- the list of queries ----
  function renderList(queries) {
    const body = $("query-table").querySelector("tbody");
    body.textContent = "";
    $("no-queries").hidden = queries.length > 0;
    for (const query of queries) {
      const row = document.createElement("tr");
      const last = query.lastProgress;
      const [statusText, statusClass] = statusOf(query);
      const link = document.createElement("a");
      link.href = "#/query/" + encodeURIComponent(query.id);
      link.textContent = displayName(query);
      link.className = "query-link";
      const cells = [
        link,
        Object.assign(document.createElement("span"), { className: "badge " + statusClass, textContent: statusText }),
        query.lastBatchId == null ? "–" : integer.format(query.lastBatchId),
        integer.format(query.inputRowsTotal),
        last ? formatNumber(last.inputRowsPerSecond) : "–",
        last ? formatNumber(last.processedRowsPerSecond) : "–",
        query.stateRows == null ? "–" : integer.format(query.stateRows),
      ];
      cells.forEach((content, index) => {
        const cell = document.createElement("td");
        if (index >= 2) cell.className = "number";
        if (typeof content === "string") cell.textContent = content; else cell.appendChild(content);
        row.appendChild(cell);
      });
      body.appendChild(row);
    }
  }

  // ---- one query ----
  // Draws a time chart of `series` ([label, color, fill]); `log` puts y on a log scale (rates
  // that differ by orders of magnitude, where a linear scale flattens the smaller one).
  function makeChart(element, series, valueFormat, log) {
    const options = {
      width: Math.max(element.clientWidth, 300),
      height: 240,
      scales: { x: { time: true }, y: log ? { distr: 3, log: 10 } : {} },
      series: [{}].concat(series.map(([label, color, fill]) => ({
        label, stroke: color, width: 2, fill: fill || undefined, points: { show: false },
        value: (plot, value) => (value == null ? "–" : valueFormat(value)),
      }))),
      axes: [{}, { size: 64, values: (plot, values, axis, space, increment) =>
        values.map((value) => formatTick(value, log ? Math.abs(value) : increment)) }],
      cursor: { drag: { x: false, y: false } },
      legend: { live: true },
    };
    return new uPlot(options, [[]].concat(series.map(() => [])), element);
  }

  class QueryPage {
    constructor(id) {
      this.id = id;
      this.points = [];
      this.lastBatchId = -1;
      this.charts = {
        rates: makeChart($("chart-rates"), [["input rows/s", "#2f6fde"],
                                            ["processed rows/s", "#1f9d55"]], formatNumber, true),
        duration: makeChart($("chart-duration"), PHASES.map(([, label, color]) => [label, color]),
                            (ms) => integer.format(ms) + " ms"),
        watermark: makeChart($("chart-watermark"), [["lag", "#9446ed", "rgba(148,70,237,0.08)"]], formatSeconds),
        state: makeChart($("chart-state"), [["state rows", "#d64545", "rgba(214,69,69,0.08)"]], formatNumber),
        lag: makeChart($("chart-lag"), [["all partitions", "#f0b429", "rgba(240,180,41,0.08)"],
                                        ["largest partition", "#2f6fde"]], formatNumber),
      };
      window.__sluiceChartPoints = 0;
    }

    destroy() {
      this.destroyed = true;
      for (const chart of Object.values(this.charts)) chart.destroy();
    }

    resize() {
      for (const [name, chart] of Object.entries(this.charts)) {
        const element = $("chart-" + name);
        chart.setSize({ width: Math.max(element.clientWidth, 300), height: 240 });
      }
    }

    async refresh(queries) {
      const query = queries.find((q) => q.id === this.id);
      if (!query) {
        setText("query-name", "No query with id " + this.id);
        return;
      }
      const reports = await getJson("/api/queries/" + encodeURIComponent(this.id) +
                                    "/progress?since=" + this.lastBatchId);
      if (this.destroyed) return;
      for (const report of reports) {
        if (report.batchId <= this.lastBatchId) continue;
        this.lastBatchId = report.batchId;
        this.points.push(point(report));
      }
      if (this.points.length > MAX_POINTS) this.points.splice(0, this.points.length - MAX_POINTS);
      this.renderSummary(query);
      if (reports.length > 0) this.renderCharts();
    }

    renderSummary(query) {
      const [statusText, statusClass] = statusOf(query);
      setText("query-name", displayName(query));
      $("query-status").className = "badge " + statusClass;
      setText("query-status", statusText);
      setText("query-id", query.id);
      setText("query-run-id", query.runId);
      const last = query.lastProgress;
      setText("query-sink", last ? "sink " + last.sink.description : "no epoch yet");
      $("query-error").hidden = !query.exception;
      setText("query-error", query.exception || "");
      setText("input-rows-total", integer.format(query.inputRowsTotal), query.inputRowsTotal);
      setText("sink-rows-total", integer.format(query.sinkRowsTotal), query.sinkRowsTotal);
      setText("dropped-rows", integer.format(query.numRowsDroppedByWatermarkTotal), query.numRowsDroppedByWatermarkTotal);
      setText("state-rows", query.stateRows == null ? "–" : integer.format(query.stateRows));
      setText("last-batch-id", query.lastBatchId == null ? "–" : integer.format(query.lastBatchId));
      const latest = last ? point(last) : null;
      setText("input-rate", latest ? formatNumber(latest.inputRate) : "–", latest ? latest.inputRate : 0);
      setText("processed-rate", latest ? formatNumber(latest.processedRate) : "–");
      setText("epoch-duration", latest && latest.durations[0] != null ? integer.format(latest.durations[0]) + " ms" : "–");
      setText("watermark-lag", latest && latest.lag != null ? formatSeconds(latest.lag) : "none");
      setText("source-lag", latest && latest.lagTotal != null ? integer.format(latest.lagTotal) : "–");
      this.renderPlan(query);
    }

    // Shows the physical plan, the whole explain output on demand, and what the last report
    // says of each source and stateful operator.
    renderPlan(query) {
      const plan = query.plan || "";
      const marker = "== Physical Plan ==";
      const at = plan.indexOf(marker);
      const physical = at >= 0 ? plan.slice(at + marker.length).trim() : plan.trim();
      setText("query-plan", physical || "not known (the query ended before the monitor saw it start)");
      setText("query-explain", plan);
      $("query-explain-details").hidden = !plan;
      const body = $("operator-table").querySelector("tbody");
      body.textContent = "";
      const last = query.lastProgress;
      const rows = [];
      if (last) {
        for (const source of last.sources || []) {
          rows.push(["source " + source.description, source.numInputRows, null, null, null, null]);
        }
        for (const op of last.stateOperators || []) {
          rows.push([op.operatorName, null, op.numRowsTotal, op.numRowsUpdated, op.numRowsDroppedByWatermark,
                     op.memoryUsedBytes]);
        }
        rows.push(["sink " + last.sink.description, last.sink.numOutputRows, null, null, null, null]);
      }
      for (const values of rows) {
        const row = document.createElement("tr");
        values.forEach((value, index) => {
          const cell = document.createElement("td");
          if (index > 0) cell.className = "number";
          cell.textContent = index === 0 ? value : value == null ? "" : integer.format(value);
          row.appendChild(cell);
        });
        body.appendChild(row);
      }
      $("operator-table").hidden = rows.length === 0;
    }

    renderCharts() {
      const times = this.points.map((p) => p.time);
      // A log scale has no zero: an epoch without rows leaves a gap.
      const positive = (value) => (value > 0 ? value : null);
      this.charts.rates.setData([times, this.points.map((p) => positive(p.inputRate)),
                                 this.points.map((p) => positive(p.processedRate))]);
      this.charts.duration.setData([times].concat(PHASES.map((_, i) => this.points.map((p) => p.durations[i]))));
      this.charts.watermark.setData([times, this.points.map((p) => p.lag)]);
      this.charts.state.setData([times, this.points.map((p) => p.stateRows)]);
      this.charts.lag.setData([times, this.points.map((p) => p.lagTotal), this.points.map((p) => p.lagMax)]);
      // The fewest points any chart holds, for tests and scripts that wait for drawn charts.
      window.__sluiceChartPoints = Math.min(...Object.values(this.charts).map((chart) => chart.data[0].length));
    }
  }

  // ---- routing and polling ----
  let page = null;
  let timer = null;
  let generation = 0;  // a poll of an earlier route gives up instead of drawing

  function route() {
    const match = /^#\/query\/(.+)$/.exec(location.hash);
    const id = match ? decodeURIComponent(match[1]) : null;
    $("list-view").hidden = id !== null;
    $("query-view").hidden = id === null;
    if (page && (!id || page.id !== id)) {
      page.destroy();
      page = null;
    }
    if (id && !page) page = new QueryPage(id);
    poll(++generation);
  }

  async function poll(current) {
    clearTimeout(timer);
    try {
      const { queries } = await getJson("/api/queries");
      if (current !== generation) return;
      if (page) await page.refresh(queries); else renderList(queries);
      if (current !== generation) return;
      const connection = $("connection");
      connection.className = "connection";
      connection.textContent = "live · " + new Date().toLocaleTimeString();
    } catch (error) {
      const connection = $("connection");
      connection.className = "connection lost";
      connection.textContent = "cannot reach the server; retrying";
    }
    if (current === generation) timer = setTimeout(() => poll(current), POLL_MS);
  }

  window.addEventListener("hashchange", route);
  window.addEventListener("resize", () => { if (page) page.resize(); });
  route();
})();
