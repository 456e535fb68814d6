//! The HTML report (`report.html`): one self-contained page (inline CSS, JS
//! and SVG, nothing fetched) with the run's summary, filters and a search
//! box, and per case its findings and a sequence diagram of what crossed the
//! wire. [`render`] is a pure function of the cases and their summary; long
//! cases are paged ([`PAGE_ROWS`] records a page) so a case of 100,000
//! records opens at once: the first page is drawn in the page, the others
//! wait, gzipped SVG in a JSON block ([`packed`]), until asked for.

pub mod diagram;
pub mod label;
pub mod svg;

use std::collections::BTreeSet;
use std::fmt::Write;

use mcp_harness_checks::{Outcome, Resilience};
use mcp_harness_wire::WireEvent;

use crate::report::{CaseOutcome, Summary};
use crate::run::CaseResult;
use diagram::{Diagram, FindingGroup};

/// Records drawn per page of a diagram.
pub const PAGE_ROWS: usize = 200;

/// Records of a finding group linked from the finding list.
const LINKED_RECORDS: usize = 12;

const STYLE: &str = include_str!("report.css");
const SCRIPT: &str = include_str!("report.js");

/// `text` with the five HTML/XML specials escaped.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The status a case shows: its outcome's word, or `WARN` for a case that
/// passed with a broken SHOULD.
pub fn case_status(case: &CaseResult, summary: &Summary) -> &'static str {
    if case.skipped.is_some() {
        return CaseOutcome::Skipped.word();
    }
    match summary.outcome_of(&case.name()) {
        CaseOutcome::Passed if case.verdicts.iter().any(|v| v.outcome == Outcome::Warn) => "WARN",
        other => other.word(),
    }
}

/// The whole page.
pub fn render(cases: &[CaseResult], summary: &Summary) -> String {
    let mut out = String::new();
    out.push_str("<!doctype html>\n<html lang='en'><head><meta charset='utf-8'><meta name='viewport' content='width=device-width'><title>mcp-harness report</title><style>");
    out.push_str(STYLE);
    out.push_str("</style></head>\n<body>\n");
    out.push_str(&summary_section(cases, summary));
    out.push_str(&filters(cases, summary));
    out.push_str("<main id='cases'>\n");
    for (i, case) in cases.iter().enumerate() {
        out.push_str(&case_section(i, case, summary));
    }
    out.push_str("</main>\n<script>");
    out.push_str(SCRIPT);
    out.push_str("</script>\n</body></html>\n");
    out
}

/// The top: counts, the closing line, a table of cases and one of checks.
pub fn summary_section(cases: &[CaseResult], summary: &Summary) -> String {
    let mut out = String::new();
    let count = |status: &str| {
        cases
            .iter()
            .filter(|c| case_status(c, summary) == status)
            .count()
    };
    let _ = write!(
        out,
        "<header><h1>mcp-harness report</h1><p class='closing'>{}</p><p class='counts'>",
        escape(&summary.closing_line())
    );
    for status in ["FAIL", "LOST", "UNEXERCISED", "WARN", "PASS", "SKIP"] {
        let _ = write!(
            out,
            "<span class='badge {}'>{} {status}</span> ",
            status.to_lowercase(),
            count(status)
        );
    }
    out.push_str("</p></header>\n<section id='summary'><details open><summary><h2>Cases</h2></summary><table id='case-table'><thead><tr><th>status</th><th>case</th><th>conformance</th><th>resilience</th><th>records</th></tr></thead><tbody>\n");
    for (i, case) in cases.iter().enumerate() {
        let status = case_status(case, summary);
        let broken = |outcome: Outcome| {
            case.verdicts
                .iter()
                .filter(|v| v.outcome == outcome)
                .count()
        };
        let conformance = if case.skipped.is_some() {
            "skipped".to_owned()
        } else {
            format!(
                "{} fail, {} warn, {} pass",
                broken(Outcome::Fail),
                broken(Outcome::Warn),
                broken(Outcome::Pass)
            )
        };
        let resilience = match &case.resilience {
            Resilience::NotChaos => String::new(),
            other => other.summary(),
        };
        let _ = writeln!(
            out,
            "<tr data-case='{i}' class='{}'><td><span class='badge {}'>{status}</span></td><td><a href='#case-{i}' class='tocase'>{}</a></td><td>{conformance}</td><td>{}</td><td>{}</td></tr>",
            status.to_lowercase(),
            status.to_lowercase(),
            escape(&case.name()),
            escape(&resilience),
            case.transcript.records.len()
        );
    }
    out.push_str("</tbody></table></details>\n<details><summary><h2>Checks</h2></summary><table id='check-table'><thead><tr><th>check</th><th>pass</th><th>not observed</th><th>warn</th><th>fail</th><th>skipped</th><th>unknown</th></tr></thead><tbody>\n");
    for (check, t) in &summary.per_check {
        let class = if t.fail > 0 {
            "fail"
        } else if t.warn > 0 {
            "warn"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "<tr class='{class}' data-check='{}'><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(check),
            escape(check),
            t.pass,
            t.not_observed,
            t.warn,
            t.fail,
            t.skipped,
            t.unknown
        );
    }
    out.push_str("</tbody></table></details></section>\n");
    out
}

