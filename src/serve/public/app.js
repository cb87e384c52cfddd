// The mmgenre web page: plain browser JavaScript, no build step, no external files.
// Data from the API is always inserted as text (never as HTML).
/* global document, Node, FormData, URLSearchParams */

const $ = (id) => document.getElementById(id);

const state = {
  runs: [],
  runId: null,
  defaultRun: null,
  poster: null, // File
  browse: { offset: 0, limit: 24, total: 0 },
};

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') node.className = v;
    else if (k === 'style') node.setAttribute('style', v);
    else node.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

async function api(path, init) {
  const res = await fetch(path, init);
  const type = res.headers.get('content-type') || '';
  const body = type.includes('application/json') ? await res.json() : await res.text();
  if (!res.ok) {
    const message = body && body.message ? body.message : `HTTP ${res.status}`;
    const err = new Error(message);
    err.status = res.status;
    err.body = body;
    throw err;
  }
  return body;
}

const pct = (p) => `${(p * 100).toFixed(p >= 0.995 || p < 0.1 ? 1 : 0)}%`;
const fmt = (x) => (typeof x === 'number' ? x.toFixed(3) : '–');

// ---------- runs ----------

async function loadRuns() {
  const { runs, default: def } = await api('/api/runs');
  state.runs = runs;
  state.defaultRun = def;
  const select = $('run-select');
  select.replaceChildren(
    ...runs.map((r) =>
      el(
        'option',
        { value: r.id, selected: r.id === def },
        `${r.name}${r.isDefault ? ' (serving)' : ''}${r.hasModel ? '' : ' · unfinished'}`,
      ),
    ),
  );
  selectRun(def);
}

function currentRun() {
  return state.runs.find((r) => r.id === state.runId);
}

function selectRun(id) {
  state.runId = id;
  const run = currentRun();
  $('report-link').href = `/api/runs/${encodeURIComponent(id)}/report`;
  const m = run && run.metrics && run.metrics.test;
  const parts = [];
  if (run) {
    parts.push(
      `${run.name}: ${run.inputs.map((i) => `${i.input} ← ${i.encoder}`).join(', ') || 'no inputs listed'}`,
    );
    if (run.data) parts.push(`trained on ${run.data.name} (${run.data.sizes.train} train movies)`);
    if (m && m.at05)
      parts.push(
        `test F1 at 0.5: micro ${fmt(m.at05.micro)}, macro ${fmt(m.at05.macro)}` +
          (m.tuned ? ` · tuned: micro ${fmt(m.tuned.micro)}, macro ${fmt(m.tuned.macro)}` : ''),
      );
  }
  $('run-summary').textContent = parts.join(' · ');
  resetBrowse();
}

// ---------- tabs ----------

function showTab(name) {
  for (const t of document.querySelectorAll('.tab')) t.classList.toggle('active', t.dataset.tab === name);
  $('panel-try').hidden = name !== 'try';
  $('panel-browse').hidden = name !== 'browse';
  if (name === 'browse' && state.browse.offset === 0) loadMovies(false);
}

// ---------- poster input ----------

function setPoster(file) {
  state.poster = file;
  const img = $('poster-preview');
  if (img.src) URL.revokeObjectURL(img.src);
  if (file) {
    img.src = URL.createObjectURL(file);
    img.alt = file.name;
    img.hidden = false;
    $('drop-hint').hidden = true;
    $('poster-clear').hidden = false;
  } else {
    img.removeAttribute('src');
    img.hidden = true;
    $('drop-hint').hidden = false;
    $('poster-clear').hidden = true;
    $('poster-input').value = '';
  }
}

