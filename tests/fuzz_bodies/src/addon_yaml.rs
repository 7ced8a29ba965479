//! addon.yaml bytes through our YAML loader (YAML 1.1 the PyYAML way,
//! duplicate keys, line map) and the managed-tenants schema check.

use common::cli::io::{Origin, Source};
use common::model::document::{self, LoadOptions};

/// One input, as the fuzz target and the seed test give it.
pub fn run(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = common::text::yaml::parse_stream(text);
        let map = common::text::yaml::SourceMap::build(text);
        let _ = map.line_of(&common::FieldPath::parse("spec.install[0].name"));
    }
    // Outside a tree (no image set folder), as addon-validate reads stdin…
    if let Ok(source) = Source::from_bytes(Origin::Stdin, data.to_vec()) {
        let _ = document::load(source, &LoadOptions::default());
    }
    // …and as an addon.yaml in a tree whose other files are missing.
    let path = "/nonexistent/addons/fuzz/metadata/stage/addon.yaml".into();
    if let Ok(source) = Source::from_bytes(Origin::File(path), data.to_vec()) {
        let options = LoadOptions {
            environment: Some("stage"),
            image_sets: None,
        };
        let _ = document::load(source, &options);
    }
}