/// The filter bar: outcome toggles, check, scenario and version choices, and
/// the search box.
fn filters(cases: &[CaseResult], summary: &Summary) -> String {
    let broken: BTreeSet<&str> = cases
        .iter()
        .flat_map(|c| &c.verdicts)
        .filter(|v| matches!(v.outcome, Outcome::Fail | Outcome::Warn))
        .map(|v| v.check.as_str())
        .collect();
    let scenarios: BTreeSet<&str> = cases.iter().map(|c| c.scenario.as_str()).collect();
    let groups: BTreeSet<&str> = scenarios
        .iter()
        .filter_map(|s| s.split_once('/').map(|(g, _)| g))
        .collect();
    let versions: BTreeSet<&str> = cases.iter().map(|c| c.version.as_str()).collect();
    let mut out = String::from("<nav id='filters'><span class='outcomes'>");
    for status in ["FAIL", "LOST", "UNEXERCISED", "WARN", "PASS", "SKIP"] {
        let n = cases
            .iter()
            .filter(|c| case_status(c, summary) == status)
            .count();
        let _ = write!(
            out,
            "<label class='badge {}'><input type='checkbox' class='outcome' value='{status}' checked> {status} ({n})</label> ",
            status.to_lowercase()
        );
    }
    let option = |out: &mut String, value: &str, text: &str| {
        let _ = write!(
            out,
            "<option value='{}'>{}</option>",
            escape(value),
            escape(text)
        );
    };
    out.push_str("</span><select id='check-filter' title='cases where this check broke'><option value=''>any check</option>");
    for check in broken {
        option(&mut out, check, &format!("broke {check}"));
    }
    out.push_str("</select><select id='scenario-filter'><option value=''>any scenario</option>");
    for group in groups {
        option(&mut out, &format!("{group}/"), &format!("{group}/ (all)"));
    }
    for scenario in scenarios {
        option(&mut out, scenario, scenario);
    }
    out.push_str("</select><select id='version-filter'><option value=''>any version</option>");
    for version in versions {
        option(&mut out, version, version);
    }
    let _ = writeln!(
        out,
        "</select><input id='search' type='search' placeholder='search cases, findings, records'> <span id='shown'>{} of {} cases shown</span></nav>",
        cases.len(),
        cases.len()
    );
    out
}

