//! Draws a page of a [`Diagram`] as SVG: the three lanes, a row per record
//! (arrows, marks, faults across the lanes), the exchange bands in the left
//! gutter, replay links in the right margin and finding pins beside them.
//! Pure; attribute values use single quotes so a page embeds in JSON cheaply.

use std::fmt::Write;

use super::diagram::{Diagram, Fate, FindingGroup, Lane, Pin, Row, Shape};
use super::escape;

/// Height of one row, px.
pub const ROW_HEIGHT: u32 = 22;
/// Height of the lane headers, px.
const TOP: u32 = 34;
/// Width of the drawing, px.
pub const WIDTH: u32 = 1260;
/// Left edge of the band gutter.
const GUTTER_X: u32 = 92;
/// Width of a band column.
const COLUMN_WIDTH: u32 = 9;
/// Band columns drawn; more concurrent bands share them.
pub const MAX_COLUMNS: usize = 8;
/// Right edge of the lanes' area; replay links and pins go beyond it.
const MARGIN_X: u32 = 830;
/// Where finding pins start.
const PINS_X: u32 = 1010;
/// Dots drawn for the findings at one record.
const MAX_PIN_DOTS: usize = 4;
/// Colours of bands (CSS classes `b0`..`b7`).
const PALETTE: u64 = 8;

/// x of a lane.
fn lane_x(lane: Lane) -> u32 {
    match lane {
        Lane::Client => 220,
        Lane::Proxy => 500,
        Lane::Server => 780,
    }
}

/// The lanes' names: who the client and server are in this case.
pub struct Roles {
    /// The client lane's name.
    pub client: &'static str,
    /// The middle lane's name.
    pub proxy: &'static str,
    /// The server lane's name.
    pub server: &'static str,
}

impl Roles {
    /// The roles of a case: `client_test` when the harness played the server.
    pub fn of(client_test: bool, stdio: bool) -> Self {
        Self {
            client: if client_test {
                "client under test"
            } else {
                "harness client"
            },
            proxy: if stdio {
                "pipes (recorded)"
            } else {
                "proxy (recorded)"
            },
            server: if client_test {
                "harness server"
            } else {
                "server under test"
            },
        }
    }
}

/// The SVG of rows `range` of `diagram`, for case number `case`.
pub fn page(
    diagram: &Diagram,
    range: std::ops::Range<usize>,
    case: usize,
    roles: &Roles,
) -> String {
    let rows = &diagram.rows[range.clone()];
    let height = TOP + ROW_HEIGHT * rows.len() as u32 + 8;
    let mut out = String::with_capacity(rows.len() * 320 + 1024);
    let _ = write!(
        out,
        "<svg class='diagram' xmlns='http://www.w3.org/2000/svg' width='{WIDTH}' height='{height}' viewBox='0 0 {WIDTH} {height}'>"
    );
    out.push_str(
        "<defs><marker id='ah' viewBox='0 0 10 10' refX='9' refY='5' markerWidth='7' markerHeight='7' orient='auto-start-reverse'><path d='M0,0L10,5L0,10z' fill='context-stroke'/></marker></defs>\n",
    );
    // Lanes and their names.
    for (lane, name) in [
        (Lane::Client, roles.client),
        (Lane::Proxy, roles.proxy),
        (Lane::Server, roles.server),
    ] {
        let x = lane_x(lane);
        let _ = writeln!(
            out,
            "<line class='lane' x1='{x}' y1='{TOP}' x2='{x}' y2='{height}'/><rect class='lanehead' x='{}' y='4' width='160' height='22' rx='4'/><text class='lanename' x='{x}' y='19'>{}</text>",
            x - 80,
            escape(name)
        );
    }
    // Bands, clipped to the page.
    for band in &diagram.bands {
        if band.last < range.start || band.first >= range.end {
            continue;
        }
        let first = band.first.max(range.start) - range.start;
        let last = band.last.min(range.end - 1) - range.start;
        let x = GUTTER_X + (band.column % MAX_COLUMNS) as u32 * COLUMN_WIDTH;
        let y = TOP + first as u32 * ROW_HEIGHT + 3;
        let h = (last - first + 1) as u32 * ROW_HEIGHT - 6;
        let _ = writeln!(
            out,
            "<rect class='band b{}' x='{x}' y='{y}' width='{}' height='{h}' rx='3'><title>{}</title></rect>",
            band.number % PALETTE,
            COLUMN_WIDTH - 2,
            escape(&band.title)
        );
    }
    let first_seq_on_page = rows.first().map(|r| r.seq).unwrap_or(0);
    let y_of_seq = |seq: u64| -> Option<u32> {
        rows.binary_search_by_key(&seq, |r| r.seq)
            .ok()
            .map(|i| TOP + i as u32 * ROW_HEIGHT + ROW_HEIGHT / 2)
    };
    for (i, row) in rows.iter().enumerate() {
        let y = TOP + i as u32 * ROW_HEIGHT;
        draw_row(&mut out, row, y, case, &diagram.findings);
        // A replay's link to its first sending, when both are on this page.
        if let Some(first) = row.first_sent {
            let here = y + ROW_HEIGHT / 2;
            if first >= first_seq_on_page
                && let Some(there) = y_of_seq(first)
            {
                let bulge = MARGIN_X + 16 + ((here - there) / ROW_HEIGHT).min(40);
                let _ = writeln!(
                    out,
                    "<path class='link {}' d='M{MARGIN_X},{there}C{bulge},{there} {bulge},{here} {MARGIN_X},{here}'/>",
                    row.fate.class()
                );
            }
        }
    }
    out.push_str("</svg>");
    out
}

