//! A byte-level reader for the YAML that add-on trees are written in: block
//! mappings and sequences, one-line plain and quoted scalars, literal and
//! folded block scalars, one-line flow collections, comments and `---`
//! document starts. It gives exactly what the full loader
//! ([`super::loader`], on yaml_rust2's event parser) gives for such text, at
//! a fraction of its cost: yaml_rust2 reads char by char through a queue of
//! tokens, and `--all` spent 40% of its time there (issue 24).
//!
//! Anything else (anchors, aliases, tags, merge keys, multi-line plain or
//! quoted scalars, multi-line flow collections, complex keys, tabs, `\r`,
//! directives, `...`) and anything that is an error makes it give up, and
//! the full loader reads the text from the start: errors, their positions
//! and every rare construct keep the one implementation they have. What it
//! accepts is checked against the full loader, document by document, in
//! the tests below and in `tests/addon_validate.rs`.

use serde_json::{Map, Value};

use super::loader::{DuplicateKey, Parsed, PythonValue, MAX_DEPTH};
use super::scalars::resolve_plain_python;
use crate::check::field_path::Place;

/// The text uses something this reader leaves to the full loader.
#[derive(Debug)]
pub(super) struct Unsupported;

type Read<T> = Result<T, Unsupported>;

/// Reads a stream of documents, or `None` when the full loader must.
pub fn parse_stream(text: &str) -> Option<Vec<Parsed>> {
    // yaml_rust2 ends the stream at a NUL and reads `\r` as a line break; a
    // leading BOM is its own case. None of them is in the files we meet.
    let unread = |b: u8| b == 0 || b == b'\r';
    if text.starts_with('\u{feff}')
        || crate::text::bytes::first_where(text.as_bytes(), unread).is_some()
    {
        return None;
    }
    Reader::new(text).stream().ok()
}

/// Where the reader stands after a node: at the first byte of the next
/// content line (its column), at a `---` line, or at the end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Next {
    Content(usize),
    DocumentStart,
    End,
}

/// How a scalar scanned on one line stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    /// At a `:` that makes the scalar a key.
    Colon,
    /// At the end of the line, or at a ` #` comment.
    LineEnd,
    /// At `,`, `[`, `]`, `{` or `}` inside a flow collection.
    Flow,
}

/// The place of a node, for the paths of duplicate keys and Python values.
type At<'p> = Place<'p>;

struct Reader<'a> {
    text: &'a str,
    pos: usize,
    /// The 1-based line of `pos`, as yaml_rust2 counts them.
    line: usize,
    line_start: usize,
    ahead: Next,
    depth: usize,
    duplicate_keys: Vec<DuplicateKey>,
    python_values: Vec<PythonValue>,
    /// Scratch lists of a block mapping's entries, one per nesting level in
    /// use: a mapping is read whole before its map is made at its size,
    /// where inserting key by key grew (and rehashed) the map's table.
    entry_lists: Vec<Vec<Entry>>,
}

/// A block mapping's key, value and the line of the key.
type Entry = (String, Value, usize);

fn is_blank_or_end(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n' | 0)
}

const fn is_flow_indicator(byte: u8) -> bool {
    matches!(byte, b',' | b'[' | b']' | b'{' | b'}')
}

/// The bytes that can end, or must be looked at in, a plain scalar: a run of
/// any other byte is stepped over at once (an icon's base64 is a thousand
/// such bytes).
const PLAIN_STOPS: [bool; 256] = {
    let mut stops = [false; 256];
    let mut i = 0;
    while i < 256 {
        let byte = i as u8;
        stops[i] =
            matches!(byte, 0 | b'\n' | b' ' | b'\t' | b'#' | b':') || is_flow_indicator(byte);
        i += 1;
    }
    stops
};

impl<'a> Reader<'a> {
    fn new(text: &'a str) -> Self {
        Reader {
            text,
            pos: 0,
            line: 1,
            line_start: 0,
            ahead: Next::End,
            depth: 0,
            duplicate_keys: Vec::new(),
            python_values: Vec::new(),
            entry_lists: Vec::new(),
        }
    }

    /// The byte at `pos + offset`; 0 past the end (the text holds no NUL).
    fn byte(&self, offset: usize) -> u8 {
        self.text
            .as_bytes()
            .get(self.pos + offset)
            .copied()
            .unwrap_or(0)
    }

    fn col(&self) -> usize {
        self.pos - self.line_start
    }

    /// Steps over the `\n` at `pos`.
    fn newline(&mut self) {
        self.pos += 1;
        self.line += 1;
        self.line_start = self.pos;
    }

