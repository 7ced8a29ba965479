//! Lines of fields, for findings: a second, cheap pass over the parser's
//! events, made only when there is something to report.

use std::collections::HashMap;

use yaml_rust2::parser::{Event, Parser};

use crate::check::field_path::{FieldPath, Segment};

/// Lines of fields of a document, for findings. Building it parses the text
/// again, so it is made only when there is something to report, and
/// [`SourceMap::of_fields`] records only the fields asked for (and their
/// ancestors) and stops reading once it has them all: a document with 500,000
/// keys and 20 findings costs 20 lookups, not a path per key (issue 14).
#[derive(Debug, Clone, Default)]
pub struct SourceMap {
    /// A tree of fields: node 0 is the document, each node its first line.
    nodes: Vec<LineNode>,
}

#[derive(Debug, Clone, Default)]
struct LineNode {
    line: Option<usize>,
    keys: HashMap<String, usize>,
    indices: HashMap<usize, usize>,
}

/// Which nodes a pass over the events records.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Wanted {
    /// Every field of the document ([`SourceMap::build`]).
    Everything,
    /// Only the nodes already in the tree ([`SourceMap::of_fields`]).
    Listed,
}

impl SourceMap {
    /// Maps every field of the first document of `text`. Text that does not
    /// parse gives what was read before the error (its parse error was
    /// reported already).
    pub fn build(text: &str) -> SourceMap {
        let mut map = SourceMap {
            nodes: vec![LineNode::default()],
        };
        map.read(text, Wanted::Everything);
        map
    }

    /// Maps only `fields` (and their ancestors, where a missing field is
    /// reported) of the first document of `text`.
    pub fn of_fields<'a>(text: &str, fields: impl IntoIterator<Item = &'a FieldPath>) -> SourceMap {
        let mut map = SourceMap {
            nodes: vec![LineNode::default()],
        };
        for field in fields {
            let mut node = 0;
            for segment in field.segments() {
                node = match map.child(node, segment_ref(segment)) {
                    Some(child) => child,
                    None => map.add_child(node, segment_ref(segment)),
                };
            }
        }
        map.read(text, Wanted::Listed);
        map
    }

    fn child(&self, node: usize, segment: SegmentRef) -> Option<usize> {
        let node = &self.nodes[node];
        match segment {
            SegmentRef::Key(key) => node.keys.get(key).copied(),
            SegmentRef::Index(index) => node.indices.get(&index).copied(),
        }
    }

    fn add_child(&mut self, node: usize, segment: SegmentRef) -> usize {
        let id = self.nodes.len();
        self.nodes.push(LineNode::default());
        match segment {
            SegmentRef::Key(key) => self.nodes[node].keys.insert(key.to_string(), id),
            SegmentRef::Index(index) => self.nodes[node].indices.insert(index, id),
        };
        id
    }

    /// One pass over the parser's events, recording the first line of each
    /// wanted node; stops when every wanted node has its line.
    fn read(&mut self, text: &str, wanted: Wanted) {
        self.nodes[0].line = Some(1);
        let mut unresolved = match wanted {
            Wanted::Everything => usize::MAX,
            Wanted::Listed => self.nodes.len() - 1,
        };
        if unresolved == 0 {
            return;
        }
        let mut record = |nodes: &mut Vec<LineNode>, node: Option<usize>, line: usize| {
            if let Some(node) = node {
                if nodes[node].line.is_none() {
                    nodes[node].line = Some(line);
                    unresolved = unresolved.saturating_sub(1);
                }
            }
            unresolved == 0
        };
        let mut stack: Vec<Open> = Vec::new();
        let mut parser = Parser::new_from_str(text);
        while let Ok((event, mark)) = parser.next_token() {
            let line = mark.line();
            let done = match event {
                Event::StreamEnd | Event::DocumentEnd => break,
                Event::Scalar(ref key, ..) if matches!(stack.last(), Some(Open::Map(_, None))) => {
                    let Some(Open::Map(parent, _)) = stack.last() else {
                        continue;
                    };
                    let node = parent.and_then(|p| self.step(p, SegmentRef::Key(key), wanted));
                    if let Some(Open::Map(_, pending)) = stack.last_mut() {
                        *pending = Some(node);
                    }
                    record(&mut self.nodes, node, line)
                }
                Event::Scalar(..) | Event::Alias(_) => match self.next_node(&mut stack, wanted) {
                    Some(node) => record(&mut self.nodes, node, line),
                    None => false,
                },
                Event::SequenceStart(..) | Event::MappingStart(..) => {
                    let Some(node) = self.next_node(&mut stack, wanted) else {
                        break; // a collection as a key: not something we report on
                    };
                    stack.push(if matches!(event, Event::SequenceStart(..)) {
                        Open::Seq(node, 0)
                    } else {
                        Open::Map(node, None)
                    });
                    record(&mut self.nodes, node, line)
                }
                Event::SequenceEnd | Event::MappingEnd => {
                    stack.pop();
                    false
                }
                _ => false,
            };
            if done {
                break;
            }
        }
    }

    /// The node the next value takes (`Some(None)`: not wanted), or `None`
    /// when no value is expected (a collection as a mapping key).
    fn next_node(&mut self, stack: &mut [Open], wanted: Wanted) -> Option<Option<usize>> {
        match stack.last_mut() {
            None => Some(Some(0)),
            Some(Open::Seq(parent, next)) => {
                let index = *next;
                *next += 1;
                Some(parent.and_then(|p| self.step(p, SegmentRef::Index(index), wanted)))
            }
            Some(Open::Map(_, key)) => key.take(),
        }
    }

    /// The child of `node` at `segment`: found, made (everything wanted) or
    /// none (not wanted).
    fn step(&mut self, node: usize, segment: SegmentRef, wanted: Wanted) -> Option<usize> {
        match (self.child(node, segment), wanted) {
            (Some(child), _) => Some(child),
            (None, Wanted::Everything) => Some(self.add_child(node, segment)),
            (None, Wanted::Listed) => None,
        }
    }

    /// The line of `path`, or of its nearest ancestor that has one (a missing
    /// field is reported at the mapping that should hold it).
    pub fn line_of(&self, path: &FieldPath) -> Option<usize> {
        let mut node = 0;
        let mut line = self.nodes.first()?.line;
        for segment in path.segments() {
            let Some(child) = self.child(node, segment_ref(segment)) else {
                break;
            };
            node = child;
            line = self.nodes[node].line.or(line);
        }
        line
    }
}

