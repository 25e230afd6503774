//! A small JSON tree that keeps numbers as their text (FHIR decimals keep their precision:
//! `1.50` stays `1.50`) and members in insertion order, with path-based setters for the rules.

/// A JSON value.
#[derive(Debug, Clone, PartialEq)]
pub enum Json {
    /// `true` or `false`.
    Bool(bool),
    /// A number, as its JSON text.
    Number(String),
    /// A string.
    String(String),
    /// An array.
    Array(Vec<Json>),
    /// An object, members in insertion order.
    Object(Vec<(String, Json)>),
}

impl Json {
    /// An empty object.
    pub fn object() -> Json {
        Json::Object(Vec::new())
    }

    /// Whether this is an empty object, array or string.
    pub fn is_empty(&self) -> bool {
        match self {
            Json::Object(members) => members.is_empty(),
            Json::Array(items) => items.is_empty(),
            Json::String(text) => text.is_empty(),
            _ => false,
        }
    }

    /// The member `name` of an object.
    pub fn get(&self, name: &str) -> Option<&Json> {
        match self {
            Json::Object(members) => members.iter().find(|(k, _)| k == name).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The text at `path` when every step names a plain member (no `[]` or `[n]`) and the last
    /// holds a string: what a `join` rule appends to.
    pub fn text_at(&self, path: &TargetPath) -> Option<&str> {
        let mut node = self;
        for step in &path.steps {
            if step.push || step.index.is_some() {
                return None;
            }
            node = node.get(&step.name)?;
        }
        match node {
            Json::String(text) => Some(text),
            _ => None,
        }
    }

    /// The member `name` of an object, created as `make()` when absent. `None` when this is no object.
    fn member_or(&mut self, name: &str, make: impl FnOnce() -> Json) -> Option<&mut Json> {
        let Json::Object(members) = self else { return None };
        let index = match members.iter().position(|(k, _)| k == name) {
            Some(index) => index,
            None => {
                members.push((name.to_owned(), make()));
                members.len() - 1
            }
        };
        Some(&mut members[index].1)
    }

    /// Sets member `name`, replacing any earlier value.
    pub fn set(&mut self, name: &str, value: Json) {
        if let Some(slot) = self.member_or(name, || Json::Bool(false)) {
            *slot = value;
        }
    }

    /// Puts `value` at `path` (see [`TargetPath`]): each `[]` step before the last pushes a new
    /// object; a last `[]` step pushes the value; other steps get or create objects. Empty
    /// values are not put.
    pub fn put(&mut self, path: &TargetPath, value: Json) {
        if value.is_empty() {
            return;
        }
        let mut node = self;
        let last = path.steps.len() - 1;
        for (i, step) in path.steps.iter().enumerate() {
            if let Some(n) = step.index {
                let Some(Json::Array(items)) = node.member_or(&step.name, || Json::Array(Vec::new())) else { return };
                // Elements before it that no rule fills stay empty objects, which `prune` removes.
                while items.len() < n {
                    items.push(Json::object());
                }
                if i == last {
                    items[n - 1] = value;
                    return;
                }
                node = &mut items[n - 1];
                continue;
            }
            if i == last {
                if step.push {
                    if let Some(Json::Array(items)) = node.member_or(&step.name, || Json::Array(Vec::new())) {
                        items.push(value);
                    }
                } else {
                    node.set(&step.name, value);
                }
                return;
            }
            let next = if step.push {
                match node.member_or(&step.name, || Json::Array(Vec::new())) {
                    Some(Json::Array(items)) => {
                        items.push(Json::object());
                        items.last_mut()
                    }
                    _ => None,
                }
            } else {
                node.member_or(&step.name, Json::object).filter(|n| matches!(n, Json::Object(_)))
            };
            match next {
                Some(next) => node = next,
                None => return,
            }
        }
    }

    /// Removes empty objects and arrays left behind (an element whose every source was empty).
    pub fn prune(&mut self) {
        match self {
            Json::Object(members) => {
                for (_, value) in members.iter_mut() {
                    value.prune();
                }
                members.retain(|(_, v)| {
                    !matches!(v, Json::Object(m) if m.is_empty()) && !matches!(v, Json::Array(a) if a.is_empty())
                });
            }
            Json::Array(items) => {
                for item in items.iter_mut() {
                    item.prune();
                }
                items.retain(|v| !matches!(v, Json::Object(m) if m.is_empty()));
            }
            _ => {}
        }
    }

    /// The JSON text.
    pub fn to_json(&self) -> String {
        let mut out = String::new();
        self.write(&mut out);
        out
    }

    fn write(&self, out: &mut String) {
        match self {
            Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Json::Number(text) => out.push_str(text),
            Json::String(text) => write_string(text, out),
            Json::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    item.write(out);
                }
                out.push(']');
            }
            Json::Object(members) => {
                out.push('{');
                for (i, (name, value)) in members.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write_string(name, out);
                    out.push(':');
                    value.write(out);
                }
                out.push('}');
            }
        }
    }
}

