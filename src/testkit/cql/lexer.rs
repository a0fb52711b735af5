//! The CQL lexer: statement text to tokens, in one pass.
//!
//! Follows Cassandra's `Lexer.g`: the longest of the competing forms wins (`1h30m` is a
//! duration, `1e5` a float, `0123abcd-...` a UUID), a `-` directly before a digit belongs
//! to the number (`c = c -1` is `c`, `=`, `c`, `-1`), ISO 8601 durations need their
//! upper-case designators (`P1DT2H`), and `true`/`false` are never identifiers. Keywords
//! are not told apart from identifiers here: every unquoted word is a [`Tok::Word`]
//! (lowercased) and the parser decides by context, which is how CQL's non-reserved
//! keywords (`key`, `type`, `ttl`, ...) stay usable as names.
//!
//! A character no token can start with, or an unterminated string or comment, ends the
//! stream with a [`Tok::Invalid`]; the parser reports it only if it gets that far.

use uuid::Uuid;

/// What a token is.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    /// An unquoted word (identifier or keyword), lowercased.
    Word(String),
    /// A `"quoted"` identifier with `""` unescaped.
    QuotedName(String),
    /// A `'string'` or `$$string$$`, unescaped.
    Str(String),
    /// An integer as written, possibly with a leading `-`.
    Integer(String),
    /// A float as written (`1.5`, `-2e10`), or `NaN`, `Infinity`, `-Infinity`.
    Float(String),
    /// A duration as written (`1h30m`, `-3d`, `P1DT2H`).
    Duration(String),
    /// A `0x...` blob, decoded.
    Blob(Vec<u8>),
    /// An unquoted UUID.
    Uuid(Uuid),
    /// `(`
    LParen,
    /// `)`
    RParen,
    /// `[`
    LBracket,
    /// `]`
    RBracket,
    /// `{`
    LBrace,
    /// `}`
    RBrace,
    /// `,`
    Comma,
    /// `;`
    Semi,
    /// `:`
    Colon,
    /// `.`
    Dot,
    /// `*`
    Star,
    /// `+`
    Plus,
    /// `-` (not part of a number)
    Minus,
    /// `/`
    Slash,
    /// `%`
    Percent,
    /// `?`
    QMark,
    /// `=`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// Text no token matches, with the message to report. Always followed by `Eof`.
    Invalid(String),
    /// The end of the input.
    Eof,
}

/// A token and where it is in the input (byte offsets).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token {
    /// What it is.
    pub(crate) tok: Tok,
    /// Byte offset of its first character.
    pub(crate) start: usize,
    /// Byte offset just past it.
    pub(crate) end: usize,
}

/// Splits `src` into tokens. The last token is always [`Tok::Eof`]; a
/// [`Tok::Invalid`] may come just before it.
pub(crate) fn tokenize(src: &str) -> Vec<Token> {
    let mut lx = Lexer { src, b: src.as_bytes(), pos: 0, out: Vec::new() };
    lx.run();
    lx.out
}

#[derive(Debug)]
struct Lexer<'a> {
    src: &'a str,
    b: &'a [u8],
    pos: usize,
    out: Vec<Token>,
}

/// `µ` (U+00B5) in UTF-8, for the `µs` duration unit.
const MICRO: [u8; 2] = [0xC2, 0xB5];

fn is_word_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

