//! The end-to-end suite: one test binary, one module per file of `tests/`.
//! Each module runs the built tools (and the loopback servers) as users do.

mod addon_validate;
mod catalog_build;
mod ci_recipes;
mod credentials;
mod csv_wait;
mod demo;
mod faults;
mod fleet;
mod hive_apply;
mod kubectl;
mod loading_rules;
mod make;
mod mtcli_differences;
mod ocm_install;
mod ocm_openapi;
mod ocm_post;
mod panics;
mod progress;
mod registry_faults;
mod reports;
mod schemas;
mod secrets;
mod syncset_render;
mod templates;
mod verbose;
mod yaml_subset;

/// A file in `tests/` that is not a module above would never run: say so.
#[test]
fn every_test_file_is_a_module_of_the_suite() {
    let main = include_str!("main.rs");
    let dir = e2e::repo_root().join("tests");
    for entry in std::fs::read_dir(&dir).expect("tests/ is readable") {
        let name = entry.expect("directory entry").file_name();
        let name = name.to_string_lossy();
        if let Some(module) = name.strip_suffix(".rs") {
            if module != "main" {
                assert!(
                    main.contains(&format!("\nmod {module};\n")),
                    "tests/{name} is not a module of tests/main.rs, so it never runs"
                );
            }
        }
    }
}
