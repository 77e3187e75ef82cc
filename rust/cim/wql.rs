//! WQL, the SQL dialect of WMI (MS-WMI §2.2.1), as far as instance queries need it:
//! `SELECT * | prop[, prop…] FROM class [WHERE condition]`.
//!
//! Conditions: `=`, `<>`, `!=`, `<`, `>`, `<=`, `>=`, `LIKE` (`%` any run, `_` one character, `[abc]`,
//! `[a-z]`, `[^a]`), `IS [NOT] NULL`, `AND`, `OR`, `NOT` and parentheses (NOT binds tighter than AND,
//! AND tighter than OR). Literals: quoted strings (`'…'` or `"…"`, backslash escapes), integers
//! (decimal or `0x` hex, optionally negative), reals, `TRUE`, `FALSE`, `NULL`. Keywords and names are
//! case-insensitive. Evaluation follows WMI: string comparisons ignore case, a missing or null property
//! makes a comparison false, numbers compare by value across CIM integer and real types.

use std::cmp::Ordering;
use std::fmt;

use crate::cim::datetime::{parse_dmtf, CimDateTime};
use crate::cim::{CimInstance, CimValue};
use crate::error::{Error, Result};

/// A parsed query.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub class_name: String,
    /// Selected properties; `None` for `*`.
    pub properties: Option<Vec<String>>,
    pub condition: Option<Condition>,
}

/// A WHERE condition.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    Compare { property: String, op: CompareOp, literal: Literal },
    Like { property: String, pattern: LikePattern },
    IsNull { property: String, negated: bool },
    Not(Box<Condition>),
    And(Box<Condition>, Box<Condition>),
    Or(Box<Condition>, Box<Condition>),
}

/// A comparison operator, written as `property <op> literal` (a literal on the left is flipped).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    Eq,
    Ne,
    Lt,
    Gt,
    Le,
    Ge,
}

/// A literal value.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    String(String),
    Integer(i128),
    Real(f64),
    Boolean(bool),
    Null,
}

/// How deep parentheses and NOTs may nest in a WHERE clause.
pub const MAX_NESTING: usize = 64;
/// How many comparisons a WHERE clause may hold (AND/OR chains make trees that deep, and evaluating
/// and dropping them recurses).
pub const MAX_TERMS: usize = 1024;

/// Parses a WQL query. Errors: InvalidQuery naming what was expected and the character offset, and
/// for conditions nested deeper than [`MAX_NESTING`] or longer than [`MAX_TERMS`] comparisons.
pub fn parse(text: &str) -> Result<Query> {
    let mut p = Parser { tokens: tokenize(text)?, pos: 0, depth: 0, terms: 0 };
    p.keyword("SELECT")?;
    let properties = if p.eat(&Token::Star) {
        None
    } else {
        let mut props = vec![p.identifier("a property name or *")?];
        while p.eat(&Token::Comma) {
            props.push(p.identifier("a property name")?);
        }
        Some(props)
    };
    p.keyword("FROM")?;
    let class_name = p.identifier("a class name")?;
    let condition = if p.eat_keyword("WHERE") { Some(p.or()?) } else { None };
    if let Some((token, at)) = p.tokens.get(p.pos) {
        return Err(Error::invalid_query(format!("unexpected {token} at character {at}")));
    }
    Ok(Query { class_name, properties, condition })
}

impl Condition {
    /// Whether `inst` satisfies the condition (WMI semantics, see the module documentation).
    pub fn matches(&self, inst: &CimInstance) -> bool {
        match self {
            Condition::Compare { property, op, literal } => {
                value_of(inst, property).and_then(|v| compare(v, literal)).map_or(false, |ord| op.accepts(ord))
            }
            Condition::Like { property, pattern } => match value_of(inst, property) {
                Some(CimValue::String(s)) | Some(CimValue::Reference(s)) => pattern.matches(s),
                Some(CimValue::Char16(c)) => pattern.matches(&c.to_string()),
                _ => false,
            },
            Condition::IsNull { property, negated } => value_of(inst, property).is_none() != *negated,
            Condition::Not(c) => !c.matches(inst),
            Condition::And(a, b) => a.matches(inst) && b.matches(inst),
            Condition::Or(a, b) => a.matches(inst) || b.matches(inst),
        }
    }