impl Lexer<'_> {
    fn at(&self, i: usize) -> u8 {
        self.b.get(i).copied().unwrap_or(0)
    }

    fn push(&mut self, tok: Tok, start: usize, end: usize) {
        self.out.push(Token { tok, start, end });
        self.pos = end;
    }

    fn run(&mut self) {
        loop {
            self.skip_trivia();
            if matches!(self.out.last(), Some(Token { tok: Tok::Invalid(_), .. })) {
                break;
            }
            let start = self.pos;
            if start >= self.b.len() {
                break;
            }
            if !self.next_token(start) {
                break;
            }
        }
        let end = self.b.len();
        let start = self.out.last().filter(|t| matches!(t.tok, Tok::Invalid(_))).map_or(end, |t| t.start);
        self.out.push(Token { tok: Tok::Eof, start, end: start });
    }

    fn invalid(&mut self, message: String, at: usize) {
        self.out.push(Token { tok: Tok::Invalid(message), start: at, end: at });
    }

    /// Skips whitespace and comments. An unterminated block comment becomes `Invalid`.
    fn skip_trivia(&mut self) {
        loop {
            let c = self.at(self.pos);
            if matches!(c, b' ' | b'\t' | b'\n' | b'\r') {
                self.pos += 1;
            } else if (c == b'-' && self.at(self.pos + 1) == b'-') || (c == b'/' && self.at(self.pos + 1) == b'/') {
                // Line comment, to the end of the line or of the input.
                match self.b[self.pos..].iter().position(|&c| c == b'\n' || c == b'\r') {
                    Some(n) => self.pos += n + 1,
                    None => self.pos = self.b.len(),
                }
            } else if c == b'/' && self.at(self.pos + 1) == b'*' {
                let body = self.pos + 2;
                match find(&self.b[body..], b"*/") {
                    Some(n) => self.pos = body + n + 2,
                    None => {
                        self.invalid("mismatched character '<EOF>' expecting '*/'".into(), self.b.len());
                        return;
                    }
                }
            } else {
                return;
            }
        }
    }

    /// Lexes one token at `start`. Returns false when it pushed `Invalid`.
    fn next_token(&mut self, start: usize) -> bool {
        let c = self.b[start];
        let one = |t: Tok| (t, 1);
        let (tok, len) = match c {
            b'(' => one(Tok::LParen),
            b')' => one(Tok::RParen),
            b'[' => one(Tok::LBracket),
            b']' => one(Tok::RBracket),
            b'{' => one(Tok::LBrace),
            b'}' => one(Tok::RBrace),
            b',' => one(Tok::Comma),
            b';' => one(Tok::Semi),
            b':' => one(Tok::Colon),
            b'.' => one(Tok::Dot),
            b'*' => one(Tok::Star),
            b'+' => one(Tok::Plus),
            b'/' => one(Tok::Slash),
            b'%' => one(Tok::Percent),
            b'?' => one(Tok::QMark),
            b'=' => one(Tok::Eq),
            b'!' if self.at(start + 1) == b'=' => (Tok::Ne, 2),
            b'<' if self.at(start + 1) == b'=' => (Tok::Le, 2),
            b'<' => one(Tok::Lt),
            b'>' if self.at(start + 1) == b'=' => (Tok::Ge, 2),
            b'>' => one(Tok::Gt),
            b'\'' => return self.quoted_string(start),
            b'$' if self.at(start + 1) == b'$' => return self.dollar_string(start),
            b'"' => return self.quoted_name(start),
            b'-' => return self.minus(start),
            b'0'..=b'9' => return self.number_or_uuid(start),
            c if c.is_ascii_alphabetic() => return self.word(start),
            _ => {
                let ch = self.src[start..].chars().next().unwrap_or('?');
                self.invalid(format!("no viable alternative at character '{}'", ch.escape_debug()), start);
                return false;
            }
        };
        self.push(tok, start, start + len);
        true
    }

    fn quoted_string(&mut self, start: usize) -> bool {
        let mut text = String::new();
        let mut i = start + 1;
        loop {
            match self.b[i..].iter().position(|&c| c == b'\'') {
                None => {
                    self.invalid("mismatched character '<EOF>' expecting '''".into(), self.b.len());
                    return false;
                }
                Some(n) => {
                    text.push_str(&self.src[i..i + n]);
                    i += n + 1;
                    if self.at(i) == b'\'' {
                        text.push('\'');
                        i += 1;
                    } else {
                        self.push(Tok::Str(text), start, i);
                        return true;
                    }
                }
            }
        }
    }

    fn dollar_string(&mut self, start: usize) -> bool {
        let body = start + 2;
        match find(&self.b[body..], b"$$") {
            Some(n) => {
                let text = self.src[body..body + n].to_owned();
                self.push(Tok::Str(text), start, body + n + 2);
                true
            }
            None => {
                self.invalid("mismatched character '<EOF>' expecting '$'".into(), self.b.len());
                false
            }
        }
    }

    fn quoted_name(&mut self, start: usize) -> bool {
        let mut text = String::new();
        let mut i = start + 1;
        loop {
            match self.b[i..].iter().position(|&c| c == b'"') {
                None => {
                    self.invalid("mismatched character '<EOF>' expecting '\"'".into(), self.b.len());
                    return false;
                }
                Some(n) => {
                    text.push_str(&self.src[i..i + n]);
                    i += n + 1;
                    if self.at(i) == b'"' {
                        text.push('"');
                        i += 1;
                    } else {
                        if text.is_empty() {
                            self.invalid("Invalid empty quoted identifier \"\"".into(), start);
                            return false;
                        }
                        self.push(Tok::QuotedName(text), start, i);
                        return true;
                    }
                }
            }
        }
    }

    /// `-` starts a negative number or duration, `-NaN`, `-Infinity`, or is a minus.
    fn minus(&mut self, start: usize) -> bool {
        let next = self.at(start + 1);
        if next.is_ascii_digit() {
            return self.number(start);
        }
        if next == b'P'
            && let Some(end) = self.iso_duration(start + 1)
        {
            let text = self.src[start..end].to_owned();
            self.push(Tok::Duration(text), start, end);
            return true;
        }
        if next.is_ascii_alphabetic() {
            let end = self.word_end(start + 1);
            let word = &self.src[start + 1..end];
            if word.eq_ignore_ascii_case("nan") {
                self.push(Tok::Float("NaN".into()), start, end);
                return true;
            }
            if word.eq_ignore_ascii_case("infinity") {
                self.push(Tok::Float("-Infinity".into()), start, end);
                return true;
            }
        }
        self.push(Tok::Minus, start, start + 1);
        true
    }

    fn word_end(&self, from: usize) -> usize {
        let mut i = from;
        while is_word_byte(self.at(i)) {
            i += 1;
        }
        i
    }

    fn digits_end(&self, from: usize) -> usize {
        let mut i = from;
        while self.at(i).is_ascii_digit() {
            i += 1;
        }
        i
    }

    /// The end of a UUID starting at `start`, if one does.
    fn uuid_end(&self, start: usize) -> Option<usize> {
        const GROUPS: [usize; 5] = [8, 4, 4, 4, 12];
        let mut i = start;
        for (g, len) in GROUPS.iter().enumerate() {
            if g > 0 {
                if self.at(i) != b'-' {
                    return None;
                }
                i += 1;
            }
            for _ in 0..*len {
                if !self.at(i).is_ascii_hexdigit() {
                    return None;
                }
                i += 1;
            }
        }
        Some(i)
    }

    fn try_uuid(&mut self, start: usize) -> bool {
        let Some(end) = self.uuid_end(start) else { return false };
        match Uuid::parse_str(&self.src[start..end]) {
            Ok(u) => {
                self.push(Tok::Uuid(u), start, end);
                true
            }
            Err(_) => false,
        }
    }

    fn number_or_uuid(&mut self, start: usize) -> bool {
        if self.try_uuid(start) {
            return true;
        }
        if self.b[start] == b'0' && matches!(self.at(start + 1), b'x' | b'X') {
            return self.blob(start);
        }
        self.number(start)
    }

    fn blob(&mut self, start: usize) -> bool {
        let digits = start + 2;
        let mut end = digits;
        while self.at(end).is_ascii_hexdigit() {
            end += 1;
        }
        let hex = &self.b[digits..end];
        if !hex.len().is_multiple_of(2) {
            self.invalid(format!("cannot parse '{}' as hex bytes", &self.src[start..end]), start);
            return false;
        }
        let bytes = hex.chunks(2).map(|p| (hex_val(p[0]) << 4) | hex_val(p[1])).collect();
        self.push(Tok::Blob(bytes), start, end);
        true
    }

    /// An integer, float or duration at `start` (which is a digit or `-` then a digit).
    fn number(&mut self, start: usize) -> bool {
        let digits = if self.b[start] == b'-' { start + 1 } else { start };
        let int_end = self.digits_end(digits);

        // Float: INTEGER ('.' DIGIT*)? EXPONENT?, where a `..` range is not a fraction.
        let mut float_end = int_end;
        if self.at(float_end) == b'.' && self.at(float_end + 1) != b'.' {
            float_end = self.digits_end(float_end + 1);
        }
        if matches!(self.at(float_end), b'e' | b'E') {
            let mut e = float_end + 1;
            if matches!(self.at(e), b'+' | b'-') {
                e += 1;
            }
            if self.at(e).is_ascii_digit() {
                float_end = self.digits_end(e);
            }
        }

        // Duration: (DIGIT+ UNIT)+
        let mut duration_end = digits;
        loop {
            let d = self.digits_end(duration_end);
            if d == duration_end {
                break;
            }
            match self.duration_unit(d) {
                Some(len) => duration_end = d + len,
                None => break,
            }
        }

        let (tok, end) = if duration_end > float_end {
            (Tok::Duration(self.src[start..duration_end].to_owned()), duration_end)
        } else if float_end > int_end {
            (Tok::Float(self.src[start..float_end].to_owned()), float_end)
        } else {
            (Tok::Integer(self.src[start..int_end].to_owned()), int_end)
        };
        self.push(tok, start, end);
        true
    }

    /// The length of the duration unit at `i` (`y mo w d h m s ms us µs ns`, any case).
    fn duration_unit(&self, i: usize) -> Option<usize> {
        let c = self.at(i).to_ascii_lowercase();
        let d = self.at(i + 1).to_ascii_lowercase();
        if self.b.get(i..i + 2) == Some(&MICRO[..]) && self.at(i + 2).eq_ignore_ascii_case(&b's') {
            return Some(3);
        }
        match (c, d) {
            (b'm', b'o') | (b'm', b's') | (b'u', b's') | (b'n', b's') => Some(2),
            (b'y' | b'w' | b'd' | b'h' | b'm' | b's', _) => Some(1),
            _ => None,
        }
    }

    /// The end of an ISO 8601 duration whose `P` is at `p`, if one is there. The whole
    /// word must match, since a longer identifier would win over it.
    fn iso_duration(&self, p: usize) -> Option<usize> {
        // Alternative format: PYYYY-MM-DDThh:mm:ss
        let alt = b"P0000-00-00T00:00:00";
        if let Some(s) = self.b.get(p..p + alt.len()) {
            let ok = s.iter().zip(alt).all(|(&c, &pat)| if pat == b'0' { c.is_ascii_digit() } else { c == pat });
            if ok && !is_word_byte(self.at(p + alt.len())) {
                return Some(p + alt.len());
            }
        }
        let end = self.word_end(p + 1);
        is_iso_designators(&self.b[p + 1..end]).then_some(end)
    }

    fn word(&mut self, start: usize) -> bool {
        if self.b[start].is_ascii_hexdigit() && self.try_uuid(start) {
            return true;
        }
        if self.b[start] == b'P'
            && let Some(end) = self.iso_duration(start)
        {
            let text = self.src[start..end].to_owned();
            self.push(Tok::Duration(text), start, end);
            return true;
        }
        let end = self.word_end(start);
        let word = self.src[start..end].to_ascii_lowercase();
        self.push(Tok::Word(word), start, end);
        true
    }
}