fn write_string(text: &str, out: &mut String) {
    out.push('"');
    // Runs of characters that need no escape are copied whole.
    let mut run_start = 0;
    for (at, byte) in text.bytes().enumerate() {
        let escape = match byte {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0..0x20 => "",
            _ => continue,
        };
        out.push_str(&text[run_start..at]);
        if escape.is_empty() {
            out.push_str(&format!("\\u{byte:04x}"));
        } else {
            out.push_str(escape);
        }
        run_start = at + 1;
    }
    out.push_str(&text[run_start..]);
    out.push('"');
}

/// One step of a target path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// The element name.
    pub name: String,
    /// `name[]`: push onto the array.
    pub push: bool,
    /// `name[n]`: the n-th element (1-based) of the array, created when absent, so several rules
    /// can fill one element.
    pub index: Option<usize>,
}

/// A target element path: `name[].given[]`, `valueQuantity.value`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetPath {
    /// Its steps, at least one.
    pub steps: Vec<Step>,
}

impl TargetPath {
    /// Parses a path; `None` when a step is empty or not an element name.
    pub fn parse(text: &str) -> Option<TargetPath> {
        let steps = text
            .split('.')
            .map(|step| {
                let (name, push, index) = match step.strip_suffix(']').and_then(|s| s.split_once('[')) {
                    Some((name, "")) => (name, true, None),
                    Some((name, n)) => (name, false, Some(n.parse::<usize>().ok().filter(|n| *n > 0)?)),
                    None => (step, false, None),
                };
                let valid = !name.is_empty()
                    && name.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                    && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
                valid.then(|| Step { name: name.to_owned(), push, index })
            })
            .collect::<Option<Vec<_>>>()?;
        (!steps.is_empty()).then_some(TargetPath { steps })
    }
}

#[cfg(test)]
mod tests {
    use super::{Json, TargetPath};

    fn path(text: &str) -> TargetPath {
        TargetPath::parse(text).expect("valid path")
    }

    #[test]
    fn puts_values_along_paths() {
        let mut patient = Json::object();
        patient.put(&path("gender"), Json::String("female".into()));
        patient.put(&path("name[].given[]"), Json::String("Ann".into()));
        patient.put(&path("identifier[]"), Json::object());
        patient.put(&path("valueQuantity.value"), Json::Number("1.50".into()));
        patient.put(&path("valueQuantity.unit"), Json::String("mg \"x\"".into()));
        assert_eq!(
            patient.to_json(),
            r#"{"gender":"female","name":[{"given":["Ann"]}],"valueQuantity":{"value":1.50,"unit":"mg \"x\""}}"#
        );
        assert!(TargetPath::parse("a..b").is_none());
        assert!(TargetPath::parse("a[0]").is_none());
        let mut document = Json::object();
        document.put(&path("content[1].attachment.data"), Json::String("aGk=".into()));
        document.put(&path("content[1].attachment.contentType"), Json::String("text/plain".into()));
        assert_eq!(document.to_json(), r#"{"content":[{"attachment":{"data":"aGk=","contentType":"text/plain"}}]}"#);
        // An element put at [2] with nothing at [1]: no placeholder survives (it used to be `false`).
        let mut sparse = Json::object();
        sparse.put(&path("identifier[2]"), Json::Object(vec![("value".into(), Json::String("x".into()))]));
        sparse.put(&path("given[2]"), Json::String("Ann".into()));
        sparse.prune();
        assert_eq!(sparse.to_json(), r#"{"identifier":[{"value":"x"}],"given":["Ann"]}"#);
    }

    #[test]
    fn prunes_empty_leftovers() {
        let mut value = Json::Object(vec![
            ("a".into(), Json::object()),
            ("b".into(), Json::Array(vec![Json::object()])),
            ("c".into(), Json::Bool(true)),
        ]);
        value.prune();
        assert_eq!(value.to_json(), r#"{"c":true}"#);
    }
}