/// An open collection while mapping lines: its node (None when nothing under
/// it is wanted) and, for a sequence, the next index; for a mapping, the node
/// of the key waiting for its value (`Some(None)`: a key nobody wants).
enum Open {
    Seq(Option<usize>, usize),
    Map(Option<usize>, Option<Option<usize>>),
}

/// A path segment without owning its key, for lookups.
#[derive(Clone, Copy)]
enum SegmentRef<'a> {
    Key(&'a str),
    Index(usize),
}

fn segment_ref(segment: &Segment) -> SegmentRef<'_> {
    match segment {
        Segment::Key(key) => SegmentRef::Key(key),
        Segment::Index(index) => SegmentRef::Index(*index),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_map_finds_lines_of_fields_and_items() {
        let text = "id: x\nlist:\n  - a\n  - name: b\n    value: c\nmap:\n  k: v\n";
        let map = SourceMap::build(text);
        assert_eq!(map.line_of(&FieldPath::parse("id")), Some(1));
        assert_eq!(map.line_of(&FieldPath::parse("list[1].value")), Some(5));
        assert_eq!(map.line_of(&FieldPath::parse("list[0]")), Some(3));
        assert_eq!(map.line_of(&FieldPath::parse("map.k")), Some(7));
        // A missing field is reported where its parent is.
        assert_eq!(map.line_of(&FieldPath::parse("map.missing")), Some(6));
    }

    #[test]
    fn source_map_of_fields_maps_only_the_fields_asked_for() {
        let mut text = String::from("id: x\nlist:\n  - a\n  - name: b\n    value: c\n");
        for i in 0..1000 {
            text.push_str(&format!("key{i}: {i}\n"));
        }
        let wanted = [
            FieldPath::parse("list[1].value"),
            FieldPath::parse("key999"),
            FieldPath::parse("list[1].missing"),
        ];
        let map = SourceMap::of_fields(&text, &wanted);
        assert_eq!(map.line_of(&wanted[0]), Some(5));
        assert_eq!(map.line_of(&wanted[1]), Some(1005));
        assert_eq!(map.line_of(&wanted[2]), Some(4), "reported at its mapping");
        // The document, list, list[1], value, missing, key999: no node per key.
        assert_eq!(map.nodes.len(), 6);
        assert_eq!(SourceMap::build(&text).line_of(&wanted[1]), Some(1005));
    }
}
