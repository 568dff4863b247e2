// SPDX-License-Identifier: GPL-2.0-or-later
// memlens report: draws the page from its data block (cli/report_html.c; its
// layout in docs/report.md).  Every name is a process's or a file's, anyone's
// to choose: each goes on the page as text (textContent, a title), never as
// markup.  The treemap's layout is d3-hierarchy's (squarified); drawing is
// plain DOM, one box per node large enough to see.
(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('memlens-data').textContent);
  var COLOURS = { anon: '#4e79a7', file: '#59a14f', shmem: '#f28e2b', dmabuf: '#e15759', process: '#8c8c8c' };
  var LINES = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];
  var kinds = data.kinds.map(function (k) { return k[0]; });

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = String(text);
    return e;
  }
  function add(parent, tag, cls, text) { return parent.appendChild(el(tag, cls, text)); }
  // util-linux's form, as memlens's tables print sizes: 4K, 1.5M
  function human(b) {
    var u = ['B', 'K', 'M', 'G', 'T', 'P', 'E'], i = 0, neg = b < 0;
    b = Math.abs(b);
    while (b >= 1024 && i < u.length - 1) { b /= 1024; i++; }
    var s = i === 0 ? String(b) : (Math.round(b * 10) / 10).toFixed(1).replace(/\.0$/, '');
    return (neg ? '-' : '') + s + u[i];
  }
  function proc_name(comm, pid) { return comm + ' (' + pid + ')'; }

  var body = document.body;
  var head = add(body, 'header');
  add(head, 'h1', null, data.title + (data.hostname ? ': ' + data.hostname : ''));
  add(head, 'p', 'meta', [data.time ? 'taken ' + data.time : 'time not recorded',
    data.boot_id ? 'boot ' + data.boot_id : '', data.source].filter(Boolean).join(' \u00b7 '));

  // ---- the totals: every process's PSS, its DMA-BUF share ----
  var pss = 0, dmabuf = 0;
  data.procs.forEach(function (p) { pss += p[3]; dmabuf += p[4]; });
  var tot = add(body, 'p', 'totals');
  function total(id, label, value, text) {
    tot.appendChild(document.createTextNode(label));
    var s = add(tot, 'span', null, text);
    s.id = id;
    s.dataset.value = String(value);
  }
  total('total-procs', 'processes: ', data.procs.length, data.procs.length);
  total('total-pss', '  \u00b7  PSS: ', pss, human(pss));
  total('total-dmabuf', '  \u00b7  DMA-BUF PSS: ', dmabuf, human(dmabuf));
  if (data.unread) add(body, 'p', 'note', data.unread + ' process' + (data.unread === 1 ? '' : 'es') +
    ' could not be read (no privilege, or stalled) and are not in the treemap.');

  // ---- the treemap: cgroup, process, mapping; sized by PSS, coloured by kind ----
  add(body, 'h2', null, 'Where the memory is: cgroup \u2192 process \u2192 mapping, by PSS');
  var legend = add(body, 'div', 'legend');
  data.kinds.forEach(function (k) {
    var item = add(legend, 'span');
    item.title = k[1];
    add(item, 'i').style.background = COLOURS[k[0]];
    item.appendChild(document.createTextNode(k[0]));
  });
  var groups = new Map();
  data.procs.forEach(function (p) {
    var cg = p[2] || '(cgroup not recorded)';
    if (!groups.has(cg)) groups.set(cg, { name: cg, level: 'cg', children: [] });
    groups.get(cg).children.push({
      name: proc_name(p[1], p[0]), level: 'proc', pid: p[0], pss: p[3], dmabuf: p[4],
      children: p[5].map(function (l) { return { name: l[1], kind: kinds[l[0]], value: l[2], proc: proc_name(p[1], p[0]) }; })
    });
  });
  var tree = { name: data.hostname, level: 'root', children: Array.from(groups.values()) };
  var W = Math.max(600, Math.min(1400, document.documentElement.clientWidth - 32)), H = Math.round(W * 0.6);
  var map = add(body, 'div');
  map.id = 'treemap';
  map.style.width = W + 'px';
  map.style.height = H + 'px';
  var root = d3.hierarchy(tree).sum(function (d) { return d.value || 0; })
    .sort(function (a, b) { return b.value - a.value; });
  map.dataset.total = String(root.value);
  d3.treemap().tile(d3.treemapSquarify).size([W, H]).paddingOuter(1)
    .paddingTop(function (d) { return d.depth === 1 ? 15 : d.depth === 2 ? 13 : 0; })(root);
  var drawn = 0;
  root.each(function (n) {
    var w = n.x1 - n.x0, h = n.y1 - n.y0, d = n.data;
    if (n.depth === 0 || w < 2 || h < 2) return;
    var box = add(map, 'div', d.level || 'leaf');
    box.style.left = n.x0 + 'px';
    box.style.top = n.y0 + 'px';
    box.style.width = w + 'px';
    box.style.height = h + 'px';
    box.dataset.bytes = String(n.value);
    if (d.level === 'proc') box.dataset.pid = String(d.pid);
    if (d.level === 'cg') {
      box.title = d.name + '\nPSS ' + human(n.value);
    } else if (d.level === 'proc') {
      box.title = d.name + '\nPSS ' + human(d.pss) + (d.dmabuf ? ', DMA-BUF ' + human(d.dmabuf) : '') + '\ncgroup ' + n.parent.data.name;
    } else {
      box.style.background = COLOURS[d.kind];
      box.title = (d.name || '[' + d.kind + ']') + '\n' + d.kind + ' \u00b7 ' + human(d.value) + '\n' + d.proc;
    }
    if (w > 36 && h > 12) box.textContent = d.level === 'leaf' || !d.level ? d.name : d.name + ' ' + human(n.value);
    drawn++;
  });
  map.dataset.boxes = String(drawn);

  // ---- DMA-BUF buffers and who holds them ----
  add(body, 'h2', null, 'DMA-BUF buffers and their holders');
  if (!data.dmabuf) {
    add(body, 'p', 'note', 'No DMA-BUF pass in this report (snapshot --no-dmabuf, or a document without it).');
  } else if (!data.dmabuf.length) {
    add(body, 'p', 'note', 'No DMA-BUF buffers on this machine when the report was taken.');
  } else {
    var t = add(body, 'table');
    t.id = 'dmabuf';
    var hr = add(add(t, 'thead'), 'tr');
    [['inode', 'n'], ['size', 'n'], ['exporter'], ['name'], ['holders: fds, mappings']].forEach(function (c) { add(hr, 'th', c[1], c[0]); });
    var tb = add(t, 'tbody');
    data.dmabuf.forEach(function (b) {
      var tr = add(tb, 'tr');
      add(tr, 'td', 'n', b[0]);
      add(tr, 'td', 'n', human(b[1]));
      add(tr, 'td', null, b[2]);
      add(tr, 'td', null, b[3]);
      var hc = add(tr, 'td');
      if (b[4]) add(hc, 'em', null, 'kernel only: no process holds it');
      b[5].forEach(function (h, i) {
        if (i) hc.appendChild(el('br'));
        hc.appendChild(document.createTextNode(proc_name(h[1], h[0]) + ': ' + h[2] + ' fd' + (h[2] === 1 ? '' : 's') +
          ', ' + h[3] + ' mapping' + (h[3] === 1 ? '' : 's')));
      });
    });
  }

  // ---- a stream: the top growers over time ----
  if (data.growth) {
    var g = data.growth, t0 = g.times[0], span = Math.max(g.times[g.times.length - 1] - t0, 1e-9);
    add(body, 'h2', null, 'Growth over the stream: the ' + g.series.length + ' processes whose PSS grew most');
    var max = 1;
    g.series.forEach(function (s) { s[2].forEach(function (v) { if (v !== null && v > max) max = v; }); });
    var SW = Math.min(W, 900), SH = 280, L = 60, B = 24, NS = 'http://www.w3.org/2000/svg';
    var svg = document.createElementNS(NS, 'svg');
    svg.id = 'growth';
    svg.setAttribute('width', SW);
    svg.setAttribute('height', SH);
    body.appendChild(svg);
    function svgel(tag, attrs, text) {
      var e = document.createElementNS(NS, tag);
      for (var k in attrs) e.setAttribute(k, attrs[k]);
      if (text !== undefined) e.textContent = text;
      return svg.appendChild(e);
    }
    var x = function (tm) { return L + (tm - t0) / span * (SW - L - 10); };
    var y = function (v) { return SH - B - v / max * (SH - B - 10); };
    svgel('line', { x1: L, y1: SH - B, x2: SW - 10, y2: SH - B, 'class': 'axis' });
    svgel('line', { x1: L, y1: 10, x2: L, y2: SH - B, 'class': 'axis' });
    svgel('text', { x: 4, y: 16 }, human(max));
    svgel('text', { x: 4, y: SH - B }, '0');
    svgel('text', { x: L, y: SH - 6 }, '0 s');
    svgel('text', { x: SW - 60, y: SH - 6 }, span.toFixed(1) + ' s');
    var key = add(body, 'table');
    key.id = 'growers';
    g.series.forEach(function (s, i) {
      var pts = [];
      s[2].forEach(function (v, j) { if (v !== null) pts.push(x(g.times[j]).toFixed(1) + ',' + y(v).toFixed(1)); });
      var line = svgel('polyline', { points: pts.join(' '), fill: 'none', stroke: LINES[i % LINES.length], 'stroke-width': 2 });
      line.appendChild(document.createElementNS(NS, 'title')).textContent = proc_name(s[1], s[0]);
      var first = s[2].find(function (v) { return v !== null; }), last = s[2].filter(function (v) { return v !== null; }).pop();
      var tr = add(key, 'tr'), td = add(tr, 'td');
      add(td, 'span', 'swatch').style.background = LINES[i % LINES.length];
      td.appendChild(document.createTextNode(proc_name(s[1], s[0])));
      add(tr, 'td', 'n', human(first));
      add(tr, 'td', 'n', '\u2192 ' + human(last));
      add(tr, 'td', 'n', (last >= first ? '+' : '') + human(last - first));
    });
  }

  add(body, 'h2', null, 'How to read this page');
  add(body, 'p', 'note', 'Each box is sized by PSS: a page shared by n processes counts 1/n in each, so the boxes add up ' +
    'to the memory the processes use together. Grey headings are cgroups; inside each, a box per process; inside that, ' +
    'its mappings of one object (a library, the heap, a memfd), coloured by what backs them. Hover for the figures. ' +
    'Names are shown as memlens prints them: bytes that are not printable UTF-8 as \\xHH.');
  add(body, 'p', 'note', 'Made by memlens. The treemap layout is d3-hierarchy 3.1.2 (ISC licence, in this file\u2019s source).');
  body.dataset.renderMs = performance.now().toFixed(1);
  body.dataset.rendered = 'yes';
})();
