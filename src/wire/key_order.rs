//! JSON documents in the order they were written. The SDK's `Document` keeps an object's
//! members in a hash map, so a tool's schema (and a tool's input) would reach Bedrock, a
//! reply, the history and every store shuffled, differently in each process: the prompt
//! cache would miss over the tools, and a user would not find the properties in the order
//! they wrote. So every document worth it (one with an object of two keys or more) is kept
//! here as ordered JSON when it is made (from Python, from a store, from a streamed input,
//! from a Converse answer), and found again by its content wherever it leaves as data (to
//! Python, to a store, on the wire): an order-independent fingerprint picks the candidate,
//! and it is used only if it has the same content, member by member. A document that is
//! not found (never seen in order, or forgotten) goes out in the map's order, as before.
//!
//! Note: found by content, not by identity, because a `Document` is a plain value copied
//! into SDK types that have no room for more; two documents with the same content share an
//! entry (the first order seen stays, which matters only if the same members came in two
//! orders: each conversation then sends the same bytes at every request).
//! The book forgets the least recently used documents past `BUDGET`; each request looks up
//! (and so keeps) the documents it sends.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::atomic::{AtomicPtr, Ordering};
use std::sync::{Arc, Mutex};

use aws_smithy_types::{Document, Number};
use hashlink::LinkedHashMap;
use serde_json::Value;

use crate::fork::PerFork;

/// About how many bytes the book keeps before it forgets the oldest (JSON text, plus
/// `NODE` for each value: what a parsed `Value` costs beside its text). Ours.
const BUDGET: usize = 16 << 20;
const NODE: usize = 80;

/// A scalar, compared and hashed alike on both sides (an integer is an integer however
/// either side spells its sign).
#[derive(PartialEq)]
enum Scalar<'a> {
    Null,
    Bool(bool),
    Int(i128),
    Float(u64),
    Str(&'a str),
}

/// A JSON tree: the SDK's `Document` or ordered JSON.
trait Tree: Sized {
    fn scalar(&self) -> Option<Scalar<'_>>;
    fn items(&self) -> Option<&[Self]>;
    /// An object's size, or None for anything else.
    fn members(&self) -> Option<usize>;
    fn each_member(&self, f: &mut dyn FnMut(&str, &Self));
    fn member(&self, key: &str) -> Option<&Self>;
}

impl Tree for Document {
    fn scalar(&self) -> Option<Scalar<'_>> {
        Some(match self {
            Document::Null => Scalar::Null,
            Document::Bool(b) => Scalar::Bool(*b),
            Document::Number(Number::PosInt(u)) => Scalar::Int(*u as i128),
            Document::Number(Number::NegInt(i)) => Scalar::Int(*i as i128),
            Document::Number(Number::Float(f)) => Scalar::Float(f.to_bits()),
            Document::String(s) => Scalar::Str(s),
            _ => return None,
        })
    }

    fn items(&self) -> Option<&[Self]> {
        match self {
            Document::Array(items) => Some(items),
            _ => None,
        }
    }

    fn members(&self) -> Option<usize> {
        match self {
            Document::Object(map) => Some(map.len()),
            _ => None,
        }
    }

    fn each_member(&self, f: &mut dyn FnMut(&str, &Self)) {
        if let Document::Object(map) = self {
            map.iter().for_each(|(k, v)| f(k, v));
        }
    }

    fn member(&self, key: &str) -> Option<&Self> {
        match self {
            Document::Object(map) => map.get(key),
            _ => None,
        }
    }
}

impl Tree for Value {
    fn scalar(&self) -> Option<Scalar<'_>> {
        Some(match self {
            Value::Null => Scalar::Null,
            Value::Bool(b) => Scalar::Bool(*b),
            Value::Number(n) => match (n.as_u64(), n.as_i64()) {
                (Some(u), _) => Scalar::Int(u as i128),
                (_, Some(i)) => Scalar::Int(i as i128),
                _ => Scalar::Float(n.as_f64().unwrap_or(f64::NAN).to_bits()),
            },
            Value::String(s) => Scalar::Str(s),
            _ => return None,
        })
    }

    fn items(&self) -> Option<&[Self]> {
        self.as_array().map(Vec::as_slice)
    }

    fn members(&self) -> Option<usize> {
        self.as_object().map(|m| m.len())
    }

    fn each_member(&self, f: &mut dyn FnMut(&str, &Self)) {
        if let Value::Object(map) = self {
            map.iter().for_each(|(k, v)| f(k, v));
        }
    }

    fn member(&self, key: &str) -> Option<&Self> {
        self.get(key)
    }
}

/// What a walk learns of a tree: its fingerprint, about what it costs kept (`NODE`), and
/// whether it has an order to keep.
struct Print {
    hash: u64,
    size: usize,
    ordered: bool,
}

