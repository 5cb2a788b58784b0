//! `engine merge`.

use crate::exit::{print_error, Exit};
use std::path::{Path, PathBuf};

pub fn merge(shards: &[PathBuf], out: &Path) -> Exit {
    match distroduce::merge::merge(shards, out) {
        Ok(s) => {
            crate::render::print_summary(&s);
            Exit::Ok
        }
        Err(e) => {
            print_error(&e);
            Exit::BadInput
        }
    }
}
