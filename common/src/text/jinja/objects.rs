//! Python objects a Jinja2 template meets that minijinja has no type for:
//! `dict.items()` and its siblings (`dict_items([('k', 'v')])`), `range`
//! (`range(0, 3)`) and the `ChainMap` managed-tenants' `merge_dicts` filter
//! returns. Each iterates as Python iterates it and prints as Python prints
//! it.

use std::sync::{Arc, Mutex};

use minijinja::value::{Enumerator, Object, ObjectRepr, Tuple, Value};
use minijinja::{Error, ErrorKind, State};

/// Which view of a mapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ViewKind {
    Items,
    Keys,
    Values,
}

/// `mapping.items()`, `.keys()` or `.values()`: iterates the mapping's
/// pairs, keys or values in the mapping's order.
#[derive(Debug)]
pub(super) struct DictView {
    pub kind: ViewKind,
    pub mapping: Value,
}

impl DictView {
    pub fn value(kind: ViewKind, mapping: Value) -> Value {
        Value::from_object(DictView { kind, mapping })
    }

    /// A view of a `ChainMap` is a `collections.abc` view and prints its
    /// mapping (`ItemsView(ChainMap(...))`); a dict's prints its items.
    pub fn over_chain_map(&self) -> bool {
        self.mapping.downcast_object_ref::<ChainMap>().is_some()
    }

    pub fn type_name(&self) -> &'static str {
        match (self.over_chain_map(), self.kind) {
            (false, ViewKind::Items) => "dict_items",
            (false, ViewKind::Keys) => "dict_keys",
            (false, ViewKind::Values) => "dict_values",
            (true, ViewKind::Items) => "ItemsView",
            (true, ViewKind::Keys) => "KeysView",
            (true, ViewKind::Values) => "ValuesView",
        }
    }

    fn item(&self, key: Value) -> Value {
        match self.kind {
            ViewKind::Keys => key,
            ViewKind::Values => self.mapping.get_item(&key).unwrap_or_default(),
            ViewKind::Items => {
                let value = self.mapping.get_item(&key).unwrap_or_default();
                Value::from_object(Tuple::from([key, value]))
            }
        }
    }
}

impl Object for DictView {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Iterable
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        let keys: Vec<Value> = self.mapping.try_iter().into_iter().flatten().collect();
        let view = self.clone();
        Enumerator::Values(keys.into_iter().map(|key| view.item(key)).collect())
    }

    fn enumerator_len(self: &Arc<Self>) -> Option<usize> {
        self.mapping.len()
    }
}

/// Python's `range(start, stop, step)`: lazy, as long as it says, indexable.
#[derive(Debug, Clone, Copy)]
pub(super) struct PyRange {
    pub start: i128,
    pub stop: i128,
    pub step: i128,
}

impl PyRange {
    pub fn len(&self) -> usize {
        let span = if self.step > 0 {
            self.stop - self.start
        } else {
            self.start - self.stop
        };
        if span <= 0 {
            return 0;
        }
        let step = self.step.abs();
        usize::try_from((span + step - 1) / step).unwrap_or(usize::MAX)
    }

    pub fn repr(&self) -> String {
        if self.step == 1 {
            format!("range({}, {})", self.start, self.stop)
        } else {
            format!("range({}, {}, {})", self.start, self.stop, self.step)
        }
    }
}

impl Object for PyRange {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Seq
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let index = usize::try_from(key.clone()).ok()?;
        (index < self.len()).then(|| Value::from(self.start + self.step * index as i128))
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Seq(self.len())
    }
}

/// `collections.ChainMap(first, second)`: a key is looked up in `first`,
/// then in `second`; keys iterate as Python's ChainMap iterates them,
/// `second`'s first, then the keys only `first` has.
#[derive(Debug)]
pub(super) struct ChainMap {
    pub first: Value,
    pub second: Value,
}

impl ChainMap {
    fn keys(&self) -> Vec<Value> {
        let mut keys: Vec<Value> = self.second.try_iter().into_iter().flatten().collect();
        for key in self.first.try_iter().into_iter().flatten() {
            if !keys.contains(&key) {
                keys.push(key);
            }
        }
        keys
    }
}

impl Object for ChainMap {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Map
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        [&self.first, &self.second]
            .into_iter()
            .filter_map(|map| map.get_item(key).ok())
            .find(|value| !value.is_undefined())
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Values(self.keys())
    }
}

/// Jinja2's `_GroupTuple(grouper, list)` from `groupby`: a pair that prints
/// as a tuple and has the attributes `grouper` and `list`.
#[derive(Debug)]
pub(super) struct GroupTuple {
    pub grouper: Value,
    pub list: Value,
}

impl Object for GroupTuple {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Seq
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        match (key.as_str(), key.as_usize()) {
            (Some("grouper"), _) | (_, Some(0)) => Some(self.grouper.clone()),
            (Some("list"), _) | (_, Some(1)) => Some(self.list.clone()),
            _ => None,
        }
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Seq(2)
    }
}

/// Jinja2's `Cycler`.
#[derive(Debug)]
pub(super) struct Cycler {
    items: Vec<Value>,
    position: Mutex<usize>,
}

impl Cycler {
    pub fn new(items: Vec<Value>) -> Self {
        Cycler {
            items,
            position: Mutex::new(0),
        }
    }

    fn position(&self) -> std::sync::MutexGuard<'_, usize> {
        self.position.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Object for Cycler {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        (key.as_str()? == "current").then(|| self.items[*self.position()].clone())
    }

    fn call_method(
        self: &Arc<Self>,
        _state: &mut State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        if !args.is_empty() {
            return Err(Error::from(ErrorKind::TooManyArguments));
        }
        let mut position = self.position();
        match method {
            "next" | "__next__" => {
                let current = self.items[*position].clone();
                *position = (*position + 1) % self.items.len();
                Ok(current)
            }
            "reset" => {
                *position = 0;
                Ok(Value::from(()))
            }
            _ => Err(Error::from(ErrorKind::UnknownMethod)),
        }
    }
}
