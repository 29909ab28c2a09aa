#[test]
fn the_checked_in_schema_matches_the_code() {
    let checked_in =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql"))
            .expect("schema.graphql exists at the repository root");
    assert!(
        checked_in == envagin::graphql::sdl(),
        "schema.graphql is out of date: regenerate it with `cargo run -- schema > schema.graphql`"
    );
}
