//! `engine import cadcad`.

use crate::exit::Exit;
use distroduce::import::{cadcad as import_cadcad, ImportRequest};

pub fn cadcad(req: &ImportRequest) -> Exit {
    if req.build {
        eprintln!("importing {} and building its plugin (componentize-py, ~15 s)...", req.path.display());
    }
    match import_cadcad(req) {
        Ok(done) => {
            for n in &done.notes {
                eprintln!("note: {n}");
            }
            println!("wrote {}", done.scenario.display());
            match &done.wasm {
                Some(w) => println!("built {}", w.display()),
                None => println!("next:  {} (builds the plugin)", done.dir.join("plugin/build").display()),
            }
            println!("run:   engine run {} --kafka none", done.scenario.display());
            Exit::Ok
        }
        Err(e) => {
            eprintln!("error: engine import cadcad: {e}");
            if let Some(h) = e.hint() {
                eprintln!("  hint: {h}");
            }
            if e.is_bad_input() {
                Exit::BadInput
            } else {
                Exit::Failed
            }
        }
    }
}
