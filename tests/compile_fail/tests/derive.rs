//! The compile errors of misusing `#[derive(FromRow)]` and `#[derive(SerializeRow)]`:
//! one trybuild run over every case in `cases/`, each compared with its `.stderr`.

#[test]
fn derive_misuse_fails_to_compile_with_a_clear_message() {
    let t = trybuild::TestCases::new();
    t.compile_fail("cases/*.rs");
}
