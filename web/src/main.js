// The node's dashboard: panels from the node's REST reads, refreshed when GET /v1/events
// announces a block (no polling). Units: Wh and W from the API shown as kWh and kW; prices
// in base units per kWh (6 decimals) shown as tokens/kWh; wads (1e18) as fractions.
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import "./style.css";

const TOKEN = 1e6;
const WAD = 1e18;
const KEY_STORE = "gridledger-api-key";
const $ = (id) => document.getElementById(id);
const charts = {};

const fmt = {
  kwh: (wh) => (wh / 1000).toFixed(3),
  tokens: (units) => (units / TOKEN).toFixed(3),
  price: (perKwh) => (perKwh / TOKEN).toFixed(4),
  wad: (wad) => (wad / WAD).toFixed(4),
  pct: (x) => (x === null || x === undefined ? "–" : (100 * x).toFixed(1) + " %"),
  short: (addr) => (addr ? addr.slice(0, 8) + "…" + addr.slice(-4) : "–"),
  utc: (ts) => new Date(ts * 1000).toISOString().slice(0, 16).replace("T", " "),
  clock: (s) => `${String(Math.floor(s / 3600)).padStart(2, "0")}:${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}`,
};

async function getJson(path) {
  const reply = await fetch(path, { headers: { Accept: "application/json" } });
  const body = await reply.json();
  if (!reply.ok) throw new Error(body.message || `${path}: HTTP ${reply.status}`);
  return body;
}

function el(tag, text, attrs = {}) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  return node;
}

function facts(target, pairs) {
  target.replaceChildren(
    ...pairs.map(([label, value, id]) => {
      const box = el("div");
      box.append(el("dt", label), el("dd", value, id ? { id } : {}));
      return box;
    }),
  );
}

function rows(tbody, data, cells) {
  tbody.replaceChildren(
    ...data.map((item) => {
      const tr = el("tr");
      cells(item).forEach((value, i) => tr.append(el(i === 0 ? "th" : "td", value, i === 0 ? { scope: "row" } : {})));
      return tr;
    }),
  );
}

// uPlot draws on a canvas: every chart is role=img with a text summary next to it.
function plot(id, opts, data) {
  const box = $(id);
  const width = Math.max(280, box.clientWidth || 600);
  if (charts[id] && charts[id].series.length === opts.series.length) {
    charts[id].setData(data);
    return;
  }
  if (charts[id]) charts[id].destroy();
  charts[id] = new uPlot({ width, height: 240, ...opts }, data, box);
}

window.addEventListener("resize", () => {
  for (const [id, chart] of Object.entries(charts)) {
    chart.setSize({ width: Math.max(280, $(id).clientWidth), height: 240 });
  }
});

// ------------------------------------------------------------------ layers
async function loadLayers() {
  const { layers } = await getJson("/v1/layers");
  $("layers-grid").replaceChildren(
    ...layers.map((layer) => {
      const card = el("article", undefined, { class: "card", "aria-labelledby": `layer-${layer.layer}` });
      card.append(el("h3", `${layer.layer} ${layer.name}`, { id: `layer-${layer.layer}` }));
      const dl = el("dl");
      dl.append(el("dt", "modules"), el("dd", layer.modules.join(", ")));
      for (const [k, v] of Object.entries(layer.state)) {
        dl.append(el("dt", k.replaceAll("_", " ")), el("dd", typeof v === "object" && v !== null ? JSON.stringify(v) : v ?? "–"));
      }
      card.append(dl);
      return card;
    }),
  );
}

// ------------------------------------------------------------------ market
let bookInterval = null;