function wireDropZone() {
  const zone = $('drop-zone');
  const input = $('poster-input');
  input.addEventListener('change', () => setPoster(input.files[0] || null));
  zone.addEventListener('click', (e) => {
    if (e.target.tagName !== 'LABEL' && e.target !== input) input.click();
  });
  zone.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' || e.key === ' ') {
      e.preventDefault();
      input.click();
    }
  });
  for (const ev of ['dragenter', 'dragover']) {
    zone.addEventListener(ev, (e) => {
      e.preventDefault();
      zone.classList.add('dragging');
    });
  }
  for (const ev of ['dragleave', 'drop']) {
    zone.addEventListener(ev, (e) => {
      e.preventDefault();
      zone.classList.remove('dragging');
    });
  }
  zone.addEventListener('drop', (e) => {
    const file = e.dataTransfer && e.dataTransfer.files[0];
    if (file) setPoster(file);
  });
  $('poster-clear').addEventListener('click', () => setPoster(null));
}

// ---------- predict ----------

function showFormError(message) {
  const p = $('form-error');
  p.textContent = message;
  p.hidden = !message;
}

async function predict(event) {
  event.preventDefault();
  showFormError('');
  const plot = $('plot-input').value;
  if (!state.poster && !plot.trim()) {
    showFormError('Add a poster and/or a plot synopsis first.');
    return;
  }
  const form = new FormData();
  if (state.poster) form.append('poster', state.poster, state.poster.name);
  if (plot.trim()) form.append('plot', plot);
  const threshold = $('threshold-select').value;
  if (threshold) form.append('threshold', threshold);
  const button = $('predict-button');
  button.disabled = true;
  button.textContent = 'Predicting…';
  try {
    const run = currentRun();
    const q = run && run.hasModel ? `?run=${encodeURIComponent(state.runId)}` : '';
    const result = await api(`/api/predict${q}`, { method: 'POST', body: form });
    renderResult(result);
  } catch (err) {
    showFormError(err.message);
  } finally {
    button.disabled = false;
    button.textContent = 'Predict genres';
  }
}

function renderResult(r) {
  $('result').hidden = false;
  $('predicted-genres').replaceChildren(
    ...(r.genres.length
      ? r.genres.map((g) => el('span', { class: 'chip' }, g))
      : [el('span', { class: 'note' }, 'No genre above its threshold.')]),
  );
  $('genre-bars').replaceChildren(
    ...r.ranked.map((g) =>
      el(
        'li',
        { class: g.predicted ? 'predicted-genre' : '', 'data-genre': g.genre },
        el('span', { class: 'name' }, g.genre),
        el(
          'span',
          { class: 'bar-track', title: `threshold ${g.threshold.toFixed(2)}` },
          el('span', { class: 'bar-fill', style: `width:${(g.probability * 100).toFixed(1)}%` }),
          el('span', {
            class: 'bar-threshold',
            style: `left:calc(${(g.threshold * 100).toFixed(1)}% - 1px)`,
          }),
        ),
        el('span', { class: 'prob' }, pct(g.probability)),
      ),
    ),
  );
  const c = r.contributions;
  $('contributions').hidden = !c;
  if (c) {
    const colors = { poster: 'var(--poster)', plot: 'var(--plot)' };
    const entries = Object.entries(c);
    $('share-bar').replaceChildren(
      ...entries.map(([m, share], k) =>
        el(
          'div',
          {
            style: `flex:${Math.max(share, 0.0001)};background:${colors[m] || (k ? '#7a869e' : '#2f9e8f')}`,
            'data-modality': m,
          },
          share >= 0.12 ? `${m} ${pct(share)}` : '',
        ),
      ),
    );
    $('share-legend').textContent = entries.map(([m, share]) => `${m}: ${pct(share)}`).join(' · ');
  }
  const notes = [
    `Thresholds: ${r.thresholds.kind === 'tuned' ? 'tuned per genre on dev' : '0.5'} (the dark tick on each bar).`,
  ];
  notes.push(`Used: ${r.inputsUsed.join(', ')}.`);
  for (const m of r.inputsMissing) notes.push(`Missing ${m.input}: ${m.reason}.`);
  if (r.inputsIgnored.length) notes.push(`This model does not read: ${r.inputsIgnored.join(', ')}.`);
  $('inputs-note').textContent = notes.join(' ');
}

// ---------- browse ----------

function resetBrowse() {
  state.browse = { offset: 0, limit: 24, total: 0 };
  $('movie-grid').replaceChildren();
  $('load-more').hidden = true;
  if (!$('panel-browse').hidden) loadMovies(false);
}