    /// The property names the condition reads.
    pub fn properties(&self) -> Vec<&str> {
        match self {
            Condition::Compare { property, .. } | Condition::Like { property, .. } | Condition::IsNull { property, .. } => {
                vec![property.as_str()]
            }
            Condition::Not(c) => c.properties(),
            Condition::And(a, b) | Condition::Or(a, b) => {
                let mut v = a.properties();
                v.extend(b.properties());
                v
            }
        }
    }
}

impl CompareOp {
    fn accepts(self, ord: Ordering) -> bool {
        match self {
            CompareOp::Eq => ord == Ordering::Equal,
            CompareOp::Ne => ord != Ordering::Equal,
            CompareOp::Lt => ord == Ordering::Less,
            CompareOp::Gt => ord == Ordering::Greater,
            CompareOp::Le => ord != Ordering::Greater,
            CompareOp::Ge => ord != Ordering::Less,
        }
    }

    fn flipped(self) -> CompareOp {
        match self {
            CompareOp::Lt => CompareOp::Gt,
            CompareOp::Gt => CompareOp::Lt,
            CompareOp::Le => CompareOp::Ge,
            CompareOp::Ge => CompareOp::Le,
            other => other,
        }
    }

    fn symbol(self) -> &'static str {
        match self {
            CompareOp::Eq => "=",
            CompareOp::Ne => "<>",
            CompareOp::Lt => "<",
            CompareOp::Gt => ">",
            CompareOp::Le => "<=",
            CompareOp::Ge => ">=",
        }
    }
}

/// The property's value, or None when the instance lacks it or it is null.
fn value_of<'a>(inst: &'a CimInstance, property: &str) -> Option<&'a CimValue> {
    inst.property(property).map(|p| &p.value).filter(|v| !v.is_null())
}

/// How a property value compares with a literal; None when they cannot be compared (the comparison
/// is then false).
fn compare(value: &CimValue, literal: &Literal) -> Option<Ordering> {
    use CimValue as V;
    if let Literal::Null = literal {
        return None;
    }
    if let Some(n) = integer_of(value) {
        return match literal {
            Literal::Integer(l) => Some(n.cmp(l)),
            Literal::Real(r) => (n as f64).partial_cmp(r),
            Literal::Boolean(b) => Some(n.cmp(&i128::from(*b))),
            Literal::String(s) => number_of_text(s).and_then(|l| (n as f64).partial_cmp(&l)),
            Literal::Null => None,
        };
    }
    match (value, literal) {
        (V::Real32(_) | V::Real64(_), _) => {
            let v = if let V::Real32(x) = value { f64::from(*x) } else if let V::Real64(x) = value { *x } else { 0.0 };
            let l = match literal {
                Literal::Integer(i) => *i as f64,
                Literal::Real(r) => *r,
                Literal::String(s) => number_of_text(s)?,
                _ => return None,
            };
            v.partial_cmp(&l)
        }
        (V::Boolean(b), Literal::Boolean(l)) => Some(b.cmp(l)),
        (V::Boolean(b), Literal::Integer(l)) => Some(i128::from(*b).cmp(l)),
        (V::Boolean(b), Literal::String(s)) => match s.to_ascii_lowercase().as_str() {
            "true" => Some(b.cmp(&true)),
            "false" => Some(b.cmp(&false)),
            _ => None,
        },
        (V::String(s) | V::Reference(s), Literal::String(l)) => Some(fold(s).cmp(&fold(l))),
        (V::String(s), Literal::Integer(i)) => Some(fold(s).cmp(&i.to_string())),
        (V::Char16(c), Literal::String(l)) => Some(fold(&c.to_string()).cmp(&fold(l))),
        (V::DateTime(d), Literal::String(l)) => compare_datetime(d, l),
        _ => None,
    }
}

fn integer_of(value: &CimValue) -> Option<i128> {
    Some(match value {
        CimValue::UInt8(v) => i128::from(*v),
        CimValue::SInt8(v) => i128::from(*v),
        CimValue::UInt16(v) => i128::from(*v),
        CimValue::SInt16(v) => i128::from(*v),
        CimValue::UInt32(v) => i128::from(*v),
        CimValue::SInt32(v) => i128::from(*v),
        CimValue::UInt64(v) => i128::from(*v),
        CimValue::SInt64(v) => i128::from(*v),
        _ => return None,
    })
}

fn number_of_text(s: &str) -> Option<f64> {
    s.trim().parse::<f64>().ok()
}

fn fold(s: &str) -> String {
    s.to_lowercase()
}

