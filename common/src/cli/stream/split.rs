//! Cutting a stream into its documents as its lines arrive, without holding
//! more than the document being read.
//!
//! The first non-blank line decides what the stream is: text opening with
//! `{` is JSON (JSON lines, or pretty-printed documents), anything else is
//! YAML (documents separated by `---`, a `...` ending one). A JSON document
//! ends at the end of the line where its braces close, so one document per
//! line is JSON lines and a document spread over lines is one document; a
//! line that opens with `{` at its first column while a document is still
//! open starts the next document (the open one was cut short), so that one
//! broken line never swallows the documents after it.

use std::collections::VecDeque;

/// One document's bytes and where it starts in the stream.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct RawChunk {
    /// 1-based line of the stream where the document starts.
    pub first_line: usize,
    pub bytes: Vec<u8>,
    /// More than `limit` bytes: only the first `limit + 1` are kept.
    pub oversize: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Json,
    Yaml,
}

/// The document being read.
#[derive(Debug)]
struct Open {
    chunk: RawChunk,
    /// JSON: braces and brackets opened and not closed yet.
    depth: i64,
    /// YAML: whether a line other than a blank or a comment was seen.
    has_content: bool,
}

/// Feeds a stream's lines in ([`Splitter::line`]) and hands out each
/// document once it is complete; [`Splitter::finish`] at the end.
#[derive(Debug)]
pub(super) struct Splitter {
    mode: Option<Mode>,
    /// Lines seen so far.
    line: usize,
    open: Option<Open>,
    /// Where the next YAML document starts (it may open on its separator's
    /// line, `--- {id: x}`).
    next_first_line: usize,
    /// Whether any line held more than whitespace: empty input is one empty
    /// document, so that the loader says the previous stage wrote nothing.
    any_text: bool,
    /// A document's size limit, in bytes.
    limit: usize,
    /// Whether the last line ended with `\n`: a JSON document the stream
    /// cut short keeps it, so that its error points where the text ends, as
    /// reading the whole file does.
    last_line_ended: bool,
}

impl Splitter {
    pub fn new(limit: usize) -> Splitter {
        Splitter {
            mode: None,
            line: 0,
            open: None,
            next_first_line: 1,
            any_text: false,
            limit,
            last_line_ended: false,
        }
    }

    /// Takes the next line (with or without its `\n`; only its first
    /// `limit + 1` bytes when it is longer, `cut` saying so) and queues the
    /// documents it completes.
    pub fn line(&mut self, raw: &[u8], cut: bool, out: &mut VecDeque<RawChunk>) {
        self.line += 1;
        self.last_line_ended = raw.ends_with(b"\n");
        let mut text = raw.strip_suffix(b"\n").unwrap_or(raw);
        text = text.strip_suffix(b"\r").unwrap_or(text);
        if self.line == 1 {
            text = text.strip_prefix("\u{feff}".as_bytes()).unwrap_or(text);
        }
        let blank = text.iter().all(u8::is_ascii_whitespace);
        if !blank {
            self.any_text = true;
        }
        let mode = match self.mode {
            Some(mode) => mode,
            None if blank => return,
            None => {
                let mode = if text.trim_ascii_start().starts_with(b"{") {
                    Mode::Json
                } else {
                    Mode::Yaml
                };
                self.mode = Some(mode);
                mode
            }
        };
        match mode {
            Mode::Json => self.json_line(text, blank, cut, out),
            Mode::Yaml => self.yaml_line(text, cut, out),
        }
    }

    /// The end of the stream: the document still open, if any, or one empty
    /// document for input that held nothing but whitespace.
    pub fn finish(&mut self, out: &mut VecDeque<RawChunk>) {
        match self.open.take() {
            Some(open) if self.mode == Some(Mode::Json) => {
                let mut chunk = open.chunk;
                if self.last_line_ended && !chunk.bytes.is_empty() {
                    chunk.bytes.push(b'\n');
                }
                out.push_back(chunk)
            }
            Some(open) if open.has_content => out.push_back(open.chunk),
            _ => {}
        }
        if !self.any_text {
            self.any_text = true;
            out.push_back(RawChunk {
                first_line: 1,
                bytes: Vec::new(),
                oversize: false,
            });
        }
    }

    fn json_line(&mut self, text: &[u8], blank: bool, cut: bool, out: &mut VecDeque<RawChunk>) {
        if self.open.is_some() && text.starts_with(b"{") {
            // A document starts at the first column while one is open: that
            // one was cut short, and is a document of its own.
            if let Some(open) = self.open.take() {
                out.push_back(open.chunk);
            }
        }
        if self.open.is_none() {
            if blank {
                return;
            }
            self.open = Some(Open {
                chunk: RawChunk {
                    first_line: self.line,
                    bytes: Vec::new(),
                    oversize: false,
                },
                depth: 0,
                has_content: true,
            });
        }
        let limit = self.limit;
        let Some(open) = self.open.as_mut() else {
            return;
        };
        if !open.chunk.bytes.is_empty() {
            push_capped(&mut open.chunk, b"\n", limit);
        }
        push_capped(&mut open.chunk, text, limit);
        open.chunk.oversize |= cut;
        open.depth += json_depth_change(text);
        if open.depth <= 0 {
            if let Some(open) = self.open.take() {
                out.push_back(open.chunk);
            }
        }
    }