/// The diagram of a case, its findings grouped (a baseline's expected
/// failures told apart).
pub fn case_diagram(case: &CaseResult, summary: &Summary) -> Diagram {
    let name = case.name();
    let expected = |check: &str| {
        summary
            .expected_failures
            .contains(&format!("{name} {check}"))
    };
    let groups: Vec<FindingGroup> = if case.skipped.is_some() {
        Vec::new()
    } else {
        diagram::finding_groups(&case.verdicts, &expected)
    };
    diagram::diagram(&case.transcript, groups)
}

/// One case: its header, findings, steps and diagram.
pub fn case_section(i: usize, case: &CaseResult, summary: &Summary) -> String {
    let status = case_status(case, summary);
    let diagram = case_diagram(case, summary);
    let broken: BTreeSet<&str> = diagram.findings.iter().map(|g| g.check.as_str()).collect();
    let target = case.transcript.records.iter().find_map(|r| match &r.event {
        WireEvent::Header { target, .. } => Some(target.clone()),
        _ => None,
    });
    let mut out = String::new();
    let _ = write!(
        out,
        "<section class='case' id='case-{i}' data-case='{i}' data-status='{status}' data-scenario='{}' data-version='{}' data-broken='{}'>",
        escape(&case.scenario),
        escape(&case.version),
        escape(&broken.into_iter().collect::<Vec<_>>().join(" "))
    );
    let _ = writeln!(
        out,
        "<h2><span class='badge {}'>{status}</span> {} <small>{} ms, {} records{}</small></h2>",
        status.to_lowercase(),
        escape(&case.name()),
        case.duration_ms,
        case.transcript.records.len(),
        target
            .map(|t| format!(", target {}", escape(&t)))
            .unwrap_or_default()
    );
    if case.skipped.is_none() && !matches!(case.resilience, Resilience::NotChaos) {
        let class = match case.resilience {
            Resilience::Lost { .. } => "lost",
            Resilience::Survived { .. } => "ok",
            _ => "notjudged",
        };
        let _ = writeln!(
            out,
            "<p class='resilience {class}'>resilience: {}</p>",
            escape(&case.resilience.summary())
        );
    }
    for fault in &case.unexercised {
        let _ = writeln!(
            out,
            "<p class='unexercised-fault'>fault not exercised: {} <a class='jump' href='#c{i}-r{seq}' data-seq='{seq}'>#{seq}</a></p>",
            escape(&fault.reason),
            seq = fault.seq
        );
    }
    out.push_str(&story(i, &diagram));
    if let Some(reason) = &case.skipped {
        let _ = writeln!(out, "<p class='skipped'>skipped: {}</p>", escape(reason));
    }
    if let Some(error) = &case.error {
        let _ = writeln!(out, "<p class='error'>error: {}</p>", escape(error));
    }
    if !diagram.findings.is_empty() {
        out.push_str("<ol class='findings'>\n");
        for (g, group) in diagram.findings.iter().enumerate() {
            out.push_str(&finding_item(i, g, group));
        }
        out.push_str("</ol>\n");
    }
    if !case.steps.is_empty() {
        let failed = case.steps.iter().filter(|s| !s.ok).count();
        let _ = write!(
            out,
            "<details class='steps'><summary>{} step{}{}</summary><ol>",
            case.steps.len(),
            if case.steps.len() == 1 { "" } else { "s" },
            if failed > 0 {
                format!(", {failed} not as expected")
            } else {
                String::new()
            }
        );
        for step in &case.steps {
            let _ = write!(
                out,
                "<li class='{}'>{}</li>",
                if step.ok { "ok" } else { "notok" },
                escape(&step.detail)
            );
        }
        out.push_str("</ol></details>\n");
    }
    if let Some(output) = case.client_output.as_ref().filter(|o| !o.is_empty()) {
        let _ = writeln!(
            out,
            "<details class='client-output'><summary>the client's output</summary><pre>{}</pre></details>",
            escape(output)
        );
    }
    out.push_str(&diagram_block(i, case, &diagram));
    out.push_str("</section>\n");
    out
}