/// Whether `s` (the text after `P`) is `nW`, or date designators `nY nM nD` in that
/// order followed by optional time designators `T nH nM nS`, with at least one
/// component on each side that is present.
fn is_iso_designators(s: &[u8]) -> bool {
    fn components(s: &[u8], letters: &[u8]) -> Option<(usize, usize)> {
        // Returns (components read, bytes consumed).
        let (mut i, mut n, mut next_letter) = (0, 0, 0);
        loop {
            let d = s[i..].iter().take_while(|c| c.is_ascii_digit()).count();
            if d == 0 {
                return Some((n, i));
            }
            let letter = *s.get(i + d)?;
            let idx = letters[next_letter..].iter().position(|&l| l == letter)?;
            next_letter += idx + 1;
            i += d + 1;
            n += 1;
        }
    }
    if let Some(w) = s.strip_suffix(b"W")
        && !w.is_empty()
        && w.iter().all(u8::is_ascii_digit)
    {
        return true;
    }
    let Some((dates, used)) = components(s, b"YMD") else { return false };
    let rest = &s[used..];
    if rest.is_empty() {
        return dates > 0;
    }
    let Some(time) = rest.strip_prefix(b"T") else { return false };
    matches!(components(time, b"HMS"), Some((n, used)) if n > 0 && used == time.len())
}

