//! Schema validation benchmark: per version, how long the official schema takes
//! to compile (once per process), and how many messages per second it judges,
//! on a mix like the built-in suite's (progress notifications, a tool result,
//! an elicitation request and its answer).
//!
//! cargo bench -p mcp-harness-checks --bench schema
//! SUITE_TRANSCRIPTS=out/transcripts cargo bench -p mcp-harness-checks --bench schema
//! (also: validation's share of judging a whole run's transcripts)

use std::time::Instant;

use mcp_harness_checks::analysis::KNOWN_VERSIONS;
use mcp_harness_checks::schema::official_schema;
use serde_json::{Value, json};

fn mix() -> Vec<(Value, Option<&'static str>)> {
    vec![
        (
            json!({"jsonrpc": "2.0", "method": "notifications/progress", "params": {"progressToken": "tok", "progress": 50.0, "total": 100.0, "message": "Confirming prices..."}}),
            None,
        ),
        (
            json!({"jsonrpc": "2.0", "method": "notifications/progress", "params": {"progressToken": 7, "progress": 75.0}}),
            None,
        ),
        (
            json!({"jsonrpc": "2.0", "id": 3, "result": {"resultType": "complete", "content": [{"type": "text", "text": "Trip to Lisbon booked at $1200"}], "isError": false}}),
            Some("tools/call"),
        ),
        (
            json!({"jsonrpc": "2.0", "id": 0, "method": "elicitation/create", "params": {"message": "Confirm?", "requestedSchema": {"type": "object", "properties": {"confirm": {"type": "boolean"}, "notes": {"type": "string"}}, "required": ["confirm"]}}}),
            None,
        ),
        (
            json!({"jsonrpc": "2.0", "id": 0, "result": {"action": "accept", "content": {"confirm": true}}}),
            Some("elicitation/create"),
        ),
    ]
}

fn main() {
    let messages = mix();
    let rounds = 20_000;
    println!(
        "version      compile ms   messages/s   (mix of {} messages x {rounds})",
        messages.len()
    );
    for version in KNOWN_VERSIONS {
        let start = Instant::now();
        let schema = official_schema(version).expect("a known version");
        let compile = start.elapsed();
        let start = Instant::now();
        let mut breaches = 0usize;
        for _ in 0..rounds {
            for (message, answers) in &messages {
                breaches += schema.judge(message, *answers).breaches.len();
            }
        }
        let rate = (rounds * messages.len()) as f64 / start.elapsed().as_secs_f64();
        println!(
            "{version}   {:>10.1}   {rate:>10.0}   ({breaches} breaches)",
            compile.as_secs_f64() * 1000.0
        );
    }
    if let Ok(dir) = std::env::var("SUITE_TRANSCRIPTS") {
        suite(&dir);
    }
}

/// With `SUITE_TRANSCRIPTS=DIR` (the `transcripts/` folder of an
/// `mcp-harness run --out`): the time to judge every transcript with the
/// whole catalog, and with it but the schema checks, side by side.
fn suite(dir: &str) {
    use mcp_harness_checks::{Analysis, catalog, judge_one};
    let mut transcripts = Vec::new();
    for entry in std::fs::read_dir(dir).expect("SUITE_TRANSCRIPTS is a folder") {
        let path = entry.expect("a readable folder").path();
        if path.extension().is_some_and(|e| e == "jsonl") {
            let text = std::fs::read_to_string(&path).expect("a readable transcript");
            transcripts
                .push(mcp_harness_wire::Transcript::from_jsonl(&text).expect("a transcript"));
        }
    }
    let analyses: Vec<Analysis> = transcripts.iter().map(Analysis::of).collect();
    let time = |with_schema: bool| {
        let start = Instant::now();
        let mut examined = 0usize;
        for analysis in &analyses {
            for check in catalog() {
                let schema = check.id.starts_with("schema.");
                if schema && !with_schema {
                    continue;
                }
                let verdict = judge_one(check, analysis);
                if schema {
                    examined += verdict.examined;
                }
            }
        }
        (start.elapsed(), examined)
    };
    // The schemas are compiled already (above): a run pays that once.
    let (without, _) = time(false);
    let (with, messages) = time(true);
    println!(
        "suite: {} transcripts, {messages} messages validated; judging {:.1} ms without the schema checks, {:.1} ms with ({:.1} ms for validation)",
        analyses.len(),
        without.as_secs_f64() * 1000.0,
        with.as_secs_f64() * 1000.0,
        (with.saturating_sub(without)).as_secs_f64() * 1000.0
    );
}