// Supply (sells by rising price) and demand (buys by falling price) as step curves over a
// shared cumulative-quantity axis [kWh], with the clearing point.
function curves(orders, volumeWh, pricePerKwh) {
  const side = (s, dir) =>
    orders.filter((o) => o.side === s).sort((a, b) => dir * (a.limit_price_per_kwh - b.limit_price_per_kwh));
  const steps = (list) => {
    let q = 0;
    return list.map((o) => ({ from: q, to: (q += o.quantity_wh), price: o.limit_price_per_kwh }));
  };
  const supply = steps(side("sell", 1));
  const demand = steps(side("buy", -1));
  const xs = new Set([0]);
  for (const s of [...supply, ...demand]) { xs.add(s.from); xs.add(s.to); }
  if (volumeWh) xs.add(volumeWh);
  const x = [...xs].sort((a, b) => a - b);
  const at = (list, q) => {
    const step = list.find((s) => q >= s.from && q < s.to) || (list.length && q === list[list.length - 1].to ? list[list.length - 1] : null);
    return step ? step.price / TOKEN : null;
  };
  return [
    x.map((q) => q / 1000),
    x.map((q) => at(supply, q)),
    x.map((q) => at(demand, q)),
    x.map((q) => (volumeWh && q === volumeWh ? pricePerKwh / TOKEN : null)),
  ];
}

async function loadBook(interval) {
  const it = await getJson(`/v1/market/intervals/${interval}`);
  const data = curves(it.orders, it.volume_wh, it.price_per_kwh);
  plot("book-chart", {
    scales: { x: { time: false } },
    axes: [{ label: "cumulative kWh" }, { label: "tokens/kWh" }],
    series: [
      { label: "kWh" },
      { label: "supply", stroke: "#0b57a4", width: 2, paths: uPlot.paths.stepped({ align: 1 }) },
      { label: "demand", stroke: "#b35c00", width: 2, paths: uPlot.paths.stepped({ align: 1 }) },
      { label: "clearing", stroke: "#a40e0e", width: 0, points: { show: true, size: 10, fill: "#a40e0e" } },
    ],
  }, data);
  const sells = it.orders.filter((o) => o.side === "sell").length;
  $("book-caption").textContent = `Order book of interval ${interval} (${it.phase})`;
  $("book-summary").textContent =
    `${it.orders.length} orders (${sells} sells, ${it.orders.length - sells} buys)` +
    (it.cleared ? `; cleared ${fmt.kwh(it.volume_wh)} kWh at ${fmt.price(it.price_per_kwh)} tokens/kWh` : "; not cleared");
}

async function loadMarket() {
  const m = await getJson("/v1/dashboard/market");
  facts($("market-facts"), [
    ["open interval", m.open_interval, "open-interval"],
    ["last cleared interval", m.last_cleared_interval ?? "–"],
    ["price band [tokens/kWh]", `${fmt.price(m.price_floor_per_kwh)} – ${fmt.price(m.price_ceiling_per_kwh)}`],
    ["prosumer", fmt.short(m.prosumer)],
  ]);
  const p = m.prices;
  plot("price-chart", {
    axes: [{}, { label: "tokens/kWh" }],
    series: [
      {},
      { label: "price", stroke: "#0b57a4", width: 2, points: { show: true } },
      { label: "floor", stroke: "#767676", dash: [6, 4] },
      { label: "ceiling", stroke: "#767676", dash: [6, 4] },
    ],
  }, [p.map((x) => x.start_ts), p.map((x) => x.price_per_kwh / TOKEN), p.map(() => m.price_floor_per_kwh / TOKEN), p.map(() => m.price_ceiling_per_kwh / TOKEN)]);
  $("price-summary").textContent = p.length
    ? `${p.length} cleared intervals; last ${fmt.price(p[p.length - 1].price_per_kwh)} tokens/kWh`
    : "no interval cleared yet";
  rows($("own-orders").tBodies[0], m.own_orders, (o) => [
    o.order_id, o.interval, o.side, fmt.kwh(o.quantity_wh), fmt.price(o.limit_price_per_kwh), o.phase,
    fmt.kwh(o.filled_wh), o.credited_units === null ? "–" : fmt.tokens(o.credited_units),
  ]);
  const input = $("book-interval");
  if (bookInterval === null) {
    bookInterval = m.last_cleared_interval ?? m.open_interval;
    input.value = bookInterval;
  }
  await loadBook(bookInterval);
}

$("book-interval").addEventListener("change", (e) => {
  const n = Number(e.target.value);
  if (Number.isInteger(n) && n >= 0) { bookInterval = n; loadBook(n).catch(showError); }
});