    /// Skips spaces; a tab is left to the full loader, which has rules for it.
    fn skip_spaces(&mut self) -> Read<usize> {
        let start = self.pos;
        loop {
            match self.byte(0) {
                b' ' => self.pos += 1,
                b'\t' => return Err(Unsupported),
                _ => return Ok(self.pos - start),
            }
        }
    }

    /// From the start of a line: skips blank and comment lines and sets
    /// `ahead` to what comes next.
    fn advance(&mut self) -> Read<()> {
        loop {
            self.skip_spaces()?;
            match self.byte(0) {
                0 => {
                    self.ahead = Next::End;
                    return Ok(());
                }
                b'\n' => self.newline(),
                b'#' => self.skip_comment(),
                b'-' | b'.' | b'%' if self.col() == 0 => {
                    let marker = |c: u8| {
                        self.byte(0) == c
                            && self.byte(1) == c
                            && self.byte(2) == c
                            && is_blank_or_end(self.byte(3))
                    };
                    if marker(b'.') || self.byte(0) == b'%' {
                        return Err(Unsupported);
                    }
                    self.ahead = match marker(b'-') {
                        true => Next::DocumentStart,
                        false => Next::Content(0),
                    };
                    return Ok(());
                }
                _ => {
                    self.ahead = Next::Content(self.col());
                    return Ok(());
                }
            }
        }
    }

    /// Whether the rest of the line is empty or a comment (`#` after a
    /// space: one right after a token is an error).
    fn at_line_end(&self) -> bool {
        match self.byte(0) {
            b'\n' | 0 => true,
            b'#' => self.text.as_bytes()[self.pos - 1] == b' ',
            _ => false,
        }
    }

    /// Skips a comment, if one is at `pos`, up to (not over) its line break.
    fn skip_comment(&mut self) {
        if self.byte(0) == b'#' {
            let rest = &self.text.as_bytes()[self.pos..];
            self.pos += rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
        }
    }

    /// After a node that ends its line: spaces, a comment, the line break.
    fn finish_line(&mut self) -> Read<()> {
        self.skip_spaces()?;
        if !self.at_line_end() {
            return Err(Unsupported);
        }
        self.skip_comment();
        if self.byte(0) == b'\n' {
            self.newline();
        }
        Ok(())
    }

    /// [`Self::finish_line`], then on to the next content.
    fn end_line(&mut self) -> Read<()> {
        self.finish_line()?;
        self.advance()
    }

    fn enter(&mut self) -> Read<()> {
        self.depth += 1;
        match self.depth < MAX_DEPTH {
            true => Ok(()),
            false => Err(Unsupported),
        }
    }

    fn leave(&mut self) {
        self.depth -= 1;
    }

    fn stream(mut self) -> Read<Vec<Parsed>> {
        let mut docs = Vec::new();
        self.advance()?;
        loop {
            let value = match self.ahead {
                Next::End => return Ok(docs),
                Next::DocumentStart => {
                    self.document_start()?;
                    match self.ahead {
                        Next::Content(col) => self.block_node(col, &At::Root)?,
                        // `---` and nothing: an explicit empty document, null.
                        _ => Value::Null,
                    }
                }
                Next::Content(col) => self.block_node(col, &At::Root)?,
            };
            docs.push(Parsed {
                value,
                duplicate_keys: std::mem::take(&mut self.duplicate_keys),
                python_values: std::mem::take(&mut self.python_values),
            });
            if let Next::Content(_) = self.ahead {
                return Err(Unsupported);
            }
        }
    }

    /// A `---` line with nothing after the marker but a comment.
    fn document_start(&mut self) -> Read<()> {
        self.pos += 3;
        self.end_line()
    }

    /// A block collection starting at the current byte, in column `col`.
    fn block_node(&mut self, col: usize, at: &At) -> Read<Value> {
        if self.at_block_entry() {
            self.block_sequence(col, at)
        } else if self.key_ahead()? {
            self.block_mapping(col, at)
        } else {
            Err(Unsupported)
        }
    }

    fn at_block_entry(&self) -> bool {
        self.byte(0) == b'-' && is_blank_or_end(self.byte(1))
    }

    fn block_mapping(&mut self, col: usize, at: &At) -> Read<Value> {
        self.enter()?;
        let mut entries = self.entry_lists.pop().unwrap_or_default();
        loop {
            let line = self.line;
            let key = self.block_key()?;
            let here = At::Key(at, &key);
            let value = self.value_after_indicator(col, &here, true)?;
            entries.push((key, value, line));
            match self.ahead {
                Next::Content(next) if next == col => {}
                Next::Content(next) if next > col => return Err(Unsupported),
                _ => break,
            }
        }
        let mut map = Map::with_capacity(entries.len());
        for (key, value, line) in entries.drain(..) {
            self.insert(&mut map, key, value, line, at);
        }
        self.entry_lists.push(entries);
        self.leave();
        Ok(Value::Object(map))
    }

