//! A real third-party stdio server in the suite: the filesystem server of the
//! MCP reference servers (`@modelcontextprotocol/server-filesystem` from npm,
//! installed into fixtures/npm_stdio by ci/test.sh), started on a temporary
//! folder and tested over stdio. Its known deviations are kept in a baseline
//! with reasons; anything else failing fails this test.

#[path = "support/third_party.rs"]
mod third_party;

#[test]
fn the_npm_filesystem_server_over_stdio_passes_all_but_its_recorded_deviations() {
    let server = third_party::root().join(
        "fixtures/npm_stdio/node_modules/@modelcontextprotocol/server-filesystem/dist/index.js",
    );
    assert!(
        server.exists(),
        "no {} (hint: run ci/test.sh, or: npm ci --prefix fixtures/npm_stdio)",
        server.display()
    );
    let folder = tempfile::tempdir().unwrap();
    std::fs::write(folder.path().join("notes.txt"), "a file to list\n").unwrap();
    let command = format!("node {} {}", server.display(), folder.path().display());
    third_party::run_against(
        &command,
        &[],
        "fixtures/profiles/npm-filesystem.toml",
        "fixtures/profiles/npm-filesystem.expected-failures.txt",
        true,
    );
}