// ------------------------------------------------------------------ order form
const keyInput = $("api-key");
keyInput.value = sessionStorage.getItem(KEY_STORE) || "";
$("order-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  $("order-result").textContent = "";
  $("order-error").textContent = "";
  sessionStorage.setItem(KEY_STORE, keyInput.value);
  const body = {
    side: $("side").value,
    quantity_wh: Number($("quantity").value),
    limit_price_per_kwh: Number($("price").value),
  };
  if ($("interval").value !== "") body.interval = Number($("interval").value);
  $("order-result").textContent = "placing the order…";
  const reply = await fetch("/v1/orders", {
    method: "POST",
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${keyInput.value}` },
    body: JSON.stringify(body),
  });
  const answer = await reply.json().catch(() => ({ message: `HTTP ${reply.status}` }));
  if (!reply.ok) {
    $("order-result").textContent = "";
    $("order-error").textContent = `${reply.status} ${answer.error || ""}: ${answer.message}`;
    return;
  }
  $("order-result").textContent = `order ${answer.order_id} placed in interval ${answer.interval} (block ${answer.block_number})`;
  bookInterval = answer.interval;
  $("book-interval").value = answer.interval;
  await loadMarket();
});

// ------------------------------------------------------------------ import caps
let caps = [];

function boundText(t) {
  if (t.kind === 1 || t.kind === "lower") return `≥ ${t.lower_w / 1000}`;
  if (t.kind === 2 || t.kind === "range") return `${t.lower_w / 1000} – ${t.upper_w / 1000}`;
  return `≤ ${t.upper_w / 1000}`;
}

function drawPcc() {
  const c = caps.find((x) => String(x.id) === $("pcc-contract").value) || caps[0];
  if (!c) { $("pcc-summary").textContent = "no import-cap contract on chain"; return; }
  const s = c.series;
  const violating = s.filter((p) => p.violation_wh > 0).length;
  plot("pcc-chart", {
    axes: [{}, { label: "kW" }],
    series: [
      {},
      { label: "PCC power", stroke: "#0b57a4", width: 1.5 },
      { label: "cap", stroke: "#767676", dash: [6, 4] },
      { label: "violating", stroke: "#a40e0e", width: 0, points: { show: true, size: 6, fill: "#a40e0e" } },
    ],
  }, [
    s.map((p) => p.start_ts),
    s.map((p) => p.p_w / 1000),
    s.map(() => c.terms.upper_w / 1000),
    s.map((p) => (p.violation_wh > 0 ? p.p_w / 1000 : null)),
  ]);
  $("pcc-summary").textContent =
    `contract ${c.id}: ${s.length} readings in the window, ${violating} above the cap` +
    (c.series_truncated ? " (series truncated)" : "");
}

async function loadCaps() {
  const panel = await getJson("/v1/dashboard/caps");
  caps = panel.contracts;
  rows($("caps-table").tBodies[0], caps, (c) => [
    c.id, fmt.short(c.terms.importer), boundText(c.terms),
    c.terms.window_start_s === c.terms.window_end_s ? "all day" : `${fmt.clock(c.terms.window_start_s)}–${fmt.clock(c.terms.window_end_s)}`,
    fmt.kwh(c.status.violation_wh), fmt.wad(c.status.compliance_wad), fmt.tokens(c.status.penalty_units), fmt.wad(c.status.trust_wad),
  ]);
  rows($("participants-table").tBodies[0], panel.participants, (p) => [
    fmt.short(p.participant), p.contracts, fmt.kwh(p.violation_wh), fmt.tokens(p.penalty_units), fmt.wad(p.trust_wad),
  ]);
  const select = $("pcc-contract");
  const chosen = select.value;
  select.replaceChildren(...caps.map((c) => el("option", `${c.id}: ${fmt.short(c.terms.importer)} ${boundText(c.terms)} kW`, { value: c.id })));
  if (chosen && caps.some((c) => String(c.id) === chosen)) select.value = chosen;
  drawPcc();
}
$("pcc-contract").addEventListener("change", drawPcc);

// ------------------------------------------------------------------ chain
async function loadChain() {
  const c = await getJson("/v1/chain");
  showHead(c.head, c.finalized);
  const rejected = Object.values(c.rejected_blocks).reduce((a, b) => a + b, 0);
  facts($("chain-facts"), [
    ["engine", c.engine], ["chain id", c.chain_id], ["head", c.head], ["finalized", c.finalized ?? "–"],
    ["pending transactions", c.pending_transactions ?? "–"], ["peers", c.peers.length], ["rejected blocks", rejected],
  ]);
  const b = c.blocks.filter((x) => x.interval_s !== null);
  plot("blocks-chart", {
    scales: { x: { time: false } },
    axes: [{ label: "block" }, { label: "s" }],
    series: [{ label: "block" }, { label: "interval", stroke: "#0b57a4", width: 2, points: { show: true } }],
  }, [b.map((x) => x.number), b.map((x) => x.interval_s)]);
  const mean = b.length ? b.reduce((a, x) => a + x.interval_s, 0) / b.length : null;
  $("blocks-summary").textContent = mean === null ? "no blocks yet" : `${b.length} blocks, ${mean.toFixed(1)} s apart on average`;
  rows($("peers-table").tBodies[0], c.peers, (p) => [p.name, p.head ?? "–", p.finalized ?? "–", p.alive ? "yes" : "no", c.rejected_blocks[p.name] ?? 0]);
}

// ------------------------------------------------------------------ KPIs
// The period: ?from=&to= on the page's URL [unix s], else the day up to the head.
async function loadKpis() {
  const page = new URLSearchParams(location.search);
  const period = new URLSearchParams();
  for (const key of ["from", "to"]) if (page.get(key)) period.set(key, page.get(key));
  const k = await getJson(`/v1/dashboard/kpis${period.size ? "?" + period : ""}`);
  facts($("kpi-facts"), [
    ["period (UTC)", `${fmt.utc(k.from_ts)} – ${fmt.utc(k.to_ts)}`],
    ["readings", k.readings + (k.truncated ? "+" : "")],
    ["self-sufficiency", fmt.pct(k.self_sufficiency)],
    ["self-consumption", fmt.pct(k.self_consumption)],
    ["local energy [kWh]", fmt.kwh(k.local_wh)],
    ["grid import [kWh]", fmt.kwh(k.grid_import_wh)],
    ["grid export [kWh]", fmt.kwh(k.grid_export_wh)],
    ["market volume [kWh]", fmt.kwh(k.market_volume_wh)],
  ]);
}

// ------------------------------------------------------------------ bills
async function loadBills() {
  const b = await getJson("/v1/dashboard/bills");
  $("bills-period").textContent = b.intervals
    ? `over ${b.intervals === 1 ? "the last cleared interval" : `the ${b.intervals} latest cleared intervals`}, ${b.from_interval}` +
      (b.to_interval === b.from_interval ? "" : ` – ${b.to_interval}`)
    : "no interval cleared yet";
  rows($("bills-table").tBodies[0], b.bills, (x) => [
    x.participant === b.prosumer ? `${fmt.short(x.participant)} (this node)` : fmt.short(x.participant),
    x.intervals, fmt.kwh(x.bought_wh), fmt.tokens(-x.bought_units), fmt.tokens(x.escrow_refunded_units),
    fmt.kwh(x.sold_wh), fmt.tokens(x.sold_units), fmt.tokens(-x.network_charge_units), fmt.tokens(x.held_units),
    fmt.tokens(-x.delivery_penalty_units), fmt.tokens(-x.cap_penalty_units), fmt.tokens(x.net_units),
  ]);
}

// ------------------------------------------------------------------ forecast
const FORECAST_ROWS = 12;

async function loadForecast() {
  const f = await getJson("/v1/dashboard/forecast");
  $("forecast-note").textContent = f.forecasting ? `strategy ${f.strategy}: ${f.note}` : f.note;
  const p = f.points;
  plot("forecast-chart", {
    axes: [{}, { label: "kWh (> 0 import)" }],
    series: [
      {},
      { label: "forecast", stroke: "#0b57a4", width: 2, points: { show: true } },
      { label: "metered", stroke: "#b35c00", width: 2, dash: [6, 4], points: { show: true } },
    ],
  }, [p.map((x) => x.start_ts), p.map((x) => x.forecast_net_wh / 1000), p.map((x) => (x.actual_net_wh === null ? null : x.actual_net_wh / 1000))]);
  const metered = p.filter((x) => x.actual_net_wh !== null);
  const mae = metered.length ? metered.reduce((a, x) => a + Math.abs(x.forecast_net_wh - x.actual_net_wh), 0) / metered.length : null;
  $("forecast-summary").textContent = !f.forecasting
    ? "no forecast on this node"
    : p.length
      ? `${p.length} past intervals, ${metered.length} metered` + (mae === null ? "" : `; mean absolute error ${fmt.kwh(mae)} kWh`)
      : "no past interval forecast yet";
  rows($("forecast-table").tBodies[0], p.slice(-FORECAST_ROWS).reverse(), (x) => [
    x.interval, fmt.utc(x.start_ts), fmt.kwh(x.forecast_net_wh), x.side ? `${x.side} ${fmt.kwh(x.quantity_wh)} kWh` : "nothing",
    x.actual_net_wh === null ? "–" : fmt.kwh(x.actual_net_wh),
    x.actual_net_wh === null ? "–" : fmt.kwh(x.actual_net_wh - x.forecast_net_wh),
  ]);
}

// ------------------------------------------------------------------ audit
$("audit-run").addEventListener("click", async () => {
  const out = $("audit-result");
  const list = $("audit-mismatches");
  out.textContent = "auditing…";
  list.replaceChildren();
  try {
    const r = await getJson("/v1/audit/report");
    const n = r.document.contracts ? r.document.contracts.length : 0;
    out.replaceChildren(
      el("span", r.matches ? `${n} contracts at block ${r.block}: all match the reference model` : `${r.mismatches.length} mismatches at block ${r.block}`, { class: r.matches ? "match" : "error" }),
    );
    list.replaceChildren(...r.mismatches.map((m) => el("li", m)));
  } catch (err) {
    out.textContent = `the audit failed: ${err.message}`;
  }
});

// ------------------------------------------------------------------ live
function showHead(head, finalized) {
  $("head").textContent = head;
  $("finalized").textContent = finalized ?? "–";
}

function showError(err) {
  const state = $("live-state");
  state.textContent = `error: ${err.message}`;
  state.className = "badge bad";
}

// Panels refresh on blocks, each at most once per `every` ms, never two at once.
function throttled(load, every) {
  let busy = false, again = false, last = 0;
  const run = async () => {
    if (busy) { again = true; return; }
    const wait = last + every - Date.now();
    if (wait > 0) { if (!again) { again = true; setTimeout(() => { again = false; run(); }, wait); } return; }
    busy = true; last = Date.now();
    try { await load(); } catch (err) { showError(err); } finally { busy = false; }
    if (again) { again = false; run(); }
  };
  return run;
}

const refresh = [
  throttled(loadChain, 1000),
  throttled(loadLayers, 2000),
  throttled(loadMarket, 2000),
  throttled(loadKpis, 5000),
  throttled(loadCaps, 5000),
  throttled(loadBills, 5000),
  throttled(loadForecast, 5000),
];

function connect() {
  const source = new EventSource("/v1/events");
  const state = $("live-state");
  source.addEventListener("open", () => { state.textContent = "live"; state.className = "badge ok"; });
  source.addEventListener("error", () => { state.textContent = "reconnecting"; state.className = "badge bad"; });
  source.addEventListener("block", (e) => {
    const block = JSON.parse(e.data);
    showHead(block.number, block.finalized);
    document.body.dataset.head = block.number;
    refresh.forEach((r) => r());
  });
}

Promise.all(refresh.map((r) => r())).finally(() => {
  document.body.dataset.loaded = "true";
  connect();
});