/// What the faults did, in one line with links to the records: where the
/// stream was cut, what was withheld and never delivered, what a resume
/// replayed, what came twice or from another session. Empty when nothing
/// of the kind happened.
fn story(case: usize, diagram: &Diagram) -> String {
    use diagram::{Fate, Kind};
    let links = |rows: Vec<u64>| -> String {
        let mut text: String = rows
            .iter()
            .take(3)
            .map(|seq| {
                format!(" <a class='jump' href='#c{case}-r{seq}' data-seq='{seq}'>#{seq}</a>")
            })
            .collect();
        if rows.len() > 3 {
            text.push_str(" …");
        }
        text
    };
    let seqs = |keep: &dyn Fn(&diagram::Row) -> bool| -> Vec<u64> {
        diagram
            .rows
            .iter()
            .filter(|r| keep(r))
            .map(|r| r.seq)
            .collect()
    };
    let mut parts = Vec::new();
    // The faults that acted (a declared or matched fault that never fired
    // did nothing to the run).
    let faults: Vec<(&diagram::Row, &mcp_harness_wire::Fault)> = diagram
        .rows
        .iter()
        .filter_map(|r| match &r.fault {
            Some((fault, mcp_harness_wire::FaultPhase::Fired)) => Some((r, fault)),
            _ => None,
        })
        .collect();
    if !faults.is_empty() {
        let named: Vec<String> = faults
            .iter()
            .take(4)
            .map(|(r, fault)| {
                format!(
                    "{} <a class='jump' href='#c{case}-r{}' data-seq='{}'>#{}</a>",
                    escape(fault.name()),
                    r.seq,
                    r.seq,
                    r.seq
                )
            })
            .collect();
        let more = if faults.len() > 4 { ", …" } else { "" };
        parts.push(format!(
            "<span class='s fault'>faults: {}{more}</span>",
            named.join(", ")
        ));
    }
    let mut add = |class: &str, rows: Vec<u64>, one: &str, many: &str| {
        if !rows.is_empty() {
            let words = if rows.len() == 1 { one } else { many };
            parts.push(format!(
                "<span class='s {class}'>{} {words}{}</span>",
                rows.len(),
                links(rows)
            ));
        }
    };
    add(
        "broken",
        seqs(&|r| r.kind == Kind::End && r.fate == Fate::Broken),
        "stream ended badly",
        "streams ended badly",
    );
    add(
        "lost",
        seqs(&|r| r.fate == Fate::NeverDelivered),
        "message withheld by a fault, never delivered to its client",
        "messages withheld by a fault, never delivered to their client",
    );
    add(
        "held",
        seqs(&|r| r.fate == Fate::WithheldThenReplayed),
        "withheld, then replayed",
        "withheld, then replayed",
    );
    add(
        "replay",
        seqs(&|r| r.fate == Fate::Replay),
        "event replayed on a resume",
        "events replayed on a resume",
    );
    add(
        "repeat",
        seqs(&|r| r.fate == Fate::Repeat),
        "event delivered twice",
        "events delivered twice",
    );
    add(
        "foreign",
        seqs(&|r| r.fate == Fate::Foreign),
        "event replayed from another session",
        "events replayed from another session",
    );
    if parts.is_empty() {
        return String::new();
    }
    format!("<p class='story'>{}</p>\n", parts.join(" · "))
}

/// One finding group: the check, level, citation, what was seen and what
/// the rule wants, and links to its records.
fn finding_item(case: usize, g: usize, group: &FindingGroup) -> String {
    let mut links = String::new();
    for seq in group.records.iter().take(LINKED_RECORDS) {
        let _ = write!(
            links,
            " <a class='jump' href='#c{case}-r{seq}' data-seq='{seq}'>#{seq}</a>"
        );
    }
    if group.records.len() > LINKED_RECORDS {
        let _ = write!(links, " and {} more", group.records.len() - LINKED_RECORDS);
    }
    let times = if group.count > 1 {
        format!(" ({} times; the first:)", group.count)
    } else {
        String::new()
    };
    let at = if links.is_empty() {
        String::new()
    } else {
        format!("<span class='records'>at{links}</span>")
    };
    format!(
        "<li id='f{case}-{g}' class='finding {}'><b class='check'>{}</b> <span class='level'>{} {}</span> <cite>{}</cite>{times} {at}<div class='observed'>observed: {}</div><div class='expected'>expected: {}</div></li>\n",
        group.outcome,
        escape(&group.check),
        group.outcome,
        group.level,
        escape(&group.citation),
        escape(&group.observed),
        escape(&group.expected)
    )
}