    fn block_sequence(&mut self, col: usize, at: &At) -> Read<Value> {
        self.enter()?;
        let mut items = Vec::new();
        loop {
            self.pos += 1;
            let here = At::Index(at, items.len());
            let item = self.sequence_item(col, &here)?;
            items.push(item);
            match self.ahead {
                Next::Content(next) if next == col && self.at_block_entry() => {}
                Next::Content(next) if next > col => return Err(Unsupported),
                _ => break,
            }
        }
        self.leave();
        Ok(Value::Array(items))
    }

    /// What follows a `- `: a compact mapping (`- name: x`), or any value.
    fn sequence_item(&mut self, col: usize, here: &At) -> Read<Value> {
        self.skip_spaces()?;
        if self.at_block_entry() {
            return Err(Unsupported);
        }
        if !self.at_line_end() && self.key_ahead()? {
            let key_col = self.col();
            return self.block_mapping(key_col, here);
        }
        self.value_after_indicator(col, here, false)
    }

    /// The value after a key's `:` or an entry's `-`, in a block collection
    /// at column `col`. Below a key (`indentless`), a sequence may start in
    /// the key's own column.
    fn value_after_indicator(&mut self, col: usize, here: &At, indentless: bool) -> Read<Value> {
        self.skip_spaces()?;
        match self.byte(0) {
            _ if self.at_line_end() => {
                self.end_line()?;
                match self.ahead {
                    Next::Content(next) if next > col => self.block_node(next, here),
                    Next::Content(next) if next == col && indentless && self.at_block_entry() => {
                        self.block_sequence(next, here)
                    }
                    _ => Ok(Value::Null),
                }
            }
            b'|' | b'>' => {
                let text = self.block_scalar(col)?;
                self.after_block_scalar()?;
                Ok(Value::String(text))
            }
            b'[' => {
                let value = self.flow_sequence(here)?;
                self.end_line()?;
                Ok(value)
            }
            b'{' => {
                let value = self.flow_mapping(here)?;
                self.end_line()?;
                Ok(value)
            }
            b'\'' | b'"' => {
                let text = self.quoted()?;
                self.end_line()?;
                Ok(Value::String(text))
            }
            _ => self.plain_block_value(col, here),
        }
    }

    /// Whether a block mapping key (`key:`, `"key":`) starts here.
    fn key_ahead(&mut self) -> Read<bool> {
        let (start, line) = (self.pos, self.line);
        let key = match self.byte(0) {
            b'\'' | b'"' => self.quoted_key().map(|_| ()),
            _ => self.plain_key_end().map(|_| ()),
        };
        self.pos = start;
        self.line = line;
        Ok(key.is_ok())
    }

    /// A key and its `:`, leaving the reader after the `:`.
    fn block_key(&mut self) -> Read<String> {
        let key = match self.byte(0) {
            b'\'' | b'"' => self.quoted_key()?,
            _ => self.plain_key()?,
        };
        // yaml_rust2 stops looking for a simple key's `:` after 1024 chars;
        // `<<` merges mappings: both are the full loader's.
        if key.len() > 1000 || key == "<<" {
            return Err(Unsupported);
        }
        Ok(key)
    }

    fn quoted_key(&mut self) -> Read<String> {
        let key = self.quoted()?;
        self.skip_spaces()?;
        if self.byte(0) != b':' || !is_blank_or_end(self.byte(1)) {
            return Err(Unsupported);
        }
        self.pos += 1;
        Ok(key)
    }

    fn plain_key(&mut self) -> Read<String> {
        let start = self.pos;
        let end = self.plain_key_end()?;
        Ok(self.text[start..end].to_string())
    }

    /// [`Reader::plain_key`] without taking its text: where the key ends.
    fn plain_key_end(&mut self) -> Read<usize> {
        self.check_plain_start(false)?;
        let (end, stop) = self.scan_plain(false)?;
        if stop != Stop::Colon {
            return Err(Unsupported);
        }
        self.pos += 1;
        Ok(end)
    }

    /// Refuses what cannot start a plain scalar (indicators), or starts one
    /// the full loader must read.
    fn check_plain_start(&self, flow: bool) -> Read<()> {
        let next = self.byte(1);
        match self.byte(0) {
            b'&' | b'*' | b'!' | b'|' | b'>' | b'%' | b'@' | b'`' | b'#' | b'\'' | b'"' | b','
            | b'[' | b']' | b'{' | b'}' => Err(Unsupported),
            b'-' | b'?' | b':' if is_blank_or_end(next) || (flow && is_flow_indicator(next)) => {
                Err(Unsupported)
            }
            _ => Ok(()),
        }
    }

