// rfcalc's HTML report: draws what the page's JSON (#rfcalc-data) says; see html_report.py.
// It computes nothing of its own but outer products (a field box is the product of its axes'
// hulls, a separable map the product of its axes' vectors) and colours. Every text from the
// model reaches the page through textContent, never as markup. Path counts above 2**53 are
// drawn as doubles (shades); `rfcalc rf --format json` has the exact integers.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("rfcalc-data").textContent);
  if (!data.layers.length) { return; }
  var rank = data.input.length;
  var rows = rank === 2 ? data.input[0] : 1, cols = data.input[rank - 1];
  var axes = data.axes;
  var select = document.getElementById("layer-select");
  var state = { layer: null, unit: null };

  // a count as text: exact below 2**53; above, JSON.parse has rounded it (rfcalc rf is exact)
  function count(v) {
    return v < 9007199254740992 ? v.toLocaleString("en") : "\u2248 " + v.toPrecision(4);
  }

  function cellSize(r, c) {
    var px = Math.max(1, Math.min(16, Math.floor(300 / Math.max(r, c))));
    return { w: px, h: r === 1 && rank === 1 ? 24 : px };
  }
  var inCell = cellSize(rows, cols);

  function span(field, y) {
    if (field.affine) {
      var lo = y * field.affine[0] - field.affine[1];
      return [lo, lo + field.affine[2] - 1];
    }
    if (field.global) { return field.global; }
    return field.units[y];
  }

  // viridis, sampled; 0 is drawn light grey
  var RAMP = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
  function colour(t) {
    var x = Math.max(0, Math.min(1, t)) * (RAMP.length - 1), i = Math.min(Math.floor(x), RAMP.length - 2);
    var f = x - i, a = RAMP[i], b = RAMP[i + 1];
    return [0, 1, 2].map(function (k) { return Math.round(a[k] + (b[k] - a[k]) * f); });
  }

  function setup(canvas, r, c, cell) {
    canvas.width = c * cell.w; canvas.height = r * cell.h;
    return canvas.getContext("2d");
  }

  // value(p, q) over the input grid → pixels (p: row, q: column)
  function heat(ctx, value, peak) {
    var img = ctx.createImageData(cols * inCell.w, rows * inCell.h);
    for (var p = 0; p < rows; p++) {
      for (var q = 0; q < cols; q++) {
        var v = value(p, q);
        var rgb = v > 0 ? colour(peak > 0 ? v / peak : 0) : [236, 236, 236];
        for (var dy = 0; dy < inCell.h; dy++) {
          for (var dx = 0; dx < inCell.w; dx++) {
            var o = 4 * ((p * inCell.h + dy) * cols * inCell.w + q * inCell.w + dx);
            img.data[o] = rgb[0]; img.data[o + 1] = rgb[1]; img.data[o + 2] = rgb[2]; img.data[o + 3] = 255;
          }
        }
      }
    }
    ctx.putImageData(img, 0, 0);
  }

  function vectorAt(v, i) { // a trimmed vector [first, values...] at input position i
    var k = i - v[0] + 1;
    return k >= 1 && k < v.length ? v[k] : 0;
  }

  // the unit's field per axis, as [lo, hi] on the extended line (null: it reads nothing)
  function hulls(layer, unit) {
    return layer.fields.map(function (f, a) { return span(f, unit[a]); });
  }

  function placeBox(id, hs) {
    var box = document.getElementById(id);
    var inside = hs.map(function (h, a) {
      var n = data.input[a];
      return h === null || h[1] < 0 || h[0] >= n ? null : [Math.max(h[0], 0), Math.min(h[1], n - 1)];
    });
    if (inside.indexOf(null) >= 0) { box.style.display = "none"; return; }
    var r0 = rank === 2 ? inside[0] : [0, 0], c0 = inside[rank - 1];
    box.style.display = "block";
    box.style.left = (1 + c0[0] * inCell.w) + "px";
    box.style.top = (1 + r0[0] * inCell.h) + "px";
    box.style.width = ((c0[1] - c0[0] + 1) * inCell.w) + "px";
    box.style.height = ((r0[1] - r0[0] + 1) * inCell.h) + "px";
    hs.forEach(function (h, a) {
      box.setAttribute("data-" + axes[a].toLowerCase(), h === null ? "" : h[0] + "," + h[1]);
    });
  }

  function describeAxis(h, a) {
    var n = data.input[a];
    if (h === null) { return axes[a] + " none"; }
    var size = h[1] - h[0] + 1;
    var before = Math.max(0, Math.min(0, h[1] + 1) - h[0]);
    var after = Math.max(0, h[1] - Math.max(n - 1, h[0] - 1));
    var text = axes[a] + " " + h[0] + " \u2026 " + h[1] + " (" + size + ")";
    if (before || after) {
      text += before + after >= size ? " all in padding" : " inside " + Math.max(h[0], 0) + " \u2026 " + Math.min(h[1], n - 1) +
        ", padding " + before + " before, " + after + " after";
    }
    return text;
  }

  function drawUnits() {
    var layer = data.layers[state.layer];
    var u = layer.units, ur = rank === 2 ? u[0] : 1, uc = u[rank - 1];
    var cell = cellSize(ur, uc);
    var canvas = document.getElementById("units-canvas");
    var ctx = setup(canvas, ur, uc, cell);
    ctx.fillStyle = "#dfe6f0"; ctx.fillRect(0, 0, canvas.width, canvas.height);
    if (cell.w >= 4) {
      ctx.strokeStyle = "#fff";
      for (var q = 1; q < uc; q++) { ctx.beginPath(); ctx.moveTo(q * cell.w, 0); ctx.lineTo(q * cell.w, canvas.height); ctx.stroke(); }
      for (var p = 1; p < ur; p++) { ctx.beginPath(); ctx.moveTo(0, p * cell.h); ctx.lineTo(canvas.width, p * cell.h); ctx.stroke(); }
    }
    var i = rank === 2 ? state.unit[0] : 0, j = state.unit[rank - 1];
    // the hovered unit; at least 5 pixels wide, so that it shows on a fine grid
    var mw = Math.max(cell.w, 5), mh = Math.max(cell.h, 5);
    ctx.fillStyle = "#d62728";
    ctx.fillRect((j + 0.5) * cell.w - mw / 2, (i + 0.5) * cell.h - mh / 2, mw, mh);
    canvas.dataset.cellW = cell.w; canvas.dataset.cellH = cell.h;
  }

  function show() {
    var layer = data.layers[state.layer], unit = state.unit;
    drawUnits();
    var hs = hulls(layer, unit);
    var name = layer.name + " (" + layer.type + ")";
    document.getElementById("readout").textContent =
      name + " unit (" + unit.join(", ") + "): field " + hs.map(describeAxis).join(", ");
    var readout = document.getElementById("readout");
    readout.dataset.layer = layer.name; readout.dataset.unit = unit.join(",");

    // the field
    var ctx = setup(document.getElementById("field-canvas"), rows, cols, inCell);
    heat(ctx, function (p, q) {
      var r = rank === 2 ? hs[0] : null, c = hs[rank - 1];
      var inR = rank === 1 || (r !== null && p >= r[0] && p <= r[1]);
      return inR && c !== null && q >= c[0] && q <= c[1] ? 1 : 0;
    }, 2);
    placeBox("field-box", hs);

    // the ERF
    var erf = layer.erf, text;
    var ectx = setup(document.getElementById("erf-canvas"), rows, cols, inCell);
    if (erf === null) {
      heat(ectx, function () { return 0; }, 1);
      text = "ERF: not embedded for this layer (the page's size limit); rfcalc rf draws it.";
    } else {
      var shown = erf.every ? unit : erf.centre;
      var value;
      if (erf.separable) {
        var vs = erf.axes.map(function (vectors, a) { return vectors[erf.every ? shown[a] : 0]; });
        value = function (p, q) {
          return rank === 2 ? vectorAt(vs[0], p) * vectorAt(vs[1], q) : vectorAt(vs[0], q);
        };
      } else {
        var o = erf.origin, sh = erf.shape;
        value = function (p, q) { // the map is zero outside its box
          var i = rank === 2 ? p - o[0] : 0, j = q - o[rank - 1];
          return i >= 0 && j >= 0 && i < (rank === 2 ? sh[0] : 1) && j < sh[rank - 1] ? erf.values[i * sh[rank - 1] + j] : 0;
        };
      }
      var peak = 0, total = 0;
      for (var p = 0; p < rows; p++) { for (var q = 0; q < cols; q++) { var v = value(p, q); total += v; if (v > peak) { peak = v; } } }
      heat(ectx, value, peak);
      text = "ERF of unit (" + shown.join(", ") + "): " + count(total) + " paths, at most " +
        count(peak) + " to one position" + (erf.upper_bound ? " (an upper bound: max pooling on a path)" : "") +
        (erf.every ? "" : erf.separable ? "; embedded for the centre unit only (size limit)"
          : "; its paths merge, so only the centre unit's map is embedded");
    }
    placeBox("erf-box", hulls(layer, erf && !erf.every ? erf.centre : unit));
    document.getElementById("erf-readout").textContent = text;

    // the coverage
    var cov = layer.coverage;
    var cvalue = function (p, q) { return rank === 2 ? cov[0][p] * cov[1][q] : cov[0][q]; };
    var cpeak = 0;
    for (var p2 = 0; p2 < rows; p2++) { for (var q2 = 0; q2 < cols; q2++) { cpeak = Math.max(cpeak, cvalue(p2, q2)); } }
    heat(setup(document.getElementById("coverage-canvas"), rows, cols, inCell), cvalue, cpeak);
    placeBox("coverage-box", hs);
    document.getElementById("coverage-readout").textContent = "coverage of " + layer.name +
      ": from " + (rank === 2 ? cov[0][0] * cov[1][0] : cov[0][0]) + " at the first position to " +
      cpeak + " at most (of " + layer.units.reduce(function (a, b) { return a * b; }, 1) + " units)";
  }

  function choose(index) {
    state.layer = index;
    var u = data.layers[index].units;
    state.unit = u.map(function (n) { return Math.floor(n / 2); });
    document.getElementById("layer-info").textContent =
      "units " + u.join("\u00d7") + " on an input of " + data.input.join("\u00d7");
    show();
  }

  data.layers.forEach(function (layer, i) {
    var option = document.createElement("option");
    option.value = String(i);
    option.textContent = layer.name + " (" + layer.type + ")";
    select.appendChild(option);
  });
  select.addEventListener("change", function () { choose(Number(select.value)); });
  document.getElementById("units-canvas").addEventListener("mousemove", function (event) {
    var canvas = event.currentTarget, box = canvas.getBoundingClientRect();
    var u = data.layers[state.layer].units;
    var j = Math.floor((event.clientX - box.left - 1) / Number(canvas.dataset.cellW));
    var i = Math.floor((event.clientY - box.top - 1) / Number(canvas.dataset.cellH));
    j = Math.max(0, Math.min(u[rank - 1] - 1, j));
    var unit = rank === 2 ? [Math.max(0, Math.min(u[0] - 1, i)), j] : [j];
    if (unit.join(",") !== state.unit.join(",")) { state.unit = unit; show(); }
  });
  var start = data.default === null ? 0 : data.default;
  select.value = String(start);
  choose(start);
})();
