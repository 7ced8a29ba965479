//! A JSON document that opens with `{`, read a value at a time. Each field
//! (and, in a List, each of its `items`) is parsed by serde_json from
//! memory: where it lies in the chunk read, when it ends there; else a
//! structural scan finds its end, reading on, and its text is parsed.
//! serde_json reading from a reader takes the text a byte at a time:
//! reading a List of 2,000 SyncSets (16 MB) took 136 ms that way, and
//! nothing is applied before it is read (issue 24). Only the value being
//! read is held, as with the reader.
//!
//! Every verdict is serde_json's: a value's text is parsed by it, and what
//! the scan finds between values (a missing `,`, the end of the text) is
//! reported with serde_json's own words for it, at the place it happens.

use std::io::Read;

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::{CompactItem, Top, CHUNK};
use crate::objects::{is_list, Item, Manifest, Position};

/// Why JSON text could not be read as JSON: where, and in what words.
#[derive(Debug)]
pub struct Syntax {
    /// The line (from 1) where it stops being JSON, and the column.
    pub line: usize,
    pub column: usize,
    /// serde_json's message, with its place in the whole text.
    pub message: String,
    /// Said when the text ended inside a value ([`common::cli::io::json_ends_early`]).
    pub ends_early: Option<String>,
}

impl Syntax {
    pub fn of(err: &serde_json::Error) -> Syntax {
        Syntax {
            line: err.line(),
            column: err.column(),
            message: err.to_string(),
            ends_early: common::cli::io::json_ends_early(err),
        }
    }

    /// An error serde_json gave for text that starts at `line` and
    /// `column` (0-based) of the input, placed in the whole input.
    fn shifted(err: &serde_json::Error, line: usize, column: usize) -> Syntax {
        match err.line() {
            0 => Syntax::of(err),
            1 => Syntax::placed(err, line, column + err.column()),
            n => Syntax::placed(err, line + n - 1, err.column()),
        }
    }

    /// An error serde_json gave, said to be at `line` and `column`.
    fn placed(err: &serde_json::Error, line: usize, column: usize) -> Syntax {
        let mut syntax = Syntax::of(err);
        let place = format!(" at line {} column {}", err.line(), err.column());
        if let Some(what) = syntax.message.strip_suffix(&place) {
            syntax.message = format!("{what} at line {line} column {column}");
        }
        syntax.line = line;
        syntax.column = column;
        syntax
    }
}

/// Why reading stopped.
pub enum Stop {
    /// The input could not be read; the reader keeps why.
    Read,
    Syntax(Syntax),
}

/// What serde_json says where the text between values goes wrong, and a
/// text on which it says it.
#[derive(Clone, Copy)]
enum Between {
    /// The text ended inside an object (`{` not closed).
    EndInObject,
    /// The text ended inside a list (`[` not closed).
    EndInList,
    /// The text ended where a value was due.
    EndBeforeValue,
    ExpectedValue,
    KeyNotString,
    ExpectedColon,
    ExpectedCommaOrBrace,
    ExpectedCommaOrBracket,
    TrailingCommaInObject,
    TrailingCommaInList,
    TrailingCharacters,
}

impl Between {
    fn sample(self) -> &'static str {
        match self {
            Between::EndInObject => "{",
            Between::EndInList => "[",
            Between::EndBeforeValue => "{\"a\":",
            Between::ExpectedValue => "x",
            Between::KeyNotString => "{x",
            Between::ExpectedColon => "{\"a\" x",
            Between::ExpectedCommaOrBrace => "{\"a\":1 x",
            Between::ExpectedCommaOrBracket => "[1 x",
            Between::TrailingCommaInObject => "{\"a\":1,}",
            Between::TrailingCommaInList => "[1,]",
            Between::TrailingCharacters => "{} x",
        }
    }
}