/// Compares with a DMTF datetime literal (same kind only: timestamp with timestamp, interval with interval).
fn compare_datetime(value: &CimDateTime, literal: &str) -> Option<Ordering> {
    let other = parse_dmtf(literal)?;
    match (value, &other) {
        (CimDateTime::Timestamp { unix_micros: a, .. }, CimDateTime::Timestamp { unix_micros: b, .. }) => Some(a.cmp(b)),
        (CimDateTime::Interval { micros: a }, CimDateTime::Interval { micros: b }) => Some(a.cmp(b)),
        _ => None,
    }
}



/// WQL LIKE: `%` any run (also empty), `_` exactly one character, `[…]` a set or range (`^` negates);
/// case-insensitive. Runs in O(pattern + pattern × text) time; a query reads its patterns once
/// ([`LikePattern`]), this reads `pattern` on every call.
pub fn like(pattern: &str, text: &str) -> bool {
    LikePattern::new(pattern.to_string()).matches(text)
}

/// A LIKE pattern read once (when its query is parsed) and matched against any number of values.
/// Equal when their source text is equal.
#[derive(Clone)]
pub struct LikePattern {
    source: String,
    items: Vec<LikeItem>,
}

impl LikePattern {
    /// Reads `source` (see [`like`] for the syntax) in O(length) time. Never fails: a `[` without a
    /// closing `]` is a literal `[`.
    pub fn new(source: String) -> LikePattern {
        let items = parse_like(&source);
        LikePattern { source, items }
    }

    /// The pattern as written.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Whether `text` matches, ignoring case. O(items × characters of `text`) time, O(text) memory.
    pub fn matches(&self, text: &str) -> bool {
        let text: Vec<char> = text.chars().flat_map(char::to_lowercase).collect();
        // reachable[j]: the pattern prefix read so far can match text[..j].
        let mut reachable = vec![false; text.len() + 1];
        let mut next = vec![false; text.len() + 1];
        reachable[0] = true;
        for item in &self.items {
            next.fill(false);
            match item {
                LikeItem::AnyRun => {
                    let mut seen = false;
                    for j in 0..=text.len() {
                        seen |= reachable[j];
                        next[j] = seen;
                    }
                }
                single => {
                    for j in 0..text.len() {
                        if reachable[j] && single.accepts(text[j]) {
                            next[j + 1] = true;
                        }
                    }
                }
            }
            std::mem::swap(&mut reachable, &mut next);
            if !reachable.contains(&true) {
                return false;
            }
        }
        reachable[text.len()]
    }
}

impl PartialEq for LikePattern {
    fn eq(&self, other: &LikePattern) -> bool {
        self.source == other.source
    }
}

impl fmt::Debug for LikePattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.source, f)
    }
}

#[derive(Clone)]
enum LikeItem {
    AnyRun,
    AnyOne,
    Char(char),
    Set { negated: bool, ranges: Vec<(char, char)> },
}

impl LikeItem {
    fn accepts(&self, c: char) -> bool {
        match self {
            LikeItem::AnyRun | LikeItem::AnyOne => true,
            LikeItem::Char(p) => *p == c,
            LikeItem::Set { negated, ranges } => ranges.iter().any(|(lo, hi)| (*lo..=*hi).contains(&c)) != *negated,
        }
    }
}

/// Reads a LIKE pattern in linear time: where each set ends is looked up in a table of the next `]`
/// at or after every position, built in one backward pass (a scan per `[` was quadratic).
fn parse_like(pattern: &str) -> Vec<LikeItem> {
    let chars: Vec<char> = pattern.chars().flat_map(char::to_lowercase).collect();
    let mut next_close = vec![None; chars.len() + 1];
    for i in (0..chars.len()).rev() {
        next_close[i] = if chars[i] == ']' { Some(i) } else { next_close[i + 1] };
    }
    let mut items = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '%' => items.push(LikeItem::AnyRun),
            '_' => items.push(LikeItem::AnyOne),
            '[' => {
                // A set runs to the next ']' after at least one member; without one, '[' is literal.
                let start = i + 1;
                let negated = chars.get(start) == Some(&'^');
                let first = if negated { start + 1 } else { start };
                match next_close.get(first + 1).copied().flatten() {
                    Some(end) => {
                        let members = &chars[first..end];
                        let mut ranges = Vec::new();
                        let mut k = 0;
                        while k < members.len() {
                            if k + 2 < members.len() && members[k + 1] == '-' {
                                ranges.push((members[k], members[k + 2]));
                                k += 3;
                            } else {
                                ranges.push((members[k], members[k]));
                                k += 1;
                            }
                        }
                        items.push(LikeItem::Set { negated, ranges });
                        i = end;
                    }
                    None => items.push(LikeItem::Char('[')),
                }
            }
            c => items.push(LikeItem::Char(c)),
        }
        i += 1;
    }
    items
}