/// Words that can never be unquoted identifiers: Cassandra's reserved keywords, plus
/// the boolean literals (which its lexer never makes identifiers either).
const RESERVED: &[&str] = &[
    "add",
    "allow",
    "alter",
    "and",
    "apply",
    "asc",
    "authorize",
    "batch",
    "begin",
    "by",
    "columnfamily",
    "create",
    "delete",
    "desc",
    "describe",
    "drop",
    "entries",
    "execute",
    "false",
    "from",
    "full",
    "grant",
    "if",
    "in",
    "index",
    "infinity",
    "insert",
    "into",
    "keyspace",
    "limit",
    "modify",
    "nan",
    "norecursive",
    "not",
    "null",
    "of",
    "on",
    "or",
    "order",
    "primary",
    "rename",
    "replace",
    "revoke",
    "schema",
    "select",
    "set",
    "table",
    "to",
    "token",
    "true",
    "truncate",
    "unlogged",
    "update",
    "use",
    "using",
    "view",
    "where",
    "with",
];

/// Whether `word` (lowercased) is reserved.
pub(crate) fn is_reserved(word: &str) -> bool {
    RESERVED.binary_search(&word).is_ok()
}

fn hex_val(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        _ => c - b'A' + 10,
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<Tok> {
        tokenize(s).into_iter().map(|t| t.tok).collect()
    }

    fn one(s: &str) -> Tok {
        let t = toks(s);
        assert_eq!(t.len(), 2, "{s:?} gave {t:?}");
        t.into_iter().next().unwrap()
    }

    fn word(s: &str) -> Tok {
        Tok::Word(s.into())
    }

    #[test]
    fn punctuation_and_operators() {
        assert_eq!(
            toks("( ) [ ] { } , ; : . * + / % ? = != < <= > >="),
            vec![
                Tok::LParen,
                Tok::RParen,
                Tok::LBracket,
                Tok::RBracket,
                Tok::LBrace,
                Tok::RBrace,
                Tok::Comma,
                Tok::Semi,
                Tok::Colon,
                Tok::Dot,
                Tok::Star,
                Tok::Plus,
                Tok::Slash,
                Tok::Percent,
                Tok::QMark,
                Tok::Eq,
                Tok::Ne,
                Tok::Lt,
                Tok::Le,
                Tok::Gt,
                Tok::Ge,
                Tok::Eof
            ]
        );
        // `>>` closes two type brackets.
        assert_eq!(toks(">>"), vec![Tok::Gt, Tok::Gt, Tok::Eof]);
    }

    #[test]
    fn words_are_lowercased_quoted_names_are_not() {
        assert_eq!(toks("SeLeCt Foo_1"), vec![word("select"), word("foo_1"), Tok::Eof]);
        assert_eq!(one(r#""MiXed""#), Tok::QuotedName("MiXed".into()));
        assert_eq!(one(r#""say ""hi""""#), Tok::QuotedName(r#"say "hi""#.into()));
        assert_eq!(one(r#""ünï""#), Tok::QuotedName("ünï".into()));
        assert!(matches!(one(r#""""#), Tok::Invalid(m) if m.contains("empty quoted")));
    }

    #[test]
    fn strings() {
        assert_eq!(one("'it''s'"), Tok::Str("it's".into()));
        assert_eq!(one("''"), Tok::Str(String::new()));
        assert_eq!(one("''''"), Tok::Str("'".into()));
        assert_eq!(one("'héllo -- not a comment'"), Tok::Str("héllo -- not a comment".into()));
        assert_eq!(one("$$it's $ a 'pg' string$$"), Tok::Str("it's $ a 'pg' string".into()));
        assert_eq!(one("$$$$"), Tok::Str(String::new()));
        assert!(matches!(one("'open"), Tok::Invalid(m) if m.contains("<EOF>")));
        assert!(matches!(one("$$open"), Tok::Invalid(_)));
    }

    #[test]
    fn numbers() {
        assert_eq!(one("42"), Tok::Integer("42".into()));
        assert_eq!(one("-1"), Tok::Integer("-1".into()));
        assert_eq!(one("123456789012345678901234567890"), Tok::Integer("123456789012345678901234567890".into()));
        assert_eq!(one("1.5"), Tok::Float("1.5".into()));
        assert_eq!(one("1."), Tok::Float("1.".into()));
        assert_eq!(one("1.5e-3"), Tok::Float("1.5e-3".into()));
        assert_eq!(one("-2E+10"), Tok::Float("-2E+10".into()));
        assert_eq!(one("1e5"), Tok::Float("1e5".into()));
        assert_eq!(one("NaN"), word("nan"));
        assert_eq!(one("-NaN"), Tok::Float("NaN".into()));
        assert_eq!(one("-infinity"), Tok::Float("-Infinity".into()));
        // `c -1`: the minus belongs to the number; `c - 1` has a minus.
        assert_eq!(toks("c -1"), vec![word("c"), Tok::Integer("-1".into()), Tok::Eof]);
        assert_eq!(toks("c - 1"), vec![word("c"), Tok::Minus, Tok::Integer("1".into()), Tok::Eof]);
        // A range is not a fraction.
        assert_eq!(toks("1..2")[0], Tok::Integer("1".into()));
        // Digits then letters are two tokens.
        assert_eq!(toks("12abc"), vec![Tok::Integer("12".into()), word("abc"), Tok::Eof]);
    }

    #[test]
    fn durations() {
        for d in ["1h30m", "-3d", "1y2mo", "10ms", "5us", "5µs", "7ns", "1W", "2h30M15s", "P1DT2H", "PT10M", "P2W"] {
            assert_eq!(one(d), Tok::Duration(d.into()), "{d}");
        }
        assert_eq!(one("P0001-02-03T04:05:06"), Tok::Duration("P0001-02-03T04:05:06".into()));
        assert_eq!(one("-P1Y2M"), Tok::Duration("-P1Y2M".into()));
        // Designators must be upper case and in order; otherwise it is a word.
        assert_eq!(one("p1d"), word("p1d"));
        assert_eq!(one("P1D2Y"), word("p1d2y"));
        assert_eq!(one("PT"), word("pt"));
        assert_eq!(one("P"), word("p"));
        assert_eq!(one("P1DX"), word("p1dx"));
        // A dangling count after a unit is a separate integer.
        assert_eq!(toks("1h30"), vec![Tok::Duration("1h".into()), Tok::Integer("30".into()), Tok::Eof]);
    }

    #[test]
    fn blobs_and_uuids() {
        assert_eq!(one("0xCAfe"), Tok::Blob(vec![0xca, 0xfe]));
        assert_eq!(one("0x"), Tok::Blob(vec![]));
        assert!(matches!(one("0xabc"), Tok::Invalid(m) if m.contains("hex")));
        let u = "a8098c1a-f86e-11da-bd1a-00112444be1e";
        assert_eq!(one(u), Tok::Uuid(Uuid::parse_str(u).unwrap()));
        let u = "01234567-89AB-cdef-0123-456789abcdef";
        assert_eq!(one(u), Tok::Uuid(Uuid::parse_str(u).unwrap()));
        // Not a UUID: an identifier, a minus, ...
        assert_eq!(toks("abc-1")[..2], [word("abc"), Tok::Integer("-1".into())]);
    }

    #[test]
    fn comments_and_whitespace() {
        assert_eq!(
            toks("a -- one\n b // two\r\n/* three\n */ c -- end"),
            vec![word("a"), word("b"), word("c"), Tok::Eof]
        );
        assert!(matches!(toks("a /* open")[1], Tok::Invalid(_)));
    }

    #[test]
    fn invalid_characters_stop_the_stream_with_their_position() {
        let t = tokenize("a # b");
        assert_eq!(t.len(), 3);
        assert!(matches!(&t[1].tok, Tok::Invalid(m) if m == "no viable alternative at character '#'"));
        assert_eq!((t[1].start, t[2].tok.clone()), (2, Tok::Eof));
        assert!(matches!(one("_x"), Tok::Invalid(_)));
        assert!(matches!(one("é"), Tok::Invalid(m) if m.contains('é')));
    }

    #[test]
    fn reserved_list_is_sorted_for_binary_search() {
        assert!(RESERVED.windows(2).all(|w| w[0] < w[1]));
        assert!(is_reserved("select") && is_reserved("token") && !is_reserved("key") && !is_reserved("ttl"));
    }

    #[test]
    fn spans() {
        let t = tokenize("ab  'c'");
        assert_eq!((t[0].start, t[0].end, t[1].start, t[1].end, t[2].start), (0, 2, 4, 7, 7));
    }
}
