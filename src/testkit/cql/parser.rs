//! The recursive-descent parser: tokens to a [`CqlStatement`].
//!
//! One function per grammar rule, one token of lookahead almost everywhere (a few
//! rules peek two or three tokens to tell `f(x)` from `c`, `(int) x` from `(1, 2)`, or
//! `c = c + 1` from `c = 1`). Nothing backtracks, so time is linear in the input; the
//! rules that recurse (terms, types, selectors) count their depth and stop at
//! [`MAX_DEPTH`], so no input can exhaust the stack.
//!
//! Errors read like the ANTLR messages Cassandra sends (`mismatched input 'x'
//! expecting K_FROM`, `no viable alternative at input 'x'`), with the line (1-based)
//! and column (0-based, in characters) of the offending token.

use std::collections::HashSet;

use super::ParseError;
use super::ast::*;
use super::lexer::{Tok, Token, is_reserved};
use crate::protocol::ColumnType;
use crate::types::Literal;

/// Deepest nesting of terms, types and selectors accepted (`[[[...]]]`,
/// `list<list<...>>`, `f(f(...))`). Real statements stay far below it.
pub(crate) const MAX_DEPTH: usize = 64;

/// The native type a (lowercased) word names.
fn native_type(word: &str) -> Option<ColumnType> {
    Some(match word {
        "ascii" => ColumnType::Ascii,
        "bigint" => ColumnType::Bigint,
        "blob" => ColumnType::Blob,
        "boolean" => ColumnType::Boolean,
        "counter" => ColumnType::Counter,
        "date" => ColumnType::Date,
        "decimal" => ColumnType::Decimal,
        "double" => ColumnType::Double,
        "duration" => ColumnType::Duration,
        "float" => ColumnType::Float,
        "inet" => ColumnType::Inet,
        "int" => ColumnType::Int,
        "smallint" => ColumnType::Smallint,
        "text" | "varchar" => ColumnType::Varchar,
        "time" => ColumnType::Time,
        "timestamp" => ColumnType::Timestamp,
        "timeuuid" => ColumnType::Timeuuid,
        "tinyint" => ColumnType::Tinyint,
        "uuid" => ColumnType::Uuid,
        "varint" => ColumnType::Varint,
        _ => return None,
    })
}

type PResult<T> = Result<T, ParseError>;

/// Longest token text quoted in an error message.
const MAX_QUOTED: usize = 64;

/// Parser state over one statement's tokens.
#[derive(Debug)]
pub(super) struct Parser<'a> {
    src: &'a str,
    toks: Vec<Token>,
    pos: usize,
    depth: usize,
    /// The names of the bind markers seen so far, in order.
    pub(super) markers: Vec<Option<String>>,
}