/// Reads the document: a List's items into [`Manifest`]s one by one,
/// every other field whole.
pub fn read(input: &mut dyn Read) -> Result<Top, Stop> {
    let mut text = Text::new(input);
    text.open_object()?;
    let mut fields = Map::new();
    let mut items = None;
    let mut first = true;
    while let Some(key) = text.next_key(first)? {
        first = false;
        let streams = key == "items"
            && text.peek()? == Some(b'[')
            && is_list(&Value::Object(super::list_head(&fields)));
        let value = if streams {
            items = Some(text.items()?);
            Value::Null
        } else {
            if key == "items" {
                items = None;
            }
            text.value()?
        };
        // As serde_json's own map: a repeated key keeps its first place
        // and its last value.
        fields.insert(key, value);
    }
    text.end()?;
    Ok(Top::Map { fields, items })
}

/// The input, read a chunk at a time, and where in it the next byte is.
struct Text<'a> {
    input: &'a mut dyn Read,
    buf: Vec<u8>,
    /// The next byte not yet read (an index into `buf`).
    at: usize,
    /// The line (from 1) and 0-based column of `at`.
    line: usize,
    column: usize,
    ended: bool,
}

impl<'a> Text<'a> {
    fn new(input: &'a mut dyn Read) -> Self {
        Text {
            input,
            buf: Vec::new(),
            at: 0,
            line: 1,
            column: 0,
            ended: false,
        }
    }

    /// Reads another chunk after what is held (dropping what was read);
    /// `false` at the end of the input.
    fn fill(&mut self) -> Result<bool, Stop> {
        if self.ended {
            return Ok(false);
        }
        if self.at > 0 {
            self.buf.drain(..self.at);
            self.at = 0;
        }
        let held = self.buf.len();
        self.buf.resize(held + CHUNK, 0);
        let n = loop {
            match self.input.read(&mut self.buf[held..]) {
                Ok(n) => break n,
                Err(err) if err.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(_) => {
                    self.buf.truncate(held);
                    return Err(Stop::Read);
                }
            }
        };
        self.buf.truncate(held + n);
        self.ended = n == 0;
        Ok(n > 0)
    }

    /// Moves past `n` bytes, counting lines.
    fn advance(&mut self, n: usize) {
        let passed = &self.buf[self.at..self.at + n];
        // Every byte of the input passes here: a tenth of reading a List
        // went to this, byte by byte.
        match memchr::memrchr(b'\n', passed) {
            Some(last) => {
                self.line += common::text::bytes::count(passed, b'\n');
                self.column = n - last - 1;
            }
            None => self.column += n,
        }
        self.at += n;
    }

    /// The next byte that is not JSON whitespace (it is not read), or
    /// `None` at the end of the input.
    fn peek(&mut self) -> Result<Option<u8>, Stop> {
        loop {
            let rest = &self.buf[self.at..];
            match rest
                .iter()
                .position(|b| !matches!(b, b' ' | b'\n' | b'\t' | b'\r'))
            {
                Some(n) => {
                    self.advance(n);
                    return Ok(Some(self.buf[self.at]));
                }
                None => {
                    self.advance(rest.len());
                    if !self.fill()? {
                        return Ok(None);
                    }
                }
            }
        }
    }

    /// serde_json's error for `what` at the next byte.
    fn between(&self, what: Between) -> Stop {
        self.between_at(what, self.line, self.column + 1)
    }

    /// serde_json's error for `what`, at `line` and `column`.
    fn between_at(&self, what: Between, line: usize, column: usize) -> Stop {
        match serde_json::from_str::<Value>(what.sample()) {
            Err(err) => Stop::Syntax(Syntax::placed(&err, line, column)),
            Ok(_) => Stop::Read,
        }
    }

    fn open_object(&mut self) -> Result<(), Stop> {
        match self.peek()? {
            Some(b'{') => {
                self.advance(1);
                Ok(())
            }
            _ => Err(self.between(Between::ExpectedValue)),
        }
    }