    fn yaml_line(&mut self, text: &[u8], cut: bool, out: &mut VecDeque<RawChunk>) {
        let separator = text == b"---" || text.starts_with(b"--- ") || text.starts_with(b"---\t");
        let end = text == b"..." || text.starts_with(b"... ");
        if separator || end {
            if let Some(open) = self.open.take() {
                if open.has_content {
                    out.push_back(open.chunk);
                }
            }
            self.next_first_line = if separator { self.line } else { self.line + 1 };
            if separator {
                let rest = text[3..].trim_ascii();
                if !rest.is_empty() {
                    self.append_yaml(rest, cut);
                }
            }
            return;
        }
        if self.open.is_none() {
            self.next_first_line = self.line;
        }
        self.append_yaml(text, cut);
    }

    fn append_yaml(&mut self, text: &[u8], cut: bool) {
        let first_line = self.next_first_line;
        let limit = self.limit;
        let open = self.open.get_or_insert_with(|| Open {
            chunk: RawChunk {
                first_line,
                bytes: Vec::new(),
                oversize: false,
            },
            depth: 0,
            has_content: false,
        });
        let trimmed = text.trim_ascii_start();
        if !trimmed.is_empty() && !trimmed.starts_with(b"#") {
            open.has_content = true;
        }
        push_capped(&mut open.chunk, text, limit);
        push_capped(&mut open.chunk, b"\n", limit);
        open.chunk.oversize |= cut;
    }
}

/// Appends to a document, keeping no more than `limit + 1` bytes of it.
fn push_capped(chunk: &mut RawChunk, bytes: &[u8], limit: usize) {
    let room = (limit + 1).saturating_sub(chunk.bytes.len());
    if bytes.len() > room {
        chunk.oversize = true;
    }
    chunk
        .bytes
        .extend_from_slice(&bytes[..bytes.len().min(room)]);
}

/// How many JSON objects and arrays a line opens (negative: closes),
/// braces inside strings left out. No JSON string spans lines, so each line
/// starts outside one.
fn json_depth_change(line: &[u8]) -> i64 {
    let mut depth = 0;
    let mut in_string = false;
    let mut escaped = false;
    for &byte in line {
        if in_string {
            match byte {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'{' | b'[' => depth += 1,
            b'}' | b']' => depth -= 1,
            _ => {}
        }
    }
    depth
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The documents of `text` as (first line, text) pairs.
    fn split(text: &str) -> Vec<(usize, String)> {
        let mut splitter = Splitter::new(1 << 20);
        let mut out = VecDeque::new();
        for line in text.split_inclusive('\n') {
            splitter.line(line.as_bytes(), false, &mut out);
        }
        splitter.finish(&mut out);
        out.into_iter()
            .map(|c| (c.first_line, String::from_utf8(c.bytes).unwrap()))
            .collect()
    }

    #[test]
    fn json_lines_are_a_document_each_and_blank_lines_none() {
        assert_eq!(
            split("{\"a\":1}\n\n{\"b\":\"}{\"}\r\n  \n{\"c\":[1,{}]}"),
            [
                (1, "{\"a\":1}".to_string()),
                (3, "{\"b\":\"}{\"}".to_string()),
                (5, "{\"c\":[1,{}]}".to_string())
            ]
        );
    }

    #[test]
    fn a_pretty_printed_document_is_one_document_and_so_are_several() {
        let pretty = "{\n  \"a\": {\n    \"b\": \"{\"\n  }\n}\n";
        assert_eq!(split(pretty), [(1, pretty.trim_end().to_string())]);
        let two = format!("\n{pretty}{pretty}");
        let docs = split(&two);
        assert_eq!(docs.len(), 2);
        assert_eq!((docs[0].0, docs[1].0), (2, 7));
    }

    #[test]
    fn a_json_document_cut_short_does_not_swallow_the_next_ones() {
        // A pretty document without its last brace: one document.
        assert_eq!(split("{\n  \"a\": 1\n").len(), 1);
        // A line cut short, then whole lines: each a document.
        let docs = split("{\"a\": {\"b\"\n{\"c\":1}\n{\"d\":2}\n");
        assert_eq!(
            docs,
            [
                (1, "{\"a\": {\"b\"".to_string()),
                (2, "{\"c\":1}".to_string()),
                (3, "{\"d\":2}".to_string())
            ]
        );
    }

    #[test]
    fn yaml_documents_split_at_separators_with_their_first_lines() {
        let text =
            "# leading comment\n---\nid: a\n---\nid: [x\n...\n--- {id: c}\n---\n# only a comment\n";
        assert_eq!(
            split(text),
            [
                (3, "id: a\n".to_string()),
                (5, "id: [x\n".to_string()),
                (7, "{id: c}\n".to_string()),
            ]
        );
    }

    #[test]
    fn empty_input_is_one_empty_document_and_comments_alone_are_none() {
        assert_eq!(split(""), [(1, String::new())]);
        assert_eq!(split(" \n\n"), [(1, String::new())]);
        assert!(split("# nothing\n---\n").is_empty());
    }

    #[test]
    fn a_document_over_the_limit_keeps_only_its_start_and_says_so() {
        let mut splitter = Splitter::new(8);
        let mut out = VecDeque::new();
        splitter.line(b"id: aaaaaaaaaaaa\n", false, &mut out);
        splitter.line(b"---\n", false, &mut out);
        splitter.line(b"id: b\n", false, &mut out);
        splitter.finish(&mut out);
        assert_eq!(out.len(), 2);
        assert!(out[0].oversize && out[0].bytes.len() == 9);
        assert!(!out[1].oversize);
    }

    #[test]
    fn a_byte_order_mark_opens_the_stream_only() {
        assert_eq!(split("\u{feff}{\"a\":1}\n"), [(1, "{\"a\":1}".to_string())]);
    }
}
