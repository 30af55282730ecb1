//! Rebuilds this crate whenever a page it embeds changes.
//!
//! `gateway/pages.rs` embeds `web/` with `include_str!`. Cargo does notice those files,
//! but records them by absolute path because they lie outside this package: a target
//! directory copied from another checkout (a worktree seeded from the main one) then
//! watches the other checkout's `web/`, and the binary keeps serving the pages it was
//! first built with whatever is edited here. Paths given here are relative to this
//! package, so they are watched wherever the tree is.

fn main() {
    for path in [
        "../../web/index.html",
        "../../web/admin.html",
        "../../web/style.css",
        "../../web/js",
        "../../web/vendor",
    ] {
        println!("cargo:rerun-if-changed={path}");
    }
}
