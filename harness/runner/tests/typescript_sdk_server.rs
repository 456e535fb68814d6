//! A real third-party server in the suite: fixtures/typescript_sdk/server.mjs,
//! written with the official TypeScript SDK (`@modelcontextprotocol/sdk` from
//! npm, installed by ci/test.sh), stateful streamable HTTP as the SDK's own
//! example, run through every scenario with its target profile. Its known
//! deviations are kept in a baseline with the sentence each breaks.

#[path = "support/third_party.rs"]
mod third_party;

#[test]
fn the_typescript_sdk_server_passes_all_but_its_recorded_deviations() {
    let sdk =
        third_party::root().join("fixtures/typescript_sdk/node_modules/@modelcontextprotocol/sdk");
    assert!(
        sdk.exists(),
        "no {} (hint: run ci/test.sh, or: npm ci --prefix fixtures/typescript_sdk)",
        sdk.display()
    );
    third_party::run_against(
        "node fixtures/typescript_sdk/server.mjs --port {port}",
        &[],
        "fixtures/profiles/typescript-sdk.toml",
        "fixtures/profiles/typescript-sdk.expected-failures.txt",
        true,
    );
}