impl<'a> Parser<'a> {
    /// A parser over `toks`, which `src` was lexed into (ending with `Eof`).
    pub(super) fn new(src: &'a str, toks: Vec<Token>) -> Parser<'a> {
        Parser { src, toks, pos: 0, depth: 0, markers: Vec::new() }
    }

    // ----- token access -------------------------------------------------------------

    fn tok(&self) -> &Tok {
        &self.toks[self.pos].tok
    }

    /// The token `n` places ahead (the last token, `Eof`, when past the end).
    fn tok_at(&self, n: usize) -> &Tok {
        let i = (self.pos + n).min(self.toks.len() - 1);
        &self.toks[i].tok
    }

    fn bump(&mut self) {
        if self.pos + 1 < self.toks.len() {
            self.pos += 1;
        }
    }

    fn is_word(&self, kw: &str) -> bool {
        matches!(self.tok(), Tok::Word(w) if w == kw)
    }

    fn word_at(&self, n: usize, kw: &str) -> bool {
        matches!(self.tok_at(n), Tok::Word(w) if w == kw)
    }

    fn eat_word(&mut self, kw: &str) -> bool {
        let hit = self.is_word(kw);
        if hit {
            self.bump();
        }
        hit
    }

    fn expect_word(&mut self, kw: &str) -> PResult<()> {
        if self.eat_word(kw) { Ok(()) } else { Err(self.mismatched(&format!("K_{}", kw.to_ascii_uppercase()))) }
    }

    fn eat(&mut self, t: &Tok) -> bool {
        let hit = self.tok() == t;
        if hit {
            self.bump();
        }
        hit
    }

    fn expect(&mut self, t: &Tok) -> PResult<()> {
        if self.eat(t) { Ok(()) } else { Err(self.mismatched(punct_name(t))) }
    }

    // ----- errors -------------------------------------------------------------------

    /// An error at the current token. A lexer error there wins over `message`.
    fn error_here(&self, message: String) -> ParseError {
        let token = &self.toks[self.pos];
        match &token.tok {
            Tok::Invalid(m) => ParseError::at(self.src, token.start, m.clone()),
            _ => ParseError::at(self.src, token.start, message),
        }
    }

    /// The current token as quoted in messages.
    fn text(&self) -> String {
        let token = &self.toks[self.pos];
        if token.tok == Tok::Eof {
            return "<EOF>".into();
        }
        let text = &self.src[token.start..token.end];
        match text.char_indices().nth(MAX_QUOTED) {
            Some((cut, _)) => format!("{}...", &text[..cut]),
            None => text.to_owned(),
        }
    }

    fn mismatched(&self, expecting: &str) -> ParseError {
        self.error_here(format!("mismatched input '{}' expecting {expecting}", self.text()))
    }

    fn no_viable(&self) -> ParseError {
        self.error_here(format!("no viable alternative at input '{}'", self.text()))
    }

    fn enter(&mut self) -> PResult<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error_here(format!("nesting deeper than {MAX_DEPTH} levels at input '{}'", self.text())));
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth -= 1;
    }

    // ----- names --------------------------------------------------------------------

    /// Whether the current token can be an identifier.
    fn at_ident(&self) -> bool {
        self.ident_at(0)
    }

    fn ident_at(&self, n: usize) -> bool {
        match self.tok_at(n) {
            Tok::Word(w) => !is_reserved(w),
            Tok::QuotedName(_) => true,
            _ => false,
        }
    }

    /// An identifier: an unquoted non-reserved word (lowercased) or a quoted name.
    fn ident(&mut self) -> PResult<String> {
        let name = match self.tok() {
            Tok::Word(w) if !is_reserved(w) => w.clone(),
            Tok::QuotedName(n) => n.clone(),
            _ => return Err(self.mismatched("IDENT")),
        };
        self.bump();
        Ok(name)
    }

    /// `name` or `ks.name`.
    fn qualified_name(&mut self) -> PResult<QualifiedName> {
        let first = self.ident()?;
        if self.eat(&Tok::Dot) {
            let name = self.ident()?;
            Ok(QualifiedName::qualified(first, name))
        } else {
            Ok(QualifiedName::bare(first))
        }
    }

    /// `ident (, ident)*`
    fn ident_list(&mut self) -> PResult<Vec<String>> {
        let mut v = vec![self.ident()?];
        while self.eat(&Tok::Comma) {
            v.push(self.ident()?);
        }
        Ok(v)
    }

    fn if_not_exists(&mut self) -> PResult<bool> {
        if self.eat_word("if") {
            self.expect_word("not")?;
            self.expect_word("exists")?;
            return Ok(true);
        }
        Ok(false)
    }

    fn if_exists(&mut self) -> PResult<bool> {
        if self.eat_word("if") {
            self.expect_word("exists")?;
            return Ok(true);
        }
        Ok(false)
    }

    // ----- statements ---------------------------------------------------------------

    /// One statement, optional `;`s, then the end of the input.
    pub(super) fn statement(&mut self) -> PResult<CqlStatement> {
        let Tok::Word(w) = self.tok() else { return Err(self.no_viable()) };
        let st = match w.as_str() {
            "select" => CqlStatement::Select(self.select()?),
            "insert" => CqlStatement::Insert(self.insert()?),
            "update" => CqlStatement::Update(self.update()?),
            "delete" => CqlStatement::Delete(self.delete()?),
            "begin" => CqlStatement::Batch(self.batch()?),
            "use" => {
                self.bump();
                CqlStatement::Use(self.ident()?)
            }
            "create" => self.create_statement()?,
            "drop" => self.drop_statement()?,
            "truncate" => {
                self.bump();
                if !self.eat_word("table") {
                    self.eat_word("columnfamily");
                }
                CqlStatement::Truncate(self.qualified_name()?)
            }
            _ => return Err(self.no_viable()),
        };
        while self.eat(&Tok::Semi) {}
        if *self.tok() != Tok::Eof {
            return Err(self.mismatched("EOF"));
        }
        Ok(st)
    }

    /// `CREATE KEYSPACE | TABLE | TYPE ...`
    fn create_statement(&mut self) -> PResult<CqlStatement> {
        self.bump();
        let Tok::Word(w) = self.tok() else { return Err(self.no_viable()) };
        match w.as_str() {
            "keyspace" | "schema" => {
                self.bump();
                let if_not_exists = self.if_not_exists()?;
                let name = self.ident()?;
                self.expect_word("with")?;
                let options = self.properties()?;
                Ok(CqlStatement::CreateKeyspace(CreateKeyspace { if_not_exists, name, options }))
            }
            "table" | "columnfamily" => {
                self.bump();
                Ok(CqlStatement::CreateTable(self.create_table()?))
            }
            "type" => {
                self.bump();
                let if_not_exists = self.if_not_exists()?;
                let name = self.qualified_name()?;
                self.expect(&Tok::LParen)?;
                let mut fields = Vec::new();
                loop {
                    let field = self.ident()?;
                    fields.push((field, self.cql_type()?));
                    // A trailing comma is allowed, as in Cassandra.
                    if !self.eat(&Tok::Comma) || *self.tok() == Tok::RParen {
                        break;
                    }
                }
                self.expect(&Tok::RParen)?;
                Ok(CqlStatement::CreateType(CreateType { if_not_exists, name, fields }))
            }
            _ => Err(self.no_viable()),
        }
    }

    /// `DROP KEYSPACE | TABLE | TYPE ...`
    fn drop_statement(&mut self) -> PResult<CqlStatement> {
        self.bump();
        let Tok::Word(w) = self.tok() else { return Err(self.no_viable()) };
        match w.as_str() {
            "keyspace" | "schema" => {
                self.bump();
                let if_exists = self.if_exists()?;
                Ok(CqlStatement::DropKeyspace { if_exists, name: self.ident()? })
            }
            "table" | "columnfamily" => {
                self.bump();
                let if_exists = self.if_exists()?;
                Ok(CqlStatement::DropTable { if_exists, name: self.qualified_name()? })
            }
            "type" => {
                self.bump();
                let if_exists = self.if_exists()?;
                Ok(CqlStatement::DropType { if_exists, name: self.qualified_name()? })
            }
            _ => Err(self.no_viable()),
        }
    }

    fn create_table(&mut self) -> PResult<CreateTable> {
        let if_not_exists = self.if_not_exists()?;
        let name = self.qualified_name()?;
        let mut table = CreateTable {
            if_not_exists,
            name,
            columns: Vec::new(),
            primary_keys: Vec::new(),
            clustering_order: Vec::new(),
            compact_storage: false,
            options: Vec::new(),
        };
        self.expect(&Tok::LParen)?;
        loop {
            if self.is_word("primary") {
                self.bump();
                self.expect_word("key")?;
                self.expect(&Tok::LParen)?;
                let partition = if self.eat(&Tok::LParen) {
                    let cols = self.ident_list()?;
                    self.expect(&Tok::RParen)?;
                    cols
                } else {
                    vec![self.ident()?]
                };
                let mut clustering = Vec::new();
                while self.eat(&Tok::Comma) {
                    clustering.push(self.ident()?);
                }
                self.expect(&Tok::RParen)?;
                table.primary_keys.push(PrimaryKey { partition, clustering });
            } else {
                let column = self.ident()?;
                let ty = self.cql_type()?;
                let is_static = self.eat_word("static");
                if self.eat_word("primary") {
                    self.expect_word("key")?;
                    table.primary_keys.push(PrimaryKey { partition: vec![column.clone()], clustering: Vec::new() });
                }
                table.columns.push(ColumnDef { name: column, ty, is_static });
            }
            if !self.eat(&Tok::Comma) || *self.tok() == Tok::RParen {
                break;
            }
        }
        self.expect(&Tok::RParen)?;
        if self.eat_word("with") {
            let mut seen = HashSet::new();
            loop {
                if self.is_word("clustering") && self.word_at(1, "order") {
                    self.bump();
                    self.bump();
                    self.expect_word("by")?;
                    self.expect(&Tok::LParen)?;
                    loop {
                        let column = self.ident()?;
                        table.clustering_order.push((column, self.order()));
                        if !self.eat(&Tok::Comma) {
                            break;
                        }
                    }
                    self.expect(&Tok::RParen)?;
                } else if self.is_word("compact") && self.word_at(1, "storage") {
                    self.bump();
                    self.bump();
                    table.compact_storage = true;
                } else {
                    self.property(&mut table.options, &mut seen)?;
                }
                if !self.eat_word("and") {
                    break;
                }
            }
        }
        Ok(table)
    }

    /// `ASC` / `DESC`, defaulting to ascending.
    fn order(&mut self) -> Order {
        if self.eat_word("desc") {
            Order::Desc
        } else {
            self.eat_word("asc");
            Order::Asc
        }
    }

    /// `name = value (AND name = value)*`
    fn properties(&mut self) -> PResult<Vec<(String, OptionValue)>> {
        let (mut props, mut seen) = (Vec::new(), HashSet::new());
        loop {
            self.property(&mut props, &mut seen)?;
            if !self.eat_word("and") {
                return Ok(props);
            }
        }
    }

    /// `name = value`, appended to `props`; `seen` holds the names so far (a set, so
    /// that thousands of options stay linear).
    fn property(&mut self, props: &mut Vec<(String, OptionValue)>, seen: &mut HashSet<String>) -> PResult<()> {
        let at = self.pos;
        let name = self.ident()?;
        if !seen.insert(name.clone()) {
            let start = self.toks[at].start;
            return Err(ParseError::at(self.src, start, format!("Multiple definition for property {name}")));
        }
        self.expect(&Tok::Eq)?;
        let value = match self.tok() {
            Tok::Word(w) if !is_reserved(w) => {
                let token = &self.toks[self.pos];
                let raw = self.src[token.start..token.end].to_owned();
                self.bump();
                Literal::String(raw)
            }
            _ => {
                let at = self.pos;
                match self.term()? {
                    Term::Literal(l) => l,
                    _ => {
                        self.pos = at;
                        return Err(self.no_viable());
                    }
                }
            }
        };
        props.push((name, value));
        Ok(())
    }

    fn select(&mut self) -> PResult<Select> {
        self.expect_word("select")?;
        let distinct = self.is_word("distinct")
            && !matches!(self.tok_at(1), Tok::Comma | Tok::Dot | Tok::LParen)
            && !self.word_at(1, "from")
            && !self.word_at(1, "as");
        if distinct {
            self.bump();
        }
        let projection = if self.eat(&Tok::Star) {
            Projection::Wildcard
        } else {
            let mut items = Vec::new();
            loop {
                let selector = self.selector()?;
                let alias = if self.eat_word("as") { Some(self.ident()?) } else { None };
                items.push(SelectItem { selector, alias });
                if !self.eat(&Tok::Comma) {
                    break;
                }
            }
            Projection::Selectors(items)
        };
        self.expect_word("from")?;
        let table = self.qualified_name()?;
        let mut select = Select {
            distinct,
            projection,
            table,
            where_clause: Vec::new(),
            group_by: Vec::new(),
            order_by: Vec::new(),
            per_partition_limit: None,
            limit: None,
            allow_filtering: false,
        };
        if self.eat_word("where") {
            select.where_clause = self.relations()?;
        }
        if self.is_word("group") && self.word_at(1, "by") {
            self.bump();
            self.bump();
            select.group_by = self.ident_list()?;
        }
        if self.eat_word("order") {
            self.expect_word("by")?;
            loop {
                let column = self.ident()?;
                select.order_by.push((column, self.order()));
                if !self.eat(&Tok::Comma) {
                    break;
                }
            }
        }
        // Cassandra wants PER PARTITION LIMIT before LIMIT; either order is accepted.
        for _ in 0..2 {
            if select.per_partition_limit.is_none() && self.is_word("per") {
                self.bump();
                self.expect_word("partition")?;
                self.expect_word("limit")?;
                select.per_partition_limit = Some(self.term()?);
            } else if select.limit.is_none() && self.eat_word("limit") {
                select.limit = Some(self.term()?);
            }
        }
        if self.eat_word("allow") {
            self.expect_word("filtering")?;
            select.allow_filtering = true;
        }
        Ok(select)
    }

    /// One selector, with its `.field` accesses.
    fn selector(&mut self) -> PResult<Selector> {
        self.enter()?;
        let mut s = self.selector_base()?;
        while self.eat(&Tok::Dot) {
            s = Selector::Field(Box::new(s), self.ident()?);
        }
        self.leave();
        Ok(s)
    }

    fn selector_base(&mut self) -> PResult<Selector> {
        if let Tok::Word(w) = self.tok()
            && *self.tok_at(1) == Tok::LParen
        {
            match w.as_str() {
                "count" => {
                    let star = *self.tok_at(2) == Tok::Star;
                    let one = matches!(self.tok_at(2), Tok::Integer(i) if i == "1");
                    if (star || one) && *self.tok_at(3) == Tok::RParen {
                        for _ in 0..4 {
                            self.bump();
                        }
                        return Ok(Selector::CountAll);
                    }
                }
                "writetime" | "ttl" => {
                    let ttl = w == "ttl";
                    self.bump();
                    self.bump();
                    let column = self.ident()?;
                    self.expect(&Tok::RParen)?;
                    return Ok(if ttl { Selector::Ttl(column) } else { Selector::WriteTime(column) });
                }
                "token" => {
                    self.bump();
                    self.bump();
                    let columns = self.ident_list()?;
                    self.expect(&Tok::RParen)?;
                    return Ok(Selector::Token(columns));
                }
                "cast" => {
                    self.bump();
                    self.bump();
                    let inner = self.selector()?;
                    self.expect_word("as")?;
                    let ty = self.cql_type()?;
                    self.expect(&Tok::RParen)?;
                    return Ok(Selector::Cast(Box::new(inner), ty));
                }
                _ => {}
            }
        }
        if self.at_function_call() {
            let name = self.function_name()?;
            self.expect(&Tok::LParen)?;
            let mut args = Vec::new();
            if !self.eat(&Tok::RParen) {
                loop {
                    args.push(self.selector()?);
                    if !self.eat(&Tok::Comma) {
                        break;
                    }
                }
                self.expect(&Tok::RParen)?;
            }
            return Ok(Selector::Function { name, args });
        }
        if self.at_ident() {
            return Ok(Selector::Column(self.ident()?));
        }
        Ok(Selector::Term(self.term()?))
    }

    /// Whether a function call starts here: `f(`, `ks.f(`, `"F"(` (also `token(`).
    fn at_function_call(&self) -> bool {
        let name_at = |n: usize| match self.tok_at(n) {
            Tok::Word(w) => !is_reserved(w) || w == "token",
            Tok::QuotedName(_) => true,
            _ => false,
        };
        name_at(0)
            && (*self.tok_at(1) == Tok::LParen
                || (*self.tok_at(1) == Tok::Dot && name_at(2) && *self.tok_at(3) == Tok::LParen))
    }

    /// `f` or `ks.f`, where `f` may be `token`.
    fn function_name(&mut self) -> PResult<QualifiedName> {
        let part = |p: &mut Self| -> PResult<String> {
            match p.tok() {
                Tok::Word(w) if w == "token" => {
                    p.bump();
                    Ok("token".into())
                }
                _ => p.ident(),
            }
        };
        let first = part(self)?;
        if self.eat(&Tok::Dot) {
            Ok(QualifiedName::qualified(first, part(self)?))
        } else {
            Ok(QualifiedName::bare(first))
        }
    }

    /// `relation (AND relation)*`
    fn relations(&mut self) -> PResult<Vec<Relation>> {
        let mut v = Vec::new();
        loop {
            v.push(self.relation()?);
            if !self.eat_word("and") {
                return Ok(v);
            }
        }
    }

    fn relation(&mut self) -> PResult<Relation> {
        if self.is_word("token") && *self.tok_at(1) == Tok::LParen {
            self.bump();
            self.bump();
            let columns = self.ident_list()?;
            self.expect(&Tok::RParen)?;
            let op = self.operator()?;
            return Ok(Relation::Token { columns, op, value: self.term()? });
        }
        if self.eat(&Tok::LParen) {
            let columns = self.ident_list()?;
            self.expect(&Tok::RParen)?;
            if self.eat_word("in") {
                return Ok(Relation::MultiIn { columns, values: self.in_values()? });
            }
            let op = self.operator()?;
            return Ok(Relation::MultiCompare { columns, op, value: self.term()? });
        }
        let column = self.ident()?;
        if self.eat_word("in") {
            return Ok(Relation::In { column, values: self.in_values()? });
        }
        if self.eat_word("contains") {
            if self.eat_word("key") {
                return Ok(Relation::ContainsKey { column, value: self.term()? });
            }
            return Ok(Relation::Contains { column, value: self.term()? });
        }
        let op = self.operator()?;
        Ok(Relation::Compare { column, op, value: self.term()? })
    }

    fn operator(&mut self) -> PResult<Operator> {
        let op = match self.tok() {
            Tok::Eq => Operator::Eq,
            Tok::Ne => Operator::Ne,
            Tok::Lt => Operator::Lt,
            Tok::Le => Operator::Le,
            Tok::Gt => Operator::Gt,
            Tok::Ge => Operator::Ge,
            _ => return Err(self.no_viable()),
        };
        self.bump();
        Ok(op)
    }

    /// `(t, ...)`, `()`, or one marker for the whole list.
    fn in_values(&mut self) -> PResult<InValues> {
        match self.tok() {
            Tok::QMark | Tok::Colon => Ok(InValues::Marker(self.bind_marker()?)),
            Tok::LParen => {
                self.bump();
                let mut v = Vec::new();
                if !self.eat(&Tok::RParen) {
                    loop {
                        v.push(self.term()?);
                        if !self.eat(&Tok::Comma) {
                            break;
                        }
                    }
                    self.expect(&Tok::RParen)?;
                }
                Ok(InValues::List(v))
            }
            _ => Err(self.mismatched("'('")),
        }
    }

    /// `USING TTL t AND TIMESTAMP t`, if present. `ttl` says whether TTL is allowed.
    fn using(&mut self, ttl: bool) -> PResult<Using> {
        let mut using = Using::default();
        if !self.eat_word("using") {
            return Ok(using);
        }
        loop {
            if ttl && self.eat_word("ttl") {
                using.ttl = Some(self.term()?);
            } else if self.eat_word("timestamp") {
                using.timestamp = Some(self.term()?);
            } else {
                return Err(self.mismatched(if ttl { "K_TTL" } else { "K_TIMESTAMP" }));
            }
            if !self.eat_word("and") {
                return Ok(using);
            }
        }
    }

    fn insert(&mut self) -> PResult<Insert> {
        self.expect_word("insert")?;
        self.expect_word("into")?;
        let table = self.qualified_name()?;
        self.expect(&Tok::LParen)?;
        let columns = self.ident_list()?;
        self.expect(&Tok::RParen)?;
        self.expect_word("values")?;
        self.expect(&Tok::LParen)?;
        let mut values = vec![self.term()?];
        while self.eat(&Tok::Comma) {
            values.push(self.term()?);
        }
        self.expect(&Tok::RParen)?;
        let if_not_exists = self.if_not_exists()?;
        let using = self.using(true)?;
        Ok(Insert { table, columns, values, if_not_exists, using })
    }

    fn update(&mut self) -> PResult<Update> {
        self.expect_word("update")?;
        let table = self.qualified_name()?;
        let using = self.using(true)?;
        self.expect_word("set")?;
        let mut assignments = vec![self.assignment()?];
        while self.eat(&Tok::Comma) {
            let next = self.assignment()?;
            // As Cassandra's grammar: a plain `c = v` goes with no other change to `c`
            // (appends, element and field setters may repeat).
            let column = next.column();
            if assignments.iter().any(|a| a.column() == column && (a.is_plain_set() || next.is_plain_set())) {
                return Err(self.error_here(format!("Multiple incompatible setting of column {column}")));
            }
            assignments.push(next);
        }
        self.expect_word("where")?;
        let where_clause = self.relations()?;
        let condition = self.if_clause()?;
        Ok(Update { table, using, assignments, where_clause, condition })
    }

    fn assignment(&mut self) -> PResult<Assignment> {
        let column = self.ident()?;
        match self.tok() {
            Tok::LBracket => {
                self.bump();
                let key = self.term()?;
                self.expect(&Tok::RBracket)?;
                self.expect(&Tok::Eq)?;
                Ok(Assignment::SetElement { column, key, value: self.term()? })
            }
            Tok::Dot => {
                self.bump();
                let field = self.ident()?;
                self.expect(&Tok::Eq)?;
                Ok(Assignment::SetField { column, field, value: self.term()? })
            }
            Tok::Plus | Tok::Minus => {
                let add = *self.tok() == Tok::Plus;
                self.bump();
                self.expect(&Tok::Eq)?;
                let value = self.term()?;
                Ok(if add { Assignment::Add { column, value } } else { Assignment::Remove { column, value } })
            }
            Tok::Eq => {
                self.bump();
                // `c = c + t`, `c = c - t`, `c = c -1` (the lexer glues the minus to 1).
                if self.at_ident() && !self.at_function_call() {
                    let at = self.pos;
                    let other = self.ident()?;
                    if other != column {
                        self.pos = at;
                        return Err(self.error_here(format!(
                            "Only expressions of the form X = X +<value> are supported (got {column} = {other} ...)"
                        )));
                    }
                    return match self.tok().clone() {
                        Tok::Plus => {
                            self.bump();
                            Ok(Assignment::Add { column, value: self.term()? })
                        }
                        Tok::Minus => {
                            self.bump();
                            Ok(Assignment::Remove { column, value: self.term()? })
                        }
                        Tok::Integer(i) if i.starts_with('-') => {
                            self.bump();
                            let value = Term::Literal(Literal::Integer(i[1..].to_owned()));
                            Ok(Assignment::Remove { column, value })
                        }
                        _ => Err(self.mismatched("'+'")),
                    };
                }
                let value = self.term()?;
                if self.eat(&Tok::Plus) {
                    let at = self.pos;
                    let other = self.ident()?;
                    if other != column {
                        self.pos = at;
                        return Err(self.error_here(format!(
                            "Only expressions of the form X = <value> + X are supported (got {column} = ... + {other})"
                        )));
                    }
                    return Ok(Assignment::Prepend { column, value });
                }
                Ok(Assignment::Set { column, value })
            }
            _ => Err(self.mismatched("'='")),
        }
    }

    /// `c`, `c[term]` or `c.field`.
    fn target(&mut self) -> PResult<Target> {
        let column = self.ident()?;
        if self.eat(&Tok::LBracket) {
            let key = self.term()?;
            self.expect(&Tok::RBracket)?;
            return Ok(Target::Element(column, key));
        }
        if self.eat(&Tok::Dot) {
            return Ok(Target::Field(column, self.ident()?));
        }
        Ok(Target::Column(column))
    }

    /// `IF EXISTS` or `IF cond (AND cond)*`, if present.
    fn if_clause(&mut self) -> PResult<Option<IfClause>> {
        if !self.eat_word("if") {
            return Ok(None);
        }
        // `exists` is not reserved: `IF exists = 1` is a condition on a column.
        let cond_follows = matches!(self.tok_at(1), Tok::LBracket | Tok::Dot)
            || matches!(self.tok_at(1), Tok::Eq | Tok::Ne | Tok::Lt | Tok::Le | Tok::Gt | Tok::Ge)
            || self.word_at(1, "in");
        if self.is_word("exists") && !cond_follows {
            self.bump();
            return Ok(Some(IfClause::Exists));
        }
        let mut conditions = Vec::new();
        loop {
            let target = self.target()?;
            let condition = if self.eat_word("in") {
                Condition::In { target, values: self.in_values()? }
            } else {
                let op = self.operator()?;
                Condition::Compare { target, op, value: self.term()? }
            };
            conditions.push(condition);
            if !self.eat_word("and") {
                return Ok(Some(IfClause::Conditions(conditions)));
            }
        }
    }

    fn delete(&mut self) -> PResult<Delete> {
        self.expect_word("delete")?;
        let mut targets = Vec::new();
        if !self.is_word("from") {
            loop {
                targets.push(self.target()?);
                if !self.eat(&Tok::Comma) {
                    break;
                }
            }
        }
        self.expect_word("from")?;
        let table = self.qualified_name()?;
        let using = self.using(false)?;
        self.expect_word("where")?;
        let where_clause = self.relations()?;
        let condition = self.if_clause()?;
        Ok(Delete { targets, table, using, where_clause, condition })
    }

    fn batch(&mut self) -> PResult<CqlBatch> {
        self.expect_word("begin")?;
        let kind = if self.eat_word("unlogged") {
            BatchKind::Unlogged
        } else if self.eat_word("counter") {
            BatchKind::Counter
        } else {
            BatchKind::Logged
        };
        self.expect_word("batch")?;
        let using = self.using(true)?;
        let mut statements = Vec::new();
        loop {
            let Tok::Word(w) = self.tok() else { return Err(self.mismatched("K_APPLY")) };
            let statement = match w.as_str() {
                "insert" => Modification::Insert(self.insert()?),
                "update" => Modification::Update(self.update()?),
                "delete" => Modification::Delete(self.delete()?),
                "apply" => break,
                _ => return Err(self.mismatched("K_APPLY")),
            };
            statements.push(statement);
            self.eat(&Tok::Semi);
        }
        self.expect_word("apply")?;
        self.expect_word("batch")?;
        Ok(CqlBatch { kind, using, statements })
    }

    // ----- types --------------------------------------------------------------------

    /// A type: native, collection, tuple, vector, frozen, custom (`'class'`) or user.
    pub(super) fn cql_type(&mut self) -> PResult<CqlType> {
        self.enter()?;
        let ty = self.cql_type_inner()?;
        self.leave();
        Ok(ty)
    }

    fn cql_type_inner(&mut self) -> PResult<CqlType> {
        let word = match self.tok() {
            Tok::Str(class) => {
                let ty = CqlType::Native(ColumnType::Custom(class.clone()));
                self.bump();
                return Ok(ty);
            }
            Tok::Word(w) => w.clone(),
            Tok::QuotedName(_) => return self.user_type(),
            _ => return Err(self.no_viable()),
        };
        if let Some(native) = native_type(&word) {
            self.bump();
            return Ok(CqlType::Native(native));
        }
        let generic = matches!(word.as_str(), "list" | "set" | "map" | "tuple" | "vector" | "frozen");
        if !generic || *self.tok_at(1) != Tok::Lt {
            return self.user_type();
        }
        self.bump();
        self.bump();
        let ty = match word.as_str() {
            "list" => CqlType::List(Box::new(self.cql_type()?)),
            "set" => CqlType::Set(Box::new(self.cql_type()?)),
            "frozen" => CqlType::Frozen(Box::new(self.cql_type()?)),
            "map" => {
                let k = self.cql_type()?;
                self.expect(&Tok::Comma)?;
                CqlType::Map(Box::new(k), Box::new(self.cql_type()?))
            }
            "tuple" => {
                let mut items = vec![self.cql_type()?];
                while self.eat(&Tok::Comma) {
                    items.push(self.cql_type()?);
                }
                CqlType::Tuple(items)
            }
            _ => {
                let elem = self.cql_type()?;
                self.expect(&Tok::Comma)?;
                let n = match self.tok() {
                    Tok::Integer(i) => i.parse::<u32>().ok().filter(|n| *n > 0),
                    _ => return Err(self.mismatched("INTEGER")),
                };
                let Some(n) = n else {
                    return Err(self.error_here(format!("invalid vector dimension '{}'", self.text())));
                };
                self.bump();
                CqlType::Vector(Box::new(elem), n)
            }
        };
        self.expect(&Tok::Gt)?;
        Ok(ty)
    }

    fn user_type(&mut self) -> PResult<CqlType> {
        let QualifiedName { keyspace, name } = self.qualified_name()?;
        Ok(CqlType::UserDefined { keyspace, name })
    }

    // ----- terms --------------------------------------------------------------------

    /// `?` or `:name`; records the marker.
    fn bind_marker(&mut self) -> PResult<BindMarker> {
        let name = if self.eat(&Tok::QMark) {
            None
        } else {
            self.expect(&Tok::Colon)?;
            Some(self.ident()?)
        };
        let index = self.markers.len();
        self.markers.push(name.clone());
        Ok(BindMarker { index, name })
    }

    /// A term: constant, marker, function call, cast, or collection / tuple / UDT
    /// literal. Collections of constants fold into one [`Literal`].
    pub(super) fn term(&mut self) -> PResult<Term> {
        self.enter()?;
        let t = self.term_inner()?;
        self.leave();
        Ok(t)
    }

    fn term_inner(&mut self) -> PResult<Term> {
        let lit = match self.tok() {
            Tok::Str(s) => Literal::String(s.clone()),
            Tok::Integer(i) => Literal::Integer(i.clone()),
            Tok::Float(f) => Literal::Float(f.clone()),
            Tok::Duration(d) => Literal::Duration(d.clone()),
            Tok::Blob(b) => Literal::Blob(b.clone()),
            Tok::Uuid(u) => Literal::Uuid(*u),
            Tok::Word(w) if w == "true" || w == "false" => Literal::Bool(w == "true"),
            Tok::Word(w) if w == "null" => Literal::Null,
            Tok::Word(w) if w == "nan" => Literal::Float("NaN".into()),
            Tok::Word(w) if w == "infinity" => Literal::Float("Infinity".into()),
            Tok::Minus if self.word_at(1, "nan") || self.word_at(1, "infinity") => {
                let nan = self.word_at(1, "nan");
                self.bump();
                Literal::Float(if nan { "NaN" } else { "-Infinity" }.into())
            }
            Tok::QMark | Tok::Colon => return Ok(Term::Bind(self.bind_marker()?)),
            Tok::LBracket => return self.list_literal(),
            Tok::LBrace => return self.brace_literal(),
            Tok::LParen => return self.paren_term(),
            _ if self.at_function_call() => {
                let name = self.function_name()?;
                self.expect(&Tok::LParen)?;
                let mut args = Vec::new();
                if !self.eat(&Tok::RParen) {
                    loop {
                        args.push(self.term()?);
                        if !self.eat(&Tok::Comma) {
                            break;
                        }
                    }
                    self.expect(&Tok::RParen)?;
                }
                return Ok(Term::Function { name, args });
            }
            _ => return Err(self.no_viable()),
        };
        self.bump();
        Ok(Term::Literal(lit))
    }

    /// `[t, ...]`
    fn list_literal(&mut self) -> PResult<Term> {
        self.bump();
        let mut items = Vec::new();
        if !self.eat(&Tok::RBracket) {
            loop {
                items.push(self.term()?);
                if !self.eat(&Tok::Comma) {
                    break;
                }
            }
            self.expect(&Tok::RBracket)?;
        }
        Ok(match literals(items) {
            Ok(l) => Term::Literal(Literal::List(l)),
            Err(items) => Term::List(items),
        })
    }

    /// `{}`, `{t, ...}`, `{k: v, ...}` or `{field: v, ...}`.
    fn brace_literal(&mut self) -> PResult<Term> {
        self.bump();
        if self.eat(&Tok::RBrace) {
            return Ok(Term::Literal(Literal::Set(Vec::new())));
        }
        if self.at_ident() && *self.tok_at(1) == Tok::Colon {
            let mut fields = Vec::new();
            loop {
                let field = self.ident()?;
                self.expect(&Tok::Colon)?;
                fields.push((field, self.term()?));
                if !self.eat(&Tok::Comma) {
                    break;
                }
            }
            self.expect(&Tok::RBrace)?;
            let (names, values): (Vec<String>, Vec<Term>) = fields.into_iter().unzip();
            return Ok(match literals(values) {
                Ok(l) => Term::Literal(Literal::Udt(names.into_iter().zip(l).collect())),
                Err(values) => Term::Udt(names.into_iter().zip(values).collect()),
            });
        }
        let first = self.term()?;
        if self.eat(&Tok::Colon) {
            let mut entries = vec![(first, self.term()?)];
            while self.eat(&Tok::Comma) {
                let k = self.term()?;
                self.expect(&Tok::Colon)?;
                entries.push((k, self.term()?));
            }
            self.expect(&Tok::RBrace)?;
            let all_literal = entries.iter().all(|(k, v)| matches!((k, v), (Term::Literal(_), Term::Literal(_))));
            if !all_literal {
                return Ok(Term::Map(entries));
            }
            let entries = entries.into_iter().filter_map(|kv| match kv {
                (Term::Literal(k), Term::Literal(v)) => Some((k, v)),
                _ => None,
            });
            return Ok(Term::Literal(Literal::Map(entries.collect())));
        }
        let mut items = vec![first];
        while self.eat(&Tok::Comma) {
            items.push(self.term()?);
        }
        self.expect(&Tok::RBrace)?;
        Ok(match literals(items) {
            Ok(l) => Term::Literal(Literal::Set(l)),
            Err(items) => Term::Set(items),
        })
    }

    /// `(type) term` or `(t, ...)`.
    fn paren_term(&mut self) -> PResult<Term> {
        let is_cast = match self.tok_at(1) {
            Tok::Word(w) => {
                !matches!(w.as_str(), "true" | "false" | "null" | "nan" | "infinity")
                    && (matches!(self.tok_at(2), Tok::RParen | Tok::Lt)
                        || (*self.tok_at(2) == Tok::Dot && *self.tok_at(4) == Tok::RParen))
            }
            Tok::QuotedName(_) => matches!(self.tok_at(2), Tok::RParen | Tok::Dot),
            _ => false,
        };
        self.bump();
        if is_cast {
            let ty = self.cql_type()?;
            self.expect(&Tok::RParen)?;
            let term = self.term()?;
            return Ok(Term::Cast { ty, term: Box::new(term) });
        }
        let mut items = vec![self.term()?];
        while self.eat(&Tok::Comma) {
            items.push(self.term()?);
        }
        self.expect(&Tok::RParen)?;
        Ok(match literals(items) {
            Ok(l) => Term::Literal(Literal::Tuple(l)),
            Err(items) => Term::Tuple(items),
        })
    }
}

/// The literals of `items` if they all are, else `items` back.
fn literals(items: Vec<Term>) -> Result<Vec<Literal>, Vec<Term>> {
    if !items.iter().all(|t| matches!(t, Term::Literal(_))) {
        return Err(items);
    }
    Ok(items
        .into_iter()
        .filter_map(|t| match t {
            Term::Literal(l) => Some(l),
            _ => None,
        })
        .collect())
}

/// How a punctuation token is named in "expecting ..." messages.
fn punct_name(t: &Tok) -> &'static str {
    match t {
        Tok::LParen => "'('",
        Tok::RParen => "')'",
        Tok::LBracket => "'['",
        Tok::RBracket => "']'",
        Tok::LBrace => "'{'",
        Tok::RBrace => "'}'",
        Tok::Comma => "','",
        Tok::Semi => "';'",
        Tok::Colon => "':'",
        Tok::Dot => "'.'",
        Tok::Eq => "'='",
        Tok::Lt => "'<'",
        Tok::Gt => "'>'",
        Tok::QMark => "QMARK",
        _ => "token",
    }
}