// ---------------------------------------------------------------------------------------------------
// Tokens and parser

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Str(String),
    Number(String),
    Star,
    Comma,
    Open,
    Close,
    Op(CompareOp),
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Token::Word(w) => write!(f, "'{w}'"),
            Token::Str(s) => write!(f, "string '{s}'"),
            Token::Number(n) => write!(f, "number {n}"),
            Token::Star => f.write_str("'*'"),
            Token::Comma => f.write_str("','"),
            Token::Open => f.write_str("'('"),
            Token::Close => f.write_str("')'"),
            Token::Op(op) => write!(f, "'{}'", op.symbol()),
        }
    }
}

fn tokenize(text: &str) -> Result<Vec<(Token, usize)>> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        // The offset errors name, in characters: `chars` holds one entry per character.
        let (at, c) = (i, chars[i].1);
        let next = chars.get(i + 1).map(|(_, c)| *c);
        let (token, len) = match c {
            c if c.is_whitespace() => {
                i += 1;
                continue;
            }
            '*' => (Token::Star, 1),
            ',' => (Token::Comma, 1),
            '(' => (Token::Open, 1),
            ')' => (Token::Close, 1),
            '=' => (Token::Op(CompareOp::Eq), 1),
            '<' if next == Some('>') => (Token::Op(CompareOp::Ne), 2),
            '<' if next == Some('=') => (Token::Op(CompareOp::Le), 2),
            '<' => (Token::Op(CompareOp::Lt), 1),
            '>' if next == Some('=') => (Token::Op(CompareOp::Ge), 2),
            '>' => (Token::Op(CompareOp::Gt), 1),
            '!' if next == Some('=') => (Token::Op(CompareOp::Ne), 2),
            '\'' | '"' => {
                let mut s = String::new();
                let mut j = i + 1;
                loop {
                    match chars.get(j).map(|(_, c)| *c) {
                        None => return Err(Error::invalid_query(format!("the string starting at character {at} is not closed"))),
                        Some('\\') if j + 1 < chars.len() => {
                            s.push(chars[j + 1].1);
                            j += 2;
                        }
                        Some(q) if q == c => break,
                        Some(other) => {
                            s.push(other);
                            j += 1;
                        }
                    }
                }
                (Token::Str(s), j + 1 - i)
            }
            c if c.is_ascii_digit() || ((c == '-' || c == '+' || c == '.') && next.map_or(false, |n| n.is_ascii_digit() || n == '.')) => {
                let mut j = i + 1;
                while j < chars.len() && (chars[j].1.is_ascii_alphanumeric() || chars[j].1 == '.' || ((chars[j].1 == '-' || chars[j].1 == '+') && matches!(chars[j - 1].1, 'e' | 'E') && !text[chars[i].0..chars[j].0].to_ascii_lowercase().contains("0x"))) {
                    j += 1;
                }
                let number: String = chars[i..j].iter().map(|(_, c)| *c).collect();
                (Token::Number(number), j - i)
            }
            c if c.is_alphabetic() || c == '_' => {
                let mut j = i + 1;
                while j < chars.len() && (chars[j].1.is_alphanumeric() || chars[j].1 == '_') {
                    j += 1;
                }
                (Token::Word(chars[i..j].iter().map(|(_, c)| *c).collect()), j - i)
            }
            other => return Err(Error::invalid_query(format!("unexpected character '{other}' at character {at}"))),
        };
        tokens.push((token, at));
        i += len;
    }
    Ok(tokens)
}

struct Parser {
    tokens: Vec<(Token, usize)>,
    pos: usize,
    /// Parentheses and NOTs open around the current position.
    depth: usize,
    /// Comparisons read so far.
    terms: usize,
}

