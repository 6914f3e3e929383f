/* phusong serve: the planning page. Every text from the server is set with textContent. */
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  const el = (tag, text, cls) => {
    const e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  };
  const STATUS_VI = { phu: "phủ sóng", lom: "lõm sóng", trang: "trắng sóng" };
  const ps = (window.phusong = { state: null, busy: 0, changed: new Set(), placing: false,
                                 selected: null, requests: 0 });

  const map = L.map("map", { preferCanvas: true, zoomSnap: 0.25 });
  ps.map = map;
  const villageLayer = L.layerGroup().addTo(map);
  const towerLayer = L.layerGroup().addTo(map);
  let diffOverlay = null;
  const overlays = {};

  function showError(msg) {
    const box = $("error");
    if (!msg) { box.hidden = true; box.textContent = ""; return; }
    box.textContent = msg;
    box.hidden = false;
  }

  async function api(method, path, body) {
    ps.busy += 1; ps.requests += 1;
    $("busy").hidden = false;
    try {
      const opt = { method, headers: {} , credentials: "same-origin" };
      if (body !== undefined) {
        opt.headers["Content-Type"] = "application/json";
        opt.body = JSON.stringify(body);
      }
      const r = await fetch(path, opt);
      let data = null;
      try { data = await r.json(); } catch (e) { data = null; }
      if (!r.ok) {
        const msg = (data && data.error) ? data.error : ("HTTP " + r.status);
        showError(msg);
        throw new Error(msg);
      }
      showError(null);
      return data;
    } finally {
      ps.busy -= 1;
      $("busy").hidden = ps.busy === 0;
    }
  }

  function fillSelect(sel, items, withAll) {
    sel.replaceChildren();
    if (withAll) sel.append(new Option(withAll, ""));
    for (const [v, t] of items) sel.append(new Option(t, v));
  }

  function opLabel(id) {
    const o = ps.state.operators.find((x) => x.id === id);
    return o ? o.label : id;
  }

  // -- rendering ------------------------------------------------------------------------------
  function renderVillages() {
    const s = ps.state, op = $("colour-op").value || "any";
    villageLayer.clearLayers();
    for (const v of s.villages) {
      const st = v.status[op];
      const hot = ps.changed.has(v.id);
      const m = L.circleMarker([v.lat, v.lon], {
        radius: hot ? 8 : 5, weight: hot ? 3 : 1, color: hot ? "#000" : "#333",
        fillColor: s.status_colours[st] || "#7f7f7f", fillOpacity: 0.9 });
      m.bindTooltip(v.name + " – " + (STATUS_VI[st] || st));
      m.on("click", () => m.openTooltip());
      m.villageId = v.id;
      villageLayer.addLayer(m);
    }
  }

  function towerIcon(t, bts) {
    const op = ps.state.operators.find((o) => o.id === t.owner);
    const on = bts.some((b) => b.enabled && !b.switched_off);
    const added = bts.some((b) => b.origin !== "bundle");
    const div = el("div", (t.owner || "?").charAt(0).toUpperCase(),
                   "ps-tower" + (on ? "" : " off") + (added ? " added" : "") +
                   (ps.selected === t.id ? " sel" : ""));
    div.style.background = op ? op.colour : "#444";
    div.dataset.tower = t.id;
    return L.divIcon({ html: div.outerHTML, className: "", iconSize: [22, 22] });
  }

  function renderTowers() {
    const s = ps.state;
    towerLayer.clearLayers();
    for (const t of s.towers) {
      const bts = s.bts.filter((b) => b.tower_id === t.id);
      const m = L.marker([t.lat, t.lon], { icon: towerIcon(t, bts), draggable: true,
                                           title: t.id, keyboard: false });
      m.towerId = t.id;
      m.on("click", () => selectTower(t.id));
      m.on("dragend", () => {
        const p = m.getLatLng();
        edit({ op: "move", tower_id: t.id, lon: p.lng, lat: p.lat });
      });
      towerLayer.addLayer(m);
    }
  }

  function renderTowerBox() {
    const s = ps.state, id = ps.selected;
    const t = id && s.towers.find((x) => x.id === id);
    $("tower-box").hidden = !t;
    if (!t) return;
    $("tower-id").textContent = t.id;
    $("tower-info").textContent = "Chủ / owner: " + opLabel(t.owner) + "; cao / height: " +
      (t.height_m === null ? "–" : t.height_m + " m");
    const ul = $("tower-bts");
    ul.replaceChildren();
    for (const b of s.bts.filter((x) => x.tower_id === id)) {
      const li = el("li", opLabel(b.operator) + " " + b.tech + " " + (b.band_mhz || "") +
                    " MHz, " + (b.eirp_dbm || "") + " dBm" + (b.enabled ? "" : " (tắt / off)") +
                    (b.switched_off ? " (đã ngừng / switched off)" : "") + " ");
      const tog = el("button", b.enabled ? "Tắt / Disable" : "Bật / Enable");
      tog.onclick = () => edit({ op: b.enabled ? "disable" : "enable", bts_id: b.id });
      const rm = el("button", "Xoá / Remove");
      rm.onclick = () => edit({ op: "remove", bts_id: b.id });
      li.append(tog, rm);
      ul.append(li);
    }
  }

  function selectTower(id) {
    ps.selected = id;
    renderTowerBox();
    renderTowers();
  }

  function renderChanged(list) {
    const ul = $("changed");
    ul.replaceChildren();
    if (!list) return;
    const rank = { trang: 0, lom: 1, phu: 2 };
    for (const c of list) {
      const parts = [];
      for (const k of Object.keys(c)) {
        if (!k.endsWith("_before")) continue;
        const base = k.slice(0, -7), after = c[base + "_after"];
        if (c[k] !== after) {
          parts.push(base.replace("status_", "") + ": " + (STATUS_VI[c[k]] || c[k]) + " → " +
                     (STATUS_VI[after] || after));
        }
      }
      const a = c.status_any_after, b = c.status_any_before;
      const li = el("li", c.name + " (" + c.village_id + "): " + parts.join("; "),
                    rank[a] > rank[b] ? "better" : (rank[a] < rank[b] ? "worse" : ""));
      li.dataset.village = c.village_id;
      li.onclick = () => {
        const v = ps.state.villages.find((x) => x.id === c.village_id);
        if (v) map.setView([v.lat, v.lon], Math.max(map.getZoom(), 13));
      };
      ul.append(li);
    }
    if (!list.length) ul.append(el("li", "Không thôn nào đổi / no village changed", "muted"));
  }

  function render(s, changed) {
    ps.state = s;
    if (changed) ps.changed = new Set(changed.map((c) => c.village_id));
    $("title").textContent = "phusong – " + s.province;
    $("sample").hidden = !s.sample;
    $("sample").textContent = s.sample_label;
    $("meta").textContent = "Mô hình / model: " + s.model + "; ngày / as of " + s.as_of;
    const lines = $("lines");
    lines.replaceChildren(...s.lines.map((t) => el("li", t)));
    $("undo").disabled = !s.can_undo;
    $("redo").disabled = !s.can_redo;
    $("sunsets").replaceChildren(...s.sunsets.map((x) => el("li",
      x.tech + " " + (x.operator ? opLabel(x.operator) : "mọi DN / all") + " từ / from " + x.date +
      (x.in_effect ? " (đang áp dụng / in effect)" : ""))));
    $("edits").replaceChildren(...s.edits.map((e) => el("li", JSON.stringify(e))));
    if (s.seconds !== undefined && s.seconds !== null) {
      $("timing").textContent = "Tính lại trong / recomputed in " + s.seconds.toFixed(2) + " s";
    }
    renderVillages();
    renderTowers();
    renderTowerBox();
    if (changed !== undefined) renderChanged(changed);
    if ($("diff-on").checked) refreshDiff();
  }

  // -- actions --------------------------------------------------------------------------------
  async function edit(body) {
    try {
      const s = await api("POST", "/api/edit", body);
      render(s, s.changed);
      return s;
    } catch (e) {
      render(ps.state);  // put dragged markers back
      return null;
    }
  }

  function techEntries(prefix) {
    const out = [];
    for (const t of ps.state.techs) {
      const cb = $(prefix + "-" + t);
      if (cb && cb.checked) {
        const band = $(prefix + "-band-" + t).value, eirp = $(prefix + "-eirp-" + t).value;
        out.push({ tech: t, band_mhz: band === "" ? null : Number(band),
                   eirp_dbm: eirp === "" ? null : Number(eirp) });
      }
    }
    return out;
  }

  function buildTechInputs() {
    const box = $("add-techs"), d = ps.state.defaults;
    box.replaceChildren();
    for (const t of ps.state.techs) {
      const lab = el("label");
      const cb = el("input"); cb.type = "checkbox"; cb.id = "add-" + t; cb.checked = t === "4G";
      cb.dataset.testid = "add-tech-" + t;
      const band = el("input"); band.type = "number"; band.id = "add-band-" + t;
      band.value = d.radio[t].band_mhz; band.title = "MHz";
      const eirp = el("input"); eirp.type = "number"; eirp.id = "add-eirp-" + t;
      eirp.value = d.radio[t].eirp_dbm; eirp.title = "EIRP dBm";
      lab.append(cb, " " + t + " ", band, " MHz ", eirp, " dBm");
      box.append(lab);
    }
    $("add-height").value = d.height_m;
  }

  function setPlacing(on) {
    ps.placing = on;
    document.body.classList.toggle("placing", on);
    $("place").textContent = on ? "Bấm lên bản đồ… (Esc huỷ) / click the map… (Esc cancels)"
                                : "Đặt trạm: bấm lên bản đồ / Place: click the map";
  }

  let siteCounter = 0;
  map.on("click", (ev) => {
    if (!ps.placing) return;
    setPlacing(false);
    siteCounter += 1;
    const id = "NEW-" + Date.now().toString(36).toUpperCase() + "-" + siteCounter;
    const tilt = $("add-tilt").value;
    edit({ op: "add_site", site_id: id, operator: $("add-op").value,
           lon: ev.latlng.lng, lat: ev.latlng.lat,
           height_m: $("add-height").value === "" ? null : Number($("add-height").value),
           azimuths: $("add-az").value || null, tilt_deg: tilt === "" ? null : Number(tilt),
           bts: techEntries("add") });
  });
  document.addEventListener("keydown", (e) => { if (e.key === "Escape") setPlacing(false); });

  async function refreshDiff() {
    if (diffOverlay) { map.removeLayer(diffOverlay); diffOverlay = null; }
    if (!$("diff-on").checked) { $("diff-note").textContent = ""; return; }
    const d = await api("GET", "/api/diff?operator=" + encodeURIComponent($("diff-op").value));
    if (!d.url) { $("diff-note").textContent = "Không có chênh lệch / no difference"; return; }
    diffOverlay = L.imageOverlay(d.url, d.bounds, { opacity: 0.8, zIndex: 5 }).addTo(map);
    $("diff-note").textContent = d.cells + " ô thay đổi (xanh: mạnh hơn, đỏ: yếu hơn, ±30 dB) / " +
      "cells changed (blue stronger, red weaker)";
  }

  async function refreshScenarios() {
    const r = await api("GET", "/api/scenarios");
    const ul = $("scn-list");
    ul.replaceChildren();
    const names = [["current", "(hiện tại / current)"], ["bundle", "(gốc / bundle)"]];
    for (const sc of r.scenarios) {
      names.push([sc.name, sc.name]);
      const li = el("li", sc.name + " (" + sc.edits + ") ");
      const b = el("button", "Mở / Load");
      b.dataset.testid = "load-" + sc.name;
      b.onclick = async () => {
        try {
          const s = await api("POST", "/api/scenarios/load", { name: sc.name });
          render(s, s.changed);
        } catch (e) { /* shown */ }
      };
      li.append(b);
      ul.append(li);
    }
    fillSelect($("cmp-a"), names);
    fillSelect($("cmp-b"), names);
    $("cmp-b").value = "bundle";
  }

  async function compare() {
    const r = await api("GET", "/api/compare?a=" + encodeURIComponent($("cmp-a").value) +
                        "&b=" + encodeURIComponent($("cmp-b").value));
    const t = el("table", null, "cmp");
    const head = el("tr");
    head.append(el("th", ""), el("th", r.a.name), el("th", r.b.name));
    t.append(head);
    const n = Math.max(r.a.lines.length, r.b.lines.length);
    for (let i = 0; i < n; i++) {
      const tr = el("tr");
      tr.append(el("td", i + 1), el("td", r.a.lines[i] || ""), el("td", r.b.lines[i] || ""));
      t.append(tr);
    }
    const out = $("cmp-out");
    out.replaceChildren(t, el("div", r.villages.length + " thôn khác nhau / villages differ", "muted"));
    const ul = el("ul", null, "muted");
    for (const v of r.villages.slice(0, 200)) {
      ul.append(el("li", v.name + ": " + (STATUS_VI[v.a] || v.a) + " | " + (STATUS_VI[v.b] || v.b)));
    }
    out.append(ul);
  }

  // -- wiring ---------------------------------------------------------------------------------
  $("undo").onclick = async () => { try { const s = await api("POST", "/api/undo"); render(s, s.changed); } catch (e) { /* shown */ } };
  $("redo").onclick = async () => { try { const s = await api("POST", "/api/redo"); render(s, s.changed); } catch (e) { /* shown */ } };
  $("colour-op").onchange = renderVillages;
  $("place").onclick = () => setPlacing(!ps.placing);
  $("tower-remove").onclick = () => { const id = ps.selected; ps.selected = null; edit({ op: "remove", tower_id: id }); };
  $("tower-disable").onclick = () => edit({ op: "disable", tower_id: ps.selected });
  $("tower-enable").onclick = () => edit({ op: "enable", tower_id: ps.selected });
  $("share").onclick = () => {
    const t = $("share-tech").value;
    edit({ op: "share", tower_id: ps.selected, operator: $("share-op").value,
           bts: [{ tech: t }] });  // the engine's defaults for that technology
  };
  $("sunset").onclick = () => edit({ op: "sunset", tech: $("sun-tech").value,
                                     operator: $("sun-op").value || null, date: $("sun-date").value });
  $("asof").onclick = () => edit({ op: "as_of", date: $("asof-date").value || null });
  $("diff-on").onchange = () => refreshDiff().catch(() => {});
  $("diff-op").onchange = () => refreshDiff().catch(() => {});
  $("scn-save").onclick = async () => {
    try { await api("POST", "/api/scenarios", { name: $("scn-name").value }); await refreshScenarios(); }
    catch (e) { /* shown */ }
  };
  $("cmp").onclick = () => compare().catch(() => {});
  $("export").onclick = async () => {
    try {
      const r = await api("POST", "/api/export", { name: $("scn-name").value || "current" });
      $("export-out").replaceChildren(el("li", r.folder), ...r.files.map((f) => el("li", f)));
    } catch (e) { /* shown */ }
  };

  async function start() {
    const s = await api("GET", "/api/state");
    ps.state = s;
    const ops = s.operators.map((o) => [o.id, o.label]);
    fillSelect($("colour-op"), [["any", "Mọi doanh nghiệp / any operator"], ...ops]);
    fillSelect($("add-op"), ops);
    fillSelect($("share-op"), ops);
    fillSelect($("sun-op"), ops, "Mọi DN / all operators");
    fillSelect($("diff-op"), [["any", "Mọi DN / any"], ...ops]);
    fillSelect($("sun-tech"), s.techs.map((t) => [t, t]));
    fillSelect($("share-tech"), s.techs.map((t) => [t, t]));
    $("sun-tech").value = "2G";
    $("share-tech").value = "4G";
    buildTechInputs();
    const b = s.bounds;
    map.fitBounds(b);
    try {
      const layers = await api("GET", "/api/layers");
      if (layers.hillshade) {
        overlays["Địa hình / hillshade"] = L.imageOverlay(layers.hillshade.url,
          layers.hillshade.bounds, { zIndex: 1 }).addTo(map);
      }
      overlays["Ranh giới / boundaries"] = L.geoJSON(layers.boundaries, {
        style: (f) => ({ color: "#333", weight: f.properties.level === "province" ? 2.5 : (f.properties.level === "district" ? 1.5 : 0.7), fill: false }),
        interactive: false }).addTo(map);
      overlays["Cáp quang / fibre"] = L.geoJSON(layers.fibre, {
        style: (f) => ({ color: f.properties.kind === "underground" ? "#08306b" : "#1f78b4", weight: 1.5, opacity: 0.7 }),
        interactive: false }).addTo(map);
    } catch (e) { /* shown */ }
    overlays["Thôn, bản / villages"] = villageLayer;
    overlays["Cột / towers"] = towerLayer;
    L.control.layers(null, overlays, { collapsed: true }).addTo(map);
    render(s);
    await refreshScenarios();
    document.body.dataset.ready = "1";
  }
  start().catch((e) => showError(String(e)));
})();