fn hash_of(value: impl Hash) -> u64 {
    let mut h = DefaultHasher::new();
    value.hash(&mut h);
    h.finish()
}

/// The fingerprint of a tree, the same whatever order its objects' members come in.
fn print<T: Tree>(tree: &T) -> Print {
    if let Some(s) = tree.scalar() {
        let (hash, size) = match s {
            Scalar::Null => (hash_of(0u8), NODE),
            Scalar::Bool(b) => (hash_of((1u8, b)), NODE),
            Scalar::Int(i) => (hash_of((2u8, i)), NODE),
            Scalar::Float(bits) => (hash_of((3u8, bits)), NODE),
            Scalar::Str(s) => (hash_of((4u8, s)), NODE + s.len()),
        };
        return Print {
            hash,
            size,
            ordered: false,
        };
    }
    if let Some(items) = tree.items() {
        let mut h = DefaultHasher::new();
        (5u8, items.len()).hash(&mut h);
        let (mut size, mut ordered) = (NODE, false);
        for item in items {
            let p = print(item);
            p.hash.hash(&mut h);
            size += p.size + 1;
            ordered |= p.ordered;
        }
        return Print {
            hash: h.finish(),
            size,
            ordered,
        };
    }
    let len = tree.members().unwrap_or(0);
    let (mut sum, mut size, mut ordered) = (0u64, NODE, len > 1);
    tree.each_member(&mut |key, value| {
        let p = print(value);
        // (a sum: the same for any order of the members)
        sum = sum.wrapping_add(hash_of((key, p.hash)));
        size += key.len() + p.size;
        ordered |= p.ordered;
    });
    Print {
        hash: hash_of((6u8, len, sum)),
        size,
        ordered,
    }
}

/// The same content, whatever the order of the objects' members.
fn same<A: Tree, B: Tree>(a: &A, b: &B) -> bool {
    if let Some(s) = a.scalar() {
        return b.scalar() == Some(s);
    }
    if let Some(x) = a.items() {
        return b
            .items()
            .is_some_and(|y| x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same(x, y)));
    }
    if a.members() != b.members() || b.members().is_none() {
        return false;
    }
    let mut all = true;
    a.each_member(&mut |key, value| {
        all = all && b.member(key).is_some_and(|other| same(value, other));
    });
    all
}

/// The documents kept, least recently used first (hashlink's `LinkedHashMap`: a look-up
/// moves its entry to the back, forgetting pops from the front, each in constant time).
#[derive(Clone, Default)]
struct Book {
    entries: LinkedHashMap<u64, Entry>,
    size: usize,
}

#[derive(Clone)]
struct Entry {
    json: Arc<Value>,
    size: usize,
}

impl Book {
    /// Keeps `json`'s order, unless the same content is kept already: then the order first
    /// seen stays, so that every later request sends the same bytes (a second order of the
    /// same members, from another conversation, must not change what the first one sends:
    /// its prompt cache would miss).
    fn keep(&mut self, hash: u64, json: Value, size: usize) {
        if let Some(old) = self.entries.to_back(&hash) {
            if same(&json, &*old.json) {
                return;
            }
            let old = self.entries.remove(&hash).expect("found above");
            self.size -= old.size;
        }
        let entry = Entry {
            json: Arc::new(json),
            size,
        };
        self.entries.insert(hash, entry);
        self.size += size;
        while self.size > BUDGET {
            let Some((_, oldest)) = self.entries.pop_front() else {
                break;
            };
            self.size -= oldest.size;
        }
    }

    fn find<T: Tree>(&mut self, tree: &T, hash: u64) -> Option<Arc<Value>> {
        let entry = self.entries.to_back(&hash)?;
        if !same(tree, &*entry.json) {
            return None;
        }
        Some(entry.json.clone())
    }
}

/// One book per fork generation; a child starts with a copy of its parent's, unless a
/// parent thread held it when the process forked (that lock would never be let go).
static BOOK: PerFork<Mutex<Book>> = PerFork::new(inherited);
/// The book last used, for a child's copy. Books are never freed (`PerFork` forgets an
/// older generation's and this one lives as long as the process).
static LATEST: AtomicPtr<Mutex<Book>> = AtomicPtr::new(std::ptr::null_mut());

fn inherited() -> Mutex<Book> {
    // SAFETY: a pointer stored in LATEST is to a book that is never freed (above).
    let parent = unsafe { LATEST.load(Ordering::Acquire).as_ref() };
    let copy = parent
        .and_then(|p| p.try_lock().ok().map(|b| b.clone()))
        .unwrap_or_default();
    Mutex::new(copy)
}