const RESERVED: [&str; 11] = ["SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "LIKE", "IS", "NULL", "TRUE", "FALSE"];

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos).map(|(t, _)| t)
    }

    fn here(&self) -> String {
        match self.tokens.get(self.pos) {
            Some((t, at)) => format!("{t} at character {at}"),
            None => "the end of the query".to_string(),
        }
    }

    fn eat(&mut self, token: &Token) -> bool {
        if self.peek() == Some(token) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn is_keyword(&self, word: &str) -> bool {
        matches!(self.peek(), Some(Token::Word(w)) if w.eq_ignore_ascii_case(word))
    }

    fn eat_keyword(&mut self, word: &str) -> bool {
        let yes = self.is_keyword(word);
        if yes {
            self.pos += 1;
        }
        yes
    }

    fn keyword(&mut self, word: &str) -> Result<()> {
        if self.eat_keyword(word) {
            Ok(())
        } else {
            Err(Error::invalid_query(format!("expected {word} but found {}", self.here())))
        }
    }

    fn identifier(&mut self, what: &str) -> Result<String> {
        match self.peek() {
            Some(Token::Word(w)) if !RESERVED.iter().any(|r| r.eq_ignore_ascii_case(w)) => {
                let w = w.clone();
                self.pos += 1;
                Ok(w)
            }
            _ => Err(Error::invalid_query(format!("expected {what} but found {}", self.here()))),
        }
    }

    fn or(&mut self) -> Result<Condition> {
        let mut left = self.and()?;
        while self.eat_keyword("OR") {
            left = Condition::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Condition> {
        let mut left = self.not()?;
        while self.eat_keyword("AND") {
            left = Condition::And(Box::new(left), Box::new(self.not()?));
        }
        Ok(left)
    }

    fn not(&mut self) -> Result<Condition> {
        if self.eat_keyword("NOT") {
            self.nest()?;
            let inner = self.not();
            self.depth -= 1;
            return Ok(Condition::Not(Box::new(inner?)));
        }
        if self.eat(&Token::Open) {
            self.nest()?;
            let inner = self.or();
            self.depth -= 1;
            let inner = inner?;
            if !self.eat(&Token::Close) {
                return Err(Error::invalid_query(format!("expected ')' but found {}", self.here())));
            }
            return Ok(inner);
        }
        self.terms += 1;
        if self.terms > MAX_TERMS {
            return Err(Error::invalid_query(format!("the condition holds more than {MAX_TERMS} comparisons")));
        }
        self.predicate()
    }

    /// Enters one more level of parentheses or NOT. Errors: InvalidQuery beyond [`MAX_NESTING`].
    fn nest(&mut self) -> Result<()> {
        if self.depth >= MAX_NESTING {
            return Err(Error::invalid_query(format!("the condition is nested more than {MAX_NESTING} deep")));
        }
        self.depth += 1;
        Ok(())
    }

    fn predicate(&mut self) -> Result<Condition> {
        if !matches!(self.peek(), Some(Token::Word(_))) || self.is_literal_keyword() {
            // `literal op property`
            let literal = self.literal()?;
            let op = self.operator()?;
            let property = self.identifier("a property name")?;
            return Ok(Condition::Compare { property, op: op.flipped(), literal });
        }
        let property = self.identifier("a property name")?;
        if self.eat_keyword("IS") {
            let negated = self.eat_keyword("NOT");
            self.keyword("NULL")?;
            return Ok(Condition::IsNull { property, negated });
        }
        if self.eat_keyword("LIKE") {
            return match self.literal()? {
                Literal::String(pattern) => Ok(Condition::Like { property, pattern: LikePattern::new(pattern) }),
                _ => Err(Error::invalid_query("LIKE needs a string pattern")),
            };
        }
        let op = self.operator()?;
        let literal = self.literal()?;
        Ok(Condition::Compare { property, op, literal })
    }

    fn is_literal_keyword(&self) -> bool {
        self.is_keyword("TRUE") || self.is_keyword("FALSE") || self.is_keyword("NULL")
    }

    fn operator(&mut self) -> Result<CompareOp> {
        match self.peek() {
            Some(Token::Op(op)) => {
                let op = *op;
                self.pos += 1;
                Ok(op)
            }
            _ => Err(Error::invalid_query(format!("expected a comparison operator but found {}", self.here()))),
        }
    }

    fn literal(&mut self) -> Result<Literal> {
        let literal = match self.peek() {
            Some(Token::Str(s)) => Literal::String(s.clone()),
            Some(Token::Number(n)) => parse_number(n).ok_or_else(|| Error::invalid_query(format!("'{n}' is not a number")))?,
            Some(Token::Word(w)) if w.eq_ignore_ascii_case("TRUE") => Literal::Boolean(true),
            Some(Token::Word(w)) if w.eq_ignore_ascii_case("FALSE") => Literal::Boolean(false),
            Some(Token::Word(w)) if w.eq_ignore_ascii_case("NULL") => Literal::Null,
            _ => return Err(Error::invalid_query(format!("expected a value but found {}", self.here()))),
        };
        self.pos += 1;
        Ok(literal)
    }
}

fn parse_number(text: &str) -> Option<Literal> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let value = if let Some(hex) = digits.strip_prefix("0x").or_else(|| digits.strip_prefix("0X")) {
        i128::from_str_radix(hex, 16).ok().map(Literal::Integer)?
    } else if let Ok(i) = digits.parse::<i128>() {
        Literal::Integer(i)
    } else {
        Literal::Real(digits.parse::<f64>().ok().filter(|r| r.is_finite())?)
    };
    Some(match (negative, value) {
        (true, Literal::Integer(i)) => Literal::Integer(-i),
        (true, Literal::Real(r)) => Literal::Real(-r),
        (_, v) => v,
    })
}

// ---------------------------------------------------------------------------------------------------
// Printing (valid WQL that parses back to the same condition)

impl fmt::Display for Literal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Literal::String(s) => write!(f, "'{}'", s.replace('\\', "\\\\").replace('\'', "\\'")),
            Literal::Integer(i) => write!(f, "{i}"),
            Literal::Real(r) => write!(f, "{r:?}"),
            Literal::Boolean(b) => f.write_str(if *b { "TRUE" } else { "FALSE" }),
            Literal::Null => f.write_str("NULL"),
        }
    }
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Condition::Compare { property, op, literal } => write!(f, "{property} {} {literal}", op.symbol()),
            Condition::Like { property, pattern } => write!(f, "{property} LIKE {}", Literal::String(pattern.source.clone())),
            Condition::IsNull { property, negated } => write!(f, "{property} IS {}NULL", if *negated { "NOT " } else { "" }),
            Condition::Not(c) => write!(f, "NOT ({c})"),
            Condition::And(a, b) => write!(f, "({a}) AND ({b})"),
            Condition::Or(a, b) => write!(f, "({a}) OR ({b})"),
        }
    }
}