/// The diagram: the first page drawn, the others as SVG text in a JSON
/// block, a pager, and the panel a clicked record shows its detail in.
fn diagram_block(i: usize, case: &CaseResult, diagram: &Diagram) -> String {
    let roles = svg::Roles::of(case.client_output.is_some(), diagram.stdio);
    let rows = diagram.rows.len();
    let pages = rows.div_ceil(PAGE_ROWS).max(1);
    let bounds: Vec<String> = (0..pages)
        .map(|p| {
            diagram
                .rows
                .get(p * PAGE_ROWS)
                .map(|r| r.seq.to_string())
                .unwrap_or_default()
        })
        .collect();
    let page = |p: usize| {
        svg::page(
            diagram,
            p * PAGE_ROWS..((p + 1) * PAGE_ROWS).min(rows),
            i,
            &roles,
        )
    };
    let mut out = String::new();
    let _ = write!(
        out,
        "<div class='diagram-block' data-case='{i}' data-pages='{pages}' data-bounds='{}' data-rows='{rows}' data-per-page='{PAGE_ROWS}'>",
        bounds.join(",")
    );
    out.push_str(LEGEND);
    if pages > 1 {
        let _ = writeln!(
            out,
            "<div class='pager'><button class='prev' disabled>‹ previous</button> <span class='where'>records 1–{} of {rows} (page 1 of {pages})</span> <button class='next'>next ›</button></div>",
            PAGE_ROWS.min(rows)
        );
    }
    let _ = write!(out, "<div class='page'>{}</div>", page(0));
    if pages > 1 {
        let rest: Vec<String> = (1..pages).map(|p| packed(&page(p))).collect();
        let json = serde_json::to_string(&rest).unwrap_or_default();
        let _ = write!(
            out,
            "<script type='application/json' class='pages'>{json}</script>"
        );
    }
    out.push_str("<pre class='detail' hidden></pre></div>");
    out
}

/// A page's SVG as the JSON block keeps it: gzip, then base64 (the browser
/// unpacks it with `DecompressionStream` when the page is shown). Drawings
/// repeat themselves, so a 100,000-record case weighs a tenth of its SVG.
pub fn packed(svg: &str) -> String {
    use base64::Engine;
    use std::io::Write as _;
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let _ = gzip.write_all(svg.as_bytes());
    let bytes = gzip.finish().unwrap_or_default();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// What the diagram's colours and marks mean.
const LEGEND: &str = "<p class='legend'><span class='k req'>→ request</span> <span class='k evt'>← response or event</span> <span class='k lost'>✕ withheld by a fault, never delivered</span> <span class='k held'>✕ withheld, replayed later</span> <span class='k replay'>↺ replay</span> <span class='k repeat'>↺ delivered twice</span> <span class='k foreign'>↺ another session's event</span> <span class='k fault'>fault</span> <span class='k kill'>kill</span> <span class='k down'>network down</span> <span class='k pinfail'>● broken MUST</span> <span class='k pinwarn'>● broken SHOULD</span> (hover a record for it whole; click it to keep it below)</p>\n";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_markup_and_both_quotes() {
        assert_eq!(
            escape("<a href='x'>\"&\"</a>"),
            "&lt;a href=&#39;x&#39;&gt;&quot;&amp;&quot;&lt;/a&gt;"
        );
    }
}
