// The report's behaviour: filters and search, paging long diagrams, jumping
// from a finding to its record (and from a pin to its finding), and the
// detail panel of a clicked record. No network, no libraries.
(function () {
  "use strict";
  const cases = Array.from(document.querySelectorAll("section.case"));
  const caseRows = new Map(
    Array.from(document.querySelectorAll("#case-table tbody tr")).map((tr) => [tr.dataset.case, tr])
  );
  const shown = document.getElementById("shown");
  const search = document.getElementById("search");
  const checkFilter = document.getElementById("check-filter");
  const scenarioFilter = document.getElementById("scenario-filter");
  const versionFilter = document.getElementById("version-filter");
  const outcomes = Array.from(document.querySelectorAll("input.outcome"));

  // Pages of a diagram not drawn yet: gzipped SVG, base64, in a JSON block,
  // unpacked when first shown (or searched).
  const packedPages = new Map();
  const pageCache = new Map();
  const firstPages = new Map();
  function packedOf(block) {
    const key = block.dataset.case;
    if (!packedPages.has(key)) {
      const script = block.querySelector("script.pages");
      packedPages.set(key, script ? JSON.parse(script.textContent) : []);
    }
    return packedPages.get(key);
  }

  async function unpack(encoded) {
    const bytes = Uint8Array.from(atob(encoded), (c) => c.charCodeAt(0));
    const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
    return new Response(stream).text();
  }

  async function pageMarkup(block, index) {
    const key = block.dataset.case + "/" + index;
    if (!pageCache.has(key)) {
      if (index === 0) pageCache.set(key, Promise.resolve(firstPages.get(block.dataset.case)));
      else pageCache.set(key, unpack(packedOf(block)[index - 1]));
    }
    return pageCache.get(key);
  }

  async function showPage(block, index) {
    const pages = Number(block.dataset.pages);
    if (index < 0 || index >= pages) return;
    const current = Number(block.dataset.page || 0);
    if (current !== index) {
      if (!firstPages.has(block.dataset.case)) firstPages.set(block.dataset.case, block.querySelector(".page").innerHTML);
      const markup = await pageMarkup(block, index);
      block.querySelector(".page").innerHTML = markup;
      block.dataset.page = String(index);
    }
    const pager = block.querySelector(".pager");
    if (pager) {
      const rows = Number(block.dataset.rows);
      const per = Number(block.dataset.perPage);
      const from = index * per + 1;
      const to = Math.min(rows, (index + 1) * per);
      pager.querySelector(".where").textContent =
        "records " + from + "–" + to + " of " + rows + " (page " + (index + 1) + " of " + pages + ")";
      pager.querySelector(".prev").disabled = index === 0;
      pager.querySelector(".next").disabled = index === pages - 1;
    }
  }

  // The page of block holding record seq.
  function pageOfSeq(block, seq) {
    const bounds = block.dataset.bounds.split(",").map(Number);
    let page = 0;
    for (let i = 0; i < bounds.length; i++) {
      if (bounds[i] <= seq) page = i;
    }
    return page;
  }

  function flash(element) {
    element.classList.add("flash");
    setTimeout(() => element.classList.remove("flash"), 2500);
  }

  async function goToRecord(caseIndex, seq) {
    const section = document.getElementById("case-" + caseIndex);
    if (!section) return false;
    section.hidden = false;
    const block = section.querySelector(".diagram-block");
    await showPage(block, pageOfSeq(block, seq));
    const row = document.getElementById("c" + caseIndex + "-r" + seq);
    if (!row) return false;
    row.scrollIntoView({ block: "center" });
    flash(row);
    showDetail(block, row);
    return true;
  }

  function showDetail(block, row) {
    const panel = block.querySelector("pre.detail");
    const title = row.querySelector("title");
    panel.textContent = "record " + row.dataset.seq + ": " + (title ? title.textContent : "");
    panel.hidden = false;
  }

  // The text of a case's later pages, unpacked once for searching.
  const laterText = new Map();
  function matchesSearch(section, words) {
    if (!words) return true;
    if (section.textContent.toLowerCase().includes(words)) return true;
    if (!section.querySelector("script.pages")) return false;
    const key = section.dataset.case;
    if (!laterText.has(key)) {
      // Unpack in the background, then filter again.
      laterText.set(key, null);
      const block = section.querySelector(".diagram-block");
      Promise.all(packedOf(block).map(unpack)).then((pages) => {
        laterText.set(key, pages.join("").replace(/<[^>]*>/g, " ").toLowerCase());
        applyFilters();
      });
      return false;
    }
    const text = laterText.get(key);
    return text !== null && text.includes(words);
  }

  function applyFilters() {
    const statuses = new Set(outcomes.filter((o) => o.checked).map((o) => o.value));
    const check = checkFilter.value;
    const scenario = scenarioFilter.value;
    const version = versionFilter.value;
    const words = search.value.trim().toLowerCase();
    let visible = 0;
    for (const section of cases) {
      const broken = section.dataset.broken ? section.dataset.broken.split(" ") : [];
      const name = section.dataset.scenario;
      const show =
        statuses.has(section.dataset.status) &&
        (!check || broken.includes(check)) &&
        (!scenario || (scenario.endsWith("/") ? name.startsWith(scenario) : name === scenario)) &&
        (!version || section.dataset.version === version) &&
        matchesSearch(section, words);
      section.hidden = !show;
      const row = caseRows.get(section.dataset.case);
      if (row) row.hidden = !show;
      if (show) visible++;
    }
    shown.textContent = visible + " of " + cases.length + " cases shown";
  }

  for (const input of outcomes) input.addEventListener("change", applyFilters);
  for (const select of [checkFilter, scenarioFilter, versionFilter]) select.addEventListener("change", applyFilters);
  let pending = null;
  search.addEventListener("input", () => {
    clearTimeout(pending);
    pending = setTimeout(applyFilters, 150);
  });

  document.addEventListener("click", (event) => {
    const target = event.target;
    const jump = target.closest("a.jump");
    if (jump) {
      const section = jump.closest("section.case");
      if (section) {
        event.preventDefault();
        goToRecord(section.dataset.case, Number(jump.dataset.seq));
      }
      return;
    }
    const pin = target.closest("a.pin");
    if (pin) {
      const section = pin.closest("section.case");
      const item = document.getElementById("f" + section.dataset.case + "-" + pin.dataset.group);
      if (item) {
        event.preventDefault();
        item.scrollIntoView({ block: "center" });
        flash(item);
      }
      return;
    }
    const pagerButton = target.closest(".pager button");
    if (pagerButton) {
      const block = pagerButton.closest(".diagram-block");
      const page = Number(block.dataset.page || 0);
      showPage(block, pagerButton.classList.contains("next") ? page + 1 : page - 1);
      return;
    }
    const checkRow = target.closest("#check-table tr[data-check]");
    if (checkRow) {
      const value = checkRow.dataset.check;
      if (Array.from(checkFilter.options).some((o) => o.value === value)) {
        checkFilter.value = value;
        applyFilters();
        document.getElementById("filters").scrollIntoView();
      }
      return;
    }
    const row = target.closest("g.r");
    if (row) showDetail(row.closest(".diagram-block"), row);
  });

  // A link to #c3-r16 from outside (or typed in the address bar) opens the page of that record.
  function followHash() {
    const match = /^#c(\d+)-r(\d+)$/.exec(location.hash);
    if (match) goToRecord(match[1], Number(match[2]));
  }
  window.addEventListener("hashchange", followHash);
  followHash();
  applyFilters();
})();