    /// The next key of the object, or `None` at its closing `}`.
    fn next_key(&mut self, first: bool) -> Result<Option<String>, Stop> {
        let mut next = self.peek()?;
        if !first {
            match next {
                Some(b',') => {
                    self.advance(1);
                    next = self.peek()?;
                    match next {
                        Some(b'}') => return Err(self.between(Between::TrailingCommaInObject)),
                        None => return Err(self.between(Between::EndBeforeValue)),
                        _ => {}
                    }
                }
                Some(b'}') => {
                    self.advance(1);
                    return Ok(None);
                }
                None => return Err(self.between(Between::EndInObject)),
                Some(_) => return Err(self.between(Between::ExpectedCommaOrBrace)),
            }
        }
        match next {
            Some(b'"') => {}
            Some(b'}') if first => {
                self.advance(1);
                return Ok(None);
            }
            None => return Err(self.between(Between::EndInObject)),
            Some(_) => return Err(self.between(Between::KeyNotString)),
        }
        let key: String = self.parse_next(Between::ExpectedColon)?;
        match self.peek()? {
            Some(b':') => self.advance(1),
            None => return Err(self.between(Between::EndInObject)),
            Some(_) => return Err(self.between(Between::ExpectedColon)),
        }
        Ok(Some(key))
    }

    /// The next value, whole.
    fn value(&mut self) -> Result<Value, Stop> {
        if self.peek()?.is_none() {
            return Err(self.between(Between::EndBeforeValue));
        }
        self.parse_next(Between::ExpectedCommaOrBrace)
    }

    /// A List's items (the next byte is their `[`), each kept as the
    /// compact object it is sent as, or as the value that is not one.
    fn items(&mut self) -> Result<Vec<Item>, Stop> {
        self.advance(1);
        let mut items = Vec::new();
        loop {
            let next = self.peek()?;
            if !items.is_empty() {
                match next {
                    Some(b',') => {
                        self.advance(1);
                        match self.peek()? {
                            Some(b']') => return Err(self.between(Between::TrailingCommaInList)),
                            None => return Err(self.between(Between::EndBeforeValue)),
                            _ => {}
                        }
                    }
                    Some(b']') => break,
                    None => return Err(self.between(Between::EndInList)),
                    Some(_) => return Err(self.between(Between::ExpectedCommaOrBracket)),
                }
            } else if next == Some(b']') {
                break;
            }
            match self.peek()? {
                None => return Err(self.between(Between::EndInList)),
                Some(_) => {
                    let item: CompactItem = self.parse_next(Between::ExpectedCommaOrBracket)?;
                    items.push(Manifest::from_compact(item, Position::Item(items.len())));
                }
            }
        }
        self.advance(1);
        Ok(items)
    }

    /// After the closing `}`: nothing but whitespace.
    fn end(&mut self) -> Result<(), Stop> {
        match self.peek()? {
            None => Ok(()),
            Some(_) => Err(self.between(Between::TrailingCharacters)),
        }
    }

    /// Parses the value that starts at the next byte (not whitespace) and
    /// moves past it; `then` says what must follow it (`,` or a closing
    /// bracket), for a number or a word that runs on (`12x`).
    fn parse_next<T: DeserializeOwned>(&mut self, then: Between) -> Result<T, Stop> {
        if let Some((value, length)) = self.parse_held() {
            self.advance(length);
            return Ok(value);
        }
        let extent = self.extent()?;
        let text = &self.buf[self.at..self.at + extent.parsed];
        // A number or a word is parsed with the byte that ends it, as
        // serde_json sees it in the stream (`tru,` is a wrong word, not a
        // text that ends early).
        let mut parser = serde_json::Deserializer::from_slice(text);
        let value = match T::deserialize(&mut parser) {
            Ok(value) => value,
            Err(err) => return Err(Stop::Syntax(Syntax::shifted(&err, self.line, self.column))),
        };
        if extent.parsed > extent.value {
            // And then alone: what is left after the word is no `,`.
            if let Err(err) = serde_json::from_slice::<serde::de::IgnoredAny>(&text[..extent.value])
            {
                let at = Syntax::shifted(&err, self.line, self.column);
                return Err(self.between_at(then, at.line, at.column));
            }
        }
        if !extent.whole {
            return Err(self.between(Between::EndBeforeValue));
        }
        self.advance(extent.value);
        Ok(value)
    }

