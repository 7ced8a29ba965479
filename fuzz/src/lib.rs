//! The fuzz targets' bodies and helpers live in `tests/fuzz_bodies` (crate
//! `addon-flow-fuzz-bodies`, in the main workspace) so that the stable test
//! suite runs them over the seeds too; the targets here only hand libFuzzer's
//! input to them.

pub use addon_flow_fuzz_bodies::*;