    /// Scans a plain scalar on the current line up to where it stops;
    /// returns the end of its text (trailing spaces trimmed) and why it
    /// stopped, with `pos` at the stop.
    fn scan_plain(&mut self, flow: bool) -> Read<(usize, Stop)> {
        let bytes = self.text.as_bytes();
        let mut end = self.pos;
        let mut i = self.pos;
        loop {
            // A run of bytes that cannot stop the scalar: its last is not a
            // space, so the scalar ends after it so far.
            let run = bytes[i..]
                .iter()
                .take_while(|&&b| !PLAIN_STOPS[usize::from(b)])
                .count();
            if run > 0 {
                i += run;
                end = i;
            }
            let byte = bytes.get(i).copied().unwrap_or(0);
            let stop = match byte {
                0 | b'\n' if flow => return Err(Unsupported),
                0 | b'\n' => Some(Stop::LineEnd),
                b' ' => None,
                b'\t' => return Err(Unsupported),
                b'#' if i > self.pos && bytes[i - 1] == b' ' => match flow {
                    true => return Err(Unsupported),
                    false => Some(Stop::LineEnd),
                },
                b':' => {
                    let next = bytes.get(i + 1).copied().unwrap_or(0);
                    if next == b'\t' {
                        return Err(Unsupported);
                    }
                    (is_blank_or_end(next) || (flow && is_flow_indicator(next)))
                        .then_some(Stop::Colon)
                }
                b if flow && is_flow_indicator(b) => Some(Stop::Flow),
                _ => None,
            };
            if let Some(stop) = stop {
                self.pos = i;
                return Ok((end, stop));
            }
            i += 1;
            if byte != b' ' {
                end = i;
            }
        }
    }

    /// A plain scalar value in block context, alone on the rest of its line.
    fn plain_block_value(&mut self, col: usize, here: &At) -> Read<Value> {
        self.check_plain_start(false)?;
        let (text, start, line) = (self.text, self.pos, self.line);
        let (end, stop) = self.scan_plain(false)?;
        if stop != Stop::LineEnd {
            return Err(Unsupported);
        }
        self.finish_line()?;
        if self.plain_goes_on(col) {
            return Err(Unsupported);
        }
        self.advance()?;
        self.resolve(&text[start..end], line, here)
    }

    /// Whether a plain scalar of a collection at column `col` goes on over
    /// the next line (from that line's start): yaml_rust2 skips empty lines
    /// and stops at a comment; a line indented deeper than the collection
    /// continues the scalar, and folding it is the full loader's work.
    fn plain_goes_on(&self, col: usize) -> bool {
        let bytes = self.text.as_bytes();
        let (mut i, mut line_start) = (self.pos, self.pos);
        loop {
            while bytes.get(i) == Some(&b' ') {
                i += 1;
            }
            match bytes.get(i) {
                Some(b'\n') => {
                    i += 1;
                    line_start = i;
                }
                None | Some(b'#') => return false,
                Some(_) => return i - line_start > col,
            }
        }
    }

    /// PyYAML's type of a plain scalar; a Python value (a date, `.inf`) is
    /// noted with its place. A scalar PyYAML cannot build is the full
    /// loader's to report.
    fn resolve(&mut self, text: &str, line: usize, here: &At) -> Read<Value> {
        let (value, python) = resolve_plain_python(text.to_string()).map_err(|_| Unsupported)?;
        if let Some(scalar) = python {
            self.python_values.push(PythonValue {
                path: here.path(),
                line,
                scalar,
            });
        }
        Ok(value)
    }

    /// A one-line single- or double-quoted scalar, `pos` after its closing quote.
    fn quoted(&mut self) -> Read<String> {
        let quote = self.byte(0);
        self.pos += 1;
        let bytes = self.text.as_bytes();
        let mut text = String::new();
        let mut run = self.pos;
        loop {
            let byte = bytes.get(self.pos).copied().unwrap_or(0);
            match byte {
                0 | b'\n' => return Err(Unsupported),
                b'\'' if quote == b'\'' && self.byte(1) == b'\'' => {
                    text.push_str(&self.text[run..=self.pos]);
                    self.pos += 2;
                    run = self.pos;
                }
                b'\\' if quote == b'"' => {
                    text.push_str(&self.text[run..self.pos]);
                    self.pos += 1;
                    text.push(self.escape()?);
                    run = self.pos;
                }
                b if b == quote => {
                    text.push_str(&self.text[run..self.pos]);
                    self.pos += 1;
                    return Ok(text);
                }
                _ => self.pos += 1,
            }
        }
    }