impl fmt::Display for Query {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let props = self.properties.as_ref().map_or("*".to_string(), |p| p.join(", "));
        write!(f, "SELECT {props} FROM {}", self.class_name)?;
        if let Some(c) = &self.condition {
            write!(f, " WHERE {c}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cim::{CimProperty, CimType};
    use crate::error::ErrorKind;
    use proptest::prelude::*;

    fn process(name: &str, pid: u32, size: u64, cmd: Option<&str>) -> CimInstance {
        CimInstance {
            namespace: "root/cimv2".into(),
            class_name: "Win32_Process".into(),
            superclasses: vec!["CIM_Process".into()],
            server_name: "host".into(),
            properties: vec![
                CimProperty::key("Handle", CimType::String, CimValue::String(pid.to_string())),
                CimProperty::new("Name", CimType::String, CimValue::String(name.into())),
                CimProperty::new("ProcessId", CimType::UInt32, CimValue::UInt32(pid)),
                CimProperty::new("WorkingSetSize", CimType::UInt64, CimValue::UInt64(size)),
                CimProperty::new("CommandLine", CimType::String, cmd.map_or(CimValue::Null, |c| CimValue::String(c.into()))),
                CimProperty::new("Started", CimType::Boolean, CimValue::Boolean(pid % 2 == 0)),
                CimProperty::new(
                    "CreationDate",
                    CimType::DateTime,
                    CimValue::DateTime(CimDateTime::Timestamp { unix_micros: 1_700_000_000_000_000, utc_offset_minutes: 0 }),
                ),
            ],
        }
    }

    fn matches(where_: &str, inst: &CimInstance) -> bool {
        parse(&format!("SELECT * FROM Win32_Process WHERE {where_}")).unwrap().condition.unwrap().matches(inst)
    }

    #[test]
    fn parses_select_lists() {
        let q = parse("select Name, ProcessId from win32_process").unwrap();
        assert_eq!(q.class_name, "win32_process");
        assert_eq!(q.properties, Some(vec!["Name".to_string(), "ProcessId".to_string()]));
        assert_eq!(q.condition, None);
        assert_eq!(parse("SELECT * FROM X").unwrap().properties, None);
    }

    #[test]
    fn rejects_bad_queries_with_reasons() {
        for (q, needle) in [
            ("", "expected SELECT"),
            ("SELECT FROM X", "expected a property name"),
            ("SELECT * X", "expected FROM"),
            ("SELECT * FROM", "expected a class name"),
            ("SELECT * FROM X WHERE", "expected a value"),
            ("SELECT * FROM X WHERE Name = 'a", "not closed"),
            ("SELECT * FROM X WHERE Name = 'a' garbage", "unexpected 'garbage'"),
            ("SELECT * FROM X WHERE (Name = 1", "expected ')'"),
            ("SELECT * FROM X WHERE Name LIKE 5", "LIKE needs a string"),
            ("SELECT * FROM X WHERE Name # 1", "unexpected character '#'"),
        ] {
            let e = parse(q).unwrap_err();
            assert_eq!(e.kind, ErrorKind::InvalidQuery, "{q}");
            assert!(e.message.contains(needle), "{q}: {}", e.message);
        }
    }

    #[test]
    fn deep_or_long_conditions_are_invalid_queries_not_stack_overflows() {
        let nested = format!("SELECT * FROM X WHERE {}Name = 1{}", "(".repeat(10_000), ")".repeat(10_000));
        let nots = format!("SELECT * FROM X WHERE {}Name = 1", "NOT ".repeat(50_000));
        let long = format!("SELECT * FROM X WHERE {}", vec!["Name = 1"; 50_000].join(" AND "));
        for (q, needle) in [(nested, "nested more than"), (nots, "nested more than"), (long, "more than 1024 comparisons")] {
            let e = parse(&q).unwrap_err();
            assert_eq!(e.kind, ErrorKind::InvalidQuery);
            assert!(e.message.contains(needle), "{}", e.message);
        }
        let fine = format!("SELECT * FROM X WHERE {}Name = 1{}", "(NOT ".repeat(30), ")".repeat(30));
        assert!(parse(&fine).is_ok());
    }

    #[test]
    fn evaluates_comparisons_like_wmi() {
        let p = process("sshd", 42, 4096, None);
        assert!(matches("Name = 'SSHD'", &p));
        assert!(matches("Name <> 'bash'", &p));
        assert!(matches("ProcessId = 42 AND WorkingSetSize > 4000", &p));
        assert!(matches("42 = ProcessId", &p));
        assert!(matches("4000 < WorkingSetSize", &p));
        assert!(matches("ProcessId >= 0x2A", &p));
        assert!(matches("ProcessId = '42'", &p));
        assert!(matches("ProcessId > 41.5", &p));
        assert!(!matches("ProcessId < -1", &p));
        assert!(matches("Started = TRUE", &p));
        assert!(matches("NOT Started = FALSE OR Name = 'x'", &p));
        assert!(matches("CommandLine IS NULL AND Name IS NOT NULL", &p));
        assert!(!matches("CommandLine = 'x'", &p));
        assert!(!matches("CommandLine <> 'x'", &p));
        assert!(!matches("NoSuchProperty = 1", &p));
        assert!(matches("NoSuchProperty IS NULL", &p));
        assert!(matches("CreationDate > '20231101000000.000000+000'", &p));
        assert!(matches("CreationDate < '20231114230000.000000-060'", &p));
        assert!(matches("(Name = 'a' OR Name = 'sshd') AND NOT (ProcessId = 1)", &p));
    }

    #[test]
    fn u64_extremes_compare_exactly() {
        let p = process("x", 1, u64::MAX, None);
        assert!(matches("WorkingSetSize = 18446744073709551615", &p));
        assert!(matches("WorkingSetSize > 18446744073709551614", &p));
    }

    #[test]
    fn like_patterns() {
        assert!(like("ssh%", "sshd"));
        assert!(like("SSH%", "sshd"));
        assert!(like("%", ""));
        assert!(like("s_hd", "sshd"));
        assert!(!like("s_hd", "shd"));
        assert!(like("[a-c]at", "bat"));
        assert!(!like("[^a-c]at", "bat"));
        assert!(like("[xyz]%", "yes"));
        assert!(like("a[", "a["));
        assert!(like("%a%a%a%a%a%a%b", &("a".repeat(40) + "b")));
        assert!(!like("%a%a%a%a%a%a%b", &"a".repeat(40)));
    }


    #[test]
    fn long_like_patterns_are_literal_brackets() {
        // 30 KB of '[' without a ']': each '[' looked for its ']' to the end (quadratic), and the
        // pattern was read again for every instance. What it costs now is a figure of the benchmark
        // (tests/bench/worst_cases.rs); here, what it means: 30 000 literal '[' (as "[[[" below).
        let pattern = "[".repeat(30_000);
        let condition = parse(&format!("SELECT * FROM X WHERE Name LIKE '{pattern}'")).unwrap().condition.unwrap();
        assert!(!condition.matches(&process("sshd", 1, 1, None)));
        assert!(!condition.matches(&process("[[[", 1, 1, None)));
        assert!(like("[[[", "[[["));
        assert!(like("[[a]", "a") && like("[[a]", "[") && !like("[[a]", "[a"));
        assert!(like("x[]]", "x]") && like("[^]]", "a") && !like("[^]]", "]"));
    }

    fn arb_literal() -> impl Strategy<Value = Literal> {
        prop_oneof![
            "[ -~]{0,8}".prop_map(Literal::String),
            any::<i64>().prop_map(|i| Literal::Integer(i128::from(i))),
            (-1.0e9f64..1.0e9).prop_map(Literal::Real),
            any::<bool>().prop_map(Literal::Boolean),
        ]
    }

    fn arb_condition() -> impl Strategy<Value = Condition> {
        let name = "[A-Za-z_][A-Za-z0-9_]{0,6}".prop_filter("not reserved", |n| !RESERVED.iter().any(|r| r.eq_ignore_ascii_case(n)));
        let op = prop_oneof![
            Just(CompareOp::Eq),
            Just(CompareOp::Ne),
            Just(CompareOp::Lt),
            Just(CompareOp::Gt),
            Just(CompareOp::Le),
            Just(CompareOp::Ge)
        ];
        let leaf = prop_oneof![
            (name.clone(), op, arb_literal()).prop_map(|(property, op, literal)| Condition::Compare { property, op, literal }),
            (name.clone(), "[ -~]{0,8}").prop_map(|(property, pattern)| Condition::Like { property, pattern: LikePattern::new(pattern) }),
            (name, any::<bool>()).prop_map(|(property, negated)| Condition::IsNull { property, negated }),
        ];
        leaf.prop_recursive(4, 32, 2, |inner| {
            prop_oneof![
                inner.clone().prop_map(|c| Condition::Not(Box::new(c))),
                (inner.clone(), inner.clone()).prop_map(|(a, b)| Condition::And(Box::new(a), Box::new(b))),
                (inner.clone(), inner).prop_map(|(a, b)| Condition::Or(Box::new(a), Box::new(b))),
            ]
        })
    }

    proptest! {
        #[test]
        fn parse_never_panics(text in "\\PC{0,60}") {
            let _ = parse(&text);
        }

        #[test]
        fn parse_takes_any_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..2000)) {
            let _ = parse(&String::from_utf8_lossy(&bytes));
        }

        // Query-shaped input: WQL's own words and symbols in any order and number, where a panic,
        // a stack overflow or a runaway LIKE pattern would show.
        #[test]
        fn parse_and_match_take_any_token_soup(
            words in proptest::collection::vec(
                prop_oneof![
                    Just("SELECT"), Just("*"), Just("FROM"), Just("X"), Just("WHERE"), Just("Name"), Just("("),
                    Just(")"), Just("NOT"), Just("AND"), Just("OR"), Just("LIKE"), Just("IS"), Just("NULL"),
                    Just("="), Just("<>"), Just("<="), Just(","), Just("'[%_^]-'"), Just("'["), Just("'%[^a-"),
                    Just("\"\\\""), Just("0x"), Just("-1.5e"), Just("TRUE"), Just("\u{e9}"), Just("]"),
                ],
                0..400,
            ),
            prefix in any::<bool>(),
        ) {
            let body = words.join(" ");
            let text = if prefix { format!("SELECT * FROM X WHERE {body}") } else { body };
            if let Ok(Query { condition: Some(c), .. }) = parse(&text) {
                let _ = c.matches(&process("[%_]", 1, 1, Some("[^a-")));
            }
        }

        #[test]
        fn printed_conditions_parse_back(c in arb_condition()) {
            let text = format!("SELECT * FROM X WHERE {c}");
            let parsed = parse(&text).unwrap();
            prop_assert_eq!(parsed.condition, Some(c));
        }

        #[test]
        fn literal_like_patterns_match_themselves(s in "[A-Za-z0-9 .-]{0,20}") {
            prop_assert!(like(&s, &s));
            let escaped: String = s.chars().map(|c| format!("[{c}]")).collect();
            prop_assert!(like(&escaped, &s));
        }
    }
}
