//! Paths to a field inside a document, written the way kubectl writes them:
//! `spec.install.spec.deployments[0].name`, `data["compute.cpu"]`.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Segment {
    Key(String),
    Index(usize),
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FieldPath(Vec<Segment>);

impl FieldPath {
    pub fn root() -> Self {
        FieldPath(Vec::new())
    }

    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    pub fn segments(&self) -> &[Segment] {
        &self.0
    }

    pub fn key(&self, key: impl Into<String>) -> Self {
        let mut next = self.clone();
        next.0.push(Segment::Key(key.into()));
        next
    }

    pub fn index(&self, index: usize) -> Self {
        let mut next = self.clone();
        next.0.push(Segment::Index(index));
        next
    }

    /// This path followed by `rest`.
    pub fn join(&self, rest: &FieldPath) -> FieldPath {
        let mut joined = self.clone();
        joined.0.extend(rest.0.iter().cloned());
        joined
    }

    pub fn push(&mut self, segment: Segment) {
        self.0.push(segment);
    }

    pub fn pop(&mut self) -> Option<Segment> {
        self.0.pop()
    }

    /// The path one level up, or `None` at the root.
    pub fn parent(&self) -> Option<FieldPath> {
        let mut parent = self.clone();
        parent.0.pop().map(|_| parent)
    }

    /// Parses the display form back (`a.b[0]["c.d"]`); used by tests and `--path` style flags.
    pub fn parse(text: &str) -> FieldPath {
        let mut path = FieldPath::root();
        let mut rest = text;
        while !rest.is_empty() {
            if let Some(after) = rest.strip_prefix("[\"") {
                let end = after.find("\"]").unwrap_or(after.len());
                path.0.push(Segment::Key(after[..end].to_string()));
                rest = after.get(end + 2..).unwrap_or("");
            } else if let Some(after) = rest.strip_prefix('[') {
                let end = after.find(']').unwrap_or(after.len());
                match after[..end].parse() {
                    Ok(i) => path.0.push(Segment::Index(i)),
                    Err(_) => path.0.push(Segment::Key(after[..end].to_string())),
                }
                rest = after.get(end + 1..).unwrap_or("");
            } else {
                let rest_trimmed = rest.strip_prefix('.').unwrap_or(rest);
                let end = rest_trimmed.find(['.', '[']).unwrap_or(rest_trimmed.len());
                path.0.push(Segment::Key(rest_trimmed[..end].to_string()));
                rest = &rest_trimmed[end..];
            }
        }
        path
    }
}

fn is_plain_key(key: &str) -> bool {
    let mut chars = key.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// Where a walk over a value stands: borrowed segments chained through the
/// walker's stack frames, made into a [`FieldPath`] only when one is
/// reported. (A path built key by key copies every key walked, and nearly
/// every walk reports nothing.)
#[derive(Debug, Clone, Copy)]
pub enum Place<'a> {
    Root,
    Key(&'a Place<'a>, &'a str),
    Index(&'a Place<'a>, usize),
}

impl Place<'_> {
    pub fn path(&self) -> FieldPath {
        let mut segments = Vec::new();
        let mut place = self;
        loop {
            match place {
                Place::Root => break,
                Place::Key(parent, key) => {
                    segments.push(Segment::Key(key.to_string()));
                    place = parent;
                }
                Place::Index(parent, index) => {
                    segments.push(Segment::Index(*index));
                    place = parent;
                }
            }
        }
        segments.reverse();
        FieldPath(segments)
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("(document)");
        }
        for (i, segment) in self.0.iter().enumerate() {
            match segment {
                Segment::Key(key) if is_plain_key(key) => {
                    if i > 0 {
                        f.write_str(".")?;
                    }
                    f.write_str(key)?;
                }
                Segment::Key(key) => write!(f, "[{key:?}]")?,
                Segment::Index(index) => write!(f, "[{index}]")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_place_on_the_stack_makes_the_path_it_stands_for() {
        let root = Place::Root;
        let parameters = Place::Key(&root, "addOnParameters");
        let first = Place::Index(&parameters, 0);
        let value = Place::Key(&first, "value");
        assert_eq!(
            value.path(),
            FieldPath::root()
                .key("addOnParameters")
                .index(0)
                .key("value")
        );
        assert!(root.path().is_root());
    }

    #[test]
    fn displays_like_kubectl_field_paths() {
        let path = FieldPath::root()
            .key("addOnParameters")
            .index(0)
            .key("options")
            .index(2)
            .key("value");
        assert_eq!(path.to_string(), "addOnParameters[0].options[2].value");
        let dotted = FieldPath::root().key("data").key("compute.cpu");
        assert_eq!(dotted.to_string(), "data[\"compute.cpu\"]");
        assert_eq!(FieldPath::root().to_string(), "(document)");
    }

    #[test]
    fn parse_inverts_display() {
        for text in [
            "a.b[0].c",
            "data[\"compute.cpu\"]",
            "x[3][4]",
            "namespaceLabels[\"a/b\"]",
        ] {
            assert_eq!(FieldPath::parse(text).to_string(), text);
        }
    }
}