function movieCard(mv, genre) {
  const truth = mv.trueGenres || [];
  const chips = [];
  for (const g of mv.predictedGenres) {
    const cls = mv.trueGenres ? (truth.includes(g) ? 'chip good' : 'chip bad') : 'chip';
    chips.push(
      el('span', { class: cls, title: truth.includes(g) ? 'predicted, true' : 'predicted, not true' }, g),
    );
  }
  for (const g of truth)
    if (!mv.predictedGenres.includes(g))
      chips.push(el('span', { class: 'chip missed', title: 'true, not predicted' }, g));
  const ok = genre ? mv.genreCorrect : mv.correct;
  const verdict =
    ok === null || ok === undefined
      ? null
      : el(
          'span',
          { class: `verdict ${ok ? 'right' : 'wrong'}` },
          ok ? `✓ right${genre ? ` on ${genre}` : ''}` : `✗ wrong${genre ? ` on ${genre}` : ''}`,
        );
  const poster = mv.hasPoster
    ? el('img', {
        src: `/api/runs/${encodeURIComponent(state.runId)}/poster/${encodeURIComponent(mv.id)}`,
        alt: mv.title || mv.id,
        loading: 'lazy',
      })
    : el('div', { class: 'no-poster' });
  return el(
    'article',
    { class: 'card movie', 'data-testid': 'movie-card', 'data-correct': String(ok) },
    poster,
    el('div', {}, el('h4', {}, mv.title || mv.id), verdict, el('div', { class: 'chips' }, chips)),
    mv.plot ? el('p', { class: 'plot' }, mv.plot) : null,
  );
}

async function loadMovies(append) {
  const run = currentRun();
  $('browse-error').hidden = true;
  if (!run || !run.hasModel) {
    $('browse-note').textContent = 'This run has no test predictions yet.';
    return;
  }
  const genre = $('genre-filter').value;
  const correct = $('correct-filter').value;
  const params = new URLSearchParams({
    limit: String(state.browse.limit),
    offset: String(state.browse.offset),
  });
  if (genre) params.set('genre', genre);
  if (correct) params.set('correct', correct);
  try {
    const r = await api(`/api/runs/${encodeURIComponent(state.runId)}/movies?${params}`);
    fillGenres(r.labels);
    const cards = r.movies.map((mv) => movieCard(mv, genre));
    if (append) $('movie-grid').append(...cards);
    else $('movie-grid').replaceChildren(...cards);
    state.browse.total = r.total;
    state.browse.offset = r.offset + r.movies.length;
    $('browse-count').textContent = `${r.total} movie${r.total === 1 ? '' : 's'}`;
    $('browse-note').textContent =
      (r.note ? `${r.note}. ` : '') +
      `Chips: green = predicted and true, red = predicted but not true, dashed = true but missed (thresholds: ${r.thresholds}).`;
    $('load-more').hidden = state.browse.offset >= r.total;
  } catch (err) {
    $('browse-error').textContent = err.message;
    $('browse-error').hidden = false;
  }
}

function fillGenres(labels) {
  const select = $('genre-filter');
  if (select.dataset.run === state.runId) return;
  const current = select.value;
  select.replaceChildren(
    el('option', { value: '' }, 'all genres'),
    ...labels.map((l) => el('option', { value: l }, l)),
  );
  select.value = labels.includes(current) ? current : '';
  select.dataset.run = state.runId;
}

// ---------- start ----------

function start() {
  for (const t of document.querySelectorAll('.tab'))
    t.addEventListener('click', () => showTab(t.dataset.tab));
  $('run-select').addEventListener('change', (e) => selectRun(e.target.value));
  $('predict-form').addEventListener('submit', predict);
  for (const id of ['genre-filter', 'correct-filter']) {
    $(id).addEventListener('change', () => {
      state.browse.offset = 0;
      loadMovies(false);
    });
  }
  $('load-more').addEventListener('click', () => loadMovies(true));
  wireDropZone();
  loadRuns().catch((err) => showFormError(`Cannot list runs: ${err.message}`));
}

start();
