//! Generates the frame types from `proto/koi.proto`.
//!
//! Serde attributes are derived from the schema itself: every message derives
//! `Serialize`/`Deserialize` with defaults for absent fields, every optional field
//! is skipped when absent, and oneofs are keyed by their snake_case field name. The few types whose JSON shape differs from their
//! protobuf shape (`Frame`, `Ok`, `Signal`) get hand-written impls in `src/json/`.

use prost_build::Config;
use protox::prost_reflect::{Cardinality, Kind};

/// Messages whose serde impls are written by hand.
const CUSTOM_SERDE: &[&str] = &["koi.Frame", "koi.Ok", "koi.Signal"];

fn main() {
    let schema = "../../proto/koi.proto";
    println!("cargo:rerun-if-changed={schema}");
    let mut compiler = protox::Compiler::new(["../../proto"]).expect("proto include path");
    compiler.include_imports(true);
    compiler
        .open_file("koi.proto")
        .expect("compile proto/koi.proto");
    let pool = compiler.descriptor_pool();

    let mut config = Config::new();
    for message in pool.all_messages() {
        let name = message.full_name();
        let path = format!(".{name}");
        if CUSTOM_SERDE.contains(&name) {
        } else {
            config.message_attribute(
                &path,
                "#[derive(serde::Serialize, serde::Deserialize)] #[serde(default)]",
            );
        }
        for oneof in message.oneofs().filter(|o| !o.is_synthetic()) {
            let oneof_path = format!("{path}.{}", oneof.name());
            let style = if name == "koi.Ok" {
                "#[derive(serde::Serialize)] #[serde(untagged)]"
            } else {
                "#[derive(serde::Serialize, serde::Deserialize)] #[serde(rename_all = \"snake_case\")]"
            };
            config.enum_attribute(&oneof_path, style);
        }
        for field in message.fields() {
            let in_real_oneof = field.containing_oneof().is_some_and(|o| !o.is_synthetic());
            let is_option = field.supports_presence()
                && field.cardinality() != Cardinality::Repeated
                && (field.containing_oneof().is_some() || matches!(field.kind(), Kind::Message(_)));
            if is_option && !in_real_oneof && !CUSTOM_SERDE.contains(&name) {
                config.field_attribute(
                    format!("{path}.{}", field.name()),
                    "#[serde(skip_serializing_if = \"Option::is_none\")]",
                );
            }
        }
    }
    // `presence` is a request `{users}` and a push `{user, online}` in one type:
    // keep the request's list out of the push.
    config.field_attribute(
        ".koi.Presence.users",
        "#[serde(skip_serializing_if = \"Vec::is_empty\")]",
    );
    config
        .compile_fds(compiler.file_descriptor_set())
        .expect("generate frame types");
}
