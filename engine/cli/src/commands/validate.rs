//! `engine validate` and `engine schema`.

use crate::exit::{self, Exit};
use std::path::{Path, PathBuf};

pub fn validate(scenario: &Path, plugins: &[(String, PathBuf)], schema_registry: Option<&str>) -> Exit {
    match distroduce::validate(scenario, plugins, schema_registry) {
        Ok((model, _, _)) => {
            println!(
                "{}: ok ({} state variables, {} blocks, {} subsets x {} runs, {} plugins)",
                scenario.display(),
                model.vars.len(),
                model.blocks.len(),
                model.subsets.len(),
                model.runs,
                model.plugins.len()
            );
            Exit::Ok
        }
        Err(e) => exit::run_error(&e),
    }
}

pub fn schema() -> Exit {
    println!("{}", distroduce::scenario::schema_json());
    Exit::Ok
}