    /// A double-quoted scalar's escape, `pos` after its backslash.
    fn escape(&mut self) -> Read<char> {
        let simple = match self.byte(0) {
            b'0' => '\0',
            b'a' => '\x07',
            b'b' => '\x08',
            b't' | b'\t' => '\t',
            b'n' => '\n',
            b'v' => '\x0b',
            b'f' => '\x0c',
            b'r' => '\r',
            b'e' => '\x1b',
            b' ' => ' ',
            b'"' => '"',
            b'/' => '/',
            b'\\' => '\\',
            b'N' => '\u{85}',
            b'_' => '\u{a0}',
            b'L' => '\u{2028}',
            b'P' => '\u{2029}',
            b'x' | b'u' | b'U' => {
                let digits = match self.byte(0) {
                    b'x' => 2,
                    b'u' => 4,
                    _ => 8,
                };
                let hex = self
                    .text
                    .get(self.pos + 1..self.pos + 1 + digits)
                    .ok_or(Unsupported)?;
                if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(Unsupported);
                }
                let code = u32::from_str_radix(hex, 16).map_err(|_| Unsupported)?;
                self.pos += 1 + digits;
                return char::from_u32(code).ok_or(Unsupported);
            }
            _ => return Err(Unsupported),
        };
        self.pos += 1;
        Ok(simple)
    }

    /// A literal (`|`) or folded (`>`) block scalar, in a block collection
    /// at column `col`: yaml_rust2's `scan_block_scalar`, step for step, on
    /// bytes. Line breaks are counted, not collected: each is one `\n`.
    fn block_scalar(&mut self, col: usize) -> Read<String> {
        let literal = self.byte(0) == b'|';
        let start_line = self.line;
        self.pos += 1;
        let (chomping, increment) = self.block_scalar_header()?;
        self.skip_spaces()?;
        if !self.at_line_end() {
            return Err(Unsupported);
        }
        self.skip_comment();
        let mut chomping_break = false;
        if self.byte(0) == b'\n' {
            self.newline();
            chomping_break = true;
        }
        if self.byte(0) == b'\t' {
            return Err(Unsupported);
        }
        let mut indent = match increment {
            0 => 0,
            n => col + n,
        };
        let mut trailing_breaks = 0;
        if indent == 0 {
            let mut max_indent = 0;
            loop {
                while self.byte(0) == b' ' {
                    self.pos += 1;
                }
                max_indent = max_indent.max(self.col());
                if self.byte(0) != b'\n' {
                    break;
                }
                self.newline();
                trailing_breaks += 1;
            }
            indent = max_indent.max(col + 1);
        } else {
            self.skip_block_indent(indent, &mut trailing_breaks);
        }
        let mut text = String::new();
        if self.byte(0) == 0 {
            let keep_break = match chomping {
                Chomping::Strip => false,
                _ if self.line == start_line => false,
                Chomping::Clip => chomping_break,
                Chomping::Keep if trailing_breaks == 0 => chomping_break,
                Chomping::Keep => {
                    push_breaks(&mut text, trailing_breaks);
                    false
                }
            };
            if keep_break {
                text.push('\n');
            }
            return Ok(text);
        }
        if self.col() < indent && self.col() > col {
            return Err(Unsupported);
        }
        let mut leading_break = false;
        let mut leading_blank = false;
        while self.col() == indent && self.byte(0) != 0 {
            let trailing_blank = matches!(self.byte(0), b' ' | b'\t');
            if !literal && leading_break && !leading_blank && !trailing_blank {
                push_breaks(&mut text, trailing_breaks);
                if trailing_breaks == 0 {
                    text.push(' ');
                }
            } else {
                push_breaks(&mut text, usize::from(leading_break) + trailing_breaks);
            }
            leading_break = false;
            trailing_breaks = 0;
            leading_blank = trailing_blank;
            let rest = &self.text[self.pos..];
            let length = memchr::memchr(b'\n', rest.as_bytes()).unwrap_or(rest.len());
            text.push_str(&rest[..length]);
            self.pos += length;
            if self.byte(0) == 0 {
                break;
            }
            self.newline();
            leading_break = true;
            self.skip_block_indent(indent, &mut trailing_breaks);
        }
        if chomping != Chomping::Strip {
            push_breaks(&mut text, usize::from(leading_break));
            if self.byte(0) == 0 && self.col() >= indent.max(1) {
                text.push('\n');
            }
        }
        if chomping == Chomping::Keep {
            push_breaks(&mut text, trailing_breaks);
        }
        Ok(text)
    }

    /// The chomping and indentation indicators after `|` or `>`, in
    /// either order (`|-`, `>2`, `|+1`, `|1-`).
    fn block_scalar_header(&mut self) -> Read<(Chomping, usize)> {
        let chomping = |byte: u8| match byte {
            b'+' => Some(Chomping::Keep),
            b'-' => Some(Chomping::Strip),
            _ => None,
        };
        if let Some(kind) = chomping(self.byte(0)) {
            self.pos += 1;
            return Ok((kind, self.indentation_indicator()?));
        }
        let increment = self.indentation_indicator()?;
        let kind = chomping(self.byte(0)).unwrap_or(Chomping::Clip);
        if kind != Chomping::Clip {
            self.pos += 1;
        }
        Ok((kind, increment))
    }

    /// A block scalar's explicit indentation, 0 when not given (an explicit
    /// 0 is an error).
    fn indentation_indicator(&mut self) -> Read<usize> {
        match self.byte(0) {
            b'0' => Err(Unsupported),
            digit @ b'1'..=b'9' => {
                self.pos += 1;
                Ok(usize::from(digit - b'0'))
            }
            _ => Ok(0),
        }
    }

    /// Skips a block scalar's indentation and its empty lines, counting them.
    fn skip_block_indent(&mut self, indent: usize, breaks: &mut usize) {
        loop {
            while self.col() < indent && self.byte(0) == b' ' {
                self.pos += 1;
            }
            if self.byte(0) != b'\n' {
                return;
            }
            self.newline();
            *breaks += 1;
        }
    }

    /// A block scalar stops at the first byte of a less indented line, or
    /// at the end; read on from that line's start.
    fn after_block_scalar(&mut self) -> Read<()> {
        if self.byte(0) == 0 {
            self.ahead = Next::End;
            return Ok(());
        }
        self.pos = self.line_start;
        self.advance()
    }

    fn flow_sequence(&mut self, at: &At) -> Read<Value> {
        self.enter()?;
        self.pos += 1;
        let mut items = Vec::new();
        self.skip_spaces()?;
        if self.byte(0) == b']' {
            self.pos += 1;
            self.leave();
            return Ok(Value::Array(items));
        }
        loop {
            let here = At::Index(at, items.len());
            let item = self.flow_node(&here)?;
            items.push(item);
            if self.flow_separator(b']')? {
                break;
            }
        }
        self.leave();
        Ok(Value::Array(items))
    }

    fn flow_mapping(&mut self, at: &At) -> Read<Value> {
        self.enter()?;
        self.pos += 1;
        let mut map = Map::new();
        self.skip_spaces()?;
        if self.byte(0) == b'}' {
            self.pos += 1;
            self.leave();
            return Ok(Value::Object(map));
        }
        loop {
            let line = self.line;
            let key = match self.byte(0) {
                b'\'' | b'"' => self.quoted()?,
                _ => {
                    self.check_plain_start(true)?;
                    let start = self.pos;
                    let (end, stop) = self.scan_plain(true)?;
                    if stop != Stop::Colon {
                        return Err(Unsupported);
                    }
                    self.text[start..end].to_string()
                }
            };
            self.skip_spaces()?;
            if key == "<<" || self.byte(0) != b':' || self.byte(1) != b' ' {
                return Err(Unsupported);
            }
            self.pos += 1;
            self.skip_spaces()?;
            let here = At::Key(at, &key);
            let value = self.flow_node(&here)?;
            self.insert(&mut map, key, value, line, at);
            if self.flow_separator(b'}')? {
                break;
            }
        }
        self.leave();
        Ok(Value::Object(map))
    }

    /// After a flow entry: `,` and another entry (false), or the closing
    /// bracket (true). A trailing `,` is the full loader's.
    fn flow_separator(&mut self, close: u8) -> Read<bool> {
        self.skip_spaces()?;
        match self.byte(0) {
            b',' => {
                self.pos += 1;
                self.skip_spaces()?;
                match self.byte(0) == close {
                    true => Err(Unsupported),
                    false => Ok(false),
                }
            }
            b if b == close => {
                self.pos += 1;
                Ok(true)
            }
            _ => Err(Unsupported),
        }
    }

    /// One entry of a flow collection: a nested one, a quoted or a plain scalar.
    fn flow_node(&mut self, here: &At) -> Read<Value> {
        match self.byte(0) {
            b'[' => self.flow_sequence(here),
            b'{' => self.flow_mapping(here),
            b'\'' | b'"' => self.quoted().map(Value::String),
            _ => {
                self.check_plain_start(true)?;
                let (text, start, line) = (self.text, self.pos, self.line);
                let (end, stop) = self.scan_plain(true)?;
                if stop != Stop::Flow {
                    return Err(Unsupported);
                }
                self.resolve(&text[start..end], line, here)
            }
        }
    }

    /// Adds a key, the later value winning as in PyYAML; a repeated key is
    /// noted with its line, as the full loader notes it.
    fn insert(
        &mut self,
        map: &mut Map<String, Value>,
        key: String,
        value: Value,
        line: usize,
        at: &At,
    ) {
        match map.entry(key) {
            serde_json::map::Entry::Vacant(entry) => {
                entry.insert(value);
            }
            serde_json::map::Entry::Occupied(mut entry) => {
                entry.insert(value);
                let path = at.path().key(entry.key().clone());
                self.duplicate_keys.push(DuplicateKey { path, line });
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chomping {
    Strip,
    Clip,
    Keep,
}

fn push_breaks(text: &mut String, count: usize) {
    for _ in 0..count {
        text.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::yaml::loader::parse_stream_full;

    /// The subset reader either gives up or gives what the full loader gives.
    fn agrees(text: &str) -> bool {
        let Some(fast) = parse_stream(text) else {
            return false;
        };
        match parse_stream_full(text) {
            // By their Debug text: a NaN (`.nan`) is not equal to itself.
            Ok(full) => assert_eq!(
                format!("{fast:#?}"),
                format!("{full:#?}"),
                "the subset reader differs on {text:?}"
            ),
            Err(err) => panic!("the subset reader accepts {text:?}, the loader says {err}"),
        }
        true
    }

    /// Texts the subset reader must read itself, each as the loader does.
    const READ: &[&str] = &[
        "",
        "# only a comment\n\n",
        "a: 1\n",
        "a: 1",
        "  a: 1\n  b: 2\n",
        "a: yes\nb: off\nc: ~\nd: 0755\ne: 0x1F\nf: 1:30\ng: 1.5\nh: 1e5\ni: 08\nj: null\nk:\n",
        "v: 1.0.0\nw: 2001-12-14\nx: 'quay.io/a@sha256:00'\ny: .inf\nz: -.Inf\n",
        "a: 2001-12-14t21:59:43.10-05:00\nb: [2001-1-2 03:04:00 +01:30]\nc: {d: .nan}\n",
        "key:   value   # comment\nurl: http://x:80/a#b\nk2: a#b\n'q k': \"v\"\n",
        "a: 1\nb:\n  c: 1\n  c: 2\na: 3\n",
        "items:\n- x: 1\n- x: 1\n  x: 2\n",
        "a:\n  - 1\n  - two\n  -\n  - \n",
        "a:\n- 1\n-\n  b: 2\nc: 3\n",
        "- a\n- b: 1\n  c:\n  - d\n  - e: f\n    g: h\n- [1, 2]\n",
        "a: [\"\", '*', x y, {p: /healthz, port: 8081}, []]\nb: {}\n",
        "a: 'it''s'\nb: \"tab\\there \\\"q\\\" \\\\ \\u00e9 \\x41 \\/\"\nc: 'a  b  '\n",
        "a: |\n  line one\n\n  line three\n   indented\nb: >\n  folded\n  text\n\n  para\n",
        "a: |-\n  strip\n\n\nb: |+\n  keep\n\n\nc: >-\n  x\n   y\n  z\n",
        "a: |2\n    two extra\nb: |\n\n  after a blank\nc: |\nd: |",
        "a: |\n  no newline at the end",
        "a: |\n  x\n# comment\nb: 1\n",
        "- |\n  in a list\n- >\n  folded in a list\n",
        "---\na: 1\n",
        "a: 1\n---\nb: 2\n---\n",
        "--- # a comment\na: 1\n---\n---\n",
        "# head\n---\n- a\n",
        "a: 1 # c\n# c\n  # c\nb: 2\n",
        "a: b\n  # a comment, not more of b\nc: d\n",
        "a: b\n\n\nc: d\n",
        "ünï: cödé — ✓\n\"ü\": 'é'\n",
        "a: 18446744073709551615\nb: -9223372036854775808\nc: -1\nd: +1\ne: 1_000\n",
        "nested:\n  deeper:\n    deepest:\n      - a\n      - b: [c, {d: e}]\n",
        "-key: 1\n:k: 2\n?k: 3\nk:v: 4\n",
        // Runs of plain bytes up to each kind of stop, in block and flow.
        "a: iVBORw0KGgo+/=AAAA x:y z#w tail   \n",
        "c: run # c\n",
        "d: [ab:cd, e#f, g]\n",
        "e: {k: vvvv, l: [w,x], m: 1.2.3-rc.1+b}\nf: ends-at-eof",
    ];

    #[test]
    fn reads_what_the_loader_reads_the_same_way() {
        for text in READ {
            assert!(agrees(text), "the subset reader gave up on {text:?}");
        }
    }

    /// Texts the subset reader leaves to the loader (which may refuse them).
    const LEFT: &[&str] = &[
        "a: &x 1\nb: *x\n",
        "a: !!str 1\n",
        "base: &b {x: 1}\nother:\n  <<: *b\n",
        "a: multi\n  line\n",
        "- multi\n  line\n",
        "a: 'multi\n  line'\n",
        "a: [1,\n  2]\n",
        "a: [1, 2,]\n",
        "? complex\n: key\n",
        "a:\tb\n",
        "\ta: 1\n",
        "a: 1\r\nb: 2\r\n",
        "%YAML 1.1\n---\na: 1\n",
        "a: 1\n...\n",
        "--- a\n",
        "a: b: c\n",
        "a: - b\n",
        "a: 'x'y\n",
        "a: \"x\"#c\n",
        "a: [1, 2]x\n",
        "a: \"\\q\"\n",
        "a: |0\n  x\n",
        "a: |#c\n  x\n",
        "a: |\n    x\n  y\n",
        "a:\n    b: 1\n  c: 2\n",
        "a: 1\n  b: 2\n",
        "plain scalar\n",
        "[1, 2]\n",
        "- - a\n",
        "a: 2001-13-14\n",
        "a: x #c\n  b\n",
        "\u{feff}a: 1\n",
    ];

    #[test]
    fn leaves_the_rest_to_the_loader() {
        for text in LEFT {
            assert!(!agrees(text), "the subset reader read {text:?}");
        }
    }

    /// Edits of every text above and of the repository's own YAML files
    /// (examples/, tests/fixtures/) at pseudo-random places: wherever the
    /// subset reader reads one, it reads what the loader reads. The
    /// reference's files are compared in tests/yaml_subset.rs.
    #[test]
    fn edited_texts_read_the_same_or_go_to_the_loader() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut texts: Vec<String> = READ.iter().chain(LEFT).map(|t| t.to_string()).collect();
        for dir in ["examples", "tests/fixtures"] {
            for entry in walkdir::WalkDir::new(root.join(dir)).into_iter().flatten() {
                let path = entry.path();
                if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
                    texts.extend(std::fs::read_to_string(path).ok());
                }
            }
        }
        assert!(
            texts.len() > 100,
            "the repository's YAML files were not found"
        );
        let mut edits = Edits::new(0x2545_f491_4f6c_dd1d);
        let (mut read, mut left) = (0, 0);
        for text in &texts {
            // About the same work per text: many edits of a short one.
            for _ in 0..(200_000 / text.len().max(1)).clamp(20, 400) {
                match agrees(&edits.apply(text)) {
                    true => read += 1,
                    false => left += 1,
                }
            }
        }
        // Most edits keep the text in the subset: the comparison is not empty.
        assert!(read > left / 4, "read {read}, left {left}");
    }

    /// Pseudo-random edits that keep YAML looking like YAML: pieces of its
    /// syntax inserted, a few bytes cut, a line indented or made an entry.
    struct Edits(u64);

    impl Edits {
        const PIECES: &'static [&'static str] = &[
            " ", "  ", "\n", "\n  ", "- ", ": ", ":", "#", " #", "'", "\"", "|", ">", "[", "]",
            "{", "}", ",", "---\n", "-", "\t", "\\", "&a ", "*a", "!", "?", "%", "0", "1.5", "yes",
            "~", "\n\n", "é",
        ];

        fn new(seed: u64) -> Self {
            Edits(seed)
        }

        /// xorshift64: below `bound`.
        fn next(&mut self, bound: usize) -> usize {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 % bound.max(1) as u64) as usize
        }

        fn apply(&mut self, text: &str) -> String {
            let mut edited = text.to_string();
            for _ in 0..=self.next(3) {
                let mut at = self.next(edited.len() + 1);
                while !edited.is_char_boundary(at) {
                    at -= 1;
                }
                match self.next(3) {
                    0 => edited.insert_str(at, Self::PIECES[self.next(Self::PIECES.len())]),
                    1 => {
                        let mut end = (at + 1 + self.next(4)).min(edited.len());
                        while !edited.is_char_boundary(end) {
                            end += 1;
                        }
                        edited.replace_range(at..end, "");
                    }
                    _ => {
                        let line_start = edited[..at].rfind('\n').map_or(0, |i| i + 1);
                        edited.insert_str(line_start, ["  ", " ", "- "][self.next(3)]);
                    }
                }
            }
            edited
        }
    }
}
