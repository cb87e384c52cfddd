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

/** Bars of every genre's probability with its threshold tick; `true` marks true genres when known. */
function genreBars(items) {
  return items.map((g) =>
    el(
      'li',
      {
        class: [g.predicted ? 'predicted-genre' : '', g.true ? 'true-genre' : ''].join(' ').trim(),
        'data-genre': g.genre,
      },
      el(
        'span',
        { class: 'name' },
        g.genre,
        g.true ? el('span', { class: 'true-mark', title: 'a true genre' }, ' ●') : null,
      ),
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
  );
}

const MODALITY_COLORS = { poster: 'var(--poster)', plot: 'var(--plot)' };
const colorOf = (m, k) => MODALITY_COLORS[m] || (k ? '#7a869e' : '#2f9e8f');

/**
 * The gate: the share bar (gate averaged over its units) and, per genre, each input's signed part
 * of the genre's score as a diverging bar (right: pushed towards the genre).
 */
function gateView(contributions, genreContributions, genres) {
  const entries = Object.entries(contributions);
  const bar = el(
    'div',
    { class: 'share-bar', 'data-testid': 'share-bar' },
    entries.map(([m, share], k) =>
      el(
        'div',
        { style: `flex:${Math.max(share, 0.0001)};background:${colorOf(m, k)}`, 'data-modality': m },
        share >= 0.12 ? `${m} ${pct(share)}` : '',
      ),
    ),
  );
  const legend = el(
    'div',
    { class: 'share-legend' },
    `Share of the fused representation: ${entries.map(([m, share]) => `${m} ${pct(share)}`).join(' · ')}`,
  );
  let perGenre = null;
  if (genreContributions) {
    const shown = genres.filter((g) => genreContributions[g]).slice(0, 8);
    const max = Math.max(
      1e-9,
      ...shown.flatMap((g) => Object.values(genreContributions[g]).map((v) => Math.abs(v))),
    );
    perGenre = el(
      'table',
      { class: 'gate-table', 'data-testid': 'gate-table' },
      el(
        'thead',
        {},
        el(
          'tr',
          {},
          el('th', {}, 'Genre'),
          ...entries.map(([m], k) =>
            el('th', { style: `color:${colorOf(m, k)}` }, `${m}: pushed down ← → up`),
          ),
        ),
      ),
      el(
        'tbody',
        {},
        shown.map((g) =>
          el(
            'tr',
            { 'data-genre': g },
            el('td', { class: 'name' }, g),
            ...entries.map(([m], k) => {
              const v = genreContributions[g][m] || 0;
              const w = (Math.abs(v) / max) * 50;
              return el(
                'td',
                {
                  class: 'diverging',
                  title: `${m}: ${v >= 0 ? '+' : ''}${v.toFixed(2)} on the score of ${g}`,
                },
                el('span', { class: 'axis' }),
                el('span', {
                  class: 'part',
                  style: `background:${colorOf(m, k)};width:${w.toFixed(1)}%;${v >= 0 ? 'left:50%' : `left:${(50 - w).toFixed(1)}%`}`,
                }),
                el('span', { class: 'value' }, `${v >= 0 ? '+' : ''}${v.toFixed(2)}`),
              );
            }),
          ),
        ),
      ),
    );
  }
  const help = document.querySelector('#contributions .gate-help');
  return [bar, legend, perGenre, help ? help.cloneNode(true) : null];
}

function renderResult(r) {
  $('result').hidden = false;
  $('predicted-genres').replaceChildren(
    ...(r.genres.length
      ? r.genres.map((g) => el('span', { class: 'chip' }, g))
      : [el('span', { class: 'note' }, 'No genre above its threshold.')]),
  );
  $('genre-bars').replaceChildren(...genreBars(r.ranked));
  const c = r.contributions;
  $('contributions').hidden = !c;
  if (c) {
    const [bar, legend, perGenre] = gateView(
      c,
      r.genreContributions,
      r.ranked.map((g) => g.genre),
    );
    $('share-bar').replaceWith(bar);
    bar.id = 'share-bar';
    $('share-legend').replaceWith(legend);
    legend.id = 'share-legend';
    $('genre-gate').replaceChildren(...(perGenre ? [perGenre] : []));
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

/** "exact", "3 of 4 genres" or "none of 2 genres": a partial match is not called wrong. */
function verdictLabel(mv) {
  const n = (mv.trueGenres || []).length;
  if (mv.verdict === 'exact') return { cls: 'right', text: '✓ exact' };
  if (mv.verdict === 'partial') {
    const extra = mv.predictedGenres.length - mv.matched;
    return {
      cls: 'partial',
      text: `◐ ${mv.matched} of ${n} genre${n === 1 ? '' : 's'}${extra ? ` (+${extra} not true)` : ''}`,
    };
  }
  if (mv.verdict === 'wrong') return { cls: 'wrong', text: `✗ none of ${n} genre${n === 1 ? '' : 's'}` };
  return null;
}

function posterUrl(id) {
  return `/api/runs/${encodeURIComponent(state.runId)}/poster/${encodeURIComponent(id)}`;
}

function genreChips(mv) {
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
  return chips;
}

function movieCard(mv, genre) {
  let verdict = null;
  if (genre && mv.genreCorrect !== undefined && mv.genreCorrect !== null)
    verdict = {
      cls: mv.genreCorrect ? 'right' : 'wrong',
      text: `${mv.genreCorrect ? '✓ right' : '✗ wrong'} on ${genre}`,
    };
  else verdict = verdictLabel(mv);
  const poster = mv.hasPoster
    ? el('img', { src: posterUrl(mv.id), alt: mv.title || mv.id, loading: 'lazy' })
    : el('div', { class: 'no-poster' });
  const card = el(
    'article',
    {
      class: 'card movie',
      'data-testid': 'movie-card',
      'data-id': mv.id,
      'data-verdict': mv.verdict || '',
      'data-correct': String(genre ? mv.genreCorrect : mv.correct),
      tabindex: '0',
      role: 'button',
      'aria-label': `Open ${mv.title || mv.id}`,
    },
    poster,
    el(
      'div',
      { class: 'movie-head' },
      el('h4', {}, mv.title || mv.id),
      verdict
        ? el('span', { class: `verdict ${verdict.cls}`, 'data-testid': 'verdict' }, verdict.text)
        : null,
      el('div', { class: 'chips' }, genreChips(mv)),
    ),
    mv.plot ? el('p', { class: 'plot' }, mv.plot) : null,
  );
  card.addEventListener('click', () => openMovie(mv.id));
  card.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' || e.key === ' ') {
      e.preventDefault();
      openMovie(mv.id);
    }
  });
  return card;
}