    /// The next value when it is an object or a list that ends within the
    /// bytes held, parsed where it lies, and its length: most of a List's
    /// items are, and for them the structural scan ([`Text::extent`]) would
    /// cost as much as the parse. `None` when it is not whole there, or not
    /// JSON: [`Text::parse_next`] then reads as much as it needs, and says
    /// what is wrong.
    fn parse_held<T: DeserializeOwned>(&self) -> Option<(T, usize)> {
        let held = &self.buf[self.at..];
        if !matches!(held.first(), Some(b'{' | b'[')) {
            return None;
        }
        // Nothing after a closing bracket is read: the value ends there.
        let mut values = serde_json::Deserializer::from_slice(held).into_iter();
        let value = values.next()?.ok()?;
        Some((value, values.byte_offset()))
    }

    /// Where the next value ends, reading more of the input as needed.
    fn extent(&mut self) -> Result<Extent, Stop> {
        let mut scan = Scan::new(self.buf[self.at]);
        let mut from = 0;
        loop {
            let held = &self.buf[self.at..];
            if let Some(end) = scan.run(held, from) {
                let value = end - usize::from(scan.scalar);
                return Ok(Extent {
                    parsed: end,
                    value,
                    whole: true,
                });
            }
            from = held.len();
            // fill() keeps the bytes from `at` on, now at the start.
            if !self.fill()? {
                let left = self.buf.len() - self.at;
                // A number or a word may end where the text ends; a string,
                // an object or a list may not.
                return Ok(Extent {
                    parsed: left,
                    value: left,
                    whole: scan.scalar,
                });
            }
        }
    }
}

/// The text of a value, from the next byte.
struct Extent {
    /// The bytes parsed: the value, and for a number or a word the byte
    /// that ends it.
    parsed: usize,
    /// The value's own bytes.
    value: usize,
    /// False: the input ended inside it.
    whole: bool,
}

/// A structural scan of one value: where it ends, across chunks.
struct Scan {
    /// `{`/`[` opened and not closed (0: a string or a scalar).
    depth: usize,
    in_string: bool,
    /// A `\` was the last byte scanned in a string.
    escaped: bool,
    scalar: bool,
}

impl Scan {
    fn new(first: u8) -> Scan {
        Scan {
            depth: 0,
            in_string: false,
            escaped: false,
            scalar: !matches!(first, b'{' | b'[' | b'"'),
        }
    }

