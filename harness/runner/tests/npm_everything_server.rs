//! A real third-party stdio server that elicits, samples and reports progress:
//! the reference servers' "everything" server (`@modelcontextprotocol/server-everything`
//! from npm, installed into fixtures/npm_stdio by ci/test.sh), run as
//! `server-everything stdio`. The travel, research and progress scenarios run
//! over its pipes; its known deviations are kept in a baseline with reasons, and
//! anything else failing fails this test.

#[path = "support/third_party.rs"]
mod third_party;

#[test]
fn the_npm_everything_server_over_stdio_passes_all_but_its_recorded_deviations() {
    let server = third_party::root().join(
        "fixtures/npm_stdio/node_modules/@modelcontextprotocol/server-everything/dist/index.js",
    );
    assert!(
        server.exists(),
        "no {} (hint: run ci/test.sh, or: npm ci --prefix fixtures/npm_stdio)",
        server.display()
    );
    let command = format!("node {} stdio", server.display());
    // stdio/close_stdin_mid_call is left out: whether the server exits within
    // the 2 s grace after its stdin closes mid-call depends on how far its
    // operation had got (see the baseline's header).
    let (scenarios, errors) =
        mcp_harness::scenario::load_dir(&third_party::root().join("scenarios"));
    assert!(errors.is_empty(), "{errors:?}");
    let ids: Vec<String> = scenarios
        .iter()
        .map(|s| format!("{}@", s.id))
        .filter(|id| id != "stdio/close_stdin_mid_call@")
        .collect();
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    third_party::run_against(
        &command,
        &ids,
        "fixtures/profiles/npm-everything.toml",
        "fixtures/profiles/npm-everything.expected-failures.txt",
        true,
    );
}