// ---------- movie view ----------

async function openMovie(id) {
  const dialog = $('movie-view');
  let mv;
  try {
    mv = await api(`/api/runs/${encodeURIComponent(state.runId)}/movies/${encodeURIComponent(id)}`);
  } catch (err) {
    $('browse-error').textContent = err.message;
    $('browse-error').hidden = false;
    return;
  }
  $('mv-title').textContent = `${mv.title || mv.id}${mv.year ? ` (${mv.year})` : ''}`;
  $('mv-poster').replaceChildren(
    mv.hasPoster
      ? el('img', {
          src: posterUrl(mv.id),
          alt: `Poster of ${mv.title || mv.id}`,
          'data-testid': 'mv-poster',
        })
      : el('div', { class: 'no-poster' }, 'no poster'),
  );
  const v = verdictLabel(mv);
  $('mv-verdict').replaceChildren(...(v ? [el('span', { class: `verdict ${v.cls}` }, v.text)] : []));
  $('mv-true').replaceChildren(
    ...(mv.trueGenres
      ? mv.trueGenres.map((g) =>
          el('span', { class: mv.predictedGenres.includes(g) ? 'chip good' : 'chip missed' }, g),
        )
      : [el('span', { class: 'note' }, 'unknown (the dataset is not on this machine)')]),
  );
  $('mv-predicted').replaceChildren(
    ...(mv.predictedGenres.length
      ? mv.predictedGenres.map((g) =>
          el(
            'span',
            { class: !mv.trueGenres ? 'chip' : mv.trueGenres.includes(g) ? 'chip good' : 'chip bad' },
            g,
          ),
        )
      : [el('span', { class: 'note' }, 'no genre above its threshold')]),
  );
  $('mv-plot').textContent = mv.plot || 'No plot.';
  $('mv-thresholds').textContent =
    `(tick: the ${mv.thresholds === 'tuned' ? 'per-genre threshold tuned on dev' : '0.5 threshold'}; ● a true genre)`;
  $('mv-bars').replaceChildren(...genreBars(mv.genres));
  const x = mv.explanation;
  $('mv-gate').replaceChildren(
    el('h3', {}, 'What drove it: poster or plot'),
    ...(x
      ? gateView(
          x.contributions,
          x.genreContributions,
          mv.genres.map((g) => g.genre),
        )
      : [
          el(
            'p',
            { class: 'note' },
            'This model has no gate (only a gated fusion such as the GMU shows how much the poster and the plot each counted).',
          ),
        ]),
  );
  if (!dialog.open) dialog.showModal();
  dialog.scrollTop = 0;
}

async function loadMovies(append) {
  const run = currentRun();
  $('browse-error').hidden = true;
  if (!run || !run.hasModel) {
    $('browse-note').textContent = 'This run has no test predictions yet.';
    return;
  }
  const genre = $('genre-filter').value;
  const verdict = $('correct-filter').value;
  const search = $('search').value.trim();
  const params = new URLSearchParams({
    limit: String(state.browse.limit),
    offset: String(state.browse.offset),
  });
  if (genre) params.set('genre', genre);
  // With a genre, right/wrong is about that genre; otherwise about the whole set of genres.
  if (verdict && genre) params.set('correct', verdict === 'exact' ? 'true' : 'false');
  else if (verdict) params.set('verdict', verdict);
  if (search) params.set('q', search);
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
      (r.total === 0 && search ? `No title matches “${search}”. ` : '') +
      `Chips: green = predicted and true, red = predicted but not true, dashed = true but missed (thresholds: ${r.thresholds}). Click a movie to open it.`;
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
  let searchTimer = null;
  $('search').addEventListener('input', () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => {
      state.browse.offset = 0;
      loadMovies(false);
    }, 200);
  });
  $('movie-close').addEventListener('click', () => $('movie-view').close());
  // A click on the backdrop (outside the dialog's box) closes it too.
  $('movie-view').addEventListener('click', (e) => {
    if (e.target === $('movie-view')) $('movie-view').close();
  });
  wireDropZone();
  loadRuns().catch((err) => showFormError(`Cannot list runs: ${err.message}`));
}

start();