    /// The end of the value in `text` (scanned before up to `from`), or
    /// `None` when it goes on past `text`.
    fn run(&mut self, text: &[u8], from: usize) -> Option<usize> {
        let mut i = from;
        if self.scalar {
            return text[i..]
                .iter()
                .position(|b| matches!(b, b',' | b'}' | b']' | b' ' | b'\n' | b'\t' | b'\r'))
                .map(|n| i + n + 1);
        }
        while i < text.len() {
            if self.escaped {
                self.escaped = false;
                i += 1;
                continue;
            }
            if self.in_string {
                match text[i..].iter().position(|b| matches!(b, b'"' | b'\\')) {
                    None => return None,
                    Some(n) => {
                        i += n;
                        if text[i] == b'\\' {
                            self.escaped = true;
                        } else {
                            self.in_string = false;
                            if self.depth == 0 {
                                return Some(i + 1);
                            }
                        }
                    }
                }
            } else {
                match text[i] {
                    b'"' => self.in_string = true,
                    b'{' | b'[' => self.depth += 1,
                    b'}' | b']' => {
                        self.depth = self.depth.saturating_sub(1);
                        if self.depth == 0 {
                            return Some(i + 1);
                        }
                    }
                    _ => {}
                }
            }
            i += 1;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    /// What serde_json says of the whole text, read from a reader.
    fn streamed(text: &str) -> Result<Value, Syntax> {
        let mut parser = serde_json::Deserializer::from_reader(text.as_bytes());
        let value = Value::deserialize(&mut parser).map_err(|e| Syntax::of(&e))?;
        parser.end().map_err(|e| Syntax::of(&e))?;
        Ok(value)
    }

    /// Reads `text` in chunks of `chunk` bytes.
    struct Dribble<'a>(&'a [u8], usize);

    impl Read for Dribble<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = self.0.len().min(self.1).min(buf.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    fn read_text(text: &str, chunk: usize) -> Result<Value, Syntax> {
        match read(&mut Dribble(text.as_bytes(), chunk)) {
            Ok(Top::Map { fields, items }) => {
                let mut value = Value::Object(fields);
                if let Some(items) = items {
                    let items = items
                        .into_iter()
                        .map(|i| i.map_or_else(|v| v, |m| m.object()));
                    value["items"] = Value::Array(items.collect());
                }
                Ok(value)
            }
            Ok(Top::Value(value)) => Ok(value),
            Err(Stop::Syntax(syntax)) => Err(syntax),
            Err(Stop::Read) => panic!("{text:?}: a read failed"),
        }
    }

    const LIST: &str = "{\n  \"apiVersion\": \"v1\",\n  \"kind\": \"List\",\n  \"metadata\": {\"n\": 1.5e3, \"t\": true, \"z\": null},\n  \"items\": [\n    {\"apiVersion\": \"v1\", \"kind\": \"ConfigMap\", \"metadata\": {\"name\": \"a\\\"}\", \"namespace\": \"n\"}, \"data\": {\"k\": \"[{\\\\\"}},\n    {\"apiVersion\": \"v1\", \"kind\": \"Namespace\", \"metadata\": {\"name\": \"n\"}, \"x\": [1, -2, [], {}]}\n  ]\n}\n";

    #[test]
    fn reads_what_serde_json_reads_in_any_chunks() {
        let expected = streamed(LIST).unwrap();
        for chunk in [1, 2, 3, 7, 64, 1 << 16] {
            assert_eq!(read_text(LIST, chunk).unwrap(), expected, "chunk {chunk}");
        }
        for text in [
            "{}",
            " {\"kind\": \"List\", \"items\": []}",
            "{\"items\": [{\"a\": 1}], \"kind\": \"List\"}",
            "{\"kind\": \"List\", \"items\": {\"a\": 1}}",
            "{\"kind\": \"Thing\", \"items\": [1], \"kind\": \"List\"}",
            "{\"a\": 12, \"b\": false}\n\n",
        ] {
            assert_eq!(
                read_text(text, 3).unwrap(),
                streamed(text).unwrap(),
                "{text}"
            );
        }
    }

    #[test]
    fn says_what_serde_json_says_where_it_says_it() {
        let cut = |n: usize| LIST[..n].to_string();
        let mut broken: Vec<String> = (1..LIST.len()).map(cut).collect();
        broken.extend(
            [
                "{\"a\": tru, \"b\": 1}",
                "{\"a\": 12x, \"b\": 1}",
                "{\"a\": 1,}",
                "{\"a\": 1 \"b\": 2}",
                "{\"a\" 1}",
                "{a: 1}",
                "{\"a\":,}",
                "{\"kind\": \"List\", \"items\": [1,]}",
                "{\"kind\": \"List\", \"items\": [{} {}]}",
                "{\"kind\": \"List\", \"items\": [{\"a\": [1}]}",
                "{\"kind\": \"List\", \"items\": [\n{\"a\": \"\\q\"}]}",
                "{} {}",
                "{}\n x",
                "{\"a\": 1}]",
                // Whole where it lies, then something that is no `,`.
                "{\"kind\": \"List\", \"items\": [{\"a\": 1}x]}",
                "{\"a\": [1]x}",
                "{\"a\": {\"b\": [1, {}]}}}",
            ]
            .map(String::from),
        );
        for text in &broken {
            let Err(expected) = streamed(text) else {
                continue;
            };
            for chunk in [1, 5, 1 << 16] {
                let got = read_text(text, chunk).expect_err(text);
                assert_eq!(got.ends_early, expected.ends_early, "{text:?}");
                assert_eq!(got.line, expected.line, "{text:?}");
                if expected.ends_early.is_none() {
                    assert_eq!(got.message, expected.message, "{text:?}");
                }
            }
        }
    }
}