fn book() -> std::sync::MutexGuard<'static, Book> {
    let book = BOOK.get();
    LATEST.store(book as *const _ as *mut _, Ordering::Release);
    book.lock().unwrap_or_else(|e| e.into_inner())
}

/// Keeps `json`'s order (when it has one to keep), for the `Document` made from it.
pub fn keep(json: Value) {
    let p = print(&json);
    if p.ordered {
        book().keep(p.hash, json, p.size);
    }
}

/// `doc` in the order it was written, when that is known (None also when it has no order
/// to keep).
pub fn ordered(doc: &Document) -> Option<Arc<Value>> {
    find(doc)
}

/// `json` (a request's document as the SDK wrote it) in the order it was written.
pub fn ordered_json(json: &Value) -> Option<Arc<Value>> {
    find(json)
}

fn find<T: Tree>(tree: &T) -> Option<Arc<Value>> {
    let p = print(tree);
    if !p.ordered {
        return None;
    }
    book().find(tree, p.hash)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::wire::document::json_to_document;

    fn wide() -> Value {
        let mut map = serde_json::Map::new();
        for i in (0..30).rev() {
            map.insert(
                format!("p{i:02}"),
                serde_json::json!({"b": i, "a": [i, "x"]}),
            );
        }
        Value::Object(map)
    }

    /// A document in its hash maps' order, as the SDK writes it.
    pub(crate) fn map_order(doc: &Document) -> Value {
        match doc {
            Document::Object(map) => {
                Value::Object(map.iter().map(|(k, v)| (k.clone(), map_order(v))).collect())
            }
            Document::Array(items) => Value::Array(items.iter().map(map_order).collect()),
            Document::String(s) => Value::String(s.clone()),
            Document::Number(Number::PosInt(u)) => Value::from(*u),
            Document::Number(Number::NegInt(i)) => Value::from(*i),
            Document::Number(Number::Float(f)) => Value::from(*f),
            Document::Bool(b) => Value::Bool(*b),
            Document::Null => Value::Null,
        }
    }

    fn keys(v: &Value) -> Vec<String> {
        v.as_object().unwrap().keys().cloned().collect()
    }

    #[test]
    fn a_document_is_found_in_its_written_order() {
        let json = wide();
        let doc = json_to_document(json.clone());
        let found = ordered(&doc).expect("kept");
        assert_eq!(keys(&found), keys(&json));
        assert_eq!(*found, json);
        // The SDK's text of it (its maps' order) is found too.
        let shuffled = map_order(&doc);
        assert_eq!(shuffled, json);
        assert_eq!(keys(&ordered_json(&shuffled).unwrap()), keys(&json));
    }

    #[test]
    fn other_content_is_not_taken_for_it() {
        let doc = json_to_document(wide());
        let Document::Object(mut map) = doc else {
            panic!()
        };
        map.insert("p00".into(), Document::Number(Number::Float(0.0)));
        assert!(ordered(&Document::Object(map)).is_none());
        // (an integer and a float are different content)
        let a = json_to_document(serde_json::json!({"x": 1, "y": 2}));
        assert!(ordered(&a).is_some());
        let b = json_to_document(serde_json::json!({"x": 1.0, "y": 2}));
        assert_eq!(ordered(&b).unwrap()["x"], serde_json::json!(1.0));
    }

    #[test]
    fn the_book_forgets_the_least_recently_used() {
        let mut b = Book::default();
        for i in 0..3u64 {
            b.keep(i, serde_json::json!({"i": i, "j": 0}), BUDGET / 3);
        }
        let first = serde_json::json!({"i": 0, "j": 0});
        assert!(b.find(&first, 0).is_some());
        b.keep(3, serde_json::json!({"i": 3, "j": 0}), BUDGET / 3);
        assert!(b.entries.contains_key(&0) && b.entries.contains_key(&3));
        assert!(!b.entries.contains_key(&1));
        assert!(b.size <= BUDGET);
    }

    #[test]
    fn the_first_order_seen_stays() {
        let mut b = Book::default();
        let first = serde_json::json!({"city": "Oslo", "unit": "C"});
        let second = serde_json::json!({"unit": "C", "city": "Oslo"});
        let hash = print(&first).hash;
        assert_eq!(hash, print(&second).hash);
        b.keep(hash, first.clone(), 10);
        b.keep(hash, second.clone(), 10);
        let kept = b.find(&second, hash).unwrap();
        let keys: Vec<&String> = kept.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["city", "unit"]);
        assert_eq!(b.size, 10);
        // (other content under the same fingerprint replaces it)
        b.keep(hash, serde_json::json!({"z": 1, "y": 2}), 7);
        assert!(b.find(&first, hash).is_none() && b.size == 7);
    }
}
