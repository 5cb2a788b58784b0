//! Sizes a scenario may ask for (README.md, "Resource limits"). `validate` refuses a scenario past
//! one of them, at the YAML position of the field, before anything is expanded or allocated: a
//! scenario that passes validation can be held in memory, and nothing it asks for overflows.

/// Parameter subsets a sweep may expand into (a zip's longest list, or a cartesian product).
pub const MAX_SUBSETS: u64 = 100_000;

/// Jobs of one run: parameter subsets × `runs`.
pub const MAX_JOBS: u64 = 1_000_000;

/// `timesteps` of one job.
pub const MAX_TIMESTEPS: u64 = 100_000_000;

/// Records of one run: jobs × (1 + timesteps × blocks).
pub const MAX_RECORDS: u64 = 10_000_000_000;

/// Partitions of one topic. Kafka's own guidance is thousands per broker; the embedded broker
/// allocates every partition it is asked for (2,000,000 grew past 900 MB, `i32::MAX` aborted).
pub const MAX_PARTITIONS: i32 = 100_000;

/// Cells of one `engine bench` matrix (combinations × repeats), checked before any is built.
pub const MAX_BENCH_CELLS: u64 = 10_000;

/// How deeply YAML collections may nest in a scenario file.
pub const MAX_YAML_DEPTH: usize = 64;

/// Bytes of a scenario file. The largest scenario in this repository is a few KiB; a sweep written
/// out by a script stays far below this.
pub const MAX_SCENARIO_FILE_BYTES: u64 = 16 << 20;

/// Bytes of a schema file a topic names (`schema: {file: …}`, Avro or `.proto`).
pub const MAX_SCHEMA_FILE_BYTES: u64 = 16 << 20;
