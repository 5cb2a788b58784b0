//! Where each node of a scenario file sits, so that errors found after parsing (an unknown state
//! variable, a missing export) can still point at `file:line:col`.
//!
//! serde_yaml gives locations only for the errors it raises itself. We therefore walk the same text
//! once more with yaml-rust2's marked event stream and index every node by its path
//! (`blocks[1].updates.b`). The index is built once per file and is cheap next to plugin compilation.

pub use distroduce_model::Pos;
use std::collections::HashMap;
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::Marker;

/// Positions of every value (`path`) and every mapping key (`path` with [`SpanIndex::key`]).
#[derive(Debug, Default, Clone)]
pub struct SpanIndex {
    values: HashMap<String, Pos>,
    keys: HashMap<String, Pos>,
}

impl SpanIndex {
    /// Index `src`. Malformed YAML yields a partial index; serde_yaml reports the syntax error itself.
    pub fn build(src: &str) -> Self {
        let mut b = Builder::default();
        let mut parser = Parser::new_from_str(src);
        let _ = parser.load(&mut b, false);
        b.index
    }

    /// Position of the value at `path`, or of its nearest indexed ancestor.
    pub fn value(&self, path: &str) -> Option<Pos> {
        self.lookup(&self.values, path)
    }

    /// Position of the mapping key that ends `path` (falls back to the value, then to ancestors).
    pub fn key(&self, path: &str) -> Option<Pos> {
        self.keys.get(path).copied().or_else(|| self.value(path))
    }

    fn lookup(&self, map: &HashMap<String, Pos>, path: &str) -> Option<Pos> {
        let mut p = path;
        loop {
            if let Some(pos) = map.get(p) {
                return Some(*pos);
            }
            let cut = p.rfind(['.', '['])?;
            p = &p[..cut];
        }
    }
}

enum Frame {
    Map { path: String, next_key: Option<String> },
    Seq { path: String, next: usize },
}

#[derive(Default)]
struct Builder {
    stack: Vec<Frame>,
    index: SpanIndex,
}

impl Builder {
    /// Path of the node that the current event starts, or `None` when the event is a mapping key.
    fn child_path(&mut self, scalar: Option<&str>, mark: Marker) -> Option<String> {
        let pos = Pos { line: mark.line(), col: mark.col() + col_base() };
        match self.stack.last_mut() {
            None => Some(String::new()),
            Some(Frame::Seq { path, next }) => {
                let p = format!("{path}[{next}]");
                *next += 1;
                Some(p)
            }
            Some(Frame::Map { path, next_key }) => match next_key.take() {
                Some(k) => Some(join(path, &k)),
                None => {
                    // This event is a key. Complex (non-scalar) keys are not indexed.
                    let k = scalar.unwrap_or("?").to_string();
                    self.index.keys.insert(join(path, &k), pos);
                    *next_key = Some(k);
                    None
                }
            },
        }
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// yaml-rust2 reports columns 0-based; editors and compilers count from 1.
const fn col_base() -> usize {
    1
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        let pos = Pos { line: mark.line(), col: mark.col() + col_base() };
        match ev {
            Event::Scalar(ref v, ..) => {
                if let Some(p) = self.child_path(Some(v), mark) {
                    self.index.values.insert(p, pos);
                }
            }
            Event::Alias(_) => {
                if let Some(p) = self.child_path(None, mark) {
                    self.index.values.insert(p, pos);
                }
            }
            Event::MappingStart(..) | Event::SequenceStart(..) => {
                let is_map = matches!(ev, Event::MappingStart(..));
                let path = self.child_path(None, mark).unwrap_or_default();
                self.index.values.insert(path.clone(), pos);
                self.stack.push(if is_map {
                    Frame::Map { path, next_key: None }
                } else {
                    Frame::Seq { path, next: 0 }
                });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                self.stack.pop();
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indexes_nested_keys_and_sequence_items() {
        let src = "name: x\nblocks:\n  - policies: [a.b, c.d]\n    updates:\n      foo: p.q\n";
        let ix = SpanIndex::build(src);
        assert_eq!(ix.value("name"), Some(Pos { line: 1, col: 7 }));
        assert_eq!(ix.key("blocks[0].updates.foo"), Some(Pos { line: 5, col: 7 }));
        assert_eq!(ix.value("blocks[0].updates.foo"), Some(Pos { line: 5, col: 12 }));
        assert_eq!(ix.value("blocks[0].policies[1]"), Some(Pos { line: 3, col: 21 }));
        // Unknown leaves fall back to their nearest ancestor.
        assert_eq!(ix.value("blocks[0].updates.foo.args"), Some(Pos { line: 5, col: 12 }));
    }
}