/// One row's group: its number and time, band number, shape and label,
/// replay link text and pins.
fn draw_row(out: &mut String, row: &Row, y: u32, case: usize, findings: &[FindingGroup]) {
    let mid = y + ROW_HEIGHT / 2;
    let _ = write!(
        out,
        "<g class='r {} {}{}' id='c{case}-r{}' data-seq='{}'><title>{}</title><rect class='hit' x='0' y='{y}' width='{WIDTH}' height='{ROW_HEIGHT}'/>",
        row.kind.class(),
        row.fate.class(),
        if row.network_down { " down" } else { "" },
        row.seq,
        row.seq,
        escape(&row.detail)
    );
    let _ = write!(
        out,
        "<text class='seq' x='30' y='{}'>{}</text><text class='time' x='86' y='{}'>{}</text>",
        mid + 4,
        row.seq,
        mid + 4,
        millis(row.at_us)
    );
    if let Some(band) = row.band {
        let _ = write!(
            out,
            "<text class='bandno t{}' x='{}' y='{}'>{band}</text>",
            band % PALETTE,
            lane_x(Lane::Client) - 8,
            mid + 4
        );
    }
    let label = escape(&row.label);
    match &row.shape {
        Shape::Arrow { from, to } => {
            let (x1, x2) = (lane_x(*from), lane_x(*to));
            let _ = write!(
                out,
                "<line class='msg' x1='{x1}' y1='{mid}' x2='{x2}' y2='{mid}' marker-end='url(#ah)'/>"
            );
            if matches!(row.fate, Fate::NeverDelivered | Fate::WithheldThenReplayed) {
                let _ = write!(
                    out,
                    "<text class='x' x='{}' y='{}'>✕</text>",
                    x2 - 14,
                    mid + 5
                );
            }
            let _ = write!(
                out,
                "<text class='label' x='{}' y='{}'>{label}</text>",
                (x1 + x2) / 2,
                mid - 3
            );
        }
        Shape::Mark { at } => {
            let x = lane_x(*at);
            let _ = write!(
                out,
                "<circle class='dot' cx='{x}' cy='{mid}' r='4'/><text class='mark' x='{}' y='{}'>{label}</text>",
                x + 10,
                mid + 4
            );
        }
        Shape::Across => {
            let (x1, x2) = (lane_x(Lane::Client) - 30, lane_x(Lane::Server) + 30);
            let _ = write!(
                out,
                "<rect class='across' x='{x1}' y='{}' width='{}' height='{}' rx='3'/><text class='acrosslabel' x='{}' y='{}'>{label}</text>",
                y + 2,
                x2 - x1,
                ROW_HEIGHT - 4,
                lane_x(Lane::Proxy),
                mid + 4
            );
        }
    }
    if let Some(first) = row.first_sent {
        let words = match row.fate {
            Fate::Repeat => "repeats",
            Fate::Foreign => "other session's",
            _ => "replays",
        };
        let _ = write!(
            out,
            "<a class='jump' href='#c{case}-r{first}' data-seq='{first}'><text class='linktext {}' x='{}' y='{}'>↺ {words} #{first}</text></a>",
            row.fate.class(),
            MARGIN_X + 24,
            mid + 4
        );
    }
    // A dot per finding (each a link to its group in the finding list), then
    // the checks' names.
    let shown = row.pins.len().min(MAX_PIN_DOTS);
    for (n, pin) in row.pins.iter().take(shown).enumerate() {
        let _ = write!(
            out,
            "<a class='pin {}' href='#f{case}-{}' data-group='{}'><circle cx='{}' cy='{mid}' r='6'/><title>{}</title></a>",
            pin.outcome,
            pin.group,
            pin.group,
            PINS_X + 6 + 14 * n as u32,
            escape(&pin_title(pin, findings))
        );
    }
    if let Some(first) = row.pins.first() {
        let mut names: Vec<&str> = Vec::new();
        for pin in &row.pins {
            if !names.contains(&pin.check.as_str()) {
                names.push(&pin.check);
            }
        }
        let _ = write!(
            out,
            "<a class='pin {}' href='#f{case}-{}' data-group='{}'><text x='{}' y='{}'>{}</text></a>",
            first.outcome,
            first.group,
            first.group,
            PINS_X + 4 + 14 * shown as u32,
            mid + 4,
            escape(&super::label::clip(&names.join(", "), 30))
        );
    }
    out.push_str("</g>\n");
}

/// A pin's tooltip: the rule, where it is written, and what broke it.
fn pin_title(pin: &Pin, findings: &[FindingGroup]) -> String {
    match findings.get(pin.group) {
        Some(group) => format!(
            "{} ({} {}, {}): observed {}; expected {}",
            group.check, group.outcome, group.level, group.citation, group.observed, group.expected
        ),
        None => pin.check.clone(),
    }
}

/// `µs` as milliseconds with one decimal.
fn millis(at_us: u64) -> String {
    format!("{}.{} ms", at_us / 1000, (at_us % 1000) / 100)
}
